"""Tests for optlib.linear_model.SparseLogisticRegression.

References: scikit-learn's LogisticRegression (saga, l1 / elastic net, with
``C = 1 / (alpha * sum(sample_weight))``), skglm's SparseLogisticRegression
(same scaling), and SciPy's L-BFGS-B on the smooth (l2-only) multinomial
problem.
"""

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import logsumexp
from sklearn import linear_model as sk
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from optlib.linear_model import SparseLogisticRegression


def _data(n=120, p=25, n_classes=2, seed=0, sparse_frac=None):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, p)
    if sparse_frac is not None:
        X[rng.rand(n, p) > sparse_frac] = 0.0
    W = np.zeros((p, n_classes))
    W[:5] = 1.5 * rng.randn(5, n_classes)
    scores = X @ W + 0.7 * rng.randn(n, n_classes)
    if n_classes == 2:
        y = (scores[:, 0] - scores[:, 1] > 0.3).astype(int)
    else:
        y = np.argmax(scores, axis=1)
    return X, y


X_BIN, Y_BIN = _data()
X_MUL, Y_MUL = _data(n=150, p=20, n_classes=3, seed=1)
SW = np.random.RandomState(2).uniform(0.2, 3.0, size=X_BIN.shape[0])


def _c(sw, n):
    return np.full(n, 1.0 / n) if sw is None else sw / sw.sum()


def _objective(coef, intercept, X, y, alpha, l1_ratio, sw=None):
    """The documented objective, computed independently in NumPy (float64)."""
    coef = np.asarray(coef, dtype=np.float64)
    intercept = np.asarray(intercept, dtype=np.float64)
    X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    c = _c(sw, X.shape[0])
    classes = np.unique(y)
    yi = np.searchsorted(classes, y)
    if classes.size == 2:
        ypm = 2.0 * yi - 1.0
        loss = c @ np.logaddexp(0.0, -ypm * (X @ coef[0] + intercept[0]))
    else:
        Z = X @ coef.T + intercept
        loss = c @ (logsumexp(Z, axis=1) - Z[np.arange(len(y)), yi])
    return (
        loss
        + alpha * l1_ratio * np.abs(coef).sum()
        + 0.5 * alpha * (1 - l1_ratio) * np.sum(coef**2)
    )


def _gradients(model, X, y, sw=None):
    """Gradient of the averaged loss w.r.t. coef_ (n_rows, p) and intercept_."""
    X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    c = _c(sw, X.shape[0])
    coef = model.coef_.astype(np.float64)
    b = model.intercept_.astype(np.float64)
    yi = np.searchsorted(model.classes_, y)
    if coef.shape[0] == 1:
        ypm = 2.0 * yi - 1.0
        r = -c * ypm / (1.0 + np.exp(ypm * (X @ coef[0] + b[0])))
        return (X.T @ r)[None, :], np.array([r.sum()])
    Z = X @ coef.T + b
    P = np.exp(Z - logsumexp(Z, axis=1, keepdims=True))
    P[np.arange(len(y)), yi] -= 1.0
    R = c[:, None] * P
    return R.T @ X, R.sum(axis=0)


def _alpha_max(X, y):
    ypm = np.where(y == np.unique(y)[1], 1.0, -1.0)
    return np.max(np.abs(X.T @ ypm)) / (2 * X.shape[0])


