"""Tests of the band-averaged hyperspectral metrics MPSNR and MSSIM."""

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from optlib.metrics import band_psnr, mpsnr, mssim


def _pair():
    rng = np.random.default_rng(0)
    ref = rng.random((24, 20, 5))
    return ref + 0.05 * rng.standard_normal(ref.shape), ref


def test_mpsnr_and_mssim_equal_skimage_band_means():
    x, ref = _pair()
    want_psnr = [peak_signal_noise_ratio(ref[..., b], x[..., b], data_range=np.ptp(ref[..., b])) for b in range(5)]
    np.testing.assert_allclose(band_psnr(x, ref), want_psnr, rtol=1e-12)
    assert mpsnr(x, ref) == pytest.approx(np.mean(want_psnr), rel=1e-12)
    want_ssim = [structural_similarity(x[..., b], ref[..., b], data_range=np.ptp(ref[..., b]), gaussian_weights=True,
                                       sigma=1.5, use_sample_covariance=False) for b in range(5)]
    assert mssim(x, ref) == pytest.approx(np.mean(want_ssim), rel=1e-10)


def test_device(xp):
    x, ref = _pair()
    assert mpsnr(xp.asarray(x), xp.asarray(ref)) == pytest.approx(mpsnr(x, ref), rel=1e-12)


def test_bad_input():
    x, ref = _pair()
    with pytest.raises(ValueError, match="3-D cubes"):
        mpsnr(x[..., 0], ref[..., 0])
    with pytest.raises(ValueError, match="shape"):
        mssim(x, ref[:, :, :4])
