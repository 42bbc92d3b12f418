"""The sparse path's warm-start prediction (``_path._predict``) and the sparse kernel's support sweeps."""

import numpy as np
import scipy.sparse as sp

from optlib.linear_model import lasso_path
from optlib.linear_model._path import _predict


def _problem(seed=0, n=80, p=40):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = X[:, :6] @ np.arange(1.0, 7.0) + 0.3 * rng.standard_normal(n)
    return X, y


def test_predict_is_exact_while_the_support_is_fixed():
    X, y = _problem()
    alphas = np.array([0.4, 0.3, 0.15])  # uneven steps: ratio 3/2
    _, coefs, _ = lasso_path(X, y, alphas=alphas, tol=1e-14, max_iter=100_000)
    signs = np.sign(coefs)
    assert np.all(signs[:, 0] == signs[:, 2]) and np.count_nonzero(coefs[:, 0]) >= 6
    w = coefs[:, 1].copy()
    _predict(w, coefs[:, 0], (alphas[2] - alphas[1]) / (alphas[1] - alphas[0]))
    np.testing.assert_allclose(w, coefs[:, 2], atol=1e-9)  # the path is linear in alpha on a fixed support
    assert np.max(np.abs(coefs[:, 1] - coefs[:, 2])) > 1e-3  # the plain warm start is far


def test_predict_starts_sign_changes_at_zero():
    w = np.array([1.0, -0.2, 0.1, 0.0, 0.5])
    w_prev = np.array([0.5, -0.5, 0.4, 0.3, 0.5])
    _predict(w, w_prev, 1.0)
    np.testing.assert_array_equal(w, [1.5, 0.0, 0.0, 0.0, 0.5])


def test_sparse_path_matches_dense_path_with_a_large_support():
    rng = np.random.default_rng(3)
    Xs = sp.random(60, 150, density=0.1, format="csc", random_state=rng, data_rvs=rng.standard_normal)
    y = rng.standard_normal(60)
    kw = dict(n_alphas=30, eps=1e-3, tol=1e-12, max_iter=100_000)
    alphas, c_sparse, g_sparse, it_sparse = lasso_path(Xs, y, return_n_iter=True, **kw)
    _, c_dense, _ = lasso_path(Xs.toarray(), y, **kw)
    assert np.count_nonzero(c_sparse[:, -1]) > 40
    np.testing.assert_allclose(c_sparse, c_dense, atol=1e-5)
    assert np.all(g_sparse <= 1e-12 * y @ y / 60)


def _plain_gaps(X, y, alphas, coefs):
    """Duality gaps (objective units) from the residual rescaled into the dual feasible set, recomputed here."""
    n = X.shape[0]
    R = y[:, None] - X @ coefs
    out = []
    for i, alpha in enumerate(alphas):
        r = R[:, i]
        s = min(1.0, n * alpha / np.max(np.abs(X.T @ r)))
        primal = r @ r / (2 * n) + alpha * np.abs(coefs[:, i]).sum()
        out.append(primal - (y @ y - (y - s * r) @ (y - s * r)) / (2 * n))
    return np.array(out)


def test_anderson_point_keeps_the_orthant_of_the_last_iterate():
    from optlib.linear_model._cd_numba import anderson_candidates

    # iterates x_k = x* + 0.6^k d: coordinate 1 is positive along the way but its limit is negative
    x_star, d = np.array([1.0, -0.05, 0.0]), np.array([1.0, 1.0, 0.0])
    hist = np.array([x_star + 0.6**k * d for k in range(6)])
    assert hist[-1, 1] > 0
    w_acc, _, _ = anderson_candidates(hist, 3, 1.0, False)
    assert abs(w_acc[0] - 1.0) < 1e-6  # the limit of the coordinate that keeps its sign
    np.testing.assert_array_equal(w_acc[1:], [0.0, 0.0])  # not pushed across zero, zero kept


def test_sparse_path_with_a_nearly_saturated_support_certified_and_fewer_epochs():
    from sklearn.linear_model import lasso_path as sk_lasso_path

    rng = np.random.default_rng(0)
    n, p, tol = 400, 1000, 1e-8
    X = sp.random(n, p, density=0.05, format="csc", random_state=rng, data_rvs=rng.standard_normal)
    y = X[:, :20] @ rng.standard_normal(20) + rng.standard_normal(n)
    alphas, coefs, gaps, its = lasso_path(X, y, n_alphas=10, eps=3e-3, tol=tol, max_iter=100_000, return_n_iter=True)
    assert np.count_nonzero(coefs[:, -1]) > 0.9 * n  # the ill-conditioned end of the path
    bound = tol * (y @ y) / n
    assert np.all(gaps <= bound)
    np.testing.assert_allclose(_plain_gaps(X, y, alphas, coefs), gaps, rtol=1e-6, atol=1e-6 * bound)
    # Anderson steps are accepted on the large support (2764 epochs when they were all rejected)
    assert sum(its) < 2000
    _, sk_coefs, _ = sk_lasso_path(X, y, alphas=alphas, tol=tol, max_iter=100_000)
    np.testing.assert_allclose(coefs, sk_coefs, atol=1e-4 * np.max(np.abs(sk_coefs)))


def test_sparse_column_stats_kept_between_solves():
    from optlib.linear_model._coordinate_descent import _CDProblem

    rng = np.random.default_rng(1)
    X = sp.random(50, 30, density=0.2, format="csc", random_state=rng, data_rvs=rng.standard_normal)
    y = rng.standard_normal(50)
    sw = rng.uniform(0.5, 2.0, 50)
    sw *= 50 / sw.sum()
    pb = _CDProblem(X, y[:, None], sw, True)
    solver = pb.target(0, np.zeros(30))
    runs = [solver.run(50 * a, 0.0, False, 10_000, 1e-12, False, 0, True, 1e-8) for a in (0.05, 0.02)]
    # the second solve (warm, nonzero w) reuses the first's norms of the centred, weighted columns and X^T v
    Xd = X.toarray()
    v = np.sqrt(sw)
    Xc = v[:, None] * (Xd - (sw @ Xd) / 50)
    np.testing.assert_allclose(pb.sparse_stats[0], (Xc**2).sum(0), rtol=1e-10)
    np.testing.assert_allclose(pb.sparse_stats[1], (v[:, None] * Xd).T @ v, rtol=1e-10)
    w_cold = pb.target(0, np.zeros(30))
    w_cold.run(50 * 0.02, 0.0, False, 10_000, 1e-12, False, 0, True, 1e-8)
    np.testing.assert_allclose(solver.w, w_cold.w, atol=1e-8)
    assert all(gap <= 1e-12 for _, gap in runs)
