"""Tests of optlib.ot.partial_progressive (SP2OT): references, invariants, semantic MM, namespaces, inputs."""

import math
import warnings

import numpy as np
import pytest

from optlib._backend import device
from optlib.ot import partial_progressive
from tests.conftest import to_numpy

ot = pytest.importorskip("ot")


def problem(n, m, seed=0, uniform=False):
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((m, 2))
    M = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    M /= M.max()
    if uniform:
        return np.full(n, 1.0 / n), np.full(m, 1.0 / m), M, x
    a, b = rng.random(n) + 0.2, rng.random(m) + 0.2
    return a / a.sum(), b / b.sum(), M, x


def dual_newton_reference(a, b, M, reg, rho, reg_m, tol=1e-14):
    """Independent solution of the same problem: damped Newton on its concave dual.

    max_{F, G, H} <F, a> + H (1 - rho) A - reg_m sum_j p_j (exp(-G_j / reg_m) - 1)
                  - reg sum_ij exp((F_i + D_j - Ct_ij) / reg),   D = [G, H], Ct = [M, 0]
    with p = rho A b / sum(b); the plan is exp((F_i + D_j - Ct_ij) / reg).
    """
    n, m = M.shape
    A = a.sum()
    p, v0 = rho * A * b / b.sum(), (1 - rho) * A
    Ct = np.concatenate([M, np.zeros((n, 1))], axis=1)

    def parts(z):
        F, D = z[:n], z[n:]
        Q = np.exp((F[:, None] + D[None, :] - Ct) / reg)
        e = p * np.exp(-D[:m] / reg_m)
        val = F @ a + D[m] * v0 - reg_m * (e - p).sum() - reg * Q.sum()
        g = np.concatenate([a - Q.sum(1), e - Q.sum(0)[:m], [v0 - Q[:, m].sum()]])
        H = np.zeros((n + m + 1,) * 2)
        H[:n, :n] = np.diag(Q.sum(1))
        H[n:, n:] = np.diag(Q.sum(0))
        H[:n, n:], H[n:, :n] = Q, Q.T
        H = -H / reg
        H[n : n + m, n : n + m] -= np.diag(e / reg_m)
        return val, g, H, Q

    z = np.zeros(n + m + 1)
    for _ in range(60):
        val, g, H, Q = parts(z)
        if np.abs(g).max() < tol:
            break
        d = np.linalg.solve(H, -g)
        t = 1.0
        while parts(z + t * d)[0] < val + 1e-4 * t * (g @ d) and t > 1e-12:
            t /= 2
        z = z + t * d
    assert np.abs(g).max() < 1e-11
    return Q[:, :m]


# (1) balanced limit -------------------------------------------------------------------------


def test_rho_one_reg_m_inf_is_pot_sinkhorn_log():
    a, b, M, _ = problem(40, 30)
    ref = ot.sinkhorn(a, b, M, 5e-2, method="sinkhorn_log", numItermax=100_000, stopThr=1e-13)
    G, log = partial_progressive(a, b, M, 5e-2, 1.0, reg_m=math.inf, stopThr=1e-12, log=True)
    assert np.max(np.abs(G - ref)) < 1e-12
    assert set(log) >= {"niter", "err", "log_u", "log_v", "transported_mass", "result"}
    assert log["result"].success and log["result"].nit == log["niter"] == len(log["err"])


@pytest.mark.parametrize("reg_m, atol", [(1e3, 2e-6), (1e6, 2e-9), (1e9, 2e-12)])
def test_rho_one_large_reg_m_approaches_pot_sinkhorn_log(reg_m, atol):
    a, b, M, _ = problem(40, 30)
    ref = ot.sinkhorn(a, b, M, 5e-2, method="sinkhorn_log", numItermax=100_000, stopThr=1e-13)
    G, log = partial_progressive(a, b, M, 5e-2, 1.0, reg_m=reg_m, stopThr=1e-12, log=True)
    # the gauge step keeps the iteration count independent of reg_m (plain scaling needs ~reg_m/reg)
    assert log["result"].success and log["niter"] < 500
    assert np.max(np.abs(G - ref)) < atol


# (2) partial references ---------------------------------------------------------------------


