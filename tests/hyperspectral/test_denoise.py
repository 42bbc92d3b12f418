"""Tests of the hyperspectral denoisers HyRes and FastHyDe, their DWT, SURE rule and noise estimate."""

import math

import numpy as np
import pytest
import pywt

from optlib.datasets import add_band_noise, make_hyperspectral_scene
from optlib.hyperspectral import (
    denoise_fasthyde,
    denoise_hyres,
    estimate_noise,
    estimate_noise_std,
)
from optlib.hyperspectral._denoise_shrinkage import sure_soft_threshold
from optlib.hyperspectral._dwt import wavedec2, waverec2
from tests.conftest import to_numpy


def mpsnr(x, ref):
    x, ref = np.asarray(x, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    rng = ref.max(axis=(0, 1)) - ref.min(axis=(0, 1))
    mse = np.mean((x - ref) ** 2, axis=(0, 1))
    return float(np.mean(10 * np.log10(rng**2 / mse)))


@pytest.fixture(scope="module")
def scene():
    return make_hyperspectral_scene(64, 64, 4, n_bands=60, abundances="grf", snr=20, random_state=0)


@pytest.mark.filterwarnings("ignore:Level value")
@pytest.mark.parametrize("wavelet", ["haar", "db2", "db5"])
def test_dwt_matches_pywavelets_and_inverts(xp, wavelet):
    x = np.random.default_rng(0).standard_normal((32, 16, 3))
    ref = pywt.wavedec2(x, wavelet, mode="periodization", level=2, axes=(0, 1))
    xx = xp.asarray(x)
    coeffs = wavedec2(xp, xx, wavelet, 2)
    np.testing.assert_allclose(to_numpy(coeffs[0]), ref[0], atol=1e-12)
    for got, want in zip(coeffs[1:], ref[1:]):
        for g, w in zip(got, want):
            np.testing.assert_allclose(to_numpy(g), w, atol=1e-12)
    back = waverec2(xp, coeffs, wavelet)
    assert back.device == xx.device
    np.testing.assert_allclose(to_numpy(back), x, atol=1e-12)


def test_sure_threshold_is_the_exact_minimiser():
    rng = np.random.default_rng(1)
    c = np.concatenate([rng.standard_normal(500), 6 * rng.standard_normal(50)])[:, None]
    t, gain = sure_soft_threshold(np, c)
    grid = np.concatenate([[0.0], np.sort(np.abs(c[:, 0]))])
    sure = [c.size - 2 * np.sum(np.abs(c) <= s) + np.sum(np.minimum(c**2, s**2)) for s in grid]
    assert t[0] == pytest.approx(grid[int(np.argmin(sure))])
    assert gain[0] == pytest.approx(min(sure) - (np.sum(c**2) - c.size))
    assert gain[0] < 0


def test_noise_std_is_hysime_regression_residual(scene):
    Y, _ = add_band_noise(scene.clean, (15.0, 30.0), random_state=2)
    s = estimate_noise_std(Y)
    _, Rn = estimate_noise(Y)
    np.testing.assert_allclose(s, np.sqrt(np.diag(Rn)), rtol=1e-6)
    rel = np.abs(s / np.std(Y - scene.clean, axis=(0, 1)) - 1)
    assert np.median(rel) < 0.05 and rel.max() < 0.2  # measured 0.017 and 0.16


def test_hyres_gains_over_10_db_and_keeps_dtype(scene):
    Y = scene.Y.astype(np.float32)
    before = Y.copy()
    out, info = denoise_hyres(Y, return_info=True)
    assert out.dtype == np.float32 and out.shape == Y.shape
    np.testing.assert_array_equal(Y, before)
    gain = mpsnr(out, scene.clean) - mpsnr(Y, scene.clean)
    assert gain > 10.0  # measured 15.6 dB
    assert 4 <= info["rank"] <= 12


def test_hyres_known_sigma_matches_estimate(scene):
    sigma = float(np.std(scene.Y - scene.clean))
    a = denoise_hyres(scene.Y, sigma=sigma)
    b = denoise_hyres(scene.Y)
    assert abs(mpsnr(a, scene.clean) - mpsnr(b, scene.clean)) < 0.5


def test_fasthyde_gains_and_finds_subspace(scene):
    out, info = denoise_fasthyde(scene.Y, return_info=True)
    assert info["n_components"] == 4
    assert mpsnr(out, scene.clean) - mpsnr(scene.Y, scene.clean) > 10.0  # measured 16.9 dB
    fixed = denoise_fasthyde(scene.Y, n_components=4, denoiser="tv")
    assert mpsnr(fixed, scene.clean) - mpsnr(scene.Y, scene.clean) > 8.0


def test_fasthyde_poisson_anscombe():
    sc = make_hyperspectral_scene(48, 48, 3, n_bands=40, abundances="grf", random_state=3)
    peak = 60.0
    counts = np.random.default_rng(4).poisson(sc.clean * peak).astype(np.float64)
    out = denoise_fasthyde(counts, noise="poisson")
    ref = sc.clean * peak
    assert mpsnr(out, ref) - mpsnr(counts, ref) > 8.0
    assert abs(np.mean(out) - np.mean(ref)) < 0.02 * np.mean(ref)  # unbiased inverse transform


@pytest.mark.parametrize("method", [denoise_hyres, denoise_fasthyde])
def test_array_api_device(xp, method, scene):
    Y = scene.Y[:32, :32, :24]
    Yx = xp.asarray(Y)
    out = method(Yx) if method is denoise_hyres else method(Yx, n_components=4)
    assert out.device == Yx.device and out.dtype == Yx.dtype
    ref = method(Y) if method is denoise_hyres else method(Y, n_components=4)
    np.testing.assert_allclose(to_numpy(out), ref, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("method", [denoise_hyres, denoise_fasthyde])
def test_bad_input(method, scene):
    with pytest.raises(ValueError, match="3-D cube"):
        method(scene.Y.reshape(-1, scene.Y.shape[2]))
    bad = scene.Y.copy()
    bad[3, 4, 5] = math.nan
    with pytest.raises(ValueError, match="NaN"):
        method(bad)
    with pytest.raises(ValueError, match="one entry per band"):
        method(scene.Y, sigma=np.ones(3))


def test_fasthyde_more_components_than_bands(scene):
    with pytest.raises(ValueError, match="n_components=61 exceeds the number of bands 60"):
        denoise_fasthyde(scene.Y, n_components=61)
    with pytest.raises(ValueError, match="Unknown denoiser"):
        denoise_fasthyde(scene.Y, denoiser="nope")


def test_fasthyde_cycle_spinning_gains(scene):
    one = denoise_fasthyde(scene.Y, shifts=1)
    spun = denoise_fasthyde(scene.Y)  # default shifts=4
    gain = mpsnr(spun, scene.clean) - mpsnr(one, scene.clean)
    assert gain > 0.5  # measured 1.4 dB (1.4 / 0.6 dB at 30 / 40 dB on the 128 x 128 benchmark cubes)
    with pytest.raises(ValueError, match="shifts"):
        denoise_fasthyde(scene.Y, shifts=0)
