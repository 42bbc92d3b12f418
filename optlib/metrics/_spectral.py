"""Spectral quality measures: spectral angles (SAD, SAM), abundance RMSE and SRE.

Conventions of HySUPP: spectra are the last axis, endmembers are the rows of
``(n_endmembers, bands)`` arrays and abundances carry the endmember axis last.
Every function works in the input's namespace and on its device; scores come
back as Python floats. Endmember matching (:func:`match_endmembers`) solves a
``p x p`` assignment on the host (SciPy's ``linear_sum_assignment``): only the
small angle matrix is copied there, explicitly.
"""

import math

from .._backend import device, get_namespace, to_host
from .._validation import check_array

__all__ = ["spectral_angle", "sam", "sad", "match_endmembers", "abundance_rmse", "sre"]


def _pair(x, ref, names=("x", "ref"), ndim=None):
    xp = get_namespace(x, ref)
    x = check_array(x, names[0], xp=xp, ndim=ndim)
    ref = check_array(ref, names[1], xp=xp, ndim=ndim)
    if tuple(x.shape) != tuple(ref.shape):
        raise ValueError(f"{names[0]} has shape {tuple(x.shape)} but {names[1]} has shape {tuple(ref.shape)}; "
                         "they must match.")
    return xp, x, ref


def _unit(xp, x):
    """``x`` scaled to unit norm along the last axis (zero vectors stay zero), without overflow or underflow."""
    peak = xp.max(xp.abs(x), axis=-1, keepdims=True)
    x = x / xp.where(peak > 0, peak, 1.0)
    norm = xp.sqrt(xp.sum(x * x, axis=-1, keepdims=True))
    return x / xp.where(norm > 0, norm, 1.0)


def _angles(xp, x, ref):
    """Angle in radians between the last-axis vectors of ``x`` and ``ref``.

    0 when both are zero, ``pi / 2`` when only one is (a zero spectrum
    matches nothing).
    """
    cos = xp.sum(_unit(xp, x) * _unit(xp, ref), axis=-1)
    both_zero = ~xp.any(x != 0, axis=-1) & ~xp.any(ref != 0, axis=-1)
    return xp.where(both_zero, 0.0, xp.acos(xp.clip(cos, -1.0, 1.0)))


def spectral_angle(x, ref, *, degrees=False):
    """Angle between corresponding spectra (last axis) of ``x`` and ``ref``.

    Parameters
    ----------
    x, ref : arrays of the same shape (..., bands)
    degrees : bool
        Degrees instead of radians.

    Returns
    -------
    array of shape (...)
        In the input's namespace and on its device. 0 where both spectra
        are zero, ``pi / 2`` (90 degrees) where only one is.
    """
    xp, x, ref = _pair(x, ref)
    angle = _angles(xp, x, ref)
    return angle * (180.0 / math.pi) if degrees else angle


def sam(x, ref, *, degrees=False):
    """Mean spectral angle mapper over pixels: the mean of :func:`spectral_angle` (a float)."""
    angle = spectral_angle(x, ref, degrees=degrees)
    return float(get_namespace(angle).mean(angle))


def match_endmembers(endmembers, ref):
    """Order of the estimated endmembers that best matches the reference ones.

    Hungarian matching (``scipy.optimize.linear_sum_assignment``) on the
    matrix of spectral angles; ``endmembers`` may hold more rows than ``ref``
    (the unmatched ones are left out).

    Parameters
    ----------
    endmembers : array of shape (q, bands)
    ref : array of shape (p, bands), ``p <= q``

    Returns
    -------
    ndarray of int, shape (p,)
        ``endmembers[perm]`` pairs row by row with ``ref`` (host NumPy array).
    """
    from scipy.optimize import linear_sum_assignment

    xp = get_namespace(endmembers, ref)
    E = check_array(endmembers, "endmembers", xp=xp, ndim=2)
    R = check_array(ref, "ref", xp=xp, ndim=2)
    if E.shape[1] != R.shape[1]:
        raise ValueError(f"endmembers has {E.shape[1]} bands but ref has {R.shape[1]}; they must match.")
    if E.shape[0] < R.shape[0]:
        raise ValueError(f"endmembers has {E.shape[0]} rows, fewer than the {R.shape[0]} of ref.")
    angles = to_host(_angles(xp, R[:, None, :], E[None, :, :]))  # (p, q), explicit host copy
    rows, cols = linear_sum_assignment(angles)
    return cols[rows.argsort()]


def sad(endmembers, ref, *, degrees=False, match=True):
    """Mean spectral angle distance between estimated and reference endmembers.

    Parameters
    ----------
    endmembers : array of shape (q, bands)
    ref : array of shape (p, bands)
    degrees : bool
        Degrees instead of radians.
    match : bool
        Pair the rows by :func:`match_endmembers` first (Hungarian on the
        angles); otherwise row ``i`` is compared with row ``i`` (``q == p``).

    Returns
    -------
    float
    """
    xp = get_namespace(endmembers, ref)
    E = check_array(endmembers, "endmembers", xp=xp, ndim=2)
    if match:
        perm = match_endmembers(E, ref)
        E = xp.take(E, xp.asarray(perm, device=device(E)), axis=0)
    return sam(E, ref, degrees=degrees)


def abundance_rmse(abundances, ref, *, permutation=None):
    """HySUPP's abundance RMSE, ``100 * sqrt(mean((A - A_ref)^2))``.

    Parameters
    ----------
    abundances, ref : arrays of shape (..., p)
        Endmember axis last.
    permutation : array of int, optional
        Reorders (or selects, without repetition) the endmember axis of
        ``abundances`` first: the output of :func:`match_endmembers`.

    Returns
    -------
    float
    """
    import numpy as np

    xp = get_namespace(abundances, ref)
    A = check_array(abundances, "abundances", xp=xp)
    if permutation is not None:
        perm = np.asarray(to_host(permutation) if hasattr(permutation, "shape") else permutation)
        q = A.shape[-1]
        if (perm.ndim != 1 or not np.issubdtype(perm.dtype, np.integer) or len(np.unique(perm)) != perm.size
                or perm.min(initial=0) < 0 or perm.max(initial=0) >= q):
            raise ValueError(f"permutation must hold distinct integers in [0, {q}) (the endmember axis of "
                             f"abundances), got {permutation!r}.")
        A = xp.take(A, xp.asarray(perm, device=device(A)), axis=A.ndim - 1)
    xp, A, R = _pair(A, ref, names=("abundances", "ref"))
    return 100.0 * math.sqrt(float(xp.mean((A - R) ** 2)))


def sre(x, ref):
    """Signal-to-reconstruction error ``20 log10(||ref|| / ||ref - x||)`` in dB (``inf`` when equal)."""
    xp, x, ref = _pair(x, ref)
    err = float(xp.sum((ref - x) ** 2))
    if err == 0.0:
        return math.inf
    return 10.0 * math.log10(float(xp.sum(ref * ref)) / err)