def _sklearn_ref(X, y, alpha, l1_ratio, fit_intercept, sw=None):
    total = X.shape[0] if sw is None else sw.sum()
    ref = sk.LogisticRegression(
        C=1.0 / (alpha * total),
        l1_ratio=l1_ratio,
        solver="saga",
        tol=1e-12,
        max_iter=200_000,
        fit_intercept=fit_intercept,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return ref.fit(X, y, sample_weight=sw)


# --------------------------------------------------------------------------- #
# reference checks
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("l1_ratio", [1.0, 0.6])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_matches_sklearn(l1_ratio, fit_intercept, weighted):
    X, y = X_BIN, Y_BIN
    sw = SW if weighted else None
    alpha = _alpha_max(X, y) / 8
    ours = SparseLogisticRegression(
        alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept, tol=1e-11
    )
    ours.fit(X, y, sample_weight=sw)
    ref = _sklearn_ref(X, y, alpha, l1_ratio, fit_intercept, sw)
    f_ours = _objective(ours.coef_, ours.intercept_, X, y, alpha, l1_ratio, sw)
    f_ref = _objective(
        ref.coef_, ref.intercept_ if fit_intercept else [0.0], X, y, alpha, l1_ratio, sw
    )
    assert f_ours <= f_ref * (1 + 1e-8)
    assert abs(f_ours - f_ref) <= 1e-8 * f_ref
    assert ours.objective_ == pytest.approx(f_ours, rel=1e-12)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-5)
    if fit_intercept:
        np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-5)
    assert 0 < np.count_nonzero(ours.coef_) < X.shape[1]


@pytest.mark.slow  # skglm's kernels are not cached: ~30 s of numba compilation per session
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_binary_matches_skglm(fit_intercept):
    skglm = pytest.importorskip("skglm")
    X, y = _data(n=200, p=300, seed=3)
    alpha = _alpha_max(X, y) / 10
    ours = SparseLogisticRegression(
        alpha=alpha, fit_intercept=fit_intercept, tol=1e-12
    ).fit(X, y)
    ref = skglm.SparseLogisticRegression(
        alpha=alpha,
        fit_intercept=fit_intercept,
        tol=1e-12,
        max_iter=100,
        max_epochs=100_000,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(X, y)
    f_ours = _objective(ours.coef_, ours.intercept_, X, y, alpha, 1.0)
    b_ref = np.atleast_1d(ref.intercept_) if fit_intercept else [0.0]
    f_ref = _objective(np.atleast_2d(ref.coef_), b_ref, X, y, alpha, 1.0)
    assert f_ours <= f_ref * (1 + 1e-10)
    assert abs(f_ours - f_ref) <= 1e-8 * f_ref
    np.testing.assert_allclose(ours.coef_, np.atleast_2d(ref.coef_), atol=1e-5)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_multinomial_matches_sklearn(l1_ratio, fit_intercept):
    X, y = X_MUL, Y_MUL
    alpha = 0.02
    ours = SparseLogisticRegression(
        alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept, tol=1e-11
    )
    ours.fit(X, y)
    ref = _sklearn_ref(X, y, alpha, l1_ratio, fit_intercept)
    f_ours = _objective(ours.coef_, ours.intercept_, X, y, alpha, l1_ratio)
    f_ref = _objective(
        ref.coef_, ref.intercept_ if fit_intercept else 0.0, X, y, alpha, l1_ratio
    )
    assert f_ours <= f_ref * (1 + 1e-8)
    assert abs(f_ours - f_ref) <= 1e-7 * f_ref
    assert ours.coef_.shape == (3, X.shape[1])
    # the coefficients are identified (l1 breaks the softmax shift invariance of W)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-4)
    assert np.count_nonzero(ours.coef_) < ours.coef_.size


@pytest.mark.parametrize("weighted", [False, True])
def test_multinomial_smooth_matches_lbfgs(weighted):
    X, y = _data(n=100, p=12, n_classes=4, seed=4)
    sw = np.random.RandomState(5).uniform(0.1, 2.0, 100) if weighted else None
    alpha, l1_ratio = 0.05, 0.0
    ours = SparseLogisticRegression(alpha=alpha, l1_ratio=l1_ratio, tol=1e-12).fit(
        X, y, sample_weight=sw
    )
    K, p = 4, X.shape[1]

    def fun(v):
        W, b = v[: K * p].reshape(K, p), v[K * p :]
        Z = X @ W.T + b
        c = _c(sw, X.shape[0])
        P = np.exp(Z - logsumexp(Z, axis=1, keepdims=True))
        P[np.arange(len(y)), y] -= 1.0
        R = c[:, None] * P
        val = _objective(W, b, X, y, alpha, l1_ratio, sw)
        return val, np.concatenate([(R.T @ X + alpha * W).ravel(), R.sum(axis=0)])

    res = minimize(
        fun,
        np.zeros(K * p + K),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000},
    )
    f_ours = _objective(ours.coef_, ours.intercept_, X, y, alpha, l1_ratio, sw)
    assert f_ours <= res.fun * (1 + 1e-12)
    assert abs(f_ours - res.fun) <= 1e-7 * res.fun
    # with an l2 penalty W is identified; the intercepts up to a common shift
    np.testing.assert_allclose(ours.coef_, res.x[: K * p].reshape(K, p), atol=1e-5)
    b_ref = res.x[K * p :]
    np.testing.assert_allclose(
        ours.intercept_ - ours.intercept_.mean(), b_ref - b_ref.mean(), atol=1e-5
    )


