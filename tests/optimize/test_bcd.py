"""Tests of optlib.optimize.bcd: optima against independent references, invariants, rules, engines, errors."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from optlib import ConvergenceWarning
from optlib.functions import L1, ElasticNet, NonNegative
from optlib.optimize import (
    LeastSquaresDatafit,
    LogisticDatafit,
    QuadraticDatafit,
    SeparablePenalty,
    SoftmaxDatafit,
    bcd,
)
from optlib.optimize._bcd._penalties import make_penalty
from optlib.optimize._bcd._rules import Selector, make_partition
from tests.conftest import to_numpy

RULES = ("cyclic", "random", "lipschitz", "gs", "gsl", "gsd", "gsq")
UPDATES = ("lb", "la", "hb", "newton", "optimal")


def _ls(m=24, n=12, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) * rng.uniform(0.5, 2.0, n)
    b = rng.standard_normal(m)
    return A, b


def _run(df, **kw):
    """Run to a tight tolerance (stops early); a ConvergenceWarning fails the test."""
    kw.setdefault("tol", 1e-11)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return bcd(df, random_state=0, **kw)


# -- optima against references ----------------------------------------------------------


@pytest.mark.parametrize("update", UPDATES)
@pytest.mark.parametrize("selection", RULES)
def test_least_squares_every_rule_and_update_reaches_lstsq(selection, update):
    A, b = _ls()
    x_ref = np.linalg.lstsq(A, b, rcond=None)[0]
    f_ref = 0.5 * np.sum((A @ x_ref - b) ** 2)
    partition = "variable" if selection in ("gs", "gsd", "random") else "sort"
    res = _run(
        LeastSquaresDatafit(A, b),
        partition=partition,
        selection=selection,
        update=update,
        block_size=3,
        max_iter=20000,
    )
    assert res.fun == pytest.approx(f_ref, rel=1e-9)
    np.testing.assert_allclose(res.x, x_ref, atol=1e-5)


@pytest.mark.parametrize("partition", ["order", "avg"])
def test_least_squares_fixed_partitions_reach_lstsq(partition):
    A, b = _ls(n=13)  # 13 = 4 * 3 + 1: a short last block
    x_ref = np.linalg.lstsq(A, b, rcond=None)[0]
    for selection in ("gsq", "gsl", "cyclic"):
        res = _run(
            LeastSquaresDatafit(A, b),
            partition=partition,
            selection=selection,
            update="hb",
            block_size=3,
            max_iter=20000,
        )
        np.testing.assert_allclose(res.x, x_ref, atol=1e-6)


def test_underdetermined_least_squares_reaches_zero_residual():
    A, b = _ls(m=10, n=30)
    res = _run(
        LeastSquaresDatafit(A, b),
        selection="gsq",
        update="hb",
        block_size=5,
        max_iter=400,
    )
    assert res.fun < 1e-16 * np.sum(b**2) + 1e-20


def _sk_objective(A, b, w, alpha, l1_ratio=1.0):
    m = A.shape[0]
    r = A @ w - b
    return (
        r @ r / (2 * m)
        + alpha * l1_ratio * np.abs(w).sum()
        + 0.5 * alpha * (1 - l1_ratio) * w @ w
    )


@pytest.mark.parametrize("update", ["lb", "la", "hb", "newton", "optimal"])
@pytest.mark.parametrize("selection", ["gs", "gsl", "gsq", "cyclic"])
def test_lasso_matches_scikit_learn(selection, update):
    from sklearn.linear_model import Lasso

    A, b = _ls(m=30, n=15, seed=1)
    m = A.shape[0]
    alpha = 0.05
    sk = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=100000).fit(A, b)
    res = _run(
        LeastSquaresDatafit(A, b),
        penalty=L1(alpha * m),
        selection=selection,
        update=update,
        block_size=3,
        max_iter=20000,
        partition="variable" if selection != "cyclic" else "order",
    )
    ours = _sk_objective(A, b, res.x, alpha)
    assert ours == pytest.approx(_sk_objective(A, b, sk.coef_, alpha), rel=1e-9)
    assert ours <= _sk_objective(A, b, sk.coef_, alpha) * (1 + 1e-12)


def test_nonnegative_lasso_and_elastic_net_match_scikit_learn():
    from sklearn.linear_model import ElasticNet as SkEN
    from sklearn.linear_model import Lasso

    A, b = _ls(m=30, n=15, seed=2)
    m = A.shape[0]
    sk = Lasso(
        alpha=0.02, fit_intercept=False, positive=True, tol=1e-14, max_iter=100000
    ).fit(A, b)
    res = _run(
        LeastSquaresDatafit(A, b),
        penalty=SeparablePenalty(l1=0.02 * m, lower=0.0),
        selection="gsl",
        update="hb",
        block_size=4,
        max_iter=20000,
    )
    assert res.x.min() >= 0
    assert _sk_objective(A, b, res.x, 0.02) == pytest.approx(
        _sk_objective(A, b, sk.coef_, 0.02), rel=1e-9
    )
    sk = SkEN(
        alpha=0.1, l1_ratio=0.3, fit_intercept=False, tol=1e-14, max_iter=100000
    ).fit(A, b)
    res = _run(
        LeastSquaresDatafit(A, b),
        penalty=ElasticNet(0.1 * m, 0.3),
        selection="gsd",
        update="lb",
        block_size=4,
        max_iter=20000,
    )
    assert _sk_objective(A, b, res.x, 0.1, 0.3) == pytest.approx(
        _sk_objective(A, b, sk.coef_, 0.1, 0.3), rel=1e-9
    )
    res = _run(
        LeastSquaresDatafit(A, b),
        penalty=NonNegative(),
        selection="gsq",
        update="hb",
        block_size=4,
        max_iter=20000,
    )
    from scipy.optimize import nnls

    assert res.fun == pytest.approx(0.5 * nnls(A, b)[1] ** 2, rel=1e-9)


def _lbfgs(fun, n):
    from scipy.optimize import minimize

    return minimize(
        fun,
        np.zeros(n),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-13, "ftol": 1e-16, "maxiter": 20000, "maxcor": 30},
    )


@pytest.mark.parametrize("update", ["lb", "la", "hb", "newton"])
@pytest.mark.parametrize("selection", ["cyclic", "gsl", "gsq"])
def test_logistic_matches_lbfgs(selection, update):
    rng = np.random.default_rng(3)
    A = rng.standard_normal((40, 8))
    y = np.sign(A @ rng.standard_normal(8) + 2 * rng.standard_normal(40))

    def fun(w):
        z = A @ w
        return np.sum(np.logaddexp(0, -y * z)), A.T @ (-y / (1 + np.exp(y * z)))

    ref = _lbfgs(fun, 8)
    res = _run(
        LogisticDatafit(A, y),
        selection=selection,
        update=update,
        block_size=3,
        max_iter=20000,
        partition="variable" if selection != "cyclic" else "sort",
    )
    assert res.fun == pytest.approx(ref.fun, rel=1e-9)
    np.testing.assert_allclose(res.x, ref.x, atol=2e-4)


@pytest.mark.parametrize("update", ["lb", "hb", "newton"])
def test_softmax_matches_lbfgs(update):
    from scipy.special import logsumexp, softmax

    rng = np.random.default_rng(4)
    m, p, K = 40, 5, 3
    A = rng.standard_normal((m, p))
    labels = rng.integers(0, K, m)
    Y = np.eye(K)[labels]

    def fun(w):
        Z = A @ w.reshape(p, K)
        return np.sum(logsumexp(Z, axis=1)) - np.sum(Z * Y), (
            A.T @ (softmax(Z, axis=1) - Y)
        ).ravel()

    ref = _lbfgs(fun, p * K)
    res = _run(
        SoftmaxDatafit(A, labels),
        selection="gsl",
        update=update,
        block_size=4,
        max_iter=20000,
    )
    assert res.x.shape == (p, K)
    assert res.fun == pytest.approx(ref.fun, rel=1e-9)
    res_y = bcd(
        SoftmaxDatafit(A, Y), selection="gsl", update=update, block_size=4, max_iter=50
    )
    res_l = bcd(
        SoftmaxDatafit(A, labels),
        selection="gsl",
        update=update,
        block_size=4,
        max_iter=50,
    )
    np.testing.assert_allclose(res_y.x, res_l.x)


@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize("selection", ["cyclic", "gsl", "gsq", "random"])
def test_quadratic_label_propagation_matches_spsolve(selection, dense):
    from scipy.sparse.linalg import spsolve

    from optlib.datasets._bcd_problems import make_lattice_label_propagation

    P = make_lattice_label_propagation((5, 5), 4, random_state=0)
    x_ref = spsolve(P.Q.tocsc(), P.c)
    Q = P.Q.toarray() if dense else P.Q
    for update in ("optimal", "lb") if selection == "gsl" else ("optimal",):
        res = _run(
            QuadraticDatafit(Q, P.c),
            selection=selection,
            update=update,
            block_size=5,
            max_iter=20000,
        )
        np.testing.assert_allclose(
            res.x, x_ref, rtol=1e-6, atol=1e-6 * np.abs(x_ref).max()
        )


# -- invariants ---------------------------------------------------------------------------


@pytest.mark.parametrize("update", ["lb", "hb", "optimal", "la", "newton"])
def test_objective_decreases_monotonically(update):
    A, b = _ls(m=20, n=30, seed=5)
    for penalty in (None, L1(1.0)):
        for selection in ("random", "gsl"):
            res = bcd(
                LeastSquaresDatafit(A, b),
                penalty=penalty,
                selection=selection,
                update=update,
                block_size=4,
                max_iter=60,
                random_state=0,
            )
            obj = np.asarray(res.history["objective"])
            assert len(obj) == res.nit + 1
            assert np.all(np.diff(obj) <= 1e-12 * obj[0])
    rng = np.random.default_rng(5)
    y = np.sign(rng.standard_normal(20))
    if update != "optimal":
        res = bcd(
            LogisticDatafit(A, y),
            selection="gsq",
            update=update,
            block_size=4,
            max_iter=60,
        )
        obj = np.asarray(res.history["objective"])
        assert np.all(np.diff(obj) <= 1e-12 * obj[0])


@pytest.mark.parametrize(
    "kind", ["ls", "ls_sparse", "logistic", "softmax", "quadratic"]
)
def test_incremental_state_matches_recomputation(kind):
    rng = np.random.default_rng(6)
    A = rng.standard_normal((25, 18))
    if kind == "ls":
        df = LeastSquaresDatafit(A, rng.standard_normal(25))
    elif kind == "ls_sparse":
        df = LeastSquaresDatafit(
            sp.random(25, 18, density=0.3, random_state=0, format="csc"),
            rng.standard_normal(25),
        )
    elif kind == "logistic":
        df = LogisticDatafit(A, np.sign(rng.standard_normal(25)))
    elif kind == "softmax":
        df = SoftmaxDatafit(A, rng.integers(0, 3, 25))
    else:
        df = QuadraticDatafit(A.T @ A, rng.standard_normal(18))
    st = df.init_state(np.zeros(df.n_vars))
    for _ in range(2000):
        idx = np.sort(rng.choice(df.n_vars, 4, replace=False))
        d = 0.01 * rng.standard_normal(4)
        delta, aux = df.trial(st, idx, d)
        df.accept(st, idx, d, aux, st.f + delta)
        if _ % 3 == 0:
            df.gradient(st)
    fresh = df.init_state(st.x.copy())
    g, g_ref = df.gradient(st), df.gradient(fresh)
    np.testing.assert_allclose(
        g, g_ref, rtol=0, atol=1e-10 * max(1.0, np.abs(g_ref).max())
    )
    assert st.f == pytest.approx(fresh.f, rel=1e-10, abs=1e-10)
    idx = np.array([1, 5, 7])
    np.testing.assert_allclose(
        df._block_gradient(st, idx)
        if hasattr(df, "_block_gradient")
        else df.block_gradient(st, idx),
        g_ref[idx],
        atol=1e-10 * max(1.0, np.abs(g_ref).max()),
    )


def test_hessian_bounds_dominate_true_block_hessians():
    rng = np.random.default_rng(7)
    A = rng.standard_normal((30, 6))
    for df in (
        LogisticDatafit(A, np.sign(rng.standard_normal(30))),
        SoftmaxDatafit(A, rng.integers(0, 4, 30)),
    ):
        st = df.init_state(rng.standard_normal(df.n_vars))
        blocks = (np.array([0, 1, 2]), np.array([1, 4, 5]), np.array([3]))
        if isinstance(df, SoftmaxDatafit):
            blocks += (np.array([0, 5, 9, 13]), np.array([4, 8, 12]))
        for idx in blocks:
            gap = df.hessian_bound_block(idx) - df.hessian_block(st, idx)
            assert np.linalg.eigvalsh(gap).min() >= -1e-10
        L = df.lipschitz()
        H = np.array(
            [[df.hessian_block(st, np.array([i]))[0, 0]] for i in range(df.n_vars)]
        ).ravel()
        assert np.all(H <= L + 1e-12)


# -- selection rules against brute force -------------------------------------------------


def _selector(df, rule, partition, tau=3, penalty=None, engine="auto"):
    return Selector(
        rule,
        partition,
        df,
        make_penalty(penalty),
        tau,
        np.random.default_rng(0),
        engine,
        need_matrices=True,
    )


@pytest.mark.parametrize("engine", ["numba", "xp"])
def test_greedy_fixed_block_rules_match_brute_force(engine):
    rng = np.random.default_rng(8)
    A = rng.standard_normal((15, 14)) * rng.uniform(0.1, 5, 14)
    df = LeastSquaresDatafit(A, rng.standard_normal(15))
    for trial in range(5):
        st = df.init_state(rng.standard_normal(14))
        g = A.T @ (A @ st.x - df.b)
        for partition in ("order", "sort", "avg"):
            blocks = make_partition(partition, np.sum(A * A, axis=0), 3)
            brute = {
                "gs": [np.linalg.norm(g[b]) for b in blocks],
                "gsl": [
                    np.linalg.norm(g[b])
                    / np.sqrt(np.linalg.eigvalsh(A[:, b].T @ A[:, b])[-1])
                    for b in blocks
                ],
                "gsd": [
                    np.sum(np.abs(g[b]) / np.linalg.norm(A[:, b], axis=0))
                    for b in blocks
                ],
                "gsq": [
                    g[b] @ np.linalg.solve(A[:, b].T @ A[:, b], g[b]) for b in blocks
                ],
            }
            for rule, scores in brute.items():
                idx, k = _selector(df, rule, partition, engine=engine).select(1, st)
                assert k == int(np.argmax(scores)), (rule, partition)
                np.testing.assert_array_equal(np.sort(idx), blocks[k])


@pytest.mark.parametrize("engine", ["numba", "xp"])
def test_greedy_variable_block_rules_match_brute_force(engine):
    rng = np.random.default_rng(9)
    A = rng.standard_normal((15, 20)) * rng.uniform(0.1, 5, 20)
    df = LeastSquaresDatafit(A, rng.standard_normal(15))
    st = df.init_state(rng.standard_normal(20))
    g = A.T @ (A @ st.x - df.b)
    L = np.sum(A * A, axis=0)
    D = np.abs(A.T @ A).sum(axis=1)
    for rule, score in (
        ("gs", np.abs(g)),
        ("gsd", np.abs(g) / np.sqrt(L)),
        ("gsl", np.abs(g) / np.sqrt(D)),
    ):
        idx, k = _selector(df, rule, "variable", tau=4, engine=engine).select(1, st)
        assert k is None
        assert set(to_numpy(idx).tolist()) == set(np.argsort(-score)[:4].tolist()), rule
    # GSQ-VB: at least the progress of the best of the GS and GSD blocks
    idx, _ = _selector(df, "gsq", "variable", tau=4, engine=engine).select(1, st)
    idx = np.sort(to_numpy(idx))

    def q(b):
        return g[b] @ np.linalg.solve(A[:, b].T @ A[:, b], g[b])

    assert (
        q(idx)
        >= max(
            q(np.argsort(-np.abs(g))[:4]), q(np.argsort(-np.abs(g) / np.sqrt(L))[:4])
        )
        - 1e-9
    )


def test_gsq_variable_blocks_near_brute_force_optimum():
    """GSQ-VB is an approximation: within 15% of the best of all C(10, 3) blocks here, exact in 2 of 6."""
    import itertools

    ratios = []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        A = rng.standard_normal((15, 10)) * rng.uniform(0.1, 5, 10)
        b = rng.standard_normal(15)
        df = LeastSquaresDatafit(A, b)
        st = df.init_state(rng.standard_normal(10))
        g = A.T @ (A @ st.x - b)

        def q(S, A=A, g=g):
            S = list(S)
            return g[S] @ np.linalg.solve(A[:, S].T @ A[:, S], g[S])

        best = max(q(S) for S in itertools.combinations(range(10), 3))
        idx, _ = _selector(df, "gsq", "variable", tau=3).select(1, st)
        ratios.append(q(np.sort(idx)) / best)
    assert min(ratios) >= 0.85 and np.mean(ratios) >= 0.9
    assert sum(r > 1 - 1e-12 for r in ratios) >= 2


@pytest.mark.parametrize("engine", ["numba", "xp"])
def test_penalised_scores_are_proximal_step_decreases(engine):
    from scipy.optimize import minimize_scalar

    rng = np.random.default_rng(10)
    A = rng.standard_normal((12, 9))
    df = LeastSquaresDatafit(A, rng.standard_normal(12))
    pen = SeparablePenalty(l1=0.7, l2=0.3, lower=-0.2, upper=0.5)
    x = rng.uniform(-0.2, 0.5, 9)
    st = df.init_state(x)
    sel = _selector(df, "gsd", "variable", penalty=pen, engine=engine)
    g = df.gradient(st)
    r = to_numpy(sel.coordinate_scores(g, x))
    L = np.sum(A * A, axis=0)

    def h(t):
        return 0.7 * abs(t) + 0.15 * t * t

    for i in range(9):

        def model_at(t, i=i):
            return g[i] * (t - x[i]) + 0.5 * L[i] * (t - x[i]) ** 2 + h(t) - h(x[i])

        model = minimize_scalar(
            model_at, bounds=(-0.2, 0.5), method="bounded", options={"xatol": 1e-12}
        )
        assert 0.5 * r[i] ** 2 == pytest.approx(-model.fun, rel=1e-6, abs=1e-9)


def test_partitions():
    L = np.array([5.0, 1.0, 4.0, 2.0, 3.0, 6.0, 0.5])
    assert [b.tolist() for b in make_partition("order", L, 3)] == [
        [0, 1, 2],
        [3, 4, 5],
        [6],
    ]
    assert [b.tolist() for b in make_partition("sort", L, 3)] == [
        [1, 3, 6],
        [0, 2, 4],
        [5],
    ]
    # sorted: 6(0.5) 1 3 4 2 0 5(6.0) -> alternate: 6, 5, 1, 0, 3, 2, 4
    assert [b.tolist() for b in make_partition("avg", L, 3)] == [
        [1, 5, 6],
        [0, 2, 3],
        [4],
    ]


# -- engines, namespaces, sparse, dtype ----------------------------------------------------


@pytest.mark.parametrize("selection", ["gs", "gsl", "gsd", "gsq"])
@pytest.mark.parametrize("partition", ["sort", "variable"])
def test_numba_and_xp_engines_agree(selection, partition):
    from optlib._backend import numba_available

    if not numba_available():
        pytest.skip("numba unavailable")
    A, b = _ls(m=20, n=16, seed=11)
    for penalty in (None, L1(0.5)):
        kw = {
            "penalty": penalty,
            "selection": selection,
            "partition": partition,
            "update": "hb",
            "block_size": 3,
            "max_iter": 60,
        }
        fast = bcd(LeastSquaresDatafit(A, b), engine="numba", **kw)
        portable = bcd(LeastSquaresDatafit(A, b), engine="xp", **kw)
        np.testing.assert_allclose(fast.x, portable.x, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(
            fast.history["objective"], portable.history["objective"], rtol=1e-12
        )


def test_array_namespaces(xp):
    """The array-API path runs on every namespace and matches the NumPy run step for step."""
    A, b = _ls(m=20, n=10, seed=12)
    Ax, bx = xp.asarray(A), xp.asarray(b)
    for selection, update, partition in (
        ("gsl", "lb", "variable"),
        ("gsq", "hb", "variable"),
        ("gsq", "hb", "sort"),
        ("random", "la", "order"),
        ("gs", "newton", "avg"),
    ):
        for penalty in (None, L1(1.0)):
            kw = {
                "penalty": penalty,
                "selection": selection,
                "update": update,
                "partition": partition,
                "block_size": 3,
                "max_iter": 20,
                "random_state": 0,
            }
            res = bcd(LeastSquaresDatafit(Ax, bx), engine="xp", **kw)
            assert type(res.x) is type(Ax)
            ref = bcd(LeastSquaresDatafit(A, b), **kw)
            np.testing.assert_allclose(to_numpy(res.x), ref.x, rtol=1e-9, atol=1e-12)
    res = _run(
        LeastSquaresDatafit(Ax, bx),
        selection="gsq",
        update="hb",
        max_iter=500,
        block_size=3,
    )
    np.testing.assert_allclose(
        to_numpy(res.x), np.linalg.lstsq(A, b, rcond=None)[0], atol=1e-8
    )
    y = xp.asarray(np.sign(A[:, 0] + 0.5))
    res = bcd(
        LogisticDatafit(Ax, y),
        selection="gsq",
        update="newton",
        max_iter=20,
        block_size=3,
    )
    assert type(res.x) is type(Ax)
    ref = bcd(
        LogisticDatafit(A, np.sign(A[:, 0] + 0.5)),
        selection="gsq",
        update="newton",
        max_iter=20,
        block_size=3,
    )
    np.testing.assert_allclose(to_numpy(res.x), ref.x, rtol=1e-9, atol=1e-12)
    Y = np.eye(3)[np.arange(20) % 3]
    res = bcd(
        SoftmaxDatafit(Ax, xp.asarray(Y)), selection="gsl", update="hb", max_iter=20
    )
    ref = bcd(SoftmaxDatafit(A, Y), selection="gsl", update="hb", max_iter=20)
    assert tuple(res.x.shape) == (10, 3)
    np.testing.assert_allclose(to_numpy(res.x), ref.x, rtol=1e-9, atol=1e-12)
    Q = A.T @ A
    res = _run(
        QuadraticDatafit(xp.asarray(Q), xp.asarray(b[:10])),
        selection="gsq",
        update="optimal",
        max_iter=300,
        block_size=3,
    )
    np.testing.assert_allclose(to_numpy(res.x), np.linalg.solve(Q, b[:10]), rtol=1e-6)


def test_array_api_path_stays_on_the_input_device(xp):
    """Rules, updates, penalties and x0 not covered above, on the input's device (non-default for array_api_strict)."""
    from optlib._backend import device
    from optlib.functions import Box

    A, b = _ls(m=20, n=10, seed=19)
    Ax, bx = xp.asarray(A), xp.asarray(b)
    x0 = np.full(10, 0.05)
    for selection, update, partition, penalty in (
        ("cyclic", "optimal", "order", None),
        ("lipschitz", "lb", "variable", None),
        ("lipschitz", "hb", "sort", NonNegative()),
        ("gsd", "la", "avg", ElasticNet(0.1, 0.5)),
        ("gsq", "newton", "variable", Box(-0.1, 0.2)),
    ):
        kw = {
            "penalty": penalty,
            "selection": selection,
            "update": update,
            "partition": partition,
            "block_size": 3,
            "max_iter": 15,
            "random_state": 0,
        }
        res = bcd(LeastSquaresDatafit(Ax, bx), xp.asarray(x0), engine="xp", **kw)
        assert device(res.x) == device(Ax)
        ref = bcd(LeastSquaresDatafit(A, b), x0, **kw)
        np.testing.assert_allclose(to_numpy(res.x), ref.x, rtol=1e-9, atol=1e-12)
    # min(m, n) > 200: the largest eigenvalue of A^T A by power iteration off NumPy
    rng = np.random.default_rng(20)
    A = rng.standard_normal((210, 201))
    lmax = LeastSquaresDatafit(xp.asarray(A), xp.asarray(b[:1].repeat(210)))
    lmax = lmax.hessian_bound_lmax()
    exact = np.linalg.eigvalsh(A.T @ A)[-1]
    assert exact * (1 - 1e-8) <= lmax <= exact * 1.02


