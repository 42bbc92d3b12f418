"""Nonconvex sparsity penalties: l0, l1/2, CEL0, MCP, SCAD and lp (0 < p < 1).

All penalties here are even and separable, ``g(x) = sum_i phi(|x_i|)`` with
``phi`` nondecreasing on ``[0, inf)``, so the prox acts entrywise and
``prox_{t g}(v) = sign(v) * P(|v|)`` where ``P(r) >= 0`` is a global minimiser
of the scalar problem::

    h(x) = t * phi(x) + (x - r)^2 / 2,   x >= 0,   r = |v|.

Every prox returns a *global* minimiser (these problems are nonconvex, so a
stationary point is not enough). Where two minimisers tie (at the threshold
of a hard-type rule) the one of smaller modulus is returned; in particular
entries exactly *at* a threshold are set to zero ("keep ``v`` where
``|v| > threshold``").

Real arrays only: complex input raises ``TypeError``; wrap the penalty in
:class:`~optlib.functions.Magnitude` to penalise the modulus of complex
unknowns. Everything goes through the array-API namespace of the input and
keeps its dtype (float32/float64; integer input is computed in float64).
"""

import math

from .._backend import get_namespace
from .._validation import check_scalar
from ._base import Function
from ._utils import array_argument, array_prox, check_step, check_weight

__all__ = ["L0", "LHalf", "CEL0", "MCP", "SCAD", "Lp"]

# Newton iterations of the lp prox. The iteration (in the scaled variable,
# see Lp.prox) contracts at least linearly with factor p/2 < 1/2 from the
# first step on and then quadratically; measured worst case over p in
# [1e-6, 1 - 1e-6] and 16 decades of |v| / threshold: 5 steps reach
# machine precision in float64. Two spare steps cost little.
_LP_NEWTON_ITERS = 7


def _real_input(v, owner):
    """Namespace of the floating array ``v``, which must be real; returns ``(xp, v)``."""
    xp = get_namespace(v)
    if xp.isdtype(v.dtype, "complex floating"):
        raise TypeError(
            f"{owner} acts on real arrays, got complex dtype {v.dtype}. To penalise the "
            f"modulus of complex unknowns use Magnitude({owner}(...))."
        )
    return xp, v


def _copy(xp, v):
    return xp.asarray(v, copy=True)


def _hard_threshold(xp, v, threshold):
    """``v`` where ``|v| > threshold``, 0 elsewhere (a new array; NaN propagates)."""
    return xp.where(xp.abs(v) <= threshold, xp.zeros_like(v), v)


def _mcp_prox(xp, v, lam, gamma, step):
    """Exact prox of ``step * MCP(lam, gamma)`` for any ``gamma > 0``.

    ``gamma > step``: the scalar objective is strictly convex (the MCP has
    curvature ``-1/gamma`` on ``[0, gamma lam]`` and is C^1 there), so the
    stationary point is the global minimiser: firm thresholding
    ``sign(v) min(|v|, gamma max(|v| - step lam, 0) / (gamma - step))``.

    ``gamma <= step``: the objective is concave on ``[0, gamma lam]``, the
    minimiser is 0 or ``v``, and comparing ``|v|^2 / 2`` with
    ``step gamma lam^2 / 2`` gives hard thresholding at
    ``lam sqrt(gamma step)`` (zero at the tie).
    """
    if gamma > step:
        r = xp.abs(v)
        mag = xp.minimum(r, xp.clip(r - step * lam, 0.0, None) * (gamma / (gamma - step)))
        return xp.sign(v) * mag
    return _hard_threshold(xp, v, lam * math.sqrt(gamma * step))


class L0(Function):
    """``lam * #{i : x_i != 0}``; prox is hard thresholding.

    ``prox_{t g}(v) = v * 1{|v| > sqrt(2 lam t)}``: keeping ``v_i`` costs
    ``t lam``, zeroing it costs ``v_i^2 / 2``. At ``|v_i| = sqrt(2 lam t)``
    both are global minimisers and 0 is returned.

    Parameters
    ----------
    lam : float, default=1.0
        Nonnegative weight.
    """

    is_convex = False
    is_separable = True

    def __init__(self, lam=1.0):
        self.lam = check_weight(lam)

    @array_argument
    def __call__(self, x):
        xp, x = _real_input(x, "L0")
        return self.lam * float(xp.sum(xp.astype(x != 0, xp.int64)))

    @array_prox
    def prox(self, v, step=1.0):
        xp, v = _real_input(v, "L0")
        return _hard_threshold(xp, v, math.sqrt(2.0 * self.lam * check_step(step)))


