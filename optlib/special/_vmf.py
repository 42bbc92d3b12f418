"""The von Mises-Fisher distribution on the unit sphere, in any dimension.

The von Mises-Fisher (vMF) distribution on the sphere :math:`S^{p-1}` of
:math:`\\mathbb{R}^p` has density

.. math::

    f(x \\mid \\mu, \\kappa) = C_p(\\kappa)\\, e^{\\kappa \\mu^\\top x},
    \\qquad
    \\log C_p(\\kappa) = (p/2 - 1)\\log\\kappa - (p/2)\\log(2\\pi)
                        - \\log I_{p/2-1}(\\kappa),

with mean direction :math:`\\mu` (a unit vector) and concentration
:math:`\\kappa \\ge 0`. In the high dimensions of learned features
(:math:`p` in the thousands) :math:`I_{p/2-1}(\\kappa)` under- or overflows in
double precision, so everything here works with logarithms of Bessel
functions from :mod:`optlib.special` (``log_iv`` and ``log_iv_ratio``).

Public API
----------
:func:`vmf_fit`
    Maximum-likelihood mean direction and concentration of (weighted) data.
:func:`vmf_concentration`
    The concentration MLE from the mean resultant length alone.
:func:`vmf_log_normalizer`, :func:`vmf_logpdf`
    :math:`\\log C_p(\\kappa)` and the log density.
:func:`vmf_sample`
    Wood's (1994) rejection sampler.
:class:`VonMisesFisher`
    The scikit-learn density estimator built on them.

Numerical notes
---------------
* The concentration MLE solves :math:`A_p(\\kappa) = \\bar R`, with
  :math:`A_p = I_{p/2}/I_{p/2-1}`, by a safeguarded Newton iteration on
  :math:`F(u) = \\log A_p(e^u) - \\log \\bar R` in :math:`u = \\log\\kappa`
  inside the bracket given by Amos' bounds (see :func:`vmf_concentration`).
* Statistics of the data (row norms, the resultant vector, projections on
  :math:`\\mu`) are accumulated in float64 over blocks of rows, whatever the
  input dtype, so float32 data lose nothing beyond their own rounding and no
  float64 copy of a large ``X`` is ever made.
* Rows are projected exactly onto the sphere (divided by their norm) before
  use; with ``normalize=False`` they must first be unit vectors within a
  tolerance (``1e-6`` in float64, ``1e-4`` in float32).
"""

import math
import numbers
import warnings

import numpy as np
from array_api_compat import is_array_api_obj
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._backend import device, get_namespace, is_non_numpy_array, is_numpy_namespace, to_host, to_namespace
from .._result import STATUS_CONVERGED, STATUS_MAX_ITER, STATUS_NUMERICAL, OptimizeResult, warn_convergence
from .._validation import check_array, check_random_state, check_scalar
from ._bessel import log_iv, log_iv_ratio

__all__ = [
    "vmf_fit",
    "vmf_concentration",
    "vmf_log_normalizer",
    "vmf_logpdf",
    "vmf_sample",
    "VonMisesFisher",
]

# Rows per block are chosen so that one float64 block holds about this many entries (32 MiB).
_BLOCK_ELEMENTS = 1 << 22
# Largest deviation of a row norm from 1 accepted when normalize=False.
_UNIT_ATOL = {"float64": 1e-6, "float32": 1e-4}
# Below this mean resultant length the two-term series of the inverse of A_p is exact in float64.
_SMALL_RBAR = 1e-6
_EPS = float(np.finfo(np.float64).eps)
# Batches of candidates drawn by Wood's sampler before it gives up (each is sized to finish the job).
_MAX_BATCHES = 100


# -- small helpers --------------------------------------------------------------


def _check_dimension(p, name="p"):
    """Dimension of the ambient space: an integer >= 2."""
    if isinstance(p, bool) or not isinstance(p, numbers.Integral):
        if isinstance(p, numbers.Real) and float(p).is_integer():
            p = int(p)
        else:
            raise TypeError(f"{name} must be an integer (the dimension of the ambient space), got {p!r}.")
    p = int(p)
    if p < 2:
        raise ValueError(
            f"{name} must be >= 2: the von Mises-Fisher distribution lives on the sphere S^(p-1) of R^p, "
            f"got {name}={p}."
        )
    return p


def _check_kappa(kappa):
    """Concentration: a finite real number >= 0, returned as a float."""
    return check_scalar(kappa, "kappa", lower=0.0)


def _dtype_name(dtype):
    return "float32" if "float32" in str(dtype) else "float64"


def _unit_atol(dtype):
    return _UNIT_ATOL[_dtype_name(dtype)]



def _namespace_of(*objects):
    """Namespace of the array-API arrays among ``objects`` (NumPy when there are none)."""
    return get_namespace(*[obj for obj in objects if is_array_api_obj(obj)])


def _as_float_array(X, name, *, xp=None, ndim=None):
    """``X`` as a float32/float64 array (integers become float64); checks finiteness."""
    if xp is None and not is_non_numpy_array(X):
        X = np.asarray(X) if not isinstance(X, np.ndarray) else X
    X = check_array(X, name, xp=xp, ndim=ndim)
    return X


