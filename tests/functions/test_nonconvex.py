"""Nonconvex sparsity penalties: values, exact (global) proxes, backends, bad input."""

import math
from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from optlib.functions import CEL0, L0, MCP, SCAD, LHalf, Lp, Magnitude
from tests.conftest import to_numpy

SETTINGS = settings(max_examples=50, deadline=None)


# ---------------------------------------------------------------- references
# Scalar penalties written straight from their definitions (vectorized numpy),
# independent of the implementation under test.


def phi_l0(x, lam):
    return lam * (x != 0)


def phi_lhalf(x, lam):
    return lam * np.sqrt(np.abs(x))


def phi_lp(x, lam, p):
    return lam * np.abs(x) ** p


def phi_cel0(x, lam, a):
    mu = math.sqrt(2 * lam) / a
    return lam - a**2 / 2 * (np.abs(x) - mu) ** 2 * (np.abs(x) <= mu)


def phi_mcp(x, lam, gamma):
    r = np.abs(x)
    return np.where(r <= gamma * lam, lam * r - r**2 / (2 * gamma), gamma * lam**2 / 2)


def phi_scad(x, lam, a):
    r = np.abs(x)
    mid = (2 * a * lam * r - r**2 - lam**2) / (2 * (a - 1))
    return np.where(r <= lam, lam * r, np.where(r <= a * lam, mid, lam**2 * (a + 1) / 2))


def brute_min(phi, v, step, n_grid=20001):
    """Global minimum of phi(x) + (x - v)^2 / (2 step) by a dense grid refined with Brent."""

    def h(x):
        return float(phi(np.asarray(x, dtype=float))) + (x - v) ** 2 / (2 * step)

    r = abs(v)
    grid = np.concatenate([np.linspace(-r - 1, r + 1, n_grid), [0.0, v]])
    vals = phi(grid) + (grid - v) ** 2 / (2 * step)
    k = int(np.argmin(vals))
    best = float(vals[k])
    width = (2 * r + 2) / (n_grid - 1)
    lo, hi = grid[k] - width, grid[k] + width
    res = minimize_scalar(h, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13})
    return min(best, float(res.fun), h(0.0))


def assert_prox_global(g, phi, v, step):
    """Every entry of g.prox(v, step) reaches the brute-force global minimum."""
    out = g.prox(v, step)
    assert out.shape == v.shape and out.dtype == v.dtype
    for vi, xi in zip(v.ravel(), out.ravel()):
        vi, xi = float(vi), float(xi)
        got = float(phi(np.asarray(xi))) + (xi - vi) ** 2 / (2 * step)
        ref = brute_min(phi, vi, step)
        assert got <= ref + 1e-9 * max(1.0, abs(ref)), (type(g).__name__, vi, xi, got, ref)


vs = st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=3).map(np.array)
lams = st.floats(0.0, 5.0)
steps = st.floats(0.01, 10.0)


# --------------------------------------------------------- prox optimality


@SETTINGS
@given(v=vs, lam=lams, step=steps)
def test_l0_prox_is_global_minimiser(v, lam, step):
    assert_prox_global(L0(lam), lambda x: phi_l0(x, lam), v, step)


@SETTINGS
@given(v=vs, lam=lams, step=steps)
def test_lhalf_prox_is_global_minimiser(v, lam, step):
    assert_prox_global(LHalf(lam), lambda x: phi_lhalf(x, lam), v, step)


@SETTINGS
@given(v=vs, lam=lams, step=steps, a=st.floats(0.1, 3.0))
def test_cel0_prox_is_global_minimiser(v, lam, step, a):
    assert_prox_global(CEL0(lam, a), lambda x: phi_cel0(x, lam, a), v, step)


@SETTINGS
@given(v=vs, lam=lams, step=steps, gamma=st.floats(1.0, 8.0, exclude_min=True))
def test_mcp_prox_is_global_minimiser(v, lam, step, gamma):
    assert_prox_global(MCP(lam, gamma), lambda x: phi_mcp(x, lam, gamma), v, step)


@SETTINGS
@given(v=vs, lam=lams, step=steps, a=st.floats(2.0, 8.0, exclude_min=True))
def test_scad_prox_is_global_minimiser(v, lam, step, a):
    assert_prox_global(SCAD(lam, a), lambda x: phi_scad(x, lam, a), v, step)


@SETTINGS
@given(v=vs, lam=lams, step=steps, p=st.floats(0.01, 0.99))
def test_lp_prox_is_global_minimiser(v, lam, step, p):
    assert_prox_global(Lp(lam, p), lambda x: phi_lp(x, lam, p), v, step)