class LHalf(Function):
    """The l1/2 quasi-norm penalty ``lam * sum_i sqrt(|x_i|)``; prox is half thresholding.

    With ``theta = lam * step`` (Xu, Chang, Xu, Zhang, IEEE TNNLS 2012, whose
    objective ``(x - r)^2 + lambda sqrt|x|`` corresponds to ``lambda = 2 theta``)::

        prox(v) = sign(v) (2/3) |v| (1 + cos(2 pi / 3 - (2/3) arccos(c)))   if |v| > 1.5 theta^(2/3)
                = 0                                                          otherwise,

        c = (theta / 4) (|v| / 3)^(-3/2) = (threshold / |v|)^(3/2) / sqrt(2).

    The threshold ``1.5 theta^(2/3)`` (``= (54^(1/3) / 4) (2 theta)^(2/3)``) is
    where the objective at the nonzero stationary point (then equal to
    ``theta^(2/3) = (2/3)|v|``) equals the objective at 0; at the threshold 0
    is returned. Same result as ``Lp(lam, p=0.5)`` (closed form instead of Newton).

    Parameters
    ----------
    lam : float, default=1.0
        Nonnegative weight.
    """

    is_convex = False
    is_separable = True

    def __init__(self, lam=1.0):
        self.lam = check_weight(lam)

    @array_argument
    def __call__(self, x):
        xp, x = _real_input(x, "LHalf")
        return self.lam * float(xp.sum(xp.sqrt(xp.abs(x))))

    @array_prox
    def prox(self, v, step=1.0):
        xp, v = _real_input(v, "LHalf")
        theta = self.lam * check_step(step)
        if theta == 0.0:
            return _copy(xp, v)
        threshold = 1.5 * theta ** (2.0 / 3.0)
        r = xp.abs(v)
        rs = xp.clip(r, threshold, None)  # keeps arccos's argument in [0, 2^-1/2]
        c = (threshold / rs) ** 1.5 * (1.0 / math.sqrt(2.0))
        mag = rs * (2.0 / 3.0) * (1.0 + xp.cos(2.0 * math.pi / 3.0 - (2.0 / 3.0) * xp.acos(c)))
        return xp.where(r <= threshold, xp.zeros_like(v), xp.sign(v) * mag)


class CEL0(Function):
    """Continuous exact l0 relaxation (Soubies, Blanc-Feraud, Aubert, SIAM J. Imaging Sci. 2015).

    ``g(x) = sum_i phi(x_i)`` with, for ``mu = sqrt(2 lam) / a``::

        phi(x) = lam - (a^2 / 2) (|x| - mu)^2 1{|x| <= mu}
               = a sqrt(2 lam) |x| - a^2 x^2 / 2   on |x| <= mu,   lam beyond.

    For ``min ||A x - y||^2 / 2 + lam ||x||_0`` with column norms ``||A_i|| = a``
    the relaxed problem has the same global minimisers. ``CEL0(lam, a)`` is the
    MCP with weight ``a sqrt(2 lam)`` and ``gamma = 1 / a^2``, hence the prox:

    * ``step * a^2 < 1`` (scalar objective strictly convex)::

          prox(v) = sign(v) min(|v|, max(|v| - step a sqrt(2 lam), 0) / (1 - step a^2))

      (for ``a = 1``: ``sign(v) min(|v|, max(|v| - sqrt(2 lam) step, 0) / (1 - step))``);
    * ``step * a^2 >= 1``: hard thresholding at ``sqrt(2 lam step)``, the l0
      prox, zero at the tie.

    Parameters
    ----------
    lam : float, default=1.0
        Nonnegative weight (the l0 weight being relaxed).
    a : float, default=1.0
        Positive column norm ``||A_i||`` of the atoms (1 for unit-norm atoms).
    """

    is_convex = False
    is_separable = True

    def __init__(self, lam=1.0, a=1.0):
        self.lam = check_weight(lam)
        self.a = check_scalar(a, "a", lower=0.0, lower_inclusive=False)

    @array_argument
    def __call__(self, x):
        xp, x = _real_input(x, "CEL0")
        a, lam = self.a, self.lam
        s = math.sqrt(2.0 * lam)
        r = xp.abs(x)
        inner = (a * r) * (s - (a * 0.5) * r)
        phi = xp.where(r <= s / a, inner, xp.full_like(r, lam))
        return float(xp.sum(phi))

    @array_prox
    def prox(self, v, step=1.0):
        xp, v = _real_input(v, "CEL0")
        step = check_step(step)
        a = self.a
        return _mcp_prox(xp, v, a * math.sqrt(2.0 * self.lam), 1.0 / (a * a), step)


