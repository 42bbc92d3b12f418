"""Soft-Impute (Mazumder, Hastie, Tibshirani, JMLR 2010) with randomized SVD of a sparse-plus-low-rank iterate."""

import math
import numbers
import warnings

import numpy as np

from .._backend import device, get_namespace, use_numba
from .._result import (
    STATUS_CALLBACK,
    STATUS_CONVERGED,
    STATUS_MAX_ITER,
    IterationMonitor,
    make_result,
)
from .._validation import check_random_state, check_scalar
from ._altmin import check_rank
from ._observations import (
    check_observations,
    largest_magnitude,
    ldexp_or_inf,
    scale_by_power_of_two,
    weight_in_units,
)
from ._svd import randomized_svd

__all__ = ["soft_impute"]


def _left_factor_in_user_units(U, e, xp):
    """``U`` (left singular vectors times singular values, in units of ``2**e``) times ``2**e``.

    Its entries can pass the largest float where those of ``U V^T`` do not
    (a singular value is up to ``sqrt(m n)`` times the largest entry): they
    are then ``inf``, with a ``RuntimeWarning`` saying how to avoid it.
    """
    maxexp = np.finfo(np.float32 if U.dtype == xp.float32 else np.float64).maxexp
    excess = math.frexp(largest_magnitude(U, xp))[1] + e - maxexp
    if excess <= 0:
        return scale_by_power_of_two(U, e)
    warnings.warn(
        f"soft_impute: U (left singular vectors times singular values) overflows {U.dtype} at this data "
        f"scale: entries past the largest float are inf, while V (orthonormal) is exact and U V^T's entries "
        f"can be finite. Divide the data by 2**{excess} or more and scale U V^T back.", RuntimeWarning, stacklevel=3)
    with np.errstate(over="ignore"):  # the warning above says it
        return scale_by_power_of_two(U, e)


def soft_impute(
    observed,
    rank,
    *,
    shape=None,
    shrinkage=None,
    tol=1e-5,
    max_iter=100,
    n_power_iter=2,
    engine="auto",
    random_state=None,
    callback=None,
    history=False,
    verbose=False,
):
    """Nuclear-norm matrix completion by Soft-Impute (the baseline).

    Each iteration fills the missing entries with the current estimate ``Z``
    and soft-thresholds the singular values of
    ``X = P_Omega(M - Z) + Z`` by ``shrinkage``. ``X`` is never formed: it is
    a sparse matrix plus a rank-``rank`` matrix, whose top ``rank`` singular
    triplets come from a randomized SVD, so an iteration costs
    ``O(|Omega| rank + (m + n) rank^2)``.

    Parameters
    ----------
    observed : tuple (rows, cols, values) or scipy.sparse matrix
        Observed entries, as in :func:`robust_altmin`.
    rank : int
        Maximum rank of the iterates (the number of singular triplets
        computed), ``<= min(m, n)``.
    shape : tuple of int, optional
        ``(m, n)``.
    shrinkage : float, optional
        Singular-value threshold ``lambda``; default ``sigma_max(P_Omega(M)) / 50``
        (fancyimpute's default).
    tol : float
        Stop when ``||Z_t - Z_{t-1}||_F^2 / ||Z_{t-1}||_F^2 < tol``.
    max_iter : int
    n_power_iter : int
        Power iterations of each randomized SVD.
    engine, random_state, callback, history, verbose
        As in :func:`robust_altmin`.

    Returns
    -------
    OptimizeResult
        ``U``, ``V`` with ``Z = U V^T`` (``U`` carries the thresholded
        singular values, ``V`` is orthonormal; where they pass the largest
        float, ``U`` holds ``inf`` and a ``RuntimeWarning`` says so),
        ``x = (U, V)``, ``fun`` (the objective
        ``0.5 ||P(M - Z)||^2 + lambda ||Z||_*``), ``nit``, ``success``,
        ``status``, ``message``, ``shrinkage``, ``history`` when recorded.
    """
    tol = check_scalar(tol, "tol", lower=0.0)
    max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=1)
    n_power_iter = check_scalar(n_power_iter, "n_power_iter", kind=numbers.Integral, lower=0)
    rng = check_random_state(random_state)
    probe = observed[2] if isinstance(observed, (tuple, list)) and len(observed) == 3 else None
    xp0 = get_namespace(probe) if hasattr(probe, "shape") else get_namespace()
    obs, e = check_observations(observed, shape, host=use_numba(xp0, engine)).in_units()  # values / 2**e
    xp = obs.xp
    k = check_rank(rank, obs.shape)
    values = obs.values
    dev, dtype = device(values), values.dtype
    svd = dict(xp=xp, dev=dev, dtype=dtype, rng=rng, n_iter=n_power_iter)
    if shrinkage is None:
        _, s0, _ = randomized_svd(lambda X: obs.matmat(values, X), lambda Y: obs.rmatmat(values, Y),
                                  obs.shape, 1, **svd)
        shrinkage = float(s0[0]) / 50.0  # in units of 2**e
        user_shrinkage = ldexp_or_inf(shrinkage, e)
    else:
        user_shrinkage = check_scalar(shrinkage, "shrinkage", lower=0.0)
        shrinkage = weight_in_units(user_shrinkage, -e)
    monitor = IterationMonitor(callback, history, verbose, name="soft_impute")

    m, n = obs.shape
    U = xp.zeros((m, k), dtype=dtype, device=dev)  # Z = U V^T, U = left vectors x thresholded values
    V = xp.zeros((n, k), dtype=dtype, device=dev)
    status, it, fun = STATUS_MAX_ITER, 0, math.inf
    for it in range(1, max_iter + 1):
        r = values - obs.entries(U, V)
        Ls, s, Rs = randomized_svd(
            lambda X: obs.matmat(r, X) + U @ (xp.matrix_transpose(V) @ X),
            lambda Y: obs.rmatmat(r, Y) + V @ (xp.matrix_transpose(U) @ Y),
            obs.shape, k, **svd,
        )
        d = xp.maximum(s - shrinkage, xp.zeros_like(s))
        U_new, V_new = Ls * d[None, :], Rs
        # ||Z_new - Z||^2 = ||Z_new||^2 + ||Z||^2 - 2 <Z_new, Z>, all through k x k products
        old_sq = float(xp.sum((xp.matrix_transpose(U) @ U) * (xp.matrix_transpose(V) @ V)))
        new_sq = float(xp.sum(d * d))
        cross = float(xp.sum((xp.matrix_transpose(U_new) @ U) * (xp.matrix_transpose(V_new) @ V)))
        if old_sq > 0:
            change = max(new_sq + old_sq - 2 * cross, 0.0) / old_sq
        else:  # from Z = 0: settled where it stays 0 (a shrinkage above every singular value)
            change = 0.0 if new_sq == 0 else math.inf
        U, V = U_new, V_new
        r = values - obs.entries(U, V)
        fun = 0.5 * float(xp.sum(r * r)) + shrinkage * float(xp.sum(d))
        x = (scale_by_power_of_two(U, e), V) if monitor.callback is not None else None  # only the callback sees x
        if monitor(it, x, objective=ldexp_or_inf(fun, 2 * e), change=change):
            status = STATUS_CALLBACK
            break
        if change < tol:
            status = STATUS_CONVERGED
            break
    U = _left_factor_in_user_units(U, e, xp)
    return make_result((U, V), fun=ldexp_or_inf(fun, 2 * e), nit=it, status=status, monitor=monitor,
                       solver="soft_impute", U=U, V=V, shrinkage=user_shrinkage)