# Both regimes of the nonconvex proxes (well posed / hard-threshold-like), deterministic.
@pytest.mark.parametrize(
    "g, phi",
    [
        (CEL0(0.7, 0.5), lambda x: phi_cel0(x, 0.7, 0.5)),  # step a^2 < 1 and >= 1 below
        (CEL0(0.7, 2.0), lambda x: phi_cel0(x, 0.7, 2.0)),
        (MCP(0.8, 1.5), lambda x: phi_mcp(x, 0.8, 1.5)),
        (MCP(0.8, 4.0), lambda x: phi_mcp(x, 0.8, 4.0)),
        (SCAD(0.8, 2.5), lambda x: phi_scad(x, 0.8, 2.5)),
        (SCAD(0.8, 5.0), lambda x: phi_scad(x, 0.8, 5.0)),
        (Lp(0.8, 0.1), lambda x: phi_lp(x, 0.8, 0.1)),
        (Lp(0.8, 0.9), lambda x: phi_lp(x, 0.8, 0.9)),
    ],
)
@pytest.mark.parametrize("step", [0.2, 1.0, 1.5, 3.0, 6.0])
def test_prox_global_both_regimes(g, phi, step):
    v = np.linspace(-6, 6, 25)
    assert_prox_global(g, phi, v, step)


# ------------------------------------------------------------ closed forms


@pytest.mark.parametrize("g, phi", [
    (L0(1.3), lambda x: phi_l0(x, 1.3)),
    (LHalf(1.3), lambda x: phi_lhalf(x, 1.3)),
    (Lp(1.3, 0.3), lambda x: phi_lp(x, 1.3, 0.3)),
    (CEL0(1.3, 0.7), lambda x: phi_cel0(x, 1.3, 0.7)),
    (MCP(1.3, 2.5), lambda x: phi_mcp(x, 1.3, 2.5)),
    (SCAD(1.3, 3.7), lambda x: phi_scad(x, 1.3, 3.7)),
])
def test_values_match_definitions(g, phi):
    x = np.random.default_rng(0).normal(scale=3, size=(7, 5))
    x[0, :2] = 0.0
    assert isinstance(g(x), float)
    np.testing.assert_allclose(g(x), phi(x).sum(), rtol=1e-12, atol=1e-12)
    assert g(np.zeros(4)) == 0.0


def test_l0_hard_threshold_and_tie():
    lam, step = 0.5, 2.0
    thr = math.sqrt(2 * lam * step)
    v = np.array([thr * (1 + 1e-9), -thr * (1 + 1e-9), thr, -thr, thr * (1 - 1e-9), 0.0, 5.0])
    out = L0(lam).prox(v, step)
    np.testing.assert_array_equal(out, [v[0], v[1], 0, 0, 0, 0, 5.0])


