"""Special-function family demos."""

import numpy as np

from . import DemoRow, require, timed, warm_up

FAMILY = "special functions"


def _bessel_grid(size):
    """Orders and arguments log-uniform in [1e-2, 1e3] x [1e-3, 1e3]."""
    rng = np.random.default_rng(0)
    return 10 ** rng.uniform(-2, 3, size), 10 ** rng.uniform(-3, 3, size)


def _scipy_log_bessel(v, x):
    """log I_v(x) and log K_v(x) from SciPy's scaled ``ive``/``kve``; NaN where those leave the normal floats."""
    from scipy.special import ive, kve

    i, k = ive(v, x), kve(v, x)
    tiny, huge = np.finfo(float).tiny, np.finfo(float).max
    in_range = (i >= tiny) & (i <= huge) & (k >= tiny) & (k <= huge)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(in_range, np.log(i) + x, np.nan), np.where(in_range, np.log(k) - x, np.nan)


def _max_rel_error(ours, reference):
    return float(np.max(np.abs(ours - reference) / np.maximum(1.0, np.abs(reference))))


def log_bessel_demo():
    """log I_v and log K_v against SciPy's special.ive and kve where those are normal floats."""
    from ..special import log_iv, log_kv

    v, x = _bessel_grid(2000)
    warm_up(lambda: (log_iv(v[:2], x[:2]), log_kv(v[:2], x[:2])))
    (li, lk), seconds = timed(lambda: (log_iv(v, x), log_kv(v, x)))
    (ref_i, ref_k), ref_seconds = timed(_scipy_log_bessel, v, x)
    comparable = np.isfinite(ref_i)
    err = max(_max_rel_error(li[comparable], ref_i[comparable]), _max_rel_error(lk[comparable], ref_k[comparable]))
    finite = bool(np.all(np.isfinite(li)) and np.all(np.isfinite(lk)))
    return DemoRow(FAMILY, f"log I_v, log K_v at {v.size} points, v in [1e-2, 1e3], x in [1e-3, 1e3]",
                   "special.log_iv, log_kv (numba)", seconds, "SciPy special.ive, kve", ref_seconds,
                   f"max rel. diff {err:.1e} at the {comparable.sum()} points in SciPy's range; "
                   f"{'finite' if finite else 'NOT finite'} at the {(~comparable).sum()} beyond it",
                   finite and err <= 1e-13)


def log_bessel_extended_demo():
    """log I_v and log K_v beyond SciPy's range against mpmath at 40 digits (optional: needs mpmath)."""
    mpmath = require("mpmath")
    from ..special import log_iv, log_kv

    v, x = _bessel_grid(2000)
    beyond = ~np.isfinite(_scipy_log_bessel(v, x)[0])
    v, x = v[beyond][:50], x[beyond][:50]
    warm_up(lambda: (log_iv(v[:2], x[:2]), log_kv(v[:2], x[:2])))
    (li, lk), seconds = timed(lambda: (log_iv(v, x), log_kv(v, x)))

    def reference():
        with mpmath.workdps(40):
            return (np.array([float(mpmath.log(mpmath.besseli(a, b))) for a, b in zip(v, x)]),
                    np.array([float(mpmath.log(mpmath.besselk(a, b))) for a, b in zip(v, x)]))

    (ref_i, ref_k), ref_seconds = timed(reference)
    err = max(_max_rel_error(li, ref_i), _max_rel_error(lk, ref_k))
    return DemoRow(FAMILY, f"log I_v, log K_v at {v.size} points where SciPy's ive or kve leave the floats",
                   "special.log_iv, log_kv (numba)", seconds, "mpmath, 40 digits", ref_seconds,
                   f"max rel. error {err:.1e}", err <= 1e-13)


def _scipy_vmf_concentration(X):
    """Maximum-likelihood concentration from SciPy parts: the root of A_p(k) = R (brentq on a ratio of ``ive``).

    ``scipy.stats.vonmises_fisher.fit`` is not used: at p = 4096 it
    returns 1e-8 (SciPy 1.17).
    """
    from scipy.optimize import brentq
    from scipy.special import ive

    n, p = X.shape
    r = np.linalg.norm(X.sum(axis=0)) / n
    guess = r * (p - r**2) / (1 - r**2)  # Banerjee et al.'s approximation, within a few per cent here

    def likelihood_equation(k):
        return ive(p / 2, k) / ive(p / 2 - 1, k) - r

    return brentq(likelihood_equation, guess / 2, 2 * guess, xtol=1e-300, rtol=1e-15)


def vmf_demo():
    """von Mises-Fisher concentration in dimension 4096 from sampled data."""
    from ..special import vmf_fit, vmf_sample

    p, kappa, n = 4096, 8192.0, 2000
    mu = np.zeros(p)
    mu[0] = 1.0
    X = vmf_sample(n, mu, kappa, random_state=0)
    warm_up(vmf_fit, X[:5, :5], normalize=True)
    res, seconds = timed(vmf_fit, X)
    ref_kappa, ref_seconds = timed(_scipy_vmf_concentration, X)
    err = abs(res.concentration - ref_kappa) / ref_kappa
    sampling = abs(res.concentration - kappa) / kappa
    return DemoRow(FAMILY, f"von Mises-Fisher fit, p={p}, n={n}", "special.vmf_fit (log-domain Newton)", seconds,
                   "SciPy brentq on special.ive ratio", ref_seconds,
                   f"concentration rel. diff {err:.1e} (sampling error vs true kappa {sampling:.1e})",
                   res.success and err <= 1e-12 and sampling <= 1e-2)


DEMOS = [log_bessel_demo, log_bessel_extended_demo, vmf_demo]
