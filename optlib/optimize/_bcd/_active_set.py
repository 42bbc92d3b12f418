"""Greedy block coordinate descent with active-set (manifold) identification for l1 problems.

Solves::

    min_x  f(x) + lam ||x||_1                    (positive=False)
    min_x  f(x) + lam sum_i x_i   s.t. x >= 0    (positive=True)

with ``f(x) = 0.5 ||A x - b||^2`` (``form="least_squares"``) or
``f(x) = 0.5 x^T Q x - c^T x`` (``form="quadratic"``). This is the
active-set part of Nutini, Laradji and Schmidt, "Let's make block coordinate
descent converge faster" (JMLR 2022): greedy variable blocks chosen by a GS-q score,
proximal-gradient updates identify the active manifold (the sign pattern of
``x``) in finitely many iterations, after which Newton-type block updates
(proximal Newton, two-metric projection) converge superlinearly -- here, as
``f`` is quadratic, in a few iterations once the block covers the support.
"""

import math
import numbers

import numpy as np

from ..._backend import use_numba
from ..._result import (
    STATUS_CALLBACK,
    STATUS_CONVERGED,
    STATUS_MAX_ITER,
    STATUS_NUMERICAL,
    IterationMonitor,
    make_result,
)
from ..._validation import (
    check_array,
    check_option,
    check_random_state,
    check_scalar,
    check_shape,
)
from ._design import check_host_input

__all__ = ["active_set_bcd"]

UPDATES = ("prox_newton", "two_metric", "prox_gradient")
SELECTIONS = ("gsq", "gs", "random", "cyclic")
FORMS = ("least_squares", "quadratic")
_REFRESH_EVERY = 100  # recompute the residual / gradient from scratch (bounds drift)
_CD_MAX_SWEEPS = 2000  # block QP: coordinate-descent sweeps before the exact polish
_CD_TOL = 1e-13
_ARMIJO = 1e-4
_MAX_BACKTRACK = 60


# --------------------------------------------------------------------------- problem data
class _LeastSquares:
    """``0.5 ||A x - b||^2``: residual ``r`` kept, ``g = A^T r`` recomputed after each block change.

    A block change ``dx_b`` costs ``O(m |b|)`` for ``r += A_b dx_b`` and one
    product ``A^T r`` (``O(nnz(A))``) for the full gradient, which the greedy
    rules need anyway -- the bookkeeping of the paper's experiments.
    """

    def __init__(self, A, b):
        self.A = A
        self.b = b
        self.sparse = _is_sparse(A)
        if self.sparse:
            self.L = np.asarray(A.multiply(A).sum(axis=0)).ravel()
        else:
            self.L = np.einsum("ij,ij->j", A, A)
        self.grad0_norm = float(np.max(np.abs(A.T @ b))) if A.shape[1] else 0.0

    def start(self, x):
        self.r = self.A @ x - self.b
        return self.A.T @ self.r

    def columns(self, block):
        cols = self.A[:, block]
        return cols.toarray() if self.sparse else cols

    def block_hessian(self, block, cols):
        return cols.T @ cols

    def apply(self, block, cols, dx, g):
        self.r += cols @ dx
        return self.A.T @ self.r

    def refresh(self, x):
        return self.start(x)

    def smooth_value(self, x, g):
        return 0.5 * float(self.r @ self.r)


class _Quadratic:
    """``0.5 x^T Q x - c^T x + const``: gradient kept by Gram columns, ``g += Q[:, b] dx_b`` (``O(n |b|)``)."""

    def __init__(self, Q, c, const=0.0):
        self.Q = Q
        self.c = c
        self.const = const
        self.sparse = _is_sparse(Q)
        self.L = np.asarray(Q.diagonal()).ravel().astype(np.float64)
        self.grad0_norm = float(np.max(np.abs(c))) if c.size else 0.0

    def start(self, x):
        return np.asarray(self.Q @ x).ravel() - self.c

    def columns(self, block):
        cols = self.Q[:, block]
        return cols.toarray() if self.sparse else cols

    def block_hessian(self, block, cols):
        return np.ascontiguousarray(cols[block, :])

    def apply(self, block, cols, dx, g):
        g += cols @ dx
        return g

    def refresh(self, x):
        return self.start(x)

    def smooth_value(self, x, g):
        return 0.5 * float(x @ g) - 0.5 * float(self.c @ x) + self.const


