r"""Progressive partial optimal transport (SP2OT inner solver and semantic outer loop).

Source: Zhang, Ren, He, "SP^2OT: Semantic-Regularized Progressive Partial
Optimal Transport for Imbalanced Clustering" (arXiv 2404.03446).

Formulation
-----------
Rows are samples (histogram ``a``, total mass ``A = sum(a)``, ``A = 1`` in
SP2OT where ``a = 1/N``), columns are clusters with a prior ``b``. A fraction
``rho`` of the mass of ``a`` is transported; the rest goes to a *virtual
column* of zero cost. With ``Qt = [Q, q]`` the augmented (n, m + 1) plan
(``Q`` real columns, ``q`` the virtual one) the inner problem is::

    min_{Qt >= 0}  <C, Q> + reg * sum_ij Qt_ij (log Qt_ij - 1)
                   + reg_m * KL(Q^T 1 | rho A b / sum(b))
    s.t.  Qt 1 = a                    (exact row masses)
          q^T 1 = (1 - rho) A         (exact virtual-column mass)

with ``KL(x | y) = sum x log(x / y) - x + y``. The real column marginals are
only KL-relaxed toward the prior, but since rows and the virtual column are
exact the transported mass ``sum(Q)`` equals ``rho A`` exactly at the optimum.

Generalised (Chizat et al.) scaling in the log domain: with potentials
``log_u`` (n,), ``log_v`` (m + 1,) and ``Qt = exp(log_u_i + log_v_j - Ct_ij / reg)``::

    log_v_j <- phi_j (log bt_j - LSE_i(log_u_i - Ct_ij / reg))
    log_u_i <- log a_i - LSE_j(log_v_j - Ct_ij / reg)

where ``bt = [rho A b / sum(b), (1 - rho) A]`` and ``phi_j = reg_m / (reg_m
+ reg)`` for the real columns, ``phi = 1`` for the virtual column (exact).
Log-sum-exp uses the max shift, so nothing overflows or underflows at small
``reg``. Each of these updates maximises the (concave) dual exactly over its
block of potentials. Shifting ``(log_u + c, log_v - c)`` leaves the plan
unchanged and is seen only by the KL term, with strength ``delta = reg /
reg_m``; plain scaling moves along that direction by a factor ``1 / (1 +
delta)`` per iteration, i.e. in about ``1 / delta`` iterations (hopeless for
large ``reg_m``). After every row update we therefore also maximise the dual
exactly along it (the translation-invariant trick of Sejourne et al., 2022)::

    c = -log1p(sum_j w_j expm1(-delta log_v_j)) / delta,   w = prior / sum(prior)

which is well conditioned as ``delta -> 0`` (``c -> sum_j w_j log_v_j``). It is
one more exact block-ascent step, so convergence is preserved, and it makes
the iteration count essentially independent of ``reg_m``. After a column update the virtual column is exact and the real
columns satisfy the KKT (fixed-point) condition ``col_j = bt_j exp(-reg
log_v_j / reg_m)``; after a row update rows are exact. The stopping residual,
measured just before the column update, is the L1 violation of the column
conditions::

    err = sum_j | col_j - bt_j exp((1 - 1/phi_j) log_v_j) |

(the virtual term is ``|q^T 1 - (1 - rho) A|``), so the returned plan has rows
exact to rounding and column conditions within ``stopThr``.

Semantic outer loop (majorisation-minimisation): the objective gets
``- lambda <S, Q Q^T>`` for a kNN affinity ``S`` (n, n); it is linearised at the
current plan, giving the cost ``C_t = C - lambda (S + S^T) Q_t`` for the next
inner solve (warm-started). When ``S + S^T`` is positive semidefinite the
semantic term is concave, the linearisation is a majoriser and the outer
objective decreases monotonically (up to the inner tolerance).
"""

import math
import numbers

import numpy as np

from .._backend import device, to_host, use_numba
from .._result import (
    STATUS_CALLBACK,
    STATUS_CONVERGED,
    STATUS_MAX_ITER,
    STATUS_NUMERICAL,
    History,
    IterationMonitor,
    make_result,
)
from .._validation import check_array, check_scalar
from ._sinkhorn import _attainable_stop_thr, _ndim, _Ops
from ._validation import check_cost_scale, check_ot_inputs

__all__ = ["partial_progressive"]


