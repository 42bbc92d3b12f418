"""CoLiDE: gradients and scales vs finite differences / SciPy, engines, accuracy, acyclicity, API."""

import math
import warnings

import array_api_compat.numpy as xnp
import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from sklearn.exceptions import ConvergenceWarning

from optlib.dag import CoLiDE, colide, is_dag
from optlib.dag._colide import _closed_form_scale, _XPState
from optlib.datasets import simulate_dag, simulate_linear_sem
from optlib.metrics import shd
from tests.conftest import to_numpy

SHORT = {"warm_iter": 200, "max_iter": 200, "check_every": 100}  # a few hundred Adam steps


def _data(d=6, n=300, seed=0, unequal=False):
    W = simulate_dag(d, d, random_state=seed)
    scale = np.sqrt(np.random.default_rng(seed).uniform(0.5, 10, d)) if unequal else 1.0
    return W, simulate_linear_sem(W, n, noise_scale=scale, random_state=seed)


def _state(mode, seed=0, d=5):
    rng = np.random.default_rng(seed)
    _, X = _data(d, seed=seed)
    Xc = X - X.mean(0)
    C = Xc.T @ Xc / X.shape[0]
    W = 0.2 * rng.standard_normal((d, d))  # inside the domain of s = 1 (small entries)
    state = _XPState(xnp.asarray(W), xnp.ones(d), xnp.asarray(C), mode, 1e-6, xnp)
    if mode != 2:  # DAGMA's score has no scale (it stays at one)
        state.sigma = xnp.asarray(rng.uniform(0.5, 2.0, d) if mode == 1 else np.full(d, 1.3))
    return state, C


def _objective_at(state, C, W, alpha, mu, s):
    state.W = W
    state.R = C @ (np.eye(W.shape[0]) - W)  # scales held fixed
    return state.objective(alpha, mu, s)[0]


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_gradient_matches_central_differences(mode):
    alpha, mu, s = 0.05, 0.7, 1.0
    state, C = _state(mode)
    W = np.asarray(state.W).copy()
    d = W.shape[0]
    M_inv = np.linalg.inv(s * np.eye(d) - W * W)
    grad = np.asarray(state.gradient(xnp.asarray(M_inv), alpha, mu))
    eps = 1e-6
    numeric = np.empty_like(W)
    for i in range(d):
        for j in range(d):
            E = np.zeros_like(W)
            E[i, j] = eps
            numeric[i, j] = (_objective_at(state, C, W + E, alpha, mu, s)
                             - _objective_at(state, C, W - E, alpha, mu, s)) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7)


def test_log_det_acyclicity_vs_determinant_and_zero_on_dags():
    state, C = _state(2, d=4)
    W = np.asarray(state.W)
    for s in (1.0, 0.8):
        h = _objective_at(state, C, W, 0.0, 0.0, s)  # mu = 0: h alone
        assert h == pytest.approx(-math.log(np.linalg.det(s * np.eye(4) - W * W)) + 4 * math.log(s), rel=1e-12)
        assert h > 0  # W has cycles
    dag = simulate_dag(6, 8, random_state=0) * 0.3
    state6 = _XPState(xnp.asarray(dag), xnp.ones(6), xnp.eye(6), 2, 1e-6, xnp)
    assert state6.objective(0.0, 0.0, 0.9)[2] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("variance", ["equal", "nonequal"])
def test_closed_form_scale_minimises_the_score(variance):
    rng = np.random.default_rng(0)
    _, X = _data(5, unequal=True)
    Xc = X - X.mean(0)
    C = Xc.T @ Xc / X.shape[0]
    W = 0.3 * rng.standard_normal((5, 5))
    I_W = np.eye(5) - W
    c = np.diag(I_W.T @ C @ I_W)
    sigma = np.asarray(_closed_form_scale(xnp.asarray(W), xnp.asarray(C), variance, 0.0, xnp))
    bounds = (1e-3, 100.0)
    if variance == "equal":
        ref = minimize_scalar(lambda t: c.sum() / (2 * t) + 5 * t / 2, bounds=bounds, method="bounded",
                              options={"xatol": 1e-10}).x
        assert sigma.shape == () and float(sigma) == pytest.approx(ref, rel=1e-6)
    else:
        ref = [minimize_scalar(lambda t, cj=cj: cj / (2 * t) + t / 2, bounds=bounds, method="bounded",
                               options={"xatol": 1e-10}).x for cj in c]
        np.testing.assert_allclose(sigma, ref, rtol=1e-6)


