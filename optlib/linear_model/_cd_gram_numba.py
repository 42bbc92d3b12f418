"""Numba kernel for elastic-net coordinate descent on a Gram matrix (``precompute``).

Same problem, working sets and stopping rule as :mod:`._cd_numba`, with the
design given by ``G = X^T X`` (C-ordered, symmetric), ``xy = X^T y`` and
``yy = y^T y`` only (scikit-learn's Gram solver has the same inputs). The
gradient ``q = X^T R = xy - G w`` is maintained instead of the residual, so a
coordinate update costs O(n_features) instead of O(n_samples): the kernel
pays when ``n_samples >> n_features``. The duality gap needs
``||R||^2 = yy - w^T xy - w^T q`` and ``R^T y = yy - w^T xy``
(:func:`._cd_numba.gap_stats`); the cancellation in ``||R||^2`` limits the
gap's resolution to about ``eps * yy``, as in scikit-learn's Gram solver.

This module imports numba at import time: import it lazily.
"""

import numpy as np

from .._backend import numba_available

if numba_available():
    from numba import njit
else:  # pragma: no cover - exercised in a subprocess by the tests

    def njit(*args, **kwargs):
        return lambda func: func


from ._cd_numba import _top_k, dw_small, enet_coordinate, gap_stats


@njit(cache=True, fastmath=False)
def _gap(G, xy, yy, w, q, ws, n_ws, alpha1, alpha2, positive):
    """Duality gap on ws[:n_ws] (coefficients outside ws are zero) from the Gram statistics."""
    w_xy = 0.0
    w_q = 0.0
    for k in range(n_ws):
        j = ws[k]
        w_xy += w[j] * xy[j]
        w_q += w[j] * q[j]
    r_norm2 = max(yy - w_xy - w_q, 0.0)
    return gap_stats(w, q, ws, n_ws, alpha1, alpha2, positive, r_norm2, yy - w_xy)


@njit(cache=True, fastmath=False)
def _sweep(G, w, q, ws, n_ws, alpha1, alpha2, positive, random):
    """One epoch of coordinate descent on ws[:n_ws]; ``q = xy - G w`` is kept up to date.

    Returns ``(d_w_max, w_max)`` as :func:`._cd_numba._sweep`.
    """
    p = G.shape[0]
    d_w_max = 0.0
    w_max = 0.0
    for k in range(n_ws):
        if random:
            j = ws[np.random.randint(n_ws)]
        else:
            j = ws[k]
        nrm = G[j, j]
        if nrm == 0.0:
            continue
        old = w[j]
        tmp = q[j] + nrm * old
        new = enet_coordinate(tmp, nrm, alpha1, alpha2, positive)
        if new != old:
            delta = new - old
            for i in range(p):
                q[i] -= delta * G[j, i]  # G symmetric: row j is column j, contiguous
            w[j] = new
            d_w_max = max(d_w_max, abs(delta))
        w_max = max(w_max, abs(new))
    return d_w_max, w_max


@njit(cache=True, fastmath=False, nogil=True)
def enet_cd_gram(
    G, xy, yy, w, alpha1, alpha2, positive, max_iter, tol, random, seed, use_ws, p0, dw_tol=np.inf, entry_test=True
):
    """Working-set coordinate descent from the Gram matrix; ``w`` is updated in place.

    ``G``, ``xy`` and ``w`` are float64 (``G`` is small when this kernel pays).

    Stops as :func:`._cd_numba.enet_cd_ws` (duality gap at most ``tol`` and
    the last epoch's largest change at most ``dw_tol`` times the largest
    coefficient; ``entry_test`` as there). Returns ``(n_epochs, gap)`` (full-problem duality gap in the
    n-scaled units). ``max_iter`` bounds the total number of epochs over the
    working sets.
    """
    p = G.shape[0]
    if random:
        np.random.seed(seed)
    q = xy - np.dot(G, w)
    all_idx = np.arange(p)
    scores = np.empty(p)
    n_epochs = 0
    gap = np.inf
    settled = entry_test or not np.any(w)  # as in the dense kernel
    while True:
        gap = _gap(G, xy, yy, w, q, all_idx, p, alpha1, alpha2, positive)
        if (gap <= tol and settled) or n_epochs >= max_iter:
            break
        ws_size = p
        ws = all_idx
        tol_in = tol
        if use_ws and alpha1 > 0.0:  # same ranking as the dense kernel, norms from the diagonal
            nnz = 0
            for j in range(p):
                if w[j] != 0.0:
                    scores[j] = np.inf
                    nnz += 1
                elif G[j, j] <= 0.0:
                    scores[j] = -np.inf
                else:
                    g = q[j] if positive else abs(q[j])
                    scores[j] = (g - alpha1) / np.sqrt(G[j, j])
            ws_size = min(max(p0, 2 * nnz), p)
            if ws_size < p:
                ws = _top_k(scores, ws_size)
                tol_in = max(0.3 * gap, tol)
        while n_epochs < max_iter:
            d_w_max, w_max = _sweep(G, w, q, ws, ws_size, alpha1, alpha2, positive, random)
            settled = dw_small(d_w_max, w_max, dw_tol)
            n_epochs += 1
            if ws_size == p:
                break  # the outer loop checks the full gap
            if (settled or tol_in > tol) and _gap(G, xy, yy, w, q, ws, ws_size, alpha1, alpha2, positive) <= tol_in:
                break
        # refresh q against drift from the incremental updates (one O(p^2) product per outer iteration)
        q[:] = xy - np.dot(G, w)
    return n_epochs, gap
