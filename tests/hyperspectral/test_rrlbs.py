"""Tests of RRLbS: majorisation, monotone objective, constraints, guidance map, robustness, devices, bad input."""

import numpy as np
import pytest
from scipy.optimize import minimize

from optlib import ConvergenceWarning
from optlib.datasets import make_hyperspectral_scene
from optlib.hyperspectral import fcls, rrlbs
from optlib.hyperspectral._rrlbs import _Model, _project_capped_simplex
from optlib.metrics import abundance_rmse, sad
from optlib.metrics._spectral import match_endmembers
from tests.conftest import to_numpy


@pytest.fixture(scope="module")
def scene():
    return make_hyperspectral_scene(12, 12, 3, n_bands=30, snr=25, purity=0.9, random_state=0)


def _model(X, lam=0.05):
    return _Model(X, lam, 0.5, 0.1, 0.2 * X.shape[0], 1e-6, 1e-3, 1e-10, "auto")


def test_capped_simplex_projection_matches_qp():
    import array_api_compat.numpy as xp

    rng = np.random.default_rng(0)
    v = rng.standard_normal(12)
    h = _project_capped_simplex(xp, v, 4.0)
    ref = minimize(lambda z: 0.5 * np.sum((z - v) ** 2), np.full(12, 1 / 3), jac=lambda z: z - v,
                   bounds=[(0, 1)] * 12, constraints={"type": "eq", "fun": lambda z: z.sum() - 4.0},
                   method="SLSQP", options={"ftol": 1e-14, "maxiter": 500}).x
    np.testing.assert_allclose(h, ref, atol=1e-7)
    assert h.sum() == pytest.approx(4.0, abs=1e-12)


def test_surrogate_of_the_abundance_step_majorises_the_objective(scene):
    """At A_t the surrogate touches J; elsewhere (any feasible A) it lies above J."""
    X = scene.Y.reshape(-1, 30)
    model = _model(X)
    rng = np.random.default_rng(1)
    E = scene.endmembers * rng.uniform(0.9, 1.1, size=scene.endmembers.shape)
    A_t = fcls(X, E)
    h = model.update_h(A_t)
    s = model.band_norms(E, A_t)
    w = 0.5 / s
    C = model.q * (A_t + model.eps_p) ** (model.q - 1)

    def J(A):
        return sum(model.terms(E, A, h))

    def surrogate(A):
        R = X - A @ E
        loss = np.sum(w * (np.sum(R * R, axis=0) + model.eps**2) + 0.5 * s)
        tangent = np.sum((A_t + model.eps_p) ** model.q, axis=1) + np.sum(C * (A - A_t), axis=1)
        return loss + model.lam * (np.sum(h * tangent) + 0.5 * model.mu * np.sum(h * h))

    assert surrogate(A_t) == pytest.approx(J(A_t), rel=1e-12)
    for _ in range(5):
        A = rng.dirichlet(np.ones(3) * 0.5, size=X.shape[0])
        assert surrogate(A) >= J(A) - 1e-12 * abs(J(A))
    A_new = model.update_A(E, A_t, h)  # the exact minimiser of the surrogate
    assert surrogate(A_new) <= surrogate(A_t) + 1e-12 and J(A_new) <= J(A_t) + 1e-12


@pytest.mark.parametrize("corruption", [None, "stripes"])
def test_objective_is_non_increasing(corruption):
    s = make_hyperspectral_scene(12, 12, 4, n_bands=30, snr=20, purity=0.9, corruption=corruption,
                                 random_state=1)
    with pytest.warns(ConvergenceWarning):  # tol=0 runs all iterations
        res = rrlbs(s.Y, 4, max_iter=40, tol=0.0, history=True, random_state=0)
    J = np.asarray(res.history["objective"])
    assert len(J) == 41 and J[-1] < J[0]
    assert np.all(np.diff(J) <= 1e-12 * np.abs(J[1:]))
    np.testing.assert_allclose(J, np.asarray(res.history["loss"]) + np.asarray(res.history["penalty"]))


def test_constraints_and_guidance_map(scene):
    res = rrlbs(scene.Y, 3, random_state=0)
    assert res.success
    A, E, h = res.abundances, res.endmembers, res.guidance
    assert A.shape == (12, 12, 3) and E.shape == (3, 30) and h.shape == (12, 12)
    assert np.all(A >= 0) and np.all(E >= 0)
    np.testing.assert_allclose(A.sum(axis=-1), 1.0, atol=1e-10)
    assert np.all((h >= 0) & (h <= 1)) and h.sum() == pytest.approx(0.1 * 144, rel=1e-9)
    # the map goes to the purest pixels: its support has the largest abundance maxima
    purity = A.max(axis=-1)
    assert purity[h > 0.5].mean() > purity[h == 0].mean()


