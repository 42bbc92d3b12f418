"""Tests for the total-variation penalties TV1D, TVND, TV2D, TV3D."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import minimize

import optlib.functions._tv as tv_module
from optlib import ConvergenceWarning
from optlib._backend import numba_available
from optlib.functions import TV1D, TV2D, TV3D, TVND
from tests.conftest import to_numpy

# ---------------------------------------------------------------------------
# independent references and certificates
# ---------------------------------------------------------------------------


def _dual_adjoint(p):
    """D^T p for the n-1 dual variables of a length-n signal."""
    return np.concatenate(([-p[0]], p[:-1] - p[1:], [p[-1]]))


def scipy_tv1d_prox(y, lam):
    """TV1D prox by L-BFGS-B on the box-constrained dual (accurate to ~1e-7)."""
    y = np.asarray(y, dtype=float)
    n = y.size
    if n < 2 or lam == 0:
        return y.copy()

    def fun(p):
        x = y - _dual_adjoint(p)
        return 0.5 * x @ x, -(x[1:] - x[:-1])

    res = minimize(
        fun,
        np.zeros(n - 1),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-lam, lam)] * (n - 1),
        options=dict(ftol=0.0, gtol=1e-14, maxiter=20000, maxcor=30),
    )
    return y - _dual_adjoint(res.x)


def kkt_violation_tv1d(x, y, lam):
    """Largest violation of the optimality conditions of the 1-D TV prox at ``x``.

    With p = cumsum(x - y): p[-1] = 0, |p_j| <= lam, and p_j = lam sign(x[j+1] - x[j])
    wherever the signal jumps. Zero for the exact prox.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    p = np.cumsum(x - y)
    viol = abs(p[-1])
    if x.size > 1:
        p = p[:-1]
        dx = np.diff(x)
        viol = max(viol, float(np.max(np.abs(p))) - lam)
        jump = np.abs(dx) > 1e-9 * (1 + np.abs(y).max())
        if np.any(jump):
            viol = max(viol, float(np.max(np.abs(p[jump] - lam * np.sign(dx[jump])))))
    return viol


def tv_objective(f, x, v):
    return 0.5 * float(np.sum((np.asarray(x) - np.asarray(v)) ** 2)) + f(x)


requires_numba = pytest.mark.skipif(not numba_available(), reason="numba unavailable or disabled")
# both engines are exact; the numba one is the reference when it can run
REF = "numba" if numba_available() else "xp"
ENGINES = [pytest.param("numba", marks=requires_numba), "xp"]

signals = arrays(
    np.float64,
    st.integers(1, 30),
    elements=st.floats(-10, 10, allow_nan=False, width=64),
)
weights = st.floats(0.0, 5.0, allow_nan=False)


# ---------------------------------------------------------------------------
# TV1D: exactness
# ---------------------------------------------------------------------------


@requires_numba
@settings(max_examples=40, deadline=None)
@given(y=signals, lam=weights)
def test_tv1d_numba_matches_scipy_reference(y, lam):
    x = TV1D(lam, engine="numba").prox(y)
    np.testing.assert_allclose(x, scipy_tv1d_prox(y, lam), rtol=0, atol=1e-6)
    assert kkt_violation_tv1d(x, y, lam) <= 1e-9 * (1 + lam + np.abs(y).max())


@settings(max_examples=40, deadline=None)
@given(y=signals, lam=weights)
def test_tv1d_xp_path_is_exact(y, lam):
    x = TV1D(lam, engine="xp").prox(y)
    assert kkt_violation_tv1d(x, y, lam) <= 1e-9 * (1 + lam + np.abs(y).max())
    np.testing.assert_allclose(x, TV1D(lam, engine=REF).prox(y), rtol=0, atol=1e-10)


@pytest.mark.parametrize("kind", ["noise", "walk", "steps", "ties"])
@pytest.mark.parametrize("lam", [0.01, 0.5, 5.0, 100.0])
@requires_numba
def test_tv1d_long_signals_both_engines_exact(kind, lam):
    rng = np.random.default_rng(0)
    shape = (20, 400)
    y = {
        "noise": rng.standard_normal(shape),
        "walk": np.cumsum(rng.standard_normal(shape), axis=1),
        "steps": np.cumsum(rng.random(shape) < 0.02, axis=1) + 0.2 * rng.standard_normal(shape),
        "ties": np.round(2 * rng.standard_normal(shape)) / 2,
    }[kind]
    x_numba = TV1D(lam, engine="numba").prox(y)
    x_xp = TV1D(lam, engine="xp").prox(y)
    np.testing.assert_allclose(x_xp, x_numba, rtol=0, atol=1e-10 * (1 + np.abs(y).max()))
    for row in range(0, shape[0], 5):
        assert kkt_violation_tv1d(x_numba[row], y[row], lam) <= 1e-9 * (1 + lam + np.abs(y).max())