def _row_blocks(X, xp, *, normalize, name):
    """Iterate over blocks of rows of the 2-D array ``X`` projected onto the sphere.

    Yields ``(start, block, inv_norms)``: ``block`` is a float64 copy of rows
    ``start:start + len(block)`` and ``inv_norms`` the reciprocals of their
    Euclidean norms (computed with scaling, so that neither tiny nor huge
    entries under- or overflow). Raises ``ValueError`` for zero rows, and,
    when ``normalize`` is false, for rows whose norm differs from 1 by more
    than the dtype's tolerance.
    """
    n, p = X.shape
    step = max(1, _BLOCK_ELEMENTS // max(p, 1))
    atol = _unit_atol(X.dtype)
    for start in range(0, n, step):
        block = xp.astype(X[start : min(n, start + step), ...], xp.float64)
        scale = xp.max(xp.abs(block), axis=1)
        zero = scale == 0
        if bool(xp.any(zero)):
            row = start + int(xp.argmax(xp.astype(zero, xp.int32)))
            raise ValueError(
                f"{name} has a row of zeros (row {row}); a zero vector has no direction on the sphere "
                "and cannot be used by the von Mises-Fisher distribution."
            )
        scaled = block / xp.reshape(scale, (-1, 1))
        norms = scale * xp.sqrt(xp.sum(scaled * scaled, axis=1))
        if not normalize:
            deviation = xp.abs(norms - 1.0)
            worst = int(xp.argmax(deviation))
            if float(deviation[worst]) > atol:
                raise ValueError(
                    f"Rows of {name} must be unit vectors (Euclidean norm 1 within {atol:g}) when normalize=False; "
                    f"row {start + worst} has norm {float(norms[worst]):.10g}. Divide the rows by their "
                    "norms or pass normalize=True."
                )
        yield start, block, 1.0 / norms


def _check_weights(weights, n, xp, dev):
    """Sample weights as a float64 vector of X's namespace: finite, >= 0, positive sum."""
    if weights is None:
        return None
    if is_non_numpy_array(weights) and not is_numpy_namespace(xp):
        w = check_array(weights, "weights", xp=xp, ndim=1, min_size=0)
    else:
        host = to_host(weights) if is_non_numpy_array(weights) else np.asarray(weights)
        w = check_array(host, "weights", ndim=1, min_size=0)
        if not is_numpy_namespace(xp):
            w = to_namespace(w, xp, device=dev)
    if w.shape[0] != n:
        raise ValueError(f"weights has shape {tuple(w.shape)}, expected ({n},) to match the {n} rows of X.")
    w = xp.astype(w, xp.float64)
    if bool(xp.any(w < 0)):
        raise ValueError("weights must be non-negative.")
    if not float(xp.sum(w)) > 0:
        raise ValueError("weights must have a positive sum.")
    return w


def _unit_vector(mu, p, xp, name="mu"):
    """Check that ``mu`` is a unit vector of length ``p``; return it exactly normalised, in float64."""
    mu = check_array(mu, name, xp=xp, ndim=1)
    if mu.shape[0] != p:
        raise ValueError(f"{name} has shape {tuple(mu.shape)}, expected ({p},) to match the dimension p={p}.")
    mu64 = xp.astype(mu, xp.float64)
    norm = float(xp.linalg.vector_norm(mu64)) if hasattr(xp, "linalg") else float(xp.sqrt(xp.sum(mu64 * mu64)))
    atol = _unit_atol(mu.dtype)
    if abs(norm - 1.0) > atol:
        raise ValueError(f"{name} must be a unit vector (Euclidean norm 1 within {atol:g}), got norm {norm:.10g}.")
    return mu64 / norm


# -- log normalizer --------------------------------------------------------------


def _log_normalizer_at_zero(p):
    """log C_p(0) = -log |S^(p-1)| = lgamma(p/2) - log 2 - (p/2) log(pi)."""
    return math.lgamma(p / 2) - math.log(2.0) - (p / 2) * math.log(math.pi)


def _log_normalizer(p, kappa, xp):
    """log C_p(kappa) for a float64 array ``kappa >= 0`` of namespace ``xp`` (any device)."""
    nu = p / 2 - 1
    # Small kappa: log C_p(kappa) = log C_p(0) - log 0F1(; nu + 1; kappa^2 / 4); five terms of the
    # series are exact in float64 while kappa^2 / 4 < 1e-3 (nu + 1). The test is on kappa itself
    # and both branches see substituted inputs, so that nothing overflows for kappa up to 1e308.
    small = kappa < math.sqrt(4e-3 * (nu + 1))
    q = xp.where(small, kappa, 0.0) ** 2 / 4
    series = xp.zeros_like(kappa)
    term = xp.ones_like(kappa)
    for k in range(1, 6):
        term = term * q / (k * (nu + k))
        series = series + term
    small_value = _log_normalizer_at_zero(p) - xp.log1p(series)
    safe = xp.where(small, 1.0, kappa)
    large_value = nu * xp.log(safe) - (p / 2) * math.log(2 * math.pi) - log_iv(nu, safe)
    return xp.where(small, small_value, large_value)


def vmf_log_normalizer(p, kappa):
    """Logarithm of the von Mises-Fisher normalizing constant :math:`C_p(\\kappa)`.

    .. math::

        \\log C_p(\\kappa) = (p/2 - 1) \\log\\kappa - (p/2) \\log(2\\pi) - \\log I_{p/2-1}(\\kappa),

    so that :math:`C_p(\\kappa)\\, e^{\\kappa\\mu^\\top x}` integrates to one over
    the unit sphere :math:`S^{p-1}` of :math:`\\mathbb{R}^p`. Computed with
    ``log_iv``, hence finite for every ``p`` and ``kappa`` (SciPy's ``iv``
    overflows or underflows for ``p`` in the thousands).

    Parameters
    ----------
    p : int
        Dimension of the ambient space, ``p >= 2``.
    kappa : float or array
        Concentration(s), finite and ``>= 0``. At ``kappa = 0`` the limit
        :math:`\\log C_p(0) = -\\log|S^{p-1}| = \\log\\Gamma(p/2) - \\log 2 - (p/2)\\log\\pi`
        is returned, and small ``kappa`` use the series of
        :math:`\\log {}_0F_1(; p/2; \\kappa^2/4)`, so the function is smooth at 0.

    Returns
    -------
    float or array
        A Python float for scalar ``kappa``; otherwise an array in ``kappa``'s
        namespace, device and floating dtype (float32 kept).

    Raises
    ------
    TypeError
        If ``p`` is not an integer.
    ValueError
        If ``p < 2`` or ``kappa`` is negative, NaN or infinite.

    Examples
    --------
    >>> from optlib.special import vmf_log_normalizer
    >>> round(vmf_log_normalizer(3, 0.0), 12)  # -log(4 pi)
    -2.531024246969
    """
    p = _check_dimension(p)
    if isinstance(kappa, numbers.Real) or (getattr(kappa, "ndim", None) == 0 and not is_non_numpy_array(kappa)):
        k = _check_kappa(kappa)
        return float(_log_normalizer(p, np.array([k]), get_namespace())[0])
    xp = _namespace_of(kappa)
    K = check_array(kappa, "kappa", xp=xp, min_size=0)
    if bool(xp.any(K < 0)):
        raise ValueError("kappa must be >= 0.")
    return xp.astype(_log_normalizer(p, xp.astype(K, xp.float64), xp), K.dtype)


# -- log density -------------------------------------------------------------------


def _projections(X, mu64, xp, *, normalize, name="X"):
    """float64 vector of ``x_i^T mu / ||x_i||`` for the rows of the 2-D ``X`` (blockwise)."""
    parts = []
    for _, block, inv_norms in _row_blocks(X, xp, normalize=normalize, name=name):
        parts.append((block @ mu64) * inv_norms)
    if not parts:
        return xp.zeros((0,), dtype=xp.float64, device=device(X))
    return parts[0] if len(parts) == 1 else xp.concat(parts)


def vmf_logpdf(X, mu, kappa, *, normalize=False):
    """Log density of the von Mises-Fisher distribution.

    .. math:: \\log f(x) = \\log C_p(\\kappa) + \\kappa\\, \\mu^\\top x.

    Parameters
    ----------
    X : array of shape (n_samples, p) or (p,)
        Points on the unit sphere of :math:`\\mathbb{R}^p`, one per row.
    mu : array of shape (p,)
        Mean direction, a unit vector (norm 1 within ``1e-6``; ``1e-4`` in
        float32). It is divided by its norm before use.
    kappa : float
        Concentration, finite and ``>= 0``.
    normalize : bool, default=False
        If true, rows of ``X`` are divided by their norms (zero rows are an
        error). If false, rows must be unit vectors within ``1e-6`` (``1e-4``
        for float32) and are then projected exactly onto the sphere.

    Returns
    -------
    array of shape (n_samples,) or ()
        Log densities, in ``X``'s namespace, device and floating dtype.
        Projections :math:`\\mu^\\top x` are accumulated in float64.

    Raises
    ------
    ValueError
        For NaN or infinite entries, wrong shapes, ``p < 2``, non-unit rows
        with ``normalize=False``, zero rows, a non-unit ``mu`` or a negative
        ``kappa``.
    """
    xp = _namespace_of(X, mu)
    X = _as_float_array(X, "X", xp=xp if is_non_numpy_array(X) else None, ndim=(1, 2))
    single = X.ndim == 1
    X2 = xp.reshape(X, (1, -1)) if single else X
    p = _check_dimension(X2.shape[1], name="the number of columns of X (p)")
    mu64 = _unit_vector(mu, p, xp)
    kappa = _check_kappa(kappa)
    log_c = vmf_log_normalizer(p, kappa)
    w = _projections(X2, mu64, xp, normalize=normalize)
    out = xp.astype(log_c + kappa * w, X.dtype)
    return out[0] if single else out


# -- concentration MLE -------------------------------------------------------------


def _concentration_bracket(rbar, p):
    """Amos-type bounds ``lo <= kappa_hat <= hi`` for the root of ``A_p(kappa) = rbar``.

    From ``kappa / ((p-1)/2 + sqrt(kappa^2 + ((p+1)/2)^2)) <= A_p(kappa) <=
    kappa / ((p-1)/2 + sqrt(kappa^2 + ((p-1)/2)^2))`` (Amos 1974), inverted.
    """
    one_minus_r2 = (1.0 - rbar) * (1.0 + rbar)
    lo = (p - 1) * rbar / one_minus_r2
    root = math.sqrt((rbar * (p - 1)) ** 2 + one_minus_r2 * (p + 1) ** 2)
    hi = rbar * ((p - 1) + root) / (2 * one_minus_r2)
    return lo, hi


def _log_ratio_and_slope(nu, kappa):
    """``log A(kappa)`` and ``d log A / d log kappa`` for ``A = I_{nu+1} / I_nu``.

    The slope is ``kappa A'(kappa) / A(kappa) = 1 + kappa r_nu (r_{nu+1}/r_nu - 1)``
    with ``r_v = I_{v+1}/I_v``: this form, from ``A' = r_nu (r_{nu+1} - r_nu + 1/kappa)``,
    cancels far less for large ``kappa`` than ``1 - A^2 - (2 nu + 1) A / kappa``.
    """
    values = np.asarray(log_iv_ratio(np.array([nu, nu + 1.0]), np.array([kappa, kappa])), dtype=np.float64)
    values = values.reshape(-1)
    log_r0, log_r1 = float(values[0]), float(values[-1])
    slope = 1.0 + kappa * math.exp(log_r0) * math.expm1(log_r1 - log_r0)
    return log_r0, slope


def _solve_concentration(rbar, p, tol, max_iter):
    """Root of ``A_p(kappa) = rbar``; returns ``(kappa, nit, status, residual, bracket)``."""
    if rbar == 0.0:
        return 0.0, 0, STATUS_CONVERGED, 0.0, (0.0, 0.0)
    nu = p / 2 - 1
    lo, hi = _concentration_bracket(rbar, p)
    if rbar < _SMALL_RBAR:
        # A_p(kappa) = kappa/p - kappa^3/(p^2 (p+2)) + O(kappa^5): inverted to two terms, the
        # neglected O(rbar^4) relative term is below 1e-24.
        kappa = p * rbar * (1.0 + p * rbar * rbar / (p + 2))
        return kappa, 0, STATUS_CONVERGED, math.nan, (lo, hi)
    if hi - lo <= 0.5 * tol * lo:
        # rbar -> 1: the bracket (width < 1 in absolute terms) already pins kappa to tol.
        return 0.5 * (lo + hi), 0, STATUS_CONVERGED, math.nan, (lo, hi)
    log_rbar = math.log(rbar)
    u_lo = math.log(lo) - 8 * _EPS
    u_hi = math.log(hi) + 8 * _EPS
    banerjee = rbar * (p - rbar * rbar) / ((1.0 - rbar) * (1.0 + rbar))
    u = math.log(min(max(banerjee, lo), hi))
    log_a, slope = _log_ratio_and_slope(nu, math.exp(u))
    f = log_a - log_rbar
    step_before_last = u_hi - u_lo
    last_step = step_before_last
    status = STATUS_MAX_ITER
    nit = 0
    while nit < max_iter:
        nit += 1
        if f == 0.0:
            status = STATUS_CONVERGED
            break
        if f < 0:  # F is increasing in u
            u_lo = u
        else:
            u_hi = u
        newton = math.isfinite(f) and math.isfinite(slope) and slope > 0
        u_new = math.nan
        if newton:
            step = -f / slope
            if abs(math.expm1(step)) <= tol:  # converged (the error after the step is O(step^2))
                u += step
                status = STATUS_CONVERGED
                break
            u_new = u + step
        # rtsafe: bisect when Newton leaves the bracket or does not halve the step before last.
        if not (u_lo <= u_new <= u_hi) or abs(2 * f) > abs(step_before_last * slope):
            u_new = 0.5 * (u_lo + u_hi)
        step_before_last, last_step = last_step, u_new - u
        u = u_new
        if abs(math.expm1(last_step)) <= tol or u_hi - u_lo <= tol:
            status = STATUS_CONVERGED
            break
        log_a, slope = _log_ratio_and_slope(nu, math.exp(u))
        f = log_a - log_rbar
    kappa = math.exp(u)
    residual = _log_ratio_and_slope(nu, kappa)[0] - log_rbar
    return kappa, nit, status, residual, (lo, hi)


def _degenerate_result(p, mean_direction=None):
    message = (
        "Degenerate data: the mean resultant length is 1 (all samples share one direction, up to rounding), "
        "so the likelihood increases without bound and the maximum-likelihood concentration is infinite."
    )
    warnings.warn(message, RuntimeWarning, stacklevel=3)
    return OptimizeResult(
        x=math.inf,
        concentration=math.inf,
        mean_direction=mean_direction,
        mean_resultant_length=1.0,
        fun=0.0,
        nit=0,
        success=False,
        status=STATUS_NUMERICAL,
        message=message,
        bracket=(math.inf, math.inf),
    )


def vmf_concentration(mean_resultant_length, p, *, tol=1e-12, max_iter=100):
    """Maximum-likelihood concentration from the mean resultant length.

    Solves :math:`A_p(\\kappa) = I_{p/2}(\\kappa) / I_{p/2-1}(\\kappa) = \\bar R`
    for :math:`\\kappa`, where :math:`\\bar R = \\|\\sum_i w_i x_i\\| / \\sum_i w_i`.

    Algorithm: safeguarded Newton (Numerical Recipes' ``rtsafe``) on
    :math:`F(u) = \\log A_p(e^u) - \\log\\bar R` in :math:`u = \\log\\kappa`,
    with ``log A_p`` from ``log_iv_ratio``. :math:`F` is increasing, nearly
    linear for small :math:`\\kappa` and behaves like
    :math:`-(p-1)e^{-u}/2` for large :math:`\\kappa`, so Newton in
    :math:`\\log\\kappa` converges quickly over the whole range. It starts
    from Banerjee et al.'s (2005) approximation
    :math:`\\bar R (p - \\bar R^2)/(1 - \\bar R^2)` and is kept inside the
    bracket

    .. math::

        \\frac{(p-1)\\bar R}{1-\\bar R^2} \\le \\hat\\kappa \\le
        \\frac{\\bar R\\,\\big(p - 1 + \\sqrt{\\bar R^2 (p-1)^2 + (1-\\bar R^2)(p+1)^2}\\big)}{2(1-\\bar R^2)},

    the inverses of Amos' (1974) bounds
    :math:`\\kappa / ((p-1)/2 + \\sqrt{\\kappa^2 + ((p\\pm1)/2)^2})` on
    :math:`A_p` (used by Hornik and Grün, 2014); a step that leaves the
    bracket, or does not halve the step before last, is replaced by
    bisection in :math:`\\log\\kappa`. The iteration stops when the relative
    change of :math:`\\kappa` is at most ``tol`` (or the bracket is narrower
    than that). The derivative uses
    :math:`\\kappa A_p'/A_p = 1 + \\kappa r_\\nu (r_{\\nu+1}/r_\\nu - 1)`,
    :math:`r_v = I_{v+1}/I_v`, :math:`\\nu = p/2-1`.

    Limits: :math:`\\bar R = 0` gives :math:`\\hat\\kappa = 0` (uniform);
    :math:`\\bar R < 10^{-6}` uses the series
    :math:`\\hat\\kappa = p\\bar R (1 + p\\bar R^2/(p+2))`, exact in float64
    there; when the bracket is already narrower than ``tol`` (relative; this
    happens as :math:`\\bar R \\to 1`, where its width stays below 1 while
    :math:`\\hat\\kappa \\approx (p-1)/(2(1-\\bar R))` grows) its midpoint is
    returned without any Bessel evaluation; :math:`\\bar R = 1` (all samples
    share one direction) has no finite maximiser: ``inf`` is returned with a
    ``RuntimeWarning`` and ``success=False``.

    Parameters
    ----------
    mean_resultant_length : float
        :math:`\\bar R \\in [0, 1]`.
    p : int
        Dimension of the ambient space, ``p >= 2``.
    tol : float, default=1e-12
        Relative tolerance on :math:`\\kappa`.
    max_iter : int, default=100
        Maximum number of Newton/bisection steps; reaching it emits a
        ``ConvergenceWarning`` and returns the last iterate with
        ``success=False``.

    Returns
    -------
    OptimizeResult
        ``concentration`` (and ``x``, the same float), ``fun`` (the residual
        :math:`\\log A_p(\\hat\\kappa) - \\log\\bar R`; NaN when no Bessel
        evaluation was needed), ``nit``, ``success``, ``status``, ``message``,
        ``bracket`` (the Amos bracket) and ``mean_resultant_length``.
    """
    rbar = check_scalar(mean_resultant_length, "mean_resultant_length", lower=0.0, upper=1.0)
    p = _check_dimension(p)
    tol = check_scalar(tol, "tol", lower=0.0)
    max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=1)
    if rbar == 1.0:
        return _degenerate_result(p)
    kappa, nit, status, residual, bracket = _solve_concentration(rbar, p, tol, max_iter)
    return _concentration_result(kappa, nit, status, residual, bracket, rbar, "vmf_concentration")


