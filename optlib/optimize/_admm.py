"""ADMM and plug-and-play solvers for inverse problems ``y = A x + noise``.

:func:`admm` is the generic scaled ADMM for ``min f(x) + g(C x)``; the
plug-and-play front ends build on it (:func:`pnp_admm`) or on the same
building blocks (:func:`csalsa`, :func:`pnp_pgd`, :func:`red`). A *denoiser*
is either an :class:`~optlib.functions.Function` (its exact prox is used) or
any callable ``denoiser(x, sigma)`` that returns an array of ``x``'s shape,
``sigma`` being the noise standard deviation, always passed explicitly.
"""

import math
import numbers

from .._backend import get_namespace, is_complex, result_float_dtype
from .._result import (
    STATUS_CALLBACK,
    STATUS_CONVERGED,
    STATUS_MAX_ITER,
    STATUS_NUMERICAL,
    IterationMonitor,
    make_result,
)
from .._validation import check_option, check_scalar
from ..functions import Function
from ..functions import LeastSquares as _DenseLeastSquares
from ..linop import Identity, LinearOperator, MatrixOperator, OperatorLeastSquares
from ..linop._base import real_inner, sq_norm
from ..linop._datafit import check_observations, like_observations

__all__ = ["admm", "csalsa", "pnp_admm", "pnp_pgd", "red"]

_TINY = 1e-300


# -- building blocks ------------------------------------------------------------
def _norm(xp, a):
    return math.sqrt(float(sq_norm(xp, a)))


def _copy(xp, x):
    return xp.asarray(x, copy=True)


def conjugate_gradient(apply, b, x0, *, tol=1e-6, max_iter=20, check_every=5):
    """Solve ``apply(x) = b`` for a Hermitian positive definite ``apply`` by CG.

    Works on arrays of any shape and namespace (inner products ``Re <a, b>``),
    starting from ``x0`` (warm start). Stops when ``||r|| <= tol ||b||``,
    tested every ``check_every`` iterations to limit host synchronisations.
    """
    xp = get_namespace(b)
    x = x0
    r = b - apply(x)
    p = r
    rs = real_inner(xp, r, r)
    bound = (tol * _norm(xp, b)) ** 2
    for k in range(max_iter):
        if k % check_every == 0 and float(rs) <= bound:
            break
        ap = apply(p)
        curvature = real_inner(xp, p, ap)
        alpha = rs / xp.where(curvature > 0, curvature, xp.ones_like(curvature))
        x = x + alpha * p
        r = r - alpha * ap
        rs_new = real_inner(xp, r, r)
        p = r + (rs_new / xp.where(rs > 0, rs, xp.ones_like(rs))) * p
        rs = rs_new
    return x


class _Prior:
    """The prox step of a prior ``lam * g``: a Function's exact prox or a denoiser.

    ``step(v, t)`` returns ``prox_{t lam g}(v)``: ``g.prox(v, lam t)`` for a
    :class:`Function`, ``denoiser(v, sqrt(lam t))`` for a callable denoiser
    (the MAP reading of a Gaussian denoiser at noise variance ``lam t``).
    """

    def __init__(self, prior, lam, name="denoiser"):
        if isinstance(prior, Function) or callable(getattr(prior, "prox", None)):
            self.function = prior
        elif callable(prior):
            self.function = None
        else:
            raise TypeError(
                f"{name} must be a callable denoiser(x, sigma) or an optlib.functions Function, "
                f"got {type(prior).__name__}."
            )
        self.prior = prior
        self.lam = lam
        self.name = name

    @property
    def has_value(self):
        return isinstance(self.function, Function)

    def value(self, x):
        return self.lam * self.function(x)

    def denoise(self, v, sigma):
        """``denoiser(v, sigma)`` with a shape check of the output."""
        out = self.prior(v, sigma)
        if tuple(getattr(out, "shape", ())) != tuple(v.shape):
            raise ValueError(
                f"{self.name}(x, sigma) returned shape {tuple(getattr(out, 'shape', ()))}, expected {tuple(v.shape)}."
            )
        return out

    def step(self, v, t):
        if self.function is not None:
            return self.function.prox(v, self.lam * t)
        return self.denoise(v, math.sqrt(self.lam * t))

    def prox(self, v, step=1.0):  # the Function protocol, for solvers that take g.prox
        return self.step(v, step)


