"""Tests for optlib.linear_model.SparseLogisticRegressionCV.

References: scikit-learn's LogisticRegressionCV (liblinear without intercept,
which solves exactly the same l1 problem; saga with intercept), in its
non-legacy attribute layout, on the same folds and scoring.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import linear_model as sk
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.estimator_checks import parametrize_with_checks

from optlib.linear_model import SparseLogisticRegression, SparseLogisticRegressionCV


def _data(n=90, p=12, n_classes=2, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, p)
    W = np.zeros((p, n_classes))
    W[:4] = 1.5 * rng.randn(4, n_classes)
    scores = X @ W + 1.0 * rng.randn(n, n_classes)
    y = np.argmax(scores, axis=1)
    return X, y


X_BIN, Y_BIN = _data()
X_MUL, Y_MUL = _data(n=120, p=10, n_classes=3, seed=1)


def _sklearn_cv(**params):
    return sk.LogisticRegressionCV(use_legacy_attributes=False, max_iter=100_000, **params)


def _fit_quiet(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(*args, **kwargs)


def test_matches_sklearn_liblinear_without_intercept():
    # liblinear without intercept minimises exactly our l1 objective
    Cs = [0.03, 0.1, 0.3, 1.0, 3.0]
    cv = StratifiedKFold(3)
    ours = SparseLogisticRegressionCV(
        Cs=Cs, cv=cv, fit_intercept=False, scoring="neg_log_loss", tol=1e-10
    ).fit(X_BIN, Y_BIN)
    ref = _fit_quiet(
        _sklearn_cv(Cs=Cs, cv=cv, l1_ratios=(1.0,), solver="liblinear", fit_intercept=False,
                    scoring="neg_log_loss", tol=1e-8),
        X_BIN, Y_BIN,
    )  # fmt: skip
    assert ours.C_ == ref.C_
    assert ours.scores_.shape == ref.scores_.shape == (3, 1, len(Cs))
    np.testing.assert_allclose(ours.scores_, ref.scores_, atol=1e-6)
    assert ours.coefs_paths_.shape == ref.coefs_paths_.shape == (3, 1, len(Cs), 1, X_BIN.shape[1])
    np.testing.assert_allclose(ours.coefs_paths_, ref.coefs_paths_, atol=1e-5)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-5)
    np.testing.assert_array_equal(ours.Cs_, Cs)
    assert ours.l1_ratio_ == 1.0 and ours.alpha_ == pytest.approx(1 / (ours.C_ * len(Y_BIN)))


@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_multinomial_matches_sklearn_saga(class_weight):
    Cs = [0.05, 0.2, 1.0]
    cv = StratifiedKFold(3)
    ours = SparseLogisticRegressionCV(
        Cs=Cs, cv=cv, class_weight=class_weight, scoring="neg_log_loss", tol=1e-10
    ).fit(X_MUL, Y_MUL)
    ref = _fit_quiet(
        _sklearn_cv(Cs=Cs, cv=cv, l1_ratios=(1.0,), solver="saga", class_weight=class_weight,
                    scoring="neg_log_loss", tol=1e-8),
        X_MUL, Y_MUL,
    )  # fmt: skip
    assert ours.C_ == ref.C_
    np.testing.assert_allclose(ours.scores_, ref.scores_, atol=1e-6)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-5)
    assert ours.coefs_paths_.shape == (3, 1, len(Cs), 3, X_MUL.shape[1] + 1)


def test_accuracy_default_chooses_sklearn_C():
    # default scoring (accuracy: tied scores, which go to the smallest C), Cs as an int;
    # noisy data, so that even C = 1e4 is a well-posed fit for liblinear
    rng = np.random.RandomState(2)
    X = rng.randn(150, 6)
    y = (X[:, 0] - 0.5 * X[:, 1] + 1.5 * rng.randn(150) > 0).astype(int)
    ours = SparseLogisticRegressionCV(Cs=8, fit_intercept=False, tol=1e-10).fit(X, y)
    ref = _fit_quiet(
        _sklearn_cv(Cs=8, l1_ratios=(1.0,), solver="liblinear", fit_intercept=False, scoring="accuracy",
                    tol=1e-8),
        X, y,
    )  # fmt: skip
    np.testing.assert_allclose(ours.Cs_, np.logspace(-4, 4, 8))
    assert ours.C_ == ref.C_
    np.testing.assert_allclose(ours.scores_, ref.scores_)
    assert len(set(ours.scores_.mean(axis=0)[0])) < 8  # ties occurred
    assert ours.score(X, y) == pytest.approx(np.mean(ours.predict(X) == y))


def test_paths_equal_direct_fits_and_refit():
    # each entry of coefs_paths_ is the fold's solution at alpha = 1 / (C * total weight)
    sw = np.random.RandomState(5).uniform(0.5, 2.0, len(Y_BIN))
    Cs = [0.1, 1.0]
    cv = StratifiedKFold(3)
    m = SparseLogisticRegressionCV(Cs=Cs, cv=cv, l1_ratios=[0.5, 1.0], tol=1e-10).fit(
        X_BIN, Y_BIN, sample_weight=sw
    )
    assert m.scores_.shape == m.n_iter_.shape == (3, 2, 2)
    for f, (train, _) in enumerate(cv.split(X_BIN, Y_BIN)):
        for r, l1_ratio in enumerate([0.5, 1.0]):
            for c, C in enumerate(Cs):
                direct = SparseLogisticRegression(
                    alpha=1 / (C * sw[train].sum()), l1_ratio=l1_ratio, tol=1e-10
                ).fit(X_BIN[train], Y_BIN[train], sample_weight=sw[train])
                path = m.coefs_paths_[f, r, c]
                np.testing.assert_allclose(path[:, :-1], direct.coef_, atol=1e-7)
                np.testing.assert_allclose(path[:, -1], direct.intercept_, atol=1e-7)
    best = SparseLogisticRegression(
        alpha=1 / (m.C_ * sw.sum()), l1_ratio=m.l1_ratio_, tol=1e-10
    ).fit(X_BIN, Y_BIN, sample_weight=sw)
    np.testing.assert_allclose(m.coef_, best.coef_, atol=1e-7)
    assert m.alpha_ == pytest.approx(best.alpha)
    i_r, i_c = np.unravel_index(np.argmax(m.scores_.sum(axis=0)), (2, 2))
    assert (m.l1_ratio_, m.C_) == (m.l1_ratios_[i_r], m.Cs_[i_c])


def test_no_refit_averages_the_folds_best_models():
    Cs = [0.01, 0.1, 1.0]
    m = SparseLogisticRegressionCV(Cs=Cs, cv=3, refit=False, scoring="neg_log_loss", tol=1e-10).fit(
        X_BIN, Y_BIN
    )
    best = np.argmax(m.scores_[:, 0, :], axis=1)
    assert m.C_ == pytest.approx(np.mean(np.asarray(Cs)[best]))
    mean = np.mean([m.coefs_paths_[f, 0, best[f]] for f in range(3)], axis=0)
    np.testing.assert_allclose(m.coef_, mean[:, :-1], atol=1e-15)
    np.testing.assert_allclose(m.intercept_, mean[:, -1], atol=1e-15)


def test_threads_give_the_same_result():
    a = SparseLogisticRegressionCV(Cs=4, cv=3).fit(X_MUL, Y_MUL)
    b = SparseLogisticRegressionCV(Cs=4, cv=3, n_jobs=2).fit(X_MUL, Y_MUL)
    np.testing.assert_array_equal(a.coefs_paths_, b.coefs_paths_)
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_float32_and_sparse_input():
    X32 = X_BIN.astype(np.float32)
    m = SparseLogisticRegressionCV(Cs=3, cv=3, tol=1e-8).fit(X32, Y_BIN)
    assert m.coef_.dtype == m.intercept_.dtype == m.coefs_paths_.dtype == np.float32
    d = SparseLogisticRegressionCV(Cs=3, cv=3, tol=1e-10).fit(X_BIN, Y_BIN)
    s = SparseLogisticRegressionCV(Cs=3, cv=3, tol=1e-10).fit(sp.csr_matrix(X_BIN), Y_BIN)
    np.testing.assert_allclose(s.coefs_paths_, d.coefs_paths_, atol=1e-9)
    assert s.C_ == d.C_


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"Cs": 0}, ValueError, "Cs"),
        ({"Cs": [1.0, -1.0]}, ValueError, "Cs must be positive"),
        ({"Cs": [[1.0]]}, ValueError, "Cs must be a non-empty 1-D"),
        ({"Cs": []}, ValueError, "Cs must be a non-empty 1-D"),
        ({"l1_ratios": [0.5, 1.5]}, ValueError, r"l1_ratios must lie in \[0, 1\]"),
        ({"tol": -1.0}, ValueError, "tol"),
        ({"max_iter": 0}, ValueError, "max_iter"),
        ({"refit": "yes"}, TypeError, "refit"),
        ({"n_jobs": 1.5}, TypeError, "n_jobs"),
        ({"class_weight": "auto"}, ValueError, "class_weight"),
    ],
)
def test_bad_parameters(params, error, match):
    with pytest.raises(error, match=match):
        SparseLogisticRegressionCV(**params).fit(X_BIN, Y_BIN)


def test_training_fold_without_a_class_as_sklearn():
    # scikit-learn fits every class on every fold: a class absent from a training part gets
    # coefficients too (its intercept falls), and the held-out scores count its samples
    y = Y_MUL.copy()
    y[y == 2] = 1
    y[np.flatnonzero(Y_MUL == 2)[0]] = 2  # one sample: the default stratified 5-fold leaves it out of a train part
    Cs = [0.05, 0.2, 1.0]
    for fit_intercept in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "The least populated class in y has only 1 member"
            ours = SparseLogisticRegressionCV(Cs=Cs, l1_ratios=[0.0], fit_intercept=fit_intercept, tol=1e-10)
            ours.fit(X_MUL, y)
            ref = _fit_quiet(
                _sklearn_cv(Cs=Cs, l1_ratios=(0.0,), solver="newton-cholesky", fit_intercept=fit_intercept,
                            scoring="accuracy", tol=1e-10),
                X_MUL, y,
            )  # fmt: skip
        np.testing.assert_array_equal(ours.scores_, ref.scores_)
        assert ours.C_ == ref.C_
        np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-7)
        if not fit_intercept:  # with intercepts, the absent class's one has no finite optimum
            np.testing.assert_allclose(ours.coefs_paths_, ref.coefs_paths_, atol=1e-7)
    # binary: a training part with only class 0 (l1 penalty, no intercept: a finite optimum)
    train0 = np.flatnonzero(Y_BIN == 0)[:30]
    folds = [(train0, np.setdiff1d(np.arange(90), train0)), (np.arange(45), np.arange(45, 90))]
    Cs = [0.1, 1.0, 10.0]
    ours = SparseLogisticRegressionCV(Cs=Cs, cv=folds, fit_intercept=False, scoring="neg_log_loss", tol=1e-10)
    ours.fit(X_BIN, Y_BIN)
    ref = _fit_quiet(
        _sklearn_cv(Cs=Cs, cv=folds, l1_ratios=(1.0,), solver="saga", fit_intercept=False,
                    scoring="neg_log_loss", tol=1e-10),
        X_BIN, Y_BIN,
    )  # fmt: skip
    np.testing.assert_allclose(ours.scores_, ref.scores_, atol=1e-6)
    np.testing.assert_allclose(ours.coefs_paths_, ref.coefs_paths_, atol=1e-5)
    assert ours.C_ == ref.C_


@parametrize_with_checks([SparseLogisticRegressionCV(Cs=3, cv=3, tol=1e-10)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("scoring", ["neg_log_loss", "f1", "neg_brier_score"])
def test_scorers_told_all_classes_as_sklearn(scoring):
    # a held-out fold without the positive class, string labels: scikit-learn gives the
    # scorer labels=classes and pos_label=classes[-1]; the scores must be its scores
    y = np.where(Y_BIN == 1, "yes", "no")
    pos = np.flatnonzero(y == "yes")
    test0 = np.setdiff1d(np.arange(30), pos)  # no "yes" in this held-out part
    folds = [(np.setdiff1d(np.arange(90), test0), test0), (np.arange(45), np.arange(45, 90))]
    Cs = [0.1, 1.0]
    ours = SparseLogisticRegressionCV(Cs=Cs, cv=folds, fit_intercept=False, scoring=scoring, tol=1e-10)
    ours.fit(X_BIN, y)
    ref = _fit_quiet(
        _sklearn_cv(Cs=Cs, cv=folds, l1_ratios=(1.0,), solver="liblinear", fit_intercept=False,
                    scoring=scoring, tol=1e-8),
        X_BIN, y,
    )  # fmt: skip
    np.testing.assert_allclose(ours.scores_, ref.scores_, atol=1e-6)
    assert ours.C_ == ref.C_


def test_multiclass_log_loss_with_a_class_missing_from_a_test_fold():
    y = Y_MUL.copy()
    rare = np.flatnonzero(y == 2)[:5]
    y[y == 2] = 1
    y[rare] = 2  # five samples of class 2, none in the first 60 samples' test fold below
    test0 = np.setdiff1d(np.arange(60), rare)
    folds = [(np.setdiff1d(np.arange(120), test0), test0)]
    m = SparseLogisticRegressionCV(Cs=[1.0], cv=folds, scoring="neg_log_loss", tol=1e-10).fit(X_MUL, y)
    fold = SparseLogisticRegression(alpha=1.0 / len(folds[0][0]), tol=1e-10).fit(X_MUL[folds[0][0]], y[folds[0][0]])
    proba = fold.predict_proba(X_MUL[test0])
    expected = np.mean(np.log(proba[np.arange(test0.size), np.searchsorted(m.classes_, y[test0])]))
    assert m.scores_[0, 0, 0] == pytest.approx(expected, abs=1e-8)


@pytest.mark.parametrize("scoring", [None, "neg_log_loss"])
def test_held_out_scores_weighted_by_sample_weight_as_sklearn(scoring):
    # scikit-learn weights the held-out scores by sample_weight (not by the class weights)
    sw = np.random.RandomState(7).uniform(0.0, 3.0, len(Y_BIN))
    Cs = [0.05, 0.3, 2.0]
    cv = StratifiedKFold(3)
    params = {"Cs": Cs, "cv": cv, "fit_intercept": False, "scoring": scoring, "class_weight": "balanced"}
    ours = SparseLogisticRegressionCV(tol=1e-10, **params).fit(X_BIN, Y_BIN, sample_weight=sw)
    ref = _fit_quiet(
        _sklearn_cv(l1_ratios=(1.0,), solver="liblinear", tol=1e-8, **params), X_BIN, Y_BIN, sample_weight=sw
    )
    np.testing.assert_allclose(ours.scores_, ref.scores_, atol=1e-6)
    assert ours.C_ == ref.C_
