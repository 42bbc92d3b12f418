"""Semi-supervised transport (labels ``ys``/``yt`` in ``fit``, ``limit_max``) against POT's ot.da.SinkhornTransport."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from optlib._backend import device
from optlib.ot import SNSTransport, SparsityConstrainedTransport
from tests.conftest import to_numpy

ot = pytest.importorskip("ot")


@pytest.fixture(scope="module")
def labelled():
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(15, 2))
    Xt = 0.8 * rng.normal(size=(12, 2)) + np.r_[1.0, 0.5]
    ys = np.repeat([0, 1, 2], 5)
    yt = np.array([0, 1, 2, -1, 0, 1, 2, -1, 0, 1, -1, 2])  # -1: unlabelled
    mismatch = (ys[:, None] != yt[None, :]) & (yt[None, :] != -1)
    return Xs, ys, Xt, yt, mismatch


@pytest.mark.parametrize("limit_max", [np.inf, 10.0, 1.2])
@pytest.mark.parametrize("reg_e", [1.0, 0.1])
def test_labelled_plan_matches_pot(labelled, reg_e, limit_max):
    Xs, ys, Xt, yt, mismatch = labelled
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # POT's -M / reg overflows on its float-max costs
        ref = ot.da.SinkhornTransport(reg_e=reg_e, max_iter=100_000, tol=1e-13, limit_max=limit_max)
        ref.fit(Xs=Xs, ys=ys, Xt=Xt, yt=yt)
    est = SNSTransport(reg_e=reg_e, tol=1e-13, limit_max=limit_max).fit(Xs=Xs, ys=ys, Xt=Xt, yt=yt)
    np.testing.assert_allclose(est.cost_, ref.cost_, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(est.coupling_, ref.coupling_, atol=1e-10)
    if limit_max == np.inf:
        assert np.all(est.coupling_[mismatch] == 0.0)
    # POT's continuous map (uncorrected cost, fitted log_v) on the training and on new points
    Xn = np.random.default_rng(1).normal(size=(7, 2))
    for X in (Xs, Xn):
        np.testing.assert_allclose(est.transform(Xs=X), ref.transform(Xs=X), atol=1e-9)
    assert est.limit_max == limit_max  # never rescaled in place (POT's fit multiplies it by max(cost))


def test_labels_change_the_plan_only_when_both_given(labelled):
    Xs, ys, Xt, yt, mismatch = labelled
    plain = SNSTransport(reg_e=0.5).fit(Xs=Xs, Xt=Xt)
    assert plain.coupling_[mismatch].sum() > 0.1  # what the labels must remove
    for kw in ({"ys": ys}, {"yt": yt}):  # one side only: ignored, as POT
        np.testing.assert_array_equal(SNSTransport(reg_e=0.5).fit(Xs=Xs, Xt=Xt, **kw).coupling_, plain.coupling_)
    # all unlabelled: the plain problem
    unl = SNSTransport(reg_e=0.5).fit(Xs=Xs, ys=-np.ones(15), Xt=Xt, yt=yt)
    np.testing.assert_array_equal(unl.coupling_, plain.coupling_)


def test_sparsity_constrained_with_labels(labelled):
    Xs, ys, Xt, yt, mismatch = labelled
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = SparsityConstrainedTransport(reg=0.5, max_nz=3).fit(Xs=Xs, ys=ys, Xt=Xt, yt=yt)
    P = est.coupling_
    assert np.all(P[mismatch] == 0.0)
    np.testing.assert_allclose(P.sum(0), np.full(12, 1 / 12), atol=1e-8)
    assert np.max(np.count_nonzero(P, axis=0)) <= 3


def test_labels_array_api(xp, labelled):
    # SNS needs NumPy/CuPy (scipy.sparse): the label path is exercised with the sparsity-constrained solver
    Xs, ys, Xt, yt, mismatch = labelled

    def fit(*arrays):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return SparsityConstrainedTransport(reg=0.5, max_nz=3).fit(*arrays)

    est = fit(xp.asarray(Xs), xp.asarray(ys), xp.asarray(Xt), xp.asarray(yt))
    assert device(est.coupling_) == device(xp.asarray(0.0))
    np.testing.assert_allclose(to_numpy(est.coupling_), fit(Xs, ys, Xt, yt).coupling_, atol=1e-6)  # L-BFGS tol
    assert np.all(to_numpy(est.coupling_)[mismatch] == 0.0)


def test_label_bad_input(labelled):
    Xs, ys, Xt, yt, _ = labelled
    with pytest.raises(ValueError, match="ys must hold one label per sample"):
        SNSTransport().fit(Xs=Xs, ys=ys[:-1], Xt=Xt, yt=yt)
    with pytest.raises(ValueError, match="yt must hold one label per sample"):
        SNSTransport().fit(Xs=Xs, ys=ys, Xt=Xt, yt=yt[:, None])
    with pytest.raises(ValueError, match="limit_max must be > 0"):
        SNSTransport(limit_max=-1.0).fit(Xs=Xs, ys=ys, Xt=Xt, yt=yt)
    with pytest.raises(ValueError, match="no pair of samples"):
        SNSTransport().fit(Xs=Xs, ys=np.zeros(15), Xt=Xt, yt=np.ones(12))
    # class 0 holds all the source mass, but only one unlabelled target may receive it
    yt1 = np.ones(12)
    yt1[0] = -1
    with pytest.warns(UserWarning, match="different labels"):
        SNSTransport(reg_e=0.5).fit(Xs=Xs, ys=np.zeros(15), Xt=Xt, yt=yt1)
