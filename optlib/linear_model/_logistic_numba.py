"""Numba kernels for elastic-net logistic regression by working-set proximal Newton.

Problems solved (``c`` holds the sample weights normalised to sum to one)::

    binary:       min_{w, b}  sum_i c_i log(1 + exp(-y_i (x_i w + b))) + pen(w),   y_i in {-1, +1}
    multinomial:  min_{W, b}  sum_i c_i (logsumexp_k(z_ik) - z_{i, y_i}) + pen(W),  z_ik = x_i W[:, k] + b_k

with ``pen(w) = alpha1 * ||w||_1 + 0.5 * alpha2 * ||w||^2`` applied entrywise
(``W`` is stored as (n_features, n_classes)); the intercepts are unpenalised.

Algorithm (as skglm's ``ProxNewton``, with working sets as celer / skglm):

* outer loop: the full gradient is computed and the optimality violation of
  every coefficient, ``dist(-grad_j, d pen(w_j))``, is measured (for the
  intercept, ``|grad_b|``). The run stops when the largest violation is at
  most ``tol``. Otherwise a working set of the most violating features (the
  current support always kept, size ``max(p0, 3 * |support|)``) is selected;
* inner loop on the working set: proximal Newton iterations. The quadratic
  model uses the exact Hessian of the loss (``p(1 - p)`` weights for the
  binary loss; ``diag(p) - p p^T`` per sample for the multinomial loss, whose
  product with a direction is maintained incrementally); it is minimised
  (approximately, at most ``_MAX_CD`` epochs) by coordinate descent. With an
  intercept, each coordinate step minimises the model jointly over ``(w_j, b)``
  (``(W_jk, b_k)`` for the multinomial loss): a 2 x 2 solve, equivalent to
  centring ``x_j`` with the Hessian weights, so that features with a large
  mean (badly conditioned against the intercept) converge as fast as centred
  ones. A backtracking line search (Tseng & Yun's sufficient decrease rule)
  gives the step; the objective difference is evaluated in a cancellation-free
  form (``log1p`` / ``expm1`` for the loss, :func:`_pen_diff` for the
  penalty), so the search stays reliable down to machine precision. The inner loop stops
  when the violation on the working set is below ``0.01`` times the outer one,
  or below ``tol`` once the support is the same at two outer iterations.
  Full-gradient passes over ``X`` are the dominant cost when n_features is
  large (n_features columns read from memory against a few hundred cached
  ones per epoch), hence the deep inner solves and the large working sets:
  on a 2000 x 10000 Gaussian design at alpha_max / 10 the run takes 4 passes
  where the schedule of skglm (10 features first, support doubled, inner
  tolerance 0.3 times the outer violation) takes 7.
* binary coordinate descent: ``h * (X_ws d)`` is maintained (one dot product
  with the column, BLAS for dense float64 X, and one update per coordinate);
  ``X_ws d`` itself is formed once per Newton direction.

The objective never increases, so the last iterate is also the best one.

``X`` is either dense (any layout; Fortran order is fastest) or CSC, given by
``data, indices, indptr`` with ``sparse=True`` (then the dense ``X`` argument
is an unused placeholder). Internal vectors are float64 whatever ``X``'s dtype.

The two solvers release the GIL (cross-validation runs its folds in threads).
This module imports numba at import time: import it lazily. Without numba
(``OPTLIB_DISABLE_NUMBA=1``) the same functions run as plain Python.
"""

import numpy as np

from .._backend import numba_available

if numba_available():
    from numba import njit
else:  # pragma: no cover - exercised in a subprocess by the tests

    def njit(*args, **kwargs):
        return lambda func: func


_EPS_TOL = 0.01  # inner tolerance = _EPS_TOL * outer violation
_EPS_CD = 0.3  # coordinate-descent tolerance = _EPS_CD * inner tolerance
_WS_GROWTH = 3  # working-set size: at least _WS_GROWTH times the support
_MAX_CD = 20  # coordinate-descent epochs per Newton direction
_MAX_PN = 50  # Newton iterations per working set
_MAX_BACKTRACK = 40
_ARMIJO = 1e-4


