"""Sparsity-constrained optimal transport (Liu, Puigcerver & Blondel, ICLR 2023).

The transport plan is regularised by ``Omega(t) = (gamma / 2) ||t||^2`` on
``t >= 0`` with at most ``k = max_nz`` nonzeros per column. Both the dual and
the semi-dual of the regularised problem are concave programs,
differentiable except where the top-``k`` support changes, solved with
SciPy's L-BFGS-B and finished by a bundle (epsilon-descent) stage that gets
past kinks and certifies stationarity; their objectives and gradients use exact top-``k``
conjugates, evaluated for all columns at once (a fused numba kernel on NumPy,
a vectorized array-API path otherwise).
"""

import numbers

import numpy as np

from .._backend import device, is_numpy_namespace, to_host, to_namespace, use_numba
from .._result import (
    STATUS_CALLBACK,
    STATUS_CONVERGED,
    STATUS_MAX_ITER,
    STATUS_NUMERICAL,
    IterationMonitor,
    make_result,
)
from .._validation import check_option, check_scalar
from ..functions._projections import TopKSimplex
from ._validation import check_ot_inputs

__all__ = ["sparsity_constrained_ot"]

_FORMULATIONS = ("semi_dual", "dual")
_MAX_RESTARTS = 1
_AXES = ("columns", "rows")


