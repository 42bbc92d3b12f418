"""Coordinate-descent family demos."""

import numpy as np

from . import DemoRow, timed

FAMILY = "coordinate descent"


def lasso_estimator_demo():
    """optlib's Lasso estimator against scikit-learn's on a correlated design."""
    from sklearn.linear_model import Lasso as SkLasso

    from ..linear_model import Lasso

    rng = np.random.default_rng(3)
    n, p, rho = 300, 2000, 0.5
    X = rng.standard_normal((n, p))
    X[:, 1:] = rho * X[:, :-1] + np.sqrt(1 - rho**2) * X[:, 1:]  # neighbouring features correlated
    w = np.zeros(p)
    w[rng.choice(p, 30, replace=False)] = rng.standard_normal(30)
    y = X @ w + 0.1 * rng.standard_normal(n)
    alpha = np.max(np.abs(X.T @ (y - y.mean()))) / n / 50
    Lasso(alpha=alpha).fit(X[:20, :20], y[:20])  # compile outside the timing
    ours, seconds = timed(Lasso(alpha=alpha, tol=1e-10).fit, X, y)
    ref = SkLasso(alpha=alpha, tol=1e-12, max_iter=100000).fit(X, y)

    def objective(model):
        r = y - X @ model.coef_ - model.intercept_
        return 0.5 * r @ r / n + alpha * np.abs(model.coef_).sum()

    gap = (objective(ours) - objective(ref)) / objective(ref)
    return DemoRow(FAMILY, f"Lasso {n}x{p}, correlated, alpha_max/50", "linear_model.Lasso (numba CD)", seconds,
                   f"rel. objective {gap:+.1e} vs scikit-learn Lasso", gap <= 1e-8)


DEMOS = [lasso_estimator_demo]
