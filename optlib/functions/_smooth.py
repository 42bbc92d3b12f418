"""Smooth datafits: value, gradient, Lipschitz constant of the gradient."""

import numpy as np
from array_api_compat import is_array_api_obj

from .._backend import device, get_namespace, is_numpy_namespace, to_namespace
from .._validation import check_array, check_scalar
from ._base import SmoothFunction

__all__ = ["LeastSquares", "spectral_norm_squared"]


def spectral_norm_squared(A, *, random_state=0):
    """Squared largest singular value of the 2-D array ``A`` (a safe Lipschitz constant).

    Exact (largest eigenvalue of the smaller Gram matrix) when that costs at
    most a few GFLOP; otherwise Lanczos (``scipy.sparse.linalg.eigsh``) for
    NumPy arrays, and for other namespaces power iteration on ``A^H A``
    whose estimate is inflated by 1% so that it stays an upper bound.
    """
    xp = get_namespace(A)
    m, n = A.shape
    AH = xp.conj(A).T if xp.isdtype(A.dtype, "complex floating") else A.T
    small = min(m, n)
    if small**2 * max(m, n) <= 2e9:
        gram = A @ AH if m <= n else AH @ A
        return float(xp.max(xp.real(xp.linalg.eigvalsh(gram))))
    rng = np.random.default_rng(random_state)
    start = rng.standard_normal(n)
    if is_numpy_namespace(xp):
        from scipy.sparse.linalg import LinearOperator, eigsh

        gram = LinearOperator((n, n), matvec=lambda v: AH @ (A @ v), dtype=A.dtype)
        return float(eigsh(gram, k=1, which="LA", v0=start, tol=1e-10, return_eigenvectors=False)[0])
    v = xp.astype(to_namespace(start, xp, device(A)), A.dtype)
    estimate = 0.0
    for _ in range(1000):
        w = AH @ (A @ v)
        new = float(xp.linalg.vector_norm(w))
        if new == 0.0:
            return 0.0
        v = w / new
        if abs(new - estimate) <= 1e-8 * new:
            estimate = new
            break
        estimate = new
    return 1.01 * estimate


_SPARSE_FORWARD_FRACTION = 0.2  # below this density, gathering the support's columns beats a full product


def _squared_norm(xp, r):
    return float(xp.sum(xp.real(xp.conj(r) * r)))


class LeastSquares(SmoothFunction):
    """``scale/2 * ||A x - y||^2`` (Frobenius norm when ``x`` and ``y`` are 2-D).

    Implements the composite protocol (``forward``, ``value_at``,
    ``grad_at``) used by solvers to reuse ``A x`` across iterations.

    Parameters
    ----------
    A : array of shape (m, n)
        Design or forward operator (dense, any array-API namespace; real or
        complex, the gradient then uses the conjugate transpose).
    y : array of shape (m,) or (m, k)
        Observations; host data (NumPy arrays, lists) is copied to the
        namespace and device of ``A``.
    scale : float, default=1.0
        Positive factor; ``scale = 1/m`` gives scikit-learn's Lasso datafit.

    Notes
    -----
    The Lipschitz constant ``scale * ||A||_2^2`` is computed on first use.
    """

    def __init__(self, A, y, scale=1.0):
        self.A = check_array(A, "A", ndim=2, allow_complex=True)
        xp = get_namespace(self.A)
        if not is_numpy_namespace(xp) and (isinstance(y, np.ndarray) or not is_array_api_obj(y)):
            y = to_namespace(y, xp, device(self.A))  # host observations: explicit copy to A's device
        self.y = check_array(y, "y", xp=xp, ndim=(1, 2), allow_complex=True)
        complex_ = xp.isdtype(self.A.dtype, "complex floating")
        self._AH = xp.conj(self.A).T if complex_ else self.A.T
        if self.y.shape[0] != self.A.shape[0]:
            raise ValueError(f"y has {self.y.shape[0]} rows but A has {self.A.shape[0]}; they must match.")
        self.scale = check_scalar(scale, "scale", lower=0.0, lower_inclusive=False)
        self._lipschitz = None

    @property
    def input_shape(self):
        """Shape of ``x``: ``(n,)`` for 1-D ``y``, ``(n, k)`` for ``y`` of shape ``(m, k)``."""
        return (self.A.shape[1],) + tuple(self.y.shape[1:])

    @property
    def lipschitz(self):
        if self._lipschitz is None:
            self._lipschitz = self.scale * spectral_norm_squared(self.A)
        return self._lipschitz

    # Composite protocol f(x) = h(A x): solvers that carry z = A x along their
    # iterates (extrapolation is linear, so z of a combination is the same
    # combination of z's) save one product with A per iteration.
    def forward(self, x):
        """Linear part ``z = A x``; for a sparse vector ``x`` only its support's columns are used."""
        if x.ndim == 1:
            xp = get_namespace(x)
            support = xp.nonzero(x)[0]
            if support.shape[0] <= _SPARSE_FORWARD_FRACTION * x.shape[0]:
                return xp.take(self.A, support, axis=1) @ xp.take(x, support, axis=0)
        return self.A @ x

    def value_at(self, z):
        """Value from the forward image ``z = A x``."""
        xp = get_namespace(z)
        r = z - self.y
        return 0.5 * self.scale * _squared_norm(xp, r)

    def grad_at(self, z):
        """Gradient with respect to ``x`` from the forward image ``z = A x``."""
        return self.scale * (self._AH @ (z - self.y))

    def __call__(self, x):
        return self.value_at(self.forward(x))

    def grad(self, x):
        return self.grad_at(self.forward(x))

    def value_and_grad(self, x):
        z = self.forward(x)
        return self.value_at(z), self.grad_at(z)

    def duality_gap(self, x, g):
        """Fenchel duality gap of ``self(x) + g(x)`` for a convex ``g``.

        Uses the dual point ``theta = c * scale * (A x - y)`` with ``c`` from
        ``g.dual_scaling`` so that ``g*(-A^T theta)`` is finite. Requires ``g``
        to implement ``conjugate`` and ``dual_scaling``.
        """
        xp = get_namespace(x)
        z = self.forward(x)
        theta = self.scale * (z - self.y)
        u = -(self._AH @ theta)
        c = g.dual_scaling(u)
        primal = self.value_at(z) + g(x)
        theta = c * theta
        h_conj = _squared_norm(xp, theta) / (2 * self.scale) + float(xp.sum(xp.real(xp.conj(theta) * self.y)))
        dual = -h_conj - g.conjugate(c * u)
        return primal - dual
