"""Log-domain Sinkhorn with per-problem stopping on the L1 marginal error.

The state is the pair of dual potentials ``(log_u, log_v)`` in units of
``1 / reg`` (POT's ``log_u``, ``log_v``), the plan being
``P_ij = exp(log_u_i + log_v_j - M_ij / reg)``. Iterations are the log-domain
Sinkhorn updates (column potential first, then row potential, as POT's
``sinkhorn_log``)::

    log_v <- log b - LSE_i(log_u_i - M_ij / reg)
    log_u <- log a - LSE_j(log_v_j - M_ij / reg)

They are carried out in one of two mathematically identical ways:

* an *exact* log-domain sweep (max-shifted log-sum-exp over rows and columns;
  numba kernels on NumPy, array-API code elsewhere), used when a scaling step
  cannot represent the update (a kernel row or column entirely below the
  cutoff);
* a *stabilised scaling* step (Schmitzer's absorption): with the kernel
  ``K = exp(log_u0 + log_v0 - M / reg)`` frozen at the last absorption (its
  entries are entries of a plan, hence bounded) the update is
  ``v = b / (K^T u)``, ``u = a / (K v)`` on scalings ``u, v`` kept within
  ``exp(+-tau)``; these are two matrix-vector products (BLAS / cuBLAS) instead
  of two passes of exponentials. When a scaling leaves that range it is
  absorbed into the potentials and ``K`` is recomputed; when a step would
  under- or overflow, it is discarded and done as an exact sweep. The first
  kernel is that of the starting potentials, its columns first normalised to
  a maximum of 1 when their largest entry is outside ``exp(+-tau)`` (one
  pass of maxima and one of exponentials, instead of an exact sweep's three
  passes of exponentials).

Nothing unbounded is ever exponentiated, so ``reg = 1e-4`` on costs in [0, 1]
runs without underflow. The column marginal ``P^T 1`` of the current plan is a
by-product of both kinds of step, so the L1 marginal error
``||P^T 1 - b||_1`` is checked at every iteration for free (row marginals are
exact after each iteration).
"""

import math
import numbers

import numpy as np

from .._backend import device, get_namespace, use_numba
from .._result import (
    STATUS_CALLBACK,
    STATUS_CONVERGED,
    STATUS_MAX_ITER,
    IterationMonitor,
    make_result,
)
from .._validation import check_array, check_scalar
from ._validation import check_cost_scale, check_ot_inputs

__all__ = ["sinkhorn_log", "sinkhorn_log2"]


def _ndim(x):
    nd = getattr(x, "ndim", None)
    return np.ndim(x) if nd is None else nd


_MIXED_ERR = 1e-4  # mixed-precision warm-up: float32 kernel products while the relative marginal error is above this
_F32_FLOOR = 1e-30  # float32 kernel copies: entries below this are 0 (float32 subnormals start at 1.2e-38)


def _limits(dtype, xp):
    """(tau, cutoff): scaling range exp(+-tau) and the log-value below which kernel entries are 0.

    Chosen so that no kernel entry, scaling or product of them is subnormal
    (subnormals make BLAS very slow) while dropped entries stay below
    ``exp(cutoff + 2 tau)`` -- negligible at the dtype's precision.
    """
    if dtype == xp.float32:
        return 10.0, -60.0
    return 50.0, -600.0