@pytest.mark.parametrize("data", ["binary", "multinomial"])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.3])
def test_kkt_conditions(data, l1_ratio):
    X, y = (X_BIN, Y_BIN) if data == "binary" else (X_MUL, Y_MUL)
    sw = SW if data == "binary" else None
    alpha = 0.03
    tol = 1e-9
    m = SparseLogisticRegression(alpha=alpha, l1_ratio=l1_ratio, tol=tol).fit(
        X, y, sample_weight=sw
    )
    G, gb = _gradients(m, X, y, sw)
    W = m.coef_.astype(np.float64)
    G = G + alpha * (1 - l1_ratio) * W
    a1 = alpha * l1_ratio
    nz = W != 0
    viol = np.where(nz, np.abs(G + a1 * np.sign(W)), np.maximum(np.abs(G) - a1, 0.0))
    assert viol.max() <= 1.01 * tol + 1e-14
    assert np.abs(gb).max() <= 1.01 * tol + 1e-14
    assert m.violation_ <= tol
    assert m.violation_ == pytest.approx(
        max(viol.max(), np.abs(gb).max()), rel=1e-3, abs=1e-13
    )


def _dual_gap(coef, X, ypm, alpha):
    """Duality gap of the l1 problem without intercept (uniform weights), dual point by rescaling."""
    n = X.shape[0]
    z = X @ coef
    primal = np.mean(np.logaddexp(0.0, -ypm * z)) + alpha * np.abs(coef).sum()
    s = 1.0 / (1.0 + np.exp(ypm * z))  # sigma(-y z)
    s = s / max(1.0, np.abs(X.T @ (ypm * s)).max() / (n * alpha))
    entropy = -(s * np.log(s) + (1 - s) * np.log1p(-s))
    return primal - np.mean(entropy)


@pytest.mark.parametrize("tol", [1e-4, 1e-9])
def test_working_sets_on_wide_problem(tol):
    # p well above the first working set (300 features): several outer
    # iterations with working-set growth; the stopping rule holds and the
    # duality gap is small (liblinear needs minutes at this accuracy)
    rng = np.random.RandomState(4)
    n, p = 150, 1500
    X = rng.randn(n, p)
    w = np.zeros(p)
    w[rng.choice(p, 20, replace=False)] = rng.randn(20)
    ypm = np.sign(X @ w + 0.5 * rng.randn(n))
    alpha = np.abs(X.T @ ypm).max() / (2 * n) / 10
    m = SparseLogisticRegression(alpha=alpha, fit_intercept=False, tol=tol).fit(X, ypm)
    assert m.violation_ <= tol
    G, _ = _gradients(m, X, ypm)
    coef = m.coef_[0]
    viol = np.where(coef != 0, np.abs(G[0] + alpha * np.sign(coef)), np.maximum(np.abs(G[0]) - alpha, 0))
    assert viol.max() <= 1.01 * tol
    assert np.count_nonzero(coef) > 50  # larger than the support of the first iterations
    # duality gap: an independent certificate (about tol * ||w||_1 for this dual point)
    gap = _dual_gap(coef, X, ypm, alpha)
    assert 0 <= gap <= tol * np.abs(coef).sum()
    assert m.objective_ == pytest.approx(_objective(m.coef_, [0.0], X, ypm, alpha, 1.0), rel=1e-12)


