"""Norm penalties: l1, l2, group l2,1, elastic net."""

from .._backend import get_namespace
from ._base import Function
from ._utils import check_step, check_weight, magnitude_shrink

__all__ = ["L1"]


class L1(Function):
    """``lam * ||x||_1`` (sum of moduli for complex ``x``); prox is soft thresholding.

    Parameters
    ----------
    lam : float, default=1.0
        Nonnegative weight.
    """

    is_separable = True

    def __init__(self, lam=1.0):
        self.lam = check_weight(lam)

    def __call__(self, x):
        xp = get_namespace(x)
        return self.lam * float(xp.sum(xp.abs(x)))

    def prox(self, v, step=1.0):
        xp = get_namespace(v)
        return magnitude_shrink(xp, v, self.lam * check_step(step))

    def conjugate(self, u):
        xp = get_namespace(u)
        excess = float(xp.max(xp.abs(u))) if u.size else 0.0
        return 0.0 if excess <= self.lam * (1 + 1e-12) else float("inf")

    def dual_scaling(self, u):
        xp = get_namespace(u)
        norm = float(xp.max(xp.abs(u))) if u.size else 0.0
        return 1.0 if norm <= self.lam else self.lam / norm
