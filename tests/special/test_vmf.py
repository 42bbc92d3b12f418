"""von Mises-Fisher: log normalizer and MLE against mpmath, Wood's sampler, the estimator, errors.

References: mpmath ``besseli`` at 40 digits (``maxterms`` raised so that orders
in the tens of thousands converge), closed forms for p = 2 and 3, SciPy where
it is finite. The issue's target (concentration within 1% for p = 32768,
n = 10000) is checked twice: by default through the exact sufficient
statistic of 10000 samples (Wood's radial draws plus an exact recursion for
the norm of the sum of the tangent parts, O(n)), and, marked slow, by drawing
the 10000 x 32768 samples in chunks and accumulating their sum.
"""

import math
import warnings

import numpy as np
import pytest
import scipy.special as sc
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from optlib._backend import device
from optlib.special import VonMisesFisher, vmf_concentration, vmf_fit, vmf_log_normalizer, vmf_logpdf, vmf_sample
from optlib.special._bessel import log_iv_ratio
from optlib.special._vmf import _concentration_bracket, _sample_w
from tests.conftest import to_numpy

mp = pytest.importorskip("mpmath")

SETTINGS = settings(max_examples=30, deadline=None)


# -- references ----------------------------------------------------------------------


def mp_log_normalizer(p, kappa, dps=40):
    with mp.workdps(dps):
        nu = mp.mpf(p) / 2 - 1
        k = mp.mpf(kappa)
        log_i = mp.log(mp.besseli(nu, k, maxterms=10**6))
        return float(nu * mp.log(k) - (mp.mpf(p) / 2) * mp.log(2 * mp.pi) - log_i)


def mp_ratio(p, kappa, dps=40):
    """A_p(kappa) = I_{p/2}(kappa) / I_{p/2-1}(kappa) as an mpf."""
    with mp.workdps(dps):
        nu = mp.mpf(p) / 2 - 1
        k = mp.mpf(kappa)
        return mp.besseli(nu + 1, k, maxterms=10**6) / mp.besseli(nu, k, maxterms=10**6)


def mp_concentration(rbar, p, dps=30):
    """Root of A_p(kappa) = rbar by mpmath.findroot (secant from Banerjee's guess)."""
    with mp.workdps(dps):
        r = mp.mpf(rbar)
        k0 = r * (p - r**2) / (1 - r**2)
        tol = mp.mpf(10) ** (-2 * dps // 3)
        root = mp.findroot(lambda k: mp_ratio(p, k, dps) - r, (k0, k0 * mp.mpf("1.001")), tol=tol)
        return float(root)


def unit(p, index=0, sign=1.0, dtype=np.float64):
    mu = np.zeros(p, dtype=dtype)
    mu[index] = sign
    return mu


def random_unit(p, seed, dtype=np.float64):
    v = np.random.default_rng(seed).normal(size=p)
    return (v / np.linalg.norm(v)).astype(dtype)


def resultant_length_exact(n, p, kappa, rng):
    """Mean resultant length of n vMF(p, kappa) samples, drawn exactly in O(n) memory and time.

    Each sample is x_i = w_i mu + a_i v_i, a_i = sqrt(1 - w_i^2), v_i uniform on the unit sphere of
    mu's orthogonal complement (dimension p - 1). The component of S = sum_i a_i v_i along the
    running sum is distributed as the first coordinate of a uniform unit vector of R^(p-1),
    t = g / sqrt(g^2 + chi2_(p-2)), independently of the past, so
    ||S_i||^2 = ||S_(i-1)||^2 + 2 a_i ||S_(i-1)|| t_i + a_i^2 exactly.
    """
    w, one_minus_w = _sample_w(n, p, kappa, rng)
    a = np.sqrt(one_minus_w * (1 + w))
    g = rng.standard_normal(n)
    t = g / np.sqrt(g * g + rng.chisquare(p - 2, size=n))
    s2 = 0.0
    for ai, ti in zip(a.tolist(), t.tolist()):
        s2 = s2 + 2 * ai * math.sqrt(s2) * ti + ai * ai
        s2 = max(s2, 0.0)
    return math.sqrt(float(np.sum(w)) ** 2 + s2) / n


# -- log normalizer --------------------------------------------------------------------------


@pytest.mark.parametrize("p", [2, 3, 5, 100, 2048, 32768])
def test_log_normalizer_at_zero_is_minus_log_surface_area(p):
    expected = math.lgamma(p / 2) - math.log(2) - (p / 2) * math.log(math.pi)
    assert vmf_log_normalizer(p, 0.0) == pytest.approx(expected, rel=1e-15, abs=1e-15)
    # continuous at 0 (small kappa go through the 0F1 series)
    assert vmf_log_normalizer(p, 1e-300) == pytest.approx(expected, rel=1e-15, abs=1e-15)
    for kappa in (1e-8, 1e-3):
        assert vmf_log_normalizer(p, kappa) == pytest.approx(mp_log_normalizer(p, kappa), rel=1e-14, abs=1e-14)


def test_log_normalizer_closed_forms():
    kappa = np.logspace(-6, 5, 45)
    # p = 3: C_3(kappa) = kappa / (4 pi sinh kappa)
    expected3 = np.log(kappa) - np.log(2 * np.pi) - kappa - np.log(-np.expm1(-2 * kappa))
    got3 = vmf_log_normalizer(3, kappa)
    np.testing.assert_allclose(got3, expected3, rtol=1e-13)
    # p = 2: C_2(kappa) = 1 / (2 pi I_0(kappa)); SciPy's i0e is finite everywhere
    expected2 = -np.log(2 * np.pi) - (np.log(sc.i0e(kappa)) + kappa)
    np.testing.assert_allclose(vmf_log_normalizer(2, kappa), expected2, rtol=1e-13)
    # scalar in, float out; arrays keep float32
    assert isinstance(vmf_log_normalizer(3, 2.0), float)
    got32 = vmf_log_normalizer(3, kappa.astype(np.float32))
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, expected3, rtol=1e-6)