class _Ops:
    """The log-domain sweeps and the plan exponential, numba or array-API."""

    def __init__(self, xp, numba):
        self.xp = xp
        self.numba = numba
        if numba:
            from . import _sinkhorn_numba as k

            self.k = k

    # -- array-API versions -------------------------------------------------
    def _lse(self, x, axis):
        xp = self.xp
        mx = xp.max(x, axis=axis, keepdims=True)
        mx = xp.where(xp.isfinite(mx), mx, xp.zeros_like(mx))
        s = xp.sum(xp.exp(x - mx), axis=axis)
        return xp.log(s) + xp.squeeze(mx, axis=axis)

    def lse_cols(self, M, inv_reg, log_u, active):
        if self.numba:
            out = np.full(log_u.shape[:1] + M.shape[2:], -np.inf, dtype=M.dtype)
            self.k.lse_cols(M, inv_reg, log_u, active, out)
            return out
        xp = self.xp
        return self._lse(xp.expand_dims(log_u, -1) - M * inv_reg, -2)

    def lse_rows(self, M, inv_reg, log_v, active):
        if self.numba:
            out = np.full(M.shape[:2], -np.inf, dtype=M.dtype)
            self.k.lse_rows(M, inv_reg, log_v, active, out)
            return out
        xp = self.xp
        return self._lse(xp.expand_dims(log_v, -2) - M * inv_reg, -1)

    def col_max(self, M, inv_reg, log_u, log_v, active):
        if self.numba:
            out = np.full(log_v.shape, -np.inf, dtype=M.dtype)
            self.k.col_max(M, inv_reg, log_u, log_v, active, out)
            return out
        xp = self.xp
        return xp.max(xp.expand_dims(log_u, -1) - M * inv_reg, axis=-2) + log_v

    def exp_plan(self, M, inv_reg, log_u, log_v, cutoff, active=None):
        if self.numba:
            if active is None:
                active = np.ones(M.shape[0], dtype=np.uint8)
            out = np.zeros(M.shape, dtype=M.dtype)
            self.k.exp_plan(M, inv_reg, log_u, log_v, float(cutoff), active, out)
            return out
        xp = self.xp
        x = xp.expand_dims(log_u, -1) + xp.expand_dims(log_v, -2) - M * inv_reg
        if cutoff == -math.inf:
            return xp.exp(x)
        return xp.where(x > cutoff, xp.exp(x), xp.zeros_like(x))


def _matvec(K, s, xp):
    """K s over the stacked problems: (B, n, m) x (B, m) -> (B, n)."""
    if K.shape[0] == 1:
        return xp.expand_dims(xp.matmul(K[0, ...], s[0, ...]), 0)
    return xp.matmul(K, xp.expand_dims(s, -1))[..., 0]


def _rmatvec(K, s, xp):
    """K^T s over the stacked problems: (B, n, m) x (B, n) -> (B, m)."""
    if K.shape[0] == 1:
        return xp.expand_dims(xp.matmul(s[0, ...], K[0, ...]), 0)
    return xp.matmul(xp.expand_dims(s, -2), K)[..., 0, :]


