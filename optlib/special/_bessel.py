"""Logarithms of the modified Bessel functions, accurate everywhere.

``log_iv(v, x)`` = ``log I_v(x)``, ``log_kv(v, x)`` = ``log K_v(x)`` and
``log_iv_ratio(v, x)`` = ``log(I_{v+1}(x) / I_v(x))`` are computed directly in
log space, so they neither overflow nor underflow where ``I`` and ``K`` do
(``I_v(x)`` overflows for ``x > 713``, ``K_v(x)`` underflows for ``x > 705``,
and both leave the double range for large orders).

Method
------
The approach follows Plesner, Sorensen and Hauberg, "Accurate computation of
the logarithm of modified Bessel functions on GPUs" (ICS 2024): series in log
space, Debye's uniform large-order expansion, and an integral representation
for ``K``; the regions and a few formulations differ (see
:mod:`._bessel_tables`, the single source of the thresholds and coefficient
tables, all generated at import from their defining recurrences). With
``r = hypot(v, x)``, for ``v >= 0`` and ``0 < x < inf``:

* ``r >= 25`` (both ``I`` and ``K``): Debye's expansion with ``u_0 ... u_13``,

  ``log I = v eta - log(2 pi r) / 2 + log(sum_k Q_k(t^2) / r^k)``,
  ``log K = -v eta + log(pi / (2 r)) / 2 + log(sum_k (-1)^k Q_k(t^2) / r^k)``,

  ``t = v / r``, ``u_k(t) = t^k Q_k(t^2)``, ``v eta = r - v asinh(v / x)``. In
  this form it stays valid down to ``v = 0`` (where it is Hankel's
  large-argument expansion), and the terms needed are decided by a bound
  on ``max |Q_k|``. Near ``x = 0.6627 v`` (where ``eta = 0``) ``v eta`` is a
  difference of two numbers of size ``v``; there it is evaluated from its
  Taylor series in ``x / v - 0.6627...`` with ``x - 0.6627 v`` formed exactly,
  which keeps the error at a few ulps of the result even where
  ``log I`` crosses zero at ``v = 10^6``.
* ``r < 25``, ``log I``: the ascending series
  ``v log(x/2) - log Gamma(v+1) + log(sum_k (x^2/4)^k / (k! (v+1)_k))``
  (positive terms, ratio recurrence, early exit).
* ``r < 25``, ``log K``: for ``x <= 1`` Temme's series for ``K_mu`` and
  ``K_{mu+1}`` (``|mu| <= 1/2``) followed by forward recurrence up to ``v``;
  for ``x > 1`` the trapezoidal rule (spectrally accurate here) for
  ``K_v(x) = 1/2 int exp(-x cosh t + v t) dt`` shifted to its maximum
  ``t = asinh(v/x)``, which gives ``log K = -v eta + log(h/2 sum_j
  exp(-r (cosh jh - 1) - v (sinh jh - jh)))`` with tabulated nodes.
* ``log_iv_ratio``: for ``r >= 25`` the difference of the Debye forms of
  orders ``v + 1`` and ``v`` with every difference of large terms taken
  analytically (``hypot(v+1, x) - hypot(v, x)``, ``asinh(a) - asinh(b)``), so
  that ``log(I_{v+1}/I_v) ~ -(2v+1)/(2x)`` keeps its absolute accuracy at
  ``x = 10^8``; for ``r < 25`` the ratio of the two power series.

Engines
-------
``engine="numba"`` (the ``"auto"`` choice for NumPy input): compiled scalar
kernels in :mod:`._bessel_numba` (imported, and compiled or loaded from
numba's cache, on first use -- never at ``import optlib.special``), run over
the broadcast inputs with a parallel loop for large arrays.
``engine="xp"`` (any array library, e.g. ``array_api_strict``; the fallback
everywhere): the same region logic vectorized with ``xp.where`` over the whole
array, each needed branch evaluated on masked (substituted) inputs.
CuPy input with ``engine="auto"``: a CUDA ``ElementwiseKernel``
(:mod:`._bessel_cuda`) whose source is generated from the same tables and
transcribes the numba kernels. It has not been run on a GPU here (its source
is tested on the host with a C compiler); if it fails to build, the functions
warn once and use the array-API path, which also runs on the device.
"""