def test_alpha_max_gives_zero_solution():
    X, y = X_BIN, Y_BIN
    amax = _alpha_max(X, y)
    m = SparseLogisticRegression(alpha=amax * 1.0001, fit_intercept=False).fit(X, y)
    assert not np.any(m.coef_)
    m = SparseLogisticRegression(alpha=amax * 0.95, fit_intercept=False).fit(X, y)
    assert np.any(m.coef_)


# --------------------------------------------------------------------------- #
# input types
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("fmt", ["csc", "csr"])
def test_sparse_equals_dense(n_classes, fmt):
    X, y = _data(n=150, p=40, n_classes=n_classes, seed=6, sparse_frac=0.3)
    sw = np.random.RandomState(7).uniform(0.5, 2.0, 150)
    params = {"alpha": 0.01, "l1_ratio": 0.8, "tol": 1e-11}
    dense = SparseLogisticRegression(**params).fit(X, y, sample_weight=sw)
    Xs = sp.csc_matrix(X) if fmt == "csc" else sp.csr_matrix(X)
    sparse = SparseLogisticRegression(**params).fit(Xs, y, sample_weight=sw)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, atol=1e-8)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, atol=1e-8)
    np.testing.assert_allclose(
        sparse.predict_proba(Xs), dense.predict_proba(X), atol=1e-8
    )
    np.testing.assert_array_equal(sparse.predict(Xs), dense.predict(X))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_float32_preserved(n_classes):
    X, y = (X_BIN, Y_BIN) if n_classes == 2 else (X_MUL, Y_MUL)
    X32 = X.astype(np.float32)
    m32 = SparseLogisticRegression(alpha=0.02, tol=1e-10).fit(X32, y)
    m64 = SparseLogisticRegression(alpha=0.02, tol=1e-10).fit(X32.astype(np.float64), y)
    assert m32.coef_.dtype == np.float32 and m32.intercept_.dtype == np.float32
    assert m64.coef_.dtype == np.float64
    # internal computations are float64: same solution as on the float32 data upcast
    np.testing.assert_allclose(m32.coef_, m64.coef_, rtol=1e-6, atol=1e-6)
    assert m32.decision_function(X32).dtype == np.float32
    ms = SparseLogisticRegression(alpha=0.02, tol=1e-10).fit(sp.csc_matrix(X32), y)
    assert ms.coef_.dtype == np.float32
    np.testing.assert_allclose(ms.coef_, m32.coef_, rtol=1e-6, atol=1e-6)


def test_string_labels_and_probabilities():
    labels = np.array(["cat", "dog", "emu"])
    X, yi = X_MUL, Y_MUL
    y = labels[yi]
    m = SparseLogisticRegression(alpha=0.01).fit(X, y)
    np.testing.assert_array_equal(m.classes_, labels)
    proba = m.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.log(proba), m.predict_log_proba(X), atol=1e-12)
    np.testing.assert_array_equal(m.predict(X), labels[np.argmax(proba, axis=1)])
    assert m.score(X, y) > 0.8
    # binary: two columns, column 1 is P(classes_[1]) = expit(decision_function)
    yb = np.where(Y_BIN == 1, "yes", "no")
    mb = SparseLogisticRegression(alpha=0.01).fit(X_BIN, yb)
    pb = mb.predict_proba(X_BIN)
    assert pb.shape == (X_BIN.shape[0], 2)
    np.testing.assert_allclose(pb[:, 1], 1 / (1 + np.exp(-mb.decision_function(X_BIN))))
    np.testing.assert_allclose(np.log(pb), mb.predict_log_proba(X_BIN), atol=1e-12)
    assert mb.coef_.shape == (1, X_BIN.shape[1]) and mb.intercept_.shape == (1,)


