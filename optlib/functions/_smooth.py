"""Smooth datafits: value, gradient, Lipschitz constant of the gradient."""

from .._backend import get_namespace
from .._validation import check_array, check_scalar
from ._base import SmoothFunction

__all__ = ["LeastSquares", "spectral_norm_squared"]


def spectral_norm_squared(A, *, tol=1e-6, max_iter=500, random_state=0):
    """Squared largest singular value of the 2-D array ``A``.

    Exact (largest eigenvalue of the smaller Gram matrix) when that costs at
    most a few GFLOP, power iteration on ``A^T A`` otherwise; the power
    estimate is inflated by ``10 * tol`` relative so that it is an upper bound
    in practice (safe as a Lipschitz constant).
    """
    xp = get_namespace(A)
    m, n = A.shape
    if min(m, n) ** 2 * max(m, n) <= 2e9:
        gram = A @ A.T if m <= n else A.T @ A
        return float(xp.max(xp.linalg.eigvalsh(gram)))
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

    Implements the composite protocol (``forward``, ``value_at``,
    ``grad_at``) used by solvers to reuse ``A x`` across iterations.

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

    # Composite protocol f(x) = h(A x): solvers that carry z = A x along their
    # iterates (extrapolation is linear, so z of a combination is the same
    # combination of z's) save one product with A per iteration.
    def forward(self, x):
        """Linear part ``z = A x``."""
        return self.A @ x

    def value_at(self, z):
        """Value from the forward image ``z = A x``."""
        xp = get_namespace(z)
        r = z - self.y
        return 0.5 * self.scale * float(xp.sum(r * r))

    def grad_at(self, z):
        """Gradient with respect to ``x`` from the forward image ``z = A x``."""
        return self.scale * (self.A.T @ (z - self.y))

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
        u = -(self.A.T @ theta)
        c = g.dual_scaling(u)
        primal = self.value_at(z) + g(x)
        theta = c * theta
        h_conj = float(xp.sum(theta * theta)) / (2 * self.scale) + float(xp.sum(theta * self.y))
        dual = -h_conj - g.conjugate(c * u)
        return primal - dual
