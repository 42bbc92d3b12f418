"""Norm penalties: prox optimality (brute force), Moreau identity, conjugates, namespaces, errors."""

import numpy as np
import pytest
from array_api_compat import array_namespace
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.optimize import minimize, minimize_scalar

from optlib.functions import L1, L2, ElasticNet, GroupL21
from tests.conftest import to_numpy

SETTINGS = settings(max_examples=50, deadline=None)

finite = st.floats(-5.0, 5.0, allow_nan=False, allow_infinity=False, width=64)
steps = st.floats(0.1, 3.0)
weights = st.floats(0.0, 3.0)
ratios = st.floats(0.0, 1.0)


def vectors(min_side=1, max_side=6):
    return hnp.arrays(np.float64, st.integers(min_side, max_side), elements=finite)


def matrices(max_side=4):
    return hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=max_side), elements=finite)


def _prox_objective(g, v, step):
    return lambda x: g(np.asarray(x).reshape(v.shape)) + np.sum((np.asarray(x).reshape(v.shape) - v) ** 2) / (2 * step)


def _brute_force_separable(scalar_g, v, step):
    """Coordinate-wise bounded scalar minimisation of scalar_g(x) + (x - v_i)^2 / (2 step)."""
    out = np.empty_like(v)
    for i, vi in np.ndenumerate(v):
        res = minimize_scalar(
            lambda x: scalar_g(x) + (x - vi) ** 2 / (2 * step),
            bounds=(min(vi, 0.0) - 1.0, max(vi, 0.0) + 1.0),
            method="bounded",
            options={"xatol": 1e-12},
        )
        out[i] = res.x
    return out


def _brute_force(g, v, step, p):
    """Best of several Powell runs (including one started at p) on the prox objective."""
    obj = _prox_objective(g, v, step)
    best = None
    for x0 in (v, np.zeros_like(v), p + 1e-3):
        res = minimize(obj, x0.ravel(), method="Powell", options={"xtol": 1e-10, "ftol": 1e-14, "maxiter": 20000})
        if best is None or res.fun < best.fun:
            best = res
    return best.x.reshape(v.shape), best.fun


# --- prox optimality against brute force ---------------------------------------------------


@SETTINGS
@given(v=vectors(), lam=weights, step=steps)
def test_l1_prox_brute_force(v, lam, step):
    p = L1(lam).prox(v, step)
    bf = _brute_force_separable(lambda x: lam * abs(x), v, step)
    np.testing.assert_allclose(p, bf, atol=1e-6)


@SETTINGS
@given(v=vectors(), lam=weights, ratio=ratios, step=steps)
def test_elastic_net_prox_brute_force(v, lam, ratio, step):
    p = ElasticNet(lam, ratio).prox(v, step)
    bf = _brute_force_separable(lambda x: lam * (ratio * abs(x) + 0.5 * (1 - ratio) * x * x), v, step)
    np.testing.assert_allclose(p, bf, atol=1e-6)


@SETTINGS
@given(v=vectors(max_side=4), lam=weights, step=steps)
def test_l2_prox_brute_force(v, lam, step):
    g = L2(lam)
    p = g.prox(v, step)
    obj = _prox_objective(g, v, step)
    bf, fbf = _brute_force(g, v, step, p)
    assert obj(p) <= fbf + 1e-10
    # strong convexity: ||bf - p||^2 / (2 step) <= obj(bf) - obj(p)
    np.testing.assert_allclose(p, bf, atol=1e-3)


@SETTINGS
@given(v=matrices(max_side=3), lam=weights, step=steps, axis=st.sampled_from([0, 1, -1, (0, 1)]))
def test_group_l21_prox_brute_force(v, lam, step, axis):
    g = GroupL21(lam, axis=axis)
    p = g.prox(v, step)
    obj = _prox_objective(g, v, step)
    bf, fbf = _brute_force(g, v, step, p)
    assert obj(p) <= fbf + 1e-10
    np.testing.assert_allclose(p, bf, atol=1e-3)


