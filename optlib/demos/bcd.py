"""Coordinate-descent family demos."""

import numpy as np

from . import DemoRow, timed, warm_up

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
    warm_up(Lasso(alpha=alpha).fit, X[:20, :20], y[:20])
    ours, seconds = timed(Lasso(alpha=alpha, tol=1e-10).fit, X, y)
    ref, ref_seconds = timed(SkLasso(alpha=alpha, tol=1e-12, max_iter=100000).fit, X, y)

    def objective(model):
        r = y - X @ model.coef_ - model.intercept_
        return 0.5 * r @ r / n + alpha * np.abs(model.coef_).sum()

    gap = (objective(ours) - objective(ref)) / objective(ref)
    return DemoRow(FAMILY, f"Lasso {n}x{p}, correlated, alpha_max/50", "linear_model.Lasso (numba CD)", seconds,
                   "scikit-learn Lasso (tol 1e-12)", ref_seconds, f"rel. objective {gap:+.1e}", gap <= 1e-8)


def _sklearn_l1_logistic(**kwargs):
    """scikit-learn's l1 ``LogisticRegression`` (``penalty`` is deprecated from scikit-learn 1.8 on)."""
    import re

    import sklearn
    from sklearn.linear_model import LogisticRegression

    version = tuple(int(part) for part in re.match(r"(\d+)\.(\d+)", sklearn.__version__).groups())
    l1 = {"l1_ratio": 1.0} if version >= (1, 8) else {"penalty": "l1"}
    return LogisticRegression(**l1, **kwargs)


def logistic_demo():
    """Binary l1 logistic regression against scikit-learn's saga solver."""
    from ..linear_model import SparseLogisticRegression

    rng = np.random.default_rng(0)
    n, p = 200, 500
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:20] = rng.standard_normal(20)
    y = np.where(X @ w + 0.5 * rng.standard_normal(n) > 0, 1, -1)
    alpha = np.max(np.abs(X.T @ y)) / (2 * n) / 10
    warm_up(SparseLogisticRegression(alpha=alpha, fit_intercept=False).fit, X[:50, :50], y[:50])
    model, seconds = timed(SparseLogisticRegression(alpha=alpha, fit_intercept=False, tol=1e-10).fit, X, y)
    saga = _sklearn_l1_logistic(C=1 / (n * alpha), solver="saga", fit_intercept=False, tol=1e-10, max_iter=100000)
    ref, ref_seconds = timed(saga.fit, X, y)

    def objective(coef):
        return np.mean(np.logaddexp(0, -y * (X @ coef.ravel()))) + alpha * np.abs(coef).sum()

    gap = (objective(model.coef_) - objective(ref.coef_)) / objective(ref.coef_)
    return DemoRow(FAMILY, f"l1 logistic {n}x{p}, alpha_max/10", "linear_model.SparseLogisticRegression", seconds,
                   "scikit-learn LogisticRegression saga (tol 1e-10)", ref_seconds, f"rel. objective {gap:+.1e}",
                   gap <= 1e-8)


def message_passing_demo():
    """Greedy-tree message passing on the lattice label-propagation problem D."""
    import scipy.sparse.linalg as spla

    from ..datasets import make_lattice_label_propagation
    from ..optimize import message_passing_bcd

    small = make_lattice_label_propagation((5, 5), 3, random_state=0)
    warm_up(message_passing_bcd, small.Q, small.c, blocks="greedy_tree", max_iter=2)
    problem = make_lattice_label_propagation(random_state=0)
    res, seconds = timed(message_passing_bcd, problem.Q, problem.c, blocks="greedy_tree", max_iter=500)
    x_star, ref_seconds = timed(spla.spsolve, problem.Q.tocsc(), problem.c)
    d = res.x - x_star
    gap = 0.5 * d @ (problem.Q @ d)  # f(x) - f*, free of cancellation
    f0 = 0.5 * x_star @ (problem.Q @ x_star)  # f(0) - f*
    return DemoRow(FAMILY, "label propagation, 50x50 lattice (problem D)", "optimize.message_passing_bcd (greedy tree)",
                   seconds, "SciPy sparse direct solve (spsolve)", ref_seconds,
                   f"f - f* = {gap:.1e} after 500 it. (f(0) - f* = {f0:.1e})", gap <= 1e-6 * f0, research=True)


def active_set_demo():
    """Greedy active-set BCD with prox-Newton blocks on a nonnegative l1 problem."""
    from sklearn.linear_model import Lasso as SkLasso

    from ..datasets import make_nonnegative_l1_problem
    from ..optimize import active_set_bcd

    options = {"positive": True, "block_size": 100, "update": "prox_newton", "precompute": True}
    small = make_nonnegative_l1_problem(20, 40, lam=10.0, random_state=0)
    warm_up(active_set_bcd, small.A, small.b, small.lam, **{**options, "block_size": 5})
    p = make_nonnegative_l1_problem(300, 1500, lam=5e3, random_state=0)
    res, seconds = timed(active_set_bcd, p.A, p.b, p.lam, **options)
    m = p.A.shape[0]
    sk = SkLasso(alpha=p.lam / m, positive=True, fit_intercept=False, tol=1e-12, max_iter=100000)
    ref, ref_seconds = timed(sk.fit, p.A, p.b)

    def objective(x):
        r = p.A @ x - p.b
        return 0.5 * r @ r + p.lam * x.sum()

    gap = (objective(res.x) - objective(ref.coef_)) / objective(ref.coef_)
    return DemoRow(FAMILY, "nonnegative l1, 300x1500 (problem L1 shape)",
                   "optimize.active_set_bcd (prox Newton, 100-blocks)", seconds,
                   "scikit-learn Lasso positive=True (tol 1e-12)", ref_seconds,
                   f"{res.nit} it.; rel. objective {gap:+.1e}", res.success and gap <= 1e-9, research=True)


DEMOS = [lasso_estimator_demo, logistic_demo, message_passing_demo, active_set_demo]
