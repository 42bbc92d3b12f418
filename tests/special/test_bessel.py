"""log I_v(x), log K_v(x), log(I_{v+1}/I_v): accuracy against mpmath, identities, engines, inputs.

Error measure (issue 5): ``|computed - reference| / max(1, |reference|)``.

References are computed here with mpmath at 34 significant digits:

* ``log I``: ``mpmath.besseli`` where its power series is short
  (``x^2 <= 1600 (v + 1)``); elsewhere (``x >> sqrt(v)``, where the series would
  need up to ``x^2 / (4v)`` terms and mpmath takes minutes at ``v = x = 1e6``)
  the steepest-descent form of Schlaefli's integral,
  ``I_v(x) = e^{v eta} / pi int_0^pi exp(phi(t)) dt`` with
  ``phi(t) = cos t sqrt(x^2 + (v t / sin t)^2) - v asinh(v t / (x sin t)) - v eta``,
  a positive, non-oscillating integrand, by the trapezoidal rule.
* ``log K``: ``K_v(x) = 1/2 int exp(-x cosh t + v t) dt`` shifted to its
  maximum, by the trapezoidal rule with a fine step.

Both integral references are checked against ``mpmath.besseli``/``besselk``
and ``mpmath.quad`` in ``test_references_agree``. They share no code and no
coefficient with the implementation (no Debye polynomials, no series
truncation, no region thresholds).
"""

import ctypes
import math
import shutil
import subprocess
import sys
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from optlib._backend import device
from optlib.special import log_iv, log_iv_ratio, log_kv
from optlib.special import _bessel_tables as tables
from optlib.special._mpmath_reference import (
    exponent_veta,
    reference_log_iv,
    reference_log_kv,
    trapezoid_log_iv,
    trapezoid_log_kv,
)
from tests.conftest import assert_engines_agree, to_numpy

mp = pytest.importorskip("mpmath")

DPS = 34
TOL = 1e-13  # the target; the grids below actually stay under 1e-14


# -- mpmath references (optlib/special/_mpmath_reference.py) ---------------------------

ref_log_iv = partial(reference_log_iv, dps=DPS)
ref_log_kv = partial(reference_log_kv, dps=DPS)


def rel_err(computed, reference):
    """The issue's measure, with the references as mpf (no rounding before the difference)."""
    out = np.empty(len(reference))
    for i, (c, r) in enumerate(zip(np.asarray(computed, dtype=np.float64), reference)):
        out[i] = float(abs(mp.mpf(float(c)) - r) / max(1, abs(r))) if math.isfinite(c) else np.inf
    return out


def log_uniform_grid(n, seed):
    """x log-uniform in [1e-8, 1e8]; v log-uniform in [1e-4, 1e6] with 5% exact zeros and 5% small integers."""
    rng = np.random.default_rng(seed)
    x = 10.0 ** rng.uniform(-8, 8, n)
    v = 10.0 ** rng.uniform(-4, 6, n)
    kind = rng.random(n)
    v[kind < 0.05] = 0.0
    small = (kind >= 0.05) & (kind < 0.10)
    v[small] = rng.integers(1, 30, small.sum())
    return v, x


@pytest.fixture(scope="module")
def grid():
    v, x = log_uniform_grid(600, seed=5)
    return v, x, [ref_log_iv(a, b) for a, b in zip(v, x)], [ref_log_kv(a, b) for a, b in zip(v, x)]


# -- accuracy against mpmath --------------------------------------------------------------


@pytest.mark.parametrize("engine", ["numba", "xp"])
def test_log_iv_log_kv_grid(grid, engine, request):
    if engine == "numba":
        request.getfixturevalue("numba_enabled")
    v, x, ref_i, ref_k = grid
    for fn, ref in ((log_iv, ref_i), (log_kv, ref_k)):
        out = fn(v, x, engine=engine)
        assert np.all(np.isfinite(out)), fn.__name__
        err = rel_err(out, ref)
        assert err.max() <= TOL, (fn.__name__, err.max(), v[err.argmax()], x[err.argmax()])


