"""Tests of the spectral metrics (SAD, SAM, aRMSE, SRE)."""

import math

import numpy as np
import pytest

from optlib.metrics import abundance_rmse, match_endmembers, sad, sam, spectral_angle, sre
from tests.conftest import to_numpy


def test_spectral_angle_values(xp):
    x = xp.asarray([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    ref = xp.asarray([[0.0, 2.0], [2.0, 2.0], [0.0, 0.0]])
    np.testing.assert_allclose(to_numpy(spectral_angle(x, ref)), [math.pi / 2, 0.0, 0.0], atol=1e-7)
    np.testing.assert_allclose(to_numpy(spectral_angle(x, ref, degrees=True)), [90.0, 0.0, 0.0], atol=1e-5)
    assert sam(x, ref, degrees=True) == pytest.approx(30.0, abs=1e-5)


def test_sad_hungarian_matching(xp):
    rng = np.random.default_rng(0)
    R = rng.random((4, 30))
    perm = np.array([2, 0, 3, 1])
    E = R[perm] * 1.7 + 1e-3 * rng.random((4, 30))
    expected = np.mean([math.acos(np.dot(E[perm.argsort()][i], R[i]) /
                                  (np.linalg.norm(E[perm.argsort()][i]) * np.linalg.norm(R[i]))) for i in range(4)])
    Ex, Rx = xp.asarray(E), xp.asarray(R)
    np.testing.assert_array_equal(match_endmembers(Ex, Rx), perm.argsort())
    assert sad(Ex, Rx) == pytest.approx(expected, rel=1e-10)
    assert sad(Ex, Rx, match=False) > 10 * expected
    # extra estimated endmembers are left out
    extra = np.vstack([E, rng.random((2, 30))])
    assert sad(xp.asarray(extra), Rx) <= sad(Ex, Rx) + 1e-12


def test_abundance_rmse_and_sre(xp):
    A = np.array([[0.2, 0.8], [0.5, 0.5]])
    R = np.array([[0.8, 0.2], [0.5, 0.5]])
    expected = 100 * math.sqrt(np.mean((A - R) ** 2))
    assert abundance_rmse(xp.asarray(A), xp.asarray(R)) == pytest.approx(expected)
    assert abundance_rmse(xp.asarray(A), xp.asarray(R), permutation=[1, 0]) == pytest.approx(
        100 * math.sqrt(np.mean((A[:, ::-1] - R) ** 2)))
    x = np.array([1.0, 2.0, 3.0])
    r = np.array([1.0, 2.0, 2.0])
    assert sre(xp.asarray(x), xp.asarray(r)) == pytest.approx(10 * math.log10(9.0))
    assert sre(xp.asarray(r), xp.asarray(r)) == math.inf


def test_bad_input():
    with pytest.raises(ValueError, match="must match"):
        sam(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="fewer than"):
        match_endmembers(np.ones((2, 3)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="bands"):
        sad(np.ones((3, 4)), np.ones((3, 3)))
    # a repeated index used to score a wrong RMSE silently, an index past the end raised IndexError
    A = np.random.default_rng(0).random((5, 3))
    for perm in ([0, 0, 1], [0, 1, 5], [[0, 1, 2]], [0.0, 1.0, 2.0]):
        with pytest.raises(ValueError, match=r"permutation must hold distinct integers in \[0, 3\)"):
            abundance_rmse(A, A, permutation=perm)
    assert abundance_rmse(A, A[:, :2], permutation=np.array([0, 1])) == 0.0  # a selection of q > p


def test_spectral_angle_zero_spectra_and_extreme_scales(xp):
    rng = np.random.default_rng(3)
    R = rng.random((3, 10))
    # a zero estimate matches nothing: 90 degrees (it used to score a perfect 0)
    Z = np.vstack([np.zeros(10), R[1], np.zeros(10)])
    ref = np.vstack([R[0], R[1], np.zeros(10)])
    np.testing.assert_allclose(to_numpy(spectral_angle(xp.asarray(Z), xp.asarray(ref), degrees=True)),
                               [90.0, 0.0, 0.0], atol=1e-6)
    assert sad(xp.asarray(np.vstack([np.zeros(10), R[1:]])), xp.asarray(R), match=False) == pytest.approx(math.pi / 6)
    # float32 spectra of any scale: no overflow to NaN, no underflow to 0
    S = np.roll(R, 1, axis=1)
    expected = to_numpy(spectral_angle(xp.asarray(R), xp.asarray(S)))
    for scale in (1e-20, 1e20):
        got = spectral_angle(xp.asarray((R * scale).astype(np.float32)), xp.asarray((S * scale).astype(np.float32)))
        assert got.dtype == xp.float32
        np.testing.assert_allclose(to_numpy(got), expected, rtol=1e-5)
