"""Anderson extrapolation of the coordinate-descent kernels where coefficients converge across zero.

The extrapolated point is first projected on the orthant of the last
iterate (``_cd_numba.anderson_candidates``); on an ill-conditioned elastic
net or ridge at a small alpha, coefficients legitimately cross zero on the
way to the solution, the projected point is rejected at every try, and the
plain extrapolation must then be tried (without an l1 part, only it).
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from optlib.linear_model import ElasticNet


def _ill_conditioned(seed=0, n=200, p=80):
    """Nearly rank-5 design: the ridge / elastic-net coordinate descent is slow, Anderson matters."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5)) @ rng.standard_normal((5, p)) + 0.01 * rng.standard_normal((n, p))
    y = X @ rng.standard_normal(p) + 0.1 * rng.standard_normal(n)
    return X, y


def _enet_gap(X, y, w, alpha, l1_ratio):
    """Duality gap (objective units, no intercept) at ``w``, recomputed here from the dual at ``v = R``.

    ``D(v) = (y^T v - ||v||^2 / 2 - sum_j (|X_j^T v| - a1)_+^2 / (2 a2)) / n``
    with ``a1 = n alpha l1_ratio``, ``a2 = n alpha (1 - l1_ratio) > 0``: a
    lower bound on the optimal objective for any ``v``.
    """
    n = X.shape[0]
    a1, a2 = n * alpha * l1_ratio, n * alpha * (1 - l1_ratio)
    r = y - X @ w
    primal = (r @ r / 2 + a1 * np.abs(w).sum() + a2 / 2 * w @ w) / n
    excess = np.maximum(np.abs(X.T @ r) - a1, 0.0)
    dual = (y @ r - r @ r / 2 - excess @ excess / (2 * a2)) / n
    return primal - dual


def _objective(X, y, w, alpha, l1_ratio):
    """The elastic-net objective (scikit-learn's scaling, no intercept)."""
    r = y - X @ w
    return r @ r / (2 * X.shape[0]) + alpha * l1_ratio * np.abs(w).sum() + alpha * (1 - l1_ratio) / 2 * w @ w