class MCP(Function):
    """Minimax concave penalty (Zhang, Ann. Statist. 2010).

    ``phi(x) = lam |x| - x^2 / (2 gamma)`` for ``|x| <= gamma lam``, ``gamma lam^2 / 2`` beyond.

    Prox of ``step * g`` (global minimiser):

    * ``gamma > step``: firm thresholding
      ``sign(v) min(|v|, gamma max(|v| - step lam, 0) / (gamma - step))``;
    * ``gamma <= step``: hard thresholding at ``lam sqrt(gamma step)`` (the
      scalar objective is concave on ``[0, gamma lam]``, so the minimiser is
      0 or ``v``), zero at the tie.

    Parameters
    ----------
    lam : float, default=1.0
        Nonnegative weight.
    gamma : float, default=3.0
        Concavity parameter, ``gamma > 1``.
    """

    is_convex = False
    is_separable = True

    def __init__(self, lam=1.0, gamma=3.0):
        self.lam = check_weight(lam)
        self.gamma = check_scalar(gamma, "gamma", lower=1.0, lower_inclusive=False)

    @array_argument
    def __call__(self, x):
        xp, x = _real_input(x, "MCP")
        lam, gamma = self.lam, self.gamma
        r = xp.abs(x)
        inner = r * (lam - r * (0.5 / gamma))
        phi = xp.where(r <= gamma * lam, inner, xp.full_like(r, 0.5 * gamma * lam * lam))
        return float(xp.sum(phi))

    @array_prox
    def prox(self, v, step=1.0):
        xp, v = _real_input(v, "MCP")
        return _mcp_prox(xp, v, self.lam, self.gamma, check_step(step))


class SCAD(Function):
    """Smoothly clipped absolute deviation penalty (Fan, Li, JASA 2001).

    ::

        phi(x) = lam |x|                                          |x| <= lam
               = (2 a lam |x| - x^2 - lam^2) / (2 (a - 1))        lam < |x| <= a lam
               = lam^2 (a + 1) / 2                                |x| > a lam

    Prox of ``step * g`` (``t = step``, ``r = |v|``), a global minimiser:

    * ``a > 1 + t`` (scalar objective strictly convex)::

          sign(v) max(r - t lam, 0)                               r <= (1 + t) lam
          sign(v) ((a - 1) r - t a lam) / (a - 1 - t)             (1 + t) lam < r <= a lam
          v                                                       r > a lam

      (Fan-Li's rule for ``t = 1``);
    * ``a <= 1 + t``: the objective is concave on ``[lam, a lam]``, so the
      minimiser is the best of ``min(max(r - t lam, 0), lam)`` and
      ``max(r, a lam)``; at a tie the smaller one is returned.

    Parameters
    ----------
    lam : float, default=1.0
        Nonnegative weight.
    a : float, default=3.7
        Shape parameter, ``a > 2``.
    """

    is_convex = False
    is_separable = True

    def __init__(self, lam=1.0, a=3.7):
        self.lam = check_weight(lam)
        self.a = check_scalar(a, "a", lower=2.0, lower_inclusive=False)

    @array_argument
    def __call__(self, x):
        xp, x = _real_input(x, "SCAD")
        lam, a = self.lam, self.a
        r = xp.abs(x)
        middle = (r * (2.0 * a * lam) - r * r - lam * lam) * (0.5 / (a - 1.0))
        outer = xp.full_like(r, 0.5 * lam * lam * (a + 1.0))
        phi = xp.where(r <= lam, lam * r, xp.where(r <= a * lam, middle, outer))
        return float(xp.sum(phi))

    @array_prox
    def prox(self, v, step=1.0):
        xp, v = _real_input(v, "SCAD")
        t = check_step(step)
        lam, a = self.lam, self.a
        r = xp.abs(v)
        if a - 1.0 > t:
            soft = xp.clip(r - t * lam, 0.0, None)
            middle = (r * (a - 1.0) - t * a * lam) * (1.0 / (a - 1.0 - t))
            mag = xp.where(r <= (1.0 + t) * lam, soft, xp.where(r <= a * lam, middle, r))
        else:
            low = xp.clip(r - t * lam, 0.0, lam)  # best point of [0, lam]
            high = xp.clip(r, a * lam, None)  # best point of [a lam, inf)
            h_low = (t * lam) * low + 0.5 * (low - r) ** 2
            h_high = 0.5 * t * lam * lam * (a + 1.0) + 0.5 * (high - r) ** 2
            mag = xp.where(h_low <= h_high, low, high)  # tie: smaller modulus
        return xp.sign(v) * mag


