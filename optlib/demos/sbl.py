"""Sparse Bayesian learning family demos."""

import warnings

from . import DemoRow, timed

FAMILY = "sparse Bayesian learning"


def ard_demo():
    """MacKay-mode SBLRegressor against scikit-learn's ARDRegression on the same data."""
    import numpy as np
    from sklearn.linear_model import ARDRegression

    from ..sbl import SBLRegressor

    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 60))
    w = np.zeros(60)
    w[:6] = rng.standard_normal(6) + 2.0
    y = X @ w + 0.1 * rng.standard_normal(200)
    model, seconds = timed(SBLRegressor(method="mackay").fit, X, y)
    ard, ref_seconds = timed(ARDRegression().fit, X, y)
    err = float(np.max(np.abs(model.coef_ - ard.coef_)))
    return DemoRow(FAMILY, "ARD regression n=200, p=60, k=6", "sbl.SBLRegressor(method='mackay')", seconds,
                   "scikit-learn ARDRegression", ref_seconds, f"max coef diff {err:.1e}", err <= 1e-6)


def kron_demo():
    """SVD-KroSBL on a Kronecker-sparse problem (N = 15^3), against the true vector."""
    import numpy as np

    from ..datasets import make_kronecker_sparse
    from ..sbl import kron_sbl

    d = make_kronecker_sparse((10, 12, 15), (15, 15, 15), 3, snr_db=25, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res, seconds = timed(kron_sbl, d.factors, d.y, method="svd")
    nmse = float(np.sum((res.x - d.x) ** 2) / np.sum(d.x**2))
    return DemoRow(FAMILY, "Kronecker-sparse N=15^3, M=1800, 25 dB", "sbl.kron_sbl(method='svd')", seconds,
                   "the generator's true sparse vector", None, f"NMSE {nmse:.1e}", nmse <= 1e-2)


DEMOS = [ard_demo, kron_demo]
