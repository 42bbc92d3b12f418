"""Review reproducers for robust_altmin's trimmed phases (robust=True)."""

import warnings

import numpy as np
import pytest

from optlib.completion import robust_altmin
from optlib.datasets import make_low_rank_completion
from tests.conftest import to_numpy


def _solve(P, values, rank, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning on these problems
        return robust_altmin((P.rows, P.cols, values), rank, shape=P.shape, robust=True, random_state=0,
                             tol=1e-12, **kw)


def _error(res, M):
    return np.linalg.norm(res.U @ res.V.T - M) / np.linalg.norm(M)


@pytest.mark.parametrize("seed", [0, 3])
def test_clean_problem_exact(seed):
    # Before: the second trim cut whole rows fitted poorly by the first phase and they were never fitted
    # again: relative error 0.12 / 0.11, success=False with a "wrong fixed point" warning.
    P = make_low_rank_completion(200, 200, 5, sampling_rate=0.2, random_state=seed)
    res = _solve(P, P.data, 5)
    assert res.success
    assert _error(res, P.U @ P.V.T) < 1e-9


def test_nonzero_mean_values_with_outliers():
    # Ratings-like values 3 +- 1 plus 5% gross outliers: the value trim about 0 (level 2.5 x 1.48 x median |v|
    # ~ 11) kept most outliers and the trimmed least squares diverged (relative error 7.3, max_iter reached).
    P = make_low_rank_completion(200, 200, 5, sampling_rate=0.2, outlier_fraction=0.05, random_state=0)
    res = _solve(P, P.data + 3.0, 6)
    assert res.success
    assert _error(res, P.U @ P.V.T + 3.0) < 1e-9


def test_robust_array_api_device_dtype_and_outliers(xp):
    # robust mode on the array-API path: namespace, device and float32 kept, outliers found, same fit as numba
    P = make_low_rank_completion(80, 60, 3, sampling_rate=0.4, outlier_fraction=0.1, random_state=0,
                                 dtype=np.float32)
    rows, cols, vals = xp.asarray(P.rows), xp.asarray(P.cols), xp.asarray(P.data)
    res = robust_altmin((rows, cols, vals), 3, shape=P.shape, robust=True, engine="xp", tol=1e-6, random_state=0)
    assert res.U.dtype == xp.float32 and res.V.dtype == xp.float32
    assert res.U.device == vals.device and res.outliers.device == vals.device
    assert res.success
    U, V = to_numpy(res.U), to_numpy(res.V)
    M = P.U @ P.V.T
    assert np.linalg.norm(U @ V.T - M) / np.linalg.norm(M) <= 1e-4
    flagged = to_numpy(res.outliers)
    assert not np.any(flagged & ~P.outliers)
    assert np.all(flagged[np.abs(P.data - P.clean_data) > 1.0])


def test_imputer_robust_in_pipeline():
    # The fit recovered the column factors (subspace error 3e-10) but transform fitted each row by plain least
    # squares, outliers included: relative error 0.996 on the missing entries before
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from optlib.completion import LowRankImputer

    P = make_low_rank_completion(120, 40, 3, sampling_rate=0.6, outlier_fraction=0.05, random_state=0)
    X = np.full(P.shape, np.nan)
    X[P.rows, P.cols] = P.data
    pipe = make_pipeline(FunctionTransformer(), LowRankImputer(3, robust=True, tol=1e-10, max_iter=300,
                                                               random_state=0))
    out = pipe.fit_transform(X)
    M = P.U @ P.V.T
    missing = np.isnan(X)
    assert np.all(np.isfinite(out))
    assert np.linalg.norm((out - M)[missing]) / np.linalg.norm(M[missing]) <= 1e-4
