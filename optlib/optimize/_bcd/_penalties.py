"""Separable penalties for block coordinate descent.

A BCD penalty acts entrywise: ``h(x) = sum_i l1 |x_i| + 0.5 l2 x_i^2`` plus
the indicator of ``lower <= x_i <= upper``. This covers the lasso (``L1``),
ridge and the elastic net, nonnegativity and boxes, and their sums (the
paper's problem L1 is ``l1`` with ``lower=0``). The prox with a step given
per coordinate is closed form, which the greedy scores need (one step
``1 / L_i`` per coordinate).
"""

import math

from ..._validation import check_scalar

__all__ = ["SeparablePenalty", "make_penalty"]


class SeparablePenalty:
    """``l1 ||x||_1 + 0.5 l2 ||x||^2 + indicator(lower <= x <= upper)``.

    Parameters
    ----------
    l1, l2 : float, default=0
        Nonnegative weights of the l1 norm and of half the squared l2 norm.
    lower, upper : float, default=-inf, inf
        Bounds on every coordinate (``lower <= upper``).
    """

    def __init__(self, l1=0.0, l2=0.0, lower=-math.inf, upper=math.inf):
        self.l1 = check_scalar(l1, "l1", lower=0.0)
        self.l2 = check_scalar(l2, "l2", lower=0.0)
        self.lower = _check_bound(lower, "lower")
        self.upper = _check_bound(upper, "upper")
        if self.lower > self.upper:
            raise ValueError(
                f"lower must be <= upper, got lower={self.lower} > upper={self.upper}."
            )
        if self.lower > 0 or self.upper < 0:
            raise ValueError("the box [lower, upper] must contain 0.")

    def __repr__(self):
        return f"SeparablePenalty(l1={self.l1!r}, l2={self.l2!r}, lower={self.lower!r}, upper={self.upper!r})"

    @property
    def is_zero(self):
        return (
            self.l1 == 0
            and self.l2 == 0
            and self.lower == -math.inf
            and self.upper == math.inf
        )

    @property
    def bounded(self):
        return self.lower > -math.inf or self.upper < math.inf

    def value(self, xp, x):
        """Penalty value (``inf`` outside the box), a Python float."""
        if self.is_zero:
            return 0.0
        if self.bounded:
            tol = 1e-12 if x.dtype == xp.float64 else 1e-5
            if (
                bool(xp.any(x < self.lower - tol * max(1.0, abs(self.lower))))
                if math.isfinite(self.lower)
                else False
            ):
                return math.inf
            if (
                bool(xp.any(x > self.upper + tol * max(1.0, abs(self.upper))))
                if math.isfinite(self.upper)
                else False
            ):
                return math.inf
        total = 0.0
        if self.l1:
            total += self.l1 * float(xp.sum(xp.abs(x)))
        if self.l2:
            total += 0.5 * self.l2 * float(xp.sum(x * x))
        return total

    def prox(self, xp, v, step):
        """Entrywise prox of ``step * h`` at ``v``; ``step`` a scalar or an array like ``v``."""
        if self.is_zero:
            return v
        z = v
        if self.l1:
            z = xp.sign(z) * xp.clip(xp.abs(z) - step * self.l1, 0.0, None)
        if self.l2:
            z = z / (1.0 + step * self.l2)
        if self.bounded:
            lo = self.lower if math.isfinite(self.lower) else None
            hi = self.upper if math.isfinite(self.upper) else None
            z = xp.clip(z, lo, hi)
        return z

    def coordinate_scores(self, xp, g, x, L):
        """Scaled decrease ``sqrt(2 s_i)`` of the proximal coordinate step with constant ``L_i``.

        ``s_i = -(g_i d_i + L_i d_i^2 / 2 + h(x_i + d_i) - h(x_i))`` with
        ``d_i = prox_{h / L_i}(x_i - g_i / L_i) - x_i``. Without a penalty this
        is ``|g_i| / sqrt(L_i)``, the score of the GS-type rules.
        """
        if self.is_zero:
            return xp.abs(g) / xp.sqrt(L)
        step = 1.0 / L
        d = self.prox(xp, x - g * step, step) - x
        xn = x + d
        dh = xp.zeros_like(x)
        if self.l1:
            dh = dh + self.l1 * (xp.abs(xn) - xp.abs(x))
        if self.l2:
            dh = dh + 0.5 * self.l2 * d * (xn + x)  # no cancellation of xn^2 - x^2
        s = -(g * d + 0.5 * L * d * d + dh)
        return xp.sqrt(2.0 * xp.clip(s, 0.0, None))


def _check_bound(value, name):
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        and getattr(value, "ndim", None) != 0
    ):
        raise TypeError(f"{name} must be a real number, got {value!r}.")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must not be NaN.")
    return value


def make_penalty(penalty):
    """A :class:`SeparablePenalty` from ``None``, itself, or an ``optlib.functions`` object.

    Accepted ``optlib.functions`` objects: ``L1``, ``ElasticNet``,
    ``NonNegative`` and ``Box`` with scalar bounds.
    """
    if penalty is None:
        return SeparablePenalty()
    if isinstance(penalty, SeparablePenalty):
        return penalty
    from ...functions import L1, Box, ElasticNet, NonNegative

    if isinstance(penalty, L1):
        return SeparablePenalty(l1=penalty.lam)
    if isinstance(penalty, ElasticNet):
        return SeparablePenalty(
            l1=penalty.lam * penalty.l1_ratio, l2=penalty.lam * (1.0 - penalty.l1_ratio)
        )
    if isinstance(penalty, NonNegative):
        return SeparablePenalty(lower=0.0)
    if (
        isinstance(penalty, Box)
        and isinstance(penalty.lower, float)
        and isinstance(penalty.upper, float)
    ):
        return SeparablePenalty(lower=penalty.lower, upper=penalty.upper)
    raise TypeError(
        "penalty must be None, a SeparablePenalty, or one of optlib.functions L1, ElasticNet, "
        f"NonNegative, Box (scalar bounds); got {type(penalty).__name__}."
    )
