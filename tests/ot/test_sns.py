"""Tests of optlib.ot.sinkhorn_newton_sparse: POT / EMD references, stability, batching, engines, inputs."""

import numpy as np
import pytest

from optlib.ot import sinkhorn_log, sinkhorn_newton_sparse
from tests.conftest import assert_engines_agree
from tests.ot.test_sinkhorn import point_clouds

ot = pytest.importorskip("ot")


def test_matches_pot_sinkhorn_log():
    a, b, M = point_clouds(40, 30, seed=1)
    reg = 2e-2
    ref = ot.sinkhorn(a, b, M, reg, method="sinkhorn_log", numItermax=100_000, stopThr=1e-13)
    G, log = sinkhorn_newton_sparse(a, b, M, reg, log=True, stopThr=1e-12)
    assert np.max(np.abs(G - ref)) < 1e-8
    res = log["result"]
    assert res.success and res.marginal_error <= 1e-12
    assert log["niter_newton"] >= 1 and log["niter_sinkhorn"] >= 1
    assert set(log) >= {"niter", "niter_newton", "niter_sinkhorn", "err", "log_u", "log_v", "result"}
    assert {"marginal_error", "time", "cg_iterations"} <= set(res.history.keys())


@pytest.mark.slow
def test_cost_close_to_emd_at_small_reg():
    # At reg = 1e-4 the entropic bias itself is ~3e-6 on this problem: 1e-6 is not reachable.
    a, b, M = point_clouds(60, seed=2, uniform=True)
    G, log = sinkhorn_newton_sparse(a, b, M, 1e-4, log=True, reg_init=None)  # no continuation
    exact = ot.emd2(a, b, M)
    assert np.all(np.isfinite(G))
    assert log["result"].marginal_error <= 1e-9
    assert abs(np.sum(G * M) - exact) < 1e-5


def test_cost_within_1e6_of_emd_at_tiny_reg():
    # reg = 3e-6 on a cost normalised to max 1 (eta = 3.3e5): the entropic bias is
    # ~1e-8 here. The default reg continuation (1e-3, 1e-4, 1e-5, then 3e-6) gets
    # there in a few hundred Sinkhorn and a few dozen Newton iterations, in the
    # log domain throughout (no NaN/inf). Reference: the LP optimum of ot.emd2.
    a, b, M = point_clouds(200, seed=0, uniform=True)
    G, log = sinkhorn_newton_sparse(a, b, M, 3e-6, log=True)
    exact = ot.emd2(a, b, M)
    assert np.all(np.isfinite(G)) and np.all(G >= 0)
    assert log["result"].success and log["result"].marginal_error <= 1e-9
    assert abs(np.sum(G * M) - exact) <= 1e-6
    assert log["niter_newton"] <= 60


def test_reg_continuation_same_solution():
    # continuation changes the path, not the (unique) entropic solution
    a, b, M = point_clouds(70, 60, seed=11)
    G0, log0 = sinkhorn_newton_sparse(a, b, M, 1e-3, log=True, reg_init=None, stopThr=1e-12)
    G1, log1 = sinkhorn_newton_sparse(a, b, M, 1e-3, log=True, reg_init=1e-1, reg_decay=0.2, stopThr=1e-12)
    assert log0["result"].success and log1["result"].success
    np.testing.assert_allclose(G1, G0, atol=1e-11)
    ref = ot.sinkhorn(a, b, M, 1e-3, method="sinkhorn_log", numItermax=200_000, stopThr=1e-13)
    assert np.max(np.abs(G1 - ref)) < 1e-8


def test_large_reg_stays_with_sinkhorn():
    # Sinkhorn contracts fast at large reg: the adaptive switch keeps iterating it
    # (predicted to finish within a Newton step's cost) and no Newton step is taken.
    a, b, M = point_clouds(80, 70, seed=3)
    G, log = sinkhorn_newton_sparse(a, b, M, 0.5, log=True, stopThr=1e-12)
    ref = ot.sinkhorn(a, b, M, 0.5, numItermax=10_000, stopThr=1e-14)
    assert log["niter_newton"] == 0 and log["result"].success
    assert np.max(np.abs(G - ref)) < 1e-12


