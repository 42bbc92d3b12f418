"""Constraint sets: box, nonnegative orthant, simplex, top-k simplex, l1 ball.

The value of each indicator is ``0.0`` on the set and ``inf`` outside; the
membership test allows a small relative tolerance, ``sqrt(eps)`` of the
array's dtype (about ``1.5e-8`` in float64, ``3.5e-4`` in float32) times
the scale of the constraint, so that iterates that are feasible up to
rounding count as feasible. ``prox`` is the Euclidean projection whatever
the step.
"""

import math
import numbers

from .._backend import device, get_namespace
from .._validation import check_array, check_scalar
from ._base import Function
from ._norms import _as_float, _check_axis, _dual_rtol
from ._utils import array_argument, array_prox, check_step, magnitude_shrink

__all__ = ["Box", "NonNegative", "Simplex", "TopKSimplex", "L1Ball"]


# -- private helpers -------------------------------------------------------------


def _feasibility_rtol(xp, dtype):
    """Relative tolerance of the membership tests: ``sqrt(eps)`` of ``dtype``."""
    return math.sqrt(float(xp.finfo(dtype).eps))


def _real_input(v, name="v"):
    """Namespace and real floating version of ``v`` (complex raises ``TypeError``)."""
    xp = get_namespace(v)
    if xp.isdtype(v.dtype, "complex floating"):
        raise TypeError(f"{name} must be real for this constraint, got complex dtype {v.dtype}.")
    return xp, _as_float(xp, v)


def _threshold_sorted(xp, s, radius, axis):
    """Simplex threshold from values ``s`` sorted in decreasing order along ``axis``.

    Returns ``max_j (sum_{i<=j} s_i - radius) / j`` with ``keepdims``; this
    maximum is attained at the last ``j`` with ``s_j > (sum_{i<=j} s_i - radius) / j``,
    so it equals the usual sort-based (Held et al., Duchi et al., Condat)
    threshold ``tau`` and the projection is ``max(v - tau, 0)``.
    """
    n = s.shape[axis]
    shape = [1] * s.ndim
    shape[axis] = n
    j = xp.reshape(xp.arange(1, n + 1, dtype=s.dtype, device=device(s)), tuple(shape))
    css = xp.cumulative_sum(s, axis=axis)
    return xp.max((css - radius) / j, axis=axis, keepdims=True)


def _simplex_threshold(xp, v, radius, axis):
    return _threshold_sorted(xp, xp.sort(v, axis=axis, descending=True), radius, axis)


def _flatten_axis(xp, v, axis):
    """``(array, axis)`` to work on: the flattened array when ``axis`` is None."""
    if axis is None:
        return xp.reshape(v, (-1,)), 0
    if v.ndim == 0:
        raise ValueError(f"axis={axis} needs an array with at least one dimension, got a 0-d array.")
    return v, _check_axis(axis, v.ndim)


def _check_axis_param(axis):
    if axis is None:
        return None
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"axis must be None or an int, got {axis!r}.")
    return int(axis)


def _simplex_member(xp, x, radius, axis, max_nonzeros=None):
    """Whether every slice of ``x`` lies in the simplex (and has few nonzeros)."""
    if xp.isdtype(x.dtype, "complex floating"):
        return False
    x = _as_float(xp, x)
    if not x.size:
        return False
    x, ax = _flatten_axis(xp, x, axis)
    tol = _feasibility_rtol(xp, x.dtype) * radius
    if bool(xp.any(x < -tol)):
        return False
    if not bool(xp.all(xp.abs(xp.sum(x, axis=ax) - radius) <= tol)):
        return False
    if max_nonzeros is not None:
        nnz = xp.sum(xp.astype(x > tol, xp.int64), axis=ax)
        return bool(xp.all(nnz <= max_nonzeros))
    return True


def _simplex_support(xp, u, radius, axis):
    """Support function of the (product of) simplices: ``radius * sum of slice maxima``."""
    _, u = _real_input(u, "u")
    u, ax = _flatten_axis(xp, u, axis)
    return radius * float(xp.sum(xp.max(u, axis=ax)))


def _check_bound(value, name):
    """A bound: a Python float (infinities allowed) or a real floating array."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a real number or an array, got {value!r}.")
    if isinstance(value, numbers.Real) or getattr(value, "ndim", None) == 0:
        try:
            value = float(value)
        except TypeError:
            raise TypeError(f"{name} must be a real number or an array, got {value!r}.") from None
        if value != value:
            raise ValueError(f"{name} must not be NaN.")
        return value
    arr = check_array(value, name, finite=False, min_size=0)
    xp = get_namespace(arr)
    if bool(xp.any(xp.isnan(arr))):
        raise ValueError(f"{name} contains NaN values.")
    return arr


def _bound_like(xp, bound, v):
    """``bound`` as a Python float or an array of ``v``'s namespace, dtype and device."""
    if isinstance(bound, float):
        return bound
    if get_namespace(bound) is not xp:
        bound = xp.asarray(bound, device=device(v))
    if bound.dtype != v.dtype:
        bound = xp.astype(bound, v.dtype)
    return bound


