"""Numba kernels of the log-domain Sinkhorn and Sinkhorn-Newton-Sparse solvers.

Imported lazily by :mod:`optlib.ot._sinkhorn` (never at ``import optlib``).
All kernels work on stacked problems: ``M`` of shape (B, n, m) (C-contiguous),
potentials ``log_u`` (B, n) and ``log_v`` (B, m) in units of ``1 / reg``
(POT's ``log_u``, ``log_v``: ``log P_ij = log_u_i + log_v_j - M_ij / reg``),
and an ``active`` mask (B,) of uint8 so that converged problems of a batch are
skipped. Sums accumulate in float64 whatever the dtype of ``M``.
"""

import numpy as np
from numba import njit, prange

__all__ = ["lse_cols", "lse_rows", "exp_plan", "plan_stats", "select_csr", "rebase_plan", "scaled_plan", "to_float32", "col_max"]

_BLOCK = 1024  # columns per task of the column sweep (contiguous, vectorisable inner loops)


@njit(cache=True, parallel=True, fastmath=False)
def lse_cols(M, inv_reg, log_u, active, out):
    """``out[b, j] = log sum_i exp(log_u[b, i] - M[b, i, j] * inv_reg)`` (max-shifted).

    Parallel over (problem, block of ``_BLOCK`` columns); each task sweeps the
    rows of its column block twice (maximum, then shifted sum of
    exponentials), reading ``M`` row-contiguously. Wide blocks and row slices
    let the inner loops vectorise (3x faster than blocks of 64).
    """
    B, n, m = M.shape
    nblk = (m + _BLOCK - 1) // _BLOCK
    for task in prange(B * nblk):
        b = task // nblk
        if active[b] == 0:
            continue
        j0 = (task % nblk) * _BLOCK
        j1 = min(j0 + _BLOCK, m)
        w = j1 - j0
        mx = np.full(w, -np.inf)
        s = np.zeros(w)
        for i in range(n):
            ui = log_u[b, i]
            if ui == -np.inf:
                continue
            row = M[b, i, j0:j1]
            for jj in range(w):
                mx[jj] = max(mx[jj], ui - row[jj] * inv_reg)
        for i in range(n):
            ui = log_u[b, i]
            if ui == -np.inf:
                continue
            row = M[b, i, j0:j1]
            for jj in range(w):
                s[jj] += np.exp(ui - row[jj] * inv_reg - mx[jj])
        for jj in range(w):
            if mx[jj] == -np.inf:
                out[b, j0 + jj] = -np.inf
            else:
                out[b, j0 + jj] = mx[jj] + np.log(s[jj])


@njit(cache=True, parallel=True, fastmath=False)
def lse_rows(M, inv_reg, log_v, active, out):
    """``out[b, i] = log sum_j exp(log_v[b, j] - M[b, i, j] * inv_reg)`` (max-shifted).

    Parallel over (problem, row): a fused maximum pass and shifted-sum pass
    over one contiguous row of ``M``.
    """
    B, n, m = M.shape
    for task in prange(B * n):
        b = task // n
        if active[b] == 0:
            continue
        i = task % n
        mx = -np.inf
        for j in range(m):
            t = log_v[b, j] - M[b, i, j] * inv_reg
            if t > mx:
                mx = t
        if mx == -np.inf:
            out[b, i] = -np.inf
            continue
        s = 0.0
        for j in range(m):
            lvj = log_v[b, j]
            if lvj != -np.inf:
                s += np.exp(lvj - M[b, i, j] * inv_reg - mx)
        out[b, i] = mx + np.log(s)


# exp(x) = 2^k exp(r), k = round(x / ln 2), r = x - k ln 2 (Cody-Waite, two parts),
# |r| <= ln(2) / 2, exp(r) by its degree-13 Taylor polynomial (truncation error
# 4e-18 relative), 2^k from a table: arithmetic and a gather only, so the loops
# of exp_plan vectorise (libm's exp does not; no SVML). Within 1 ulp of libm's
# exp on [-700, 700]; rows with an entry outside that range (above the
# cutoff) are redone with libm's exp.
_POW2 = np.ldexp(1.0, np.arange(-1022, 1024))
_VEXP_LIM = 700.0


