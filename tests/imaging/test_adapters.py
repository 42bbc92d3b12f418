"""Adapters of scikit-image and bm3d to denoiser(x, sigma)."""

import sys

import numpy as np
import pytest
from skimage.restoration import denoise_nl_means, denoise_tv_chambolle

from optlib.imaging import BM3DDenoiser, SkimageNLM, SkimageTV


def _noisy(shape=(32, 32), seed=0):
    rng = np.random.default_rng(seed)
    return (np.arange(shape[0])[:, None] > shape[0] // 2) + 0.1 * rng.standard_normal(shape)


def test_skimage_tv_weight_and_dtype():
    x = _noisy().astype(np.float32)
    out = SkimageTV(scale=5.0)(x, 0.2)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, denoise_tv_chambolle(x, weight=5.0 * 0.04), atol=1e-7)


def test_skimage_nlm_passes_sigma():
    x = _noisy(seed=1)
    ref = denoise_nl_means(x, h=0.8 * 0.1, sigma=0.1, patch_size=5, patch_distance=6, fast_mode=True)
    np.testing.assert_allclose(SkimageNLM()(x, 0.1), ref, atol=1e-14)
    assert np.array_equal(SkimageNLM()(x, 0.0), x)


@pytest.mark.parametrize("shape", [(1, 20), (20, 1), (4, 1, 6)])
def test_skimage_nlm_keeps_singleton_axes(shape):
    # scikit-image squeezes axes of length 1; the denoiser must return x's shape
    x = np.random.default_rng(2).random(shape)
    out = SkimageNLM()(x, 0.1)
    assert out.shape == shape
    ref = denoise_nl_means(x, h=0.8 * 0.1, sigma=0.1, patch_size=5, patch_distance=6, fast_mode=True)
    np.testing.assert_allclose(out, ref.reshape(shape), atol=1e-14)


def test_bm3d_missing_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "bm3d", None)  # import bm3d raises ImportError
    with pytest.raises(ImportError, match="pip install bm3d"):
        BM3DDenoiser()


def test_bad_input(xp):
    x = _noisy()
    for den in (SkimageTV(), SkimageNLM()):
        with pytest.raises(TypeError, match="MagnitudeDenoiser"):
            den(x * 1j, 0.1)
        with pytest.raises(ValueError, match="sigma"):
            den(x, -0.1)
        if xp.__name__ != "array_api_compat.numpy":
            with pytest.raises(TypeError, match="NumPy array"):
                den(xp.asarray(x), 0.1)
    with pytest.raises(ValueError, match="h"):
        SkimageNLM(h=0)
