"""CuPy ``ElementwiseKernel`` versions of the log Bessel functions.

The CUDA C source is *generated* from :mod:`._bessel_tables` (the same
thresholds and coefficient tables as the numba kernels and the array-API
path) and is a line-by-line transcription of the scalar numba kernels in
:mod:`._bessel_numba`. It is used by :func:`optlib.special.log_iv`,
:func:`~optlib.special.log_kv` and :func:`~optlib.special.log_iv_ratio` for
CuPy input with ``engine="auto"``.

.. warning::
   Not run on a GPU by the test suite (no GPU was available where it was
   written). What *is* tested: the very same C source, generated for a host C
   compiler (``target="c"``: ``static`` instead of ``__device__``, ``math.h``)
   and compiled with and without floating-point contraction (CUDA contracts
   ``a * b + c`` into FMAs by default), agrees with the numba kernels on
   thousands of points including every special value. Should NVRTC reject the
   source, or the kernel fail at its first launch, the public functions warn
   once and fall back to the array-API path (``engine="xp"``), which runs on
   the device as well.
"""

import warnings

from . import _bessel_tables as _t

__all__ = ["c_source", "log_iv_cuda", "log_kv_cuda", "log_iv_ratio_cuda"]


def _array(name, values, prefix):
    flat = [repr(float(a)) for a in values]
    return f"{prefix} double {name}[{len(flat)}] = {{{', '.join(flat)}}};\n"


def c_source(target="cuda"):
    """The kernels' C source: ``target="cuda"`` (device functions) or ``"c"`` (host, for testing)."""
    if target == "cuda":
        fn = "__device__ static inline"
        tab = "__device__ static const"
        head = (
            "#define OPTLIB_INF __longlong_as_double(0x7ff0000000000000LL)\n"
            "#define OPTLIB_NAN __longlong_as_double(0x7ff8000000000000LL)\n"
        )
    elif target == "c":
        fn = "static inline"
        tab = "static const"
        head = "#include <math.h>\n#define OPTLIB_INF INFINITY\n#define OPTLIB_NAN NAN\n"
    else:
        raise ValueError(f"target must be 'cuda' or 'c', got {target!r}.")
    q = _t.DEBYE_Q
    kmax = q.shape[0] - 1
    nq = _t.QUAD_C.shape[1]
    consts = {
        "OPTLIB_DEBYE_R": _t.DEBYE_R,
        "OPTLIB_TEMME_X": _t.TEMME_X,
        "OPTLIB_TINY_X": _t.TINY_X,
        "OPTLIB_TOL": _t.SERIES_TOL,
        "OPTLIB_P0_HI": _t.ETA_P0_HI,
        "OPTLIB_P0_LO": _t.ETA_P0_LO,
        "OPTLIB_BAND": _t.ETA_BAND,
        "OPTLIB_QUAD_TOL": _t.QUAD_TOL,
        "OPTLIB_LOG2": 0.6931471805599453,
        "OPTLIB_LOG_2PI": 1.8378770664093453,
        "OPTLIB_LOG_PI_2": 0.45158270528945477,
        "OPTLIB_PI": 3.141592653589793,
    }
    src = [head]
    src += [f"#define {k} {float(v)!r}\n" for k, v in consts.items()]
    src += [
        f"#define OPTLIB_KMAX {kmax}\n",
        f"#define OPTLIB_NQUAD {nq}\n",
        f"#define OPTLIB_NLEVEL {len(_t.QUAD_H)}\n",
        f"#define OPTLIB_SERIES_TERMS {int(_t.SERIES_TERMS)}\n",
        f"#define OPTLIB_TEMME_TERMS {int(_t.TEMME_TERMS)}\n",
    ]
    src.append(_array("optlib_Q", q.ravel(), tab))
    src.append(_array("optlib_RK", _t.DEBYE_RK, tab))
    src.append(_array("optlib_ETA", _t.ETA_TAYLOR[::-1], tab))
    src.append(_array("optlib_LG_EVEN", _t.LGAMMA_EVEN, tab))
    src.append(_array("optlib_LG_ODD", _t.LGAMMA_ODD, tab))
    src.append(_array("optlib_QUAD_R", [min(r, 1e308) for r in _t.QUAD_R], tab))
    src.append(_array("optlib_QUAD_H", _t.QUAD_H, tab))
    src.append(_array("optlib_QUAD_C", _t.QUAD_C.ravel(), tab))
    src.append(_array("optlib_QUAD_S", _t.QUAD_S.ravel(), tab))
    src.append(
        _BODY.replace("FN ", fn + " ")
        .replace("@NETA@", str(len(_t.ETA_TAYLOR)))
        .replace("@NEVEN@", str(len(_t.LGAMMA_EVEN)))
        .replace("@NODD@", str(len(_t.LGAMMA_ODD)))
    )
    if target == "c":
        src.append(_HOST_WRAPPERS)
    return "".join(src)