def _is_sparse(A):
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover
        return False
    return sp.issparse(A)


# --------------------------------------------------------------------------- small helpers
def _prox(v, t, positive):
    """Prox of ``t ||.||_1`` (soft threshold) or of ``t sum(.) + indicator(>= 0)``."""
    if positive:
        return np.maximum(v - t, 0.0)
    return np.sign(v) * np.maximum(np.abs(v) - t, 0.0)


def _penalty(x):
    return float(np.sum(np.abs(x)))


def _block_change(d, gb, H, lam, xb, y):
    """Exact change of the objective when the block moves from ``xb`` to ``y = xb + d``."""
    return float(gb @ d + 0.5 * d @ (H @ d) + lam * (np.sum(np.abs(y)) - np.sum(np.abs(xb))))


def _solve_psd(H, rhs):
    """Solve ``H z = rhs`` for a symmetric PSD ``H`` (least-squares fallback when singular)."""
    try:
        z = np.linalg.solve(H, rhs)
        if np.all(np.isfinite(z)):
            return z
    except np.linalg.LinAlgError:
        pass
    return np.linalg.lstsq(H, rhs, rcond=None)[0]


def _scores_xp(x, g, L, lam, positive, rule, out):
    """Vectorized twin of :func:`_active_set_numba.gsq_scores` (``engine="xp"``)."""
    if positive:
        gl = g + lam
        s = np.where(x > 0.0, np.abs(gl), np.maximum(-gl, 0.0))
    else:
        s = np.where(x != 0.0, np.abs(g + lam * np.sign(x)), np.maximum(np.abs(g) - lam, 0.0))
    if rule == 1:
        out[:] = s
    elif rule == 0:
        safe = np.where(L > 0.0, L, 1.0)
        if positive:
            z = np.maximum(x - gl / safe, 0.0)
            d = z - x
            dec = -(gl * d + 0.5 * safe * d * d)
        else:
            z = _prox(x - g / safe, lam / safe, False)
            d = z - x
            dec = -(g * d + 0.5 * safe * d * d + lam * (np.abs(z) - np.abs(x)))
        out[:] = np.where(L > 0.0, dec, 0.0)
    return float(np.max(s)) if s.size else 0.0


# --------------------------------------------------------------------------- block updates
def _update_prox_gradient(xb, gb, H, Lb_diag, lam, positive, kernels):
    """Proximal gradient step on the block with ``L_b = lambda_max(H_bb)``."""
    Lb = float(np.linalg.eigvalsh(H)[-1]) if H.shape[0] > 1 else float(H[0, 0])
    if not Lb > 0.0:
        return xb.copy()
    if positive:
        return np.maximum(xb - (gb + lam) / Lb, 0.0)
    return _prox(xb - gb / Lb, lam / Lb, False)


def _polish(H, q, y, lam, positive):
    """Exact minimiser of the block QP on the sign pattern of ``y``, or ``None`` if KKT fails."""
    free = np.flatnonzero(y)
    if free.size == 0:
        return None
    s = np.ones(free.size) if positive else np.sign(y[free])
    yF = _solve_psd(H[np.ix_(free, free)], -(q[free] + lam * s))
    if not np.all(np.isfinite(yF)) or np.any(np.sign(yF) != s):
        return None
    out = np.zeros_like(y)
    out[free] = yF
    grad = H @ out + q
    slack = 1e-9 * max(lam, float(np.max(np.abs(q))), 1e-300)
    zero = np.ones(y.size, dtype=bool)
    zero[free] = False
    if positive:
        ok = np.all(grad[zero] + lam >= -slack)
    else:
        ok = np.all(np.abs(grad[zero]) <= lam + slack)
    return out if ok else None


