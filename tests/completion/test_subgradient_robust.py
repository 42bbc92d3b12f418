"""subgradient_recovery: default decay of the completion case, and what ``success`` certifies."""

import warnings

import numpy as np
import pytest

from optlib import ConvergenceWarning
from optlib.completion import subgradient_recovery
from optlib.datasets import make_low_rank_completion
from tests.conftest import to_numpy


def _completion(n=150, k=5, p=0.2, frac=0.1, seed=1):
    P = make_low_rank_completion(n, n, k, sampling_rate=p, outlier_fraction=frac, random_state=seed)
    return (P.rows, P.cols, P.data), P.shape, P.U @ P.V.T


def _rel_err(res, M):
    return np.linalg.norm(res.U @ res.V.T - M) / np.linalg.norm(M)


def test_default_decay_keeps_up_with_outliers():
    """The paper-like decay 1 - eta / (2 log(1/alpha)) stalls at 1.3e-2 on this problem; the default keeps up."""
    data, shape, M = _completion()
    with pytest.warns(ConvergenceWarning):
        fast = subgradient_recovery(data, rank=5, shape=shape, decay=1 - 0.3 / (2 * np.log(1e8)), tol=1e-6,
                                    random_state=0)
    with pytest.warns(ConvergenceWarning):
        res = subgradient_recovery(data, rank=5, shape=shape, tol=1e-6, random_state=0)
    assert _rel_err(fast, M) > 1e-3
    assert _rel_err(res, M) <= 1e-4


def test_overparameterized_default_decay():
    """rank 4 > 2: the default decay, slower than the paper's, lets the extra columns grow a little (1.5e-4 here).

    The paper's decay (c = 2) reaches 1e-8 on this problem: test_others passes it explicitly.
    """
    data, shape, M = _completion(n=100, k=2, p=0.4, seed=0)
    with pytest.warns(ConvergenceWarning):
        res = subgradient_recovery(data, rank=4, shape=shape, tol=1e-6, random_state=0)
    assert _rel_err(res, M) <= 5e-4


def test_vanished_step_is_not_success():
    """With outliers the loss test cannot fire: a stop on the vanished step warns and reports failure."""
    data, shape, M = _completion(n=60, k=2, p=0.4, seed=0)
    with pytest.warns(ConvergenceWarning, match="step size has vanished"):
        res = subgradient_recovery(data, rank=2, shape=shape, tol=1e-5, random_state=0)
    assert not res.success and res.status == 1 and res.nit < 5000
    assert "vanished" in res.message
    assert _rel_err(res, M) <= 1e-3  # the best iterate is still returned


def test_vanished_step_symmetric_sensing():
    rng = np.random.default_rng(0)
    Us = rng.standard_normal((8, 2))
    A = rng.standard_normal((200, 8, 8))
    y = np.einsum("ijk,jk->i", A, Us @ Us.T)
    y[:20] += 10 * rng.standard_normal(20)
    with pytest.warns(ConvergenceWarning, match="step size has vanished"):
        res = subgradient_recovery(y, A, rank=2, tol=1e-6)
    assert not res.success
    assert np.linalg.norm(res.x - Us @ Us.T) <= 1e-4 * np.linalg.norm(Us @ Us.T)


def test_exact_fit_is_success_without_warning():
    """Noiseless, outlier-free: the loss falls to tol times its start, a certificate (success, no warning)."""
    data, shape, M = _completion(n=60, k=2, p=0.4, frac=0.0, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        res = subgradient_recovery(data, rank=2, shape=shape, tol=1e-8, history=True, random_state=0)
    assert res.success and res.status == 0
    assert res.fun <= 1e-8 * res.history["objective"][0]
    assert _rel_err(res, M) <= 1e-7


def test_step_too_large_for_default_decay():
    data, shape, _ = _completion(n=20, k=1, p=0.5)
    with pytest.raises(ValueError, match="step=100"):  # 1 - 100 / (3 log(1e8)) < 0
        subgradient_recovery(data, rank=1, shape=shape, step=100.0)
    with pytest.raises(ValueError, match="decay"):
        subgradient_recovery(data, rank=1, shape=shape, decay=1.5)
    A = np.ones((3, 2, 2))
    with pytest.raises(ValueError, match="engine"):
        subgradient_recovery(np.ones(3), A, rank=1, engine="gpu")


def test_engines_agree():
    """The numba products (NumPy input) and the array-API path give the same iterates."""
    data, shape, _ = _completion(n=40, k=2, p=0.5, frac=0.1, seed=2)
    kw = {"rank": 2, "shape": shape, "max_iter": 300, "random_state": 0}
    with pytest.warns(ConvergenceWarning):
        a = subgradient_recovery(data, engine="numba", **kw)
    with pytest.warns(ConvergenceWarning):
        b = subgradient_recovery(data, engine="xp", **kw)
    np.testing.assert_allclose(a.U @ a.V.T, b.U @ b.V.T, rtol=1e-8, atol=1e-10)


def test_completion_array_api_float32(xp):
    data, shape, M = _completion(n=40, k=2, p=0.5, frac=0.1, seed=2)
    values = xp.asarray(data[2], dtype=xp.float32)
    with pytest.warns(ConvergenceWarning):
        res = subgradient_recovery((xp.asarray(data[0]), xp.asarray(data[1]), values), rank=2, shape=shape,
                                   max_iter=1000, random_state=0)
    assert res.U.dtype == xp.float32 and res.V.dtype == xp.float32
    assert res.U.device == values.device and res.V.device == values.device
    assert np.linalg.norm(to_numpy(res.U) @ to_numpy(res.V).T - M) <= 5e-3 * np.linalg.norm(M)