@pytest.mark.slow
def test_log_iv_log_kv_full_grid():
    """The issue's grid: 1e4 log-uniform points, zero non-finite values, error <= 1e-13 (aim 1e-14)."""
    v, x = log_uniform_grid(10_000, seed=2024)
    for fn, ref_fn in ((log_iv, ref_log_iv), (log_kv, ref_log_kv)):
        out = fn(v, x)
        assert np.all(np.isfinite(out))
        err = rel_err(out, [ref_fn(a, b) for a, b in zip(v, x)])
        assert err.max() <= TOL, (fn.__name__, err.max(), v[err.argmax()], x[err.argmax()])
        assert np.quantile(err, 0.99) <= 1e-15


@pytest.fixture
def numba_enabled():
    from optlib._backend import numba_available

    if not numba_available():
        pytest.skip("numba unavailable or disabled")


def test_laplace_line_and_region_boundaries():
    """Where log I and log K cross zero at large order (x ~ 0.66 v) and across every region switch."""
    rng = np.random.default_rng(7)
    v_big = 10.0 ** rng.uniform(1, 6, 40)
    x_big = v_big * (tables.ETA_P0_HI + rng.uniform(-0.12, 0.12, 40))
    # points on both sides of r = DEBYE_R and of the quadrature levels' radii
    radii = np.repeat(np.concatenate([[tables.DEBYE_R], tables.QUAD_R[:-1]]), 8) * (1 + np.tile([-1e-9, 1e-9], 20))
    ang = rng.uniform(0, np.arccos(2.5 / radii))  # keep x > TEMME_X
    v_b = radii * np.sin(ang)
    x_b = radii * np.cos(ang)
    v_t = rng.uniform(0, 25, 10)
    x_t = tables.TEMME_X * (1 + np.array([-1e-12, 1e-12] * 5))
    v = np.concatenate([v_big, v_b, v_t])
    x = np.concatenate([x_big, x_b, x_t])
    for fn, ref_fn in ((log_iv, ref_log_iv), (log_kv, ref_log_kv)):
        err = rel_err(fn(v, x), [ref_fn(a, b) for a, b in zip(v, x)])
        assert err.max() <= 1e-14, (fn.__name__, err.max(), v[err.argmax()], x[err.argmax()])
        err_xp = rel_err(fn(v, x, engine="xp"), [ref_fn(a, b) for a, b in zip(v, x)])
        assert err_xp.max() <= 1e-14


def test_log_iv_ratio_mpmath():
    v, x = log_uniform_grid(150, seed=11)
    with mp.workdps(DPS):
        ref = [ref_log_iv(a + 1, b) - ref_log_iv(a, b) for a, b in zip(v, x)]
    for engine in ("auto", "xp"):
        out = log_iv_ratio(v, x, engine=engine)
        err = rel_err(out, ref)
        assert err.max() <= TOL, (err.max(), v[err.argmax()], x[err.argmax()])
        # relative accuracy even where the ratio tends to 1 (log ratio ~ -(2v+1)/(2x))
        far = x > 1e3 * (v + 1)
        rel = np.array([abs(float((mp.mpf(float(o)) - r) / r)) for o, r, f in zip(out, ref, far) if f])
        assert rel.max() <= 1e-12


def test_references_agree():
    """The integral references used above against mpmath.besseli / besselk / quad."""
    for v, x in [(0.3, 50.0), (12.5, 300.0), (2.0, 1e-6), (40.0, 30.0)]:
        with mp.workdps(DPS):
            assert abs(trapezoid_log_kv(v, x) - mp.log(mp.besselk(v, x))) < mp.mpf(10) ** -26
    for v, x in [(0.0, 80.0), (3.5, 400.0), (30.0, 2000.0)]:
        with mp.workdps(DPS):
            assert abs(trapezoid_log_iv(v, x) - mp.log(mp.besseli(v, x))) < mp.mpf(10) ** -26
    with mp.workdps(DPS):  # far from mpmath's comfort zone: adaptive quadrature of the same integral
        v, x = mp.mpf(1e5), mp.mpf(3e5)
        ve, r = exponent_veta(v, x)
        quad = -ve + mp.log(mp.quad(lambda u: mp.exp(-r * (mp.cosh(u) - 1) - v * (mp.sinh(u) - u)), [-1, -0.01, 0, 0.01, 1]) / 2)
        assert abs(trapezoid_log_kv(v, x) - quad) < mp.mpf(10) ** -25 * abs(quad)


