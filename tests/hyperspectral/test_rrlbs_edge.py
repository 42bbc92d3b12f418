"""Edge cases of RRLbS: units of the data, blank bands at the ends and in runs."""

import warnings

import numpy as np
import pytest

from optlib import ConvergenceWarning
from optlib.hyperspectral import rrlbs


@pytest.fixture(scope="module")
def pixels():
    """200 pixels x 30 bands, 3 smooth endmembers, noise std 0.002."""
    rng = np.random.default_rng(0)
    x = np.linspace(0.0, 1.0, 30)
    E = np.stack([0.2 + 0.5 * np.exp(-(((x - m) / 0.2) ** 2)) for m in (0.2, 0.5, 0.8)])
    return rng.dirichlet(np.ones(3), size=200) @ E + 0.002 * rng.standard_normal((200, 30))


def _run(Y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return rrlbs(Y, 3, max_iter=15, random_state=0, **kw)


@pytest.mark.parametrize("scale", [1e-12, 1e-30, 1e6])
def test_results_do_not_depend_on_the_units(pixels, scale):
    # the endmember step's KKT tolerance was in abundance units: data of size 1e-12 stopped at E = 0
    ref = _run(pixels)
    res = _run(pixels * scale)
    np.testing.assert_allclose(res.endmembers / scale, ref.endmembers, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(res.abundances, ref.abundances, atol=1e-8)


def test_blank_bands_at_the_ends_copy_the_nearest_and_runs_are_linear(pixels):
    Y = pixels.astype(np.float32)
    Y[:, [0, 1, 29]] = 0.0
    Y[:, 10:14] = 0.0
    before = Y.copy()
    res = _run(Y)
    np.testing.assert_array_equal(Y, before)
    E = res.endmembers
    assert E.dtype == np.float32
    np.testing.assert_array_equal(res.blank_bands, [0, 1, 10, 11, 12, 13, 29])
    np.testing.assert_array_equal(E[:, 0], E[:, 2])
    np.testing.assert_array_equal(E[:, 1], E[:, 2])
    np.testing.assert_array_equal(E[:, 29], E[:, 28])
    t = (np.arange(10, 14) - 9) / 5.0  # bands 9 and 14 are the nearest informative ones
    np.testing.assert_allclose(E[:, 10:14], E[:, 9:10] * (1 - t) + E[:, 14:15] * t, rtol=1e-6)
    assert np.all(res.band_weights[res.blank_bands] == 0.0)
