"""Tests of optlib.optimize admm, pnp_admm, csalsa, pnp_pgd and red."""

import warnings

import numpy as np
import pytest

from optlib import ConvergenceWarning
from optlib._backend import device
from optlib.functions import L1, L2, TV1D, LeastSquares, Magnitude
from optlib.linop import (
    CircularConvolution,
    GaussianSensing,
    Mask,
    MatrixOperator,
    OperatorLeastSquares,
    SubsampledFourier,
    uniform_psf,
)
from optlib.optimize import admm, csalsa, pnp_admm, pnp_pgd, proxgrad, red
from tests.conftest import to_numpy


@pytest.fixture(scope="module")
def lasso():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((30, 50))
    b = rng.standard_normal(30)
    ref = proxgrad(LeastSquares(M, b), L1(0.5), np.zeros(50), tol=1e-12, max_iter=20000)
    assert ref.success
    return M, b, ref.x


@pytest.fixture(scope="module")
def blur1d():
    """1-D circular blur of a piecewise-constant signal (TV1D's prox is exact)."""
    rng = np.random.default_rng(1)
    x = np.repeat([0.0, 1.0, 0.3, 0.8], 16)
    A = CircularConvolution(uniform_psf(5, ndim=1), x.shape)
    y = A(x) + 0.02 * rng.standard_normal(x.shape)
    ref = proxgrad(OperatorLeastSquares(A, y), TV1D(0.05), A.adjoint(y), tol=1e-12, max_iter=20000)
    assert ref.success
    return A, y, ref.x


def test_admm_lasso_matches_proxgrad(lasso):
    M, b, ref = lasso
    res = admm(LeastSquares(M, b), L1(0.5), np.zeros(50), tol=1e-10, max_iter=5000)
    assert res.success
    np.testing.assert_allclose(res.x, ref, atol=1e-6)
    np.testing.assert_allclose(res.z, ref, atol=1e-6)


def test_admm_zero_solution_converges_with_atol(lasso):
    """Above the l1 zero threshold the solution is z = 0: the relative primal test stays at 1, atol ends it."""
    M, b, _ = lasso
    lam = 1.5 * np.max(np.abs(M.T @ b))
    with pytest.warns(ConvergenceWarning):
        assert not admm(LeastSquares(M, b), L1(lam), np.zeros(50), rho=50.0, tol=1e-8, max_iter=300).success
    res = admm(LeastSquares(M, b), L1(lam), np.zeros(50), rho=50.0, tol=1e-8, atol=1e-10, max_iter=300)
    assert res.success
    np.testing.assert_array_equal(res.z, 0.0)
    np.testing.assert_allclose(res.x, 0.0, atol=1e-10)
    with pytest.raises(ValueError, match="atol"):
        admm(LeastSquares(M, b), L1(lam), np.zeros(50), atol=-1.0)


def test_admm_cg_x_update_with_splitting_operator(lasso):
    """z = C x with C = 2 I (no exact solve): CG x-update, same minimiser with g = L1(lam / 2)."""
    M, b, ref = lasso
    C = 2.0 * MatrixOperator(np.eye(50))
    res = admm(OperatorLeastSquares(MatrixOperator(M), b), L1(0.25), np.zeros(50), C=C, rho=4.0, tol=1e-9,
               max_iter=5000, cg_max_iter=20, cg_tol=1e-10)
    assert res.success
    np.testing.assert_allclose(res.x, ref, atol=1e-6)


def test_admm_prox_only_f():
    """f = 1/2||x - v||^2 through its prox (L2-type), g = L1: soft thresholding of v."""

    class HalfSquaredDistance(L2):
        def __init__(self, v):
            self.v = v

        def __call__(self, x):
            return 0.5 * float(np.sum((x - self.v) ** 2))

        def prox(self, w, step=1.0):
            return (w + step * self.v) / (1.0 + step)

    v = np.array([3.0, -0.2, 0.7, -2.0])
    res = admm(HalfSquaredDistance(v), L1(0.5), np.zeros(4), tol=1e-12, max_iter=2000)
    np.testing.assert_allclose(res.x, np.sign(v) * np.maximum(np.abs(v) - 0.5, 0), atol=1e-8)


