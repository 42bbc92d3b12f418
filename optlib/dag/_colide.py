"""CoLiDE: concomitant linear DAG estimation (Saboksayr, Mateos, Tepper, ICLR 2024).

The linear SEM ``X = X W + Z`` is fitted by minimising, along DAGMA's central
path ``mu_1 > mu_2 > ...`` with log-det parameters ``s_1, s_2, ...``,

    mu_k (S(W, sigma) + alpha ||W||_1) + h_s(W),
    h_s(W) = -log det(s I - W o W) + d log s,

where ``S`` is the concomitant score (equal variances, one scale ``sigma``)

    S = tr((I - W)^T C (I - W)) / (2 sigma) + d sigma / 2,

or (non-equal variances, one scale per variable)

    S = sum_j [(I - W)^T C (I - W)]_jj / (2 sigma_j) + sigma_j / 2,

with ``C = X_c^T X_c / n`` the covariance of the centred data. Each iteration
is one Adam step on ``W`` followed by the closed-form minimiser in ``sigma``.
``score_type="dagma"`` uses DAGMA's ``tr((I - W)^T C (I - W)) / 2`` instead.

Two engines run the same iteration: numba kernels (``_colide_numba.py``) for
NumPy input, and the array-API path below for CuPy and other libraries.
"""

import math
import numbers

import numpy as np
from sklearn.base import BaseEstimator

from .._backend import device, get_namespace, is_non_numpy_array, use_numba
from .._result import (
    STATUS_CALLBACK,
    STATUS_CONVERGED,
    STATUS_MAX_ITER,
    STATUS_NUMERICAL,
    IterationMonitor,
    make_result,
)
from .._validation import check_array, check_option, check_scalar
from ._acyclic import threshold_to_dag

__all__ = ["CoLiDE", "colide"]

VARIANCES = ("equal", "nonequal")
SCORES = ("colide", "dagma")
_MAX_RESTARTS = 50  # stage restarts (lr halved, s raised by 0.1) before giving up
# codes returned by a run of iterations (both engines)
OK = 0  # all the iterations asked for were done
OUT_OF_DOMAIN = 1  # left the domain at the stage's first iteration (or with s <= 0.9): restart the stage
LR_UNDERFLOW = 2  # the step size was halved below 1e-16: the stage ends here
DOMAIN_TOL = -1e-6  # an entry of (s I - W o W)^{-1} below this means W left the M-matrix domain


# -- array-API engine ---------------------------------------------------------


class _XPState:
    """Iterate of the array-API engine: ``W``, scales, ``R = C (I - W)``, Adam moments and last step."""

    def __init__(self, W, sigma, C, mode, floor, xp):
        self.xp, self.C, self.mode, self.floor = xp, C, mode, floor
        self.eye = xp.eye(W.shape[0], dtype=W.dtype, device=device(W))
        self.W, self.sigma = W, sigma
        self.m = self.v = self.step = xp.zeros_like(W)
        self.refresh_scale()

    def copy_start(self):
        """A fresh stage state from this one's ``W`` and ``sigma`` (Adam reset)."""
        return _XPState(self.W, self.sigma, self.C, self.mode, self.floor, self.xp)

    def snapshot(self):
        """The current ``W`` (never updated in place by this engine)."""
        return self.W

    def refresh_scale(self):
        xp = self.xp
        self.R = self.C @ (self.eye - self.W)
        if self.mode == 2:
            return
        c = xp.clip(xp.sum((self.eye - self.W) * self.R, axis=0), min=0.0)
        if self.mode == 0:
            c = xp.broadcast_to(xp.mean(c), c.shape)
        self.sigma = xp.clip(xp.sqrt(c), min=self.floor)

    def inverse_in_domain(self, s):
        M_inv = self.xp.linalg.inv(s * self.eye - self.W * self.W)
        return M_inv, bool(self.xp.all(M_inv >= DOMAIN_TOL))

    def objective(self, alpha, mu, s):
        xp = self.xp
        d = self.W.shape[0]
        sign, logdet = xp.linalg.slogdet(s * self.eye - self.W * self.W)
        h = d * math.log(s) - float(logdet) if float(sign) > 0 else math.inf
        c = xp.sum((self.eye - self.W) * self.R, axis=0)
        if self.mode == 2:
            score = 0.5 * xp.sum(c)
        else:
            score = xp.sum(0.5 * c / self.sigma + 0.5 * self.sigma)
        score = float(score)
        return mu * (score + alpha * float(xp.sum(xp.abs(self.W)))) + h, score, h

    def gradient(self, M_inv, alpha, mu):
        """Gradient in ``W`` of ``mu (S + alpha |W|_1) + h_s`` (scales fixed), ``M_inv = (s I - W o W)^{-1}``."""
        return -mu * self.R / self.sigma + mu * alpha * self.xp.sign(self.W) + 2.0 * self.W * M_inv.T

    def run(self, alpha, mu, s, lr, beta1, beta2, t0, n_steps):
        """``n_steps`` iterations from stage iteration ``t0``; returns ``(code, done, lr)``."""
        xp = self.xp
        for k in range(n_steps):
            t = t0 + k + 1
            M_inv, inside = self.inverse_in_domain(s)
            while not inside:
                if t == 1 or s <= 0.9:
                    return OUT_OF_DOMAIN, k, lr
                self.W = self.W + lr * self.step
                lr *= 0.5
                if lr <= 1e-16:
                    self.refresh_scale()
                    return LR_UNDERFLOW, k, lr
                self.W = self.W - lr * self.step
                self.refresh_scale()
                M_inv, inside = self.inverse_in_domain(s)
            grad = self.gradient(M_inv, alpha, mu)
            self.m = beta1 * self.m + (1.0 - beta1) * grad
            self.v = beta2 * self.v + (1.0 - beta2) * grad * grad
            self.step = (self.m / (1.0 - beta1**t)) / (xp.sqrt(self.v / (1.0 - beta2**t)) + 1e-8)
            self.W = self.W - lr * self.step
            self.refresh_scale()
        return OK, n_steps, lr


