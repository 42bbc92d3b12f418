"""Tests for lasso_path / enet_path, LassoCV / ElasticNetCV and the precompute (Gram) kernel."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import linear_model as sk
from sklearn.utils.estimator_checks import parametrize_with_checks

from optlib.linear_model import ElasticNet, ElasticNetCV, Lasso, LassoCV, enet_path, lasso_path

RNG = np.random.default_rng(0)
X_WIDE = np.asfortranarray(RNG.standard_normal((60, 120)))
Y_WIDE = X_WIDE[:, :5] @ np.arange(1.0, 6.0) + 0.5 * RNG.standard_normal(60) + 2.0
X_TALL = RNG.standard_normal((300, 12))
Y_TALL = X_TALL[:, :4] @ np.ones(4) + RNG.standard_normal(300) - 1.0


@pytest.mark.parametrize("path, skpath, kw", [(lasso_path, sk.lasso_path, {}), (enet_path, sk.enet_path, {"l1_ratio": 0.7})])
@pytest.mark.parametrize("fmt", ["dense", "csc"])
@pytest.mark.parametrize("positive", [False, True])
def test_path_matches_sklearn(path, skpath, kw, fmt, positive):
    X = X_WIDE if fmt == "dense" else sp.csc_matrix(X_WIDE)
    alphas, coefs, gaps = path(X, Y_WIDE, n_alphas=20, tol=1e-12, max_iter=100_000, positive=positive, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a_ref, c_ref, _ = skpath(X, Y_WIDE, alphas=20, tol=1e-12, max_iter=100_000, positive=positive, **kw)
    np.testing.assert_allclose(alphas, a_ref, rtol=1e-12)
    assert coefs.shape == (120, 20) and gaps.shape == (20,)
    np.testing.assert_allclose(coefs, c_ref, atol=1e-4)  # weak curvature: objective within 1e-11
    assert np.all(gaps <= 1e-12 * Y_WIDE @ Y_WIDE / 60)
    assert np.all(coefs[:, 0] == 0)  # alpha_max: all coefficients zero



def _correlated_problem(seed, n=80, p=200, rho=0.5):
    """Equicorrelated design (rho), 10 true features, noise half the signal's std."""
    rng = np.random.default_rng(seed)
    X = np.sqrt(1 - rho) * rng.standard_normal((n, p)) + np.sqrt(rho) * rng.standard_normal((n, 1))
    w = np.zeros(p)
    w[rng.choice(p, 10, replace=False)] = rng.standard_normal(10)
    return X, X @ w + 0.5 * np.std(X @ w) * rng.standard_normal(n)


@pytest.mark.parametrize("fmt", ["dense", "csc"])
def test_path_default_tol_is_accurate_beyond_the_gap(fmt):
    # scikit-learn's second test (the last epoch's change) makes the coefficients far more accurate than the
    # gap tolerance alone: the previous alpha's solution used to be kept whenever it passed the gap test
    # (objective 1.7e-4 above the optimum, relative to ||y||^2 / 2n, against 6e-7 now)
    X, y = _correlated_problem(6)
    X, y = X - X.mean(0), y - y.mean()
    n = len(y)
    Xf = X if fmt == "dense" else sp.csc_matrix(X)
    alphas, coefs, gaps = lasso_path(Xf, y)
    _, exact, _ = lasso_path(Xf, y, alphas=alphas, tol=1e-12, max_iter=100_000)

    def objective(c):
        return ((y[:, None] - X @ c) ** 2).sum(0) / (2 * n) + alphas * np.abs(c).sum(0)

    f0 = y @ y / (2 * n)
    assert np.all(gaps <= 2e-4 * f0)
    assert np.max(objective(coefs) - objective(exact)) <= 1e-5 * f0


@pytest.mark.parametrize("seed", [6, 7])
def test_lassocv_default_settings_choose_sklearn_alpha(seed):
    # default tol: the fold paths must be as accurate as scikit-learn's for the same alpha_ (it differed on
    # these problems, adjacent grid points, when the paths stopped on the gap test alone)
    X, y = _correlated_problem(seed)
    ours = LassoCV(cv=5).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sk.LassoCV(cv=5).fit(X, y)
    assert ours.alpha_ == pytest.approx(ref.alpha_, rel=1e-10)


def test_path_gram_matches_plain_and_given_gram():
    G = X_TALL.T @ X_TALL
    runs = [lasso_path(X_TALL, Y_TALL, precompute=pc, tol=1e-12, n_alphas=10) for pc in (False, True, G)]
    for _, coefs, _ in runs[1:]:
        np.testing.assert_allclose(coefs, runs[0][1], atol=1e-7)


def test_path_options_and_errors():
    a, c, g, it = lasso_path(X_WIDE, Y_WIDE, alphas=[0.1, 1.0, 0.5], return_n_iter=True)
    np.testing.assert_array_equal(a, [1.0, 0.5, 0.1])
    assert len(it) == 3
    assert lasso_path(X_WIDE, Y_WIDE, alphas=7)[0].shape == (7,)
    with pytest.raises(ValueError, match="Unexpected parameters"):
        lasso_path(X_WIDE, Y_WIDE, foo=1)
    with pytest.raises(ValueError, match="l1_ratio=0"):
        enet_path(X_WIDE, Y_WIDE, l1_ratio=0.0)
    with pytest.raises(ValueError, match="multi-output"):  # a 2-D y is the multi-task path: no positive
        lasso_path(X_WIDE, np.c_[Y_WIDE, Y_WIDE], positive=True)
    with pytest.raises(ValueError, match="coef_init"):
        lasso_path(X_WIDE, Y_WIDE, coef_init=np.zeros(3))