def _sinkhorn_core(
    xp, a, b, M, reg, *, num_iter, stop_thr, log_u, log_v, ops, monitor=None, err_log=None, kernel=None, mixed=False
):
    """Run log-domain Sinkhorn on stacked problems (B, n, m).

    Returns ``(log_u, log_v, err, niter, status)``: potentials, last L1 column
    marginal error (B,) of the returned plan (``inf`` when never measured),
    iterations per problem (B,) and a ``STATUS_*`` code. ``num_iter`` counts
    updates; the error of the returned potentials is measured before each
    update, so a converged problem is returned as measured.

    ``kernel``, a dict, hands the stabilised state over (used by SNS): on
    return it holds the frozen kernel ``K`` (B, n, m), the scalings ``su``,
    ``sv`` and the kernel's potentials ``log_u``, ``log_v`` (the returned
    potentials are these plus ``log su``, ``log sv``), or ``K = None``; a
    dict with ``K`` set on entry resumes from that state instead of
    ``log_u``, ``log_v`` (no exact sweep, no new kernel).

    ``mixed`` (a warm-up, used by SNS): while the marginal error is above
    ``_MIXED_ERR`` (far above float32 rounding), the scaling steps of one
    float64 NumPy problem use a float32 copy of the kernel (entries below
    ``_F32_FLOOR`` flushed to 0, no subnormals) for their two matrix-vector
    products, which halves their memory traffic; the scalings, the
    potentials and the kernel stay float64, and the steps switch to the
    float64 kernel for good below that error, so the stopping test and the
    returned potentials are float64-accurate.
    """
    B = M.shape[0]
    inv_reg = 1.0 / reg
    dtype = M.dtype
    tau, cutoff = _limits(dtype, xp)
    pos_a, pos_b = a > 0, b > 0
    zero_a, zero_b = xp.zeros_like(a), xp.zeros_like(b)
    log_a = xp.where(pos_a, xp.log(xp.where(pos_a, a, xp.ones_like(a))), xp.full_like(a, -math.inf))
    log_b = xp.where(pos_b, xp.log(xp.where(pos_b, b, xp.ones_like(b))), xp.full_like(b, -math.inf))
    # potentials of zero-weight rows/columns are -inf from the start
    log_u = xp.where(pos_a, log_u, xp.full_like(a, -math.inf))
    log_v = xp.where(pos_b, log_v, xp.full_like(b, -math.inf))
    one_a = xp.astype(pos_a, dtype)
    one_b = xp.astype(pos_b, dtype)

    dev = device(M)
    active = xp.ones((B,), dtype=xp.bool, device=dev)
    err = xp.full((B,), math.inf, dtype=dtype, device=dev)
    niter = xp.zeros((B,), dtype=xp.int64, device=dev)
    K = None  # kernel at the last absorption (None: next step is an exact sweep)
    su = sv = None
    status = STATUS_MAX_ITER

    def active_mask():
        return np.asarray(active, dtype=np.uint8) if ops.numba else None

    if kernel is not None and kernel.get("K") is not None:
        K, su, sv = kernel["K"], kernel["su"], kernel["sv"]
        log_u, log_v = kernel["log_u"], kernel["log_v"]
    elif num_iter > 0 and M.shape[-1] * M.shape[-2] > 0:
        # Kernel start: the first iteration is a scaling step on the kernel
        # K = exp(log_u + log_v - M / reg) (one pass of maxima and one of
        # exponentials) instead of an exact sweep (three passes of
        # exponentials): the same update, v = b / (K^T 1), u = a / (K v).
        # When the largest log-entry of a column is outside [-tau, tau] (a
        # cold start at small reg, or potentials far from the plan), log_v is
        # first shifted by it so that every column of K has its maximum 1
        # (the v-update does not depend on log_v). A kernel that cannot
        # represent the step (a row entirely below the cutoff) is detected by
        # the step itself, which is then redone as an exact sweep.
        cmax = ops.col_max(M, inv_reg, log_u, log_v, active_mask())
        cm = xp.where(pos_b & xp.isfinite(cmax), cmax, xp.zeros_like(cmax))
        if not bool(xp.all(xp.abs(cm) <= tau)):
            log_v = xp.where(pos_b, log_v - cm, log_v)
        K = ops.exp_plan(M, inv_reg, log_u, log_v, cutoff, active_mask())
        su, sv = one_a, one_b

    def fold():
        """Potentials of the current state (absorbs the scalings, O(n + m))."""
        if K is None:
            return log_u, log_v
        lu = xp.where(pos_a, log_u + xp.log(xp.where(pos_a, su, xp.ones_like(su))), log_u)
        lv = xp.where(pos_b, log_v + xp.log(xp.where(pos_b, sv, xp.ones_like(sv))), log_v)
        return lu, lv

    # Lean stabilised steps for one NumPy problem with positive weights
    # (the common case): the same operations without the masks of a batch.
    fast = B == 1 and isinstance(M, np.ndarray) and bool(xp.all(pos_a)) and bool(xp.all(pos_b))
    if fast:
        a0, b0 = a[0, ...], b[0, ...]
        lo_s, hi_s = math.exp(-tau), math.exp(tau)
    mixed = mixed and fast and dtype == np.float64 and ops.numba
    K32 = K32_of = None
    # A zero row or column sum of the kernel (entries below the cutoff) makes
    # a scaling step divide by zero; the step detects it and is redone as an
    # exact sweep, so NumPy's warnings about it are silenced.
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        it = 0
        while it < num_iter:
            if fast and K is not None:
                it += 1
                K0 = K[0, ...]
                if mixed:
                    if K32_of is not K:
                        K32 = np.empty(K0.shape, dtype=np.float32)
                        ops.k.to_float32(K0, _F32_FLOOR, K32)
                        K32_of = K
                    kv = (su[0, ...].astype(np.float32) @ K32).astype(np.float64)
                    if float(np.sum(np.abs(sv[0, ...] * kv - b0))) <= _MIXED_ERR * float(np.sum(b0)):
                        # Near convergence (e.g. a warm start): float64 products from now on, this
                        # iteration included, so that float32 rounding never enters the potentials there.
                        mixed, K32 = False, None
                if not mixed:
                    kv = su[0, ...] @ K0
                e = float(np.sum(np.abs(sv[0, ...] * kv - b0)))
                err[0] = e
                if err_log is not None:
                    err_log.append(e)
                if e <= stop_thr:
                    it -= 1
                    active[0] = False
                    status = STATUS_CONVERGED
                    break
                new_sv = b0 / kv
                if mixed:
                    new_su = a0 / (K32 @ new_sv.astype(np.float32)).astype(np.float64)
                else:
                    new_su = a0 / (K0 @ new_sv)
                mn_u, mx_u, mn_v, mx_v = float(new_su.min()), float(new_su.max()), float(new_sv.min()), float(new_sv.max())
                if not (mn_u > 0 and mx_u < math.inf and mn_v > 0 and mx_v < math.inf):
                    # The frozen kernel cannot represent this step: redo it exactly.
                    log_u, log_v = fold()
                    K = None
                    it -= 1
                    if err_log is not None:
                        err_log.pop()
                    continue
                su, sv = new_su[None, :], new_sv[None, :]
                if mn_u < lo_s or mx_u > hi_s or mn_v < lo_s or mx_v > hi_s:
                    log_u, log_v = fold()
                    K = ops.exp_plan(M, inv_reg, log_u, log_v, cutoff, active_mask())
                    su, sv = one_a, one_b
                niter = niter + 1
                if monitor is not None:
                    x = fold() if monitor.callback is not None else None
                    if monitor(it, x, marginal_error=e):
                        status = STATUS_CALLBACK
                        break
                continue
            it += 1
            exact = K is None
            if exact:
                lse_c = ops.lse_cols(M, inv_reg, log_u, active_mask())
                col = xp.where(pos_b, xp.exp(log_v + lse_c), zero_b)
                new_v = xp.where(pos_b, log_b - lse_c, log_v)
            else:
                kv = _rmatvec(K, su, xp)
                col = sv * kv
                new_sv = xp.where(pos_b, b / xp.where(pos_b, kv, xp.ones_like(kv)), zero_b)

            e = xp.sum(xp.abs(col - b), axis=-1)
            err = xp.where(active, e, err)
            done = active & (e <= stop_thr)
            if err_log is not None:
                err_log.append(float(err[0]) if B == 1 else err)
            active = active & ~done
            n_active = int(xp.sum(xp.astype(active, xp.int32)))
            if n_active == 0:
                it -= 1
                status = STATUS_CONVERGED
                break
            upd = xp.expand_dims(active, -1)

            if exact:
                log_v = xp.where(upd, new_v, log_v)
                lse_r = ops.lse_rows(M, inv_reg, log_v, active_mask())
                log_u = xp.where(upd & pos_a, log_a - lse_r, log_u)
                K = ops.exp_plan(M, inv_reg, log_u, log_v, cutoff, active_mask())
                su, sv = one_a, one_b
            else:
                ku = _matvec(K, new_sv, xp)
                new_su = xp.where(pos_a, a / xp.where(pos_a, ku, xp.ones_like(ku)), zero_a)
                lsu = xp.log(xp.where(pos_a, new_su, xp.ones_like(new_su)))
                lsv = xp.log(xp.where(pos_b, new_sv, xp.ones_like(new_sv)))
                lsu = xp.where(upd, lsu, xp.zeros_like(lsu))
                lsv = xp.where(upd, lsv, xp.zeros_like(lsv))
                finite = bool(xp.all(xp.isfinite(lsu))) and bool(xp.all(xp.isfinite(lsv)))
                if not finite:
                    # The frozen kernel cannot represent this step: redo it exactly.
                    log_u, log_v = fold()
                    K = None
                    it -= 1
                    if err_log is not None:
                        err_log.pop()
                    continue
                su = xp.where(upd, new_su, su)
                sv = xp.where(upd, new_sv, sv)
                if bool(xp.max(xp.abs(lsu)) > tau) or bool(xp.max(xp.abs(lsv)) > tau):
                    log_u, log_v = fold()
                    K = ops.exp_plan(M, inv_reg, log_u, log_v, cutoff, active_mask())
                    su, sv = one_a, one_b
            niter = niter + xp.astype(active, xp.int64)

            if monitor is not None:
                x = fold() if monitor.callback is not None else None
                emax = float(xp.max(xp.where(active, err, xp.zeros_like(err))))
                if monitor(it, x, marginal_error=emax):
                    status = STATUS_CALLBACK
                    break

    if kernel is not None:
        kernel.update(K=K, su=su, sv=sv, log_u=log_u, log_v=log_v)
    log_u, log_v = fold()
    return log_u, log_v, err, niter, status