def _lse(x, axis, xp):
    """Max-shifted log-sum-exp along ``axis`` (rows or columns of -inf give -inf)."""
    mx = xp.max(x, axis=axis, keepdims=True)
    mx = xp.where(xp.isfinite(mx), mx, xp.zeros_like(mx))
    return xp.log(xp.sum(xp.exp(x - mx), axis=axis)) + xp.squeeze(mx, axis=axis)


def _safe_log(w, pos, xp):
    return xp.where(pos, xp.log(xp.where(pos, w, xp.ones_like(w))), xp.full_like(w, -math.inf))


def _inner(
    xp, ops, Ct, inv_reg, log_a, pos_a, log_bt, pos_bt, phi, expo, log_u, log_v, gauge,
    *, num_iter, stop_thr, monitor, it0, outer, errs,
):
    """Generalised log-domain scaling on stacked augmented problems ``Ct`` (B, n, m + 1).

    ``log K = -Ct / reg``; potentials ``log_u`` (B, n), ``log_v`` (B, m + 1).
    The two log-sum-exp sweeps per iteration are the max-shifted kernels of
    :func:`sinkhorn_log` (numba on NumPy, array-API code otherwise). Each
    problem has its own stopping test; a stopped problem is frozen. Returns
    ``(log_u, log_v, err, niter, status)`` with ``err`` (B,) the residual of
    the returned potentials (rows exact, column conditions violated by
    ``err``) and ``niter`` (B,), a host NumPy array.
    """
    B = Ct.shape[0]
    dev = device(Ct)
    status = STATUS_MAX_ITER
    neg_inf_u, neg_inf_v = xp.full_like(log_u, -math.inf), xp.full_like(log_v, -math.inf)
    zero_v = xp.zeros_like(log_v)
    active = xp.ones((B,), dtype=xp.bool, device=dev)
    err = xp.full((B,), math.inf, dtype=Ct.dtype, device=dev)
    niter = xp.zeros((B,), dtype=xp.int64, device=dev)

    def mask():
        return np.asarray(active, dtype=np.uint8) if ops.numba else None

    for it in range(num_iter + 1):
        lse_c = ops.lse_cols(Ct, inv_reg, log_u, mask())
        col = xp.where(pos_bt, xp.exp(log_v + lse_c), zero_v)
        target = xp.where(pos_bt, xp.exp(log_bt + expo * xp.where(pos_bt, log_v, zero_v)), zero_v)
        err = xp.where(active, xp.sum(xp.abs(col - target), axis=-1), err)
        emax = float(xp.max(xp.where(active, err, xp.zeros_like(err))))
        if it > 0:
            errs.append(float(err[0]) if B == 1 else err)
            if monitor(it0 + it, (log_u, log_v[..., :-1]) if B > 1 else (log_u[0, ...], log_v[0, :-1]),
                       marginal_error=emax, outer=outer):
                status = STATUS_CALLBACK
                break
        if not math.isfinite(emax):
            status = STATUS_NUMERICAL
            break
        active = active & ~(err <= stop_thr)
        if not bool(xp.any(active)):
            status = STATUS_CONVERGED
            break
        if it == num_iter:
            break
        upd = xp.expand_dims(active, -1)
        log_v = xp.where(upd, xp.where(pos_bt, phi * (log_bt - lse_c), neg_inf_v), log_v)
        lse_r = ops.lse_rows(Ct, inv_reg, log_v, mask())
        log_u = xp.where(upd, xp.where(pos_a, log_a - lse_r, neg_inf_u), log_u)
        if gauge is not None:
            # exact dual ascent along the plan-invariant direction (log_u + c, log_v - c)
            w, delta, real = gauge
            gv = xp.where(real, log_v, zero_v)
            c = -xp.log1p(xp.sum(w * xp.expm1(-delta * gv), axis=-1)) / delta
            c = xp.expand_dims(xp.where(active, c, xp.zeros_like(c)), -1)
            log_u = log_u + c
            log_v = log_v - c
        niter = niter + xp.astype(active, xp.int64)
    return log_u, log_v, err, to_host(niter), status


def _log_plan(logK, log_u, log_v, xp):
    return xp.expand_dims(log_u, 1) + xp.expand_dims(log_v, 0) + logK


