"""Tests of the mixed-noise and TV hyperspectral denoisers: HyMiNoR, L1HyMixDe, OTVCA, outlier removal."""

import math
import warnings

import numpy as np
import pytest
from scipy.ndimage import median_filter as scipy_median
from scipy.optimize import linprog

from optlib.datasets import add_band_noise, add_impulse_noise, add_stripes, make_hyperspectral_scene
from optlib import ConvergenceWarning
from optlib.hyperspectral import (
    HyperspectralDenoiser,
    denoise_fasthyde,
    denoise_hyminor,
    denoise_hyres,
    denoise_l1hymixde,
    denoise_otvca,
)
from optlib.hyperspectral._denoise_common import median_filter, remove_outliers
from optlib.hyperspectral._denoise_mixed import spectral_l1_tv
from optlib.metrics import mpsnr
from tests.conftest import to_numpy


def _mixed(side, n_bands, seed=0):
    sc = make_hyperspectral_scene(side, side, 4, n_bands=n_bands, abundances="grf", snr=30, random_state=seed)
    Y, _ = add_band_noise(sc.Y, (15.0, 30.0), random_state=seed + 1)
    Y, _ = add_impulse_noise(Y, 0.05, fraction=0.1, random_state=seed + 2)
    Y, _ = add_stripes(Y, fraction=1 / 3, random_state=seed + 3)
    return Y, sc.clean


@pytest.fixture(scope="module")
def mixed():
    return _mixed(64, 60)


def test_spectral_l1_tv_reaches_the_lp_optimum():
    rng = np.random.default_rng(0)
    H = np.cumsum(rng.standard_normal((3, 8)), axis=1) + rng.laplace(size=(3, 8))
    lam = 0.7
    X, _, converged = spectral_l1_tv(np, H, lam, tol=1e-7, max_iter=5000)
    assert converged
    D = np.diff(np.eye(8), axis=0)
    for h, x in zip(H, X):  # min 1^T s + lam 1^T t, -s <= h - x <= s, -t <= D x <= t
        n, m = 8, 7
        c = np.concatenate([np.zeros(n), np.ones(n), lam * np.ones(m)])
        I, Z = np.eye(n), np.zeros((m, n))
        A = np.block([[-I, -I, np.zeros((n, m))], [I, -I, np.zeros((n, m))],
                      [D, Z, -np.eye(m)], [-D, Z, -np.eye(m)]])
        b = np.concatenate([-h, h, np.zeros(2 * m)])
        lp = linprog(c, A_ub=A, b_ub=b, bounds=[(None, None)] * (2 * n + m))
        ours = np.abs(h - x).sum() + lam * np.abs(np.diff(x)).sum()
        assert ours == pytest.approx(lp.fun, rel=1e-4)


def test_median_filter_and_outliers(xp):
    rng = np.random.default_rng(1)
    maps = np.cumsum(np.cumsum(rng.standard_normal((24, 20, 3)), axis=0), axis=1) * 0.01
    cube = maps @ rng.random((3, 12))  # three sources, 12 bands: spectrally predictable
    np.testing.assert_array_equal(median_filter(np, cube, 5), scipy_median(cube, size=(5, 5, 1), mode="mirror"))
    noisy = cube + 0.01 * rng.standard_normal(cube.shape)
    noisy[5, 7, 1] += 5.0  # an impulse
    noisy[:, 11, 2] += 0.2  # a stripe
    coarse, mask = remove_outliers(np, noisy)
    assert mask[5, 7, 1] and mask[:, 11, 2].all()
    assert mask.mean() < 0.03  # measured 0.013: the stripe column (0.004) and Gaussian tails
    assert abs(coarse[5, 7, 1] - cube[5, 7, 1]) < 0.1
    assert np.abs(coarse[:, 11, 2] - cube[:, 11, 2]).mean() < 0.03
    cx, mx = remove_outliers(xp, xp.asarray(noisy))
    assert cx.device == xp.asarray(noisy).device
    np.testing.assert_allclose(to_numpy(cx), coarse, atol=1e-12)
    np.testing.assert_array_equal(to_numpy(mx), mask)


def test_hyminor_removes_sparse_noise_left_by_hyres(mixed):
    Y, clean = mixed
    before = Y.copy()
    out, info = denoise_hyminor(Y, return_info=True)
    np.testing.assert_array_equal(Y, before)
    assert info["converged"]
    assert mpsnr(out, clean) - mpsnr(Y, clean) > 15.0  # measured 17.2 dB
    assert mpsnr(out, clean) > mpsnr(denoise_hyres(Y), clean) + 0.1  # measured +0.23 dB