def _check_warmstart(warmstart, a, b, xp):
    """Validated starting potentials: finite, except ``-inf`` where the weight is 0.

    Potentials of zero-weight rows and columns are ``-inf`` in the returned
    ``log_u``, ``log_v``, so a round trip through ``warmstart`` accepts them
    there (any value there is ignored).
    """
    if warmstart is None:
        return xp.zeros_like(a), xp.zeros_like(b)
    try:
        wu, wv = warmstart
    except (TypeError, ValueError):
        raise TypeError("warmstart must be a pair (log_u, log_v) of dual potentials.") from None
    out = []
    for w, weights, name, wname in ((wu, a, "warmstart[0] (log_u)", "a"), (wv, b, "warmstart[1] (log_v)", "b")):
        w = check_array(w, name, xp=xp, ndim=weights.ndim, finite=False)
        if tuple(w.shape) != tuple(weights.shape):
            raise ValueError(f"{name} has shape {tuple(w.shape)}, expected {tuple(weights.shape)} (that of {wname}).")
        if not bool(xp.all(xp.isfinite(w) | ((w == -math.inf) & (weights == 0)))):
            raise ValueError(f"{name} must be finite, except -inf where {wname} is 0 (as returned for zero weights).")
        out.append(xp.astype(w, weights.dtype))
    return tuple(out)