def test_host_targets_and_x0_move_to_the_design_device(xp):
    """Host b, y, c and a list x0 are copied to the design's device (as LeastSquares does)."""
    from optlib._backend import device

    A, b = _ls(m=20, n=10, seed=21)
    Ax = xp.asarray(A)
    y = np.sign(A[:, 0] + 0.5)
    kw = {"selection": "gsl", "update": "lb", "max_iter": 10, "engine": "xp"}
    for host, ref in (
        (LeastSquaresDatafit(Ax, b), LeastSquaresDatafit(A, b)),
        (LeastSquaresDatafit(Ax, b.tolist()), LeastSquaresDatafit(A, b)),
        (LogisticDatafit(Ax, y), LogisticDatafit(A, y)),
        (SoftmaxDatafit(Ax, np.arange(20) % 3), SoftmaxDatafit(A, np.arange(20) % 3)),
        (QuadraticDatafit(xp.asarray(A.T @ A), b[:10]), QuadraticDatafit(A.T @ A, b[:10])),
    ):
        res = bcd(host, [0.05] * 10 if host.x_shape == (10,) else None, **kw)
        assert device(res.x) == device(Ax)
        expected = bcd(ref, np.full(10, 0.05) if ref.x_shape == (10,) else None, **kw)
        np.testing.assert_allclose(to_numpy(res.x), expected.x, rtol=1e-9, atol=1e-12)


