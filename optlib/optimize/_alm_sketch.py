"""Equality-constrained optimization: exact augmented Lagrangian + randomized sketching.

AdaSketch-Newton (Hong, Na, Mahoney and Kolar, ICML 2023) for
``min f(x) s.t. c(x) = 0``. Each iteration solves the Newton-KKT system
``K [dx; dv] = -[grad_x L; c]`` inexactly by a randomized sketching method
(:mod:`._sketching`), stopping at an adaptive accuracy, and steps along it
with an Armijo line search on the exact augmented Lagrangian merit

    L_{mu,nu}(x, v) = f + v^T c + mu/2 ||c||^2 + nu/2 ||grad_x L||^2,

raising ``mu`` and lowering ``nu`` when the inexact step is not a descent
direction of the merit.
"""

import math
import numbers

import numpy as np

from .._backend import device, get_namespace, is_numpy_namespace, result_float_dtype
from .._result import (
    STATUS_CALLBACK,
    STATUS_CONVERGED,
    STATUS_MAX_ITER,
    STATUS_NUMERICAL,
    IterationMonitor,
    make_result,
    warn_convergence,
)
from .._validation import check_array, check_option, check_random_state, check_scalar
from ._sketching import SKETCHES, KKTOperator, sketch_solve

__all__ = ["minimize_eq"]

METHODS = ("adasketch",)
_DELTA_MIN = 1e-6  # floor of the accuracy parameter delta (the paper's safeguard)
_MU_MAX, _NU_MIN = 1e8, 1e-8  # penalty limits: past them the step is taken as it is
_CURVATURE_MIN = 1e-6  # regularize B when the reduced Hessian's smallest eigenvalue is below
_MAX_BACKTRACK = 60
_F32_TOL_FLOOR = 1e3  # float32 runs stop at no less than 1e3 machine epsilons
_ATTAINABLE = 64  # inner residuals below 64 eps ||K|| ||z|| are rounding noise
_ROUNDING = 10  # the Armijo test tolerates a merit increase of 10 eps |merit| (rounding noise)
_INEXACT_MAX = 0.5  # an inner solve that misses its accuracy is still a step if ||r|| <= this ||(grad_x L, c)||
_TOL_FRACTION = 0.1  # inner solves need not reach ||r|| below this fraction of the outer tol
_RANK_TOL = 1e-6  # singular values of G below this times max(1, ||G||) count as zero
_REG_MAX = 1.0  # regularisation of a rank-deficient Jacobian: -min(this, KKT residual) I in the (2, 2) block
_INFEASIBLE_RUN = 2  # restore feasibility after this many consecutive iterates with inconsistent G d = -c
_INCONSISTENT = 1e-3  # G d = -c is inconsistent when its least-squares residual exceeds this fraction of ||c||
_STATIONARY_TOL = 1e-4  # G^T c counts as 0 below this times ||G|| ||c|| (inexact steps stall near 1e-5)
_RESTORE_STEPS = 50  # Levenberg-Marquardt steps of a feasibility restoration
_RESTORE_COOLDOWN = 5  # Newton iterations after a restoration before the next one


class _Constraints:
    """The equality constraints ``c(x) = 0``: value, Jacobian and Lagrangian-Hessian term."""

    def __init__(self, constraints):
        get = constraints.get if isinstance(constraints, dict) else (lambda k, d=None: getattr(constraints, k, d))
        self.fun, self.jac = get("fun"), get("jac")
        for key in ("fun", "jac"):
            if not callable(get(key)):
                raise TypeError(f"constraints must provide a callable {key!r} (c(x) and its Jacobian).")
        has_hess = isinstance(constraints, dict) and "hess" in constraints or hasattr(constraints, "hess")
        self.hess, self.hessp = get("hess"), get("hessp")
        if not has_hess and self.hessp is None:
            raise ValueError(
                "constraints must provide 'hess' (hess(x, v) = sum_i v_i Hessian(c_i)(x)), "
                "'hessp' (hessp(x, v, p)), or 'hess': None for linear constraints."
            )


class _Point:
    """Values at ``x``: objective, gradient, constraints and Jacobian."""

    __slots__ = ("x", "f", "g", "c", "G")

    def __init__(self, x, f, g, c, G):
        self.x, self.f, self.g, self.c, self.G = x, f, g, c, G


def _is_dense(A):
    try:
        get_namespace(A)
    except TypeError:
        return False
    return hasattr(A, "shape") and hasattr(A, "dtype")


def _all_finite(xp, A):
    if _is_dense(A):
        return bool(xp.all(xp.isfinite(A)))
    data = getattr(A, "data", None)  # scipy.sparse
    return data is None or bool(np.all(np.isfinite(data)))


def _scalar(value):
    """``fun``'s value as a float; a size-1 array is accepted (as in SciPy)."""
    shape = tuple(getattr(value, "shape", ()))
    if shape:
        if math.prod(shape) != 1:
            raise ValueError(f"fun must return a scalar; it returned an array of shape {shape}.")
        value = value[(0,) * len(shape)]
    return float(value)


