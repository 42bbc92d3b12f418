"""Sinkhorn-Newton-Sparse (Tang et al., ICLR 2024): Sinkhorn warm-up, then sparse Newton.

Variables are the scaled potentials ``(u, v) = (x, y) / reg`` (POT's
``log_u``, ``log_v``), the plan is ``P_ij = exp(u_i + v_j - M_ij / reg)``. This
is the paper's plan ``exp(eta (-C_ij + x_i + y_j) - 1)`` with the constant
``-1`` absorbed into the potentials (``u = eta x - 1/2``, ``v = eta y - 1/2``),
so the plans and the maximiser are the same. The concave Lyapunov potential,
in these units, is::

    L(u, v) = a^T u + b^T v - sum_ij P_ij(u, v),

with gradient ``(a - P 1, b - P^T 1)`` and Hessian
``-[[diag(P 1), P], [P^T, diag(P^T 1)]]``.

Stage 1: ``n_sinkhorn`` log-domain Sinkhorn iterations (vectorised over a batch).
Stage 2: Newton steps ``H_s d = grad`` on the sparsified (negated) Hessian
``H_s = [[diag(r), S], [S^T, diag(c)]]`` -- exact diagonal ``r = P 1``,
``c = P^T 1``, ``S`` the largest entries of ``P`` -- solved by Jacobi-
preconditioned conjugate gradient (``H_s`` is diagonally dominant, hence
positive semidefinite; a relative ridge of 1e-10 fixes the gauge ``(1, -1)``),
then a backtracking (Armijo) line search on ``L``, evaluated from the plan at
the trial point. A Newton step whose line search fails is replaced by Sinkhorn
iterations. Stop when the L1 marginal error
``||P 1 - a||_1 + ||P^T 1 - b||_1 <= stopThr``.
"""

import math
import numbers
import time

import numpy as np

from .._backend import is_cupy_namespace, is_numpy_namespace
from .._result import (
    STATUS_CALLBACK,
    STATUS_CONVERGED,
    STATUS_MAX_ITER,
    IterationMonitor,
)
from .._validation import check_scalar
from ._sinkhorn import _finish, _limits, _Ops, _prepare, _sinkhorn_core

__all__ = ["sinkhorn_newton_sparse"]

_ARMIJO = 1e-4
_MAX_BACKTRACK = 30
_RIDGE = 1e-10
_DAMPING = 0.0
_STALL_STEP = 1.0 / 64  # accepted Newton steps shorter than this count as a stall
_STALL_RATE = 0.9  # ... and so do steps reducing the marginal error by less than 10 %
_DROP_MASS = 1e-4  # the kept entries hold all but this fraction of the plan's mass
_DEFAULT_SPARSITY = 2.0  # at least this many kept entries per row on average: the paper's lambda = 2 / n
_BINS_PER_UNIT = 4  # histogram of log P for the threshold: bins of width 1/4 (as the numba kernel)


def _native(xp):
    if is_cupy_namespace(xp):
        import cupy

        return cupy
    return np


def _sparse_module(xp):
    if is_cupy_namespace(xp):
        import cupyx.scipy.sparse as sp

        return sp
    import scipy.sparse as sp

    return sp