import math

import numpy as np

from .._backend import device, get_namespace, is_cupy_namespace, is_numpy_namespace, use_numba
from . import _bessel_tables as _t

__all__ = ["log_iv", "log_kv", "log_iv_ratio"]

_LOG_2PI = math.log(2.0 * math.pi)
_LOG_PI_2 = math.log(0.5 * math.pi)
_LOG2 = math.log(2.0)
_SPLIT = 134217729.0

_LIMITS_DOC = """
    Inputs broadcast against each other like a NumPy ufunc. float32 inputs
    give float32 output (the computation is done in float64), everything else
    (float64, integers, Python scalars) float64; the result lives in the
    inputs' array namespace and on their device, and the inputs are never
    modified. Complex input raises ``TypeError``. A NaN in either argument,
    or ``x < 0`` where the function has no real logarithm (see the Notes),
    gives NaN (NumPy's convention for arguments outside the real domain);
    no warning is emitted."""


# -- input handling ---------------------------------------------------------------------


def _as_real(a, name, xp, dev, fname):
    """Array of ``xp`` from ``a``; returns (array, is_python_scalar)."""
    if isinstance(a, complex) or (isinstance(a, np.generic) and np.iscomplexobj(a)):
        raise TypeError(
            f"{fname}: {name} must be real, got the complex value {a!r}; "
            f"{fname} is defined for real arguments only."
        )
    weak = isinstance(a, (int, float)) and not isinstance(a, np.generic)
    if isinstance(a, bool) or isinstance(a, str):
        raise TypeError(f"{fname}: {name} must be a real number or array, got {a!r}.")
    try:
        arr = xp.asarray(a, device=dev) if dev is not None else xp.asarray(a)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{fname}: {name} must be a real number or array: {exc}") from None
    if xp.isdtype(arr.dtype, "complex floating"):
        raise TypeError(
            f"{fname}: {name} must be real, got complex dtype {arr.dtype}; "
            f"{fname} is defined for real arguments only."
        )
    if not xp.isdtype(arr.dtype, ("real floating", "integral")):
        raise TypeError(f"{fname}: {name} must have a real numeric dtype, got {arr.dtype}.")
    return arr, weak


def _prepare(v, x, fname):
    """Namespace, float64 copies of ``v`` and ``x`` (not broadcast), output dtype, scalar flag."""
    for a, name in ((v, "v"), (x, "x")):
        if isinstance(a, (str, bytes)):
            raise TypeError(f"{fname}: {name} must be a real number or array, got the string {a!r}.")
    if isinstance(v, (list, tuple)):
        v = np.asarray(v)
    if isinstance(x, (list, tuple)):
        x = np.asarray(x)
    try:
        xp = get_namespace(v, x)
    except TypeError as exc:
        raise TypeError(f"{fname}: v and x must come from the same array library: {exc}") from None
    dev = None
    for a in (v, x):
        if hasattr(a, "shape") and hasattr(a, "dtype") and not isinstance(a, np.generic):
            try:
                dev = device(a)
            except Exception:  # pragma: no cover - objects without a device
                dev = None
            break
    va, v_weak = _as_real(v, "v", xp, dev, fname)
    xa, x_weak = _as_real(x, "x", xp, dev, fname)
    strong = [a for a, weak in ((va, v_weak), (xa, x_weak)) if not weak]
    single = bool(strong) and all(a.dtype == xp.float32 for a in strong)
    out_dtype = xp.float32 if single else xp.float64
    scalar = va.ndim == 0 and xa.ndim == 0
    # float64 working copies where a conversion is needed; nothing below writes
    # into its arguments, so the inputs are never modified either way
    va = xp.astype(va, xp.float64, copy=False)
    xa = xp.astype(xa, xp.float64, copy=False)
    return xp, va, xa, out_dtype, scalar


def _finish(xp, out, out_dtype, scalar):
    if out.dtype != out_dtype:
        out = xp.astype(out, out_dtype)
    if scalar and is_numpy_namespace(xp):
        return out[()]
    return out