# --------------------------------------------------------------------------- #
# column helpers (dense or CSC)
# --------------------------------------------------------------------------- #
@njit(cache=True, fastmath=False)
def _dot(X, data, indices, indptr, sparse, j, v):
    """sum_i X[i, j] * v[i]."""
    if sparse:
        s = 0.0
        for ii in range(indptr[j], indptr[j + 1]):
            s += data[ii] * v[indices[ii]]
        return s
    n = X.shape[0]
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    m = n - n % 4
    for i in range(0, m, 4):
        s0 += X[i, j] * v[i]
        s1 += X[i + 1, j] * v[i + 1]
        s2 += X[i + 2, j] * v[i + 2]
        s3 += X[i + 3, j] * v[i + 3]
    for i in range(m, n):
        s0 += X[i, j] * v[i]
    return (s0 + s1) + (s2 + s3)


@njit(cache=True, fastmath=False)
def _grad_col(X, data, indices, indptr, sparse, blas, j, v, vX):
    """sum_i X[i, j] * v[i]; with ``blas`` (dense float64 Fortran X), BLAS on ``vX`` (= v in X's dtype)."""
    if blas:
        return np.dot(X[:, j], vX)
    return _dot(X, data, indices, indptr, sparse, j, v)


@njit(cache=True, fastmath=False)
def _dot_diff(X, data, indices, indptr, sparse, j, u, a, s):
    """sum_i X[i, j] * u[i] * (a[i] - s[i])."""
    if sparse:
        t = 0.0
        for ii in range(indptr[j], indptr[j + 1]):
            i = indices[ii]
            t += data[ii] * u[i] * (a[i] - s[i])
        return t
    n = X.shape[0]
    s0 = 0.0
    s1 = 0.0
    m = n - n % 2
    for i in range(0, m, 2):
        s0 += X[i, j] * u[i] * (a[i] - s[i])
        s1 += X[i + 1, j] * u[i + 1] * (a[i + 1] - s[i + 1])
    for i in range(m, n):
        s0 += X[i, j] * u[i] * (a[i] - s[i])
    return s0 + s1


@njit(cache=True, fastmath=False)
def _wnorm2_sum(X, data, indices, indptr, sparse, j, h, with_sum):
    """(sum_i h[i] X[i, j] ** 2, sum_i h[i] X[i, j]); the second is 0 unless ``with_sum``."""
    s = 0.0
    t = 0.0
    if sparse:
        for ii in range(indptr[j], indptr[j + 1]):
            x = data[ii]
            hx = h[indices[ii]] * x
            s += hx * x
            t += hx
    else:  # two partial sums each: shorter chains of dependent additions
        n = X.shape[0]
        s0 = 0.0
        s1 = 0.0
        t0 = 0.0
        t1 = 0.0
        m = n - n % 2
        for i in range(0, m, 2):
            hx0 = h[i] * X[i, j]
            hx1 = h[i + 1] * X[i + 1, j]
            s0 += hx0 * X[i, j]
            s1 += hx1 * X[i + 1, j]
            t0 += hx0
            t1 += hx1
        for i in range(m, n):
            hx0 = h[i] * X[i, j]
            s0 += hx0 * X[i, j]
            t0 += hx0
        s = s0 + s1
        t = t0 + t1
    if not with_sum:
        t = 0.0
    return s, t


@njit(cache=True, fastmath=False)
def _axpy(X, data, indices, indptr, sparse, j, a, v):
    """v += a * X[:, j]."""
    if sparse:
        for ii in range(indptr[j], indptr[j + 1]):
            v[indices[ii]] += a * data[ii]
    else:
        for i in range(X.shape[0]):
            v[i] += a * X[i, j]


@njit(cache=True, fastmath=False)
def _waxpy(X, data, indices, indptr, sparse, j, a, h, v):
    """v += a * h * X[:, j]."""
    if sparse:
        for ii in range(indptr[j], indptr[j + 1]):
            i = indices[ii]
            v[i] += a * h[i] * data[ii]
    else:
        for i in range(X.shape[0]):
            v[i] += a * h[i] * X[i, j]