@pytest.mark.parametrize("p", [2, 3, 1000])
def test_log_normalizer_extreme_kappa(p):
    """kappa up to 1e300: Hankel's expansion (exact in float64 there), no overflow and no warning."""
    nu = p / 2 - 1
    kappa = np.array([1e154, 1e200, 1e300])
    # log I_nu(kappa) = kappa - log(2 pi kappa) / 2 + log(1 - (4 nu^2 - 1) / (8 kappa) + ...)
    expected = nu * np.log(kappa) - (p / 2) * np.log(2 * np.pi) - (kappa - 0.5 * np.log(2 * np.pi * kappa))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = vmf_log_normalizer(p, kappa)
        scalars = [vmf_log_normalizer(p, float(k)) for k in kappa]
        tiny = vmf_log_normalizer(p, np.array([1e-300], dtype=np.float32))
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    np.testing.assert_allclose(scalars, expected, rtol=1e-15)
    assert tiny.dtype == np.float32
    assert tiny[0] == pytest.approx(vmf_log_normalizer(p, 0.0), rel=1e-7)


@pytest.mark.parametrize(
    "p, kappa",
    [(3, 0.5), (10, 7.0), (100, 30.0), (2048, 1.0), (2048, 2048.0), (2048, 1e6), (8192, 1e4),
     (32768, 1.0), (32768, 100.0), (32768, 1000.0), (32768, 32768.0), (32768, 1e8)],
)
def test_log_normalizer_against_mpmath(p, kappa):
    ref = mp_log_normalizer(p, kappa)
    got = vmf_log_normalizer(p, kappa)
    assert abs(got - ref) <= 1e-13 * max(1.0, abs(ref))


def test_scipy_fails_where_optlib_does_not_p32768():
    """Documented fact: SciPy's Bessel functions cannot fit a vMF in p = 32768.

    I_16383(kappa) overflows for kappa >= p and underflows for small kappa; the
    exponentially scaled ive underflows to 0 up to kappa = 4 p, so the ratio
    A_p = ive(p/2) / ive(p/2 - 1) is 0/0 = NaN and a SciPy root finder stops
    at once. optlib's log-domain functions stay finite and match mpmath.
    """
    from scipy.optimize import brentq

    p = 32768
    nu = p / 2 - 1
    with np.errstate(all="ignore"):
        assert np.isinf(sc.iv(nu, float(p)))  # overflow
        assert sc.iv(nu, p / 4) == 0.0  # underflow
        assert np.isnan(sc.ive(nu + 1, float(p)) / sc.ive(nu, float(p)))  # 0 / 0
        assert np.isinf(stats.vonmises_fisher(unit(p), float(p)).logpdf(unit(p)))
    rbar = float(mp_ratio(p, p))
    lo, hi = _concentration_bracket(rbar, p)
    with np.errstate(all="ignore"), pytest.raises(ValueError, match="NaN"):
        brentq(lambda k: sc.ive(nu + 1, k) / sc.ive(nu, k) - rbar, lo, hi)
    # optlib: finite normalizer and the concentration back to 1e-10
    assert abs(vmf_log_normalizer(p, float(p)) - mp_log_normalizer(p, p)) <= 1e-13 * abs(mp_log_normalizer(p, p))
    assert vmf_concentration(rbar, p).concentration == pytest.approx(p, rel=1e-10)


# -- concentration MLE ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "p, rbar",
    [(2, 0.05), (2, 0.5), (2, 0.99), (3, 0.01), (3, 0.3), (3, 0.9), (3, 0.999), (10, 0.5), (10, 0.95),
     (100, 0.1), (100, 0.7), (100, 0.99), (1000, 0.2), (1000, 0.9)],
)
def test_concentration_against_mpmath(p, rbar):
    ref = mp_concentration(rbar, p)
    res = vmf_concentration(rbar, p)
    assert res.success and res.status == 0
    assert res.concentration == pytest.approx(ref, rel=1e-10)
    assert res.x == res.concentration
    lo, hi = res.bracket
    assert lo <= ref <= hi
    assert abs(res.fun) < 1e-12