# -- constraint sets -------------------------------------------------------------


class Box(Function):
    """Indicator of the box ``{x : lower <= x <= upper}``; prox is clipping.

    Parameters
    ----------
    lower, upper : float or array, default=-inf, inf
        Bounds, Python numbers (infinities allowed) or real arrays
        broadcastable to the shape of the inputs. ``lower <= upper`` is
        required entrywise.

    Notes
    -----
    Array bounds are converted to the namespace, device and dtype of the
    argument at each call (pass bounds from the same library as the data, e.g.
    CuPy bounds for CuPy data, to avoid host-to-device copies). The conjugate
    is the support function ``sum_i max(lower_i u_i, upper_i u_i)``.
    """

    is_separable = True

    def __init__(self, lower=-math.inf, upper=math.inf):
        self.lower = _check_bound(lower, "lower")
        self.upper = _check_bound(upper, "upper")
        lo, hi = self.lower, self.upper
        if isinstance(lo, float) and isinstance(hi, float):
            bad = lo > hi
        else:
            xp = get_namespace(lo, hi)
            try:
                bad = bool(xp.any(lo > hi))
            except ValueError as exc:
                raise ValueError(f"lower and upper must be broadcastable: {exc}") from None
        if bad:
            raise ValueError("lower must be <= upper (entrywise), got lower > upper.")

    @array_argument
    def __call__(self, x):
        xp, x = _real_input(x, "x")
        rtol = _feasibility_rtol(xp, x.dtype)
        lo, hi = _bound_like(xp, self.lower, x), _bound_like(xp, self.upper, x)
        if isinstance(lo, float):
            below = math.isfinite(lo) and bool(xp.any(x < lo - rtol * max(1.0, abs(lo))))
        else:
            below = bool(xp.any(x < lo - rtol * xp.clip(xp.abs(lo), 1.0, None)))
        if isinstance(hi, float):
            above = math.isfinite(hi) and bool(xp.any(x > hi + rtol * max(1.0, abs(hi))))
        else:
            above = bool(xp.any(x > hi + rtol * xp.clip(xp.abs(hi), 1.0, None)))
        return math.inf if below or above else 0.0

    @array_prox
    def prox(self, v, step=1.0):
        check_step(step)
        xp, v = _real_input(v)
        lo, hi = _bound_like(xp, self.lower, v), _bound_like(xp, self.upper, v)
        if isinstance(lo, float) and not math.isfinite(lo):
            lo = None
        if isinstance(hi, float) and not math.isfinite(hi):
            hi = None
        if lo is None and hi is None:
            return xp.asarray(v, copy=True)
        return xp.clip(v, lo, hi)

    def conjugate(self, u):
        xp, u = _real_input(u, "u")
        if not u.size:
            return 0.0
        tiny = _dual_rtol(xp, u) * float(xp.max(xp.abs(u)))
        total = 0.0
        for bound, mask in ((self.upper, u > tiny), (self.lower, u < -tiny)):
            b = _bound_like(xp, bound, u)
            if isinstance(b, float):
                if not bool(xp.any(mask)):
                    continue
                if not math.isfinite(b):
                    return math.inf
                total += b * float(xp.sum(xp.where(mask, u, xp.zeros_like(u))))
            else:
                infinite = xp.isinf(b)
                if bool(xp.any(xp.logical_and(mask, infinite))):
                    return math.inf
                finite_b = xp.where(infinite, xp.zeros_like(b), b)
                total += float(xp.sum(xp.where(mask, finite_b * u, xp.zeros_like(u))))
        return total


class NonNegative(Box):
    """Indicator of the nonnegative orthant ``{x : x >= 0}``; prox is ``max(v, 0)``.

    The conjugate is the indicator of the nonpositive orthant.
    """

    def __init__(self):
        super().__init__(0.0, math.inf)

    @array_prox
    def prox(self, v, step=1.0):
        check_step(step)
        xp, v = _real_input(v)
        return xp.clip(v, 0.0, None)

    def __repr__(self):
        return "NonNegative()"


class Simplex(Function):
    """Indicator of the simplex ``{x : x >= 0, sum(x) = radius}``.

    The projection is the sort-based ``O(n log n)`` algorithm (Held et al.
    1974; Duchi et al. 2008; Condat 2016): ``max(v - tau, 0)`` with the
    threshold ``tau`` read from the cumulative sums of the sorted entries.

    Parameters
    ----------
    radius : float, default=1.0
        Positive sum of the entries.
    axis : int or None, default=None
        ``None``: the whole array is one point of the simplex. An int: every
        1-D slice along ``axis`` is constrained (and projected) separately,
        e.g. ``axis=-1`` makes each row of a matrix a probability vector.

    Notes
    -----
    The conjugate is the support function ``radius * max(u)`` (summed over
    slices when ``axis`` is given).
    """

    is_separable = False

    def __init__(self, radius=1.0, axis=None):
        self.radius = check_scalar(radius, "radius", lower=0.0, lower_inclusive=False)
        self.axis = _check_axis_param(axis)

    @array_argument
    def __call__(self, x):
        xp = get_namespace(x)
        return 0.0 if _simplex_member(xp, x, self.radius, self.axis) else math.inf

    @array_prox
    def prox(self, v, step=1.0):
        check_step(step)
        xp, v = _real_input(v)
        if not v.size:
            raise ValueError("v must have at least one element to be projected onto the simplex.")
        w, ax = _flatten_axis(xp, v, self.axis)
        tau = _simplex_threshold(xp, w, self.radius, ax)
        if self.axis is None:
            tau = xp.reshape(tau, ())
        return xp.clip(v - tau, 0.0, None)

    def conjugate(self, u):
        return _simplex_support(get_namespace(u), u, self.radius, self.axis)


