"""Robust PCA by principal component pursuit, inexact augmented Lagrangian (Lin, Chen, Ma 2010)."""

import math
import numbers

from .._backend import device, get_namespace
from .._result import (
    STATUS_CALLBACK,
    STATUS_CONVERGED,
    STATUS_MAX_ITER,
    STATUS_NUMERICAL,
    IterationMonitor,
    make_result,
)
from .._validation import check_array, check_scalar, check_shape
from ._observations import (
    largest_magnitude,
    ldexp_or_inf,
    scale_by_power_of_two,
    units_exponent,
)

__all__ = ["robust_pca"]


def _shrink(x, t, xp):
    return xp.sign(x) * xp.maximum(xp.abs(x) - t, xp.zeros_like(x))


def _mu_in_units(mu, e, Dm, xp):
    """A user's penalty ``mu`` in the units ``2**e`` of the data ``Dm`` (``mu`` scales inversely with them).

    Raises when ``mu`` or ``1 / mu`` leaves the range of ``Dm``'s dtype there:
    the first step would be ``inf * 0 = NaN``.
    """
    scaled = ldexp_or_inf(mu, e)
    big = float(xp.finfo(Dm.dtype).max)
    if not 1.0 / big < scaled < big:
        norm = ldexp_or_inf(float(xp.linalg.matrix_norm(Dm, ord=2)), e)
        raise ValueError(f"mu={mu!r} is out of range for data of spectral norm ||D||_2 = {norm:.3g}: "
                         "mu must be of the order of 1 / ||D||_2 (default 1.25 / ||D||_2).")
    return scaled


