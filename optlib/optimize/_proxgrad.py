"""Proximal gradient methods: ISTA and FISTA with backtracking and restarts."""

import math
import numbers

from .._backend import get_namespace, result_float_dtype
from .._result import (
    STATUS_CALLBACK,
    STATUS_CONVERGED,
    STATUS_MAX_ITER,
    STATUS_NUMERICAL,
    IterationMonitor,
    make_result,
)
from .._validation import check_array, check_option, check_scalar
from ..functions import Function, SmoothFunction

__all__ = ["proxgrad"]

METHODS = ("fista", "ista")
RESTARTS = (None, "function", "gradient")
STOPS = ("gradient_mapping", "gap")
_REFRESH_FORWARD_EVERY = 100  # recompute A x exactly to stop drift of the carried product


class _Zero(Function):
    """The zero function (no penalty)."""

    is_separable = True

    def __call__(self, x):
        return 0.0

    def prox(self, v, step=1.0):
        return v


class _Point:
    """An iterate ``x`` with, for composite ``f = h(A .)``, its image ``z = A x``."""

    __slots__ = ("x", "z")

    def __init__(self, x, z):
        self.x = x
        self.z = z


class _SmoothEvaluator:
    """Values and gradients of ``f``, reusing ``A x`` when ``f`` is composite."""

    def __init__(self, f):
        self.f = f
        self.composite = all(hasattr(f, m) for m in ("forward", "value_at", "grad_at"))

    def point(self, x):
        return _Point(x, self.f.forward(x) if self.composite else None)

    def extrapolate(self, new, old, beta):
        x = new.x + beta * (new.x - old.x)
        z = new.z + beta * (new.z - old.z) if self.composite else None
        return _Point(x, z)

    def value(self, p):
        return self.f.value_at(p.z) if self.composite else self.f(p.x)

    def grad(self, p):
        return self.f.grad_at(p.z) if self.composite else self.f.grad(p.x)


def _check_gap_penalty(g):
    """Raise ``ValueError`` unless ``g`` can enter a duality gap: convex, with a conjugate."""
    if g is None:
        # the zero penalty's conjugate is finite only at u = 0: the gap is infinite short of an exact minimiser
        raise ValueError(
            "stop='gap' needs a penalty g: without one (g=None) the duality gap is infinite "
            "except at an exact minimiser; use stop='gradient_mapping'."
        )
    name = type(g).__name__
    if not getattr(g, "is_convex", True):
        raise ValueError(
            f"stop='gap' needs a convex g; {name} is nonconvex (no duality gap): "
            "use stop='gradient_mapping'."
        )
    conjugate = getattr(type(g), "conjugate", None)
    if conjugate is None or conjugate is Function.conjugate or not hasattr(g, "dual_scaling"):
        raise ValueError(
            f"stop='gap' needs g with a conjugate and dual_scaling; {name} has none: "
            "use stop='gradient_mapping'."
        )


def _check_x0_shape(f, x0):
    """``x0`` must have ``f.input_shape`` when ``f`` declares one."""
    expected = getattr(f, "input_shape", None)
    if expected is not None and tuple(x0.shape) != tuple(expected):
        raise ValueError(f"x0 has shape {tuple(x0.shape)}, expected {tuple(expected)} (the input shape of f).")


def _check_gradient_shape(x0, grad0):
    """The gradient at ``x0`` must have ``x0``'s shape (catches a broadcasting ``x0``)."""
    if tuple(grad0.shape) != tuple(x0.shape):
        raise ValueError(
            f"x0 has shape {tuple(x0.shape)} but the gradient of f at x0 has shape "
            f"{tuple(grad0.shape)}; x0 must have the shape of f's argument."
        )


def _initial_step(f, step):
    if step is not None:
        return check_scalar(step, "step", lower=0.0, lower_inclusive=False), False
    lipschitz = getattr(f, "lipschitz", None)
    if lipschitz is not None and lipschitz > 0:
        return 1.0 / lipschitz, False
    return 1.0, True


