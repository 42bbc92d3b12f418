"""Coefficient tables and region thresholds for the log Bessel functions.

This module is the single source of truth shared by the numba kernels
(:mod:`._bessel_numba`) and the vectorized array-API path (:mod:`._bessel`).
Every table is *generated* here at import time from its defining recurrence
in exact rational (:class:`fractions.Fraction`) or 50-digit
(:class:`decimal.Decimal`) arithmetic and then rounded once to float64; the
whole module imports in a few milliseconds and never touches numba.

Tables
------
``DEBYE_Q``
    Debye polynomials ``u_k(t)`` of the uniform large-order expansion, ``k <= 13``,
    from ``u_0 = 1`` and the recurrence (DLMF 10.41.10)

    ``u_{k+1}(t) = t^2 (1 - t^2) / 2 u_k'(t) + 1/8 int_0^t (1 - 5 s^2) u_k(s) ds``.

    ``u_k(t) = t^k Q_k(t^2)`` with ``deg Q_k = k``; row ``k`` of ``DEBYE_Q``
    holds the coefficients of ``Q_k`` (highest degree first, for Horner).
    With ``r = hypot(v, x)`` and ``t = v / r`` one has
    ``u_k(t) / v^k = Q_k(t^2) / r^k``, a form that stays finite as ``v -> 0``
    (it then reduces to Hankel's large-argument expansion).
``ETA_P0``, ``ETA_TAYLOR``
    ``eta(p) = sqrt(1 + p^2) + log(p / (1 + sqrt(1 + p^2)))`` vanishes at
    ``p0 = 0.6627434193...`` (the Laplace limit). Near it the exponent
    ``v eta = hypot(v, x) - v asinh(v / x)`` is a difference of two nearly
    equal numbers of size ``v``; there it is evaluated instead as
    ``(x - p0 v) * sum_k ETA_TAYLOR[k] delta^k`` with ``delta = x / v - p0``,
    ``x - p0 v`` being formed exactly from the double-double ``p0``.
``LGAMMA_EVEN``, ``LGAMMA_ODD``
    ``log Gamma(1 + mu) = E(mu) - O(mu)`` with the even and odd parts
    ``E(mu) = sum_{k even} zeta(k) mu^k / k`` and
    ``O(mu) = gamma mu + sum_{k odd >= 3} zeta(k) mu^k / k`` (|mu| <= 1/2).
    They give ``log Gamma`` (shift by products) and Temme's ``Gamma_1``,
    ``Gamma_2`` without cancellation.
``QUAD_H``, ``QUAD_C``, ``QUAD_S``
    Trapezoidal nodes for ``K_v(x) = e^{-v eta} / 2 int exp(-r (cosh u - 1)
    - v (sinh u - u)) du`` (the integral representation shifted to its
    maximum ``u = 0``): for each step ``h`` the values ``cosh(jh) - 1`` and
    ``sinh(jh) - jh``, computed without cancellation.

Regions (shared by both engines)
--------------------------------
With ``r = hypot(v, x)``:

* ``r >= DEBYE_R``: Debye expansion (both I and K); at most ``DEBYE_ORDER``
  terms, fewer when the bound ``DEBYE_QMAX[k] / r^k`` on the next term falls
  below ``SERIES_TOL``.
* otherwise, for I: the ascending power series (all terms positive);
* otherwise, for K: Temme's series (``x <= TEMME_X``) followed by forward
  recurrence in the order, or the trapezoidal rule above (``x > TEMME_X``).
"""

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np

__all__ = [
    "DEBYE_ORDER",
    "DEBYE_R",
    "DEBYE_Q",
    "DEBYE_QMAX",
    "DEBYE_RK",
    "ETA_P0_HI",
    "ETA_P0_LO",
    "ETA_BAND",
    "ETA_TAYLOR",
    "EULER_GAMMA",
    "LGAMMA_EVEN",
    "LGAMMA_ODD",
    "TEMME_X",
    "TEMME_TERMS",
    "SERIES_TERMS",
    "SERIES_TOL",
    "QUAD_R",
    "QUAD_H",
    "QUAD_C",
    "QUAD_S",
    "QUAD_TOL",
    "TINY_X",
    "debye_u_polynomials",
]

# -- region thresholds ------------------------------------------------------------