def _dispatch(fname, v, x, engine, numba_name, xp_func):
    xp, va, xa, out_dtype, scalar = _prepare(v, x, fname)
    out = None
    if use_numba(xp, engine):
        from . import _bessel_numba

        out = getattr(_bessel_numba, numba_name)(np.asarray(va), np.asarray(xa))
        out = xp.asarray(out)
    elif engine == "auto" and is_cupy_namespace(xp):
        from . import _bessel_cuda  # CUDA kernel; None if it cannot be built here

        out = getattr(_bessel_cuda, numba_name.replace("_array", "_cuda"))(va, xa)
    if out is None:
        va, xa = xp.broadcast_arrays(va, xa)
        # overflow to +-inf is the correctly rounded result at the extremes of the
        # double range (and NaN inputs propagate): no warnings, as with the kernels
        with np.errstate(all="ignore"):
            out = xp_func(xp, va, xa)
    return _finish(xp, out, out_dtype, scalar)


# -- public API --------------------------------------------------------------------------


def log_iv(v, x, *, engine="auto"):
    """Natural logarithm of the modified Bessel function of the first kind, ``log I_v(x)``.

    Accurate to a few units in the last place of ``max(1, |log I_v(x)|)``
    for all ``x >= 0`` and ``v >= 0`` (measured against mpmath: below 1e-14
    on log-uniform grids over ``x`` in [1e-8, 1e8], ``v`` in [0, 1e6]); finite
    wherever ``I_v(x)`` is positive, however large or small.

    Parameters
    ----------
    v : array_like
        Order (real).
    x : array_like
        Argument (real; ``x < 0`` as SciPy defines it, see the Notes).
    engine : {"auto", "numba", "xp"}, default="auto"
        ``"numba"``: compiled kernels (NumPy input only; the ``"auto"``
        choice when numba is available and not disabled by
        ``OPTLIB_DISABLE_NUMBA``). ``"xp"``: the vectorized array-API path
        (any array library). ``"auto"`` with CuPy input: the CUDA kernel of
        :mod:`optlib.special._bessel_cuda` (untested on hardware here; falls
        back to ``"xp"`` with a warning if it cannot be built).

    Returns
    -------
    out : array or scalar
        ``log I_v(x)``, broadcast shape of ``v`` and ``x``; a NumPy scalar
        when both inputs are scalars and NumPy is the namespace.

    Notes
    -----
    Defined limits and conventions:

    * ``x = 0``: ``log I_0(0) = 0``; ``log I_v(0) = -inf`` for ``v > 0`` or
      ``v`` a negative integer; for negative non-integer ``v``,
      ``+inf`` when ``sin(-v pi) > 0`` and NaN otherwise (``I_v`` tends to
      ``+inf`` or ``-inf``).
    * ``x = +inf``: ``+inf`` for finite ``v``. ``v = +inf``: ``-inf`` for
      finite ``x`` (NaN if both are infinite). ``v = -inf``: NaN.
    * Negative integer ``v = -n``: ``I_{-n} = I_n``.
    * Negative non-integer ``v = -nu``: from ``I_{-nu} = I_nu + (2/pi)
      sin(nu pi) K_nu``; NaN where ``I_{-nu}(x) < 0`` (its logarithm is not
      real). Near the zeros of ``I_{-nu}`` the result has the (unavoidable)
      absolute error of that difference.
    * ``x < 0`` (SciPy's real-valued ``iv``): ``I_v(x) = (-1)^v I_v(-x)`` for
      integer ``v``, so ``log_iv(v, x) = log_iv(v, -x)`` for even ``v`` (and
      ``-inf`` for ``v = +inf``, where ``I_v = 0``); NaN for odd ``v``
      (``I_v(x) < 0``), for non-integer ``v`` (``iv`` is NaN there) and at
      ``x = -inf`` (as ``iv``). This is ``np.log(scipy.special.iv(v, x))``
      without its overflow, underflow and warnings.

    {limits}

    Examples
    --------
    >>> from optlib.special import log_iv
    >>> round(float(log_iv(0.5, 2.0)), 12)  # log(sqrt(2 / (pi x)) sinh(x)) at x = 2
    0.716002429689
    >>> round(float(log_iv(5000.0, 1e4)), 6)  # I_5000(1e4) overflows double precision
    8768.700875
    """
    return _dispatch("log_iv", v, x, engine, "log_iv_array", _log_iv_xp)


