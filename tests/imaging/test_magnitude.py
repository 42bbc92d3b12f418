"""MagnitudeDenoiser: denoise |z|, keep the phase, clamp at 0."""

import numpy as np
import pytest

from optlib.imaging import MagnitudeDenoiser, TVDenoiser, tv_denoise
from tests.conftest import to_numpy


def _complex(shape=(20, 22), seed=0):
    rng = np.random.default_rng(seed)
    mag = 1.0 + (np.arange(shape[-1]) > shape[-1] // 2) + 0.2 * rng.standard_normal(shape)
    return np.abs(mag) * np.exp(1j * rng.uniform(-np.pi, np.pi, shape))


def test_equals_prox_on_magnitude_and_keeps_phase():
    z = _complex()
    out = MagnitudeDenoiser(TVDenoiser(tol=None, max_iter=80))(z, 0.3)
    expected = tv_denoise(np.abs(z), 0.09, tol=None, max_iter=80)
    np.testing.assert_allclose(np.abs(out), expected, atol=1e-12)
    np.testing.assert_allclose(out / np.abs(out), z / np.abs(z), atol=1e-12)


def test_clamps_at_zero_and_preserves_dtype_and_input():
    z = _complex(seed=1).astype(np.complex64)
    before = z.copy()
    out = MagnitudeDenoiser(lambda x, sigma: x - 1.5)(z, 0.1)  # shifts some magnitudes below 0
    assert out.dtype == np.complex64
    np.testing.assert_allclose(np.abs(out), np.maximum(np.abs(z) - 1.5, 0), atol=1e-6)
    np.testing.assert_array_equal(z, before)


def test_three_d_volume_on_device(xp):
    z_np = _complex((5, 6, 7), seed=2)
    z = xp.asarray(z_np)
    out = MagnitudeDenoiser(TVDenoiser(tol=None, max_iter=30))(z, 0.2)
    assert out.device == z.device and out.dtype == z.dtype
    ref = MagnitudeDenoiser(TVDenoiser(tol=None, max_iter=30))(z_np, 0.2)
    np.testing.assert_allclose(to_numpy(out), ref, atol=1e-12)


def test_bad_input():
    with pytest.raises(TypeError, match="callable"):
        MagnitudeDenoiser("tv")
    with pytest.raises(ValueError, match="sigma"):
        MagnitudeDenoiser(TVDenoiser())(_complex(), -1.0)