def test_elastic_net_matches_scikit_learn():
    """With X = sqrt(n) I, scikit-learn's ElasticNet solution is prox_g(y / sqrt(n))."""
    from sklearn.linear_model import ElasticNet as SkElasticNet

    rng = np.random.default_rng(0)
    n = 12
    y = rng.standard_normal(n)
    for alpha, l1_ratio in [(0.05, 0.5), (0.1, 0.9), (0.02, 0.1)]:
        sk = SkElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=False, tol=1e-14, max_iter=100000)
        sk.fit(np.sqrt(n) * np.eye(n), y)
        ours = ElasticNet(alpha, l1_ratio).prox(y / np.sqrt(n))
        np.testing.assert_allclose(ours, sk.coef_, atol=1e-10)


def test_group_l21_groups_are_slices_along_axis():
    v = np.array([[3.0, 4.0], [0.3, 0.4]])
    # axis=-1: rows are groups, norms 5 and 0.5
    assert GroupL21(1.0, axis=-1)(v) == pytest.approx(5.5)
    np.testing.assert_allclose(GroupL21(1.0, axis=-1).prox(v), [[2.4, 3.2], [0.0, 0.0]])
    # axis=0: columns are groups
    col = np.linalg.norm(v, axis=0)
    assert GroupL21(2.0, axis=0)(v) == pytest.approx(2 * col.sum())
    np.testing.assert_allclose(GroupL21(1.0, axis=0).prox(v), v * np.maximum(1 - 1 / col, 0))
    # all axes: the l2 norm of the whole array
    np.testing.assert_allclose(GroupL21(0.7, axis=(0, 1)).prox(v), L2(0.7).prox(v))


# --- complex inputs --------------------------------------------------------------------------


def _complex(v, w):
    return v + 1j * w


@SETTINGS
@given(data=st.data(), lam=weights, step=steps)
def test_complex_prox_equals_real_pairs(data, lam, step):
    """For L2 / GroupL21 / L1 / ElasticNet a complex entry behaves as a pair (re, im) in the same group."""
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=2, max_side=4))
    re = data.draw(hnp.arrays(np.float64, shape, elements=finite))
    im = data.draw(hnp.arrays(np.float64, shape, elements=finite))
    z = _complex(re, im)
    pairs = np.stack([re, im], axis=-1)  # (..., 2): the pair is the innermost group
    p = L2(lam).prox(z, step)
    q = L2(lam).prox(pairs, step)
    np.testing.assert_allclose(np.stack([p.real, p.imag], -1), q, atol=1e-12)
    p = GroupL21(lam, axis=0).prox(z, step)
    q = GroupL21(lam, axis=(0, 2)).prox(pairs, step)
    np.testing.assert_allclose(np.stack([p.real, p.imag], -1), q, atol=1e-12)
    p = L1(lam).prox(z, step)
    q = GroupL21(lam, axis=-1).prox(pairs, step)
    np.testing.assert_allclose(np.stack([p.real, p.imag], -1), q, atol=1e-12)
    assert L1(lam)(z) == pytest.approx(GroupL21(lam, axis=-1)(pairs))
    p = ElasticNet(lam, 0.4).prox(z, step)
    np.testing.assert_allclose(p, L1(0.4 * lam).prox(z, step) / (1 + step * 0.6 * lam), atol=1e-12)


# --- Moreau identity: prox_{t g}(v) + t proj_{dual ball}(v / t) = v ---------------------------


def _proj_linf(u, r):
    return np.clip(u, -r, r)


def _proj_l2(u, r, axis=None):
    n = np.sqrt(np.sum(np.abs(u) ** 2, axis=axis, keepdims=True))
    return u * np.minimum(1.0, r / np.where(n > 0, n, 1.0))


@SETTINGS
@given(v=matrices(), lam=weights, step=steps)
def test_moreau_identity_norms(v, lam, step):
    t = step
    np.testing.assert_allclose(L1(lam).prox(v, t) + t * _proj_linf(v / t, lam), v, atol=1e-12)
    np.testing.assert_allclose(L2(lam).prox(v, t) + t * _proj_l2(v / t, lam), v, atol=1e-12)
    for axis in (0, -1):
        p = GroupL21(lam, axis=axis).prox(v, t)
        np.testing.assert_allclose(p + t * _proj_l2(v / t, lam, axis=axis), v, atol=1e-12)


