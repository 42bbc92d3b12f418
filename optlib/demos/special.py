"""Special-function family demos."""

import numpy as np

from . import DemoRow, timed

FAMILY = "special functions"


def log_bessel_demo():
    """log I_v and log K_v on a log-uniform grid against mpmath at 40 digits."""
    import mpmath

    from ..special import log_iv, log_kv

    rng = np.random.default_rng(0)
    v = 10 ** rng.uniform(-2, 3, 200)  # where mpmath's own series converge in reasonable time
    x = 10 ** rng.uniform(-3, 3, 200)
    log_iv(v[:2], x[:2]), log_kv(v[:2], x[:2])  # compile outside the timing
    (li, lk), seconds = timed(lambda: (log_iv(v, x), log_kv(v, x)))
    with mpmath.workdps(40):
        ref_i = np.array([float(mpmath.log(mpmath.besseli(a, b))) for a, b in zip(v, x)])
        ref_k = np.array([float(mpmath.log(mpmath.besselk(a, b))) for a, b in zip(v, x)])
    err = max(np.max(np.abs(li - ref_i) / np.maximum(1, np.abs(ref_i))),
              np.max(np.abs(lk - ref_k) / np.maximum(1, np.abs(ref_k))))
    finite = bool(np.all(np.isfinite(li)) and np.all(np.isfinite(lk)))
    return DemoRow(FAMILY, "log I_v, log K_v at 200 points, v, x up to 1e3", "log_iv, log_kv (numba)", seconds,
                   f"max rel. error {err:.1e} vs mpmath (40 digits)", finite and err <= 1e-13)


def vmf_demo():
    """von Mises-Fisher concentration in dimension 4096 from sampled data."""
    from ..special import vmf_fit, vmf_sample

    p, kappa, n = 4096, 8192.0, 2000
    mu = np.zeros(p)
    mu[0] = 1.0
    X = vmf_sample(n, mu, kappa, random_state=0)
    res, seconds = timed(vmf_fit, X)
    err = abs(res.concentration - kappa) / kappa
    return DemoRow(FAMILY, f"von Mises-Fisher fit, p={p}, n={n}", "vmf_fit (log-domain Newton)", seconds,
                   f"concentration rel. error {err:.1e} vs true kappa", res.success and err <= 1e-2)


DEMOS = [log_bessel_demo, vmf_demo]
