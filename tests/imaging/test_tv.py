"""Chambolle TV denoiser: scikit-image, the exact TV prox, engines, warm start, devices, bad input."""

import warnings

import numpy as np
import pytest
from skimage.restoration import denoise_tv_chambolle

from optlib import ConvergenceWarning
from optlib.functions import TV2D, TV3D
from optlib.imaging import TVDenoiser, tv_denoise
from tests.conftest import assert_engines_agree, to_numpy


def _noisy(shape, seed=0, noise=0.1):
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    clean = (sum(g * g for g in grids) < 0.5).astype(float)  # a disc / ball
    return clean + noise * rng.standard_normal(shape)


def _objective(u, f, weight, tv):
    return 0.5 * np.sum((u - f) ** 2) + tv(weight)(u)


def _camera(shape, seed=0):
    from optlib.datasets import load_image

    rng = np.random.default_rng(seed)
    return load_image("camera", size=shape[-2:]) * np.ones(shape) + 0.1 * rng.standard_normal(shape)


@pytest.mark.parametrize("shape, tv", [((32, 32), TV2D), ((6, 12, 14), TV3D)])
def test_matches_skimage_and_the_exact_prox(shape, tv):
    f = _camera(shape)
    weight = 0.05
    x = tv_denoise(f, weight, tol=None, max_iter=5000)
    # the same iteration as scikit-image's, run as long
    ref = denoise_tv_chambolle(f, weight=weight, eps=1e-300, max_num_iter=5000)
    np.testing.assert_allclose(x, ref, atol=1e-9)
    # and close to the exact prox (FISTA on the dual, run to 1e-10), objective within 1e-6 relative
    exact = tv(weight, tol=1e-10, max_iter=20000).prox(f)
    np.testing.assert_allclose(x, exact, atol=1e-4)
    gap = _objective(x, f, weight, tv) - _objective(exact, f, weight, tv)
    assert -1e-9 <= gap <= 1e-6 * _objective(exact, f, weight, tv)


def test_stops_at_the_tolerance():
    f = _camera((32, 32))
    den = TVDenoiser(scale=1.0, tol=1e-3)
    x = den(f, 0.3)
    assert 1 < den.n_iter_ < 200
    np.testing.assert_allclose(x, tv_denoise(f, 0.09, tol=None, max_iter=den.n_iter_), atol=1e-14)


def test_stack_of_images_is_denoised_slice_by_slice():
    f = _noisy((3, 20, 24), seed=1)
    x = tv_denoise(f, 0.15, ndim=2, tol=None, max_iter=300)
    for k in range(3):
        np.testing.assert_allclose(x[k], tv_denoise(f[k], 0.15, tol=None, max_iter=300), atol=1e-13)


@pytest.mark.parametrize("shape", [(17, 23), (7, 9, 11), (1, 5), (6, 1)])
def test_numba_and_array_paths_agree(shape):
    f = _noisy(shape, seed=2)
    assert_engines_agree(tv_denoise, f, 0.2, tol=None, max_iter=37, rtol=0, atol=1e-12)


def test_dtype_preserved_and_input_untouched():
    f = _noisy((16, 18)).astype(np.float32)
    before = f.copy()
    for engine in ("numba", "xp"):
        x = tv_denoise(f, 0.1, engine=engine, tol=None, max_iter=50)
        assert x.dtype == np.float32
        np.testing.assert_allclose(x, tv_denoise(f.astype(np.float64), 0.1, tol=None, max_iter=50), atol=1e-5)
    np.testing.assert_array_equal(f, before)
    assert np.array_equal(tv_denoise(f, 0.0), f)


def test_array_api_device(xp):
    f_np = _noisy((15, 17), seed=3)
    f = xp.asarray(f_np)
    x = tv_denoise(f, 0.1, tol=None, max_iter=40)
    assert x.device == f.device
    np.testing.assert_allclose(to_numpy(x), tv_denoise(f_np, 0.1, tol=None, max_iter=40), atol=1e-12)
    x = TVDenoiser(warm_start=True, tol=None, max_iter=5)(f, 0.3)
    assert x.device == f.device


def test_denoiser_weight_is_scale_sigma_squared():
    f = _noisy((20, 20), seed=4)
    den = TVDenoiser(scale=4.0, tol=None, max_iter=60)
    np.testing.assert_allclose(den(f, 0.2), tv_denoise(f, 4.0 * 0.2**2, tol=None, max_iter=60), atol=1e-14)
    assert den.n_iter_ == 60
    assert np.array_equal(den(f, 0.0), f)


@pytest.mark.parametrize("engine", ["numba", "xp"])
def test_warm_start_continues_the_iteration(engine):
    f = _noisy((21, 19), seed=5)
    den = TVDenoiser(warm_start=True, tol=None, max_iter=5, engine=engine)
    for _ in range(4):
        x = den(f, 0.3)
    np.testing.assert_allclose(x, tv_denoise(f, 0.09, tol=None, max_iter=20, engine=engine), atol=1e-12)
    den.reset()
    np.testing.assert_allclose(den(f, 0.3), tv_denoise(f, 0.09, tol=None, max_iter=5), atol=1e-12)
    cold = TVDenoiser(tol=None, max_iter=5)
    cold(f, 0.3)
    np.testing.assert_allclose(cold(f, 0.3), tv_denoise(f, 0.09, tol=None, max_iter=5), atol=1e-12)


def test_warm_start_dual_not_carried_across_libraries(xp):
    # a dual kept from a NumPy call must not leak into a call on another library / device
    # (array_api_strict on "device1"), nor back
    if xp.__name__.endswith("numpy"):
        pytest.skip("needs a second array library")
    f = _noisy((12, 13), seed=7)
    cold = tv_denoise(f, 0.09, tol=None, max_iter=5)
    den = TVDenoiser(warm_start=True, tol=None, max_iter=5)
    den(f, 0.3)
    np.testing.assert_allclose(to_numpy(den(xp.asarray(f), 0.3)), cold, atol=1e-12)
    np.testing.assert_allclose(den(f, 0.3), cold, atol=1e-12)


def test_convergence_warning_only_with_a_tolerance():
    f = _noisy((20, 20), seed=6)
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        tv_denoise(f, 0.5, max_iter=3)
    with pytest.warns(ConvergenceWarning, match="TVDenoiser"):
        TVDenoiser(max_iter=3)(f, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TVDenoiser(max_iter=3, tol=None)(f, 0.5)


def test_bad_input():
    f = _noisy((10, 10))
    with pytest.raises(TypeError, match="MagnitudeDenoiser"):
        TVDenoiser()(f + 1j * f, 0.1)
    with pytest.raises(ValueError, match="sigma"):
        TVDenoiser()(f, -0.1)
    with pytest.raises(ValueError, match="weight"):
        tv_denoise(f, -1.0)
    with pytest.raises(ValueError, match="2-D or 3-D"):
        tv_denoise(f[0], 0.1)
    with pytest.raises(ValueError, match="ndim"):
        tv_denoise(f, 0.1, ndim=3)
    with pytest.raises(ValueError, match="engine"):
        TVDenoiser(engine="cuda")
    with pytest.raises(TypeError, match="warm_start"):
        TVDenoiser(warm_start=1)
    with pytest.raises(ValueError, match="ndim"):
        TVDenoiser(ndim=1)