def test_closed_forms():
    x = np.array([1e-300, 1e-8, 0.3, 2.0, 30.0, 700.0, 1e5])
    sinh_log = x - np.log(2) + np.log(-np.expm1(-2 * x))  # log sinh x
    expected_i = 0.5 * np.log(2 / (np.pi * x)) + sinh_log
    expected_k = 0.5 * np.log(np.pi / (2 * x)) - x
    for engine in ("auto", "xp"):
        np.testing.assert_allclose(log_iv(0.5, x, engine=engine), expected_i, rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(log_kv(0.5, x, engine=engine), expected_k, rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(log_kv(-0.5, x, engine=engine), expected_k, rtol=1e-14, atol=1e-14)
        # I_{-1/2}(x) = sqrt(2 / (pi x)) cosh x and I_{1/2} / I_{-1/2} = tanh x
        t = x[2:5]
        np.testing.assert_allclose(log_iv(-0.5, t, engine=engine), 0.5 * np.log(2 / (np.pi * t)) + np.log(np.cosh(t)), rtol=1e-14)
        np.testing.assert_allclose(log_iv_ratio(-0.5, t, engine=engine), np.log(np.tanh(t)), rtol=1e-13, atol=1e-15)


# -- identities (hypothesis) -----------------------------------------------------------------

log_order = st.floats(min_value=0.0, max_value=5.0).map(lambda u: 10.0**u)
log_arg = st.floats(min_value=-5.0, max_value=6.0).map(lambda u: 10.0**u)
ID_SETTINGS = settings(max_examples=150, deadline=None)


@ID_SETTINGS
@given(v=log_order, x=log_arg)
def test_recurrence_log_space(v, x):
    """I_{v-1} - I_{v+1} = (2v/x) I_v, i.e. a + log(1 - e^{b-a}) = log(2v/x) + log I_v.

    Conditioning filter: the left side subtracts I_{v+1} from I_{v-1}; its
    relative error is the inputs' amplified by kappa = 1 / (1 - I_{v+1}/I_{v-1}),
    which blows up for x >> v^2 (both tend to e^x / sqrt(2 pi x)). Only points
    with kappa <= 10 are checked; there both sides must agree to 1e-13 relative
    to max(1, |log I_v|), the scale of the logarithms being compared.
    """
    a, b, c = (float(log_iv(o, x)) for o in (v - 1.0, v + 1.0, v))
    kappa = 1.0 / -math.expm1(b - a)
    assume(kappa <= 10.0)
    lhs = a + math.log(-math.expm1(b - a))
    rhs = math.log(2.0 * v / x) + c
    assert abs(lhs - rhs) <= TOL * max(1.0, abs(c))


@ID_SETTINGS
@given(v=st.one_of(st.just(0.0), log_order, st.floats(min_value=0.0, max_value=3.0)), x=log_arg)
def test_wronskian_log_space(v, x):
    """I_v K_{v+1} + I_{v+1} K_v = 1/x as logaddexp(log I_v + log K_{v+1}, log I_{v+1} + log K_v) = -log x.

    Both products are positive, so nothing cancels between them; but each is a
    sum of two logarithms of size up to ~max(v, x) that cancel to O(log x).
    Each logarithm carries an error of a few ulps of itself, so the identity
    can only hold to 1e-13 * s with s = max(1, |log I|, |log K|): that is the
    check everywhere, and where the identity is well conditioned
    (s <= 20 max(1, |log x|)) it must hold to 1e-13 * max(1, |log x|).
    """
    li0, li1 = float(log_iv(v, x)), float(log_iv(v + 1.0, x))
    lk0, lk1 = float(log_kv(v, x)), float(log_kv(v + 1.0, x))
    lhs = np.logaddexp(li0 + lk1, li1 + lk0)
    scale = max(1.0, abs(li0), abs(li1), abs(lk0), abs(lk1))
    assert abs(lhs + math.log(x)) <= TOL * scale
    if scale <= 20 * max(1.0, abs(math.log(x))):
        assert abs(lhs + math.log(x)) <= TOL * max(1.0, abs(math.log(x)))


@ID_SETTINGS
@given(v=st.one_of(st.just(0.0), log_order), x=st.floats(min_value=-5.0, max_value=2.0).map(lambda u: 10.0**u))
def test_ratio_matches_difference(v, x):
    """Where log I is moderate the difference of two log_iv values is accurate: both must agree."""
    diff = float(log_iv(v + 1.0, x)) - float(log_iv(v, x))
    scale = max(1.0, abs(float(log_iv(v, x))))
    assert abs(float(log_iv_ratio(v, x)) - diff) <= TOL * scale
    assert float(log_iv_ratio(v, x)) < 0.0


# -- engines, namespaces, dtypes ---------------------------------------------------------------


def _mixed_points():
    v, x = log_uniform_grid(400, seed=3)
    v = np.concatenate([v, [-0.5, -2.0, -1.5, -7.25, 3.0, 0.0, np.inf, 2.0, np.nan, 2.0, 3.0, -4.0, 0.5, 0.0]])
    x = np.concatenate([x, [1.0, 3.0, 40.0, 0.3, 0.0, 0.0, 1.0, np.inf, 1.0, -3.0, -3.0, -50.0, -2.0, -np.inf]])
    return v, x


@pytest.mark.parametrize("fn", [log_iv, log_kv, log_iv_ratio])
def test_engines_agree(fn):
    v, x = _mixed_points()
    assert_engines_agree(fn, v, x, rtol=1e-13, atol=1e-13)
    # the parallel driver (large inputs) and the serial one give identical results
    big_v, big_x = np.tile(v, 60), np.tile(x, 60)
    np.testing.assert_array_equal(fn(big_v, big_x)[: v.size], fn(v, x))


@pytest.mark.parametrize("fn", [log_iv, log_kv, log_iv_ratio])
def test_namespaces(xp, fn):
    """Results in the inputs' namespace and on their device (array_api_strict: a non-default one)."""
    v, x = _mixed_points()
    expected = fn(v, x)
    out = fn(xp.asarray(v), xp.asarray(x))
    dev = device(xp.asarray(x))
    assert out.dtype == xp.float64 and device(out) == dev
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-13, atol=1e-13)
    # broadcasting (3, 1) against (4,), scalars mixed with arrays, float32 kept
    vb = xp.asarray(np.array([[0.0], [2.5], [40.0]]))
    xb = xp.asarray(np.array([0.5, 3.0, 30.0, 1e4]))
    out = fn(vb, xb)
    assert out.shape == (3, 4) and device(out) == dev
    np.testing.assert_allclose(to_numpy(out), fn(np.array([[0.0], [2.5], [40.0]]), np.array([0.5, 3.0, 30.0, 1e4])), rtol=1e-13)
    for out in (fn(2.5, xb), fn(xb, 2.5), fn(2.5, xp.astype(xb, xp.float32))):
        assert out.shape == (4,) and device(out) == dev
    assert out.dtype == xp.float32
    out = fn(xp.asarray(2.5), xp.asarray(3.0))
    assert out.shape == () and device(out) == dev
    assert float(out) == pytest.approx(float(fn(2.5, 3.0)), rel=1e-14)


def test_no_warning_for_one_element_broadcast(monkeypatch):
    """A scalar against a one-element array used to reach numba as a broadcast view, whose
    deprecated "warn on write" flag numba reads (a FutureWarning on the first such call)."""
    pytest.importorskip("numba")
    from optlib._backend import numba_available
    from optlib.special import _bessel_numba

    if not numba_available():
        pytest.skip("numba disabled")
    seen = []

    def kernel(v, x, out):  # reads the flags the way numba's typeof does
        seen.append((v.flags.writeable, x.flags.writeable))
        out[:] = 0.0

    monkeypatch.setattr(_bessel_numba, "_iv_serial", kernel)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for v, x in ((1.5, np.array([2.0])), (np.array([[1.5]]), np.array([2.0])), (np.ones((2, 1)), np.ones(3))):
            assert log_iv(v, x, engine="numba").shape == np.broadcast_shapes(np.shape(v), x.shape)
    assert len(seen) == 3


def test_dtypes_and_scalars():
    x32 = np.array([0.5, 3.0, 1e3], dtype=np.float32)
    for fn in (log_iv, log_kv, log_iv_ratio):
        out = fn(np.float32(1.5), x32)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, fn(1.5, x32.astype(np.float64)).astype(np.float32), rtol=2e-7)
        assert fn(1.5, x32).dtype == np.float32  # Python scalars do not promote
        assert fn(np.float64(1.5), x32).dtype == np.float64
        assert fn(np.arange(3), x32).dtype == np.float64  # integers promote to float64
        assert fn([0, 1], [1, 2]).dtype == np.float64
        s = fn(2, 3.0)
        assert isinstance(s, np.float64)
        assert fn(np.zeros((0, 2)), 1.0).shape == (0, 2)
        assert fn(np.zeros((0, 2)), 1.0, engine="xp").shape == (0, 2)


