"""Sparse coding: scikit-learn reference (l1), closed forms and stationarity
(all penalties), the l0-vs-l1 trade-off, array namespaces, estimator API, bad input."""

import warnings

import numpy as np
import pytest
from sklearn.decomposition import sparse_encode as sk_sparse_encode
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from optlib.decomposition import PENALTIES, SparseCoder, sparse_encode
from optlib.decomposition._penalties import make_penalty
from tests.conftest import to_numpy

NONCONVEX = [p for p in PENALTIES if p != "l1"]
# Weights giving comparable sparsity on the planted problem below.
ALPHAS = {"l1": 0.2, "l0": 0.05, "l1/2": 0.2, "cel0": 0.05, "mcp": 0.2, "scad": 0.2, "lp": 0.2}


def _planted(n_samples=40, n_features=20, n_components=30, k=4, noise=0.05, seed=0):
    """Samples with k-sparse codes in a random unit-norm overcomplete dictionary."""
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_components, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    C = np.zeros((n_samples, n_components))
    for i in range(n_samples):
        idx = rng.choice(n_components, k, replace=False)
        C[i, idx] = rng.choice([-1.0, 1.0], k) * (1 + rng.random(k))
    X = C @ D + noise * rng.standard_normal((n_samples, n_features))
    return X, D, C


@pytest.fixture(scope="module")
def planted():
    return _planted()


def _objectives(X, D, codes, g):
    """Per-sample objective 0.5 ||x - c D||^2 + g(c)."""
    fit = 0.5 * np.sum((X - codes @ D) ** 2, axis=1)
    return fit + np.array([g(c) for c in codes])


# -- reference: scikit-learn (l1) -------------------------------------------------


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("algorithm", ["lasso_cd", "lasso_lars"])
def test_l1_matches_sklearn_sparse_encode(planted, algorithm, positive):
    X, D, _ = planted
    ours = sparse_encode(X, D, alpha=0.2, tol=1e-10, max_iter=5000, positive=positive)
    ref = sk_sparse_encode(X, D, algorithm=algorithm, alpha=0.2, max_iter=10000, positive=positive)
    np.testing.assert_allclose(ours, ref, atol=1e-6)
    if positive:
        assert ours.min() >= 0


def test_sparse_coder_l1_matches_sklearn_sparse_coder(planted):
    from sklearn.decomposition import SparseCoder as SkSparseCoder

    X, D, _ = planted
    ours = SparseCoder(D, alpha=0.3, tol=1e-10, max_iter=5000).fit_transform(X)
    ref = SkSparseCoder(D, transform_algorithm="lasso_lars", transform_alpha=0.3).fit_transform(X)
    np.testing.assert_allclose(ours, ref, atol=1e-6)


# -- all penalties: closed form, stationarity, objective -----------------------------


@pytest.mark.parametrize("penalty", PENALTIES)
def test_orthonormal_dictionary_gives_the_prox_of_the_analysis_coefficients(penalty):
    # With an orthonormal dictionary the problem separates per coefficient:
    # the codes are prox_{alpha g}(x D^T), a closed form for every penalty.
    rng = np.random.default_rng(1)
    Q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    X = 2 * rng.standard_normal((25, 12))
    alpha = 0.3
    codes = sparse_encode(X, Q, penalty=penalty, alpha=alpha, tol=1e-12)
    expected = make_penalty(penalty, alpha).prox(X @ Q.T, 1.0)
    np.testing.assert_allclose(codes, expected, atol=1e-9)


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("penalty", PENALTIES)
def test_codes_are_fixed_points_of_the_prox_gradient_map(planted, penalty, positive):
    X, D, _ = planted
    alpha = ALPHAS[penalty]
    codes = sparse_encode(X, D, penalty=penalty, alpha=alpha, tol=1e-10, max_iter=5000, positive=positive)
    g = make_penalty(penalty, alpha, positive=positive)
    t = 1.0 / np.linalg.norm(D, 2) ** 2
    Z = codes.T
    step = g.prox(Z - t * (D @ (D.T @ Z - X.T)), t)
    assert np.abs(step - Z).max() <= 1e-7 * max(1.0, np.abs(Z).max())
    assert np.count_nonzero(codes) > 0
    if positive:
        assert codes.min() >= 0