# -- numba engine ---------------------------------------------------------------


class _NumbaState:
    """Iterate of the numba engine (float64 NumPy arrays updated in place by the kernels).

    The kernels run in float64 whatever the input dtype (one compiled
    specialisation; the result is cast back to the input's dtype).
    """

    def __init__(self, W, sigma, C, mode, floor):
        from . import _colide_numba as kernels

        self.C = np.asarray(C, dtype=np.float64)
        self.kernels, self.mode, self.floor = kernels, mode, floor
        self.W, self.sigma = np.array(W, dtype=np.float64), np.array(sigma, dtype=np.float64)
        self.R = np.empty_like(W)
        self.m, self.v, self.step = np.zeros_like(W), np.zeros_like(W), np.zeros_like(W)
        kernels.refresh_scale(self.W, self.C, self.R, self.sigma, mode, floor)

    def copy_start(self):
        """A fresh stage state from this one's ``W`` and ``sigma`` (Adam reset)."""
        return _NumbaState(self.W, self.sigma, self.C, self.mode, self.floor)

    def snapshot(self):
        """A copy of the current ``W`` (the kernels update it in place)."""
        return self.W.copy()

    def objective(self, alpha, mu, s):
        obj, score, h = self.kernels.objective(self.W, self.R, self.sigma, alpha, mu, s, self.mode)
        return float(obj), float(score), float(h)

    def run(self, alpha, mu, s, lr, beta1, beta2, t0, n_steps):
        code, done, lr = self.kernels.run_stage_chunk(
            self.W, self.sigma, self.C, self.R, self.step, self.m, self.v,
            alpha, mu, s, lr, beta1, beta2, t0, n_steps, self.mode, self.floor,
        )
        return int(code), int(done), float(lr)


# -- driver -----------------------------------------------------------------------


def _check_data(X, xp):
    X = check_array(X, "X", xp=xp, ndim=2)
    n, d = X.shape
    if n < 2:
        raise ValueError(f"X must have at least 2 samples, got shape {tuple(X.shape)}.")
    if d < 1:
        raise ValueError(f"X must have at least one feature, got shape {tuple(X.shape)}.")
    return X


def _covariance(X, xp):
    """Centred covariance ``X_c^T X_c / n`` and the column standard deviations; rejects constant columns."""
    n = X.shape[0]
    Xc = X - xp.mean(X, axis=0, keepdims=True)
    C = (Xc.T @ Xc) / n
    std = xp.sqrt(xp.linalg.diagonal(C))
    scale = xp.max(xp.abs(X), axis=0)
    tiny = 100 * xp.finfo(X.dtype).eps
    constant = std <= tiny * xp.where(scale > 0, scale, xp.ones_like(scale))
    if bool(xp.any(constant)):
        raise ValueError(
            "X has constant column(s); every variable must vary across samples "
            "(its noise scale would be zero)."
        )
    return C, std


