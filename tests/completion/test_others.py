"""subgradient_recovery, robust_pca, soft_impute and LowRankImputer."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

from optlib.completion import (
    LowRankImputer,
    robust_pca,
    soft_impute,
    subgradient_recovery,
)
from optlib.datasets import make_low_rank_completion
from tests.conftest import to_numpy


def _sensing(d=20, r=3, N=500, p=0.1, seed=0):
    rng = np.random.default_rng(seed)
    Us = rng.standard_normal((d, r))
    X = Us @ Us.T
    A = rng.standard_normal((N, d, d))
    y = np.einsum("ijk,jk->i", A, X)
    out = rng.random(N) < p
    y[out] += 10 * rng.standard_normal(out.sum())
    return A, y, X


@pytest.mark.parametrize("rank", [3, 10])
def test_subgradient_symmetric_outliers_overparameterized(rank):
    """The paper's setting (d=20, r=3, N=500, 10% N(0, 100) outliers), r' = 3 and 10."""
    A, y, X = _sensing()
    res = subgradient_recovery(y, A, rank=rank, max_iter=4000)
    assert np.linalg.norm(res.x - X) <= 1e-5 * np.linalg.norm(X)


def test_subgradient_array_api(xp):
    A, y, X = _sensing(d=8, r=2, N=200, p=0.0)
    res = subgradient_recovery(xp.asarray(y), xp.asarray(A), rank=2, max_iter=3000)
    assert res.x.device == xp.asarray(A).device
    assert np.linalg.norm(to_numpy(res.x) - X) <= 1e-5 * np.linalg.norm(X)


def test_subgradient_completion_with_outliers():
    P = make_low_rank_completion(100, 100, 2, sampling_rate=0.4, outlier_fraction=0.1, random_state=0)
    # over-parameterized (rank 4 > 2): the faster decay the module notes advise there
    res = subgradient_recovery((P.rows, P.cols, P.data), rank=4, shape=P.shape, max_iter=3000,
                               decay=1 - 0.3 / (2 * np.log(1e8)))
    M = P.U @ P.V.T
    assert np.linalg.norm(res.U @ res.V.T - M) <= 1e-5 * np.linalg.norm(M)


def test_subgradient_bad_input():
    A, y, _ = _sensing(d=4, r=1, N=10)
    with pytest.raises(ValueError, match="y has 9 measurements"):
        subgradient_recovery(y[:9], A, rank=1)
    with pytest.raises(ValueError, match="sensing must have shape"):
        subgradient_recovery(y, A[:, :, :3], rank=1)
    with pytest.raises(ValueError, match="Unknown step_rule"):
        subgradient_recovery(y, A, rank=1, step_rule="armijo")


def _rpca_problem(m=100, r=5, frac=0.05, seed=0):
    rng = np.random.default_rng(seed)
    L0 = rng.standard_normal((m, r)) @ rng.standard_normal((r, m)) / np.sqrt(r)
    S0 = np.zeros((m, m))
    sup = rng.random((m, m)) < frac
    S0[sup] = rng.choice([-10.0, 10.0], sup.sum())
    return L0, S0, rng


def test_robust_pca_exact_recovery_and_dual_certificate():
    """PCP's exact-recovery regime; the duality gap with the scaled multiplier certifies optimality."""
    L0, S0, _ = _rpca_problem()
    res = robust_pca(L0 + S0, tol=1e-9)
    assert np.linalg.norm(res.L - L0) <= 1e-6 * np.linalg.norm(L0)
    assert np.linalg.norm(res.S - S0) <= 1e-6 * np.linalg.norm(S0)
    # dual of min ||L||_* + lam ||S||_1 s.t. L + S = D: max <Y, D> s.t. ||Y||_2 <= 1, ||Y||_max <= lam
    Y = res.Y / max(np.linalg.norm(res.Y, 2), np.abs(res.Y).max() / res.lam)
    dual = np.sum(Y * (L0 + S0))
    assert abs(res.fun - dual) <= 1e-3 * res.fun  # the ALM multiplier is an approximate certificate


def test_robust_pca_with_mask_and_float32(xp):
    L0, S0, rng = _rpca_problem()
    D = L0 + S0
    mask = rng.random(D.shape) < 0.8
    Dn = np.where(mask, D, np.nan).astype(np.float32)
    res = robust_pca(xp.asarray(Dn), tol=1e-6)
    assert res.L.dtype == xp.float32 and res.L.device == xp.asarray(Dn).device
    assert np.linalg.norm(to_numpy(res.L) - L0) <= 1e-3 * np.linalg.norm(L0)
    assert np.all(to_numpy(res.S)[~mask] == 0)


def test_robust_pca_bad_input():
    with pytest.raises(ValueError, match="D must be 2-dimensional"):
        robust_pca(np.ones(3))
    with pytest.raises(TypeError, match="mask must be a boolean"):
        robust_pca(np.ones((3, 3)), mask=np.ones((3, 3)))
    with pytest.raises(ValueError, match="mask has shape"):
        robust_pca(np.ones((3, 3)), mask=np.ones((2, 3), dtype=bool))


