"""Image metrics against scikit-image and closed forms; complex magnitudes; array-API path."""

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from optlib.metrics import normalized_magnitude, psnr, psnr_magnitude, ssim
from tests.conftest import to_numpy


def _pair(shape, seed=0, noise=0.1):
    rng = np.random.default_rng(seed)
    ref = rng.random(shape)
    return np.clip(ref + noise * rng.standard_normal(shape), 0, 1), ref


def _skimage_ssim(x, ref, data_range):
    return structural_similarity(
        x, ref, data_range=data_range, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )


@pytest.mark.parametrize("shape", [(64, 80), (16, 20, 24)])
def test_ssim_matches_skimage(shape):
    x, ref = _pair(shape)
    assert ssim(x, ref, data_range=1.0) == pytest.approx(_skimage_ssim(x, ref, 1.0), abs=1e-10)
    # the default range is that of ref
    r = float(ref.max() - ref.min())
    assert ssim(x, ref) == pytest.approx(_skimage_ssim(x, ref, r), abs=1e-10)


def test_ssim_float32_and_identity():
    x, ref = _pair((40, 40), seed=1)
    x32, ref32 = x.astype(np.float32), ref.astype(np.float32)
    assert ssim(x32, ref32, data_range=1.0) == pytest.approx(_skimage_ssim(x32, ref32, 1.0), abs=1e-6)
    assert ssim(ref, ref) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_ssim_without_constants_flat_windows(dtype, rtol):
    # k1 = k2 = 0 (universal quality index): a factor that is 0/0 on flat windows counts as 1
    a, b = np.full((16, 16), 3.0, dtype), np.full((16, 16), 5.0, dtype)
    zero = np.zeros((16, 16), dtype)
    kw = {"data_range": 1.0, "k1": 0.0, "k2": 0.0}
    assert ssim(a, b, **kw) == pytest.approx(2 * 3 * 5 / (3**2 + 5**2), rel=rtol)  # was rounding noise: -0.88
    assert ssim(zero, zero, **kw) == 1.0  # was NaN
    # step 0 -> 3 against 0 -> 6 (columns 16+ of 32): inner windows are zero-flat (6 columns, 1), flat
    # on the step (6 columns, luminance 4/5) or straddle it (10 columns, luminance and structure 4/5)
    x = np.zeros((16, 32), dtype)
    x[:, 16:] = 3.0
    assert ssim(x, 2 * x, **kw) == pytest.approx((6 * 1 + 6 * 0.8 + 10 * 0.64) / 22, rel=rtol)
    # where no window is flat, unchanged: scikit-image's value with K1 = K2 = 0
    x, ref = _pair((24, 24), seed=2)
    expected = structural_similarity(
        x, ref, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, K1=0, K2=0
    )
    assert ssim(x, ref, **kw) == pytest.approx(expected, abs=1e-12)


def test_psnr_matches_skimage_and_closed_form():
    x, ref = _pair((30, 31), seed=2)
    assert psnr(x, ref, data_range=1.0) == pytest.approx(peak_signal_noise_ratio(ref, x, data_range=1.0))
    mse = np.mean((x - ref) ** 2)
    assert psnr(x, ref, 2.0) == pytest.approx(10 * math.log10(4.0 / mse))
    assert psnr(ref, ref) == math.inf


def test_psnr_magnitude_normalizes_and_ignores_phase():
    rng = np.random.default_rng(3)
    mag = rng.random((6, 7, 8))
    ref = mag * np.exp(1j * rng.uniform(-np.pi, np.pi, mag.shape))
    est = 5.0 * (mag + 0.01) * np.exp(1j * rng.uniform(-np.pi, np.pi, mag.shape))  # scaled, other phase
    a, r = (mag + 0.01) / (mag + 0.01).max(), mag / mag.max()
    expected = 10 * math.log10(1.0 / np.mean((a - r) ** 2))
    assert psnr_magnitude(est, ref) == pytest.approx(expected)
    nm = normalized_magnitude(ref.astype(np.complex64))
    assert nm.dtype == np.float32 and nm.max() == pytest.approx(1.0)
    assert np.all(normalized_magnitude(np.zeros((3, 3))) == 0)


def test_metrics_on_array_api_device(xp):
    x_np, ref_np = _pair((24, 26), seed=4)
    x, ref = xp.asarray(x_np), xp.asarray(ref_np)
    assert ssim(x, ref, data_range=1.0) == pytest.approx(_skimage_ssim(x_np, ref_np, 1.0), abs=1e-10)
    flat = xp.asarray(np.full((24, 26), 3.0))
    assert ssim(flat, 2 * flat, data_range=1.0, k1=0, k2=0) == pytest.approx(0.8, rel=1e-12)
    assert psnr(x, ref, data_range=1.0) == pytest.approx(peak_signal_noise_ratio(ref_np, x_np, data_range=1.0))
    z = xp.asarray(x_np * np.exp(1j * x_np))
    assert psnr_magnitude(z, ref) == pytest.approx(psnr_magnitude(to_numpy(z), ref_np))
    x_before = to_numpy(x).copy()
    normalized_magnitude(x)
    np.testing.assert_array_equal(to_numpy(x), x_before)


def test_bad_input():
    x, ref = _pair((20, 20))
    with pytest.raises(ValueError, match="shape"):
        psnr(x, ref[:10])
    with pytest.raises(TypeError, match="psnr_magnitude"):
        psnr(x + 0j, ref)
    with pytest.raises(TypeError, match="psnr_magnitude"):
        ssim(x, ref + 1j)
    with pytest.raises(ValueError, match="data_range"):
        psnr(x, ref, data_range=-1.0)
    with pytest.raises(ValueError, match="data_range"):
        psnr(x, np.ones_like(ref))
    with pytest.raises(ValueError, match="window size 11"):
        ssim(x[:8], ref[:8])
    with pytest.raises(ValueError, match="2-D images or 3-D"):
        ssim(x[0], ref[0])
