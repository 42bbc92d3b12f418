"""Endmember extraction (VCA, N-FINDR, ATGP) and signal-subspace estimation (HySime).

All take data of shape ``(pixels, bands)`` or a cube ``(rows, cols, bands)``
and work in the input's namespace and on its device; pixel indices (into the
flattened pixels) come back as host NumPy arrays, since they steer host-side
bookkeeping, and the few random numbers VCA needs are drawn on the host
(``random_state``) and copied explicitly to the device.
"""

import math
import numbers

import numpy as np
from sklearn.utils import Bunch

from .._backend import device, get_namespace, to_namespace
from .._validation import check_array, check_option, check_random_state, check_scalar
from ._denoise_common import data_unit

__all__ = ["vca", "nfindr", "atgp", "hysime", "estimate_noise", "extract_endmembers", "EXTRACTORS"]


def _pixels(Y, n_endmembers):
    """Namespace, checked pixels divided by their :func:`data_unit` (the squares stay representable), ``p`` and the unit."""
    xp = get_namespace(Y)
    Y = check_array(Y, "Y", xp=xp, ndim=(2, 3))
    X = xp.reshape(Y, (-1, Y.shape[-1]))
    p = check_scalar(n_endmembers, "n_endmembers", kind=numbers.Integral, lower=1)
    if p > min(X.shape):
        raise ValueError(f"n_endmembers={p} exceeds min(pixels, bands) = {min(X.shape)} of Y.")
    unit = data_unit(xp, X)
    return xp, X / unit, p, unit


def _top_eigvecs(xp, C, k):
    """The ``k`` leading eigenvectors (columns) of the symmetric matrix ``C``."""
    _, V = xp.linalg.eigh(C)
    return xp.flip(V[:, -k:], axis=1)


def _index_array(indices):
    return np.asarray([int(i) for i in indices], dtype=np.int64)


def atgp(Y, n_endmembers):
    """Automatic target generation process: each new target maximises the orthogonal-complement norm.

    The first target is the pixel of largest norm; each next one is the
    pixel whose component orthogonal to the span of the targets found so far
    is largest (Ren and Chang, 2003).

    Returns
    -------
    Bunch
        ``endmembers`` (p, bands) the selected pixels, ``indices`` (p,) their
        flat pixel indices (host NumPy array).
    """
    xp, X, p, unit = _pixels(Y, n_endmembers)
    R = X
    indices = []
    for _ in range(p):
        i = int(xp.argmax(xp.sum(R * R, axis=1)))
        indices.append(i)
        q = R[i, :]
        q = q / xp.sqrt(xp.sum(q * q))
        R = R - (R @ q)[:, None] * q[None, :]
    idx = _index_array(indices)
    return Bunch(endmembers=xp.take(X, xp.asarray(idx, device=device(X)), axis=0) * unit, indices=idx)