@njit(inline="always")
def _vexp(x, pow2):
    k = np.floor(x * 1.4426950408889634 + 0.5)
    r = x - k * 0.6931471803691238
    r = r - k * 1.9082149292705877e-10
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p * pow2[int(k) + 1022]


@njit(cache=True, parallel=True, fastmath=False)
def exp_plan(M, inv_reg, log_u, log_v, cutoff, active, out):
    """``out[b, i, j] = exp(x)`` with ``x = log_u[b, i] + log_v[b, j] - M[b, i, j] * inv_reg``.

    Entries with ``x <= cutoff`` are set to 0 (``cutoff = -inf`` gives the
    exact plan). Parallel over rows; the vectorised ``_vexp`` where every
    entry of the row above the cutoff is within ``[-700, 700]``, libm's
    ``exp`` otherwise.
    """
    B, n, m = M.shape
    pow2 = _POW2
    lim = _VEXP_LIM
    for task in prange(B * n):
        b = task // n
        if active[b] == 0:
            continue
        i = task % n
        ui = log_u[b, i]
        bad = 0
        for j in range(m):
            x = ui + log_v[b, j] - M[b, i, j] * inv_reg
            xc = min(max(x, -lim), lim)
            bad += 1 if (x > cutoff and xc != x) else 0
            e = _vexp(xc, pow2)
            out[b, i, j] = e if x > cutoff else 0.0
        if bad > 0:
            for j in range(m):
                x = ui + log_v[b, j] - M[b, i, j] * inv_reg
                if x > cutoff:
                    out[b, i, j] = np.exp(x)
                else:
                    out[b, i, j] = 0.0


# -- Newton stage of SNS (one 2-D problem) ------------------------------------
_HIST_BINS_PER_UNIT = 4  # histogram of log P_ij: 4 bins per unit of the natural log


@njit(cache=True, parallel=True, fastmath=False)
def plan_stats(M, inv_reg, log_u, log_v, cutoff, lo, out, rows, cols_part, hist_cnt, hist_mass, xmax_part):
    """Plan ``out = exp(x)`` (``x = log_u_i + log_v_j - M_ij inv_reg``, 0 where ``x <= cutoff``)
    and, in the same pass, its row sums, per-chunk column sums, a histogram of
    ``x`` (count and mass, ``_HIST_BINS_PER_UNIT`` bins per unit from ``lo``)
    and the per-chunk maximum of ``x``. Parallel over ``cols_part.shape[0]``
    chunks of rows; the caller reduces the ``*_part`` arrays (all float64)."""
    n, m = M.shape
    nch = cols_part.shape[0]
    nb = hist_cnt.shape[1]
    step = (n + nch - 1) // nch
    for ch in prange(nch):
        i0 = ch * step
        i1 = min(i0 + step, n)
        xm = -np.inf
        for i in range(i0, i1):
            ui = log_u[i]
            s = 0.0
            for j in range(m):
                x = ui + log_v[j] - M[i, j] * inv_reg
                if x > xm:
                    xm = x
                if x > cutoff:
                    p = np.exp(x)
                    out[i, j] = p
                    s += p
                    cols_part[ch, j] += p
                    k = int((x - lo) * _HIST_BINS_PER_UNIT)
                    if k < 0:
                        k = 0
                    elif k >= nb:
                        k = nb - 1
                    hist_cnt[ch, k] += 1.0
                    hist_mass[ch, k] += p
                else:
                    out[i, j] = 0.0
            rows[i] = s
        xmax_part[ch] = xm


