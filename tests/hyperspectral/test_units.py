"""Hyperspectral denoisers and HySime do not depend on the units of the data, up to the float64 limits."""

import warnings

import numpy as np
import pytest

from optlib.datasets import make_hyperspectral_scene
from optlib.hyperspectral import (
    denoise_fasthyde,
    denoise_hyminor,
    denoise_hyres,
    denoise_otvca,
    estimate_noise,
    estimate_noise_std,
    hysime,
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