def test_sample_weight_equals_repetition():
    X, y = X_BIN[:60], Y_BIN[:60]
    rep = np.random.RandomState(8).randint(0, 4, 60)
    a = SparseLogisticRegression(alpha=0.02, tol=1e-12).fit(X, y, sample_weight=rep)
    b = SparseLogisticRegression(alpha=0.02, tol=1e-12).fit(
        np.repeat(X, rep, axis=0), np.repeat(y, rep)
    )
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-9)
    np.testing.assert_allclose(a.intercept_, b.intercept_, atol=1e-9)


def _effective_weights(y, class_weight, sw):
    """sample_weight times the class weights, computed independently of optlib."""
    classes, yi = np.unique(y, return_inverse=True)
    base = np.ones(len(y)) if sw is None else sw
    if class_weight == "balanced":
        counts = np.bincount(yi, weights=base)
        cw = counts.sum() / (len(classes) * counts)
    else:
        cw = np.array([class_weight.get(k, 1.0) for k in classes.tolist()])
    return base * cw[yi]


@pytest.mark.parametrize("data", ["binary", "multinomial"])
@pytest.mark.parametrize("class_weight", ["balanced", "dict"])
@pytest.mark.parametrize("weighted", [False, True])
def test_class_weight_matches_sklearn(data, class_weight, weighted):
    X, y = (X_BIN, Y_BIN) if data == "binary" else (X_MUL, Y_MUL)
    sw = np.random.RandomState(3).uniform(0.2, 3.0, len(y)) if weighted else None
    cw = "balanced" if class_weight == "balanced" else {0: 3.0, 1: 0.5}
    total = _effective_weights(y, cw, sw).sum()
    alpha = 0.02
    ours = SparseLogisticRegression(alpha=alpha, class_weight=cw, tol=1e-11).fit(
        X, y, sample_weight=sw
    )
    ref = sk.LogisticRegression(
        C=1.0 / (alpha * total), l1_ratio=1.0, solver="saga", class_weight=cw,
        tol=1e-12, max_iter=200_000,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-5)
    # multinomial intercepts are defined up to a common shift
    shift = np.mean(ours.intercept_ - ref.intercept_) if data == "multinomial" else 0.0
    np.testing.assert_allclose(ours.intercept_ - shift, ref.intercept_, atol=1e-5)
    # the class weights act as sample weights
    same = SparseLogisticRegression(alpha=alpha, tol=1e-11).fit(
        X, y, sample_weight=_effective_weights(y, cw, sw)
    )
    np.testing.assert_allclose(ours.coef_, same.coef_, atol=1e-9)
    assert np.count_nonzero(ours.coef_) > 0


def test_class_weight_changes_the_fit():
    m0 = SparseLogisticRegression(alpha=0.02).fit(X_BIN, Y_BIN)
    m1 = SparseLogisticRegression(alpha=0.02, class_weight={1: 5.0}).fit(X_BIN, Y_BIN)
    # up-weighting class 1 raises its predicted share
    assert m1.predict(X_BIN).mean() > m0.predict(X_BIN).mean()
    # string labels as keys
    ys = np.where(Y_BIN == 1, "yes", "no")
    m2 = SparseLogisticRegression(alpha=0.02, class_weight={"yes": 5.0}).fit(X_BIN, ys)
    np.testing.assert_allclose(m2.coef_, m1.coef_, atol=1e-12)


def test_class_weight_keys_beyond_the_classes_as_sklearn():
    # a dict for all the labels of a data set, fitted on a part lacking one (a CV fold):
    # scikit-learn ignores the extra key when every class present has a weight
    cw = {0: 3.0, 1: 0.5, 2: 7.0}
    ours = SparseLogisticRegression(alpha=0.02, class_weight=cw, tol=1e-11).fit(X_BIN, Y_BIN)
    same = SparseLogisticRegression(alpha=0.02, class_weight={0: 3.0, 1: 0.5}, tol=1e-11).fit(X_BIN, Y_BIN)
    np.testing.assert_array_equal(ours.coef_, same.coef_)
    ref = sk.LogisticRegression(class_weight=cw, solver="liblinear", l1_ratio=1.0).fit(X_BIN, Y_BIN)
    assert ref.coef_.shape == ours.coef_.shape  # scikit-learn accepts it too


