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
preconditioned conjugate gradient on its Schur complement (one potential
eliminated; ``H_s`` is diagonally dominant, hence positive semidefinite; a
relative ridge of 1e-10 fixes the gauge ``(1, -1)``; a Levenberg-Marquardt
damping is added after steps that needed backtracking), then a backtracking
(Armijo) line search on ``L``. A Newton step whose line
search fails is replaced by Sinkhorn iterations (within a budget). Stop when the L1 marginal
error ``||P 1 - a||_1 + ||P^T 1 - b||_1 <= stopThr``.

Cost of a Newton iteration. The plan is kept in factored form
``P = diag(e^lsu) K diag(e^lsv)`` around a kernel ``K`` frozen at the last
absorption (as in the stabilised Sinkhorn steps), so a line-search trial costs
two matrix-vector products with ``K`` instead of ``n m`` exponentials, and the
sparsified Hessian is the pattern selected at the absorption with rescaled
values. When the kept set exceeds a quarter of the entries (large ``reg``),
the Hessian is the whole plan (exact Newton, dense BLAS products). After the
warm-up, Sinkhorn continues instead of Newton when its observed linear rate
predicts convergence within ``_SWITCH_ITERS`` iterations (large ``reg``).

Exponential passes. The warm-up hands its stabilised state (kernel and
scalings) to the Newton stage; when the Hessian is dense, the kernel is
rebased in place into the plan (products, no exponentials), and the returned
plan is formed from the factored plan of the last state. At moderate ``reg``
(cost range over ``reg`` at most 480) a whole solve then computes ``n m``
exponentials once (the cold-start kernel), plus a sample of 64 rows.