def sparsity_constrained_ot(
    a,
    b,
    M,
    reg,
    max_nz,
    *,
    formulation="semi_dual",
    numItermax=1000,
    stopThr=1e-9,
    log=False,
    axis="columns",
    callback=None,
    verbose=False,
    engine="auto",
    maxcor=10,
):
    r"""Sparsity-constrained optimal transport: at most ``max_nz`` nonzeros per column.

    Solves (Liu, Puigcerver & Blondel, 2023)

    .. math::
        \min_{T \ge 0,\ T 1 = a,\ T^\top 1 = b,\ \|t_j\|_0 \le k}
        \langle T, M\rangle + \frac{\gamma}{2} \|T\|_F^2

    with ``gamma = reg`` and ``k = max_nz``, through one of two concave
    relaxations (differentiable almost everywhere; smooth for ``k >= n``):

    * ``"dual"``: :math:`\max_{\alpha,\beta} \alpha^\top a + \beta^\top b -
      \sum_j \delta^*(\alpha + \beta_j 1 - m_j)`, with
      :math:`\delta^*(x) = \frac{1}{2\gamma} \sum_{\text{top-}k}[x_i]_+^2`;
      plan :math:`T = [\text{column-wise top-}k \text{ of } (\alpha 1^\top +
      1 \beta^\top - M)]_+ / \gamma`.
    * ``"semi_dual"``: :math:`\max_{\alpha} \alpha^\top a - \sum_j b_j
      \max\Omega_j(\alpha - m_j)`, the inner maximum over the ``k``-sparse
      simplex (sparse simplex projection,
      :class:`~optlib.functions.TopKSimplex`); plan
      :math:`t_j = b_j P_{\Delta,k}((\alpha - m_j) / (\gamma b_j))`, whose
      columns sum to ``b`` exactly and have at most ``k`` nonzeros.

    Argument names and the returned plan follow POT's
    ``ot.smooth.smooth_ot_dual`` / ``smooth_ot_semi_dual`` with
    ``reg_type="sparsity_constrained"``.

    Parameters
    ----------
    a : array of shape (n,)
        Source weights (nonnegative; empty means uniform).
    b : array of shape (m,)
        Target weights, same total mass as ``a``.
    M : array of shape (n, m)
        Finite cost matrix.
    reg : float
        Regularisation strength ``gamma > 0``. Small values approach
        unregularised OT (``max_nz = 1`` then approaches the EMD cost when an
        assignment is optimal).
    max_nz : int
        Maximum number of nonzeros per column (per row when
        ``axis="rows"``), at least 1. Values at least the column length give
        quadratically regularised OT (POT's ``reg_type="l2"``).
    formulation : {"semi_dual", "dual"}, default="semi_dual"
        Which relaxation is maximised. The semi-dual gives exact column
        marginals; the dual optimises both potentials.
    numItermax : int, default=1000
        Maximum number of iterations: L-BFGS iterations plus steps of the
        bundle stage.
    stopThr : float, default=1e-9
        Stationarity tolerance. L-BFGS-B runs with ``gtol = stopThr`` on the
        projected gradient and ``ftol = stopThr / 1000`` on the relative
        decrease (tighter than POT's ``ftol = stopThr``). When it stalls (at
        a kink of the objective, see Notes) it is restarted once from there
        with a fresh memory (for the dual from the exact maximiser in
        ``beta`` for the current ``alpha``). A bundle stage (epsilon-descent
        with Wolfe's minimum-norm direction) then continues until a convex
        combination of gradients from an ever smaller neighbourhood has all
        entries (marginal residuals) at most ``max(stopThr, 1e-6 sum(a))`` in
        absolute value: only this certificate counts as convergence.
    log : bool, default=False
        Also return a dict with the potentials and solver details.
    axis : {"columns", "rows"}, default="columns"
        ``"rows"`` bounds the nonzeros per row instead, by solving the
        transposed problem.
    callback : callable, optional
        ``callback(intermediate_result)`` after every L-BFGS iteration; the
        :class:`~optlib.OptimizeResult` holds ``x`` (the potentials being
        optimised, in the input's namespace), ``nit`` and ``objective``.
        Raising ``StopIteration`` stops the solver.
    verbose : bool or int, default=False
        Print the objective every ``verbose`` iterations.
    engine : {"auto", "numba", "xp"}, default="auto"
        ``"auto"`` uses the fused numba kernels for NumPy inputs when numba is
        available, the vectorized array-API path otherwise.
    maxcor : int, default=10
        Number of L-BFGS correction pairs. The default is SciPy's and POT's:
        from the same start the iterates then track POT's until it stops,
        and the tighter tolerances and restarts only take them further.

    Returns
    -------
    plan : array of shape (n, m)
        Transport plan, in the namespace, device and floating dtype of the
        inputs (float32 only when all inputs are float32).
    log : dict
        Only when ``log=True``: ``"alpha"`` (potential of ``a``) and
        ``"beta"`` (potential of ``b``) -- for the semi-dual only the
        optimised one, ``alpha`` for ``axis="columns"``, ``beta`` for
        ``axis="rows"`` --, ``"fun"`` (value of the maximised dual or
        semi-dual objective), ``"cost"`` (``<T, M>``), ``"niter"``
        (iterations) and ``"result"`` (an :class:`~optlib.OptimizeResult`
        with ``x`` -- the optimised potentials as one vector, ``(alpha,
        beta)`` for the dual, of the transposed problem when
        ``axis="rows"`` --, ``fun``, ``nit``, ``nfev``, ``restarts``,
        ``bundle_steps``, ``success``, ``status``, ``message``, ``lbfgs_message``, ``plan``
        and ``history``).

    Raises
    ------
    ValueError
        For ``max_nz`` not an integer >= 1, ``reg <= 0``, unequal masses,
        negative weights, non-finite entries, or shape mismatches.

    Warns
    -----
    ConvergenceWarning
        When ``numItermax`` (or L-BFGS's evaluation budget) runs out before
        stationarity is certified; the best iterate is returned.

    Notes
    -----
    L-BFGS-B runs on the host (SciPy). With the numba engine the whole solve
    is on the host in float64. With the array-API engine the objective and
    gradient are evaluated in the inputs' namespace and device (float64), and
    the potentials (size ``n`` or ``n + m``) are copied explicitly between
    host and device with :func:`~optlib._backend.to_host` /
    :func:`~optlib._backend.to_namespace` at every evaluation; the plan is
    built on the device.

    Both objectives are evaluated exactly: the top-``k`` selection (and, for
    the semi-dual, the sparse simplex projection of Kyrillidis et al., 2013)
    is exact, so gradients follow from Danskin's theorem. For ``max_nz``
    below the column length the objectives are not differentiable where the
    top-``k`` support changes (a tie for the ``k``-th place), the primal
    problem is nonconvex and the plan from the optimal potentials only
    approximately meets the marginal of the unconstrained side. Unlike POT, any
    ``max_nz`` from 1 upwards works and the inputs are never modified.

    References
    ----------
    T. Liu, J. Puigcerver, M. Blondel, "Sparsity-Constrained Optimal
    Transport", ICLR 2023. M. Blondel, V. Seguy, A. Rolet, "Smooth and Sparse
    Optimal Transport", AISTATS 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from optlib.ot import sparsity_constrained_ot
    >>> rng = np.random.default_rng(0)
    >>> M = rng.random((6, 4))
    >>> a, b = np.full(6, 1 / 6), np.full(4, 1 / 4)
    >>> T = sparsity_constrained_ot(a, b, M, reg=0.1, max_nz=2)
    >>> bool(((T > 0).sum(axis=0) <= 2).all()), np.allclose(T.sum(axis=0), b)
    (True, True)
    """
    xp, a, b, M, reg = check_ot_inputs(a, b, M, reg=reg)
    max_nz = _check_max_nz(max_nz)
    check_option(formulation, "formulation", _FORMULATIONS)
    check_option(axis, "axis", _AXES)
    numItermax = check_scalar(numItermax, "numItermax", kind=numbers.Integral, lower=1)
    stopThr = check_scalar(stopThr, "stopThr", lower=0.0, lower_inclusive=False)
    maxcor = check_scalar(maxcor, "maxcor", kind=numbers.Integral, lower=1)
    numba = use_numba(xp, engine)
    monitor = IterationMonitor(callback, record_history=bool(log), verbose=verbose, name="sparsity_constrained_ot")

    dtype = M.dtype
    dev = device(M)
    rows = axis == "rows"
    if rows:  # k-sparse rows = k-sparse columns of the transposed problem
        a, b, M = b, a, M.T
    n, m = M.shape
    k = min(max_nz, n)

    if numba:
        problem = _NumbaProblem(a, b, M, reg, k)
    else:
        problem = _XpProblem(xp, a, b, M, reg, k, dev)
    dual = formulation == "dual"
    fun = problem.dual if dual else problem.semi_dual
    size = n + m if dual else n
    mass = float(xp.sum(a))

    def to_user(x):
        return to_namespace(np.array(x, dtype=np.float64), xp, dev)

    def scipy_callback(intermediate_result):
        nit = scipy_callback.nit = scipy_callback.nit + 1
        x = to_user(intermediate_result.x) if monitor.callback is not None else None
        if monitor(nit, x, objective=-float(intermediate_result.fun)):
            raise StopIteration

    scipy_callback.nit = 0
    from scipy.optimize import minimize

    options = dict(ftol=stopThr * 1e-3, gtol=stopThr, maxcor=maxcor, maxls=50)
    use_cb = monitor.callback is not None or monitor.every or monitor.history is not None
    x, f, nit, nfev, restarts = np.zeros(size), np.inf, 0, 0, 0
    with _single_threaded_blas():
        # The objectives are nonsmooth where the top-k support changes; L-BFGS
        # may stall at such a kink (ftol or line-search stop). A restart from
        # the stalled point with a fresh memory sometimes gets past it cheaply;
        # the bundle stage below does so reliably.
        while True:
            res = minimize(
                fun,
                x,
                method="L-BFGS-B",
                jac=True,
                callback=scipy_callback if use_cb else None,
                options=dict(options, maxiter=numItermax - nit),
            )
            nit += int(res.nit)
            nfev += int(res.nfev)
            f_prev = f
            if res.fun <= f or not np.isfinite(f):
                x, f = res.x, res.fun
            if dual and res.status in (0, 2) and np.all(np.isfinite(x)):
                # exact block ascent in beta (separable: the semi-dual threshold)
                x_br = np.concatenate((x[:n], problem.beta_best_response(x[:n])))
                f_br, _ = fun(x_br)
                nfev += 1
                if f_br < f:
                    x, f = x_br, f_br
            improved = f < f_prev - 1e-13 * max(1.0, abs(f_prev)) if np.isfinite(f_prev) else True
            if res.status != 0 and res.status != 2 or not improved or nit >= numItermax or restarts >= _MAX_RESTARTS:
                break
            if not np.all(np.isfinite(res.x)) or not np.isfinite(res.fun):
                break
            restarts += 1
        lbfgs_stopped = res.status not in (0, 2) or "callback" in str(res.message).lower()
        certified, steps, stopped = False, 0, False
        if not lbfgs_stopped and nit < numItermax and np.all(np.isfinite(x)) and np.isfinite(f):
            # L-BFGS's tests (a small relative decrease, a failed line search)
            # also stop it at non-stationary kinks: only a bundle certificate
            # of stationarity counts as convergence.
            x, f, certified, steps, nfev_b, stopped = _bundle_descent(
                fun, x, gtol=max(stopThr, _CERT_RTOL * mass), max_steps=numItermax - nit, monitor=monitor if use_cb else None,
                nit0=nit, to_user=to_user,
            )
            nit += steps
            nfev += nfev_b
    if not np.all(np.isfinite(x)) or not np.isfinite(f):
        status = STATUS_NUMERICAL
    elif res.status == 99 or "callback" in str(res.message).lower() or stopped:
        status = STATUS_CALLBACK
    elif certified:
        status = STATUS_CONVERGED
    else:  # iteration or evaluation budget exhausted before a stationarity certificate
        status = STATUS_MAX_ITER
    plan = problem.dual_plan(x) if dual else problem.semi_dual_plan(x)
    plan = xp.astype(plan, dtype) if plan.dtype != dtype else plan
    if rows:
        plan = plan.T

    result = make_result(
        to_user(x),
        fun=-float(f),
        nit=nit,
        status=status,
        monitor=monitor,
        solver=f"sparsity_constrained_ot({formulation!r})",
        nfev=nfev,
        restarts=restarts,
        bundle_steps=steps,
        lbfgs_message=str(res.message),
        plan=plan,
    )
    if not log:
        return plan
    first, second = ("beta", "alpha") if rows else ("alpha", "beta")
    out = {first: xp.astype(to_user(x[:n]), dtype)}
    if dual:
        out[second] = xp.astype(to_user(x[n:]), dtype)
    out.update(fun=result.fun, cost=float(xp.sum(plan * (M.T if rows else M))), niter=result.nit, result=result)
    return plan, out