def _concentration_result(kappa, nit, status, residual, bracket, rbar, solver, **extra):
    if status == STATUS_MAX_ITER:
        warn_convergence(
            f"{solver}: the concentration iteration did not reach tol within max_iter={nit} iterations; "
            "returning the last iterate.",
            stacklevel=3,
        )
    messages = {
        STATUS_CONVERGED: "Converged: relative change of the concentration below tol.",
        STATUS_MAX_ITER: "Maximum number of iterations reached before convergence.",
    }
    return OptimizeResult(
        x=kappa,
        concentration=kappa,
        **extra,
        mean_resultant_length=rbar,
        fun=residual,
        nit=nit,
        success=status == STATUS_CONVERGED,
        status=status,
        message=messages[status],
        bracket=bracket,
    )


def _resultant(X, xp, weights, *, normalize):
    """float64 resultant vector ``sum_i w_i x_i / ||x_i||`` (in ``xp``) and the total weight."""
    total = xp.zeros((X.shape[1],), dtype=xp.float64, device=device(X))
    for start, block, inv_norms in _row_blocks(X, xp, normalize=normalize, name="X"):
        coef = inv_norms if weights is None else inv_norms * weights[start : start + block.shape[0]]
        total = total + xp.sum(block * xp.reshape(coef, (-1, 1)), axis=0)
    weight = float(X.shape[0]) if weights is None else float(xp.sum(weights))
    return total, weight