def test_l1hymixde_beats_fasthyde_on_mixed_noise(mixed):
    Y, clean = mixed
    out, info = denoise_l1hymixde(Y.astype(np.float32), return_info=True)
    assert out.dtype == np.float32 and info["converged"]
    ref = mpsnr(denoise_fasthyde(Y, robust=False), clean)
    assert mpsnr(out, clean) - ref > 1.0  # measured 42.6 vs 40.8 dB
    assert info["outliers"].shape == Y.shape and 0.01 < info["outliers"].mean() < 0.1


@pytest.mark.slow
def test_fasthyde_robust_against_stripes():
    Y, clean = _mixed(64, 180)
    plain = denoise_fasthyde(Y, return_info=True)
    robust = denoise_fasthyde(Y, robust=True, return_info=True)
    assert robust[1]["n_components"] < plain[1]["n_components"]  # measured 8 vs 12 (4 endmembers)
    assert mpsnr(robust[0], clean) > mpsnr(plain[0], clean) + 2.0  # measured 41.1 vs 36.4 dB


def test_fasthyde_robust_keeps_gaussian_quality():
    sc = make_hyperspectral_scene(64, 64, 4, n_bands=60, abundances="grf", snr=40, random_state=6)
    plain = mpsnr(denoise_fasthyde(sc.Y), sc.clean)
    assert mpsnr(denoise_fasthyde(sc.Y, robust=True), sc.clean) > plain - 0.5  # no edges taken for outliers


@pytest.fixture(scope="module")
def sparse_noise():
    """48 x 48 x 40 cubes at 30 dB: clean, non-i.i.d. Gaussian, impulses (4 bands), stripes (13 bands)."""
    sc = make_hyperspectral_scene(48, 48, 4, n_bands=40, abundances="grf", snr=30, random_state=0)
    Yg, _ = add_band_noise(sc.Y, (15.0, 35.0), random_state=0)
    Yi, bands_i = add_impulse_noise(sc.Y, 0.05, fraction=0.1, random_state=0)
    Ys, bands_s = add_stripes(sc.Y, fraction=1 / 3, random_state=0)
    return sc, {"white": sc.Y, "bands": Yg, "impulse": Yi, "stripes": Ys}, set(bands_i), set(bands_s)


def test_outlier_detection_per_band(sparse_noise, xp):
    _, cubes, bands_i, bands_s = sparse_noise
    for name in ("white", "bands"):  # Gaussian noise: nothing detected, the cube comes back as is
        coarse, mask = remove_outliers(np, cubes[name], detect=True)
        assert not mask.any()
        np.testing.assert_array_equal(coarse, cubes[name])
    _, mask = remove_outliers(np, cubes["stripes"], detect=True)
    found = set(np.flatnonzero(mask.any(axis=(0, 1))))
    assert found <= bands_s and len(found) >= 11  # measured 12 of 13 (one band's offsets are too weak)
    coarse, mask = remove_outliers(np, cubes["impulse"], detect=True)
    assert set(np.flatnonzero(mask.any(axis=(0, 1)))) == bands_i
    Y = xp.asarray(cubes["impulse"])
    cx, mx = remove_outliers(xp, Y, detect=True)
    assert cx.device == Y.device
    np.testing.assert_array_equal(to_numpy(mx), mask)
    np.testing.assert_allclose(to_numpy(cx), coarse, atol=1e-12)
    with pytest.raises(ValueError, match="exclusive"):
        remove_outliers(np, cubes["white"], p=0.05, detect=True)


def test_fasthyde_auto_robust(sparse_noise):
    sc, cubes, _, _ = sparse_noise
    Y = cubes["bands"]  # Gaussian noise: "auto" changes nothing
    np.testing.assert_array_equal(denoise_fasthyde(Y, shifts=1), denoise_fasthyde(Y, shifts=1, robust=False))
    gain = {name: mpsnr(denoise_fasthyde(cubes[name], shifts=1), sc.clean)
            - mpsnr(denoise_fasthyde(cubes[name], shifts=1, robust=False), sc.clean) for name in ("impulse", "stripes")}
    assert gain["impulse"] > 0.8  # measured 46.1 vs 44.9 dB
    assert gain["stripes"] > 3.0  # measured 45.2 vs 41.2 dB
    with pytest.raises(ValueError, match="robust"):
        denoise_fasthyde(cubes["white"], robust="yes")