# Bundle stage (epsilon-descent): trial steps of length delta, from _DELTA0 down
# to _DELTA_MIN (relative to max(1, max|x|)), backtracked down to _BACKTRACK
# delta; a step is taken when it decreases the objective by _DESCENT of the
# first-order prediction.
_DELTA0, _DELTA_MIN, _DELTA_SHRINK, _DESCENT, _BACKTRACK = 1e-2, 1e-11, 0.1, 0.1, 1e-3
_MAX_BUNDLE = 200
_CERT_RTOL = 1e-6  # stationarity certified to max(stopThr, _CERT_RTOL * total mass) in marginal residual


def _bundle_descent(fun, x, *, gtol, max_steps, monitor, nit0, to_user):
    """Minimise the convex, piecewise-smooth ``fun`` from ``x`` by epsilon-descent.

    A bundle of gradients ``g_i`` at points ``y_i`` is kept; those whose
    linearisation error ``e_i = f(x) - f(y_i) - g_i . (x - y_i)`` (>= 0 by
    convexity) is at most ``eps = 2 delta max|g|`` are ``eps``-subgradients at
    ``x``. The direction is minus the minimum-norm point ``d`` of their convex
    hull (Wolfe's algorithm). A trial step of length ``delta`` along ``-d``
    either decreases ``f`` enough (then it is extended by doublings while ``f``
    decreases) or adds its gradient to the bundle, which makes ``|d|``
    strictly smaller (Wolfe's / Lemarechal's descent argument). When
    ``max|d| <= gtol``, ``delta`` shrinks; at ``delta <= _DELTA_MIN`` (or when
    ``d`` is the gradient at ``x`` itself) ``x`` is certified stationary:
    ``f(x) <= min f + eps + |d| dist(x, argmin)``.

    Unlike L-BFGS, this does not stall at kinks where the top-k support
    changes: there the bundle collects the gradients of the pieces meeting at
    the kink, and their minimum-norm combination is an ascent direction of the
    concave (semi-)dual along the kink, or certifies that there is none.

    Returns ``(x, f, certified, steps, nfev, stopped)``: ``steps``
    iterations (each a serious or a null step, reported to ``monitor``),
    ``nfev`` objective evaluations, ``stopped`` when the callback asked to
    stop.
    """
    f, g = fun(x)
    scale = max(1.0, float(np.max(np.abs(x))))
    # below delta_min the descent test f(y) <= f - _DESCENT t |d|^2 at |d| ~ gtol
    # would be decided by rounding errors of f
    delta0 = _DELTA0 * scale
    delta_min = max(_DELTA_MIN * scale, 100 * np.finfo(np.float64).eps * max(abs(f), 1e-300) / (_DESCENT * gtol))
    delta, g0 = delta0, float(np.max(np.abs(g)))
    gmax = max(float(np.linalg.norm(g)), gtol)
    Y, F, G = [], [], []  # bundle (the current point's own gradient is always in it)
    steps, nfev = 0, 1

    def record():
        return monitor is not None and monitor(nit0 + steps, to_user(x) if monitor.callback else None, objective=-f)

    while steps < max_steps:
        if Y:  # keep the eps-subgradients at x
            err = f - np.array(F) - np.einsum("ij,ij->i", np.array(G), x - np.array(Y))
            keep = np.flatnonzero(err <= 2.0 * delta * gmax)
            Y, F, G = [Y[i] for i in keep], [F[i] for i in keep], [G[i] for i in keep]
        if len(Y) > _MAX_BUNDLE:
            Y, F, G = Y[-_MAX_BUNDLE:], F[-_MAX_BUNDLE:], G[-_MAX_BUNDLE:]
        d = _min_norm_point(np.array([g] + G))
        d_max = float(np.max(np.abs(d)))
        if d_max <= gtol and (not Y or delta <= delta_min):
            return x, f, True, steps, nfev, False
        if d_max <= max(gtol, g0 * delta / delta0) and delta > delta_min:
            # (nearly) stationary at this scale: look closer
            delta = max(delta * _DELTA_SHRINK, delta_min)
            continue
        nd = float(np.linalg.norm(d))
        t = delta / nd
        while True:  # backtracking from a step of length delta down to _BACKTRACK delta
            y = x - t * d
            fy, gy = fun(y)
            nfev += 1
            gmax = max(gmax, float(np.linalg.norm(gy)))
            serious = fy <= f - _DESCENT * t * nd * nd
            if serious or t * nd <= _BACKTRACK * delta:
                break
            Y.append(y), F.append(fy), G.append(gy)
            t *= _DELTA_SHRINK
        if serious:  # extended while it decreases f
            for _ in range(60):
                z = x - 2.0 * t * d
                fz, gz = fun(z)
                nfev += 1
                Y.append(z), F.append(fz), G.append(gz)
                if not fz < fy:
                    break
                t, y, fy, gy = 2.0 * t, z, fz, gz
            Y.append(x), F.append(f), G.append(g)
            x, f, g = y, fy, gy
        else:  # null step: the gradient next to x enriches the bundle
            Y.append(y), F.append(fy), G.append(gy)
        steps += 1
        if record():
            return x, f, False, steps, nfev, True
    return x, f, False, steps, nfev, False