#: Highest Debye term used (u_0 ... u_13).
DEBYE_ORDER = 13
#: Debye expansion where ``hypot(v, x) >= DEBYE_R``: there the first omitted
#: term ``u_14(t) / v^14`` is below 2e-16 relative to ``max(1, |log I|)`` for all
#: ``t`` (worst at ``v = 0``, where the expansion is Hankel's).
DEBYE_R = 25.0
#: Relative size under which a series term ends the summation.
SERIES_TOL = 1e-17
#: Enough power-series terms for ``x < DEBYE_R`` (fixed count of the array path).
SERIES_TERMS = 72
#: Temme's series for ``K`` when ``x <= TEMME_X`` (outside the Debye region). Its
#: terms start to cancel as ``x`` grows (3e-15 at ``x = 2``), while the trapezoidal
#: rule stays at 1e-15 down to ``x = 0.3``: the switch is at 1.
TEMME_X = 1.0
TEMME_TERMS = 24
#: Below this ``x`` (subnormal range) ``2 / x`` overflows: leading-order formulas.
TINY_X = 1e-300

# -- Debye polynomials -------------------------------------------------------------


def debye_u_polynomials(kmax):
    """Coefficients of the Debye polynomials ``u_0 ... u_kmax`` (exact fractions).

    Returns a list whose entry ``k`` is a list ``c`` with ``u_k(t) = sum_j c[j] t^j``.
    """
    polys = [[Fraction(1)]]
    for _ in range(kmax):
        u = polys[-1]
        n = len(u)
        new = [Fraction(0)] * (n + 3)
        # t^2 (1 - t^2) / 2 * u'(t)
        for j in range(1, n):
            d = j * u[j] / 2
            new[j + 1] += d
            new[j + 3] -= d
        # 1/8 int_0^t (1 - 5 s^2) u(s) ds
        for j in range(n):
            new[j + 1] += u[j] / (8 * (j + 1))
            new[j + 3] -= 5 * u[j] / (8 * (j + 3))
        while len(new) > 1 and new[-1] == 0:
            new.pop()
        polys.append(new)
    return polys


def _debye_q_table(kmax):
    """Rows ``Q_k`` (highest degree first, zero padded at the front) as float64."""
    table = np.zeros((kmax + 1, kmax + 1))
    for k, u in enumerate(debye_u_polynomials(kmax)):
        q = [u[k + 2 * j] if k + 2 * j < len(u) else Fraction(0) for j in range(k + 1)]
        assert all(c == 0 for i, c in enumerate(u) if i < k or (i - k) % 2)
        for j, c in enumerate(q):
            table[k, kmax - j] = float(c)
    return table


DEBYE_Q = _debye_q_table(DEBYE_ORDER)


def _q_max(table, n_grid=2001):
    """``max_{0 <= s <= 1} |Q_k(s)|`` per row, padded with a last entry 0."""
    s = np.linspace(0.0, 1.0, n_grid)
    out = np.zeros(table.shape[0] + 1)
    for k in range(table.shape[0]):
        val = np.zeros_like(s)
        for c in table[k]:
            val = val * s + c
        out[k] = 1.01 * np.max(np.abs(val))  # 1 % margin for the grid
    return out


#: Bound on ``|Q_k(s)|``, ``0 <= s <= 1``: the Debye term ``k`` is at most ``DEBYE_QMAX[k] / r^k``.
DEBYE_QMAX = _q_max(DEBYE_Q)


def _terms_radii(qmax, tol):
    """``rk[k]``: for ``r > rk[k]`` the terms after ``k`` are below ``tol`` (non-increasing)."""
    kmax = len(qmax) - 2
    rk = np.zeros(kmax + 1)
    for k in range(1, kmax):
        rk[k] = (qmax[k + 1] / tol) ** (1.0 / (k + 1))
    return np.ascontiguousarray(np.maximum.accumulate(rk[::-1])[::-1])


#: Number of Debye terms for ``r``: ``1 + #{k in 1..12 : r <= DEBYE_RK[k]}``.
DEBYE_RK = _terms_radii(DEBYE_QMAX, SERIES_TOL)

# -- the Laplace line eta(p0) = 0 ---------------------------------------------------

#: Width of the band ``|x / v - p0| < ETA_BAND`` where the Taylor form is used.
ETA_BAND = 0.1
_ETA_TERMS = 24