def _xlogx_minus_x(P, logP, xp):
    """sum P (log P - 1) with 0 log 0 = 0, from the log-plan (no log of a tiny number)."""
    pos = P > 0
    return xp.sum(xp.where(pos, P * (xp.where(pos, logP, xp.zeros_like(logP)) - 1.0), xp.zeros_like(P)))


def _kl(x, y, xp):
    """Generalised KL(x | y) = sum x log(x / y) - x + y, with 0 log 0 = 0."""
    pos = x > 0
    ratio = xp.where(pos, x / xp.where(y > 0, y, xp.ones_like(y)), xp.ones_like(x))
    return xp.sum(xp.where(pos, x * xp.log(ratio), xp.zeros_like(x)) - x + y)


def _objective(xp, C, S2, lam, reg, reg_m, prior, logPt, Pt):
    """Outer objective of the augmented plan ``Pt`` (n, m + 1) and the dropped-column plan."""
    P = Pt[:, :-1]
    val = xp.sum(P * C) + reg * _xlogx_minus_x(Pt, logPt, xp)
    if reg_m != math.inf:
        val = val + reg_m * _kl(xp.sum(P, axis=0), prior, xp)
    if S2 is not None:
        # <S, Q Q^T> = 0.5 <(S + S^T) Q, Q>
        val = val - 0.5 * lam * xp.sum(xp.matmul(S2, P) * P)
    return float(val)