def _fit(X, xp, weights, *, normalize, tol, max_iter, solver="vmf_fit", degenerate="warn"):
    """Shared by :func:`vmf_fit` and :class:`VonMisesFisher` (inputs already validated).

    ``degenerate="warn"`` returns an infinite concentration with a warning when
    all samples share one direction; ``"raise"`` raises ``ValueError`` instead.
    """
    n, p = X.shape
    total, weight = _resultant(X, xp, weights, normalize=normalize)
    length = float(xp.linalg.vector_norm(total)) if hasattr(xp, "linalg") else float(xp.sqrt(xp.sum(total * total)))
    rbar = length / weight
    if length > 0:
        mean_direction = xp.astype(total / length, X.dtype)
    else:  # kappa_hat = 0: the uniform distribution, for which any direction will do
        e1 = np.zeros(p, dtype=np.float64)
        e1[0] = 1.0
        mean_direction = xp.astype(to_namespace(e1, xp, device=device(X)), X.dtype)
    if rbar >= 1.0 - 4 * _EPS:
        if degenerate == "raise":
            raise ValueError(
                "X: all samples have the same direction (mean resultant length 1), so the maximum-likelihood "
                "concentration is infinite and no von Mises-Fisher density fits them."
            )
        return _degenerate_result(p, mean_direction)
    kappa, nit, status, residual, bracket = _solve_concentration(rbar, p, tol, max_iter)
    return _concentration_result(
        kappa, nit, status, residual, bracket, rbar, solver, mean_direction=mean_direction
    )


