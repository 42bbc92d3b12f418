"""Numba kernel for multi-task elastic-net block coordinate descent with working sets.

Problem solved (scaled by ``n_samples`` with respect to scikit-learn's)::

    min_W  0.5 * ||Y - X W||_F^2 + alpha1 * sum_j ||W_j||_2 + 0.5 * alpha2 * ||W||_F^2

``W`` has one row ``W_j`` (the ``n_tasks`` coefficients) per feature; ``X`` is
Fortran-ordered and the residual ``R = Y - X W`` is stored task-major,
shape ``(n_tasks, n_samples)``, and maintained incrementally, so a block
update costs ``O(n_samples * n_tasks)``. The update of row ``j`` is the
exact block minimiser: ``W_j = z (1 - alpha1 / ||z||)_+ / (||X_j||^2 + alpha2)``
with ``z = X_j^T R + ||X_j||^2 W_j``.

Working sets as in :mod:`._cd_numba`: once per outer iteration the full
gradient ``X^T R`` and the duality gap are computed; the rows are ranked by
their violation of the dual constraint ``||X_j^T R|| <= alpha1`` (scaled by
``||X_j||``), the support always kept, and block coordinate descent runs on
the ``max(p0, 2 |support|)`` best rows until the gap of that subproblem
falls below 0.3 times the full gap (checked every ``_CHECK`` epochs); without
an l2,1 part (``alpha1 = 0``) the working set is all the features. The gap is
scikit-learn's (``gap_enet_multi_task``): the residual rescaled into the dual
feasible set; for ridge (``alpha1 = 0``) the unconstrained dual
(formulation B), for least squares the squared norm of ``X^T R``.

Import lazily (numba is imported here); without numba
(``OPTLIB_DISABLE_NUMBA=1``) the same code runs as plain Python.
"""

import numpy as np

from ._cd_numba import _top_k, dw_small, njit

_CHECK = 10  # epochs between inner gap checks


@njit(cache=True, fastmath=False)
def _grad_rows(X, R, ws, n_ws, grad):
    """grad[j, t] = X[:, j] @ R[t] for j in ws[:n_ws]."""
    for k in range(n_ws):
        j = ws[k]
        for t in range(R.shape[0]):
            grad[j, t] = np.dot(X[:, j], R[t])


@njit(cache=True, fastmath=False)
def gap_mt(Y, W, R, grad, ws, n_ws, alpha1, alpha2):
    """Duality gap of the problem restricted to rows ws[:n_ws] (``grad`` holds ``X^T R`` there).

    Rows of ``W`` outside ws must be zero. Formulation A (``alpha1 > 0``),
    formulation B (ridge) or ``||X^T R||_F^2`` (least squares), as scikit-learn.
    """
    T = R.shape[0]
    dual_norm = 0.0
    xta2 = 0.0  # ||X^T R||_F^2 on ws (alpha1 = 0)
    l21 = 0.0
    w2 = 0.0
    for k in range(n_ws):
        j = ws[k]
        s = 0.0
        wj2 = 0.0
        for t in range(T):
            v = grad[j, t] - alpha2 * W[j, t]
            s += v * v
            xta2 += grad[j, t] * grad[j, t]
            wj2 += W[j, t] * W[j, t]
        dual_norm = max(dual_norm, np.sqrt(s))
        l21 += np.sqrt(wj2)
        w2 += wj2
    if alpha1 == 0.0 and alpha2 == 0.0:
        return xta2
    r2 = 0.0
    ry = 0.0
    for t in range(T):
        for i in range(R.shape[1]):
            r2 += R[t, i] * R[t, i]
            ry += R[t, i] * Y[t, i]
    if alpha1 == 0.0:
        return r2 + 0.5 * alpha2 * w2 - ry + xta2 / (2.0 * alpha2)
    const = alpha1 / dual_norm if dual_norm > alpha1 else 1.0
    return 0.5 * r2 * (1.0 + const * const) + alpha1 * l21 - const * ry + 0.5 * alpha2 * (1.0 + const * const) * w2


