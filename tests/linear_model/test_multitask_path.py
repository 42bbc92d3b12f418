"""Multi-task paths (``enet_path`` / ``lasso_path`` with a 2-D ``y``), MultiTaskLassoCV / MultiTaskElasticNetCV
and ``sparse_coef_`` of the multi-task estimators, against scikit-learn.

scikit-learn's own multi-task CV tests, adapted, are in test_sklearn_multitask_cv.py.
"""

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn import linear_model as sklm
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from optlib.linear_model import (
    MultiTaskElasticNet,
    MultiTaskElasticNetCV,
    MultiTaskLasso,
    MultiTaskLassoCV,
    enet_path,
    lasso_path,
)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.RandomState(0)
    X = rng.randn(40, 30)
    W = np.zeros((3, 30))
    W[:, :5] = rng.randn(3, 5)
    Y = X @ W.T + 0.1 * rng.randn(40, 3)
    return X, Y


@pytest.mark.parametrize("interface", ["spmatrix", "sparray"])
@pytest.mark.parametrize(("ours", "ref"), [(MultiTaskLasso, sklm.MultiTaskLasso),
                                           (MultiTaskElasticNet, sklm.MultiTaskElasticNet)])  # fmt: skip
def test_sparse_coef_type_matches_sklearn(problem, ours, ref, interface):
    X, Y = problem
    a, b = ours(alpha=0.1).fit(X, Y), ref(alpha=0.1).fit(X, Y)
    with sklearn.config_context(sparse_interface=interface):
        sa, sb = a.sparse_coef_, b.sparse_coef_
    assert type(sa) is type(sb)
    assert sa.shape == sb.shape == (3, 30)
    np.testing.assert_array_equal(sa.toarray(), a.coef_)
    assert sp.issparse(sa)


# -- multi-task paths ------------------------------------------------------------------------------------------
TIGHT = {"tol": 1e-12, "max_iter": 100_000}


@pytest.mark.parametrize("l1_ratio", [1.0, 0.3])
@pytest.mark.parametrize("sparse_X", [False, True])
def test_path_matches_sklearn(problem, l1_ratio, sparse_X):
    X, Y = problem
    Xin = sp.csc_matrix(X) if sparse_X else X
    a, c, g = enet_path(Xin, Y, l1_ratio=l1_ratio, alphas=20, eps=1e-2, **TIGHT)
    ra, rc, rg = sklm.enet_path(X, Y, l1_ratio=l1_ratio, alphas=20, eps=1e-2, **TIGHT)
    np.testing.assert_allclose(a, ra, rtol=1e-12)
    assert c.shape == rc.shape == (3, 30, 20) and g.shape == rg.shape == (20,)
    np.testing.assert_allclose(c, rc, atol=1e-6)
    assert np.all(g <= 1e-12 * np.sum(Y**2) / X.shape[0])
    # the first alpha is alpha_max: all coefficients zero, the second already not
    assert not np.any(c[..., 0]) and np.any(c[..., 1])


def test_path_options(problem):
    X, Y = problem
    alphas, coefs, _, n_iter = lasso_path(X, Y, alphas=[0.05, 0.5, 0.1], return_n_iter=True, **TIGHT)
    np.testing.assert_array_equal(alphas, [0.5, 0.1, 0.05])
    assert len(n_iter) == 3
    ref = sklm.lasso_path(X, Y, alphas=[0.05, 0.5, 0.1], **TIGHT)[1]
    np.testing.assert_allclose(coefs, ref, atol=1e-6)
    # Xy sets alpha_max (here a doubled X^T Y doubles it); coef_init starts the first alpha
    a2 = lasso_path(X, Y, alphas=4, Xy=2 * X.T @ Y)[0]
    np.testing.assert_allclose(a2[0], 2 * lasso_path(X, Y, alphas=4)[0][0])
    c_warm = lasso_path(X, Y, alphas=[0.1], coef_init=coefs[..., 1], **TIGHT)
    np.testing.assert_allclose(c_warm[1][..., 0], coefs[..., 1], atol=1e-8)
    # float32 kept, inputs untouched
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    X0, Y0 = X32.copy(), Y32.copy()
    c32 = lasso_path(X32, Y32, alphas=5, tol=1e-6)[1]
    assert c32.dtype == np.float32
    np.testing.assert_array_equal(X32, X0)
    np.testing.assert_array_equal(Y32, Y0)