def log_kv(v, x, *, engine="auto"):
    """Natural logarithm of the modified Bessel function of the second kind, ``log K_v(x)``.

    Accurate to a few units in the last place of ``max(1, |log K_v(x)|)``
    for all ``x > 0`` and real ``v`` (below 1e-14 against mpmath on
    log-uniform grids over ``x`` in [1e-8, 1e8], ``v`` in [0, 1e6]).

    Parameters
    ----------
    v : array_like
        Order (real; ``K_{-v} = K_v``).
    x : array_like
        Argument (real; ``x >= 0``).
    engine : {"auto", "numba", "xp"}, default="auto"
        See :func:`log_iv`.

    Returns
    -------
    out : array or scalar
        ``log K_v(x)``, broadcast shape of ``v`` and ``x``.

    Notes
    -----
    * ``x = 0``: ``+inf`` (``K_v`` has a pole or a logarithmic singularity).
    * ``x = +inf``: ``-inf`` for finite ``v``; ``|v| = inf``: ``+inf`` for
      finite ``x``; NaN when both are infinite.

    {limits}

    Examples
    --------
    >>> from optlib.special import log_kv
    >>> round(float(log_kv(0.5, 2.0)), 12)  # log(sqrt(pi / (2 x)) exp(-x)) at x = 2
    -2.120782237635
    >>> round(float(log_kv(0.0, 1e6)), 6)  # K_0(1e6) underflows double precision
    -1000006.681964
    """
    return _dispatch("log_kv", v, x, engine, "log_kv_array", _log_kv_xp)


def log_iv_ratio(v, x, *, engine="auto"):
    """Logarithm of the ratio ``I_{v+1}(x) / I_v(x)``.

    The quantity behind the von Mises-Fisher mean resultant length
    ``A_p(kappa) = I_{p/2}(kappa) / I_{p/2-1}(kappa)``. For ``v >= 0`` it is
    computed directly (not as a difference of two :func:`log_iv` values), so
    the absolute error stays at a few ulps even for ``x >> v`` where the
    ratio tends to 1 (``log(I_{v+1}/I_v) ~ -(2v+1)/(2x)``).

    Parameters
    ----------
    v : array_like
        Order of the denominator (real).
    x : array_like
        Argument (real; ``x >= 0``).
    engine : {"auto", "numba", "xp"}, default="auto"
        See :func:`log_iv`.

    Returns
    -------
    out : array or scalar
        ``log(I_{v+1}(x) / I_v(x))``, broadcast shape of ``v`` and ``x``;
        always ``<= 0`` for ``v >= 0``.

    Notes
    -----
    * ``x = 0``: ``-inf`` for ``v >= 0``. ``x = +inf``: ``0`` for finite
      ``v``. ``v = +inf``: ``-inf`` for finite ``x`` (NaN if both infinite).
    * ``v < 0``: evaluated as ``log_iv(v + 1, x) - log_iv(v, x)`` (NaN where
      either is undefined); this loses absolute accuracy ``~ eps x`` for
      large ``x``.

    {limits}

    Examples
    --------
    >>> import math
    >>> from optlib.special import log_iv_ratio
    >>> x = 3.0  # I_{1/2}(x) / I_{-1/2}(x) = tanh(x)
    >>> abs(float(log_iv_ratio(-0.5, x)) - math.log(math.tanh(x))) < 1e-14
    True
    """
    return _dispatch("log_iv_ratio", v, x, engine, "log_iv_ratio_array", _log_ratio_xp)


for _f in (log_iv, log_kv, log_iv_ratio):
    _f.__doc__ = _f.__doc__.replace("{limits}", _LIMITS_DOC.strip())
del _f


# -- array-API path --------------------------------------------------------------------------
# Every function below mirrors one scalar kernel of _bessel_numba.py, vectorized:
# branches are evaluated on inputs substituted by harmless values outside their
# region and merged with xp.where.