def _as_datafit(f):
    """``OperatorLeastSquares`` for quadratic datafits (``functions.LeastSquares`` with 1-D ``y`` included)."""
    if isinstance(f, OperatorLeastSquares):
        return f
    if isinstance(f, _DenseLeastSquares) and f.y.ndim == 1:
        return OperatorLeastSquares(MatrixOperator(f.A), f.y, f.scale)
    return None


class _XUpdate:
    """``argmin_x f(x) + rho/2 ||C x - v||^2`` by prox, exact normal solve or CG."""

    def __init__(self, f, C, cg_tol, cg_max_iter):
        self.quadratic = _as_datafit(f)
        self.C = C
        self.f = f
        self.cg_tol, self.cg_max_iter = cg_tol, cg_max_iter
        if self.quadratic is None:
            if not callable(getattr(f, "prox", None)):
                raise TypeError(
                    "f must be OperatorLeastSquares, functions.LeastSquares (1-D y) or a Function with a prox, "
                    f"got {type(f).__name__}."
                )
            if C is not None:
                raise ValueError("a constraint operator C needs a least-squares f (OperatorLeastSquares); "
                                 f"{type(f).__name__} only offers its prox.")
        self.exact = self.quadratic is not None and C is None and self.quadratic.A.has_normal_solve
        self._AHy = None

    def __call__(self, x, v, rho):
        if self.quadratic is None:
            return self.f.prox(v, 1.0 / rho)
        q = self.quadratic
        if self._AHy is None:
            self._AHy = q.scale * q.A.adjoint(q.y)
        if self.C is None:  # (s A^H A + rho I) x = s A^H y + rho v
            rhs = self._AHy + rho * v
            if self.exact:
                return q.A.solve_normal(rhs / q.scale, rho / q.scale)

            def apply(w):
                return q.scale * q.A.normal(w) + rho * w
        else:
            rhs = self._AHy + rho * self.C.adjoint(v)

            def apply(w):
                return q.scale * q.A.normal(w) + rho * self.C.normal(w)

        return conjugate_gradient(apply, rhs, x, tol=self.cg_tol, max_iter=self.cg_max_iter)


def _check_common(tol, max_iter, rho, rho_factor, rho_max):
    tol = check_scalar(tol, "tol", lower=0.0)
    max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=1)
    rho = check_scalar(rho, "rho", lower=0.0, lower_inclusive=False)
    rho_factor = check_scalar(rho_factor, "rho_factor", lower=1.0)
    rho_max = math.inf if rho_max is None else check_scalar(rho_max, "rho_max", lower=rho)
    return tol, max_iter, rho, rho_factor, rho_max


def _start(x0, f, name="x0"):
    """Working copy of ``x0`` (new array in the precision of the observations, complex if ``x0`` is)."""
    datafit = _as_datafit(f)
    if datafit is not None:
        x0 = like_observations(x0, datafit.y, name)
        if tuple(x0.shape) != datafit.A.input_shape:
            raise ValueError(f"{name} has shape {tuple(x0.shape)}, but A expects arrays of shape {datafit.A.input_shape}.")
        xp = get_namespace(x0)
        # float32 observations give a float32 solution whatever the start's dtype (list, int, float64)
        dtype = result_float_dtype(xp, datafit.y)
        if is_complex(x0, xp) and not is_complex(datafit.y, xp):
            dtype = xp.complex64 if dtype == xp.float32 else xp.complex128
        return xp.astype(x0, dtype, copy=True)
    x0 = like_observations(x0, x0, name)
    return _copy(get_namespace(x0), x0)


