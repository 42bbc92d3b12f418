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
