"""SSIM of images with a large offset: local variances about the image mean, not E[a^2] - E[a]^2."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from skimage.metrics import structural_similarity

from optlib.metrics import ssim

C1, C2 = 0.01**2, 0.03**2  # default k1, k2 with data_range = 1


def _pair(shape=(48, 40), seed=0):
    rng = np.random.default_rng(seed)
    ref = rng.random(shape)
    return ref + 0.1 * rng.standard_normal(shape), ref


def _ssim_shifted(x, ref, c):
    """SSIM of ``(x + c, ref + c)`` with data_range 1, from the statistics of the unshifted images.

    The (co)variances do not depend on ``c``; only the local means do.
    """
    g = lambda a: gaussian_filter(a, 1.5, mode="reflect", truncate=3.5)  # noqa: E731
    ux, uy = g(x), g(ref)
    vx, vy, vxy = g(x * x) - ux * ux, g(ref * ref) - uy * uy, g(x * ref) - ux * uy
    ux, uy = ux + c, uy + c
    s = (2 * ux * uy + C1) / (ux * ux + uy * uy + C1) * (2 * vxy + C2) / (vx + vy + C2)
    return float(s[5:-5, 5:-5].mean())


def test_ssim_matches_skimage_without_offset():
    x, ref = _pair()
    expected = structural_similarity(
        x, ref, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert ssim(x, ref, data_range=1.0) == pytest.approx(expected, abs=1e-12)
    assert _ssim_shifted(x, ref, 0.0) == pytest.approx(expected, abs=1e-12)  # the reference above


@pytest.mark.parametrize("c", [1e4, 1e6])
def test_ssim_large_offset_float64(c):
    # before: E[a^2] - E[a]^2 at a = 1e6 + texture kept ~1e-4 of a variance of ~0.1 (error 1e-3 at 1e6)
    x, ref = _pair()
    expected = _ssim_shifted(x, ref, c)
    assert ssim(x + c, ref + c, data_range=1.0) == pytest.approx(expected, abs=1e-9)
    # the same texture on its own is no more similar than with the offset: the offset only raises luminance
    assert ssim(x + c, x + c, data_range=1.0) == pytest.approx(1.0, abs=1e-12)


def test_ssim_large_offset_float32():
    # float32 at 1e4 resolves 1e-3 of the texture: the score is that of the rounded images, not noise
    x, ref = _pair(seed=1)
    c = np.float32(1e4)
    x32, ref32 = x.astype(np.float32) + c, ref.astype(np.float32) + c
    expected = _ssim_shifted(x32.astype(np.float64) - 1e4, ref32.astype(np.float64) - 1e4, 1e4)
    assert ssim(x32, ref32, data_range=1.0) == pytest.approx(expected, abs=1e-4)