# -- generic ADMM -------------------------------------------------------------------
def admm(
    f,
    g,
    x0,
    *,
    C=None,
    rho=1.0,
    rho_factor=1.0,
    rho_max=None,
    tol=1e-4,
    atol=0.0,
    max_iter=200,
    cg_tol=1e-6,
    cg_max_iter=20,
    callback=None,
    history=False,
    verbose=False,
):
    """Minimise ``f(x) + g(z)`` subject to ``z = C x`` by scaled ADMM.

    Iterates (``u`` is the scaled multiplier)::

        x <- argmin_x f(x) + rho/2 ||C x - z + u||^2
        z <- prox_{g/rho}(C x + u)
        u <- u + C x - z

    The x-update is ``f.prox`` when ``f`` is only proximable (``C`` must
    then be the identity), the operator's exact ``solve_normal`` for a
    least-squares ``f`` and ``C = I`` (closed form for masks, FFT for
    convolutions and Fourier sampling, cached factorisations for matrices),
    and warm-started conjugate gradients otherwise (``cg_max_iter`` steps
    at most; nothing is densified).

    Parameters
    ----------
    f : OperatorLeastSquares, functions.LeastSquares or Function
        Datafit. ``OperatorLeastSquares(A, y)`` is ``1/2 ||A x - y||^2`` for a
        :mod:`optlib.linop` operator; a dense ``LeastSquares`` with 1-D ``y``
        is wrapped in a :class:`~optlib.linop.MatrixOperator`.
    g : Function
        Anything with ``prox(v, step)`` (``step = 1 / rho``); its value, when
        it is a :class:`Function`, enters the recorded objective.
    x0 : array
        Starting point (``z = C x0``, ``u = 0``); not modified.
    C : LinearOperator, optional
        Splitting operator (identity by default).
    rho : float > 0
        Penalty parameter.
    rho_factor, rho_max : float, optional
        Continuation: after each iteration ``rho <- min(rho * rho_factor, rho_max)``
        (the scaled multiplier is rescaled accordingly). ``rho_factor=1``
        keeps ``rho`` fixed.
    tol : float
        Stop when the relative primal residual ``||C x - z|| / max(||C x||, ||z||)``
        and the relative dual residual ``rho ||C^H (z - z_prev)|| / ||rho C^H u||``
        are both below ``tol``.
    atol : float
        Absolute floor of both tests, as in Boyd et al.: a residual below
        ``atol`` passes whatever its relative value. Needed when the solution
        is ``z = 0`` (for example an l1 weight above its zero threshold),
        where the relative primal residual stays at 1.
    max_iter : int
    cg_tol, cg_max_iter : float, int
        Relative tolerance and iteration cap of the CG x-update.
    callback : callable, optional
        ``callback(intermediate_result)`` with a copy of ``x`` and the recorded values;
        raising ``StopIteration`` stops the solver.
    history : bool
        Record ``primal_residual``, ``dual_residual``, ``rho`` and, when both
        terms have values, ``objective`` ``f(x) + g(z)``.
    verbose : bool or int
        Print every ``verbose`` iterations.

    Returns
    -------
    OptimizeResult
        ``x``, ``z``, ``u`` (scaled multiplier), ``rho`` (final), ``fun``
        (``f(x) + g(z)`` or ``None``), ``nit``, ``success``, ``status``,
        ``message``, ``primal_residual``, ``dual_residual``, ``history``.
        ADMM is not monotone: without convergence the last iterate is
        returned, with a ``ConvergenceWarning``.
    """
    if not callable(getattr(g, "prox", None)):
        raise TypeError(f"g must have a prox(v, step) method, got {type(g).__name__}.")
    if C is not None and not isinstance(C, LinearOperator):
        raise TypeError(f"C must be a LinearOperator or None, got {type(C).__name__}.")
    tol, max_iter, rho, rho_factor, rho_max = _check_common(tol, max_iter, rho, rho_factor, rho_max)
    atol = check_scalar(atol, "atol", lower=0.0)
    cg_tol = check_scalar(cg_tol, "cg_tol", lower=0.0)
    cg_max_iter = check_scalar(cg_max_iter, "cg_max_iter", kind=numbers.Integral, lower=1)
    update = _XUpdate(f, C, cg_tol, cg_max_iter)
    x = _start(x0, f)
    if C is not None and tuple(x.shape) != C.input_shape:
        raise ValueError(f"x0 has shape {tuple(x.shape)}, but C expects arrays of shape {C.input_shape}.")
    xp = get_namespace(x)
    Cop = Identity(x.shape) if C is None else C
    with_value = isinstance(g, Function) and callable(f)
    monitor = IterationMonitor(callback, history, verbose, name="ADMM")

    z = Cop.forward(x)
    u = xp.zeros_like(z)
    status, it = STATUS_MAX_ITER, 0
    r_rel = s_rel = math.inf
    objective = None
    for it in range(1, max_iter + 1):
        x = update(x, z - u, rho)
        cx = Cop.forward(x)
        z_old = z
        z = g.prox(cx + u, 1.0 / rho)
        u = u + cx - z
        r = _norm(xp, cx - z)
        s = rho * _norm(xp, Cop.adjoint(z - z_old))
        r_rel = r / max(_norm(xp, cx), _norm(xp, z), _TINY)
        s_rel = s / max(rho * _norm(xp, Cop.adjoint(u)), _TINY)
        values = {"primal_residual": r_rel, "dual_residual": s_rel, "rho": rho}
        if with_value:
            objective = f(x) + g(z)
            values["objective"] = objective
        if not (math.isfinite(r) and math.isfinite(s)):
            status = STATUS_NUMERICAL
            break
        if monitor(it, _copy(xp, x) if callback is not None else x, **values):
            status = STATUS_CALLBACK
            break
        if (r_rel <= tol or r <= atol) and (s_rel <= tol or s <= atol):
            status = STATUS_CONVERGED
            break
        if rho_factor > 1.0 and rho < rho_max:
            new_rho = min(rho * rho_factor, rho_max)
            u = u * (rho / new_rho)
            rho = new_rho
    return make_result(x, fun=objective, nit=it, status=status, monitor=monitor, solver="admm", returned="last",
                       z=z, u=u, rho=rho, primal_residual=r_rel, dual_residual=s_rel)


