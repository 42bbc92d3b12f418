"""Tests of optlib.linear_model.LabelPropagation against scikit-learn and a direct sparse solve.

scikit-learn's own tests, adapted, are in test_sklearn_label_propagation.py.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from sklearn.datasets import make_moons
from sklearn.model_selection import GridSearchCV
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.neighbors import NearestNeighbors, kneighbors_graph
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelPropagation as SKLabelPropagation
from sklearn.utils.estimator_checks import parametrize_with_checks

from optlib import ConvergenceWarning
from optlib.linear_model import LabelPropagation

N_NEIGHBORS = 5


def symmetric_knn(A, B):
    """Union-symmetrised kNN graph on ``A`` (when ``B`` is ``A``), else kNN of ``B``'s rows in ``A`` (train x new).

    The same callable given to scikit-learn and to optlib makes both solve the
    harmonic problem on the same graph.
    """
    if B is A or (A.shape == B.shape and np.array_equal(A, B)):
        G = kneighbors_graph(A, N_NEIGHBORS, include_self=False)
        return G.maximum(G.T).tocsr()
    return (
        NearestNeighbors(n_neighbors=N_NEIGHBORS)
        .fit(A)
        .kneighbors_graph(B, N_NEIGHBORS)
        .T.tocsr()
    )


@pytest.fixture(scope="module")
def moons():
    X, y_true = make_moons(160, noise=0.1, random_state=0)
    rng = np.random.default_rng(0)
    y = np.full(X.shape[0], -1)
    labelled = rng.choice(X.shape[0], 16, replace=False)
    y[labelled] = y_true[labelled]
    X_new = rng.uniform([-1.5, -1.0], [2.5, 1.5], size=(40, 2))
    return X, y, y_true, X_new


def _sklearn(kernel, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SKLabelPropagation(kernel=kernel, max_iter=200_000, tol=1e-13, **kw).fit(
            X, y
        )


def test_matches_sklearn_on_the_same_symmetric_graph(moons):
    X, y, _, X_new = moons
    ours = LabelPropagation(kernel=symmetric_knn, tol=1e-11, max_iter=20_000).fit(X, y)
    ref = _sklearn(symmetric_knn, X, y)
    np.testing.assert_allclose(
        ours.label_distributions_, ref.label_distributions_, atol=1e-7
    )
    np.testing.assert_array_equal(ours.transduction_, ref.transduction_)
    np.testing.assert_array_equal(ours.classes_, ref.classes_)
    np.testing.assert_allclose(
        ours.predict_proba(X_new), ref.predict_proba(X_new), atol=1e-7
    )
    np.testing.assert_array_equal(ours.predict(X_new), ref.predict(X_new))


@pytest.mark.filterwarnings(
    "ignore:invalid value encountered:RuntimeWarning"
)  # sklearn 0/0 in predict_proba
def test_symmetric_knn_graph_equals_direct_solve_and_is_close_to_sklearn_knn(moons):
    X, y, y_true, X_new = moons
    ours = LabelPropagation(
        kernel="knn", graph="symmetric", n_neighbors=N_NEIGHBORS, tol=1e-11, max_iter=20_000
    ).fit(X, y)
    assert ours.n_iter_ > 1  # a sparse symmetric graph goes to message passing
    # reference: spsolve of the harmonic quadratic on the union-symmetrised graph
    W = symmetric_knn(X, X)
    lab, free = np.flatnonzero(y != -1), np.flatnonzero(y == -1)
    degree = np.asarray(W.sum(axis=1)).ravel()
    Q = (sp.diags(degree[free]) - W[free][:, free]).tocsc()
    Y = np.eye(2)[y[lab]]
    F = sla.spsolve(Q, W[free][:, lab] @ Y)
    np.testing.assert_allclose(ours.label_distributions_[free], F, atol=1e-8)
    np.testing.assert_array_equal(ours.label_distributions_[lab], Y)
    # scikit-learn's knn graph (the default graph="directed") is directed with self-loops:
    # a different fixed point, but the same labels on (almost) every sample of the moons
    ref = _sklearn("knn", X, y, n_neighbors=N_NEIGHBORS)
    assert np.mean(ours.transduction_ == ref.transduction_) >= 0.9
    assert np.mean(ours.transduction_ == y_true) >= 0.9
    assert np.mean(ours.predict(X_new) == ref.predict(X_new)) >= 0.9


def test_directed_knn_graph_is_sklearns(moons):
    """The default kNN graph is scikit-learn's (directed, self counted): the same fixed point to 1e-8."""
    X, y, _, X_new = moons
    for k in (2, 7):
        ours = LabelPropagation(kernel="knn", n_neighbors=k).fit(X, y)
        ref = _sklearn("knn", X, y, n_neighbors=k)
        np.testing.assert_allclose(ours.label_distributions_, ref.label_distributions_, atol=1e-8)
        with np.errstate(invalid="ignore"):  # scikit-learn's 0/0 where no neighbour carries label mass
            want = ref.predict_proba(X_new)
        empty = np.isnan(want).any(axis=1)
        want[empty] = 0.5  # optlib's documented departure: uniform instead of NaN
        np.testing.assert_allclose(ours.predict_proba(X_new), want, atol=1e-8)
        assert ours.n_iter_ == 1  # non-symmetric: one direct solve
    # the row-normalised graph is scikit-learn's transition matrix
    np.testing.assert_allclose(ours._build_graph().toarray(), ref._build_graph().toarray())


