"""Isotropic total-variation denoising by Chambolle's projection algorithm (2-D and 3-D).

``tv_denoise(f, weight)`` returns the ROF / TV prox

    argmin_x 0.5 * ||x - f||^2 + weight * TV(x),

with the isotropic ``TV`` and the finite differences of
:mod:`optlib.functions._tv` (forward differences, Neumann boundary), computed
by A. Chambolle's semi-implicit dual iteration ("An algorithm for total
variation minimization and applications", JMIV 20, 2004) on the unit dual
``p``::

    p <- (p + c D x) / (1 + c |D x|),  x = f - weight D^T p,  c = tau / weight,

with ``tau = 1 / (2 ndim)`` (the step scikit-image uses; Chambolle proves
convergence for ``tau <= 1 / (4 ndim)`` and reports that ``1 / (2 ndim)``
works in practice, as our tests observe).

Engines: a numba kernel (``_tv_numba.py``, two fused passes per iteration)
for NumPy input, the same iteration with array-API operations otherwise
(CuPy, array_api_strict), sharing ``D`` and ``D^T`` with
:class:`optlib.functions.TV2D`. :class:`TVDenoiser` is the PnP form: the
weight comes from the noise level, and the dual can be kept between calls
(warm start), which makes a few iterations per call enough inside ADMM.
"""

import numbers

from .._backend import device, get_namespace, use_numba
from .._result import warn_convergence
from .._validation import check_option, check_scalar
from ..functions._tv import _grad, _grad_adjoint
from ._base import check_image, check_sigma

__all__ = ["TVDenoiser", "tv_denoise"]

_CHECK_EVERY = 5  # convergence test period of the array-API path (one host sync each)


def _check_ndim(ndim, x, cls):
    if ndim is None:
        return x.ndim
    ndim = check_scalar(ndim, "ndim", kind=numbers.Integral)
    if ndim not in (2, 3) or ndim > x.ndim:
        raise ValueError(f"{cls}: ndim must be 2 or 3 and at most x.ndim={x.ndim}, got {ndim}.")
    return ndim


def _chambolle(xp, f, weight, ndim, max_iter, tol, dual, engine):
    """Run the iteration; returns ``(x, dual, n_iter, converged)``.

    ``dual`` (unit dual of shape ``(ndim, *f.shape)``, or ``None`` for zeros)
    is not modified. ``tol=None`` runs exactly ``max_iter`` iterations.
    """
    tau = 1.0 / (2.0 * ndim)
    scale = float(xp.max(xp.abs(f))) if tol is not None else 0.0
    tol_abs = -1.0 if tol is None else tol * scale
    shape = (ndim,) + tuple(f.shape)
    if use_numba(xp, engine):
        import numpy as np

        from ._tv_numba import chambolle_2d, chambolle_3d

        batch = (-1,) + tuple(f.shape[f.ndim - ndim :])
        fb = np.ascontiguousarray(f).reshape(batch)
        p = np.zeros(shape, dtype=f.dtype) if dual is None else np.array(dual, dtype=f.dtype)
        pb = p.reshape((ndim,) + fb.shape)
        xb = np.empty_like(fb)
        kernel = chambolle_2d if ndim == 2 else chambolle_3d
        nit, met = kernel(fb, pb, xb, weight, tau, max_iter, tol_abs)
        return xb.reshape(f.shape), p, nit, met or tol is None
    if dual is None:
        p = xp.zeros(shape, dtype=f.dtype, device=device(f))
    else:
        p = xp.astype(dual, f.dtype, copy=True)
    c = tau / weight
    x = f - weight * _grad_adjoint(xp, p, ndim)
    for it in range(1, max_iter + 1):
        g = _grad(xp, x, ndim)
        p = (p + c * g) / (1.0 + c * xp.sqrt(xp.sum(g * g, axis=0, keepdims=True)))
        x_new = f - weight * _grad_adjoint(xp, p, ndim)
        check = tol is not None and (it % _CHECK_EVERY == 0 or it == max_iter)
        if check and float(xp.max(xp.abs(x_new - x))) <= tol_abs:
            return x_new, p, it, True
        x = x_new
    return x, p, max_iter, tol is None


def _check_options(cls, max_iter, tol, engine):
    max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=1)
    if tol is not None:
        tol = check_scalar(tol, "tol", lower=0.0, lower_inclusive=False)
    engine = check_option(engine, "engine", ("auto", "numba", "xp"))
    return max_iter, tol, engine