# -- plug-and-play front ends --------------------------------------------------------
def _lam_from(lam, sigma, rho, prior):
    """The prior weight: ``lam``, or ``sigma**2 * rho`` from a noise level; 1 for a bare Function."""
    if lam is not None and sigma is not None:
        raise ValueError("give lam or sigma, not both.")
    if sigma is not None:
        sigma = check_scalar(sigma, "sigma", lower=0.0, lower_inclusive=False)
        return sigma**2 * rho
    if lam is not None:
        return check_scalar(lam, "lam", lower=0.0)
    if isinstance(prior, Function) or callable(getattr(prior, "prox", None)):
        return 1.0
    raise ValueError("a callable denoiser needs lam or sigma (its noise level is always passed explicitly).")


def _operator_problem(y, A):
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A must be a LinearOperator (optlib.linop), got {type(A).__name__}.")
    return OperatorLeastSquares(A, check_observations(A, y))


def pnp_admm(y, A, denoiser, *, lam=None, sigma=None, rho=1.0, x0=None, **options):
    """Plug-and-play ADMM for ``min 1/2 ||A x - y||^2 + lam g(x)``.

    Iterates ``x = argmin 1/2||A x - y||^2 + rho/2||x - z + u||^2`` (exact
    normal solve or CG), ``z = denoiser(x + u, sigma)`` with
    ``sigma = sqrt(lam / rho)`` passed explicitly (for a
    :class:`~optlib.functions.Function`, its exact prox with step
    ``lam / rho``), ``u += x - z``.

    Parameters
    ----------
    y : array of ``A.output_shape``
        Observations.
    A : LinearOperator
    denoiser : callable or Function
        ``denoiser(x, sigma)`` returning an array of ``x``'s shape (e.g. an
        :mod:`optlib.imaging` denoiser), or a Function whose prox is used.
    lam : float >= 0, optional
        Prior weight (default 1 for a Function).
    sigma : float > 0, optional
        Denoiser noise level at the initial ``rho`` instead of ``lam``
        (``lam = sigma**2 * rho``); with continuation on ``rho`` the level
        then decreases as ``sqrt(lam / rho)``.
    rho : float > 0
    x0 : array, optional
        Start; ``A^H y`` by default.
    **options
        Passed to :func:`admm` (``tol``, ``max_iter``, ``rho_factor``,
        ``rho_max``, ``cg_tol``, ``cg_max_iter``, ``callback``, ``history``,
        ``verbose``).

    Returns
    -------
    OptimizeResult
        As :func:`admm`; ``x`` is the last data-consistent iterate and ``z``
        the last denoised one. ``fun`` is the objective for a Function prior.
    """
    f = _operator_problem(y, A)
    rho = check_scalar(rho, "rho", lower=0.0, lower_inclusive=False)
    prior = _Prior(denoiser, _lam_from(lam, sigma, rho, denoiser))
    g = _PriorFunction(prior) if prior.has_value else prior
    x0 = f.back_projection() if x0 is None else x0
    return admm(f, g, x0, rho=rho, **options)