def proxgrad(
    f,
    g,
    x0,
    *,
    method="fista",
    step=None,
    backtracking=None,
    shrink=0.5,
    restart=None,
    stop="gradient_mapping",
    tol=1e-8,
    atol=0.0,
    max_iter=1000,
    gap_every=10,
    callback=None,
    history=False,
    verbose=False,
):
    """Minimise ``f(x) + g(x)`` by proximal gradient (ISTA) or FISTA.

    Parameters
    ----------
    f : SmoothFunction
        Smooth part with ``__call__`` and ``grad`` (e.g. :class:`~optlib.functions.LeastSquares`).
        Composite functions ``h(A x)`` (``forward``, ``value_at``, ``grad_at``)
        cost one product with ``A`` and one with ``A^T`` per iteration.
    g : Function or None
        Proximable part (``None`` for no penalty); nonconvex penalties are
        allowed (convergence to a stationary point).
    x0 : array
        Starting point, of ``f.input_shape`` when ``f`` declares one; not
        modified. Its namespace and device are kept. The iterates and the
        result are float32 when ``x0`` and the gradient of ``f`` are both
        single precision, float64 otherwise (optlib's ``result_float_dtype``
        rule: a float32 ``x0`` with a float64 ``A`` runs and returns float64,
        as NumPy's type promotion would; integer ``x0`` is cast to float64).
    method : {"fista", "ista"}
        FISTA (Beck-Teboulle momentum) or plain proximal gradient.
    step : float, optional
        Fixed step. Default ``1 / f.lipschitz`` when known, otherwise 1 with
        backtracking.
    backtracking : bool, optional
        Shrink the step by ``shrink`` until the sufficient-decrease condition
        ``f(x+) <= f(y) + <grad f(y), x+ - y> + ||x+ - y||^2 / (2 t)`` holds.
        Default: on when no Lipschitz constant is known.
    shrink : float in (0, 1)
        Backtracking factor.
    restart : {None, "function", "gradient"}
        Adaptive momentum restart (O'Donoghue-Candès): when the objective
        increases, or when the momentum points against the gradient mapping.
    stop : {"gradient_mapping", "gap"}
        ``"gradient_mapping"``: stop when ``||x+ - y|| / t <= max(tol * r0, atol)``,
        ``r0`` being that norm at the first iteration. ``"gap"``: stop when
        the duality gap ``f.duality_gap(x, g) <= tol * |F(x)|`` (checked every
        ``gap_every`` iterations); needs a convex ``g`` with a conjugate (not
        ``None``), ``ValueError`` otherwise.
    tol : float
        Relative tolerance of the stopping rule.
    atol : float
        Absolute tolerance on the gradient-mapping norm (``stop="gradient_mapping"``);
        use it for a criterion that does not depend on the starting point.
    max_iter : int
        Maximum number of iterations.
    gap_every : int
        Iterations between duality-gap evaluations when ``stop="gap"``.
    callback : callable, optional
        ``callback(intermediate_result)`` after each iteration; raising
        ``StopIteration`` stops the solver.
    history : bool
        Record objective, residual, step and time per iteration.
    verbose : bool or int
        Print progress every ``verbose`` iterations.

    Returns
    -------
    OptimizeResult
        ``x`` (the last iterate when converged or stopped by the callback,
        otherwise the iterate of lowest objective), ``fun``, ``nit``,
        ``success``, ``status``, ``message``, ``step`` (final step), ``residual``
        (last stopping measure), ``history`` when requested. Warns
        ``ConvergenceWarning`` when ``max_iter`` is reached.
    """
    if not isinstance(f, SmoothFunction) and not (hasattr(f, "grad") and callable(f)):
        raise TypeError(f"f must be a smooth function with a gradient, got {type(f).__name__}.")
    if g is not None and not hasattr(g, "prox"):
        raise TypeError(f"g must be a proximable function (with .prox), got {type(g).__name__}.")
    method = check_option(method, "method", METHODS)
    restart = check_option(restart, "restart", RESTARTS)
    stop = check_option(stop, "stop", STOPS)
    tol = check_scalar(tol, "tol", lower=0.0)
    atol = check_scalar(atol, "atol", lower=0.0)
    max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=1)
    gap_every = check_scalar(gap_every, "gap_every", kind=numbers.Integral, lower=1)
    shrink = check_scalar(shrink, "shrink", lower=0.0, upper=1.0, lower_inclusive=False, upper_inclusive=False)
    if stop == "gap":
        if not hasattr(f, "duality_gap"):
            raise ValueError(f"stop='gap' needs f with a duality_gap method; {type(f).__name__} has none.")
        _check_gap_penalty(g)
    g = _Zero() if g is None else g
    t, auto_backtracking = _initial_step(f, step)
    backtracking = auto_backtracking if backtracking is None else bool(backtracking)

    x0 = check_array(x0, "x0", allow_complex=True)
    _check_x0_shape(f, x0)
    xp = get_namespace(x0)
    ev = _SmoothEvaluator(f)
    monitor = IterationMonitor(callback, history, verbose, name=method.upper())

    x = ev.point(x0)
    grad0 = ev.grad(x)
    _check_gradient_shape(x0, grad0)
    # A private copy in the working dtype; z = A x0 is unchanged by the cast.
    x = _Point(xp.astype(x0, result_float_dtype(xp, x0, grad0)), x.z)
    fx = ev.value(x)
    objective = fx + g(x.x)
    best_x, best_obj = x.x, objective
    y, fy = x, fx
    momentum = 1.0
    r0 = None
    residual = math.inf
    status = STATUS_MAX_ITER
    it = 0
    for it in range(1, max_iter + 1):
        grad_y = grad0 if it == 1 else ev.grad(y)
        while True:
            x_new = ev.point(g.prox(y.x - t * grad_y, t))
            f_new = ev.value(x_new)
            if not backtracking:
                break
            d = x_new.x - y.x
            dist2 = float(xp.sum(xp.real(xp.conj(d) * d)))
            model = fy + float(xp.sum(xp.real(xp.conj(grad_y) * d))) + dist2 / (2 * t)
            if f_new <= model + 1e-12 * abs(fy) or dist2 == 0.0:
                break
            t *= shrink
        obj_new = f_new + g(x_new.x)
        d = x_new.x - y.x
        residual = float(xp.linalg.vector_norm(xp.reshape(d, (-1,)))) / t
        if r0 is None:
            r0 = residual

        if not math.isfinite(obj_new):
            status = STATUS_NUMERICAL
            break
        if obj_new <= best_obj:
            best_x, best_obj = x_new.x, obj_new

        if stop == "gap" and (it % gap_every == 0 or it == max_iter):
            residual = f.duality_gap(x_new.x, g)
            converged = residual <= tol * max(abs(obj_new), 1e-300)
        elif stop == "gradient_mapping":
            converged = residual <= max(tol * r0, atol)
        else:
            converged = False

        stop_requested = monitor(it, x_new.x, objective=obj_new, residual=residual, step=t)
        if stop_requested or converged:
            # Return this (certified or callback-chosen) iterate, not an earlier one of equal objective.
            best_x, best_obj = x_new.x, obj_new
            status = STATUS_CALLBACK if stop_requested else STATUS_CONVERGED
            break

        if method == "ista":
            beta = 0.0
        else:
            reset = (restart == "function" and obj_new > objective) or (
                restart == "gradient"
                and float(xp.sum(xp.real(xp.conj(y.x - x_new.x) * (x_new.x - x.x)))) > 0
            )
            if reset:
                momentum = 1.0
            next_momentum = (1.0 + math.sqrt(1.0 + 4.0 * momentum * momentum)) / 2.0
            beta = 0.0 if reset else (momentum - 1.0) / next_momentum
            momentum = next_momentum
        if ev.composite and it % _REFRESH_FORWARD_EVERY == 0:
            x_new = ev.point(x_new.x)
        y = ev.extrapolate(x_new, x, beta) if beta else x_new
        fy = ev.value(y) if backtracking else None
        x, objective = x_new, obj_new

    return make_result(
        best_x,
        fun=best_obj,
        nit=it,
        status=status,
        monitor=monitor,
        solver=f"proxgrad({method})",
        step=t,
        residual=residual,
    )
