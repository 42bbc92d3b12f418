"""Numba kernels for elastic-net coordinate descent on a sparse (CSC) design.

Same problem, working sets, Anderson extrapolation and stopping rule as
:mod:`._cd_numba` (without its Newton steps on the support), with ``X`` given by its CSC arrays ``(indptr, indices,
data)``. Sample weights and the intercept are handled without densifying
``X`` (scikit-learn's sparse coordinate descent does the same): with
``v = sqrt(sample_weight)`` (ones when unweighted), ``Xs = diag(v) X`` (its
CSC ``data`` is passed, already scaled) and ``ys = v * y``, the problem is
the least-squares one for the implicitly centred design and target::

    Xc = Xs - v x_offset^T,      yc = ys - y_offset v

(``x_offset``, ``y_offset``: weighted means, zero without intercept). The
residual ``R = yc - Xc w`` is stored as ``R = Rs - s v`` with ``Rs = ys - Xs w``
(dense, updated on the nonzeros of a column only) and the scalar
``s = y_offset - x_offset @ w``, so a coordinate update costs O(nnz of the
column). ``X_j^T R`` uses ``cv_j = Xs_j^T v`` and ``c0 = v^T R`` (zero up to
rounding for weighted means, evaluated anyway).

This module imports numba at import time: import it lazily.
"""

import numpy as np

from .._backend import numba_available

if numba_available():
    from numba import njit
else:  # pragma: no cover - exercised in a subprocess by the tests

    def njit(*args, **kwargs):
        return lambda func: func


from ._cd_numba import (
    _CHECK,
    _top_k,
    anderson_candidates,
    dw_small,
    enet_coordinate,
    gap_ws,
)

_K = 5  # Anderson memory, as in the dense kernel


@njit(cache=True, fastmath=False)
def _true_residual(Rs, s, v, Rt):
    """Rt = Rs - s v; returns c0 = v @ Rt."""
    c0 = 0.0
    for i in range(Rs.shape[0]):
        r = Rs[i] - s * v[i]
        Rt[i] = r
        c0 += v[i] * r
    return c0


@njit(cache=True, fastmath=False)
def _grad_ws(indptr, indices, data, Rs, s, c0, cv, xo, ws, n_ws, grad):
    """grad[j] = Xc[:, j] @ R for j in ws[:n_ws]."""
    for k in range(n_ws):
        j = ws[k]
        acc = 0.0
        for ii in range(indptr[j], indptr[j + 1]):
            acc += data[ii] * Rs[indices[ii]]
        grad[j] = acc - s * cv[j] - xo[j] * c0


@njit(cache=True, fastmath=False)
def _sweep(indptr, indices, data, w, Rs, state, c0, cv, xo, norms2, ws, n_ws, alpha1, alpha2, positive, random):
    """One epoch of coordinate descent on ws[:n_ws]; ``state[0]`` is the scalar s.

    Returns ``(d_w_max, w_max)`` as :func:`._cd_numba._sweep`.
    """
    s = state[0]
    d_w_max = 0.0
    w_max = 0.0
    for k in range(n_ws):
        if random:
            j = ws[np.random.randint(n_ws)]
        else:
            j = ws[k]
        nrm = norms2[j]
        if nrm == 0.0:
            continue
        old = w[j]
        start, end = indptr[j], indptr[j + 1]
        acc = 0.0
        for ii in range(start, end):
            acc += data[ii] * Rs[indices[ii]]
        tmp = acc - s * cv[j] - xo[j] * c0 + nrm * old
        new = enet_coordinate(tmp, nrm, alpha1, alpha2, positive)
        if new != old:
            delta = new - old
            for ii in range(start, end):
                Rs[indices[ii]] -= delta * data[ii]
            s -= delta * xo[j]
            w[j] = new
            d_w_max = max(d_w_max, abs(delta))
        w_max = max(w_max, abs(new))
    state[0] = s
    return d_w_max, w_max


@njit(cache=True, fastmath=False)
def _primal(w, Rt, ws, n_ws, alpha1, alpha2):
    l1 = 0.0
    l2 = 0.0
    for k in range(n_ws):
        v = w[ws[k]]
        l1 += abs(v)
        l2 += v * v
    r2 = 0.0
    for i in range(Rt.shape[0]):
        r2 += Rt[i] * Rt[i]
    return 0.5 * r2 + alpha1 * l1 + 0.5 * alpha2 * l2