def test_pnp_admm_function_prior_reaches_variational_solution(blur1d):
    A, y, ref = blur1d
    res = pnp_admm(y, A, TV1D(1.0), lam=0.05, rho=0.5, tol=1e-10, max_iter=5000, history=True)
    assert res.success
    np.testing.assert_allclose(res.x, ref, atol=1e-6)
    assert res.fun == pytest.approx(OperatorLeastSquares(A, y)(ref) + TV1D(0.05)(ref), rel=1e-8)
    assert {"primal_residual", "dual_residual", "objective", "rho"} <= set(res.history.keys())


def test_pnp_admm_callable_denoiser_gets_sigma_explicitly(blur1d):
    """A callable wrapping the exact prox gives the same result, with sigma = sqrt(lam / rho)."""
    A, y, ref = blur1d
    seen = []

    def denoiser(x, sigma):
        seen.append(sigma)
        return TV1D(1.0).prox(x, sigma**2)

    res = pnp_admm(y, A, denoiser, lam=0.05, rho=0.5, tol=1e-10, max_iter=5000)
    np.testing.assert_allclose(res.x, ref, atol=1e-6)
    assert seen[0] == pytest.approx(np.sqrt(0.05 / 0.5))
    res_sigma = pnp_admm(y, A, denoiser, sigma=np.sqrt(0.1), rho=0.5, tol=1e-10, max_iter=5000)
    np.testing.assert_allclose(res_sigma.x, ref, atol=1e-6)
    assert res.fun is None


def test_rho_continuation(blur1d):
    A, y, ref = blur1d
    res = pnp_admm(y, A, TV1D(1.0), lam=0.05, rho=0.05, rho_factor=1.2, rho_max=2.0, tol=1e-10,
                   max_iter=5000, history=True)
    assert res.rho == pytest.approx(2.0)
    rhos = res.history["rho"]
    assert rhos[0] == pytest.approx(0.05) and rhos[1] == pytest.approx(0.06)
    np.testing.assert_allclose(res.x, ref, atol=1e-6)


def test_pnp_admm_cg_path_equals_exact_path():
    rng = np.random.default_rng(2)
    op = GaussianSensing(20, (40,), random_state=0)
    y = rng.standard_normal(20)
    exact = pnp_admm(y, op, L1(0.1), rho=0.3, tol=1e-9, max_iter=3000)
    composed = MatrixOperator(op.matrix) @ MatrixOperator(np.eye(40))
    assert not composed.has_normal_solve
    cg = pnp_admm(y, composed, L1(0.1), rho=0.3, tol=1e-9, max_iter=3000, cg_max_iter=30, cg_tol=1e-12)
    assert exact.success and cg.success
    np.testing.assert_allclose(cg.x, exact.x, atol=1e-6)


def test_pnp_admm_device_and_float32(xp):
    rng = np.random.default_rng(3)
    mask_host = rng.random((8, 8)) > 0.3
    A = Mask(xp.asarray(mask_host))
    x_true = rng.standard_normal((8, 8))
    y = xp.asarray(mask_host * x_true, dtype=xp.float32)
    res = pnp_admm(y, A, L1(1.0), lam=0.1, tol=1e-6, max_iter=500)
    assert res.x.dtype == xp.float32
    assert device(res.x) == device(y)
    expected = np.where(mask_host, np.sign(x_true) * np.maximum(np.abs(x_true) - 0.1, 0), 0.0)
    np.testing.assert_allclose(to_numpy(res.x), expected, atol=1e-4)


def test_callback_receives_copies_and_can_stop(blur1d):
    A, y, _ = blur1d
    stored = []

    def callback(r):
        stored.append(r.x)
        if r.nit == 3:
            raise StopIteration

    res = pnp_admm(y, A, TV1D(1.0), lam=0.05, callback=callback)
    assert res.status == 2 and res.nit == 3 and len(stored) == 3
    assert not np.shares_memory(stored[-1], res.x)
    assert not np.allclose(stored[0], stored[1])


