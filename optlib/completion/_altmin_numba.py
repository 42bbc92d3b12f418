"""numba kernels of the alternating least-squares half-steps (CSR / CSC gathers, one thread per row).

A half-step solves, for every row ``i`` of the updated factor,

    min_x  sum_{j in Omega_i} w_ij (M_ij - <F_j, x>)^2 + alpha ||x||^2

over the observed entries of that row (or column), ``F`` being the other
factor. ``ptr``/``idx`` are the CSR (or CSC) pointers and partner indices;
``values`` and ``weights`` are stored in that same order, so each row reads
them contiguously (an indirection through the canonical order made the
column half-step twice as slow as the row one). Sums are accumulated in
float64.
"""

import numpy as np
from numba import njit, prange

_JITTER = 1e-13  # relative diagonal shift keeping the k x k systems positive definite


@njit(cache=True, fastmath=False)
def _cholesky_solve(G, b, x):
    """Solve ``G x = b`` in place (``G`` is overwritten by its Cholesky factor); False if not positive definite."""
    k = G.shape[0]
    for c in range(k):
        s = G[c, c]
        for t in range(c):
            s -= G[c, t] * G[c, t]
        if s <= 0.0:
            return False
        d = np.sqrt(s)
        G[c, c] = d
        for r in range(c + 1, k):
            s = G[r, c]
            for t in range(c):
                s -= G[r, t] * G[c, t]
            G[r, c] = s / d
    for r in range(k):
        s = b[r]
        for t in range(r):
            s -= G[r, t] * x[t]
        x[r] = s / G[r, r]
    for r in range(k - 1, -1, -1):
        s = x[r]
        for t in range(r + 1, k):
            s -= G[t, r] * x[t]
        x[r] = s / G[r, r]
    return True


@njit(cache=True, fastmath=False)
def _regularize(G, alpha):
    """Add ``alpha`` plus a tiny relative jitter to the diagonal; return the trace before."""
    k = G.shape[0]
    tr = 0.0
    for c in range(k):
        tr += G[c, c]
    shift = alpha + _JITTER * tr / k
    for c in range(k):
        G[c, c] += shift
    return tr


@njit(cache=True, fastmath=False)
def _accumulate(ptr, idx, values, weights, F, i, G, b):
    k = F.shape[1]
    G[:, :] = 0.0
    b[:] = 0.0
    for p in range(ptr[i], ptr[i + 1]):
        w = weights[p]
        if w == 0.0:
            continue
        j = idx[p]
        wv = w * values[p]
        for r in range(k):
            fr = w * F[j, r]
            b[r] += wv * F[j, r]
            for c in range(r + 1):
                G[r, c] += fr * F[j, c]
    for r in range(k):
        for c in range(r + 1, k):
            G[r, c] = G[c, r]


@njit(cache=True, fastmath=False)
def _solve_one(G, b, x, alpha, out_row):
    tr = _regularize(G, alpha)
    if tr == 0.0 and alpha == 0.0:  # no observation: the row is zero
        out_row[:] = 0.0
        return
    if _cholesky_solve(G, b, x):
        out_row[:] = x


@njit(cache=True, fastmath=False, parallel=True)
def solve_exact(ptr, idx, values, weights, F, alpha, out):
    """Exact half-step: batched ``k x k`` normal equations, one Cholesky per row."""
    k = F.shape[1]
    for i in prange(ptr.shape[0] - 1):
        G = np.empty((k, k))
        b = np.empty(k)
        x = np.empty(k)
        _accumulate(ptr, idx, values, weights, F, i, G, b)
        _solve_one(G, b, x, alpha, out[i])


@njit(cache=True, fastmath=False)
def _hash(a, seed):
    """A 64-bit mix of ``a`` and ``seed`` (splitmix64 finaliser), for the CountSketch buckets and signs."""
    z = (np.uint64(a) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, fastmath=False, parallel=True)