def test_fit_against_mpmath_from_data():
    """vmf_fit on data: mean direction and concentration vs an mpmath solution of the same R."""
    p = 5
    X = vmf_sample(300, random_unit(p, 1), 4.0, random_state=3)
    with mp.workdps(30):
        rows = [[mp.mpf(float(v)) for v in row] for row in X]
        total = [mp.fsum(col) for col in zip(*rows)]
        rbar = mp.sqrt(mp.fsum(t * t for t in total)) / len(rows)
    res = vmf_fit(X)
    assert res.mean_resultant_length == pytest.approx(float(rbar), rel=1e-14)
    assert res.concentration == pytest.approx(mp_concentration(float(rbar), p), rel=1e-10)
    np.testing.assert_allclose(res.mean_direction, X.sum(0) / np.linalg.norm(X.sum(0)), rtol=1e-13)


def test_concentration_limits():
    # R = 0: uniform
    res = vmf_concentration(0.0, 7)
    assert res.concentration == 0.0 and res.success and res.nit == 0
    # tiny R: kappa = p R (1 + p R^2 / (p + 2)) + O(R^5)
    for p in (2, 3, 1000):
        for rbar in (1e-12, 1e-7):
            assert vmf_concentration(rbar, p).concentration == pytest.approx(p * rbar, rel=1e-12)
        # the series branch (R < 1e-6) meets the iteration continuously
        below = vmf_concentration(0.999999e-6, p).concentration / 0.999999e-6
        above = vmf_concentration(1.000001e-6, p).concentration / 1.000001e-6
        assert below == pytest.approx(above, rel=1e-12)
    # R -> 1: kappa ~ (p - 1) / (2 (1 - R)), the bracket pins it to better than tol
    for p in (3, 32768):
        for gap in (1e-9, 1e-13):
            res = vmf_concentration(1 - gap, p)
            assert res.success
            assert res.concentration == pytest.approx((p - 1) / (2 * gap), rel=1e-3)
            lo, hi = res.bracket
            assert lo <= res.concentration <= hi and hi - lo < 2.0
    # R = 1: infinite, documented
    with pytest.warns(RuntimeWarning, match="infinite"):
        res = vmf_concentration(1.0, 3)
    assert math.isinf(res.concentration) and not res.success


def test_concentration_large_kappa_against_mpmath():
    for p, kappa in [(3, 1e6), (2048, 1e7), (32768, 1e8)]:
        rbar = float(mp_ratio(p, kappa))
        # conditioning: d log kappa / d log R ~ 2 kappa / (p - 1), so float64 rounding of R alone
        # limits the relative accuracy to ~ eps * 2 kappa / (p - 1)
        rtol = 1e-10 + 4 * np.finfo(float).eps * 2 * kappa / (p - 1)
        assert vmf_concentration(rbar, p).concentration == pytest.approx(kappa, rel=rtol)


def test_concentration_max_iter_warns():
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        res = vmf_concentration(0.5, 3, tol=0.0, max_iter=1)
    assert not res.success and res.status == 1 and res.nit == 1


@SETTINGS
@given(p=st.integers(2, 40000), log_kappa=st.floats(-4.0, 7.0))
def test_concentration_inverts_ratio(p, log_kappa):
    kappa = 10.0**log_kappa
    nu = p / 2 - 1
    rbar = float(np.exp(np.asarray(log_iv_ratio(np.array([nu]), np.array([kappa]))).reshape(-1)[0]))
    lo, hi = _concentration_bracket(rbar, p)
    assert lo * (1 - 1e-12) <= kappa <= hi * (1 + 1e-12)
    res = vmf_concentration(rbar, p)
    rtol = 1e-10 + 8 * np.finfo(float).eps * (1 + 2 * kappa / (p - 1))
    assert res.concentration == pytest.approx(kappa, rel=rtol)


@SETTINGS
@given(p=st.integers(2, 5000), log_kappa=st.floats(-2.0, 5.0))
def test_log_normalizer_derivative_is_minus_ratio(p, log_kappa):
    """d/dkappa log C_p(kappa) = -A_p(kappa) (the mean of mu^T x), by central differences."""
    kappa = 10.0**log_kappa
    h = 1e-4 * kappa
    slope = (vmf_log_normalizer(p, kappa + h) - vmf_log_normalizer(p, kappa - h)) / (2 * h)
    ratio = float(np.exp(np.asarray(log_iv_ratio(np.array([p / 2 - 1]), np.array([kappa]))).reshape(-1)[0]))
    scale = abs(vmf_log_normalizer(p, kappa)) / kappa  # rounding of the difference quotient
    assert slope == pytest.approx(-ratio, rel=1e-6, abs=1e-9 * scale)


# -- Wood's sampler ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "p, kappa",
    [(2, 1.0), (3, 0.0), (3, 0.5), (3, 1e8), (10, 50.0), (1000, 500.0), (32768, 32768.0), (32768, 1e8)],
)
def test_sampler_mean_of_w(p, kappa):
    """Mean of 1 - w = 1 - mu^T x against 1 - A_p(kappa) (mpmath), within 5 standard errors."""
    n = 20000
    w, one_minus_w = _sample_w(n, p, kappa, np.random.default_rng(12))
    assert w.shape == (n,) and np.all(np.abs(w) <= 1)
    np.testing.assert_allclose(1 - w, one_minus_w, rtol=0, atol=2e-16)
    if kappa == 0:
        a, var = mp.mpf(0), mp.mpf(1) / p
    else:
        with mp.workdps(40):
            a = mp_ratio(p, kappa)
            var = 1 - a * a - (p - 1) * a / kappa  # Var(w) = A'(kappa)
    se = math.sqrt(float(var) / n)
    assert abs(float(np.mean(one_minus_w)) - float(1 - a)) < 5 * se