@njit(cache=True, fastmath=False)
def _try_point(indptr, indices, data, ys, yo, v, xo, w, Rs, state, Rt, ws, n_ws, w_new, alpha1, alpha2, old):
    """Replace ``w[ws]`` (and ``Rs``, ``state``) by ``w_new`` when its objective is below ``old``.

    ``Rt`` is a work buffer. Returns the largest coefficient change, or -1 when not kept.
    """
    n = Rs.shape[0]
    Rs_acc = np.empty(n)
    for i in range(n):
        Rs_acc[i] = ys[i]
    s_acc = yo
    for m in range(n_ws):
        val = w_new[m]
        if val != 0.0:
            j = ws[m]
            for ii in range(indptr[j], indptr[j + 1]):
                Rs_acc[indices[ii]] -= val * data[ii]
            s_acc -= val * xo[j]
    w_old = np.empty(n_ws)
    for m in range(n_ws):
        w_old[m] = w[ws[m]]
        w[ws[m]] = w_new[m]
    _true_residual(Rs_acc, s_acc, v, Rt)
    new = _primal(w, Rt, ws, n_ws, alpha1, alpha2)
    if new < old:
        for i in range(n):
            Rs[i] = Rs_acc[i]
        state[0] = s_acc
        d_w_max = 0.0
        for m in range(n_ws):
            d_w_max = max(d_w_max, abs(w_new[m] - w_old[m]))
        return d_w_max
    for m in range(n_ws):
        w[ws[m]] = w_old[m]
    return -1.0


@njit(cache=True, fastmath=False)
def _anderson(indptr, indices, data, ys, yo, v, xo, w, Rs, state, Rt, ws, n_ws, hist, alpha1, alpha2, positive):
    """Anderson extrapolation of the stored iterates: the first point of
    :func:`._cd_numba.anderson_candidates` that lowers the objective is kept.

    Returns the largest coefficient change (0 when none is kept).
    """
    first, second, n_cand = anderson_candidates(hist, n_ws, alpha1, positive)
    if n_cand == 0:
        return 0.0
    _true_residual(Rs, state[0], v, Rt)
    old = _primal(w, Rt, ws, n_ws, alpha1, alpha2)
    args = (indptr, indices, data, ys, yo, v, xo, w, Rs, state, Rt, ws, n_ws)
    d_w_max = _try_point(*args, first, alpha1, alpha2, old)
    if d_w_max < 0.0 and n_cand == 2:
        d_w_max = _try_point(*args, second, alpha1, alpha2, old)
    return max(d_w_max, 0.0)