@SETTINGS
@given(v=matrices(), lam=st.floats(0.01, 3.0), ratio=st.floats(0.0, 0.99), step=steps)
def test_moreau_identity_elastic_net(v, lam, ratio, step):
    """Conjugate h*(u) = max(|u| - a, 0)^2 / (2 b) has prox_{h*/t}(w) in closed form."""
    a, b, t = lam * ratio, lam * (1 - ratio), step
    w = v / t
    mag = np.where(np.abs(w) <= a, np.abs(w), (b * t * np.abs(w) + a) / (b * t + 1))
    prox_conj = np.sign(w) * mag
    np.testing.assert_allclose(ElasticNet(lam, ratio).prox(v, t) + t * prox_conj, v, atol=1e-10)


# --- conjugates: Fenchel-Young, closed forms, dual scaling ------------------------------------

CONVEX = [
    lambda lam: L1(lam),
    lambda lam: L2(lam),
    lambda lam: GroupL21(lam, axis=0),
    lambda lam: GroupL21(lam, axis=-1),
    lambda lam: ElasticNet(lam, 0.3),
    lambda lam: ElasticNet(lam, 1.0),
    lambda lam: ElasticNet(lam, 0.0),
]


@SETTINGS
@given(v=matrices(), lam=st.floats(0.05, 3.0), step=steps, which=st.integers(0, len(CONVEX) - 1))
def test_fenchel_young_equality_at_prox(v, lam, step, which):
    """p = prox_{t g}(v), u = (v - p) / t in dg(p): g(p) + g*(u) = <p, u>."""
    g = CONVEX[which](lam)
    p = g.prox(v, step)
    u = (v - p) / step
    u = u * g.dual_scaling(u)  # c = 1 up to the rounding of v - p
    assert g(p) + g.conjugate(u) == pytest.approx(np.sum(p * u), rel=1e-9, abs=1e-9)


@SETTINGS
@given(x=matrices(3), u=matrices(3), lam=st.floats(0.05, 3.0), which=st.integers(0, len(CONVEX) - 1))
def test_fenchel_young_inequality_and_dual_scaling(x, u, lam, which):
    g = CONVEX[which](lam)
    if x.shape != u.shape:
        u = np.resize(u, x.shape)
    c = g.dual_scaling(u)
    assert 0.0 < c <= 1.0
    conj = g.conjugate(c * u)
    assert np.isfinite(conj)
    assert g(x) + conj >= np.sum(x * c * u) - 1e-9
    if c < 1.0:
        assert g.conjugate(c * (1 + 1e-6) * u) == np.inf


@SETTINGS
@given(u=st.floats(-6.0, 6.0), lam=st.floats(0.1, 3.0), ratio=st.floats(0.0, 0.95))
def test_elastic_net_conjugate_numerical(u, lam, ratio):
    """sup_x u x - h(x) computed numerically agrees with the closed form."""
    g = ElasticNet(lam, ratio)
    r = abs(u) / (lam * (1 - ratio)) + 1.0  # the maximiser lies in [-r, r]
    res = minimize_scalar(
        lambda x: -(u * x - g(np.array([x]))), bounds=(-r, r), method="bounded", options={"xatol": 1e-12}
    )
    assert g.conjugate(np.array([u])) == pytest.approx(-res.fun, rel=1e-6, abs=1e-8)


def test_conjugate_outside_dual_ball_is_inf():
    u = np.array([[3.0, 4.0], [0.0, 1.0]])
    assert L1(4.0).conjugate(u) == 0.0 and L1(3.9).conjugate(u) == np.inf
    assert L2(np.sqrt(26.0)).conjugate(u) == 0.0 and L2(5.0).conjugate(u) == np.inf
    assert GroupL21(5.0).conjugate(u) == 0.0 and GroupL21(4.9).conjugate(u) == np.inf
    assert GroupL21(4.0, axis=0).conjugate(u) == np.inf
    assert GroupL21(5.0).dual_scaling(u) == 1.0
    assert GroupL21(2.5).dual_scaling(u) == pytest.approx(0.5)
    assert ElasticNet(1.0, 0.5).dual_scaling(u) == 1.0
    assert ElasticNet(2.0, 1.0).dual_scaling(u) == pytest.approx(0.5)


