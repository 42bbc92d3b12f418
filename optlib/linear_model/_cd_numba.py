"""Numba kernels for elastic-net coordinate descent with working sets.

Problem solved (scaled by ``n_samples`` with respect to scikit-learn's)::

    min_w  0.5 * ||y - X w||^2 + alpha1 * ||w||_1 + 0.5 * alpha2 * ||w||^2
    (+ w >= 0 when ``positive``)

``X`` is Fortran-ordered (contiguous columns). The residual ``R = y - X w`` is
maintained incrementally, so a coordinate update costs O(n_samples).

Working sets (celer / skglm style): the full gradient ``X^T R`` and the
duality gap of the full problem are computed once per outer iteration; the
features are ranked by their violation of the dual constraint
``|X_j^T R| <= alpha1`` (scaled by ``||X_j||``), the current support always
kept, and coordinate descent runs on the ``ws_size`` best ones until the gap
of that subproblem falls below a fraction of the full gap. Within a working
set, every ``_K + 1`` epochs an Anderson extrapolation of the last iterates is
tried and kept when it lowers the objective (as in celer and skglm).

This module imports numba at import time: import it lazily. When numba is
missing or disabled (``OPTLIB_DISABLE_NUMBA=1``, read at first import) the
same functions run as plain Python: correct, slow, and ``selection="random"``
then seeds NumPy's global generator.
"""

import numpy as np

from .._backend import numba_available

if numba_available():
    from numba import njit
else:  # pragma: no cover - exercised in a subprocess by the tests

    def njit(*args, **kwargs):
        return lambda func: func


_K = 5  # Anderson acceleration memory (iterates used for extrapolation)


@njit(cache=True, fastmath=False)
def _grad_ws(X, R, ws, n_ws, grad):
    """grad[j] = X[:, j] @ R for j in ws[:n_ws]."""
    n = X.shape[0]
    for k in range(n_ws):
        j = ws[k]
        s = 0.0
        for i in range(n):
            s += X[i, j] * R[i]
        grad[j] = s


@njit(cache=True, fastmath=False)
def _gap_ws(X, y, w, R, grad, ws, n_ws, alpha1, alpha2, positive):
    """Duality gap (scikit-learn's formula) of the problem restricted to ws[:n_ws].

    ``grad`` must hold ``X^T R`` on ws. Coefficients outside ws must be zero.
    """
    n = X.shape[0]
    dual_norm = 0.0
    l1 = 0.0
    w_norm2 = 0.0
    for k in range(n_ws):
        j = ws[k]
        v = grad[j] - alpha2 * w[j]
        if not positive:
            v = abs(v)
        dual_norm = max(dual_norm, v)
        l1 += abs(w[j])
        w_norm2 += w[j] * w[j]
    r_norm2 = 0.0
    r_y = 0.0
    for i in range(n):
        r_norm2 += R[i] * R[i]
        r_y += R[i] * y[i]
    if dual_norm > alpha1:
        const = alpha1 / dual_norm
        gap = 0.5 * (r_norm2 + r_norm2 * const * const)
    else:
        const = 1.0
        gap = r_norm2
    gap += alpha1 * l1 - const * r_y + 0.5 * alpha2 * (1.0 + const * const) * w_norm2
    return gap


@njit(cache=True, fastmath=False)
def _sweep(X, w, R, norms2, ws, n_ws, alpha1, alpha2, positive, random):
    """One epoch of coordinate descent on ws[:n_ws] (cyclic or random)."""
    n = X.shape[0]
    for k in range(n_ws):
        if random:
            j = ws[np.random.randint(n_ws)]
        else:
            j = ws[k]
        nrm = norms2[j]
        if nrm == 0.0:
            continue
        old = w[j]
        tmp = 0.0
        for i in range(n):
            tmp += X[i, j] * R[i]
        tmp += nrm * old
        if positive:
            new = max(tmp - alpha1, 0.0) / (nrm + alpha2)
        elif tmp > alpha1:
            new = (tmp - alpha1) / (nrm + alpha2)
        elif tmp < -alpha1:
            new = (tmp + alpha1) / (nrm + alpha2)
        else:
            new = 0.0
        if new != old:
            delta = new - old
            for i in range(n):
                R[i] -= delta * X[i, j]
            w[j] = new


@njit(cache=True, fastmath=False)
def _primal(w, R, ws, n_ws, alpha1, alpha2):
    l1 = 0.0
    l2 = 0.0
    for k in range(n_ws):
        v = w[ws[k]]
        l1 += abs(v)
        l2 += v * v
    r2 = 0.0
    for i in range(R.shape[0]):
        r2 += R[i] * R[i]
    return 0.5 * r2 + alpha1 * l1 + 0.5 * alpha2 * l2