def test_defaults_are_sklearns():
    est, ref = LabelPropagation(), SKLabelPropagation()
    for name in ("kernel", "gamma", "n_neighbors", "max_iter"):
        assert getattr(est, name) == getattr(ref, name), name


def test_non_symmetric_callable_kernel(moons):
    """A non-symmetric affinity is accepted (direct solve) and gives scikit-learn's fixed point."""
    X, y, _, X_new = moons

    def skewed(A, B):
        K = rbf_kernel(A, B, gamma=5.0)
        return K * (1.0 + np.arange(K.shape[1]) / K.shape[1])  # column weights: K(X, X) not symmetric

    ours = LabelPropagation(kernel=skewed).fit(X, y)
    ref = _sklearn(skewed, X, y)
    np.testing.assert_allclose(ours.label_distributions_, ref.label_distributions_, atol=1e-8)
    np.testing.assert_allclose(ours.predict_proba(X_new), ref.predict_proba(X_new), atol=1e-8)
    with pytest.raises(ValueError, match="solver='message_passing' needs a symmetric graph"):
        LabelPropagation(kernel=skewed, solver="message_passing").fit(X, y)
    # graph="symmetric" symmetrises it (element-wise maximum) for message passing
    sym = LabelPropagation(kernel=skewed, graph="symmetric", solver="message_passing", tol=1e-12).fit(X, y)
    W = sp.csr_matrix(skewed(X, X))
    direct = LabelPropagation(kernel=lambda A, B: W.maximum(W.T) if B is A else skewed(A, B)).fit(X, y)
    np.testing.assert_allclose(sym.label_distributions_, direct.label_distributions_, atol=1e-8)


def test_max_iter_counts_sweeps(moons):
    X, y, _, _ = moons
    est = LabelPropagation(kernel="knn", graph="symmetric", n_neighbors=N_NEIGHBORS, tol=1e-10).fit(X, y)
    sweeps = est.n_iter_
    assert 1 < sweeps < 1000
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # max_iter = the sweeps needed: no warning
        LabelPropagation(kernel="knn", graph="symmetric", n_neighbors=N_NEIGHBORS, tol=1e-10, max_iter=sweeps).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="sweeps"):
        short = LabelPropagation(
            kernel="knn", graph="symmetric", n_neighbors=N_NEIGHBORS, tol=1e-10, max_iter=sweeps // 2
        ).fit(X, y)
    assert short.n_iter_ == sweeps // 2


def test_rbf_kernel_matches_sklearn():
    X, y_true = make_moons(50, noise=0.1, random_state=1)
    y = np.where(np.arange(50) % 7 == 0, y_true, -1)
    ours = LabelPropagation(kernel="rbf", gamma=20, tol=1e-10, max_iter=50_000).fit(
        X, y
    )
    ref = _sklearn("rbf", X, y, gamma=20)
    np.testing.assert_allclose(
        ours.label_distributions_, ref.label_distributions_, atol=1e-7
    )
    X_new = X[:10] + 0.05
    np.testing.assert_allclose(
        ours.predict_proba(X_new), ref.predict_proba(X_new), atol=1e-7
    )