def test_inputs_not_modified():
    v = np.array([0.0, -1.5, 3.0, np.nan])
    x = np.array([1.0, 2.0, -1.0, 4.0])
    v0, x0 = v.copy(), x.copy()
    for fn in (log_iv, log_kv, log_iv_ratio):
        for engine in ("auto", "xp"):
            fn(v, x, engine=engine)
            np.testing.assert_array_equal(v, v0)
            np.testing.assert_array_equal(x, x0)


# -- special values and bad input ------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["auto", "xp"])
def test_special_values(engine):
    inf, nan = math.inf, math.nan
    # (v, x, log I, log K, log ratio)
    cases = [
        (0.0, 0.0, 0.0, inf, -inf),
        (2.0, 0.0, -inf, inf, -inf),
        (-3.0, 0.0, -inf, inf, nan),  # ratio for v < 0: log I_{-2}(0) - log I_{-3}(0) = -inf + inf
        (-0.5, 0.0, inf, inf, -inf),  # I_{-1/2}(x) ~ sqrt(2 / (pi x)) -> +inf; I_{1/2} / I_{-1/2} = tanh x
        (-1.5, 0.0, nan, inf, nan),  # I_{-3/2}(x) -> -inf
        (1.0, inf, inf, -inf, 0.0),
        (-1.5, inf, inf, -inf, 0.0),  # I_{v+1} / I_v -> 1 for every finite order (was inf - inf)
        (-2.0, inf, inf, -inf, 0.0),
        (inf, 1.0, -inf, inf, -inf),
        (inf, inf, nan, nan, nan),
        (-inf, 1.0, nan, inf, nan),
        (1.0, -1.0, nan, nan, nan),
        (nan, 1.0, nan, nan, nan),
        (1.0, nan, nan, nan, nan),
        (-1.3, 0.5, nan, None, None),  # I_{-1.3}(0.5) < 0
    ]
    for v, x, li, lk, lr in cases:
        for fn, want in ((log_iv, li), (log_kv, lk), (log_iv_ratio, lr)):
            if want is None:
                continue
            got = float(fn(v, x, engine=engine))
            assert (math.isnan(got) and math.isnan(want)) or got == want, (fn.__name__, v, x, got, want)
    # negative integer orders: I_{-n} = I_n ; K_{-v} = K_v
    x = np.array([0.01, 1.0, 50.0, 1e4])
    np.testing.assert_array_equal(log_iv(-3.0, x, engine=engine), log_iv(3.0, x, engine=engine))
    np.testing.assert_array_equal(log_kv(-7.3, x, engine=engine), log_kv(7.3, x, engine=engine))
    # tiny and subnormal arguments stay finite
    tiny = np.array([1e-300, 5e-324])
    assert np.all(np.isfinite(log_iv(3.0, tiny, engine=engine)))
    assert np.all(np.isfinite(log_kv(3.0, tiny, engine=engine)))
    assert np.all(np.isfinite(log_iv_ratio(3.0, tiny, engine=engine)))