@njit(cache=True, fastmath=False)
def _axpy2(X, data, indices, indptr, sparse, j, a, v, q, s):
    """v += a * X[:, j];  s += a * q * X[:, j]."""
    if sparse:
        for ii in range(indptr[j], indptr[j + 1]):
            i = indices[ii]
            t = a * data[ii]
            v[i] += t
            s[i] += t * q[i]
    else:
        for i in range(X.shape[0]):
            t = a * X[i, j]
            v[i] += t
            s[i] += t * q[i]


# --------------------------------------------------------------------------- #
# penalty helpers
# --------------------------------------------------------------------------- #
@njit(cache=True, fastmath=False)
def _violation(w, g, alpha1, alpha2):
    """Distance of -g to the subdifferential of the penalty at w."""
    gg = g + alpha2 * w
    if w > 0.0:
        return abs(gg + alpha1)
    if w < 0.0:
        return abs(gg - alpha1)
    return max(abs(gg) - alpha1, 0.0)


@njit(cache=True, fastmath=False)
def _pen(w, alpha1, alpha2):
    return alpha1 * abs(w) + 0.5 * alpha2 * w * w


@njit(cache=True, fastmath=False)
def _pen_diff(w, s, alpha1, alpha2):
    """pen(w + s) - pen(w), without the cancellation of the direct difference."""
    nw = w + s
    if w > 0.0 and nw >= 0.0:
        l1 = s
    elif w < 0.0 and nw <= 0.0:
        l1 = -s
    elif w == 0.0:
        l1 = abs(s)
    else:
        l1 = abs(nw) - abs(w)
    return alpha1 * l1 + alpha2 * s * (w + 0.5 * s)


@njit(cache=True, fastmath=False)
def _prox_newton_coord(old, gm, H, alpha1, alpha2):
    """argmin_u gm (u - old) + H/2 (u - old)^2 + alpha1 |u| + alpha2/2 u^2."""
    tmp = H * old - gm
    if tmp > alpha1:
        return (tmp - alpha1) / (H + alpha2)
    if tmp < -alpha1:
        return (tmp + alpha1) / (H + alpha2)
    return 0.0


@njit(cache=True, fastmath=False)
def _select_ws(w_nz, viol, nnz, p0, scores):
    """Indices of the working set: the support first, then the largest violations."""
    p = viol.shape[0]
    n_cand = 0
    for j in range(p):
        if w_nz[j]:
            scores[j] = np.inf
            n_cand += 1
        elif viol[j] > 0.0:
            scores[j] = viol[j]
            n_cand += 1
        else:
            scores[j] = -1.0
    ws_size = min(max(p0, _WS_GROWTH * nnz), n_cand)
    order = np.argsort(-scores)
    return order[:ws_size].copy()


# --------------------------------------------------------------------------- #
# binary logistic loss
# --------------------------------------------------------------------------- #
@njit(cache=True, fastmath=False)
def _binary_stats(z, y, c, sneg, g, h):
    """Loss, and per sample: sigma(-y z), gradient and Hessian w.r.t. z."""
    loss = 0.0
    for i in range(z.shape[0]):
        m = y[i] * z[i]
        if m >= 0.0:
            e = np.exp(-m)
            sn = e / (1.0 + e)
            sp = 1.0 / (1.0 + e)
            li = np.log1p(e)
        else:
            e = np.exp(m)
            sn = 1.0 / (1.0 + e)
            sp = e / (1.0 + e)
            li = -m + np.log1p(e)
        sneg[i] = sn
        g[i] = -c[i] * y[i] * sn
        h[i] = c[i] * sn * sp
        loss += c[i] * li
    return loss