def _stage_schedule(s, warm_iter, max_iter):
    if isinstance(s, numbers.Real):
        s = (s,)
    s = [check_scalar(v, "s", lower=0.0, lower_inclusive=False) for v in s]
    if not s:
        raise ValueError("s must hold at least one value (one per central-path stage).")
    iters = [warm_iter] * (len(s) - 1) + [max_iter]
    return s, iters


def colide(
    X,
    *,
    variance="equal",
    score_type="colide",
    alpha=0.05,
    s=(1.0, 0.9, 0.8, 0.7),
    mu_init=1.0,
    mu_factor=0.1,
    warm_iter=20000,
    max_iter=70000,
    lr=3e-4,
    betas=(0.99, 0.999),
    tol=1e-6,
    check_every=1000,
    w_threshold=0.3,
    min_noise_scale=1e-3,
    engine="auto",
    callback=None,
    history=False,
    verbose=False,
):
    """Learn a linear DAG with CoLiDE (concomitant scale estimation, log-det acyclicity).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data, ``n_samples >= 2``, no constant column. It is centred
        internally; its namespace, device and float dtype are kept.
    variance : {"equal", "nonequal"}, default="equal"
        CoLiDE-EV (one noise scale) or CoLiDE-NV (one scale per variable).
    score_type : {"colide", "dagma"}, default="colide"
        The concomitant score, or DAGMA's least squares
        ``tr((I - W)^T C (I - W)) / 2`` (no scale in the fit; for comparison).
    alpha : float, default=0.05
        l1 weight. About ``sqrt(log d / n)``; DAGMA's default is 0.03.
    s : sequence of float, default=(1.0, 0.9, 0.8, 0.7)
        Log-det parameter of each central-path stage (its length is the number
        of stages).
    mu_init, mu_factor : float, default=1.0, 0.1
        Weight of the score in the first stage and its decrease per stage.
    warm_iter, max_iter : int, default=20000, 70000
        Iteration budget of every stage but the last, and of the last one.
    lr : float, default=3e-4
        Adam step size.
    betas : pair of float, default=(0.99, 0.999)
        Adam's moment decay rates.
    tol : float, default=1e-6
        A stage stops when the relative change of its objective between two
        checks is at most ``tol``.
    check_every : int, default=1000
        Iterations between convergence checks (and callback, history and
        verbose lines).
    w_threshold : float, default=0.3
        Post-processing threshold on ``|W|`` before the acyclicity repair
        (:func:`threshold_to_dag`).
    min_noise_scale : float, default=1e-3
        Floor of the noise scales, relative to the smallest column standard
        deviation of ``X``.
    engine : {"auto", "numba", "xp"}, default="auto"
        numba kernels (NumPy input; they compute in float64 and cast the
        result back to float32 for float32 input) or the array-API path (in
        the input's dtype).
    callback : callable, optional
        ``callback(intermediate_result)`` at every check, with ``x`` (the
        unthresholded ``W``), ``fun``, ``score``, ``h``, ``mu``, ``s`` and
        ``nit``; raising ``StopIteration`` stops the solver.
    history : bool, default=False
        Record ``fun``, ``score``, ``h``, ``mu``, ``s`` at every check.
    verbose : bool or int, default=False
        Print a line every ``verbose`` checks.

    Returns
    -------
    result : OptimizeResult
        ``adjacency`` (thresholded, acyclic), ``x`` (the raw ``W``),
        ``noise_scale`` (0-d array for equal variances, shape ``(d,)``
        otherwise; the residual standard deviations for ``score_type="dagma"``),
        ``fun``, ``nit`` (Adam iterations, all stages), ``success``,
        ``status``, ``message`` and ``history`` when asked. A
        ``ConvergenceWarning`` is emitted when the last stage used its whole
        budget without meeting ``tol``.

    Notes
    -----
    With the array-API engine (CuPy, ...) the domain test
    ``(s I - W o W)^{-1} >= -1e-6`` reads one boolean from the device every
    iteration, and the objective a few scalars at every check.
    """
    xp = get_namespace(X)
    X = _check_data(X, xp)
    check_option(variance, "variance", VARIANCES)
    check_option(score_type, "score_type", SCORES)
    alpha = check_scalar(alpha, "alpha", lower=0.0)
    mu_init = check_scalar(mu_init, "mu_init", lower=0.0, lower_inclusive=False)
    mu_factor = check_scalar(mu_factor, "mu_factor", lower=0.0, lower_inclusive=False)
    warm_iter = check_scalar(warm_iter, "warm_iter", kind=numbers.Integral, lower=1)
    max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=1)
    lr = check_scalar(lr, "lr", lower=0.0, lower_inclusive=False)
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}.")
    beta1, beta2 = (check_scalar(b, "betas", lower=0.0, upper=1.0, upper_inclusive=False) for b in betas)
    tol = check_scalar(tol, "tol", lower=0.0)
    check_every = check_scalar(check_every, "check_every", kind=numbers.Integral, lower=1)
    w_threshold = check_scalar(w_threshold, "w_threshold", lower=0.0)
    min_noise_scale = check_scalar(min_noise_scale, "min_noise_scale", lower=0.0)
    s_schedule, budgets = _stage_schedule(s, warm_iter, max_iter)
    numba = use_numba(xp, engine)
    monitor = IterationMonitor(callback, history, verbose, name="colide")

    C, std = _covariance(X, xp)
    d = X.shape[1]
    mode = 2 if score_type == "dagma" else (0 if variance == "equal" else 1)
    floor = min_noise_scale * float(xp.min(std))
    W0 = xp.zeros((d, d), dtype=X.dtype, device=device(X))
    sigma0 = xp.ones((d,), dtype=X.dtype, device=device(X))
    state = _NumbaState(W0, sigma0, C, mode, floor) if numba else _XPState(W0, sigma0, C, mode, floor, xp)

    nit, mu, status, fun = 0, mu_init, STATUS_CONVERGED, math.nan
    for stage, (s_k, budget) in enumerate(zip(s_schedule, budgets)):
        last = stage == len(s_schedule) - 1
        step_size, restarts = lr, 0
        while True:  # a stage that leaves the domain at once restarts with a smaller step and larger s
            trial = state.copy_start()
            outcome, nit, fun, stop = _run_stage(
                trial, alpha, mu, s_k, step_size, beta1, beta2, budget, tol, check_every, monitor, nit
            )
            if outcome != "out_of_domain":
                break
            restarts += 1
            if restarts > _MAX_RESTARTS:
                status = STATUS_NUMERICAL
                break
            step_size *= 0.5
            s_k += 0.1
        if status == STATUS_NUMERICAL:
            break
        state = trial
        if stop:
            status = STATUS_CALLBACK
            break
        if last and outcome == "budget":
            status = STATUS_MAX_ITER
        elif last and outcome == "lr_underflow":
            status = STATUS_NUMERICAL
        mu *= mu_factor

    W = xp.astype(state.W, X.dtype)
    noise_scale = _closed_form_scale(W, C, variance, floor, xp)
    return make_result(
        W, adjacency=threshold_to_dag(W, w_threshold), noise_scale=noise_scale,
        fun=fun, nit=nit, status=status, monitor=monitor, solver="colide",
    )