def test_dense_hessian_at_moderate_reg():
    # at reg = 2e-2 the kept entries exceed a quarter of the plan: the exact (dense) Hessian is used
    a, b, M = point_clouds(90, 100, seed=12)
    G, log = sinkhorn_newton_sparse(a, b, M, 2e-2, log=True, stopThr=1e-12, n_sinkhorn=5)
    assert log["niter_newton"] >= 1
    assert log["result"].history["kept"][0] == 90 * 100
    ref = ot.sinkhorn(a, b, M, 2e-2, method="sinkhorn_log", numItermax=100_000, stopThr=1e-14)
    assert np.max(np.abs(G - ref)) < 1e-10


@pytest.mark.slow
def test_stable_at_reg_1e4():
    a, b, M = point_clouds(80, 70, seed=3)
    G, log = sinkhorn_newton_sparse(a, b, M, 1e-4, log=True)
    assert np.all(np.isfinite(G)) and np.all(G >= 0)
    err = np.abs(G.sum(0) - b).sum() + np.abs(G.sum(1) - a).sum()
    assert err <= 1e-9 and log["result"].success


def test_moderate_reg_few_newton_steps():
    a, b, M = point_clouds(150, seed=4, uniform=True)
    G, log = sinkhorn_newton_sparse(a, b, M, 1e-3, log=True)
    ref = sinkhorn_log(a, b, M, 1e-3, stopThr=1e-11, numItermax=50_000)
    assert log["niter_newton"] <= 20
    assert np.max(np.abs(G - ref)) < 1e-8


def test_batched_equals_loop():
    probs = [point_clouds(30, 25, seed=s) for s in range(3)]
    a, b, M = (np.stack([p[i] for p in probs]) for i in range(3))
    G, log = sinkhorn_newton_sparse(a, b, M, 1e-2, log=True, stopThr=1e-11)
    assert G.shape == (3, 30, 25) and log["niter_newton"].shape == (3,)
    for i, (ai, bi, Mi) in enumerate(probs):
        Gi = sinkhorn_newton_sparse(ai, bi, Mi, 1e-2, stopThr=1e-11)
        np.testing.assert_allclose(G[i], Gi, atol=1e-13)


def test_engines_agree():
    a, b, M = point_clouds(30, 35, seed=5)
    assert_engines_agree(sinkhorn_newton_sparse, a, b, M, 5e-3, stopThr=1e-11, rtol=1e-7, atol=1e-12)


def test_array_api_strict_rejected():
    xps = pytest.importorskip("array_api_strict")
    a, b, M = point_clouds(5, seed=6)
    with pytest.raises(TypeError, match="NumPy and CuPy"):
        sinkhorn_newton_sparse(xps.asarray(a), xps.asarray(b), xps.asarray(M), 1e-2)


def test_float32_and_inputs_not_modified():
    a, b, M = point_clouds(30, seed=7)
    a32, b32, M32 = (x.astype(np.float32) for x in (a, b, M))
    copies = [x.copy() for x in (a32, b32, M32)]
    G = sinkhorn_newton_sparse(a32, b32, M32, 1e-2, stopThr=1e-5)
    assert G.dtype == np.float32 and np.all(np.isfinite(G))
    for x, c in zip((a32, b32, M32), copies):
        np.testing.assert_array_equal(x, c)
    G64 = sinkhorn_newton_sparse(a, b, M, 1e-2)
    assert np.max(np.abs(G - G64)) < 1e-5


def test_zero_weights():
    a, b, M = point_clouds(20, 15, seed=8)
    a[[2, 5]] = 0.0
    a /= a.sum()
    G = sinkhorn_newton_sparse(a, b, M, 1e-3)
    assert np.all(G[[2, 5]] == 0) and np.all(np.isfinite(G))
    assert np.abs(G.sum(0) - b).sum() + np.abs(G.sum(1) - a).sum() <= 1e-9


