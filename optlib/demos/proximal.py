"""Proximal-gradient family demos."""

import numpy as np

from . import DemoRow, timed

FAMILY = "proximal gradient"


def lasso_demo():
    """FISTA on a Lasso problem against scikit-learn's coordinate-descent optimum."""
    from sklearn.linear_model import Lasso

    from ..functions import L1, LeastSquares
    from ..optimize import proxgrad

    rng = np.random.default_rng(0)
    n, p = 200, 1000
    A = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:20] = rng.standard_normal(20)
    y = A @ w + 0.01 * rng.standard_normal(n)
    alpha = np.max(np.abs(A.T @ y)) / n / 20
    reference = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=10**6).fit(A, y).coef_
    f, g = LeastSquares(A, y, scale=1 / n), L1(alpha)
    f_ref = f(reference) + g(reference)
    res, seconds = timed(proxgrad, f, g, np.zeros(p), restart="gradient", stop="gap", tol=1e-12, max_iter=50000)
    gap = abs(res.fun - f_ref) / f_ref
    return DemoRow(FAMILY, f"Lasso {n}x{p}", "proxgrad FISTA+restart", seconds,
                   f"rel. objective gap {gap:.1e} vs scikit-learn Lasso", gap <= 1e-9)


DEMOS = [lasso_demo]
