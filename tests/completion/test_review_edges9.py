"""Review of edge regimes of robust_pca, LowRankImputer and soft_impute: extreme units, penalties and inputs."""

import warnings

import numpy as np
import pytest

from optlib import ConvergenceWarning
from optlib.completion import LowRankImputer, robust_pca, soft_impute
from optlib.completion._observations import scale_by_power_of_two


def _low_rank(m, n, k, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((m, k)) @ rng.standard_normal((k, n))
    return M / np.abs(M).max(), rng  # largest |value| 1


@pytest.mark.parametrize(("scale", "mu"), [(1e300, 1e300), (1e-300, 1e-300), (1.0, 1e-320)])
def test_robust_pca_mu_out_of_range_in_units(scale, mu):
    """A mu past the float range in the solver's units (1e300 for data at 1e300 is 2**996 * 1e300 there) was
    taken as inf: the first step's Y = inf * 0 = NaN, and "success" with L = 0 (relative error 1)."""
    D, _ = _low_rank(30, 30, 2)
    with pytest.raises(ValueError, match=r"mu=.*of the order of 1 / \|\|D\|\|_2"):
        robust_pca(D * scale, mu=mu)


def test_robust_pca_mu_in_float32_range():
    """float32 data: mu is checked against float32's range (1e39 overflowed the cast to inf, then NaN)."""
    D, _ = _low_rank(20, 20, 2)
    with pytest.raises(ValueError, match="mu=1e"):
        robust_pca(D.astype(np.float32), mu=1e39)


def test_robust_pca_user_mu_in_units_matches_unit_scale():
    """An ordinary user mu (of the order of 1 / ||D||) at 1e300 is the unit-scale problem's mu / 1e300."""
    D, _ = _low_rank(30, 30, 2)
    scale = 2.0**996
    ref = robust_pca(D, mu=0.5)
    res = robust_pca(D * scale, mu=0.5 / scale)
    assert res.success and res.nit == ref.nit
    np.testing.assert_allclose(res.L / scale, ref.L, rtol=1e-12, atol=1e-15)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the step that overflows
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_robust_pca_non_finite_step_stops_with_numerical_status():
    """float32 data near 1e9 (not rescaled), a large mu and lam: mu R overflowed float32 after 33 steps; the
    inf then reached the SVD (LinAlgError, or a LAPACK hang on inf). Now: the last finite iterate, success
    False, STATUS_NUMERICAL and a ConvergenceWarning."""
    D, _ = _low_rank(30, 30, 2)
    D = (D * 1e9).astype(np.float32)
    with pytest.warns(ConvergenceWarning, match="non-finite.*last finite iterate"):
        res = robust_pca(D, mu=1e30, lam=1e40, tol=0.0, max_iter=50)
    assert not res.success and res.status == 3 and 1 < res.nit < 50
    assert res.L.dtype == np.float32
    assert np.isfinite(res.L).all() and np.isfinite(res.S).all() and np.isfinite(res.Y).all()
    assert np.linalg.norm(res.L - D) / np.linalg.norm(D) < 1e-6


def test_robust_pca_all_zero_data():
    """All-zero D: the default mu = 1.25 / ||D||_2 divided by zero (ZeroDivisionError)."""
    res = robust_pca(np.zeros((6, 5)))
    assert res.success and res.rank == 0 and res.fun == 0.0
    assert not res.L.any() and not res.S.any()


def _imputer_problem():
    M, rng = _low_rank(40, 30, 2)
    M *= 0.84  # solved as given: the units of M * 2**1024 (max 1.5e308) and M * 2**-1020 bring it back to M
    X = np.where(rng.random(M.shape) < 0.2, np.nan, M)
    X_new = X.copy()
    X_new[3] = np.nan  # a row without any observed entry: imputed by mean_
    return X, X_new


@pytest.mark.parametrize("method", ["altmin", "soft_impute"])
@pytest.mark.parametrize("e", [1024, -1020])
def test_imputer_in_any_units(method, e):
    """Column sums of values near 1.5e308 overflowed: mean_ inf, and the empty row imputed as inf. Near 3e-308
    the values under 2**-1022 are subnormal (fewer digits): agreement to 1e-13 of the largest."""
    X, X_new = _imputer_problem()
    ref = LowRankImputer(2, method=method, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        imp = LowRankImputer(2, method=method, random_state=0).fit(scale_by_power_of_two(X, e))
        T = imp.transform(scale_by_power_of_two(X_new, e))
    assert imp.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(scale_by_power_of_two(imp.mean_, -e), ref.mean_, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(scale_by_power_of_two(T, -e), ref.transform(X_new), rtol=1e-10, atol=1e-12)


def test_soft_impute_left_factor_past_the_largest_float():
    """U carries the singular values (the documented contract; V is orthonormal, LowRankImputer's components_):
    near 1.5e308 they pass the largest float while U V^T's entries do not. U was inf with only NumPy's overflow
    warning; now a RuntimeWarning says so and how to avoid it, V is exact, and just under it no warning."""
    X, _ = _imputer_problem()
    rows, cols = np.nonzero(~np.isnan(X))
    ref = soft_impute((rows, cols, X[rows, cols]), 2, shape=X.shape, random_state=0)
    with pytest.warns(RuntimeWarning, match=r"soft_impute: U .* overflows float64.*Divide the data by 2\*\*1 "):
        res = soft_impute((rows, cols, scale_by_power_of_two(X[rows, cols], 1024)), 2, shape=X.shape,
                          random_state=0)
    assert res.success and res.nit == ref.nit and np.isinf(res.U).any()
    np.testing.assert_array_equal(res.V, ref.V)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = soft_impute((rows, cols, scale_by_power_of_two(X[rows, cols], 1022)), 2, shape=X.shape,
                          random_state=0)
    np.testing.assert_array_equal(scale_by_power_of_two(res.U, -1022), ref.U)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_edges_on_array_api(xp):
    """The mu check, the numerical stop, all-zero data and soft_impute's overflow warning on any namespace and
    device (array_api_strict on a non-default one)."""
    D, rng = _low_rank(30, 30, 2)
    with pytest.raises(ValueError, match="mu=1e"):
        robust_pca(xp.asarray(D * 1e300), mu=1e300)
    res = robust_pca(xp.zeros((5, 4), dtype=xp.float64))
    assert res.success and res.rank == 0
    with pytest.warns(ConvergenceWarning, match="non-finite"):
        res = robust_pca(xp.asarray((D * 1e9).astype(np.float32)), mu=1e30, lam=1e40, tol=0.0, max_iter=50)
    assert res.status == 3 and res.L.dtype == xp.float32 and bool(xp.all(xp.isfinite(res.Y)))
    rows, cols = np.nonzero(rng.random(D.shape) < 0.6)
    values = scale_by_power_of_two(0.84 * D[rows, cols], 1024)
    with pytest.warns(RuntimeWarning, match="soft_impute: U "):
        res = soft_impute((xp.asarray(rows), xp.asarray(cols), xp.asarray(values)), 2, shape=D.shape,
                          random_state=0)
    assert res.success and bool(xp.all(xp.isfinite(res.V)))