class _NewtonProblem:
    """One problem of the Newton stage (2-D arrays, zero-weight rows/columns removed)."""

    def __init__(self, xnp, ops, a, b, M, reg, stop_thr):
        self.xnp, self.ops = xnp, ops
        self.a, self.b, self.M = a, b, M[None, ...]
        self.inv_reg = 1.0 / reg
        n, m = M.shape
        self.n, self.m = n, m
        tiny = float(np.finfo(np.dtype(str(M.dtype).split(".")[-1])).tiny)
        # Entries below exp(cutoff) are dropped from the working plan: their
        # total is below n m exp(cutoff) <= 1e-3 stopThr (and never subnormal).
        floor = max(_limits(M.dtype, xnp)[1], math.log(tiny) + 20.0)
        target = 1e-3 * max(stop_thr, 1e-16) / (n * m)
        self.cutoff = max(floor, math.log(target)) if target > 0 else floor
        self.nbins = int(-self.cutoff * _BINS_PER_UNIT) + 8
        self.xlim = 0.5 * math.log(float(np.finfo(np.dtype(str(M.dtype).split(".")[-1])).max))
        if ops.numba:
            import numba

            self.nchunks = max(1, min(n, 4 * numba.get_num_threads()))

    def evaluate(self, u, v):
        """Plan (with cutoff), marginals, objective L and L1 marginal error at (u, v).

        A trial point whose largest log-entry ``max_ij(u_i + v_j - M_ij / reg)``
        exceeds ``self.xlim`` (half the log of the dtype's largest number) is
        rejected (objective -inf) before anything is exponentiated or summed:
        such a plan has entries ``> 1e150`` and cannot improve ``L``, and
        summing it would overflow (the ``overflow encountered in reduce`` of
        long line-search steps).
        """
        xnp = self.xnp
        hist = None
        if self.ops.numba:
            k = self.ops.k
            nch = self.nchunks
            P = np.empty((self.n, self.m), dtype=self.M.dtype)
            r = np.empty(self.n, dtype=np.float64)
            cpart = np.zeros((nch, self.m), dtype=np.float64)
            hc = np.zeros((nch, self.nbins), dtype=np.float64)
            hm = np.zeros((nch, self.nbins), dtype=np.float64)
            xm = np.full(nch, -np.inf)
            k.plan_stats(self.M[0], self.inv_reg, u, v, self.cutoff, self.cutoff, P, r, cpart, hc, hm, xm)
            if not float(xm.max()) <= self.xlim:
                return self._rejected(u, v)
            c = cpart.sum(axis=0)
            r, c = r.astype(P.dtype, copy=False), c.astype(P.dtype, copy=False)
            hist = (hc.sum(axis=0), hm.sum(axis=0))
        else:
            x = u[:, None] + v[None, :] - self.M[0] * self.inv_reg
            if not float(xnp.max(x)) <= self.xlim:
                return self._rejected(u, v)
            keep = x > self.cutoff
            P = xnp.where(keep, xnp.exp(x), xnp.zeros_like(x))
            r = xnp.sum(P, axis=1)
            c = xnp.sum(P, axis=0)
            del x, keep
        total = float(xnp.sum(r))
        obj = float(xnp.dot(self.a, u) + xnp.dot(self.b, v)) - total
        err = float(xnp.sum(xnp.abs(r - self.a)) + xnp.sum(xnp.abs(c - self.b)))
        if not (math.isfinite(obj) and math.isfinite(err)):
            return self._rejected(u, v)
        return dict(P=P, r=r, c=c, obj=obj, err=err, u=u, v=v, hist=hist, total=total)

    @staticmethod
    def _rejected(u, v):
        return dict(P=None, r=None, c=None, obj=-math.inf, err=math.inf, u=u, v=v, hist=None, total=math.inf)

    def _histogram(self, P):
        """(count, mass) histogram of log P over the bins of ``plan_stats`` (array-API path)."""
        xnp = self.xnp
        flat = xnp.reshape(P, (-1,))
        vals = flat[flat > 0]
        bins = xnp.clip(((xnp.log(vals) - self.cutoff) * _BINS_PER_UNIT).astype(xnp.int64), 0, self.nbins - 1)
        cnt = xnp.bincount(bins, minlength=self.nbins).astype(xnp.float64)
        mass = xnp.bincount(bins, weights=vals.astype(xnp.float64), minlength=self.nbins)
        return cnt, mass

    def sparsify(self, state, k, drop):
        """The largest entries of ``P`` as a CSR matrix (a global threshold by value).

        The threshold is the largest bin edge of the histogram of ``log P``
        (bins of width 1/4) keeping at least ``k`` entries *and* all but a
        fraction ``drop`` of the plan's mass: the Newton rate degrades with
        the dropped mass (the slow modes of the Hessian are sensitive to
        it), far more than with the count of kept entries.
        """
        xnp = self.xnp
        P = state["P"]
        cnt, mass = state["hist"] if state["hist"] is not None else self._histogram(P)
        cnt, mass = np.asarray(cnt, dtype=np.float64), np.asarray(mass, dtype=np.float64)
        above = np.cumsum(cnt[::-1])[::-1]  # entries in bins >= b
        below = np.concatenate([[0.0], np.cumsum(mass)[:-1]])  # mass in bins < b
        ok_k = np.nonzero(above >= k)[0]
        b_k = int(ok_k[-1]) if ok_k.size else 0
        ok_m = np.nonzero(below <= drop * float(mass.sum()))[0]
        b_m = int(ok_m[-1]) if ok_m.size else 0
        b = min(b_k, b_m)
        thr = math.exp(self.cutoff + b / _BINS_PER_UNIT) if b > 0 else 0.0
        sp = _sparse_module(xnp)
        if self.ops.numba and thr > 0:
            indptr, indices, data = self.ops.k.select_csr(P, thr)
            return sp.csr_matrix((data, indices, indptr), shape=(self.n, self.m))
        keep = P >= thr if thr > 0 else P > 0
        rows, cols = xnp.nonzero(keep)
        return sp.csr_matrix((P[rows, cols], (rows, cols)), shape=(self.n, self.m))

    def newton_direction(self, state, S, rtol, maxiter):
        """Jacobi-preconditioned CG on ``H_s d = grad``; returns (du, dv, cg_iterations)."""
        xnp = self.xnp
        r, c = state["r"], state["c"]
        # Levenberg-Marquardt-type damping proportional to the marginal error
        # (a relative ridge mu = err on the diagonal), plus a tiny absolute
        # ridge fixing the gauge: quadratic convergence is kept near the
        # solution, far from it the steps stay bounded when the graph of the
        # kept entries is poorly connected.
        mu = _DAMPING * min(1.0, state["err"])
        ridge = _RIDGE * float(xnp.max(r) + xnp.max(c))
        dr, dc = r * (1.0 + mu) + ridge, c * (1.0 + mu) + ridge
        St = S.T.tocsr()
        g = xnp.concatenate([self.a - r, self.b - c])
        n = self.n

        def matvec(d):
            du, dv = d[:n], d[n:]
            return xnp.concatenate([dr * du + S @ dv, St @ du + dc * dv])

        inv_diag = 1.0 / xnp.concatenate([dr, dc])
        x = xnp.zeros_like(g)
        res = g.copy()
        z = inv_diag * res
        p = z.copy()
        rz = float(xnp.dot(res, z))
        gnorm = float(xnp.linalg.norm(g))
        it = 0
        for it in range(1, maxiter + 1):
            q = matvec(p)
            pq = float(xnp.dot(p, q))
            if not pq > 0:
                break
            alpha = rz / pq
            x += alpha * p
            res -= alpha * q
            if float(xnp.linalg.norm(res)) <= rtol * gnorm:
                break
            z = inv_diag * res
            rz_new = float(xnp.dot(res, z))
            p = z + (rz_new / rz) * p
            rz = rz_new
        return x[:n], x[n:], float(xnp.dot(g, x)), it