@njit(cache=True, fastmath=False)
def _anderson(X, y, w, R, ws, n_ws, hist, alpha1, alpha2, positive):
    """Anderson extrapolation from the K+1 stored iterates ``hist`` (rows) of w[ws].

    The extrapolated point replaces ``w`` (and ``R``) only when it lowers the objective.
    """
    K = hist.shape[0] - 1
    U = np.empty((K, n_ws))
    for k in range(K):
        for m in range(n_ws):
            U[k, m] = hist[k + 1, m] - hist[k, m]
    C = U @ U.T
    tr = 0.0
    for k in range(K):
        tr += C[k, k]
    if tr == 0.0:
        return
    for k in range(K):
        C[k, k] += 1e-10 * tr
    z = np.linalg.solve(C, np.ones(K))
    zs = z.sum()
    if zs == 0.0 or not np.isfinite(zs):
        return
    c = z / zs
    w_acc = np.zeros(n_ws)
    for k in range(K):
        for m in range(n_ws):
            w_acc[m] += c[k] * hist[k + 1, m]
    if positive:
        for m in range(n_ws):
            w_acc[m] = max(w_acc[m], 0.0)
    n = X.shape[0]
    R_acc = np.empty(n, dtype=R.dtype)
    for i in range(n):
        R_acc[i] = y[i]
    for m in range(n_ws):
        v = w_acc[m]
        if v != 0.0:
            j = ws[m]
            for i in range(n):
                R_acc[i] -= v * X[i, j]
    old = _primal(w, R, ws, n_ws, alpha1, alpha2)
    w_old = np.empty(n_ws)
    for m in range(n_ws):
        w_old[m] = w[ws[m]]
        w[ws[m]] = w_acc[m]
    new = _primal(w, R_acc, ws, n_ws, alpha1, alpha2)
    if new < old:
        for i in range(n):
            R[i] = R_acc[i]
    else:
        for m in range(n_ws):
            w[ws[m]] = w_old[m]


@njit(cache=True, fastmath=False)
def enet_cd_ws(
    X, y, w, R, alpha1, alpha2, positive, max_iter, tol, random, seed, use_ws, p0
):
    """Working-set coordinate descent; ``w`` and ``R`` are updated in place.

    ``max_iter`` bounds the total number of epochs (sweeps over the current
    working set). Returns ``(n_epochs, gap)`` with ``gap`` the duality gap of
    the full problem at the returned ``w`` (in the n-scaled units above).
    """
    n, p = X.shape
    if random:
        np.random.seed(seed)
    norms2 = np.empty(p)
    for j in range(p):
        s = 0.0
        for i in range(n):
            s += X[i, j] * X[i, j]
        norms2[j] = s
    grad = np.zeros(p)
    all_idx = np.arange(p)
    scores = np.empty(p)
    n_epochs = 0
    prev_gap = np.inf
    prev_ws = 0
    gap = np.inf
    while True:
        _grad_ws(X, R, all_idx, p, grad)
        gap = _gap_ws(X, y, w, R, grad, all_idx, p, alpha1, alpha2, positive)
        if gap <= tol or n_epochs >= max_iter:
            break
        if use_ws:
            nnz = 0
            for j in range(p):
                if w[j] != 0.0:
                    scores[j] = np.inf
                    nnz += 1
                elif norms2[j] == 0.0:
                    scores[j] = -np.inf
                else:
                    g = grad[j] if positive else abs(grad[j])
                    scores[j] = (g - alpha1) / np.sqrt(norms2[j])
            ws_size = max(p0, 2 * nnz)
            if prev_ws > 0 and gap > 0.5 * prev_gap:
                ws_size = max(ws_size, 2 * prev_ws)
            ws_size = min(ws_size, p)
            if ws_size < p:
                ws = np.argsort(-scores)[:ws_size].copy()
            else:
                ws = all_idx
            tol_in = max(0.3 * gap, tol)
        else:
            ws_size = p
            ws = all_idx
            tol_in = tol
        prev_gap = gap
        prev_ws = ws_size
        epoch = 0
        hist = np.empty((_K + 1, ws_size))
        while n_epochs < max_iter:
            _sweep(X, w, R, norms2, ws, ws_size, alpha1, alpha2, positive, random)
            n_epochs += 1
            epoch += 1
            if use_ws:
                slot = (epoch - 1) % (_K + 1)
                for m in range(ws_size):
                    hist[slot, m] = w[ws[m]]
                if slot == _K:
                    _anderson(X, y, w, R, ws, ws_size, hist, alpha1, alpha2, positive)
            if epoch % 10 == 0 or (not use_ws):
                if ws_size == p:
                    break  # the outer loop checks the full gap
                _grad_ws(X, R, ws, ws_size, grad)
                gap_in = _gap_ws(
                    X, y, w, R, grad, ws, ws_size, alpha1, alpha2, positive
                )
                if gap_in <= tol_in:
                    break
    return n_epochs, gap
