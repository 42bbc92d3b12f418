"""Tests of optlib.ot.sinkhorn_log: POT reference, stability, batching, engines, namespaces, inputs."""

import warnings

import numpy as np
import pytest

from optlib._backend import device
from optlib.ot import (
    sinkhorn_log,
    sinkhorn_log2,
    sinkhorn_newton_sparse,
    sinkhorn_newton_sparse2,
)
from tests.conftest import assert_engines_agree, to_numpy

ot = pytest.importorskip("ot")


def point_clouds(n, m=None, seed=0, uniform=False):
    m = n if m is None else m
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((m, 2))
    M = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    M /= M.max()
    if uniform:
        return np.full(n, 1.0 / n), np.full(m, 1.0 / m), M
    a, b = rng.random(n) + 0.2, rng.random(m) + 0.2
    return a / a.sum(), b / b.sum(), M


@pytest.mark.parametrize("reg", [1e-1, 2e-2])
def test_matches_pot_sinkhorn_log(reg):
    a, b, M = point_clouds(40, 30)
    ref = ot.sinkhorn(a, b, M, reg, method="sinkhorn_log", numItermax=100_000, stopThr=1e-13)
    G, log = sinkhorn_log(a, b, M, reg, log=True, stopThr=1e-12, numItermax=100_000)
    assert np.max(np.abs(G - ref)) < 1e-8
    assert set(log) >= {"niter", "err", "log_u", "log_v", "u", "v", "result"}
    res = log["result"]
    assert res.success and res.nit == log["niter"]
    assert np.isclose(res.fun, np.sum(G * M))
    assert len(res.history) == log["niter"]


def test_marginals_exact_to_stopthr():
    a, b, M = point_clouds(50, 45, seed=1)
    stop = 1e-10
    G = sinkhorn_log(a, b, M, 5e-3, stopThr=stop, numItermax=50_000)
    assert np.abs(G.sum(0) - b).sum() <= stop
    assert np.abs(G.sum(1) - a).sum() <= 1e-13