def test_negative_orders_against_mpmath():
    for v, x in [(-0.3, 2.0), (-1.3, 5.0), (-2.7, 0.1), (-10.5, 40.0), (-30.2, 5.0)]:
        with mp.workdps(DPS):
            ref = mp.log(mp.besseli(v, x))
        for engine in ("auto", "xp"):
            assert abs(float(log_iv(v, x, engine=engine)) - float(ref)) <= 1e-14 * max(1.0, abs(float(ref)))


NEG_V = np.array([0.0, 2.0, -2.0, 4.0, 40.0, 1.0, 3.0, -1.0, 0.5, -0.5, 2.5, 1e20, np.inf, -np.inf])
NEG_X = np.array([-1e-300, -0.3, -2.0, -40.0, -700.0, -1e4, -np.inf, -0.0])


@pytest.mark.parametrize("engine", ["auto", "xp"])
def test_negative_argument_scipy_semantics(engine):
    """x < 0: log_iv is np.log(scipy.special.iv(v, x)) where the latter neither overflows nor underflows.

    I_v(x) = (-1)^v I_v(-x) for integer v: the even orders give log_iv(v, -x), the odd ones
    NaN (I_v(x) < 0), non-integer orders and x = -inf NaN (SciPy's iv is NaN there).
    """
    special = pytest.importorskip("scipy.special")
    v, x = NEG_V[:, None], NEG_X[None, :]
    out = log_iv(v, x, engine=engine)
    with np.errstate(all="ignore"):
        iv = special.iv(v, x)
        want = np.log(iv)
    # where SciPy's iv is a positive finite double, the logs agree to rounding
    ok = np.isfinite(iv) & (iv > 0)
    np.testing.assert_allclose(out[ok], want[ok], rtol=1e-13, atol=1e-13)
    # NaN exactly where iv is NaN or negative (odd v), or where it underflowed to -0.0 (odd v, tiny x)
    odd_or_nan = np.isnan(iv) | (iv < 0) | ((iv == 0) & np.signbit(iv))
    assert np.array_equal(np.isnan(out), odd_or_nan | (v == -np.inf)), (out, iv)
    # even orders: finite past SciPy's overflow and underflow, equal to the value at -x
    even = (np.mod(np.where(np.isfinite(v), v, 1.0), 2.0) == 0.0) & np.isfinite(x) & (x < 0)
    even = np.broadcast_to(even, out.shape)
    np.testing.assert_array_equal(out[even], np.broadcast_to(log_iv(v, -x, engine=engine), out.shape)[even])
    assert np.all(np.isfinite(out[even]))
    assert float(log_iv(np.inf, -2.0, engine=engine)) == -np.inf  # I_inf = 0, as iv(inf, -2) = 0
    assert float(log_iv(0.0, -0.0, engine=engine)) == 0.0