def test_lhalf_matches_xu_formula_and_threshold():
    # Xu et al. 2012 solve min (x - r)^2 + lambda sqrt|x|: lambda = 2 lam step here.
    lam, step = 0.4, 1.7
    lx = 2 * lam * step
    thr = 54 ** (1 / 3) / 4 * lx ** (2 / 3)
    assert thr == pytest.approx(1.5 * (lam * step) ** (2 / 3), rel=1e-14)
    r = np.linspace(-5, 5, 401)
    with np.errstate(divide="ignore"):
        phi = np.arccos(lx / 8 * (np.abs(r) / 3) ** -1.5 + 0j).real
    ref = np.where(np.abs(r) > thr, 2 / 3 * r * (1 + np.cos(2 * np.pi / 3 - 2 / 3 * phi)), 0.0)
    np.testing.assert_allclose(LHalf(lam).prox(r, step), ref, rtol=1e-12, atol=1e-14)
    # just above the threshold the jump goes to (2/3) threshold
    out = LHalf(lam).prox(np.array([thr * (1 + 1e-12), thr]), step)
    np.testing.assert_allclose(out, [2 / 3 * thr, 0.0], rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lhalf_equals_lp_half(dtype):
    rng = np.random.default_rng(1)
    v = rng.normal(scale=3, size=500).astype(dtype)
    for lam, step in [(0.1, 1.0), (1.0, 0.3), (2.5, 2.0)]:
        a, b = LHalf(lam).prox(v, step), Lp(lam, 0.5).prox(v, step)
        assert a.dtype == b.dtype == dtype
        rtol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(a, b, rtol=rtol, atol=0)


def test_lp_newton_full_precision_near_threshold_and_far():
    for p in [0.05, 0.5, 0.95]:
        lam, step = 1.0, 1.0
        theta = lam * step
        beta = (2 * theta * (1 - p)) ** (1 / (2 - p))
        tau = beta + theta * p * beta ** (p - 1)
        r = tau * np.concatenate([1 + np.logspace(-10, 0, 20), np.logspace(0.5, 8, 20)])
        x = Lp(lam, p).prox(r, step)
        assert np.all(x >= beta * (1 - 1e-12))
        # stationarity x + theta p x^(p-1) = r to rounding
        np.testing.assert_allclose(x + theta * p * x ** (p - 1), r, rtol=1e-13)
        assert np.all(Lp(lam, p).prox(tau * np.array([1 - 1e-12, 0.5, 0.0]), step) == 0)


def test_cel0_closed_forms():
    lam = 0.45
    v = np.linspace(-4, 4, 161)
    # spec formula for unit-norm atoms (a = 1), step eta < 1
    for eta in [0.1, 0.5, 0.9]:
        shrunk = np.maximum(np.abs(v) - math.sqrt(2 * lam) * eta, 0) / (1 - eta)
        ref = np.sign(v) * np.minimum(np.abs(v), shrunk)
        np.testing.assert_allclose(CEL0(lam).prox(v, eta), ref, rtol=1e-13, atol=1e-15)
    # step a^2 >= 1: the l0 prox (hard threshold at sqrt(2 lam step))
    for a, step in [(1.0, 1.0), (1.0, 2.5), (2.0, 0.3), (0.5, 4.0)]:
        np.testing.assert_array_equal(CEL0(lam, a).prox(v, step), L0(lam).prox(v, step))
    # CEL0(lam, a) is MCP(a sqrt(2 lam), 1 / a^2)
    for a in [0.3, 0.8]:
        mcp = MCP(a * math.sqrt(2 * lam), 1 / a**2)
        np.testing.assert_allclose(CEL0(lam, a)(v), mcp(v), rtol=1e-12)
        for step in [0.5, 2.0, 20.0]:
            np.testing.assert_allclose(CEL0(lam, a).prox(v, step), mcp.prox(v, step), rtol=1e-13)


def test_mcp_firm_and_scad_fan_li():
    v = np.linspace(-10, 10, 401)
    lam, gamma = 1.2, 3.0
    r = np.abs(v)
    firm = np.where(r <= gamma * lam, np.sign(v) * np.maximum(r - lam, 0) * gamma / (gamma - 1), v)
    np.testing.assert_allclose(MCP(lam, gamma).prox(v, 1.0), firm, rtol=1e-13, atol=1e-15)
    a = 3.7
    fan_li = np.where(
        r <= 2 * lam,
        np.sign(v) * np.maximum(r - lam, 0),
        np.where(r <= a * lam, ((a - 1) * v - np.sign(v) * a * lam) / (a - 2), v),
    )
    np.testing.assert_allclose(SCAD(lam, a).prox(v, 1.0), fan_li, rtol=1e-13, atol=1e-15)
    # gamma <= step: hard thresholding at lam sqrt(gamma step)
    hard = np.where(r > lam * math.sqrt(6.0), v, 0.0)
    np.testing.assert_array_equal(MCP(lam, 2.0).prox(v, 3.0), hard)


def test_cel0_exact_relaxation_of_l0():
    """Soubies et al.: min ||Ax-y||^2/2 + CEL0 has the global minimum of the l0 problem."""
    rng = np.random.default_rng(3)
    m, n, lam = 6, 4, 0.05
    A = rng.normal(size=(m, n))
    A /= np.linalg.norm(A, axis=0)  # unit-norm atoms: a = 1
    y = A @ np.array([1.0, 0.0, -0.7, 0.0]) + 0.05 * rng.normal(size=m)
    l0, cel0 = L0(lam), CEL0(lam)

    def G(pen, x):
        return 0.5 * np.sum((A @ x - y) ** 2) + pen(x)

    # global l0 minimiser by enumerating supports
    best, xhat = G(l0, np.zeros(n)), np.zeros(n)
    for k in range(1, n + 1):
        for S in combinations(range(n), k):
            x = np.zeros(n)
            x[list(S)] = np.linalg.lstsq(A[:, S], y, rcond=None)[0]
            if G(l0, x) < best:
                best, xhat = G(l0, x), x
    assert G(cel0, xhat) == pytest.approx(best, rel=1e-12)  # CEL0 = l0 at the minimiser
    # CEL0 <= l0 everywhere, and proximal gradient on CEL0 (20 random starts, run
    # together as the columns of X) never goes below the l0 minimum
    step = 1 / np.linalg.norm(A, 2) ** 2
    X = rng.normal(scale=2, size=(n, 20))
    assert all(cel0(x) <= l0(x) + 1e-12 for x in X.T)
    for _ in range(1500):
        X = cel0.prox(X - step * A.T @ (A @ X - y[:, None]), step)
    lows = [G(cel0, x) for x in X.T]
    assert min(lows) >= best - 1e-9
    assert min(lows) == pytest.approx(best, rel=1e-6)
    # and the minimiser's nonzeros are those of the l0 solution
    x = xhat.copy()
    for _ in range(200):
        x = cel0.prox(x - step * A.T @ (A @ x - y), step)
    np.testing.assert_array_equal(x != 0, xhat != 0)


# ---------------------------------------------------------------- backends

PENALTIES = [
    L0(0.3), LHalf(0.3), CEL0(0.3, 0.8), MCP(0.3, 2.0), SCAD(0.3, 3.7), Lp(0.3, 0.3), Lp(0.3, 0.5)
]
IDS = ["L0", "LHalf", "CEL0", "MCP", "SCAD", "Lp0.3", "Lp0.5"]


@pytest.mark.parametrize("g", PENALTIES, ids=IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("step", [0.5, 4.0])
def test_backends_agree_keep_dtype_and_input(xp, g, dtype, step):
    v_np = np.random.default_rng(2).normal(scale=2, size=(20, 3)).astype(dtype)
    v_np[0, 0] = 0.0
    v = xp.asarray(v_np)
    out = g.prox(v, step)
    assert out.dtype == getattr(xp, dtype)
    assert out.device == v.device
    assert out.shape == v.shape
    np.testing.assert_array_equal(to_numpy(v), v_np)  # input untouched
    ref = g.prox(v_np, step)
    assert ref.dtype == np.dtype(dtype)
    rtol = 2e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(to_numpy(out), ref, rtol=rtol, atol=rtol * 1e-3)
    np.testing.assert_allclose(g(v), g(v_np), rtol=rtol)
    assert isinstance(g(v), float)


@pytest.mark.parametrize("g", PENALTIES + [MCP(0.3, 1.5), SCAD(0.3, 2.5)], ids=IDS + ["MCP-", "SCAD-"])
@pytest.mark.parametrize("step", [0.7, 5.0])
def test_float32_accuracy_and_nonfinite(g, step):
    v32 = np.linspace(-5, 5, 1001).astype(np.float32)
    a, b = g.prox(v32, step), g.prox(v32.astype(np.float64), step)
    assert a.dtype == np.float32
    np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-6)
    with np.errstate(invalid="ignore"):
        out = g.prox(np.array([np.nan, np.inf, -np.inf, 0.0]), step)
    np.testing.assert_array_equal(out, [np.nan, np.inf, -np.inf, 0.0])


@pytest.mark.parametrize("g", PENALTIES, ids=IDS)
def test_complex_input_points_to_magnitude(g):
    z = np.array([1 + 1j, 0.5j])
    with pytest.raises(TypeError, match="Magnitude"):
        g.prox(z)
    with pytest.raises(TypeError, match="Magnitude"):
        g(z)
    assert Magnitude(g).prox(z).dtype == np.complex128


@pytest.mark.parametrize("g", PENALTIES, ids=IDS)
def test_flags_and_zero_weight(g):
    assert g.is_convex is False and g.is_separable is True
    v = np.array([-2.0, 0.1, 3.0])
    zero = type(g)(**{**{k: val for k, val in vars(g).items()}, "lam": 0.0})
    np.testing.assert_allclose(zero.prox(v, 1.0), v)
    assert "lam=" in repr(g)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "factory, name",
    [
        (lambda: L0(-1.0), "lam"),
        (lambda: LHalf(-0.1), "lam"),
        (lambda: CEL0(-1.0), "lam"),
        (lambda: CEL0(1.0, a=0.0), "a"),
        (lambda: MCP(-1.0), "lam"),
        (lambda: MCP(1.0, gamma=1.0), "gamma"),
        (lambda: MCP(1.0, gamma=0.5), "gamma"),
        (lambda: SCAD(-1.0), "lam"),
        (lambda: SCAD(1.0, a=2.0), "a"),
        (lambda: SCAD(1.0, a=1.5), "a"),
        (lambda: Lp(-1.0, 0.5), "lam"),
        (lambda: Lp(1.0, 0.0), "p"),
        (lambda: Lp(1.0, 1.0), "p"),
        (lambda: Lp(1.0, 1.5), "p"),
        (lambda: L0(float("nan")), "lam"),
    ],
)
def test_bad_parameters(factory, name):
    with pytest.raises(ValueError, match=name):
        factory()


@pytest.mark.parametrize("g", PENALTIES, ids=IDS)
@pytest.mark.parametrize("step", [0.0, -1.0])
def test_bad_step(g, step):
    with pytest.raises(ValueError, match="step"):
        g.prox(np.ones(3), step)
