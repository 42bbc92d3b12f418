"""Tests of SUnSAL (sparse unmixing with a library by ADMM): references, constraints, devices, bad input."""

import warnings

import numpy as np
import pytest
from scipy.optimize import minimize

from optlib import ConvergenceWarning
from optlib.hyperspectral import fcls, sunsal
from tests.conftest import to_numpy


def _library_problem(seed=0, n=12, m=25, L=40, noise=0.01):
    rng = np.random.default_rng(seed)
    D = rng.random((m, L)) + 0.2  # coherent nonnegative library
    X = np.zeros((n, m))
    X[:, :3] = rng.dirichlet(np.ones(3), size=n)
    return D, X @ D + noise * rng.standard_normal((n, L))


def _lbfgsb_reference(Y, D, lam):
    """Per-pixel ``min 1/2 ||y - D^T a||^2 + lam sum(a)`` over ``a >= 0`` by L-BFGS-B (tight tolerances)."""
    G = D @ D.T
    out = []
    for y in Y:
        b = D @ y
        res = minimize(lambda a: 0.5 * a @ G @ a - b @ a + lam * a.sum(), np.zeros(D.shape[0]),
                       jac=lambda a: G @ a - b + lam, bounds=[(0, None)] * D.shape[0], method="L-BFGS-B",
                       options={"ftol": 1e-16, "gtol": 1e-12, "maxiter": 20000})
        out.append(res.x)
    return np.array(out)


def test_nonnegative_lasso_matches_lbfgsb():
    D, Y = _library_problem()
    res = sunsal(Y, D, lam=0.01, tol=1e-8, max_iter=20000)
    assert res.success
    ref = _lbfgsb_reference(Y, D, 0.01)
    np.testing.assert_allclose(res.x, ref, atol=1e-5)
    assert np.all(res.x >= 0)
    value = 0.5 * np.sum((Y - ref @ D) ** 2) + 0.01 * ref.sum()
    assert res.fun == pytest.approx(value, rel=1e-7)


def test_sum_to_one_without_penalty_is_fcls():
    rng = np.random.default_rng(1)
    E = rng.random((5, 30))
    Y = rng.dirichlet(np.ones(5), size=20) @ E + 0.02 * rng.standard_normal((20, 30))
    res = sunsal(Y, E, sum_to_one=True, tol=1e-9, max_iter=20000)
    np.testing.assert_allclose(res.x, fcls(Y, E), atol=1e-6)
    np.testing.assert_allclose(res.x.sum(axis=1), 1.0, atol=1e-6)


def test_plain_l1_without_nonnegativity_matches_proxgrad():
    from optlib.functions import L1, LeastSquares
    from optlib.optimize import proxgrad

    D, Y = _library_problem(seed=2, n=1, m=15)
    y = Y[0]
    res = sunsal(y, D, lam=0.05, nonnegative=False, tol=1e-9, max_iter=20000)
    ref = proxgrad(LeastSquares(D.T, y), L1(0.05), np.zeros(15), tol=1e-12, max_iter=100000).x
    assert res.x.shape == (15,)
    np.testing.assert_allclose(res.x, ref, atol=1e-6)


def test_cube_layout_history_and_float32():
    D, Y = _library_problem(seed=3, n=12)
    cube = Y.reshape(3, 4, -1).astype(np.float32)
    res = sunsal(cube, D, lam=0.01, history=True, max_iter=300)
    assert res.x.shape == (3, 4, D.shape[0]) and res.x.dtype == np.float32
    assert len(res.history["objective"]) == res.nit
    assert cube.dtype == np.float32 and np.array_equal(cube, Y.reshape(3, 4, -1).astype(np.float32))  # not modified


def test_array_api_path_on_the_input_device(xp):
    D, Y = _library_problem(seed=4, n=6)
    Yx = xp.asarray(Y)
    res = sunsal(Yx, D, lam=0.01, sum_to_one=True, tol=1e-6, max_iter=2000)
    assert res.x.device == Yx.device and res.x.dtype == Yx.dtype
    np.testing.assert_allclose(to_numpy(res.x), sunsal(Y, D, lam=0.01, sum_to_one=True, tol=1e-6,
                                                       max_iter=2000).x, atol=1e-10)
    with pytest.warns(ConvergenceWarning):  # host x0 moved to Y's device
        start = sunsal(Yx, D, lam=0.01, x0=np.full((6, D.shape[0]), 0.1), max_iter=5)
    assert start.x.device == Yx.device


def test_max_iter_warns():
    D, Y = _library_problem(seed=5)
    with pytest.warns(ConvergenceWarning):
        res = sunsal(Y, D, lam=0.01, max_iter=3)
    assert not res.success and np.all(res.x >= 0)


def test_bad_input():
    D, Y = _library_problem(seed=6)
    with pytest.raises(ValueError, match="bands"):
        sunsal(Y[:, :-1], D)
    with pytest.raises(ValueError, match="lam"):
        sunsal(Y, D, lam=-1.0)
    Y_nan = Y.copy()
    Y_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="Y"):
        sunsal(Y_nan, D)
    with pytest.raises(ValueError, match="x0"):
        sunsal(Y, D, x0=np.zeros((3, 3)))


def test_spectral_unmixing_sunsal_method():
    from optlib.hyperspectral import SpectralUnmixing

    D, Y = _library_problem(seed=7)
    est = SpectralUnmixing(endmembers=D, method="sunsal", lam=0.01).fit(Y)
    np.testing.assert_allclose(est.transform(Y), sunsal(Y, D, lam=0.01).x)
    with pytest.raises(ValueError, match="lam"):
        SpectralUnmixing(endmembers=D, method="sunsal", lam=-1.0).fit(Y)


def test_sum_to_one_and_nonnegative_is_fcls_for_any_lam():
    # the l1 norm is 1 on the simplex: a huge lam must not push the abundances to zero
    rng = np.random.default_rng(5)
    E = rng.random((4, 20))
    Y = rng.dirichlet(np.ones(4), 30) @ E + 0.01 * rng.standard_normal((30, 20))
    res = sunsal(Y, E, lam=1e6, sum_to_one=True, tol=1e-8, max_iter=3000)
    assert res.success
    np.testing.assert_allclose(res.x, fcls(Y, E), atol=1e-5)
    base = sunsal(Y, E, lam=0.0, sum_to_one=True, tol=1e-8, max_iter=3000)
    assert res.fun == pytest.approx(base.fun + 1e6 * 30, rel=1e-9)


@pytest.mark.parametrize("nonnegative", [True, False])
def test_lam_above_the_zero_threshold_returns_zero_and_success(nonnegative):
    D, Y = _library_problem(seed=7)
    B = Y @ D.T
    lam_max = B.max() if nonnegative else np.abs(B).max()  # X = 0 is optimal from here on
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # it used to run to max_iter: ||x - z|| / ||x|| stays 1 at z = 0
        res = sunsal(Y, D, lam=1.01 * lam_max, nonnegative=nonnegative, max_iter=200)
    assert res.success and res.nit == 0
    np.testing.assert_array_equal(res.x, 0.0)
    assert res.fun == pytest.approx(0.5 * np.sum(Y**2))
    assert np.abs(sunsal(Y, D, lam=0.9 * lam_max, nonnegative=nonnegative, max_iter=5000).x).max() > 0