def _update_prox_newton(xb, gb, H, Lb_diag, lam, positive, kernels):
    """Exact minimiser of the block model ``g_b^T d + d^T H_bb d / 2 + lam ||x_b + d||_1``.

    Coordinate descent (warm-started at ``x_b``) identifies the sign pattern;
    the linear system on that pattern is then solved exactly and kept when it
    satisfies the KKT conditions of the block problem and does not increase
    the objective.
    """
    q = gb - H @ xb
    y = np.array(xb, dtype=np.float64, copy=True)
    kernels.block_qp_cd(H, q, y, lam, positive, _CD_MAX_SWEEPS, _CD_TOL)
    exact = _polish(H, q, y, lam, positive)
    if exact is not None and _block_change(exact - xb, gb, H, lam, xb, exact) <= _block_change(
        y - xb, gb, H, lam, xb, y
    ):
        return exact
    return y


def _update_two_metric(xb, gb, H, Lb_diag, lam, positive, kernels):
    """Two-metric projection step (Bertsekas 1982; Gafni and Bertsekas 1984) on the block.

    Each coordinate gets an orthant sign ``s_i`` (its sign, or for a zero the
    sign the l1 subgradient pushes it to; ``s_i = 0`` keeps it at zero when
    ``|g_i| <= lam``), so the objective is smooth on the orthant with gradient
    ``grad = g + lam s``. Coordinates within ``eps`` of zero with ``grad``
    pushing them to it are "near the bound" -- ``eps`` is Bertsekas' choice,
    the length of the projected step ``x - P(x - grad / L_i)``, which vanishes
    at a solution -- and get the diagonally scaled gradient step
    ``-grad_i / L_i``. The others get a Newton step with the block Hessian
    restricted to them. The step is projected onto the orthant and
    backtracked (Armijo, on the exact change of the objective); a
    proximal-gradient step is the fallback.
    """
    if positive:
        s = np.ones_like(xb)
    else:
        s = np.sign(xb)
        zero = xb == 0.0
        s[zero] = np.where(np.abs(gb[zero]) > lam, -np.sign(gb[zero]), 0.0)
    grad = gb + lam * s
    fixed = s == 0.0
    safe_L = np.where(Lb_diag > 0.0, Lb_diag, 1.0)
    # Bertsekas' epsilon: the length of the scaled projected-gradient step, -> 0 at a solution
    proj = np.where(fixed, 0.0, xb - grad / safe_L)
    proj[s * proj < 0.0] = 0.0
    eps = float(np.max(np.abs(proj - xb))) if xb.size else 0.0
    near = ~fixed & (s * grad > 0.0) & (s * xb <= eps)
    work = ~fixed & ~near
    d = np.zeros_like(xb)
    d[near] = -grad[near] / safe_L[near]
    if np.any(work):
        w = np.flatnonzero(work)
        d[w] = -_solve_psd(H[np.ix_(w, w)], grad[w])
    slope_ok = np.any(d != 0.0)
    alpha = 1.0
    for _ in range(_MAX_BACKTRACK if slope_ok else 0):
        y = xb + alpha * d
        y[s * y < 0.0] = 0.0
        y[fixed] = 0.0
        step = y - xb
        decrease = float(grad @ step)
        if decrease < 0.0:
            change = _block_change(step, gb, H, lam, xb, y)
            if change <= _ARMIJO * decrease:
                return y
        alpha *= 0.5
    return _update_prox_gradient(xb, gb, H, Lb_diag, lam, positive, kernels)


_UPDATE_FUNCS = {
    "prox_newton": _update_prox_newton,
    "two_metric": _update_two_metric,
    "prox_gradient": _update_prox_gradient,
}


class _Kernels:
    """numba kernels, or their plain-Python / vectorized versions for ``engine="xp"``."""

    def __init__(self, numba):
        from . import _active_set_numba as nk

        if numba:
            self.scores = nk.gsq_scores
            self.block_qp_cd = nk.block_qp_cd
        else:
            self.scores = _scores_xp
            self.block_qp_cd = nk.python_version(nk.block_qp_cd)


