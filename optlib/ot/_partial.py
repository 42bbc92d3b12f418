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

from .._backend import device
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
from ._validation import check_ot_inputs

__all__ = ["partial_progressive"]


def _lse(x, axis, xp):
    """Max-shifted log-sum-exp along ``axis`` (rows or columns of -inf give -inf)."""
    mx = xp.max(x, axis=axis, keepdims=True)
    mx = xp.where(xp.isfinite(mx), mx, xp.zeros_like(mx))
    return xp.log(xp.sum(xp.exp(x - mx), axis=axis)) + xp.squeeze(mx, axis=axis)


def _safe_log(w, pos, xp):
    return xp.where(pos, xp.log(xp.where(pos, w, xp.ones_like(w))), xp.full_like(w, -math.inf))


def _inner(
    xp, logK, log_a, pos_a, log_bt, pos_bt, phi, expo, log_u, log_v, gauge,
    *, num_iter, stop_thr, monitor, it0, outer, errs,
):
    """Generalised log-domain scaling on the augmented problem ``logK = -Ct / reg`` (n, m + 1).

    Returns ``(log_u, log_v, err, niter, status)``; ``err`` is the residual of
    the returned potentials (rows exact, column conditions violated by ``err``).
    """
    status = STATUS_MAX_ITER
    neg_inf_u, neg_inf_v = xp.full_like(log_u, -math.inf), xp.full_like(log_v, -math.inf)
    zero_v = xp.zeros_like(log_v)
    err = math.inf
    niter = 0
    for it in range(num_iter + 1):
        lse_c = _lse(xp.expand_dims(log_u, 1) + logK, 0, xp)
        col = xp.where(pos_bt, xp.exp(log_v + lse_c), zero_v)
        target = xp.where(pos_bt, xp.exp(log_bt + expo * xp.where(pos_bt, log_v, zero_v)), zero_v)
        err = float(xp.sum(xp.abs(col - target)))
        if it > 0:
            errs.append(err)
            if monitor(it0 + it, (log_u, log_v[:-1]), marginal_error=err, outer=outer):
                status = STATUS_CALLBACK
                break
        if not math.isfinite(err):
            status = STATUS_NUMERICAL
            break
        if err <= stop_thr:
            status = STATUS_CONVERGED
            break
        if it == num_iter:
            break
        log_v = xp.where(pos_bt, phi * (log_bt - lse_c), neg_inf_v)
        lse_r = _lse(xp.expand_dims(log_v, 0) + logK, 1, xp)
        log_u = xp.where(pos_a, log_a - lse_r, neg_inf_u)
        if gauge is not None:
            # exact dual ascent along the plan-invariant direction (log_u + c, log_v - c)
            w, delta, real = gauge
            gv = xp.where(real, log_v, zero_v)
            c = -math.log1p(float(xp.sum(w * xp.expm1(-delta * gv)))) / delta
            log_u = log_u + c
            log_v = log_v - c
        niter += 1
    return log_u, log_v, err, niter, status


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
    a : array of shape (n,)
        Sample (row) masses, nonnegative; empty means uniform ``1/n``.
    b : array of shape (m,)
        Column prior, nonnegative (rescaled to total mass ``rho A``); empty
        means uniform.
    M : array of shape (n, m)
        Cost matrix ``C`` (e.g. ``-log`` of predicted probabilities).
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
        Sample affinity ``S`` (e.g. a kNN graph), finite.
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

    Returns
    -------
    G : array of shape (n, m)
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
        outer step: objective, inner iterations, residual).

    Warns
    -----
    ConvergenceWarning
        When an inner solve reaches ``numItermax`` before ``stopThr``.

    Notes
    -----
    Inputs are never modified. float32 inputs are solved in float32 (reach
    ``stopThr`` of about ``1e-6``). The monotone decrease of the outer
    objective is guaranteed when ``S + S^T`` is positive semidefinite.
    """
    xp, a, b, M, reg = check_ot_inputs(a, b, M, reg=reg, balanced=False)
    n, m = M.shape
    rho = check_scalar(rho, "rho", lower=0.0, upper=1.0, lower_inclusive=False)
    if isinstance(reg_m, (int, float)) and not isinstance(reg_m, bool) and reg_m == math.inf:
        reg_m = math.inf
    else:
        reg_m = check_scalar(reg_m, "reg_m", lower=0.0, lower_inclusive=False)
    num_iter = check_scalar(numItermax, "numItermax", kind=numbers.Integral, lower=1)
    stop_thr = check_scalar(stopThr, "stopThr", lower=0.0)
    lam = check_scalar(semantic_weight, "semantic_weight", lower=0.0)
    n_outer = check_scalar(n_outer, "n_outer", kind=numbers.Integral, lower=0)
    dtype, dev = M.dtype, device(M)
    S2 = None
    if semantic is not None:
        S = check_array(semantic, "semantic", xp=xp, ndim=2)
        if tuple(S.shape) != (n, n):
            raise ValueError(
                f"semantic has shape {tuple(S.shape)}, expected ({n}, {n}) (one row and column per row of M)."
            )
        S = xp.astype(S, dtype) if S.dtype != dtype else S
        if lam > 0:
            S2 = S + S.T
    outer_steps = n_outer if S2 is not None else 0

    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        A = xp.sum(a)
        prior = (rho * A / xp.sum(b)) * b
        pos_a = a > 0
        log_a = _safe_log(a, pos_a, xp)
        virt = xp.reshape((1.0 - rho) * A, (1,))
        bt = xp.concat([prior, xp.astype(virt, dtype)])
        pos_bt = bt > 0
        log_bt = _safe_log(bt, pos_bt, xp)
        phi_real = 1.0 if reg_m == math.inf else reg_m / (reg_m + reg)
        phi = xp.concat([xp.full((m,), phi_real, dtype=dtype, device=dev), xp.ones((1,), dtype=dtype, device=dev)])
        # fixed-point target exponent (1 - 1/phi) = -reg/reg_m on real columns, 0 on the virtual one
        expo_real = 0.0 if reg_m == math.inf else -reg / reg_m
        expo = xp.concat([xp.full((m,), expo_real, dtype=dtype, device=dev), xp.zeros((1,), dtype=dtype, device=dev)])
        zcol = xp.zeros((n, 1), dtype=dtype, device=dev)
        gauge = None
        if reg_m != math.inf:
            # weights of the real columns in the gauge step (zero on the virtual one)
            real = xp.concat([prior > 0, xp.zeros((1,), dtype=xp.bool, device=dev)])
            w = xp.where(real, bt / xp.sum(prior), xp.zeros_like(bt))
            gauge = (w, reg / reg_m, real)

        def log_kernel(C):
            return xp.concat([C * (-1.0 / reg), zcol], axis=1)

        log_u = xp.where(pos_a, xp.zeros_like(a), xp.full_like(a, -math.inf))
        log_v = xp.where(pos_bt, xp.zeros_like(bt), xp.full_like(bt, -math.inf))
        monitor = IterationMonitor(callback, True, verbose, name="partial_progressive")
        outer_hist = History()
        errs, objectives = [], []
        total = 0
        status = STATUS_CONVERGED
        inner_failed = False
        C_t = M
        outer_done = 0
        Pt = None
        for t in range(outer_steps + 1):
            if t > 0:
                C_t = M - lam * xp.matmul(S2, Pt[:, :-1])
            logK = log_kernel(C_t)
            log_u, log_v, err, nit, st = _inner(
                xp, logK, log_a, pos_a, log_bt, pos_bt, phi, expo, log_u, log_v, gauge,
                num_iter=num_iter, stop_thr=stop_thr, monitor=monitor, it0=total, outer=t, errs=errs,
            )  # fmt: skip
            total += nit
            logPt = _log_plan(logK, log_u, log_v, xp)
            Pt = xp.exp(logPt)
            obj = _objective(xp, M, S2, lam, reg, reg_m, prior, logPt, Pt)
            outer_done = t
            objectives.append(obj)
            outer_hist.record(t, objective=obj, inner_iterations=nit, marginal_error=err)
            if verbose:
                print(f"[partial_progressive] outer {t:3d}  objective={obj:.10e}  inner_iter={nit}  err={err:.3e}")
            if st == STATUS_MAX_ITER:
                inner_failed = True
            if st in (STATUS_CALLBACK, STATUS_NUMERICAL):
                status = st
                break
            if t > 0 and abs(obj - objectives[-2]) <= max(stop_thr, 1e-12) * max(1.0, abs(obj)):
                break
        if status == STATUS_CONVERGED and inner_failed:
            status = STATUS_MAX_ITER

    P = Pt[:, :-1]
    mass = float(xp.sum(P))
    virtual_mass = float(xp.sum(Pt[:, -1]))
    log_v_real = log_v[:-1]
    log_v_virtual = float(log_v[-1])
    result = make_result(
        P,
        fun=objectives[-1],
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
