"""Isotropic total-variation denoising by Chambolle's projection algorithm (2-D and 3-D).

``tv_denoise(f, weight)`` returns the ROF / TV prox

    argmin_x 0.5 * ||x - f||^2 + weight * TV(x),

with the isotropic ``TV`` and the finite differences of
:mod:`optlib.functions._tv` (forward differences), computed
by A. Chambolle's semi-implicit dual iteration ("An algorithm for total
variation minimization and applications", JMIV 20, 2004) on the unit dual
``p``::

    p <- (p + c D x) / (1 + c |D x|),  x = f - weight D^T p,  c = tau / weight,

with ``tau = 1 / (2 ndim)`` (the step scikit-image uses; Chambolle proves
convergence for ``tau <= 1 / (4 ndim)`` and reports that ``1 / (2 ndim)``
works in practice, as our tests observe).

Boundary. ``"neumann"`` (default): no difference past the last sample, so
constant images have zero TV. ``"zero"``: the image is 0 outside its grid,
so the differences to that zero frame count as well (``D`` acts on the
image padded by one zero sample on each side of the penalised axes, and
``D^T`` is cropped back); ``TV(c * ones) = |c|`` times the area of the
boundary, and TV has no null space. This is the TV of Oral and Oktem's
near-field MIMO code, for volumes that are zero outside the imaged region;
it keeps the step above, since padding does not increase ``||D||``.

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
_BOUNDARIES = ("neumann", "zero")


def _check_ndim(ndim, x, cls):
    if ndim is None:
        return x.ndim
    ndim = check_scalar(ndim, "ndim", kind=numbers.Integral)
    if ndim not in (2, 3) or ndim > x.ndim:
        raise ValueError(f"{cls}: ndim must be 2 or 3 and at most x.ndim={x.ndim}, got {ndim}.")
    return ndim


def _dual_shape(shape, ndim, boundary):
    """Shape of the unit dual: one component per axis, on the zero-padded grid for ``boundary="zero"``."""
    pad = 2 if boundary == "zero" else 0
    lead = len(shape) - ndim
    return (ndim,) + tuple(n + pad if i >= lead else n for i, n in enumerate(shape))


def _pad_zero(xp, x, ndim):
    """``x`` with one zero sample added on both sides of each of its last ``ndim`` axes."""
    for axis in range(x.ndim - ndim, x.ndim):
        shape = list(x.shape)
        shape[axis] = 1
        zero = xp.zeros(tuple(shape), dtype=x.dtype, device=device(x))
        x = xp.concat((zero, x, zero), axis=axis)
    return x


def _crop(x, ndim):
    """Inverse of :func:`_pad_zero` on the index set (drops the frame)."""
    return x[(Ellipsis,) + (slice(1, -1),) * ndim]


def _chambolle(xp, f, weight, ndim, max_iter, tol, dual, engine, boundary="neumann"):
    """Run the iteration; returns ``(x, dual, n_iter, converged)``.

    ``dual`` (unit dual of shape ``_dual_shape(f.shape, ndim, boundary)``, or
    ``None`` for zeros) is not modified. ``tol=None`` runs exactly
    ``max_iter`` iterations. ``boundary="zero"`` runs the array-API
    iteration (also for NumPy input).
    """
    tau = 1.0 / (2.0 * ndim)
    scale = float(xp.max(xp.abs(f))) if tol is not None else 0.0
    tol_abs = -1.0 if tol is None else tol * scale
    shape = _dual_shape(tuple(f.shape), ndim, boundary)
    if boundary == "neumann" and use_numba(xp, engine):
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
    if boundary == "zero":
        def grad(x):
            return _grad(xp, _pad_zero(xp, x, ndim), ndim)

        def grad_adjoint(p):
            return _crop(_grad_adjoint(xp, p, ndim), ndim)
    else:
        def grad(x):
            return _grad(xp, x, ndim)

        def grad_adjoint(p):
            return _grad_adjoint(xp, p, ndim)
    c = tau / weight
    x = f - weight * grad_adjoint(p)
    for it in range(1, max_iter + 1):
        g = grad(x)
        p = (p + c * g) / (1.0 + c * xp.sqrt(xp.sum(g * g, axis=0, keepdims=True)))
        x_new = f - weight * grad_adjoint(p)
        check = tol is not None and (it % _CHECK_EVERY == 0 or it == max_iter)
        if check and float(xp.max(xp.abs(x_new - x))) <= tol_abs:
            return x_new, p, it, True
        x = x_new
    return x, p, max_iter, tol is None


def _check_options(cls, max_iter, tol, engine, boundary):
    max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=1)
    if tol is not None:
        tol = check_scalar(tol, "tol", lower=0.0, lower_inclusive=False)
    engine = check_option(engine, "engine", ("auto", "numba", "xp"))
    boundary = check_option(boundary, "boundary", _BOUNDARIES)
    if boundary == "zero" and engine == "numba":
        raise ValueError(f"{cls}: the numba engine supports boundary='neumann' only; use engine='auto' or 'xp'.")
    return max_iter, tol, engine, boundary


def tv_denoise(x, weight, *, ndim=None, boundary="neumann", max_iter=200, tol=1e-4, engine="auto"):
    """Isotropic TV denoising (ROF model) of an image or volume by Chambolle's algorithm.

    Returns ``argmin_u 0.5 ||u - x||^2 + weight * TV(u)`` with ``TV`` the sum
    over pixels of the Euclidean norm of the forward differences along the
    last ``ndim`` axes. With the default Neumann boundary this is the prox of
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
    boundary : {"neumann", "zero"}, default="neumann"
        ``"neumann"``: no difference past the last sample (constant images
        cost nothing). ``"zero"``: the image is 0 outside the grid, so the
        jumps to 0 across the border count too (see the module docstring);
        runs the array-API iteration.
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
    max_iter, tol, engine, boundary = _check_options("tv_denoise", max_iter, tol, engine, boundary)
    if weight == 0.0 or x.size == 0:
        return xp.asarray(x, copy=True)
    out, _, _, converged = _chambolle(xp, x, weight, ndim, max_iter, tol, None, engine, boundary)
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
    boundary : {"neumann", "zero"}, default="neumann"
        As in :func:`tv_denoise`. ``"zero"`` is the choice for a magnitude
        that vanishes outside the grid, e.g. near-field MIMO volumes in
        ``MagnitudeDenoiser(TVDenoiser(boundary="zero"))``: with the Neumann
        boundary a constant background is free of TV.
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

    def __init__(self, scale=1.0, *, ndim=None, boundary="neumann", max_iter=200, tol=1e-4, warm_start=False,
                 engine="auto"):
        self.scale = check_scalar(scale, "scale", lower=0.0)
        if ndim is not None and check_scalar(ndim, "ndim", kind=numbers.Integral) not in (2, 3):
            raise ValueError(f"TVDenoiser: ndim must be None, 2 or 3, got {ndim!r}.")
        self.ndim = ndim
        self.max_iter, self.tol, self.engine, self.boundary = _check_options(
            "TVDenoiser", max_iter, tol, engine, boundary)
        if not isinstance(warm_start, bool):
            raise TypeError(f"warm_start must be a bool, got {warm_start!r}.")
        self.warm_start = warm_start
        self._dual = None

    def __repr__(self):
        return (
            f"TVDenoiser(scale={self.scale!r}, ndim={self.ndim!r}, boundary={self.boundary!r}, "
            f"max_iter={self.max_iter!r}, tol={self.tol!r}, warm_start={self.warm_start!r}, engine={self.engine!r})"
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
            tuple(dual.shape) != _dual_shape(tuple(x.shape), ndim, self.boundary)
            or get_namespace(dual) is not xp
            or device(dual) != device(x)
        ):
            dual = None  # a start only for the next image of the same shape, library and device
        out, p, nit, converged = _chambolle(xp, x, weight, ndim, self.max_iter, self.tol, dual, self.engine,
                                            self.boundary)
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