@pytest.mark.parametrize("kappa", [0.0, 0.5, 5.0, 50.0])
def test_sampler_p3_ks(kappa):
    """p = 3: w has density kappa e^(kappa w) / (2 sinh kappa) on [-1, 1] (uniform at kappa = 0)."""
    X = vmf_sample(4000, random_unit(3, 5), kappa, random_state=7)
    w = X @ random_unit(3, 5)
    if kappa == 0:
        cdf = lambda t: (t + 1) / 2  # noqa: E731
    else:
        cdf = lambda t: np.expm1(kappa * (t + 1)) / np.expm1(2 * kappa)  # noqa: E731
    assert stats.kstest(w, cdf).pvalue > 1e-3


@pytest.mark.parametrize("mu_kind", ["e1", "minus_e1", "random", "last_axis"])
def test_sample_rows_are_unit_and_centred_on_mu(mu_kind):
    p, kappa, n = 50, 200.0, 4000
    mu = {"e1": unit(p), "minus_e1": unit(p, sign=-1.0), "random": random_unit(p, 2), "last_axis": unit(p, p - 1)}[
        mu_kind
    ]
    X = vmf_sample(n, mu, kappa, random_state=0)
    assert X.shape == (n, p) and X.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=0, atol=1e-14)
    # E[x] = A_p(kappa) mu: the tangent parts average out
    a = float(mp_ratio(p, kappa))
    mean = X.mean(axis=0)
    assert np.linalg.norm(mean - a * mu) < 5 * math.sqrt(1.0 / n)
    assert mean @ mu == pytest.approx(a, abs=5 * math.sqrt(float(1 - a * a) / n))


def test_sample_reproducible_and_dtypes():
    mu = random_unit(20, 0)
    a = vmf_sample(100, mu, 10.0, random_state=3)
    np.testing.assert_array_equal(a, vmf_sample(100, mu, 10.0, random_state=3))
    np.testing.assert_array_equal(a, vmf_sample(100, mu, 10.0, random_state=np.random.default_rng(3)))
    assert not np.array_equal(a, vmf_sample(100, mu, 10.0, random_state=4))
    rng = np.random.default_rng(0)
    assert not np.array_equal(vmf_sample(5, mu, 1.0, random_state=rng), vmf_sample(5, mu, 1.0, random_state=rng))
    assert vmf_sample(0, mu, 1.0).shape == (0, 20)
    x32 = vmf_sample(4000, mu.astype(np.float32), 10.0, random_state=3)
    assert x32.dtype == np.float32
    np.testing.assert_array_equal(x32, vmf_sample(4000, mu.astype(np.float32), 10.0, random_state=3))
    np.testing.assert_allclose(np.linalg.norm(x32.astype(float), axis=1), 1.0, atol=1e-6)
    a64 = float(mp_ratio(20, 10.0))  # E[mu^T x] = A_p(kappa)
    assert float(np.mean(x32 @ mu.astype(np.float32))) == pytest.approx(a64, abs=5 * math.sqrt(1 / 4000))
    # extreme concentration: rows still unit, spread ~ sqrt((p-1)/kappa)
    X = vmf_sample(200, mu, 1e8, random_state=1)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-14)
    assert 1e-5 < np.median(np.linalg.norm(X - mu, axis=1)) < 1e-3


# -- fitting sampled data ------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [2, 3, 1000])
@pytest.mark.parametrize("kappa", [1.34e154, 1e200, 1e300, 1.7e308])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sample_extreme_kappa(p, kappa, dtype):
    """Wood's b without overflow: 4 kappa^2 used to overflow from kappa ~ 1.34e154 and every
    candidate was rejected, so vmf_sample never returned. Samples are now mu up to rounding."""
    mu = random_unit(p, 3).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X = vmf_sample(50, mu, kappa, random_state=0)
    assert X.shape == (50, p) and X.dtype == dtype
    tol = 10 * np.finfo(dtype).eps
    np.testing.assert_allclose(np.linalg.norm(X.astype(float), axis=1), 1.0, rtol=0, atol=tol)
    np.testing.assert_allclose(X.astype(float) @ mu.astype(float), 1.0, rtol=0, atol=tol)
    # the radial draw itself: E[1 - w] = 1 - A_p(kappa) ~ (p - 1) / (2 kappa)
    w, one_minus_w = _sample_w(2000, p, kappa, np.random.default_rng(1))
    assert np.all(w == 1.0)
    assert np.mean(one_minus_w) == pytest.approx((p - 1) / (2 * kappa), rel=0.15)