def robust_pca(
    D,
    *,
    mask=None,
    lam=None,
    mu=None,
    rho=None,
    tol=1e-7,
    max_iter=500,
    callback=None,
    history=False,
    verbose=False,
):
    """Principal component pursuit ``min ||L||_* + lam ||S||_1`` s.t. ``P(L + S) = P(D)``.

    Inexact augmented Lagrangian iterations::

        S = shrink(D - L + Y / mu, lam / mu)      (on observed entries)
        L = SVT(D - S + Y / mu, 1 / mu)
        Y = Y + mu (D - L - S),   mu = rho mu

    With a mask, the unobserved entries carry no constraint: ``S`` takes
    ``D - L + Y / mu`` there, ``Y`` stays 0 there, and ``L`` completes them.
    Dense ``m x n`` arrays and one full SVD per iteration: for moderate sizes.

    Parameters
    ----------
    D : (m, n) array
        Data (any array-API namespace; unobserved entries may hold NaN).
    mask : (m, n) bool array, optional
        True where observed (default: all, or the non-NaN entries of ``D``).
    lam : float, optional
        Sparsity weight, default ``1 / sqrt(max(m, n))``.
    mu : float, optional
        Initial penalty, default ``1.25 / ||D||_2``; of the order of
        ``1 / ||D||_2``. A ``mu`` that leaves the dtype's range in the units
        the data are solved in (it scales inversely with them) raises.
    rho : float > 1, optional
        Penalty growth factor; default 1.6 with every entry observed, 1.2
        with missing entries (with 20% missing, 1.6 stops at a relative
        error of 4e-2 where 1.2 reaches 2e-7 on the same problem).
    tol : float
        Stop when ``||P(D - L - S)||_F / ||P(D)||_F < tol``.
    max_iter : int
    callback, history, verbose
        As in :func:`robust_altmin`.

    Returns
    -------
    OptimizeResult
        ``L`` (low rank, ``x``), ``S`` (sparse; zero off the mask), ``Y``
        (dual variable), ``fun`` (``||L||_* + lam ||S||_1``), ``rank``,
        ``nit``, ``success``, ``status``, ``message``, ``history``. A step
        leaving the float range (``mu R`` overflowing) stops with
        ``STATUS_NUMERICAL`` at the last finite iterate.
    """
    D = check_array(D, "D", ndim=2, finite=False)
    xp = get_namespace(D)
    dev = device(D)
    observed = xp.logical_not(xp.isnan(D))
    if mask is not None:
        mask = xp.asarray(mask, device=dev)
        if mask.dtype != xp.bool:
            raise TypeError(f"mask must be a boolean array, got dtype {mask.dtype}.")
        check_shape(mask, tuple(D.shape), "mask")
        if bool(xp.any(mask & xp.logical_not(observed))):
            raise ValueError("D holds NaN at entries the mask marks as observed.")
        observed = mask
    if not bool(xp.all(xp.isfinite(xp.where(observed, D, xp.zeros_like(D))))):
        raise ValueError("D contains infinite values at observed entries.")
    m, n = D.shape
    lam = 1.0 / math.sqrt(max(m, n)) if lam is None else check_scalar(lam, "lam", lower=0.0, lower_inclusive=False)
    full = bool(xp.all(observed))
    rho = (1.6 if full else 1.2) if rho is None else check_scalar(rho, "rho", lower=1.0, lower_inclusive=False)
    tol = check_scalar(tol, "tol", lower=0.0)
    max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=1)
    monitor = IterationMonitor(callback, history, verbose, name="robust_pca")

    zero = xp.zeros_like(D)
    W = xp.astype(observed, D.dtype)
    Dm = xp.where(observed, D, zero)
    # solved in units of 2**e (extreme magnitudes): L, S scale with D, Y does not, mu scales inversely
    e = units_exponent(largest_magnitude(Dm, xp), D.dtype == xp.float32)
    Dm = scale_by_power_of_two(Dm, -e)
    norm_d = float(xp.linalg.matrix_norm(Dm, ord="fro"))
    if norm_d == 0:
        norm_d = 1.0
    if mu is None:
        spectral = float(xp.linalg.matrix_norm(Dm, ord=2))
        mu = 1.25 / spectral if spectral > 0 else 1.25
    else:
        mu = _mu_in_units(check_scalar(mu, "mu", lower=0.0, lower_inclusive=False), e, Dm, xp)
    mu_max = min(mu * 1e7, float(xp.finfo(D.dtype).max))
    L, S, Y, s = zero, zero, zero, xp.zeros(min(m, n), dtype=D.dtype, device=dev)
    Y_mu = zero  # Y / mu
    status, it = STATUS_MAX_ITER, 0
    for it in range(1, max_iter + 1):
        last = (L, S, Y, s)
        T = Dm - L + Y_mu
        S = xp.where(observed, _shrink(T, lam / mu, xp), T)
        Uu, s, Vt = xp.linalg.svd(Dm - S + Y_mu, full_matrices=False)
        s = xp.maximum(s - 1.0 / mu, xp.zeros_like(s))
        L = (Uu * s[None, :]) @ Vt
        R = Dm - L - S  # zero off the mask by construction of S
        Y = Y + mu * R
        mu = min(mu * rho, mu_max)
        Y_mu = Y / mu
        err = float(xp.linalg.matrix_norm(R, ord="fro")) / norm_d
        # a non-finite step (mu R past the float range) must not reach the SVD: NaN fails it, inf can hang LAPACK
        if not (math.isfinite(err) and math.isfinite(float(xp.sum(Y_mu)))):
            status = STATUS_NUMERICAL
            L, S, Y, s = last
            break
        if monitor(it, scale_by_power_of_two(L, e), residual=err):
            status = STATUS_CALLBACK
            break
        if err < tol:
            status = STATUS_CONVERGED
            break
    S = S * W
    nuclear = float(xp.sum(xp.linalg.svdvals(L)))
    fun = ldexp_or_inf(nuclear + lam * float(xp.sum(xp.abs(S))), e)
    rank = int(xp.sum(xp.astype(s > 0, xp.int64)))
    L, S = scale_by_power_of_two(L, e), scale_by_power_of_two(S, e)
    return make_result(L, fun=fun, nit=it, status=status, monitor=monitor, solver="robust_pca",
                       returned="last finite" if status == STATUS_NUMERICAL else "last",
                       L=L, S=S, Y=Y, rank=rank, lam=lam)
