"""Proximal-gradient family demos."""

import numpy as np

from . import DemoRow, timed, warm_up

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
    f, g = LeastSquares(A, y, scale=1 / n), L1(alpha)
    options = {"restart": "gradient", "stop": "gap", "tol": 1e-12, "max_iter": 50000}
    res, seconds = timed(proxgrad, f, g, np.zeros(p), **options)
    ref, ref_seconds = timed(Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=10**6).fit, A, y)
    f_ref = f(ref.coef_) + g(ref.coef_)
    gap = abs(res.fun - f_ref) / f_ref
    return DemoRow(FAMILY, f"Lasso {n}x{p}", "optimize.proxgrad (FISTA + restart)", seconds,
                   "scikit-learn Lasso (tol 1e-14)", ref_seconds, f"rel. objective gap {gap:.1e}",
                   res.success and gap <= 1e-9)


def sparse_coding_demo():
    """l1 sparse codes of many signals against scikit-learn's ``sparse_encode``."""
    from sklearn.decomposition import sparse_encode as sk_sparse_encode

    from ..decomposition import sparse_encode

    rng = np.random.default_rng(1)
    n_atoms, n_features, n_signals = 128, 64, 500
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    codes = rng.standard_normal((n_signals, n_atoms)) * (rng.random((n_signals, n_atoms)) < 0.05)
    X = codes @ D + 0.01 * rng.standard_normal((n_signals, n_features))
    alpha = 0.05
    options = {"penalty": "l1", "alpha": alpha, "tol": 1e-8, "max_iter": 20000}
    ours, seconds = timed(sparse_encode, X, D, **options)
    reference, ref_seconds = timed(sk_sparse_encode, X, D, algorithm="lasso_cd", alpha=alpha, max_iter=100000)

    def objective(C):
        return 0.5 * np.sum((X - C @ D) ** 2) + alpha * np.sum(np.abs(C))

    gap = (objective(ours) - objective(reference)) / objective(reference)
    return DemoRow(FAMILY, f"sparse coding, {n_signals} signals, {n_atoms} atoms", "decomposition.sparse_encode (l1)",
                   seconds, "scikit-learn sparse_encode (lasso_cd)", ref_seconds, f"rel. objective {gap:+.1e}",
                   gap <= 1e-9)


def _tv_kkt_residual(y, x, lam):
    """Largest violation of the optimality conditions of ``x = prox_{lam TV}(y)``, row by row.

    With ``z = -cumsum(y - x)[:-1]`` (the dual variable, since
    ``y - x = D^T z`` for the forward difference ``D``), ``x`` is the prox
    exactly when ``sum(y - x) = 0``, ``|z_i| <= lam``, and
    ``z_i = lam * sign(x[i+1] - x[i])`` wherever ``x`` jumps.
    """
    c = np.cumsum(y - x, axis=-1)
    z, jumps = -c[:, :-1], np.diff(x, axis=-1)
    on_jump = np.where(jumps != 0, np.abs(z - lam * np.sign(jumps)), 0.0)
    return max(np.max(np.abs(c[:, -1])), np.max(np.abs(z)) - lam, np.max(on_jump))


def tv_demo():
    """Exact 1-D total-variation denoising against scikit-learn's Lasso on the jump parametrisation."""
    from sklearn.linear_model import Lasso

    from ..functions import TV1D

    rng = np.random.default_rng(2)
    n_signals, lam = 10, 1.0
    steps = np.repeat(rng.standard_normal(10), 20)
    noisy = steps + 0.3 * rng.standard_normal((n_signals, steps.size))
    n = steps.size
    prox = TV1D(lam, engine="numba").prox
    warm_up(prox, noisy[:1, :10])
    ours, seconds = timed(prox, noisy)

    # x = x_0 + cumsum of jumps d, so prox_{lam TV}(y) is a Lasso in d with an
    # unpenalised intercept: min 0.5 ||y - J d - c||^2 + lam ||d||_1.
    J = np.tril(np.ones((n, n - 1)), -1)
    lasso = Lasso(alpha=lam / n, tol=1e-12, max_iter=10**6)
    reference, ref_seconds = timed(lambda: np.stack([lasso.fit(J, y).predict(J) for y in noisy]))
    err = float(np.max(np.abs(ours - reference)))
    kkt = _tv_kkt_residual(noisy, ours, lam)
    return DemoRow(FAMILY, f"TV denoising, {n_signals} signals x {n}", "functions.TV1D.prox (Condat, numba)", seconds,
                   "scikit-learn Lasso (tol 1e-12) on x = c + cumsum(jumps)", ref_seconds,
                   f"max abs diff {err:.1e}; optimality residual {kkt:.1e}", err <= 1e-8 and kkt <= 1e-12)


DEMOS = [lasso_demo, sparse_coding_demo, tv_demo]
