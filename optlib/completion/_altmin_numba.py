"""numba kernels of the alternating least-squares half-steps and of the sparse products (CSR / CSC gathers).

A half-step solves, for every row ``i`` of the updated factor,

    min_x  sum_{j in Omega_i} w_ij (M_ij - <F_j, x>)^2 + alpha ||x||^2

over the observed entries of that row (or column), ``F`` being the other
factor. ``ptr``/``idx`` are the CSR (or CSC) pointers and partner indices;
``values`` and ``weights`` are stored in that same order, so each row reads
them contiguously. Sums are accumulated in float64.

Memory access. Under uniform sampling the partner rows ``F_j`` of a row are
scattered over the whole factor: once ``F`` outgrows the caches (``n k``
doubles of a few MB), every observation costs a cache miss, and a loop that
alternates one miss with the ``k^2 / 2`` multiply-adds of the normal
equations keeps only one or two misses in flight (the time per observation
tripled from ``n = 1e4`` to ``1e5``). The kernels therefore

* copy a row's partner rows into a small contiguous buffer first (the loads
  are independent, so their misses overlap), then form the normal equations
  from the buffer as dot products compiled with ``reassoc`` (sums may be
  reordered, which vectorizes them; no other fast-math assumption);
* load ("touch") the next row's partner rows before the current row's
  arithmetic, so that their misses are served while it runs; the kernels
  return the sum of the touched values, to be ignored, so that the loads are
  not optimized away;
* work on blocks of rows with one set of work arrays per block.
"""

import numpy as np
from numba import get_num_threads, njit, prange

_JITTER = 1e-13  # relative diagonal shift keeping the k x k systems positive definite
_FAST = {"reassoc", "contract"}  # reorder sums (vectorization); NaN/inf semantics kept


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
    _cholesky_substitute(G, b, x)
    return True


@njit(cache=True, fastmath=False)
def _cholesky_substitute(L, b, x):
    """Write into ``x`` the solution of ``L L^T x = b`` (lower Cholesky factor stored in ``L``)."""
    k = L.shape[0]
    for r in range(k):
        s = b[r]
        for t in range(r):
            s -= L[r, t] * x[t]
        x[r] = s / L[r, r]
    for r in range(k - 1, -1, -1):
        s = x[r]
        for t in range(r + 1, k):
            s -= L[t, r] * x[t]
        x[r] = s / L[r, r]


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
def _hash(a, seed):
    """A 64-bit mix of ``a`` and ``seed`` (splitmix64 finaliser), for the CountSketch buckets and signs."""
    z = (np.uint64(a) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, fastmath=False)
def _precondition(L, r):
    """Solve ``L L^T z = r`` with the lower Cholesky factor stored in ``L``."""
    z = np.empty(L.shape[0])
    _cholesky_substitute(L, r, z)
    return z