@pytest.mark.parametrize("rho, reg_m, reg", [(0.7, 0.3, 5e-2), (0.4, 2.0, 5e-2), (1.0, 0.5, 0.1), (0.9, 1.0, 2e-2)])
def test_matches_independent_dual_newton(rho, reg_m, reg):
    a, b, M, _ = problem(12, 8, seed=1)
    ref = dual_newton_reference(a, b, M, reg, rho, reg_m)
    G, log = partial_progressive(a, b, M, reg, rho, reg_m=reg_m, stopThr=1e-14, numItermax=20_000, log=True)
    assert log["result"].success
    np.testing.assert_allclose(G, ref, rtol=1e-9, atol=1e-14)
    assert abs(log["transported_mass"] - rho) < 1e-13


def test_reg_m_inf_is_balanced_ot_with_virtual_column():
    # reg_m = inf: real columns exact (rho b), virtual column exact (1 - rho) -> POT on the augmented problem
    a, b, M, _ = problem(30, 20, seed=2)
    rho = 0.6
    Ma = np.concatenate([M, np.zeros((30, 1))], axis=1)
    ba = np.concatenate([rho * b, [1 - rho]])
    ref = ot.sinkhorn(a, ba, Ma, 5e-2, method="sinkhorn_log", numItermax=100_000, stopThr=1e-14)[:, :-1]
    G = partial_progressive(a, b, M, 5e-2, rho, reg_m=math.inf, stopThr=1e-12)
    assert np.max(np.abs(G - ref)) < 1e-12


def test_close_to_pot_entropic_partial_and_exact_partial_lp():
    # POT's entropic partial OT (P1 <= a, P^T 1 <= rho b, sum P = rho) regularises only the real plan,
    # ours also the virtual column q = a - P1: the two differ at O(reg) but share the reg -> 0 limit,
    # the exact partial OT LP.
    a, b, M, _ = problem(12, 8, seed=3)
    rho = 0.7
    lp = np.sum(ot.partial.partial_wasserstein(a, rho * b, M, m=rho) * M)
    gaps = []
    for reg in (1e-2, 3e-3):
        G = partial_progressive(a, b, M, reg, rho, reg_m=math.inf, stopThr=1e-11, numItermax=50_000)
        Gp = ot.partial.entropic_partial_wasserstein(a, rho * b, M, reg, m=rho, numItermax=50_000, stopThr=1e-14)
        assert np.all(G.sum(1) <= a + 1e-15) and np.allclose(G.sum(0), rho * b, atol=1e-11)
        assert abs(np.sum(G * M) - np.sum(Gp * M)) < 0.3 * reg
        gaps.append(np.sum(G * M) - lp)
    assert 0 <= gaps[1] < gaps[0] and gaps[1] < 5e-4


# (3) invariants -----------------------------------------------------------------------------


@pytest.mark.parametrize("reg_m", [1.0, math.inf])
def test_invariants_small_reg(reg_m):
    a, b, M, _ = problem(20, 5, seed=4, uniform=True)
    rho, stop = 0.6, 1e-9
    G, log = partial_progressive(a, b, M, 1e-3, rho, reg_m=reg_m, stopThr=stop, numItermax=20_000, log=True)
    assert log["result"].success and log["result"].marginal_error <= stop
    assert np.all(np.isfinite(G)) and np.all(G >= 0)
    virtual = np.exp(log["log_u"] + log["log_v_virtual"])
    np.testing.assert_allclose(G.sum(1) + virtual, a, rtol=1e-13)  # exact row masses
    assert abs(G.sum() - rho) <= stop and abs(log["transported_mass"] - rho) <= stop
    assert abs(virtual.sum() - (1 - rho)) <= stop
    np.testing.assert_allclose(G, np.exp(log["log_u"][:, None] + log["log_v"][None, :] - M / 1e-3), rtol=1e-12)
    if reg_m == math.inf:
        assert np.abs(G.sum(0) - rho * b).sum() <= stop
    else:  # KKT of the relaxed columns: col_j = rho b_j exp(-reg log_v_j / reg_m)
        target = rho * b * np.exp(-1e-3 * log["log_v"] / reg_m)
        assert np.abs(G.sum(0) - target).sum() <= stop


def test_rho_scales_with_total_mass_and_zero_weights():
    a, b, M, _ = problem(15, 6, seed=5)
    a2 = 3.0 * a
    a2[0] = 0.0
    b2 = b.copy()
    b2[2] = 0.0
    G, log = partial_progressive(a2, b2, M, 5e-2, 0.5, stopThr=1e-11, log=True)
    assert np.all(np.isfinite(G)) and np.all(G[0] == 0) and np.all(G[:, 2] == 0)
    assert abs(log["transported_mass"] - 0.5 * a2.sum()) < 1e-10


# (4) semantic outer loop --------------------------------------------------------------------