def _min_norm_point(G):
    """Minimum-norm point of the convex hull of the rows of ``G`` (Wolfe's algorithm, 1976).

    Duplicate rows are merged; the major cycles are capped (degenerate hulls
    can make them crawl), so the result is a convex combination of the rows
    of near-minimal norm -- which is all the caller relies on.
    """
    G = np.unique(G, axis=0)
    Q = G @ G.T
    tol = 1e-12 * max(float(np.max(np.diag(Q))), np.finfo(np.float64).tiny)
    S = [int(np.argmin(np.diag(Q)))]
    lam = np.ones(1)
    for _ in range(5 * len(G) + 10):
        xg = Q[:, S] @ lam
        j = int(np.argmin(xg))
        if j in S or xg[j] >= lam @ xg[S] - tol:
            break
        S.append(j)
        lam = np.append(lam, 0.0)
        while True:  # minor cycle: affine minimiser over S (least squares on differences), kept in the hull
            B = G[S]
            z = np.linalg.lstsq((B[1:] - B[0]).T, -B[0], rcond=None)[0]
            w = np.concatenate(([1.0 - np.sum(z)], z))
            if np.all(w > 0):
                lam = w
                break
            neg = w <= 0
            lam = lam + float(np.min(lam[neg] / (lam[neg] - w[neg]))) * (w - lam)
            keep = lam > 1e-15
            S = [i for i, kk in zip(S, keep) if kk]
            lam = lam[keep] / np.sum(lam[keep])
    return lam @ G[S]