@pytest.mark.parametrize("penalty", NONCONVEX)
def test_nonconvex_codes_beat_debiased_l1_on_their_own_objective(planted, penalty):
    # A natural l0-style candidate: least squares on the support of the l1
    # solution. The nonconvex codes must do at least as well on the penalised
    # objective they minimise (summed over samples: a local method can lose on
    # a few samples).
    X, D, _ = planted
    alpha = ALPHAS[penalty]
    l1 = sparse_encode(X, D, alpha=ALPHAS["l1"], tol=1e-10, max_iter=5000)
    debiased = np.zeros_like(l1)
    for i, c in enumerate(l1):
        support = np.flatnonzero(c)
        if support.size:
            debiased[i, support] = np.linalg.lstsq(D[support].T, X[i], rcond=None)[0]
    codes = sparse_encode(X, D, penalty=penalty, alpha=alpha, tol=1e-10, max_iter=5000)
    g = make_penalty(penalty, alpha)
    assert _objectives(X, D, codes, g).sum() <= _objectives(X, D, debiased, g).sum()


@pytest.mark.parametrize("penalty", ["l0", "cel0", "mcp", "scad"])
def test_l0_type_penalties_find_planted_supports_better_than_l1(planted, penalty):
    X, D, C = planted

    def exact_support_rate(codes):
        return np.mean([np.array_equal(codes[i] != 0, C[i] != 0) for i in range(len(C))])

    l1 = sparse_encode(X, D, alpha=ALPHAS["l1"], tol=1e-8)
    codes = sparse_encode(X, D, penalty=penalty, alpha=ALPHAS[penalty], tol=1e-8)
    assert exact_support_rate(codes) >= 0.8 > exact_support_rate(l1)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # l0 at tiny alpha: slow tail
def test_l0_type_penalties_reconstruct_better_than_l1_at_equal_sparsity(planted):
    # The "beyond l1" trade-off on the planted problem: interpolate each
    # penalty's (sparsity, relative error) curve over a sweep of alpha.
    X, D, _ = planted

    def curve(penalty, alphas):
        points = []
        for a in alphas:
            codes = sparse_encode(X, D, penalty=penalty, alpha=a, tol=1e-7)
            points.append((np.mean(codes != 0), np.sum((X - codes @ D) ** 2) / np.sum(X**2)))
        s, e = np.array(sorted(points)).T
        return lambda level: np.interp(level, s, e)

    l1 = curve("l1", np.geomspace(0.02, 1.0, 10))
    for penalty in ("l0", "cel0"):
        other = curve(penalty, np.geomspace(0.002, 0.3, 10))
        for level in (0.1, 0.13):
            assert other(level) < 0.7 * l1(level)


def test_cel0_rescales_with_atom_norms(planted):
    # CEL0 uses the atom norms (its parameter a = ||D_k||): scaling atom k by
    # s_k scales its code by 1 / s_k and leaves the fit unchanged.
    X, D, _ = planted
    s = np.linspace(0.5, 3.0, D.shape[0])
    unit = sparse_encode(X, D, penalty="cel0", alpha=0.05, tol=1e-12, max_iter=5000)
    scaled = sparse_encode(X, D * s[:, None], penalty="cel0", alpha=0.05, tol=1e-12, max_iter=5000)
    np.testing.assert_allclose(scaled * s, unit, atol=1e-7)


def test_zero_atoms_get_zero_codes():
    rng = np.random.default_rng(0)
    D = rng.standard_normal((6, 5))
    D[2] = 0
    X = rng.standard_normal((7, 5))
    for penalty in PENALTIES:
        codes = sparse_encode(X, D, penalty=penalty, alpha=0.1)
        assert np.all(codes[:, 2] == 0), penalty


def test_penalty_params_are_used(planted):
    X, D, _ = planted
    a = sparse_encode(X, D, penalty="mcp", alpha=0.2, penalty_params={"gamma": 1.5})
    b = sparse_encode(X, D, penalty="mcp", alpha=0.2, penalty_params={"gamma": 50.0})
    l1 = sparse_encode(X, D, penalty="l1", alpha=0.2)
    assert not np.allclose(a, b)
    assert np.abs(b - l1).max() < np.abs(a - l1).max()  # large gamma: MCP -> l1


