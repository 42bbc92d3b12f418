"""Constraint sets: brute-force projections, feasibility, idempotence, conjugates, namespaces, errors."""

from itertools import combinations

import numpy as np
import pytest
from array_api_compat import array_namespace
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.optimize import minimize

from optlib.functions import Box, L1Ball, NonNegative, Simplex, TopKSimplex
from tests.conftest import to_numpy

SETTINGS = settings(max_examples=50, deadline=None)

finite = st.floats(-5.0, 5.0, allow_nan=False, allow_infinity=False, width=64)
# few distinct values: ties between entries are frequent
tied = st.sampled_from([-1.0, 0.0, 0.25, 0.5, 1.0, 2.0])
radii = st.floats(0.1, 5.0)


def vectors(max_side=6, elements=finite):
    return hnp.arrays(np.float64, st.integers(1, max_side), elements=elements)


def arrays(max_dims=3, max_side=5, elements=finite):
    return hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=max_dims, max_side=max_side), elements=elements)


# --- reference (brute-force) projections -------------------------------------------------------


def _simplex_ref(v, r):
    """Projection onto {x >= 0, sum x = r} by enumerating every support."""
    best, best_d = None, np.inf
    for size in range(1, v.size + 1):
        for support in combinations(range(v.size), size):
            s = list(support)
            xs = v[s] - (v[s].sum() - r) / size
            if np.all(xs >= 0):
                x = np.zeros_like(v)
                x[s] = xs
                d = np.sum((x - v) ** 2)
                if d < best_d:
                    best, best_d = x, d
    return best


def _topk_ref_distance(v, k, r):
    """Smallest squared distance from v to a k-sparse simplex point, over all supports."""
    k = min(k, v.size)
    best = np.inf
    for support in combinations(range(v.size), k):
        s = list(support)
        x = np.zeros_like(v)
        x[s] = _simplex_ref(v[s], r)
        best = min(best, np.sum((x - v) ** 2))
    return best


