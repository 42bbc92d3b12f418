"""Review of robust_altmin's line-balanced spectral start: extreme lines and data levels, paths and dtypes."""

import warnings

import numpy as np
import pytest

from optlib.completion import robust_altmin
from optlib.completion._altmin import _line_scales
from optlib.completion._observations import check_observations
from tests.completion.test_altmin_balanced import _coherent


def _low_rank(seed, m=100, n=80, rank=3, rate=0.4):
    rng = np.random.default_rng(seed)
    U, V = rng.standard_normal((m, rank)), rng.standard_normal((n, rank))
    return U, V, rng.random((m, n)) < rate


def _error(res, M):
    return np.linalg.norm(res.U @ res.V.T - M) / np.linalg.norm(M)


@pytest.mark.parametrize("size", [0.0, 1e-50])
def test_column_of_zeros_on_float32_products(size):
    """float64 NumPy data take float32 products in the start (``_lean``). A column of observed zeros (or of values
    1e-50 times the rest) had its scale clipped to 2**-128, which is 0 or subnormal in float32: ``X / c``
    overflowed, ``0 x inf`` gave NaN and the SVD raised LinAlgError. Now the scales' bounds are float32's."""
    U, V, mask = _low_rank(0)
    V[5] = size
    M = U @ V.T
    rows, cols = np.nonzero(mask)
    res = robust_altmin((rows, cols, M[rows, cols]), 3, shape=M.shape, random_state=0)
    assert res.success and _error(res, M) < 1e-6


@pytest.mark.parametrize("level", [1e-50, 1e50])
def test_columns_in_other_units_at_any_level(level):
    """Data between 2**-256 and 2**256 are not rescaled (units_exponent), so the column scales carry the data's
    level: bounds fixed at 2**+-128 cut every column scale of data at 1e50 (1e-50) to the bound, no column was
    balanced and the two columns 1e3 times larger took the start again (seed 0: error 9e2, reported as converged).
    The bounds are now relative to the level: the same fit as at level 1."""
    data, M = _coherent(0)
    reference = robust_altmin(data, 1, shape=M.shape, random_state=0)
    rows, cols, values = data
    res = robust_altmin((rows, cols, values * level), 1, shape=M.shape, random_state=0)
    assert reference.success and _error(reference, M) < 1e-6
    assert res.success and _error(res, M * level) < 1e-6