def test_max_iter_warns():
    from sklearn.exceptions import ConvergenceWarning

    a, b, M = point_clouds(40, seed=9)
    with pytest.warns(ConvergenceWarning):
        G = sinkhorn_newton_sparse(a, b, M, 1e-3, numItermax=1, n_sinkhorn=2)
    assert np.all(np.isfinite(G))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(a=np.array([0.5, 0.6])), "equal total mass"),
        (dict(b=np.array([1.5, -0.5])), "negative"),
        (dict(M=np.array([[0.0, np.nan], [1.0, 0.0]])), "M contains NaN"),
        (dict(M=np.zeros((2, 3))), "b has shape"),
        (dict(reg=0.0), "reg must be > 0"),
        (dict(sparsity=0.0), "sparsity"),
        (dict(n_sinkhorn=-1), "n_sinkhorn"),
        (dict(reg_init=-1.0), "reg_init"),
        (dict(reg_decay=1.0), "reg_decay"),
    ],
)
def test_bad_inputs(kwargs, match):
    args = dict(a=np.array([0.5, 0.5]), b=np.array([0.5, 0.5]), M=np.array([[0.0, 1.0], [1.0, 0.0]]), reg=0.1)
    args.update(kwargs)
    extra = {k: args.pop(k) for k in list(args) if k not in ("a", "b", "M", "reg")}
    with pytest.raises(ValueError, match=match):
        sinkhorn_newton_sparse(args["a"], args["b"], args["M"], args["reg"], **extra)