def test_negative_argument_against_mpmath():
    for v, x in [(0.0, -0.7), (2.0, -3.0), (4.0, -900.0), (10.0, -0.01), (-6.0, -25.0)]:
        with mp.workdps(DPS):
            iv = mp.besseli(v, x)  # mpmath goes through the complex plane: drop its ~1e-40 imaginary part
            assert abs(mp.im(iv)) <= 1e-25 * abs(mp.re(iv)) and mp.re(iv) > 0
            ref = float(mp.log(mp.re(iv)))
        for engine in ("auto", "xp"):
            got = float(log_iv(v, x, engine=engine))
            assert abs(got - ref) <= 1e-14 * max(1.0, abs(ref))
    with mp.workdps(DPS):  # odd order: a negative I, no real log (NaN)
        assert mp.re(mp.besseli(3, -2.0)) < 0
    assert math.isnan(float(log_iv(3.0, -2.0)))


def test_negative_argument_namespaces(xp):
    """The array-API path on a non-default device gives the numba kernels' values for x < 0."""
    v, x = np.broadcast_arrays(NEG_V[:, None], NEG_X[None, :])
    v, x = v.ravel(), x.ravel()
    out = log_iv(xp.asarray(v), xp.asarray(x))
    assert device(out) == device(xp.asarray(x))
    np.testing.assert_allclose(to_numpy(out), log_iv(v, x, engine="auto"), rtol=1e-13, atol=1e-13)


