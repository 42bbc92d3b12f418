"""Matrix-based operators: dense or sparse matrices, Gaussian sensing, Kronecker products."""

import numbers

import numpy as np

from .._backend import device, get_namespace, is_complex, is_numpy_namespace
from .._validation import check_array, check_random_state, check_scalar
from ._base import LinearOperator, _as_shape

__all__ = ["GaussianSensing", "Kronecker", "MatrixOperator"]


def _is_scipy_sparse(a):
    return type(a).__module__.startswith("scipy.sparse")


def _herm(xp, a):
    """Conjugate transpose of a 2-D array."""
    return xp.conj(a).T if is_complex(a, xp) else a.T


class MatrixOperator(LinearOperator):
    """``A x = M @ vec(x)`` for a dense (any namespace) or ``scipy.sparse`` matrix ``M``.

    Parameters
    ----------
    matrix : array of shape (m, n) or scipy.sparse matrix
        Dense matrices move to the input's namespace and device on first use;
        a sparse matrix runs on the host and accepts NumPy input only.
    input_shape : tuple of int, optional
        Shape of ``x`` (``n`` elements, C order); ``(n,)`` by default.

    Notes
    -----
    A dense matrix has an exact normal solve: the inverse of the smaller
    regularised Gram matrix (``M^H M + rho I`` or, by the Woodbury identity,
    ``M M^H + rho I``) is computed once per ``rho`` and kept for the last
    ``rho`` used.
    """

    def __init__(self, matrix, input_shape=None):
        self.sparse = _is_scipy_sparse(matrix)
        if self.sparse:
            if matrix.ndim != 2:
                raise ValueError(f"matrix must be 2-dimensional, got shape {matrix.shape}.")
            if not np.all(np.isfinite(matrix.data)):
                raise ValueError("matrix contains NaN or infinite values; all entries must be finite.")
            matrix = matrix.tocsr()
        else:
            matrix = check_array(matrix, "matrix", ndim=2, allow_complex=True)
        m, n = (int(s) for s in matrix.shape)
        input_shape = (n,) if input_shape is None else _as_shape(input_shape, "input_shape")
        if int(np.prod(input_shape)) != n:
            raise ValueError(f"input_shape {input_shape} has {int(np.prod(input_shape))} elements; the matrix has {n} columns.")
        super().__init__(input_shape, (m,), matrix.dtype)
        self.matrix = matrix
        self.has_normal_solve = not self.sparse
        self._inverse = None  # (key, inverse of the small regularised Gram matrix)

    def _host_matrix(self, x):
        xp = get_namespace(x)
        if not is_numpy_namespace(xp):
            raise TypeError(f"{self._name()} holds a scipy.sparse matrix: it applies to NumPy arrays only, got {type(x).__module__} arrays.")
        single = x.dtype in (xp.float32, xp.complex64)
        key = ("sparse", single)
        mat = self._cache.get(key)
        if mat is None:
            kind = "c" if np.iscomplexobj(self.matrix.data) else "f"
            mat = self.matrix.astype({("f", True): np.float32, ("f", False): np.float64,
                                      ("c", True): np.complex64, ("c", False): np.complex128}[kind, single])
            self._cache[key] = mat
        return mat

    def _dense(self, x):
        return self._param("matrix", self.matrix, x)

    def _forward(self, x):
        xp = get_namespace(x)
        v = xp.reshape(x, (-1,))
        if self.sparse:
            return self._host_matrix(x) @ v
        return self._dense(x) @ v

    def _adjoint(self, y):
        xp = get_namespace(y)
        if self.sparse:
            out = self._host_matrix(y).conj().T @ y
        else:
            out = _herm(xp, self._dense(y)) @ y
        return xp.reshape(out, self.input_shape)

    def _solve_normal(self, rhs, rho):
        xp = get_namespace(rhs)
        M = self._dense(rhs)
        m, n = M.shape
        Mh = _herm(xp, M)
        key = (id(xp), str(device(rhs)), M.dtype, rhs.dtype, rho)
        if self._inverse is None or self._inverse[0] != key:
            gram = Mh @ M if n <= m else M @ Mh
            eye = xp.eye(gram.shape[0], dtype=gram.dtype, device=device(rhs))
            self._inverse = (key, xp.linalg.inv(gram + rho * eye))
        inverse = self._inverse[1]
        v = xp.reshape(rhs, (-1,))
        if n <= m:
            out = inverse @ v
        else:  # Woodbury: (M^H M + rho)^{-1} = (I - M^H (M M^H + rho)^{-1} M) / rho
            out = (v - Mh @ (inverse @ (M @ v))) / rho
        return xp.reshape(out, self.input_shape)