@pytest.mark.parametrize("kappa", [1e-300, 1e-8])
def test_sample_tiny_kappa_is_uniform(kappa):
    """kappa -> 0: the uniform distribution (p = 3: w uniform on [-1, 1])."""
    w, _ = _sample_w(4000, 3, kappa, np.random.default_rng(2))
    assert stats.kstest(w, lambda t: (t + 1) / 2).pvalue > 1e-3


def test_sample_rejection_loop_is_bounded():
    """A sampler that can accept nothing (here: Beta draws of 0/0) stops with a clear error."""

    class NoAcceptance:
        def standard_gamma(self, shape, size):
            return np.zeros(size)

        def random(self, size):
            return np.full(size, 0.5)

    with pytest.raises(RuntimeError, match=r"accepted only 0 of 5 candidates in 100 batches \(p=3"):
        _sample_w(5, 3, 10.0, NoAcceptance())


@pytest.mark.parametrize("p, kappa", [(3, 2.0), (10, 10.0), (100, 50.0), (1000, 5000.0)])
def test_sample_mean_resultant_length_matches_theory(p, kappa):
    """||mean of n samples|| against A_p(kappa) (mpmath), within 5 standard errors.

    E R^2 = A^2 + (1 - A^2) / n; the fluctuation is that of mu^T x, variance A'(kappa) / n.
    """
    n = 4000
    X = vmf_sample(n, random_unit(p, 4), kappa, random_state=5)
    a = float(mp_ratio(p, kappa))
    expected = math.sqrt(a * a + (1 - a * a) / n)
    se = math.sqrt((1 - a * a - (p - 1) * a / kappa) / n)
    assert np.linalg.norm(X.mean(axis=0)) == pytest.approx(expected, abs=5 * se)


@pytest.mark.parametrize("kappa_over_p", [0.5, 1.0, 4.0])
def test_fit_recovers_concentration_p4096(kappa_over_p):
    p, n = 4096, 2000
    kappa = kappa_over_p * p
    mu = random_unit(p, 11)
    X = vmf_sample(n, mu, kappa, random_state=5)
    res = vmf_fit(X)
    assert res.success
    assert res.concentration == pytest.approx(kappa, rel=0.01)
    assert float(to_numpy(res.mean_direction) @ mu) > 0.99


@pytest.mark.parametrize("kappa_over_p", [0.25, 1.0, 4.0, 30.0])
def test_recovers_concentration_p32768_n10000_exact_statistic(kappa_over_p):
    """The issue's target through the exact sufficient statistic of 10000 samples in p = 32768."""
    p, n = 32768, 10000
    kappa = kappa_over_p * p
    rbar = resultant_length_exact(n, p, kappa, np.random.default_rng(2024))
    res = vmf_concentration(rbar, p)
    assert res.success
    assert res.concentration == pytest.approx(kappa, rel=0.01)