@pytest.mark.slow
def test_stripes_rrlbs_beats_vca_fcls():
    """Measured on this scene: RRLbS SAD 0.039 and RMSE 4.8 against VCA + FCLS 0.083 and 7.9."""
    s = make_hyperspectral_scene(24, 24, 5, n_bands=60, endmembers="synthetic", snr=30, purity=0.9,
                                 corruption="stripes", random_state=1)
    from optlib.hyperspectral._nmf import init_vca_fcls

    Y = s.Y.reshape(-1, s.Y.shape[-1])
    E0, A0 = init_vca_fcls(Y, 5, 0)
    res = rrlbs(Y, 5, init=(E0, A0))
    ref = s.abundances.reshape(-1, 5)

    def scores(E, A):
        return sad(E, s.endmembers), abundance_rmse(A, ref, permutation=match_endmembers(E, s.endmembers))

    sad_rr, rmse_rr = scores(res.endmembers, res.abundances)
    sad_vca, rmse_vca = scores(E0, A0)
    assert sad_rr < 0.6 * sad_vca and rmse_rr < 0.7 * rmse_vca


def test_array_api_path_on_the_input_device(xp, scene):
    X = scene.Y.reshape(-1, 30)
    Xx = xp.asarray(X)
    kw = dict(max_iter=3, tol=0.0, random_state=0)
    with pytest.warns(ConvergenceWarning):
        res = rrlbs(Xx, 3, engine="xp", **kw)
    with pytest.warns(ConvergenceWarning):
        ref = rrlbs(X, 3, **kw)
    assert res.abundances.device == Xx.device and res.endmembers.dtype == Xx.dtype
    np.testing.assert_allclose(to_numpy(res.abundances), ref.abundances, atol=1e-8)
    np.testing.assert_allclose(to_numpy(res.guidance), ref.guidance, atol=1e-8)


def test_float32_and_input_untouched(scene):
    Y = scene.Y.astype(np.float32)
    before = Y.copy()
    res = rrlbs(Y, 3, random_state=0)
    assert res.abundances.dtype == np.float32 and res.endmembers.dtype == np.float32
    np.testing.assert_array_equal(Y, before)


def test_bad_input(scene):
    with pytest.raises(ValueError, match="n_endmembers"):
        rrlbs(scene.Y, 31)
    with pytest.raises(ValueError, match="q"):
        rrlbs(scene.Y, 3, q=0.0)
    with pytest.raises(ValueError, match="guidance_fraction"):
        rrlbs(scene.Y, 3, guidance_fraction=1.5)
    with pytest.raises(ValueError, match="init endmembers"):
        rrlbs(scene.Y, 3, init=(np.ones((3, 29)), np.ones((144, 3)) / 3))
    with pytest.raises(ValueError, match="init abundances"):
        rrlbs(scene.Y, 3, init=(np.ones((3, 30)), np.ones((100, 3)) / 3))
    with pytest.raises(TypeError, match="init"):
        rrlbs(scene.Y, 3, init=np.ones((3, 30)))
    Y = scene.Y.copy()
    Y[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="Y"):
        rrlbs(Y, 3)


def test_spectral_unmixing_rrlbs_method():
    from optlib.hyperspectral import SpectralUnmixing

    s = make_hyperspectral_scene(12, 12, 3, n_bands=30, snr=30, purity=0.9, corruption="stripes",
                                 corrupted_fraction=0.1, random_state=2)
    X = s.Y.reshape(-1, 30)
    est = SpectralUnmixing(3, method="rrlbs", random_state=0).fit(X)
    res = rrlbs(X, 3, random_state=0)
    np.testing.assert_allclose(est.endmembers_, res.endmembers)
    w = est.band_weights_
    clean = np.setdiff1d(np.arange(30), s.corrupted_bands)
    assert w[s.corrupted_bands].mean() < 0.85 * w[clean].mean()  # striped bands weigh less (measured 0.79)
    A = est.transform(X)
    np.testing.assert_allclose(A.sum(axis=1), 1.0, atol=1e-10)
    scale = np.sqrt(w)
    np.testing.assert_allclose(A, fcls(X * scale, est.endmembers_ * scale))


def test_vca_ensemble_init_averages_matched_runs():
    """One run is VCA + FCLS; 30 matched runs give endmembers closer to the truth at 10 dB than one run does."""
    from optlib.hyperspectral import vca
    from optlib.hyperspectral._rrlbs import init_vca_ensemble

    s = make_hyperspectral_scene(20, 20, 3, n_bands=30, endmembers="synthetic", snr=10, purity=0.9,
                                 random_state=3)
    X = s.Y.reshape(-1, 30)
    E1, A1 = init_vca_ensemble(X, 3, 1, 0)
    np.testing.assert_allclose(E1, np.clip(vca(X, 3, random_state=np.random.default_rng(0)).endmembers, 0, None))
    np.testing.assert_allclose(A1, fcls(X, E1))
    E, A = init_vca_ensemble(X, 3, 30, 0)
    np.testing.assert_allclose(A.sum(axis=1), 1.0, atol=1e-10)
    single = np.mean([sad(np.clip(vca(X, 3, random_state=r).endmembers, 0, None), s.endmembers) for r in range(10)])
    assert sad(E, s.endmembers) < 0.9 * single  # measured 0.080 against a mean of 0.097
    with pytest.raises(ValueError, match="init"):
        rrlbs(X, 3, init="random")
    with pytest.raises(ValueError, match="n_vca_runs"):
        rrlbs(X, 3, init="vca-ensemble", n_vca_runs=0)


