"""Tests of the per-pixel unmixing solvers (FCLS, NNLS, UCLS): exact references, engines, devices, Dask."""

import itertools
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.optimize import nnls as scipy_nnls

from optlib import ConvergenceWarning
from optlib.hyperspectral import fcls, nnls, ucls, unmix
from tests.conftest import assert_engines_agree, to_numpy


def _fcls_exact(y, E):
    """FCLS by enumeration of the supports: the best feasible equality-constrained optimum (exact)."""
    p = E.shape[0]
    best, best_val = None, np.inf
    for k in range(1, p + 1):
        for S in itertools.combinations(range(p), k):
            S = list(S)
            G = E[S] @ E[S].T
            K = np.block([[G, np.ones((k, 1))], [np.ones((1, k)), np.zeros((1, 1))]])
            sol = np.linalg.lstsq(K, np.concatenate([E[S] @ y, [1.0]]), rcond=1e-13)[0][:k]
            if sol.min() < -1e-12:
                continue
            a = np.zeros(p)
            a[S] = np.clip(sol, 0.0, None) / np.clip(sol, 0.0, None).sum()
            val = 0.5 * np.sum((y - a @ E) ** 2)
            if val < best_val:
                best, best_val = a, val
    return best


def _objective(Y, E, A):
    return 0.5 * np.sum((Y - A @ E) ** 2, axis=-1)


def _pixels(E, n, rng):
    """Pixels inside the simplex, outside it (negative / unnormalised mixtures) and off the span."""
    p, L = E.shape
    inside = rng.dirichlet(np.ones(p), size=n) @ E
    outside = (rng.standard_normal((n, p)) * 0.8 + 0.3) @ E
    off = rng.dirichlet(np.ones(p), size=n) @ E + 0.05 * rng.standard_normal((n, L))
    return np.vstack([inside, outside, off])


def _near_collinear(rng, p=5, L=40):
    E = rng.random((p, L))
    E[1] = E[0] + 1e-3 * rng.standard_normal(L)  # about 0.1 degree apart
    return E


@pytest.mark.parametrize("kind", ["random", "near_collinear"])
@pytest.mark.parametrize("engine", ["auto", "xp"])
def test_fcls_equals_exact_reference(kind, engine):
    rng = np.random.default_rng(0)
    E = rng.random((5, 40)) if kind == "random" else _near_collinear(rng)
    Y = _pixels(E, 20, rng)
    A = fcls(Y, E, engine=engine)
    ref = np.array([_fcls_exact(y, E) for y in Y])
    np.testing.assert_allclose(A, ref, atol=1e-8)
    assert A.min() >= 0.0
    np.testing.assert_allclose(A.sum(1), 1.0, atol=1e-12)


def test_fcls_matches_scipy_slsqp():
    rng = np.random.default_rng(1)
    E = rng.random((4, 30))
    Y = _pixels(E, 3, rng)
    A = fcls(Y, E)
    for y, a in zip(Y, A):
        res = minimize(lambda x: 0.5 * np.sum((y - x @ E) ** 2), np.full(4, 0.25),
                       jac=lambda x: (x @ E - y) @ E.T, method="SLSQP", bounds=[(0, None)] * 4,
                       constraints={"type": "eq", "fun": lambda x: x.sum() - 1.0}, options={"ftol": 1e-15,
                                                                                       "maxiter": 500})
        np.testing.assert_allclose(a, res.x, atol=1e-6)
        assert _objective(y, E, a) <= res.fun + 1e-12


def test_degenerate_duplicate_endmembers_reach_the_optimal_value():
    rng = np.random.default_rng(2)
    E = rng.random((4, 25))
    E = np.vstack([E, E[2]])  # exactly repeated endmember: the abundances are not unique
    Y = _pixels(E, 10, rng)
    for engine in ("auto", "xp"):
        A = fcls(Y, E, engine=engine)
        ref = np.array([_fcls_exact(y, E) for y in Y])
        np.testing.assert_allclose(_objective(Y, E, A), _objective(Y, E, ref), rtol=1e-10, atol=1e-12)
        assert A.min() >= 0.0
        np.testing.assert_allclose(A.sum(1), 1.0, atol=1e-12)


def test_nnls_and_ucls_match_scipy():
    rng = np.random.default_rng(3)
    E = rng.random((6, 40))
    Y = _pixels(E, 15, rng)
    ref = np.array([scipy_nnls(E.T, y)[0] for y in Y])
    for engine in ("auto", "xp"):
        np.testing.assert_allclose(nnls(Y, E, engine=engine), ref, atol=1e-10)
    np.testing.assert_allclose(ucls(Y, E), np.linalg.lstsq(E.T, Y.T, rcond=None)[0].T, atol=1e-10)


