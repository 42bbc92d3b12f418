"""Edge cases of the semi-supervised transport (labels, ``limit_max``) against POT's ot.da.SinkhornTransport."""

import warnings

import numpy as np
import pytest

from optlib.ot import SNSTransport, SparsityConstrainedTransport, sinkhorn_log

ot = pytest.importorskip("ot")


@pytest.fixture(scope="module")
def labelled():
    rng = np.random.default_rng(0)
    Xs = 10 * rng.standard_normal((12, 2))
    Xt = 10 * (rng.standard_normal((10, 2)) + 1)
    ys = np.array([0, 1, 2] * 4)
    yt = np.array([0, 1, 2, -1, -1, -1, -1, 0, 1, 2])
    return Xs, ys, Xt, yt


@pytest.mark.parametrize("limit_max", [1e100, 1e308])  # limit_max * max(cost): far beyond exp's range; overflows
def test_large_finite_limit_max_matches_pot(labelled, limit_max):
    Xs, ys, Xt, yt = labelled
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # POT's overflows on its huge costs
        ref = ot.da.SinkhornTransport(reg_e=10.0, max_iter=100_000, tol=1e-13, limit_max=limit_max)
        ref.fit(Xs=Xs, ys=ys, Xt=Xt, yt=yt)
    est = SNSTransport(reg_e=10.0, tol=1e-13, limit_max=limit_max).fit(Xs, ys, Xt, yt)
    np.testing.assert_allclose(est.cost_, ref.cost_, rtol=1e-14)  # capped at the largest float, as POT's
    np.testing.assert_allclose(est.coupling_, ref.coupling_, atol=1e-10)
    mismatch = (ys[:, None] != yt[None, :]) & (yt[None, :] != -1)
    assert np.all(est.coupling_[mismatch] == 0.0)


def test_large_finite_limit_max_sparsity_constrained(labelled):
    Xs, ys, Xt, yt = labelled
    est = SparsityConstrainedTransport(reg=10.0, max_nz=4, limit_max=1e308).fit(Xs, ys, Xt, yt)
    mismatch = (ys[:, None] != yt[None, :]) & (yt[None, :] != -1)
    assert np.isfinite(est.cost_).all()
    assert np.all(np.asarray(est.coupling_)[mismatch] == 0.0)
    np.testing.assert_allclose(np.asarray(est.coupling_).sum(axis=1), 1 / 12, atol=1e-6)



def test_finite_limit_max_infeasible_labels_solved_at_its_costs():
    # class masses no plan can match: some mass crosses labels, at the floored cost (no stand-in, no warning)
    rng = np.random.default_rng(0)
    Xs, Xt = rng.standard_normal((12, 2)), rng.standard_normal((10, 2)) + 1
    ys, yt = np.array([0, 1, 2] * 4), np.array([0, 1, 2, -1, 0] * 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = SNSTransport(reg_e=0.1, tol=1e-12, limit_max=8.0).fit(Xs, ys, Xt, yt)
    ref = sinkhorn_log(np.full(12, 1 / 12), np.full(10, 1 / 10), est.cost_, 0.1, numItermax=20_000, stopThr=1e-12)
    np.testing.assert_allclose(est.coupling_, ref, atol=1e-11)
    mismatch = (ys[:, None] != yt[None, :]) & (yt[None, :] != -1)
    np.testing.assert_allclose(np.asarray(est.coupling_)[mismatch].sum(), 1 / 15, rtol=1e-9)