def _eta_tables():
    with localcontext() as ctx:
        ctx.prec = 60
        one = Decimal(1)
        p = Decimal("0.66")
        for _ in range(60):  # Newton on eta(p) = 0, eta'(p) = sqrt(1 + p^2) / p
            s = (one + p * p).sqrt()
            step = (s + (p / (one + s)).ln()) * p / s
            p -= step
            if abs(step) < Decimal(10) ** -55:
                break
        p0 = p
        a0 = one + p0 * p0
        # power series of sqrt(a0 + 2 p0 d + d^2) in d
        a = [a0, 2 * p0, one] + [Decimal(0)] * _ETA_TERMS
        sq = [a0.sqrt()]
        for m in range(1, _ETA_TERMS):
            acc = a[m] - sum(sq[i] * sq[m - i] for i in range(1, m))
            sq.append(acc / (2 * sq[0]))
        # times 1 / (p0 + d) = sum (-1)^m d^m / p0^(m+1)
        inv = [(-one) ** m / p0 ** (m + 1) for m in range(_ETA_TERMS)]
        g = [sum(sq[i] * inv[m - i] for i in range(m + 1)) for m in range(_ETA_TERMS)]
        # eta(p0 + d) = sum_{k >= 1} g_{k-1} / k d^k
        coef = [g[k - 1] / k for k in range(1, _ETA_TERMS + 1)]
        hi = float(p0)
        lo = float(p0 - Decimal(hi))
    return hi, lo, np.array([float(c) for c in coef])


ETA_P0_HI, ETA_P0_LO, ETA_TAYLOR = _eta_tables()

# -- log Gamma(1 + mu), |mu| <= 1/2 --------------------------------------------------

EULER_GAMMA = float(Decimal("0.57721566490153286060651209008240243104215933593992"))
_ZETA_KMAX = 57


def _bernoulli_even(n):
    """Bernoulli numbers B_0 ... B_n (exact), via the standard recurrence."""
    b = [Fraction(0)] * (n + 1)
    b[0] = Fraction(1)
    for m in range(1, n + 1):
        b[m] = -sum(math.comb(m + 1, j) * b[j] for j in range(m)) / (m + 1)
    return b


def _zeta_values(kmax, n_direct=10, n_em=12):
    """zeta(2 ... kmax) by Euler-Maclaurin summation in exact arithmetic, as floats."""
    bern = _bernoulli_even(2 * n_em)
    n = n_direct
    out = {}
    for k in range(2, kmax + 1):
        s = sum(Fraction(1, j**k) for j in range(1, n))
        s += Fraction(1, (k - 1) * n ** (k - 1)) + Fraction(1, 2 * n**k)
        rising = Fraction(k)  # k (k+1) ... (k + 2j - 2)
        for j in range(1, n_em + 1):
            s += bern[2 * j] / math.factorial(2 * j) * rising / Fraction(n ** (k + 2 * j - 1))
            rising *= (k + 2 * j - 1) * (k + 2 * j)
        out[k] = float(s)
    return out


def _lgamma_tables():
    zeta = _zeta_values(_ZETA_KMAX)
    # E(mu) = mu^2 * sum_i LGAMMA_EVEN[i] mu^(2i) ; O(mu) / mu = sum_i LGAMMA_ODD[i] mu^(2i)
    even = [zeta[k] / k for k in range(2, _ZETA_KMAX + 1, 2)]
    odd = [EULER_GAMMA] + [zeta[k] / k for k in range(3, _ZETA_KMAX + 1, 2)]
    # stored highest power first, for Horner
    return np.array(even[::-1]), np.array(odd[::-1])


LGAMMA_EVEN, LGAMMA_ODD = _lgamma_tables()

# -- trapezoidal rule for K ----------------------------------------------------------

#: ``QUAD_H[m]`` is used for ``r < QUAD_R[m]`` (first match).
#: Calibrated against a fine-step reference: the discretisation error is below
#: 1e-15 for each level (it falls like exp(-c / h^2) once h < 0.7 / sqrt(r)).
QUAD_R = np.array([6.0, 10.0, 15.0, 20.0, np.inf])
QUAD_H = np.array([0.18, 0.16, 0.14, 0.125, 0.11])
#: Terms below this fraction of the peak end the sum (the peak term is 1).
QUAD_TOL = 1e-18
_QUAD_NODES = 48


def _quad_tables():
    """``cosh(jh) - 1`` and ``sinh(jh) - jh`` for j = 0 .. _QUAD_NODES - 1, each h."""
    cm1 = np.zeros((len(QUAD_H), _QUAD_NODES))
    sm = np.zeros((len(QUAD_H), _QUAD_NODES))
    for m, h in enumerate(QUAD_H):
        for j in range(_QUAD_NODES):
            u = j * float(h)
            cm1[m, j] = 2.0 * math.sinh(u / 2) ** 2
            if u < 1.0:  # sinh(u) - u by its series (no cancellation)
                term, acc, i = u**3 / 6, 0.0, 3
                while term > 1e-30:
                    acc += term
                    term *= u * u / ((i + 1) * (i + 2))
                    i += 2
                sm[m, j] = acc
            else:
                sm[m, j] = math.sinh(u) - u
    return cm1, sm


QUAD_C, QUAD_S = _quad_tables()
