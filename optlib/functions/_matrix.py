"""Matrix penalties: nuclear norm and rank constraint (singular value operations).

Both act on the last two axes and are batched over any leading axes, through
``xp.linalg.svd(..., full_matrices=False)``.
"""

import math
import numbers

from .._backend import get_namespace
from .._validation import check_scalar
from ._base import Function
from ._norms import _as_float, _dual_rtol
from ._projections import _feasibility_rtol
from ._utils import array_argument, array_prox, check_step, check_weight

__all__ = ["NuclearNorm", "RankConstraint"]


def _matrix_input(x, name="v"):
    xp = get_namespace(x)
    if x.ndim < 2:
        raise ValueError(
            f"{name} must be at least 2-dimensional (a matrix or a stack of matrices), got shape {tuple(x.shape)}."
        )
    return xp, _as_float(xp, x)


def _svdvals(xp, x):
    svdvals = getattr(xp.linalg, "svdvals", None)
    if svdvals is not None:
        return svdvals(x)
    return xp.linalg.svd(x, full_matrices=False)[1]


def _recompose(xp, U, s, Vh):
    """``U @ diag(s) @ Vh`` for stacks of matrices."""
    if s.dtype != U.dtype:
        s = xp.astype(s, U.dtype)
    return (U * xp.expand_dims(s, axis=-2)) @ Vh


class NuclearNorm(Function):
    """Nuclear norm ``lam * sum_i sigma_i(X)``; prox is singular value soft thresholding.

    Works on a matrix (real or complex) or a stack of matrices (last two axes;
    the value is then the sum over the stack).

    Parameters
    ----------
    lam : float, default=1.0
        Nonnegative weight.

    Notes
    -----
    Each prox costs one thin SVD. The conjugate is the indicator of the
    spectral-norm ball ``{U : sigma_max(U) <= lam}``.
    """

    is_separable = False

    def __init__(self, lam=1.0):
        self.lam = check_weight(lam)

    @array_argument
    def __call__(self, x):
        xp, x = _matrix_input(x, "x")
        return self.lam * float(xp.sum(_svdvals(xp, x)))

    @array_prox
    def prox(self, v, step=1.0):
        step = check_step(step)
        xp, v = _matrix_input(v)
        U, s, Vh = xp.linalg.svd(v, full_matrices=False)
        return _recompose(xp, U, xp.clip(s - self.lam * step, 0.0, None), Vh)

    def _spectral_norm(self, u):
        xp, u = _matrix_input(u, "u")
        return float(xp.max(_svdvals(xp, u))) if u.size else 0.0

    def conjugate(self, u):
        rtol = _dual_rtol(get_namespace(u), u)
        return 0.0 if self._spectral_norm(u) <= self.lam * (1 + rtol) else math.inf

    def dual_scaling(self, u):
        norm = self._spectral_norm(u)
        return 1.0 if norm <= self.lam else self.lam / norm


class RankConstraint(Function):
    """Indicator of ``{X : rank(X) <= rank}``; prox is the truncated SVD (Eckart-Young).

    Nonconvex. Works on a matrix (real or complex) or a stack of matrices
    (last two axes, each constrained separately).

    Parameters
    ----------
    rank : int
        Maximum rank, at least 1.

    Notes
    -----
    The value counts singular values above ``sqrt(eps) * sigma_max`` (eps of
    the array's dtype). When the ``rank``-th and next singular values tie the
    projection is not unique and one minimiser is returned.
    """

    is_convex = False
    is_separable = False

    def __init__(self, rank):
        self.rank = check_scalar(rank, "rank", kind=numbers.Integral, lower=1)

    @array_argument
    def __call__(self, x):
        xp, x = _matrix_input(x, "x")
        if self.rank >= min(x.shape[-2], x.shape[-1]) or not x.size:
            return 0.0
        s = _svdvals(xp, x)
        tol = _feasibility_rtol(xp, x.dtype) * xp.max(s, axis=-1, keepdims=True)
        counts = xp.sum(xp.astype(s > tol, xp.int64), axis=-1)
        return 0.0 if bool(xp.all(counts <= self.rank)) else math.inf

    @array_prox
    def prox(self, v, step=1.0):
        check_step(step)
        xp, v = _matrix_input(v)
        r = self.rank
        if r >= min(v.shape[-2], v.shape[-1]):
            return xp.asarray(v, copy=True)
        U, s, Vh = xp.linalg.svd(v, full_matrices=False)
        return _recompose(xp, U[..., :r], s[..., :r], Vh[..., :r, :])