def test_non_convergence_warns(blur1d):
    A, y, _ = blur1d
    with pytest.warns(ConvergenceWarning, match="admm"):
        res = pnp_admm(y, A, TV1D(1.0), lam=0.05, max_iter=3, tol=1e-12)
    assert not res.success and res.nit == 3


def test_non_convergence_warning_says_the_last_iterate_is_returned(blur1d):
    A, y, _ = blur1d
    with pytest.warns(ConvergenceWarning, match="Returning the last iterate"):
        pnp_admm(y, A, TV1D(0.05), rho=1.0, max_iter=2, tol=1e-12)


def test_csalsa_feasible_and_matches_penalized_problem(blur1d):
    """min TV(x) s.t. ||Ax - y|| <= eps has the solution of the penalised problem whose residual is eps."""
    A, y, ref = blur1d
    eps = float(np.linalg.norm(A(ref) - y))
    res = csalsa(y, A, TV1D(1.0), eps, kappa=1.0, mu=20.0, tol=1e-9, max_iter=20000)
    assert res.success
    assert res.residual_norm <= eps * (1 + 1e-4)
    np.testing.assert_allclose(res.x, ref, atol=1e-4)


def test_csalsa_complex_magnitude_prior_spec_options():
    """Complex unknowns, l1 on the magnitude, CG x-update, the paper's stopping rule."""
    rng = np.random.default_rng(4)
    n = 60
    x_true = np.zeros(n, complex)
    x_true[[5, 17, 40]] = [1.0, 0.5j, -0.8 + 0.3j]
    A = GaussianSensing(40, n, complex=True, random_state=1) @ MatrixOperator(np.eye(n))  # no exact solve
    noise = 0.01 * (rng.standard_normal(40) + 1j * rng.standard_normal(40)) / np.sqrt(2)
    y = A(x_true) + noise
    eps = float(np.linalg.norm(noise))
    res = csalsa(y, A, Magnitude(L1(1.0)), eps, kappa=1.0, mu=10.0, stop="magnitude_change", tol=1e-5,
                 max_iter=3000)
    assert res.success
    assert res.residual_norm <= eps * 1.05
    assert np.linalg.norm(res.x - x_true) / np.linalg.norm(x_true) < 0.1
    assert np.iscomplexobj(res.x)


def test_csalsa_callable_prior_needs_sigma(blur1d):
    A, y, _ = blur1d
    with pytest.raises(ValueError, match="sigma"):
        csalsa(y, A, lambda x, s: x, 1.0)
    with pytest.warns(ConvergenceWarning):
        res = csalsa(y, A, lambda x, s: TV1D(1.0).prox(x, s), 0.5, sigma=0.05, max_iter=5)
    assert res.x.shape == y.shape


def test_pnp_pgd_matches_proxgrad(blur1d):
    A, y, ref = blur1d
    res = pnp_pgd(y, A, TV1D(1.0), lam=0.05, tol=1e-12, max_iter=20000)
    assert res.success
    np.testing.assert_allclose(res.x, ref, atol=1e-6)
    ista = pnp_pgd(y, A, lambda x, s: TV1D(1.0).prox(x, s**2), lam=0.05, method="pgd", tol=1e-12,
                   max_iter=50000)
    np.testing.assert_allclose(ista.x, ref, atol=1e-5)


def test_red_fixed_point_of_linear_denoiser():
    """With D = W (symmetric smoothing), RED solves (A^H A + lam (I - W)) x = A^H y."""
    rng = np.random.default_rng(5)
    n = 32
    A = Mask(rng.random(n) > 0.4)
    W = CircularConvolution(np.array([0.25, 0.5, 0.25]), (n,))
    y = A(rng.standard_normal(n))
    lam = 0.7
    res = red(y, A, lambda x, s: W(x), lam=lam, sigma=0.1, tol=1e-10, max_iter=20000)
    assert res.success
    N = np.diag(A.mask.astype(float)) + lam * (np.eye(n) - np.array([W(e) for e in np.eye(n)]).T)
    np.testing.assert_allclose(res.x, np.linalg.solve(N, A.adjoint(y)), atol=1e-7)