def _fit(X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ConvergenceWarning fails the test
        return ElasticNet(fit_intercept=False, tol=1e-10, **kw).fit(X, y)


@pytest.mark.parametrize("sparse", [False, True])
def test_ridge_matches_the_closed_form_on_an_ill_conditioned_design(sparse):
    # l1_ratio=0: no kink at zero; projecting the extrapolation on the orthant blocked it
    # (sparse: 100000 epochs, gap 1.4e-3, objective 7% above the optimum)
    X, y = _ill_conditioned()
    n, p = X.shape
    alpha = 1e-4
    w_ref = np.linalg.solve(X.T @ X + n * alpha * np.eye(p), X.T @ y)
    m = _fit(sp.csc_matrix(X) if sparse else X, y, alpha=alpha, l1_ratio=0.0, max_iter=30_000)
    f, f_ref = _objective(X, y, m.coef_, alpha, 0.0), _objective(X, y, w_ref, alpha, 0.0)
    assert f - f_ref <= 1e-6 * f_ref
    assert _enet_gap(X, y, m.coef_, alpha, 0.0) <= 1e-9 * (y @ y) / n
    assert np.any(np.sign(m.coef_) != np.sign(m.coef_[0]))  # coefficients of both signs


@pytest.mark.parametrize("l1_ratio", [0.001, 0.1])
def test_dense_elastic_net_with_coefficients_crossing_zero_converges(l1_ratio):
    # the dense kernel needed 10881 / 20691 epochs (projected points all rejected), 171 / 511 now
    X, y = _ill_conditioned()
    alpha = 1e-4
    m = _fit(X, y, alpha=alpha, l1_ratio=l1_ratio, max_iter=3000)
    assert m.n_iter_ < 3000
    assert _enet_gap(X, y, m.coef_, alpha, l1_ratio) <= 1e-9 * (y @ y) / X.shape[0]


def test_sparse_elastic_net_with_coefficients_crossing_zero_converges():
    X, y = _ill_conditioned()
    alpha, l1_ratio = 1e-4, 0.001
    m = _fit(sp.csc_matrix(X), y, alpha=alpha, l1_ratio=l1_ratio, max_iter=20_000)  # was 50000 and no convergence
    dense = _fit(X, y, alpha=alpha, l1_ratio=l1_ratio, max_iter=3000)
    assert _enet_gap(X, y, m.coef_, alpha, l1_ratio) <= 1e-9 * (y @ y) / X.shape[0]
    f_sparse, f_dense = (_objective(X, y, w, alpha, l1_ratio) for w in (m.coef_, dense.coef_))
    assert abs(f_sparse - f_dense) <= 1e-9 * f_dense


def _positive_enet_reference(X, y, alpha, l1_ratio):
    """Exact minimiser over ``w >= 0`` (no intercept), as one NNLS problem ``min ||A w - b||^2``.

    ``A^T A = X^T X + n alpha (1 - l1_ratio) I`` (with ``A = L^T``, its
    Cholesky factor), ``A^T b = X^T y - n alpha l1_ratio 1``.
    """
    from scipy.optimize import nnls

    n, p = X.shape
    L = np.linalg.cholesky(X.T @ X + n * alpha * (1 - l1_ratio) * np.eye(p))
    b = np.linalg.solve(L, X.T @ y - n * alpha * l1_ratio * np.ones(p))
    return nnls(L.T, b, maxiter=50 * p)[0]


def test_positive_fits_stay_nonnegative_with_the_plain_fallback():
    X, y = _ill_conditioned(1, n=100, p=40)
    for sparse in (False, True):
        for l1_ratio in (0.0, 0.5):
            alpha = 1e-3
            m = _fit(sp.csc_matrix(X) if sparse else X, y, alpha=alpha, l1_ratio=l1_ratio, positive=True,
                     max_iter=50_000)  # fmt: skip
            assert np.min(m.coef_) >= 0.0
            ref = _positive_enet_reference(X, y, alpha, l1_ratio)
            assert 5 < np.count_nonzero(ref) < 40  # the constraint is active
            f, f_ref = _objective(X, y, m.coef_, alpha, l1_ratio), _objective(X, y, ref, alpha, l1_ratio)
            assert f - f_ref <= 1e-6 * f_ref


def test_anderson_candidates():
    from optlib.linear_model._cd_numba import anderson_candidates

    # iterates x_k = x* + 0.6^k d: coordinate 1 is positive along the way, its limit negative
    x_star, d = np.array([1.0, -0.05, 0.0, 0.3]), np.array([1.0, 1.0, 0.0, -0.2])
    hist = np.array([x_star + 0.6**k * d for k in range(6)])
    # an l1 part: the orthant of the last iterate first, then the plain point
    first, second, n_cand = anderson_candidates(hist, 4, 1.0, False)
    assert n_cand == 2
    np.testing.assert_allclose(first, [1.0, 0.0, 0.0, 0.3], atol=1e-6)
    np.testing.assert_allclose(second, x_star, atol=1e-6)
    # ridge: a zero coefficient is not special, the plain point only
    first, _, n_cand = anderson_candidates(hist, 4, 0.0, False)
    assert n_cand == 1
    np.testing.assert_allclose(first, x_star, atol=1e-6)
    # positive (with or without an l1 part): both candidates nonnegative
    for alpha1 in (0.0, 1.0):
        first, second, n_cand = anderson_candidates(hist, 4, alpha1, True)
        assert n_cand == 1  # the clipped plain point is on the orthant here
        np.testing.assert_allclose(first, [1.0, 0.0, 0.0, 0.3], atol=1e-6)
    # a point already on the orthant: tried once
    first, _, n_cand = anderson_candidates(hist[:, [0, 3]], 2, 1.0, False)
    assert n_cand == 1
    np.testing.assert_allclose(first, [1.0, 0.3], atol=1e-6)
    # no change between the iterates: nothing to try
    assert anderson_candidates(np.ones((6, 3)), 3, 1.0, False)[2] == 0