@pytest.mark.parametrize("reg, stop", [(1e-3, 1e-9), (1e-4, 1e-8)])
def test_small_reg_is_stable(reg, stop):
    a, b, M = point_clouds(50, 40, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Gpot = ot.sinkhorn(a, b, M, reg, numItermax=50)  # plain POT underflows here at 1e-4
    G, log = sinkhorn_log(a, b, M, reg, log=True, stopThr=stop, numItermax=40_000)
    assert np.all(np.isfinite(G)) and np.all(G >= 0)
    assert log["result"].success and log["result"].marginal_error <= stop
    assert np.abs(G.sum(0) - b).sum() <= stop
    if reg == 1e-4:
        assert not np.all(np.isfinite(Gpot)) or np.abs(Gpot.sum(0) - b).sum() > 1e-3


def test_batched_equals_loop():
    probs = [point_clouds(25, 20, seed=s) for s in range(3)]
    a = np.stack([p[0] for p in probs])
    b = np.stack([p[1] for p in probs])
    M = np.stack([p[2] for p in probs])
    regs = 2e-2
    G, log = sinkhorn_log(a, b, M, regs, log=True, stopThr=1e-11, numItermax=20_000)
    assert G.shape == (3, 25, 20)
    for i, (ai, bi, Mi) in enumerate(probs):
        Gi, li = sinkhorn_log(ai, bi, Mi, regs, log=True, stopThr=1e-11, numItermax=20_000)
        np.testing.assert_allclose(G[i], Gi, atol=1e-14, rtol=1e-10)
        assert log["niter"][i] == li["niter"]  # each problem stops on its own criterion


def test_engines_agree():
    a, b, M = point_clouds(30, 35, seed=3)
    assert_engines_agree(sinkhorn_log, a, b, M, 1e-2, stopThr=1e-11, numItermax=10_000, rtol=1e-9, atol=1e-13)


def test_namespaces(xp):
    a, b, M = point_clouds(20, 15, seed=4)
    a[2] = 0.0
    a /= a.sum()
    ref, ref_log = sinkhorn_log(a, b, M, 5e-2, stopThr=1e-11, log=True)
    xa, xb, xM = xp.asarray(a), xp.asarray(b), xp.asarray(M)
    G, lg = sinkhorn_log(xa, xb, xM, 5e-2, stopThr=1e-11, log=True)
    assert type(G).__module__.split(".")[0] == type(xa).__module__.split(".")[0]
    assert device(G) == device(xa) and device(lg["log_u"]) == device(xa)  # on the input's device
    np.testing.assert_allclose(to_numpy(G), ref, atol=1e-13)
    np.testing.assert_allclose(to_numpy(lg["log_v"]), ref_log["log_v"], rtol=1e-10)
    G2, lg2 = sinkhorn_log(xa, xb, xM, 5e-2, stopThr=1e-11, log=True, warmstart=(lg["log_u"], lg["log_v"]))
    assert device(G2) == device(xa) and lg2["niter"] <= 1
    Gb = sinkhorn_log(xp.stack([xa, xa]), xp.stack([xb, xb]), xp.stack([xM, xM]), 5e-2, stopThr=1e-11)
    assert device(Gb) == device(xa)
    np.testing.assert_allclose(to_numpy(Gb)[1], ref, atol=1e-13)


def test_float32_kept():
    a, b, M = point_clouds(30, seed=5)
    a32, b32, M32 = (x.astype(np.float32) for x in (a, b, M))
    G = sinkhorn_log(a32, b32, M32, 1e-2, stopThr=1e-5)
    assert G.dtype == np.float32
    G64 = sinkhorn_log(a, b, M, 1e-2, stopThr=1e-10)
    assert np.max(np.abs(G - G64)) < 1e-5
    G = sinkhorn_log(a32, b32, M32, 1e-4, stopThr=1e-5, numItermax=100_000)
    assert np.all(np.isfinite(G))


def test_inputs_not_modified_and_warmstart():
    a, b, M = point_clouds(20, seed=6)
    copies = [x.copy() for x in (a, b, M)]
    G, log = sinkhorn_log(a, b, M, 1e-2, log=True)
    for x, c in zip((a, b, M), copies):
        np.testing.assert_array_equal(x, c)
    G2, log2 = sinkhorn_log(a, b, M, 1e-2, log=True, warmstart=(log["log_u"], log["log_v"]))
    assert log2["niter"] <= 1
    np.testing.assert_allclose(G2, G, atol=1e-12)


def test_warmstart_round_trip_with_zero_weights():
    a, b, M = point_clouds(12, 10, seed=9)
    a[3], b[[0, 7]] = 0.0, 0.0
    a, b = a / a.sum(), b / b.sum()
    G, log = sinkhorn_log(a, b, M, 1e-2, log=True, stopThr=1e-11)
    assert np.isneginf(log["log_u"][3]) and np.all(np.isneginf(log["log_v"][[0, 7]]))
    G2, log2 = sinkhorn_log(a, b, M, 1e-2, log=True, stopThr=1e-11, warmstart=(log["log_u"], log["log_v"]))
    assert log2["niter"] <= 1
    np.testing.assert_allclose(G2, G, atol=1e-14)
    # batched: -inf accepted per problem, exactly where that problem's weight is 0
    Gb = sinkhorn_log(np.stack([a, a]), np.stack([b, b]), np.stack([M, M]), 1e-2, stopThr=1e-11,
                      warmstart=(np.stack([log["log_u"]] * 2), np.stack([log["log_v"]] * 2)))
    np.testing.assert_allclose(Gb[1], G, atol=1e-14)


@pytest.mark.parametrize(
    "index, value, match",
    [
        (0, -np.inf, r"warmstart\[0\] \(log_u\) must be finite, except -inf where a is 0"),
        (1, -np.inf, r"warmstart\[1\] \(log_v\) must be finite, except -inf where b is 0"),
        (0, np.inf, r"warmstart\[0\]"),
        (1, np.nan, r"warmstart\[1\]"),
    ],
)
def test_warmstart_rejects_non_finite_where_weight_is_positive(index, value, match):
    a, b, M = point_clouds(6, 5, seed=10)
    ws = [np.zeros(6), np.zeros(5)]
    ws[index][1] = value
    with pytest.raises(ValueError, match=match):
        sinkhorn_log(a, b, M, 1e-1, warmstart=tuple(ws))
    with pytest.raises(ValueError, match=r"warmstart\[1\] \(log_v\) has shape \(4,\), expected \(5,\)"):
        sinkhorn_log(a, b, M, 1e-1, warmstart=(np.zeros(6), np.zeros(4)))


@pytest.mark.parametrize("dtype, scale", [(np.float64, 1e300), (np.float64, 1e15), (np.float32, 1e4)])
def test_cost_over_reg_beyond_the_dtype_raises(dtype, scale):
    # M * 1e300 at reg 1e-3 used to return a plan of total mass ~7 with only a warning
    a, b, M = (x.astype(dtype) for x in point_clouds(7, seed=11, uniform=True))
    with pytest.raises(ValueError, match=r"max\|M\| / reg = .* too large for float(32|64) potentials"):
        sinkhorn_log(a, b, M * dtype(scale), 1e-3)


def test_large_but_resolvable_cost_over_reg_runs():
    a, b, M = point_clouds(7, seed=11, uniform=True)
    G = sinkhorn_log(a, b, M * 1e8, 1e-1 * 1e8, stopThr=1e-12)  # same plan as (M, 0.1)
    np.testing.assert_allclose(G, sinkhorn_log(a, b, M, 1e-1, stopThr=1e-12), atol=1e-13)
    assert abs(G.sum() - 1.0) < 1e-12


def test_zero_weights_and_uniform_default():
    a, b, M = point_clouds(10, 12, seed=7)
    a[3] = 0.0
    a /= a.sum()
    G = sinkhorn_log(a, b, M, 1e-2)
    assert np.all(G[3] == 0) and np.all(np.isfinite(G))
    G = sinkhorn_log([], [], M, 1e-2)
    np.testing.assert_allclose(G.sum(1), np.full(10, 0.1), atol=1e-9)


def test_max_iter_warns_and_callback_stops():
    from sklearn.exceptions import ConvergenceWarning

    a, b, M = point_clouds(20, seed=8)
    with pytest.warns(ConvergenceWarning):
        sinkhorn_log(a, b, M, 1e-3, numItermax=3)

    def stop(res):
        if res.nit >= 5:
            raise StopIteration

    _, log = sinkhorn_log(a, b, M, 1e-3, log=True, callback=stop)
    assert log["niter"] == 5 and log["result"].status == 2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(a=np.array([0.5, 0.6]), b=np.array([0.5, 0.5])), "equal total mass"),
        (dict(a=np.array([1.5, -0.5]), b=np.array([0.5, 0.5])), "negative"),
        (dict(M=np.array([[0.0, np.nan], [1.0, 0.0]])), "M contains NaN"),
        (dict(M=np.zeros((3, 2))), "a has shape"),
        (dict(reg=0.0), "reg must be > 0"),
        (dict(reg=-1.0), "reg must be > 0"),
        (dict(numItermax=0), "numItermax"),
    ],
)
def test_bad_inputs(kwargs, match):
    args = dict(a=np.array([0.5, 0.5]), b=np.array([0.5, 0.5]), M=np.array([[0.0, 1.0], [1.0, 0.0]]), reg=0.1)
    args.update(kwargs)
    extra = {k: args.pop(k) for k in list(args) if k not in ("a", "b", "M", "reg")}
    with pytest.raises(ValueError, match=match):
        sinkhorn_log(args["a"], args["b"], args["M"], args["reg"], **extra)