def test_semantic_weight_zero_is_plain_solve():
    a, b, M, x = problem(30, 6, seed=6, uniform=True)
    S = np.exp(-((x[:, None] - x[None]) ** 2).sum(-1) / 0.05)
    G0, log0 = partial_progressive(a, b, M, 5e-2, 0.5, stopThr=1e-11, log=True)
    G1, log1 = partial_progressive(a, b, M, 5e-2, 0.5, stopThr=1e-11, semantic=S, semantic_weight=0.0, log=True)
    np.testing.assert_array_equal(G0, G1)
    assert log1["n_outer"] == 0 and log1["objective"] == log0["objective"]


@pytest.mark.parametrize("lam", [0.5, 2.0])
def test_semantic_outer_objective_decreases(lam):
    a, b, M, x = problem(30, 6, seed=7, uniform=True)
    X = np.random.default_rng(7).random((30, 3))
    S = X @ X.T / 30  # nonnegative and PSD: the MM majoriser is valid, the decrease is guaranteed
    G0, log0 = partial_progressive(a, b, M, 5e-2, 0.5, stopThr=1e-11, log=True)
    G, log = partial_progressive(a, b, M, 5e-2, 0.5, stopThr=1e-11, semantic=S, semantic_weight=lam, log=True)
    obj = np.array(log["objective"])
    res = log["result"]
    assert res.success and 1 <= log["n_outer"] <= 10 and len(obj) == log["n_outer"] + 1
    assert np.all(np.diff(obj) <= 1e-12) and obj[-1] < obj[0]
    assert res.fun == obj[-1] and len(res.outer_history) == len(obj)
    assert np.allclose(res.outer_history["objective"], obj)
    # the initial objective is that of the plain solve plus the semantic term of its plan
    np.testing.assert_allclose(obj[0], log0["objective"][0] - lam * np.sum(S * (G0 @ G0.T)), rtol=1e-12)
    assert not np.allclose(G, G0, atol=1e-6)
    assert abs(G.sum() - 0.5) < 1e-10 and np.all(G >= 0)


def test_semantic_knn_graph_runs_and_respects_constraints():
    a, b, M, x = problem(30, 6, seed=8, uniform=True)
    d = ((x[:, None] - x[None]) ** 2).sum(-1)
    S = np.zeros((30, 30))
    np.put_along_axis(S, np.argsort(d, axis=1)[:, 1:6], 1.0, axis=1)
    kw = dict(stopThr=1e-11, semantic=S, semantic_weight=0.5, n_outer=4, log=True)
    G, log = partial_progressive(a, b, M, 5e-2, 0.5, **kw)
    assert 1 <= log["n_outer"] <= 4 and np.all(np.isfinite(log["objective"]))
    virtual = np.exp(log["log_u"] + log["log_v_virtual"])
    np.testing.assert_allclose(G.sum(1) + virtual, a, rtol=1e-12)
    assert abs(G.sum() - 0.5) < 1e-10


# (4b) engines and batches ---------------------------------------------------------------------


@pytest.mark.parametrize("reg_m", [1.0, math.inf])
def test_numba_engine_equals_xp(reg_m):
    pytest.importorskip("numba")
    a, b, M, x = problem(60, 7, seed=21)
    S = np.exp(-((x[:, None] - x[None]) ** 2).sum(-1) / 0.05)
    kw = dict(reg_m=reg_m, stopThr=1e-11, log=True, semantic=S, semantic_weight=0.3, n_outer=3)
    Gx, lx = partial_progressive(a, b, M, 2e-2, 0.6, engine="xp", **kw)
    Gn, ln = partial_progressive(a, b, M, 2e-2, 0.6, engine="numba", **kw)
    assert lx["niter"] == ln["niter"] and lx["n_outer"] == ln["n_outer"]
    np.testing.assert_allclose(Gn, Gx, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ln["objective"], lx["objective"], rtol=1e-12)


@pytest.mark.parametrize("engine", ["xp", "auto"])
def test_batched_equals_loop(engine):
    probs = [problem(40, 6, seed=30 + s) for s in range(3)]
    a, b, M = (np.stack([p[i] for p in probs]) for i in range(3))
    G, log = partial_progressive(a, b, M, 3e-2, 0.5, stopThr=1e-11, log=True, engine=engine)
    assert G.shape == (3, 40, 6) and log["niter"].shape == (3,)
    assert log["transported_mass"].shape == (3,) and log["log_u"].shape == (3, 40)
    for i, (ai, bi, Mi, _) in enumerate(probs):
        Gi, li = partial_progressive(ai, bi, Mi, 3e-2, 0.5, stopThr=1e-11, log=True, engine=engine)
        np.testing.assert_allclose(G[i], Gi, rtol=0, atol=1e-15)
        assert log["niter"][i] == li["niter"]
        np.testing.assert_allclose(log["objective"][i], li["objective"], rtol=1e-13)
    # each problem transports rho of its mass, and the batch matches POT's exact-marginal limit
    np.testing.assert_allclose(G.sum(axis=(1, 2)), 0.5, atol=1e-10)


