"""scikit-learn's MultiTaskLasso / MultiTaskElasticNet tests run on optlib's estimators.

Adapted copy of the multi-task parts of scikit-learn 1.9's
``linear_model/tests/test_coordinate_descent.py``: only the classes are
swapped (``build_dataset`` is copied). What is left out, and why:

* ``MultiTaskLassoCV`` / ``MultiTaskElasticNetCV`` tests and the multi-output paths: they run, classes
  swapped, in test_sklearn_coordinate_descent.py (whose skips list the two left out);
* the single-task halves of the mixed tests (``test_random_descent``,
  ``test_enet_float_precision``, ``test_enet_sample_weight_consistency``) live
  with the Lasso/ElasticNet tests;
* ``test_warm_start_multitask_lasso`` compares 5 + 5 warm-started epochs with
  10 epochs: an iteration-count property of scikit-learn's plain cyclic
  sweeps. optlib's working sets make 5 epochs mean something else, so the
  test is kept with both runs converged (``max_iter`` large), which is what
  warm starts must preserve.
* ``global_random_seed`` is scikit-learn's conftest fixture: seeds 0 and 1 here.
"""

import warnings

import numpy as np
import pytest
from scipy import sparse

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._testing import (
    TempMemmap,
    assert_allclose,
    assert_array_almost_equal,
    ignore_warnings,
)
from sklearn.utils.fixes import CSR_CONTAINERS

from optlib.linear_model import MultiTaskElasticNet, MultiTaskLasso


@pytest.fixture(params=[0, 1])
def global_random_seed(request):
    return request.param


def build_dataset(n_samples=50, n_features=200, n_informative_features=10, n_targets=1):
    """
    build an ill-posed linear regression problem with many noisy features and
    comparatively few samples
    """
    random_state = np.random.RandomState(0)
    if n_targets > 1:
        w = random_state.randn(n_features, n_targets)
    else:
        w = random_state.randn(n_features)
    w[n_informative_features:] = 0.0
    X = random_state.randn(n_samples, n_features)
    y = np.dot(X, w)
    X_test = random_state.randn(n_samples, n_features)
    y_test = np.dot(X_test, w)
    return X, y, X_test, y_test


@pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")
def test_multi_task_lasso_vs_skglm():
    """Test that MultiTaskLasso gives same results as the one from skglm."""
    # Numbers are with skglm version 0.5.
    n_samples, n_features, n_tasks = 5, 4, 3
    X = np.vander(np.arange(n_samples), n_features)
    Y = np.arange(n_samples * n_tasks).reshape(n_samples, n_tasks)

    def obj(W, X, y, alpha):
        intercept = W[:, -1]
        W = W[:, :-1]
        l21_norm = np.sqrt(np.sum(W**2, axis=0)).sum()
        return (
            np.linalg.norm(Y - X @ W.T - intercept, ord="fro") ** 2 / (2 * n_samples)
            + alpha * l21_norm
        )

    alpha = 0.1
    m = MultiTaskLasso(alpha=alpha, tol=1e-10, max_iter=5000).fit(X, Y)
    assert_allclose(
        obj(np.c_[m.coef_, m.intercept_], X, Y, alpha=alpha),
        0.4965993692547902,
        rtol=1e-10,
    )
    assert_allclose(
        m.intercept_, [0.219942959407, 1.219942959407, 2.219942959407], rtol=1e-7
    )
    assert_allclose(
        m.coef_,
        np.tile([-0.032075014794, 0.25430904614, 2.44785152982, 0], (n_tasks, 1)),
        rtol=1e-6,
    )


def test_multi_task_lasso_and_enet():
    X, y, X_test, y_test = build_dataset()
    Y = np.c_[y, y]
    clf = MultiTaskLasso(alpha=1, tol=1e-8).fit(X, Y)
    assert 0 < clf.dual_gap_ < 1e-5
    assert_array_almost_equal(clf.coef_[0], clf.coef_[1])

    clf = MultiTaskElasticNet(alpha=1, tol=1e-8).fit(X, Y)
    assert 0 < clf.dual_gap_ < 1e-5
    assert_array_almost_equal(clf.coef_[0], clf.coef_[1])

    clf = MultiTaskElasticNet(alpha=1.0, tol=1e-8, max_iter=1)
    warning_message = (
        "Objective did not converge. You might want to "
        "increase the number of iterations."
    )
    with pytest.warns(ConvergenceWarning, match=warning_message):
        clf.fit(X, Y)


def test_multi_task_lasso_readonly_data():
    X, y, X_test, y_test = build_dataset()
    Y = np.c_[y, y]
    with TempMemmap((X, Y)) as (X, Y):
        Y = np.c_[y, y]
        clf = MultiTaskLasso(alpha=1, tol=1e-8).fit(X, Y)
        assert 0 < clf.dual_gap_ < 1e-5
        assert_array_almost_equal(clf.coef_[0], clf.coef_[1])


@pytest.mark.parametrize("csr_container", CSR_CONTAINERS)
def test_random_descent(csr_container):
    # Multioutput case of scikit-learn's test: random and cyclic selection agree.
    X, y, _, _ = build_dataset(n_samples=50, n_features=20)
    new_y = np.hstack((y[:, np.newaxis], y[:, np.newaxis]))
    clf_cyclic = MultiTaskElasticNet(selection="cyclic", tol=1e-9)
    clf_cyclic.fit(csr_container(X), new_y)
    clf_random = MultiTaskElasticNet(selection="random", tol=1e-9, random_state=42)
    clf_random.fit(csr_container(X), new_y)
    assert_allclose(clf_cyclic.coef_, clf_random.coef_)
    assert_allclose(clf_cyclic.intercept_, clf_random.intercept_)


