"""Observed entries of a partially known matrix, and the products the solvers need.

An :class:`Observations` holds the entries ``(i, j, M_ij)`` in row-major
("canonical") order, without duplicates, and two views of that sparsity
pattern:

* on NumPy, CSR and CSC index arrays (``O(|Omega| + m + n)`` memory) for the
  numba kernels and a ``scipy.sparse`` matrix for sparse-dense products;
* on any array-API library (the CuPy and ``engine="xp"`` path), padded index
  tables of shape ``(m, max row count)`` and ``(n, max column count)``, which
  turn the per-row sums into batched gathers and reductions. Their memory is
  ``O(|Omega|)`` times the ratio of the largest to the mean row (column) count,
  close to 1 for uniform sampling.

Nothing here forms a dense ``m x n`` array.
"""

import copy
import math
import numbers
import sys

import numpy as np

from .._backend import device, get_namespace, is_numpy_namespace, scale_by_power_of_two
from .._validation import check_array

__all__ = [
    "Observations", "check_observations", "factors_in_user_units", "largest_magnitude", "ldexp_or_inf",
    "scale_by_power_of_two",
    "units_exponent", "weight_in_units",
]


def units_exponent(top, float32=False):
    """Even ``e`` such that data of largest magnitude ``top`` are solved for in units of ``2**e``; 0 for most data.

    ``e = 0`` unless ``top`` lies outside ``[2**-b, 2**b]``, ``b`` a quarter of
    the dtype's largest exponent (256 for float64, 32 for float32): there the
    solvers' sums of squares would overflow or underflow (values at ``1e-200``
    summed to 0 and "converged" at once; at ``1e200`` to inf). Then
    ``top / 2**e`` lies in ``[0.5, 2)``. Powers of two scale exactly: the
    problem in those units has the same solution, scaled; ``e`` is even so
    that two factors each take ``2**(e / 2)`` back.
    """
    b = np.finfo(np.float32 if float32 else np.float64).maxexp // 4
    if top == 0.0 or not math.isfinite(top) or 2.0**-b <= top <= 2.0**b:
        return 0
    return 2 * (math.frexp(top)[1] // 2)


def largest_magnitude(a, xp):
    """Largest ``|a|`` as a Python float (0 for an empty array), without an ``|a|`` copy."""
    return max(float(xp.max(a)), -float(xp.min(a))) if math.prod(a.shape) else 0.0


def factors_in_user_units(factors, e):
    """Factors ``(U, V)`` fitted to values in units of ``2**e`` (:meth:`Observations.in_units`, ``e`` even), in
    the user's units: each times ``2**(e / 2)``."""
    return factors if e == 0 else tuple(scale_by_power_of_two(F, e // 2) for F in factors)


def ldexp_or_inf(x, e):
    """``x * 2**e`` for a Python float, ``inf`` (signed) on overflow."""
    try:
        return math.ldexp(x, e)
    except OverflowError:
        return math.copysign(math.inf, x)


def weight_in_units(w, e):
    """A penalty weight ``w >= 0`` times ``2**e``, at most the largest float.

    Past it the penalty zeroes the solution all the same; an infinite weight
    would make ``inf * 0 = NaN`` of the zero solution's penalty term.
    """
    return min(ldexp_or_inf(w, e), sys.float_info.max)


def _as_index(a, name, xp):
    try:
        arr = xp.asarray(a)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an integer array: {exc}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {tuple(arr.shape)}.")
    if not xp.isdtype(arr.dtype, "integral"):
        raise TypeError(f"{name} must have an integer dtype, got {arr.dtype}.")
    if arr.dtype == xp.uint64 and arr.shape[0] > 0 and int(xp.max(arr)) > np.iinfo(np.int64).max:
        raise ValueError(f"{name} holds index {int(xp.max(arr))}, out of the int64 range.")
    return xp.astype(arr, xp.int64, copy=False)  # no copy of int64 input: the indices are only read


def _solver_float(values, xp):
    """``values`` in float32 or float64, the dtypes the solvers take (native byte order on NumPy).

    Narrower floats (float16) are widened to float32, wider ones (long
    double) narrowed to float64.
    """
    if values.dtype in (xp.float32, xp.float64):
        return values
    return xp.astype(values, xp.float32 if xp.finfo(values.dtype).bits <= 32 else xp.float64)


def _check_shape(shape):
    if (
        not isinstance(shape, (tuple, list))
        or len(shape) != 2
        or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0 for s in shape)
    ):
        raise ValueError(f"shape must be a pair of positive integers (m, n), got {shape!r}.")
    return int(shape[0]), int(shape[1])


def check_observations(observed, shape=None, *, host=False):
    """Validate observed entries and return an :class:`Observations`.

    Parameters
    ----------
    observed : tuple (rows, cols, values) or scipy.sparse matrix
        The observed entries ``M[rows[t], cols[t]] = values[t]``. Arrays may
        come from any array-API library; a sparse matrix's stored entries
        (explicit zeros included) are the observations.
    shape : tuple of int, optional
        ``(m, n)``. Required with a tuple unless it is to be inferred as
        ``(max(rows) + 1, max(cols) + 1)``; taken from a sparse matrix.
    host : bool
        Build the CSR/CSC structures of the numba kernels (NumPy input only)
        instead of the padded tables of the array-API path.

    Notes
    -----
    Duplicate ``(i, j)`` pairs are merged into one observation holding the
    mean of their values (repeated measurements of one entry). Indices must
    lie in ``[0, m) x [0, n)``; values must be finite. Values are kept in
    float32 or float64; other floating dtypes (float16, long double) and
    NumPy's non-native byte orders are converted to the nearer of the two.
    """
    if hasattr(observed, "tocoo") and hasattr(observed, "nnz"):  # scipy.sparse
        coo = observed.tocoo()
        if shape is not None and _check_shape(shape) != coo.shape:
            raise ValueError(f"shape {tuple(shape)} does not match the sparse matrix's shape {coo.shape}.")
        shape = coo.shape
        rows, cols, values = coo.row, coo.col, coo.data
    else:
        if not isinstance(observed, (tuple, list)) or len(observed) != 3:
            raise TypeError("observed must be a tuple (rows, cols, values) or a scipy.sparse matrix.")
        rows, cols, values = observed
    xp = get_namespace(*(a for a in (rows, cols, values) if hasattr(a, "shape")))
    values = _solver_float(check_array(values, "values", xp=xp, ndim=1), xp)
    rows = _as_index(rows, "rows", xp)
    cols = _as_index(cols, "cols", xp)
    if not (rows.shape[0] == cols.shape[0] == values.shape[0]):
        raise ValueError(
            f"rows, cols and values must have the same length, got {rows.shape[0]}, {cols.shape[0]}, {values.shape[0]}."
        )
    if shape is None:
        shape = (int(xp.max(rows)) + 1, int(xp.max(cols)) + 1)
    m, n = _check_shape(tuple(shape))
    for name, idx, size in (("rows", rows, m), ("cols", cols, n)):
        lo, hi = int(xp.min(idx)), int(xp.max(idx))
        if lo < 0 or hi >= size:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{name} holds index {bad}, out of range for shape {(m, n)} (valid: 0..{size - 1}).")
    return Observations(rows, cols, values, (m, n), xp, host=host and is_numpy_namespace(xp))


def _segment_sums(x, group, ends, longest, xp):
    """Sums of ``x`` over its consecutive segments.

    ``group``: the segment of each entry; ``ends``: the last entry of each
    segment; ``longest``: the largest segment length.

    A segmented scan by doubling: ``ceil(log2(longest segment))`` passes in
    which every entry adds the partial sum ``shift`` places back when it lies
    in the same segment. Each sum only ever adds its own segment's entries,
    so its rounding does not depend on the other segments (differences of one
    cumulative sum over all entries would carry the rounding of the running
    total into every sum).
    """
    shift = 1
    while shift < longest:
        back = xp.where(group[shift:] == group[:-shift], x[:-shift], xp.zeros_like(x[:-shift]))
        x = xp.concat([x[:shift], x[shift:] + back])
        shift *= 2
    return xp.take(x, ends)


def _row_major_order(rows, cols, values, shape):
    """Stable permutation sorting host entries by row, then column, and the values in that order.

    Two counting sorts, least significant key first.
    """
    from ._altmin_numba import counting_sort

    _, by_col, rows_c, values_c = counting_sort(cols, shape[1], rows, values)
    _, _, order, values_s = counting_sort(rows_c, shape[0], by_col, values_c)
    return order, values_s


def _padded_table(keys_sorted, positions, size, sentinel, xp):
    """``(size, max count)`` table of ``positions`` grouped by their sorted ``keys``, padded with ``sentinel``."""
    dev = device(keys_sorted)
    bounds = xp.searchsorted(keys_sorted, xp.arange(size + 1, dtype=keys_sorted.dtype, device=dev))
    counts = bounds[1:] - bounds[:-1]
    width = max(int(xp.max(counts)), 1)
    mask = xp.arange(width, device=dev)[None, :] < counts[:, None]
    table = xp.full((size, width), sentinel, dtype=xp.int64, device=dev)
    table[mask] = positions
    return table, counts


class Observations:
    """Deduplicated observed entries in row-major order, with row and column views.

    Built by :func:`check_observations`. Attributes: ``rows``, ``cols``,
    ``values`` (canonical order), ``shape``, ``nnz``, ``inverse`` (for each
    input entry, the index of its canonical entry), ``xp``, ``dtype`` and
    ``host`` (whether the numba structures were built).
    """

    def __init__(self, rows, cols, values, shape, xp, host=False):
        self.xp, self.shape = xp, shape
        self.dtype = values.dtype
        self.host = host
        n = shape[1]
        dev = device(values)
        keys = rows * n + cols
        if host and bool(np.all(keys[1:] > keys[:-1])):  # already row-major without duplicates (CSR order)
            self.rows, self.cols, self.values, self.nnz = rows, cols, values, keys.shape[0]
            self.inverse = np.arange(self.nnz)
        else:
            if host:
                order, values_s = _row_major_order(rows, cols, values, shape)
            else:
                order = xp.argsort(keys, stable=True)
                values_s = xp.take(values, order)
            keys_s = xp.take(keys, order)
            new = xp.concat([xp.ones(1, dtype=xp.bool, device=dev), keys_s[1:] != keys_s[:-1]])
            group = xp.cumulative_sum(xp.astype(new, xp.int64)) - 1  # canonical index of each sorted entry
            self.nnz = int(group[-1]) + 1
            if host:
                self.inverse = np.empty_like(group)
                self.inverse[order] = group
            else:
                self.inverse = xp.take(group, xp.argsort(order))  # inverse permutation without a scatter
            if self.nnz < keys.shape[0]:  # duplicates: average them
                starts = xp.nonzero(new)[0]
                counts = xp.concat([starts[1:], xp.asarray([keys.shape[0]], dtype=starts.dtype, device=dev)]) - starts
                sums = _segment_sums(values_s, group, starts + counts - 1, int(xp.max(counts)), xp)
                values_s = sums / xp.astype(counts, values.dtype)
                keys_s = xp.take(keys_s, starts)
            self.rows = keys_s // n
            self.cols = keys_s % n
            self.values = values_s
        if self.host:
            self._build_host()
        else:
            self._build_padded()

    # -- structures ---------------------------------------------------------

    def _build_host(self):
        from ._altmin_numba import counting_sort

        m, n = self.shape
        self.row_ptr = np.concatenate([[0], np.cumsum(np.bincount(self.rows, minlength=m))])
        self.row_idx = self.cols
        # stable: the rows stay sorted within each column; the values in the column order, for the column kernels
        self.col_ptr, self.col_pos, self.col_idx, self.col_values = counting_sort(self.cols, n, self.rows, self.values)
        self.row_counts = np.diff(self.row_ptr)
        self.col_counts = np.diff(self.col_ptr)

    def _build_padded(self):
        xp = self.xp
        m, n = self.shape
        dev = device(self.values)
        pos = xp.arange(self.nnz, dtype=xp.int64, device=dev)
        self.row_table, self.row_counts = _padded_table(self.rows, pos, m, self.nnz, xp)
        by_col = xp.argsort(self.cols, stable=True)
        self.col_table, self.col_counts = _padded_table(xp.take(self.cols, by_col), by_col, n, self.nnz, xp)
        self.row_other = xp.reshape(xp.take(self._extend(self.cols, n), xp.reshape(self.row_table, (-1,))),
                                    self.row_table.shape)
        self.col_other = xp.reshape(xp.take(self._extend(self.rows, m), xp.reshape(self.col_table, (-1,))),
                                    self.col_table.shape)

    def _extend(self, a, fill):
        """``a`` with one trailing entry ``fill`` (the target of the padding sentinel)."""
        xp = self.xp
        return xp.concat([a, xp.full((1,), fill, dtype=a.dtype, device=device(a))])

    def side(self, axis):
        """Index structures of the rows (``axis=0``) or the columns (``axis=1``).

        On the host: pointers, partner indices, and the canonical position of
        each stored entry (``None`` for the rows: the canonical order is the
        row order).
        """
        if self.host:
            return (self.row_ptr, self.row_idx, None) if axis == 0 else (self.col_ptr, self.col_idx, self.col_pos)
        return (self.row_table, self.row_other) if axis == 0 else (self.col_table, self.col_other)

    def in_order(self, x, axis):
        """Entries ``x`` (canonical order) in the row (``axis=0``) or column (``axis=1``) order (host)."""
        if axis == 0:
            return x
        return self.col_values if x is self.values else x[self.col_pos]

    def gather(self, x, axis):
        """Entries ``x`` (canonical order) as a padded ``(size, width)`` table along ``axis`` (array-API path)."""
        table = self.row_table if axis == 0 else self.col_table
        xp = self.xp
        zero = xp.zeros(1, dtype=x.dtype, device=device(x))
        return xp.reshape(xp.take(xp.concat([x, zero]), xp.reshape(table, (-1,))), table.shape)

    def gather_factor(self, F, axis):
        """Rows of factor ``F`` paired with each padded entry along ``axis``: ``(size, width, k)``."""
        xp = self.xp
        other = self.row_other if axis == 0 else self.col_other
        Fz = xp.concat([F, xp.zeros((1, F.shape[1]), dtype=F.dtype, device=device(F))])
        return xp.reshape(xp.take(Fz, xp.reshape(other, (-1,)), axis=0), (*other.shape, F.shape[1]))

    # -- products -------------------------------------------------------------

    def _host_product(self, values, X, axis):
        """``P_Omega(values) @ X`` (``axis=0``) or its transpose's product (``axis=1``) by the numba kernel."""
        from ._altmin_numba import sparse_matmat

        ptr, idx, _ = self.side(axis)
        X = np.ascontiguousarray(X)
        out = np.empty((ptr.shape[0] - 1, X.shape[1]), dtype=X.dtype)
        sparse_matmat(ptr, idx, self.in_order(values, axis), X, out)
        return out

    def matmat(self, values, X):
        """``P_Omega(values) @ X`` for entry values in canonical order (``m x q``)."""
        if self.host:
            return self._host_product(values, X, 0)
        W = self.gather(values, 0)
        return self.xp.sum(W[:, :, None] * self.gather_factor(X, 0), axis=1)

    def rmatmat(self, values, Y):
        """``P_Omega(values)^T @ Y`` (``n x q``)."""
        if self.host:
            return self._host_product(values, Y, 1)
        W = self.gather(values, 1)
        return self.xp.sum(W[:, :, None] * self.gather_factor(Y, 1), axis=1)

    def entries(self, U, V):
        """``(U V^T)_ij`` at the observed entries, in canonical order."""
        xp = self.xp
        if self.host:
            from ._altmin_numba import observed_products

            out = np.empty(self.nnz, dtype=U.dtype)
            observed_products(self.row_ptr, self.row_idx, U, V, out)
            return out
        return xp.sum(xp.take(U, self.rows, axis=0) * xp.take(V, self.cols, axis=0), axis=1)

    def _largest(self):
        """Largest ``|value|`` (a Python float)."""
        return largest_magnitude(self.values, self.xp)

    def in_units(self, top=None):
        """``(obs, e)``: these entries with their values divided by ``2**e`` (:func:`units_exponent`), and ``e``.

        ``top``: the magnitude to bring near 1, by default the largest
        ``|value|``; a smaller one (a robust fit's, without the gross
        outliers) is overridden as far as needed to bring no value past
        ``2**(maxexp - 24)`` of the dtype.
        """
        xp = self.xp
        largest = self._largest()
        float32 = self.dtype == xp.float32
        e = units_exponent(largest if top is None else top, float32)
        if top is not None and largest > 0:
            room = np.finfo(np.float32 if float32 else np.float64).maxexp - 24
            e = max(e, 2 * -(-(math.frexp(largest)[1] - room) // 2))
        if e == 0:
            return self, 0
        return self.map_values(lambda v: scale_by_power_of_two(v, -e)), e

    def with_values(self, values):
        """These entries holding ``values`` (canonical order) instead; on the host their column order is gathered once."""
        other = copy.copy(self)
        other.values = values
        if self.host:
            other.col_values = values[self.col_pos]
        return other

    def map_values(self, fn):
        """These entries holding ``fn(values)``, ``fn`` elementwise (on the host also applied to the column-ordered copy).

        The products :meth:`matmat` / :meth:`rmatmat` of an entry array other
        than ``values`` gather its column order on every call (an
        ``|Omega|``-sized random read): repeated products of derived values
        go through such a copy.
        """
        other = copy.copy(self)
        other.values = fn(self.values)
        if self.host:
            other.col_values = fn(self.col_values)
        return other

    def scale(self):
        """Root-mean-square of the observed values (a Python float), without overflow or underflow."""
        xp = self.xp
        e = units_exponent(self._largest(), self.dtype == xp.float32)
        values = scale_by_power_of_two(self.values, -e) if e else self.values
        return math.ldexp(math.sqrt(float(xp.sum(values * values)) / self.nnz), e)
