"""Design matrices for the BCD datafits: dense arrays of any namespace or SciPy sparse.

:class:`Design` gives the few products block coordinate descent needs,
written once for dense array-API arrays and for ``scipy.sparse`` matrices
(CSC preferred: a column block costs ``O(nnz)`` of its columns). For NumPy
input with numba the sparse column products run in a compiled kernel.
"""

import math

from ..._backend import (
    device,
    get_namespace,
    is_cupy_namespace,
    is_non_numpy_array,
    is_numpy_namespace,
    to_namespace,
    use_numba,
)
from ..._validation import check_array, check_finite

__all__ = ["Design", "check_host_input", "check_on_device", "is_sparse", "lambda_max_sym", "scatter_add"]


def is_sparse(A):
    """True for SciPy or CuPy sparse matrices and arrays."""
    module = type(A).__module__
    return module.startswith(("scipy.sparse", "cupyx.scipy.sparse")) and hasattr(
        A, "tocsc"
    )


def check_host_input(value, name, solver):
    """Reject an array of a non-NumPy library for a solver that runs on the host.

    NumPy arrays and scalars, SciPy sparse matrices, Python sequences and
    ``None`` pass; arrays of other array-API libraries (CuPy, array_api_strict,
    ...) and CuPy sparse matrices raise a ``TypeError`` naming ``solver`` and
    ``name``, instead of failing later in a NumPy call.
    """
    import numpy as np

    if isinstance(value, (np.ndarray, np.generic)):
        return
    if hasattr(value, "__array_namespace__") or type(value).__module__.startswith(
        "cupy"
    ):
        raise TypeError(
            f"{solver} runs on the host: {name} must be a NumPy array or a SciPy "
            f"sparse matrix, got {type(value).__module__}.{type(value).__name__}; "
            "move it with optlib._backend.to_host first."
        )


def check_on_device(value, name, xp, dev, **kwargs):
    """:func:`~optlib._validation.check_array` of ``value`` as an array of ``xp`` on device ``dev``.

    Host data (NumPy arrays, lists) for another namespace is copied to
    ``dev`` explicitly, as :class:`~optlib.functions.LeastSquares` does with
    its observations; an array on another device raises ``ValueError``
    naming ``name``. ``kwargs`` go to ``check_array``.
    """
    if not is_numpy_namespace(xp) and not is_non_numpy_array(value):
        value = to_namespace(value, xp, device=dev)
    value = check_array(value, name, xp=xp, **kwargs)
    if not is_numpy_namespace(xp) and device(value) != dev:
        raise ValueError(f"{name} is on device {device(value)!r} but the datafit is on {dev!r}; move {name} there.")
    return value


def scatter_add(xp, x, idx, d):
    """``x[idx] += d`` (``idx`` unique) in place for NumPy and CuPy; a new array otherwise."""
    if is_numpy_namespace(xp) or is_cupy_namespace(xp):
        x[idx] += d
        return x
    n = x.shape[0]
    onehot = xp.astype(
        idx[:, None] == xp.arange(n, dtype=idx.dtype, device=x.device)[None, :], x.dtype
    )
    return x + d @ onehot


def lambda_max_sym(xp, H):
    """Largest eigenvalue of a (batch of) small symmetric matrices, clipped at 0."""
    return xp.clip(xp.linalg.eigvalsh(H)[..., -1], 0.0, None)