# --------------------------------------------------------------------------- validation
def _check_matrix(A, name):
    check_host_input(A, name, "active_set_bcd")
    if _is_sparse(A):
        dtype = A.dtype
        A = A.tocsc().astype(np.float64)
        if A.ndim != 2:
            raise ValueError(f"{name} must be 2-dimensional, got shape {A.shape}.")
        if not np.all(np.isfinite(A.data)):
            raise ValueError(f"{name} contains NaN or infinite values; all entries must be finite.")
        return A, dtype
    arr = check_array(A, name, ndim=2)
    dtype = arr.dtype
    return np.asarray(arr, dtype=np.float64), dtype


def _check_vector(v, name, size):
    check_host_input(v, name, "active_set_bcd")
    arr = check_array(v, name, ndim=1, min_size=0)
    check_shape(arr, (size,), name)
    return np.array(arr, dtype=np.float64, copy=True), arr.dtype


# --------------------------------------------------------------------------- solver
def active_set_bcd(
    A,
    b,
    lam,
    x0=None,
    *,
    positive=False,
    form="least_squares",
    precompute=False,
    block_size=None,
    update="prox_newton",
    selection="gsq",
    tol=1e-8,
    max_iter=1000,
    engine="auto",
    callback=None,
    history=True,
    random_state=None,
    verbose=False,
):
    """Greedy block coordinate descent for l1-regularised (or nonnegative) quadratics.

    Minimises ``0.5 ||A x - b||^2 + lam ||x||_1``, or with ``positive=True``
    ``0.5 ||A x - b||^2 + lam sum(x)`` subject to ``x >= 0`` (Nutini,
    Laradji and Schmidt, JMLR 2022, active-set part). Each iteration picks a
    variable block of ``block_size`` coordinates, updates it, and keeps the
    gradient current. Proximal-gradient updates identify the active manifold
    (the zero set and the signs of ``x``) after finitely many iterations;
    proximal-Newton and two-metric-projection updates then converge
    superlinearly -- in a few iterations here, since the smooth part is
    quadratic.

    Parameters
    ----------
    A : array of shape (m, n) or scipy.sparse matrix
        Design matrix. With ``form="quadratic"``, the symmetric positive
        semidefinite matrix ``Q`` of shape (n, n).
    b : array of shape (m,)
        Target. With ``form="quadratic"``, the linear term ``c`` (shape (n,))
        of ``f(x) = 0.5 x^T Q x - c^T x``.
    lam : float >= 0
        Weight of the l1 penalty.
    x0 : array of shape (n,), optional
        Starting point (zeros by default). With ``positive=True`` it is
        projected onto ``x >= 0``. Not modified.
    positive : bool
        Nonnegative variant (penalty ``lam sum(x)``, constraint ``x >= 0``).
    form : {"least_squares", "quadratic"}
        How ``(A, b)`` define the smooth part (see above).
    precompute : bool
        Least squares only: build the Gram matrix ``A^T A`` (``O(m n^2)``
        once, ``n^2`` memory) and keep the gradient by Gram columns,
        ``O(n |b|)`` per iteration instead of ``O(nnz(A))``.
    block_size : int in [1, n], optional
        Number of coordinates ``tau`` updated per iteration (default
        ``min(5, n)``).
    update : {"prox_newton", "two_metric", "prox_gradient"}
        Block update. ``"prox_gradient"``: proximal step with
        ``L_b = lambda_max(A_b^T A_b)``. ``"prox_newton"``: exact minimiser of
        the block quadratic model plus the l1 term (coordinate descent, then
        an exact solve on the identified sign pattern checked by the KKT
        conditions). ``"two_metric"``: two-metric projection -- Newton step on
        the block's free variables, diagonally scaled gradient step on those
        at or near zero, projection on the sign orthant and Armijo
        backtracking (proximal-gradient step as a fallback).
    selection : {"gsq", "gs", "random", "cyclic"}
        Block choice. ``"gsq"``: the ``tau`` coordinates whose proximal
        coordinate step ``d_i`` (curvature ``L_i = ||a_i||^2``) decreases the
        model ``g_i d + L_i d^2 / 2 + lam (|x_i + d| - |x_i|)`` most (the
        paper's GS-q rule). ``"gs"``: the ``tau`` largest entries of the
        minimum-norm subgradient. ``"random"``: uniform without replacement.
        ``"cyclic"``: consecutive index chunks.
    tol : float >= 0
        Stop when the optimality measure ``max_i |s_i|`` -- ``s`` the
        minimum-norm subgradient of the objective, zero exactly at a solution
        -- is at most ``tol * max(||grad f(0)||_inf, lam)``.
    max_iter : int
        Maximum number of block updates.
    engine : {"auto", "numba", "xp"}
        numba kernels for the O(n) scoring and the block coordinate descent,
        or their NumPy / plain-Python versions.
    callback : callable, optional
        ``callback(intermediate_result)`` after each iteration (fields ``x``,
        ``nit`` and the history values); raising ``StopIteration`` stops.
    history : bool
        Record per iteration ``objective``, ``residual`` (the optimality
        measure), ``support_size`` (nonzeros), ``active_set_size`` (zeros,
        i.e. active bounds) and ``manifold_changed`` (1 when the sign pattern
        changed at that iteration).
    random_state : int, Generator or None
        Seed of ``selection="random"``.
    verbose : bool or int
        Print progress every ``verbose`` iterations.

    Returns
    -------
    OptimizeResult
        ``x`` (input dtype), ``fun``, ``nit``, ``success``, ``status``,
        ``message``, ``residual`` (final optimality measure),
        ``manifold_iteration`` (the last iteration at which the sign pattern
        of ``x`` changed: the active manifold is constant from then on; 0 when
        it never changed), ``support`` (indices of the nonzeros) and
        ``history``. Every update decreases the objective, so the last
        iterate is also the best one. Warns ``ConvergenceWarning`` when
        ``max_iter`` is reached.

    Notes
    -----
    Runs on the host (NumPy arrays or SciPy sparse matrices) and computes in
    float64; ``x`` is returned in float32 when the inputs are float32. With
    ``form="least_squares"`` the residual ``r = A x - b`` is updated by
    ``A_b dx_b`` after each block change and the full gradient ``A^T r``
    recomputed (``O(nnz(A))``), as in the paper's experiments; with
    ``form="quadratic"`` or ``precompute=True`` the gradient is updated by
    the Gram columns ``Q[:, b] dx_b`` (``O(n tau)``). Both are recomputed from
    scratch every 100 iterations to bound round-off drift.
    """
    form = check_option(form, "form", FORMS)
    update = check_option(update, "update", UPDATES)
    selection = check_option(selection, "selection", SELECTIONS)
    lam = check_scalar(lam, "lam", lower=0.0)
    tol = check_scalar(tol, "tol", lower=0.0)
    max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=1)
    positive = bool(positive)

    A64, a_dtype = _check_matrix(A, "A")
    m, n = A64.shape
    if n == 0:
        raise ValueError("A must have at least one column, got shape (m, 0).")
    if form == "quadratic":
        if m != n:
            raise ValueError(f"A must be square (Q of shape (n, n)) with form='quadratic', got shape {(m, n)}.")
        b64, b_dtype = _check_vector(b, "b", n)
        if _is_sparse(A64):
            scale = float(abs(A64).max()) if A64.nnz else 0.0
            asym = abs(A64 - A64.T)
            asym = float(asym.max()) if asym.nnz else 0.0
        else:
            scale = float(np.max(np.abs(A64)))
            asym = float(np.max(np.abs(A64 - A64.T)))
        if asym > 1e-10 * scale:
            raise ValueError(f"A must be symmetric with form='quadratic'; max |A - A^T| = {asym:.3g}.")
        problem = _Quadratic(A64, b64)
    else:
        b64, b_dtype = _check_vector(b, "b", m)
        if precompute:
            At = A64.T
            Q = At @ A64
            Q = Q.toarray() if _is_sparse(Q) else np.ascontiguousarray(Q)
            problem = _Quadratic(Q, np.asarray(At @ b64).ravel(), const=0.5 * float(b64 @ b64))
        else:
            problem = _LeastSquares(A64, b64)
    if block_size is None:
        block_size = min(5, n)
    block_size = check_scalar(block_size, "block_size", kind=numbers.Integral, lower=1, upper=n)

    dtypes = [a_dtype, b_dtype]
    if x0 is None:
        x = np.zeros(n)
    else:
        x, x_dtype = _check_vector(x0, "x0", n)
        dtypes.append(x_dtype)
    out_dtype = np.float32 if all(np.dtype(d) == np.float32 for d in dtypes) else np.float64
    if positive:
        np.maximum(x, 0.0, out=x)

    L = problem.L
    if np.any(L < 0.0):
        raise ValueError("A must be positive semidefinite with form='quadratic' (negative diagonal entry).")
    flat = L <= 0.0
    if np.any(flat):
        # f does not depend on these coordinates (zero column): 0 is optimal for them.
        if form == "quadratic":
            c_flat = problem.c[flat]
            unbounded = np.any(c_flat > lam) if positive else np.any(np.abs(c_flat) > lam)
            if unbounded:
                raise ValueError("The problem is unbounded below: a zero row of Q meets |c_i| > lam.")
        x[flat] = 0.0

    kernels = _Kernels(use_numba(np, engine))
    rng = check_random_state(random_state) if selection == "random" else None
    rule = {"gsq": 0, "gs": 1}.get(selection, 2)
    update_block = _UPDATE_FUNCS[update]
    monitor = IterationMonitor(callback, history, verbose, name=f"active_set_bcd({update})")

    g = problem.start(x)
    scores = np.zeros(n)
    opt = kernels.scores(x, g, L, lam, positive, rule, scores)
    threshold = tol * max(problem.grad0_norm, lam)
    if threshold == 0.0:
        threshold = tol * 1e-300
    signs = np.sign(x).astype(np.int8)
    support_size = int(np.count_nonzero(x))
    penalty = _penalty(x)
    objective = problem.smooth_value(x, g) + lam * penalty
    manifold_iteration = 0
    status = STATUS_MAX_ITER
    it = 0
    if opt <= threshold:
        status = STATUS_CONVERGED
    else:
        for it in range(1, max_iter + 1):
            if rule == 2:
                if selection == "random":
                    block = rng.choice(n, block_size, replace=False)
                else:
                    start = ((it - 1) * block_size) % n
                    block = (start + np.arange(block_size)) % n
            elif block_size == n:
                block = np.arange(n)
            else:
                block = np.argpartition(-scores, block_size - 1)[:block_size]
            block = np.sort(block)

            cols = problem.columns(block)
            H = problem.block_hessian(block, cols)
            xb = x[block]
            y = update_block(xb, g[block], H, L[block], lam, positive, kernels)
            dx = y - xb
            changed = dx != 0.0
            manifold_changed = 0
            if np.any(changed):
                x[block] = y
                penalty += float(np.sum(np.abs(y)) - np.sum(np.abs(xb)))
                new_signs = np.sign(y).astype(np.int8)
                if np.any(new_signs != signs[block]):
                    manifold_changed = 1
                    manifold_iteration = it
                    support_size += int(np.count_nonzero(y) - np.count_nonzero(xb))
                    signs[block] = new_signs
                if it % _REFRESH_EVERY == 0:
                    g = problem.refresh(x)
                    penalty = _penalty(x)
                else:
                    g = problem.apply(block, cols[:, changed], dx[changed], g)
            opt = kernels.scores(x, g, L, lam, positive, rule, scores)
            objective = problem.smooth_value(x, g) + lam * penalty
            if not (math.isfinite(objective) and math.isfinite(opt)):
                status = STATUS_NUMERICAL
                break
            converged = opt <= threshold
            stop = monitor(
                it,
                x.copy() if callback is not None else x,
                objective=objective,
                residual=opt,
                support_size=support_size,
                active_set_size=n - support_size,
                manifold_changed=manifold_changed,
            )
            if converged or stop:
                status = STATUS_CONVERGED if converged else STATUS_CALLBACK
                break

    # final values from scratch (no drift)
    g = problem.refresh(x)
    opt = kernels.scores(x, g, L, lam, positive, 2, scores)
    objective = problem.smooth_value(x, g) + lam * _penalty(x)
    return make_result(
        x.astype(out_dtype),
        fun=objective,
        nit=it,
        status=status,
        monitor=monitor,
        solver=f"active_set_bcd({update})",
        residual=opt,
        manifold_iteration=manifold_iteration,
        support=np.flatnonzero(x),
    )