def _pick(xp, cond, a, b):
    """``xp.where`` for two Python scalars (not allowed by the standard)."""
    return xp.where(cond, xp.full(cond.shape, a, dtype=xp.float64, device=device(cond)), b)


def _horner(coefs, z):
    acc = None
    for c in coefs:
        c = float(c)
        acc = (z * 0.0 + c) if acc is None else acc * z + c
    return acc


def _two_prod_err(a, b, p):
    """Rounding error of ``p = fl(a * b)`` for the Python float ``a`` and array ``b``."""
    c = _SPLIT * a
    ah = c - (c - a)
    al = a - ah
    c = _SPLIT * b
    bh = c - (c - b)
    bl = b - bh
    return ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _asinh_ratio(xp, v, x):
    ok = v * 1e-150 < x
    direct = xp.asinh(xp.where(ok, v, 0.0) / x)
    far = _LOG2 + xp.log(xp.where(ok, 1.0, v)) - xp.log(x)
    return xp.where(ok, direct, far)


def _veta(xp, v, x, r):
    p0h, p0l = _t.ETA_P0_HI, _t.ETA_P0_LO
    band = (v > 0.0) & (v < 1e290) & (xp.abs(x - p0h * v) < _t.ETA_BAND * v)
    general = r - v * _asinh_ratio(xp, v, x)
    vb = xp.where(band, v, 1.0)
    xb = xp.where(band, x, p0h)
    ph = p0h * vb
    pl = _two_prod_err(p0h, vb, ph)
    d = ((xb - ph) - pl) - p0l * vb
    taylor = d * _horner(_t.ETA_TAYLOR[::-1], d / vb)
    return xp.where(band, taylor, general)


def _debye_tails(xp, r, t):
    """Tails of the Debye sums for I and K; ``r >= DEBYE_R`` everywhere."""
    q = _t.DEBYE_Q
    kmax = q.shape[0] - 1
    rmin = float(xp.min(r)) if r.size else _t.DEBYE_R
    nterms = 1 + sum(1 for k in range(1, kmax) if rmin <= _t.DEBYE_RK[k])  # as in the kernels
    s = t * t
    ir = 1.0 / r
    pw = xp.ones_like(r)
    ti = xp.zeros_like(r)
    tk = xp.zeros_like(r)
    sign = 1.0
    for k in range(1, nterms + 1):
        pw = pw * ir
        term = _horner(q[k, kmax - k :], s) * pw
        sign = -sign
        ti = ti + term
        tk = tk + sign * term
    return ti, tk


def _lgamma_parts(xp, mu):
    m2 = mu * mu
    return m2 * _horner(_t.LGAMMA_EVEN, m2), _horner(_t.LGAMMA_ODD, m2)


def _lgamma1p(xp, v):
    """``log Gamma(1 + v)`` for ``0 <= v < DEBYE_R + 2``."""
    n = xp.floor(v + 0.5)
    mu = v - n
    e, om = _lgamma_parts(xp, mu)
    prod = xp.ones_like(v)
    nmax = int(math.ceil(_t.DEBYE_R)) + 2
    for j in range(1, nmax + 1):
        prod = prod * xp.where(n >= j, mu + j, 1.0)
    return e - mu * om + xp.log(prod)


def _any(xp, mask):
    return bool(xp.any(mask)) if mask.size else False


def _series_tails(xp, v, x, extra=False):
    """Power-series tails for order ``v`` (and ``v + 1`` when ``extra``)."""
    q = 0.25 * x * x
    term = xp.ones_like(x)
    tail = xp.zeros_like(x)
    term1 = xp.ones_like(x)
    tail1 = xp.zeros_like(x)
    for k in range(1, _t.SERIES_TERMS + 1):
        term = term * (q / (k * (k + v)))
        tail = tail + term
        if extra:
            term1 = term1 * (q / (k * (k + v + 1.0)))
            tail1 = tail1 + term1
        if k % 8 == 0 and not _any(xp, term >= _t.SERIES_TOL * (1.0 + tail)):
            break
    return tail, tail1