def test_batched_semantic_equals_loop():
    probs = [problem(25, 5, seed=40 + s, uniform=True) for s in range(2)]
    a, b, M = (np.stack([p[i] for p in probs]) for i in range(3))
    Ss = np.stack([np.exp(-((p[3][:, None] - p[3][None]) ** 2).sum(-1) / 0.05) for p in probs])
    kw = dict(stopThr=1e-11, semantic_weight=0.4, n_outer=3)
    G, log = partial_progressive(a, b, M, 5e-2, 0.5, semantic=Ss, log=True, **kw)
    assert log["n_outer"].shape == (2,)
    for i, (ai, bi, Mi, _) in enumerate(probs):
        Gi, li = partial_progressive(ai, bi, Mi, 5e-2, 0.5, semantic=Ss[i], log=True, **kw)
        np.testing.assert_allclose(G[i], Gi, rtol=0, atol=1e-15)
        assert log["objective"][i] == li["objective"] and len(li["objective"]) >= 2


def test_batched_reg_m_inf_matches_pot_sinkhorn_log():
    # rho = 1, exact columns: each problem of the batch is balanced entropic OT (POT reference)
    probs = [problem(30, 8, seed=50 + s) for s in range(2)]
    a, b, M = (np.stack([p[i] for p in probs]) for i in range(3))
    G = partial_progressive(a, b, M, 5e-2, 1.0, reg_m=math.inf, stopThr=1e-12)
    for i, (ai, bi, Mi, _) in enumerate(probs):
        ref = ot.sinkhorn(ai, bi, Mi, 5e-2, method="sinkhorn_log", numItermax=100_000, stopThr=1e-14)
        np.testing.assert_allclose(G[i], ref, atol=1e-10)


# (5) namespaces, dtypes, protocol ------------------------------------------------------------


def test_namespaces(xp):
    a, b, M, x = problem(20, 6, seed=9)
    S = np.exp(-((x[:, None] - x[None]) ** 2).sum(-1) / 0.05)
    kw = dict(stopThr=1e-11, semantic=S, semantic_weight=0.3, n_outer=3)
    ref = partial_progressive(a, b, M, 5e-2, 0.6, **kw)
    kw["semantic"] = xp.asarray(S)
    G, log = partial_progressive(xp.asarray(a), xp.asarray(b), xp.asarray(M), 5e-2, 0.6, log=True, **kw)
    assert type(G).__module__.split(".")[0] == type(xp.asarray(a)).__module__.split(".")[0]
    assert type(log["log_u"]).__module__.split(".")[0] == type(G).__module__.split(".")[0]
    np.testing.assert_allclose(to_numpy(G), ref, atol=1e-14)
    assert device(G) == device(xp.asarray(a)) and device(log["log_u"]) == device(G)


def test_namespaces_batched(xp):
    # the batched inner loop keeps its counters and residuals on the device
    probs = [problem(12, 5, seed=s) for s in (20, 21)]
    a, b, M = (np.stack([p[i] for p in probs]) for i in range(3))
    ref, ref_log = partial_progressive(a, b, M, 5e-2, 0.6, stopThr=1e-11, log=True)
    G, log = partial_progressive(xp.asarray(a), xp.asarray(b), xp.asarray(M), 5e-2, 0.6, stopThr=1e-11, log=True)
    assert device(G) == device(xp.asarray(a)) and device(log["log_v"]) == device(G)
    np.testing.assert_allclose(to_numpy(G), ref, atol=1e-14)
    np.testing.assert_array_equal(log["niter"], ref_log["niter"])
    np.testing.assert_allclose(log["transported_mass"], [0.6, 0.6], atol=1e-10)
    assert isinstance(log["result"].marginal_error, np.ndarray) and len(log["err"]) == max(ref_log["niter"])


