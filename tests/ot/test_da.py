"""Tests of optlib.ot transport estimators (SNSTransport, SparsityConstrainedTransport) against POT's ot.da."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from optlib._backend import device
from optlib.ot import SNSTransport, SparsityConstrainedTransport
from tests.conftest import to_numpy

ot = pytest.importorskip("ot")

def clouds(n_s=30, n_t=25, d=2, seed=0):
    rng = np.random.default_rng(seed)
    Xs = rng.normal(size=(n_s, d))
    Xt = 0.7 * rng.normal(size=(n_t, d)) + np.r_[1.5, 0.5, np.zeros(d - 2)]
    return Xs, Xt


def pot_sinkhorn(reg_e, norm=None, metric="sqeuclidean"):
    # Tight tolerance so that POT converges; "ferradans" is POT's nearest-neighbour out-of-sample rule.
    return ot.da.SinkhornTransport(
        reg_e=reg_e,
        norm=norm,
        metric=metric,
        max_iter=100_000,
        tol=1e-13,
        out_of_sample_map="ferradans",
    )


def barycentric_reference(P, Xs, Xt, X):
    """Barycentric map of training points, NN displacement for others, zero-mass rows kept in place."""
    mass = P.sum(1)
    images = np.where(mass[:, None] > 0, P @ Xt / np.where(mass > 0, mass, 1.0)[:, None], Xs)
    idx = np.argmin(((X[:, None, :] - Xs[None, :, :]) ** 2).sum(-1), axis=1)
    return X + images[idx] - Xs[idx]


# ------------------------------------------------------------------ SNSTransport vs POT


@pytest.mark.parametrize("norm, reg_e", [(None, 0.5), ("median", 0.1), ("max", 0.05), ("log", 0.1), ("loglog", 0.1)])
def test_sns_matches_pot_sinkhorn_transport(norm, reg_e):
    Xs, Xt = clouds()
    est = SNSTransport(reg_e=reg_e, norm=norm).fit(Xs=Xs, Xt=Xt)
    ref = pot_sinkhorn(reg_e, norm).fit(Xs=Xs, Xt=Xt)
    # Same cost normalisation as POT.
    np.testing.assert_allclose(est.cost_, ref.cost_, rtol=0, atol=1e-12)
    assert est.norm_cost_ == pytest.approx(ref.norm_cost_) if norm in ("median", "max") else est.norm_cost_ is None
    np.testing.assert_allclose(est.mu_s, ref.mu_s)
    np.testing.assert_allclose(est.mu_t, ref.mu_t)
    assert est.coupling_.shape == (30, 25)
    assert np.max(np.abs(est.coupling_ - ref.coupling_)) < 1e-7
    # Barycentric mapping of training points, both directions.
    np.testing.assert_allclose(est.transform(Xs=Xs), ref.transform(Xs=Xs), rtol=0, atol=1e-6)
    np.testing.assert_allclose(est.inverse_transform(Xt=Xt), ref.inverse_transform(Xt=Xt), rtol=0, atol=1e-6)
    np.testing.assert_allclose(est.fit_transform(Xs=Xs, Xt=Xt), ref.transform(Xs=Xs), rtol=0, atol=1e-6)


def test_sns_nearest_neighbour_out_of_sample_matches_pot():
    Xs, Xt = clouds(seed=1)
    est = SNSTransport(reg_e=0.2, out_of_sample_map="ferradans").fit(Xs=Xs, Xt=Xt)
    ref = pot_sinkhorn(0.2).fit(Xs=Xs, Xt=Xt)
    rng = np.random.default_rng(5)
    Xn = rng.normal(size=(70, 2))
    for bs in (16, 128):  # several batches, and one
        np.testing.assert_allclose(
            est.transform(Xs=Xn, batch_size=bs), ref.transform(Xs=Xn, batch_size=bs), rtol=0, atol=1e-6
        )
        np.testing.assert_allclose(
            est.inverse_transform(Xt=Xn, batch_size=bs), ref.inverse_transform(Xt=Xn, batch_size=bs), rtol=0, atol=1e-6
        )
    # Displacement of the nearest training point: a training point nudged slightly moves with it.
    np.testing.assert_allclose(est.transform(Xs=Xs[:5] + 1e-9), est.transform(Xs=Xs)[:5] + 1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "norm, reg_e, metric",
    [(None, 0.5, "sqeuclidean"), ("median", 0.1, "sqeuclidean"), ("max", 0.05, "euclidean"),
     ("loglog", 0.1, "cityblock"), (None, 1.0, "sqeuclidean")],
)
def test_sns_continuous_map_matches_pot_default(norm, reg_e, metric):
    # POT's default out-of-sample map (the entropic map of the dual potentials): same reg, same data,
    # same images of new points, both directions, several batches.
    Xs, Xt = clouds(seed=1)
    est = SNSTransport(reg_e=reg_e, norm=norm, metric=metric).fit(Xs=Xs, Xt=Xt)
    ref = ot.da.SinkhornTransport(reg_e=reg_e, norm=norm, metric=metric, max_iter=100_000, tol=1e-13)
    ref.fit(Xs=Xs, Xt=Xt)
    assert ref.out_of_sample_map == est.out_of_sample_map == "continuous"
    Xn = 1.5 * np.random.default_rng(5).normal(size=(70, 2))
    np.testing.assert_allclose(est.transform(Xs=Xn, batch_size=16), ref.transform(Xs=Xn, batch_size=16), atol=1e-6)
    np.testing.assert_allclose(est.inverse_transform(Xt=Xn), ref.inverse_transform(Xt=Xn), atol=1e-6)
    np.testing.assert_allclose(est.transform(Xs=Xs), ref.transform(Xs=Xs), atol=1e-6)
    # On the training samples the continuous map is the barycentric map of the coupling.
    P = est.coupling_
    np.testing.assert_allclose(est.transform(Xs=Xs), P @ Xt / P.sum(1)[:, None], atol=1e-8)
    np.testing.assert_allclose(est.inverse_transform(Xt=Xt), P.T @ Xs / P.sum(0)[:, None], atol=1e-8)
    np.testing.assert_allclose(est.log_v_, ref.log_["log_v"] - ref.log_["log_v"][0] + est.log_v_[0], atol=1e-6)


def test_sns_continuous_map_is_stable_far_away():
    # Far from the training samples exp(-c / reg) underflows (POT then returns NaN); the map is computed
    # with shifted logits: a far point goes to the target sample nearest to it.
    Xs, Xt = clouds(20, 15, seed=2)
    est = SNSTransport(reg_e=0.01).fit(Xs=Xs, Xt=Xt)
    far = np.array([[200.0, 0.0], [0.0, -300.0]])
    T = est.transform(Xs=far)
    nearest = Xt[np.argmin(((far[:, None, :] - Xt[None, :, :]) ** 2).sum(-1), axis=1)]
    np.testing.assert_allclose(T, nearest, atol=1e-12)


def test_sns_continuous_map_zero_weight_targets_get_nothing():
    Xs, Xt = clouds(15, 12, seed=3)
    b = np.ones(12)
    b[[0, 5]] = 0.0
    est = SNSTransport(reg_e=0.3).fit(Xs=Xs, Xt=Xt, b=b)
    assert np.all(np.isneginf(est.log_v_[[0, 5]]))
    ref = SNSTransport(reg_e=0.3).fit(Xs=Xs, Xt=np.delete(Xt, [0, 5], axis=0))
    Xn = np.random.default_rng(0).normal(size=(9, 2))
    np.testing.assert_allclose(est.transform(Xs=Xn), ref.transform(Xs=Xn), atol=1e-8)


@pytest.mark.parametrize("metric", ["euclidean", "cityblock"])
def test_metrics_match_pot(metric):
    Xs, Xt = clouds(12, 10, d=3, seed=2)
    est = SNSTransport(reg_e=0.5, metric=metric).fit(Xs=Xs, Xt=Xt)
    ref = pot_sinkhorn(0.5, metric=metric).fit(Xs=Xs, Xt=Xt)
    np.testing.assert_allclose(est.cost_, ref.cost_, rtol=1e-12, atol=1e-12)
    assert np.max(np.abs(est.coupling_ - ref.coupling_)) < 1e-7


def test_log_and_attributes():
    Xs, Xt = clouds(15, 12)
    est = SNSTransport(reg_e=0.5).fit(Xs=Xs, Xt=Xt)
    assert est.log_ == {}
    assert isinstance(est.n_iter_, int) and est.n_features_in_ == 2
    est = SNSTransport(reg_e=0.5, log=True).fit(Xs=Xs, Xt=Xt)
    assert est.log_["result"].success and est.n_iter_ == est.log_["niter"]
    np.testing.assert_array_equal(est.xs_, Xs)
    np.testing.assert_array_equal(est.xt_, Xt)


def test_sample_weights():
    Xs, Xt = clouds(15, 12)
    a = np.arange(1.0, 16.0)
    b = np.ones(12)
    est = SNSTransport(reg_e=0.5).fit(Xs=Xs, Xt=Xt, a=a, b=b)
    np.testing.assert_allclose(est.mu_s, a / a.sum())
    np.testing.assert_allclose(est.coupling_.sum(1), a / a.sum(), atol=1e-9)
    np.testing.assert_allclose(est.coupling_.sum(0), b / b.sum(), atol=1e-9)
    ref = ot.sinkhorn(a / a.sum(), b / b.sum(), est.cost_, 0.5, numItermax=100_000, stopThr=1e-13)
    assert np.max(np.abs(est.coupling_ - ref)) < 1e-7


# ------------------------------------------------------------------ SparsityConstrainedTransport


@pytest.mark.parametrize("max_nz", [1, 2, 3])
def test_sparsity_constrained_invariants(max_nz):
    Xs, Xt = clouds(20, 15, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the k-sparse semi-dual is nonsmooth
        est = SparsityConstrainedTransport(reg=0.5, max_nz=max_nz, norm="max").fit(Xs=Xs, Xt=Xt)
    P = est.coupling_
    assert P.shape == (20, 15) and np.all(P >= 0)
    assert np.max(np.count_nonzero(P, axis=0)) <= max_nz
    np.testing.assert_allclose(P.sum(0), est.mu_t, rtol=0, atol=1e-12)
    np.testing.assert_allclose(est.mu_t, np.full(15, 1 / 15))


def test_sparsity_constrained_dual_formulation():
    Xs, Xt = clouds(20, 15, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = SparsityConstrainedTransport(reg=0.5, max_nz=2, formulation="dual", norm="max").fit(Xs=Xs, Xt=Xt)
    assert np.max(np.count_nonzero(est.coupling_, axis=0)) <= 2
    np.testing.assert_allclose(est.coupling_.sum(0), est.mu_t, atol=1e-3)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # nonsmooth k = 1 semi-dual
def test_max_nz_one_maps_onto_targets():
    Xs, Xt = clouds(25, 25, seed=4)
    est = SparsityConstrainedTransport(reg=1e-2, max_nz=1).fit(Xs=Xs, Xt=Xt)
    T = est.transform(Xs=Xs)
    dist_to_targets = np.sqrt(((T[:, None, :] - Xt[None, :, :]) ** 2).sum(-1)).min(1)
    assert np.max(dist_to_targets) < 1e-6
    # A permutation: every target is hit once.
    assert np.array_equal(np.sort(np.argmax(est.coupling_, axis=1)), np.arange(25))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # nonsmooth k = 1 semi-dual
def test_rows_without_mass_stay_in_place():
    # 20 sources, 5 targets, at most 1 source per target: 15 source rows are empty.
    Xs, Xt = clouds(20, 5, seed=6)
    est = SparsityConstrainedTransport(reg=1e-2, max_nz=1).fit(Xs=Xs, Xt=Xt)
    empty = est.coupling_.sum(1) == 0
    assert empty.sum() >= 15
    T = est.transform(Xs=Xs)
    np.testing.assert_array_equal(T[empty], Xs[empty])
    assert np.all(np.isfinite(T))
    np.testing.assert_allclose(T, barycentric_reference(est.coupling_, Xs, Xt, Xs), atol=1e-12)
    Xn = np.random.default_rng(0).normal(size=(33, 2))
    np.testing.assert_allclose(
        est.transform(Xs=Xn, batch_size=10), barycentric_reference(est.coupling_, Xs, Xt, Xn), atol=1e-12
    )


def test_array_api_path(xp):
    # array_api_strict arrays live on a non-default device: no host conversion, results on that device
    Xs, Xt = clouds(20, 15, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = SparsityConstrainedTransport(reg=0.5, max_nz=2, norm="median")
        est.fit(Xs=xp.asarray(Xs), Xt=xp.asarray(Xt))
    P = to_numpy(est.coupling_)
    assert type(est.coupling_) is type(xp.asarray(0.0)) and device(est.coupling_) == device(xp.asarray(0.0))
    C_ref = ot.utils.cost_normalization(ot.dist(Xs, Xt), "median")
    np.testing.assert_allclose(to_numpy(est.cost_), C_ref, atol=1e-12)
    assert np.max(np.count_nonzero(P, axis=0)) <= 2
    Xn = np.random.default_rng(1).normal(size=(23, 2))
    T = est.transform(Xs=xp.asarray(Xn, dtype=xp.float32), batch_size=5)
    assert T.dtype == xp.float32 and device(T) == device(xp.asarray(0.0))
    np.testing.assert_allclose(to_numpy(T), barycentric_reference(P, Xs, Xt, Xn.astype(np.float32)), atol=1e-5)


# ------------------------------------------------------------------ estimator API, dtypes, inputs


def test_clone_and_params():
    est = SNSTransport(reg_e=0.3, norm="max", n_sinkhorn=5)
    params = est.get_params()
    assert params == dict(
        reg_e=0.3, metric="sqeuclidean", norm="max", max_iter=100, tol=1e-9, n_sinkhorn=5,
        sparsity=None, verbose=False, log=False, out_of_sample_map="continuous", limit_max=np.inf,
    )
    c = clone(est)
    assert c is not est and c.get_params() == params
    c.set_params(reg_e=0.7)
    assert c.reg_e == 0.7 and est.reg_e == 0.3
    sc = SparsityConstrainedTransport(max_nz=3)
    assert clone(sc).get_params() == sc.get_params()
    expected = {"reg", "max_nz", "formulation", "metric", "norm", "max_iter", "tol", "verbose", "log", "limit_max"}
    assert set(sc.get_params()) == expected
    # Parameters are stored untouched; validation happens in fit.
    assert SNSTransport(reg_e=-1.0).reg_e == -1.0
    assert "SNSTransport(" in repr(est)


@pytest.mark.parametrize(
    "est, fit_kw, exc, match",
    [
        (SNSTransport(), dict(Xt="bad_dims"), ValueError, "Xs has 3 features but Xt has 2"),
        (SNSTransport(), dict(Xs="nan"), ValueError, "Xs contains NaN"),
        (SNSTransport(), dict(Xt=None), ValueError, "Xt is required"),
        (SNSTransport(metric="mahalanobis_typo"), {}, ValueError, "metric"),
        (SNSTransport(norm="mean"), {}, ValueError, "norm"),
        (SNSTransport(reg_e=-0.1), {}, ValueError, "reg_e must be > 0"),
        (SNSTransport(reg_e=0.0), {}, ValueError, "reg_e must be > 0"),
        (SNSTransport(max_iter=0), {}, ValueError, "max_iter"),
        (SNSTransport(sparsity=2.0), {}, ValueError, "sparsity"),
        (SNSTransport(out_of_sample_map="nn"), {}, ValueError, "out_of_sample_map"),
        (SparsityConstrainedTransport(reg=-1.0), {}, ValueError, "reg must be > 0"),
        (SparsityConstrainedTransport(max_nz=0), {}, ValueError, "max_nz"),
        (SparsityConstrainedTransport(formulation="primal"), {}, ValueError, "formulation"),
        (SNSTransport(), dict(a=-np.ones(10)), ValueError, "a has negative weights"),
        (SNSTransport(), dict(b=np.ones(3)), ValueError, "b has 3 weights"),
    ],
)
def test_bad_inputs(est, fit_kw, exc, match):
    Xs, Xt = clouds(10, 8)
    kw = dict(Xs=Xs, Xt=Xt)
    kw.update(fit_kw)
    if isinstance(kw["Xs"], str):
        kw["Xs"] = Xs.copy()
        kw["Xs"][3, 1] = np.nan
    if isinstance(kw["Xt"], str):
        kw["Xs"], kw["Xt"] = np.c_[Xs, Xs[:, :1]], Xt
    Xt_in = kw.pop("Xt")
    with pytest.raises(exc, match=match):
        est.fit(kw.pop("Xs"), None, Xt_in, **kw)


def test_transform_errors():
    Xs, Xt = clouds(10, 8)
    with pytest.raises(NotFittedError):
        SNSTransport().transform(Xs=Xs)
    est = SNSTransport(reg_e=0.5).fit(Xs=Xs, Xt=Xt)
    with pytest.raises(ValueError, match="Xs has 3 features"):
        est.transform(Xs=np.ones((4, 3)))
    with pytest.raises(ValueError, match="Xt is required"):
        est.inverse_transform(Xs=Xs)
    with pytest.raises(ValueError, match="batch_size"):
        est.transform(Xs=Xs, batch_size=0)


def test_inputs_not_modified_and_copied():
    Xs, Xt = clouds(12, 9)
    a = np.arange(1.0, 13.0)
    copies = [x.copy() for x in (Xs, Xt, a)]
    est = SNSTransport(reg_e=0.5, norm="max").fit(Xs=Xs, Xt=Xt, a=a)
    T = est.transform(Xs=Xs)
    est.inverse_transform(Xt=Xt + 0.1)
    for x, c in zip((Xs, Xt, a), copies):
        np.testing.assert_array_equal(x, c)
    Xs[0, 0] = 99.0  # the fitted samples are private copies
    assert est.xs_[0, 0] == copies[0][0, 0]
    np.testing.assert_allclose(est.transform(Xs=copies[0]), T)


@pytest.mark.parametrize("Est", [SNSTransport, SparsityConstrainedTransport])
def test_float32_preserved(Est):
    Xs, Xt = clouds(15, 12)
    # max_nz >= n_s: the smooth (quadratic OT) case, whose plan is unique and stable to rounding.
    kw = dict(reg_e=0.5) if Est is SNSTransport else dict(reg=0.5, max_nz=15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        e32 = Est(**kw).fit(Xs=Xs.astype(np.float32), Xt=Xt.astype(np.float32))
        e64 = Est(**kw).fit(Xs=Xs, Xt=Xt)
    assert e32.xs_.dtype == np.float32
    T = e32.transform(Xs=Xs.astype(np.float32))
    Ti = e32.inverse_transform(Xt=Xt.astype(np.float32) + 0.01)
    assert T.dtype == np.float32 and Ti.dtype == np.float32
    np.testing.assert_allclose(T, e64.transform(Xs=Xs), atol=1e-4)
    # Integer samples give float64.
    assert e64.transform(Xs=np.round(Xs).astype(int)).dtype == np.float64
