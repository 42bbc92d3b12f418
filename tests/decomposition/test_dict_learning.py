"""Dictionary learning: monotone objective, planted-dictionary recovery, scikit-learn
reference objective, nonconvex penalties, array namespaces, options, bad input."""

import warnings

import numpy as np
import pytest
from sklearn.decomposition import DictionaryLearning as SkDictionaryLearning
from sklearn.decomposition import sparse_encode as sk_sparse_encode
from sklearn.exceptions import ConvergenceWarning

from optlib.decomposition import DictionaryLearning, SparseCoder
from optlib.decomposition._penalties import make_penalty
from tests.conftest import to_numpy


def _planted(n_samples=400, n_features=20, n_components=12, k=3, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_components, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    C = np.zeros((n_samples, n_components))
    for i in range(n_samples):
        idx = rng.choice(n_components, k, replace=False)
        C[i, idx] = rng.choice([-1.0, 1.0], k) * (1 + rng.random(k))
    return C @ D + noise * rng.standard_normal((n_samples, n_features)), D


@pytest.fixture(scope="module")
def planted():
    return _planted()


@pytest.fixture(scope="module")
def fitted_l1(planted):
    X, _ = planted
    return DictionaryLearning(12, alpha=0.1, max_iter=300, random_state=0).fit(X)


def _matched_correlations(learned, true):
    """For each true atom, the best |correlation| with a learned atom (sign/permutation free)."""
    corr = np.abs(learned @ true.T) / np.linalg.norm(learned, axis=1)[:, None]
    return corr.max(axis=0)


def _assert_monotone(errors):
    errors = np.asarray(errors)
    assert np.all(np.diff(errors) <= 1e-10 * errors[0]), np.diff(errors).max()


def test_objective_is_monotone(fitted_l1):
    _assert_monotone(fitted_l1.error_)
    assert len(fitted_l1.error_) == fitted_l1.n_iter_
    assert fitted_l1.error_[-1] < fitted_l1.error_[0]


def test_recovers_planted_dictionary(planted, fitted_l1):
    _, D = planted
    assert fitted_l1.n_iter_ < 300  # converged
    np.testing.assert_allclose(np.linalg.norm(fitted_l1.components_, axis=1), 1.0)
    assert _matched_correlations(fitted_l1.components_, D).min() > 0.99


def test_objective_matches_or_beats_sklearn(planted, fitted_l1):
    X, _ = planted
    alpha = 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = SkDictionaryLearning(
            12, alpha=alpha, max_iter=100, tol=1e-8, fit_algorithm="cd", random_state=0
        ).fit(X)
    codes = sk_sparse_encode(X, sk.components_, algorithm="lasso_cd", alpha=alpha)
    sk_objective = 0.5 * np.sum((X - codes @ sk.components_) ** 2) + alpha * np.abs(codes).sum()
    ours = fitted_l1.error_[-1]
    assert ours <= 1.02 * sk_objective
    # the recorded objective is that of the final codes and atoms
    ours_codes = sk_sparse_encode(X, fitted_l1.components_, algorithm="lasso_cd", alpha=alpha)
    ours_recomputed = 0.5 * np.sum((X - ours_codes @ fitted_l1.components_) ** 2) + alpha * np.abs(ours_codes).sum()
    assert ours_recomputed <= ours * (1 + 1e-6)


@pytest.mark.parametrize("penalty,alpha", [("l0", 0.02), ("l1/2", 0.05), ("cel0", 0.02), ("mcp", 0.1), ("scad", 0.1)])
def test_nonconvex_penalties_refine_the_l1_dictionary(planted, fitted_l1, penalty, alpha):
    # Nonconvex dictionary learning is sensitive to its start (from the SVD
    # start it stalls in poor local minima); started from the l1 dictionary it
    # removes the shrinkage bias and matches the planted atoms more closely.
    X, D = planted
    dl = DictionaryLearning(12, penalty=penalty, alpha=alpha, dict_init=fitted_l1.components_, random_state=0)
    codes = dl.fit_transform(X)
    _assert_monotone(dl.error_)
    np.testing.assert_allclose(np.linalg.norm(dl.components_, axis=1), 1.0)
    corr = _matched_correlations(dl.components_, D)
    assert corr.min() > 0.9999
    assert corr.min() > _matched_correlations(fitted_l1.components_, D).min()
    g = make_penalty(penalty, alpha)
    final = 0.5 * np.sum((X - codes @ dl.components_) ** 2) + g(codes)
    assert final <= dl.error_[-1] * (1 + 1e-6)


def test_unused_atoms_are_redrawn_reproducibly(planted):
    X, _ = planted
    X = X[:, :6]  # rank 6 < n_components: the SVD start leaves zero atoms
    a = DictionaryLearning(10, alpha=0.1, max_iter=15, random_state=3)
    b = DictionaryLearning(10, alpha=0.1, max_iter=15, random_state=3)
    c = DictionaryLearning(10, alpha=0.1, max_iter=15, random_state=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for est in (a, b, c):
            est.fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
    assert not np.allclose(a.components_, c.components_)
    np.testing.assert_allclose(np.linalg.norm(a.components_, axis=1), 1.0)
    _assert_monotone(a.error_)


def test_dict_init_code_init_and_positive_code(planted):
    X, D = planted
    rng = np.random.default_rng(0)
    init = D + 0.1 * rng.standard_normal(D.shape)
    dl = DictionaryLearning(12, alpha=0.1, dict_init=init, positive_code=True, max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        codes = dl.fit_transform(X)
    assert codes.min() >= 0
    assert dl.transform(X).min() >= 0
    _assert_monotone(dl.error_)
    code_init = np.abs(rng.standard_normal((X.shape[0], 12)))
    dl2 = DictionaryLearning(12, alpha=0.1, dict_init=init, code_init=code_init, max_iter=3)
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        dl2.fit(X)
    assert dl2.n_iter_ == 3


def test_callback_can_stop(planted):
    X, _ = planted
    seen = []

    def callback(res):
        seen.append((res.nit, res.fun, res.components.shape, res.codes.shape))
        if res.nit == 4:
            raise StopIteration

    dl = DictionaryLearning(12, alpha=0.1, callback=callback, random_state=0).fit(X)
    assert dl.n_iter_ == 4 and len(seen) == 4
    assert seen[-1][2] == (12, 20) and seen[-1][3] == (400, 12)
    assert seen[-1][1] == dl.error_[-1]


def test_callback_iterates_are_copies(planted):
    X, _ = planted
    X = X[:100]
    g = make_penalty("l1", 0.1)
    stored = []
    dl = DictionaryLearning(12, alpha=0.1, max_iter=5, tol=0.0, random_state=0, callback=stored.append)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dl.fit(X)
    assert [r.nit for r in stored] == [1, 2, 3, 4, 5]
    for r in stored:  # each stored pair is the one of its own iteration
        objective = 0.5 * np.sum((X - r.codes @ r.components) ** 2) + g(r.codes)
        assert objective == pytest.approx(r.fun, rel=1e-12)
    for r, r_next in zip(stored, stored[1:]):
        assert np.max(np.abs(r.components - r_next.components)) > 1e-8
    np.testing.assert_array_equal(stored[-1].components, dl.components_)
    stored[-1].components[:] = 0.0  # the caller's copy, not the model's
    assert np.all(np.linalg.norm(dl.components_, axis=1) > 0.99)


def test_float32_and_inputs_untouched(planted):
    X, _ = planted
    X32 = X.astype(np.float32)
    X32_orig = X32.copy()
    dl = DictionaryLearning(8, alpha=0.1, max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        codes = dl.fit_transform(X32)
    assert codes.dtype == np.float32 and dl.components_.dtype == np.float32
    assert dl.transform(X32).dtype == np.float32
    assert dl.inverse_transform(codes).shape == X.shape
    np.testing.assert_array_equal(X32, X32_orig)


def test_sparse_coder_on_learned_dictionary(fitted_l1, planted):
    X, _ = planted
    coder = SparseCoder(fitted_l1.components_, alpha=0.1)
    np.testing.assert_allclose(coder.transform(X), fitted_l1.transform(X), atol=1e-12)


def test_array_namespaces(xp, planted):
    X, _ = planted
    X = X[:120]
    Xx = xp.asarray(X)
    params = dict(n_components=8, alpha=0.1, max_iter=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = DictionaryLearning(**params).fit(X)
        dl = DictionaryLearning(**params).fit(Xx)
    assert type(dl.components_) is type(Xx)
    assert dl.components_.device == Xx.device
    # same iterations; atom signs follow the SVD of each library
    np.testing.assert_allclose(np.abs(to_numpy(dl.components_)), np.abs(ref.components_), atol=1e-6)
    np.testing.assert_allclose(dl.error_, ref.error_, rtol=1e-8)
    codes = dl.transform(Xx)
    assert type(codes) is type(Xx) and codes.shape == (120, 8)
    assert codes.device == Xx.device
    if type(Xx) is not np.ndarray:
        with pytest.raises(ValueError, match="must use the same namespace"):
            dl.transform(X)


def test_init_on_another_device_is_named():
    xs = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(0)
    X = xs.asarray(rng.standard_normal((30, 6)), device=xs.Device("device1"))
    dict_init = xs.asarray(rng.standard_normal((4, 6)))  # the default device
    with pytest.raises(ValueError, match="dict_init is on device .* but X is on"):
        DictionaryLearning(4, alpha=0.1, dict_init=dict_init).fit(X)
    with pytest.raises(ValueError, match="dictionary is on device"):
        SparseCoder(dict_init).transform(X)


def test_bad_input(planted):
    X, _ = planted
    with pytest.raises(ValueError, match="Unknown penalty 'l2'"):
        DictionaryLearning(penalty="l2").fit(X)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        DictionaryLearning(alpha=-1).fit(X)
    with pytest.raises(ValueError, match="n_components must be >= 1"):
        DictionaryLearning(0).fit(X)
    with pytest.raises(ValueError, match="dict_init has shape"):
        DictionaryLearning(5, dict_init=np.ones((4, 20))).fit(X)
    with pytest.raises(ValueError, match="code_init has shape"):
        DictionaryLearning(5, code_init=np.ones((4, 5))).fit(X)
    with pytest.raises(TypeError, match="callback must be callable"):
        DictionaryLearning(5, callback=3).fit(X)
    bad = X.copy()
    bad[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        DictionaryLearning(5).fit(bad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dl = DictionaryLearning(5, max_iter=2).fit(X)
    with pytest.raises(ValueError, match="expecting 20 features"):
        dl.transform(X[:, :4])
