"""Hyperspectral denoisers, HySime, endmember extraction, FCLS, RRLbS and SUnSAL do not depend on the units of the
data, up to the float64 limits."""

import warnings

import numpy as np
import pytest

from optlib.datasets import make_hyperspectral_scene
from optlib import ConvergenceWarning
from optlib.hyperspectral import (
    atgp,
    denoise_fasthyde,
    denoise_hyminor,
    denoise_hyres,
    denoise_otvca,
    estimate_noise,
    estimate_noise_std,
    fcls,
    hysime,
    nfindr,
    nnls,
    rrlbs,
    sunsal,
    vca,
)

SCALES = [1e-300, 1e-200, 1e200, 1e300]
DENOISERS = {
    "fasthyde": denoise_fasthyde,
    "hyres": denoise_hyres,
    "otvca": denoise_otvca,
    "hyminor": denoise_hyminor,
    "noise std": estimate_noise_std,
    "hysime basis": lambda cube: hysime(cube).basis,
    "noise": lambda cube: _noise_only(cube),
}


def _noise_only(cube):
    with np.errstate(over="ignore"):  # the noise correlation (squares of 1e200) is not representable
        return estimate_noise(cube)[0]


@pytest.fixture(scope="module")
def cube():
    return make_hyperspectral_scene(24, 24, 3, n_bands=40, snr=30, random_state=0).Y


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("name", list(DENOISERS))
def test_scaled_cube_gives_the_scaled_result(cube, name, scale):
    # the squares in the Gram matrices overflowed (1e200) or vanished (1e-200: "singular matrix")
    f = DENOISERS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PyWavelets' level warnings on a small cube
        ref = f(cube)
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            out = f(cube * scale)
    unit = 1.0 if name == "hysime basis" else scale
    np.testing.assert_allclose(out / unit, ref, rtol=0, atol=1e-9 * np.abs(ref).max())


def test_ordinary_units_are_computed_exactly_as_before(cube):
    # the Gram matrices are taken on the cube divided by a power of two: exact, so a change of units by a
    # power of two gives the same bits
    np.testing.assert_array_equal(denoise_fasthyde(cube * 2.0**-40) * 2.0**40, denoise_fasthyde(cube))
    np.testing.assert_array_equal(hysime(cube * 2.0**30).basis, hysime(cube).basis)


EXTRACTORS = {"vca": lambda Y: vca(Y, 3, random_state=0), "nfindr": lambda Y: nfindr(Y, 3), "atgp": lambda Y: atgp(Y, 3)}


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("name", list(EXTRACTORS))
def test_extraction_in_any_units(cube, name, scale):
    # VCA picked other pixels at 1e-200 (no error) and overflowed at 1e200
    ref = EXTRACTORS[name](cube)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out = EXTRACTORS[name](cube * scale)
    np.testing.assert_array_equal(out.indices, ref.indices)
    np.testing.assert_allclose(out.endmembers / scale, ref.endmembers, rtol=1e-10)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("solver", [fcls, nnls])
def test_abundances_in_any_units(cube, solver, scale):
    # FCLS returned abundances off by 1.0 at 1e-300 (the Gram matrix of the endmembers underflowed), no error
    E = make_hyperspectral_scene(24, 24, 3, n_bands=40, snr=30, random_state=0).endmembers
    ref = solver(cube, E)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out = solver(cube * scale, E * scale)
    np.testing.assert_allclose(out, ref, atol=1e-12)


@pytest.mark.parametrize("scale", SCALES)
def test_rrlbs_in_any_units(cube, scale):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = rrlbs(cube, 3, max_iter=5, history=True, random_state=0)
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            out = rrlbs(cube * scale, 3, max_iter=5, history=True, random_state=0)
        given = rrlbs(cube * scale, 3, lam=ref.lam * scale, max_iter=5, random_state=0)
    np.testing.assert_allclose(out.endmembers / scale, ref.endmembers, rtol=1e-9)
    np.testing.assert_allclose(out.abundances, ref.abundances, atol=1e-10)
    np.testing.assert_allclose(out.band_weights * scale, ref.band_weights, rtol=1e-9)
    for key in ("fun", "lam"):
        np.testing.assert_allclose(out[key] / scale, ref[key], rtol=1e-9)
    np.testing.assert_allclose(np.asarray(out.history["objective"]) / scale, ref.history["objective"], rtol=1e-9)
    np.testing.assert_allclose(given.endmembers / scale, ref.endmembers, rtol=1e-9)


def _sunsal_problem(cube):
    """Six-by-six pixels of the cube and a library: its three endmembers and five positive spectra."""
    E = make_hyperspectral_scene(24, 24, 3, n_bands=40, snr=30, random_state=0).endmembers
    extra = np.abs(np.random.default_rng(0).standard_normal((5, E.shape[1]))) * E.mean()
    return cube[:6, :6], np.r_[E, extra]


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("sum_to_one", [False, True])
def test_sunsal_in_any_units(cube, scale, sum_to_one):
    # library scaled with the cube: D D^T underflowed (1e-300, 1e-200) or overflowed (1e200) in the matmul
    Y, D = _sunsal_problem(cube)
    ref = sunsal(Y, D, sum_to_one=sum_to_one, history=True, max_iter=300)
    with np.errstate(over="raise", divide="raise", invalid="raise", under="raise"):
        out = sunsal(Y * scale, D * scale, sum_to_one=sum_to_one, history=True, max_iter=300)
    assert out.success and out.nit == ref.nit
    np.testing.assert_allclose(out.x, ref.x, rtol=0, atol=1e-12)
    for key in ("primal_residual", "dual_residual"):  # relative: no units
        np.testing.assert_allclose(out.history[key], ref.history[key], rtol=1e-8)


@pytest.mark.parametrize("scale", [1e-100, 2.0**-30, 1e100])
def test_sunsal_lam_rho_and_objective_in_data_units_squared(cube, scale):
    # lam, rho, fun and the recorded objective and rho scale with the square of the units (here representable)
    Y, D = _sunsal_problem(cube)
    seen = []
    ref = sunsal(Y, D, lam=1e-3, rho=0.3, history=True, max_iter=300)
    out = sunsal(Y * scale, D * scale, lam=1e-3 * scale**2, rho=0.3 * scale**2, history=True, max_iter=300,
                 callback=lambda r: seen.append((r.objective, r.rho)))
    assert out.nit == ref.nit
    np.testing.assert_allclose(out.x, ref.x, rtol=0, atol=1e-12)
    unit2 = scale**2
    assert out.fun / unit2 == pytest.approx(ref.fun, rel=1e-10)
    assert out.rho / unit2 == pytest.approx(0.3, rel=1e-14)
    for key in ("objective", "rho"):
        np.testing.assert_allclose(np.asarray(out.history[key]) / unit2, ref.history[key], rtol=1e-10)
    np.testing.assert_allclose(np.array(seen), np.c_[out.history["objective"], out.history["rho"]], rtol=1e-14)
    # the KKT exit at X = 0 (lam above every B): fun = 1/2 ||Y||^2 and rho in data units as well
    zero = sunsal(Y * scale, D * scale, lam=1e3 * scale**2)
    assert zero.nit == 0 and zero.fun / unit2 == pytest.approx(0.5 * np.sum(Y**2), rel=1e-12)
    assert zero.rho / unit2 == pytest.approx(0.05 * np.sum(D * D) / D.shape[0], rel=1e-12)
