"""Numba kernels for ``log I_v(x)``, ``log K_v(x)`` and ``log(I_{v+1}(x) / I_v(x))``.

Imported lazily by :mod:`optlib.special._bessel` the first time the numba
engine runs, so that ``import optlib.special`` compiles nothing. The kernels
are ``@njit(cache=True, fastmath=False)`` scalar functions driven by a loop
over the raveled, broadcast inputs (``prange`` over the threads of numba's
pool for large inputs, a plain loop for small ones). Measured on 1e6
log-uniform points (2 cores): ``prange`` loop 0.057 s, the same scalar kernel
as an explicit-signature ``@vectorize`` ufunc 0.093 s (``target="parallel"``:
0.066 s), serial loop 0.090 s; an explicit-signature ``@vectorize`` would
also compile at import.

The algorithm and all its coefficients and thresholds live in
:mod:`._bessel_tables` (the single source of truth, shared with the array-API
path). numba freezes them into the compiled code as constants (no argument
passing, no reference counting in the inner loops); a fingerprint check at
import guards numba's on-disk cache against stale tables.

Every scalar function below expects ``v >= 0`` and ``0 < x < inf`` unless
said otherwise; the special values are handled in the ``*_scalar`` fronts.
"""

import hashlib
import math

import numpy as np
from numba import njit, prange

from . import _bessel_tables as _t

__all__ = ["log_iv_array", "log_kv_array", "log_iv_ratio_array", "tables_fingerprint"]

# numba freezes global arrays and scalars into the compiled code, and its cache
# is keyed on this file only: whenever the tables change, the fingerprint below
# must be updated (which also invalidates the cache). Importing this module
# with stale tables raises instead of silently running old constants.
_TABLES_FINGERPRINT = "89bcce09f27d497e"