def solve_sketched(ptr, idx, values, weights, F, X0, alpha, sketch_size, n_inner, rtol, seed, out):
    """Sketch-preconditioned half-step.

    For a row with more than ``sketch_size`` observations, a CountSketch ``S``
    (``sketch_size`` buckets, random signs) of the weighted tall system gives
    the preconditioner ``(S A)^T (S A) + alpha I``; preconditioned conjugate
    gradients on the normal equations, warm-started at ``X0[i]``, run at most
    ``n_inner`` iterations or until the residual drops by ``rtol``. Each
    iteration costs ``O(|Omega_i| k)``; shorter rows are solved exactly.
    """
    k = F.shape[1]
    for i in prange(ptr.shape[0] - 1):
        G = np.empty((k, k))
        b = np.empty(k)
        x = np.empty(k)
        start, stop = ptr[i], ptr[i + 1]
        if stop - start <= sketch_size:
            _accumulate(ptr, idx, values, weights, F, i, G, b)
            _solve_one(G, b, x, alpha, out[i])
            continue
        SA = np.zeros((sketch_size, k))
        b[:] = 0.0
        for p in range(start, stop):
            w = weights[p]
            if w == 0.0:
                continue
            j = idx[p]
            h = _hash(p, seed)
            bucket = h % np.uint64(sketch_size)
            sign = 1.0 if (h >> np.uint64(63)) == np.uint64(0) else -1.0
            sw = sign * np.sqrt(w)
            for r in range(k):
                SA[bucket, r] += sw * F[j, r]
                b[r] += w * values[p] * F[j, r]
        for r in range(k):  # preconditioner Gram (S A)^T (S A)
            for c in range(r + 1):
                s = 0.0
                for t in range(sketch_size):
                    s += SA[t, r] * SA[t, c]
                G[r, c] = s
                G[c, r] = s
        tr = _regularize(G, alpha)
        if tr == 0.0 and alpha == 0.0:
            out[i, :] = 0.0
            continue
        L = G.copy()
        if not _cholesky_solve(L, b.copy(), x):  # factor L once (x discarded)
            continue
        x[:] = X0[i]
        res = b - _normal_product(ptr, idx, weights, F, i, x, alpha)
        z = _precondition(L, res)
        p_dir = z.copy()
        rz = np.dot(res, z)
        rz0 = rz
        for _ in range(n_inner):
            if rz <= rtol * rtol * rz0 or rz == 0.0:
                break
            Ap = _normal_product(ptr, idx, weights, F, i, p_dir, alpha)
            pAp = np.dot(p_dir, Ap)
            if pAp <= 0.0:
                break
            step = rz / pAp
            x += step * p_dir
            res -= step * Ap
            z = _precondition(L, res)
            rz_new = np.dot(res, z)
            p_dir = z + (rz_new / rz) * p_dir
            rz = rz_new
        out[i, :] = x


@njit(cache=True, fastmath=False)
def _normal_product(ptr, idx, weights, F, i, x, alpha):
    """``(A^T W A + alpha I) x`` for row ``i``'s system, in ``O(|Omega_i| k)``."""
    k = F.shape[1]
    y = alpha * x
    for p in range(ptr[i], ptr[i + 1]):
        w = weights[p]
        if w == 0.0:
            continue
        j = idx[p]
        a = 0.0
        for r in range(k):
            a += F[j, r] * x[r]
        a *= w
        for r in range(k):
            y[r] += a * F[j, r]
    return y


@njit(cache=True, fastmath=False)
def _precondition(L, r):
    """Solve ``L L^T z = r`` with the lower Cholesky factor stored in ``L``."""
    k = L.shape[0]
    z = np.empty(k)
    for a in range(k):
        s = r[a]
        for t in range(a):
            s -= L[a, t] * z[t]
        z[a] = s / L[a, a]
    for a in range(k - 1, -1, -1):
        s = z[a]
        for t in range(a + 1, k):
            s -= L[t, a] * z[t]
        z[a] = s / L[a, a]
    return z


@njit(cache=True, fastmath=False, parallel=True)
def observed_products(ptr, idx, U, V, out):
    """``out[p] = <U_i, V_j>`` for the stored entries in CSR order."""
    k = U.shape[1]
    for i in prange(ptr.shape[0] - 1):
        for p in range(ptr[i], ptr[i + 1]):
            j = idx[p]
            s = 0.0
            for r in range(k):
                s += U[i, r] * V[j, r]
            out[p] = s