def test_float32_default_stopthr_is_attainable():
    # the default stopThr (1e-9) is below float32 rounding: it is floored as in sinkhorn_log
    a, b, M, _ = problem(30, 8, seed=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        G, log = partial_progressive(*(v.astype(np.float32) for v in (a, b, M)), 5e-2, 0.6, log=True)
    assert G.dtype == np.float32 and log["result"].success and log["niter"] < 100
    assert log["result"].marginal_error <= 50 * np.finfo(np.float32).eps


def test_cost_over_reg_beyond_the_dtype_raises():
    a, b, M, _ = problem(6, 4, seed=12)
    with pytest.raises(ValueError, match=r"max\|M\| / reg = .* too large for float64"):
        partial_progressive(a, b, M * 1e300, 1e-3, 0.5)


def test_float32_kept():
    a, b, M, _ = problem(30, 8, seed=10)
    a32, b32, M32 = (v.astype(np.float32) for v in (a, b, M))
    G64 = partial_progressive(a, b, M, 5e-2, 0.6, stopThr=1e-11)
    G = partial_progressive(a32, b32, M32, 5e-2, 0.6, stopThr=1e-6)
    assert G.dtype == np.float32 and np.max(np.abs(G - G64)) < 1e-6
    G = partial_progressive(a32, b32, M32, 1e-3, 0.6, stopThr=1e-5, numItermax=5_000)
    assert G.dtype == np.float32 and np.all(np.isfinite(G)) and abs(float(G.sum()) - 0.6) < 1e-5


def test_inputs_not_modified_callback_and_warning():
    a, b, M, x = problem(15, 5, seed=11)
    S = np.abs(np.random.default_rng(0).random((15, 15)))
    copies = [v.copy() for v in (a, b, M, S)]
    partial_progressive(a, b, M, 5e-2, 0.5, semantic=S, semantic_weight=0.2, n_outer=2)
    for v, c in zip((a, b, M, S), copies):
        np.testing.assert_array_equal(v, c)

    seen = []

    def cb(res):
        seen.append(res.marginal_error)
        if len(seen) == 3:
            raise StopIteration

    _, log = partial_progressive(a, b, M, 5e-2, 0.5, callback=cb, log=True)
    assert len(seen) == 3 and log["result"].status == 2 and not log["result"].success

    with pytest.warns(Warning, match="Maximum number of iterations"):
        _, log = partial_progressive(a, b, M, 1e-3, 0.5, numItermax=3, log=True)
    assert log["niter"] == 3 and not log["result"].success


def test_verbose_prints(capsys):
    a, b, M, _ = problem(10, 4, seed=12)
    S = np.eye(10)
    partial_progressive(a, b, M, 5e-2, 0.5, verbose=5, semantic=S, semantic_weight=0.1, n_outer=1)
    out = capsys.readouterr().out
    assert "[partial_progressive] iter" in out and "outer" in out


# (6) bad inputs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(rho=0.0), ValueError, "rho"),
        (dict(rho=1.5), ValueError, "rho"),
        (dict(rho=float("nan")), ValueError, "rho"),
        (dict(reg=0.0), ValueError, "reg"),
        (dict(reg=-1.0), ValueError, "reg"),
        (dict(reg_m=0.0), ValueError, "reg_m"),
        (dict(reg_m=-2.0), ValueError, "reg_m"),
        (dict(semantic_weight=-0.1), ValueError, "semantic_weight"),
        (dict(n_outer=-1), ValueError, "n_outer"),
        (dict(numItermax=0), ValueError, "numItermax"),
        (dict(semantic=np.ones((5, 5))), ValueError, "semantic"),
        (dict(semantic=np.full((6, 6), np.nan)), ValueError, "semantic"),
        (dict(a=-np.full(6, 1 / 6)), ValueError, "negative"),
        (dict(M=np.full((6, 4), np.nan)), ValueError, "M contains NaN"),
        (dict(b=np.ones(5)), ValueError, "b has shape"),
        (dict(callback=3), TypeError, "callback"),
    ],
)
def test_bad_inputs(kwargs, exc, match):
    a, b, M, _ = problem(6, 4, seed=13)
    args = dict(a=a, b=b, M=M, reg=5e-2, rho=0.5)
    args.update(kwargs)
    pos = [args.pop(k) for k in ("a", "b", "M", "reg", "rho")]
    with pytest.raises(exc, match=match):
        partial_progressive(*pos, **args)


def test_unequal_masses_accepted():
    a, b, M, _ = problem(8, 5, seed=14)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        G = partial_progressive(2 * a, 5 * b, M, 5e-2, 0.5, stopThr=1e-10)
    assert abs(G.sum() - 1.0) < 1e-9