@njit(cache=True, fastmath=False, nogil=True)
def binary_prox_newton(
    X, data, indices, indptr, sparse, blas, y, c, w, b, fit_intercept,
    alpha1, alpha2, tol, max_iter, max_epochs, p0, verbose, check_finite=False,
):  # fmt: skip
    """Working-set proximal Newton for the binary problem; ``w`` is updated in place.

    With ``check_finite``, the first full gradient doubles as the finite
    check of ``X`` (a NaN or infinite entry makes its column's gradient
    non-finite): the function then returns at once with ``n_outer = -1``
    (the caller tells a NaN / inf from an overflow).

    Returns ``(b, n_outer, n_newton, n_epochs, violation, objective)``:
    the intercept, the numbers of working-set iterations, Newton steps and
    coordinate-descent epochs, the optimality violation and objective at the
    returned point.
    """
    n = y.shape[0]
    p = w.shape[0]
    z = np.full(n, b)
    for j in range(p):
        if w[j] != 0.0:
            _axpy(X, data, indices, indptr, sparse, j, w[j], z)
    sneg = np.empty(n)
    g = np.empty(n)
    h = np.empty(n)
    Xd = np.empty(n)
    hXd = np.empty(n)  # h * Xd, maintained by the coordinate descent
    hXdX = np.empty(n, dtype=X.dtype)  # the same, used instead with BLAS (see _grad_col)
    loss = _binary_stats(z, y, c, sneg, g, h)
    gX = np.empty(n, dtype=X.dtype)
    G = np.zeros(p)
    viol = np.zeros(p)
    scores = np.empty(p)
    w_nz = np.zeros(p, dtype=np.bool_)
    n_newton = 0
    n_epochs = 0
    kkt = np.inf
    it = 0
    while True:
        # optimality of the full problem
        kkt = 0.0
        nnz = 0
        same_support = it > 0
        if blas:
            gX[:] = g
        for j in range(p):
            G[j] = _grad_col(X, data, indices, indptr, sparse, blas, j, g, gX)
            if check_finite and it == 0 and not np.isfinite(G[j]):
                return b, -1, 0, 0, np.nan, np.nan
            v = _violation(w[j], G[j], alpha1, alpha2)
            viol[j] = v
            kkt = max(kkt, v)
            nz = w[j] != 0.0
            if nz != w_nz[j]:
                same_support = False
            w_nz[j] = nz
            if nz:
                nnz += 1
        Gb = 0.0
        if fit_intercept:
            for i in range(n):
                Gb += g[i]
            kkt = max(kkt, abs(Gb))
        if verbose:
            pen = 0.0
            for j in range(p):
                pen += _pen(w[j], alpha1, alpha2)
            print("iter", it, "objective", loss + pen, "violation", kkt, "support", nnz)
        if kkt <= tol or it >= max_iter or n_epochs >= max_epochs:
            break
        it += 1
        ws = _select_ws(w_nz, viol, nnz, p0, scores)
        n_ws = ws.shape[0]
        tol_in = _EPS_TOL * kkt
        if same_support and nnz > 0:
            # the support did not change: solve the subproblem to full accuracy
            tol_in = min(tol_in, tol)
        Hd = np.empty(n_ws)
        Hx = np.zeros(n_ws)
        d = np.empty(n_ws)
        stalled = False
        for pn in range(_MAX_PN):
            for k in range(n_ws):
                Hd[k], Hx[k] = _wnorm2_sum(
                    X, data, indices, indptr, sparse, ws[k], h, fit_intercept
                )
            Hb = 0.0
            if fit_intercept:
                for i in range(n):
                    Hb += h[i]
            joint = fit_intercept and Hb > 0.0
            # Newton direction: coordinate descent on the quadratic model. The
            # direction is (d, db) with X-image Xd + db; with an intercept each
            # step minimises jointly over (w_j, b) (an implicit centring of x_j
            # with the Hessian weights), Sb = sum_i h_i Xd_i. Only h * Xd is
            # kept up to date during the epochs; Xd is formed once after them.
            d[:] = 0.0
            db = 0.0
            Sb = 0.0
            if blas:
                hXdX[:] = 0.0
            else:
                hXd[:] = 0.0
            for ep in range(_MAX_CD):
                n_epochs += 1
                vmax = 0.0
                for k in range(n_ws):
                    j = ws[k]
                    H = Hd[k]
                    gm = (
                        G[j]
                        + _grad_col(X, data, indices, indptr, sparse, blas, j, hXd, hXdX)
                        + db * Hx[k]
                    )
                    old = w[j] + d[k]
                    vmax = max(vmax, _violation(old, gm, alpha1, alpha2))
                    if joint:
                        gmb = Gb + Sb + db * Hb
                        r = Hx[k] / Hb
                        H = max(H - r * Hx[k], 0.0)
                        gm -= r * gmb
                    delta = 0.0
                    if H + alpha2 > 0.0:
                        delta = _prox_newton_coord(old, gm, H, alpha1, alpha2) - old
                        if delta != 0.0:
                            d[k] += delta
                            if blas:
                                _waxpy(X, data, indices, indptr, sparse, j, delta, h, hXdX)
                            else:
                                _waxpy(X, data, indices, indptr, sparse, j, delta, h, hXd)
                    if joint:
                        # b minimises the model given the new w_j
                        Sb += delta * Hx[k]
                        db -= (gmb + Hx[k] * delta) / Hb
                if joint:
                    gmb = Gb + Sb + db * Hb
                    vmax = max(vmax, abs(gmb))
                    db -= gmb / Hb
                if vmax <= _EPS_CD * tol_in:
                    break
            Xd[:] = 0.0
            for k in range(n_ws):
                if d[k] != 0.0:
                    _axpy(X, data, indices, indptr, sparse, ws[k], d[k], Xd)
            # line search (Tseng-Yun sufficient decrease)
            lin = Gb * db
            dpen = 0.0
            for k in range(n_ws):
                j = ws[k]
                lin += G[j] * d[k]
                dpen += _pen_diff(w[j], d[k], alpha1, alpha2)
            Delta = lin + dpen
            if not Delta < 0.0:
                stalled = pn == 0
                break
            t = 1.0
            accepted = False
            for bt in range(_MAX_BACKTRACK):
                dF = 0.0
                for i in range(n):
                    if c[i] != 0.0:
                        dF += c[i] * np.log1p(
                            sneg[i] * np.expm1(-t * y[i] * (Xd[i] + db))
                        )
                for k in range(n_ws):
                    j = ws[k]
                    dF += _pen_diff(w[j], t * d[k], alpha1, alpha2)
                if dF <= _ARMIJO * t * Delta:
                    accepted = True
                    break
                t *= 0.5
            if not accepted:
                stalled = pn == 0
                break
            n_newton += 1
            for k in range(n_ws):
                w[ws[k]] += t * d[k]
            b += t * db
            for i in range(n):
                z[i] += t * (Xd[i] + db)
            loss = _binary_stats(z, y, c, sneg, g, h)
            opt_in = 0.0
            if blas:
                gX[:] = g
            for k in range(n_ws):
                j = ws[k]
                G[j] = _grad_col(X, data, indices, indptr, sparse, blas, j, g, gX)
                opt_in = max(opt_in, _violation(w[j], G[j], alpha1, alpha2))
            if fit_intercept:
                Gb = 0.0
                for i in range(n):
                    Gb += g[i]
                opt_in = max(opt_in, abs(Gb))
            if opt_in <= tol_in or n_epochs >= max_epochs:
                break
        if stalled:
            # no decrease possible along the Newton direction: recompute the
            # violation at this point and stop (rounding level reached)
            max_iter = it
    pen = 0.0
    for j in range(p):
        pen += _pen(w[j], alpha1, alpha2)
    return b, it, n_newton, n_epochs, kkt, loss + pen