def test_soft_impute_matches_dense_reference():
    """Each iterate equals the dense Soft-Impute step (full SVD of the filled matrix)."""
    P = make_low_rank_completion(40, 30, 3, sampling_rate=0.5, random_state=0, noise_std=0.1)
    lam = 1.0
    res = soft_impute((P.rows, P.cols, P.data), 30, shape=P.shape, shrinkage=lam, max_iter=3, tol=0,
                      n_power_iter=6, random_state=0)
    Z = np.zeros(P.shape)
    for _ in range(3):
        X = Z.copy()
        X[P.rows, P.cols] = P.data
        u, s, vt = np.linalg.svd(X, full_matrices=False)
        Z = (u * np.maximum(s - lam, 0)) @ vt
    np.testing.assert_allclose(res.U @ res.V.T, Z, atol=1e-8)


def test_soft_impute_array_api(xp):
    P = make_low_rank_completion(50, 40, 2, sampling_rate=0.5, random_state=0, dtype=np.float32)
    res = soft_impute((xp.asarray(P.rows), xp.asarray(P.cols), xp.asarray(P.data)), 5, shape=P.shape,
                      random_state=0, engine="xp")
    assert res.U.dtype == xp.float32
    M = P.U @ P.V.T
    assert np.linalg.norm(to_numpy(res.U) @ to_numpy(res.V).T - M) <= 0.1 * np.linalg.norm(M)


def _imputer_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((200, 3)) @ rng.standard_normal((3, 20))
    Xn = X.copy()
    Xn[rng.random(X.shape) < 0.3] = np.nan
    return X, Xn


@pytest.mark.parametrize("method", ["altmin", "soft_impute", "subgradient"])
def test_imputer_inductive_transform(method):
    X, Xn = _imputer_data()
    imp = LowRankImputer(rank=3, method=method, max_iter=3000, random_state=0).fit(Xn[:150])
    Z = imp.transform(Xn[150:])
    tol = {"altmin": 1e-4, "soft_impute": 0.5, "subgradient": 1e-3}[method]
    assert np.abs(Z - X[150:]).max() <= tol
    observed = ~np.isnan(Xn[150:])
    np.testing.assert_array_equal(Z[observed], Xn[150:][observed])


def test_imputer_default_budget_follows_the_method():
    # sub-gradient needs thousands of iterations: a shared default of 100 left it at the start (error ~1)
    X, Xn = _imputer_data()
    imp = LowRankImputer(rank=3, method="subgradient", random_state=0).fit(Xn[:150])
    assert imp.n_iter_ > 100
    assert np.abs(imp.transform(Xn[150:]) - X[150:]).max() <= 1e-3
    assert LowRankImputer(rank=3, random_state=0).fit(Xn[:150]).n_iter_ <= 100


def test_imputer_all_nan_row_and_pipeline():
    X, Xn = _imputer_data()
    Xn[3] = np.nan
    imp = LowRankImputer(rank=3, random_state=0).fit(Xn)
    np.testing.assert_allclose(imp.transform(Xn)[3], imp.mean_)
    y = X[:, 0] + 2 * X[:, 5]
    pipe = make_pipeline(LowRankImputer(rank=3, random_state=0), Ridge(alpha=1e-8)).fit(Xn[:150], y[:150])
    assert pipe.score(Xn[150:], y[150:]) > 0.999


def test_imputer_bad_input():
    with pytest.raises(ValueError, match="no observed"):
        LowRankImputer(rank=1).fit(np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="Unknown method"):
        LowRankImputer(method="knn").fit(np.ones((3, 3)))


def _scaled_problem(scale):
    P = make_low_rank_completion(120, 100, 3, sampling_rate=0.4, random_state=0)
    return P, (P.rows, P.cols, P.data * scale)


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_soft_impute_in_any_units(scale):
    """Sums of squares under- or overflowed: 100 iterations without convergence (1e200: overflow warnings)."""
    P, data = _scaled_problem(scale)
    ref = soft_impute((P.rows, P.cols, P.data), 3, shape=P.shape, random_state=0)
    seen = []
    res = soft_impute(data, 3, shape=P.shape, random_state=0, callback=lambda r: seen.append(r.x[0]))
    assert res.success and res.nit == ref.nit
    np.testing.assert_allclose(res.U @ res.V.T / scale, ref.U @ ref.V.T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.shrinkage / scale, ref.shrinkage, rtol=1e-12)
    np.testing.assert_allclose(seen[-1], res.U)


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_subgradient_completion_in_any_units(scale):
    """1e-200: success with an infinite error (the loss underflowed); 1e200: no recovery."""
    P, data = _scaled_problem(scale)
    res = subgradient_recovery(data, rank=3, shape=P.shape, random_state=0)
    M = P.U @ P.V.T
    assert res.success
    assert np.linalg.norm((res.U / np.sqrt(scale)) @ (res.V / np.sqrt(scale)).T - M) / np.linalg.norm(M) < 1e-8


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_robust_pca_in_any_units(scale):
    """1e-200: "converged" after one iteration at error 0.8 (the Frobenius norm underflowed); 1e200: no convergence."""
    rng = np.random.default_rng(0)
    L0 = rng.standard_normal((60, 3)) @ rng.standard_normal((3, 50))
    S0 = np.where(rng.random(L0.shape) < 0.05, 10.0, 0.0)
    ref = robust_pca(L0 + S0)
    res = robust_pca((L0 + S0) * scale)
    assert res.success and res.nit == ref.nit
    np.testing.assert_allclose(res.L / scale, ref.L, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(res.S / scale, ref.S, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(res.fun / scale, ref.fun, rtol=1e-10)