def test_path_float32_and_input_untouched():
    X = X_WIDE.astype(np.float32)
    X0 = X.copy()
    _, coefs, _ = lasso_path(X, Y_WIDE.astype(np.float32), n_alphas=5)
    assert coefs.dtype == np.float32
    np.testing.assert_array_equal(X, X0)


@pytest.mark.parametrize("fmt", ["dense", "csc"])
@pytest.mark.parametrize("weighted", [False, True])
def test_lassocv_matches_sklearn(fmt, weighted):
    X = X_WIDE if fmt == "dense" else sp.csc_matrix(X_WIDE)
    sw = np.random.default_rng(1).uniform(0.5, 2.0, 60) if weighted else None
    ours = LassoCV(cv=3, alphas=30, tol=1e-10, max_iter=100_000).fit(X, Y_WIDE, sample_weight=sw)
    ref = sk.LassoCV(cv=3, alphas=30, tol=1e-10, max_iter=100_000).fit(X, Y_WIDE, sample_weight=sw)
    np.testing.assert_allclose(ours.alphas_, ref.alphas_, rtol=1e-10)
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-4)
    assert ours.alpha_ == pytest.approx(ref.alpha_)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
    assert ours.intercept_ == pytest.approx(ref.intercept_, abs=1e-6)
    assert not hasattr(ours, "l1_ratio_")


def test_elasticnetcv_l1_ratio_list_and_n_jobs():
    kw = dict(l1_ratio=[0.3, 0.9], cv=3, alphas=15, tol=1e-10, max_iter=100_000)
    ours = ElasticNetCV(n_jobs=2, **kw).fit(X_TALL, Y_TALL)
    ref = sk.ElasticNetCV(**kw).fit(X_TALL, Y_TALL)
    assert ours.mse_path_.shape == (2, 15, 3) and ours.alphas_.shape == (2, 15)
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-5)
    assert (ours.alpha_, ours.l1_ratio_) == (pytest.approx(ref.alpha_), ref.l1_ratio_)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-7)


def test_cv_rejects_multi_output():
    with pytest.raises(ValueError, match="one target"):
        LassoCV().fit(X_WIDE, np.c_[Y_WIDE, Y_WIDE])


@pytest.mark.parametrize("est", [Lasso(alpha=0.05), ElasticNet(alpha=0.05, l1_ratio=0.4, positive=True)])
def test_precompute_gram_kernel_matches_plain(est):
    plain = est.set_params(tol=1e-12, precompute=False).fit(X_TALL, Y_TALL).coef_.copy()
    gram = est.set_params(precompute=True).fit(X_TALL, Y_TALL)
    np.testing.assert_allclose(gram.coef_, plain, atol=1e-7)
    Xc = X_TALL - X_TALL.mean(0)
    given = est.set_params(precompute=Xc.T @ Xc, fit_intercept=False).fit(Xc, Y_TALL - Y_TALL.mean())
    np.testing.assert_allclose(given.coef_, plain, atol=1e-7)


def test_precompute_validation():
    G = X_TALL.T @ X_TALL
    with pytest.raises(ValueError, match="shape"):
        Lasso(precompute=G[:3], fit_intercept=False).fit(X_TALL, Y_TALL)
    with pytest.raises(ValueError, match="does not match X"):
        Lasso(precompute=1.5 * G, fit_intercept=False).fit(X_TALL, Y_TALL)
    bad = G.copy()
    bad[0, 1] += 10.0
    with pytest.raises(ValueError, match="not symmetric"):
        Lasso(precompute=bad, fit_intercept=False).fit(X_TALL, Y_TALL)
    with pytest.raises(ValueError, match="precompute must be"):
        Lasso(precompute="auto").fit(X_TALL, Y_TALL)
    with pytest.warns(UserWarning, match="centred"):
        Lasso(precompute=G).fit(X_TALL, Y_TALL)


def test_copy_X_false_overwrites_only_when_asked():
    X = np.asfortranarray(X_TALL.copy())
    Lasso(alpha=0.1).fit(X, Y_TALL)
    np.testing.assert_array_equal(X, X_TALL)
    ref = Lasso(alpha=0.1).fit(X_TALL, Y_TALL).coef_
    ours = Lasso(alpha=0.1, copy_X=False).fit(X, Y_TALL).coef_
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    assert not np.allclose(X, X_TALL)  # centred in place, as scikit-learn's copy_X=False


def test_sparse_coef():
    est = Lasso(alpha=0.1).fit(X_TALL, Y_TALL)
    S = est.sparse_coef_
    assert sp.issparse(S) and S.shape == (1, 12)
    np.testing.assert_array_equal(S.toarray().ravel(), est.coef_)


@parametrize_with_checks(
    [  # tight tolerance: the sample-weight equivalence checks compare predictions to 1e-7
        LassoCV(cv=3, alphas=10, tol=1e-12, max_iter=100_000),
        ElasticNetCV(cv=3, alphas=10, l1_ratio=[0.5, 1.0], tol=1e-12, max_iter=100_000),
    ]
)
def test_sklearn_compatible_cv_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("zero", ["train", "test"])
def test_cv_fold_with_zero_total_weight_names_sample_weight(zero):
    from optlib.linear_model import MultiTaskLassoCV

    X = np.random.default_rng(0).normal(size=(30, 5))
    y = X[:, 0]
    sw = np.ones(30)
    folds = [(np.arange(10, 30), np.arange(10))]
    sw[folds[0][1] if zero == "test" else folds[0][0]] = 0.0
    for est, target in ((LassoCV(cv=folds), y), (MultiTaskLassoCV(cv=folds), np.c_[y, -y])):
        part = "training" if zero == "train" else "test"
        with pytest.raises(ValueError, match=f"sample_weight is zero on every {part} sample"):
            est.fit(X, target, sample_weight=sw)