def _l1_ball_slsqp(v, r):
    """Projection onto the l1 ball as a QP in (p, q) >= 0, x = p - q, solved by SLSQP."""
    n = v.size
    obj = lambda z: 0.5 * np.sum((z[:n] - z[n:] - v) ** 2)  # noqa: E731
    jac = lambda z: np.concatenate([z[:n] - z[n:] - v, -(z[:n] - z[n:] - v)])  # noqa: E731
    z0 = np.concatenate([np.maximum(v, 0), np.maximum(-v, 0)]) * min(1.0, r / max(np.abs(v).sum(), 1e-300))
    res = minimize(
        obj,
        z0,
        jac=jac,
        method="SLSQP",
        bounds=[(0, None)] * (2 * n),
        constraints=[{"type": "ineq", "fun": lambda z: r - z.sum(), "jac": lambda z: -np.ones(2 * n)}],
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    return res.x[:n] - res.x[n:]


# --- brute-force checks ------------------------------------------------------------------------


@SETTINGS
@given(v=vectors(), r=radii)
def test_simplex_brute_force(v, r):
    np.testing.assert_allclose(Simplex(r).prox(v), _simplex_ref(v, r), atol=1e-10)


@SETTINGS
@given(v=vectors(elements=tied), r=radii)
def test_simplex_brute_force_with_ties(v, r):
    np.testing.assert_allclose(Simplex(r).prox(v), _simplex_ref(v, r), atol=1e-10)


@SETTINGS
@given(v=vectors(), k=st.integers(1, 7), r=radii)
def test_topk_simplex_brute_force(v, k, r):
    g = TopKSimplex(k, r)
    p = g.prox(v)
    assert g(p) == 0.0
    assert np.count_nonzero(p) <= k
    assert np.sum((p - v) ** 2) == pytest.approx(_topk_ref_distance(v, k, r), rel=1e-9, abs=1e-10)


@SETTINGS
@given(v=vectors(elements=tied), k=st.integers(1, 7), r=radii)
def test_topk_simplex_brute_force_with_ties(v, k, r):
    g = TopKSimplex(k, r)
    p = g.prox(v)
    assert np.count_nonzero(p) <= k and g(p) == 0.0
    assert np.sum((p - v) ** 2) == pytest.approx(_topk_ref_distance(v, k, r), rel=1e-9, abs=1e-10)


def test_topk_large_k_is_simplex():
    v = np.array([0.3, -1.0, 2.0, 0.9])
    np.testing.assert_array_equal(TopKSimplex(4).prox(v), Simplex().prox(v))
    np.testing.assert_array_equal(TopKSimplex(100, 2.0).prox(v), Simplex(2.0).prox(v))
    np.testing.assert_allclose(TopKSimplex(1, 2.0).prox(v), [0, 0, 2.0, 0])
    np.testing.assert_allclose(TopKSimplex(2).prox(np.ones(3)), [0.5, 0.5, 0.0])


@SETTINGS
@given(v=vectors(max_side=5), r=radii)
def test_l1_ball_brute_force(v, r):
    p = L1Ball(r).prox(v)
    ref = _l1_ball_slsqp(v, r)
    assert np.sum((p - v) ** 2) <= np.sum((ref - v) ** 2) + 1e-9
    np.testing.assert_allclose(p, ref, atol=1e-5)


@SETTINGS
@given(v=arrays(), lo=finite, width=st.floats(0.0, 4.0))
def test_box_is_clipping(v, lo, width):
    np.testing.assert_array_equal(Box(lo, lo + width).prox(v), np.clip(v, lo, lo + width))
    np.testing.assert_array_equal(Box(upper=lo).prox(v), np.minimum(v, lo))
    np.testing.assert_array_equal(NonNegative().prox(v), np.maximum(v, 0))


def test_box_array_bounds_broadcast():
    v = np.arange(12.0).reshape(3, 4) - 5
    lower = np.array([-1.0, -np.inf, 0.0, 2.0])
    upper = np.array([[2.0], [np.inf], [3.0]])
    g = Box(lower, upper)
    np.testing.assert_array_equal(g.prox(v), np.minimum(np.maximum(v, lower), upper))
    assert g(g.prox(v)) == 0.0 and g(v) == np.inf
    assert Box(lower=[0.0, 1.0])([0.5, 1.0] * np.ones((2, 2))) == 0.0


# --- feasibility, idempotence, optimality for every projection ---------------------------------

PROJECTIONS = [
    lambda r, k: Box(-r, r / 2),
    lambda r, k: NonNegative(),
    lambda r, k: Simplex(r),
    lambda r, k: Simplex(r, axis=0),
    lambda r, k: Simplex(r, axis=-1),
    lambda r, k: TopKSimplex(k, r),
    lambda r, k: TopKSimplex(k, r, axis=-1),
    lambda r, k: L1Ball(r),
]


@SETTINGS
@given(v=arrays(), w=arrays(), r=radii, k=st.integers(1, 4), which=st.integers(0, len(PROJECTIONS) - 1))
def test_projection_feasible_idempotent_optimal(v, w, r, k, which):
    g = PROJECTIONS[which](r, k)
    p = g.prox(v)
    assert p.shape == v.shape
    assert g(p) == 0.0
    np.testing.assert_allclose(g.prox(p), p, atol=1e-12)
    np.testing.assert_array_equal(g.prox(v, step=3.7), p)  # the step is irrelevant
    if g.is_convex:
        # variational inequality <v - p, y - p> <= 0 for feasible y
        y = g.prox(np.resize(w, v.shape))
        assert np.sum((v - p) * (y - p)) <= 1e-9 * (1 + np.abs(v).sum() + np.abs(y).sum())
        # Fenchel-Young equality at the projection: g*(u) = <p, u> for u = v - p
        u = v - p
        assert g.conjugate(u) == pytest.approx(np.sum(p * u), rel=1e-9, abs=1e-9)
        assert g.conjugate(u) >= np.sum(y * u) - 1e-9 * (1 + np.abs(u).sum())
        assert g.dual_scaling(u) == 1.0


@SETTINGS
@given(v=arrays(max_dims=3, max_side=4), r=radii, k=st.integers(1, 3), axis=st.integers(-3, 2))
def test_axis_projects_each_slice(v, r, k, axis):
    if not -v.ndim <= axis < v.ndim:
        with pytest.raises(ValueError, match="axis"):
            Simplex(r, axis=axis).prox(v)
        return
    moved = np.moveaxis(v, axis, -1)
    for g, flat in ((Simplex(r, axis=axis), Simplex(r)), (TopKSimplex(k, r, axis=axis), TopKSimplex(k, r))):
        p = g.prox(v)
        ref = np.stack([flat.prox(s) for s in moved.reshape(-1, moved.shape[-1])]).reshape(moved.shape)
        np.testing.assert_allclose(p, np.moveaxis(ref, -1, axis), atol=1e-12)
        assert g(p) == 0.0


@SETTINGS
@given(re=vectors(), data=st.data(), r=radii)
def test_l1_ball_complex_keeps_phase(re, data, r):
    im = data.draw(hnp.arrays(np.float64, re.shape, elements=finite))
    z = re + 1j * im
    p = L1Ball(r).prox(z)
    np.testing.assert_allclose(np.abs(p), L1Ball(r).prox(np.abs(z)), atol=1e-12)
    np.testing.assert_allclose(np.imag(p * np.conj(z)), 0.0, atol=1e-9)
    assert np.all(np.real(p * np.conj(z)) >= -1e-12)
    assert L1Ball(r)(p) == 0.0


def test_values_and_tolerance():
    s = Simplex()
    assert s(np.array([0.2, 0.8])) == 0.0
    assert s(np.array([0.2, 0.8 + 1e-12])) == 0.0  # rounding is tolerated
    assert s(np.array([0.2, 0.81])) == np.inf
    assert s(np.array([-0.1, 1.1])) == np.inf
    assert Simplex(axis=1)(np.array([[0.5, 0.5], [1.0, 0.0]])) == 0.0
    assert Simplex(axis=0)(np.array([[0.5, 0.5], [1.0, 0.0]])) == np.inf
    assert TopKSimplex(1)(np.array([0.5, 0.5])) == np.inf
    assert TopKSimplex(2)(np.array([0.5, 0.5, 0.0])) == 0.0
    assert L1Ball(2.0)(np.array([1.0, -1.0])) == 0.0
    assert L1Ball(2.0)(np.array([1.0, -1.01])) == np.inf
    assert Box(0.0, 1.0)(np.array([0.0, 1.0 + 1e-12])) == 0.0
    assert Box(0.0, 1.0)(np.array([-0.01, 0.5])) == np.inf
    assert NonNegative()(np.array([0.0, 3.0])) == 0.0
    assert NonNegative()(np.array([-1.0, 3.0])) == np.inf
    for g in (Box(), NonNegative(), Simplex(), TopKSimplex(1), L1Ball()):
        assert isinstance(g(np.array([1.0])), float)
    assert Box.is_separable and NonNegative.is_separable
    assert not Simplex.is_separable and not L1Ball.is_separable
    assert TopKSimplex.is_convex is False and Simplex.is_convex is True


def test_conjugates():
    u = np.array([3.0, -4.0])
    assert Box(-1.0, 2.0).conjugate(u) == pytest.approx(10.0)
    assert Box(np.array([-1.0, -2.0]), 2.0).conjugate(u) == pytest.approx(14.0)
    assert Box(-1.0).conjugate(u) == np.inf
    assert Box(np.array([-1.0, -np.inf])).conjugate(np.array([-1.0, 0.0])) == pytest.approx(1.0)
    assert Box(np.array([-1.0, -np.inf])).conjugate(np.array([0.0, -1.0])) == np.inf
    assert NonNegative().conjugate(u) == np.inf
    assert NonNegative().conjugate(-np.abs(u)) == 0.0
    assert Simplex(2.0).conjugate(u) == pytest.approx(6.0)
    assert Simplex(2.0, axis=1).conjugate(np.array([[1.0, 2.0], [-1.0, -3.0]])) == pytest.approx(2.0)
    assert L1Ball(2.0).conjugate(u) == pytest.approx(8.0)
    assert TopKSimplex(1, 2.0).conjugate(u) == pytest.approx(6.0)


# --- namespaces, dtypes, no in-place modification ----------------------------------------------

FACTORIES = {
    "Box": lambda: Box(-0.5, 0.3),
    "Box-arrays": lambda: Box(np.linspace(-1, 0, 5), np.linspace(0.1, 1, 5)),
    "NonNegative": lambda: NonNegative(),
    "Simplex": lambda: Simplex(),
    "Simplex-axis0": lambda: Simplex(2.0, axis=0),
    "Simplex-axis-1": lambda: Simplex(0.5, axis=-1),
    "TopKSimplex": lambda: TopKSimplex(3),
    "TopKSimplex-axis-1": lambda: TopKSimplex(2, 1.5, axis=-1),
    "L1Ball": lambda: L1Ball(1.5),
}


@pytest.mark.parametrize("name", list(FACTORIES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_namespace_dtype_no_inplace(xp, name, dtype):
    v_np = np.random.default_rng(2).standard_normal((4, 5)).astype(dtype)
    v = xp.asarray(v_np)
    before = np.array(to_numpy(v), copy=True)
    g = FACTORIES[name]()
    out = g.prox(v)
    assert array_namespace(out) is array_namespace(v)
    assert out.device == v.device
    assert out.dtype == v.dtype and tuple(out.shape) == (4, 5)
    np.testing.assert_array_equal(to_numpy(v), before)
    single = dtype == "float32"
    ref = FACTORIES[name]().prox(v_np)
    np.testing.assert_allclose(to_numpy(out), ref, rtol=1e-5 if single else 1e-12, atol=1e-6 if single else 1e-12)
    assert g(out) == 0.0
    if g.is_convex:
        assert g.conjugate(v) == pytest.approx(g.conjugate(v_np), rel=1e-5 if single else 1e-12)


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_l1_ball_complex_namespace(xp, dtype):
    rng = np.random.default_rng(3)
    v_np = (rng.standard_normal(7) + 1j * rng.standard_normal(7)).astype(dtype)
    v = xp.asarray(v_np)
    out = L1Ball(1.2).prox(v)
    assert out.dtype == v.dtype
    np.testing.assert_allclose(to_numpy(out), L1Ball(1.2).prox(v_np), rtol=1e-5, atol=1e-6)


def test_integer_input_gives_float64():
    v = np.array([3, -1, 0, 2])
    for g in (Box(0, 1), NonNegative(), Simplex(), TopKSimplex(2), L1Ball()):
        assert g.prox(v).dtype == np.float64


# --- bad inputs --------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda r: Simplex(r), lambda r: TopKSimplex(2, r), lambda r: L1Ball(r)])
@pytest.mark.parametrize("radius", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_radius(make, radius):
    with pytest.raises(ValueError, match="radius"):
        make(radius)


@pytest.mark.parametrize("k", [0, -3])
def test_bad_k(k):
    with pytest.raises(ValueError, match="k"):
        TopKSimplex(k)


def test_bad_k_type():
    with pytest.raises(TypeError, match="k"):
        TopKSimplex(2.5)


def test_bad_bounds():
    with pytest.raises(ValueError, match="lower must be <= upper"):
        Box(1.0, 0.0)
    with pytest.raises(ValueError, match="lower must be <= upper"):
        Box(np.array([0.0, 2.0]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="lower must be <= upper"):
        Box(np.array([0.0, 2.0]), 1.0)
    with pytest.raises(ValueError, match="lower"):
        Box(float("nan"))
    with pytest.raises(ValueError, match="upper"):
        Box(upper=np.array([1.0, np.nan]))
    with pytest.raises(TypeError, match="upper"):
        Box(upper=np.array([1.0 + 1j]))
    with pytest.raises(ValueError, match="broadcastable"):
        Box(np.zeros(2), np.ones(3))


@pytest.mark.parametrize("g", [Box(), NonNegative(), Simplex(), TopKSimplex(1), L1Ball()], ids=repr)
@pytest.mark.parametrize("step", [0.0, -1.0])
def test_bad_step(g, step):
    with pytest.raises(ValueError, match="step"):
        g.prox(np.ones(3), step)


def test_bad_arrays():
    with pytest.raises(TypeError, match="complex"):
        Simplex().prox(np.ones(3) + 1j)
    with pytest.raises(TypeError, match="complex"):
        Box().prox(np.ones(3) + 1j)
    with pytest.raises(TypeError, match="axis"):
        Simplex(axis=1.0)
    with pytest.raises(ValueError, match="axis"):
        TopKSimplex(1, axis=1).prox(np.ones(3))
    with pytest.raises(ValueError, match="at least one element"):
        Simplex().prox(np.ones(0))