@pytest.mark.parametrize("variance", ["equal", "nonequal"])
@pytest.mark.parametrize("score", ["colide", "dagma"])
def test_numba_and_array_api_engines_agree(variance, score):
    pytest.importorskip("numba")
    _, X = _data()
    kw = dict(variance=variance, score_type=score, **SHORT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fast = colide(X, engine="numba", **kw)
        portable = colide(X, engine="xp", **kw)
    np.testing.assert_allclose(fast.x, portable.x, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(fast.noise_scale, portable.noise_scale, rtol=1e-9)
    assert fast.nit == portable.nit == 800 and fast.fun == pytest.approx(portable.fun, rel=1e-9)


def test_engines_agree_through_step_backs_and_restarts():
    """A large step leaves the domain: both engines step back, halve lr or restart the stage alike."""
    pytest.importorskip("numba")
    _, X = _data(5, n=200, seed=1)
    kw = {"lr": 0.3, "s": (1.0, 0.5), "warm_iter": 60, "max_iter": 60, "check_every": 30}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fast = colide(X, engine="numba", history=True, **kw)
        portable = colide(X, engine="xp", history=True, **kw)
    assert fast.history["s"] == portable.history["s"]
    assert fast.history["s"][-1] == pytest.approx(0.6)  # the second stage restarted with s + 0.1
    np.testing.assert_allclose(fast.x, portable.x, rtol=1e-8, atol=1e-10)
    assert is_dag(fast.adjacency)


def test_equal_noise_d10_recovers_the_graph():
    """Issue 17's target: d = 10, n = 1000, equal noise, mean SHD <= 2 over seeds."""
    shds = []
    for seed in range(4):
        W = simulate_dag(10, 20, random_state=seed)
        X = simulate_linear_sem(W, 1000, random_state=seed)
        est = CoLiDE("equal").fit(X)
        assert is_dag(est.adjacency_)
        assert float(est.noise_scale_) == pytest.approx(1.0, abs=0.1)
        shds.append(shd(W, est.adjacency_))
    assert np.mean(shds) <= 2, shds


def test_nonequal_scales_are_estimated():
    W, X = _data(6, n=2000, unequal=True, seed=2)
    true_scale = np.sqrt(np.random.default_rng(2).uniform(0.5, 10, 6))
    est = CoLiDE("nonequal").fit(X)
    assert shd(W, est.adjacency_) <= 1
    np.testing.assert_allclose(est.noise_scale_, true_scale, rtol=0.1)


def test_output_is_acyclic_even_when_stopped_early():
    for seed in range(5):
        _, X = _data(8, seed=seed)
        with pytest.warns(ConvergenceWarning):
            res = colide(X, alpha=0.0, w_threshold=0.0, warm_iter=5, max_iter=5, check_every=5)
        assert not is_dag(res.x) and is_dag(res.adjacency)


def test_convergence_warning_history_callback_and_verbose(capsys):
    _, X = _data()
    with pytest.warns(ConvergenceWarning, match="colide"):
        res = colide(X, history=True, verbose=1, **SHORT)
    assert not res.success and res.status == 1 and res.nit == 800
    assert res.history["iteration"] == [100 * k for k in range(1, 9)]
    assert res.history["mu"][0] == 1.0 and res.history["mu"][-1] == pytest.approx(1e-3)
    assert "[colide] iter   800" in capsys.readouterr().out
    seen = []

    def stop(r):
        seen.append(r.nit)
        if r.nit >= 300:
            raise StopIteration

    res = colide(X, callback=stop, **SHORT)
    assert res.status == 2 and res.nit == 300 and seen == [100, 200, 300]


def test_float32_is_preserved():
    _, X = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = CoLiDE("nonequal", **SHORT).fit(X.astype(np.float32))
        ref = CoLiDE("nonequal", **SHORT).fit(X)
    assert est.adjacency_.dtype == np.float32 and est.noise_scale_.dtype == np.float32
    np.testing.assert_allclose(est.raw_adjacency_, ref.raw_adjacency_, atol=1e-3)  # data rounded to float32


def test_float32_array_api_path_runs_in_float32():
    _, X = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = colide(X.astype(np.float32), engine="xp", warm_iter=50, max_iter=50, check_every=25)
        ref = colide(X, engine="xp", warm_iter=50, max_iter=50, check_every=25)
    assert res.x.dtype == np.float32 and res.noise_scale.dtype == np.float32
    np.testing.assert_allclose(res.x, ref.x, atol=1e-3)


def test_array_api_input_stays_on_its_device(xp):
    _, X = _data()
    Xx = xp.asarray(X)
    short = {"warm_iter": 40, "max_iter": 40, "check_every": 20}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = colide(Xx, variance="nonequal", **short)
        ref = colide(X, variance="nonequal", engine="xp", **short)
        est = CoLiDE("equal", **short).fit(Xx)
    for arr in (res.adjacency, res.x, res.noise_scale, est.adjacency_, est.noise_scale_):
        assert arr.device == Xx.device and arr.dtype == Xx.dtype
    np.testing.assert_allclose(to_numpy(res.x), ref.x, rtol=1e-9, atol=1e-11)
    assert is_dag(res.adjacency)


def test_input_not_modified():
    _, X = _data()
    X0 = X.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        colide(X, **SHORT)
    np.testing.assert_array_equal(X, X0)


def test_bad_input():
    _, X = _data()
    Xc = X.copy()
    Xc[:, 2] = 3.0
    with pytest.raises(ValueError, match="constant column"):
        colide(Xc)
    with pytest.raises(ValueError, match="constant column"):
        CoLiDE().fit(Xc)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        colide(Xn)
    with pytest.raises(ValueError, match="NaN"):
        CoLiDE().fit(Xn)
    with pytest.raises(ValueError, match="at least 2 samples"):
        colide(X[:1])
    with pytest.raises(ValueError, match="1 sample"):
        CoLiDE().fit(X[:1])
    with pytest.raises(ValueError, match="variance"):
        colide(X, variance="unequal")
    with pytest.raises(ValueError, match="score_type"):
        colide(X, score_type="notears")
    with pytest.raises(ValueError, match="alpha"):
        colide(X, alpha=-1)
    with pytest.raises(ValueError, match="s must be > 0"):
        colide(X, s=(1.0, 0.0))
    with pytest.raises(ValueError, match="betas"):
        colide(X, betas=0.9)
    with pytest.raises(TypeError, match="callback"):
        colide(X, callback=3)