@njit(cache=True, parallel=True, fastmath=False)
def select_csr(P, thr):
    """CSR arrays (indptr, indices, data) of the entries ``P_ij >= thr`` (``thr > 0``), rows sorted."""
    n, m = P.shape
    counts = np.zeros(n + 1, dtype=np.int64)
    for i in prange(n):
        c = 0
        for j in range(m):
            if P[i, j] >= thr:
                c += 1
        counts[i + 1] = c
    indptr = np.cumsum(counts)
    nnz = indptr[n]
    indices = np.empty(nnz, dtype=np.int32)
    data = np.empty(nnz, dtype=P.dtype)
    for i in prange(n):
        q = indptr[i]
        for j in range(m):
            p = P[i, j]
            if p >= thr:
                indices[q] = j
                data[q] = p
                q += 1
    return indptr, indices, data


@njit(cache=True, parallel=True, fastmath=False)
def rebase_plan(K, su, sv, thr, K32, rows, cols_part):
    """In place ``K_ij <- su_i K_ij sv_j`` (0 where below ``thr``): a kernel and its
    scalings become the plan itself, without exponentials. In the same pass:
    a float32 copy ``K32`` (when it has the shape of ``K``; else skipped), row
    sums and per-chunk column sums (float64, reduced by the caller).
    Parallel over ``cols_part.shape[0]`` chunks of rows."""
    n, m = K.shape
    nch = cols_part.shape[0]
    step = (n + nch - 1) // nch
    copy32 = K32.shape[0] == n and K32.shape[1] == m
    for ch in prange(nch):
        i0 = ch * step
        i1 = min(i0 + step, n)
        for i in range(i0, i1):
            sui = su[i]
            s = 0.0
            for j in range(m):
                p = sui * K[i, j] * sv[j]
                p = p if p >= thr else 0.0
                K[i, j] = p
                s += p
                cols_part[ch, j] += p
            rows[i] = s
            if copy32:
                for j in range(m):
                    K32[i, j] = K[i, j]


@njit(cache=True, parallel=True, fastmath=False)
def scaled_plan(K, eu, ev, M, out, rows, cols_part, cost_part):
    """``out_ij = eu_i K_ij ev_j`` (the plan in factored form, without
    exponentials), with its row sums, per-chunk column sums and per-chunk
    ``sum_ij out_ij M_ij`` (float64). Parallel over chunks of rows."""
    n, m = K.shape
    nch = cols_part.shape[0]
    step = (n + nch - 1) // nch
    for ch in prange(nch):
        i0 = ch * step
        i1 = min(i0 + step, n)
        cst = 0.0
        for i in range(i0, i1):
            eui = eu[i]
            s = 0.0
            for j in range(m):
                p = eui * K[i, j] * ev[j]
                out[i, j] = p
                s += p
                cols_part[ch, j] += p
                cst += p * M[i, j]
            rows[i] = s
        cost_part[ch] = cst


@njit(cache=True, parallel=True, fastmath=False)
def to_float32(K, floor, out):
    """``out = float32(K)``, with entries below ``floor`` set to 0 (no float32 subnormals)."""
    n, m = K.shape
    for i in prange(n):
        for j in range(m):
            x = K[i, j]
            out[i, j] = x if x >= floor else 0.0


@njit(cache=True, parallel=True, fastmath=False)
def col_max(M, inv_reg, log_u, log_v, active, out):
    """``out[b, j] = max_i (log_u[b, i] + log_v[b, j] - M[b, i, j] * inv_reg)``
    (the largest log-entry of each column of the plan; no exponentials).
    Blocked over columns as :func:`lse_cols`."""
    B, n, m = M.shape
    nblk = (m + _BLOCK - 1) // _BLOCK
    for task in prange(B * nblk):
        b = task // nblk
        if active[b] == 0:
            continue
        j0 = (task % nblk) * _BLOCK
        j1 = min(j0 + _BLOCK, m)
        w = j1 - j0
        mx = np.full(w, -np.inf)
        for i in range(n):
            ui = log_u[b, i]
            if ui == -np.inf:
                continue
            row = M[b, i, j0:j1]
            for jj in range(w):
                mx[jj] = max(mx[jj], ui - row[jj] * inv_reg)
        for jj in range(w):
            out[b, j0 + jj] = mx[jj] + log_v[b, j0 + jj]