class Lp(Function):
    """The lp quasi-norm penalty ``lam * sum_i |x_i|^p`` for ``0 < p < 1``.

    Prox of ``step * g`` entrywise, with ``theta = lam * step``::

        beta = (2 theta (1 - p))^(1 / (2 - p)),    tau = beta (2 - p) / (2 (1 - p))
             ( = beta + theta p beta^(p - 1) )

    For ``|v| <= tau`` the prox is 0 (``tau`` is the ``|v|`` where the
    objective at 0 equals the objective at the nonzero stationary point, which
    is then ``beta``; at ``|v| = tau`` 0 is returned). For ``|v| > tau`` it is
    ``sign(v) x`` with ``x`` the unique root in ``[beta, |v|]`` of
    ``x + theta p x^(p-1) = |v|`` (the objective is strictly convex there).

    The root is found for all entries at once by Newton's method on the scaled
    variable ``y = x / beta``: ``y + c y^(p-1) = |v| / beta``, ``c = p / (2 (1 - p))``,
    ``y in [1, |v| / beta]`` (scale free), started at ``max(rho - c rho^(p-1), 1)``
    and clipped to the bracket at every step. Newton on this convex increasing
    function contracts at least by ``p/2`` per step and then quadratically; a
    fixed number of steps (``_LP_NEWTON_ITERS``) reaches working precision.
    For ``p = 1/2`` it agrees with :class:`LHalf`.

    If ``beta`` underflows the dtype (``lam * step`` absurdly small), the prox
    is returned as the identity, exact to working precision outside subnormals.

    Parameters
    ----------
    lam : float, default=1.0
        Nonnegative weight.
    p : float, default=0.5
        Exponent, ``0 < p < 1``.
    """

    is_convex = False
    is_separable = True

    def __init__(self, lam=1.0, p=0.5):
        self.lam = check_weight(lam)
        self.p = check_scalar(
            p, "p", lower=0.0, upper=1.0, lower_inclusive=False, upper_inclusive=False
        )

    @array_argument
    def __call__(self, x):
        xp, x = _real_input(x, "Lp")
        r = xp.abs(x)
        # 0 ** p is 0 for p > 0
        return self.lam * float(xp.sum(r**self.p))

    @array_prox
    def prox(self, v, step=1.0):
        xp, v = _real_input(v, "Lp")
        theta = self.lam * check_step(step)
        p = self.p
        if theta == 0.0:
            return _copy(xp, v)
        beta = (2.0 * theta * (1.0 - p)) ** (1.0 / (2.0 - p))
        if beta < xp.finfo(v.dtype).smallest_normal:
            return _copy(xp, v)
        c = p / (2.0 * (1.0 - p))
        r = xp.abs(v)
        rho = xp.clip(r * (1.0 / beta), 1.0 + c, None)
        y = xp.clip(rho - c * rho ** (p - 1.0), 1.0, None)
        for _ in range(_LP_NEWTON_ITERS):
            w = y ** (p - 2.0)  # y^(p-2); y^(p-1) = y * w
            g = y + c * (y * w) - rho
            dg = 1.0 - (0.5 * p) * w  # = 1 - c (1 - p) y^(p-2) >= 1 - p/2
            y = xp.minimum(xp.clip(y - g / dg, 1.0, None), rho)
        tau = beta * (1.0 + c)
        # |v| / beta overflowing (or |v| = inf): then |v| itself is the answer to
        # working precision (relative correction c rho^(p-2) below eps)
        mag = xp.where(xp.isfinite(y), y * beta, r)
        return xp.where(r <= tau, xp.zeros_like(v), xp.sign(v) * mag)