class GaussianSensing(MatrixOperator):
    """Compressed sensing with an i.i.d. Gaussian matrix of entries ``N(0, 1/m)``.

    Parameters
    ----------
    n_measurements : int
        Number of measurements ``m``.
    input_shape : int or tuple of int
        Shape of the signal (``n`` elements).
    complex : bool
        Complex Gaussian entries (real and imaginary parts of variance
        ``1/(2m)``).
    random_state : None, int or Generator
        Seed of the matrix (drawn on the host as NumPy float64/complex128;
        moved to the input's namespace on first use).
    """

    def __init__(self, n_measurements, input_shape, *, complex=False, random_state=None):
        m = check_scalar(n_measurements, "n_measurements", kind=numbers.Integral, lower=1)
        shape = _as_shape(input_shape, "input_shape")
        n = int(np.prod(shape))
        rng = check_random_state(random_state)
        if complex:
            matrix = (rng.standard_normal((m, n)) + 1j * rng.standard_normal((m, n))) / np.sqrt(2 * m)
        else:
            matrix = rng.standard_normal((m, n)) / np.sqrt(m)
        super().__init__(matrix, shape)


class Kronecker(LinearOperator):
    """``(A_1 kron A_2 kron ... kron A_k) vec(x)``: matrix ``A_i`` applied along axis ``i`` of ``x``.

    For two factors, ``A x = A_1 @ x @ A_2.T`` on a 2-D ``x``. The exact
    normal solve uses the eigendecompositions ``A_i^H A_i = V_i diag(s_i) V_i^H``
    (computed once per namespace and precision):
    ``(A^H A + rho I)^{-1} = (kron V_i) diag(1 / (prod s_i + rho)) (kron V_i)^H``.

    Parameters
    ----------
    *factors : arrays of shape (m_i, n_i)
        Dense matrices of one namespace; ``x`` has shape ``(n_1, ..., n_k)``.
    """

    has_normal_solve = True

    def __init__(self, *factors):
        if not factors:
            raise ValueError("Kronecker needs at least one factor.")
        factors = [check_array(f, f"factors[{i}]", ndim=2, allow_complex=True) for i, f in enumerate(factors)]
        xp = get_namespace(*factors)
        dtype = np.complex128 if any(is_complex(f, xp) for f in factors) else np.float64
        super().__init__(tuple(int(f.shape[1]) for f in factors), tuple(int(f.shape[0]) for f in factors), dtype)
        self.factors = factors

    def _factors(self, like):
        return [self._param(f"factor{i}", f, like) for i, f in enumerate(self.factors)]

    @staticmethod
    def _along_axes(xp, matrices, x):
        """Apply ``matrices[i]`` along axis ``i`` of ``x``."""
        for axis, mat in enumerate(matrices):
            if is_complex(mat, xp) and not is_complex(x, xp):
                x = xp.astype(x, mat.dtype)
            elif is_complex(x, xp) and not is_complex(mat, xp):
                mat = xp.astype(mat, x.dtype)
            x = xp.moveaxis(xp.tensordot(mat, x, axes=([1], [axis])), 0, axis)
        return x

    def _forward(self, x):
        xp = get_namespace(x)
        return self._along_axes(xp, self._factors(x), x)

    def _adjoint(self, y):
        xp = get_namespace(y)
        return self._along_axes(xp, [_herm(xp, f) for f in self._factors(y)], y)

    def _eig(self, like):
        """Eigenvectors and the eigenvalue grid ``prod_i s_i`` of ``A^H A`` (cached)."""
        xp = get_namespace(like)
        key = ("eig", id(xp), str(device(like)), like.dtype)
        cached = self._cache.get(key)
        if cached is None:
            vectors, grid = [], None
            k = len(self.factors)
            for i, f in enumerate(self._factors(like)):
                s, v = xp.linalg.eigh(_herm(xp, f) @ f)
                s = xp.clip(s, 0.0, None)
                vectors.append(v)
                shape = [1] * k
                shape[i] = int(s.shape[0])
                s = xp.reshape(s, tuple(shape))
                grid = s if grid is None else grid * s
            cached = (vectors, grid)
            self._cache[key] = cached
        return cached

    def _solve_normal(self, rhs, rho):
        xp = get_namespace(rhs)
        vectors, grid = self._eig(rhs)
        coef = self._along_axes(xp, [_herm(xp, v) for v in vectors], rhs)
        return self._along_axes(xp, vectors, coef / (grid + rho))