def test_warm_start_reaches_the_same_codes(planted):
    X, D, _ = planted
    cold, res_cold = sparse_encode(X, D, alpha=0.2, tol=1e-10, max_iter=5000, return_result=True)
    warm, res_warm = sparse_encode(X, D, alpha=0.2, tol=1e-10, max_iter=5000, init=cold, return_result=True)
    np.testing.assert_allclose(warm, cold, atol=1e-8)
    assert res_warm.nit < res_cold.nit
    assert res_cold.success and res_cold.status == 0 and "Converged" in res_cold.message
    assert res_cold.fun == pytest.approx(0.5 * np.sum((X - cold @ D) ** 2) + 0.2 * np.abs(cold).sum(), rel=1e-10)


@pytest.mark.parametrize("method,restart", [("ista", None), ("fista", None), ("fista", "function")])
def test_solver_options_agree(planted, method, restart):
    X, D, _ = planted
    ref = sparse_encode(X, D, alpha=0.2, tol=1e-10, max_iter=5000)
    codes = sparse_encode(X, D, alpha=0.2, tol=1e-10, max_iter=20000, method=method, restart=restart)
    np.testing.assert_allclose(codes, ref, atol=1e-6)


def test_zero_data_and_huge_alpha_give_zero_codes(planted):
    X, D, _ = planted
    assert not np.any(sparse_encode(np.zeros_like(X), D))
    alpha_max = np.abs(X @ D.T).max()
    assert not np.any(sparse_encode(X, D, alpha=alpha_max * 1.01))


def test_max_iter_reached_warns(planted):
    X, D, _ = planted
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        sparse_encode(X, D, alpha=0.2, max_iter=2)
    with pytest.warns(ConvergenceWarning, match="SparseCoder"):
        SparseCoder(D, alpha=0.2, max_iter=2).transform(X)


# -- dtypes and array namespaces ------------------------------------------------------


@pytest.mark.parametrize("penalty", PENALTIES)
def test_float32_is_preserved(planted, penalty):
    X, D, _ = planted
    X32 = X.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        codes = SparseCoder(D, penalty=penalty, alpha=ALPHAS[penalty]).fit_transform(X32)
    assert codes.dtype == np.float32
    assert SparseCoder(D.astype(np.float32)).transform(X).dtype == np.float64
    if penalty == "l1":
        np.testing.assert_allclose(codes, sparse_encode(X, D, alpha=0.2), atol=1e-4)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("penalty", ["l1", "l0", "cel0"])
def test_array_namespaces(xp, planted, penalty, dtype):
    X, D, _ = planted
    X = X.astype(dtype)
    Xx = xp.asarray(X)
    coder = SparseCoder(D, penalty=penalty, alpha=ALPHAS[penalty], tol=1e-8)
    codes = coder.fit(Xx).transform(Xx)
    assert type(codes) is type(Xx)
    assert codes.device == Xx.device
    assert codes.dtype == Xx.dtype
    assert codes.shape == (X.shape[0], D.shape[0])
    ref = coder.transform(X)
    atol = 1e-4 if dtype == "float32" else 1e-9
    np.testing.assert_allclose(to_numpy(codes), ref, atol=atol)
    back = coder.inverse_transform(codes)
    assert type(back) is type(Xx) and back.dtype == Xx.dtype
    np.testing.assert_allclose(to_numpy(back), ref @ D.astype(dtype), atol=10 * atol)
    # function front end, dictionary given in the same namespace
    codes_fn = sparse_encode(Xx, xp.asarray(D), penalty=penalty, alpha=ALPHAS[penalty], tol=1e-8)
    np.testing.assert_allclose(to_numpy(codes_fn), ref, atol=atol)