def test_tv1d_fista_fallback_agrees(monkeypatch):
    rng = np.random.default_rng(1)
    y = np.cumsum(rng.standard_normal((30, 25)), axis=1)
    lams = (0.1, 1.0, 4.0)
    exact = [TV1D(lam, engine=REF).prox(y) for lam in lams]
    # force the safeguard: no active-set step, FISTA on the dual does all the work
    monkeypatch.setattr(tv_module, "_ACTIVE_SET_MAX_STEPS", 0)
    for lam, ref in zip(lams, exact):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            x = TV1D(lam, engine="xp").prox(y)
        np.testing.assert_allclose(x, ref, rtol=0, atol=1e-6)


def test_tv1d_fista_fallback_warns_at_max_iter(monkeypatch):
    monkeypatch.setattr(tv_module, "_ACTIVE_SET_MAX_STEPS", 0)
    y = np.cumsum(np.random.default_rng(2).standard_normal((4, 50)), axis=1)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        TV1D(1.0, engine="xp", max_iter=3).prox(y)


def test_tv1d_numba_disabled_uses_xp_path(numba_disabled):
    y = np.cumsum(np.random.default_rng(3).standard_normal((5, 40)), axis=1)
    x = TV1D(0.7).prox(y)  # engine="auto" falls back to the array-API path
    np.testing.assert_allclose(x, TV1D(0.7, engine="xp").prox(y), rtol=0, atol=0)
    with pytest.raises(ValueError, match="numba"):
        TV1D(0.7, engine="numba").prox(y)


