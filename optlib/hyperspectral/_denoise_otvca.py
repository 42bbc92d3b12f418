"""Subspace + total variation: OTVCA (orthogonal total variation component analysis).

Rasti, Ulfarsson and Sveinsson, "Hyperspectral feature extraction using total
variation component analysis", IEEE TGRS 54(12), 2016. The whitened cube is
modelled as ``Y = F V^T + N`` with ``V`` (bands x k) orthonormal and the
feature images ``F`` piecewise smooth (total variation penalty).
"""

import numbers

from .._validation import check_scalar
from ._denoise_common import (
    check_cube,
    check_rank,
    clean_outliers,
    noise_and_whitened_gram,
    spectral_project,
)

__all__ = ["denoise_otvca"]


def denoise_otvca(cube, *, n_components=None, weight=1.0, sigma=None, robust="auto", max_iter=10, tol=1e-3,
                  return_info=False):
    """Denoise a hyperspectral cube by OTVCA: TV-regularized low-rank model with an orthonormal spectral basis.

    Minimises ``1/2 ||Y - F V^T||^2 + weight sum_i TV(f_i)`` over feature
    images ``F`` (pixels x k) and orthonormal ``V`` (bands x k), ``Y`` the
    cube whitened band by band with the noise levels ``sigma`` (unit noise),
    by cyclic descent: for ``V`` fixed, ``||Y - F V^T||^2 = ||Y V - F||^2 +
    const``, so ``F`` is the isotropic TV denoising of the images ``Y V``
    (:func:`optlib.imaging.tv_denoise`); for ``F`` fixed, ``V`` solves an
    orthogonal Procrustes problem, ``V = U W^T`` from the SVD
    ``Y^T F = U S W^T``. Starts from the signal subspace (HySime or the
    ``n_components`` principal directions); each step lowers the objective.

    Parameters
    ----------
    cube : array of shape (rows, cols, bands)
        Noisy cube, any array-API library (the TV step runs on the cube's
        device). Not modified.
    n_components : int, optional
        Number of features ``k``; HySime's signal-subspace dimension when omitted.
    weight : float, default=1.0
        TV weight in units of the noise std (whitened units).
    sigma : float or array of shape (bands,), optional
        Noise std, per band or common; estimated per band when omitted.
    robust : {"auto", True, False}, default="auto"
        First remove impulses and column stripes, for mixed noise: in the
        bands where they are detected (``"auto"``), in every band
        (``True``) or not at all (see :func:`denoise_fasthyde`).
    max_iter : int, default=10
        Cyclic-descent passes (the reference uses 10 to 200).
    tol : float, default=1e-3
        Stop when the features change by less than ``tol`` relatively.
    return_info : bool, default=False
        Also return a dict with ``n_components``, ``sigma``, ``basis``
        (``V``), ``features`` (``F`` as images, whitened units) and ``n_iter``.

    Returns
    -------
    denoised : array of shape (rows, cols, bands)
        In the cube's namespace, device and floating dtype.
    info : dict
        Only with ``return_info=True``.
    """
    from ..imaging import tv_denoise
    from ._denoise_fasthyde import signal_subspace

    cube, xp = check_cube(cube)
    rows, cols, L = cube.shape
    if n_components is not None:
        n_components = check_rank(n_components, L)
    weight = check_scalar(weight, "weight", lower=0.0)
    max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=1)
    tol = check_scalar(tol, "tol", lower=0.0, lower_inclusive=False)
    cube = clean_outliers(xp, cube, robust)
    s, R_w = noise_and_whitened_gram(xp, cube, sigma)
    sc = xp.astype(s, cube.dtype)
    Yw = cube / sc
    V = signal_subspace(xp, Yw if n_components is None else None, R_w, n_components)
    Y2 = xp.reshape(Yw, (rows * cols, L))
    F = None
    for it in range(1, max_iter + 1):
        P = xp.permute_dims(spectral_project(xp, Yw, V), (2, 0, 1))  # (k, rows, cols) feature images Y V
        F_new = xp.reshape(xp.permute_dims(tv_denoise(P, weight, ndim=2, tol=1e-3), (1, 2, 0)), (rows * cols, -1))
        U, _, Wt = xp.linalg.svd(xp.astype(Y2.T @ F_new, xp.float64), full_matrices=False)
        V = U @ Wt
        done = F is not None and float(xp.linalg.vector_norm(F_new - F)) <= tol * float(xp.linalg.vector_norm(F))
        F = F_new
        if done:
            break
    out = xp.reshape(F @ xp.astype(V.T, cube.dtype), (rows, cols, L)) * sc
    if not return_info:
        return out
    return out, {"n_components": V.shape[1], "sigma": s, "basis": V, "features": xp.reshape(F, (rows, cols, -1)),
                 "n_iter": it}