def test_no_runtime_warning_small_reg():
    # regression: no overflow/underflow RuntimeWarning from numpy (line-search trials, sums of plans)
    import warnings

    a, b, M = point_clouds(300, seed=0, uniform=True)
    for engine in ("auto", "xp"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            G, log = sinkhorn_newton_sparse(a, b, M, 1e-3, log=True, engine=engine)
        assert log["result"].marginal_error <= 1e-9 and np.all(np.isfinite(G))


def test_rejects_overflowing_trial_point():
    from optlib.ot._sinkhorn import _Ops
    from optlib.ot._sns import _NewtonProblem

    a, b, M = point_clouds(50, seed=1, uniform=True)
    for numba in (False, True):
        prob = _NewtonProblem(np, _Ops(np, numba), a, b, M, 1e-3, 1e-9)
        with np.errstate(all="raise"):
            st = prob.evaluate(np.full(50, 800.0), np.zeros(50))
        assert st["obj"] == -np.inf and st["err"] == np.inf


def test_few_newton_steps_n1000():
    a, b, M = point_clouds(1000, seed=0, uniform=True)
    G, log = sinkhorn_newton_sparse(a, b, M, 1e-3, log=True)
    assert log["result"].marginal_error <= 1e-9
    assert log["niter_newton"] <= 12 and log["niter_sinkhorn"] <= 40


def test_mixed_precision_cg_keeps_float64_accuracy():
    # n m >= 250 000 and a dense Hessian: CG runs on a float32 copy of the kernel;
    # the gradient, line search and plan stay float64, so the accuracy is unchanged.
    a, b, M = point_clouds(500, seed=13, uniform=True)
    G, log = sinkhorn_newton_sparse(a, b, M, 2e-2, log=True, stopThr=1e-12)
    assert log["result"].history["kept"][0] == 500 * 500 and log["niter_newton"] >= 1
    assert log["result"].marginal_error <= 1e-12
    ref = ot.sinkhorn(a, b, M, 2e-2, numItermax=100_000, stopThr=1e-15)
    assert np.max(np.abs(G - ref)) < 1e-13


@pytest.mark.parametrize("engine", ["numba", "xp"])
def test_dense_newton_starts_from_warmup_kernel(engine, monkeypatch):
    # At moderate reg the Newton stage takes over the warm-up's kernel and
    # scalings (a pass of products instead of exponentials), and the returned
    # plan is formed from the factored plan: no exact evaluation at all.
    from optlib.ot._sns import _NewtonProblem

    calls = []
    orig = _NewtonProblem.evaluate
    monkeypatch.setattr(_NewtonProblem, "evaluate", lambda self, u, v: calls.append(1) or orig(self, u, v))
    a, b, M = point_clouds(90, 100, seed=12)
    G, log = sinkhorn_newton_sparse(a, b, M, 2e-2, log=True, stopThr=1e-12, engine=engine)
    assert calls == [] and log["niter_newton"] >= 1
    assert log["result"].history["kept"][0] == 90 * 100
    ref = ot.sinkhorn(a, b, M, 2e-2, method="sinkhorn_log", numItermax=100_000, stopThr=1e-14)
    assert np.max(np.abs(G - ref)) < 1e-12
    err = np.abs(G.sum(0) - b).sum() + np.abs(G.sum(1) - a).sum()
    assert err <= 1e-12 and abs(err - log["result"].marginal_error) < 1e-15
    # the factored plan is the plan of the returned potentials
    P = np.exp(log["log_u"][:, None] + log["log_v"][None, :] - M / 2e-2)
    np.testing.assert_allclose(G, P, rtol=1e-12, atol=1e-300)
    assert abs(log["result"].fun - np.sum(G * M)) < 1e-15


@pytest.mark.parametrize("shape", [(40, 60), (60, 40)])
@pytest.mark.parametrize("reg", [2e-2, 2e-3])
def test_schur_complement_cg_gives_the_newton_direction(shape, reg):
    # CG on the Schur complement (the larger side eliminated) solves the full
    # (ridged) Newton system, dense or sparsified Hessian alike.
    from optlib.ot._sinkhorn import _Ops
    from optlib.ot._sns import _RIDGE, _NewtonProblem

    n, m = shape
    a, b, M = point_clouds(n, m, seed=5)
    _, lg = sinkhorn_log(a, b, M, reg, numItermax=1000, stopThr=1e-3, log=True)  # a warm-up
    lu, lv = lg["log_u"], lg["log_v"]
    for numba in (False, True):
        prob = _NewtonProblem(np, _Ops(np, numba), a, b, M, reg, 1e-9)
        st = prob.accept(prob.evaluate(lu, lv))
        prob.select(int(0.2 * n * m), 1e-2)
        du, dv, gd, it = prob.newton_direction(st, 1e-13, 10 * (n + m))
        S = prob.K if isinstance(prob.S0, str) else prob.S.toarray()
        r, c = st["r"], st["c"]
        ridge = _RIDGE * (r.max() + c.max())
        H = np.block([[np.diag(r + ridge), S], [S.T, np.diag(c + ridge)]])
        g = np.concatenate([a - r, b - c])
        d = np.linalg.solve(H, g)
        np.testing.assert_allclose(np.concatenate([du, dv]), d, rtol=1e-7, atol=1e-7 * np.abs(d).max())
        assert gd == pytest.approx(g @ d, rel=1e-9)
        assert it >= 1


def test_sinkhorn_resumes_from_kernel_state():
    # the stabilised state handed over by _sinkhorn_core continues the same iteration
    from optlib.ot._sinkhorn import _Ops, _sinkhorn_core

    a, b, M = point_clouds(50, 40, seed=2)
    a3, b3, M3 = a[None], b[None], M[None]
    z = (np.zeros((1, 50)), np.zeros((1, 40)))
    ops = _Ops(np, False)
    lu, lv, *_ = _sinkhorn_core(np, a3, b3, M3, 1e-2, num_iter=30, stop_thr=0.0, log_u=z[0], log_v=z[1], ops=ops)
    kern = {}
    _sinkhorn_core(np, a3, b3, M3, 1e-2, num_iter=12, stop_thr=0.0, log_u=z[0], log_v=z[1], ops=ops, kernel=kern)
    assert kern["K"] is not None
    lu2, lv2, _, nit, _ = _sinkhorn_core(
        np, a3, b3, M3, 1e-2, num_iter=18, stop_thr=0.0, log_u=z[0], log_v=z[1], ops=ops, kernel=kern
    )
    assert int(nit[0]) == 18
    np.testing.assert_allclose(lu2, lu, rtol=0, atol=1e-10)
    np.testing.assert_allclose(lv2, lv, rtol=0, atol=1e-10)


@pytest.mark.parametrize("reg", [3e-4, 1e-4])
def test_float32_small_reg_converges(reg):
    # float32 potentials reach range(M) / reg = 1e4, where float32 rounds a Newton
    # step to 1e-3: the Newton stage keeps its potentials in float64, and reaches
    # the float32 stopThr floor (50 eps = 6e-6) like float64 SNS does.
    a, b, M = point_clouds(100, seed=0, uniform=True)
    G64 = sinkhorn_newton_sparse(a, b, M, reg)
    a32, b32, M32 = (x.astype(np.float32) for x in (a, b, M))
    G, log = sinkhorn_newton_sparse(a32, b32, M32, reg, log=True)
    assert G.dtype == np.float32 and log["result"].success
    Gd = G.astype(np.float64)
    err = np.abs(Gd.sum(1) - a32).sum() + np.abs(Gd.sum(0) - b32).sum()
    assert err <= 1e-5 and log["result"].marginal_error <= 1e-5
    assert np.max(np.abs(Gd - G64)) < 2e-6  # entries up to 1e-2


def test_reg_too_small_for_float64_potentials():
    rng = np.random.default_rng(0)
    a, b, M = np.full(6, 1 / 6), np.full(5, 0.2), rng.random((6, 5))
    with pytest.raises(ValueError, match="reg"):
        sinkhorn_newton_sparse(a, b, M, 1e-30)
    with pytest.raises(ValueError, match=r"range\(M\) / reg"):
        sinkhorn_newton_sparse(a, b, M, 1e-12)


def pot_1d_problem(n=100):
    # the 1-D problem of POT's tests: squared distances of 0..n-1 (range ~1e4), Gaussian histograms
    x = np.arange(n, dtype=np.float64)
    M = (x[:, None] - x[None, :]) ** 2

    def gauss(mean, std):
        h = np.exp(-((x - mean) ** 2) / (2 * std**2))
        return h / h.sum()

    return gauss(30, 10), gauss(40, 10), M


def test_numItermax_bounds_all_stages():
    # reg / range(M) = 1e-7: a continuation of 5 stages. numItermax is one budget
    # for all of them (it was per stage, with fallback Sinkhorn blocks doubling
    # without bound: minutes of run time).
    from sklearn.exceptions import ConvergenceWarning

    from optlib.ot._sns import _reg_schedule

    a, b, M = pot_1d_problem()
    stages = len(_reg_schedule(1e-3, 1e-3 * M.max(), 0.1))
    with pytest.warns(ConvergenceWarning):
        G, log = sinkhorn_newton_sparse(a, b, M, 1e-3, numItermax=5, log=True)
    assert np.all(np.isfinite(G)) and not log["result"].success
    assert log["niter_newton"] <= 5 and len(log["result"].history["marginal_error"]) <= 5
    warmup = 20 + int(1.5 * 30) + 5  # n_sinkhorn, then at most the adaptive switch's iterations
    assert log["niter_sinkhorn"] <= stages * warmup + 5 * 20


def _random_problem(n, seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((n, 2))
    M = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    a, b = rng.random(n), rng.random(n)
    return a / a.sum(), b / b.sum(), M / M.max()


def test_scale_of_costs_does_not_matter():
    # Everything depends on M / reg and on reg / range(M): the units of M change
    # neither the plan nor the iterations.
    a, b, M = _random_problem(40, seed=3)
    runs = [sinkhorn_newton_sparse(a, b, M * c, 1e-6 * c, log=True, stopThr=1e-11) for c in (1e-4, 1.0, 1e4)]
    G1, log1 = runs[1]
    assert log1["result"].success and log1["niter_newton"] >= 1
    for G, log in runs:
        assert log["result"].success
        np.testing.assert_allclose(G, G1, rtol=0, atol=1e-12)
        assert abs(log["niter_newton"] - log1["niter_newton"]) <= 2
        assert abs(log["niter_sinkhorn"] - log1["niter_sinkhorn"]) <= 0.1 * log1["niter_sinkhorn"] + 20


def test_unnormalised_costs_reg_1e3():
    # Costs of range 1e4 at reg = 1e-3 (reg / range = 1e-7): weakly coupled blocks
    # of the plan made undamped Newton steps ~1e8 and Sinkhorn fallbacks take
    # over (16 000 - 30 000 iterations); the damped steps need ~1 000.
    a, b, M = _random_problem(100, seed=0)
    M = M * 1e4
    G, log = sinkhorn_newton_sparse(a, b, M, 1e-3, log=True)
    assert log["result"].success and log["result"].marginal_error <= 1e-9
    assert log["niter_sinkhorn"] <= 3000 and log["niter_newton"] <= 100
    # a plan of the Gibbs form with these marginals is the entropic optimum
    P = np.exp(log["log_u"][:, None] + log["log_v"][None, :] - M / 1e-3)
    np.testing.assert_allclose(G, P, rtol=1e-9, atol=1e-40)  # the plan drops entries below its cutoff
    err = np.abs(G.sum(1) - a).sum() + np.abs(G.sum(0) - b).sum()
    assert err <= 1e-9
    assert abs(np.sum(G * M) - ot.emd2(a, b, M)) <= 1e-6 * M.max()


class _HostGuard:
    """Stands in for NumPy inside ``optlib.ot._sns``: any NumPy function applied to an array raises.

    On CuPy, such a call is a host conversion (an error, or a silent copy of a
    device array). Types (dtypes, ``finfo``, ``errstate``) pass through.
    """

    def __getattr__(self, name):
        obj = getattr(np, name)
        if isinstance(obj, type) or not callable(obj):
            return obj

        def guarded(*args, **kwargs):
            if any(isinstance(x, np.ndarray) for x in (*args, *kwargs.values())):
                raise AssertionError(f"np.{name} called on an array: a host conversion")
            return obj(*args, **kwargs)

        return guarded


@pytest.mark.parametrize(
    "reg, kwargs",
    [(2e-2, {}), (1e-3, {}), (1e-4, {}), (1e-2, {"batch": True})],
)
def test_array_path_never_calls_numpy_on_arrays(reg, kwargs, monkeypatch):
    # The array path (engine="xp", what CuPy runs) of the Newton stage -- dense
    # and sparse Hessians, continuation, batches -- does all its array work
    # through the native namespace of the inputs, never through NumPy.
    import optlib.ot._sns as sns

    monkeypatch.setattr(sns, "np", _HostGuard())
    monkeypatch.setattr(sns, "_native", lambda xp: np)  # the namespace of the inputs stays NumPy
    a, b, M = point_clouds(50, 40, seed=4)
    if kwargs.get("batch"):
        a, b, M = np.stack([a, a]), np.stack([b, b[::-1]]), np.stack([M, M])
    G, log = sinkhorn_newton_sparse(a, b, M, reg, log=True, engine="xp", stopThr=1e-10)
    assert np.all(log["niter_newton"] >= 1)
    monkeypatch.undo()
    G_ref = sinkhorn_newton_sparse(a, b, M, reg, engine="xp", stopThr=1e-10)
    # same solution (the guarded run reads CG's test back every few iterations, as on a device)
    np.testing.assert_allclose(G, G_ref, rtol=0, atol=1e-9)


def test_warmstart_from_converged_potentials():
    a, b, M = point_clouds(30, 25, seed=31)
    G, log = sinkhorn_newton_sparse(a, b, M, 1e-2, log=True, stopThr=1e-11)
    G2, log2 = sinkhorn_newton_sparse(a, b, M, 1e-2, log=True, stopThr=1e-11, warmstart=(log["log_u"], log["log_v"]))
    assert log2["niter"] == 0 and log2["niter_sinkhorn"] <= 1 and log2["result"].success
    np.testing.assert_allclose(G2, G, atol=1e-12)
    # the warm start is the point the Newton stage starts from when there is no warm-up
    _, log3 = sinkhorn_newton_sparse(a, b, M, 1e-2, log=True, stopThr=1e-11, n_sinkhorn=0,
                                     warmstart=(log["log_u"], log["log_v"]))
    assert log3["niter"] == 0 and log3["niter_sinkhorn"] == 0


def test_warmstart_and_reg_continuation():
    # reg = 1e-4 triggers the continuation with reg_init="auto"; a warm start switches it off, an explicit
    # reg_init keeps it (starting from the same dual potentials f = reg * log_u): same plan either way.
    a, b, M = point_clouds(40, seed=32)
    reg = 1e-4
    G, log = sinkhorn_newton_sparse(a, b, M, reg, log=True)
    start = (log["log_u"] + 0.01 / reg, log["log_v"] - 0.01 / reg)  # same plan, other gauge
    G1, log1 = sinkhorn_newton_sparse(a, b, M, reg, log=True, warmstart=start)
    assert log1["niter"] <= 1 and log1["niter_sinkhorn"] <= 2
    G2, log2 = sinkhorn_newton_sparse(a, b, M, reg, log=True, warmstart=start, reg_init=1e-2)
    assert log2["niter_sinkhorn"] > log1["niter_sinkhorn"]  # the stages were run
    for g in (G1, G2):
        np.testing.assert_allclose(g, G, atol=1e-8)


def test_warmstart_batched_and_bad():
    a, b, M = point_clouds(12, 10, seed=33)
    Ab, Bb, Mb = np.stack([a, a]), np.stack([b, b[::-1]]), np.stack([M, M])
    _, lb = sinkhorn_newton_sparse(Ab, Bb, Mb, 0.05, log=True)
    _, lb2 = sinkhorn_newton_sparse(Ab, Bb, Mb, 0.05, log=True, warmstart=(lb["log_u"], lb["log_v"]))
    assert np.all(lb2["niter"] == 0)
    with pytest.raises(ValueError, match=r"warmstart\[1\] \(log_v\) must be 2-dimensional"):
        sinkhorn_newton_sparse(Ab, Bb, Mb, 0.05, warmstart=(lb["log_u"], lb["log_v"][0]))