def _closed_form_scale(W, C, variance, floor, xp):
    """Minimiser of the concomitant score in the scales at ``W`` (0-d for equal variances, else ``(d,)``)."""
    I_W = xp.eye(W.shape[0], dtype=W.dtype, device=device(W)) - W
    c = xp.clip(xp.sum(I_W * (C @ I_W), axis=0), min=0.0)
    if variance == "equal":
        c = xp.mean(c)
    return xp.clip(xp.sqrt(c), min=floor)


def _run_stage(state, alpha, mu, s, lr, beta1, beta2, budget, tol, check_every, monitor, nit):
    """One central-path stage; returns ``(outcome, nit, fun, stopped_by_callback)``.

    ``outcome`` is ``"converged"``, ``"budget"``, ``"stopped"``, ``"lr_underflow"`` or
    ``"out_of_domain"`` (restart the stage).
    """
    done, fun_prev, fun = 0, math.inf, math.nan
    while done < budget:
        code, n, lr = state.run(alpha, mu, s, lr, beta1, beta2, done, min(check_every, budget - done))
        done += n
        nit += n
        if code == OUT_OF_DOMAIN:
            return "out_of_domain", nit, fun, False
        fun, score, h = state.objective(alpha, mu, s)
        if monitor(nit, state.snapshot(), fun=fun, score=score, h=h, mu=mu, s=s):
            return "stopped", nit, fun, True
        if code == LR_UNDERFLOW:
            return "lr_underflow", nit, fun, False
        if not math.isfinite(fun):
            return "budget", nit, fun, False
        if math.isfinite(fun_prev) and abs(fun_prev - fun) <= tol * abs(fun_prev):
            return "converged", nit, fun, False
        fun_prev = fun
    return "budget", nit, fun, False