_BLAS_CONTROLLER = []


def _single_threaded_blas():
    """Context limiting BLAS to one thread (L-BFGS-B's small vector operations
    are much slower with threaded BLAS on a busy machine); a no-op without
    threadpoolctl."""
    import contextlib

    if not _BLAS_CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS_CONTROLLER.append(ThreadpoolController())
        except Exception:  # pragma: no cover - threadpoolctl missing or failing
            _BLAS_CONTROLLER.append(None)
    controller = _BLAS_CONTROLLER[0]
    if controller is None:  # pragma: no cover
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


def _check_max_nz(max_nz):
    if isinstance(max_nz, bool) or not isinstance(max_nz, numbers.Integral):
        if getattr(max_nz, "ndim", None) == 0 and not isinstance(max_nz, bool):
            try:
                return _check_max_nz(max_nz.item())
            except (AttributeError, ValueError):
                pass
        raise ValueError(f"max_nz must be an integer >= 1 (maximum nonzeros per column), got {max_nz!r}.")
    if max_nz < 1:
        raise ValueError(f"max_nz must be an integer >= 1 (maximum nonzeros per column), got {max_nz!r}.")
    return int(max_nz)


def _beta_from_semi_dual_plan(xp, X, T, gamma):
    """Maximiser of the dual in ``beta`` for fixed ``alpha`` (``X = alpha 1^T - M``).

    Column ``j`` of the dual is concave in ``beta_j`` and stationary when the
    top-k of ``[X_j + beta_j]_+ / gamma`` sums to ``b_j``: ``beta_j = -tau_j``
    with ``tau_j`` the sparse-simplex threshold of the semi-dual plan ``T``,
    read off its support as ``X_ij - gamma T_ij``. Empty columns get
    ``beta_j = -max_i X_ij`` (no positive entry).
    """
    support = T > 0
    count = xp.sum(xp.astype(support, X.dtype), axis=0)
    tau = xp.sum(xp.where(support, X - gamma * T, xp.zeros_like(X)), axis=0)
    empty = count == 0
    return xp.where(empty, -xp.max(X, axis=0), -tau / xp.where(empty, xp.ones_like(count), count))