def test_enet_float_precision():
    # The multi-task half of scikit-learn's test.
    X, y, X_test, y_test = build_dataset(n_samples=20, n_features=10)
    for fit_intercept in [True, False]:
        coef = {}
        intercept = {}
        for dtype in [np.float64, np.float32]:
            X = dtype(X)
            y = dtype(y)
            multi_y = np.hstack((y[:, np.newaxis], y[:, np.newaxis]))
            clf_multioutput = MultiTaskElasticNet(
                alpha=0.5,
                max_iter=100,
                fit_intercept=fit_intercept,
            )
            clf_multioutput.fit(X, multi_y)
            coef[("multi", dtype)] = clf_multioutput.coef_
            intercept[("multi", dtype)] = clf_multioutput.intercept_
            assert clf_multioutput.coef_.dtype == dtype

        assert_array_almost_equal(
            coef[("multi", np.float32)], coef[("multi", np.float64)], decimal=4
        )
        assert_array_almost_equal(
            intercept[("multi", np.float32)], intercept[("multi", np.float64)], decimal=4
        )


def test_warm_start_multitask_lasso():
    X, y, X_test, y_test = build_dataset()
    Y = np.c_[y, y]
    clf = MultiTaskLasso(alpha=0.1, max_iter=5, warm_start=True)
    ignore_warnings(clf.fit)(X, Y)
    clf.set_params(max_iter=10_000, tol=1e-10)
    clf.fit(X, Y)  # continue from the 5-epoch iterate to convergence

    clf2 = MultiTaskLasso(alpha=0.1, max_iter=10_000, tol=1e-10)
    clf2.fit(X, Y)
    assert_array_almost_equal(clf2.coef_, clf.coef_)


def test_convergence_warnings():
    random_state = np.random.RandomState(0)
    X = random_state.standard_normal((1000, 500))
    y = random_state.standard_normal((1000, 3))

    # check that the model converges w/o convergence warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        MultiTaskElasticNet().fit(X, y)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("alpha", [0.01])
@pytest.mark.parametrize("sparse_container", [None] + CSR_CONTAINERS)
def test_enet_sample_weight_consistency(
    fit_intercept, alpha, sparse_container, global_random_seed
):
    """Test that the impact of sample_weight is consistent (MultiTaskElasticNet half)."""
    estimator = MultiTaskElasticNet
    rng = np.random.RandomState(global_random_seed)
    n_samples, n_features = 10, 5
    X = rng.rand(n_samples, n_features)
    y = rng.rand(n_samples)

    params = dict(
        alpha=alpha,
        fit_intercept=fit_intercept,
        tol=1e-6,
        l1_ratio=0.5,
    )
    n_tasks = 3
    y = np.tile(y[:, None], reps=(1, n_tasks))

    if sparse_container is not None:
        X = sparse_container(X)

    reg = estimator(**params).fit(X, y)
    coef = reg.coef_.copy()
    if fit_intercept:
        intercept = reg.intercept_
    assert np.sum(coef != 0) > 1

    # 1) sample_weight=np.ones(..) should be equivalent to sample_weight=None
    sample_weight = np.ones_like(y, shape=y.shape[0])
    reg.fit(X, y, sample_weight=sample_weight)
    assert_allclose(reg.coef_, coef, rtol=1e-6)
    if fit_intercept:
        assert_allclose(reg.intercept_, intercept)

    # 2) sample_weight=None should be equivalent to sample_weight = number
    sample_weight = 123.0
    reg.fit(X, y, sample_weight=sample_weight)
    assert_allclose(reg.coef_, coef, rtol=1e-6)
    if fit_intercept:
        assert_allclose(reg.intercept_, intercept)

    # 3) scaling of sample_weight should have no effect, cf. np.average()
    sample_weight = rng.uniform(low=0.01, high=2, size=X.shape[0])
    reg = reg.fit(X, y, sample_weight=sample_weight)
    coef = reg.coef_.copy()
    if fit_intercept:
        intercept = reg.intercept_

    reg.fit(X, y, sample_weight=np.pi * sample_weight)
    assert_allclose(reg.coef_, coef, rtol=1e-6)
    if fit_intercept:
        assert_allclose(reg.intercept_, intercept)

    # 4) setting elements of sample_weight to 0 is equivalent to removing these samples
    sample_weight_0 = sample_weight.copy()
    sample_weight_0[-5:] = 0
    y[-5:] *= 1000  # to make excluding those samples important
    reg.fit(X, y, sample_weight=sample_weight_0)
    coef_0 = reg.coef_.copy()
    if fit_intercept:
        intercept_0 = reg.intercept_
    reg.fit(X[:-5], y[:-5], sample_weight=sample_weight[:-5])
    assert_allclose(reg.coef_, coef_0, rtol=1e-6)
    if fit_intercept:
        assert_allclose(reg.intercept_, intercept_0)

    # 5) check that multiplying sample_weight by 2 is equivalent to repeating
    # corresponding samples twice
    if sparse_container is not None:
        X2 = sparse.vstack([X, X[: n_samples // 2]], format="csc")
    else:
        X2 = np.concatenate([X, X[: n_samples // 2]], axis=0)
    y2 = np.concatenate([y, y[: n_samples // 2]], axis=0)
    sample_weight_1 = sample_weight.copy()
    sample_weight_1[: n_samples // 2] *= 2
    sample_weight_2 = np.concatenate(
        [sample_weight, sample_weight[: n_samples // 2]], axis=0
    )

    reg1 = estimator(**params).fit(X, y, sample_weight=sample_weight_1)
    reg2 = estimator(**params).fit(X2, y2, sample_weight=sample_weight_2)
    assert_allclose(reg1.coef_, reg2.coef_, rtol=1e-6)