def test_arrays_on_another_device_are_named():
    xs = pytest.importorskip("array_api_strict")
    A, b = _ls(m=20, n=10, seed=22)
    Ax = xs.asarray(A, device=xs.Device("device1"))
    with pytest.raises(ValueError, match="b is on device .* but the datafit is on"):
        LeastSquaresDatafit(Ax, xs.asarray(b))
    with pytest.raises(ValueError, match="x0 is on device"):
        bcd(LeastSquaresDatafit(Ax, xs.asarray(b, device=Ax.device)), xs.zeros(10), max_iter=2)


@pytest.mark.parametrize("kind", ["ls", "logistic", "softmax"])
def test_sparse_design_equals_dense(kind):
    rng = np.random.default_rng(13)
    A = sp.random(30, 20, density=0.3, random_state=1, format="csc")
    target = {
        "ls": rng.standard_normal(30),
        "logistic": np.sign(rng.standard_normal(30)),
        "softmax": rng.integers(0, 3, 30),
    }[kind]
    cls = {
        "ls": LeastSquaresDatafit,
        "logistic": LogisticDatafit,
        "softmax": SoftmaxDatafit,
    }[kind]
    for selection, update in (("gsl", "lb"), ("gsq", "hb"), ("random", "la")):
        res_s = bcd(
            cls(A, target),
            selection=selection,
            update=update,
            max_iter=40,
            random_state=0,
        )
        res_d = bcd(
            cls(A.toarray(), target),
            selection=selection,
            update=update,
            max_iter=40,
            random_state=0,
        )
        np.testing.assert_allclose(res_s.x, res_d.x, rtol=1e-10, atol=1e-12)


