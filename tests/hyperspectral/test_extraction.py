"""Tests of endmember extraction (VCA, N-FINDR, ATGP) and HySime."""

import warnings

import numpy as np
import pytest

from optlib.datasets import make_hyperspectral_scene
from optlib.hyperspectral import atgp, estimate_noise, extract_endmembers, hysime, nfindr, vca
from optlib.metrics import sad
from tests.conftest import to_numpy


@pytest.fixture(scope="module")
def scene():
    return make_hyperspectral_scene(30, 30, 5, snr=40, n_pure_pixels=1, purity=0.8, random_state=0)


@pytest.mark.parametrize("method", ["vca", "nfindr", "atgp"])
def test_pure_pixels_found(scene, method):
    X = scene.Y.reshape(-1, scene.Y.shape[-1])
    out = extract_endmembers(X, 5, method=method, random_state=0)
    assert out.endmembers.shape == (5, X.shape[1])
    assert sad(out.endmembers, scene.endmembers) < 0.02  # radians
    pure = np.flatnonzero(scene.abundances.reshape(-1, 5).max(1) == 1.0)
    if method != "atgp":  # ATGP may stop at a non-pure pixel of larger residual norm
        assert set(out.indices) == set(pure)


def test_noiseless_scene_exact():
    s = make_hyperspectral_scene(20, 20, 4, n_pure_pixels=1, purity=0.9, random_state=1)
    X = s.Y.reshape(-1, s.Y.shape[-1])
    for fn in (lambda: vca(X, 4, random_state=3), lambda: nfindr(X, 4)):
        assert sad(fn().endmembers, s.endmembers) < 1e-6


def test_vca_random_state_reproducible(scene):
    X = scene.Y.reshape(-1, scene.Y.shape[-1])
    np.testing.assert_array_equal(vca(X, 5, random_state=7).indices, vca(X, 5, random_state=7).indices)


@pytest.mark.parametrize("snr", [40, 25])
def test_hysime_recovers_the_number_of_endmembers(snr):
    s = make_hyperspectral_scene(100, 100, 5, snr=snr, random_state=0)
    out = hysime(s.Y)
    assert out.n_components == 5
    assert out.basis.shape == (5, s.Y.shape[-1])
    np.testing.assert_allclose(out.basis @ out.basis.T, np.eye(5), atol=1e-10)
    # the signal (endmembers) lies in the estimated subspace
    E = s.endmembers
    residual = E - (E @ out.basis.T) @ out.basis
    assert np.linalg.norm(residual) < 0.02 * np.linalg.norm(E)


def test_estimate_noise_white():
    s = make_hyperspectral_scene(60, 60, 3, n_bands=40, snr=30, random_state=2)
    noise, Rn = estimate_noise(s.Y)
    true = s.Y - s.clean
    assert np.mean((noise - true) ** 2) < 0.15 * np.mean(true**2)
    assert Rn.shape == (40, 40)


def test_array_api_device(xp):
    s = make_hyperspectral_scene(10, 10, 3, n_bands=20, n_pure_pixels=1, purity=0.9, random_state=4)
    X = s.Y.reshape(-1, 20)
    Xx = xp.asarray(X)
    for name, fn in [("vca", lambda Z: vca(Z, 3, random_state=0)), ("nfindr", lambda Z: nfindr(Z, 3)),
                     ("atgp", lambda Z: atgp(Z, 3)),
                     ("vca affine", lambda Z: vca(Z, 3, snr=0.0, random_state=0))]:  # low-SNR projection
        out = fn(Xx)
        assert out.endmembers.device == Xx.device, name
        np.testing.assert_array_equal(out.indices, fn(X).indices)
        np.testing.assert_allclose(to_numpy(out.endmembers), fn(X).endmembers, atol=1e-10)
    assert hysime(Xx).basis.device == Xx.device


def test_bad_input():
    with pytest.raises(ValueError, match="n_endmembers=50 exceeds"):
        vca(np.ones((10, 20)), 50)
    with pytest.raises(ValueError, match="Unknown method"):
        extract_endmembers(np.ones((10, 20)), 2, method="ppi")
    with pytest.raises(ValueError, match="Y contains NaN"):
        atgp(np.full((4, 3), np.nan), 2)
    with pytest.raises(ValueError, match="hysime needs more pixels than bands.*5 pixels and 20 bands"):
        hysime(np.random.default_rng(0).random((5, 20)))
    with pytest.raises(ValueError, match="noise has shape"):
        hysime(np.ones((10, 4)), noise=np.ones((10, 3)))


def test_single_endmember(xp):
    # p = 1 has no simplex: VCA takes the pixel farthest along the leading direction, N-FINDR the largest
    rng = np.random.default_rng(8)
    e = rng.random(15) + 0.5
    X = rng.uniform(0.2, 1.0, (40, 1)) * e + 1e-3 * rng.standard_normal((40, 15))
    X[7] = 1.5 * e  # the brightest pixel
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # VCA used to divide by zero here and return pixel 0
        for fn in (lambda Z: vca(Z, 1, random_state=0), lambda Z: vca(Z, 1, snr=0.0, random_state=0),
                   lambda Z: nfindr(Z, 1)):
            out = fn(xp.asarray(X))
            np.testing.assert_array_equal(out.indices, [7])
            assert out.endmembers.shape == (1, 15) and out.endmembers.device == xp.asarray(X).device
            np.testing.assert_allclose(to_numpy(out.endmembers)[0], X[7], atol=1e-2)


def test_vca_ignores_dead_pixels(xp):
    # an all-zero pixel has no projective scale: it used to give 0/0 and an SVD failure
    s = make_hyperspectral_scene(10, 10, 3, n_bands=20, n_pure_pixels=1, purity=0.9, snr=60, random_state=4)
    X = s.Y.reshape(-1, 20)
    expected = vca(X, 3, random_state=0).indices
    X = X.copy()
    X[5] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = vca(xp.asarray(X), 3, random_state=0)
    assert out.snr > 40  # the projective branch
    np.testing.assert_array_equal(out.indices, expected)
