"""Numba kernels for elastic-net coordinate descent with working sets.

Problem solved (scaled by ``n_samples`` with respect to scikit-learn's)::

    min_w  0.5 * ||y - X w||^2 + alpha1 * ||w||_1 + 0.5 * alpha2 * ||w||^2
    (+ w >= 0 when ``positive``)

``X`` is Fortran-ordered (contiguous columns). The residual ``R = y - X w`` is
maintained incrementally, so a coordinate update costs O(n_samples).

Working sets (skglm style): the full gradient ``X^T R`` (BLAS gemv) and the
duality gap of the full problem are computed once per outer iteration; the
features are ranked by their violation of the dual constraint
``|X_j^T R| <= alpha1`` (scaled by ``||X_j||``), the current support always
kept, and coordinate descent runs on the ``max(p0, 2 |support|)`` best ones
(selected by a partition, not a sort) until the gap of that subproblem falls
below 0.3 times the full gap (checked every ``_CHECK`` epochs); without an
l1 part (``alpha1 = 0``: ridge, least squares) the solution is dense and the
working set is all the features. The gaps are those of :func:`gap_ws`. Within a
working set, every ``_K + 1`` epochs an Anderson extrapolation of the last
iterates is tried and kept when it lowers the objective (as in celer and
skglm).

Newton steps on the support (:func:`_polish`): when the sign pattern of
``w`` has not changed between two inner gap checks (``_CHECK`` epochs
apart) and the coordinate-descent work since the last such step is at least
``1 / _POLISH_RATIO`` of its cost, the quadratic of the support and signs is
minimised by a linear solve on the support's Gram matrix, with feature-sign
search (a coordinate that would change sign is set to zero and the solve
repeated, at most ``_POLISH_ROUNDS`` times). The step never increases the
objective; the duality gap remains the stopping test. On ill-conditioned
designs with a large support (``alpha_max / 100`` and ``/ 1000``) this
replaces thousands of epochs by a few solves.

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
_CHECK = 10  # epochs between inner gap checks (and sign-pattern checks)
_POLISH_ROUNDS = 4  # feature-sign rounds per Newton step
_POLISH_RATIO = 4.0  # Newton step allowed when its flops <= this x the CD flops since the last one


@njit(cache=True, fastmath=False)
def _top_k(scores, k):
    """Indices of the ``k`` largest scores (any order), O(p) with a partition instead of a sort."""
    p = scores.shape[0]
    if k >= p:
        return np.arange(p)
    thr = np.partition(-scores, k - 1)[k - 1]  # -thr is the k-th largest score
    out = np.empty(k, dtype=np.int64)
    m = 0
    for j in range(p):  # strictly above the threshold first, then ties
        if -scores[j] < thr:
            out[m] = j
            m += 1
    for j in range(p):
        if m == k:
            break
        if -scores[j] == thr:
            out[m] = j
            m += 1
    return out


@njit(cache=True, fastmath=False)
def _grad_ws(X, R, ws, n_ws, grad):
    """grad[j] = X[:, j] @ R for j in ws[:n_ws]."""
    for k in range(n_ws):
        j = ws[k]
        grad[j] = np.dot(X[:, j], R)


@njit(cache=True, fastmath=False)
def gap_ws(y, w, R, grad, ws, n_ws, alpha1, alpha2, positive):
    """Duality gap of the problem restricted to ws[:n_ws] (shared with the sparse kernel).

    ``grad`` must hold ``X^T R`` on ws, ``R = y - X w``; coefficients outside
    ws must be zero. See :func:`gap_stats`, which this calls with
    ``||R||^2`` and ``R^T y``.
    """
    r_norm2 = 0.0
    r_y = 0.0
    for i in range(R.shape[0]):
        r_norm2 += R[i] * R[i]
        r_y += R[i] * y[i]
    return gap_stats(w, grad, ws, n_ws, alpha1, alpha2, positive, r_norm2, r_y)


@njit(cache=True, fastmath=False)
def gap_stats(w, grad, ws, n_ws, alpha1, alpha2, positive, r_norm2, r_y):
    """Duality gap on ws[:n_ws] from ``grad = X^T R``, ``r_norm2 = ||R||^2`` and ``r_y = R^T y``.

    Shared by the dense, sparse and Gram kernels (the Gram kernel has no
    ``R``, only these statistics). Two dual points are tried, as in scikit-learn:

    - formulation A (needs ``alpha1 > 0``): ``R`` rescaled into the dual
      feasible set ``|X_j^T v - alpha2 w_j| <= alpha1``;
    - formulation B (needs ``alpha2 > 0``, valid for any ``alpha1 >= 0``):
      ``v = R`` in the dual ``-||v||^2 / 2 + y^T v
      - sum_j (|X_j^T v| - alpha1)_+^2 / (2 alpha2)``, which has no
      constraint (Dünner et al. 2016, section 5.2.3).

    Both bound the suboptimality of ``w``; the smaller is returned, so the
    gap stays meaningful for ridge (``alpha1 = 0``) and near-ridge
    penalties. With ``alpha1 = alpha2 = 0`` (least squares) there is no
    usable dual point: the squared norm of the projected gradient ``X^T R``
    is returned (scikit-learn's first-order test; not in the objective's units).
    With ``positive``, ``|.|`` becomes the positive part where it applies.
    A gap below zero (rounding at the optimum) is returned as 0.
    """
    dual_norm = 0.0
    l1 = 0.0
    w_norm2 = 0.0
    excess2 = 0.0  # formulation B: sum_j (|X_j^T R| - alpha1)_+^2
    for k in range(n_ws):
        j = ws[k]
        g = grad[j]
        v = g - alpha2 * w[j]
        if not positive:
            v = abs(v)
            g = abs(g)
        elif alpha1 == 0.0 and alpha2 == 0.0 and w[j] > 0.0:
            g = abs(g)  # least squares: a positive coefficient must have a zero gradient
        dual_norm = max(dual_norm, v)
        if g > alpha1:
            excess2 += (g - alpha1) * (g - alpha1)
        l1 += abs(w[j])
        w_norm2 += w[j] * w[j]
    if alpha1 == 0.0 and alpha2 == 0.0:
        return excess2
    gap = np.inf
    if alpha1 > 0.0:
        const = alpha1 / dual_norm if dual_norm > alpha1 else 1.0
        gap = (
            0.5 * r_norm2 * (1.0 + const * const) + alpha1 * l1 - const * r_y
            + 0.5 * alpha2 * (1.0 + const * const) * w_norm2
        )
    if alpha2 > 0.0:
        gap_b = r_norm2 - r_y + alpha1 * l1 + 0.5 * alpha2 * w_norm2 + excess2 / (2.0 * alpha2)
        gap = min(gap, gap_b)
    if gap < 0.0:  # rounding at the optimum (a duality gap is nonnegative); NaN is kept
        gap = 0.0
    return gap


@njit(cache=True, fastmath=False)
def enet_coordinate(tmp, nrm, alpha1, alpha2, positive):
    """Minimiser of ``nrm/2 w^2 - tmp w + alpha1 |w| + alpha2/2 w^2`` (``w >= 0`` when ``positive``)."""
    if positive:
        return max(tmp - alpha1, 0.0) / (nrm + alpha2)
    if tmp > alpha1:
        return (tmp - alpha1) / (nrm + alpha2)
    if tmp < -alpha1:
        return (tmp + alpha1) / (nrm + alpha2)
    return 0.0


@njit(cache=True, fastmath=False)
def _sweep(X, w, R, norms2, ws, n_ws, alpha1, alpha2, positive, random):
    """One epoch of coordinate descent on ws[:n_ws] (cyclic or random).

    Returns ``(d_w_max, w_max)``: the largest coefficient change of the
    epoch and the largest coefficient (scikit-learn's primal stopping test).
    """
    n = X.shape[0]
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
        tmp = np.dot(X[:, j], R) + nrm * old
        new = enet_coordinate(tmp, nrm, alpha1, alpha2, positive)
        if new != old:
            delta = new - old
            for i in range(n):
                R[i] -= delta * X[i, j]
            w[j] = new
            d_w_max = max(d_w_max, abs(delta))
        w_max = max(w_max, abs(new))
    return d_w_max, w_max


@njit(cache=True, fastmath=False)
def dw_small(d_w_max, w_max, dw_tol):
    """scikit-learn's primal test: an epoch changed no coefficient by more than ``dw_tol`` times the largest."""
    return w_max == 0.0 or d_w_max <= dw_tol * w_max


@njit(cache=True, fastmath=False)
def _settled_after_step(d_w_max, step, w, ws, n_ws, dw_tol):
    """:func:`dw_small` after a step that replaced ``w`` (extrapolation, Newton) in an epoch; ``(d_w_max, settled)``.

    The test is made on the iterate that is kept: the epoch's largest change
    is the larger of its sweep's ``d_w_max`` and the ``step`` (largest change
    of the step, 0 when none was kept), and the largest coefficient is that of
    ``w[ws]`` after the step, not the sweep's.
    """
    d_w_max = max(d_w_max, step)
    w_max = 0.0
    for m in range(n_ws):
        w_max = max(w_max, abs(w[ws[m]]))
    return d_w_max, dw_small(d_w_max, w_max, dw_tol)


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
def _extrapolate(hist, n_ws):
    """Anderson extrapolation of the K+1 stored iterates ``hist`` (rows) of ``w[ws]``, not projected.

    Returns an empty array when the regularised system is degenerate.
    """
    empty = np.empty(0)
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
        return empty
    for k in range(K):
        C[k, k] += 1e-10 * tr
    z = np.linalg.solve(C, np.ones(K))
    zs = z.sum()
    if zs == 0.0 or not np.isfinite(zs):
        return empty
    c = z / zs
    w_acc = np.zeros(n_ws)
    for k in range(K):
        for m in range(n_ws):
            w_acc[m] += c[k] * hist[k + 1, m]
    return w_acc


@njit(cache=True, fastmath=False)
def _on_orthant(w_acc, last):
    """``w_acc`` with each coefficient that leaves the orthant of ``last`` (or is zero there) set to zero."""
    out = w_acc.copy()
    for m in range(out.shape[0]):
        if out[m] * last[m] <= 0.0:
            out[m] = 0.0
    return out


@njit(cache=True, fastmath=False)
def anderson_candidates(hist, n_ws, alpha1, positive):
    """The extrapolated points to try, in order (shared with the sparse kernel); ``n_cand`` of them.

    Returns ``(first, second, n_cand)``. When the objective has a kink at
    zero (``alpha1 > 0`` or ``positive``), first the extrapolation projected
    on the orthant of the last iterate (a coefficient whose sign would
    change, or that is zero in the last iterate, is zero; so ``w >= 0`` is
    kept with ``positive``): coordinate descent is a linear map only on a
    fixed sign pattern, and on a large, ill-conditioned support the
    extrapolation (weights in the hundreds) pushes a few coordinates near
    zero across it, which makes the plain point raise the objective at every
    try. Then, when it differs, the plain extrapolation (clipped at zero
    when ``positive``): coefficients may also converge across zero (an
    ill-conditioned elastic net at a small alpha), where the projected point
    keeps being rejected. Without a kink (ridge, least squares: a zero
    coefficient is not special) only the plain point. ``n_cand = 0`` when
    the system is degenerate.
    """
    w_acc = _extrapolate(hist, n_ws)
    if w_acc.shape[0] == 0:
        return w_acc, w_acc, 0
    if positive:
        for m in range(n_ws):
            w_acc[m] = max(w_acc[m], 0.0)
    if not (alpha1 > 0.0 or positive):
        return w_acc, w_acc, 1
    w_orth = _on_orthant(w_acc, hist[hist.shape[0] - 1])
    for m in range(n_ws):
        if w_orth[m] != w_acc[m]:
            return w_orth, w_acc, 2
    return w_orth, w_orth, 1


@njit(cache=True, fastmath=False)
def _try_point(X, y, w, R, ws, n_ws, w_new, alpha1, alpha2, old):
    """Replace ``w[ws]`` (and ``R``) by ``w_new`` when its objective is below ``old``.

    Returns the largest coefficient change, or -1 when not kept.
    """
    n = X.shape[0]
    R_acc = np.empty(n, dtype=R.dtype)
    for i in range(n):
        R_acc[i] = y[i]
    for m in range(n_ws):
        v = w_new[m]
        if v != 0.0:
            j = ws[m]
            for i in range(n):
                R_acc[i] -= v * X[i, j]
    w_old = np.empty(n_ws)
    for m in range(n_ws):
        w_old[m] = w[ws[m]]
        w[ws[m]] = w_new[m]
    new = _primal(w, R_acc, ws, n_ws, alpha1, alpha2)
    if new < old:
        for i in range(n):
            R[i] = R_acc[i]
        d_w_max = 0.0
        for m in range(n_ws):
            d_w_max = max(d_w_max, abs(w_new[m] - w_old[m]))
        return d_w_max
    for m in range(n_ws):
        w[ws[m]] = w_old[m]
    return -1.0


@njit(cache=True, fastmath=False)
def _anderson(X, y, w, R, ws, n_ws, hist, alpha1, alpha2, positive):
    """Anderson extrapolation from the K+1 stored iterates ``hist`` (rows) of w[ws].

    The first point of :func:`anderson_candidates` that lowers the objective
    replaces ``w`` (and ``R``). Returns the largest coefficient change (0
    when none is kept).
    """
    first, second, n_cand = anderson_candidates(hist, n_ws, alpha1, positive)
    if n_cand == 0:
        return 0.0
    old = _primal(w, R, ws, n_ws, alpha1, alpha2)
    d_w_max = _try_point(X, y, w, R, ws, n_ws, first, alpha1, alpha2, old)
    if d_w_max < 0.0 and n_cand == 2:
        d_w_max = _try_point(X, y, w, R, ws, n_ws, second, alpha1, alpha2, old)
    return max(d_w_max, 0.0)


@njit(cache=True, fastmath=False)
def _solve_psd(G, b):
    """Solve ``G z = b`` for a symmetric positive semidefinite ``G``; never raises.

    Cholesky when ``G`` is numerically definite (every pivot above
    ``k * eps`` times the largest diagonal entry); otherwise (a rank-deficient
    support: more nonzeros than the rank of ``X_S``) the minimum-norm
    least-squares solution, a minimiser of the quadratic when it has one
    (:func:`_polish` keeps a step only when it lowers the objective).
    """
    k = G.shape[0]
    big = 0.0
    for a in range(k):
        big = max(big, G[a, a])
    ok = big > 0.0
    if ok:
        try:
            L = np.linalg.cholesky(G)
        except Exception:  # noqa: BLE001 (numba catches no narrower class): not positive definite
            ok = False
    if ok:
        floor = k * 2.220446049250313e-16 * big
        for a in range(k):
            if L[a, a] * L[a, a] <= floor:
                ok = False
                break
    if not ok:
        return np.linalg.lstsq(G, b, k * 2.220446049250313e-16)[0]
    z = b.copy()  # L L^T z = b: forward then back substitution
    for a in range(k):
        acc = z[a]
        for c in range(a):
            acc -= L[a, c] * z[c]
        z[a] = acc / L[a, a]
    for a in range(k - 1, -1, -1):
        acc = z[a]
        for c in range(a + 1, k):
            acc -= L[c, a] * z[c]
        z[a] = acc / L[a, a]
    return z


@njit(cache=True, fastmath=False)
def _polish(X, y, w, R, ws, n_ws, alpha1, alpha2, positive):
    """Newton step on the current support and signs (feature-sign search).

    With ``S`` the nonzeros of ``w`` on ws and ``s`` their signs, the minimiser
    of the objective on the orthant ``{sign(w_S) = s}`` solves
    ``(X_S^T X_S + alpha2 I) z = X_S^T y - alpha1 s``. The step goes from
    ``w_S`` towards ``z``, stopped at the first coordinate that would change
    sign (set to zero): the objective is a convex quadratic along that
    segment, decreasing up to ``z``, so the step never increases it. Once the
    support and signs are the optimal ones, one step solves the problem to
    machine precision, which coordinate descent may need thousands of epochs
    for on ill-conditioned designs. Without an l1 part (``alpha1 = 0``, not
    ``positive``) there is no kink at 0 and the full step is taken. The
    linear solve never raises (:func:`_solve_psd`: a rank-deficient ``X_S``
    gets a least-squares step). Returns the largest coefficient change (0 when
    the step is not applied).
    """
    n = X.shape[0]
    k = 0
    for m in range(n_ws):
        if w[ws[m]] != 0.0:
            k += 1
    if k == 0 or (k >= n and alpha2 == 0.0):
        return 0.0
    S = np.empty(k, dtype=np.int64)
    k = 0
    for m in range(n_ws):
        if w[ws[m]] != 0.0:
            S[k] = ws[m]
            k += 1
    XS = np.empty((k, n))  # rows = columns of X_S
    for m in range(k):
        j = S[m]
        for i in range(n):
            XS[m, i] = X[i, j]
    G0 = np.dot(XS, XS.T)
    b0 = np.dot(XS, y.astype(np.float64))
    wS = np.empty(k)
    sgn = np.empty(k)
    for m in range(k):
        wS[m] = w[S[m]]
        sgn[m] = 1.0 if wS[m] > 0.0 else -1.0
    # feature-sign search: at a sign change, drop that coordinate and solve again
    kinked = alpha1 > 0.0 or positive  # else the objective is one quadratic: no stop at 0
    active = np.ones(k, dtype=np.bool_)
    for _ in range(_POLISH_ROUNDS):
        idx = np.nonzero(active)[0]
        ka = idx.shape[0]
        if ka == 0:
            break
        G = np.empty((ka, ka))
        b = np.empty(ka)
        for a1 in range(ka):
            b[a1] = b0[idx[a1]] - alpha1 * sgn[idx[a1]]
            for a2 in range(ka):
                G[a1, a2] = G0[idx[a1], idx[a2]]
            G[a1, a1] += alpha2
        z = _solve_psd(G, b)
        if not np.all(np.isfinite(z)):
            return 0.0
        t = 1.0
        hit = -1
        for a1 in range(ka):
            old = wS[idx[a1]]
            if kinked and z[a1] * old <= 0.0:
                tm = old / (old - z[a1])
                if tm < t:
                    t = tm
                    hit = a1
        for a1 in range(ka):
            m = idx[a1]
            new = wS[m] + t * (z[a1] - wS[m])
            if kinked and (a1 == hit or new * sgn[m] <= 0.0):
                new = 0.0
            wS[m] = new
            if new == 0.0:
                active[m] = False
        if hit < 0:
            break
    # the new residual, then keep the step only if it lowers the objective (rounding guard)
    R_new = y.astype(np.float64) - np.dot(XS.T, wS)
    l1o = 0.0
    l2o = 0.0
    l1n = 0.0
    l2n = 0.0
    for m in range(k):
        old = w[S[m]]
        l1o += abs(old)
        l2o += old * old
        l1n += abs(wS[m])
        l2n += wS[m] * wS[m]
    r2o = 0.0
    r2n = 0.0
    for i in range(n):
        r2o += R[i] * R[i]
        r2n += R_new[i] * R_new[i]
    f_old = 0.5 * r2o + alpha1 * l1o + 0.5 * alpha2 * l2o
    f_new = 0.5 * r2n + alpha1 * l1n + 0.5 * alpha2 * l2n
    if not f_new < f_old:
        return 0.0
    d_w_max = 0.0
    for m in range(k):
        d_w_max = max(d_w_max, abs(wS[m] - w[S[m]]))
        w[S[m]] = wS[m]
    for i in range(n):
        R[i] = R_new[i]
    return d_w_max


@njit(cache=True, fastmath=False, nogil=True)
def prep(X, y):
    """One read of ``X``: squared column norms and ``X^T y`` (both float64).

    Also the finite check of ``X``: a NaN or infinite entry makes its
    column's squared norm non-finite (the caller then runs scikit-learn's
    element-wise check, and reports a finite ``X`` whose norm overflowed as
    too large), so ``X`` need not be scanned separately.
    """
    n, p = X.shape
    norms2 = np.empty(p)
    xty = np.empty(p)
    m = n - n % 4
    for j in range(p):
        # four partial sums of each (instruction-level parallelism; no fastmath reordering)
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        d0 = 0.0
        d1 = 0.0
        d2 = 0.0
        d3 = 0.0
        for i in range(0, m, 4):
            x0 = X[i, j]
            x1 = X[i + 1, j]
            x2 = X[i + 2, j]
            x3 = X[i + 3, j]
            s0 += x0 * x0
            s1 += x1 * x1
            s2 += x2 * x2
            s3 += x3 * x3
            d0 += x0 * y[i]
            d1 += x1 * y[i + 1]
            d2 += x2 * y[i + 2]
            d3 += x3 * y[i + 3]
        for i in range(m, n):
            x0 = X[i, j]
            s0 += x0 * x0
            d0 += x0 * y[i]
        norms2[j] = (s0 + s1) + (s2 + s3)
        xty[j] = (d0 + d1) + (d2 + d3)
    return norms2, xty


@njit(cache=True, fastmath=False, nogil=True)
def enet_cd_ws(
    X, y, w, R, alpha1, alpha2, positive, max_iter, tol, random, seed, use_ws, p0, polish=True,
    norms2=None, grad0=None, dw_tol=np.inf, entry_test=True,
):  # fmt: skip
    """Working-set coordinate descent; ``w`` and ``R`` are updated in place.

    ``max_iter`` bounds the total number of epochs (sweeps over the current
    working set). Stops when the duality gap of the full problem is at most
    ``tol`` and the last epoch changed no coefficient by more than ``dw_tol``
    times the largest one (scikit-learn's pair of tests: :func:`dw_small`;
    a Newton or extrapolation step counts as part of its epoch, and the test
    is then made on the iterate it keeps: :func:`_settled_after_step`). Before any
    epoch the gap alone decides (scikit-learn's test at entry) when
    ``entry_test`` or ``w = 0``; a path passes ``entry_test=False``, so a
    warm start from the previous alpha gets at least one epoch instead of
    being kept merely because it passes the gap test. Returns
    ``(n_epochs, gap)`` with ``gap`` the duality gap of the full problem at
    the returned ``w`` (in the n-scaled units above).
    ``norms2`` (squared column norms) and ``grad0`` (``X^T R`` at entry,
    float64), e.g. from :func:`prep`, spare full reads of ``X`` when given;
    ``grad0`` is the gradient buffer: on return it holds ``X^T R`` at the
    returned ``w`` (a path's next solve starts from it).
    """
    n, p = X.shape
    if random:
        np.random.seed(seed)
    if norms2 is None:
        norms2 = np.empty(p)
        for j in range(p):
            s = 0.0
            for i in range(n):
                s += X[i, j] * X[i, j]
            norms2[j] = s
    all_idx = np.arange(p)
    scores = np.empty(p)
    signs = np.zeros(p, dtype=np.int8)  # sign pattern at the previous check
    work = 0.0  # coordinate-descent flops since the last Newton step
    n_epochs = 0
    gap = np.inf
    settled = entry_test or not np.any(w)  # the last epoch changed w by little (dw_small)
    if grad0 is None:
        grad = np.zeros(p)
        grad[:] = np.dot(X.T, R)  # BLAS gemv
    else:
        grad = grad0
    while True:
        gap = gap_ws(y, w, R, grad, all_idx, p, alpha1, alpha2, positive)
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
        while n_epochs < max_iter:
            d_w_max, w_max = _sweep(X, w, R, norms2, ws, ws_size, alpha1, alpha2, positive, random)
            settled = dw_small(d_w_max, w_max, dw_tol)
            n_epochs += 1
            epoch += 1
            work += 2.0 * n * ws_size
            if use_ws:
                slot = (epoch - 1) % (_K + 1)
                for m in range(ws_size):
                    hist[slot, m] = w[ws[m]]
                if slot == _K:
                    step = _anderson(X, y, w, R, ws, ws_size, hist, alpha1, alpha2, positive)
                    if step > 0.0:
                        d_w_max, settled = _settled_after_step(d_w_max, step, w, ws, ws_size, dw_tol)
            check = epoch % _CHECK == 0
            if check and use_ws and polish:
                stable = True
                nnz_ws = 0
                for m in range(ws_size):
                    wm = w[ws[m]]
                    sg = 1 if wm > 0.0 else (-1 if wm < 0.0 else 0)
                    if sg != signs[ws[m]]:
                        stable = False
                        signs[ws[m]] = sg
                    if sg != 0:
                        nnz_ws += 1
                cost = float(nnz_ws) * nnz_ws * (n + nnz_ws)
                if stable and nnz_ws > 0 and cost <= _POLISH_RATIO * work:
                    step = _polish(X, y, w, R, ws, ws_size, alpha1, alpha2, positive)
                    if step > 0.0:
                        d_w_max, settled = _settled_after_step(d_w_max, step, w, ws, ws_size, dw_tol)
                    work = 0.0
            if check or settled or not use_ws:  # an early test once w has settled
                if ws_size == p:
                    break  # the outer loop checks the full gap
                _grad_ws(X, R, ws, ws_size, grad)
                gap_in = gap_ws(y, w, R, grad, ws, ws_size, alpha1, alpha2, positive)
                if gap_in <= tol_in and (settled or tol_in > tol):
                    break
        grad[:] = np.dot(X.T, R)  # BLAS gemv, full gradient for the next gap and scores
    return n_epochs, gap