# ---------------------------------------------------------------------------
# TV1D: closed forms and properties
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_tv1d_large_lam_gives_mean(engine):
    rng = np.random.default_rng(4)
    y = rng.standard_normal((3, 17))
    # lam >= max_j |cumsum(y - mean)_j| makes the constant signal optimal
    lam = float(np.max(np.abs(np.cumsum(y - y.mean(axis=1, keepdims=True), axis=1)))) + 1e-3
    x = TV1D(lam, engine=engine).prox(y)
    mean = np.broadcast_to(y.mean(axis=1, keepdims=True), y.shape)
    np.testing.assert_allclose(x, mean, atol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_tv1d_zero_lam_is_identity_and_copies(engine):
    y = np.random.default_rng(5).standard_normal((4, 9))
    x = TV1D(0.0, engine=engine).prox(y)
    np.testing.assert_array_equal(x, y)
    assert x is not y
    assert not np.shares_memory(x, y)


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=30, deadline=None)
@given(v0=st.floats(-5, 5), v1=st.floats(-5, 5), lam=weights)
def test_tv1d_two_samples_closed_form(engine, v0, v1, lam):
    # the two samples move towards each other by min(lam, |v1 - v0| / 2)
    shift = np.sign(v1 - v0) * min(lam, abs(v1 - v0) / 2)
    x = TV1D(lam, engine=engine).prox(np.array([v0, v1]))
    np.testing.assert_allclose(x, [v0 + shift, v1 - shift], rtol=0, atol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_tv1d_axis_step_and_mean_preservation(engine):
    rng = np.random.default_rng(6)
    y = rng.standard_normal((12, 3, 5))
    f = TV1D(0.4, axis=0, engine=engine)
    x = f.prox(y, step=2.5)
    ref = np.moveaxis(TV1D(1.0, engine=engine).prox(np.moveaxis(y, 0, -1)), -1, 0)
    np.testing.assert_allclose(x, ref, atol=1e-12)
    np.testing.assert_allclose(x.sum(axis=0), y.sum(axis=0), atol=1e-10)  # D^T p sums to 0
    assert f(y) == pytest.approx(0.4 * np.abs(np.diff(y, axis=0)).sum())
    assert isinstance(f(y), float)


def test_tv1d_prox_decreases_objective_against_perturbations():
    rng = np.random.default_rng(7)
    y = np.cumsum(rng.standard_normal(60), axis=0)
    f = TV1D(1.3)
    x = f.prox(y)
    best = tv_objective(f, x, y)
    for scale in (1e-1, 1e-3, 1e-6):
        for _ in range(20):
            assert tv_objective(f, x + scale * rng.standard_normal(x.shape), y) >= best - 1e-12


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("engine", ENGINES)
def test_tv1d_dtype_and_contiguity(engine, dtype):
    y = np.cumsum(np.random.default_rng(8).standard_normal((6, 50)), axis=1).astype(dtype)
    y_view = y.T  # non-contiguous, signals along axis 0
    before = y.copy()
    x = TV1D(0.8, axis=0, engine=engine).prox(y_view)
    assert x.dtype == dtype
    assert x.shape == y_view.shape
    np.testing.assert_array_equal(y, before)
    ref = TV1D(0.8, engine=REF).prox(y.astype(np.float64)).T
    np.testing.assert_allclose(x, ref, rtol=0, atol=2e-5 if dtype == np.float32 else 1e-12)


# ---------------------------------------------------------------------------
# TV2D / TV3D
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("isotropic", [True, False])
def test_tv2d_identical_rows_reduce_to_tv1d(isotropic):
    rng = np.random.default_rng(9)
    row = np.cumsum(rng.standard_normal(30))
    img = np.tile(row, (4, 1))
    x = TV2D(0.9, isotropic=isotropic, max_iter=20000, tol=1e-12).prox(img)
    np.testing.assert_allclose(x, np.tile(TV1D(0.9).prox(row), (4, 1)), rtol=0, atol=1e-6)
    x1 = TV2D(0.9, isotropic=isotropic, max_iter=20000, tol=1e-12).prox(row[None, :])
    np.testing.assert_allclose(x1[0], TV1D(0.9).prox(row), rtol=0, atol=1e-6)


def test_tv3d_identical_slices_reduce_to_tv2d():
    rng = np.random.default_rng(10)
    img = rng.standard_normal((8, 9))
    vol = np.stack([img] * 3)
    opts = dict(max_iter=20000, tol=1e-12)
    x = TV3D(0.3, **opts).prox(vol)
    ref = TV2D(0.3, **opts).prox(img)
    for k in range(3):
        np.testing.assert_allclose(x[k], ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("isotropic", [True, False])
def test_tv2d_prox_is_optimal(isotropic):
    rng = np.random.default_rng(11)
    v = rng.standard_normal((12, 10))
    f = TV2D(0.5, isotropic=isotropic)
    x_ref = TV2D(0.5, isotropic=isotropic, max_iter=50000, tol=1e-13).prox(v)
    best = tv_objective(f, x_ref, v)
    # the minimiser beats random perturbations at all scales
    for scale in (1e-1, 1e-3, 1e-5):
        for _ in range(20):
            assert tv_objective(f, x_ref + scale * rng.standard_normal(v.shape), v) >= best - 1e-10
    # the default (looser) prox is close to it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        x = f.prox(v)
    assert tv_objective(f, x, v) <= best * (1 + 1e-4)
    np.testing.assert_allclose(x, x_ref, rtol=0, atol=1e-2)
    # Neumann TV keeps the mean
    assert x_ref.sum() == pytest.approx(v.sum(), abs=1e-9)


def test_tv2d_value_isotropic_and_anisotropic():
    img = np.array([[0.0, 3.0], [4.0, 3.0]])
    # pixel (0,0): diffs (4, 3) -> 5 (iso) / 7 (aniso); pixel (0,1): (0, 0); (1,0): (0, -1) -> 1
    assert TV2D(2.0)(img) == pytest.approx(2.0 * 6.0)
    assert TV2D(2.0, isotropic=False)(img) == pytest.approx(2.0 * 8.0)
    assert isinstance(TV2D()(img), float)


def test_tvnd_batch_and_aliases():
    rng = np.random.default_rng(12)
    stack = rng.standard_normal((2, 3, 7, 6))
    f = TV2D(0.4, max_iter=500, tol=1e-10)
    x = f.prox(stack, step=0.5)
    for i in range(2):
        for j in range(3):
            np.testing.assert_allclose(x[i, j], f.prox(stack[i, j], step=0.5), atol=1e-8)
    g = TVND(0.2, ndim=2, max_iter=500, tol=1e-10)
    np.testing.assert_allclose(g.prox(stack), x, atol=1e-8)
    assert f(stack) == pytest.approx(sum(f(stack[i, j]) for i in range(2) for j in range(3)))
    assert repr(TV2D(0.4)) == "TV2D(lam=0.4, isotropic=True, max_iter=1000, tol=1e-06)"
    assert "ndim=3" in repr(TVND(ndim=3))


def test_tv2d_constant_image_and_warning():
    img = np.full((5, 4), 2.5)
    np.testing.assert_allclose(TV2D(1.0).prox(img), img)
    noisy = np.random.default_rng(13).standard_normal((16, 16))
    with pytest.warns(ConvergenceWarning, match="TV2D"):
        TV2D(1.0, max_iter=2).prox(noisy)


# ---------------------------------------------------------------------------
# array namespaces (numpy, array_api_strict, cupy)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
@pytest.mark.parametrize(
    "make",
    [
        lambda: TV1D(0.6),
        lambda: TV1D(0.6, axis=0),
        lambda: TV2D(0.3, max_iter=400, tol=1e-9),
        lambda: TV2D(0.3, isotropic=False, max_iter=400, tol=1e-9),
        lambda: TV3D(0.2, max_iter=400, tol=1e-9),
    ],
    ids=["tv1d", "tv1d-axis0", "tv2d-iso", "tv2d-aniso", "tv3d"],
)
def test_namespaces_agree(xp, make, dtype_name):
    f = make()
    rng = np.random.default_rng(14)
    shape = (3, 6, 7) if isinstance(f, TV3D) else (6, 9)
    v_np = np.cumsum(rng.standard_normal(shape), axis=-1).astype(dtype_name)
    v = xp.asarray(v_np)
    before = to_numpy(v).copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        x = f.prox(v, step=1.5)
        ref = f.prox(v_np.astype(np.float64), step=1.5)
    assert x.dtype == getattr(xp, dtype_name)
    assert type(x) is type(v)
    assert x.device == v.device
    assert x.shape == v.shape
    np.testing.assert_array_equal(to_numpy(v), before)
    atol = 1e-4 if dtype_name == "float32" else (1e-9 if isinstance(f, TV1D) else 1e-6)
    np.testing.assert_allclose(to_numpy(x), ref, rtol=0, atol=atol)
    value = f(v)
    assert isinstance(value, float)
    assert value == pytest.approx(f(v_np.astype(np.float64)), rel=1e-5)


def test_numba_engine_rejects_other_namespaces():
    strict = pytest.importorskip("array_api_strict")
    with pytest.raises(ValueError, match="engine='numba'"):
        TV1D(1.0, engine="numba").prox(strict.asarray([1.0, 2.0]))


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: TV1D(-1.0), "lam"),
        (lambda: TV1D(1.0, engine="cuda"), "engine"),
        (lambda: TV1D(1.0, axis=1.5), "axis"),
        (lambda: TV1D(1.0, max_iter=0), "max_iter"),
        (lambda: TV1D(1.0, tol=-1e-3), "tol"),
        (lambda: TV2D(-0.5), "lam"),
        (lambda: TV2D(1.0, tol=0.0), "tol"),
        (lambda: TVND(1.0, ndim=4), "ndim"),
        (lambda: TVND(1.0, ndim=1), "ndim"),
        (lambda: TV3D(1.0, max_iter=-3), "max_iter"),
    ],
)
def test_bad_parameters(build, match):
    with pytest.raises((ValueError, TypeError), match=match):
        build()


