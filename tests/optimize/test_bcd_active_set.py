"""Active-set greedy BCD for l1 problems: scikit-learn reference, KKT, manifold, scores, errors."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso

from optlib._backend import numba_available
from optlib.optimize import active_set_bcd
from optlib.optimize._bcd._active_set import _scores_xp

UPDATES = ["prox_newton", "two_metric", "prox_gradient"]


def _problem(m=40, n=80, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) * rng.uniform(0.2, 3.0, n)  # unequal column scales
    x = np.zeros(n)
    x[:6] = rng.standard_normal(6) * 3
    b = A @ x + 0.1 * rng.standard_normal(m)
    lam = 0.1 * np.max(np.abs(A.T @ b))
    return A.astype(dtype), b.astype(dtype), lam


def _objective(A, b, lam, x):
    return 0.5 * np.sum((A @ x - b) ** 2) + lam * np.sum(np.abs(x))


@pytest.fixture(scope="module", params=[False, True], ids=["l1", "positive"])
def reference(request):
    positive = request.param
    A, b, lam = _problem()
    m = A.shape[0]
    sk = Lasso(alpha=lam / m, fit_intercept=False, positive=positive, tol=1e-15, max_iter=1_000_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # gap already at round-off level
        sk.fit(A, b)
    return A, b, lam, positive, sk.coef_, _objective(A, b, lam, sk.coef_)


def _check_kkt(A, b, lam, x, positive, rtol=1e-7):
    g = A.T @ (A @ x - b)
    slack = rtol * max(lam, np.max(np.abs(A.T @ b)))
    nz = x != 0
    if positive:
        assert np.all(x >= 0)
        assert np.all(np.abs(g[nz] + lam) <= slack)
        assert np.all(g[~nz] + lam >= -slack)
    else:
        assert np.all(np.abs(g[nz] + lam * np.sign(x[nz])) <= slack)
        assert np.all(np.abs(g[~nz]) <= lam + slack)


@pytest.mark.parametrize("update", UPDATES)
def test_matches_sklearn_lasso_kkt_and_support(reference, update):
    A, b, lam, positive, coef, f_star = reference
    res = active_set_bcd(A, b, lam, positive=positive, update=update, block_size=5, tol=1e-12, max_iter=20000)
    assert res.success and res.status == 0
    assert abs(res.fun - f_star) <= 1e-9 * f_star
    assert abs(_objective(A, b, lam, res.x) - f_star) <= 1e-9 * f_star
    _check_kkt(A, b, lam, res.x, positive)
    np.testing.assert_array_equal(res.support, np.flatnonzero(coef))
    np.testing.assert_allclose(res.x, coef, atol=1e-6 * np.max(np.abs(coef)))
    # manifold bookkeeping: identified before the end, history consistent
    h = res.history
    assert 0 < res.manifold_iteration <= res.nit
    assert h["support_size"][-1] == res.support.size
    assert h["active_set_size"][-1] == A.shape[1] - res.support.size
    changed = np.flatnonzero(h["manifold_changed"])
    assert h["iteration"][changed[-1]] == res.manifold_iteration
    assert h["residual"][-1] == pytest.approx(res.residual, rel=1e-6, abs=1e-8)
    obj = np.array(h["objective"])
    assert np.all(np.diff(obj) <= 1e-10 * abs(obj[0]))  # every update decreases the objective


@pytest.mark.parametrize("selection", ["gs", "random", "cyclic"])
@pytest.mark.parametrize("update", UPDATES)
def test_other_selections_converge(reference, selection, update):
    A, b, lam, positive, _coef, f_star = reference
    res = active_set_bcd(
        A, b, lam, positive=positive, update=update, selection=selection, block_size=8, tol=1e-11,
        max_iter=50000, random_state=0,
    )
    assert res.success
    assert abs(res.fun - f_star) <= 1e-9 * f_star


def test_prox_newton_needs_far_fewer_iterations_than_prox_gradient():
    A, b, lam = _problem(m=60, n=200, seed=3)
    kw = {"positive": True, "block_size": 20, "tol": 1e-10, "max_iter": 20000}
    newton = active_set_bcd(A, b, lam, update="prox_newton", **kw)
    tmp = active_set_bcd(A, b, lam, update="two_metric", **kw)
    grad = active_set_bcd(A, b, lam, update="prox_gradient", **kw)
    assert newton.success and tmp.success and grad.success
    assert 3 * newton.nit <= grad.nit, (newton.nit, grad.nit)
    assert 3 * tmp.nit <= grad.nit, (tmp.nit, grad.nit)
    # the block covers the support: a few Newton steps after identification
    assert newton.nit - newton.manifold_iteration <= 3


def _brute_force_decrease(x, g, L, lam, positive):
    """Largest decrease of the coordinate model over a fine grid of steps (plus the kink)."""
    out = np.empty_like(x)
    for i in range(x.size):
        d_star = -g[i] / L[i]
        span = 4 * (abs(d_star) + abs(x[i]) + lam / L[i]) + 1e-12
        d = np.concatenate([np.linspace(-span, span, 400_001), [-x[i], 0.0]])
        if positive:
            d = d[x[i] + d >= 0]
            model = (g[i] + lam) * d + 0.5 * L[i] * d * d
        else:
            model = g[i] * d + 0.5 * L[i] * d * d + lam * (np.abs(x[i] + d) - abs(x[i]))
        out[i] = -model.min()
    return out


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("engine", ["numba", "xp"])
def test_gsq_scores_equal_brute_force_model_decrease(positive, engine):
    rng = np.random.default_rng(1)
    n = 40
    x = rng.standard_normal(n) * (rng.random(n) < 0.5)
    if positive:
        x = np.abs(x)
    g = 3 * rng.standard_normal(n)
    L = rng.uniform(0.5, 5.0, n)
    lam = 1.0
    if engine == "numba":
        pytest.importorskip("numba")
        from optlib.optimize._bcd._active_set_numba import gsq_scores as scores
    else:
        scores = _scores_xp
    out = np.empty(n)
    opt = scores(x, g, L, lam, positive, 0, out)
    brute = _brute_force_decrease(x, g, L, lam, positive)
    assert np.all(out >= -1e-12)
    np.testing.assert_allclose(out, brute, rtol=1e-6, atol=1e-9)
    # the optimality measure is the largest entry of the minimum-norm subgradient
    gs = np.empty(n)
    assert scores(x, g, L, lam, positive, 1, gs) == pytest.approx(opt)
    assert opt == pytest.approx(gs.max())
    if positive:
        expected = np.where(x > 0, np.abs(g + lam), np.maximum(-(g + lam), 0))
    else:
        expected = np.where(x != 0, np.abs(g + lam * np.sign(x)), np.maximum(np.abs(g) - lam, 0))
    np.testing.assert_allclose(gs, expected, rtol=1e-14)


@pytest.mark.parametrize("update", UPDATES)
def test_numba_and_xp_engines_agree(update):
    if not numba_available():
        pytest.skip("numba unavailable or disabled")
    A, b, lam = _problem(m=30, n=60, seed=2)
    kw = {"update": update, "block_size": 6, "tol": 1e-10, "max_iter": 5000}
    r1 = active_set_bcd(A, b, lam, engine="numba", **kw)
    r2 = active_set_bcd(A, b, lam, engine="xp", **kw)
    assert r1.success and r2.success
    assert abs(r1.nit - r2.nit) <= 2
    np.testing.assert_allclose(r1.x, r2.x, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("positive", [False, True])
def test_quadratic_form_precompute_and_sparse_agree(positive):
    import scipy.sparse as sp

    A, b, lam = _problem(m=30, n=50, seed=4)
    A[np.abs(A) < 0.8] = 0.0
    kw = {"positive": positive, "block_size": 7, "tol": 1e-12, "max_iter": 20000}
    ref = active_set_bcd(A, b, lam, **kw)
    quad = active_set_bcd(A.T @ A, A.T @ b, lam, form="quadratic", **kw)
    pre = active_set_bcd(A, b, lam, precompute=True, **kw)
    sparse = active_set_bcd(sp.csr_matrix(A), b, lam, **kw)
    for res in (quad, pre, sparse):
        assert res.success
        np.testing.assert_allclose(res.x, ref.x, rtol=1e-7, atol=1e-8)
    half_bb = 0.5 * b @ b
    assert quad.fun + half_bb == pytest.approx(ref.fun, rel=1e-10)
    assert pre.fun == pytest.approx(ref.fun, rel=1e-10)
    assert sparse.fun == pytest.approx(ref.fun, rel=1e-12)


def test_zero_columns_and_whole_block():
    A, b, lam = _problem(m=20, n=15, seed=5)
    A[:, 3] = 0.0
    x0 = np.ones(15)
    res = active_set_bcd(A, b, lam, x0, block_size=15, update="prox_newton", tol=1e-12)
    assert res.success and res.x[3] == 0.0
    assert res.nit <= 5  # one exact block solve of the whole problem, then confirmation
    _check_kkt(A, b, lam, res.x, positive=False)


def test_float32_preserved_and_inputs_untouched():
    A, b, lam = _problem(dtype=np.float32)
    x0 = np.full(A.shape[1], 0.1, dtype=np.float32)
    copies = [A.copy(), b.copy(), x0.copy()]
    res = active_set_bcd(A, b, lam, x0, update="two_metric", tol=1e-10, max_iter=5000)
    assert res.x.dtype == np.float32
    for before, after in zip(copies, (A, b, x0)):
        np.testing.assert_array_equal(before, after)
    ref = active_set_bcd(A.astype(np.float64), b.astype(np.float64), lam, tol=1e-10, max_iter=5000)
    assert ref.x.dtype == np.float64
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-5, atol=1e-5)


def test_max_iter_warns_and_fails():
    A, b, lam = _problem()
    with pytest.warns(ConvergenceWarning, match="active_set_bcd"):
        res = active_set_bcd(A, b, lam, update="prox_gradient", max_iter=2)
    assert not res.success and res.status == 1 and res.nit == 2
    assert len(res.history) == 2


def test_warm_start_at_solution_and_callback_stop():
    A, b, lam = _problem()
    sol = active_set_bcd(A, b, lam, tol=1e-12, max_iter=10000)
    again = active_set_bcd(A, b, lam, sol.x, tol=1e-6)
    assert again.success and again.nit == 0

    seen = []

    def callback(r):
        seen.append(r.x)
        if r.nit == 3:
            raise StopIteration

    res = active_set_bcd(A, b, lam, callback=callback, history=False)
    assert res.status == 2 and res.nit == 3 and "history" not in res
    assert len(seen) == 3 and not np.shares_memory(seen[0], seen[1])
    with pytest.raises(TypeError, match="callback"):
        active_set_bcd(A, b, lam, callback=3)


def test_random_selection_is_reproducible():
    A, b, lam = _problem()
    kw = {"selection": "random", "max_iter": 30, "random_state": 7}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        r1, r2 = active_set_bcd(A, b, lam, **kw), active_set_bcd(A, b, lam, **kw)
    np.testing.assert_array_equal(r1.x, r2.x)


def test_positive_projects_x0():
    A, b, lam = _problem()
    res = active_set_bcd(A, b, lam, -np.ones(A.shape[1]), positive=True, tol=1e-10, max_iter=20000)
    assert res.success and np.all(res.x >= 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lam": -1.0}, "lam must be >= 0"),
        ({"lam": float("nan")}, "lam must be finite"),
        ({"block_size": 0}, "block_size must be >= 1"),
        ({"block_size": 81}, "block_size must be <= 80"),
        ({"update": "newton"}, "Unknown update 'newton'"),
        ({"selection": "gsl"}, "Unknown selection 'gsl'"),
        ({"form": "lasso"}, "Unknown form 'lasso'"),
        ({"engine": "cuda"}, "engine must be one of"),
        ({"tol": -1.0}, "tol must be >= 0"),
        ({"max_iter": 0}, "max_iter must be >= 1"),
        ({"b": np.ones(7)}, r"b has shape \(7,\), expected \(40,\)"),
        ({"x0": np.ones(3)}, r"x0 has shape \(3,\), expected \(80,\)"),
        ({"A": np.ones(5)}, "A must be 2-dimensional"),
        ({"A": np.full((40, 80), np.nan)}, "A contains NaN"),
        ({"b": np.full(40, np.inf)}, "b contains infinite"),
        ({"x0": np.full(80, np.nan)}, "x0 contains NaN"),
        ({"form": "quadratic"}, "A must be square"),
    ],
)
def test_bad_inputs_raise_clear_errors(kwargs, match):
    A, b, lam = _problem()
    args = {"A": A, "b": b, "lam": lam}
    for key in ("A", "b", "lam"):
        if key in kwargs:
            args[key] = kwargs.pop(key)
    with pytest.raises(ValueError, match=match):
        active_set_bcd(args["A"], args["b"], args["lam"], **kwargs)


def test_quadratic_form_errors():
    Q = np.array([[2.0, 1.0], [0.0, 2.0]])
    with pytest.raises(ValueError, match="symmetric"):
        active_set_bcd(Q, np.ones(2), 0.1, form="quadratic")
    Q = np.diag([1.0, 0.0])
    with pytest.raises(ValueError, match="unbounded"):
        active_set_bcd(Q, np.array([1.0, 2.0]), 1.0, form="quadratic")
    res = active_set_bcd(Q, np.array([3.0, 0.5]), 1.0, form="quadratic", tol=1e-14)
    np.testing.assert_allclose(res.x, [2.0, 0.0])


def test_sparse_quadratic_form_and_host_only():
    import scipy.sparse as sp

    A, b, lam = _problem(m=30, n=50, seed=6)
    ref = active_set_bcd(A, b, lam, tol=1e-12, max_iter=20000)
    Q = sp.csr_matrix(A.T @ A)
    quad = active_set_bcd(Q, A.T @ b, lam, form="quadratic", tol=1e-12, max_iter=20000)
    pre = active_set_bcd(sp.csc_matrix(A), b, lam, precompute=True, tol=1e-12, max_iter=20000)
    np.testing.assert_allclose(quad.x, ref.x, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(pre.x, ref.x, rtol=1e-7, atol=1e-8)
    with pytest.raises(ValueError, match="symmetric"):
        active_set_bcd(sp.csr_matrix(np.triu(A.T @ A)), A.T @ b, lam, form="quadratic")
    xps = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError, match="host: A must be a NumPy"):
        active_set_bcd(xps.asarray(A), xps.asarray(b), lam)
    with pytest.raises(TypeError, match="host: b must be a NumPy"):
        active_set_bcd(A, xps.asarray(b), lam)
    with pytest.raises(TypeError, match="host: x0 must be a NumPy"):
        active_set_bcd(A, b, lam, xps.zeros(A.shape[1]))


@pytest.mark.slow
def test_example_reproduces_paper_iteration_counts(tmp_path, monkeypatch):
    """Full-size L1 problem: Newton-type updates reach 1e-8 in a few iterations at tau = 50, 100."""
    import runpy
    from pathlib import Path

    pytest.importorskip("matplotlib")
    monkeypatch.setenv("OPTLIB_EXAMPLE_QUICK", "0")
    monkeypatch.setenv("OPTLIB_EXAMPLES_OUTPUT", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    example = Path(__file__).resolve().parents[2] / "examples" / "plot_bcd_active_set.py"
    ns = runpy.run_path(str(example), run_name="__main__")
    table = ns["table"]  # iterations to f - f* <= 1e-8, keyed by (update, tau)
    for update in ("prox_newton", "two_metric"):
        assert table[update, 50] <= 12 and table[update, 100] <= 12
        assert table[update, 5] <= 100
    for tau in (5, 50, 100):
        assert 100 <= table["prox_gradient", tau] <= 250
    assert abs(ns["f_sklearn"] - ns["f_star"]) <= 1e-12 * ns["f_star"]