def _kept_entries(sparsity, n, m):
    lam = _DEFAULT_SPARSITY / min(n, m) if sparsity is None else sparsity
    return max(1, int(math.ceil(min(lam, 1.0) * n * m)))


def _newton_stage(xp, xnp, ops, a, b, M, reg, lu, lv, *, num_iter, stop_thr, sparsity, cg_rtol, n_fallback, monitor, errs, t0):
    """Newton iterations on one problem; returns (lu, lv, err, n_newton, n_sinkhorn_extra, status)."""
    keep_a, keep_b = a > 0, b > 0
    full = bool(xnp.all(keep_a)) and bool(xnp.all(keep_b))
    if not full:
        ia, ib = xnp.nonzero(keep_a)[0], xnp.nonzero(keep_b)[0]
        a_r, b_r, M_r = a[ia], b[ib], M[ia][:, ib]
        u, v = lu[ia], lv[ib]
    else:
        a_r, b_r, M_r, u, v = a, b, M, lu, lv
    if ops.numba:
        M_r = np.ascontiguousarray(M_r)
    prob = _NewtonProblem(xnp, ops, a_r, b_r, M_r, reg, stop_thr)
    k = _kept_entries(sparsity, prob.n, prob.m)
    state = prob.evaluate(u, v)
    n_newton = n_extra = stalls = slow_full = 0
    drop = _DROP_MASS
    status = STATUS_MAX_ITER
    it = 0
    while it < num_iter:
        if state["err"] <= stop_thr:
            status = STATUS_CONVERGED
            break
        it += 1
        S = prob.sparsify(state, k, drop)
        # inexact Newton (forcing term sqrt of the gradient's L1 norm, at most 0.1)
        rtol = cg_rtol if cg_rtol is not None else min(0.1, math.sqrt(state["err"]))
        du, dv, gd, cg_it = prob.newton_direction(state, S, rtol, maxiter=max(50, 2 * (prob.n + prob.m)))
        accepted = None
        t = 0.0
        if gd > 0:
            t = 1.0
            noise = 1e-13 * (abs(float(xnp.dot(a_r, state["u"]))) + abs(float(xnp.dot(b_r, state["v"]))) + 1.0)
            for _ in range(_MAX_BACKTRACK):
                trial = prob.evaluate(state["u"] + t * du, state["v"] + t * dv)
                gain = trial["obj"] - state["obj"]
                if gain >= _ARMIJO * t * gd or (
                    _ARMIJO * t * gd <= noise and gain >= -noise and trial["err"] < state["err"]
                ):
                    accepted = trial
                    break
                t *= 0.5
        slow = accepted is not None and accepted["err"] > _STALL_RATE * state["err"]
        if slow and t == 1.0:
            # Full Newton steps that do not reduce the marginal error: the
            # first step from the warm-up often does not (the objective rises
            # nonetheless); two in a row mean that the sparsified Hessian is
            # too poor an approximation: keep more entries from now on.
            slow_full += 1
            slow = False
            if slow_full >= 2:
                drop, k, slow_full = drop / 10.0, min(2 * k, prob.n * prob.m), 0
        else:
            slow_full = 0
        if accepted is not None:
            state = accepted
            n_newton += 1
            kind = 1.0
        if accepted is None or t < _STALL_STEP or slow:
            # Newton stalled (no step, or a tiny one: far from the region of
            # fast convergence): Sinkhorn steps from the current potentials,
            # doubling their number while stalls follow each other.
            block = n_fallback * 2 ** min(stalls, 12)
            stalls += 1
            lu3, lv3, _, nit, _ = _sinkhorn_core(
                xp, a_r[None, :], b_r[None, :], prob.M, reg, num_iter=block, stop_thr=stop_thr,
                log_u=state["u"][None, :], log_v=state["v"][None, :], ops=ops,
            )
            n_extra += int(nit[0])
            state = prob.evaluate(lu3[0], lv3[0])
            kind = 0.0
        else:
            stalls = 0
        errs.append(state["err"])
        if monitor(it, (state["u"], state["v"]) if monitor.callback else None,
                   marginal_error=state["err"], newton_step=kind, cg_iterations=cg_it, objective=state["obj"],
                   step_size=t, kept=S.nnz):
            status = STATUS_CALLBACK
            break
    else:
        if state["err"] <= stop_thr:
            status = STATUS_CONVERGED
    u, v = state["u"], state["v"]
    if not full:
        lu = xnp.full_like(a, -math.inf)
        lv = xnp.full_like(b, -math.inf)
        lu[ia] = u
        lv[ib] = v
    else:
        lu, lv = u, v
    return lu, lv, state["err"], n_newton, n_extra, status