def tables_fingerprint():
    """Hash of every constant of :mod:`._bessel_tables` that the kernels use."""
    h = hashlib.sha256()
    for name in sorted(_t.__all__):
        val = getattr(_t, name)
        if callable(val):
            continue
        h.update(name.encode())
        h.update(np.ascontiguousarray(val, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


if tables_fingerprint() != _TABLES_FINGERPRINT:  # pragma: no cover - developer guard
    raise RuntimeError(
        "optlib.special._bessel_tables changed since the numba kernels were last "
        f"compiled: set _TABLES_FINGERPRINT = {tables_fingerprint()!r} in {__file__} "
        "(this also invalidates numba's on-disk cache)."
    )

_LOG_2PI = math.log(2.0 * math.pi)
_LOG_PI_2 = math.log(0.5 * math.pi)
_LOG2 = math.log(2.0)
_SPLIT = 134217729.0  # 2^27 + 1, Dekker's splitting constant
# below this size the serial loop beats the thread pool's start-up
_PARALLEL_MIN = 20000

# the tables, as compile-time constants
_DEBYE_R = float(_t.DEBYE_R)
_TEMME_X = float(_t.TEMME_X)
_TINY_X = float(_t.TINY_X)
_TOL = float(_t.SERIES_TOL)
_P0_HI = float(_t.ETA_P0_HI)
_P0_LO = float(_t.ETA_P0_LO)
_BAND = float(_t.ETA_BAND)
_QUAD_TOL = float(_t.QUAD_TOL)
_Q = np.ascontiguousarray(_t.DEBYE_Q)
_KMAX = _Q.shape[0] - 1
_RK = np.ascontiguousarray(_t.DEBYE_RK)
_ETA = np.ascontiguousarray(_t.ETA_TAYLOR[::-1])  # highest power first
_LG_EVEN = np.ascontiguousarray(_t.LGAMMA_EVEN)
_LG_ODD = np.ascontiguousarray(_t.LGAMMA_ODD)
_QUAD_R = np.ascontiguousarray(_t.QUAD_R)
_QUAD_H = np.ascontiguousarray(_t.QUAD_H)
_QUAD_C = np.ascontiguousarray(_t.QUAD_C)
_QUAD_S = np.ascontiguousarray(_t.QUAD_S)
_SERIES_TERMS = int(_t.SERIES_TERMS)
_TEMME_TERMS = int(_t.TEMME_TERMS)


# -- small helpers -------------------------------------------------------------------


@njit(cache=True, fastmath=False)
def _horner(coef, z):
    acc = 0.0
    for c in coef:
        acc = acc * z + c
    return acc


@njit(cache=True, fastmath=False)
def _two_prod_err(a, b, p):
    """Rounding error of ``p = fl(a * b)`` (Dekker): ``a * b = p + err`` exactly."""
    c = _SPLIT * a
    ah = c - (c - a)
    al = a - ah
    c = _SPLIT * b
    bh = c - (c - b)
    bl = b - bh
    return ((ah * bh - p) + ah * bl + al * bh) + al * bl


@njit(cache=True, fastmath=False)
def _asinh_ratio(v, x):
    """``asinh(v / x)`` for ``v >= 0, x > 0`` without overflow of ``v / x``."""
    if v * 1e-150 < x:
        return math.asinh(v / x)
    return _LOG2 + math.log(v) - math.log(x)


@njit(cache=True, fastmath=False)
def _lgamma1p(v):
    """``log Gamma(1 + v)`` for ``0 <= v`` of moderate size (here ``v < 30``)."""
    n = math.floor(v + 0.5)
    mu = v - n
    m2 = mu * mu
    prod = 1.0
    for j in range(1, int(n) + 1):
        prod *= mu + j
    return m2 * _horner(_LG_EVEN, m2) - mu * _horner(_LG_ODD, m2) + math.log(prod)


@njit(cache=True, fastmath=False)
def _veta(v, x, r):
    """``v * eta(x / v) = hypot(v, x) - v asinh(v / x)``, accurate near its zero ``x = p0 v``."""
    if v > 0.0 and v < 1e290 and abs(x - _P0_HI * v) < _BAND * v:
        ph = _P0_HI * v
        pl = _two_prod_err(_P0_HI, v, ph)
        d = ((x - ph) - pl) - _P0_LO * v  # x - p0 v, exact up to the last rounding
        return d * _horner(_ETA, d / v)
    return r - v * _asinh_ratio(v, x)


@njit(cache=True, fastmath=False)
def _debye_tails(r, t):
    """Tails ``sum_{k>=1} Q_k(t^2) / r^k`` for I and the alternating one for K."""
    nterms = 1
    for k in range(1, _KMAX):
        if r <= _RK[k]:
            nterms += 1
    s = t * t
    ir = 1.0 / r
    ti = 0.0
    tk = 0.0
    for k in range(nterms, 0, -1):  # Horner in 1 / r
        acc = 0.0
        for j in range(_KMAX - k, _KMAX + 1):
            acc = acc * s + _Q[k, j]
        ti = (ti + acc) * ir
        tk = (acc - tk) * ir
    return ti, -tk


# -- log I ---------------------------------------------------------------------------


@njit(cache=True, fastmath=False)
def _series_tail(v, x):
    """``sum_{k>=1} (x^2/4)^k / (k! (v+1)_k)``; all terms positive."""
    q = 0.25 * x * x
    term = 1.0
    tail = 0.0
    for k in range(1, _SERIES_TERMS + 1):
        term *= q / (k * (k + v))
        tail += term
        if term < _TOL * (1.0 + tail):
            break
    return tail


@njit(cache=True, fastmath=False)
def _log_iv_pos(v, x):
    r = math.hypot(v, x)
    if r >= _DEBYE_R:
        ti, _ = _debye_tails(r, v / r)
        return _veta(v, x, r) - 0.5 * (_LOG_2PI + math.log(r)) + math.log1p(ti)
    tail = _series_tail(v, x)
    lead = v * (math.log(x) - _LOG2) if v > 0.0 else 0.0
    return lead - _lgamma1p(v) + math.log1p(tail)


# -- log K ---------------------------------------------------------------------------


@njit(cache=True, fastmath=False)
def _log_kv_temme(v, x):
    """Temme's series for ``K_mu, K_{mu+1}`` (``|mu| <= 1/2``, small ``x``), then recurrence."""
    n = math.floor(v + 0.5)
    mu = v - n
    if x < _TINY_X and n >= 1:
        # 2 / x overflows; K_v(x) = Gamma(v) / 2 (2 / x)^v (1 + O(x^2) + O(x^(2v)))
        return _lgamma1p(v) - math.log(v) - _LOG2 + v * (_LOG2 - math.log(x))
    m2 = mu * mu
    e = m2 * _horner(_LG_EVEN, m2)  # even part of log Gamma(1 + mu)
    om = _horner(_LG_ODD, m2)  # odd part / mu
    o = mu * om
    ee = math.exp(-e)
    shc_o = math.sinh(o) / o if o != 0.0 else 1.0
    g1 = -ee * om * shc_o  # (1/Gamma(1-mu) - 1/Gamma(1+mu)) / (2 mu)
    g2 = ee * math.cosh(o)  # (1/Gamma(1-mu) + 1/Gamma(1+mu)) / 2
    lx = _LOG2 - math.log(x)  # log(2 / x)
    sigma = mu * lx
    shc_s = math.sinh(sigma) / sigma if sigma != 0.0 else 1.0
    pimu = math.pi * mu
    fact = pimu / math.sin(pimu) if mu != 0.0 else 1.0
    f = fact * (g1 * math.cosh(sigma) + g2 * lx * shc_s)
    es = math.exp(sigma)  # (x / 2)^(-mu)
    p = 0.5 * es * math.exp(e - o)  # (x/2)^(-mu) Gamma(1 + mu) / 2
    q = 0.5 / es * math.exp(e + o)  # (x/2)^mu Gamma(1 - mu) / 2
    c = 1.0
    qq = 0.25 * x * x
    sk = f
    sh = p
    for k in range(1, _TEMME_TERMS + 1):
        f = (k * f + p + q) / (k * k - m2)
        c *= qq / k
        p /= k - mu
        q /= k + mu
        d = c * f
        sk += d
        sh += c * (p - k * f)
        if abs(d) < _TOL * abs(sk):
            break
    out = math.log(sk)
    if n == 0:
        return out
    # forward recurrence on rho_k = K_{mu+k+1} / K_{mu+k} (stable for K)
    rho = sh / sk * (2.0 / x)
    prod = rho
    for k in range(1, int(n)):
        rho = 1.0 / rho + 2.0 * (mu + k) / x
        if prod > 1e150 or rho > 1e150:
            out += math.log(prod)
            prod = rho
        else:
            prod *= rho
    return out + math.log(prod)


@njit(cache=True, fastmath=False)
def _log_kv_quad(v, x, r):
    """Trapezoidal rule for ``int exp(-x cosh t + v t) dt / 2`` around its maximum."""
    m = 0
    while r >= _QUAD_R[m]:
        m += 1
    total = 1.0
    for j in range(1, _QUAD_C.shape[1]):
        a = r * _QUAD_C[m, j]
        b = v * _QUAD_S[m, j]
        wl = math.exp(b - a)  # left of the maximum (the slower side)
        total += math.exp(-a - b) + wl
        if wl < _QUAD_TOL:
            break
    return -_veta(v, x, r) + math.log(0.5 * _QUAD_H[m]) + math.log(total)


@njit(cache=True, fastmath=False)
def _log_kv_pos(v, x):
    r = math.hypot(v, x)
    if r >= _DEBYE_R:
        _, tk = _debye_tails(r, v / r)
        return -_veta(v, x, r) + 0.5 * (_LOG_PI_2 - math.log(r)) + math.log1p(tk)
    if x <= _TEMME_X:
        return _log_kv_temme(v, x)
    return _log_kv_quad(v, x, r)


# -- log(I_{v+1} / I_v) ------------------------------------------------------------------


@njit(cache=True, fastmath=False)
def _log_ratio_pos(v, x):
    r0 = math.hypot(v, x)
    if r0 >= _DEBYE_R:
        v1 = v + 1.0
        r1 = math.hypot(v1, x)
        a = 2.0 - 1.0 / v1  # (2v + 1) / (v + 1), the overflow-free form of w = 2v + 1
        ti0, _ = _debye_tails(r0, v / r0)
        ti1, _ = _debye_tails(r1, v1 / r1)
        # (v+1) eta_{v+1} - v eta_v, each difference taken analytically
        # asinh(v1/x) - asinh(v/x) = asinh(w / (v1 r0 + v r1)), scaled against overflow
        dif = math.asinh((a / r1) / (r0 / r1 + v / v1))
        rs = 1.0 + r0 / r1  # (r1 + r0) / r1
        d_eta = a * (v1 / r1) / rs - _asinh_ratio(v1, x) - v * dif
        return d_eta - 0.5 * math.log1p(a * (v1 / r1) / r0 / rs) + math.log1p((ti1 - ti0) / (1.0 + ti0))
    q = 0.25 * x * x
    t0 = 1.0
    t1 = 1.0
    s0 = 0.0
    s1 = 0.0
    for k in range(1, _SERIES_TERMS + 1):
        t0 *= q / (k * (k + v))
        t1 *= q / (k * (k + v + 1.0))
        s0 += t0
        s1 += t1
        if t0 < _TOL * (1.0 + s0):
            break
    return (math.log(x) - _LOG2) - math.log1p(v) + math.log1p(s1) - math.log1p(s0)


# -- scalar fronts: special values and negative orders -----------------------------------


@njit(cache=True, fastmath=False)
def _sinpi(a):
    """``sin(pi a)`` with exact argument reduction."""
    m = a - 2.0 * math.floor(0.5 * a)  # [0, 2), exact
    if m > 1.5:
        return math.sin(math.pi * (m - 2.0))
    if m > 0.5:
        return math.sin(math.pi * (1.0 - m))
    return math.sin(math.pi * m)


@njit(cache=True, fastmath=False)
def _log_kv_scalar(v, x):
    if math.isnan(v) or math.isnan(x) or x < 0.0:
        return math.nan
    v = abs(v)
    if x == 0.0 or math.isinf(v):
        return math.nan if math.isinf(x) else math.inf
    if math.isinf(x):
        return -math.inf
    return _log_kv_pos(v, x)


@njit(cache=True, fastmath=False)
def _log_iv_nonneg(v, x):
    """``log I_v(x)`` for ``v >= 0`` (possibly infinite) and ``x >= 0``."""
    if x == 0.0:
        return 0.0 if v == 0.0 else -math.inf
    if math.isinf(v):
        return math.nan if math.isinf(x) else -math.inf
    if math.isinf(x):
        return math.inf
    return _log_iv_pos(v, x)


@njit(cache=True, fastmath=False)
def _log_iv_scalar(v, x):
    if math.isnan(v) or math.isnan(x) or v == -math.inf:
        return math.nan
    if x < 0.0:
        # SciPy's real I_v: I_v(x) = (-1)^v I_v(-x) for integer v (NaN otherwise, and at
        # x = -inf); its logarithm is real for even v only
        if x == -math.inf or 0.5 * v != math.floor(0.5 * v):
            return math.nan
        x = -x
    if v >= 0.0 or v == math.floor(v):
        return _log_iv_nonneg(abs(v), x)
    # I_{-nu} = I_nu + (2 / pi) sin(nu pi) K_nu  (nu > 0 not an integer)
    nu = -v
    s = _sinpi(nu)
    li = _log_iv_nonneg(nu, x)
    lk = _log_kv_scalar(nu, x)
    c = math.log(2.0 * abs(s) / math.pi) + lk
    if s > 0.0:
        hi = max(li, c)
        if hi == math.inf:
            return math.inf
        return hi + math.log1p(math.exp(min(li, c) - hi))
    if c > li:
        return math.nan  # I_{-nu}(x) < 0
    if c == li:
        return -math.inf
    if li == math.inf:
        return math.inf
    return li + math.log1p(-math.exp(c - li))


@njit(cache=True, fastmath=False)
def _log_ratio_scalar(v, x):
    if math.isnan(v) or math.isnan(x) or x < 0.0 or v == -math.inf:
        return math.nan
    if v < 0.0 and not math.isinf(x):
        return _log_iv_scalar(v + 1.0, x) - _log_iv_scalar(v, x)
    if math.isinf(v):
        return math.nan if math.isinf(x) else -math.inf
    if x == 0.0:
        return -math.inf
    if math.isinf(x):
        return 0.0
    return _log_ratio_pos(v, x)


# -- array drivers -------------------------------------------------------------------------


@njit(cache=True, fastmath=False)
def _iv_serial(v, x, out):
    for i in range(out.shape[0]):
        out[i] = _log_iv_scalar(v[i], x[i])


@njit(cache=True, fastmath=False, parallel=True)
def _iv_parallel(v, x, out):
    for i in prange(out.shape[0]):
        out[i] = _log_iv_scalar(v[i], x[i])


@njit(cache=True, fastmath=False)
def _kv_serial(v, x, out):
    for i in range(out.shape[0]):
        out[i] = _log_kv_scalar(v[i], x[i])


@njit(cache=True, fastmath=False, parallel=True)
def _kv_parallel(v, x, out):
    for i in prange(out.shape[0]):
        out[i] = _log_kv_scalar(v[i], x[i])


@njit(cache=True, fastmath=False)
def _ratio_serial(v, x, out):
    for i in range(out.shape[0]):
        out[i] = _log_ratio_scalar(v[i], x[i])


@njit(cache=True, fastmath=False, parallel=True)
def _ratio_parallel(v, x, out):
    for i in prange(out.shape[0]):
        out[i] = _log_ratio_scalar(v[i], x[i])


def _flat(a, shape):
    """``a`` broadcast to ``shape``, as a contiguous float64 vector (copied only when it must be).

    When ``a`` has as many elements as ``shape``, broadcasting only inserts axes of length 1, so a
    reshape gives the same elements in the same order. (``np.broadcast_arrays`` views would carry
    the deprecated "warn on write" flag, which numba reads with a ``FutureWarning``.)
    """
    a = np.asarray(a, dtype=np.float64)
    if a.size != math.prod(shape):
        a = np.broadcast_to(a, shape)
    return np.ascontiguousarray(a).reshape(-1)


def _run(serial, parallel, v, x):
    shape = np.broadcast_shapes(np.shape(v), np.shape(x))
    v = _flat(v, shape)
    x = _flat(x, shape)
    out = np.empty(v.shape[0])
    (parallel if out.shape[0] >= _PARALLEL_MIN else serial)(v, x, out)
    return out.reshape(shape)


def log_iv_array(v, x):
    """``log I_v(x)`` for NumPy float64 arrays (broadcast), as a new float64 array."""
    return _run(_iv_serial, _iv_parallel, v, x)


def log_kv_array(v, x):
    """``log K_v(x)`` for NumPy float64 arrays (broadcast), as a new float64 array."""
    return _run(_kv_serial, _kv_parallel, v, x)


def log_iv_ratio_array(v, x):
    """``log(I_{v+1}(x) / I_v(x))`` for NumPy float64 arrays (broadcast)."""
    return _run(_ratio_serial, _ratio_parallel, v, x)
