"""Review reproducers for robust_altmin's trimmed phases (robust=True)."""

import warnings

import numpy as np
import pytest

from optlib.completion import robust_altmin
from optlib.datasets import make_low_rank_completion


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