def partial_progressive(
    a,
    b,
    M,
    reg,
    rho,
    *,
    reg_m=1.0,
    numItermax=1000,
    stopThr=1e-9,
    log=False,
    semantic=None,
    semantic_weight=0.0,
    n_outer=10,
    callback=None,
    verbose=False,
    engine="auto",
):
    r"""Progressive partial OT (SP2OT): mass ``rho``, exact rows, KL-relaxed column prior.

    Solves (see the module notes for the derivation)

    .. math::
        \min_{Q \ge 0,\ q \ge 0} \langle C, Q\rangle
        + \mathrm{reg} \sum_{ij} \tilde Q_{ij}(\log \tilde Q_{ij} - 1)
        + \mathrm{reg_m}\, \mathrm{KL}(Q^T 1 \,|\, \rho A\, b / b^T 1)
        - \lambda \langle S, Q Q^T\rangle

    subject to :math:`Q 1 + q = a` (exact row masses) and :math:`q^T 1 = (1 -
    \rho) A`, where :math:`\tilde Q = [Q, q]`, :math:`A = a^T 1` and ``q`` is
    the zero-cost virtual column absorbing the untransported mass. Hence
    :math:`Q^T 1` sums to :math:`\rho A` exactly (``rho`` itself when ``a``
    is a probability vector, as SP2OT's ``1/N`` rows). Without the semantic
    term (``lambda = 0``) the problem is convex and solved by log-domain
    generalised scaling; with it, by majorisation-minimisation: the cost
    becomes :math:`C - \lambda (S + S^T) Q_t` at outer step ``t``.

    Parameters
    ----------
    a : array of shape (n,) or (B, n)
        Sample (row) masses, nonnegative; empty means uniform ``1/n``.
    b : array of shape (m,) or (B, m)
        Column prior, nonnegative (rescaled to total mass ``rho A``); empty
        means uniform.
    M : array of shape (n, m) or (B, n, m)
        Cost matrix ``C`` (e.g. ``-log`` of predicted probabilities). A
        leading batch dimension solves ``B`` problems together: the inner
        scaling is vectorised over the batch, each problem with its own
        stopping test (the semantic outer loop of a batch runs problem by
        problem).
    reg : float
        Entropic regularisation ``eps`` > 0.
    rho : float in (0, 1]
        Fraction of the mass of ``a`` to transport.
    reg_m : float
        KL weight ``gamma`` > 0 on the column prior; ``float("inf")`` makes
        the real column marginals exact (``Q^T 1 = rho A b / sum(b)``).
    numItermax : int
        Maximum number of scaling iterations per inner solve.
    stopThr : float
        Stop an inner solve when the L1 residual of the column conditions
        (virtual-column mass error plus the KKT fixed-point residual of the
        relaxed columns, in mass units) is at most ``stopThr``; rows are exact.
    log : bool
        Also return a dict of diagnostics.
    semantic : array of shape (n, n), optional
        Sample affinity ``S`` (e.g. a kNN graph), finite; for a batch (n, n)
        shared by all problems or (B, n, n).
    semantic_weight : float
        ``lambda`` >= 0; the outer loop runs only when ``semantic`` is given
        and ``lambda > 0``.
    n_outer : int
        Maximum number of outer (majorisation) steps after the initial solve.
        The loop also stops when the outer objective changes by at most
        ``max(stopThr, 1e-12) * max(1, |objective|)``.
    callback : callable, optional
        ``callback(intermediate_result)`` after each inner iteration with ``x
        = (log_u, log_v)`` (real columns), ``marginal_error`` and ``outer``;
        raising ``StopIteration`` stops.
    verbose : bool or int
        Print the residual every ``verbose`` inner iterations and the outer
        objective at each outer step.
    engine : {"auto", "numba", "xp"}
        Kernels of the two log-sum-exp sweeps per scaling iteration: the
        numba kernels of :func:`sinkhorn_log` (NumPy only; 2.3-3.8x faster
        per iteration than the array-API path on one thread), or array-API
        code (any namespace, e.g. CuPy). Both give the same iterates up to
        rounding.

    Returns
    -------
    G : array of shape (n, m) or (B, n, m)
        Plan on the real columns (virtual column dropped), in the namespace
        and dtype of the inputs.
    log : dict
        Only when ``log=True``: ``niter`` (total inner iterations), ``err``
        (residual per inner iteration), ``log_u`` (n,), ``log_v`` (m,)
        potentials in units of ``1/reg`` (``G = exp(log_u + log_v - C_t /
        reg)`` with ``C_t`` the last cost used), ``log_v_virtual``,
        ``transported_mass`` (``sum(G)``, equals ``rho A``),
        ``virtual_mass``, ``n_outer`` (outer steps done), ``objective``
        (outer objective after the initial solve and each outer step) and
        ``result``: an :class:`~optlib.OptimizeResult` with ``x`` = ``plan``,
        ``fun`` (final objective), ``nit``, ``success``, ``status``,
        ``marginal_error``, ``transported_mass``, ``history`` (per inner
        iteration: residual, outer index, time) and ``outer_history`` (per
        outer step: objective, inner iterations, residual). For a batch,
        ``niter``, ``transported_mass``, ``virtual_mass``, ``log_v_virtual``
        and ``marginal_error`` are arrays (B,), ``log_u``, ``log_v`` are
        stacked, and ``objective`` holds one entry per problem.

    Warns
    -----
    ConvergenceWarning
        When an inner solve reaches ``numItermax`` before ``stopThr``.

    Notes
    -----
    Inputs are never modified. float32 inputs are solved in float32;
    ``stopThr`` is raised to 50 machine epsilons of the dtype (about 6e-6 in
    float32), below which the residual is rounding noise, as in
    :func:`sinkhorn_log`. ``max|M| / reg`` beyond what the dtype's potentials
    resolve raises ``ValueError`` (see :func:`sinkhorn_log`). The monotone decrease of the outer
    objective is guaranteed when ``S + S^T`` is positive semidefinite.
    """
    batched = _ndim(M) == 3
    xp, a, b, M, reg = check_ot_inputs(a, b, M, reg=reg, balanced=False, batch=batched)
    n, m = M.shape[-2:]
    rho = check_scalar(rho, "rho", lower=0.0, upper=1.0, lower_inclusive=False)
    if isinstance(reg_m, (int, float)) and not isinstance(reg_m, bool) and reg_m == math.inf:
        reg_m = math.inf
    else:
        reg_m = check_scalar(reg_m, "reg_m", lower=0.0, lower_inclusive=False)
    num_iter = check_scalar(numItermax, "numItermax", kind=numbers.Integral, lower=1)
    stop_thr = _attainable_stop_thr(check_scalar(stopThr, "stopThr", lower=0.0), M.dtype, xp)
    check_cost_scale(M, reg, xp)
    lam = check_scalar(semantic_weight, "semantic_weight", lower=0.0)
    n_outer = check_scalar(n_outer, "n_outer", kind=numbers.Integral, lower=0)
    numba = use_numba(xp, engine)
    dtype, dev = M.dtype, device(M)
    if batched:
        B = M.shape[0]
        if semantic is not None and lam > 0:
            # the semantic outer loop of a batch runs problem by problem
            S = check_array(semantic, "semantic", xp=xp, ndim=(2, 3))
            if tuple(S.shape) not in ((n, n), (B, n, n)):
                raise ValueError(
                    f"semantic has shape {tuple(S.shape)}, expected ({n}, {n}) or ({B}, {n}, {n}) for a batch."
                )
            outs = [
                partial_progressive(
                    a[i, ...], b[i, ...], M[i, ...], reg, rho, reg_m=reg_m, numItermax=num_iter, stopThr=stop_thr,
                    log=True, semantic=S if S.ndim == 2 else S[i, ...], semantic_weight=lam, n_outer=n_outer,
                    callback=callback, verbose=verbose, engine=engine,
                )
                for i in range(B)
            ]
            return _stack_batch(xp, outs, log)
        a3, b3, M3 = a, b, M
    else:
        a3, b3, M3 = a[None, ...], b[None, ...], M[None, ...]
        B = 1
    S2 = None
    if semantic is not None and not batched:
        S = check_array(semantic, "semantic", xp=xp, ndim=2)
        if tuple(S.shape) != (n, n):
            raise ValueError(
                f"semantic has shape {tuple(S.shape)}, expected ({n}, {n}) (one row and column per row of M)."
            )
        S = xp.astype(S, dtype) if S.dtype != dtype else S
        if lam > 0:
            S2 = S + S.T
    outer_steps = n_outer if S2 is not None else 0
    ops = _Ops(xp, numba)

    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        A = xp.sum(a3, axis=-1, keepdims=True)  # (B, 1)
        prior = (rho * A / xp.sum(b3, axis=-1, keepdims=True)) * b3  # (B, m)
        pos_a = a3 > 0
        log_a = _safe_log(a3, pos_a, xp)
        virt = xp.astype((1.0 - rho) * A, dtype)
        bt = xp.concat([prior, virt], axis=-1)  # (B, m + 1)
        pos_bt = bt > 0
        log_bt = _safe_log(bt, pos_bt, xp)
        phi_real = 1.0 if reg_m == math.inf else reg_m / (reg_m + reg)
        phi = xp.concat([xp.full((m,), phi_real, dtype=dtype, device=dev), xp.ones((1,), dtype=dtype, device=dev)])
        # fixed-point target exponent (1 - 1/phi) = -reg/reg_m on real columns, 0 on the virtual one
        expo_real = 0.0 if reg_m == math.inf else -reg / reg_m
        expo = xp.concat([xp.full((m,), expo_real, dtype=dtype, device=dev), xp.zeros((1,), dtype=dtype, device=dev)])
        zcol = xp.zeros((B, n, 1), dtype=dtype, device=dev)
        gauge = None
        if reg_m != math.inf:
            # weights of the real columns in the gauge step (zero on the virtual one)
            real = xp.concat([prior > 0, xp.zeros((B, 1), dtype=xp.bool, device=dev)], axis=-1)
            w = xp.where(real, bt / xp.sum(prior, axis=-1, keepdims=True), xp.zeros_like(bt))
            gauge = (w, reg / reg_m, real)

        def augmented(C):
            Ct = xp.concat([C, zcol], axis=-1)
            return np.ascontiguousarray(Ct) if numba else Ct

        inv_reg = 1.0 / reg
        log_u = xp.where(pos_a, xp.zeros_like(a3), xp.full_like(a3, -math.inf))
        log_v = xp.where(pos_bt, xp.zeros_like(bt), xp.full_like(bt, -math.inf))
        monitor = IterationMonitor(callback, True, verbose, name="partial_progressive")
        outer_hist = History()
        errs, objectives = [], []
        total = np.zeros(B, dtype=np.int64)
        status = STATUS_CONVERGED
        inner_failed = False
        C_t = M3
        outer_done = 0
        Pt = None
        for t in range(outer_steps + 1):
            if t > 0:
                C_t = M3 - lam * xp.matmul(S2, Pt[..., :-1])
            Ct = augmented(C_t)
            log_u, log_v, err, nit, st = _inner(
                xp, ops, Ct, inv_reg, log_a, pos_a, log_bt, pos_bt, phi, expo, log_u, log_v, gauge,
                num_iter=num_iter, stop_thr=stop_thr, monitor=monitor, it0=int(total.max()), outer=t, errs=errs,
            )  # fmt: skip
            total += nit
            logPt = xp.expand_dims(log_u, -1) + xp.expand_dims(log_v, -2) - Ct * inv_reg
            Pt = xp.exp(logPt)
            obj = [
                _objective(xp, M3[i, ...], S2, lam, reg, reg_m, prior[i, ...], logPt[i, ...], Pt[i, ...])
                for i in range(B)
            ]
            outer_done = t
            objectives.append(obj[0] if not batched else obj)
            if not batched:
                outer_hist.record(t, objective=obj[0], inner_iterations=int(nit[0]), marginal_error=float(err[0, ...]))
            if verbose:
                print(f"[partial_progressive] outer {t:3d}  objective={obj[0]:.10e}  inner_iter={int(nit.max())}  "
                      f"err={float(xp.max(err)):.3e}")
            if st == STATUS_MAX_ITER:
                inner_failed = True
            if st in (STATUS_CALLBACK, STATUS_NUMERICAL):
                status = st
                break
            if t > 0 and abs(obj[0] - objectives[-2]) <= max(stop_thr, 1e-12) * max(1.0, abs(obj[0])):
                break
        if status == STATUS_CONVERGED and inner_failed:
            status = STATUS_MAX_ITER

    P = Pt[..., :-1]
    mass = xp.sum(P, axis=(-2, -1))
    virtual_mass = xp.sum(Pt[..., -1], axis=-1)
    log_v_real = log_v[..., :-1]
    log_v_virtual = log_v[..., -1]
    if not batched:
        P, log_u, log_v_real = P[0, ...], log_u[0, ...], log_v_real[0, ...]
        mass, virtual_mass, log_v_virtual = float(mass[0, ...]), float(virtual_mass[0, ...]), float(log_v_virtual[0, ...])
        err, total = float(err[0, ...]), int(total[0])
    else:
        # per-problem diagnostics of a batch come to the host (as in a semantic batch)
        mass, virtual_mass, err = (np.asarray(to_host(v), dtype=np.float64) for v in (mass, virtual_mass, err))
        objectives = [[obj_t[i] for obj_t in objectives] for i in range(B)]  # one list per problem
    result = make_result(
        P,
        fun=np.asarray([o[-1] for o in objectives]) if batched else objectives[-1],
        nit=total,
        status=status,
        monitor=monitor,
        solver="partial_progressive",
        plan=P,
        marginal_error=err,
        transported_mass=mass,
        virtual_mass=virtual_mass,
        log_u=log_u,
        log_v=log_v_real,
        n_outer=outer_done,
        objective=objectives,
        outer_history=outer_hist,
    )
    if not log:
        return P
    info = {
        "niter": total,
        "err": errs,
        "log_u": log_u,
        "log_v": log_v_real,
        "log_v_virtual": log_v_virtual,
        "transported_mass": mass,
        "virtual_mass": virtual_mass,
        "n_outer": outer_done,
        "objective": objectives,
        "result": result,
    }
    return P, info


