"""Numba kernels of the per-pixel active-set method (FCLS and NNLS), imported on first use.

Each pixel solves ``min_a 0.5 a^T G a - b^T a`` subject to ``a >= 0`` (and
``sum(a) = 1`` for FCLS), with ``G = E E^T`` shared by all pixels and
``b = E y`` the pixel's row of ``B = Y E^T``. The iteration is the one of
``_unmixing._active_set_xp`` (see its docstring), pixel by pixel; the
parallel kernel spreads the pixels over numba's threads with ``prange``, the
serial one runs in the calling thread (used inside Dask blocks).
"""

import numpy as np
from numba import njit, prange


@njit(cache=True, fastmath=False)
def _solve_free(G, b, free, sum_to_one, jitter, z, L, rhs, idx):
    """``z`` = minimiser on the free set (Cholesky of ``G_FF``), zero elsewhere."""
    p = b.shape[0]
    k = 0
    for j in range(p):
        z[j] = 0.0
        if free[j]:
            idx[k] = j
            k += 1
    if k == 0:
        return
    for r in range(k):  # Cholesky G_FF = L L^T
        for c in range(r + 1):
            s = G[idx[r], idx[c]]
            for m in range(c):
                s -= L[r, m] * L[c, m]
            if r == c:
                L[r, r] = np.sqrt(s if s > jitter else jitter)
            else:
                L[r, c] = s / L[c, c]
    n_rhs = 2 if sum_to_one else 1
    for r in range(k):
        rhs[r, 0] = b[idx[r]]
        rhs[r, 1] = 1.0
    for q in range(n_rhs):  # forward and backward substitution
        for r in range(k):
            s = rhs[r, q]
            for m in range(r):
                s -= L[r, m] * rhs[m, q]
            rhs[r, q] = s / L[r, r]
        for r in range(k - 1, -1, -1):
            s = rhs[r, q]
            for m in range(r + 1, k):
                s -= L[m, r] * rhs[m, q]
            rhs[r, q] = s / L[r, r]
    shift = 0.0
    if sum_to_one:
        s1 = 0.0
        s2 = 0.0
        for r in range(k):
            s1 += rhs[r, 0]
            s2 += rhs[r, 1]
        shift = (1.0 - s1) / s2
    for r in range(k):
        z[idx[r]] = rhs[r, 0] + shift * rhs[r, 1] if sum_to_one else rhs[r, 0]


@njit(cache=True, fastmath=False)
def _pixel(G, b, sum_to_one, tol, jitter, max_iter, a, free, z, g, L, rhs, idx):
    """Active-set solve of one pixel into ``a``; returns the iteration count (negative: not converged).

    ``free`` ... ``idx`` are work arrays of the caller (reused across pixels).
    """
    p = b.shape[0]
    for j in range(p):
        a[j] = 0.0
        free[j] = False
    if sum_to_one:  # start at the best vertex
        best = 0
        for j in range(1, p):
            if 0.5 * G[j, j] - b[j] < 0.5 * G[best, best] - b[best]:
                best = j
        a[best] = 1.0
        free[best] = True
    need_kkt = True
    entering = -1
    for it in range(max_iter):
        if need_kkt:
            for j in range(p):
                s = -b[j]
                for m in range(p):
                    s += G[j, m] * a[m]
                g[j] = s
            mu = 0.0
            if sum_to_one:
                n_free = 0
                for j in range(p):
                    if free[j]:
                        mu -= g[j]
                        n_free += 1
                mu /= n_free
            entering = -1
            lmin = -tol
            for j in range(p):
                if not free[j] and g[j] + mu < lmin:
                    lmin = g[j] + mu
                    entering = j
            if entering < 0:
                return it
            free[entering] = True
        _solve_free(G, b, free, sum_to_one, jitter, z, L, rhs, idx)
        alpha = 1.0
        blocking = -1
        for j in range(p):
            if free[j] and z[j] <= 0.0:
                r = a[j] / (a[j] - z[j]) if a[j] > z[j] else 0.0
                if r < alpha or blocking < 0:
                    alpha = r
                    blocking = j
        if blocking < 0:
            for j in range(p):
                a[j] = z[j]
            need_kkt = True
            continue
        if blocking == entering:  # the entering variable cannot move: optimal up to rounding
            free[entering] = False
            return it + 1
        for j in range(p):
            if free[j]:
                a[j] += alpha * (z[j] - a[j])
                if j == blocking or a[j] <= 0.0:
                    a[j] = 0.0
                    free[j] = False
        entering = -1
        need_kkt = False
    return -max_iter


@njit(cache=True, fastmath=False)
def _pixel_range(G, B, sum_to_one, tol, jitter, max_iter, out, nit, start, stop):
    """Pixels ``start:stop`` with one set of work arrays."""
    p = B.shape[1]
    free = np.empty(p, dtype=np.bool_)
    z = np.empty(p, dtype=B.dtype)
    g = np.empty(p, dtype=B.dtype)
    L = np.empty((p, p), dtype=B.dtype)
    rhs = np.empty((p, 2), dtype=B.dtype)
    idx = np.empty(p, dtype=np.int64)
    for i in range(start, stop):
        nit[i] = _pixel(G, B[i], sum_to_one, tol, jitter, max_iter, out[i], free, z, g, L, rhs, idx)


_CHUNK = 256


@njit(cache=True, fastmath=False, parallel=True)
def active_set_parallel(G, B, sum_to_one, tol, jitter, max_iter, out, nit):
    """All pixels (rows of ``B``) in parallel over numba's threads, in chunks of 256."""
    n = B.shape[0]
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        _pixel_range(G, B, sum_to_one, tol, jitter, max_iter, out, nit, c * _CHUNK, min(n, (c + 1) * _CHUNK))


@njit(cache=True, fastmath=False)
def active_set_serial(G, B, sum_to_one, tol, jitter, max_iter, out, nit):
    """All pixels in the calling thread."""
    _pixel_range(G, B, sum_to_one, tol, jitter, max_iter, out, nit, 0, B.shape[0])
