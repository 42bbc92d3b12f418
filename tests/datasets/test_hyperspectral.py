"""Tests of the hyperspectral scene simulator and noise models."""

import math

import numpy as np
import pytest

from optlib.datasets import (
    add_awgn,
    add_band_noise,
    add_blank_bands,
    add_dead_lines,
    add_impulse_noise,
    add_stripes,
    load_earthlib_spectra,
    make_abundances,
    make_hyperspectral_scene,
    make_synthetic_spectra,
)


def _max_cosine(E):
    U = E / np.linalg.norm(E, axis=1, keepdims=True)
    C = U @ U.T
    np.fill_diagonal(C, -1.0)
    return C.max()


def test_earthlib_library_read_offline():
    pytest.importorskip("earthlib")
    lib = load_earthlib_spectra()
    assert lib.spectra.shape == (7261, 180)
    assert lib.wavelengths[0] == pytest.approx(0.4) and lib.wavelengths[-1] == pytest.approx(2.45)
    assert set(np.unique(lib.classes)) == {"bare", "vegetation", "built", "npv", "burned"}
    veg = load_earthlib_spectra("vegetation")
    assert veg.spectra.shape == (2000, 180) and np.all(veg.classes == "vegetation")


@pytest.mark.parametrize("source", ["synthetic", "earthlib"])
def test_scene_model_and_distinct_endmembers(source):
    if source == "earthlib":
        pytest.importorskip("earthlib")
    s = make_hyperspectral_scene(12, 10, 5, endmembers=source, min_angle=4.0, random_state=0)
    assert s.Y.shape == (12, 10, 180) and s.endmembers.shape == (5, 180) and s.abundances.shape == (12, 10, 5)
    np.testing.assert_allclose(s.clean, s.abundances @ s.endmembers, rtol=1e-12)
    np.testing.assert_array_equal(s.Y, s.clean)  # snr=inf
    assert _max_cosine(s.endmembers) < math.cos(math.radians(4.0))
    assert s.corrupted_bands.size == 0
    again = make_hyperspectral_scene(12, 10, 5, endmembers=source, min_angle=4.0, random_state=0)
    np.testing.assert_array_equal(again.Y, s.Y)


def test_earthlib_classes_spread_over_classes():
    pytest.importorskip("earthlib")
    s = make_hyperspectral_scene(4, 4, 4, endmembers="earthlib", classes=["bare", "vegetation"], random_state=3)
    lib = load_earthlib_spectra()
    labels = [lib.classes[list(lib.names).index(n)] for n in s.names]
    assert sorted(labels) == ["bare", "bare", "vegetation", "vegetation"]


@pytest.mark.parametrize("model", ["dirichlet", "grf", "blocks"])
def test_abundances_on_simplex_with_purity_cap(model):
    A = make_abundances(20, 24, 4, model=model, purity=0.7, random_state=1)
    assert A.shape == (20, 24, 4)
    assert A.min() >= 0.0
    np.testing.assert_allclose(A.sum(-1), 1.0, atol=1e-12)
    assert A.max() <= 0.7 + 1e-12
    assert A.max() > 0.69  # the cap binds for some pixels


def test_pure_pixels_present():
    A = make_abundances(10, 10, 3, purity=0.6, n_pure_pixels=2, random_state=0)
    flat = A.reshape(-1, 3)
    assert (flat.max(1) == 1.0).sum() == 6
    assert all(np.any(flat[:, j] == 1.0) for j in range(3))


def test_awgn_snr_formula():
    Y = make_hyperspectral_scene(40, 40, 3, random_state=0).clean
    Yn = add_awgn(Y, 25.0, random_state=0)
    measured = 10 * np.log10(np.mean(Y**2) / np.mean((Yn - Y) ** 2))
    assert measured == pytest.approx(25.0, abs=0.1)
    assert add_awgn(Y, math.inf) is not Y


def test_corruptions_hit_only_returned_bands_and_keep_input():
    Y = make_hyperspectral_scene(16, 20, 3, n_bands=30, random_state=0).clean
    before = Y.copy()
    for fn, kw in [(add_blank_bands, {}), (add_stripes, {}), (add_dead_lines, {}),
                   (add_impulse_noise, {"density": 0.3}), (add_band_noise, {"fraction": 0.2})]:
        Z, bands = fn(Y, random_state=1, **kw)
        np.testing.assert_array_equal(Y, before)
        changed = np.flatnonzero(np.any(Z != Y, axis=(0, 1)))
        assert bands.size > 0 and set(changed) <= set(bands)
        assert changed.size >= 1
    Z, bands = add_blank_bands(Y, bands=[3, 7], value=0.0)
    np.testing.assert_array_equal(bands, [3, 7])
    assert np.all(Z[..., [3, 7]] == 0.0)


def test_scene_corruption_bands_reported():
    s = make_hyperspectral_scene(16, 16, 3, n_bands=50, snr=30, corruption="blank", corrupted_fraction=0.1,
                                 random_state=2)
    assert s.corrupted_bands.size == 5
    assert np.all(s.Y[..., s.corrupted_bands] == 0.0)
    assert s.Y.dtype == np.float64
    assert make_hyperspectral_scene(4, 4, 2, dtype=np.float32, random_state=0).Y.dtype == np.float32


def test_bad_input():
    with pytest.raises(ValueError, match="Unknown model"):
        make_abundances(4, 4, 2, model="gauss")
    with pytest.raises(ValueError, match="purity"):
        make_abundances(4, 4, 4, purity=0.1)
    with pytest.raises(ValueError, match="Unknown corruption"):
        make_hyperspectral_scene(4, 4, 2, corruption="smudge")
    with pytest.raises(ValueError, match="bands must lie"):
        add_blank_bands(np.ones((3, 3, 5)), bands=[5])
    with pytest.raises(ValueError, match="3-dimensional"):
        add_stripes(np.ones((9, 5)))
    with pytest.raises(ValueError, match="degrees apart"):
        make_synthetic_spectra(50, 10, min_angle=60.0, random_state=0)
