"""Review round 9: reproducers of defects found in minimize_eq, the linear-model paths and ssim."""

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from optlib.metrics import ssim


def _ssim_pair(seed=0):
    rng = np.random.default_rng(seed)
    ref = rng.random((32, 32))
    return ref + 0.1 * rng.standard_normal(ref.shape), ref


# R1: ssim of images in tiny or huge units. The second moments underflowed or overflowed the dtype:
# float32 at 1e-25 gave NaN, at 1e20 NaN; float64 at 1e-200 gave 1.0 (silently), at 1e300 OverflowError.
@pytest.mark.parametrize(
    "scale, dtype", [(1e-25, np.float32), (1e20, np.float32), (1e-200, np.float64), (1e300, np.float64)]
)
def test_r1_ssim_is_invariant_to_the_units(scale, dtype):
    x, ref = _ssim_pair()
    expected = structural_similarity(
        x, ref, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    got = ssim((x * scale).astype(dtype), (ref * scale).astype(dtype), data_range=scale)
    assert got == pytest.approx(expected, abs=1e-6 if dtype == np.float32 else 1e-12)


def test_r1_ssim_units_scaling_is_exact_for_ordinary_images():
    """The power-of-two units change no rounding: float64 equals scikit-image bit for bit."""
    x, ref = _ssim_pair(1)
    for data_range in (1.0, 3.0, 255.0):
        expected = structural_similarity(
            x * data_range, ref * data_range, data_range=data_range, gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False,
        )
        assert ssim(x * data_range, ref * data_range, data_range=data_range) == expected