@njit(cache=True, fastmath=False)
def _sweep(X, W, R, norms2, ws, n_ws, alpha1, alpha2, random):
    """One epoch of block coordinate descent on rows ws[:n_ws] (cyclic or random).

    Returns ``(d_w_max, w_max)``: the largest change of a coefficient in the
    epoch and the largest coefficient (scikit-learn's primal stopping test).
    """
    n = X.shape[0]
    T = R.shape[0]
    z = np.empty(T)
    d_w_max = 0.0
    w_max = 0.0
    for k in range(n_ws):
        j = ws[np.random.randint(n_ws)] if random else ws[k]
        nrm = norms2[j]
        if nrm == 0.0:
            continue
        zn = 0.0
        for t in range(T):
            z[t] = np.dot(X[:, j], R[t]) + nrm * W[j, t]
            zn += z[t] * z[t]
        zn = np.sqrt(zn)
        scale = max(1.0 - alpha1 / zn, 0.0) / (nrm + alpha2) if zn > 0.0 else 0.0
        for t in range(T):
            new = z[t] * scale
            delta = new - W[j, t]
            if delta != 0.0:
                for i in range(n):
                    R[t, i] -= delta * X[i, j]
                W[j, t] = new
                d_w_max = max(d_w_max, abs(delta))
            w_max = max(w_max, abs(new))
    return d_w_max, w_max


@njit(cache=True, fastmath=False)
def multitask_cd_ws(X, Y, W, R, norms2, alpha1, alpha2, max_iter, tol, random, seed, p0, dw_tol, entry_test):
    """Working-set block coordinate descent; ``W`` (p, T) and ``R`` (T, n) are updated in place.

    ``max_iter`` bounds the total number of epochs (sweeps over the current
    working set). Stops when the duality gap of the full problem is at most
    ``tol`` and the last epoch changed no coefficient by more than ``dw_tol``
    times the largest one (scikit-learn's pair of tests, as
    :func:`._cd_numba.enet_cd_ws`); before any epoch the gap alone decides
    when ``entry_test`` or ``W = 0`` (a path passes ``entry_test=False``:
    a warm start gets at least one epoch). Returns ``(n_epochs, gap)``,
    ``gap`` the duality gap of the full problem at the returned ``W``
    (n-scaled units).
    """
    p = X.shape[1]
    T = R.shape[0]
    if random:
        np.random.seed(seed)
    grad = np.dot(X.T, R.T)  # (p, T), BLAS
    all_idx = np.arange(p)
    scores = np.empty(p)
    n_epochs = 0
    settled = entry_test or not np.any(W)  # the last epoch changed W by little (dw_small)
    while True:
        gap = gap_mt(Y, W, R, grad, all_idx, p, alpha1, alpha2)
        if (gap <= tol and settled) or n_epochs >= max_iter:
            break
        if alpha1 > 0.0:
            nnz = 0
            for j in range(p):
                nz = False
                g2 = 0.0
                for t in range(T):
                    g2 += grad[j, t] * grad[j, t]
                    nz = nz or W[j, t] != 0.0
                if nz:
                    scores[j] = np.inf
                    nnz += 1
                elif norms2[j] == 0.0:
                    scores[j] = -np.inf
                else:
                    scores[j] = (np.sqrt(g2) - alpha1) / np.sqrt(norms2[j])
            ws_size = min(max(p0, 2 * nnz), p)
            ws = _top_k(scores, ws_size) if ws_size < p else all_idx
            tol_in = max(0.3 * gap, tol)
        else:
            ws_size = p
            ws = all_idx
            tol_in = tol
        epoch = 0
        while n_epochs < max_iter:
            d_w_max, w_max = _sweep(X, W, R, norms2, ws, ws_size, alpha1, alpha2, random)
            settled = dw_small(d_w_max, w_max, dw_tol)
            n_epochs += 1
            epoch += 1
            if epoch % _CHECK == 0 or settled or ws_size == p:  # an early test once W has settled
                if ws_size == p:
                    break  # the outer loop checks the full gap
                _grad_rows(X, R, ws, ws_size, grad)
                gap_in = gap_mt(Y, W, R, grad, ws, ws_size, alpha1, alpha2)
                if gap_in <= tol_in and (settled or tol_in > tol):
                    break
        grad = np.dot(X.T, R.T)
    return n_epochs, gap
