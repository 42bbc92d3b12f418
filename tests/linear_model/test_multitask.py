"""MultiTaskLasso / MultiTaskElasticNet: scikit-learn's solutions, attributes, checks and bad input.

scikit-learn's own multi-task tests, adapted, are in test_sklearn_multitask.py.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import MultiTaskElasticNet as SKMultiTaskElasticNet
from sklearn.linear_model import MultiTaskLasso as SKMultiTaskLasso
from sklearn.utils.estimator_checks import parametrize_with_checks

from optlib import ConvergenceWarning
from optlib.linear_model import MultiTaskElasticNet, MultiTaskLasso


@pytest.fixture(scope="module")
def problem():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 300)
    W = np.zeros((3, 300))
    W[:, :8] = rng.randn(3, 8)
    Y = X @ W.T + 0.1 * rng.randn(60, 3) + np.array([1.0, -2.0, 0.5])
    return X, Y


def _objective(est, X, Y, alpha, l1_ratio):
    n = X.shape[0]
    R = Y - X @ est.coef_.T - est.intercept_
    return (0.5 / n) * np.sum(R**2) + alpha * l1_ratio * np.sum(np.linalg.norm(est.coef_, axis=0)) + (
        0.5 * alpha * (1 - l1_ratio) * np.sum(est.coef_**2)
    )


@pytest.mark.parametrize("alpha", [0.01, 0.1, 1.0])
@pytest.mark.parametrize(
    ("ours", "ref", "kw"),
    [(MultiTaskLasso, SKMultiTaskLasso, {}), (MultiTaskElasticNet, SKMultiTaskElasticNet, {"l1_ratio": 0.7}),
     (MultiTaskElasticNet, SKMultiTaskElasticNet, {"l1_ratio": 0.0})],
)  # fmt: skip
def test_matches_sklearn(problem, ours, ref, kw, alpha):
    X, Y = problem
    a = ours(alpha=alpha, tol=1e-12, max_iter=100_000, **kw).fit(X, Y)
    b = ref(alpha=alpha, tol=1e-12, max_iter=100_000, **kw).fit(X, Y)
    if kw.get("l1_ratio") == 0.0:
        # ridge, p > n: slow coordinate descent, both stop within their gaps. Strong convexity
        # (modulus alpha) bounds each one's distance to the optimum by sqrt(2 gap / alpha).
        bound = sum(np.sqrt(2 * max(g, 0.0) / alpha) for g in (a.dual_gap_, b.dual_gap_))
        assert np.linalg.norm(a.coef_ - b.coef_) <= bound + 1e-10
    else:
        np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-8)
        np.testing.assert_allclose(a.intercept_, b.intercept_, atol=1e-8)
    assert a.coef_.shape == (3, 300) and a.intercept_.shape == (3,)
    assert isinstance(a.n_iter_, int) and a.n_iter_ >= 1
    assert -1e-12 <= a.dual_gap_ <= a.eps_ / X.shape[0]  # rounding may make a zero gap slightly negative
    l1_ratio = kw.get("l1_ratio", 1.0)
    # the duality gap bounds the suboptimality
    assert _objective(a, X, Y, alpha, l1_ratio) <= _objective(b, X, Y, alpha, l1_ratio) + max(a.dual_gap_, 0) + 1e-12
    # row sparsity: a feature is zero for all tasks or for none
    nz = a.coef_ != 0
    assert np.all(nz.all(axis=0) | ~nz.any(axis=0))


def test_gap_tolerance_is_sklearns(problem):
    """eps_ = tol * ||Y - mean||_F^2 (scikit-learn's), dual_gap_ in objective units."""
    X, Y = problem
    a = MultiTaskLasso(alpha=0.1, tol=1e-3).fit(X, Y)
    b = SKMultiTaskLasso(alpha=0.1, tol=1e-3).fit(X, Y)
    assert a.eps_ == pytest.approx(b.eps_, rel=1e-12)
    assert a.dual_gap_ <= a.eps_ / X.shape[0]


def test_selection_random_warm_start_and_dtype(problem):
    X, Y = problem
    cyc = MultiTaskElasticNet(alpha=0.05, tol=1e-12, max_iter=50_000).fit(X, Y)
    rnd = MultiTaskElasticNet(alpha=0.05, tol=1e-12, max_iter=50_000, selection="random", random_state=3).fit(X, Y)
    np.testing.assert_allclose(rnd.coef_, cyc.coef_, atol=1e-8)
    warm = MultiTaskElasticNet(alpha=0.05, tol=1e-12, max_iter=50_000, warm_start=True).fit(X, Y)
    n_cold = warm.n_iter_
    warm.fit(X, Y)
    assert warm.n_iter_ < n_cold  # starts at the solution
    np.testing.assert_allclose(warm.coef_, cyc.coef_, atol=1e-8)
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    X0, Y0 = X32.copy(), Y32.copy()
    f32 = MultiTaskLasso(alpha=0.1, tol=1e-6).fit(X32, Y32)
    assert f32.coef_.dtype == np.float32 and f32.intercept_.dtype == np.float32
    assert f32.predict(X32).dtype == np.float32
    np.testing.assert_array_equal(X32, X0)
    np.testing.assert_array_equal(Y32, Y0)
    f64 = MultiTaskLasso(alpha=0.1, tol=1e-10).fit(X, Y)
    np.testing.assert_allclose(f32.coef_, f64.coef_, atol=1e-3)


def test_sparse_input_sample_weight_and_sparse_coef(problem):
    X, Y = problem
    w = np.random.RandomState(1).uniform(0.1, 2.0, X.shape[0])
    a = MultiTaskElasticNet(alpha=0.1, tol=1e-12, max_iter=50_000).fit(sp.csr_matrix(X), Y, sample_weight=w)
    b = SKMultiTaskElasticNet(alpha=0.1, tol=1e-12, max_iter=50_000).fit(X, Y, sample_weight=w)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-8)
    np.testing.assert_allclose(a.intercept_, b.intercept_, atol=1e-8)
    assert sp.issparse(a.sparse_coef_)
    np.testing.assert_array_equal(a.sparse_coef_.toarray(), a.coef_)


def test_bad_input_and_non_convergence(problem):
    X, Y = problem
    with pytest.raises(ValueError, match="for mono-task outputs, use Lasso"):
        MultiTaskLasso().fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="for mono-task outputs, use ElasticNet"):
        MultiTaskElasticNet().fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="l1_ratio"):
        MultiTaskElasticNet(l1_ratio=1.5).fit(X, Y)
    with pytest.raises(ValueError, match="alpha"):
        MultiTaskLasso(alpha=-1.0).fit(X, Y)
    with pytest.raises(ValueError, match="selection"):
        MultiTaskLasso(selection="greedy").fit(X, Y)
    with pytest.raises(ValueError, match="sample_weight"):
        MultiTaskLasso().fit(X, Y, sample_weight=-np.ones(X.shape[0]))
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        est = MultiTaskLasso(alpha=0.001, tol=1e-14, max_iter=2).fit(X, Y)
    assert est.n_iter_ == 2 and np.all(np.isfinite(est.coef_))


@parametrize_with_checks([MultiTaskLasso(), MultiTaskElasticNet(l1_ratio=0.3)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