class _Problem:
    """User callables with shape checks, casts and evaluation counters."""

    def __init__(self, fun, jac, hess, hessp, cons, xp, dtype, n):
        self.fun, self.jac, self.hess, self.hessp, self.cons = fun, jac, hess, hessp, cons
        self.xp, self.dtype, self.n = xp, dtype, n
        self.m = None
        self.counts = dict(nfev=0, njev=0, ncev=0, ncjev=0, nhev=0)

    def _vector(self, value, name, length):
        xp = self.xp
        value = xp.asarray(value) if not hasattr(value, "shape") else value
        if value.ndim != 1 or (length is not None and value.shape[0] != length):
            want = "(n,)" if length == self.n else "(m,)"
            raise ValueError(f"{name} returned shape {tuple(value.shape)}, expected {want} with n={self.n}"
                             + ("" if length is None or length == self.n else f", m={length}") + ".")
        return xp.astype(value, self.dtype) if value.dtype != self.dtype else value

    def _copy(self, x):
        """A copy of ``x`` for a user function (as SciPy does: mutating it cannot affect the solver)."""
        return self.xp.asarray(x, copy=True)

    def evaluate(self, x):
        """A :class:`_Point` at ``x``, or None when a user function returns a non-finite value."""
        xp, c_, copy = self.xp, self.counts, self._copy
        f = _scalar(self.fun(copy(x)))
        g = self._vector(self.jac(copy(x)), "jac", self.n)
        c = self._vector(self.cons.fun(copy(x)), "constraints['fun']", self.m)
        G = self.cons.jac(copy(x))
        c_.update(nfev=c_["nfev"] + 1, njev=c_["njev"] + 1, ncev=c_["ncev"] + 1, ncjev=c_["ncjev"] + 1)
        if self.m is None:
            self.m = c.shape[0]
        if tuple(G.shape) != (self.m, self.n):
            raise ValueError(f"constraints['jac'] returned shape {tuple(G.shape)}, expected (m, n) = "
                             f"({self.m}, {self.n}) from the {self.m} constraint values and x0.")
        if _is_dense(G) and G.dtype != self.dtype:
            G = xp.astype(G, self.dtype)
        finite = math.isfinite(f) and bool(xp.all(xp.isfinite(g))) and bool(xp.all(xp.isfinite(c)))
        if not (finite and _all_finite(xp, G)):
            return None
        return _Point(x, f, g, c, G)

    def lagrangian_hessian(self, x, v):
        """Dense ``hess_xx L`` (a matrix) when everything is dense, else a product function."""
        xp, n, copy = self.xp, self.n, self._copy
        if self.hessp is None:
            Hf = self.hess(copy(x))
            self.counts["nhev"] += 1
            if tuple(Hf.shape) != (n, n):
                raise ValueError(f"hess returned shape {tuple(Hf.shape)}, expected (n, n) = ({n}, {n}).")
        else:
            Hf = None
        Hc = self.cons.hess(copy(x), copy(v)) if self.cons.hess is not None else None
        if Hc is not None and tuple(Hc.shape) != (n, n):
            raise ValueError(f"constraints['hess'] returned shape {tuple(Hc.shape)}, expected ({n}, {n}).")
        if Hf is not None and _is_dense(Hf) and (Hc is None or _is_dense(Hc)) and self.cons.hessp is None:
            H = xp.astype(xp.asarray(Hf), self.dtype)
            if Hc is not None:
                H = H + xp.astype(Hc, self.dtype)
            return (H + xp.matrix_transpose(H)) / 2, None

        def product(p):
            out = Hf @ p if Hf is not None else self.hessp(copy(x), p)
            if Hf is None:
                self.counts["nhev"] += 1
            if Hc is not None:
                out = out + Hc @ p
            elif self.cons.hessp is not None:
                out = out + self.cons.hessp(copy(x), copy(v), p)
            return xp.astype(xp.asarray(out), self.dtype) if is_numpy_namespace(xp) else out

        return None, product


def _non_finite_hessian(nit):
    return (f"hess, hessp or constraints['hess'/'hessp'] returned non-finite values at iterate {nit} "
            "(the Newton-KKT system cannot be formed).")


