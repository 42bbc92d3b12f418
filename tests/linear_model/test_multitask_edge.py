"""Edge cases of the multi-task paths and MultiTaskLassoCV / MultiTaskElasticNetCV against scikit-learn."""

import numpy as np
import pytest
from sklearn import linear_model as sklm
from sklearn.model_selection import KFold

from optlib.linear_model import (
    MultiTaskElasticNet,
    MultiTaskElasticNetCV,
    MultiTaskLasso,
    MultiTaskLassoCV,
    enet_path,
)

TIGHT = {"tol": 1e-12, "max_iter": 10_000}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 5))
    return X, rng.standard_normal((20, 3)), rng.standard_normal((20, 40))


@pytest.mark.parametrize("case", ["one_task", "tasks_gt_samples", "ridge", "least_squares", "rank_deficient", "zero_X"])
def test_path_edges_match_sklearn(data, case):
    X, Y, Y_wide = data
    kw = {"alphas": [1.0, 0.1, 0.01]}
    if case == "one_task":
        Y = Y[:, :1]
    elif case == "tasks_gt_samples":
        Y = Y_wide
    elif case == "ridge":
        kw["l1_ratio"] = 0.0
    elif case == "least_squares":
        kw["alphas"] = [0.0]
    elif case == "rank_deficient":
        X = np.c_[X, X[:, :2], np.ones(20)]
        kw["alphas"] = [1.0, 0.1]
    else:
        X, kw = np.zeros_like(X), {"alphas": 3}
    a, c, g = enet_path(X, Y, **kw, **TIGHT)
    ra, rc, rg = sklm.enet_path(X, Y, **kw, **TIGHT)
    np.testing.assert_allclose(a, ra)
    assert c.shape == rc.shape
    np.testing.assert_allclose(c, rc, atol=1e-10)


def test_path_ridge_needs_alphas(data):
    X, Y, _ = data
    with pytest.raises(ValueError, match="l1_ratio=0"):
        enet_path(X, Y, l1_ratio=0.0)


def test_cv_float32_weights_no_intercept_generator_cv(data):
    X, Y, _ = data
    sw = np.random.default_rng(1).uniform(0.2, 2.0, 20)
    kw = {"cv": 3, "alphas": 8, "fit_intercept": False, **TIGHT}
    est = MultiTaskLassoCV(**kw).fit(X, Y, sample_weight=sw)
    ref = sklm.MultiTaskLassoCV(**kw).fit(X, Y, sample_weight=sw)
    assert est.alpha_ == pytest.approx(ref.alpha_, rel=1e-12)
    np.testing.assert_allclose(est.mse_path_, ref.mse_path_, rtol=1e-10)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-10)
    # float32 kept in coef_ / intercept_; cv as a one-shot generator with several l1_ratios
    est32 = MultiTaskElasticNetCV(l1_ratio=[0.5, 1.0], cv=KFold(3).split(X), alphas=8, tol=1e-6)
    est32.fit(X.astype(np.float32), Y.astype(np.float32))
    ref64 = sklm.MultiTaskElasticNetCV(l1_ratio=[0.5, 1.0], cv=KFold(3).split(X), alphas=8, tol=1e-6).fit(X, Y)
    assert est32.coef_.dtype == est32.intercept_.dtype == np.float32
    assert est32.mse_path_.shape == ref64.mse_path_.shape == (2, 8, 3)
    assert (est32.alpha_, est32.l1_ratio_) == pytest.approx((ref64.alpha_, ref64.l1_ratio_), rel=1e-5)


@pytest.mark.parametrize(
    "ours, ref, kw",
    [
        (MultiTaskLasso, sklm.MultiTaskLasso, {"alpha": 0.1}),
        (MultiTaskElasticNet, sklm.MultiTaskElasticNet, {"alpha": 0.1}),
        (MultiTaskLassoCV, sklm.MultiTaskLassoCV, {"cv": 3, "alphas": 5}),
        (MultiTaskElasticNetCV, sklm.MultiTaskElasticNetCV, {"cv": 3, "alphas": 5}),
    ],
)
def test_no_intercept_is_float_zero_as_sklearn(data, ours, ref, kw):
    X, Y, _ = data
    est = ours(fit_intercept=False, **kw, **TIGHT).fit(X, Y)
    sk = ref(fit_intercept=False, **kw, **TIGHT).fit(X, Y)
    assert type(est.intercept_) is type(sk.intercept_) is float
    assert est.intercept_ == sk.intercept_ == 0.0
    np.testing.assert_allclose(est.predict(X), sk.predict(X), atol=1e-9)