# Transcription of _bessel_numba.py (same names without the leading underscore).
_BODY = r"""
FN double optlib_horner(const double* c, int n, double z) {
    double acc = 0.0;
    for (int i = 0; i < n; i++) acc = acc * z + c[i];
    return acc;
}

FN double optlib_asinh_ratio(double v, double x) {
    if (v * 1e-150 < x) return asinh(v / x);
    return OPTLIB_LOG2 + log(v) - log(x);
}

FN double optlib_lgamma1p(double v) {
    double n = floor(v + 0.5);
    double mu = v - n;
    double m2 = mu * mu;
    double prod = 1.0;
    int ni = (int)n;
    for (int j = 1; j <= ni; j++) prod *= mu + j;
    return m2 * optlib_horner(optlib_LG_EVEN, @NEVEN@, m2) - mu * optlib_horner(optlib_LG_ODD, @NODD@, m2) + log(prod);
}

FN double optlib_veta(double v, double x, double r) {
    if (v > 0.0 && v < 1e290 && fabs(x - OPTLIB_P0_HI * v) < OPTLIB_BAND * v) {
        double ph = OPTLIB_P0_HI * v;
        double pl = fma(OPTLIB_P0_HI, v, -ph);  /* exact rounding error of ph */
        double d = ((x - ph) - pl) - OPTLIB_P0_LO * v;
        return d * optlib_horner(optlib_ETA, @NETA@, d / v);
    }
    return r - v * optlib_asinh_ratio(v, x);
}

FN void optlib_debye_tails(double r, double t, double* ti_out, double* tk_out) {
    int nterms = 1;
    for (int k = 1; k < OPTLIB_KMAX; k++)
        if (r <= optlib_RK[k]) nterms += 1;
    double s = t * t;
    double ir = 1.0 / r;
    double ti = 0.0, tk = 0.0;
    for (int k = nterms; k >= 1; k--) {
        double acc = 0.0;
        for (int j = OPTLIB_KMAX - k; j <= OPTLIB_KMAX; j++) acc = acc * s + optlib_Q[k * (OPTLIB_KMAX + 1) + j];
        ti = (ti + acc) * ir;
        tk = (acc - tk) * ir;
    }
    *ti_out = ti;
    *tk_out = -tk;
}

FN double optlib_series_tail(double v, double x) {
    double q = 0.25 * x * x, term = 1.0, tail = 0.0;
    for (int k = 1; k <= OPTLIB_SERIES_TERMS; k++) {
        term *= q / (k * (k + v));
        tail += term;
        if (term < OPTLIB_TOL * (1.0 + tail)) break;
    }
    return tail;
}

FN double optlib_log_iv_pos(double v, double x) {
    double r = hypot(v, x);
    if (r >= OPTLIB_DEBYE_R) {
        double ti, tk;
        optlib_debye_tails(r, v / r, &ti, &tk);
        return optlib_veta(v, x, r) - 0.5 * (OPTLIB_LOG_2PI + log(r)) + log1p(ti);
    }
    double tail = optlib_series_tail(v, x);
    double lead = v > 0.0 ? v * (log(x) - OPTLIB_LOG2) : 0.0;
    return lead - optlib_lgamma1p(v) + log1p(tail);
}

FN double optlib_log_kv_temme(double v, double x) {
    double n = floor(v + 0.5);
    double mu = v - n;
    if (x < OPTLIB_TINY_X && n >= 1.0)
        return optlib_lgamma1p(v) - log(v) - OPTLIB_LOG2 + v * (OPTLIB_LOG2 - log(x));
    double m2 = mu * mu;
    double e = m2 * optlib_horner(optlib_LG_EVEN, @NEVEN@, m2);
    double om = optlib_horner(optlib_LG_ODD, @NODD@, m2);
    double o = mu * om;
    double ee = exp(-e);
    double shc_o = o != 0.0 ? sinh(o) / o : 1.0;
    double g1 = -ee * om * shc_o;
    double g2 = ee * cosh(o);
    double lx = OPTLIB_LOG2 - log(x);
    double sigma = mu * lx;
    double shc_s = sigma != 0.0 ? sinh(sigma) / sigma : 1.0;
    double pimu = OPTLIB_PI * mu;
    double fact = mu != 0.0 ? pimu / sin(pimu) : 1.0;
    double f = fact * (g1 * cosh(sigma) + g2 * lx * shc_s);
    double es = exp(sigma);
    double p = 0.5 * es * exp(e - o);
    double q = 0.5 / es * exp(e + o);
    double c = 1.0, qq = 0.25 * x * x, sk = f, sh = p;
    for (int k = 1; k <= OPTLIB_TEMME_TERMS; k++) {
        f = (k * f + p + q) / ((double)k * k - m2);
        c *= qq / k;
        p /= k - mu;
        q /= k + mu;
        double d = c * f;
        sk += d;
        sh += c * (p - k * f);
        if (fabs(d) < OPTLIB_TOL * fabs(sk)) break;
    }
    double out = log(sk);
    if (n == 0.0) return out;
    double rho = sh / sk * (2.0 / x);
    double prod = rho;
    int ni = (int)n;
    for (int k = 1; k < ni; k++) {
        rho = 1.0 / rho + 2.0 * (mu + k) / x;
        if (prod > 1e150 || rho > 1e150) {
            out += log(prod);
            prod = rho;
        } else {
            prod *= rho;
        }
    }
    return out + log(prod);
}

FN double optlib_log_kv_quad(double v, double x, double r) {
    int m = 0;
    while (m < OPTLIB_NLEVEL - 1 && r >= optlib_QUAD_R[m]) m++;
    double total = 1.0;
    for (int j = 1; j < OPTLIB_NQUAD; j++) {
        double a = r * optlib_QUAD_C[m * OPTLIB_NQUAD + j];
        double b = v * optlib_QUAD_S[m * OPTLIB_NQUAD + j];
        double wl = exp(b - a);
        total += exp(-a - b) + wl;
        if (wl < OPTLIB_QUAD_TOL) break;
    }
    return -optlib_veta(v, x, r) + log(0.5 * optlib_QUAD_H[m]) + log(total);
}

FN double optlib_log_kv_pos(double v, double x) {
    double r = hypot(v, x);
    if (r >= OPTLIB_DEBYE_R) {
        double ti, tk;
        optlib_debye_tails(r, v / r, &ti, &tk);
        return -optlib_veta(v, x, r) + 0.5 * (OPTLIB_LOG_PI_2 - log(r)) + log1p(tk);
    }
    if (x <= OPTLIB_TEMME_X) return optlib_log_kv_temme(v, x);
    return optlib_log_kv_quad(v, x, r);
}

FN double optlib_log_ratio_pos(double v, double x) {
    double r0 = hypot(v, x);
    if (r0 >= OPTLIB_DEBYE_R) {
        double v1 = v + 1.0;
        double r1 = hypot(v1, x);
        double a = 2.0 - 1.0 / v1;
        double ti0, ti1, tk;
        optlib_debye_tails(r0, v / r0, &ti0, &tk);
        optlib_debye_tails(r1, v1 / r1, &ti1, &tk);
        double dif = asinh((a / r1) / (r0 / r1 + v / v1));
        double rs = 1.0 + r0 / r1;
        double d_eta = a * (v1 / r1) / rs - optlib_asinh_ratio(v1, x) - v * dif;
        return d_eta - 0.5 * log1p(a * (v1 / r1) / r0 / rs) + log1p((ti1 - ti0) / (1.0 + ti0));
    }
    double q = 0.25 * x * x, t0 = 1.0, t1 = 1.0, s0 = 0.0, s1 = 0.0;
    for (int k = 1; k <= OPTLIB_SERIES_TERMS; k++) {
        t0 *= q / (k * (k + v));
        t1 *= q / (k * (k + v + 1.0));
        s0 += t0;
        s1 += t1;
        if (t0 < OPTLIB_TOL * (1.0 + s0)) break;
    }
    return (log(x) - OPTLIB_LOG2) - log1p(v) + log1p(s1) - log1p(s0);
}

FN double optlib_sinpi(double a) {
    double m = a - 2.0 * floor(0.5 * a);
    if (m > 1.5) return sin(OPTLIB_PI * (m - 2.0));
    if (m > 0.5) return sin(OPTLIB_PI * (1.0 - m));
    return sin(OPTLIB_PI * m);
}

FN double optlib_log_kv(double v, double x) {
    if (isnan(v) || isnan(x) || x < 0.0) return OPTLIB_NAN;
    v = fabs(v);
    if (x == 0.0 || isinf(v)) return isinf(x) ? OPTLIB_NAN : OPTLIB_INF;
    if (isinf(x)) return -OPTLIB_INF;
    return optlib_log_kv_pos(v, x);
}

FN double optlib_log_iv_nonneg(double v, double x) {
    if (x == 0.0) return v == 0.0 ? 0.0 : -OPTLIB_INF;
    if (isinf(v)) return isinf(x) ? OPTLIB_NAN : -OPTLIB_INF;
    if (isinf(x)) return OPTLIB_INF;
    return optlib_log_iv_pos(v, x);
}

FN double optlib_log_iv(double v, double x) {
    if (isnan(v) || isnan(x) || v == -OPTLIB_INF) return OPTLIB_NAN;
    if (x < 0.0) {  /* I_v(x) = (-1)^v I_v(-x), integer v (SciPy): real log for even v only */
        if (isinf(x) || 0.5 * v != floor(0.5 * v)) return OPTLIB_NAN;
        x = -x;
    }
    if (v >= 0.0 || v == floor(v)) return optlib_log_iv_nonneg(fabs(v), x);
    double nu = -v;
    double s = optlib_sinpi(nu);
    double li = optlib_log_iv_nonneg(nu, x);
    double lk = optlib_log_kv(nu, x);
    double c = log(2.0 * fabs(s) / OPTLIB_PI) + lk;
    if (s > 0.0) {
        double hi = li > c ? li : c;
        double lo = li > c ? c : li;
        if (hi == OPTLIB_INF) return OPTLIB_INF;
        return hi + log1p(exp(lo - hi));
    }
    if (c > li) return OPTLIB_NAN;
    if (c == li) return -OPTLIB_INF;
    if (li == OPTLIB_INF) return OPTLIB_INF;
    return li + log1p(-exp(c - li));
}

FN double optlib_log_ratio(double v, double x) {
    if (isnan(v) || isnan(x) || x < 0.0 || v == -OPTLIB_INF) return OPTLIB_NAN;
    if (v < 0.0 && !isinf(x)) return optlib_log_iv(v + 1.0, x) - optlib_log_iv(v, x);
    if (isinf(v)) return isinf(x) ? OPTLIB_NAN : -OPTLIB_INF;
    if (x == 0.0) return -OPTLIB_INF;
    if (isinf(x)) return 0.0;
    return optlib_log_ratio_pos(v, x);
}
"""

