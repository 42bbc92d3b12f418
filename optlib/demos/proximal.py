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
    reference = sk_sparse_encode(X, D, algorithm="lasso_cd", alpha=alpha, max_iter=100000)
    ours, seconds = timed(sparse_encode, X, D, penalty="l1", alpha=alpha, tol=1e-8, max_iter=20000)

    def objective(C):
        return 0.5 * np.sum((X - C @ D) ** 2) + alpha * np.sum(np.abs(C))

    gap = (objective(ours) - objective(reference)) / objective(reference)
    return DemoRow(FAMILY, f"sparse coding {n_signals} signals, {n_atoms} atoms", "sparse_encode (l1)", seconds,
                   f"rel. objective {gap:+.1e} vs scikit-learn sparse_encode", gap <= 1e-9)


def tv_demo():
    """Exact 1-D total-variation denoising: numba direct algorithm against the active-set array path."""
    from ..functions import TV1D

    rng = np.random.default_rng(2)
    steps = np.repeat(rng.standard_normal(20), 50)
    noisy = steps + 0.3 * rng.standard_normal((200, steps.size))
    TV1D(1.0, engine="numba").prox(noisy[:1])  # compile outside the timing
    ours, seconds = timed(TV1D(1.0, engine="numba").prox, noisy)
    reference = TV1D(1.0, engine="xp").prox(noisy)
    err = float(np.max(np.abs(ours - reference)))
    return DemoRow(FAMILY, f"TV denoising 200 signals x {steps.size}", "TV1D prox (Condat, numba)", seconds,
                   f"max abs diff {err:.1e} vs active-set dual solver", err <= 1e-9)


DEMOS = [lasso_demo, sparse_coding_demo, tv_demo]
