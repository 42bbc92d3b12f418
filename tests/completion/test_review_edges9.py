"""Review of edge regimes of robust_pca, LowRankImputer and soft_impute: extreme units, penalties and inputs."""

import warnings

import numpy as np
import pytest

from optlib import ConvergenceWarning
from optlib.completion import robust_pca


def _low_rank(m, n, k, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((m, k)) @ rng.standard_normal((k, n))
    return M / np.abs(M).max(), rng  # largest |value| 1


@pytest.mark.parametrize(("scale", "mu"), [(1e300, 1e300), (1e-300, 1e-300), (1.0, 1e-320)])
def test_robust_pca_mu_out_of_range_in_units(scale, mu):
    """A mu past the float range in the solver's units (1e300 for data at 1e300 is 2**996 * 1e300 there) was
    taken as inf: the first step's Y = inf * 0 = NaN, and "success" with L = 0 (relative error 1)."""
    D, _ = _low_rank(30, 30, 2)
    with pytest.raises(ValueError, match=r"mu=.*of the order of 1 / \|\|D\|\|_2"):
        robust_pca(D * scale, mu=mu)


def test_robust_pca_mu_in_float32_range():
    """float32 data: mu is checked against float32's range (1e39 overflowed the cast to inf, then NaN)."""
    D, _ = _low_rank(20, 20, 2)
    with pytest.raises(ValueError, match="mu=1e"):
        robust_pca(D.astype(np.float32), mu=1e39)


def test_robust_pca_user_mu_in_units_matches_unit_scale():
    """An ordinary user mu (of the order of 1 / ||D||) at 1e300 is the unit-scale problem's mu / 1e300."""
    D, _ = _low_rank(30, 30, 2)
    scale = 2.0**996
    ref = robust_pca(D, mu=0.5)
    res = robust_pca(D * scale, mu=0.5 / scale)
    assert res.success and res.nit == ref.nit
    np.testing.assert_allclose(res.L / scale, ref.L, rtol=1e-12, atol=1e-15)


def test_robust_pca_non_finite_step_stops_with_numerical_status():
    """float32 data near 1e9 (not rescaled), a large mu and lam: mu R overflowed float32 after 33 steps; the
    inf then reached the SVD (LinAlgError, or a LAPACK hang on inf). Now: the last finite iterate, success
    False, STATUS_NUMERICAL and a ConvergenceWarning."""
    D, _ = _low_rank(30, 30, 2)
    D = (D * 1e9).astype(np.float32)
    with pytest.warns(ConvergenceWarning, match="non-finite.*last finite iterate"):
        res = robust_pca(D, mu=1e30, lam=1e40, tol=0.0, max_iter=50)
    assert not res.success and res.status == 3 and 1 < res.nit < 50
    assert res.L.dtype == np.float32
    assert np.isfinite(res.L).all() and np.isfinite(res.S).all() and np.isfinite(res.Y).all()
    assert np.linalg.norm(res.L - D) / np.linalg.norm(D) < 1e-6


def test_robust_pca_all_zero_data():
    """All-zero D: the default mu = 1.25 / ||D||_2 divided by zero (ZeroDivisionError)."""
    res = robust_pca(np.zeros((6, 5)))
    assert res.success and res.rank == 0 and res.fun == 0.0
    assert not res.L.any() and not res.S.any()