_HOST_WRAPPERS = r"""
void optlib_run(int which, const double* v, const double* x, double* out, long n) {
    for (long i = 0; i < n; i++)
        out[i] = which == 0 ? optlib_log_iv(v[i], x[i]) : which == 1 ? optlib_log_kv(v[i], x[i]) : optlib_log_ratio(v[i], x[i]);
}
"""

_KERNELS = {}
_FAILED = []


def _kernel(name):
    """Build (once) the ``ElementwiseKernel`` computing ``optlib_<name>(v, x)``."""
    if name not in _KERNELS:
        import cupy

        _KERNELS[name] = cupy.ElementwiseKernel(
            "float64 v, float64 x",
            "float64 out",
            f"out = optlib_{name}(v, x)",
            f"optlib_{name}_kernel",
            preamble=c_source("cuda"),
        )
    return _KERNELS[name]


def _call(name, v, x):
    """Run the kernel, or return ``None`` (after one warning) if it cannot be built or launched."""
    if _FAILED:
        return None
    try:
        return _kernel(name)(v, x)
    except Exception as exc:  # noqa: BLE001 - NVRTC / driver errors have many types
        _FAILED.append(exc)
        warnings.warn(
            f"optlib.special: the CUDA kernel for {name} failed ({type(exc).__name__}: {exc}); "
            "using the array-API path on the device instead.",
            RuntimeWarning,
            stacklevel=4,
        )
        return None


def log_iv_cuda(v, x):
    """``log I_v(x)`` for broadcastable CuPy float64 arrays (``None`` if the kernel is unusable)."""
    return _call("log_iv", v, x)


def log_kv_cuda(v, x):
    """``log K_v(x)`` for broadcastable CuPy float64 arrays (``None`` if the kernel is unusable)."""
    return _call("log_kv", v, x)


def log_iv_ratio_cuda(v, x):
    """``log(I_{v+1}(x) / I_v(x))`` for CuPy float64 arrays (``None`` if the kernel is unusable)."""
    return _call("log_ratio", v, x)