class Design:
    """A design ``A`` (``m x n``) with column-block products.

    Parameters
    ----------
    A : array or sparse matrix
        Dense array of any namespace, or SciPy sparse matrix (converted to CSC).
    name : str
        Argument name for error messages.
    engine : {"auto", "numba", "xp"}
        Kernel selection for sparse column products on NumPy.
    """

    def __init__(self, A, name="A", engine="auto"):
        self.sparse = is_sparse(A)
        if self.sparse:
            A = A.tocsc()
            if A.ndim != 2:
                raise ValueError(f"{name} must be 2-dimensional, got shape {A.shape}.")
            if A.dtype.kind not in "f":
                A = A.astype("float64")
            if not A.has_canonical_format:  # never touch the caller's matrix in place
                A = A.copy()
                A.sum_duplicates()
            self.xp = get_namespace(A.data)
            check_finite(A.data, name, self.xp)
            if A.shape[0] < 1 or A.shape[1] < 1:
                raise ValueError(f"{name} must be non-empty, got shape {A.shape}.")
        else:
            A = check_array(A, name, ndim=2)
            self.xp = get_namespace(A)
        self.A = A
        self.shape = tuple(A.shape)
        self.dtype = A.dtype
        self.engine = engine
        self._numba = self.sparse and use_numba(self.xp, engine)
        self._col_norms = None
        self._abs_gram = None
        self._lmax = None

    def device(self):
        """Device of the design's arrays (the host for SciPy sparse)."""
        return device(self.A.data if self.sparse else self.A)

    def astype(self, dtype):
        if self.A.dtype != dtype:
            self.A = (
                self.A.astype(dtype) if self.sparse else self.xp.astype(self.A, dtype)
            )
            self.dtype = dtype
        return self

    # -- products ----------------------------------------------------------------
    def matvec(self, x):
        """``A @ x`` (``x`` a vector or a matrix)."""
        return self.A @ x

    def rmatvec(self, r):
        """``A.T @ r``; costs ``O(nnz(A))`` (``O(m n)`` dense) for a vector."""
        return self.A.T @ r

    def cols(self, idx):
        """Dense copy of the columns ``idx``, shape ``(m, len(idx))``."""
        if self.sparse:
            return self.A[:, idx].toarray()
        return self.xp.take(self.A, idx, axis=1)

    def cols_matvec(self, idx, d):
        """``A[:, idx] @ d`` in ``O(m |idx|)`` dense, ``O(nnz of the columns)`` sparse."""
        if self._numba:
            import numpy as np

            from ._numba import csc_cols_matvec

            A = self.A
            out = np.zeros(self.shape[0], dtype=np.result_type(A.dtype, d.dtype))
            csc_cols_matvec(
                A.indptr,
                A.indices,
                A.data,
                np.asarray(idx, dtype=np.int64),
                d.astype(out.dtype),
                out,
            )
            return out
        if self.sparse:
            return self.A[:, idx] @ d
        return self.xp.take(self.A, idx, axis=1) @ d

    # -- constants ----------------------------------------------------------------
    def col_sq_norms(self):
        """``||a_i||^2`` for every column (cached)."""
        if self._col_norms is None:
            if self.sparse:
                A = self.A
                import numpy as np

                self._col_norms = np.asarray(
                    A.multiply(A).sum(axis=0), dtype=A.dtype
                ).reshape(-1)
            else:
                self._col_norms = self.xp.sum(self.A * self.A, axis=0)
        return self._col_norms

    def abs_gram_rowsums(self, chunk=1024):
        """``sum_j |a_i^T a_j|`` for every column ``i`` (cached); ``O(m n^2)``, computed by chunks."""
        if self._abs_gram is None:
            xp = self.xp
            n = self.shape[1]
            parts = []
            if self.sparse:
                A = self.A
                for start in range(0, n, chunk):
                    G = (A[:, start : start + chunk].T @ A).toarray()
                    parts.append(xp.sum(xp.abs(xp.asarray(G)), axis=1))
            else:
                for start in range(0, n, chunk):
                    G = self.A[:, start : min(start + chunk, n)].T @ self.A
                    parts.append(xp.sum(xp.abs(G), axis=1))
            self._abs_gram = xp.concat(parts)
        return self._abs_gram

    def lambda_max(self):
        """``||A||_2^2`` (cached): SciPy's ``svds`` on NumPy, else a power iteration inflated by 1%."""
        if self._lmax is None:
            xp = self.xp
            m, n = self.shape
            if is_numpy_namespace(xp) and min(m, n) > 2:
                import numpy as np
                from scipy.sparse.linalg import svds

                try:
                    s = svds(
                        self.A.astype(np.float64),
                        k=1,
                        return_singular_vectors=False,
                        tol=1e-10,
                        random_state=0,
                    )
                    self._lmax = float(s[0]) ** 2 * (1 + 1e-8)
                except (
                    ArithmeticError,
                    ValueError,
                    RuntimeError,
                ):  # pragma: no cover - ARPACK failure
                    self._lmax = None
            if self._lmax is None:
                if not self.sparse and min(m, n) <= 200:
                    s = (
                        xp.linalg.svdvals(xp.astype(self.A, xp.float64))
                        if hasattr(xp.linalg, "svdvals")
                        else None
                    )
                    if s is not None:
                        self._lmax = float(s[0]) ** 2 * (1 + 1e-8)
                if self._lmax is None:
                    self._lmax = _power_iteration(xp, self) * 1.01
        return self._lmax


def _power_iteration(xp, design, n_iter=100):
    n = design.shape[1]
    v = xp.ones(
        n,
        dtype=xp.float64,
        device=device(design.A.data if design.sparse else design.A),
    )
    lam = 0.0
    A64 = (
        design.A.astype("float64") if design.sparse else xp.astype(design.A, xp.float64)
    )
    for _ in range(n_iter):
        w = A64.T @ (A64 @ v)
        norm = float(xp.linalg.vector_norm(w))
        if norm == 0:
            return 0.0
        new = norm / max(float(xp.linalg.vector_norm(v)), 1e-300)
        v = w / norm
        if abs(new - lam) <= 1e-10 * new:
            lam = new
            break
        lam = new
    return lam if math.isfinite(lam) else 0.0