class _PriorFunction(Function):
    """``lam * g`` as a Function (value and prox), for the recorded objective."""

    def __init__(self, prior):
        self.prior = prior
        self.is_convex = getattr(prior.function, "is_convex", True)

    def __call__(self, x):
        return self.prior.value(x)

    def prox(self, v, step=1.0):
        return self.prior.step(v, step)


def _project_ball(xp, v, eps):
    """Euclidean projection of ``v`` onto ``{||v|| <= eps}``."""
    norm = _norm(xp, v)
    return v if norm <= eps else v * (eps / norm)


def csalsa(
    y,
    A,
    prior,
    eps,
    *,
    sigma=None,
    kappa=1.0,
    mu=1.0,
    x0=None,
    stop="residuals",
    tol=1e-4,
    max_iter=200,
    cg_tol=1e-6,
    cg_max_iter=5,
    callback=None,
    history=False,
    verbose=False,
):
    """C-SALSA: ``min g(x)`` subject to ``||A x - y|| <= eps`` (constrained ADMM).

    Splits ``v1 = x`` (prior) and ``v2 = A x`` (data ball), as Oral and Oktem
    do for near-field MIMO imaging; per iteration::

        x  <- solve (A^H A + kappa I) x = kappa (v1 + d1) + A^H (v2 + d2)
        v1 <- prior step at x - d1
        v2 <- y + Proj_{||.|| <= eps}(A x - d2 - y)
        d1 <- d1 - (x - v1);  d2 <- d2 - (A x - v2)

    The x-solve is the operator's exact normal solve when it has one,
    otherwise ``cg_max_iter`` warm-started CG steps (5 in the paper).

    Parameters
    ----------
    y : array of ``A.output_shape``
    A : LinearOperator
    prior : Function or callable
        A Function ``g`` is applied by its prox with step ``1 / (mu kappa)``
        (the minimiser does not depend on the scale of ``g``: ``mu`` only
        tunes the speed). A callable ``denoiser(x, sigma)`` needs ``sigma``,
        the fixed denoising strength (the paper's ``alpha``). For complex
        unknowns use a magnitude prior, e.g. ``Magnitude(TV3D(...))``.
    eps : float >= 0
        Radius of the data-fidelity ball (``sqrt(N) sigma_noise``).
    sigma : float > 0, optional
        Denoiser strength for a callable prior.
    kappa : float > 0
        Weight of the prior split in the x-update (500 in the paper).
    mu : float > 0
        Penalty of the data split (prior step ``1 / (mu kappa)``).
    x0 : array, optional
        Start; ``A^H y / max|A^H y|`` by default.
    stop : {"residuals", "magnitude_change"}
        ``"residuals"``: relative primal residuals ``||x - v1|| / ||x||`` and
        ``||A x - v2|| / ||A x||`` and the relative change of ``x`` below
        ``tol``. ``"magnitude_change"``: the paper's rule
        ``|| |x_k| - |x_{k-1}| || / ||x_{k-1}|| < tol`` (5e-4 there).
    tol, max_iter, cg_tol, cg_max_iter, callback, history, verbose
        As in :func:`admm`.

    Returns
    -------
    OptimizeResult
        ``x``, ``v1`` (the prior iterate), ``fun`` (``g(x)`` for a Function),
        ``residual_norm`` ``||A x - y||``, ``nit``, ``success``, ``status``,
        ``message``, ``history`` (``change``, ``primal_residual``,
        ``residual_norm``).
    """
    f = _operator_problem(y, A)
    y = f.y
    eps = check_scalar(eps, "eps", lower=0.0)
    kappa = check_scalar(kappa, "kappa", lower=0.0, lower_inclusive=False)
    mu = check_scalar(mu, "mu", lower=0.0, lower_inclusive=False)
    stop = check_option(stop, "stop", ("residuals", "magnitude_change"))
    tol, max_iter, _, _, _ = _check_common(tol, max_iter, 1.0, 1.0, None)
    cg_tol = check_scalar(cg_tol, "cg_tol", lower=0.0)
    cg_max_iter = check_scalar(cg_max_iter, "cg_max_iter", kind=numbers.Integral, lower=1)
    if isinstance(prior, Function) or callable(getattr(prior, "prox", None)):
        if sigma is not None:
            raise ValueError("sigma is the strength of a callable denoiser; a Function prior takes none.")
        step = _Prior(prior, 1.0, "prior")
        prior_step = lambda v: step.step(v, 1.0 / (mu * kappa))
    else:
        if sigma is None:
            raise ValueError("a callable prior needs sigma (its noise level is always passed explicitly).")
        sigma = check_scalar(sigma, "sigma", lower=0.0, lower_inclusive=False)
        step = _Prior(prior, 1.0, "prior")
        prior_step = lambda v: step.denoise(v, sigma)
    if x0 is None:
        back = f.back_projection()
        xp = get_namespace(back)
        x0 = back / max(float(xp.max(xp.abs(back))), _TINY)
    x = _start(x0, f)
    xp = get_namespace(x)
    A = f.A

    if A.has_normal_solve:
        def solve(x, rhs):
            return A.solve_normal(rhs, kappa)
    else:
        def solve(x, rhs):
            return conjugate_gradient(lambda w: A.normal(w) + kappa * w, rhs, x, tol=cg_tol, max_iter=cg_max_iter)

    monitor = IterationMonitor(callback, history, verbose, name="C-SALSA")
    v1, v2 = x, A.forward(x)
    d1, d2 = xp.zeros_like(v1), xp.zeros_like(v2)
    status, it, change = STATUS_MAX_ITER, 0, math.inf
    for it in range(1, max_iter + 1):
        x_old = x
        x = solve(x, kappa * (v1 + d1) + A.adjoint(v2 + d2))
        ax = A.forward(x)
        v1 = prior_step(x - d1)
        v2 = y + _project_ball(xp, ax - d2 - y, eps)
        d1 = d1 - (x - v1)
        d2 = d2 - (ax - v2)
        x_norm = max(_norm(xp, x_old), _TINY)
        if stop == "magnitude_change":
            change = _norm(xp, xp.abs(x) - xp.abs(x_old)) / x_norm
            converged = change < tol and it > 1  # iteration 1 returns x0 (v1 = x0, v2 = A x0, d = 0)
        else:
            change = _norm(xp, x - x_old) / x_norm
            primal = max(_norm(xp, x - v1) / max(_norm(xp, x), _TINY), _norm(xp, ax - v2) / max(_norm(xp, ax), _TINY))
            converged = max(change, primal) < tol
        residual_norm = _norm(xp, ax - y)
        values = {"change": change, "residual_norm": residual_norm}
        if stop == "residuals":
            values["primal_residual"] = primal
        if not math.isfinite(change):
            status = STATUS_NUMERICAL
            break
        if monitor(it, _copy(xp, x) if callback is not None else x, **values):
            status = STATUS_CALLBACK
            break
        if converged:
            status = STATUS_CONVERGED
            break
    fun = step.function(x) if step.has_value else None
    return make_result(x, fun=fun, nit=it, status=status, monitor=monitor, solver="csalsa", returned="last",
                       v1=v1, residual_norm=_norm(xp, A.forward(x) - y))