_ATTAINABLE_ULPS = 50  # stopThr floor, in machine epsilons of the dtype (6e-6 in float32, 1e-14 in float64)


def _attainable_stop_thr(stop_thr, dtype, xp):
    """``stop_thr`` raised to the floor below which a marginal error is rounding noise in ``dtype``."""
    return max(stop_thr, _ATTAINABLE_ULPS * float(xp.finfo(dtype).eps))


def _prepare(a, b, M, reg, num_iter, stop_thr, engine):
    batched = _ndim(M) == 3
    xp, a, b, M, reg = check_ot_inputs(a, b, M, reg=reg, batch=batched)
    num_iter = check_scalar(num_iter, "numItermax", kind=numbers.Integral, lower=1)
    stop_thr = _attainable_stop_thr(check_scalar(stop_thr, "stopThr", lower=0.0), M.dtype, xp)
    check_cost_scale(M, reg, xp)
    numba = use_numba(xp, engine)
    if not batched:
        a, b, M = a[None, ...], b[None, ...], M[None, ...]
    if numba:
        M = np.ascontiguousarray(M)
    return xp, a, b, M, reg, num_iter, stop_thr, numba, batched


_POT_ARGS_DOC = """\
    a : array of shape (n,) or (B, n)
        Source histogram (nonnegative). Empty means uniform.
    b : array of shape (m,), (m, k) or (B, m)
        Target histogram with the same total mass as ``a``. Empty means
        uniform. With a 2-D ``M``, a 2-D ``b`` holds ``k`` target histograms
        (columns), as in POT: the ``k`` problems ``(a, b[:, j], M)`` are
        solved one after the other and their losses are returned (see
        Returns).
    M : array of shape (n, m) or (B, n, m)
        Cost matrix. A leading batch dimension solves ``B`` problems together
        (``a`` (B, n), ``b`` (B, m)), each with its own stopping test."""