@pytest.mark.parametrize(
    "class_weight, match",
    [
        ("auto", "class_weight must be None, 'balanced' or a dict"),
        ([1.0, 2.0], "class_weight must be None, 'balanced' or a dict"),
        ({0: 1.0, 7: 2.0}, r"not class labels of y: \[7\]"),
        ({0: -1.0}, r"class_weight\[0\]"),
        ({0: np.nan}, r"class_weight\[0\]"),
    ],
)
def test_bad_class_weight(class_weight, match):
    with pytest.raises(ValueError, match=match):
        SparseLogisticRegression(class_weight=class_weight).fit(X_BIN, Y_BIN)


def test_balanced_class_weight_with_empty_class_weight():
    sw = np.where(Y_BIN == 1, 0.0, 1.0)
    with pytest.raises(ValueError, match="positive total sample_weight in every class"):
        SparseLogisticRegression(class_weight="balanced").fit(X_BIN, Y_BIN, sample_weight=sw)


# --------------------------------------------------------------------------- #
# solver behaviour
# --------------------------------------------------------------------------- #
def test_warm_start_reuses_solution():
    X, y = X_MUL, Y_MUL
    m = SparseLogisticRegression(alpha=0.02, tol=1e-10, warm_start=True).fit(X, y)
    first = m.n_iter_
    assert first > 0
    m.fit(X, y)
    assert m.n_iter_ == 0  # already optimal
    m.set_params(alpha=0.015).fit(X, y)
    cold = SparseLogisticRegression(alpha=0.015, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(m.coef_, cold.coef_, atol=1e-7)


def test_objective_decreases_with_max_iter():
    X, y = _data(n=200, p=300, seed=9)
    alpha = _alpha_max(X, y) / 20
    objs = []
    for it in (1, 2, 3, 50):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m = SparseLogisticRegression(alpha=alpha, tol=1e-10, max_iter=it).fit(X, y)
        objs.append(_objective(m.coef_, m.intercept_, X, y, alpha, 1.0))
        assert m.objective_ == pytest.approx(objs[-1], rel=1e-12)
    assert all(a >= b - 1e-15 for a, b in itertools.pairwise(objs))


def test_convergence_warning():
    X, y = _data(n=200, p=300, seed=9)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        m = SparseLogisticRegression(alpha=1e-3, tol=1e-12, max_iter=1).fit(X, y)
    assert m.violation_ > 1e-12
    with pytest.warns(ConvergenceWarning):
        SparseLogisticRegression(alpha=1e-3, tol=1e-12, max_epochs=2).fit(X_MUL, Y_MUL)


def test_verbose_prints(capfd):
    SparseLogisticRegression(alpha=0.05, verbose=1).fit(X_BIN, Y_BIN)
    out = capfd.readouterr().out
    assert "violation" in out and "objective" in out


def test_zero_alpha_unpenalised_fit():
    # non-separable data, no penalty: the gradient vanishes at the solution
    X, y = X_BIN[:, :3], Y_BIN
    m = SparseLogisticRegression(alpha=0.0, tol=1e-10).fit(X, y)
    G, gb = _gradients(m, X, y)
    assert np.abs(G).max() <= 1e-9 and abs(gb[0]) <= 1e-9
    ref = sk.LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-5)


