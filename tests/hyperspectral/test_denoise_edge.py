"""Edge cases of the outlier removal of the hyperspectral denoisers (robust="auto"/True)."""

import numpy as np
import pytest
from scipy.ndimage import median_filter as scipy_median

from optlib.datasets import add_impulse_noise, add_stripes, make_hyperspectral_scene
from optlib.hyperspectral import denoise_fasthyde, denoise_otvca, estimate_noise_std
from optlib.hyperspectral._denoise_common import _median_at, clean_outliers, median_filter, remove_outliers
from tests.conftest import to_numpy


def _noiseless(seed, n_endmembers, dtype):
    rng = np.random.default_rng(seed)
    A = rng.dirichlet(np.ones(n_endmembers), size=32 * 32)
    return (A @ rng.random((n_endmembers, 20))).reshape(32, 32, 20).astype(dtype)


@pytest.fixture(scope="module")
def corrupted():
    """24 x 24 x 30 cube at 30 dB with impulses and stripes."""
    sc = make_hyperspectral_scene(24, 24, 3, n_bands=30, abundances="grf", snr=30, random_state=0)
    Y, _ = add_impulse_noise(sc.Y, 0.05, fraction=0.1, random_state=1)
    Y, _ = add_stripes(Y, fraction=0.2, random_state=2)
    return Y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed, n_endmembers", [(0, 3), (1, 5), (2, 2)])
def test_noiseless_cube_is_left_alone(seed, n_endmembers, dtype):
    # a residual of rounding errors alone (float32: about 3e-8) used to be flagged: 39 entries changed by up to 0.4
    cube = _noiseless(seed, n_endmembers, dtype)
    for detect in (True, False):
        coarse, mask = remove_outliers(np, cube, detect=detect)
        assert not mask.any()
        assert coarse.dtype == cube.dtype
        np.testing.assert_array_equal(coarse, cube)
    assert clean_outliers(np, cube, "auto") is cube


@pytest.mark.parametrize("scale", [1e-200, 1e-300, 1e200, 1e300])
def test_detection_does_not_depend_on_the_scale(corrupted, scale):
    # the squares of the Gram matrix underflowed (singular matrix error) or overflowed (nothing flagged)
    coarse, mask = remove_outliers(np, corrupted, detect=True)
    assert mask.any()
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        coarse_s, mask_s = remove_outliers(np, corrupted * scale, detect=True)
    np.testing.assert_array_equal(mask_s, mask)
    np.testing.assert_allclose(coarse_s / scale, coarse, rtol=1e-10, atol=1e-10 * np.abs(coarse).max())


def test_float32_detection_and_device(corrupted, xp):
    cube = corrupted.astype(np.float32)
    before = cube.copy()
    coarse, mask = remove_outliers(np, cube, detect=True)
    np.testing.assert_array_equal(cube, before)  # not written into
    assert coarse.dtype == np.float32
    _, mask64 = remove_outliers(np, corrupted, detect=True)
    assert (mask != mask64).mean() < 1e-3
    Y = xp.asarray(cube)
    cx, mx = remove_outliers(xp, Y, detect=True)
    assert cx.device == Y.device and cx.dtype == Y.dtype
    np.testing.assert_array_equal(to_numpy(mx), mask)
    np.testing.assert_allclose(to_numpy(cx), coarse, atol=1e-5)


def test_noise_estimate_of_a_noiseless_cube_is_finite(xp):
    # the residual variances came out slightly negative by rounding: NaN stds, then 'Y contains NaN' in FastHyDe
    cube = _noiseless(0, 3, np.float64)
    s = to_numpy(estimate_noise_std(xp.asarray(cube)))
    assert np.all(np.isfinite(s)) and np.all(s >= 0) and s.max() < 1e-7
    np.testing.assert_allclose(denoise_fasthyde(cube), cube, atol=1e-7)


@pytest.mark.filterwarnings("ignore:Level value:UserWarning")  # PyWavelets on a 4 x 4 image
@pytest.mark.parametrize("side", [2, 4])
def test_fewer_pixels_than_bands_raise_a_clear_error(side):
    cube = _noiseless(0, 3, np.float64)[:side, :side]  # 4 and 16 pixels, 20 bands
    for fn in (estimate_noise_std, denoise_fasthyde, denoise_otvca):
        with pytest.raises(ValueError, match="more pixels than bands"):
            fn(cube)
    assert denoise_fasthyde(cube, sigma=0.01, n_components=2).shape == cube.shape  # nothing to estimate


@pytest.mark.parametrize("rows", [1, 2, 3])
def test_medians_on_images_narrower_than_the_window(xp, rows):
    # 'window must be smaller than twice the image side': robust='auto' failed on thin cubes that robust=False takes
    rng = np.random.default_rng(rows)
    cube = rng.standard_normal((rows, 9, 3))
    mask = rng.random(cube.shape) < 0.3
    mask[0, 0, 0] = True
    full = scipy_median(cube, size=(5, 5, 1), mode="mirror")
    np.testing.assert_array_equal(_median_at(np, cube, mask, 5), np.where(mask, full, 0.0))
    X = xp.asarray(cube)
    np.testing.assert_array_equal(to_numpy(median_filter(xp, X, 5)), full)
    np.testing.assert_array_equal(to_numpy(_median_at(xp, X, xp.asarray(mask, device=X.device), 5)),
                                  np.where(mask, full, 0.0))


@pytest.mark.filterwarnings("ignore:Level value:UserWarning")  # PyWavelets on 2 rows
def test_thin_cube_with_impulses():
    rng = np.random.default_rng(0)
    A = rng.dirichlet(np.ones(3), size=2 * 300)
    cube = (A @ rng.random((3, 10))).reshape(2, 300, 10) + 0.01 * rng.standard_normal((2, 300, 10))
    cube[:, ::7, 4] += 1.0  # impulses in band 4
    coarse, mask = remove_outliers(np, cube, detect=True)
    assert set(np.flatnonzero(mask.any(axis=(0, 1)))) == {4}
    assert np.abs(coarse - cube)[..., 4].max() > 0.5
    assert denoise_fasthyde(cube).shape == cube.shape
