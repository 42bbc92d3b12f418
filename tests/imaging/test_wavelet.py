"""Wavelet shrinkage against a direct PyWavelets computation and scikit-image."""

import math

import numpy as np
import pytest
import pywt
from skimage.restoration import denoise_wavelet

from optlib.imaging import WaveletDenoiser


def _noisy(shape, sigma=0.1, seed=0):
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.linspace(0, 3, n) for n in shape], indexing="ij")
    clean = np.sin(sum(grids)) * (grids[0] > 1)
    return clean + sigma * rng.standard_normal(shape)


def _direct(x, sigma, wavelet, level, rule, shrink):
    coeffs = pywt.wavedecn(x, wavelet, mode="symmetric", level=level)
    for detail in coeffs[1:]:
        for key, d in detail.items():
            if rule == "bayes":
                t = sigma**2 / math.sqrt(max(np.mean(d**2) - sigma**2, 1e-300))
            else:
                t = sigma * math.sqrt(2 * math.log(x.size))
            detail[key] = pywt.threshold(d, t, mode=shrink)
    return pywt.waverecn(coeffs, wavelet, mode="symmetric")[tuple(slice(0, n) for n in x.shape)]


@pytest.mark.parametrize("shape", [(64, 60), (16, 18, 20)])
@pytest.mark.parametrize("rule", ["bayes", "universal"])
@pytest.mark.parametrize("shrink", ["soft", "hard"])
def test_matches_direct_pywavelets(shape, rule, shrink):
    x = _noisy(shape)
    out = WaveletDenoiser("db2", level=2, threshold=rule, shrink=shrink)(x, 0.1)
    np.testing.assert_allclose(out, _direct(x, 0.1, "db2", 2, rule, shrink), atol=1e-12)


def test_bayes_matches_skimage():
    x = _noisy((64, 64), seed=1)
    ref = denoise_wavelet(x, sigma=0.1, wavelet="db1", mode="soft", method="BayesShrink", rescale_sigma=False)
    np.testing.assert_allclose(WaveletDenoiser("db1")(x, 0.1), ref, atol=1e-12)


def test_prox_rule_is_the_l1_prox_in_an_orthogonal_basis():
    x = _noisy((32, 32), seed=2)
    den = WaveletDenoiser("haar", level=3, threshold="prox", scale=2.0, extension="periodization")
    out = den(x, 0.3)
    t = 2.0 * 0.3**2
    c_in = pywt.wavedecn(x, "haar", mode="periodization", level=3)
    c_out = pywt.wavedecn(out, "haar", mode="periodization", level=3)
    np.testing.assert_allclose(c_out[0], c_in[0], atol=1e-12)  # approximation kept
    for d_in, d_out in zip(c_in[1:], c_out[1:]):
        for key in d_in:
            np.testing.assert_allclose(d_out[key], np.sign(d_in[key]) * np.maximum(abs(d_in[key]) - t, 0), atol=1e-12)


def test_noise_free_subband_is_zeroed_and_dtype_kept():
    x = _noisy((32, 32), sigma=0.01, seed=3).astype(np.float32)
    before = x.copy()
    out = WaveletDenoiser("db2", level=1)(x, 10.0)  # sigma above every subband's spread
    assert out.dtype == np.float32
    np.testing.assert_array_equal(x, before)
    coeffs = pywt.wavedecn(x, "db2", level=1)
    coeffs[1] = {key: np.zeros_like(d) for key, d in coeffs[1].items()}
    np.testing.assert_allclose(out, pywt.waverecn(coeffs, "db2")[:32, :32], atol=1e-6)
    assert np.array_equal(WaveletDenoiser()(x, 0.0), x)


def test_bad_input(xp):
    x = _noisy((16, 16))
    den = WaveletDenoiser()
    with pytest.raises(TypeError, match="MagnitudeDenoiser"):
        den(x + 1j, 0.1)
    with pytest.raises(ValueError, match="sigma"):
        den(x, -1.0)
    with pytest.raises(ValueError, match="wavelet"):
        WaveletDenoiser("nope")
    with pytest.raises(ValueError, match="threshold"):
        WaveletDenoiser(threshold="sure")
    if xp.__name__ != "array_api_compat.numpy":
        with pytest.raises(TypeError, match="NumPy array"):
            den(xp.asarray(x), 0.1)


def test_default_level_on_a_tiny_image_does_not_warn():
    """9 x 9 with db4 allows no full level (L = 0): one level, no PyWavelets warning, still the direct result."""
    import warnings

    x = _noisy((9, 9))
    assert pywt.dwtn_max_level(x.shape, "db4") == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = WaveletDenoiser(threshold="universal")(x, 0.1)
    with pytest.warns(UserWarning, match="Level value of 1 is too high"):
        expected = _direct(x, 0.1, "db4", 1, "universal", "soft")
    np.testing.assert_allclose(out, expected, atol=1e-12)
    assert not np.allclose(out, x)
    with pytest.warns(UserWarning, match="Level value of 1 is too high"):  # an explicit level keeps the warning
        WaveletDenoiser(level=1)(x, 0.1)