@njit(cache=True)
def _blocks(n):
    """Number of blocks of at most 64 rows (one set of work arrays each)."""
    return max(1, (n + 63) // 64)


@njit(cache=True)
def _max_count(ptr):
    width = 0
    for i in range(ptr.shape[0] - 1):
        width = max(width, ptr[i + 1] - ptr[i])
    return width


@njit(cache=True)
def _touch(ptr, idx, F, i):
    """Load every cache line of row ``i``'s partner rows of ``F`` (nothing past the last row); return their sum."""
    if i + 1 >= ptr.shape[0]:
        return 0.0
    last = F.shape[1] - 1
    s = 0.0
    for p in range(ptr[i], ptr[i + 1]):
        j = idx[p]
        for r in range(0, last, 8):  # 8 doubles per 64-byte line
            s += F[j, r]
        s += F[j, last]
    return s


@njit(cache=True)
def _gather(ptr, idx, weights, weighted, F, i, A, WA):
    """``A[:, q] = F[idx[p]]`` and ``WA[:, q] = w_p A[:, q]`` for row ``i``'s entries ``p = ptr[i] + q``."""
    start = ptr[i]
    for q in range(ptr[i + 1] - start):
        j = idx[start + q]
        w = weights[start + q] if weighted else 1.0
        for r in range(F.shape[1]):
            f = F[j, r]
            A[r, q] = f
            WA[r, q] = w * f


@njit(cache=True)
def _dot(a, b):
    """``sum a_r b_r`` in float64 (arguments of any float dtypes)."""
    s = 0.0
    for r in range(a.shape[0]):
        s += a[r] * b[r]
    return s


@njit(cache=True)
def _weight_sum(weights, weighted, start, cnt):
    """Sum of a row's weights (its count when not ``weighted``)."""
    if not weighted:
        return float(cnt)
    s = 0.0
    for q in range(cnt):
        s += weights[start + q]
    return s


@njit(cache=True, fastmath=_FAST)
def _rhs(WA, values, start, cnt, b):
    """``b = (W A)^T y`` for one row (``A`` stored transposed)."""
    for r in range(b.shape[0]):
        s = 0.0
        for q in range(cnt):
            s += WA[r, q] * values[start + q]
        b[r] = s


@njit(cache=True, fastmath=_FAST)
def _gram(X, Y, cnt, G):
    """``G[r, c] = sum_q X[r, q] Y[c, q]`` over the first ``cnt`` columns, for a symmetric result."""
    k = G.shape[0]
    for r in range(k):
        for c in range(r + 1):
            s = 0.0
            for q in range(cnt):
                s += X[r, q] * Y[c, q]
            G[r, c] = s
            G[c, r] = s


@njit(cache=True, fastmath=_FAST)
def _residuals(A, values, weights, weighted, start, cnt, x, resid, sums):
    """``resid[p] = y_p - <A[:, q], x>`` for row entries ``p = start + q`` (not stored when ``resid`` is empty).

    Without ``sums`` nothing is computed (zeros returned). Returns the sums of ``resid[p]^2`` and ``y_p^2`` over the inliers (entries
    of weight 1; all entries when not ``weighted``).
    """
    kept = 0.0
    norm = 0.0
    if not sums:
        return kept, norm
    store = resid.shape[0] > 0
    for q in range(cnt):
        s = 0.0
        for r in range(x.shape[0]):
            s += A[r, q] * x[r]
        y = values[start + q]
        e = y - s
        if store:
            resid[start + q] = e
        if not weighted or weights[start + q] >= 1.0:
            kept += e * e
            norm += y * y
    return kept, norm


@njit(cache=True, fastmath=False)
def _solve_one(G, b, x, alpha, out_row):
    """Solve one row's regularized normal equations into ``out_row``; return the trace of ``G`` before."""
    tr = _regularize(G, alpha)
    if tr == 0.0 and alpha == 0.0:  # no observation: the row is zero
        out_row[:] = 0.0
        return tr
    if _cholesky_solve(G, b, x):
        out_row[:] = x
    return tr


@njit(cache=True, fastmath=False)
def _quadratic_form(G, x):
    """``x^T G x`` in float64."""
    s = 0.0
    for r in range(x.shape[0]):
        for c in range(x.shape[0]):
            s += x[r] * G[r, c] * x[c]
    return s


@njit(cache=True, fastmath=False)
def _extrapolation(x, seen_sq, H, n_partners, weight_sum):
    """Mean square of the row ``x``'s fit over all partners over its (weighted) mean square over the observed ones.

    ``seen_sq = x^T G x`` on the row's observations, ``H = F^T F`` of the
    partner factor. About 1 for a row whose observed partners sample the
    factor evenly; huge when ``x`` points where its observed partners nearly
    vanish.
    """
    full = _quadratic_form(H, x) / n_partners
    seen = seen_sq / weight_sum
    if seen > 0.0:
        return full / seen
    return 0.0 if full == 0.0 else np.inf


@njit(cache=True, fastmath=False)
def _damped_solve(WA, A, cnt, G, G0, b, x, alpha, H, n_partners, wsum, max_extrapolation, ridges, out_row):
    """Re-solve a row with the smallest ridge ``ridges x tr(G) / k`` (increasing) that brings its
    :func:`_extrapolation` to at most ``max_extrapolation``; keep the plain solution in ``out_row`` if none does.

    A ridge ``lam`` shrinks the solution's component along an eigenvector of
    the row's Gram matrix with eigenvalue ``mu`` by ``mu / (mu + lam)``: the
    nearly vanishing directions go, the well-sampled ones move by ``~lam / mu``.
    When no ridge of the ladder brings the ratio under, the row's large ratio
    lies along well-sampled directions (a legitimately coherent partner
    factor, a few large partner rows the row does not observe): shrinking it
    would only bias it.
    """
    k = G.shape[0]
    _gram(WA, A, cnt, G0)
    tr = 0.0
    for c in range(k):
        tr += G0[c, c]
    plain = out_row.copy()
    for rel in ridges:
        G[:, :] = G0
        _solve_one(G, b, x, alpha + rel * tr / k, out_row)
        if _extrapolation(out_row, _quadratic_form(G0, out_row), H, n_partners, wsum) <= max_extrapolation:
            return
    out_row[:] = plain


@njit(cache=True, fastmath=False)
def _solve_row(WA, A, cnt, G, G0, b, x, alpha, H, n_partners, wsum, max_extrapolation, ridges, out_row):
    """Solve a row's normal equations (``G`` formed) into ``out_row``, damped when it overreaches (see solve_exact)."""
    if _solve_one(G, b, x, alpha, out_row) > 0.0 and max_extrapolation < np.inf and _extrapolation(
            out_row, _dot(out_row, b), H, n_partners, wsum) > max_extrapolation:
        _damped_solve(WA, A, cnt, G, G0, b, x, alpha, H, n_partners, wsum, max_extrapolation, ridges, out_row)


@njit(cache=True, fastmath=False, parallel=True)
def solve_exact(ptr, idx, values, weights, weighted, F, H, max_extrapolation, ridges, alpha, out, resid, sums):
    """Exact half-step: batched ``k x k`` normal equations, one Cholesky per row.

    ``weighted=False`` takes every weight as 1 (``weights`` is not read).
    With ``sums``, the residuals ``y - <out_i, F_j>`` of the new rows are
    computed from the gathered rows still in cache, and stored into
    ``resid`` unless it is empty (at large sizes, writing an ``|Omega|``-sized
    array costs ~13% of the half-step). Returns the sums of the squared
    residuals and of the squared values over the inliers (see
    :func:`_residuals`; zeros without ``sums``), and the sum of the touched
    values (to be ignored).

    Damping (``H = F^T F``, float64): a row whose solution is more than
    ``max_extrapolation`` times larger in mean square over all partners than
    over its observed ones (:func:`_extrapolation`) is solved again with the
    smallest ridge of ``ridges`` that brings it under (:func:`_damped_solve`;
    ``max_extrapolation = inf``: no damping). Such a row
    points where its observed partners nearly vanish; undamped, it pulls
    those partners toward it at the next half-step and the pair locks: on the
    benchmark's 1e5 x 1e5 problem (100 observations per row) one row reached
    a norm 1e4 times its peers (local Gram condition 1e9) and the residual
    stalled at 6.6e-3. At a sound fit every row's ratio is near 1 and
    nothing changes.
    """
    k = F.shape[1]
    n = ptr.shape[0] - 1
    width = _max_count(ptr)
    n_blocks = _blocks(n)
    sink = 0.0
    kept = 0.0
    norm = 0.0
    for blk in prange(n_blocks):
        A = np.empty((k, width))
        WA = np.empty((k, width))
        G = np.empty((k, k))
        G0 = np.empty((k, k))
        b = np.empty(k)
        x = np.empty(k)
        for i in range(blk * n // n_blocks, (blk + 1) * n // n_blocks):
            start, cnt = ptr[i], ptr[i + 1] - ptr[i]
            _gather(ptr, idx, weights, weighted, F, i, A, WA)
            sink += _touch(ptr, idx, F, i + 1)
            _rhs(WA, values, start, cnt, b)
            _gram(WA, A, cnt, G)
            wsum = _weight_sum(weights, weighted, start, cnt)
            _solve_row(WA, A, cnt, G, G0, b, x, alpha, H, F.shape[0], wsum, max_extrapolation, ridges, out[i])
            rk, rn = _residuals(A, values, weights, weighted, start, cnt, out[i], resid, sums)
            kept += rk
            norm += rn
    return kept, norm, sink


@njit(cache=True, fastmath=False, parallel=True)
def solve_sketched(ptr, idx, values, weights, weighted, F, H, max_extrapolation, ridges, X0, alpha, sketch_size,
                   n_inner, rtol, seed, out, resid, sums):
    """Sketch-preconditioned half-step.

    For a row with more than ``sketch_size`` observations, a CountSketch ``S``
    (``sketch_size`` buckets, random signs) of the weighted tall system gives
    the preconditioner ``(S A)^T (S A) + alpha I``; preconditioned conjugate
    gradients on the normal equations, warm-started at ``X0[i]``, run at most
    ``n_inner`` iterations or until the residual drops by ``rtol``. Each
    iteration costs ``O(|Omega_i| k)`` on the gathered rows; shorter rows are
    solved exactly. ``weighted``, ``resid``, ``sums``, the damping (``H``,
    ``max_extrapolation``, ``ridges``; a damped row is solved exactly) and the returned
    sums as in :func:`solve_exact`.
    """
    k = F.shape[1]
    n = ptr.shape[0] - 1
    width = _max_count(ptr)
    n_blocks = _blocks(n)
    sink = 0.0
    kept = 0.0
    norm = 0.0
    for blk in prange(n_blocks):
        A = np.empty((k, width))
        WA = np.empty((k, width))
        t = np.empty(width)
        SA = np.empty((k, sketch_size))  # the sketch, stored transposed like A
        G = np.empty((k, k))
        G0 = np.empty((k, k))
        b = np.empty(k)
        x = np.empty(k)
        for i in range(blk * n // n_blocks, (blk + 1) * n // n_blocks):
            start, cnt = ptr[i], ptr[i + 1] - ptr[i]
            _gather(ptr, idx, weights, weighted, F, i, A, WA)
            sink += _touch(ptr, idx, F, i + 1)
            _rhs(WA, values, start, cnt, b)
            wsum = _weight_sum(weights, weighted, start, cnt)
            if cnt <= sketch_size:
                _gram(WA, A, cnt, G)
                _solve_row(WA, A, cnt, G, G0, b, x, alpha, H, F.shape[0], wsum, max_extrapolation, ridges, out[i])
                rk, rn = _residuals(A, values, weights, weighted, start, cnt, out[i], resid, sums)
                kept += rk
                norm += rn
                continue
            SA[:, :] = 0.0
            for q in range(cnt):
                h = _hash(start + q, seed)
                bucket = h % np.uint64(sketch_size)
                sign = 1.0 if (h >> np.uint64(63)) == np.uint64(0) else -1.0
                sw = sign * np.sqrt(weights[start + q]) if weighted else sign
                for r in range(k):
                    SA[r, bucket] += sw * A[r, q]
            _gram(SA, SA, sketch_size, G)
            tr = _regularize(G, alpha)
            if tr == 0.0 and alpha == 0.0:
                out[i, :] = 0.0
            elif _cholesky_solve(G, b.copy(), x):  # factor G once (x discarded)
                _pcg(A, WA, cnt, G, b, X0[i], alpha, n_inner, rtol, t, out[i])
                if max_extrapolation < np.inf and _extrapolation(
                        out[i], _dot(out[i], _normal_product(A, WA, cnt, out[i], 0.0, t)), H, F.shape[0], wsum) \
                        > max_extrapolation:
                    _damped_solve(WA, A, cnt, G, G0, b, x, alpha, H, F.shape[0], wsum, max_extrapolation, ridges,
                                  out[i])
            rk, rn = _residuals(A, values, weights, weighted, start, cnt, out[i], resid, sums)
            kept += rk
            norm += rn
    return kept, norm, sink


@njit(cache=True, fastmath=False)
def _pcg(A, WA, cnt, L, b, x0, alpha, n_inner, rtol, t, out_row):
    """Preconditioned conjugate gradients on one row's normal equations (``L``: Cholesky factor)."""
    x = x0.astype(np.float64)
    res = b - _normal_product(A, WA, cnt, x, alpha, t)
    z = _precondition(L, res)
    p_dir = z.copy()
    rz = np.dot(res, z)
    rz0 = rz
    for _ in range(n_inner):
        if rz <= rtol * rtol * rz0 or rz == 0.0:
            break
        Ap = _normal_product(A, WA, cnt, p_dir, alpha, t)
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
    out_row[:] = x


@njit(cache=True, fastmath=_FAST)
def _normal_product(A, WA, cnt, x, alpha, t):
    """``(A^T W A + alpha I) x`` on the gathered rows, in ``O(|Omega_i| k)`` (``t``: work array)."""
    k = A.shape[0]
    for q in range(cnt):
        t[q] = 0.0
    for r in range(k):
        for q in range(cnt):
            t[q] += A[r, q] * x[r]
    y = alpha * x
    for r in range(k):
        s = 0.0
        for q in range(cnt):
            s += WA[r, q] * t[q]
        y[r] += s
    return y


def counting_sort(keys, size, ints, floats):
    """Stable sort of integer ``keys`` in ``[0, size)`` by counting, in ``O(len(keys) + size)``.

    Returns ``ptr`` (``size + 1`` bucket boundaries), ``order`` (the
    permutation that sorts ``keys``; equal keys keep their input order), and
    the companion arrays ``ints[order]``, ``floats[order]``, written in the
    same pass (scattered writes instead of a second pass of random reads).
    Parallel over contiguous chunks of the input: each chunk counts its keys,
    and a chunk's entries of a key go after those of the chunks before it
    (stable); at most ``len(keys) / size`` chunks, so the per-chunk counts
    stay within the input's size.
    """
    n_chunks = max(1, min(get_num_threads(), keys.shape[0] // max(size, 1)))
    return _counting_sort(keys, size, ints, floats, n_chunks)


@njit(cache=True, parallel=True)
def _counting_sort(keys, size, ints, floats, n_chunks):
    """:func:`counting_sort` over ``n_chunks`` chunks of the input."""
    n = keys.shape[0]
    counts = np.zeros((n_chunks, size), dtype=np.int64)
    for c in prange(n_chunks):
        for p in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            counts[c, keys[p]] += 1
    ptr = np.zeros(size + 1, dtype=np.int64)
    for v in range(size):
        total = 0
        for c in range(n_chunks):
            total += counts[c, v]
        ptr[v + 1] = ptr[v] + total
    for v in prange(size):  # counts -> each chunk's first slot of key v
        nxt = ptr[v]
        for c in range(n_chunks):
            cnt = counts[c, v]
            counts[c, v] = nxt
            nxt += cnt
    order = np.empty(n, dtype=np.int64)
    ints_s = np.empty_like(ints)
    floats_s = np.empty_like(floats)
    for c in prange(n_chunks):
        for p in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            v = keys[p]
            q = counts[c, v]
            order[q] = p
            ints_s[q] = ints[p]
            floats_s[q] = floats[p]
            counts[c, v] = q + 1
    return ptr, order, ints_s, floats_s


@njit(cache=True, fastmath=False, parallel=True)
def observed_products(ptr, idx, U, V, out):
    """``out[p] = <U_i, V_j>`` for the stored entries in CSR order."""
    k = U.shape[1]
    sink = 0.0
    for i in prange(ptr.shape[0] - 1):
        sink += _touch(ptr, idx, V, i + 1)
        for p in range(ptr[i], ptr[i + 1]):
            j = idx[p]
            s = 0.0
            for r in range(k):
                s += U[i, r] * V[j, r]
            out[p] = s
    return sink


@njit(cache=True, fastmath=False, parallel=True)
def sparse_matmat(ptr, idx, values, X, out):
    """``out = S @ X`` for the CSR matrix ``S`` (with CSC structures and column-ordered values: ``S^T @ X``)."""
    q = X.shape[1]
    sink = 0.0
    for i in prange(ptr.shape[0] - 1):
        sink += _touch(ptr, idx, X, i + 1)
        acc = np.zeros(q)
        for p in range(ptr[i], ptr[i + 1]):
            v = values[p]
            j = idx[p]
            for c in range(q):
                acc[c] += v * X[j, c]
        for c in range(q):
            out[i, c] = acc[c]
    return sink