# ------------------------------------------------------------------ POT's call shapes (both Sinkhorn-type solvers)

SOLVERS = [
    pytest.param((sinkhorn_log, sinkhorn_log2), id="sinkhorn_log"),
    pytest.param((sinkhorn_newton_sparse, sinkhorn_newton_sparse2), id="sns"),
]


@pytest.mark.parametrize("solvers", SOLVERS)
def test_positional_signature_as_pot(solvers):
    import inspect

    names = ["a", "b", "M", "reg", "numItermax", "stopThr", "verbose", "log", "warn", "warmstart"]
    pot = inspect.signature(ot.bregman.sinkhorn_log).parameters
    assert list(pot)[: len(names)] == names
    for f in solvers:
        params = inspect.signature(f).parameters
        assert list(params)[: len(names)] == names
        assert all(params[n].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for n in names)
        assert [params[n].default for n in names[5:]] == [pot[n].default for n in names[5:]]
    a, b, M = point_clouds(12, 9, seed=20)
    plan, loss = solvers
    G1, log1 = plan(a, b, M, 0.05, 500, 1e-11, False, True, True, None)
    G2 = plan(a, b, M, 0.05, numItermax=500, stopThr=1e-11)
    np.testing.assert_array_equal(G1, G2)
    assert log1["result"].success
    W, _ = loss(a, b, M, 0.05, 500, 1e-11, False, True)
    assert isinstance(W, np.float64) and np.isclose(W, np.sum(G1 * M), rtol=1e-12)
    assert np.isclose(W, ot.sinkhorn2(a, b, M, 0.05, method="sinkhorn_log", stopThr=1e-13, numItermax=10**5), rtol=1e-9)