@pytest.mark.parametrize(
    "blocks", ["greedy_tree", "random_tree", "red_black", "tree_partitions", "greedy"]
)
def test_three_classes_every_block_strategy(blocks):
    rng = np.random.default_rng(2)
    centres = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    X = np.concatenate([c + rng.standard_normal((30, 2)) for c in centres])
    y_true = np.repeat([3, 5, 9], 30)
    y = np.full(90, -1)
    y[::10] = y_true[::10]
    est = LabelPropagation(
        kernel="knn", graph="symmetric", blocks=blocks, random_state=0, tol=1e-8, max_iter=20_000
    ).fit(X, y)
    assert est.classes_.tolist() == [3, 5, 9]
    np.testing.assert_allclose(est.label_distributions_.sum(axis=1), 1.0)
    assert np.mean(est.transduction_ == y_true) > 0.9
    assert est.n_iter_ >= 1


def test_unreachable_samples_get_zero_distribution():
    X = np.array([[0.0], [0.1], [0.2], [10.0], [10.1], [10.2]])
    y = np.array([0, -1, 1, -1, -1, -1])
    est = LabelPropagation(kernel="knn", n_neighbors=3).fit(X, y)
    np.testing.assert_array_equal(est.label_distributions_[3:], 0.0)  # as scikit-learn
    assert np.all(est.label_distributions_[:3].sum(axis=1) == pytest.approx(1.0))
    proba = est.predict_proba([[10.05]])
    np.testing.assert_allclose(proba, [[0.5, 0.5]])  # no label mass nearby: uniform


def test_pipeline_gridsearch_and_sparse_input(moons):
    X, y, _, _ = moons
    pipe = make_pipeline(StandardScaler(), LabelPropagation())
    pipe.fit(X, y)
    search = GridSearchCV(LabelPropagation(kernel="knn"), {"n_neighbors": [3, 5]}, cv=2)
    keep = y != -1
    search.fit(X[keep], y[keep])
    a = LabelPropagation(tol=1e-10, max_iter=20_000).fit(X, y)
    b = LabelPropagation(tol=1e-10, max_iter=20_000).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(
        a.label_distributions_, b.label_distributions_, atol=1e-9
    )


def test_bad_parameters(moons):
    X, y, _, _ = moons
    with pytest.raises(ValueError, match="Unknown kernel"):
        LabelPropagation(kernel="poly").fit(X, y)
    with pytest.raises(ValueError, match="Unknown blocks"):
        LabelPropagation(blocks="tree").fit(X, y)
    with pytest.raises(ValueError, match="n_neighbors must be >= 1"):
        LabelPropagation(n_neighbors=0).fit(X, y)
    with pytest.raises(ValueError, match="no labelled sample"):
        LabelPropagation().fit(X, np.full(X.shape[0], -1))
    with pytest.raises(ValueError, match="Unknown graph"):
        LabelPropagation(graph="undirected").fit(X, y)
    with pytest.raises(ValueError, match="Unknown solver"):
        LabelPropagation(solver="cg").fit(X, y)
    with pytest.raises(ValueError, match="nonnegative"):
        LabelPropagation(kernel=lambda A, B: -np.ones((A.shape[0], B.shape[0]))).fit(X, y)
    with pytest.warns(ConvergenceWarning):
        LabelPropagation(kernel="knn", graph="symmetric", max_iter=2, tol=1e-12).fit(X, y)


def _expected_failed_checks(estimator):
    return {
        "check_non_transformer_estimators_n_iter": (
            "the check fits fully labelled data: there is no unlabelled sample, nothing to solve, "
            "and n_iter_ is truthfully 0 (the harmonic problem is not iterated at all)"
        )
    }


@parametrize_with_checks(
    [LabelPropagation(), LabelPropagation(kernel="knn"), LabelPropagation(kernel="knn", graph="symmetric")],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