def vmf_fit(X, *, weights=None, normalize=False, tol=1e-12, max_iter=100):
    """Maximum-likelihood fit of a von Mises-Fisher distribution.

    The mean direction is the normalised resultant
    :math:`\\hat\\mu = \\sum_i w_i x_i / \\|\\sum_i w_i x_i\\|`; the
    concentration solves :math:`A_p(\\hat\\kappa) = \\bar R` with
    :math:`\\bar R = \\|\\sum_i w_i x_i\\| / \\sum_i w_i`, as described in
    :func:`vmf_concentration`.

    Parameters
    ----------
    X : array of shape (n_samples, p)
        Samples on the unit sphere of :math:`\\mathbb{R}^p`, ``p >= 2``
        (NumPy, CuPy or any array-API array; lists become NumPy arrays).
    weights : array of shape (n_samples,), optional
        Non-negative sample weights with a positive sum.
    normalize : bool, default=False
        If true, rows are divided by their norms (zero rows are an error). If
        false, rows must be unit vectors within ``1e-6`` (``1e-4`` for
        float32); they are then projected exactly onto the sphere, since the
        estimate of large concentrations depends on ``1 - R`` at rounding
        level.
    tol : float, default=1e-12
        Relative tolerance on the concentration.
    max_iter : int, default=100
        Maximum number of iterations of the concentration solver.

    Returns
    -------
    OptimizeResult
        ``mean_direction`` (array of shape (p,), in ``X``'s namespace, device
        and dtype), ``concentration`` (float; also ``x``, the variable
        solved for), ``mean_resultant_length`` :math:`\\bar R`, ``fun``
        (residual :math:`\\log A_p(\\hat\\kappa) - \\log\\bar R`), ``nit``,
        ``success``, ``status``, ``message`` and ``bracket``.
        When :math:`\\bar R = 0` the concentration is 0 and the mean direction,
        which is then arbitrary, is :math:`e_1`. When :math:`\\bar R = 1`
        (within 4 float64 ulps: all rows share one direction) the concentration
        is ``inf``, with a ``RuntimeWarning`` and ``success=False``.

    Raises
    ------
    ValueError
        For NaN or infinite entries, fewer than one row, ``p < 2``, zero rows,
        rows that are not unit vectors with ``normalize=False``, or invalid
        weights.

    Notes
    -----
    The resultant is accumulated in float64 over blocks of rows, so a
    float32 ``X`` is never copied whole to float64. With float32 data the
    attainable concentration is limited by the rounding of the rows to about
    :math:`(p-1)/(2\\cdot 10^{-7})`.

    The maximum-likelihood estimate is biased upwards when ``n`` is small
    for the dimension: :math:`E\\,\\bar R^2 \\approx A_p^2 + (1 - A_p^2)/n`,
    so the relative bias of :math:`\\bar R` is about
    :math:`(1 - A_p^2)/(2 n A_p^2)` (for example 0.1% for
    :math:`\\kappa = p/4`, where :math:`A_p \\approx 0.24`, and ``n = 10000``).

    Examples
    --------
    >>> import numpy as np
    >>> from optlib.special import vmf_fit, vmf_sample
    >>> mu = np.zeros(2048); mu[0] = 1.0
    >>> X = vmf_sample(2000, mu, 3000.0, random_state=0)
    >>> res = vmf_fit(X)
    >>> abs(res.concentration / 3000.0 - 1) < 0.02
    True
    """
    xp = _namespace_of(X)
    X = _as_float_array(X, "X", xp=xp if is_non_numpy_array(X) else None, ndim=2)
    _check_dimension(X.shape[1], name="the number of columns of X (p)")
    tol = check_scalar(tol, "tol", lower=0.0)
    max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=1)
    weights = _check_weights(weights, X.shape[0], xp, device(X))
    return _fit(X, xp, weights, normalize=normalize, tol=tol, max_iter=max_iter)


