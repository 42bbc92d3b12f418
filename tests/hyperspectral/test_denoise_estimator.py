"""Tests of HyperspectralDenoiser: equality with the functions, tiled Dask processing, devices."""

import numpy as np
import pytest

from optlib.datasets import make_hyperspectral_scene
from optlib.hyperspectral import HyperspectralDenoiser, denoise_fasthyde, denoise_hyres
from tests.conftest import to_numpy

da = pytest.importorskip("dask.array")


@pytest.fixture(scope="module")
def scene():
    return make_hyperspectral_scene(64, 64, 4, n_bands=30, abundances="grf", snr=20, random_state=0)


@pytest.mark.parametrize("method", ["hyres", "fasthyde"])
def test_fit_transform_equals_function(method, scene):
    out = HyperspectralDenoiser(method).fit_transform(scene.Y)
    ref = denoise_hyres(scene.Y) if method == "hyres" else denoise_fasthyde(scene.Y)
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("method", ["hyres", "fasthyde"])
def test_tiles_equal_in_memory(method, scene):
    est = HyperspectralDenoiser(method, wavelet="db2", level=2).fit(scene.Y)
    full = est.transform(scene.Y)
    lazy = est.transform(da.from_array(scene.Y, chunks=(32, 32, 10)))
    assert lazy.chunks[:2] == ((32, 32), (32, 32))
    np.testing.assert_allclose(lazy.compute(scheduler="sync"), full, rtol=0, atol=1e-12)
    # an overlap below the wavelets' footprint changes pixels near the tile borders only
    est.set_params(overlap=4)
    short = est.transform(da.from_array(scene.Y, chunks=(32, 32, 30))).compute(scheduler="sync")
    diff = np.abs(short - full).max(axis=2)
    assert diff.max() > 1e-6
    interior = np.ones((64, 64), bool)
    for b in (0, 32, 64):
        interior[max(b - 12, 0):b + 12, :] = False
        interior[:, max(b - 12, 0):b + 12] = False
    assert diff[interior].max() < 1e-12 if interior.any() else True


def test_fit_on_dask_window(scene):
    cube = da.from_array(scene.Y, chunks=(32, 32, 30))
    est = HyperspectralDenoiser("fasthyde", level=2, fit_size=48).fit(cube)
    assert est.n_components_ == 4 and est.n_features_in_ == 30
    out = est.transform(cube).compute(scheduler="sync")
    assert np.mean((out - scene.clean) ** 2) < 0.1 * np.mean((scene.Y - scene.clean) ** 2)


def test_device(xp, scene):
    Y = xp.asarray(scene.Y[:32, :32])
    est = HyperspectralDenoiser("hyres").fit(Y)
    out = est.transform(Y)
    assert out.device == Y.device and est.sigma_.device == Y.device
    np.testing.assert_allclose(to_numpy(out), denoise_hyres(scene.Y[:32, :32]), atol=1e-10)


def test_bad_input(scene):
    with pytest.raises(ValueError, match="Unknown method"):
        HyperspectralDenoiser("nope").fit(scene.Y)
    with pytest.raises(ValueError, match="3-D cube"):
        HyperspectralDenoiser().fit(scene.Y[:, :, 0])
    est = HyperspectralDenoiser().fit(scene.Y)
    with pytest.raises(ValueError, match="fitted on 30"):
        est.transform(scene.Y[:, :, :20])
    with pytest.raises(ValueError, match="poisson"):
        HyperspectralDenoiser("hyres", noise="poisson").fit(scene.Y)