def test_bad_inputs():
    with pytest.raises(TypeError, match="Magnitude"):
        TV1D(1.0).prox(np.array([1.0 + 1j, 2.0]))
    with pytest.raises(TypeError, match="Magnitude"):
        TV2D(1.0)(np.ones((3, 3), dtype=complex))
    with pytest.raises(ValueError, match="ndim=2"):
        TV2D(1.0).prox(np.ones(5))
    with pytest.raises(ValueError, match="ndim=3"):
        TV3D(1.0)(np.ones((4, 4)))
    with pytest.raises(ValueError, match="axis"):
        TV1D(1.0, axis=2).prox(np.ones((3, 3)))
    with pytest.raises(ValueError, match="step"):
        TV1D(1.0).prox(np.ones(3), step=0.0)
    with pytest.raises(ValueError, match="NaN"):
        TV1D(1.0).prox(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="dimension"):
        TV1D(1.0).prox(np.float64(3.0))


def test_integer_and_list_input_become_float64():
    x = TV1D(0.5).prox([0, 0, 4, 4])
    assert x.dtype == np.float64
    np.testing.assert_allclose(x, [0.25, 0.25, 3.75, 3.75])
    assert TV2D(1.0)([[0, 1], [1, 1]]) == pytest.approx(np.sqrt(2.0))