def tv_denoise(x, weight, *, ndim=None, max_iter=200, tol=1e-4, engine="auto"):
    """Isotropic TV denoising (ROF model) of an image or volume by Chambolle's algorithm.

    Returns ``argmin_u 0.5 ||u - x||^2 + weight * TV(u)`` with ``TV`` the sum
    over pixels of the Euclidean norm of the forward differences (Neumann
    boundary) along the last ``ndim`` axes: the prox of
    ``weight * optlib.functions.TVND(ndim=ndim)``, and the model of
    ``skimage.restoration.denoise_tv_chambolle(x, weight=weight)``.

    Parameters
    ----------
    x : array
        Real image (2-D) or volume (3-D); with ``ndim=2`` a 3-D array is a
        stack of images denoised independently. Not modified.
    weight : float
        Nonnegative TV weight; 0 returns a copy of ``x``.
    ndim : {None, 2, 3}, optional
        Number of trailing axes the differences act on; ``None``: all axes.
    max_iter : int, default=200
        Iteration cap; reaching it with ``tol`` set warns
        (``ConvergenceWarning``) and returns the last iterate.
    tol : float or None, default=1e-4
        Stop when no pixel moves by more than ``tol * max|x|`` in one
        iteration. ``None`` runs exactly ``max_iter`` iterations, silently.
    engine : {"auto", "numba", "xp"}, default="auto"
        ``"numba"`` kernel for NumPy input (the ``"auto"`` choice when numba
        is available), array-API operations (``"xp"``) otherwise.

    Returns
    -------
    array
        The denoised array: ``x``'s namespace, device, shape and dtype.
    """
    x, xp = check_image(x, "tv_denoise", ndims=(2, 3))
    weight = check_scalar(weight, "weight", lower=0.0)
    ndim = _check_ndim(ndim, x, "tv_denoise")
    max_iter, tol, engine = _check_options("tv_denoise", max_iter, tol, engine)
    if weight == 0.0 or x.size == 0:
        return xp.asarray(x, copy=True)
    out, _, _, converged = _chambolle(xp, x, weight, ndim, max_iter, tol, None, engine)
    if not converged:
        warn_convergence(
            f"tv_denoise reached max_iter={max_iter} before the change of the iterate fell below "
            f"tol={tol}; the result is approximate. Increase max_iter or tol.",
            stacklevel=2,
        )
    return out


class TVDenoiser:
    """Isotropic TV denoiser ``D(x, sigma)`` for plug-and-play, 2-D and 3-D.

    ``D(x, sigma) = argmin_u 0.5 ||u - x||^2 + scale * sigma**2 * TV(u)``:
    the prox of ``scale * TV`` with step ``sigma**2``, i.e. the MAP estimate
    under Gaussian noise of standard deviation ``sigma`` and the prior
    ``exp(-scale * TV(u))``. In PnP-ADMM, which calls the denoiser with
    ``sigma = sqrt(lam / rho)``, ``scale=1`` makes each call the exact prox
    of ``(lam / rho) TV``, so the iteration is ADMM on
    ``0.5 ||A x - y||^2 + lam TV(x)``. For stand-alone denoising of noise
    ``sigma``, weights near ``sigma`` work well on natural images in
    ``[0, 1]`` (``scale ~ 1 / sigma``).

    Parameters
    ----------
    scale : float, default=1.0
        Prior strength: the TV weight is ``scale * sigma**2``.
    ndim : {None, 2, 3}, optional
        Trailing axes the differences act on; ``None``: all axes of ``x``.
    max_iter : int, default=200
        Chambolle iterations per call at most.
    tol : float or None, default=1e-4
        Relative stopping tolerance (see :func:`tv_denoise`); ``None`` runs
        exactly ``max_iter`` iterations per call without warning, the
        inexact mode for PnP with ``warm_start=True``.
    warm_start : bool, default=False
        Start each call from the dual of the previous call (same shape,
        array library and device; otherwise from zeros).
        Inside PnP the successive inputs are close, so a few iterations per
        call track the exact prox; the output then depends on the call
        history.
    engine : {"auto", "numba", "xp"}, default="auto"
        As in :func:`tv_denoise`.

    Attributes
    ----------
    n_iter_ : int
        Iterations of the last call.
    """

    def __init__(self, scale=1.0, *, ndim=None, max_iter=200, tol=1e-4, warm_start=False, engine="auto"):
        self.scale = check_scalar(scale, "scale", lower=0.0)
        if ndim is not None and check_scalar(ndim, "ndim", kind=numbers.Integral) not in (2, 3):
            raise ValueError(f"TVDenoiser: ndim must be None, 2 or 3, got {ndim!r}.")
        self.ndim = ndim
        self.max_iter, self.tol, self.engine = _check_options("TVDenoiser", max_iter, tol, engine)
        if not isinstance(warm_start, bool):
            raise TypeError(f"warm_start must be a bool, got {warm_start!r}.")
        self.warm_start = warm_start
        self._dual = None

    def __repr__(self):
        return (
            f"TVDenoiser(scale={self.scale!r}, ndim={self.ndim!r}, max_iter={self.max_iter!r}, "
            f"tol={self.tol!r}, warm_start={self.warm_start!r}, engine={self.engine!r})"
        )

    def reset(self):
        """Forget the warm-start dual."""
        self._dual = None

    def __call__(self, x, sigma):
        """Denoise ``x`` (real, 2-D or 3-D, not modified) at noise level ``sigma`` >= 0."""
        x, xp = check_image(x, "TVDenoiser")
        weight = self.scale * check_sigma(sigma) ** 2
        ndim = _check_ndim(self.ndim, x, "TVDenoiser")
        if weight == 0.0 or x.size == 0:
            self.n_iter_ = 0
            return xp.asarray(x, copy=True)
        dual = self._dual if self.warm_start else None
        if dual is not None and (
            tuple(dual.shape) != (ndim,) + tuple(x.shape) or get_namespace(dual) is not xp or device(dual) != device(x)
        ):
            dual = None  # a start only for the next image of the same shape, library and device
        out, p, nit, converged = _chambolle(xp, x, weight, ndim, self.max_iter, self.tol, dual, self.engine)
        self.n_iter_ = nit
        self._dual = p if self.warm_start else None
        if not converged:
            warn_convergence(
                f"TVDenoiser reached max_iter={self.max_iter} before the change of the iterate fell "
                f"below tol={self.tol}; the result is approximate. Increase max_iter, or pass "
                "tol=None for a fixed number of iterations per call.",
                stacklevel=2,
            )
        return out