def test_bad_inputs(blur1d):
    A, y, _ = blur1d
    with pytest.raises(ValueError, match="rho"):
        pnp_admm(y, A, TV1D(1.0), rho=-1.0)
    with pytest.raises(ValueError, match="sigma"):
        pnp_admm(y, A, lambda x, s: x, sigma=-0.1)
    with pytest.raises(ValueError, match="lam or sigma"):
        pnp_admm(y, A, lambda x, s: x)
    with pytest.raises(ValueError, match="eps"):
        csalsa(y, A, TV1D(1.0), -1.0)
    with pytest.raises(ValueError, match="NaN"):
        pnp_admm(np.full_like(y, np.nan), A, TV1D(1.0))
    with pytest.raises(ValueError, match="y has shape"):
        pnp_admm(y[:-1], A, TV1D(1.0))
    with pytest.raises(TypeError, match="denoiser"):
        pnp_admm(y, A, "tv", lam=1.0)
    with pytest.raises(ValueError, match="returned shape"):
        pnp_admm(y, A, lambda x, s: x[:-1], lam=1.0)
    with pytest.raises(TypeError, match="LinearOperator"):
        pnp_admm(y, np.eye(y.size), TV1D(1.0))

    class RealOnly(MatrixOperator):
        real_only = True

    with pytest.raises(TypeError, match="real arrays only"):
        pnp_admm(np.ones(3, complex), RealOnly(np.eye(3)), L1(1.0))
    with pytest.raises(TypeError, match="complex"):  # a real-only prior refuses complex unknowns
        pnp_admm(np.ones(8, complex), SubsampledFourier(np.ones(8, bool)), TV1D(1.0), max_iter=2)


def test_inputs_not_modified(blur1d):
    A, y, _ = blur1d
    y0 = y.copy()
    x0 = np.zeros_like(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pnp_admm(y, A, TV1D(1.0), lam=0.05, x0=x0, max_iter=5)
        csalsa(y, A, TV1D(1.0), 0.5, x0=x0, max_iter=5)
        red(y, A, lambda x, s: x, lam=0.1, sigma=0.1, x0=x0, max_iter=5)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(x0, 0.0)


def test_float32_observations_give_float32_solution_whatever_x0(blur1d):
    # the start's dtype (float64, int, list) does not promote a float32 problem
    A, y, _ = blur1d
    y32 = y.astype(np.float32)
    starts = (np.zeros(y.shape), np.zeros(y.shape, dtype=int), [0.0] * y.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for x0 in starts:
            assert pnp_admm(y32, A, TV1D(1.0), lam=0.05, x0=x0, max_iter=2).x.dtype == np.float32
            assert csalsa(y32, A, TV1D(1.0), 0.5, x0=x0, max_iter=2).x.dtype == np.float32
            assert pnp_pgd(y32, A, TV1D(1.0), lam=0.05, x0=x0, max_iter=2).x.dtype == np.float32
            assert red(y32, A, lambda v, s: v, lam=0.1, sigma=0.1, x0=x0, max_iter=2).x.dtype == np.float32
        # a complex start keeps the problem's precision and its own kind
        x0c = np.zeros(y.shape, dtype=np.complex128)
        assert pnp_admm(y32, A, L1(0.1), x0=x0c, max_iter=2).x.dtype == np.complex64


def test_red_records_every_iteration_and_callback_sees_reported_x(blur1d):
    A, y, _ = blur1d
    seen = []

    def callback(res):
        seen.append((res.nit, res.x, res.residual))

    res = red(y, A, lambda v, s: 0.5 * v, lam=0.5, sigma=0.1, tol=1e-3, max_iter=500,
              history=True, callback=callback)
    assert res.success
    assert len(res.history) == res.nit == len(seen)  # the converged iteration is recorded too
    assert res.history["residual"][-1] <= 1e-3
    # each callback's x is the point whose residual it reports
    _, x, residual = seen[-1]
    denoised = 0.5 * x
    grad = A.adjoint(A(x) - y) + 0.5 * (x - denoised)
    g0 = A.adjoint(A(A.adjoint(y)) - y) + 0.5 * (A.adjoint(y) - 0.5 * A.adjoint(y))
    assert np.linalg.norm(grad) / np.linalg.norm(g0) == pytest.approx(residual, rel=1e-9)