def sinkhorn_log(
    a,
    b,
    M,
    reg,
    numItermax=1000,
    stopThr=1e-9,
    verbose=False,
    log=False,
    warn=True,
    warmstart=None,
    *,
    engine="auto",
    callback=None,
):
    r"""Entropic optimal transport by log-domain Sinkhorn iterations.

    Solves :math:`\min_{P \in U(a, b)} \langle P, M\rangle + \mathrm{reg}
    \sum_{ij} P_{ij} (\log P_{ij} - 1)` with POT's conventions and call
    shapes (``ot.bregman.sinkhorn_log``, i.e. ``ot.sinkhorn(a, b, M, reg,
    method="sinkhorn_log")``), stably for any ``reg > 0``: the iterates are
    dual potentials and nothing unbounded is exponentiated (see the module
    notes for the stabilised scaling steps).

    Parameters
    ----------
    {args}
    reg : float
        Entropic regularisation, > 0.
    numItermax : int
        Maximum number of iterations (one column and one row update each).
    stopThr : float
        Stop when the L1 marginal error ``||P^T 1 - b||_1`` is at most
        ``stopThr`` (row marginals are exact after each iteration). Checked
        at every iteration.
    verbose : bool or int
        Print the marginal error every ``verbose`` iterations.
    log : bool
        Also return a dict of diagnostics.
    warn : bool
        Emit a ``ConvergenceWarning`` when ``numItermax`` is reached before
        ``stopThr`` (``warn=False`` silences it; ``log["result"].success``
        still says so).
    warmstart : tuple of arrays (log_u, log_v), optional
        Initial dual potentials, as POT's ``warmstart`` (``f / reg``, ``g /
        reg``: the logarithms of the Sinkhorn scalings), shapes (n,) and
        (m,), or (B, n) and (B, m). With ``k`` target histograms: the pair
        ``(log_u, log_v)`` of shapes (n, k) and (m, k) returned in the log,
        or a sequence of ``k`` pairs (POT's ``warmstart[j]``).
    engine : {"auto", "numba", "xp"}
        ``"numba"`` uses numba kernels for the log-sum-exp sweeps and the
        kernel exponentials (NumPy only); ``"xp"`` array-API code;
        ``"auto"`` numba when available for NumPy input. Both engines run the
        same iterations (matrix-vector products go to BLAS either way).
    callback : callable, optional
        ``callback(intermediate_result)`` after each iteration, with ``x =
        (log_u, log_v)`` (stacked (1, n) / (1, m), or (B, ...)) and
        ``marginal_error``; raising ``StopIteration`` stops.

    Returns
    -------
    G : array of shape (n, m) or (B, n, m)
        Transport plan, in the namespace, device and dtype of the inputs.
        With ``k`` target histograms (``b`` of shape (m, k)), POT's
        convention: the array of the ``k`` transport costs ``<P_j, M>``
        instead (shape (k,)).
    log : dict
        Only when ``log=True``: ``niter`` (int, or array (B,)), ``err`` (L1
        column-marginal error at every iteration), ``log_u``, ``log_v``
        (potentials, POT's keys), ``u``, ``v`` (``exp`` of them), and
        ``result``: an :class:`~optlib.OptimizeResult` with ``x`` = ``plan``,
        ``fun`` (transport cost ``<P, M>``), ``nit``, ``success``,
        ``status``, ``marginal_error`` and ``history`` (marginal error and time
        per iteration). With ``k`` target histograms: ``log_u`` (n, k),
        ``log_v`` (m, k), ``u``, ``v`` (POT's keys), ``niter`` and ``err``
        (lists, one entry per histogram) and ``results`` (the ``k``
        :class:`~optlib.OptimizeResult`).

    Raises
    ------
    ValueError
        For invalid inputs, and when ``max|M| / reg`` is beyond what
        potentials of the dtype resolve (about 4.5e14 in float64, 8e5 in
        float32): the plan could not be computed accurately.

    Warns
    -----
    ConvergenceWarning
        When ``numItermax`` is reached before ``stopThr`` and ``warn`` is true.

    See Also
    --------
    sinkhorn_log2 : the same solve, returning the transport cost.

    Notes
    -----
    Inputs are never modified. float32 inputs are solved in float32;
    ``stopThr`` is raised to 50 machine epsilons of the dtype (about 6e-6 in
    float32), below which the marginal error is rounding noise.

    Differences from POT: the stopping test is the L1 marginal error checked
    at every iteration (POT: the L2 error every 10 iterations), and POT's
    extra ``**kwargs`` (ignored by POT) are not accepted.
    """
    return _pot_front(
        _sinkhorn_log, a, b, M, reg, warmstart, log, False,
        numItermax=numItermax, stopThr=stopThr, verbose=verbose, warn=warn, engine=engine, callback=callback,
    )