def test_path_bad_input_and_non_convergence(problem):
    X, Y = problem
    with pytest.raises(ValueError, match="positive=True is not allowed for multi-output"):
        lasso_path(X, Y, positive=True)
    with pytest.raises(ValueError, match="coef_init must have shape"):
        lasso_path(X, Y, coef_init=np.zeros(30))
    with pytest.raises(ValueError, match="Xy must have shape"):
        lasso_path(X, Y, Xy=np.zeros(30))
    with pytest.raises(ValueError, match="samples"):
        lasso_path(X, Y[:-1])
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        _, c, _ = lasso_path(X, Y, alphas=3, tol=1e-16, max_iter=2)
    assert np.all(np.isfinite(c))


# -- MultiTaskLassoCV / MultiTaskElasticNetCV ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("ours", "ref", "kw"),
    [(MultiTaskLassoCV, sklm.MultiTaskLassoCV, {}),
     (MultiTaskElasticNetCV, sklm.MultiTaskElasticNetCV, {"l1_ratio": [0.3, 0.9]})],
)  # fmt: skip
def test_cv_matches_sklearn(problem, ours, ref, kw):
    X, Y = problem
    Y = Y + 0.5 * np.random.RandomState(3).randn(*Y.shape) + np.array([1.0, -2.0, 0.0])  # noisier, offsets
    a = ours(alphas=15, cv=3, tol=1e-10, **kw).fit(X, Y)
    b = ref(alphas=15, cv=3, tol=1e-10, **kw).fit(X, Y)
    assert a.alpha_ == pytest.approx(b.alpha_, rel=1e-12)
    np.testing.assert_allclose(a.alphas_, b.alphas_, rtol=1e-12)
    assert a.mse_path_.shape == b.mse_path_.shape
    np.testing.assert_allclose(a.mse_path_, b.mse_path_, rtol=1e-6)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-6)
    np.testing.assert_allclose(a.intercept_, b.intercept_, atol=1e-6)
    assert hasattr(a, "l1_ratio_") == hasattr(b, "l1_ratio_")
    if kw:
        assert a.l1_ratio_ == b.l1_ratio_


def test_cv_sample_weight_given_alphas_and_n_jobs(problem):
    X, Y = problem
    w = np.random.RandomState(1).uniform(0.2, 2.0, X.shape[0])
    kw = {"alphas": [0.3, 0.01, 0.1, 0.03], "cv": 3, "tol": 1e-10}
    a = MultiTaskElasticNetCV(l1_ratio=0.7, n_jobs=2, **kw).fit(X, Y, sample_weight=w)
    b = sklm.MultiTaskElasticNetCV(l1_ratio=0.7, **kw).fit(X, Y, sample_weight=w)
    np.testing.assert_allclose(a.alphas_, [0.3, 0.1, 0.03, 0.01])
    np.testing.assert_allclose(a.mse_path_, b.mse_path_, rtol=1e-6)
    assert a.alpha_ == b.alpha_
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-6)


def test_cv_bad_input(problem):
    X, Y = problem
    with pytest.raises(ValueError, match="For mono-task outputs, use LassoCV"):
        MultiTaskLassoCV().fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="l1_ratio"):
        MultiTaskElasticNetCV(l1_ratio=[0.5, 1.5]).fit(X, Y)
    with pytest.raises(ValueError, match="eps"):
        MultiTaskLassoCV(eps=0.0).fit(X, Y)


@parametrize_with_checks([MultiTaskLassoCV(alphas=5, cv=3), MultiTaskElasticNetCV(alphas=5, cv=3, l1_ratio=[0.5, 1.0])])
def test_sklearn_compatible_cv_estimator(estimator, check):
    check(estimator)