Small ``reg``: ``reg_init="auto"`` solves a continuation ``reg_k = reg_init
reg_decay^k`` down to ``reg`` (epsilon scaling), each stage warm-started from
the previous potentials ``f = reg * log_u`` and solved to ``_STAGE_THR``,
when ``reg`` is at least 5 times below ``1e-3`` times the cost's range.
"""

import contextlib
import math
import numbers
import time

import numpy as np

from .._backend import is_cupy_namespace, is_numpy_namespace, to_host
from .._result import (
    STATUS_CALLBACK,
    STATUS_CONVERGED,
    STATUS_MAX_ITER,
    IterationMonitor,
)
from .._validation import check_scalar
from ._sinkhorn import (
    _POT_ARGS_DOC,
    _check_warmstart,
    _finish,
    _limits,
    _Ops,
    _pot_front,
    _prepare,
    _sinkhorn_core,
)

__all__ = ["sinkhorn_newton_sparse", "sinkhorn_newton_sparse2"]

_ARMIJO = 1e-4
_MAX_BACKTRACK = 30
_RIDGE = 1e-10
_STALL_STEP = 1.0 / 64  # accepted Newton steps shorter than this count as a stall
_STALL_WINDOW = 3  # Newton steps that must halve the marginal error (else: keep more entries)
_STALL_RATE = 0.9  # ... and so do steps reducing the marginal error by less than 10 %
_DROP_MASS = 1e-4  # the kept entries hold all but this fraction of the plan's mass
_DEFAULT_SPARSITY = 2.0  # at least this many kept entries per row on average: the paper's lambda = 2 / n
_TAU_N = 8.0  # Newton-stage scalings stay within exp(+-_TAU_N) of the frozen kernel (else: re-absorb)
_RESELECT = 1.0  # re-absorb (fresh plan, fresh sparsity pattern) when max|log su| + max|log sv| exceeds this
_SWITCH_ITERS = 30  # keep doing Sinkhorn when it is predicted to finish within this many iterations
_AUTO_REG_INIT = 1e-3  # reg_init="auto": continuation from this fraction of the cost's range
_STAGE_THR = 1e-4  # marginal error at which an intermediate stage of the reg continuation stops
_MIXED_MIN = 250_000  # dense kernels from this many entries get a float32 copy for CG
_DENSE = 0.25  # kept fraction of the entries above which the Hessian uses the (exact) dense plan
_SCHUR_FLOOR = 1e-3  # Jacobi preconditioner of the Schur complement: its diagonal, at least this times D_r
_SAMPLE_ROWS = 64  # rows of the plan sampled to decide a dense Hessian from the warm-up kernel
_BINS_PER_UNIT = 4  # histogram of log P for the threshold: bins of width 1/4 (as the numba kernel)
_NOISE_ULPS = 10.0  # line search: gains below this many eps x sqrt(n + m) of the plan's mass are rounding noise
_LM_RELAX = 0.1  # Levenberg-Marquardt damping after a full Newton step: x 0.1 ...
_LM_OFF = 1e-9  # ... and 0 once below this
_LM_FAIL = 100.0  # after a failed line search: x 100 ...
_LM_MIN_FAIL = 1e-6  # ... and at least this
_CG_CHECK = 4  # on a device, CG reads its stopping test back every this many iterations
_MAX_SPAN_RATIO = 1e10  # range(M) / reg above which float64 potentials cannot resolve the plan (ValueError)


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
    """One problem of the Newton stage (2-D arrays, zero-weight rows/columns removed).

    The plan is kept in factored form, as in the stabilised Sinkhorn steps:
    a kernel ``K = P(u0, v0)`` frozen at the last *absorption* (one pass of
    exponentials over the ``n m`` entries) and log-scalings ``(lsu, lsv) = (u
    - u0, v - v0)``, so that ``P(u, v) = diag(e^lsu) K diag(e^lsv)``. The
    marginals, the objective and the marginal error at a trial point then cost
    two matrix-vector products with ``K`` (BLAS) instead of ``n m``
    exponentials, and the sparsified Hessian is the sparsity pattern selected
    at the absorption with its values rescaled (``O(nnz)``). A trial point
    whose scalings leave ``exp(+-_TAU_N)`` is evaluated exactly, and becomes
    the new kernel if accepted.
    """

    def __init__(self, xnp, ops, a, b, M, reg, stop_thr):
        self.xnp, self.ops = xnp, ops
        # Histograms and the Sinkhorn fallback use the input dtype; the
        # potentials, marginals and Newton vectors are float64 (see the notes).
        self.a_in, self.b_in, self.M = a, b, M[None, ...]
        self.a, self.b = a.astype(xnp.float64), b.astype(xnp.float64)
        self.inv_reg = 1.0 / reg
        n, m = M.shape
        self.n, self.m = n, m
        fi = np.finfo(np.dtype(str(M.dtype).split(".")[-1]))
        tiny = float(fi.tiny)
        self.eps = float(fi.eps)
        # Entries below exp(cutoff) are dropped from the kernel: even scaled
        # by exp(2 _TAU_N), their total is below n m exp(cutoff + 2 _TAU_N)
        # <= 1e-3 stopThr, and no product of an entry and a scaling is subnormal.
        floor = max(_limits(M.dtype, xnp)[1], math.log(tiny) + 20.0 + 2 * _TAU_N)
        target = 1e-3 * max(stop_thr, 1e-16) / (n * m)
        self.cutoff = max(floor, math.log(target) - 2 * _TAU_N) if target > 0 else floor
        self.nbins = int(-self.cutoff * _BINS_PER_UNIT) + 8
        self.xlim = 0.5 * math.log(float(fi.max))
        if ops.numba:
            import numba

            self.nchunks = max(1, min(n, 4 * numba.get_num_threads()))
        self.K = None
        self.n_absorb = 0
        self.dense_kernel = False

    # -- evaluations ---------------------------------------------------------
    def evaluate(self, u, v):
        """Exact evaluation at (u, v): a fresh kernel (plan with cutoff), marginals, objective, error.

        A trial point whose largest log-entry ``max_ij(u_i + v_j - M_ij / reg)``
        exceeds ``self.xlim`` (half the log of the dtype's largest number) is
        rejected (objective -inf) before anything is exponentiated or summed:
        such a plan has entries ``> 1e150`` and cannot improve ``L``, and
        summing it would overflow. The returned state carries its kernel;
        :meth:`accept` makes it the current one.
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
            hist = (hc.sum(axis=0), hm.sum(axis=0))
        else:
            x = u[:, None] + v[None, :] - self.M[0] * self.inv_reg  # float64, as u and v
            if not float(xnp.max(x)) <= self.xlim:
                return self._rejected(u, v)
            keep = x > self.cutoff
            P = xnp.where(keep, xnp.exp(x), xnp.zeros_like(x)).astype(self.M.dtype, copy=False)
            del x, keep
            r, c = _sums(xnp, P)
        st = self._summary(u, v, r, c)
        if st is None:
            return self._rejected(u, v)
        st.update(P=P, hist=hist, lsu=None, lsv=None)
        return st

    def scaled(self, u, v):
        """Evaluation at (u, v) through the frozen kernel (two matvecs); ``None`` if out of range.

        The range test of the scalings is read back with the summary (one
        device synchronisation): the scalings are clipped to the range
        before exponentiating, so an out-of-range trial computes nothing
        that overflows, and is then discarded.
        """
        xnp = self.xnp
        lsu, lsv = u - self.u0, v - self.v0
        mu, mv = xnp.max(xnp.abs(lsu)), xnp.max(xnp.abs(lsv))
        eu = xnp.exp(xnp.clip(lsu, -_TAU_N, _TAU_N))
        ev = xnp.exp(xnp.clip(lsv, -_TAU_N, _TAU_N))
        ct = self.K.dtype
        r = eu * (self.K @ ev.astype(ct, copy=False))
        c = ev * (eu.astype(ct, copy=False) @ self.K)
        st = self._summary(u, v, r, c, (mu, mv))
        if st is None or not max(st["spread"]) <= _TAU_N:
            return None
        st.update(P=None, hist=None, lsu=lsu, lsv=lsv, eu=eu, ev=ev)
        return st

    def trial(self, u, v):
        st = self.scaled(u, v) if self.K is not None else None
        return st if st is not None else self.evaluate(u, v)

    def _summary(self, u, v, r, c, spread=(0.0, 0.0)):
        """Scalars of a state, read back from the device at once.

        ``total = sum(P)``, ``lin = a.u + b.v`` (float64 dot products: in
        float32 their rounding would exceed the line search's gains), the
        objective ``lin - total``, the L1 marginal error and ``spread``
        (max |log-scalings| on each side, see :meth:`scaled`).
        """
        xnp = self.xnp
        vals = xnp.stack([
            xnp.sum(r), xnp.dot(self.a, u) + xnp.dot(self.b, v),
            xnp.sum(xnp.abs(r - self.a)) + xnp.sum(xnp.abs(c - self.b)), *(xnp.asarray(x) for x in spread),
        ]).tolist()
        total, lin, err = vals[:3]
        obj = lin - total
        if not (math.isfinite(obj) and math.isfinite(err)):
            return None
        return dict(r=r, c=c, obj=obj, err=err, u=u, v=v, total=total, lin=lin, spread=vals[3:])

    @staticmethod
    def _rejected(u, v):
        return dict(P=None, r=None, c=None, obj=-math.inf, err=math.inf, u=u, v=v, hist=None, total=math.inf,
                    lin=math.inf, lsu=None, lsv=None, spread=[0.0, 0.0])

    def accept(self, st):
        """Make an exactly evaluated state the frozen kernel (an absorption)."""
        if st["P"] is not None:
            self.K, self.u0, self.v0, self.hist = st["P"], st["u"], st["v"], st["hist"]
            self.S0 = None
            self.n_absorb += 1
            xnp = self.xnp
            st["lsu"], st["lsv"] = xnp.zeros_like(st["u"]), xnp.zeros_like(st["v"])
            st["eu"], st["ev"] = xnp.ones_like(st["u"]), xnp.ones_like(st["v"])
            st["P"], st["spread"] = None, [0.0, 0.0]
        return st

    # -- sparsified Hessian --------------------------------------------------
    def _histogram(self, P):
        """(count, mass) histogram of log P over the bins of ``plan_stats`` (array-API path)."""
        xnp = self.xnp
        flat = xnp.reshape(P, (-1,))
        vals = flat[flat > 0]
        bins = xnp.clip(((xnp.log(vals) - self.cutoff) * _BINS_PER_UNIT).astype(xnp.int64), 0, self.nbins - 1)
        cnt = xnp.bincount(bins, minlength=self.nbins).astype(xnp.float64)
        mass = xnp.bincount(bins, weights=vals.astype(xnp.float64), minlength=self.nbins)
        return cnt, mass

    def select(self, k, drop):
        """Pattern of the largest entries of the kernel (a global threshold by value).

        The threshold is the largest bin edge of the histogram of ``log K``
        (bins of width 1/4) keeping at least ``k`` entries *and* all but a
        fraction ``drop`` of the plan's mass: the Newton rate degrades with
        the dropped mass (the slow modes of the Hessian are sensitive to
        it), far more than with the count of kept entries. When the kept
        set is more than ``_DENSE`` of all entries, the Hessian uses the
        whole (dense) kernel: exact Newton, and dense matrix-vector products
        are then as fast as sparse ones.
        """
        xnp = self.xnp
        K = self.K
        if self.hist is None and self.dense_kernel:
            # The kernel was rebased from the warm-up's and judged dense (see
            # from_kernel); keeping more entries (smaller drop, larger k)
            # keeps it dense.
            self.S0 = "dense"
            return
        cnt, mass = self.hist if self.hist is not None else self._histogram(K)
        b, kept = _threshold_bin(xnp, cnt, mass, k, drop)
        if kept > _DENSE * self.n * self.m:
            self.S0 = "dense"
            # Mixed precision: CG only needs the relative residual
            # min(0.1, sqrt(err)) >= 3e-5 (inexact Newton), far above float32
            # rounding, and its matrix-vector products are memory-bound:
            # a float32 copy of the kernel halves their cost. The gradient,
            # the line search and the plan stay in float64.
            self.K_cg = K.astype(xnp.float32) if self._mixed(K) else K
            return
        thr = math.exp(self.cutoff + b / _BINS_PER_UNIT) if b > 0 else 0.0
        sp = _sparse_module(xnp)
        if self.ops.numba and thr > 0:
            indptr, indices, data = self.ops.k.select_csr(K, thr)
            S = sp.csr_matrix((data, indices, indptr), shape=(self.n, self.m))
        else:
            keep = K >= thr if thr > 0 else K > 0
            rows, cols = xnp.nonzero(keep)
            S = sp.csr_matrix((K[rows, cols], (rows, cols)), shape=(self.n, self.m))
        self.S0 = S
        self.S0_data = S.data.copy()
        self.S0_rows = S.tocoo().row  # row index of each stored entry (CSR order)
        self.S = S

    def _mixed(self, K):
        return K.dtype == self.xnp.float64 and K.size >= _MIXED_MIN

    def from_kernel(self, K, su, sv, u, v, k, drop):
        """Start the Newton stage from the warm-up's stabilised state, without exponentials.

        ``K`` is the Sinkhorn kernel frozen at its last absorption (potentials
        ``u - log su``, ``v - log sv``) and ``su``, ``sv`` its scalings, so
        the current plan is ``diag(su) K diag(sv)``. Whether the Hessian
        will be dense (the rule of :meth:`select`) is decided on the
        histogram of ``log P`` over a sample of rows (exact exponentials on
        those rows only). If dense, ``K`` is overwritten in place by the plan
        (one pass of products, with the row and column sums and the float32
        copy for CG), which becomes the Newton stage's kernel: the same
        state as :meth:`evaluate` gives, at the cost of a pass of products
        instead of a pass of exponentials. Otherwise (sparse Hessian, small
        ``reg``), or if anything is not finite, returns ``None`` and the
        caller evaluates exactly.
        """
        xnp = self.xnp
        n, m = self.n, self.m
        ns = min(n, _SAMPLE_ROWS)
        idx = xnp.unique(xnp.linspace(0, n - 1, ns).astype(xnp.int64))
        ns = int(idx.shape[0])
        Ms = self.M[0][idx]
        if self.ops.numba:
            Ms = np.ascontiguousarray(Ms)
            P = np.empty((ns, m), dtype=Ms.dtype)
            r = np.empty(ns, dtype=np.float64)
            cpart = np.zeros((1, m), dtype=np.float64)
            hc = np.zeros((1, self.nbins), dtype=np.float64)
            hm = np.zeros((1, self.nbins), dtype=np.float64)
            xm = np.full(1, -np.inf)
            self.ops.k.plan_stats(Ms, self.inv_reg, u[idx], v, self.cutoff, self.cutoff, P, r, cpart, hc, hm, xm)
            if not float(xm.max()) <= self.xlim:
                return None
            cnt, mass = hc[0], hm[0]
        else:
            x = u[idx][:, None] + v[None, :] - Ms * self.inv_reg
            if not float(xnp.max(x)) <= self.xlim:
                return None
            cnt, mass = self._histogram(xnp.where(x > self.cutoff, xnp.exp(x), xnp.zeros_like(x)))
        _, kept = _threshold_bin(xnp, cnt * (n / ns), mass, k, drop)
        if not kept > _DENSE * n * m:
            return None
        thr = math.exp(self.cutoff)
        mixed = self._mixed(K)
        if self.ops.numba:
            K32 = np.empty((n, m) if mixed else (0, 0), dtype=np.float32)
            nch = self.nchunks
            rows = np.empty(n, dtype=np.float64)
            cpart = np.zeros((nch, m), dtype=np.float64)
            self.ops.k.rebase_plan(K, su, sv, thr, K32, rows, cpart)
            r, c = rows, cpart.sum(axis=0)
        else:
            K *= su[:, None]
            K *= sv[None, :]
            K[K < thr] = 0
            K32 = K.astype(xnp.float32) if mixed else None
            r, c = _sums(xnp, K)
        st = self._summary(u, v, r, c)
        if st is None:
            return None
        st.update(P=K, hist=None, lsu=None, lsv=None)
        st = self.accept(st)
        self.dense_kernel = True
        self.S0 = "dense"
        self.K_cg = K32 if mixed else K
        return st

    def plan(self, state):
        """The plan ``diag(e^lsu) K diag(e^lsv)`` of a state, its row and column sums and its cost ``<P, M>``.

        Formed in place of the kernel, which is not used afterwards.
        """
        xnp = self.xnp
        K, eu, ev = self.K, state["eu"], state["ev"]
        self.K = self.K_cg = self.S = self.S0 = None
        if self.ops.numba:
            nch = self.nchunks
            P = K
            rows = np.empty(self.n, dtype=np.float64)
            cpart = np.zeros((nch, self.m), dtype=np.float64)
            cost = np.zeros(nch, dtype=np.float64)
            self.ops.k.scaled_plan(K, eu, ev, self.M[0], P, rows, cpart, cost)
            return P, rows, cpart.sum(axis=0), float(cost.sum())
        K *= eu[:, None]
        K *= ev[None, :]
        return (K, *_sums(xnp, K), float(xnp.sum(K * self.M[0], dtype=xnp.float64)))

    def nnz(self):
        return self.n * self.m if isinstance(self.S0, str) else int(self.S0.nnz)

    def newton_direction(self, state, rtol, maxiter, damping=0.0):
        """Newton direction: Jacobi-preconditioned CG on the Schur complement of ``H_s d = grad``.

        With ``H_s = [[D_r, S], [S^T, D_c]]`` and ``grad = (g_u, g_v)``, the
        potential of the larger side is eliminated: for ``m >= n``,
        ``(D_r - S D_c^-1 S^T) d_u = g_u - S D_c^-1 g_v`` is solved by CG and
        ``d_v = D_c^-1 (g_v - S^T d_u)``. The residual of the full system is
        then the residual of the reduced one (its other block is 0), so the
        stopping rule is unchanged, but the reduced system needs about half
        the iterations of CG on the full 2x2 block system with the same two
        products (``S x``, ``S^T y``) per iteration: the Jacobi-preconditioned
        full matrix is 2-cyclic, its spectrum ``1 +- sigma_i`` is symmetric
        about 1 and CG on it spends two iterations per degree of a polynomial
        in ``sigma^2``, the spectrum of the reduced matrix ``1 - sigma_i^2``.
        The preconditioner is the diagonal of the Schur complement for a
        sparse ``S`` (from the squares of the kept entries, floored at
        ``_SCHUR_FLOOR D_r``) and ``D_r`` for the dense one.

        ``damping`` (Levenberg-Marquardt) adds ``damping * diag(D_r, D_c)``
        to ``H_s``: it bounds the step along the near-null directions of a
        plan whose significant entries split into weakly coupled blocks
        (tiny ``reg``), which the ridge alone leaves at ``~1 / _RIDGE``.

        The scalars of CG stay on the device; its stopping test is read back
        every ``_CG_CHECK`` iterations (every iteration on the host, where
        reading is free). Returns (du, dv, <grad, d>, cg_iterations).
        """
        xnp = self.xnp
        r, c = state["r"], state["c"]
        eu, ev = state["eu"], state["ev"]
        ridge = _RIDGE * (xnp.max(r) + xnp.max(c))
        dr, dc = r * (1.0 + damping) + ridge, c * (1.0 + damping) + ridge
        gu, gv = self.a - r, self.b - c
        if isinstance(self.S0, str):  # dense: the exact Hessian
            Kc = self.K_cg
            ct = Kc.dtype
            ft = r.dtype

            def pmul(y):  # P y
                return eu * (Kc @ (ev * y).astype(ct, copy=False)).astype(ft, copy=False)

            def ptmul(x):  # P^T x
                return ev * ((eu * x).astype(ct, copy=False) @ Kc).astype(ft, copy=False)

            sq = None
        else:
            S = self.S
            S.data = self.S0_data * eu[self.S0_rows] * ev[S.indices]
            St = S.T  # CSC view sharing the data: no conversion
            pmul, ptmul = S.__matmul__, St.__matmul__
            sq = S.multiply(S)
        if self.m >= self.n:
            d1, d2, g1, g2, A, At = dr, dc, gu, gv, pmul, ptmul
            diag = None if sq is None else dr - sq @ (1.0 / dc)
        else:
            d1, d2, g1, g2, A, At = dc, dr, gv, gu, ptmul, pmul
            diag = None if sq is None else dc - sq.T @ (1.0 / dr)
        inv_d2 = 1.0 / d2
        if diag is None:
            inv_diag = 1.0 / d1
        else:
            inv_diag = 1.0 / xnp.maximum(diag, _SCHUR_FLOOR * d1)
        rhs = g1 - A(inv_d2 * g2)
        x = xnp.zeros_like(g1)
        res = rhs.copy()
        z = inv_diag * res
        p = z.copy()
        rz = xnp.dot(res, z)
        tol2 = rtol**2 * (xnp.dot(gu, gu) + xnp.dot(gv, gv))
        every = 1 if self.xnp is np else _CG_CHECK
        it = 0
        if bool(xnp.dot(res, res) > tol2):
            broke = xnp.asarray(False)
            while it < maxiter:
                it += 1
                q = d1 * p - A(inv_d2 * At(p))
                pq = xnp.dot(p, q)
                ok = pq > 0  # else a breakdown (rounding): no update, and stop at the next check
                broke = broke | ~ok
                alpha = xnp.where(ok, rz / xnp.where(ok, pq, 1.0), 0.0)
                x += alpha * p
                res -= alpha * q
                if it % every == 0:
                    done, bad = xnp.stack([xnp.dot(res, res) <= tol2, broke]).tolist()
                    if done or bad:
                        break
                z = inv_diag * res
                rz_new = xnp.dot(res, z)
                p = z + xnp.where(rz > 0, rz_new / xnp.where(rz > 0, rz, 1.0), 0.0) * p
                rz = rz_new
        x2 = inv_d2 * (g2 - At(x))
        if self.m >= self.n:
            du, dv = x, x2
        else:
            du, dv = x2, x
        return du, dv, float(xnp.dot(gu, du) + xnp.dot(gv, dv)), it

    def sinkhorn(self, state, num_iter, stop_thr, reg):
        """Up to ``num_iter`` Sinkhorn iterations from ``state`` (stabilised, see :func:`_sinkhorn_core`).

        They run in the input dtype; the Newton stage resumes from their
        potentials in float64.
        """
        dt = self.M.dtype
        lu3, lv3, _, nit, _ = _sinkhorn_core(
            self.ops.xp, self.a_in[None, :], self.b_in[None, :], self.M, reg, num_iter=num_iter, stop_thr=stop_thr,
            log_u=state["u"].astype(dt)[None, :], log_v=state["v"].astype(dt)[None, :], ops=self.ops,
        )
        u, v = lu3[0].astype(self.xnp.float64), lv3[0].astype(self.xnp.float64)
        return self.accept(self.evaluate(u, v)), int(nit[0])


def _threshold_bin(xnp, cnt, mass, k, drop):
    """Bin of the selection threshold (see :meth:`_NewtonProblem.select`) and the entries kept.

    The largest bin ``b`` (0 if none) such that the bins ``>= b`` hold at
    least ``k`` entries and the bins ``< b`` at most ``drop`` of the mass.
    Both conditions hold on a prefix of the bins, so ``b`` is the count of
    bins meeting both, minus one. Computed on the device of the histogram;
    only the two results are read back.
    """
    cnt, mass = cnt.astype(xnp.float64, copy=False), mass.astype(xnp.float64, copy=False)
    above = xnp.cumsum(cnt[::-1])[::-1]  # entries in bins >= b
    below = xnp.cumsum(mass) - mass  # mass in bins < b
    ok = (above >= k) & (below <= drop * xnp.sum(mass))
    b = max(int(xnp.sum(ok)) - 1, 0)
    return b, float(above[b])


def _sums(xnp, P):
    """Row and column sums of ``P``, accumulated in float64."""
    return xnp.sum(P, axis=1, dtype=xnp.float64), xnp.sum(P, axis=0, dtype=xnp.float64)


def _kept_entries(sparsity, n, m):
    lam = _DEFAULT_SPARSITY / min(n, m) if sparsity is None else sparsity
    return max(1, int(math.ceil(min(lam, 1.0) * n * m)))


def _predicted_sinkhorn(errs, stop_thr, window=5):
    """Sinkhorn iterations still needed to reach ``stop_thr``, from the observed linear rate of ``errs``."""
    if len(errs) <= window:
        return math.inf
    e0, e1 = errs[-1 - window], errs[-1]
    if not (e1 > 0 and e0 > e1 and math.isfinite(e0)):
        return math.inf
    rate = (e1 / e0) ** (1.0 / window)
    if e1 <= stop_thr:
        return 0
    return math.log(stop_thr / e1) / math.log(rate)


def _auto_reg_init(reg, span):
    """``reg_init="auto"``: continuation from ``1e-3`` times the cost's range ``span`` when ``reg`` is 5x below it."""
    r0 = _AUTO_REG_INIT * span
    return r0 if reg <= r0 / 5.0 else None


def _reg_schedule(reg, reg_init, decay):
    """Regularisations of the continuation: ``reg_init, reg_init decay, ...`` down to ``reg`` (inclusive)."""
    regs = []
    if reg_init is not None:
        r = float(reg_init)
        while r > reg * (1.0 + 1e-9) and len(regs) < 60:
            regs.append(r)
            r *= decay
    return regs + [float(reg)]


def _newton_stage(xp, xnp, ops, a, b, M, reg, lu, lv, *, num_iter, sinkhorn_budget, stop_thr, sparsity, cg_rtol,
                  n_fallback, monitor, errs, t0, it0=0, warm=None, want_plan=False):
    """Newton iterations on one problem; returns (lu, lv, err, n_newton, n_sinkhorn_extra, n_iter, status, plan).

    At most ``num_iter`` iterations ``n_iter`` (``n_newton`` accepted Newton steps, the others fallbacks) and
    ``sinkhorn_budget`` fallback Sinkhorn iterations in all.
    ``warm``: the warm-up's kernel state for this problem, ``(K, su, sv)``
    (see :meth:`_NewtonProblem.from_kernel`; ``K`` may be overwritten).
    ``plan``: with ``want_plan`` and no zero weights, ``(P, row sums, column
    sums, cost)`` of the final potentials, from the factored plan; else None.
    The returned potentials are float64.
    """
    keep_a, keep_b = a > 0, b > 0
    full = bool(xnp.all(keep_a)) and bool(xnp.all(keep_b))
    if not full:
        ia, ib = xnp.nonzero(keep_a)[0], xnp.nonzero(keep_b)[0]
        a_r, b_r, M_r = a[ia], b[ib], M[ia][:, ib]
        u, v = lu[ia], lv[ib]
    else:
        a_r, b_r, M_r, u, v = a, b, M, lu, lv
    u, v = u.astype(xnp.float64), v.astype(xnp.float64)
    if ops.numba:
        M_r = np.ascontiguousarray(M_r)
    prob = _NewtonProblem(xnp, ops, a_r, b_r, M_r, reg, stop_thr)
    k = _kept_entries(sparsity, prob.n, prob.m)
    drop = _DROP_MASS
    state = None
    if warm is not None and full:
        state = prob.from_kernel(*warm, u, v, k, drop)
    if state is None:
        state = prob.accept(prob.evaluate(u, v))
    n_newton = n_extra = stalls = slow_full = 0
    damping = 0.0  # Levenberg-Marquardt damping of the Newton system, adapted to the line search
    recent = []  # marginal errors after the Newton steps since the last change of the kept set
    cg_max = max(50, 2 * (prob.n + prob.m))
    status = STATUS_MAX_ITER
    it = 0
    while it < num_iter:
        if state["err"] <= stop_thr:
            status = STATUS_CONVERGED
            break
        it += 1
        # A fresh sparsity pattern when the scalings have moved (a dense
        # Hessian has no pattern: it is re-absorbed only out of range).
        if prob.K is None or state["lsu"] is None or (
            not isinstance(prob.S0, str)
            and sum(state["spread"]) > _RESELECT
        ):
            state = prob.accept(prob.evaluate(state["u"], state["v"]))
        if prob.S0 is None:
            prob.select(k, drop)
        # inexact Newton (forcing term sqrt of the gradient's L1 norm, at most 0.1)
        rtol = cg_rtol if cg_rtol is not None else min(0.1, math.sqrt(state["err"]))
        if cg_rtol is None and isinstance(prob.S0, str):
            # Exact (dense) Hessian near the solution: the next gradient is
            # the CG residual plus O(err^2), and its L1 norm is at most
            # sqrt(n + m) times the residual's L2 norm, so a relative residual
            # of stopThr / (2 err sqrt(n + m)) already reaches stopThr; no
            # need to solve more accurately than that.
            rtol = max(rtol, min(0.1, 0.5 * stop_thr / (state["err"] * math.sqrt(prob.n + prob.m))))
        du, dv, gd, cg_it = prob.newton_direction(state, rtol, maxiter=cg_max, damping=damping)
        kept = prob.nnz()
        kind = 0.0  # 1 for an accepted Newton step not followed by a fallback
        accepted = None
        t = 0.0
        if gd > 0:
            t = 1.0
            # Rounding of the gain: of a.u + b.v (float64) and of the plan's
            # total, summed in the kernel's dtype (sqrt(n + m) terms of eps).
            total = state["total"]
            noise = 1e-13 * (abs(state["lin"]) + total) + _NOISE_ULPS * prob.eps * math.sqrt(prob.n + prob.m) * total
            for _ in range(_MAX_BACKTRACK):
                trial = prob.trial(state["u"] + t * du, state["v"] + t * dv)
                # the objective's change, without the cancellation of its large terms
                gain = (trial["lin"] - state["lin"]) - (trial["total"] - total) if trial["err"] < math.inf else -math.inf
                if gain >= _ARMIJO * t * gd or (
                    _ARMIJO * t * gd <= noise and gain >= -noise and trial["err"] < state["err"]
                ):
                    accepted = prob.accept(trial)
                    break
                t *= 0.5
        # Levenberg-Marquardt: a step that needed backtracking to t asks for
        # about 1 / t times more damping; full steps relax it.
        if accepted is None:
            damping = max(_LM_FAIL * damping, _LM_MIN_FAIL)
        elif t < 1.0:
            damping = max(damping, _RIDGE) / t
        else:
            damping = damping * _LM_RELAX if damping > _LM_OFF else 0.0
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
                prob.S0 = None
        else:
            slow_full = 0
        if accepted is not None:
            recent.append(accepted["err"])
            if cg_it >= cg_max or (len(recent) > _STALL_WINDOW and recent[-1] > 0.5 * recent[-1 - _STALL_WINDOW]):
                # CG did not converge (the kept graph is too poorly connected),
                # or the error did not halve in _STALL_WINDOW steps: the slow
                # modes of the Hessian live on the dropped entries (near-
                # degenerate plans at tiny reg): keep more entries.
                drop, k, recent = drop / 100.0, min(4 * k, prob.n * prob.m), []
                prob.S0 = None
            state = accepted
            n_newton += 1
            kind = 1.0
        block = min(n_fallback * 2 ** min(stalls, 12), sinkhorn_budget - n_extra)
        if (accepted is None or t < _STALL_STEP or slow) and block > 0:
            # Newton stalled (no step, or a tiny one: far from the region of
            # fast convergence): Sinkhorn steps from the current potentials,
            # doubling their number while stalls follow each other, within
            # the budget of fallback iterations.
            stalls += 1
            state, nit = prob.sinkhorn(state, block, stop_thr, reg)
            n_extra += nit
            kind = 0.0
        else:
            stalls = 0
        errs.append(state["err"])
        if monitor(it0 + it, (state["u"], state["v"]) if monitor.callback else None,
                   marginal_error=state["err"], newton_step=kind, cg_iterations=cg_it, objective=state["obj"],
                   step_size=t, kept=kept):
            status = STATUS_CALLBACK
            break
    else:
        if state["err"] <= stop_thr:
            status = STATUS_CONVERGED
    u, v = state["u"], state["v"]
    plan = None
    if want_plan and full and prob.K is not None and state.get("eu") is not None:
        plan = prob.plan(state)
    if not full:
        lu = xnp.full_like(a, -math.inf, dtype=xnp.float64)
        lv = xnp.full_like(b, -math.inf, dtype=xnp.float64)
        lu[ia] = u
        lv[ib] = v
    else:
        lu, lv = u, v
    return lu, lv, state["err"], n_newton, n_extra, it, status, plan


def sinkhorn_newton_sparse(
    a,
    b,
    M,
    reg,
    numItermax=100,
    stopThr=1e-9,
    verbose=False,
    log=False,
    warn=True,
    warmstart=None,
    *,
    n_sinkhorn=20,
    sparsity=None,
    cg_rtol=None,
    reg_init="auto",
    reg_decay=0.1,
    callback=None,
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
    {args}
    reg : float
        Entropic regularisation, > 0, with ``range(M) / reg <= 1e10``: the
        dual potentials reach ``range(M) / reg``, and beyond that ratio their
        float64 rounding alone changes plan entries by more than ``2e-6``
        (use an exact solver such as :func:`ot.emd` there).
    numItermax : int
        Maximum number of Newton iterations per problem, all stages of the
        ``reg`` continuation together (each intermediate stage may use at
        most half of those left); the fallback Sinkhorn iterations of the
        Newton stages are capped at ``numItermax * max(n_sinkhorn, 10)`` in
        all. The total work is thus bounded by ``numItermax``, the warm-ups
        and the number of stages.
    stopThr : float
        Stop when ``||P 1 - a||_1 + ||P^T 1 - b||_1 <= stopThr`` (raised to
        50 machine epsilons of the dtype, about 6e-6 in float32).
    verbose : bool or int
        Print progress every ``verbose`` Newton iterations.
    log : bool
        Also return a dict of diagnostics.
    warn : bool
        Emit a ``ConvergenceWarning`` when ``stopThr`` is not reached
        (``warn=False`` silences it; ``log["result"].success`` still says so).
    warmstart : tuple of arrays (log_u, log_v), optional
        Initial dual potentials (``f / reg``, ``g / reg``), as in
        :func:`sinkhorn_log` (the ``log_u``, ``log_v`` of a previous solve);
        they start the Sinkhorn warm-up. With a warm start, ``reg_init="auto"``
        does not run the ``reg`` continuation; an explicit ``reg_init`` does,
        starting from the same potentials ``f``, ``g``.
    n_sinkhorn : int
        Sinkhorn warm-up iterations (stage 1; the paper's N1 = 20). The
        warm-up stops early if it already reaches ``stopThr``, and goes on
        (instead of Newton) when the observed linear rate of Sinkhorn
        predicts reaching ``stopThr`` within 30 more iterations.
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
        dropped mass (x 0.1) and double the minimum count; CG reaching its
        iteration limit, or three Newton steps that do not halve the error,
        tighten it by x 0.01 and quadruple the count. When more than a
        quarter of the entries are kept, the dense plan is used (exact
        Hessian; CG products on a float32 copy of the kernel from 250 000
        entries on).
    reg_init : "auto", float or None
        Continuation in ``reg`` (epsilon scaling): solve for ``reg_init``,
        ``reg_init * reg_decay``, ... down to ``reg``, each stage
        warm-started from the previous dual potentials (intermediate stages
        to the marginal error 1e-4). ``"auto"`` (default) starts at ``1e-3``
        times the range of ``M`` when ``reg`` is at least 5 times smaller
        (``reg <= 2e-4`` on a cost normalised to [0, 1]); ``None`` solves
        directly. At ``reg = 1e-4`` this is several times faster, and it
        makes ``reg`` down to ``1e-6`` reachable (the cost is then within
        ``1e-7`` of the exact OT cost, :func:`ot.emd2`), where Newton from
        the warm-up alone stalls and Sinkhorn needs ~1e5 iterations.
    reg_decay : float in (0, 1)
        Ratio of consecutive regularisations of the continuation.
    cg_rtol : float, optional
        Relative residual at which conjugate gradient stops (CG on the Schur
        complement of the Newton system, Jacobi preconditioner; at most
        ``2 (n + m)`` CG iterations). Default: inexact Newton,
        ``min(0.1, sqrt(err))`` with ``err`` the current L1 marginal error
        (the gradient's L1 norm); with the dense (exact) Hessian, at least
        ``stopThr / (2 err sqrt(n + m))``, which already reaches ``stopThr``.
    callback : callable, optional
        ``callback(intermediate_result)`` after each Newton iteration (``x =
        (log_u, log_v)``, ``marginal_error``); raising ``StopIteration`` stops.
    engine : {"auto", "numba", "xp"}
        Kernels of the Sinkhorn warm-up and of the plan evaluations (see
        :func:`sinkhorn_log`).

    Returns
    -------
    G : array of shape (n, m) or (B, n, m)
        Transport plan (namespace, device and dtype of the inputs). With
        ``k`` target histograms (``b`` of shape (m, k)): the ``k`` transport
        costs (k,), as POT's ``sinkhorn_log``, and a log as
        :func:`sinkhorn_log`'s.
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
    ValueError
        For invalid arguments, and for ``range(M) / reg > 1e10``.
    TypeError
        For arrays other than NumPy (CPU, scipy.sparse) and CuPy (GPU,
        cupyx.scipy.sparse); use :func:`sinkhorn_log` for other namespaces.

    Warns
    -----
    ConvergenceWarning
        When ``numItermax`` Newton iterations do not reach ``stopThr`` and
        ``warn`` is true.

    See Also
    --------
    sinkhorn_newton_sparse2 : the same solve, returning the transport cost.

    Notes
    -----
    The Newton stage of a batch runs problem by problem (the Sinkhorn warm-up
    is vectorised over the batch). Sparse linear algebra and the top-k
    selection run on the device of the inputs (CuPy: with that device
    current); scalars are read back once per line-search trial and every
    few CG iterations. Inputs are never modified.

    Precision: the Newton stage keeps the potentials, marginals and its
    vectors in float64 whatever the input dtype (``O(n + m)`` memory); the
    plan, its kernel and the warm-up stay in the input dtype. In float32
    the potentials reach ``range(M) / reg`` (``1e4`` at ``reg = 1e-4``),
    where a float32 step would be rounded to ``1e-3``: float64 potentials
    are what lets float32 inputs reach their ``stopThr`` floor.

    Step control: the Newton system is damped (Levenberg-Marquardt) after a
    line search had to backtrack, and the damping is relaxed by full steps.
    At tiny ``reg / range(M)`` the plan's significant entries form weakly
    coupled blocks, along which an undamped step is ``~1 / 1e-10``.
    Everything depends on ``M`` only through ``M / reg`` (and the
    continuation starts relative to the cost's range), so scaling ``M`` and
    ``reg`` together gives the same iterations and the same plan.
    """
    return _pot_front(
        _sns, a, b, M, reg, warmstart, log, False, numItermax=numItermax, stopThr=stopThr, verbose=verbose, warn=warn,
        n_sinkhorn=n_sinkhorn, sparsity=sparsity, cg_rtol=cg_rtol, reg_init=reg_init, reg_decay=reg_decay,
        callback=callback, engine=engine,
    )


def sinkhorn_newton_sparse2(
    a,
    b,
    M,
    reg,
    numItermax=100,
    stopThr=1e-9,
    verbose=False,
    log=False,
    warn=True,
    warmstart=None,
    *,
    n_sinkhorn=20,
    sparsity=None,
    cg_rtol=None,
    reg_init="auto",
    reg_decay=0.1,
    callback=None,
    engine="auto",
):
    r"""Transport cost of entropic OT by Sinkhorn-Newton-Sparse (POT's ``ot.sinkhorn2`` convention).

    Solves the problem of :func:`sinkhorn_newton_sparse` and returns the
    transport cost :math:`\langle P, M\rangle` of the regularised plan
    (without the entropic term), as POT's ``ot.sinkhorn2``.

    Parameters
    ----------
    {args}
    reg, numItermax, stopThr, verbose, log, warn, warmstart, n_sinkhorn, sparsity, cg_rtol, reg_init, reg_decay, \
callback, engine
        As in :func:`sinkhorn_newton_sparse`. ``warn`` defaults to true
        (POT's ``sinkhorn2`` defaults to ``warn=False``).

    Returns
    -------
    W : array of shape (), (B,) or (k,)
        Transport cost ``<P, M>`` of each problem, in the namespace, device
        and dtype of the inputs (a 0-d array for one problem).
    log : dict
        Only when ``log=True``: as in :func:`sinkhorn_newton_sparse`.
    """
    return _pot_front(
        _sns, a, b, M, reg, warmstart, log, True, numItermax=numItermax, stopThr=stopThr, verbose=verbose, warn=warn,
        n_sinkhorn=n_sinkhorn, sparsity=sparsity, cg_rtol=cg_rtol, reg_init=reg_init, reg_decay=reg_decay,
        callback=callback, engine=engine,
    )


sinkhorn_newton_sparse.__doc__ = sinkhorn_newton_sparse.__doc__.replace("{args}", _POT_ARGS_DOC.strip())
sinkhorn_newton_sparse2.__doc__ = sinkhorn_newton_sparse2.__doc__.replace("{args}", _POT_ARGS_DOC.strip())


def _sns(a, b, M, reg, warmstart, *, numItermax, stopThr, verbose, warn, n_sinkhorn, sparsity, cg_rtol, reg_init,
         reg_decay, callback, engine):
    """One (or a batch of) :func:`sinkhorn_newton_sparse` problem(s): returns ``(plan, log, cost)``."""
    if not is_numpy_namespace(_ns_of(a, b, M)) and not is_cupy_namespace(_ns_of(a, b, M)):
        raise TypeError(
            "sinkhorn_newton_sparse supports NumPy and CuPy arrays only (its Newton stage needs "
            "scipy.sparse / cupyx.scipy.sparse); use sinkhorn_log for other array libraries."
        )
    xp, a3, b3, M3, reg, num_iter, stop_thr, numba, batched = _prepare(a, b, M, reg, numItermax, stopThr, engine)
    n_sinkhorn = check_scalar(n_sinkhorn, "n_sinkhorn", kind=numbers.Integral, lower=0)
    if sparsity is not None:
        sparsity = check_scalar(sparsity, "sparsity", lower=0.0, upper=1.0, lower_inclusive=False)
    span = float(xp.max(M3) - xp.min(M3)) if M3.shape[-1] * M3.shape[-2] > 0 else None
    if span is not None and span > _MAX_SPAN_RATIO * reg:
        raise ValueError(
            f"reg={reg:g} is too small for the range of M ({span:g}): range(M) / reg = {span / reg:.3g} exceeds "
            f"{_MAX_SPAN_RATIO:g}, beyond which float64 dual potentials (of size up to range(M) / reg) cannot "
            "resolve the plan. Use a larger reg, or an exact OT solver (e.g. ot.emd)."
        )
    if isinstance(reg_init, str) and reg_init == "auto":
        reg_init = _auto_reg_init(reg, span) if span is not None and warmstart is None else None
    elif reg_init is not None:
        reg_init = check_scalar(reg_init, "reg_init", lower=0.0, lower_inclusive=False)
    reg_decay = check_scalar(reg_decay, "reg_decay", lower=0.0, upper=1.0, lower_inclusive=False, upper_inclusive=False)
    if cg_rtol is not None:
        cg_rtol = check_scalar(cg_rtol, "cg_rtol", lower=0.0, upper=1.0, lower_inclusive=False)
    lu0, lv0 = _check_warmstart(warmstart, a3 if batched else a3[0, ...], b3 if batched else b3[0, ...], xp)
    xnp = _native(xp)
    a3, b3, M3 = xnp.asarray(a3), xnp.asarray(b3), xnp.asarray(M3)
    lu0, lv0 = xnp.asarray(lu0), xnp.asarray(lv0)
    if not batched:
        lu0, lv0 = lu0[None, ...], lv0[None, ...]
    with M3.device if is_cupy_namespace(xp) else contextlib.nullcontext():  # arrays created on M's device
        return _solve(xp, xnp, a3, b3, M3, reg, lu0, lv0, num_iter, stop_thr, numba, batched, n_sinkhorn, sparsity,
                      cg_rtol, reg_init, reg_decay, warn, callback, verbose)


def _solve(xp, xnp, a3, b3, M3, reg, lu0, lv0, num_iter, stop_thr, numba, batched, n_sinkhorn, sparsity, cg_rtol,
           reg_init, reg_decay, warn, callback, verbose):
    """The body of :func:`sinkhorn_newton_sparse` on validated (B, n, m) native arrays.

    ``lu0``, ``lv0``: starting potentials (B, n), (B, m) for the target ``reg``.
    Returns ``(plan, log, cost)``.
    """
    ops = _Ops(xp, numba)
    monitor = IterationMonitor(callback, True, verbose, name="sinkhorn_newton_sparse")
    B = M3.shape[0]
    t0 = time.perf_counter()

    regs = _reg_schedule(reg, reg_init, reg_decay)
    # the same dual potentials f = reg * log_u, in units of the first stage's reg
    lu, lv = lu0 * (reg / regs[0]), lv0 * (reg / regs[0])
    errs = [[] for _ in range(B)]
    nit_sk = [0] * B
    nit_newton = [0] * B
    nit_loop = [0] * B  # Newton-stage iterations (Newton steps and fallbacks), capped at num_iter
    nit_fallback = [0] * B  # fallback Sinkhorn iterations of the Newton stages, capped at fallback_max
    n_fallback = max(n_sinkhorn, 10)
    fallback_max = num_iter * n_fallback
    status = STATUS_CONVERGED
    for s, reg_s in enumerate(regs):
        last = s == len(regs) - 1
        # intermediate stages only need to hand a good starting point to the next one
        thr_s = stop_thr if last else max(stop_thr, _STAGE_THR)
        if s > 0:  # same dual potentials f = reg * log_u, in units of the new reg
            lu, lv = lu * (regs[s - 1] / reg_s), lv * (regs[s - 1] / reg_s)
        warm_errs = []
        kern = {}  # the warm-up's stabilised state, handed to the Newton stage
        if n_sinkhorn > 0:
            lu, lv, _, nit, _ = _sinkhorn_core(
                xp, a3, b3, M3, reg_s, num_iter=n_sinkhorn, stop_thr=thr_s, log_u=lu, log_v=lv, ops=ops,
                err_log=warm_errs, kernel=kern, mixed=True,
            )
            nit = [int(x) for x in nit]
            # Adaptive switch: when the observed linear rate of Sinkhorn predicts
            # reaching the threshold in fewer iterations than about one Newton
            # step costs (a few dozen matrix-vector products), keep iterating.
            pred = max(_predicted_sinkhorn(e, thr_s) for e in _per_problem(xnp, warm_errs, B))
            if 0 < pred <= _SWITCH_ITERS:
                more = []
                lu, lv, _, nit2, _ = _sinkhorn_core(
                    xp, a3, b3, M3, reg_s, num_iter=int(1.5 * pred) + 5, stop_thr=thr_s, log_u=lu, log_v=lv,
                    ops=ops, err_log=more, kernel=kern,
                )
                warm_errs += more
                nit = [x + int(y) for x, y in zip(nit, nit2)]
            for i in range(B):
                nit_sk[i] += nit[i]
        for i, e in enumerate(_per_problem(xnp, warm_errs, B)):
            errs[i] += e
        out_u, out_v, err = [], [], []
        K = kern.get("K")
        for i in range(B):
            # one budget for all stages: an intermediate stage gets at most half of what is left
            left = num_iter - nit_loop[i]
            warm = None if K is None else (K[i], kern["su"][i], kern["sv"][i])
            u, v, e, nn, extra, nl, st, plan = _newton_stage(
                xp, xnp, ops, a3[i], b3[i], M3[i], reg_s, lu[i], lv[i], num_iter=left if last else left // 2,
                sinkhorn_budget=fallback_max - nit_fallback[i], stop_thr=thr_s, sparsity=sparsity, cg_rtol=cg_rtol,
                n_fallback=n_fallback, monitor=monitor, errs=errs[i], t0=t0, it0=nit_loop[i], warm=warm,
                want_plan=last and not batched,
            )
            out_u.append(u)
            out_v.append(v)
            err.append(e)
            nit_newton[i] += nn
            nit_sk[i] += extra
            nit_fallback[i] += extra
            nit_loop[i] += nl
            if last and st != STATUS_CONVERGED and status != STATUS_CALLBACK:
                status = st
            if st == STATUS_CALLBACK:
                status = STATUS_CALLBACK
        del K, kern, warm
        lu, lv = xnp.stack(out_u).astype(a3.dtype), xnp.stack(out_v).astype(b3.dtype)
        if status == STATUS_CALLBACK:
            break
    log_u, log_v = lu, lv
    err = xnp.asarray(err, dtype=M3.dtype)
    niter = xnp.asarray(nit_newton, dtype=xnp.int64)
    P = cost = marg = None
    if not batched and plan is not None:
        # The plan in factored form (kernel and scalings of the last state): a
        # pass of products instead of exponentials, fused with its marginals
        # and cost. Same plan up to rounding, except entries below the
        # Newton stage's cutoff (negligible against stopThr), which are 0.
        P, rows, cols, c0 = plan
        marg = float(xnp.sum(xnp.abs(rows - a3[0])) + xnp.sum(xnp.abs(cols - b3[0])))
        P, cost = P[None, ...], xnp.asarray([c0], dtype=M3.dtype)
    P, info, loss = _finish(
        xp, ops, a3, b3, M3, regs[-1], log_u, log_v, err, niter, status, monitor,
        errs[0] if not batched else errs, batched, warn, "sinkhorn_newton_sparse", P=P, cost=cost,
    )
    info["niter_newton"] = nit_newton[0] if not batched else np.asarray(nit_newton)
    info["niter_sinkhorn"] = nit_sk[0] if not batched else np.asarray(nit_sk)
    info["result"]["niter_newton"] = info["niter_newton"]
    info["result"]["niter_sinkhorn"] = info["niter_sinkhorn"]
    if not batched:
        # the marginal error of the plan actually returned (both marginals)
        info["result"]["marginal_error"] = marg if marg is not None else float(
            xnp.sum(xnp.abs(xnp.sum(P, axis=1) - a3[0])) + xnp.sum(xnp.abs(xnp.sum(P, axis=0) - b3[0]))
        )
    return P, info, loss


def _per_problem(xnp, errs, B):
    """Per-problem lists of the errors logged by :func:`_sinkhorn_core` (one host transfer for a batch)."""
    if B == 1:
        return [[float(e) for e in errs]]
    if not errs:
        return [[] for _ in range(B)]
    return to_host(xnp.stack(errs)).T.tolist()


def _ns_of(*arrays):
    from .._backend import get_namespace

    arrays = [x for x in arrays if hasattr(x, "__array_namespace__") or hasattr(x, "__cuda_array_interface__")]
    return get_namespace(*arrays) if arrays else get_namespace()