# --------------------------------------------------------------------------- #
# multinomial loss
# --------------------------------------------------------------------------- #
@njit(cache=True, fastmath=False)
def _multi_stats(Z, yi, c, P, R):
    """Loss; P = softmax(Z) and R = c (P - onehot(y)), all (n_classes, n)."""
    K, n = Z.shape
    loss = 0.0
    for i in range(n):
        zmax = Z[0, i]
        for k in range(1, K):
            zmax = max(zmax, Z[k, i])
        s = 0.0
        for k in range(K):
            e = np.exp(Z[k, i] - zmax)
            P[k, i] = e
            s += e
        for k in range(K):
            P[k, i] /= s
            R[k, i] = c[i] * P[k, i]
        R[yi[i], i] -= c[i]
        loss += c[i] * (np.log(s) + zmax - Z[yi[i], i])
    return loss


@njit(cache=True, fastmath=False, nogil=True)
def multinomial_prox_newton(
    X, data, indices, indptr, sparse, blas, yi, c, W, b, fit_intercept,
    alpha1, alpha2, tol, max_iter, max_epochs, p0, verbose, check_finite=False,
):  # fmt: skip
    """Working-set proximal Newton for the multinomial problem.

    ``W`` (n_features, n_classes) and ``b`` (n_classes,) are updated in place;
    ``yi`` holds class indices. Returns ``(n_outer, n_newton, n_epochs,
    violation, objective)`` as :func:`binary_prox_newton` (``n_outer = -1``:
    non-finite first gradient, with ``check_finite``).
    """
    n = yi.shape[0]
    p, K = W.shape
    Z = np.empty((K, n))
    for k in range(K):
        Z[k, :] = b[k]
    for j in range(p):
        for k in range(K):
            if W[j, k] != 0.0:
                _axpy(X, data, indices, indptr, sparse, j, W[j, k], Z[k])
    P = np.empty((K, n))
    R = np.empty((K, n))
    U = np.empty((K, n))  # c p
    V = np.empty((K, n))  # c p (1 - p)
    D = np.empty((K, n))  # X @ direction
    S = np.empty(n)  # sum_k p_k D_k
    loss = _multi_stats(Z, yi, c, P, R)
    RX = np.empty((K, n), dtype=X.dtype)
    G = np.zeros((p, K))
    Gb = np.zeros(K)
    viol = np.zeros(p)
    scores = np.empty(p)
    w_nz = np.zeros(p, dtype=np.bool_)
    n_newton = 0
    n_epochs = 0
    kkt = np.inf
    it = 0
    while True:
        kkt = 0.0
        nnz = 0
        same_support = it > 0
        if blas:
            RX[:, :] = R
        for j in range(p):
            vj = 0.0
            nz = False
            for k in range(K):
                G[j, k] = _grad_col(
                    X, data, indices, indptr, sparse, blas, j, R[k], RX[k]
                )
                if check_finite and it == 0 and not np.isfinite(G[j, k]):
                    return -1, 0, 0, np.nan, np.nan  # see binary_prox_newton
                vj = max(vj, _violation(W[j, k], G[j, k], alpha1, alpha2))
                nz = nz or W[j, k] != 0.0
            viol[j] = vj
            kkt = max(kkt, vj)
            if nz != w_nz[j]:
                same_support = False
            w_nz[j] = nz
            if nz:
                nnz += 1
        if fit_intercept:
            for k in range(K):
                Gb[k] = 0.0
                for i in range(n):
                    Gb[k] += R[k, i]
                kkt = max(kkt, abs(Gb[k]))
        if verbose:
            pen = 0.0
            for j in range(p):
                for k in range(K):
                    pen += _pen(W[j, k], alpha1, alpha2)
            print("iter", it, "objective", loss + pen, "violation", kkt, "support", nnz)
        if kkt <= tol or it >= max_iter or n_epochs >= max_epochs:
            break
        it += 1
        ws = _select_ws(w_nz, viol, nnz, p0, scores)
        n_ws = ws.shape[0]
        tol_in = _EPS_TOL * kkt
        if same_support and nnz > 0:
            # the support did not change: solve the subproblem to full accuracy
            tol_in = min(tol_in, tol)
        Hd = np.empty((n_ws, K))
        Hx = np.zeros((n_ws, K))
        Hb = np.zeros(K)
        d = np.empty((n_ws, K))
        db = np.empty(K)
        stalled = False
        for pn in range(_MAX_PN):
            for k in range(K):
                for i in range(n):
                    U[k, i] = c[i] * P[k, i]
                    V[k, i] = U[k, i] * (1.0 - P[k, i])
            for m in range(n_ws):
                for k in range(K):
                    Hd[m, k], Hx[m, k] = _wnorm2_sum(
                        X, data, indices, indptr, sparse, ws[m], V[k], fit_intercept
                    )
            for k in range(K):
                Hb[k] = 0.0
                if fit_intercept:
                    for i in range(n):
                        Hb[k] += V[k, i]
            d[:, :] = 0.0
            db[:] = 0.0
            D[:, :] = 0.0
            S[:] = 0.0
            for ep in range(_MAX_CD):
                n_epochs += 1
                vmax = 0.0
                for m in range(n_ws):
                    j = ws[m]
                    for k in range(K):
                        H = Hd[m, k]
                        gm = G[j, k] + _dot_diff(
                            X, data, indices, indptr, sparse, j, U[k], D[k], S
                        )
                        old = W[j, k] + d[m, k]
                        vmax = max(vmax, _violation(old, gm, alpha1, alpha2))
                        joint = fit_intercept and Hb[k] > 0.0
                        gmb = 0.0
                        if joint:
                            # minimise jointly over (W[j, k], b[k]) (implicit centring of x_j)
                            for i in range(n):
                                gmb += U[k, i] * (D[k, i] - S[i])
                            gmb += Gb[k]
                            r = Hx[m, k] / Hb[k]
                            H = max(H - r * Hx[m, k], 0.0)
                            gm -= r * gmb
                        delta = 0.0
                        if H + alpha2 > 0.0:
                            delta = _prox_newton_coord(old, gm, H, alpha1, alpha2) - old
                            if delta != 0.0:
                                d[m, k] += delta
                                _axpy2(
                                    X,
                                    data,
                                    indices,
                                    indptr,
                                    sparse,
                                    j,
                                    delta,
                                    D[k],
                                    P[k],
                                    S,
                                )
                        if joint:
                            dbk = -(gmb + Hx[m, k] * delta) / Hb[k]
                            if dbk != 0.0:
                                db[k] += dbk
                                for i in range(n):
                                    D[k, i] += dbk
                                    S[i] += dbk * P[k, i]
                if fit_intercept:
                    for k in range(K):
                        if Hb[k] <= 0.0:
                            continue
                        gmb = Gb[k]
                        for i in range(n):
                            gmb += U[k, i] * (D[k, i] - S[i])
                        vmax = max(vmax, abs(gmb))
                        delta = -gmb / Hb[k]
                        db[k] += delta
                        for i in range(n):
                            D[k, i] += delta
                            S[i] += delta * P[k, i]
                if vmax <= _EPS_CD * tol_in:
                    break
            lin = 0.0
            dpen = 0.0
            for k in range(K):
                lin += Gb[k] * db[k]
            for m in range(n_ws):
                j = ws[m]
                for k in range(K):
                    lin += G[j, k] * d[m, k]
                    dpen += _pen_diff(W[j, k], d[m, k], alpha1, alpha2)
            Delta = lin + dpen
            if not Delta < 0.0:
                stalled = pn == 0
                break
            t = 1.0
            accepted = False
            for bt in range(_MAX_BACKTRACK):
                dF = 0.0
                for i in range(n):
                    if c[i] != 0.0:
                        s = 0.0
                        for k in range(K):
                            s += P[k, i] * np.expm1(t * D[k, i])
                        dF += c[i] * (np.log1p(s) - t * D[yi[i], i])
                for m in range(n_ws):
                    j = ws[m]
                    for k in range(K):
                        dF += _pen_diff(W[j, k], t * d[m, k], alpha1, alpha2)
                if dF <= _ARMIJO * t * Delta:
                    accepted = True
                    break
                t *= 0.5
            if not accepted:
                stalled = pn == 0
                break
            n_newton += 1
            for m in range(n_ws):
                for k in range(K):
                    W[ws[m], k] += t * d[m, k]
            for k in range(K):
                b[k] += t * db[k]
                for i in range(n):
                    Z[k, i] += t * D[k, i]
            loss = _multi_stats(Z, yi, c, P, R)
            opt_in = 0.0
            if blas:
                RX[:, :] = R
            for m in range(n_ws):
                j = ws[m]
                for k in range(K):
                    G[j, k] = _grad_col(
                        X, data, indices, indptr, sparse, blas, j, R[k], RX[k]
                    )
                    opt_in = max(opt_in, _violation(W[j, k], G[j, k], alpha1, alpha2))
            if fit_intercept:
                for k in range(K):
                    Gb[k] = 0.0
                    for i in range(n):
                        Gb[k] += R[k, i]
                    opt_in = max(opt_in, abs(Gb[k]))
            if opt_in <= tol_in or n_epochs >= max_epochs:
                break
        if stalled:
            max_iter = it
    pen = 0.0
    for j in range(p):
        for k in range(K):
            pen += _pen(W[j, k], alpha1, alpha2)
    return it, n_newton, n_epochs, kkt, loss + pen