@pytest.mark.slow
@pytest.mark.parametrize("kappa_over_p", [0.25, 1.0, 4.0])
def test_recovers_concentration_p32768_n10000_sampled(kappa_over_p):
    """The issue's target on 10000 x 32768 samples drawn in chunks (the sum is accumulated)."""
    p, n, chunk = 32768, 10000, 500
    kappa = kappa_over_p * p
    mu = random_unit(p, 3)
    rng = np.random.default_rng(99)
    total = np.zeros(p)
    for _ in range(n // chunk):
        total += vmf_sample(chunk, mu, kappa, random_state=rng).sum(axis=0)
    res = vmf_concentration(np.linalg.norm(total) / n, p)
    assert res.concentration == pytest.approx(kappa, rel=0.01)
    assert total @ mu / np.linalg.norm(total) > 0.999


def test_fit_weights_equal_repetition_and_scale_free():
    X = vmf_sample(40, random_unit(6, 0), 3.0, random_state=0)
    weights = np.random.default_rng(1).integers(0, 4, size=40)
    weights[0] = 2
    rep = vmf_fit(np.repeat(X, weights, axis=0))
    wtd = vmf_fit(X, weights=weights)
    assert wtd.concentration == pytest.approx(rep.concentration, rel=1e-12)
    np.testing.assert_allclose(wtd.mean_direction, rep.mean_direction, rtol=1e-12, atol=1e-15)
    scaled = vmf_fit(X, weights=weights * 0.37)
    assert scaled.concentration == pytest.approx(wtd.concentration, rel=1e-12)


def test_fit_special_cases():
    # antipodal pairs: R = 0, uniform, mean direction e_1 by convention
    X = np.array([[0.0, 1.0, 0.0], [0.0, -1.0, 0.0]])
    res = vmf_fit(X)
    assert res.concentration == 0.0 and res.success
    np.testing.assert_array_equal(res.mean_direction, [1.0, 0.0, 0.0])
    # identical rows: R = 1, infinite concentration with a warning
    with pytest.warns(RuntimeWarning, match="infinite"):
        res = vmf_fit(np.tile(random_unit(4, 0), (3, 1)))
    assert math.isinf(res.concentration) and not res.success
    # normalize=True accepts any non-zero rows, and agrees with pre-normalised rows
    Y = np.random.default_rng(0).normal(size=(30, 4)) + 2.0
    a = vmf_fit(Y, normalize=True)
    b = vmf_fit(Y / np.linalg.norm(Y, axis=1, keepdims=True))
    assert a.concentration == pytest.approx(b.concentration, rel=1e-12)
    # float32 data: statistics in float64, result dtype kept
    X = vmf_sample(500, random_unit(8, 0), 20.0, random_state=0)
    r32 = vmf_fit(X.astype(np.float32))
    assert r32.mean_direction.dtype == np.float32
    assert r32.concentration == pytest.approx(vmf_fit(X).concentration, rel=1e-5)


def test_logpdf_against_scipy_and_integrates():
    p, kappa = 4, 3.5
    mu = random_unit(p, 0)
    X = vmf_sample(50, mu, 1.0, random_state=0)
    np.testing.assert_allclose(vmf_logpdf(X, mu, kappa), stats.vonmises_fisher(mu, kappa).logpdf(X), rtol=1e-12)
    assert vmf_logpdf(X[0], mu, kappa).shape == ()
    # p = 3: the density integrates to one (the integral over the sphere reduces to one over w)
    mu3 = unit(3)
    w = np.linspace(-1, 1, 20001)
    pts = np.stack([w, np.sqrt(1 - w**2), np.zeros_like(w)], axis=1)
    dens = np.exp(vmf_logpdf(pts, mu3, 7.0))
    assert 2 * np.pi * np.trapezoid(dens, w) == pytest.approx(1.0, rel=1e-6)
    # kappa = 0: uniform
    np.testing.assert_allclose(vmf_logpdf(X, mu, 0.0), vmf_log_normalizer(p, 0.0))
    # float32 in, float32 out
    assert vmf_logpdf(X.astype(np.float32), mu, kappa).dtype == np.float32


def test_logpdf_high_dimension_finite():
    p = 32768
    mu = random_unit(p, 0)
    X = vmf_sample(20, mu, float(p), random_state=0)
    got = vmf_logpdf(X, mu, float(p))
    assert np.all(np.isfinite(got))
    expected = mp_log_normalizer(p, p) + p * (X @ mu)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


# -- bad input -------------------------------------------------------------------------------------------


def test_bad_input_errors():
    mu = unit(3)
    X = vmf_sample(5, mu, 1.0, random_state=0)
    bad = X.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        vmf_fit(bad)
    with pytest.raises(ValueError, match="X contains NaN"):
        vmf_logpdf(bad, mu, 1.0)
    with pytest.raises(ValueError, match="X must be 2-dimensional"):
        vmf_fit(X[0])
    with pytest.raises(ValueError, match="X must be 1 or 2-dimensional"):
        vmf_logpdf(X[None], mu, 1.0)
    with pytest.raises(ValueError, match=r"Rows of X must be unit vectors.*row 2 has norm 2"):
        vmf_fit(np.vstack([X[:2], 2 * X[2:3]]))
    with pytest.raises(ValueError, match="row 1 has norm"):
        vmf_logpdf(X * [[1.0], [1.1], [1.0], [1.0], [1.0]], mu, 1.0)
    with pytest.raises(ValueError, match=r"X has a row of zeros \(row 0\)"):
        vmf_fit(np.vstack([np.zeros(3), X]), normalize=True)
    with pytest.raises(ValueError, match="kappa must be >= 0"):
        vmf_logpdf(X, mu, -1.0)
    with pytest.raises(ValueError, match="kappa must be >= 0"):
        vmf_sample(3, mu, -0.5)
    with pytest.raises(ValueError, match="kappa must be finite"):
        vmf_sample(3, mu, np.nan)
    with pytest.raises(ValueError, match="kappa must be >= 0"):
        vmf_log_normalizer(3, np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="p must be >= 2"):
        vmf_log_normalizer(1, 1.0)
    with pytest.raises(TypeError, match="p must be an integer"):
        vmf_log_normalizer(2.5, 1.0)
    with pytest.raises(ValueError, match=r"number of columns of X \(p\) must be >= 2"):
        vmf_fit(np.ones((4, 1)))
    with pytest.raises(ValueError, match=r"length of mu \(p\) must be >= 2"):
        vmf_sample(3, np.ones(1), 1.0)
    with pytest.raises(ValueError, match="mu must be a unit vector"):
        vmf_sample(3, np.array([1.0, 1.0, 0.0]), 1.0)
    with pytest.raises(ValueError, match=r"mu has shape \(4,\), expected \(3,\)"):
        vmf_logpdf(X, unit(4), 1.0)
    with pytest.raises(ValueError, match="n must be >= 0"):
        vmf_sample(-1, mu, 1.0)
    with pytest.raises(ValueError, match="weights must be non-negative"):
        vmf_fit(X, weights=[1.0, -1.0, 1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"weights has shape \(2,\), expected \(5,\)"):
        vmf_fit(X, weights=[1.0, 1.0])
    with pytest.raises(ValueError, match="positive sum"):
        vmf_fit(X, weights=np.zeros(5))
    with pytest.raises(ValueError, match="mean_resultant_length must be <= 1"):
        vmf_concentration(1.5, 3)
    with pytest.raises(ValueError, match="mean_resultant_length must be >= 0"):
        vmf_concentration(-0.1, 3)
    with pytest.raises(TypeError, match="X must be real"):
        vmf_fit(X.astype(complex))


def test_inputs_not_modified():
    mu = random_unit(6, 0)
    X = vmf_sample(30, mu, 5.0, random_state=0) * 3.0  # not unit: normalize=True paths
    weights = np.arange(30, dtype=float)
    copies = X.copy(), mu.copy(), weights.copy()
    vmf_fit(X, weights=weights, normalize=True)
    vmf_logpdf(X, mu, 2.0, normalize=True)
    vmf_sample(5, mu, 2.0, random_state=0)
    est = VonMisesFisher().fit(X, sample_weight=weights)
    est.score_samples(X)
    est.sample(3, random_state=0)
    for before, after in zip(copies, (X, mu, weights)):
        np.testing.assert_array_equal(before, after)


# -- namespaces ------------------------------------------------------------------------------------


def test_array_namespaces(xp):
    """Every function follows its input's namespace and device (array_api_strict: a non-default one)."""
    p = 16
    mu_np = random_unit(p, 0)
    X_np = vmf_sample(200, mu_np, 12.0, random_state=0)
    w_np = np.random.default_rng(1).uniform(0.5, 2.0, size=200)
    X = xp.asarray(X_np)
    mu = xp.asarray(mu_np)
    dev = device(X)
    res = vmf_fit(X, weights=xp.asarray(w_np))
    ref = vmf_fit(X_np, weights=w_np)
    assert res.concentration == pytest.approx(ref.concentration, rel=1e-12)
    assert type(res.mean_direction) is type(X) and device(res.mean_direction) == dev
    np.testing.assert_allclose(to_numpy(res.mean_direction), ref.mean_direction, rtol=1e-12, atol=1e-15)
    got = vmf_logpdf(X, mu, 3.0)
    assert type(got) is type(X) and device(got) == dev
    np.testing.assert_allclose(to_numpy(got), vmf_logpdf(X_np, mu_np, 3.0), rtol=1e-12)
    samples = vmf_sample(7, mu, 12.0, random_state=1)
    assert type(samples) is type(X) and device(samples) == dev
    np.testing.assert_array_equal(to_numpy(samples), vmf_sample(7, mu_np, 12.0, random_state=1))
    huge = vmf_sample(3, mu, 1e300, random_state=1)
    np.testing.assert_allclose(to_numpy(huge) @ mu_np, 1.0, rtol=0, atol=1e-15)
    # the estimator: fitted attributes and outputs follow X, float32 kept
    X32 = xp.astype(X, xp.float32)
    est = VonMisesFisher(normalize=False).fit(X32, sample_weight=xp.asarray(w_np))
    assert est.mean_direction_.dtype == xp.float32 and device(est.mean_direction_) == dev
    scores = est.score_samples(X32)
    assert type(scores) is type(X) and scores.dtype == xp.float32 and device(scores) == dev
    ref_est = VonMisesFisher(normalize=False).fit(X_np, sample_weight=w_np)
    np.testing.assert_allclose(to_numpy(scores), ref_est.score_samples(X_np), rtol=1e-5)
    assert est.score(X32) == pytest.approx(ref_est.score(X_np), rel=1e-5)
    draws = est.sample(4, random_state=0)
    assert type(draws) is type(X) and draws.dtype == xp.float32 and draws.shape == (4, p)
    assert device(draws) == dev


def test_estimator_scores_data_on_another_device():
    """Fitted on one device, scored on another: mean_direction_ is copied there explicitly."""
    strict = pytest.importorskip("array_api_strict")
    X_np = vmf_sample(50, random_unit(5, 1), 10.0, random_state=0)
    est = VonMisesFisher().fit(strict.asarray(X_np, device=strict.Device("device1")))
    X_cpu = strict.asarray(X_np)
    scores = est.score_samples(X_cpu)
    assert device(scores) == device(X_cpu) != device(est.mean_direction_)
    np.testing.assert_allclose(to_numpy(scores), VonMisesFisher().fit(X_np).score_samples(X_np), rtol=1e-12)


def test_array_namespaces_errors(xp):
    """Errors that read values back (zero rows, non-unit rows, weights) are ValueErrors on any device."""
    X = np.eye(3)
    with pytest.raises(ValueError, match=r"row of zeros \(row 1\)"):
        vmf_fit(xp.asarray(np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])), normalize=True)
    with pytest.raises(ValueError, match="row 2 has norm 2"):
        vmf_logpdf(xp.asarray(X * np.array([[1.0], [1.0], [2.0]])), xp.asarray(X[0]), 1.0)
    with pytest.raises(ValueError, match="mu must be a unit vector"):
        vmf_sample(2, xp.asarray(2 * X[0]), 1.0)
    with pytest.raises(ValueError, match="weights must have a positive sum"):
        vmf_fit(xp.asarray(X), weights=xp.asarray(np.zeros(3)))