# -- sampling ------------------------------------------------------------------------


def _wood_b(p, kappa):
    """Wood's ``b = (p-1) / (2 kappa + sqrt(4 kappa^2 + (p-1)^2))`` and ``kappa b``, without overflow.

    With ``h = (p-1)/2``, ``b = h / (kappa + hypot(kappa, h))``; for ``kappa > h``
    numerator and denominator are divided by ``kappa``, so that neither
    overflows however large ``kappa`` is (``kappa b`` tends to ``h/2``).
    """
    h = (p - 1) / 2
    if kappa <= h:
        b = h / (kappa + math.hypot(kappa, h))
        return b, kappa * b
    r = h / kappa
    denominator = 1.0 + math.hypot(1.0, r)
    return r / denominator, h / denominator


def _sample_w(n, p, kappa, rng):
    """Wood's (1994) rejection sampler for ``w = mu^T x``; returns ``(w, 1 - w)`` in float64.

    With ``b`` from :func:`_wood_b`, ``x0 = (1-b)/(1+b)`` and
    ``Z ~ Beta((p-1)/2, (p-1)/2)`` (from two gamma variates, so that both
    ``Z`` and ``1 - Z`` are exact), the candidate is
    ``W = (1 - (1+b) Z) / (1 - (1-b) Z)``, accepted when
    ``kappa W + (p-1) log(1 - x0 W) - c >= log U`` with
    ``c = kappa x0 + (p-1) log(1 - x0^2)``. The test is evaluated as

        ``2 kappa b (1 - 2Z) / ((1+b)(1 - Z + bZ))
        + (p-1) (log1p((1-b) Z / (1 - Z + bZ)) - log 2 + log1p(b))``

    and ``1 - W = 2bZ / (1 - Z + bZ)``: nothing cancels when ``W`` is close
    to 1 and nothing overflows for any finite ``kappa`` (``kappa b`` stays
    below ``(p-1)/4``). Candidates are drawn in vectorised batches until ``n``
    are accepted; the acceptance rate is above 1/2, so running out of
    ``_MAX_BATCHES`` batches means a bug, reported by ``RuntimeError``.
    """
    m1 = p - 1.0
    b, kappa_b = _wood_b(p, kappa)
    shift = math.log1p(b) - math.log(2.0)
    accepted_eps = []
    remaining = n
    rate = 0.5
    for _ in range(_MAX_BATCHES):
        if remaining == 0:
            break
        size = int(remaining / rate * 1.1) + 16
        g1 = rng.standard_gamma(m1 / 2, size=size)
        g2 = rng.standard_gamma(m1 / 2, size=size)
        u = rng.random(size)
        total = g1 + g2
        with np.errstate(divide="ignore", invalid="ignore"):
            z = g1 / total
            one_minus_z = g2 / total
            denominator = one_minus_z + b * z
            eps = 2 * b * z / denominator
            test = 2 * kappa_b * (one_minus_z - z) / ((1 + b) * denominator) + m1 * (
                np.log1p((1 - b) * z / denominator) + shift
            )
            ok = test >= np.log(u)
        ok &= np.isfinite(eps)
        good = eps[ok]
        rate = max(good.size / size, 0.05)
        accepted_eps.append(good[:remaining])
        remaining -= min(good.size, remaining)
    if remaining:
        raise RuntimeError(
            f"vmf_sample: Wood's rejection sampler accepted only {n - remaining} of {n} candidates in "
            f"{_MAX_BATCHES} batches (p={p}, kappa={kappa!r}); its acceptance rate should be above 1/2. "
            "Please report this."
        )
    eps = np.concatenate(accepted_eps) if accepted_eps else np.zeros(0)
    return 1.0 - eps, eps