def _log_iv_pos(xp, v, x):
    """``log I_v(x)`` for ``v >= 0`` and ``0 < x < inf`` (finite arrays)."""
    r = xp.hypot(v, x)
    deb = r >= _t.DEBYE_R
    vd = xp.where(deb, v, 0.0)
    xd = xp.where(deb, x, _t.DEBYE_R)
    rd = xp.hypot(vd, xd)
    ti, _ = _debye_tails(xp, rd, vd / rd)
    li_d = _veta(xp, vd, xd, rd) - 0.5 * (_LOG_2PI + xp.log(rd)) + xp.log1p(ti)
    vs = xp.where(deb, 0.0, v)
    xs = xp.where(deb, 1.0, x)
    tail, _ = _series_tails(xp, vs, xs)
    lead = xp.where(vs > 0.0, vs * (xp.log(xs) - _LOG2), 0.0)
    li_s = lead - _lgamma1p(xp, vs) + xp.log1p(tail)
    return xp.where(deb, li_d, li_s)


def _log_kv_temme(xp, v, x):
    """Temme's method for ``x <= TEMME_X``, ``v < DEBYE_R``."""
    tol = _t.SERIES_TOL
    n = xp.floor(v + 0.5)
    mu = v - n
    tiny = (x < _t.TINY_X) & (n >= 1.0)
    xx = xp.where(tiny, 1.0, x)
    m2 = mu * mu
    e, om = _lgamma_parts(xp, mu)
    o = mu * om
    ee = xp.exp(-e)
    o_safe = xp.where(o != 0.0, o, 1.0)
    shc_o = xp.where(o != 0.0, xp.sinh(o_safe) / o_safe, 1.0)
    g1 = -ee * om * shc_o
    g2 = ee * xp.cosh(o)
    lx = _LOG2 - xp.log(xx)
    sigma = mu * lx
    s_safe = xp.where(sigma != 0.0, sigma, 1.0)
    shc_s = xp.where(sigma != 0.0, xp.sinh(s_safe) / s_safe, 1.0)
    mu_safe = xp.where(mu != 0.0, mu, 0.5)
    fact = xp.where(mu != 0.0, (math.pi * mu_safe) / xp.sin(math.pi * mu_safe), 1.0)
    f = fact * (g1 * xp.cosh(sigma) + g2 * lx * shc_s)
    es = xp.exp(sigma)
    p = 0.5 * es * xp.exp(e - o)
    q = 0.5 / es * xp.exp(e + o)
    c = xp.ones_like(x)
    qq = 0.25 * xx * xx
    sk = f
    sh = p
    for k in range(1, _t.TEMME_TERMS + 1):
        f = (k * f + p + q) / (k * k - m2)
        c = c * (qq / k)
        p = p / (k - mu)
        q = q / (k + mu)
        d = c * f
        sk = sk + d
        sh = sh + c * (p - k * f)
        if k % 4 == 0 and not _any(xp, xp.abs(d) >= tol * xp.abs(sk)):
            break
    out = xp.log(sk)
    # forward recurrence rho_k = K_{mu+k+1} / K_{mu+k}
    rho = sh / sk * (2.0 / xp.where(n >= 1.0, xx, 1.0))
    nmax = int(float(xp.max(n))) if n.size else 0
    out = out + xp.where(n >= 1.0, xp.log(rho), 0.0)
    for k in range(1, nmax):
        active = n >= k + 1.0
        rho_new = 1.0 / rho + 2.0 * (mu + k) / xx
        out = out + xp.where(active, xp.log(rho_new), 0.0)
        rho = xp.where(active, rho_new, rho)
    # 2 / x overflows: leading term Gamma(v) / 2 (2 / x)^v
    vt = xp.where(tiny, v, 1.0)
    lead = _lgamma1p(xp, vt) - xp.log(vt) - _LOG2 + vt * (_LOG2 - xp.log(xp.where(tiny, x, 1.0)))
    return xp.where(tiny, lead, out)


def _quad_pick(xp, level, table_col):
    out = None
    for m in range(len(_t.QUAD_H) - 1, -1, -1):
        val = float(table_col[m])
        out = (level * 0.0 + val) if out is None else xp.where(level == m, val, out)
    return out