def _restore_feasibility(prob, pt, tol):
    """Levenberg-Marquardt steps on ``||c(x)||^2 / 2`` from ``pt`` (a feasibility restoration phase).

    Run when the Newton steps stall at a rank-deficient dense Jacobian: there the
    regularised steps mix the objective into a quadratic-penalty step and, on
    inconsistent constraints, drive the multipliers and ``mu`` up instead of
    reaching the least-squares point of ``c``. At a stationary point of the
    violation that is not a local minimum (a saddle or maximum, where ``G^T c = 0``
    too) a step along the most negative curvature continues the descent.

    Returns
    -------
    pt : _Point
        The last point (the least ``||c||`` found).
    infeasible : bool
        Whether ``pt`` is a stationary point of the violation, ``G^T c = 0``
        (relative to ``||G|| ||c||``, or no decrease of ``||c||`` is left)
        with no direction of negative curvature and ``||c|| > tol``: a local
        infeasibility.
    """
    xp = prob.xp
    eye = xp.eye(prob.n, dtype=prob.dtype, device=device(pt.x))
    damping = 1e-4  # relative to ||G||^2
    for _ in range(_RESTORE_STEPS):
        G = xp.asarray(pt.G)
        GT = xp.matrix_transpose(G)
        norm_c = float(xp.linalg.vector_norm(pt.c))
        if norm_c <= tol:
            return pt, False
        Gtc = GT @ pt.c
        norm_G = float(xp.linalg.matrix_norm(G, ord=2))
        decreased = None
        if float(xp.linalg.vector_norm(Gtc)) > _STATIONARY_TOL * norm_G * norm_c:
            while damping <= 1e12:  # past it no decrease of ||c|| is left: stationary at the rounding level
                step = xp.linalg.solve(GT @ G + damping * norm_G**2 * eye, -Gtc[:, None])[:, 0]
                trial = prob.evaluate(pt.x + step)
                if trial is not None and float(xp.linalg.vector_norm(trial.c)) < norm_c:
                    decreased, damping = trial, max(damping / 10, 1e-12)
                    break
                damping *= 10
        if decreased is None:  # stationary: a local minimum of ||c||, or a saddle to leave
            decreased = _negative_curvature_step(prob, pt, norm_c)
            if decreased is None:
                return pt, True
            damping = 1e-4
        pt = decreased
    return pt, False


def _negative_curvature_step(prob, pt, norm_c):
    """A point of smaller ``||c||`` along the most negative curvature of ``||c||^2 / 2`` at ``pt``, or None.

    The Hessian of ``||c||^2 / 2`` is ``G^T G + sum_i c_i Hessian(c_i)`` (the constraints' Lagrangian term at
    ``v = c``); None when it has no eigenvalue below ``-_STATIONARY_TOL`` times its norm (linear constraints:
    ``||c||^2`` is convex), or no trial step along its eigenvector decreases ``||c||``.
    """
    xp, cons = prob.xp, prob.cons
    if cons.hess is None:
        return None
    G = xp.asarray(pt.G)
    M = xp.matrix_transpose(G) @ G + xp.astype(xp.asarray(cons.hess(prob._copy(pt.x), prob._copy(pt.c))), prob.dtype)
    lam, vectors = xp.linalg.eigh((M + xp.matrix_transpose(M)) / 2)
    if not float(lam[0]) < -_STATIONARY_TOL * float(xp.max(xp.abs(lam))):
        return None
    d = vectors[:, 0]
    t = max(1.0, float(xp.linalg.vector_norm(pt.x)))
    for _ in range(_MAX_BACKTRACK):
        for step in (t, -t):
            trial = prob.evaluate(pt.x + step * d)
            if trial is not None and float(xp.linalg.vector_norm(trial.c)) < norm_c:
                return trial
        t /= 2
    return None


def _power_norm(apply, size, xp, like, n_iter=30, seed=0):
    """Spectral norm of a symmetric positive semidefinite operator by power iterations."""
    rng = np.random.default_rng(seed)
    v = xp.asarray(rng.standard_normal(size), device=device(like))
    v = xp.astype(v, like.dtype)
    est = 0.0
    for _ in range(n_iter):
        w = apply(v / xp.linalg.vector_norm(v))
        est = float(xp.linalg.vector_norm(w))
        if est == 0.0:
            break
        v = w
    return est