def test_float32_preserved():
    A, b = _ls(seed=15)
    A32, b32 = A.astype(np.float32), b.astype(np.float32)
    x_ref = np.linalg.lstsq(A, b, rcond=None)[0]
    for selection, update in (("gsl", "lb"), ("gsq", "hb"), ("cyclic", "optimal")):
        res = bcd(
            LeastSquaresDatafit(A32, b32),
            selection=selection,
            update=update,
            max_iter=400,
            block_size=3,
        )
        assert res.x.dtype == np.float32
        np.testing.assert_allclose(res.x, x_ref, rtol=1e-3, atol=1e-3)
    res = bcd(
        LogisticDatafit(A32, np.sign(b32)),
        selection="gsq",
        update="newton",
        max_iter=20,
    )
    assert res.x.dtype == np.float32
    Ad = sp.csc_matrix(A32)
    res = bcd(LeastSquaresDatafit(Ad, b32), selection="gsl", max_iter=20)
    assert res.x.dtype == np.float32


# -- stopping, callback, inputs -----------------------------------------------------------


def test_tolerance_convergence_and_warning():
    A, b = _ls(seed=16)
    res = bcd(
        LeastSquaresDatafit(A, b),
        selection="gsq",
        update="hb",
        tol=1e-10,
        max_iter=5000,
    )
    assert (
        res.success
        and res.status == 0
        and res.residual <= 1e-10 * np.abs(A.T @ b).max()
    )
    assert res.nit < 5000
    res = bcd(
        LeastSquaresDatafit(A, b),
        selection="cyclic",
        update="optimal",
        tol=1e-10,
        max_iter=5000,
        block_size=4,
    )
    assert res.success
    with pytest.warns(ConvergenceWarning, match="bcd"):
        res = bcd(LeastSquaresDatafit(A, b), selection="random", tol=1e-12, max_iter=5)
    assert not res.success and res.status == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = bcd(
            LeastSquaresDatafit(A, b), max_iter=5
        )  # no tolerance: fixed budget, no warning
    assert res.nit == 5 and len(res.history) == 6