def _log_kv_quad(xp, v, x, r):
    """Trapezoidal rule around the maximum of the integrand (``x > TEMME_X``, ``r < DEBYE_R``)."""
    level = xp.zeros_like(r)
    for bound in _t.QUAD_R[:-1]:
        level = level + xp.astype(r >= float(bound), xp.float64)
    total = xp.ones_like(r)
    for j in range(1, _t.QUAD_C.shape[1]):
        a = r * _quad_pick(xp, level, _t.QUAD_C[:, j])
        b = v * _quad_pick(xp, level, _t.QUAD_S[:, j])
        wl = xp.exp(b - a)
        total = total + xp.exp(-a - b) + wl
        if j % 4 == 0 and not _any(xp, wl >= _t.QUAD_TOL):
            break
    h = _quad_pick(xp, level, _t.QUAD_H)
    return -_veta(xp, v, x, r) + xp.log(0.5 * h) + xp.log(total)


def _log_kv_pos(xp, v, x):
    """``log K_v(x)`` for ``v >= 0`` and ``0 < x < inf`` (finite arrays)."""
    r = xp.hypot(v, x)
    deb = r >= _t.DEBYE_R
    tem = (~deb) & (x <= _t.TEMME_X)
    quad = (~deb) & (~tem)
    vd = xp.where(deb, v, 0.0)
    xd = xp.where(deb, x, _t.DEBYE_R)
    rd = xp.hypot(vd, xd)
    _, tk = _debye_tails(xp, rd, vd / rd)
    out = -_veta(xp, vd, xd, rd) + 0.5 * (_LOG_PI_2 - xp.log(rd)) + xp.log1p(tk)
    if _any(xp, tem):
        lt = _log_kv_temme(xp, xp.where(tem, v, 0.0), xp.where(tem, x, 1.0))
        out = xp.where(tem, lt, out)
    if _any(xp, quad):
        vq = xp.where(quad, v, 0.0)
        xq = xp.where(quad, x, 2.0 * _t.TEMME_X)
        lq = _log_kv_quad(xp, vq, xq, xp.hypot(vq, xq))
        out = xp.where(quad, lq, out)
    return out


def _log_ratio_pos(xp, v, x):
    """``log(I_{v+1}(x) / I_v(x))`` for ``v >= 0`` and ``0 < x < inf``."""
    r = xp.hypot(v, x)
    deb = r >= _t.DEBYE_R
    v0 = xp.where(deb, v, 0.0)
    xd = xp.where(deb, x, _t.DEBYE_R)
    r0 = xp.hypot(v0, xd)
    v1 = v0 + 1.0
    r1 = xp.hypot(v1, xd)
    a = 2.0 - 1.0 / v1  # (2v + 1) / (v + 1)
    ti0, _ = _debye_tails(xp, r0, v0 / r0)
    ti1, _ = _debye_tails(xp, r1, v1 / r1)
    dif = xp.asinh((a / r1) / (r0 / r1 + v0 / v1))
    rs = 1.0 + r0 / r1  # (r1 + r0) / r1
    d_eta = a * (v1 / r1) / rs - _asinh_ratio(xp, v1, xd) - v0 * dif
    lr_d = d_eta - 0.5 * xp.log1p(a * (v1 / r1) / r0 / rs) + xp.log1p((ti1 - ti0) / (1.0 + ti0))
    vs = xp.where(deb, 0.0, v)
    xs = xp.where(deb, 1.0, x)
    s0, s1 = _series_tails(xp, vs, xs, extra=True)
    lr_s = (xp.log(xs) - _LOG2) - xp.log1p(vs) + xp.log1p(s1) - xp.log1p(s0)
    return xp.where(deb, lr_d, lr_s)


def _finite_args(xp, v, x):
    """Mask of ordinary points (finite v >= 0 after reflection, 0 < x < inf) and safe copies."""
    ok = xp.isfinite(v) & xp.isfinite(x) & (x > 0.0)
    return ok, xp.where(ok, v, 1.0), xp.where(ok, x, 1.0)