def minimize_eq(
    fun,
    x0,
    *,
    jac,
    hess=None,
    hessp=None,
    constraints,
    v0=None,
    method="adasketch",
    sketch="gaussian_block",
    block_size=None,
    tol=1e-6,
    max_iter=1000,
    max_inner=100_000,
    mu=1.0,
    nu=0.1,
    delta=0.1,
    xi_B=0.1,
    beta=0.1,
    rho=1.5,
    psi=None,
    preconditioner=None,
    superlinear=False,
    random_state=None,
    engine="auto",
    callback=None,
    history=False,
    verbose=False,
):
    """Minimise ``f(x)`` subject to ``c(x) = 0`` by AdaSketch-Newton.

    Newton steps on the KKT conditions, solved inexactly by randomized
    iterative sketching with an adaptive accuracy, globalised by an Armijo
    line search on the exact augmented Lagrangian
    ``L_{mu,nu} = f + v^T c + mu/2 ||c||^2 + nu/2 ||grad_x L||^2``
    (Hong, Na, Mahoney and Kolar, ICML 2023). See
    ``docs/user_guide/alm_sketch.md``.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float``, the objective.
    x0 : array of shape (n,)
        Starting point; not modified. Its namespace, device and dtype are kept.
        The user's functions receive copies of the iterates (as in SciPy).
    jac : callable
        ``jac(x) -> array (n,)``, the gradient of ``fun``.
    hess, hessp : callable, optional
        ``hess(x) -> (n, n)`` Hessian of ``fun`` (dense array, sparse matrix or
        anything with ``@``) or ``hessp(x, p) -> (n,)`` its product with ``p``.
        One of them is required.
    constraints : dict or object
        With ``fun(x) -> (m,)``, ``jac(x) -> (m, n)`` (dense array, SciPy
        sparse matrix or ``LinearOperator``) and the Lagrangian term of the
        Hessian: ``hess(x, v) -> (n, n)`` (``sum_i v_i Hessian(c_i)(x)``,
        ``None`` for linear constraints) or ``hessp(x, v, p) -> (n,)``.
    v0 : array of shape (m,), optional
        Starting multipliers (default zeros).
    method : {"adasketch"}
        The algorithm.
    sketch : {"gaussian", "kaczmarz", "kaczmarz_weighted", "block_kaczmarz", "gaussian_block", "minres"}
        Inner solver of the Newton-KKT system: Gaussian-vector sketch,
        randomized Kaczmarz (uniform or row-norm weighted), block Kaczmarz,
        Gaussian block sketch (the default: with ``n + m <= block_size`` one
        iteration solves the system), or (not a sketch) MINRES for large,
        badly conditioned systems. The one-row sketches need about
        ``cond(K)^2`` iterations per digit and stall (``max_inner``) on
        problems whose KKT matrix is nearly singular at the solution.
    block_size : int, optional
        Rows per block sketch (default ``min(n + m, 8)``).
    tol : float
        Stop when the KKT residual ``||(grad_x L, c)|| <= tol`` (the paper
        uses 1e-4). For float32 input it is raised to at least 1e3 machine
        epsilons (about 1.2e-4). The test is absolute: scale ``fun`` so that
        its gradient is of order one (with ``fun`` scaled by 1e-20 any
        feasible point passes; a KKT residual at ``x0`` whose square
        overflows the dtype raises ``ValueError``). Inner solves stop at ``||r|| <= 0.1 tol``
        at the latest (a full Newton step leaves a KKT residual of about
        ``||r||``), divided by ``rho**4`` with each penalty update.
    max_iter : int
        Maximum number of Newton iterations.
    max_inner : int
        Budget of each inner solve, in sketch iterations, a block iteration
        counting its block size (its cost in products with ``K``). An inner
        solve also ends early when its observed rate cannot meet the accuracy
        condition within the budget (a stall). Either way the inner iterate
        is used as the step if its residual is at most half the KKT residual
        (an inexact Newton step); otherwise the solver stops with status 3.
    mu, nu : float
        Initial penalty parameters of the merit (``mu`` is raised by
        ``rho**2`` and ``nu`` divided by ``rho`` when a step is not a descent
        direction).
    delta : float
        Initial accuracy parameter of the inner solve (floored at 1e-6).
    xi_B : float
        Regularisation added (with ``||hess_xx L||``) to ``B`` when the
        Hessian is not positive definite on the null space of the Jacobian.
    beta : float in (0, 0.5)
        Armijo constant.
    rho : float > 1
        Penalty update factor.
    psi : float, optional
        Constant of the accuracy condition ``||K|| psi ||r|| <= theta delta
        ||(grad_x L, c)||``. Default: the paper's
        ``20 max(||B||^2, 1) / (min(xi_G, 1) min(xi_B, 1))``, ``xi_G`` being
        the smallest eigenvalue of ``G G^T`` (taken as 1 when matrix-free).
        It is conservative; a smaller value makes inner solves cheaper.
    preconditioner : callable, optional
        ``preconditioner(x, v) -> apply`` for ``sketch="minres"``: ``apply(u)``
        applies a symmetric positive definite approximation of ``|K|^{-1}``
        (``K`` the KKT matrix at ``(x, v)``) to a vector of length ``n + m``,
        typically ``diag(B^{-1}, S^{-1})`` with ``S`` (an approximation of) the
        Schur complement ``G B^{-1} G^T``; with the exact one MINRES needs
        three iterations per solve (Murphy, Golub and Wathen, 2000). The PDE
        problem of :mod:`optlib.datasets` carries one (its
        ``minimize_kwargs()`` pass it); the user guide shows how to build
        one for another PDE. Without one, MINRES on a discretised PDE
        needs ``O(cond(K))`` iterations (``cond(K) ~ h^-2``).
    superlinear : bool
        Sharpen the accuracy condition with ``theta_k = min(1,
        ||(grad_x L, c)||^(1/2))`` for a superlinear local rate (the paper's
        theorem); ``theta_k = 1`` otherwise.
    random_state : None, int or numpy.random.Generator
        Source of the sketches (drawn on the host).
    engine : {"auto", "numba", "xp"}
        Numba kernel for the one-row sketches of explicit NumPy systems.
    callback : callable, optional
        ``callback(intermediate_result)`` after each iteration (fields ``x``,
        ``nit``, ``fun``, ``kkt``, ``merit``, ``mu``, ``nu``, ``alpha``,
        ``inner``); raising ``StopIteration`` stops the solver.
    history : bool
        Record the per-iteration values in ``result.history``.
    verbose : bool or int
        Print progress every ``verbose`` iterations.

    Returns
    -------
    OptimizeResult
        ``x``, ``v`` (multipliers of ``L = f + v^T c``), ``fun``, ``nit``,
        ``success``, ``status``, ``message``, ``kkt`` (final residual),
        ``kkt_history`` (residual at each iterate, starting with ``x0``),
        ``inner_iterations`` (sketch iterations per Newton step),
        ``alpha`` (step sizes), ``mu``, ``nu`` (final penalties) with
        ``mu_history``, ``nu_history``, evaluation counts ``nfev``, ``njev``
        (gradient), ``ncev``, ``ncjev`` (constraints, Jacobian), ``nhev``
        (Hessians or Hessian products). ``status`` 0: converged; 1: maximum
        iterations; 2: stopped by the callback; 3: numerical failure, with
        the reason in ``message``: a local infeasibility (a point where
        ``G^T c = 0`` with ``||c|| > tol`` and a rank-deficient Jacobian,
        e.g. inconsistent constraints, returned as ``x``; see Notes), a failed
        line search, or non-finite values from the user's functions (Hessians
        included) along the way. Failures warn ``ConvergenceWarning`` and
        return the last iterate. A rank-deficient Jacobian alone is not a failure: see Notes.

    Raises
    ------
    ValueError
        Inconsistent shapes of ``x0``, the gradient, ``c``, its Jacobian or the
        Hessians; no constraints (``m = 0``); non-finite values at ``x0``, or a
        KKT residual there too large for the dtype; bad options.

    Notes
    -----
    When a dense Jacobian ``G`` is rank deficient (a singular value of
    ``G`` with its rows scaled to unit norm below ``1e-6`` times the largest,
    or ``m > n``) the KKT matrix is singular, and the
    step solves the regularised system ``[[B, G^T], [G, -r I]]`` with
    ``r = min(1, ||(grad_x L, c)||)`` (a Levenberg-Marquardt / inertia
    correction perturbation, as in IPOPT's ``delta_c``); eliminating ``dv``,
    ``(B + G^T G / r) dx = -(grad_x L + G^T c / r)``, a quadratic-penalty
    step towards ``c = 0`` that needs no full-rank ``G``. Iterates with a
    full-rank Jacobian use ``r = 0``. While the linearised constraints
    ``G d = -c`` are consistent, ``r`` is also at most ``1 / mu`` (lowered
    with each raise of ``mu``), so that the step approaches ``G dx = -c``
    as the merit's penalty stiffens. When ``G d = -c`` is inconsistent
    (``c`` has a part outside the range of ``G``: always the case with
    inconsistent constraints, including ``m > n`` ones such as ``x = 1,
    y = 1, x + y = 3``) at two consecutive iterates, the Newton steps cannot
    reach ``c = 0`` and the solver runs a feasibility restoration:
    Levenberg-Marquardt steps on ``||c||^2 / 2``. If they end at a
    stationary point of the violation (``G^T c = 0``, relative to ``||G||
    ||c||``) with ``||c|| > tol``, the run stops with status 3 (a local
    infeasibility) at that least-squares point; otherwise the Newton steps
    resume from the restored point with least-squares multipliers and the
    initial ``mu``, ``nu``. Matrix-free Jacobians are not tested for rank.
    """
    xp = get_namespace(x0, v0)
    x0 = check_array(x0, "x0", xp=xp, ndim=1)
    dtype = result_float_dtype(xp, x0)
    x = xp.astype(x0, dtype, copy=True)
    n = x.shape[0]
    check_option(method, "method", METHODS)
    check_option(sketch, "sketch", SKETCHES)
    if not callable(fun) or not callable(jac):
        raise TypeError("fun and jac must be callables (the objective and its gradient).")
    if (hess is None) == (hessp is None):
        raise ValueError("Give exactly one of hess (Hessian of fun) or hessp (Hessian-vector product).")
    cons = _Constraints(constraints)
    tol = check_scalar(tol, "tol", lower=0.0, lower_inclusive=False)
    eps = float(np.finfo(np.float32 if dtype == xp.float32 else np.float64).eps)
    if dtype == xp.float32:
        tol = max(tol, _F32_TOL_FLOOR * eps)
    max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=0)
    max_inner = check_scalar(max_inner, "max_inner", kind=numbers.Integral, lower=1)
    mu = check_scalar(mu, "mu", lower=0.0, lower_inclusive=False)
    nu = check_scalar(nu, "nu", lower=0.0, lower_inclusive=False)
    delta = check_scalar(delta, "delta", lower=0.0, lower_inclusive=False)
    xi_B = check_scalar(xi_B, "xi_B", lower=0.0, lower_inclusive=False)
    beta = check_scalar(beta, "beta", lower=0.0, upper=0.5, lower_inclusive=False, upper_inclusive=False)
    rho = check_scalar(rho, "rho", lower=1.0, lower_inclusive=False)
    if psi is not None:
        psi = check_scalar(psi, "psi", lower=0.0, lower_inclusive=False)
    if preconditioner is not None and (sketch != "minres" or not callable(preconditioner)):
        raise ValueError("preconditioner must be a callable preconditioner(x, v) and needs sketch='minres'; "
                         f"got {type(preconditioner).__name__} with sketch={sketch!r}.")
    if block_size is not None:
        block_size = check_scalar(block_size, "block_size", kind=numbers.Integral, lower=1)
    rng = check_random_state(random_state)
    monitor = IterationMonitor(callback, history, verbose, name="minimize_eq")
    block = block_size  # block of the block sketches, carried from one Newton step to the next

    prob = _Problem(fun, jac, hess, hessp, cons, xp, dtype, n)
    pt = prob.evaluate(x)
    if pt is None:
        raise ValueError("fun, jac, constraints['fun'] or constraints['jac'] returned a non-finite value at x0.")
    m = prob.m
    if m == 0:
        raise ValueError("constraints['fun'] returned no constraint values (m = 0): minimize_eq needs at least one "
                         "equality constraint.")
    if v0 is None:
        v = xp.zeros(m, dtype=dtype, device=device(x))
    else:
        v = check_array(v0, "v0", xp=xp, ndim=1)
        if v.shape[0] != m:
            raise ValueError(f"v0 has shape {tuple(v.shape)}, expected ({m},) (one multiplier per constraint).")
        v = xp.astype(v, dtype, copy=True)

    def grad_lagrangian(p, v):
        return p.g + p.G.T @ v

    def merit(p, v, mu, nu):
        gl = grad_lagrangian(p, v)
        return p.f + float(xp.sum(v * p.c)) + mu / 2 * float(xp.sum(p.c * p.c)) + nu / 2 * float(xp.sum(gl * gl))

    def advance(new_pt, new_v, alpha, inner):
        """Move to ``(new_pt, new_v)`` and record the iteration; True when the callback stops the run."""
        nonlocal x, v, pt, nit, gl, kkt
        x, v, pt = new_pt.x, new_v, new_pt
        nit += 1
        gl = grad_lagrangian(pt, v)
        kkt = float(xp.linalg.vector_norm(xp.concat([gl, pt.c])))
        kkt_hist.append(kkt)
        inner_hist.append(inner)
        alphas.append(alpha)
        mu_hist.append(mu)
        nu_hist.append(nu)
        # a copy: a callback mutating its x cannot move the iterate
        return monitor(nit, xp.asarray(x, copy=True), fun=pt.f, kkt=kkt, merit=merit(pt, v, mu, nu), mu=mu, nu=nu,
                       alpha=alpha, inner=inner)

    gl = grad_lagrangian(pt, v)
    kkt = float(xp.linalg.vector_norm(xp.concat([gl, pt.c])))
    if not kkt < math.sqrt(float(np.finfo(np.float32 if dtype == xp.float32 else np.float64).max)):
        raise ValueError(f"The KKT residual at x0, ||(jac(x0) + G^T v0, c(x0))|| = {kkt:.2e}, is too large for "
                         f"{x.dtype}: its square (in the merit function) overflows. Rescale fun or the constraints.")
    kkt_hist, inner_hist, alphas, mu_hist, nu_hist = [kkt], [], [], [mu], [nu]
    status, reason, nit = STATUS_MAX_ITER, None, 0
    infeasible_run = 0  # consecutive iterates where the linearised constraints G d = -c are inconsistent
    mu0, nu0, restored_at = mu, nu, -_RESTORE_COOLDOWN
    while nit < max_iter:
        if kkt <= tol:
            status = STATUS_CONVERGED
            break
        H, Hprod = prob.lagrangian_hessian(x, v)
        G = pt.G
        dense = H is not None and _is_dense(G)
        reg, inconsistent = 0.0, False  # regularisation of a rank-deficient dense Jacobian (below)
        if H is not None and not bool(xp.all(xp.isfinite(H))):
            status, reason = STATUS_NUMERICAL, _non_finite_hessian(nit)
            break
        if dense:
            G = xp.asarray(G)
            sigma = xp.linalg.svdvals(G)
            # products, not ** 2: Python floats raise OverflowError on ** where * gives inf
            norm_G2 = float(sigma[0]) * float(sigma[0])
            xi_G = float(sigma[m - 1]) * float(sigma[m - 1]) if m <= n else 0.0
            # the rank of G with unit rows: invariant to the units of each constraint and of x
            rows = xp.linalg.vector_norm(G, axis=1)
            rows = xp.where(rows > 0, rows, xp.ones_like(rows))
            sv = xp.linalg.svd(G / rows[:, None], full_matrices=True)
            tol_rank = _RANK_TOL * float(sv[1][0])
            rank = int(xp.sum(xp.astype(sv[1] > tol_rank, xp.int64)))
            Vt = sv[2]
            if rank < m:
                # G d = -c inconsistent: c (in the units of the unit rows) has a part outside the range of G
                c_units = pt.c / rows
                outside = float(xp.linalg.vector_norm(xp.matrix_transpose(sv[0][:, rank:]) @ c_units))
                inconsistent = outside > _INCONSISTENT * float(xp.linalg.vector_norm(c_units))
                # (with ||c|| <= tol there is nothing to restore)
                infeasible_run = infeasible_run + 1 if inconsistent and float(xp.linalg.vector_norm(pt.c)) > tol else 0
                if infeasible_run >= _INFEASIBLE_RUN and nit - restored_at >= _RESTORE_COOLDOWN:
                    # the Newton steps cannot reach c = 0 there (on inconsistent constraints the multipliers
                    # and mu grow without bound): minimise ||c|| alone, then stop or resume
                    start = nit
                    restored, infeasible = _restore_feasibility(prob, pt, tol)
                    if infeasible:
                        if restored is not pt:  # the least-squares point of c, returned with its residuals
                            advance(restored, v, 1.0, 0)
                        norm_c = float(xp.linalg.vector_norm(pt.c))
                        status = STATUS_NUMERICAL
                        reason = (f"the constraint Jacobian is singular (rank {rank} < m = {m}) and the Newton "
                                  f"steps stalled at iterate {start}; Gauss-Newton steps on ||c||^2 from there "
                                  f"reach a point where the constraint violation ||c|| = {norm_c:.2e} is "
                                  "stationary (G^T c = 0): the constraints are inconsistent near this point "
                                  "(a local infeasibility).")
                        break
                    # a less infeasible point: least-squares multipliers, the initial penalties
                    v_ls = -(xp.linalg.pinv(xp.matrix_transpose(xp.asarray(restored.G))) @ restored.g[:, None])[:, 0]
                    mu, nu, infeasible_run = mu0, nu0, 0
                    stop = advance(restored, v_ls, 1.0, 0)
                    restored_at = nit
                    if stop:
                        status = STATUS_CALLBACK
                        break
                    continue
                # Levenberg-style: the (2, 2) block -reg I makes K nonsingular. With consistent G d = -c,
                # reg <= 1 / mu, the penalty of the merit: a quadratic-penalty step (||c||^2 / (2 reg)) that the
                # merit accepts (with a fixed reg, a far start drove mu to its limit and alpha to ~1e-15)
                reg = min(_REG_MAX, kkt) if inconsistent else min(_REG_MAX, kkt, 1 / mu)
                xi_G = reg  # the Schur complement G B^{-1} G^T + reg I has eigenvalues >= reg
            else:
                infeasible_run = 0
            norm_H = float(xp.max(xp.abs(xp.linalg.eigvalsh(H))))
            t = 0.0
            if rank < n:
                Z = xp.matrix_transpose(Vt[rank:, :])  # a basis of the null space of G
                if float(xp.linalg.eigvalsh(xp.matrix_transpose(Z) @ H @ Z)[0]) < _CURVATURE_MIN:
                    t = xi_B + norm_H
            B = H + t * xp.eye(n, dtype=dtype, device=device(x)) if t else H
            norm_B = norm_H + t
            upper = xp.concat([B, xp.matrix_transpose(G)], axis=1)

            def regularised(reg, upper=upper, G=G):
                lower = xp.concat([G, -reg * xp.eye(m, dtype=dtype, device=device(x))], axis=1)
                return KKTOperator(n, m, None, xp.concat([upper, lower], axis=0), xp, x)

            K = regularised(reg)

            def hess_times(p, H=H):
                return H @ p
        else:
            hess_times = Hprod if Hprod is not None else (lambda p, H=H: H @ p)
            norm_H = _power_norm(lambda p: hess_times(hess_times(p)), n, xp, x) ** 0.5
            norm_G2 = _power_norm(lambda p: G.T @ (G @ p), n, xp, x)
            xi_G, norm_B = 1.0, norm_H
            if not math.isfinite(norm_H):
                status, reason = STATUS_NUMERICAL, _non_finite_hessian(nit)
                break

            def kkt_product(z, G=G, GT=G.T, hess_times=hess_times):  # G.T formed once (sparse .T builds a matrix)
                dz, dl = z[:n], z[n:]
                return xp.concat([hess_times(dz) + GT @ dl, G @ dz])

            K = KKTOperator(n, m, kkt_product, None, xp, x)
        def accuracy_constant(xi_G, norm_B=norm_B):
            return psi if psi is not None else 20 * max(norm_B * norm_B, 1.0) / (min(xi_G, 1.0) * min(xi_B, 1.0))

        psi_k = accuracy_constant(xi_G)
        upsilon = max(norm_G2**0.5, norm_H, 1.0)

        def delta_trial(mu, nu):
            return (0.5 - beta) * nu / ((1 + mu + nu) * upsilon * upsilon * psi_k * psi_k)

        delta = max(min(delta, delta_trial(mu, nu)), _DELTA_MIN)
        norm_K = K.norm2()
        floor = _ATTAINABLE * eps * norm_K
        theta = min(1.0, math.sqrt(kkt)) if superlinear else 1.0
        b = -xp.concat([gl, pt.c])
        Hgl = hess_times(gl)
        precond = preconditioner(x, v) if preconditioner is not None else None
        z = r = None
        inner = 0
        useful = _TOL_FRACTION * tol  # a full step leaves a KKT residual ~ ||r||: below tol is enough
        while True:
            inner_tol = max(theta * delta * kkt / (norm_K * psi_k), useful)
            z, r, it, block_end = sketch_solve(K, b, sketch=sketch, tol=inner_tol, max_iter=max_inner, rng=rng,
                                               block_size=block, adaptive_block=block_size is None, z0=z, r0=r,
                                               floor=floor, engine=engine, precond=precond)
            block = block_end or block  # the next solve starts at the block this one needed
            inner += it
            res = float(xp.linalg.vector_norm(r))
            if not math.isfinite(res):  # a Hessian product non-finite along the inner solve
                reason = _non_finite_hessian(nit)
                break
            if res > _INEXACT_MAX * kkt and res > max(inner_tol, floor * float(xp.linalg.vector_norm(z))):
                reason = (f"the {sketch!r} inner solver made no usable Newton step at iterate {nit} "
                          f"(residual {res:.2e} > {_INEXACT_MAX} ||(grad_x L, c)|| = {_INEXACT_MAX * kkt:.2e} after "
                          f"{it} iterations, {'stalled' if it < max_inner else 'max_inner reached'}); "
                          "the KKT system is too badly conditioned for this sketch: raise max_inner or "
                          "block_size, or use sketch='minres'.")
                break
            grad_merit = xp.concat([gl + nu * Hgl + mu * (G.T @ pt.c), pt.c + nu * (G @ gl)])
            slope = float(xp.sum(grad_merit * z))
            if slope <= -nu / 2 * kkt * kkt or mu > _MU_MAX or nu < _NU_MIN:
                break
            mu, nu = mu * rho**2, nu / rho
            if reg > 1 / mu and not inconsistent:  # the stiffer penalty's step: closer to G dx = -c
                reg = xi_G = 1 / mu
                K, psi_k, z, r = regularised(reg), accuracy_constant(xi_G), None, None
                norm_K = K.norm2()
                floor = _ATTAINABLE * eps * norm_K
            delta = max(min(delta / rho**4, delta_trial(mu, nu)), _DELTA_MIN)
            useful /= rho**4
        if reason is not None:
            status = STATUS_NUMERICAL
            break
        if z.dtype != dtype:  # a float64 sparse Jacobian or preconditioner applied to float32 vectors
            z = xp.astype(z, dtype)
        dx, dv = z[:n], z[n:]
        base = merit(pt, v, mu, nu)
        alpha, accepted = 1.0, None
        for _ in range(_MAX_BACKTRACK):
            trial = prob.evaluate(x + alpha * dx)
            if trial is not None:
                value = merit(trial, v + alpha * dv, mu, nu)
                # Armijo, relaxed by the rounding error of the merit (as in IPOPT's comparisons): near the
                # solution the decrease ~ kkt^2 falls below eps |merit| and would otherwise shrink alpha to 0
                if math.isfinite(value) and value - base <= alpha * beta * slope + _ROUNDING * eps * abs(base):
                    accepted = trial
                    break
            alpha /= 2
        if accepted is None:
            status = STATUS_NUMERICAL
            reason = (f"the line search found no decrease of the merit function at iterate {nit} "
                      f"(directional derivative {slope:.2e}); the user's functions may be non-finite "
                      "or inaccurate along the step.")
            break
        if advance(accepted, v + alpha * dv, alpha, inner):
            status = STATUS_CALLBACK
            break
    if status == STATUS_MAX_ITER and kkt <= tol:
        status = STATUS_CONVERGED
    result = make_result(
        x, fun=pt.f, nit=nit, status=status, monitor=monitor, warn=status == STATUS_MAX_ITER,
        solver="minimize_eq", v=v, kkt=kkt, kkt_history=kkt_hist, inner_iterations=inner_hist, alpha=alphas,
        mu=mu, nu=nu, mu_history=mu_hist, nu_history=nu_hist, **prob.counts,
    )
    if reason is not None:
        result.message = "Stopped: " + reason
        warn_convergence(f"minimize_eq: {result.message} Returning the last iterate.", stacklevel=2)
    return result