def test_callback_stops_and_inputs_untouched():
    A, b = _ls(seed=17)
    A0, b0 = A.copy(), b.copy()
    x0 = np.ones(A.shape[1])
    seen = []

    def cb(r):
        seen.append(r.nit)
        if r.nit == 3:
            raise StopIteration

    res = bcd(
        LeastSquaresDatafit(A, b),
        x0,
        callback=cb,
        max_iter=50,
        penalty=L1(0.1),
        update="hb",
    )
    assert res.status == 2 and res.nit == 3 and seen == [1, 2, 3]
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(b, b0)
    np.testing.assert_array_equal(x0, np.ones(A.shape[1]))


@pytest.mark.parametrize("kind", ["ls", "softmax"])
def test_callback_gets_a_copy_of_each_iterate(kind):
    """Iterates stored by the callback stay as they were: they differ and match the history."""
    from scipy.special import logsumexp

    A, b = _ls(seed=18)
    lam = 0.1
    if kind == "ls":
        df = LeastSquaresDatafit(A, b)

        def f(x):
            return 0.5 * np.sum((A @ x - b) ** 2)

    else:
        Y = np.eye(3)[np.arange(A.shape[0]) % 3]
        df = SoftmaxDatafit(A, Y)

        def f(X):
            Z = A @ X
            return np.sum(logsumexp(Z, axis=1)) - np.sum(Z * Y)

    stored = []
    res = bcd(
        df,
        penalty=L1(lam),
        selection="gsl",
        max_iter=6,
        callback=lambda r: stored.append(r.x),
    )
    assert len(stored) == 6 and stored[0].shape == df.x_shape
    assert res.history["iteration"] == [0, 1, 2, 3, 4, 5, 6]
    for before, after in zip(stored, stored[1:]):
        assert not np.array_equal(before, after)
    np.testing.assert_array_equal(stored[-1], res.x)
    objectives = [f(x) + lam * np.sum(np.abs(x)) for x in stored]
    np.testing.assert_allclose(objectives, res.history["objective"][1:], rtol=1e-12)