def test_band_interpolation_matrix():
    from optlib.hyperspectral._rrlbs import _band_interpolation

    blank = np.array([True, False, False, True, True, False, True])
    E = np.array([[1.0, 4.0, 7.0]])  # the informative bands 1, 2, 5
    np.testing.assert_allclose(E @ _band_interpolation(blank), [[1.0, 1.0, 4.0, 5.0, 6.0, 7.0, 7.0]])


def test_blank_bands_are_left_out_and_interpolated():
    """Zero bands: RRLbS fits the other bands as if they were absent and fills E there from the neighbours.

    Measured on this scene (bands 0, 4, 14 blank; 14 iterations): SAD 0.020 against 0.289 when the blank bands are
    fitted (E = 0 there); on the informative bands both give 0.019, and the abundances agree to 5e-5.
    """
    s = make_hyperspectral_scene(12, 12, 3, n_bands=30, snr=30, purity=0.9, corruption="blank", random_state=0)
    kw = dict(max_iter=30, tol=1e-4, random_state=0)
    res = rrlbs(s.Y, 3, **kw)
    fit = rrlbs(s.Y, 3, blank_bands="fit", **kw)
    np.testing.assert_array_equal(res.blank_bands, [0, 4, 14])
    np.testing.assert_array_equal(res.blank_bands, s.corrupted_bands)
    assert fit.blank_bands.size == 0 and np.all(fit.endmembers[:, [0, 4, 14]] == 0.0)
    E = res.endmembers
    np.testing.assert_allclose(E[:, 0], E[:, 1])  # nearest informative band beyond the edge
    np.testing.assert_allclose(E[:, 4], 0.5 * (E[:, 3] + E[:, 5]))
    np.testing.assert_allclose(E[:, 14], 0.5 * (E[:, 13] + E[:, 15]))
    good = np.setdiff1d(np.arange(30), s.corrupted_bands)
    w = res.band_weights
    assert np.all(w[[0, 4, 14]] == 0.0) and np.all(w[good] > 0)
    assert sad(E, s.endmembers) < 0.03 and sad(fit.endmembers, s.endmembers) > 0.25
    assert sad(E[:, good], s.endmembers[:, good]) == pytest.approx(
        sad(fit.endmembers[:, good], s.endmembers[:, good]), abs=1e-3)
    np.testing.assert_allclose(res.abundances, fit.abundances, atol=1e-4)
    # a given start is cut to the informative bands; without blank bands nothing changes
    again = rrlbs(s.Y, 3, init=(fit.endmembers, fit.abundances.reshape(-1, 3)), max_iter=1, tol=1.0)
    assert again.endmembers.shape == (3, 30) and np.all(again.band_weights[[0, 4, 14]] == 0.0)
    clean = make_hyperspectral_scene(12, 12, 3, n_bands=30, snr=30, purity=0.9, random_state=0)
    a, b = rrlbs(clean.Y, 3, **kw), rrlbs(clean.Y, 3, blank_bands="fit", **kw)
    assert a.blank_bands.size == 0
    np.testing.assert_array_equal(a.endmembers, b.endmembers)


def test_blank_bands_on_the_input_device(xp):
    s = make_hyperspectral_scene(8, 8, 3, n_bands=20, snr=30, purity=0.9, corruption="blank",
                                 corrupted_fraction=0.15, random_state=4)
    X = s.Y.reshape(-1, 20)
    Xx = xp.asarray(X)
    kw = dict(max_iter=3, tol=0.0, random_state=0)
    with pytest.warns(ConvergenceWarning):
        res = rrlbs(Xx, 3, engine="xp", **kw)
    with pytest.warns(ConvergenceWarning):
        ref = rrlbs(X, 3, **kw)
    assert ref.blank_bands.size == 3
    assert res.endmembers.device == Xx.device and res.band_weights.device == Xx.device
    np.testing.assert_array_equal(res.blank_bands, ref.blank_bands)
    np.testing.assert_allclose(to_numpy(res.endmembers), ref.endmembers, atol=1e-8)
    np.testing.assert_allclose(to_numpy(res.band_weights), ref.band_weights, rtol=1e-8)


def test_blank_bands_bad_input(scene):
    with pytest.raises(ValueError, match="blank_bands"):
        rrlbs(scene.Y, 3, blank_bands="drop")
    Y = scene.Y.copy()
    Y[..., 2:] = 0.5  # 2 informative bands left for 3 endmembers
    with pytest.raises(ValueError, match="2 non-constant bands"):
        rrlbs(Y, 3)


def test_single_pixel_has_no_blank_bands(scene):
    # one pixel is constant on every band: that must not read as "every band is blank"
    Y = scene.Y.reshape(-1, scene.Y.shape[-1])[:1]
    res = rrlbs(Y, 1, max_iter=5)
    assert res.blank_bands.size == 0
    assert res.endmembers.shape == (1, Y.shape[1])