@pytest.mark.parametrize("solvers", SOLVERS)
def test_warn_false_silences_non_convergence(solvers):
    from sklearn.exceptions import ConvergenceWarning

    a, b, M = point_clouds(20, seed=21)
    for f in solvers:
        with pytest.warns(ConvergenceWarning):  # a UserWarning, as POT's
            f(a, b, M, 1e-2, 1, 0.0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out, log = f(a, b, M, 1e-2, 1, 0.0, False, True, False)
        assert not log["result"].success and np.all(np.isfinite(out))


@pytest.mark.parametrize("solvers", SOLVERS)
def test_several_target_histograms_as_pot(solvers):
    rng = np.random.default_rng(22)
    x = rng.normal(size=(10, 2))
    M = ((x[:, None] - x[None]) ** 2).sum(-1)
    M /= M.max()
    a = np.full(10, 0.1)
    b = rng.random((10, 3)) + 0.5
    b /= b.sum(0)
    ref, ref_log = ot.bregman.sinkhorn_log(a, b, M, 0.1, numItermax=10**5, stopThr=1e-13, log=True)
    plan, loss = solvers
    for f in (plan, loss):  # POT's sinkhorn_log returns the k losses for a 2-D b, as sinkhorn2
        W, log = f(a, b, M, 0.1, 10**5, 1e-12, log=True)
        assert W.shape == (3,) and W.dtype == np.float64
        np.testing.assert_allclose(W, ref, rtol=1e-10)
        assert log["log_u"].shape == (10, 3) and log["log_v"].shape == (10, 3)
        # same plans (potentials up to the gauge constant)
        P = np.exp(log["log_u"][:, None, :] + log["log_v"][None, :, :] - M[:, :, None] / 0.1)
        P_ref = np.exp(ref_log["log_u"][:, None, :] + ref_log["log_v"][None, :, :] - M[:, :, None] / 0.1)
        np.testing.assert_allclose(P, P_ref, atol=1e-12)
        np.testing.assert_allclose(log["u"], np.exp(log["log_u"]))
        assert len(log["results"]) == len(log["niter"]) == len(log["err"]) == 3
        np.testing.assert_allclose([loss(a, b[:, j], M, 0.1, 10**5, 1e-12) for j in range(3)], W, rtol=1e-12)
        assert all(r.success for r in log["results"])
    # warm starts: the stacked potentials of the log, or one pair per histogram (POT's warmstart[j])
    for ws in ((log["log_u"], log["log_v"]), [(log["log_u"][:, j], log["log_v"][:, j]) for j in range(3)]):
        W2, log2 = plan(a, b, M, 0.1, 10**5, 1e-12, log=True, warmstart=ws)
        np.testing.assert_allclose(W2, W, rtol=1e-12)
        assert max(log2["niter"]) <= 1


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(b=np.full((4, 2), 0.25)), ValueError, r"b has shape \(4, 2\), expected \(3, k\)"),
        (dict(a=np.full((1, 3), 1 / 3)), ValueError, "a must be 1-dimensional"),
        (dict(warmstart=[(np.zeros(3), np.zeros(3))] * 3), ValueError, "sequence of 3"),
        (dict(warmstart=3), TypeError, "warmstart must be a pair"),
        # one problem's pair (1-D), not k = 2 pairs
        (dict(warmstart=(np.zeros(3), np.zeros(3))), ValueError, r"got 1-D arrays \(the potentials of a single"),
        (dict(b=np.array([[0.5, 1 / 3], [0.6, 1 / 3], [-0.1, 1 / 3]])), ValueError, "b has negative weights"),
    ],
)
@pytest.mark.parametrize("solvers", SOLVERS)
def test_several_targets_bad_inputs(solvers, kwargs, exc, match):
    args = dict(a=np.full(3, 1 / 3), b=np.full((3, 2), 1 / 3), M=np.arange(9.0).reshape(3, 3) / 8, warmstart=None)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        solvers[0](args["a"], args["b"], args["M"], 0.1, warmstart=args["warmstart"])


def test_loss_and_several_targets_on_device(xp):
    a, b, M = point_clouds(15, 12, seed=23)
    B = np.stack([b, b[::-1]], axis=1)
    xa, xB, xM = xp.asarray(a), xp.asarray(B), xp.asarray(M)
    W = sinkhorn_log2(xa, xB[:, 0], xM, 0.05, stopThr=1e-11)
    assert W.shape == () and device(W) == device(xa) and W.dtype == xp.float64
    Wk, lg = sinkhorn_log(xa, xB, xM, 0.05, stopThr=1e-11, log=True)
    assert Wk.shape == (2,) and device(Wk) == device(xa) and device(lg["log_u"]) == device(xa)
    ref = [sinkhorn_log2(a, B[:, j], M, 0.05, stopThr=1e-11) for j in range(2)]
    np.testing.assert_allclose(to_numpy(Wk), ref, rtol=1e-12)
    np.testing.assert_allclose(float(W), ref[0], rtol=1e-12)
    Wb = sinkhorn_log2(xp.stack([xa, xa]), xp.stack([xB[:, 0], xB[:, 1]]), xp.stack([xM, xM]), 0.05, stopThr=1e-11)
    assert Wb.shape == (2,) and device(Wb) == device(xa)
    np.testing.assert_allclose(to_numpy(Wb), ref, rtol=1e-12)
    W32 = sinkhorn_log2(xp.astype(xa, xp.float32), xp.astype(xB[:, 0], xp.float32), xp.astype(xM, xp.float32), 0.05)
    assert W32.dtype == xp.float32 and device(W32) == device(xa)