def test_host_lists_move_to_the_device_of_X(xp, planted):
    X, D, _ = planted
    Xx = xp.asarray(X)
    init = np.zeros((X.shape[0], D.shape[0]))
    codes = sparse_encode(Xx, D.tolist(), alpha=0.2, init=init.tolist())
    assert type(codes) is type(Xx) and codes.device == Xx.device
    np.testing.assert_allclose(to_numpy(codes), sparse_encode(X, D, alpha=0.2), atol=1e-9)
    back = SparseCoder(D.tolist()).inverse_transform(codes)
    assert back.device == Xx.device
    np.testing.assert_allclose(to_numpy(back), to_numpy(codes) @ D, atol=1e-12)


# -- estimator API -----------------------------------------------------------------


def test_sparse_coder_api(planted):
    X, D, _ = planted
    X_orig, D_orig = X.copy(), D.copy()
    coder = SparseCoder(D, alpha=0.2)
    assert coder.fit(X) is coder
    assert coder.n_components_ == D.shape[0]
    assert coder.n_features_in_ == D.shape[1]
    assert coder.n_iter_ >= 1
    codes = coder.transform(X)
    np.testing.assert_array_equal(codes, coder.fit_transform(X))
    np.testing.assert_allclose(coder.inverse_transform(codes), codes @ D)
    np.testing.assert_array_equal(X, X_orig)
    np.testing.assert_array_equal(D, D_orig)
    names = coder.get_feature_names_out()
    assert list(names[:2]) == ["sparsecoder0", "sparsecoder1"]
    # stateless: transform works without fit
    np.testing.assert_array_equal(SparseCoder(D, alpha=0.2).transform(X), codes)


def test_pipeline_and_grid_search(planted):
    X, D, C = planted
    y = (np.abs(C[:, 0]) > 0).astype(int)
    pipe = make_pipeline(SparseCoder(D, max_iter=300), LogisticRegression())
    grid = GridSearchCV(
        pipe,
        {"sparsecoder__penalty": ["l1", "cel0"], "sparsecoder__alpha": [0.05, 0.2]},
        cv=3,
    )
    grid.fit(X, y)
    assert grid.best_params_["sparsecoder__penalty"] in ("l1", "cel0")
    assert grid.score(X, y) > 0.8


# -- bad input ---------------------------------------------------------------------


def test_bad_input(planted):
    X, D, _ = planted
    with pytest.raises(ValueError, match=r"Unknown penalty 'l3'.*'l1', 'l0', 'l1/2', 'cel0', 'mcp', 'scad'"):
        SparseCoder(D, penalty="l3").fit(X)
    with pytest.raises(ValueError, match="Unknown penalty"):
        sparse_encode(X, D, penalty="lasso")
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        SparseCoder(D, alpha=-1.0).transform(X)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        sparse_encode(X, D, alpha=-0.1)
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        sparse_encode(X, D, max_iter=0)
    with pytest.raises(ValueError, match="method"):
        sparse_encode(X, D, method="newton")
    with pytest.raises(ValueError, match="penalty_params.*'gamma'"):
        sparse_encode(X, D, penalty="l1", penalty_params={"gamma": 2.0})
    with pytest.raises(ValueError, match="gamma must be > 1"):
        sparse_encode(X, D, penalty="mcp", penalty_params={"gamma": 0.5})
    with pytest.raises(ValueError, match="different numbers of features"):
        SparseCoder(D).fit(X[:, :5])
    with pytest.raises(ValueError, match="dictionary has 20 features"):
        sparse_encode(X[:, :5], D)
    with pytest.raises(ValueError, match="init has shape"):
        sparse_encode(X, D, init=np.zeros((3, 3)))
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SparseCoder(D).transform(bad)
    with pytest.raises(ValueError, match="NaN"):
        sparse_encode(bad, D)
    D_bad = D.copy()
    D_bad[1, 1] = np.inf
    with pytest.raises(ValueError, match="dictionary contains infinite"):
        SparseCoder(D_bad).transform(X)
    with pytest.raises(ValueError, match="2-dimensional"):
        sparse_encode(X[0], D)
    with pytest.raises(ValueError, match="expecting 20 features"):
        SparseCoder(D).fit(X).transform(X[:, :3])
    with pytest.raises(ValueError, match="components"):
        SparseCoder(D).inverse_transform(np.zeros((2, 3)))
