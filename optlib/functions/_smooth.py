"""Smooth datafits: value, gradient, Lipschitz constant of the gradient."""

from .._backend import get_namespace
from .._validation import check_array, check_scalar
from ._base import SmoothFunction

__all__ = ["LeastSquares", "spectral_norm_squared"]


def spectral_norm_squared(A, *, tol=1e-6, max_iter=500, random_state=0):
    """Squared largest singular value of the 2-D array ``A``.

    Exact (``matrix_norm(ord=2)``) for small matrices, power iteration on
    ``A^T A`` otherwise; the estimate is inflated by ``tol`` relative so that
    it is an upper bound in practice (safe as a Lipschitz constant).
    """
    xp = get_namespace(A)
    m, n = A.shape
    if min(m, n) <= 256:
        return float(xp.linalg.matrix_norm(A, ord=2)) ** 2
    import numpy as np

    v = np.random.default_rng(random_state).standard_normal(n)
    v = xp.asarray(v, dtype=A.dtype, device=getattr(A, "device", None))
    v = v / xp.linalg.vector_norm(v)
    estimate = 0.0
    for _ in range(max_iter):
        w = A.T @ (A @ v)
        new = float(xp.linalg.vector_norm(w))
        if new == 0.0:
            return 0.0
        v = w / new
        if abs(new - estimate) <= tol * new:
            estimate = new
            break
        estimate = new
    return estimate * (1 + 10 * tol)


class LeastSquares(SmoothFunction):
    """``scale/2 * ||A x - y||^2`` (Frobenius norm when ``x`` and ``y`` are 2-D).

    Parameters
    ----------
    A : array of shape (m, n)
        Design or forward operator (dense, any array-API namespace).
    y : array of shape (m,) or (m, k)
        Observations.
    scale : float, default=1.0
        Positive factor; ``scale = 1/m`` gives scikit-learn's Lasso datafit.

    Notes
    -----
    The Lipschitz constant ``scale * ||A||_2^2`` is computed on first use.
    """

    def __init__(self, A, y, scale=1.0):
        self.A = check_array(A, "A", ndim=2)
        xp = get_namespace(self.A)
        self.y = check_array(y, "y", xp=xp, ndim=(1, 2))
        if self.y.shape[0] != self.A.shape[0]:
            raise ValueError(f"y has {self.y.shape[0]} rows but A has {self.A.shape[0]}; they must match.")
        self.scale = check_scalar(scale, "scale", lower=0.0, lower_inclusive=False)
        self._lipschitz = None

    @property
    def lipschitz(self):
        if self._lipschitz is None:
            self._lipschitz = self.scale * spectral_norm_squared(self.A)
        return self._lipschitz

    def residual(self, x):
        """``A x - y``."""
        return self.A @ x - self.y

    def __call__(self, x):
        xp = get_namespace(x)
        r = self.residual(x)
        return 0.5 * self.scale * float(xp.sum(r * r))

    def grad(self, x):
        return self.scale * (self.A.T @ self.residual(x))

    def value_and_grad(self, x):
        xp = get_namespace(x)
        r = self.residual(x)
        return 0.5 * self.scale * float(xp.sum(r * r)), self.scale * (self.A.T @ r)

    def duality_gap(self, x, g):
        """Fenchel duality gap of ``self(x) + g(x)`` for a convex ``g``.

        Uses the dual point ``theta = c * scale * (A x - y)`` with ``c`` from
        ``g.dual_scaling`` so that ``g*(-A^T theta)`` is finite. Requires ``g``
        to implement ``conjugate`` and ``dual_scaling``.
        """
        xp = get_namespace(x)
        r = self.residual(x)
        theta = self.scale * r
        u = -(self.A.T @ theta)
        c = g.dual_scaling(u)
        primal = 0.5 * self.scale * float(xp.sum(r * r)) + g(x)
        theta = c * theta
        h_conj = float(xp.sum(theta * theta)) / (2 * self.scale) + float(xp.sum(theta * self.y))
        dual = -h_conj - g.conjugate(c * u)
        return primal - dual