def sinkhorn_log2(
    a,
    b,
    M,
    reg,
    numItermax=1000,
    stopThr=1e-9,
    verbose=False,
    log=False,
    warn=True,
    warmstart=None,
    *,
    engine="auto",
    callback=None,
):
    r"""Transport cost of entropic OT by log-domain Sinkhorn (POT's ``ot.sinkhorn2``).

    Solves the problem of :func:`sinkhorn_log` and returns, as POT's
    ``ot.sinkhorn2(a, b, M, reg, method="sinkhorn_log")``, the transport cost
    :math:`\langle P, M\rangle` of the regularised plan (without the entropic
    term).

    Parameters
    ----------
    {args}
    reg, numItermax, stopThr, verbose, log, warn, warmstart, engine, callback
        As in :func:`sinkhorn_log`. ``warn`` defaults to true (POT's
        ``sinkhorn2`` defaults to ``warn=False``).

    Returns
    -------
    W : array of shape (), (B,) or (k,)
        Transport cost ``<P, M>`` of each problem, in the namespace, device
        and dtype of the inputs (a 0-d array for one problem).
    log : dict
        Only when ``log=True``: as in :func:`sinkhorn_log`.
    """
    return _pot_front(
        _sinkhorn_log, a, b, M, reg, warmstart, log, True,
        numItermax=numItermax, stopThr=stopThr, verbose=verbose, warn=warn, engine=engine, callback=callback,
    )


sinkhorn_log.__doc__ = sinkhorn_log.__doc__.replace("{args}", _POT_ARGS_DOC.strip())
sinkhorn_log2.__doc__ = sinkhorn_log2.__doc__.replace("{args}", _POT_ARGS_DOC.strip())


def _sinkhorn_log(a, b, M, reg, warmstart, *, numItermax, stopThr, verbose, warn, engine, callback):
    """One (or a batch of) :func:`sinkhorn_log` problem(s): returns ``(plan, log, cost)``."""
    xp, a3, b3, M3, reg, num_iter, stop_thr, numba, batched = _prepare(a, b, M, reg, numItermax, stopThr, engine)
    lu0, lv0 = _check_warmstart(warmstart, a3 if batched else a3[0, ...], b3 if batched else b3[0, ...], xp)
    if not batched:
        lu0, lv0 = lu0[None, ...], lv0[None, ...]
    ops = _Ops(xp, numba)
    monitor = IterationMonitor(callback, True, verbose, name="sinkhorn_log")
    errs = []
    log_u, log_v, err, niter, status = _sinkhorn_core(
        xp, a3, b3, M3, reg, num_iter=num_iter, stop_thr=stop_thr, log_u=lu0, log_v=lv0, ops=ops, monitor=monitor, err_log=errs
    )
    return _finish(xp, ops, a3, b3, M3, reg, log_u, log_v, err, niter, status, monitor, errs, batched, warn, "sinkhorn_log")


def _pot_front(solve, a, b, M, reg, warmstart, log, loss, **options):
    """POT's call shapes around ``solve(a, b, M, reg, warmstart, **options) -> (plan, log, cost)``.

    Returns the plan (``loss`` false) or the cost (``loss`` true), and the
    log when ``log``; with a 2-D ``M`` and a 2-D ``b`` (``k`` target
    histograms as columns), the ``k`` problems are solved one by one and the
    costs (k,) are returned whatever ``loss``, as POT's ``sinkhorn_log``.
    """
    if _ndim(M) == 2 and _ndim(b) == 2:
        return _multi_target(solve, a, b, M, reg, warmstart, log, options)
    P, info, cost = solve(a, b, M, reg, warmstart, **options)
    out = cost if loss else P
    return (out, info) if log else out