def test_estimator_auto_robust(sparse_noise):
    da = pytest.importorskip("dask.array")
    Y = sparse_noise[1]["stripes"]
    np.testing.assert_array_equal(HyperspectralDenoiser("fasthyde", shifts=1).fit_transform(Y),
                                  denoise_fasthyde(Y, shifts=1))
    # Dask cubes: "auto" removes nothing (tile by tile), True raises
    dY = da.from_array(Y, chunks=(24, 24, 40))
    tiled = HyperspectralDenoiser("fasthyde", level=3, shifts=1).fit(dY).transform(dY)
    plain = HyperspectralDenoiser("fasthyde", level=3, shifts=1, robust=False).fit_transform(Y)
    np.testing.assert_allclose(tiled.compute(), plain, atol=1e-10)
    with pytest.raises(TypeError, match="tile by tile"):
        HyperspectralDenoiser("fasthyde", robust=True).fit(dY)


def test_otvca_gains():
    sc = make_hyperspectral_scene(48, 48, 3, n_bands=40, abundances="grf", snr=20, random_state=4)
    out, info = denoise_otvca(sc.Y, return_info=True)
    assert info["n_components"] == 3
    V = np.asarray(info["basis"])
    np.testing.assert_allclose(V.T @ V, np.eye(3), atol=1e-10)
    assert mpsnr(out, sc.clean) - mpsnr(sc.Y, sc.clean) > 10.0  # measured 15.1 dB


@pytest.mark.parametrize("method", ["hyminor", "l1hymixde", "otvca"])
def test_array_api_device(xp, method):
    Y, _ = _mixed(32, 24, seed=5)
    fn = {"hyminor": denoise_hyminor, "l1hymixde": denoise_l1hymixde, "otvca": denoise_otvca}[method]
    kwargs = {} if method == "hyminor" else {"n_components": 4}
    Yx = xp.asarray(Y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out = fn(Yx, **kwargs)
        ref = fn(Y, **kwargs)
    assert out.device == Yx.device and out.dtype == Yx.dtype
    if method == "otvca":  # numba and array-API Chambolle kernels stop at different iterates
        np.testing.assert_allclose(to_numpy(out), ref, atol=1e-2)
    else:
        np.testing.assert_allclose(to_numpy(out), ref, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("fn", [denoise_hyminor, denoise_l1hymixde, denoise_otvca])
def test_bad_input(fn, mixed):
    Y = mixed[0][:16, :16, :12]
    with pytest.raises(ValueError, match="3-D cube"):
        fn(Y.reshape(-1, 12))
    bad = Y.copy()
    bad[1, 2, 3] = math.nan
    with pytest.raises(ValueError, match="NaN"):
        fn(bad)
    if fn is not denoise_hyminor:
        with pytest.raises(ValueError, match="n_components=13 exceeds the number of bands 12"):
            fn(Y, n_components=13)
    with pytest.raises(ValueError, match="max_iter"):
        fn(Y, max_iter=0)


def test_l1hymixde_bad_median_test(mixed):
    Y = mixed[0][:16, :16, :12]
    with pytest.raises(ValueError, match="window must be odd"):
        denoise_l1hymixde(Y, window=4)
    with pytest.raises(ValueError, match="p"):
        denoise_l1hymixde(Y, p=0.0)


def test_hyminor_warns_when_not_converged(mixed):
    with pytest.warns(ConvergenceWarning, match="max_iter=5"):
        _, info = denoise_hyminor(mixed[0][:16, :16, :12], max_iter=5, return_info=True)
    assert not info["converged"]


@pytest.mark.parametrize("method", ["hyminor", "otvca"])
def test_estimator_per_cube_methods(method, mixed):
    da = pytest.importorskip("dask.array")
    Y = mixed[0][:32, :32, :24]
    est = HyperspectralDenoiser(method, params={"max_iter": 20} if method == "otvca" else None)
    out = est.fit_transform(Y)
    ref = denoise_hyminor(Y) if method == "hyminor" else denoise_otvca(Y, max_iter=20)
    np.testing.assert_array_equal(out, ref)
    with pytest.raises(TypeError, match="tile by tile"):
        est.transform(da.from_array(Y, chunks=(16, 16, 24)))