def test_values():
    x = np.array([[3.0, -4.0], [0.0, 1.0]])
    assert L2(2.0)(x) == pytest.approx(2 * np.sqrt(26.0))
    assert GroupL21(1.0)(x) == pytest.approx(6.0)
    assert ElasticNet(2.0, 0.25)(x) == pytest.approx(2 * (0.25 * 8 + 0.5 * 0.75 * 26))
    for g in (L2(), GroupL21(), ElasticNet()):
        assert isinstance(g(x), float)
    assert L2.is_separable is False and GroupL21.is_separable is False
    assert ElasticNet.is_separable is True


# --- namespaces, dtypes, no in-place modification ----------------------------------------------

FACTORIES = {
    "L1": lambda: L1(0.3),
    "L2": lambda: L2(1.5),
    "GroupL21-row": lambda: GroupL21(0.8, axis=-1),
    "GroupL21-col": lambda: GroupL21(0.8, axis=0),
    "ElasticNet": lambda: ElasticNet(0.4, 0.7),
}


@pytest.mark.parametrize("name", list(FACTORIES))
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128"])
def test_namespace_dtype_no_inplace(xp, name, dtype):
    rng = np.random.default_rng(1)
    v_np = rng.standard_normal((4, 5))
    if dtype.startswith("complex"):
        v_np = v_np + 1j * rng.standard_normal((4, 5))
    v_np = v_np.astype(dtype)
    v = xp.asarray(v_np)
    before = np.array(to_numpy(v), copy=True)
    g = FACTORIES[name]()
    out = g.prox(v, step=0.7)
    assert array_namespace(out) is array_namespace(v)
    assert out.device == v.device
    assert out.dtype == v.dtype and tuple(out.shape) == (4, 5)
    np.testing.assert_array_equal(to_numpy(v), before)
    single = dtype in ("float32", "complex64")
    ref = FACTORIES[name]().prox(v_np, step=0.7)
    np.testing.assert_allclose(to_numpy(out), ref, rtol=1e-5 if single else 1e-12, atol=1e-6 if single else 1e-12)
    val = g(out)
    assert isinstance(val, float)
    assert val == pytest.approx(g(ref), rel=1e-5 if single else 1e-12)
    u = v * 0.1
    assert g.conjugate(u) == pytest.approx(g.conjugate(v_np * 0.1), rel=1e-5 if single else 1e-12)
    assert g.dual_scaling(v) == pytest.approx(g.dual_scaling(v_np), rel=1e-5 if single else 1e-12)
    w = 10 * v  # the duality-gap contract holds in single precision too
    assert g.conjugate(g.dual_scaling(w) * w) < np.inf


def test_integer_input_gives_float64():
    v = np.array([3, -1, 0, 2])
    for g in (L2(1.0), GroupL21(1.0), ElasticNet(1.0)):
        out = g.prox(v)
        assert out.dtype == np.float64
        assert isinstance(g(v), float)


# --- bad inputs --------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [L1, L2, GroupL21, ElasticNet])
def test_negative_lam(cls):
    with pytest.raises(ValueError, match="lam"):
        cls(-1.0)
    with pytest.raises(ValueError, match="lam"):
        cls(float("nan"))
    with pytest.raises(TypeError, match="lam"):
        cls("1")


@pytest.mark.parametrize("g", [L1(), L2(), GroupL21(), ElasticNet()], ids=repr)
@pytest.mark.parametrize("step", [0.0, -1.0, float("inf")])
def test_bad_step(g, step):
    with pytest.raises(ValueError, match="step"):
        g.prox(np.ones(3), step)


def test_bad_l1_ratio():
    for r in (-0.1, 1.5):
        with pytest.raises(ValueError, match="l1_ratio"):
            ElasticNet(1.0, r)


def test_bad_axis():
    with pytest.raises(TypeError, match="axis"):
        GroupL21(1.0, axis=1.5)
    with pytest.raises(TypeError, match="axis"):
        GroupL21(1.0, axis=())
    with pytest.raises(ValueError, match="axis"):
        GroupL21(1.0, axis=2).prox(np.ones((2, 3)))
    with pytest.raises(ValueError, match="axis"):
        GroupL21(1.0, axis=(0, -2)).prox(np.ones((2, 3)))
