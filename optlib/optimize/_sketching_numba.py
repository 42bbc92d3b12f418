"""Numba kernel of the one-row sketches on an explicit NumPy matrix (imported on first use)."""

import numpy as np
from numba import njit

_REFRESH = 1000  # recompute r = K z - b exactly every this many iterations


@njit(cache=True, fastmath=False)
def one_row_sketch(K, KKt, b, z, r, row_sq, cum, kind, tol, floor, max_iter, seed):
    """Sketch-and-project with one-row sketches, in place on ``z`` and ``r = K z - b``.

    ``kind``: 0 Gaussian vector, 1 uniform Kaczmarz, 2 row-norm-weighted
    Kaczmarz. ``KKt = K K^T`` turns the residual update into one column read.
    Stops at ``||r|| <= max(tol, floor ||z||)``. Returns the number of iterations.
    """
    np.random.seed(seed)
    p = K.shape[0]
    tol2 = tol * tol
    for t in range(max_iter):
        rr = np.dot(r, r)
        if rr <= tol2 or rr <= floor * floor * np.dot(z, z):
            return t
        if kind == 0:
            s = np.random.standard_normal(p).astype(K.dtype)
            u = K.T @ s
            uu = np.dot(u, u)
            if uu == 0.0:
                continue
            a = np.dot(s, r) / uu
            z -= a * u
            r -= a * (K @ u)
        else:
            if kind == 1:
                i = np.random.randint(p)
            else:
                i = min(np.searchsorted(cum, np.random.random(), side="right"), p - 1)
            if row_sq[i] == 0.0:
                continue
            a = r[i] / row_sq[i]
            z -= a * K[i, :]
            r -= a * KKt[:, i]
        if (t + 1) % _REFRESH == 0:
            r[:] = K @ z - b
    return max_iter