def test_bad_input():
    with pytest.raises(TypeError, match="v must be real"):
        log_iv(1 + 2j, 3.0)
    with pytest.raises(TypeError, match="x must be real"):
        log_kv(1.0, np.array([1.0 + 0j]))
    with pytest.raises(TypeError, match="x must be real"):
        log_iv_ratio(1.0, np.complex64(2.0))
    with pytest.raises(TypeError, match="v must be a real number or array"):
        log_iv("1", 2.0)
    with pytest.raises(ValueError, match="engine"):
        log_iv(1.0, 2.0, engine="cuda")
    with np.errstate(all="raise"):  # x < 0 and NaN give NaN silently, like NumPy ufuncs in the default mode
        out = log_iv(np.array([1.0, 1.0]), np.array([-2.0, np.nan]))
    assert np.all(np.isnan(out))


def test_no_warnings_on_extremes():
    v = np.array([0.0, 1e-300, 3.0, 1e300, 1.7e308, 30.0])
    x = np.array([5e-324, 1e300, 1e-300, 1.0, 1e-300, 1e308])
    with np.errstate(all="raise"):
        for fn in (log_iv, log_kv, log_iv_ratio):
            fn(v, x, engine="xp")
            fn(v, x)


# -- tables and import ------------------------------------------------------------------------------


def test_tables():
    from fractions import Fraction as F

    u = tables.debye_u_polynomials(3)
    assert u[1] == [0, F(1, 8), 0, F(-5, 24)]  # (3t - 5t^3) / 24
    assert u[2] == [0, 0, F(9, 128), 0, F(-77, 192), 0, F(385, 1152)]
    assert u[3][3:] == [F(30375, 414720), 0, F(-369603, 414720), 0, F(765765, 414720), 0, F(-425425, 414720)]
    assert tables.DEBYE_Q.shape == (tables.DEBYE_ORDER + 1, tables.DEBYE_ORDER + 1)
    with mp.workdps(40):
        p0 = mp.findroot(lambda p: mp.sqrt(1 + p * p) + mp.log(p / (1 + mp.sqrt(1 + p * p))), 0.66)
        assert abs(mp.mpf(tables.ETA_P0_HI) + tables.ETA_P0_LO - p0) < mp.mpf(10) ** -30
    for mu in np.linspace(-0.5, 0.5, 11):
        m2 = mu * mu
        even = m2 * np.polyval(tables.LGAMMA_EVEN, m2)
        odd = mu * np.polyval(tables.LGAMMA_ODD, m2)
        with mp.workdps(30):
            assert abs(even - odd - float(mp.loggamma(1 + mp.mpf(mu)))) < 1e-16
            assert abs(even + odd - float(mp.loggamma(1 - mp.mpf(mu)))) < 1e-16


def test_numba_tables_fingerprint(numba_enabled):
    from optlib.special import _bessel_numba

    assert _bessel_numba.tables_fingerprint() == _bessel_numba._TABLES_FINGERPRINT


def test_import_compiles_nothing():
    code = "import sys, optlib, optlib.special; assert 'optlib.special._bessel_numba' not in sys.modules"
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


# -- the CUDA kernel's source, compiled for the host ----------------------------------------------