def _multi_target(solve, a, b, M, reg, warmstart, log, options):
    """``k`` problems ``(a, b[:, j], M)``: costs (k,) and POT's log of stacked potentials."""
    b = check_array(b, "b", ndim=2)
    xp = get_namespace(b)
    if _ndim(a) != 1:
        raise ValueError(f"a must be 1-dimensional when b holds several target histograms (m, k), got shape "
                         f"{tuple(np.shape(a)) if not hasattr(a, 'shape') else tuple(a.shape)}.")
    m_cost = M.shape[1] if hasattr(M, "shape") else np.shape(M)[1]
    if b.shape[0] != m_cost:
        raise ValueError(f"b has shape {tuple(b.shape)}, expected ({m_cost}, k) to match M (one target histogram "
                         "per column).")
    k = b.shape[1]
    starts = _split_warmstart(warmstart, k)
    costs, infos = [], []
    for j in range(k):
        _, info, cost = solve(a, b[:, j], M, reg, starts[j], **options)
        costs.append(cost)
        infos.append(info)
    costs = xp.stack(costs)
    if not log:
        return costs
    out = {
        "log_u": xp.stack([i["log_u"] for i in infos], axis=1),
        "log_v": xp.stack([i["log_v"] for i in infos], axis=1),
        "niter": [i["niter"] for i in infos],
        "err": [i["err"] for i in infos],
        "results": [i["result"] for i in infos],
    }
    with np.errstate(over="ignore"):
        out["u"], out["v"] = xp.exp(out["log_u"]), xp.exp(out["log_v"])
    return costs, out


def _split_warmstart(warmstart, k):
    """Per-histogram starting potentials: ``None``, a pair of (n, k) / (m, k) arrays, or ``k`` pairs."""
    if warmstart is None:
        return [None] * k
    try:
        parts = list(warmstart)
    except TypeError:
        raise TypeError("warmstart must be a pair (log_u, log_v) of dual potentials.") from None
    if len(parts) == 2 and all(_ndim(w) == 2 for w in parts):
        wu, wv = parts
        return [(wu[:, j], wv[:, j]) for j in range(k)]
    expected = (
        f"warmstart for {k} target histograms must be a pair (log_u, log_v) of shapes (n, {k}) and (m, {k}), "
        f"or a sequence of {k} pairs"
    )
    if any(getattr(w, "ndim", None) == 1 for w in parts):  # arrays, not pairs: one problem's potentials
        raise ValueError(f"{expected}; got 1-D arrays (the potentials of a single target histogram).")
    if len(parts) != k:
        raise ValueError(f"{expected}; got a sequence of {len(parts)}.")
    return parts


def _finish(xp, ops, a3, b3, M3, reg, log_u, log_v, err, niter, status, monitor, errs, batched, warn, solver, P=None,
            cost=None, **extra):
    """Plan, log dict and cost of a solve (shared with SNS): returns ``(plan, log, cost)``.

    ``P`` (B, n, m) and ``cost`` (B,), when given, are the plan of the
    potentials and its cost, already computed by the caller. The returned
    cost is an array of the inputs' namespace and device: 0-d for one
    problem, (B,) for a batch. ``warn``: warn when the solve did not converge.
    """
    if P is None:
        P = ops.exp_plan(M3, 1.0 / reg, log_u, log_v, -math.inf)
        cost = xp.sum(xp.reshape(P * M3, (P.shape[0], -1)), axis=-1)
    loss = cost
    if not batched:
        P, log_u, log_v, loss, err = P[0, ...], log_u[0, ...], log_v[0, ...], cost[0], float(err[0])
        cost = float(loss)
        nit = int(niter[0])
    else:
        nit = niter
    result = make_result(
        P,
        fun=cost,
        nit=nit,
        status=status,
        monitor=monitor,
        warn=warn,
        solver=solver,
        plan=P,
        marginal_error=err,
        log_u=log_u,
        log_v=log_v,
        **extra,
    )
    info = {
        "niter": nit,
        "err": errs,
        "log_u": log_u,
        "log_v": log_v,
        "result": result,
    }
    with np.errstate(over="ignore"):
        info["u"], info["v"] = xp.exp(log_u), xp.exp(log_v)
    return P, info, loss