def vca(Y, n_endmembers, *, snr=None, random_state=None):
    """Vertex component analysis (Nascimento and Bioucas-Dias, 2005).

    Projects the data on its ``p``-dimensional signal subspace (a projective
    projection at high SNR, a ``p - 1``-dimensional affine one otherwise),
    then repeatedly takes the pixel with the largest projection on a random
    direction orthogonal to the endmembers found so far.

    Parameters
    ----------
    Y : array of shape (pixels, bands) or (rows, cols, bands)
    n_endmembers : int
    snr : float, optional
        SNR in dB that selects the projection; estimated from the data when
        omitted.
    random_state : None, int or Generator
        Draws the ``p`` random directions (on the host).

    Returns
    -------
    Bunch
        ``endmembers`` (p, bands): the selected pixels projected on the
        signal subspace (less noisy than the raw pixels), ``indices`` (p,)
        their flat indices (host NumPy array), ``snr`` the SNR used. For
        ``p = 1`` the pixel of largest projection on the leading
        eigenvector of ``X^T X``.
    """
    xp, X, p, unit = _pixels(Y, n_endmembers)
    rng = check_random_state(random_state)
    n, L = X.shape
    mean = xp.mean(X, axis=0)
    Xc = X - mean[None, :]
    Ud = _top_eigvecs(xp, Xc.T @ Xc / n, p)  # (L, p)
    Z = Xc @ Ud
    if snr is None:
        p_y = float(xp.sum(X * X)) / n
        p_x = float(xp.sum(Z * Z)) / n + float(xp.sum(mean * mean))
        snr = 10.0 * math.log10(max(p_x - p / L * p_y, 1e-300) / max(p_y - p_x, 1e-300))
    else:
        snr = check_scalar(snr, "snr")
    if p == 1:  # no simplex to span: the pixel reaching farthest along the leading direction
        u = _top_eigvecs(xp, X.T @ X / n, 1)
        Z = X @ u
        idx = _index_array([xp.argmax(xp.abs(Z[:, 0]))])
        return Bunch(endmembers=(Z[idx[0]:idx[0] + 1, :] @ u.T) * unit, indices=idx, snr=snr)
    if snr < 15.0 + 10.0 * math.log10(p):  # affine projection on p - 1 dimensions
        Z = Z[:, : p - 1]
        projected = Z @ Ud[:, : p - 1].T + mean[None, :]
        c = xp.max(xp.sqrt(xp.sum(Z * Z, axis=1)))
        V = xp.concat([Z, c * xp.ones((n, 1), dtype=Z.dtype, device=device(Z))], axis=1)
    else:  # projective projection on p dimensions
        Ud = _top_eigvecs(xp, X.T @ X / n, p)
        Z = X @ Ud
        projected = Z @ Ud.T
        u = xp.mean(Z, axis=0)
        # pixels with no positive component along the mean (dead, all-zero pixels) cannot be vertices
        # of the projective simplex: zero rows instead of 0/0
        scale = Z @ u
        ok = scale > xp.finfo(Z.dtype).eps * xp.max(xp.abs(scale))
        V = xp.where(ok[:, None], Z / xp.where(ok, scale, 1.0)[:, None], 0.0)
    dev = device(V)
    B = xp.zeros((p, p), dtype=V.dtype, device=dev)
    B[p - 1, 0] = 1.0
    host_dtype = np.float32 if V.dtype == xp.float32 else np.float64
    indices = []
    for i in range(p):
        w = to_namespace(rng.standard_normal(p).astype(host_dtype), xp, device=dev)
        f = w - B @ (xp.linalg.pinv(B) @ w)
        f = f / xp.sqrt(xp.sum(f * f))
        j = int(xp.argmax(xp.abs(V @ f)))
        indices.append(j)
        B[:, i] = V[j, :]
    idx = _index_array(indices)
    return Bunch(endmembers=xp.take(projected, xp.asarray(idx, device=dev), axis=0) * unit, indices=idx, snr=snr)


def nfindr(Y, n_endmembers, *, max_sweeps=None):
    """N-FINDR: the ``p`` pixels spanning the simplex of largest volume (Winter, 1999).

    The data are reduced to ``p - 1`` principal components; starting from
    the ATGP pixels, each vertex in turn is replaced by the pixel that
    maximises the volume, until a full sweep changes nothing. With
    ``M = [1; x_1 ... x_p]`` the volume after replacing vertex ``j`` by pixel
    ``x`` is ``|det M| |(M^{-1} [1; x])_j|`` (Cramer's rule), so one sweep
    costs one ``p x p`` solve against all pixels per vertex. For ``p = 1``
    (no volume) the pixel of largest norm, as ATGP.

    Returns
    -------
    Bunch
        ``endmembers`` (p, bands), ``indices`` (p,) (host NumPy array),
        ``n_sweeps``.
    """
    xp, X, p, unit = _pixels(Y, n_endmembers)
    max_sweeps = 3 * p if max_sweeps is None else check_scalar(max_sweeps, "max_sweeps", kind=numbers.Integral,
                                                                 lower=1)
    n = X.shape[0]
    dev = device(X)
    Xc = X - xp.mean(X, axis=0)[None, :]
    Z = Xc @ _top_eigvecs(xp, Xc.T @ Xc / n, p - 1) if p > 1 else Xc[:, :0]
    H = xp.concat([xp.ones((n, 1), dtype=X.dtype, device=dev), Z], axis=1)  # rows [1, z]
    idx = atgp(H if p > 1 else X, p).indices  # p = 1: every pixel spans the same (empty) volume
    sweeps = 0
    for sweeps in range(1, max_sweeps + 1):
        changed = False
        for j in range(p):
            M = xp.take(H, xp.asarray(idx, device=dev), axis=0).T
            gain = xp.abs(xp.linalg.solve(M, H.T)[j, :])
            best = int(xp.argmax(gain))
            if float(gain[best]) > 1.0 + 1e-10 and best not in idx:
                idx[j] = best
                changed = True
        if not changed:
            break
    return Bunch(endmembers=xp.take(X, xp.asarray(idx, device=dev), axis=0) * unit, indices=idx, n_sweeps=sweeps)