def _sample(n, mu64, kappa, rng, dtype, xp):
    """``n`` vMF samples about the float64 unit vector ``mu64``, in ``dtype`` on ``mu64``'s device.

    The radial part ``w`` is always computed in float64; the tangent
    directions (Gaussian draws, normalisation) use ``dtype``, so float32
    output costs half the random-number time of float64. Random numbers are
    drawn on the host, block by block, in the frame where the mean direction
    is ``e_1``; each block is copied explicitly to the device, where the
    Householder reflection carries ``e_1`` to ``mu64``.
    """
    p = mu64.shape[0]
    dev = device(mu64)
    host_dtype = np.dtype(_dtype_name(dtype))
    w, one_minus_w = _sample_w(n, p, kappa, rng)
    radial = np.sqrt(one_minus_w * (1.0 + w))  # sqrt(1 - w^2) without cancellation
    # Householder reflection H = I - 2 v v^T / v^T v with v = mu + s e_1, s = sign(mu_0): H mu = -s e_1,
    # so x -> -s H x maps e_1 to mu (and the tangent space of e_1 onto that of mu) without cancellation.
    s = 1.0 if float(mu64[0]) >= 0 else -1.0
    v = xp.concat([mu64[:1] + s, mu64[1:]])
    coef = 2.0 / float(xp.sum(v * v))
    v = xp.astype(v, dtype)
    out = xp.empty((n, p), dtype=dtype, device=dev)
    step = max(1, _BLOCK_ELEMENTS // p)
    for start in range(0, n, step):
        stop = min(n, start + step)
        # Tangent directions: standard normals in columns 1..p-1, scaled to length sqrt(1 - w^2).
        # (Column 0 is drawn too, then overwritten, so that a single call fills the block.)
        y = rng.standard_normal((stop - start, p), dtype=host_dtype)
        tangent = y[:, 1:]
        sq_norms = np.einsum("ij,ij->i", tangent, tangent, dtype=np.float64)
        tangent *= (radial[start:stop] / np.sqrt(sq_norms)).astype(host_dtype)[:, None]
        y[:, 0] = w[start:stop]
        y = to_namespace(y, xp, device=dev)
        out[start:stop, :] = (y - xp.reshape(xp.astype(coef * (y @ v), dtype), (-1, 1)) * v) * (-s)
    return out


def vmf_sample(n, mu, kappa, random_state=None):
    """Draw samples from the von Mises-Fisher distribution (Wood's algorithm).

    The component :math:`w = \\mu^\\top x` is drawn by Wood's (1994)
    rejection scheme (vectorised over batches, in a cancellation-free form);
    the tangent part is :math:`\\sqrt{1-w^2}\\, v` with :math:`v` uniform on
    the unit sphere orthogonal to :math:`e_1`; a Householder reflection then
    maps :math:`e_1` to :math:`\\mu`. Works for any ``p >= 2`` (tested up to
    32768) and every finite ``kappa >= 0``, from 0 (the uniform distribution)
    to the largest float (beyond about ``1e16 p`` the samples are ``mu`` to
    rounding).

    Parameters
    ----------
    n : int
        Number of samples, ``>= 0``.
    mu : array of shape (p,)
        Mean direction, a unit vector (norm 1 within ``1e-6``; ``1e-4`` in
        float32).
    kappa : float
        Concentration, finite and ``>= 0``.
    random_state : None, int, numpy.random.Generator or RandomState
        Seed or generator; the same seed gives the same samples, whatever the
        array library of ``mu``.

    Returns
    -------
    array of shape (n, p)
        Unit vectors in ``mu``'s namespace, device and floating dtype.
        Random numbers are drawn on the host with NumPy's generator and the
        result is copied explicitly to ``mu``'s device.

    Raises
    ------
    ValueError
        If ``n < 0``, ``mu`` is not a unit vector of length ``p >= 2`` or
        ``kappa`` is negative or not finite.
    RuntimeError
        If the rejection step fails to accept ``n`` candidates within a
        bounded number of batches (a safeguard: its acceptance rate is above
        1/2 for every ``p`` and ``kappa``).
    """
    n = check_scalar(n, "n", kind=numbers.Integral, lower=0)
    xp = _namespace_of(mu)
    mu_arr = _as_float_array(mu, "mu", xp=xp if is_non_numpy_array(mu) else None, ndim=1)
    p = _check_dimension(mu_arr.shape[0], name="the length of mu (p)")
    mu64 = _unit_vector(mu_arr, p, xp)
    kappa = _check_kappa(kappa)
    rng = check_random_state(random_state)
    return _sample(n, mu64, kappa, rng, mu_arr.dtype, xp)


# -- estimator ---------------------------------------------------------------------------


class VonMisesFisher(DensityMixin, BaseEstimator):
    """von Mises-Fisher density estimator on the unit sphere.

    Fits :math:`f(x) = C_p(\\kappa) e^{\\kappa\\mu^\\top x}` by maximum
    likelihood (:func:`vmf_fit`) in any dimension: the Bessel functions are
    evaluated in log space, so ``p`` in the tens of thousands is fine.

    Parameters
    ----------
    normalize : bool, default=True
        If true, rows of ``X`` (in ``fit`` and ``score_samples``) are divided
        by their Euclidean norms, so any non-zero vectors are accepted as
        directions (rows of zeros raise ``ValueError``). If false, rows must
        already be unit vectors (norm 1 within ``1e-6``; ``1e-4`` for
        float32), and a ``ValueError`` naming ``X`` is raised otherwise. The
        default lets the estimator take arbitrary feature vectors (and is the
        one scikit-learn's common checks exercise).
    tol : float, default=1e-12
        Relative tolerance on the concentration.
    max_iter : int, default=100
        Maximum number of iterations of the concentration solver.

    Attributes
    ----------
    mean_direction_ : array of shape (n_features,)
        Unit mean direction, in the namespace, device and floating dtype of
        the training data.
    concentration_ : float
        Concentration :math:`\\hat\\kappa \\ge 0`.
    mean_resultant_length_ : float
        :math:`\\bar R = \\|\\sum_i w_i x_i\\| / \\sum_i w_i \\in [0, 1)`.
    n_iter_ : int
        Iterations of the concentration solver.
    n_features_in_ : int
        Dimension ``p`` of the data.
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Defined when ``X`` has string feature names (pandas).

    See Also
    --------
    vmf_fit, vmf_logpdf, vmf_sample : the function API.

    Notes
    -----
    Data whose samples all share one direction (mean resultant length 1)
    have an infinite maximum-likelihood concentration: ``fit`` then raises
    ``ValueError`` (the function :func:`vmf_fit` returns ``inf`` with a
    warning instead). ``fit`` needs at least two samples and two features.

    Examples
    --------
    >>> import numpy as np
    >>> from optlib.special import VonMisesFisher
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)) + [4.0, 0.0, 0.0]
    >>> est = VonMisesFisher().fit(X)
    >>> est.mean_direction_.round(1)
    array([1., 0., 0.])
    >>> est.sample(2, random_state=0).shape
    (2, 3)
    """

    def __init__(self, *, normalize=True, tol=1e-12, max_iter=100):
        self.normalize = normalize
        self.tol = tol
        self.max_iter = max_iter

    def _validate_X(self, X, *, reset):
        if not is_non_numpy_array(X):
            X = validate_data(
                self, X, reset=reset, dtype=[np.float64, np.float32], ensure_min_samples=2 if reset else 1,
                ensure_min_features=2 if reset else 1,
            )
            return X, get_namespace(X)
        xp = get_namespace(X)
        X = check_array(X, "X", xp=xp, ndim=2, min_size=0)
        n, p = X.shape
        shape = tuple(X.shape)
        if reset:
            if n < 2:
                raise ValueError(f"Found array with {n} sample(s) (shape={shape}) while a minimum of 2 is required.")
            if p < 2:
                raise ValueError(f"Found array with {p} feature(s) (shape={shape}) while a minimum of 2 is required.")
            self.n_features_in_ = p
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        else:
            if n < 1:
                raise ValueError(f"Found array with 0 sample(s) (shape={shape}) while a minimum of 1 is required.")
            if p != self.n_features_in_:
                raise ValueError(
                    f"X has {p} features, but {type(self).__name__} is expecting {self.n_features_in_} "
                    "features as input."
                )
        return X, xp

    def _check_params(self):
        if not isinstance(self.normalize, (bool, np.bool_)):
            raise TypeError(f"normalize must be a bool, got {self.normalize!r}.")
        tol = check_scalar(self.tol, "tol", lower=0.0)
        max_iter = check_scalar(self.max_iter, "max_iter", kind=numbers.Integral, lower=1)
        return tol, max_iter

    def fit(self, X, y=None, sample_weight=None):
        """Fit the mean direction and concentration by maximum likelihood.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Directions (unit vectors, or any non-zero vectors with
            ``normalize=True``). NumPy-convertible input goes through
            scikit-learn's validation; CuPy and other array-API arrays stay in
            their namespace and device.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights.

        Returns
        -------
        self : VonMisesFisher
        """
        tol, max_iter = self._check_params()
        X, xp = self._validate_X(X, reset=True)
        if xp is np or is_numpy_namespace(xp):
            weights = None
            if sample_weight is not None:
                weights = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
                if not weights.sum() > 0:
                    raise ValueError("sample_weight must have a positive sum.")
        else:
            weights = _check_weights(sample_weight, X.shape[0], xp, device(X))
        result = _fit(
            X, xp, weights, normalize=self.normalize, tol=tol, max_iter=max_iter, solver=type(self).__name__,
            degenerate="raise",
        )
        self.mean_direction_ = result.mean_direction
        self.concentration_ = float(result.concentration)
        self.mean_resultant_length_ = float(result.mean_resultant_length)
        self.n_iter_ = int(result.nit)
        return self

    def _mean_direction_like(self, X, xp):
        """``mean_direction_`` as float64 in ``X``'s namespace and device (explicit copy when they differ)."""
        mu = self.mean_direction_
        if is_numpy_namespace(xp) and is_non_numpy_array(mu):
            mu = to_host(mu)
        elif not is_numpy_namespace(xp) and (isinstance(mu, np.ndarray) or get_namespace(mu) is not xp):
            mu = to_namespace(to_host(mu), xp, device=device(X))
        elif device(mu) != device(X):
            mu = mu.to_device(device(X))
        mu = xp.astype(xp.asarray(mu), xp.float64)
        return mu / xp.sqrt(xp.sum(mu * mu))

    def score_samples(self, X):
        """Log density of each sample under the fitted model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Directions, validated and normalised as in :meth:`fit`. When
            ``X`` lives in another array library or device than the training
            data, ``mean_direction_`` is copied there (explicitly).

        Returns
        -------
        array of shape (n_samples,)
            :math:`\\log C_p(\\hat\\kappa) + \\hat\\kappa\\,\\hat\\mu^\\top x`,
            in ``X``'s namespace, device and floating dtype.
        """
        check_is_fitted(self)
        X, xp = self._validate_X(X, reset=False)
        mu = self._mean_direction_like(X, xp)
        log_c = vmf_log_normalizer(X.shape[1], self.concentration_)
        w = _projections(X, mu, xp, normalize=self.normalize)
        return xp.astype(log_c + self.concentration_ * w, X.dtype)

    def score(self, X, y=None):
        """Mean log-likelihood of ``X`` under the fitted model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Directions, as in :meth:`score_samples`.
        y : None
            Ignored.

        Returns
        -------
        float
        """
        values = self.score_samples(X)
        xp = get_namespace(values)
        return float(xp.mean(xp.astype(values, xp.float64)))

    def sample(self, n_samples=1, random_state=None):
        """Draw samples from the fitted distribution (Wood's algorithm).

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : None, int, numpy.random.Generator or RandomState
            Seed or generator, for reproducible draws.

        Returns
        -------
        array of shape (n_samples, n_features)
            Unit vectors in the namespace, device and dtype of
            ``mean_direction_``.
        """
        check_is_fitted(self)
        mu = self.mean_direction_
        xp = get_namespace(mu)
        mu = mu / xp.sqrt(xp.sum(mu * mu))
        return vmf_sample(n_samples, mu, self.concentration_, random_state=random_state)