@pytest.fixture(scope="module")
def host_c_kernels(tmp_path_factory):
    """The generated kernel source compiled by the host C compiler, without and with FMA contraction."""
    from optlib.special._bessel_cuda import c_source

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    libs = {}
    for contract in ("off", "fast"):  # CUDA contracts a * b + c into FMAs by default
        folder = tmp_path_factory.mktemp(f"bessel_c_{contract}")
        src = folder / "bessel.c"
        src.write_text(c_source("c"))
        lib = folder / "libbessel.so"
        flags = ["-O2", "-std=c99", "-shared", "-fPIC", f"-ffp-contract={contract}"]
        if contract == "fast" and sys.platform.startswith("linux"):
            flags.append("-march=native")  # FMA instructions where the CPU has them
        done = subprocess.run([cc, *flags, "-o", str(lib), str(src), "-lm"], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"the generated kernel source does not compile:\n{done.stderr}")
        libs[contract] = ctypes.CDLL(str(lib))
        libs[contract].optlib_run.argtypes = [ctypes.c_int] + [ctypes.c_void_p] * 3 + [ctypes.c_long]
    return libs


@pytest.mark.parametrize("contract", ["off", "fast"])
def test_cuda_source_on_host(host_c_kernels, contract):
    """The CUDA kernels' C source (host build) reproduces the numba kernels, special values included."""
    v, x = _mixed_points()
    v2, x2 = log_uniform_grid(3000, seed=17)
    v = np.ascontiguousarray(np.concatenate([v, v2, [1e300, 1.7e308, 0.0, 3.0, -1.3, -1.5]]))
    x = np.ascontiguousarray(np.concatenate([x, x2, [1.0, 1e-300, 5e-324, 5e-324, 0.5, np.inf]]))
    lib = host_c_kernels[contract]
    for which, fn in enumerate((log_iv, log_kv, log_iv_ratio)):
        out = np.empty_like(v)
        lib.optlib_run(which, v.ctypes.data, x.ctypes.data, out.ctypes.data, v.size)
        expected = fn(v, x)
        if contract == "off":  # same operations, same libm: identical up to an ulp
            np.testing.assert_allclose(out, expected, rtol=4e-16, atol=4e-16)
        else:
            np.testing.assert_allclose(out, expected, rtol=5e-15, atol=5e-15)


def test_cuda_fallback_without_gpu(monkeypatch):
    """Without a usable CUDA kernel the CuPy front warns once and reports failure (the xp path takes over)."""
    from optlib.special import _bessel_cuda

    monkeypatch.setattr(_bessel_cuda, "_FAILED", [])
    monkeypatch.setattr(_bessel_cuda, "_KERNELS", {})
    monkeypatch.setattr(_bessel_cuda, "_kernel", lambda name: (_ for _ in ()).throw(RuntimeError("no device")))
    with pytest.warns(RuntimeWarning, match="array-API path"):
        assert _bessel_cuda.log_iv_cuda(np.ones(2), np.ones(2)) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _bessel_cuda.log_kv_cuda(np.ones(2), np.ones(2)) is None
    assert "__device__" in _bessel_cuda.c_source("cuda")


# -- the user guide agrees with the code ------------------------------------------------------------


def test_user_guide_matches_code():
    """docs/user_guide/special.md states the region thresholds of the tables and the CUDA kernel."""
    guide = Path(__file__).resolve().parents[2] / "docs" / "user_guide" / "special.md"
    if not guide.exists():
        pytest.skip("documentation not available")
    text = " ".join(guide.read_text(encoding="utf-8").split())
    assert f"`r >= {tables.DEBYE_R:g}`" in text and f"`r < {tables.DEBYE_R:g}`" in text
    assert f"for `x <= {tables.TEMME_X:g}`, Temme's series" in text
    assert f"for `x > {tables.TEMME_X:g}`, the trapezoidal rule" in text
    assert "optlib/special/_bessel_cuda.py" in text
    assert "no dedicated CUDA kernel" not in text