@njit(cache=True, fastmath=False, nogil=True)
def enet_cd_ws_sparse(
    indptr, indices, data, ys, yo, v, xo, norms2, cv, stats_ready, w, alpha1, alpha2, positive, max_iter, tol, random,
    seed, use_ws, p0, check_finite=False, dw_tol=np.inf, entry_test=True,
):  # fmt: skip
    """Working-set coordinate descent on CSC ``Xs``; ``w`` is updated in place.

    Between two gap checks (``_CHECK`` epochs apart), the epochs sweep only
    the nonzeros of the working set found by its last full sweep (zero
    features of the set cost a column read each and seldom move); all of the
    set is swept before each check and after an epoch of small changes, and
    only such a full epoch can pass the coefficient-change test.
    Stops as :func:`._cd_numba.enet_cd_ws` (duality gap at most ``tol`` and
    the last epoch's largest change at most ``dw_tol`` times the largest
    coefficient; ``entry_test`` as there). Returns ``(n_epochs, gap)``, ``gap`` being the duality gap of the full
    problem at the returned ``w`` (n-scaled units, as :func:`._cd_numba.enet_cd_ws`).
    The squared column norms of ``Xc`` and ``Xs^T v`` are written to
    ``norms2`` and ``cv`` (shape ``(p,)``) and, when ``w`` is zero, the first
    full gradient computed with them, in one read of ``data``; with
    ``stats_ready`` (the arrays hold them from an earlier call on the same
    ``X``: the previous alpha of a path, or another target) they are not
    recomputed, and with a nonzero ``w`` that read is skipped. With ``check_finite``,
    returns ``(-1, nan)`` at once when a column's squared norm is not finite
    (a NaN or infinite entry, or an overflow: the caller tells them apart).
    """
    n = ys.shape[0]
    p = xo.shape[0]
    if random:
        np.random.seed(seed)
    vv = 0.0
    yt = np.empty(n)
    for i in range(n):
        vv += v[i] * v[i]
        yt[i] = ys[i] - yo * v[i]
    w_zero = True
    for j in range(p):
        if w[j] != 0.0:
            w_zero = False
            break
    # at w = 0: Rs = ys, s = yo, c0 = v @ yt, grad_j = Xs_j^T ys - yo cv_j - xo_j c0
    c00 = 0.0
    for i in range(n):
        c00 += v[i] * yt[i]
    grad = np.zeros(p)
    for j in range(p if w_zero or not stats_ready else 0):
        sy = 0.0
        if stats_ready:  # only the gradient at w = 0 (e.g. the next target of the same X)
            for ii in range(indptr[j], indptr[j + 1]):
                sy += data[ii] * ys[indices[ii]]
            grad[j] = sy - yo * cv[j] - xo[j] * c00
            continue
        sq = 0.0
        sv = 0.0
        for ii in range(indptr[j], indptr[j + 1]):
            x = data[ii]
            i = indices[ii]
            sq += x * x
            sv += x * v[i]
            sy += x * ys[i]
        if check_finite and not np.isfinite(sq):
            return -1, np.nan
        cv[j] = sv
        grad[j] = sy - yo * sv - xo[j] * c00
        nrm = sq - 2.0 * xo[j] * sv + xo[j] * xo[j] * vv
        norms2[j] = max(nrm, 0.0) if nrm > 1e-14 * sq else 0.0
    # residual from w: Rs = ys - Xs w, s = yo - xo @ w
    Rs = ys.astype(np.float64)
    s = yo
    for j in range(p):
        if w[j] != 0.0:
            for ii in range(indptr[j], indptr[j + 1]):
                Rs[indices[ii]] -= w[j] * data[ii]
            s -= w[j] * xo[j]
    state = np.empty(1)
    state[0] = s
    Rt = np.empty(n)
    all_idx = np.arange(p)
    scores = np.empty(p)
    n_epochs = 0
    gap = np.inf
    c0 = 0.0
    first = True
    settled = entry_test or w_zero  # as in the dense kernel
    while True:
        c0 = _true_residual(Rs, state[0], v, Rt)
        if not (first and w_zero):  # else grad holds the gradient at w = 0 already
            _grad_ws(indptr, indices, data, Rs, state[0], c0, cv, xo, all_idx, p, grad)
        first = False
        gap = gap_ws(yt, w, Rt, grad, all_idx, p, alpha1, alpha2, positive)
        if (gap <= tol and settled) or n_epochs >= max_iter:
            break
        if use_ws and alpha1 > 0.0:  # without an l1 part the solution is dense: no working sets
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
            ws_size = min(max(p0, 2 * nnz), p)
            if ws_size < p:
                ws = _top_k(scores, ws_size)
            else:
                ws = all_idx
            tol_in = max(0.3 * gap, tol)
        else:
            ws_size = p
            ws = all_idx
            tol_in = tol
        epoch = 0
        hist = np.empty((_K + 1, ws_size))
        act = np.empty(ws_size, dtype=ws.dtype)  # the nonzeros of ws at its last full sweep
        n_act = 0
        full = True
        while n_epochs < max_iter:
            swept_all = full
            if full:
                d_w_max, w_max = _sweep(
                    indptr, indices, data, w, Rs, state, c0, cv, xo, norms2, ws, ws_size, alpha1, alpha2, positive,
                    random,
                )  # fmt: skip
                n_act = 0
                for m in range(ws_size):
                    if w[ws[m]] != 0.0:
                        act[n_act] = ws[m]
                        n_act += 1
            else:
                d_w_max, w_max = _sweep(
                    indptr, indices, data, w, Rs, state, c0, cv, xo, norms2, act, n_act, alpha1, alpha2, positive,
                    random,
                )  # fmt: skip
            small = dw_small(d_w_max, w_max, dw_tol)
            settled = small and swept_all  # the test needs an epoch over all of ws
            n_epochs += 1
            epoch += 1
            # sweep all of ws before each check and after a small change on its nonzeros, else only these
            full = (not use_ws) or small or (epoch + 1) % _CHECK == 0 or n_act == ws_size
            if use_ws:
                slot = (epoch - 1) % (_K + 1)
                for m in range(ws_size):
                    hist[slot, m] = w[ws[m]]
                if slot == _K:
                    d_acc = _anderson(
                        indptr, indices, data, ys, yo, v, xo, w, Rs, state, Rt, ws, ws_size, hist, alpha1, alpha2,
                        positive,
                    )  # fmt: skip
                    settled = swept_all and dw_small(max(d_w_max, d_acc), w_max, dw_tol)
            if epoch % _CHECK == 0 or settled or not use_ws:
                if ws_size == p:
                    break  # the outer loop checks the full gap
                c0 = _true_residual(Rs, state[0], v, Rt)
                _grad_ws(indptr, indices, data, Rs, state[0], c0, cv, xo, ws, ws_size, grad)
                gap_in = gap_ws(yt, w, Rt, grad, ws, ws_size, alpha1, alpha2, positive)
                if gap_in <= tol_in and (settled or tol_in > tol):
                    break
    return n_epochs, gap
