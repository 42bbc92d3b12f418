"""Numba kernels for sparsity-constrained OT: fused top-k conjugates, gradients and plans.

Each kernel makes one pass over the transposed cost ``Ct`` (shape ``(m, n)``,
C-contiguous, so that column ``j`` of the cost is a contiguous row) and
selects per column only among the few *candidate* entries that can be
nonzero in the plan (positive entries for the dual; entries within
``gamma * b_j`` of the column maximum for the semi-dual). The top-``k``
selection among candidates is a quickselect (``np.partition``), so a
column costs ``O(n)`` whatever ``k``.

Imported lazily by :mod:`optlib.ot._sparsity_constrained` (numba is optional).
"""

import numpy as np
from numba import njit

__all__ = ["dual_obj_grad", "semi_dual_obj_grad"]


_SMALL = 32


@njit(cache=True, fastmath=False)
def _insertion_sort_desc(vals, idx, cnt):
    """Sort ``vals[:cnt]`` in decreasing order, carrying ``idx`` (stable)."""
    for p in range(1, cnt):
        v = vals[p]
        q = idx[p]
        r = p - 1
        while r >= 0 and vals[r] < v:
            vals[r + 1] = vals[r]
            idx[r + 1] = idx[r]
            r -= 1
        vals[r + 1] = v
        idx[r + 1] = q


@njit(cache=True, fastmath=False)
def _select_topk(vals, idx, cnt, k, sort):
    """Move the ``k`` largest of ``vals[:cnt]`` (with their ``idx``) to the front; return the new count.

    Ties at the ``k``-th value go to the earliest entries. When ``sort`` the
    selected values come out in decreasing order.
    """
    if cnt <= _SMALL:  # few candidates (the usual case near the optimum): insertion sort
        _insertion_sort_desc(vals, idx, cnt)
        return min(cnt, k)
    if cnt > k:
        thr = np.partition(vals[:cnt], cnt - k)[cnt - k]  # k-th largest value
        out = 0
        for p in range(cnt):  # strictly larger ones first (at most k - 1 of them)
            if vals[p] > thr:
                vals[out] = vals[p]
                idx[out] = idx[p]
                out += 1
        for p in range(cnt):  # then ties at the threshold, earliest first, up to k
            if out >= k:
                break
            # positions before ``out`` were overwritten only by values > thr,
            # so a value equal to thr at position p is still the original
            if vals[p] == thr:
                vals[out] = vals[p]
                idx[out] = idx[p]
                out += 1
        cnt = out
    if sort:
        if cnt <= _SMALL:
            _insertion_sort_desc(vals, idx, cnt)
        else:
            order = np.argsort(-vals[:cnt], kind="mergesort")
            v = vals[:cnt][order]
            q = idx[:cnt][order]
            vals[:cnt] = v
            idx[:cnt] = q
    return cnt


@njit(cache=True, fastmath=False)
def dual_obj_grad(alpha, beta, Ct, k, gamma, row_sums, col_sums, plan_t, want_plan):
    """Sum over columns of ``delta*(alpha + beta_j - c_j)`` and the plan's marginals.

    ``row_sums`` (n,) and ``col_sums`` (m,) are overwritten with ``T 1`` and
    ``T^T 1`` where ``T = [top-k of X]_+ / gamma`` column-wise; when
    ``want_plan`` the transposed plan is written into ``plan_t`` (m, n), which
    must be zero on entry.
    """
    m, n = Ct.shape
    vals = np.empty(n, dtype=np.float64)
    idx = np.empty(n, dtype=np.int64)
    row_sums[:] = 0.0
    total = 0.0
    inv = 1.0 / gamma
    for j in range(m):
        bj = beta[j]
        cnt = 0
        for i in range(n):
            x = alpha[i] + bj - Ct[j, i]
            if x > 0.0:
                vals[cnt] = x
                idx[cnt] = i
                cnt += 1
        cnt = _select_topk(vals, idx, cnt, k, False)
        sq = 0.0
        cs = 0.0
        for p in range(cnt):
            x = vals[p]
            t = x * inv
            sq += x * x
            cs += t
            row_sums[idx[p]] += t
            if want_plan:
                plan_t[j, idx[p]] = t
        total += sq
        col_sums[j] = cs
    return 0.5 * inv * total


@njit(cache=True, fastmath=False)
def semi_dual_obj_grad(alpha, b, Ct, k, gamma, row_sums, plan_t, want_plan):
    """Sum over columns of ``max_{t in b_j Delta_k} t^T (alpha - c_j) - gamma/2 ||t||^2``.

    The maximiser ``t_j = b_j P_{Delta,k}((alpha - c_j) / (gamma b_j))`` is the
    projection of ``x = (alpha - c_j) / gamma`` onto the k-sparse simplex of
    radius ``b_j``: only entries with ``x_i > max(x) - b_j`` can be nonzero,
    the top-``k`` of those are projected onto the simplex. ``row_sums`` is
    overwritten with ``T 1``; the transposed plan goes to ``plan_t`` (zero on
    entry) when ``want_plan``. Columns with ``b_j = 0`` are empty.
    """
    m, n = Ct.shape
    vals = np.empty(n, dtype=np.float64)
    idx = np.empty(n, dtype=np.int64)
    row_sums[:] = 0.0
    total = 0.0
    for j in range(m):
        r = gamma * b[j]  # radius in units of (alpha - c_j)
        if not r > 0.0:
            continue
        # one pass: running maximum; keep entries within r of it (a superset
        # of the final candidates, filtered afterwards)
        xmax = -np.inf
        cnt = 0
        for i in range(n):
            x = alpha[i] - Ct[j, i]
            if x > xmax - r:
                vals[cnt] = x
                idx[cnt] = i
                cnt += 1
                if x > xmax:
                    xmax = x
        lo = xmax - r
        kept = 0
        for p in range(cnt):
            if vals[p] > lo or vals[p] == xmax:
                vals[kept] = vals[p]
                idx[kept] = idx[p]
                kept += 1
        cnt = _select_topk(vals, idx, kept, k, True)
        # simplex threshold of the selected (decreasing) values for radius r
        css = 0.0
        tau = vals[0] - r
        for p in range(cnt):
            css += vals[p]
            cand = (css - r) / (p + 1)
            if vals[p] > cand:
                tau = cand
        vsum = 0.0
        for p in range(cnt):
            x = vals[p]
            t = (x - tau) / gamma
            if t > 0.0:
                vsum += t * x - 0.5 * gamma * t * t
                row_sums[idx[p]] += t
                if want_plan:
                    plan_t[j, idx[p]] = t
        total += vsum
    return total