class TopKSimplex(Function):
    """Indicator of the ``k``-sparse simplex ``{x : x >= 0, sum(x) = radius, ||x||_0 <= k}``.

    A nonconvex set (used e.g. by sparsity-constrained optimal transport). Its
    Euclidean projection is exact and cheap (Kyrillidis et al., 2013): keep the
    ``k`` largest entries of ``v``, project them onto the simplex, set the
    others to zero.

    Parameters
    ----------
    k : int
        Maximum number of nonzeros, at least 1. ``k`` at least the slice
        length gives the plain :class:`Simplex`.
    radius : float, default=1.0
        Positive sum of the entries.
    axis : int or None, default=None
        As in :class:`Simplex`: ``None`` constrains the whole array, an int
        every 1-D slice along that axis.

    Notes
    -----
    When several entries tie for the ``k``-th largest value the projection is
    not unique; one of the minimisers is returned (on NumPy, the earliest
    entries win). The conjugate ``radius * max(u)`` is that of the simplex,
    the convex hull of the set.
    """

    is_convex = False
    is_separable = False

    def __init__(self, k, radius=1.0, axis=None):
        self.k = check_scalar(k, "k", kind=numbers.Integral, lower=1)
        self.radius = check_scalar(radius, "radius", lower=0.0, lower_inclusive=False)
        self.axis = _check_axis_param(axis)

    @array_argument
    def __call__(self, x):
        xp = get_namespace(x)
        return 0.0 if _simplex_member(xp, x, self.radius, self.axis, self.k) else math.inf

    @array_prox
    def prox(self, v, step=1.0):
        check_step(step)
        xp, v = _real_input(v)
        if not v.size:
            raise ValueError("v must have at least one element to be projected onto the simplex.")
        w, ax = _flatten_axis(xp, v, self.axis)
        n = w.shape[ax]
        if self.k >= n:
            tau = _simplex_threshold(xp, w, self.radius, ax)
            if self.axis is None:
                tau = xp.reshape(tau, ())
            return xp.clip(v - tau, 0.0, None)
        order = xp.argsort(w, axis=ax, descending=True, stable=True)
        if hasattr(xp, "take_along_axis"):
            s = xp.take_along_axis(w, order, axis=ax)
        else:  # pragma: no cover - namespaces before the 2024.12 standard
            s = xp.sort(w, axis=ax, descending=True)
        head = tuple(slice(0, self.k) if i == ax else slice(None) for i in range(w.ndim))
        tau = _threshold_sorted(xp, s[head], self.radius, ax)
        rank = xp.argsort(order, axis=ax, stable=True)  # inverse permutation
        out = xp.where(rank < self.k, xp.clip(w - tau, 0.0, None), xp.zeros_like(w))
        return xp.reshape(out, v.shape) if self.axis is None else out

    def conjugate(self, u):
        return _simplex_support(get_namespace(u), u, self.radius, self.axis)


class L1Ball(Function):
    """Indicator of the l1 ball ``{x : ||x||_1 <= radius}`` (whole array).

    The projection soft-thresholds ``v`` at the simplex threshold of ``|v|``
    (zero when ``v`` is already inside), so complex entries keep their phase.

    Parameters
    ----------
    radius : float, default=1.0
        Positive radius.

    Notes
    -----
    The conjugate is ``radius * max|u|``.
    """

    is_separable = False

    def __init__(self, radius=1.0):
        self.radius = check_scalar(radius, "radius", lower=0.0, lower_inclusive=False)

    @array_argument
    def __call__(self, x):
        xp = get_namespace(x)
        rtol = _feasibility_rtol(xp, x.dtype)
        return 0.0 if float(xp.sum(xp.abs(x))) <= self.radius * (1.0 + rtol) else math.inf

    @array_prox
    def prox(self, v, step=1.0):
        check_step(step)
        xp = get_namespace(v)
        if not v.size:
            return xp.asarray(v, copy=True)
        mag = xp.reshape(xp.abs(v), (-1,))
        tau = xp.clip(xp.reshape(_simplex_threshold(xp, mag, self.radius, 0), ()), 0.0, None)
        return magnitude_shrink(xp, v, tau)

    def conjugate(self, u):
        xp = get_namespace(u)
        return self.radius * (float(xp.max(xp.abs(u))) if u.size else 0.0)
