"""Tests of the L1/2-NMF baseline (multiplicative updates, delta-augmented sum-to-one)."""

import math

import numpy as np
import pytest

from optlib import ConvergenceWarning
from optlib.datasets import make_hyperspectral_scene
from optlib.hyperspectral import l_half_nmf
from optlib.hyperspectral._nmf import sparseness_lambda
from optlib.metrics import sad


@pytest.fixture(scope="module")
def scene():
    return make_hyperspectral_scene(16, 16, 3, n_bands=40, snr=40, n_pure_pixels=3, random_state=0)


def test_sparseness_lambda_formula():
    rng = np.random.default_rng(0)
    Y = rng.random((50, 7))
    expected = sum((math.sqrt(50) - np.abs(y).sum() / np.linalg.norm(y)) / (math.sqrt(50) - 1) for y in Y.T) / math.sqrt(7)
    assert sparseness_lambda(Y) == pytest.approx(expected, rel=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_recovers_endmembers_and_soft_sum_to_one(scene):
    res = l_half_nmf(scene.Y, 3, max_iter=400, tol=1e-7, random_state=0, history=True)
    assert res.abundances.shape == (16, 16, 3) and res.endmembers.shape == (3, 40)
    assert np.all(res.abundances >= 0) and np.all(res.endmembers >= 0)
    np.testing.assert_allclose(res.abundances.sum(axis=-1), 1.0, atol=0.02)  # soft ASC, delta = 15
    assert sad(res.endmembers, scene.endmembers) < 0.05
    assert res.lam == pytest.approx(sparseness_lambda(np.clip(scene.Y, 0, None)))
    objective = np.asarray(res.history["objective"])
    assert objective[-1] <= objective[0]


def test_random_state_reproducible_and_random_init(scene):
    kw = dict(init="random", max_iter=30, random_state=3)
    with pytest.warns(ConvergenceWarning):
        a = l_half_nmf(scene.Y, 3, **kw)
    with pytest.warns(ConvergenceWarning):
        b = l_half_nmf(scene.Y, 3, **kw)
    np.testing.assert_array_equal(a.endmembers, b.endmembers)
    assert not a.success and a.nit == 30


def test_negative_noise_is_clipped_and_input_untouched(scene):
    Y = scene.Y.reshape(-1, 40).copy()
    Y[0, :5] = -0.01
    before = Y.copy()
    res = l_half_nmf(Y, 3, max_iter=20, check_every=5, tol=1e-2, random_state=0)
    assert np.all(np.isfinite(res.abundances))
    np.testing.assert_array_equal(Y, before)


def test_bad_input(scene):
    with pytest.raises(ValueError, match="n_endmembers"):
        l_half_nmf(scene.Y, 41)
    with pytest.raises(ValueError, match="init"):
        l_half_nmf(scene.Y, 3, init="nfindr")
    with pytest.raises(ValueError, match="delta"):
        l_half_nmf(scene.Y, 3, delta=0.0)
    with pytest.raises(ValueError, match="Y"):
        l_half_nmf(scene.Y[0, 0], 3)


def test_given_start(scene):
    """A given (E, A) start is the VCA + FCLS start when it is that start (same iterates); bad shapes raise."""
    from optlib.hyperspectral._nmf import init_vca_fcls

    X = scene.Y.reshape(-1, scene.Y.shape[-1])
    E0, A0 = init_vca_fcls(np.clip(X, 0.0, None), 3, 0)
    kw = dict(max_iter=20, tol=0.0)
    with pytest.warns(ConvergenceWarning):
        ref = l_half_nmf(scene.Y, 3, random_state=0, **kw)
    with pytest.warns(ConvergenceWarning):
        res = l_half_nmf(scene.Y, 3, init=(E0, A0), **kw)
    np.testing.assert_allclose(res.endmembers, ref.endmembers, rtol=1e-12)
    np.testing.assert_allclose(res.abundances, ref.abundances, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="init endmembers"):
        l_half_nmf(scene.Y, 3, init=(E0[:, :-1], A0))
    with pytest.raises(TypeError, match="init"):
        l_half_nmf(scene.Y, 3, init=E0)