@pytest.mark.parametrize("method", ["fcls", "nnls"])
def test_engines_agree_and_float32(method):
    rng = np.random.default_rng(4)
    E = rng.random((8, 60))
    Y = _pixels(E, 50, rng)
    assert_engines_agree(unmix, Y, E, method=method, rtol=0, atol=1e-10)
    A32 = unmix(Y.astype(np.float32), E.astype(np.float32), method=method)
    assert A32.dtype == np.float32
    np.testing.assert_allclose(A32, unmix(Y, E, method=method), atol=2e-3)


def test_cube_layout_and_single_pixel():
    rng = np.random.default_rng(5)
    E = rng.random((3, 12))
    Y = _pixels(E, 4, rng).reshape(3, 4, 12)
    A = fcls(Y, E)
    assert A.shape == (3, 4, 3)
    np.testing.assert_allclose(A.reshape(-1, 3), fcls(Y.reshape(-1, 12), E))
    np.testing.assert_allclose(fcls(Y[0, 0], E), A[0, 0])


def test_array_api_path_on_the_input_device(xp):
    rng = np.random.default_rng(6)
    E = rng.random((4, 20))
    Y = _pixels(E, 5, rng)
    Yx = xp.asarray(Y)
    for method in ("fcls", "nnls", "ucls"):
        A = unmix(Yx, E, method=method, engine="xp")  # host endmembers moved explicitly to Y's device
        assert A.device == Yx.device and A.dtype == Yx.dtype
        np.testing.assert_allclose(to_numpy(A), unmix(Y, E, method=method), atol=1e-10)


def test_max_iter_warns_and_returns_feasible_iterate():
    rng = np.random.default_rng(7)
    E = rng.random((6, 30))
    Y = _pixels(E, 10, rng)
    for engine in ("auto", "xp"):
        with pytest.warns(ConvergenceWarning, match="did not converge"):
            A = fcls(Y, E, max_iter=1, engine=engine)
        assert A.min() >= 0.0
        np.testing.assert_allclose(A.sum(1), 1.0, atol=1e-12)


def test_bad_input():
    E = np.ones((3, 10))
    with pytest.raises(ValueError, match="10 bands .* endmembers has 9"):
        fcls(np.ones((5, 10)), np.ones((3, 9)))
    Y = np.ones((5, 10))
    Y[2, 3] = np.nan
    with pytest.raises(ValueError, match="Y contains NaN"):
        fcls(Y, E)
    with pytest.raises(ValueError, match="Unknown method"):
        unmix(np.ones((5, 10)), E, method="sunsal2")
    with pytest.raises(ValueError, match="max_iter"):
        fcls(np.ones((5, 10)), E, max_iter=0)
    # negative reflectance (noise) is accepted, and the input is not modified
    Yn = -np.ones((2, 10))
    before = Yn.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A = fcls(Yn, np.eye(3, 10))
    np.testing.assert_array_equal(Yn, before)
    np.testing.assert_allclose(A.sum(1), 1.0)


def test_dask_local_cluster():
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    rng = np.random.default_rng(8)
    E = rng.random((4, 30))
    Y = _pixels(E, 40, rng).reshape(10, 12, 30)
    Yd = da.from_array(Y, chunks=(5, 6, 10))  # band axis split: rechunked inside
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        Ad = fcls(Yd, E)
        assert isinstance(Ad, da.Array) and Ad.shape == (10, 12, 4) and Ad.chunks[:2] == Yd.chunks[:2]
        np.testing.assert_allclose(Ad.compute(), fcls(Y, E), atol=1e-12)
        Nd = nnls(da.from_array(Y.reshape(-1, 30), chunks=(50, 30)), E)
        np.testing.assert_allclose(Nd.compute(), nnls(Y.reshape(-1, 30), E), atol=1e-12)
    with pytest.raises(ValueError, match="bands"):
        fcls(Yd, np.ones((3, 29)))


def test_linearly_dependent_endmembers_on_both_engines():
    # a scaled copy and a zero row make G singular: both engines must still reach the optimal value
    rng = np.random.default_rng(11)
    E0 = rng.random((3, 15))
    E = np.vstack([E0, 2.0 * E0[0], np.zeros(15)])
    Y = _pixels(E0, 8, rng)
    best = np.array([_fcls_exact(y, E) for y in Y])
    for engine in ("numba", "xp"):
        A = fcls(Y, E, engine=engine)
        np.testing.assert_allclose(_objective(Y, E, A), _objective(Y, E, best), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(A.sum(1), 1.0, atol=1e-12)
        assert A.min() >= 0.0
        ref = np.array([scipy_nnls(E.T, y)[0] for y in Y])
        np.testing.assert_allclose(_objective(Y, E, nnls(Y, E, engine=engine)), _objective(Y, E, ref),
                                   rtol=1e-9, atol=1e-12)
    # UCLS: the minimum-norm least-squares solution, also with more endmembers than bands
    for E1, Y1 in ((E, Y), (rng.random((6, 4)), rng.random((5, 4)))):
        np.testing.assert_allclose(ucls(Y1, E1), np.linalg.lstsq(E1.T, Y1.T, rcond=None)[0].T, atol=1e-9)