def test_log_normalizer_namespaces(xp):
    kappa = np.array([0.0, 1e-3, 1.0, 100.0, 1e5, 1e300])
    for p in (3, 32768):
        k = xp.asarray(kappa)
        got = vmf_log_normalizer(p, k)
        assert type(got) is type(k) and device(got) == device(k)
        np.testing.assert_allclose(to_numpy(got), vmf_log_normalizer(p, kappa), rtol=1e-14)
    got32 = vmf_log_normalizer(3, xp.asarray(kappa[:-1], dtype=xp.float32))
    assert got32.dtype == xp.float32 and device(got32) == device(xp.asarray(kappa))


# -- estimator ----------------------------------------------------------------------------------------


def _expected_failed_checks(estimator):
    return {
        # Its integer training data (3 * uniform, cast to int) contain a row of zeros, which has no
        # direction: fit raises ValueError("X has a row of zeros ..."). Dtype handling is checked in
        # test_estimator_dtypes below on the same kinds of data without zero rows.
        "check_estimators_dtypes": "an all-zero row of the check's integer data has no direction",
    }


@parametrize_with_checks([VonMisesFisher()], expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_estimator_dtypes():
    """What check_estimators_dtypes checks, on data without zero rows."""
    rng = np.random.RandomState(0)
    X = (3 * rng.uniform(size=(20, 5)) + 0.5).astype(np.float32)
    for data in (X, X.astype(np.float64), X.astype(np.int64), X.astype(np.int32)):
        est = VonMisesFisher().fit(data)
        out_dtype = np.float32 if data.dtype == np.float32 else np.float64
        assert est.mean_direction_.dtype == out_dtype
        assert est.score_samples(data).dtype == out_dtype
        assert isinstance(est.score(data), float)
        assert est.sample(3, random_state=0).dtype == out_dtype


def test_estimator_fit_score_sample():
    mu = random_unit(30, 4)
    X = vmf_sample(3000, mu, 60.0, random_state=0)
    est = VonMisesFisher(normalize=False).fit(X)
    res = vmf_fit(X)
    assert est.concentration_ == res.concentration and est.n_iter_ == res.nit
    assert est.n_features_in_ == 30 and 0 < est.mean_resultant_length_ < 1
    np.testing.assert_allclose(est.mean_direction_, res.mean_direction)
    assert est.concentration_ == pytest.approx(60.0, rel=0.05)
    np.testing.assert_allclose(est.score_samples(X), vmf_logpdf(X, est.mean_direction_, est.concentration_), rtol=1e-13)
    assert est.score(X) == pytest.approx(np.mean(est.score_samples(X)))
    # the MLE maximises the likelihood
    for factor in (0.98, 1.02):
        assert np.mean(vmf_logpdf(X, est.mean_direction_, factor * est.concentration_)) < est.score(X)
    S = est.sample(10, random_state=1)
    np.testing.assert_array_equal(S, est.sample(10, random_state=1))
    np.testing.assert_allclose(np.linalg.norm(S, axis=1), 1.0)
    # normalize=True (default) accepts scaled rows and gives the same model
    scaled = VonMisesFisher().fit(X * 5.0)
    assert scaled.concentration_ == pytest.approx(est.concentration_, rel=1e-12)
    np.testing.assert_allclose(scaled.score_samples(X * 5.0), est.score_samples(X), rtol=1e-12)


def test_estimator_errors():
    X = vmf_sample(10, unit(3), 2.0, random_state=0)
    with pytest.raises(ValueError, match=r"Rows of X must be unit vectors"):
        VonMisesFisher(normalize=False).fit(X * 2)
    est = VonMisesFisher(normalize=False).fit(X)
    with pytest.raises(ValueError, match=r"Rows of X must be unit vectors"):
        est.score_samples(X * 2)
    with pytest.raises(ValueError, match=r"row of zeros"):
        VonMisesFisher().fit(np.vstack([X, np.zeros(3)]))
    with pytest.raises(ValueError, match="same direction"):
        VonMisesFisher().fit(np.tile([1.0, 2.0, 3.0], (4, 1)))
    with pytest.raises(ValueError, match="1 sample"):
        VonMisesFisher().fit(X[:1])
    with pytest.raises(ValueError, match=r"1 feature\(s\)"):
        VonMisesFisher().fit(X[:, :1])
    with pytest.raises(ValueError, match="X has 2 features, but VonMisesFisher is expecting 3"):
        est.score_samples(X[:, :2])
    with pytest.raises(ValueError, match="tol must be >= 0"):
        VonMisesFisher(tol=-1.0).fit(X)
    with pytest.raises(TypeError, match="normalize must be a bool"):
        VonMisesFisher(normalize="yes").fit(X)


def test_estimator_in_sklearn_tools():
    X = np.abs(vmf_sample(300, random_unit(5, 1), 20.0, random_state=0)) * 3.0
    pipe = make_pipeline(FunctionTransformer(), VonMisesFisher())
    search = GridSearchCV(pipe, {"vonmisesfisher__tol": [1e-6, 1e-12]})
    search.fit(X)
    assert np.isfinite(search.best_score_)
    assert clone(search.best_estimator_).fit(X).score(X) == pytest.approx(search.best_estimator_.score(X))


def test_no_warnings_on_regular_fit():
    X = vmf_sample(100, random_unit(5, 0), 4.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vmf_fit(X)
        VonMisesFisher().fit(X).score_samples(X)