# --------------------------------------------------------------------------- #
# bad input
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "params, match",
    [
        ({"alpha": -1.0}, "alpha"),
        ({"l1_ratio": 1.5}, "l1_ratio"),
        ({"l1_ratio": -0.1}, "l1_ratio"),
        ({"tol": -1e-3}, "tol"),
        ({"max_iter": 0}, "max_iter"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"alpha": np.nan}, "alpha"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        SparseLogisticRegression(**params).fit(X_BIN, Y_BIN)


def test_bad_input():
    m = SparseLogisticRegression()
    X = X_BIN.copy()
    X[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        m.fit(X, Y_BIN)
    X[3, 2] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        m.fit(X, Y_BIN)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        m.fit(X_BIN, np.where(Y_BIN == 1, 1.0, np.nan))
    with pytest.raises(ValueError, match="one class"):
        m.fit(X_BIN, np.zeros(X_BIN.shape[0]))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        m.fit(X_BIN, Y_BIN[:-1])
    with pytest.raises(ValueError, match="Unknown label type"):
        m.fit(X_BIN, np.linspace(0, 1, X_BIN.shape[0]))
    with pytest.raises(ValueError, match="sample_weight"):
        m.fit(X_BIN, Y_BIN, sample_weight=-np.ones(X_BIN.shape[0]))
    with pytest.raises(ValueError, match="sample_weight"):
        m.fit(X_BIN, Y_BIN, sample_weight=np.ones(3))
    with pytest.raises(TypeError, match="fit_intercept"):
        SparseLogisticRegression(fit_intercept="yes").fit(X_BIN, Y_BIN)
    m.fit(X_BIN, Y_BIN)
    with pytest.raises(ValueError, match="features"):
        m.predict(X_BIN[:, :3])


def test_pipeline_and_grid_search():
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), SparseLogisticRegression())
    grid = GridSearchCV(pipe, {"sparselogisticregression__alpha": [0.003, 0.03]}, cv=3)
    grid.fit(X_MUL, Y_MUL)
    assert grid.best_score_ > 0.6
    assert grid.predict_proba(X_MUL).shape == (X_MUL.shape[0], 3)


def test_import_optlib_does_not_import_numba():
    import subprocess
    import sys

    code = "import sys, optlib.linear_model; assert 'numba' not in sys.modules, 'numba imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_pure_python_fallback_matches():
    import os
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from optlib.linear_model import SparseLogisticRegression as M\n"
        "rng = np.random.RandomState(0); X = rng.randn(30, 6); y = (X[:, 0] - X[:, 3] > 0).astype(int)\n"
        "y3 = np.argmax(X[:, :3], axis=1)\n"
        "a = M(alpha=0.05, tol=1e-10).fit(X, y); b = M(alpha=0.05, tol=1e-10).fit(X, y3)\n"
        "assert 'numba' not in sys.modules\n"
        "print(repr([a.coef_.ravel().tolist(), b.coef_.ravel().tolist()]))\n"
    )
    env = dict(os.environ, OPTLIB_DISABLE_NUMBA="1")
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    rng = np.random.RandomState(0)
    X = rng.randn(30, 6)
    y = (X[:, 0] - X[:, 3] > 0).astype(int)
    y3 = np.argmax(X[:, :3], axis=1)
    a = SparseLogisticRegression(alpha=0.05, tol=1e-10).fit(X, y)
    b = SparseLogisticRegression(alpha=0.05, tol=1e-10).fit(X, y3)
    got = eval(out)
    np.testing.assert_allclose(got[0], a.coef_.ravel(), atol=1e-8)
    np.testing.assert_allclose(got[1], b.coef_.ravel(), atol=1e-8)


@parametrize_with_checks(
    [
        SparseLogisticRegression(tol=1e-10),
        SparseLogisticRegression(alpha=0.05, l1_ratio=0.5, tol=1e-10),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("fmt", ["dense", "csc"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("multiclass", [False, True])
def test_fused_finite_check(fmt, bad, multiclass):
    # X's finite check is fused with the kernel's first full gradient: it must still raise
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 6))
    y = rng.integers(0, 3 if multiclass else 2, 40)
    X[7, 3] = bad
    Xf = X if fmt == "dense" else sp.csc_matrix(X)
    with pytest.raises(ValueError, match="NaN" if np.isnan(bad) else "infinity"):
        SparseLogisticRegression(alpha=0.01).fit(Xf, y)
    # zero sample weight on the bad row does not hide it
    sw = np.ones(40)
    sw[7] = 0.0
    with pytest.raises(ValueError, match="NaN" if np.isnan(bad) else "infinity"):
        SparseLogisticRegression(alpha=0.01).fit(Xf, y, sample_weight=sw)