def _stack_batch(xp, outs, log):
    """Stack per-problem ``(plan, log)`` results of a batch (semantic outer loop)."""
    P = xp.stack([o[0] for o in outs])
    if not log:
        return P
    logs = [o[1] for o in outs]
    bad = [lg["result"].status for lg in logs if lg["result"].status != STATUS_CONVERGED]
    status = bad[0] if bad else STATUS_CONVERGED
    info = {
        "niter": np.asarray([lg["niter"] for lg in logs]),
        "err": [lg["err"] for lg in logs],
        "log_u": xp.stack([lg["log_u"] for lg in logs]),
        "log_v": xp.stack([lg["log_v"] for lg in logs]),
        "log_v_virtual": np.asarray([lg["log_v_virtual"] for lg in logs]),
        "transported_mass": np.asarray([lg["transported_mass"] for lg in logs]),
        "virtual_mass": np.asarray([lg["virtual_mass"] for lg in logs]),
        "n_outer": np.asarray([lg["n_outer"] for lg in logs]),
        "objective": [lg["objective"] for lg in logs],
    }
    info["result"] = make_result(
        P, fun=np.asarray([lg["result"].fun for lg in logs]), nit=info["niter"], status=status, monitor=None, warn=False,
        solver="partial_progressive", plan=P, marginal_error=np.asarray([lg["result"].marginal_error for lg in logs]),
        transported_mass=info["transported_mass"], virtual_mass=info["virtual_mass"], log_u=info["log_u"],
        log_v=info["log_v"], n_outer=info["n_outer"], objective=info["objective"],
    )
    return P, info