def _step_size(f, step):
    if step is not None:
        return check_scalar(step, "step", lower=0.0, lower_inclusive=False)
    return 1.0 / f.lipschitz


def pnp_pgd(
    y,
    A,
    denoiser,
    *,
    lam=None,
    sigma=None,
    step=None,
    method="fista",
    x0=None,
    tol=1e-5,
    max_iter=200,
    callback=None,
    history=False,
    verbose=False,
):
    """Plug-and-play proximal gradient (PGD / FISTA) for ``1/2 ||A x - y||^2 + lam g(x)``.

    ``x <- denoiser(w - t A^H (A w - y), sqrt(lam t))`` where ``w`` is the
    current point (FISTA-extrapolated for ``method="fista"``) and ``t`` the
    step; for a :class:`~optlib.functions.Function` the exact prox with step
    ``lam t`` is used, which is :func:`~optlib.optimize.proxgrad` on the same
    problem.

    Parameters
    ----------
    y, A, denoiser, lam, sigma, x0
        As in :func:`pnp_admm`; here ``sigma`` gives ``lam = sigma**2 / t``.
    step : float > 0, optional
        Step ``t``; ``1 / ||A||^2`` by default (power iteration).
    method : {"fista", "pgd"}
    tol : float
        Stop when ``||x_k - x_{k-1}|| <= tol ||x_{k-1}||``.
    max_iter, callback, history, verbose
        As in :func:`admm`.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun`` (objective for a Function prior, else ``None``),
        ``nit``, ``success``, ``status``, ``message``, ``step``, ``history``
        (``change`` and ``objective``).
    """
    f = _operator_problem(y, A)
    method = check_option(method, "method", ("fista", "pgd"))
    t = _step_size(f, step)
    if sigma is not None:
        sigma = check_scalar(sigma, "sigma", lower=0.0, lower_inclusive=False)
        if lam is not None:
            raise ValueError("give lam or sigma, not both.")
        lam = sigma**2 / t
    prior = _Prior(denoiser, _lam_from(lam, None, 1.0, denoiser))
    tol, max_iter, _, _, _ = _check_common(tol, max_iter, 1.0, 1.0, None)
    x = _start(f.back_projection() if x0 is None else x0, f)
    xp = get_namespace(x)
    monitor = IterationMonitor(callback, history, verbose, name=method.upper())
    w, momentum = x, 1.0
    status, it, change, objective = STATUS_MAX_ITER, 0, math.inf, None
    for it in range(1, max_iter + 1):
        x_old = x
        x = prior.step(w - t * f.grad(w), t)
        change = _norm(xp, x - x_old) / max(_norm(xp, x_old), _TINY)
        values = {"change": change}
        if prior.has_value:
            objective = f(x) + prior.value(x)
            values["objective"] = objective
        if not math.isfinite(change):
            status = STATUS_NUMERICAL
            break
        if monitor(it, _copy(xp, x) if callback is not None else x, **values):
            status = STATUS_CALLBACK
            break
        if change <= tol:
            status = STATUS_CONVERGED
            break
        if method == "fista":
            next_momentum = (1.0 + math.sqrt(1.0 + 4.0 * momentum**2)) / 2.0
            w = x + ((momentum - 1.0) / next_momentum) * (x - x_old)
            momentum = next_momentum
        else:
            w = x
    return make_result(x, fun=objective, nit=it, status=status, monitor=monitor, solver=f"pnp_pgd({method})",
                       returned="last", step=t)


