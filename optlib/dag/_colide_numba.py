"""numba kernels of CoLiDE's inner loop: Adam steps on ``W`` with closed-form scale updates.

One call runs up to ``n_steps`` iterations of one central-path stage, so the
Python driver only sees the solver every ``check_every`` iterations. Each
iteration costs one LU-based inverse of ``s I - W o W`` (its entries give the
gradient of the log-det acyclicity and the domain test) and one product
``cov @ W``, whose result serves both the scale update after the step and the
score gradient of the next iteration.

``mode`` selects the score: 0 CoLiDE-EV (one scale, stored in every entry of
``sigma``), 1 CoLiDE-NV (one scale per variable), 2 DAGMA's least squares
(``sigma`` stays at one).
"""

import numpy as np
from numba import njit

from ._colide import DOMAIN_TOL, LR_UNDERFLOW, OK, OUT_OF_DOMAIN


@njit(cache=True)
def refresh_scale(W, cov, R, sigma, mode, sigma_floor):
    """``R = cov (I - W)``; the scales from the diagonal of ``(I - W)^T cov (I - W)``."""
    d = W.shape[0]
    R[:, :] = cov - np.dot(cov, W)
    if mode == 2:
        return
    total = 0.0
    for j in range(d):
        c = R[j, j]
        for i in range(d):
            c -= W[i, j] * R[i, j]
        c = max(c, 0.0)
        total += c
        if mode == 1:
            sigma[j] = max(np.sqrt(c), sigma_floor)
    if mode == 0:
        value = max(np.sqrt(total / d), sigma_floor)
        for j in range(d):
            sigma[j] = value


@njit(cache=True)
def objective(W, R, sigma, lam, mu, s, mode):
    """``(mu (score + lam |W|_1) + h, score, h)`` from ``R = cov (I - W)`` (one LU for the log-det)."""
    d = W.shape[0]
    M = -W * W
    for i in range(d):
        M[i, i] += s
    sign, logdet = np.linalg.slogdet(M)
    h = d * np.log(s) - logdet if sign > 0 else np.inf
    score = 0.0
    l1 = 0.0
    for j in range(d):
        c = R[j, j]
        for i in range(d):
            c -= W[i, j] * R[i, j]
            l1 += abs(W[i, j])
        if mode == 2:
            score += 0.5 * c
        elif mode == 1:
            score += 0.5 * c / sigma[j] + 0.5 * sigma[j]
        else:
            score += 0.5 * c / sigma[j] + 0.5 * sigma[0]
    return mu * (score + lam * l1) + h, score, h


@njit(cache=True)
def _inverse_in_domain(W, s):
    """``(s I - W o W)^{-1}`` and whether every entry is above ``DOMAIN_TOL``."""
    d = W.shape[0]
    M = -W * W
    for i in range(d):
        M[i, i] += s
    Minv = np.linalg.inv(M)
    for i in range(d):
        for j in range(d):
            if not Minv[i, j] >= DOMAIN_TOL:  # NaN counts as outside
                return Minv, False
    return Minv, True


@njit(cache=True)
def run_stage_chunk(W, sigma, cov, R, step, m, v, lam, mu, s, lr, beta1, beta2, t0, n_steps, mode, sigma_floor):
    """Run up to ``n_steps`` iterations of one stage, in place on ``W, sigma, R, step, m, v``.

    ``t0`` iterations of the stage are already done (Adam's bias correction
    counts from the stage start). Returns ``(code, iterations done, lr)``.
    """
    d = W.shape[0]
    for k in range(n_steps):
        t = t0 + k + 1
        Minv, inside = _inverse_in_domain(W, s)
        while not inside:
            if t == 1 or s <= 0.9:
                return OUT_OF_DOMAIN, k, lr
            # step back, halve the step size and retry the last Adam direction
            W += lr * step
            lr *= 0.5
            if lr <= 1e-16:
                refresh_scale(W, cov, R, sigma, mode, sigma_floor)
                return LR_UNDERFLOW, k, lr
            W -= lr * step
            refresh_scale(W, cov, R, sigma, mode, sigma_floor)
            Minv, inside = _inverse_in_domain(W, s)
        c1 = 1.0 - beta1**t
        c2 = 1.0 - beta2**t
        for i in range(d):
            for j in range(d):
                w = W[i, j]
                g = -mu * R[i, j] / sigma[j] + 2.0 * w * Minv[j, i]
                if w > 0:
                    g += mu * lam
                elif w < 0:
                    g -= mu * lam
                mij = beta1 * m[i, j] + (1.0 - beta1) * g
                vij = beta2 * v[i, j] + (1.0 - beta2) * g * g
                m[i, j] = mij
                v[i, j] = vij
                step[i, j] = (mij / c1) / (np.sqrt(vij / c2) + 1e-8)
                W[i, j] = w - lr * step[i, j]
        refresh_scale(W, cov, R, sigma, mode, sigma_floor)
    return OK, n_steps, lr