def sinkhorn_newton_sparse(
    a,
    b,
    M,
    reg,
    *,
    numItermax=100,
    stopThr=1e-9,
    n_sinkhorn=20,
    sparsity=None,
    cg_rtol=None,
    log=False,
    callback=None,
    verbose=False,
    engine="auto",
):
    r"""Entropic optimal transport by Sinkhorn-Newton-Sparse (SNS).

    Solves the problem of :func:`sinkhorn_log` (POT's ``ot.sinkhorn``) in two
    stages (Tang et al., "Accelerating Sinkhorn Algorithm with Sparse Newton
    Iterations", ICLR 2024): ``n_sinkhorn`` log-domain Sinkhorn iterations,
    then Newton iterations on the dual (Lyapunov) potential with a sparsified
    Hessian, which converge in a few tens of steps where Sinkhorn needs
    thousands at small ``reg``.

    Parameters
    ----------
    a : array of shape (n,) or (B, n)
        Source histogram (nonnegative). Empty means uniform.
    b : array of shape (m,) or (B, m)
        Target histogram with the same mass. Empty means uniform.
    M : array of shape (n, m) or (B, n, m)
        Cost matrix; a leading batch dimension solves ``B`` problems.
    reg : float
        Entropic regularisation, > 0.
    numItermax : int
        Maximum number of Newton iterations (per problem).
    stopThr : float
        Stop when ``||P 1 - a||_1 + ||P^T 1 - b||_1 <= stopThr`` (raised to
        50 machine epsilons of the dtype, about 6e-6 in float32).
    n_sinkhorn : int
        Sinkhorn warm-up iterations (stage 1; the paper's N1 = 20). The
        warm-up stops early if it already reaches ``stopThr``.
    sparsity : float in (0, 1], optional
        Minimum kept fraction ``lambda`` of the entries of the plan in the
        Hessian (default the paper's ``2 / min(n, m)``). The kept set is the
        entries above a global threshold by value, chosen from a histogram of
        ``log P`` so that at least ``ceil(lambda n m)`` entries are kept *and*
        the dropped entries hold at most 1e-4 of the plan's mass (about 100
        entries per row at n = 2000, reg = 1e-3): the Newton rate is governed
        by the dropped mass -- holding 95 % of it gave a linear rate of 0.7
        (49 Newton steps) there, 1e-4 gives 7 steps. Two full Newton steps in
        a row that do not reduce the marginal error by 10 % tighten the
        dropped mass (x 0.1) and double the minimum count.
    cg_rtol : float, optional
        Relative residual at which conjugate gradient stops (Jacobi
        preconditioner; at most ``2 (n + m)`` CG iterations). Default:
        inexact Newton, ``min(0.1, sqrt(err))`` with ``err`` the current L1
        marginal error (the gradient's L1 norm).
    log : bool
        Also return a dict of diagnostics.
    callback : callable, optional
        ``callback(intermediate_result)`` after each Newton iteration (``x =
        (log_u, log_v)``, ``marginal_error``); raising ``StopIteration`` stops.
    verbose : bool or int
        Print progress every ``verbose`` Newton iterations.
    engine : {"auto", "numba", "xp"}
        Kernels of the Sinkhorn warm-up and of the plan evaluations (see
        :func:`sinkhorn_log`).

    Returns
    -------
    G : array of shape (n, m) or (B, n, m)
        Transport plan (namespace, device and dtype of the inputs).
    log : dict
        Only when ``log=True``: ``niter`` (Newton iterations), ``niter_sinkhorn``
        (warm-up plus fallback Sinkhorn iterations), ``niter_newton``,
        ``err`` (L1 marginal error after each Sinkhorn warm-up iteration --
        column marginal only -- then after each Newton iteration -- both
        marginals), ``log_u``, ``log_v``, ``u``, ``v``, and ``result``: an
        :class:`~optlib.OptimizeResult` (``x`` = ``plan``, ``fun`` the cost
        ``<P, M>``, ``success``, ``status``, ``marginal_error`` and
        ``history`` with marginal error, CG iterations and time per Newton
        iteration). Batched: ``niter_*`` are arrays (B,) and ``err`` a list
        per problem.

    Raises
    ------
    TypeError
        For arrays other than NumPy (CPU, scipy.sparse) and CuPy (GPU,
        cupyx.scipy.sparse); use :func:`sinkhorn_log` for other namespaces.

    Warns
    -----
    ConvergenceWarning
        When ``numItermax`` Newton iterations do not reach ``stopThr``.

    Notes
    -----
    The Newton stage of a batch runs problem by problem (the Sinkhorn warm-up
    is vectorised over the batch). Sparse linear algebra and the top-k
    selection run on the device of the inputs. Inputs are never modified.
    """
    if not is_numpy_namespace(_ns_of(a, b, M)) and not is_cupy_namespace(_ns_of(a, b, M)):
        raise TypeError(
            "sinkhorn_newton_sparse supports NumPy and CuPy arrays only (its Newton stage needs "
            "scipy.sparse / cupyx.scipy.sparse); use sinkhorn_log for other array libraries."
        )
    xp, a3, b3, M3, reg, num_iter, stop_thr, numba, batched = _prepare(a, b, M, reg, numItermax, stopThr, engine)
    n_sinkhorn = check_scalar(n_sinkhorn, "n_sinkhorn", kind=numbers.Integral, lower=0)
    if sparsity is not None:
        sparsity = check_scalar(sparsity, "sparsity", lower=0.0, upper=1.0, lower_inclusive=False)
    if cg_rtol is not None:
        cg_rtol = check_scalar(cg_rtol, "cg_rtol", lower=0.0, upper=1.0, lower_inclusive=False)
    xnp = _native(xp)
    a3, b3, M3 = xnp.asarray(a3), xnp.asarray(b3), xnp.asarray(M3)
    ops = _Ops(xp, numba)
    monitor = IterationMonitor(callback, True, verbose, name="sinkhorn_newton_sparse")
    B = M3.shape[0]
    t0 = time.perf_counter()

    lu = xnp.zeros_like(a3)
    lv = xnp.zeros_like(b3)
    warm_errs = []
    nit_sk = xnp.zeros((B,), dtype=xnp.int64)
    if n_sinkhorn > 0:
        lu, lv, _, nit_sk, _ = _sinkhorn_core(
            xp, a3, b3, M3, reg, num_iter=n_sinkhorn, stop_thr=stop_thr, log_u=lu, log_v=lv, ops=ops, err_log=warm_errs
        )
    nit_sk = [int(x) for x in nit_sk]
    errs = [[] for _ in range(B)]
    for e in warm_errs:
        for i in range(B):
            errs[i].append(float(e) if B == 1 else float(e[i]))
    out_u, out_v, err, nit_newton, status = [], [], [], [], STATUS_CONVERGED
    for i in range(B):
        u, v, e, nn, extra, st = _newton_stage(
            xp, xnp, ops, a3[i], b3[i], M3[i], reg, lu[i], lv[i], num_iter=num_iter, stop_thr=stop_thr,
            sparsity=sparsity, cg_rtol=cg_rtol, n_fallback=max(n_sinkhorn, 10), monitor=monitor, errs=errs[i], t0=t0,
        )
        out_u.append(u)
        out_v.append(v)
        err.append(e)
        nit_newton.append(nn)
        nit_sk[i] += extra
        if st != STATUS_CONVERGED and status != STATUS_CALLBACK:
            status = st
    log_u, log_v = xnp.stack(out_u), xnp.stack(out_v)
    err = xnp.asarray(err, dtype=M3.dtype)
    niter = xnp.asarray(nit_newton, dtype=xnp.int64)
    res = _finish(
        xp, ops, a3, b3, M3, reg, log_u, log_v, err, niter, status, monitor,
        errs[0] if not batched else errs, batched, True, "sinkhorn_newton_sparse",
    )
    P, info = res
    info["niter_newton"] = nit_newton[0] if not batched else np.asarray(nit_newton)
    info["niter_sinkhorn"] = nit_sk[0] if not batched else np.asarray(nit_sk)
    info["result"]["niter_newton"] = info["niter_newton"]
    info["result"]["niter_sinkhorn"] = info["niter_sinkhorn"]
    if not batched:
        # the marginal error of the plan actually returned (exact exponentials, both marginals)
        info["result"]["marginal_error"] = float(
            xnp.sum(xnp.abs(xnp.sum(P, axis=1) - a3[0])) + xnp.sum(xnp.abs(xnp.sum(P, axis=0) - b3[0]))
        )
    return (P, info) if log else P


def _ns_of(*arrays):
    from .._backend import get_namespace

    arrays = [x for x in arrays if hasattr(x, "__array_namespace__") or hasattr(x, "__cuda_array_interface__")]
    return get_namespace(*arrays) if arrays else get_namespace()