class _NumbaProblem:
    """Objectives on the host with the fused numba kernels (float64)."""

    def __init__(self, a, b, M, reg, k):
        from . import _topk_numba as kern

        self.kern = kern
        self.a = np.asarray(to_host(a), dtype=np.float64)
        self.b = np.asarray(to_host(b), dtype=np.float64)
        self.Ct = np.ascontiguousarray(np.asarray(to_host(M), dtype=np.float64).T)  # column j = row j
        self.gamma, self.k = float(reg), int(k)
        m, n = self.Ct.shape
        self.n, self.m = n, m
        self.rs = np.empty(n)
        self.cs = np.empty(m)
        self.no_plan = np.empty((0, 0))

    def dual(self, x):
        n = self.n
        alpha, beta = x[:n], x[n:]
        val = self.kern.dual_obj_grad(alpha, beta, self.Ct, self.k, self.gamma, self.rs, self.cs, self.no_plan, False)
        obj = alpha @ self.a + beta @ self.b - val
        grad = np.concatenate((self.a - self.rs, self.b - self.cs))
        return -obj, -grad

    def semi_dual(self, x):
        val = self.kern.semi_dual_obj_grad(x, self.b, self.Ct, self.k, self.gamma, self.rs, self.no_plan, False)
        return -(x @ self.a - val), self.rs - self.a

    def beta_best_response(self, alpha):
        return _beta_from_semi_dual_plan(np, alpha[:, None] - self.Ct.T, self.semi_dual_plan(alpha), self.gamma)

    def dual_plan(self, x):
        plan_t = np.zeros((self.m, self.n))
        n = self.n
        self.kern.dual_obj_grad(x[:n], x[n:], self.Ct, self.k, self.gamma, self.rs, self.cs, plan_t, True)
        return plan_t.T

    def semi_dual_plan(self, x):
        plan_t = np.zeros((self.m, self.n))
        self.kern.semi_dual_obj_grad(x, self.b, self.Ct, self.k, self.gamma, self.rs, plan_t, True)
        return plan_t.T


