"""Sparsity-constrained optimal transport (Liu, Puigcerver & Blondel, ICLR 2023).

The transport plan is regularised by ``Omega(t) = (gamma / 2) ||t||^2`` on
``t >= 0`` with at most ``k = max_nz`` nonzeros per column. Both the dual and
the semi-dual of the regularised problem are concave programs,
differentiable except where the top-``k`` support changes, solved with
SciPy's L-BFGS-B (with restarts); their objectives and gradients use exact top-``k``
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
_MAX_RESTARTS = 10
_AXES = ("columns", "rows")


def sparsity_constrained_ot(
    a,
    b,
    M,
    reg,
    max_nz,
    *,
    formulation="semi_dual",
    numItermax=500,
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
    numItermax : int, default=500
        Maximum number of L-BFGS iterations.
    stopThr : float, default=1e-9
        L-BFGS-B tolerances: ``gtol = stopThr`` on the projected gradient and
        ``ftol = stopThr / 1000`` on the relative decrease (tighter than
        POT's ``ftol = stopThr``). When L-BFGS stalls at a kink of the
        objective (see Notes) it is restarted from there with a fresh memory
        while that improves the objective, up to 10 times, within
        ``numItermax`` iterations in total; for the dual each restart starts
        from the exact maximiser in ``beta`` for the current ``alpha``.
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
        ``success``, ``status``, ``message``, ``lbfgs_message``, ``plan``
        and ``history``).

    Raises
    ------
    ValueError
        For ``max_nz`` not an integer >= 1, ``reg <= 0``, unequal masses,
        negative weights, non-finite entries, or shape mismatches.

    Warns
    -----
    ConvergenceWarning
        When L-BFGS stops on ``numItermax`` (or its evaluation budget) before
        meeting the tolerances; the last iterate is returned.

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
        # may stall at such a kink (ftol or line-search stop). Restarting from
        # the stalled point with a fresh memory often gets past it: repeat
        # while it improves, within the total iteration budget.
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
    if not np.all(np.isfinite(x)) or not np.isfinite(f):
        status = STATUS_NUMERICAL
    elif res.status == 99 or "callback" in str(res.message).lower():
        status = STATUS_CALLBACK
    elif res.status == 1 or (nit >= numItermax and res.status != 0):  # iteration or evaluation budget exhausted
        status = STATUS_MAX_ITER
    else:  # 0: tolerance met; 2: line search failed at machine precision
        status = STATUS_CONVERGED
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