def test_errors():
    A, b = _ls(m=10, n=6)
    df = LeastSquaresDatafit(A, b)
    bad = A.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="A contains NaN"):
        LeastSquaresDatafit(bad, b)
    with pytest.raises(ValueError, match="b contains infinite"):
        LeastSquaresDatafit(A, np.r_[b[:-1], np.inf])
    with pytest.raises(ValueError, match="b has 9 rows but A has 10"):
        LeastSquaresDatafit(A, b[:9])
    with pytest.raises(ValueError, match="c has shape"):
        QuadraticDatafit(A.T @ A, b)
    with pytest.raises(ValueError, match="Q must be square"):
        QuadraticDatafit(A, b)
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        bcd(df, block_size=0)
    with pytest.raises(ValueError, match="block_size must be <= 6"):
        bcd(df, block_size=7)
    with pytest.raises(
        ValueError,
        match="Unknown selection 'gauss'; expected one of 'cyclic', 'random'",
    ):
        bcd(df, selection="gauss")
    with pytest.raises(ValueError, match="Unknown update 'exact'.*'optimal'"):
        bcd(df, update="exact")
    with pytest.raises(ValueError, match="Unknown partition"):
        bcd(df, partition="blocks")
    with pytest.raises(ValueError, match="l1 must be >= 0"):
        SeparablePenalty(l1=-1.0)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        bcd(df, penalty=L1(-1.0))
    with pytest.raises(TypeError, match="penalty must be"):
        bcd(df, penalty="l1")
    with pytest.raises(ValueError, match="update='optimal' needs a quadratic"):
        bcd(LogisticDatafit(A, np.sign(b)), update="optimal")
    with pytest.raises(ValueError, match="x0 has shape"):
        bcd(df, np.zeros(5))
    with pytest.raises(TypeError, match="datafit must be"):
        bcd(A)
    with pytest.raises(ValueError, match="y must hold two classes"):
        LogisticDatafit(A, np.arange(10.0))
    with pytest.raises(ValueError, match="tol must be >= 0"):
        bcd(df, tol=-1.0)