class CoLiDE(BaseEstimator):
    """Concomitant linear DAG estimation, as a scikit-learn estimator.

    Fits the linear SEM ``X = X W + Z`` with the CoLiDE score (equal or
    non-equal noise variances, scales estimated in closed form) and DAGMA's
    log-det acyclicity along a central path; see :func:`colide`, whose
    options the parameters are, and the user guide.

    Parameters
    ----------
    variance : {"equal", "nonequal"}, default="equal"
    alpha : float, default=0.05
    score_type : {"colide", "dagma"}, default="colide"
        Named ``score_type``, not ``score``, because scikit-learn reserves
        ``score`` for a method.
    s : sequence of float, default=(1.0, 0.9, 0.8, 0.7)
    mu_init, mu_factor : float, default=1.0, 0.1
    warm_iter, max_iter : int, default=20000, 70000
    lr : float, default=3e-4
    betas : pair of float, default=(0.99, 0.999)
    tol : float, default=1e-6
    check_every : int, default=1000
    w_threshold : float, default=0.3
    min_noise_scale : float, default=1e-3
    engine : {"auto", "numba", "xp"}, default="auto"
    verbose : bool or int, default=False

    Attributes
    ----------
    adjacency_ : array of shape (n_features, n_features)
        Weighted adjacency of the estimated DAG (``adjacency_[i, j]`` is the
        weight of ``i -> j``), thresholded and guaranteed acyclic.
    raw_adjacency_ : array of shape (n_features, n_features)
        The solver's ``W`` before thresholding.
    noise_scale_ : array of shape () or (n_features,)
        Estimated noise standard deviation(s).
    n_iter_ : int
        Adam iterations over all central-path stages.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string feature names.

    Examples
    --------
    >>> from optlib.datasets import simulate_dag, simulate_linear_sem
    >>> from optlib.dag import CoLiDE
    >>> W = simulate_dag(5, 5, random_state=0)
    >>> X = simulate_linear_sem(W, 500, random_state=0)
    >>> est = CoLiDE().fit(X)
    >>> est.adjacency_.shape
    (5, 5)
    """

    def __init__(
        self,
        variance="equal",
        alpha=0.05,
        *,
        score_type="colide",
        s=(1.0, 0.9, 0.8, 0.7),
        mu_init=1.0,
        mu_factor=0.1,
        warm_iter=20000,
        max_iter=70000,
        lr=3e-4,
        betas=(0.99, 0.999),
        tol=1e-6,
        check_every=1000,
        w_threshold=0.3,
        min_noise_scale=1e-3,
        engine="auto",
        verbose=False,
    ):
        self.variance = variance
        self.alpha = alpha
        self.score_type = score_type
        self.s = s
        self.mu_init = mu_init
        self.mu_factor = mu_factor
        self.warm_iter = warm_iter
        self.max_iter = max_iter
        self.lr = lr
        self.betas = betas
        self.tol = tol
        self.check_every = check_every
        self.w_threshold = w_threshold
        self.min_noise_scale = min_noise_scale
        self.engine = engine
        self.verbose = verbose

    def fit(self, X, y=None):
        """Learn the DAG of ``X``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Data, at least 2 samples, no constant column; NumPy-convertible
            input goes through scikit-learn's ``validate_data``, other
            array-API arrays (CuPy, ...) keep their namespace and device.
        y : ignored

        Returns
        -------
        self
        """
        X = self._validate(X)
        result = colide(X, **self.get_params())
        self.adjacency_ = result.adjacency
        self.raw_adjacency_ = result.x
        self.noise_scale_ = result.noise_scale
        self.n_iter_ = int(result.nit)
        return self

    def _validate(self, X):
        if is_non_numpy_array(X):
            X = _check_data(X, get_namespace(X))
            self.n_features_in_ = X.shape[1]
            return X
        from sklearn.utils.validation import validate_data

        return validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
