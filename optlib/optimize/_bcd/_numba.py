"""Numba kernels of block coordinate descent (imported lazily, on first use).

* :func:`coordinate_scores` -- the proximal-step score of every coordinate;
* :func:`topk` -- indices of the ``k`` largest scores in ``O(n k)`` worst case,
  one pass (ties to the lower index, order by decreasing score);
* :func:`block_scores` -- per-block l2 or l1 aggregation for fixed partitions;
* :func:`block_quadratic_scores` -- ``g_b^T H_b^{-1} g_b`` for every fixed block;
* :func:`csc_cols_matvec` -- ``out += A[:, idx] @ d`` for a CSC matrix.
"""

import numpy as np
from numba import njit

__all__ = [
    "block_quadratic_scores",
    "block_scores",
    "coordinate_scores",
    "csc_cols_matvec",
    "topk",
]


@njit(cache=True, fastmath=False)
def coordinate_scores(g, x, L, l1, l2, lo, hi, penalised, out):
    """``out_i = sqrt(2 s_i)``, ``s_i`` the decrease of the proximal coordinate step with ``L_i``."""
    n = g.shape[0]
    for i in range(n):
        Li = L[i]
        if not penalised:
            out[i] = abs(g[i]) / np.sqrt(Li)
            continue
        step = 1.0 / Li
        v = x[i] - g[i] * step
        if l1 > 0.0:
            a = abs(v) - step * l1
            v = np.sign(v) * a if a > 0.0 else 0.0
        if l2 > 0.0:
            v = v / (1.0 + step * l2)
        v = max(v, lo)
        v = min(v, hi)
        d = v - x[i]
        dh = l1 * (abs(v) - abs(x[i])) + 0.5 * l2 * d * (v + x[i])
        s = -(g[i] * d + 0.5 * Li * d * d + dh)
        out[i] = np.sqrt(2.0 * s) if s > 0.0 else 0.0
    return out


@njit(cache=True, fastmath=False)
def topk(scores, k, out):
    """Indices of the ``k`` largest ``scores`` by decreasing score, ties to the lower index."""
    n = scores.shape[0]
    vals = np.empty(k, dtype=scores.dtype)
    count = 0
    for i in range(n):
        s = scores[i]
        if count < k:
            j = count
            count += 1
        elif s > vals[k - 1]:
            j = k - 1
        else:
            continue
        # insertion: shift smaller entries down (strict: equal scores keep the earlier index first)
        while j > 0 and vals[j - 1] < s:
            vals[j] = vals[j - 1]
            out[j] = out[j - 1]
            j -= 1
        vals[j] = s
        out[j] = i
    return out


@njit(cache=True, fastmath=False)
def block_scores(r, blocks, squared, out):
    """Per block (rows of ``blocks``, padded with ``n``): ``sqrt(sum r_i^2)`` if ``squared`` else ``sum r_i``."""
    nb, tau = blocks.shape
    n = r.shape[0]
    for k in range(nb):
        acc = 0.0
        for t in range(tau):
            i = blocks[k, t]
            if i >= n:
                break
            acc += r[i] * r[i] if squared else r[i]
        out[k] = np.sqrt(acc) if squared else acc
    return out


@njit(cache=True, fastmath=False)
def block_quadratic_scores(g, blocks, Hinv, out):
    """``g_b^T Hinv_b g_b`` for every block (rows of ``blocks`` padded with ``n``)."""
    nb, tau = blocks.shape
    n = g.shape[0]
    gb = np.empty(tau, dtype=g.dtype)
    for k in range(nb):
        for t in range(tau):
            i = blocks[k, t]
            gb[t] = g[i] if i < n else 0.0
        acc = 0.0
        for s in range(tau):
            row = 0.0
            for t in range(tau):
                row += Hinv[k, s, t] * gb[t]
            acc += gb[s] * row
        out[k] = acc
    return out


@njit(cache=True, fastmath=False)
def csc_cols_matvec(indptr, indices, data, idx, d, out):
    """``out += A[:, idx] @ d`` for ``A`` in CSC format, ``O(nnz)`` of the columns."""
    for t in range(idx.shape[0]):
        j = idx[t]
        dj = d[t]
        if dj == 0.0:
            continue
        for p in range(indptr[j], indptr[j + 1]):
            out[indices[p]] += data[p] * dj
    return out