def test_cold_import_does_not_load_numba_or_scipy():
    code = "import sys, optlib, optlib.optimize; print('numba' in sys.modules, 'scipy' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]


def test_quadratic_datafit_rejects_nonsymmetric_q():
    Q = np.array([[2.0, 1.0], [0.0, 2.0]])
    with pytest.raises(ValueError, match="symmetric"):
        QuadraticDatafit(Q, np.ones(2))
    with pytest.raises(ValueError, match="symmetric"):
        QuadraticDatafit(sp.csc_matrix(Q), np.ones(2))


def test_softmax_datafit_rejects_y_that_is_not_probabilities():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 3))
    Y = np.eye(3)[rng.integers(0, 3, 6)]
    SoftmaxDatafit(A, Y)  # one-hot: fine
    with pytest.raises(ValueError, match="one-hot"):
        SoftmaxDatafit(A, 2 * Y - 0.5)


def test_softmax_matrix_update_dense_equals_sparse():
    # the block bound is positive definite: no drift along (1, ..., 1) per feature
    rng = np.random.default_rng(1)
    A = rng.standard_normal((50, 10))
    labels = rng.integers(0, 3, 50)
    x0 = np.full((10, 3), 0.1)
    kw = dict(
        partition="order", selection="cyclic", update="hb", block_size=3, max_iter=300
    )
    dense = bcd(SoftmaxDatafit(A, labels), x0, **kw)
    sparse = bcd(SoftmaxDatafit(sp.csc_matrix(A), labels), x0, **kw)
    np.testing.assert_allclose(dense.x, sparse.x, atol=1e-10)
    assert np.max(np.abs(dense.x.mean(axis=1) - 0.1)) < 1e-12


def test_default_block_size_fits_small_problems():
    Q = np.diag([1.0, 2.0, 3.0])
    res = bcd(QuadraticDatafit(Q, np.ones(3)), update="optimal", max_iter=3)
    np.testing.assert_allclose(res.x, [1.0, 0.5, 1 / 3])