def _log_iv_nonneg(xp, nu, x):
    """``log I_nu(x)`` for ``nu >= 0`` (or inf) and ``x >= 0`` (or inf); NaN elsewhere."""
    ok, vs, xs = _finite_args(xp, nu, x)
    out = _log_iv_pos(xp, vs, xs)
    inf = math.inf
    out = xp.where(xp.isinf(x), _pick(xp, xp.isinf(nu), math.nan, inf), out)
    out = xp.where(xp.isinf(nu) & xp.isfinite(x), -inf, out)
    out = xp.where(x == 0.0, _pick(xp, nu == 0.0, 0.0, -inf), out)
    return out


def _sinpi(xp, a):
    m = a - 2.0 * xp.floor(0.5 * a)
    red = xp.where(m > 1.5, m - 2.0, xp.where(m > 0.5, 1.0 - m, m))
    return xp.sin(math.pi * red)


def _log_iv_xp(xp, v, x):
    # x < 0: I_v(x) = (-1)^v I_v(-x) for integer v (SciPy's real I_v, NaN otherwise and at
    # x = -inf): a real logarithm for even v only, that of I_v(-x)
    neg = x < 0.0
    even = (0.5 * v) == xp.floor(0.5 * v)
    bad = xp.isnan(v) | xp.isnan(x) | (neg & (xp.isinf(x) | ~even)) | (v == -math.inf)
    x = xp.where(bad, 1.0, xp.abs(x))
    v = xp.where(bad, 1.0, v)
    refl = (v < 0.0) & (v != xp.floor(v))
    nu = xp.abs(v)
    out = _log_iv_nonneg(xp, nu, x)
    if _any(xp, refl):
        s = _sinpi(xp, nu)
        lk = _log_kv_xp(xp, xp.where(refl, nu, 1.0), x)
        c = xp.log(2.0 * xp.abs(xp.where(refl, s, 1.0)) / math.pi) + lk
        hi = xp.maximum(out, c)
        lo = xp.minimum(out, c)
        hi_safe = xp.where(xp.isfinite(hi), hi, 0.0)
        plus = xp.where(xp.isinf(hi), hi, hi + xp.log1p(xp.exp(lo - hi_safe)))
        diff_ok = c < out
        arg = xp.where(diff_ok, c - xp.where(xp.isfinite(out), out, 0.0), -1.0)
        minus = xp.where(diff_ok, out + xp.log1p(-xp.exp(arg)), _pick(xp, c == out, -math.inf, math.nan))
        minus = xp.where(diff_ok & xp.isinf(out), out, minus)
        out = xp.where(refl, xp.where(s > 0.0, plus, minus), out)
    return xp.where(bad, math.nan, out)


def _log_kv_xp(xp, v, x):
    bad = xp.isnan(v) | xp.isnan(x) | (x < 0.0)
    nu = xp.abs(xp.where(bad, 1.0, v))
    x = xp.where(bad, 1.0, x)
    ok, vs, xs = _finite_args(xp, nu, x)
    out = _log_kv_pos(xp, vs, xs)
    out = xp.where(xp.isinf(x), _pick(xp, xp.isinf(nu), math.nan, -math.inf), out)
    out = xp.where(xp.isinf(nu) & xp.isfinite(x), math.inf, out)
    out = xp.where(x == 0.0, math.inf, out)
    return xp.where(bad, math.nan, out)


def _log_ratio_xp(xp, v, x):
    bad = xp.isnan(v) | xp.isnan(x) | (x < 0.0) | (v == -math.inf)
    v = xp.where(bad, 1.0, v)
    x = xp.where(bad, 1.0, x)
    neg = (v < 0.0) & ~xp.isinf(x)  # x = inf: the ratio tends to 1 for every finite order
    ok, vs, xs = _finite_args(xp, xp.where(neg, 1.0, v), x)
    out = _log_ratio_pos(xp, vs, xs)
    out = xp.where(xp.isinf(x), _pick(xp, xp.isinf(v), math.nan, 0.0), out)
    out = xp.where(xp.isinf(v) & xp.isfinite(x), -math.inf, out)
    out = xp.where(x == 0.0, -math.inf, out)
    if _any(xp, neg):
        vn = xp.where(neg, v, -0.5)
        diff = _log_iv_xp(xp, vn + 1.0, x) - _log_iv_xp(xp, vn, x)
        out = xp.where(neg, diff, out)
    return xp.where(bad, math.nan, out)