def estimate_noise(Y):
    """Per-band noise by multiple regression on the other bands (HySime's estimator).

    The residual of regressing band ``i`` on all the others is
    ``(Y R^{-1})_i / (R^{-1})_{ii}`` with ``R = Y^T Y``, so all bands cost one
    ``bands x bands`` inverse and one product.

    Returns
    -------
    noise : array, same shape as ``Y``
    noise_correlation : array of shape (bands, bands)
        Infinite where the squares of the data exceed the floating range.
    """
    xp = get_namespace(Y)
    Y = check_array(Y, "Y", xp=xp, ndim=(2, 3))
    X = xp.reshape(Y, (-1, Y.shape[-1]))
    scale = data_unit(xp, X)
    W, Rn = _regression_noise(xp, X / scale)
    return xp.reshape(W * scale, Y.shape), Rn * (scale * scale)


def _regression_noise(xp, X):
    """Regression residuals of each band of ``X`` (pixels, bands) on the others, and their correlation."""
    L = X.shape[1]
    R = X.T @ X
    R = R + (1e-12 * float(xp.max(xp.abs(R)))) * xp.eye(L, dtype=R.dtype, device=device(R))
    Rinv = xp.linalg.inv(R)
    W = (X @ Rinv) / xp.sum(Rinv * xp.eye(L, dtype=R.dtype, device=device(R)), axis=0)[None, :]
    return W, W.T @ W / X.shape[0]


def hysime(Y, *, noise=None):
    """Signal-subspace dimension by HySime (Bioucas-Dias and Nascimento, 2008).

    Eigenvectors ``e_i`` of the signal correlation are kept when they lower
    the mean squared projection error, i.e. when
    ``2 e_i^T R_n e_i < e_i^T R_y e_i`` (noise power below signal power
    along ``e_i``). The noise correlation ``R_n`` of the regression
    residuals is scaled by ``n / (n - bands + 1)`` (their variance deficit)
    and gets HySime's ridge of ``1e-5`` times the mean signal power. The
    estimate needs many more pixels than bands (tens of times as many);
    ``ValueError`` when there are no more pixels than bands.

    Parameters
    ----------
    Y : array of shape (pixels, bands) or (rows, cols, bands)
    noise : array like ``Y``, optional
        Noise estimate; :func:`estimate_noise` by default.

    Returns
    -------
    Bunch
        ``n_components`` (int), ``basis`` (k, bands) orthonormal rows
        spanning the signal subspace, ``noise`` the noise estimate.
    """
    xp = get_namespace(Y)
    Y = check_array(Y, "Y", xp=xp, ndim=(2, 3))
    X = xp.reshape(Y, (-1, Y.shape[-1]))
    n, L = X.shape
    if n <= L:  # the regression residuals vanish: every direction would pass as signal
        raise ValueError(f"hysime needs more pixels than bands (tens of times as many); Y has {n} pixels "
                         f"and {L} bands.")
    scale = data_unit(xp, X)  # the subspace does not depend on the units; the squares must stay representable
    X = X / scale
    if noise is None:
        noise, Rn = _regression_noise(xp, X)
    else:
        noise = check_array(noise, "noise", xp=xp)
        if tuple(noise.shape) != tuple(Y.shape):
            raise ValueError(f"noise has shape {tuple(noise.shape)}, expected Y's shape {tuple(Y.shape)}.")
        noise = xp.reshape(noise, X.shape) / scale
        Rn = noise.T @ noise / n
    S = X - noise
    Rx = S.T @ S / n
    # residuals of a regression on L - 1 bands underestimate the noise power by (n - L + 1) / n;
    # the small ridge (HySime's) keeps noiseless data from selecting rounding-error directions
    eye = xp.eye(L, dtype=Rx.dtype, device=device(Rx))
    Rn = Rn * (n / max(n - L + 1, 1)) + (float(xp.sum(Rx * eye)) / L * 1e-5) * eye
    _, V = xp.linalg.eigh(Rx)
    Ry = X.T @ X / n
    power = xp.sum(V * (Ry @ V), axis=0)
    noise_power = xp.sum(V * (Rn @ V), axis=0)
    keep = 2.0 * noise_power < power
    k = int(xp.sum(xp.astype(keep, xp.int64)))
    order = xp.argsort(power - 2.0 * noise_power, descending=True)[:k]
    return Bunch(n_components=k, basis=xp.take(V, order, axis=1).T, noise=xp.reshape(noise * scale, Y.shape))


EXTRACTORS = {"vca": vca, "nfindr": nfindr, "atgp": atgp}


def extract_endmembers(Y, n_endmembers, *, method="vca", random_state=None):
    """Endmembers of ``Y`` by ``method`` (``"vca"``, ``"nfindr"`` or ``"atgp"``); returns the Bunch of that method."""
    check_option(method, "method", tuple(EXTRACTORS))
    if method == "vca":
        return vca(Y, n_endmembers, random_state=random_state)
    return EXTRACTORS[method](Y, n_endmembers)
