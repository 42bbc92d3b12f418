"""Review edges: the path's ridge warm start, multi-target sparse fits, the kernel's test after extrapolation."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import enet_path as sk_enet_path

from optlib.linear_model import _coordinate_descent as cd
from optlib.linear_model import enet_path
from optlib.linear_model._path import _predict


def _sparse_crossing(seed=0, n=80, p=30):
    """Sparse design with correlated columns: ridge coefficients cross zero along the path."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, p))
    X = Z + 0.9 * Z[:, [0]]
    X[rng.random((n, p)) < 0.3] = 0.0
    y = X @ rng.standard_normal(p) + 0.5 * rng.standard_normal(n)
    return sp.csc_matrix(X), y


def _ridge(X, y, alphas):
    Xd = X.toarray()
    n, p = Xd.shape
    return np.stack([np.linalg.solve(Xd.T @ Xd + n * a * np.eye(p), Xd.T @ y) for a in alphas], axis=1)


def test_predict_linear_without_kink():
    w, w_prev = np.array([0.5, -0.2, 1.0]), np.array([1.0, -0.1, 1.2])
    out = w.copy()
    _predict(out, w_prev, 2.0, kinked=False)  # ridge: a zero is not special, coefficient 0 crosses it
    np.testing.assert_allclose(out, [-0.5, -0.4, 0.6])
    out = w.copy()
    _predict(out, w_prev, 2.0, kinked=True)  # l1 part: the crossing coefficient starts at zero
    np.testing.assert_allclose(out, [0.0, -0.4, 0.6])


def test_ridge_path_starts_from_linear_prediction(monkeypatch):
    X, y = _sparse_crossing()
    alphas = np.geomspace(10, 1e-3, 30)
    starts = []
    run = cd._TargetSolver.run

    def spy(self, *args, **kwargs):
        starts.append(self.w.copy())
        return run(self, *args, **kwargs)

    monkeypatch.setattr(cd._TargetSolver, "run", spy)
    _, coefs, _ = enet_path(X, y, l1_ratio=0.0, alphas=alphas, tol=1e-10)
    ref = _ridge(X, y, alphas)
    assert np.abs(coefs - ref).max() <= 1e-8 * np.abs(ref).max()
    crossed = 0
    for i in range(2, len(alphas)):
        ratio = (alphas[i] - alphas[i - 1]) / (alphas[i - 1] - alphas[i - 2])
        expected = coefs[:, i - 1] + ratio * (coefs[:, i - 1] - coefs[:, i - 2])
        np.testing.assert_allclose(starts[i], expected, rtol=1e-12, atol=1e-14)  # was: crossings zeroed
        crossed += int(np.sum(expected * coefs[:, i - 1] < 0))
    assert crossed > 0  # the case the fix is about occurs on this path


@pytest.mark.parametrize("l1_ratio", [0.0, 0.05])
def test_sparse_path_matches_sklearn_small_l1_ratio(l1_ratio):
    X, y = _sparse_crossing(seed=1)
    alphas = np.geomspace(1.0, 1e-3, 12)
    _, coefs, _ = enet_path(X, y, l1_ratio=l1_ratio, alphas=alphas, tol=1e-12)
    if l1_ratio == 0.0:
        ref = _ridge(X, y, alphas)
    else:
        _, ref, _ = sk_enet_path(X.toarray(), y, l1_ratio=l1_ratio, alphas=alphas, tol=1e-14, max_iter=100000)
    assert np.abs(coefs - ref).max() <= 1e-8 * np.abs(ref).max()


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_multi_target_sparse_fit_computes_column_stats_once(monkeypatch, fit_intercept):
    from optlib.linear_model import ElasticNet

    X, y = _sparse_crossing(seed=2)
    rng = np.random.default_rng(3)
    Y = np.column_stack([y, rng.standard_normal(y.shape[0]), y - 2.0])
    calls = []
    kernel = cd._sparse_kernel()

    def spy(*args):
        calls.append((args[9], args[20]))  # stats_ready, check_finite
        return kernel(*args)

    monkeypatch.setattr(cd, "_sparse_kernel", lambda: spy)
    kw = {"alpha": 0.05, "l1_ratio": 0.7, "tol": 1e-10, "fit_intercept": fit_intercept}
    multi = ElasticNet(**kw).fit(X, Y)
    # one read for the column norms and X^T v (and the finite check of X), reused by the other targets
    assert calls == [(False, True), (True, False), (True, False)]  # was: recomputed for each target
    for k in range(Y.shape[1]):
        single = ElasticNet(**kw).fit(X, Y[:, k])
        np.testing.assert_array_equal(multi.coef_[k], single.coef_)
        assert multi.intercept_[k] == single.intercept_
    # warm start: the later targets start from nonzero coefficients and skip the read altogether
    calls.clear()
    warm = ElasticNet(warm_start=True, **kw).fit(X, Y)
    warm.set_params(alpha=0.04).fit(X, Y)
    assert calls[3:] == [(False, True), (True, False), (True, False)]


def test_coefficient_test_after_a_step_uses_the_kept_iterate():
    from optlib.linear_model._cd_numba import _settled_after_step

    # a sweep ending at max|w| = 1 with changes <= 0.1, then a kept step of 0.1 down to max|w| = 0.9:
    # 0.1 <= 0.105 * 1 (the sweep's largest coefficient, the test before) but 0.1 > 0.105 * 0.9
    w, ws = np.array([0.9, -0.3, 0.0]), np.arange(3)
    d_w_max, settled = _settled_after_step(0.1, 0.1, w, ws, 3, 0.105)
    assert d_w_max == 0.1 and not settled
    assert _settled_after_step(0.05, 0.1, w, ws, 3, 0.12) == (0.1, True)  # 0.1 <= 0.12 * 0.9
    assert _settled_after_step(0.0, 1e-3, np.zeros(3), ws, 3, 0.0)[1]  # w = 0: settled, as dw_small


def _ill_conditioned(seed, n=60, p=120):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, p))
    X = np.asfortranarray(Z + 2.0 * Z[:, [0]] + 1.5 * np.roll(Z, 1, axis=1))
    w = np.zeros(p)
    w[:10] = 3.0 * rng.standard_normal(10)
    return X, X @ w + 0.1 * rng.standard_normal(n)


@pytest.mark.parametrize("seed, l1_ratio, frac", [(0, 1.0, 0.01), (1, 0.5, 0.01), (2, 1.0, 0.1)])
def test_dense_cd_matches_sklearn_at_tight_tol(seed, l1_ratio, frac):
    # extrapolation and Newton steps are taken on these designs; the stop stays the duality gap
    from sklearn.linear_model import ElasticNet as SkElasticNet

    from optlib.linear_model import ElasticNet

    X, y = _ill_conditioned(seed)
    n = X.shape[0]
    alpha = frac * np.abs(X.T @ (y - y.mean())).max() / (n * l1_ratio)
    kw = {"alpha": alpha, "l1_ratio": l1_ratio, "tol": 1e-12, "max_iter": 100000}
    ours = ElasticNet(**kw).fit(X, y)
    ref = SkElasticNet(**kw).fit(X, y)
    assert ours.dual_gap_ <= 1e-12 * np.sum((y - y.mean()) ** 2) / n
    assert np.abs(ours.coef_ - ref.coef_).max() <= 1e-8 * np.abs(ref.coef_).max()
    assert ours.intercept_ == pytest.approx(ref.intercept_, rel=1e-8, abs=1e-10)
