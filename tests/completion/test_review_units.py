"""Review of the completion family's units (extreme magnitudes) and robust_altmin's stopping rule."""

import warnings

import numpy as np
import pytest

from optlib.completion import LowRankImputer, robust_altmin, soft_impute
from optlib.completion._altmin import row_factors
from optlib.completion._observations import check_observations
from tests.conftest import to_numpy


def _low_rank(m, n, k, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((m, k)) @ rng.standard_normal((k, n))
    return M / np.abs(M).max(), rng  # largest |value| 1: solved as given at unit scale


@pytest.mark.parametrize("robust", [False, True])
@pytest.mark.parametrize("scale", [2.0**600, 2.0**1000, 2.0**-1000])
def test_imputer_transform_in_any_units(scale, robust):
    """transform's row solves ran in the user's units: at 2**1000 the normal equations overflowed (NaN rows),
    at 2**-1000 they lost the data under the diagonal shift (max error 0.82), robust at 2**600 the Huber floor
    (RMS of the values) overflowed."""
    M, rng = _low_rank(80, 30, 3)
    X = np.where(rng.random(M.shape) < 0.3, np.nan, M)
    ref = LowRankImputer(3, robust=robust, random_state=0).fit(X[:60])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow on the way
        imp = LowRankImputer(3, robust=robust, random_state=0).fit(X[:60] * scale)
        T = imp.transform(X[60:] * scale)
    assert imp.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(T / scale, ref.transform(X[60:]), rtol=1e-10, atol=1e-12)


def test_row_factors_with_orthonormal_components():
    """Soft-Impute's components are orthonormal whatever the data's units: V is put in its own units."""
    M, rng = _low_rank(50, 20, 2)
    Q, _ = np.linalg.qr(np.linalg.svd(M)[2][:2].T)
    rows, cols = np.nonzero(rng.random(M.shape) < 0.6)
    scale = 2.0**-1000
    U_ref = row_factors(check_observations((rows, cols, M[rows, cols]), M.shape, host=True), Q, 0.0)
    U = row_factors(check_observations((rows, cols, M[rows, cols] * scale), M.shape, host=True), Q, 0.0)
    np.testing.assert_allclose(U / scale, U_ref, rtol=1e-12, atol=1e-14)


def test_soft_impute_shrinkage_past_the_data():
    """A shrinkage above every singular value on tiny data: OverflowError ("math range error") converting it to
    the solver's units; at any scale the zero iterate then never converged (a relative change of inf)."""
    M, rng = _low_rank(40, 30, 2)
    rows, cols = np.nonzero(rng.random(M.shape) < 0.6)
    for scale, shrinkage in ((1e-300, 1e10), (1.0, 1e3)):
        res = soft_impute((rows, cols, M[rows, cols] * scale), 2, shape=M.shape, shrinkage=shrinkage,
                          random_state=0)
        assert res.success and res.nit == 1
        assert res.shrinkage == shrinkage and np.all(res.U == 0) and np.isfinite(res.fun)


@pytest.mark.parametrize("engine", ["numba", "xp"])
def test_altmin_ridge_past_the_data(engine):
    """alpha overflowing the solver's units became inf: fun NaN (numba) or NaN factors, success=False (xp)."""
    M, rng = _low_rank(40, 30, 2)
    rows, cols = np.nonzero(rng.random(M.shape) < 0.6)
    res = robust_altmin((rows, cols, M[rows, cols] * 1e-300), 2, shape=M.shape, alpha=1e300, engine=engine,
                        random_state=0)
    assert res.success and np.all(res.U == 0) and np.all(res.V == 0) and res.fun == 0.0


def _float32_fit(xp, noise, seed):
    M, rng = _low_rank(70, 60, 3, seed)
    rows, cols = np.nonzero(rng.random(M.shape) < 0.4)
    values = M[rows, cols] + noise * rng.standard_normal(rows.size)
    data = (xp.asarray(rows), xp.asarray(cols), xp.asarray(values.astype(np.float32)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning
        res = robust_altmin(data, 3, shape=M.shape, random_state=0)
    U, V = (to_numpy(F).astype(np.float64) for F in (res.U, res.V))
    return res, np.linalg.norm(U @ V.T - M) / np.linalg.norm(M)


@pytest.mark.parametrize("noise", [1e-5, 1e-4])
def test_float32_noisy_data_settles(xp, noise):
    """float32 residuals computed in float32 (array-API path) fluctuate by ~eps / sqrt(|Omega|) per pass: on
    noisy data they never changed by less than tol = 1e-7 relative (100 passes, success=False)."""
    res, err = _float32_fit(xp, noise, seed=0)
    assert res.success and res.nit <= 20 and res.U.dtype == xp.float32
    assert err < 5 * noise


def test_float32_numba_accuracy_kept():
    """A 4 eps floor on tol (4.8e-7) stopped the numba float32 path early: errors 4e-7 to 7e-7 instead of 8e-8.

    The fit stops once its residual is under eps of float32 (1.2e-7): errors up to ~1.5 eps are that resolution
    (4e-8 to 2.1e-7 over seeds 0-5), the early stop gave 4 to 6 eps."""
    for seed in range(3):
        res, err = _float32_fit(np, 0.0, seed)
        assert res.success and err < 2.5e-7, (seed, err)


@pytest.mark.parametrize("engine", ["numba", "xp"])
@pytest.mark.parametrize("big", [20.0, 1e3, 1e100, 1e250])
def test_robust_gross_outliers_of_any_size(big, engine):
    """2% outliers at +-big on an exact rank-3 matrix. The second trim's cut was 3 s.d. of the rounding errors of
    the first fit: it dropped inliers at random, whole lines were restored with their outliers, and the fit ended
    at errors 1e-7 (big=20), 5e2 (1e3); past 1e100 the units and the floor came from the outliers: the inliers
    fell under the floor (or underflowed) and a zero fit was returned with success=True."""
    M, rng = _low_rank(60, 50, 3)
    rows, cols = np.nonzero(rng.random(M.shape) < 0.5)
    values = M[rows, cols]
    out = rng.choice(values.size, 30, replace=False)
    values[out] = big * rng.choice([-1.0, 1.0], out.size)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow, no ConvergenceWarning
        res = robust_altmin((rows, cols, values), 3, shape=M.shape, robust=True, engine=engine, random_state=0)
    assert res.success
    assert np.linalg.norm(res.U @ res.V.T - M) / np.linalg.norm(M) < 1e-11
    np.testing.assert_array_equal(np.flatnonzero(res.outliers), np.sort(out))


def test_scale_of_values_near_the_float64_limit():
    """The RMS of the observed values overflowed to inf (a RuntimeWarning) for values past ~1e154."""
    obs = check_observations((np.array([0, 1]), np.array([0, 1]), np.array([1e300, -1e300])), (2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert obs.scale() == pytest.approx(1e300, rel=1e-15)


@pytest.mark.parametrize("big", [1e3, 1e20, 1e250])
def test_robust_transform_with_one_gross_outlier_per_row(big):
    """The Huber floor of the row solves came from the RMS of all values, outliers included, and the refits
    started from the plain fit: imputed entries off by 1e-6 (big=1e3), 3.6e6 (1e20), 2e236 (1e250)."""
    M, rng = _low_rank(80, 30, 3)
    X = np.where(rng.random(M.shape) < 0.3, np.nan, M)
    imp = LowRankImputer(3, robust=True, random_state=0).fit(X[:60])
    Y = X[60:].copy()
    first = np.argmax(~np.isnan(Y), axis=1)
    Y[np.arange(Y.shape[0]), first] = big
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        T = imp.transform(Y)
    missing = np.isnan(Y)
    np.testing.assert_allclose(T[missing], M[60:][missing], atol=1e-9)