def red(
    y,
    A,
    denoiser,
    *,
    lam,
    sigma,
    step=None,
    x0=None,
    tol=1e-5,
    max_iter=200,
    callback=None,
    history=False,
    verbose=False,
):
    """Regularisation by denoising (RED, Romano-Elad-Milanfar) by gradient descent.

    Finds a fixed point of ``A^H (A x - y) + lam (x - D(x, sigma)) = 0``, the
    stationarity condition of ``1/2 ||A x - y||^2 + lam/2 <x, x - D(x)>``
    for a denoiser with symmetric Jacobian, by steps
    ``x <- x - t (A^H (A x - y) + lam (x - D(x, sigma)))``.

    Parameters
    ----------
    y, A, x0
        As in :func:`pnp_admm`.
    denoiser : callable
        ``denoiser(x, sigma)``; a :class:`~optlib.functions.Function` is used
        through its prox with step ``sigma**2``.
    lam : float >= 0
        Weight of the RED term.
    sigma : float > 0
        Fixed noise level passed to the denoiser.
    step : float > 0, optional
        ``1 / (||A||^2 + lam)`` by default (stable for nonexpansive denoisers).
    tol : float
        Stop when the RED gradient norm falls below ``tol`` times its initial value.
    max_iter, callback, history, verbose
        As in :func:`admm`.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun`` (``None``), ``nit``, ``success``, ``status``,
        ``message``, ``residual`` (relative gradient norm), ``history``.
    """
    f = _operator_problem(y, A)
    lam = check_scalar(lam, "lam", lower=0.0)
    sigma = check_scalar(sigma, "sigma", lower=0.0, lower_inclusive=False)
    prior = _Prior(denoiser, 1.0)
    denoise = (lambda v: prior.function.prox(v, sigma**2)) if prior.function is not None else (
        lambda v: prior.denoise(v, sigma))
    t = check_scalar(step, "step", lower=0.0, lower_inclusive=False) if step is not None else 1.0 / (f.lipschitz + lam)
    tol, max_iter, _, _, _ = _check_common(tol, max_iter, 1.0, 1.0, None)
    x = _start(f.back_projection() if x0 is None else x0, f)
    xp = get_namespace(x)
    monitor = IterationMonitor(callback, history, verbose, name="RED")
    status, it, residual, g0 = STATUS_MAX_ITER, 0, math.inf, None
    for it in range(1, max_iter + 1):
        grad = f.grad(x) + lam * (x - denoise(x))
        norm = _norm(xp, grad)
        g0 = norm if g0 is None else g0
        residual = norm / max(g0, _TINY)
        if not math.isfinite(norm):
            status = STATUS_NUMERICAL
            break
        if monitor(it, _copy(xp, x) if callback is not None else x, residual=residual):
            status = STATUS_CALLBACK
            break
        if residual <= tol:
            status = STATUS_CONVERGED
            break
        x = x - t * grad
    return make_result(x, fun=None, nit=it, status=status, monitor=monitor, solver="red", returned="last", residual=residual, step=t)