class _XpProblem:
    """Vectorized array-API objectives (float64) in the inputs' namespace and device."""

    def __init__(self, xp, a, b, M, reg, k, dev):
        f64 = xp.float64
        self.xp, self.dev = xp, dev
        self.a, self.b, self.M = (xp.astype(v, f64) if v.dtype != f64 else v for v in (a, b, M))
        self.gamma, self.k = float(reg), int(k)
        self.n, self.m = M.shape
        self.proj = TopKSimplex(self.k, axis=0)

    def _dev(self, x):
        return to_namespace(x, self.xp, self.dev)  # explicit host -> device copy

    def _topk_mask(self, X):
        """Boolean mask of the k largest entries of each column of ``X`` (ties: earliest rows)."""
        xp, k = self.xp, self.k
        if k >= self.n:
            return None
        if is_numpy_namespace(xp):
            sel = np.argpartition(-np.asarray(X), k - 1, axis=0)[:k]
            mask = np.zeros(X.shape, dtype=bool)
            np.put_along_axis(mask, sel, True, axis=0)
            return xp.asarray(mask)
        order = xp.argsort(X, axis=0, descending=True, stable=True)
        rank = xp.argsort(order, axis=0, stable=True)
        return rank < k

    def _dual_terms(self, alpha, beta):
        xp = self.xp
        X = alpha[:, None] + beta[None, :] - self.M
        T = xp.clip(X, 0.0, None)
        mask = self._topk_mask(X)
        if mask is not None:
            T = xp.where(mask, T, xp.zeros_like(T))
        return T / self.gamma

    def dual(self, x):
        xp, n = self.xp, self.n
        xd = self._dev(x)
        alpha, beta = xd[:n], xd[n:]
        T = self._dual_terms(alpha, beta)
        obj = xp.sum(alpha * self.a) + xp.sum(beta * self.b) - 0.5 * self.gamma * xp.sum(T * T)
        grad = xp.concat((self.a - xp.sum(T, axis=1), self.b - xp.sum(T, axis=0)))
        return -float(obj), -np.asarray(to_host(grad), dtype=np.float64)

    def _semi_dual_plan(self, alpha):
        xp = self.xp
        X = alpha[:, None] - self.M
        pos = self.b > 0
        scale = self.gamma * xp.where(pos, self.b, xp.ones_like(self.b))
        return X, self.proj.prox(X / scale[None, :]) * self.b[None, :]

    def semi_dual(self, x):
        xp = self.xp
        alpha = self._dev(x)
        X, T = self._semi_dual_plan(alpha)
        obj = xp.sum(alpha * self.a) - xp.sum(T * X) + 0.5 * self.gamma * xp.sum(T * T)
        grad = xp.sum(T, axis=1) - self.a
        return -float(obj), np.asarray(to_host(grad), dtype=np.float64)

    def beta_best_response(self, alpha):
        X, T = self._semi_dual_plan(self._dev(alpha))
        return np.asarray(to_host(_beta_from_semi_dual_plan(self.xp, X, T, self.gamma)), dtype=np.float64)

    def dual_plan(self, x):
        xd = self._dev(x)
        return self._dual_terms(xd[: self.n], xd[self.n :])

    def semi_dual_plan(self, x):
        return self._semi_dual_plan(self._dev(x))[1]
