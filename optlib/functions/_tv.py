"""Total-variation penalties: 1-D with an exact prox, 2-D / 3-D with an iterative one.

All TV proxes solve

    prox_{t g}(v) = argmin_x  0.5 * ||x - v||^2 + t * lam * TV(x)

with ``TV(x) = sum_pixels ||(D x)_pixel||``, ``D`` the forward differences
along each penalised axis with Neumann boundary (the difference past the last
sample is 0) and the pixel norm l2 (isotropic) or l1 (anisotropic).

Solvers:

* :class:`TV1D`, NumPy input with numba: Condat's exact direct algorithm
  (kernels in ``_tv_numba.py``, imported lazily so ``import optlib`` stays fast).
* :class:`TV1D`, ``engine="xp"`` (CuPy, array_api_strict, ...): an exact
  primal-dual active-set method on the dual, vectorized over all signals
  (:func:`_tv1d_active_set`), with :func:`_tv_prox_dual` as safeguard.
* :class:`TVND` (:class:`TV2D`, :class:`TV3D`): :func:`_tv_prox_dual`, FISTA
  on the dual, vectorized over the batch. With ``x = v - D^T p`` the dual is
  the box-/ball-constrained quadratic
  ``min_{||p_pixel||_* <= t lam} 0.5 ||v - D^T p||^2``, whose gradient ``-D x``
  is Lipschitz with constant ``||D||^2 <= 4 ndim``. Projected accelerated
  gradient (Beck & Teboulle 2009, "fast gradient projection") with
  per-problem gradient restart (O'Donoghue & Candes 2015) runs until the
  largest change of the primal iterate in one step is below
  ``tol * max|v|``, or ``max_iter`` steps.

Complex input is refused: wrap the penalty in ``Magnitude`` to act on moduli.
"""

import numbers

from .._backend import device, get_namespace, use_numba
from .._result import warn_convergence
from .._validation import check_array, check_option, check_scalar
from ._base import Function
from ._utils import array_argument, array_prox, check_step, check_weight

__all__ = ["TV1D", "TVND", "TV2D", "TV3D"]

_CHECK_EVERY = 5  # convergence test period of the dual solver (one host sync each)
_ACTIVE_SET_MAX_STEPS = 100  # TV1D "xp" path: active-set steps before the FISTA fallback


# ---------------------------------------------------------------------------
# helpers: input checks, finite differences over the trailing axes
# ---------------------------------------------------------------------------


def _check_real(x, name, cls):
    """The floating array ``x`` and its namespace; complex and non-finite entries are refused."""
    xp = get_namespace(x)
    if xp.isdtype(x.dtype, "complex floating"):
        raise TypeError(
            f"{cls} does not support complex {name} (dtype {x.dtype}); to penalise the "
            f"total variation of the modulus use Magnitude({cls}(...))."
        )
    return check_array(x, name, xp=xp, min_size=0), xp


def _index(axis, s):
    """Index tuple applying slice ``s`` on the negative ``axis`` (-1, -2, ...)."""
    return (Ellipsis, s) + (slice(None),) * (-axis - 1)


def _forward_diff(xp, x, axis):
    """Forward difference along negative ``axis``, Neumann boundary (last entry 0)."""
    if x.shape[axis] < 2:
        return xp.zeros_like(x)
    shape = list(x.shape)
    shape[axis] = 1
    zero = xp.zeros(tuple(shape), dtype=x.dtype, device=device(x))
    d = x[_index(axis, slice(1, None))] - x[_index(axis, slice(None, -1))]
    return xp.concat((d, zero), axis=axis)


def _forward_diff_adjoint(xp, p, axis):
    """Adjoint of :func:`_forward_diff` (minus the divergence); ignores ``p``'s last entry."""
    if p.shape[axis] < 2:
        return xp.zeros_like(p)
    shape = list(p.shape)
    shape[axis] = 1
    zero = xp.zeros(tuple(shape), dtype=p.dtype, device=device(p))
    q = p[_index(axis, slice(None, -1))]
    return xp.concat((zero, q), axis=axis) - xp.concat((q, zero), axis=axis)


def _grad(xp, x, ndim):
    """Stacked forward differences over the last ``ndim`` axes, shape ``(ndim, *x.shape)``."""
    return xp.stack([_forward_diff(xp, x, -ndim + k) for k in range(ndim)], axis=0)


def _grad_adjoint(xp, p, ndim):
    """``D^T p`` for ``p`` of shape ``(ndim, *x.shape)``."""
    out = _forward_diff_adjoint(xp, p[0, ...], -ndim)
    for k in range(1, ndim):
        out = out + _forward_diff_adjoint(xp, p[k, ...], -ndim + k)
    return out


def _pixel_norm(xp, g, isotropic):
    """Per-pixel norm of stacked differences ``g`` (component axis 0)."""
    if isotropic:
        return xp.sqrt(xp.sum(g * g, axis=0))
    return xp.sum(xp.abs(g), axis=0)


def _tv_value(xp, x, ndim, isotropic):
    return float(xp.sum(_pixel_norm(xp, _grad(xp, x, ndim), isotropic)))


def _default_tol(xp, dtype):
    return 1e-5 if dtype == xp.float32 else 1e-10


# ---------------------------------------------------------------------------
# the shared iterative solver
# ---------------------------------------------------------------------------


def _tv_prox_dual(xp, v, thresh, ndim, isotropic, max_iter, tol, name):
    """TV prox over the last ``ndim`` axes of ``v`` by FISTA on the dual, vectorized.

    Every slice ``v[..., :, ..., :]`` over the trailing ``ndim`` axes is an
    independent problem with its own momentum and restart. Returns ``x``.
    """
    if thresh == 0.0 or v.size == 0:
        return xp.asarray(v, copy=True)
    step = 1.0 / (4.0 * ndim)
    scale = float(xp.max(xp.abs(v)))
    if scale == 0.0:
        return xp.asarray(v, copy=True)
    threshold = tol * scale
    red_axes = (0,) + tuple(range(-ndim, 0))  # component axis and the trailing axes

    def project(p):
        if isotropic and ndim > 1:
            norm = xp.sqrt(xp.sum(p * p, axis=0, keepdims=True))
            return p / xp.clip(norm / thresh, 1.0, None)
        return xp.clip(p, -thresh, thresh)

    p = xp.zeros((ndim,) + tuple(v.shape), dtype=v.dtype, device=device(v))
    q = p  # extrapolated dual point
    z = xp.zeros_like(v)  # D^T p
    zq = z  # D^T q
    batch_shape = (1,) + tuple(v.shape[: v.ndim - ndim]) + (1,) * ndim
    t = xp.ones(batch_shape, dtype=v.dtype, device=device(v))  # momentum, per problem
    converged = False
    for it in range(1, max_iter + 1):
        p_new = project(q + step * _grad(xp, v - zq, ndim))
        z_new = _grad_adjoint(xp, p_new, ndim)
        if it % _CHECK_EVERY == 0 or it == max_iter:
            change = float(xp.max(xp.abs(z_new - z)))
            if change <= threshold:
                z = z_new
                converged = True
                break
        # gradient restart: drop the momentum of problems where it points uphill
        restart = xp.sum((q - p_new) * (p_new - p), axis=red_axes, keepdims=True) > 0
        t = xp.where(restart, xp.ones_like(t), t)
        t_new = (1.0 + xp.sqrt(1.0 + 4.0 * t * t)) / 2.0
        beta = (t - 1.0) / t_new
        q = p_new + beta * (p_new - p)
        zq = z_new + beta[0, ...] * (z_new - z)
        p, z, t = p_new, z_new, t_new
    if not converged:
        warn_convergence(
            f"{name}.prox: the dual solver reached max_iter before the change of the iterate "
            "fell below tol; the result is approximate. Increase max_iter or tol.",
            stacklevel=3,  # point at the caller of prox
        )
    return v - z


def _shift_right(xp, a, s, fill):
    """``a`` shifted by ``s`` along the last axis, the first ``s`` entries set to ``fill``."""
    pad = xp.full(tuple(a.shape[:-1]) + (s,), fill, dtype=a.dtype, device=device(a))
    return xp.concat((pad, a[..., :-s]), axis=-1)


def _segmented_cumsum(xp, a, start):
    """Inclusive prefix sums of ``a`` along the last axis, restarting where ``start`` is True.

    Hillis-Steele doubling scan: ``ceil(log2 n)`` elementwise passes, so it
    vectorizes on any array library; partial sums stay inside one segment,
    which keeps the rounding error local.
    """
    n = a.shape[-1]
    s = 1
    while s < n:
        a = xp.where(start, a, a + _shift_right(xp, a, s, 0))
        start = start | _shift_right(xp, start, s, False)
        s *= 2
    return a


def _tv1d_given_jumps(xp, v, sign, thresh):
    """Solve the 1-D TV prox assuming the jump pattern ``sign`` (-1, 0, +1 per edge).

    ``sign[..., j] != 0`` fixes the dual variable of edge ``(j, j+1)`` at
    ``sign * thresh``; between fixed edges ``x`` is constant, equal to the
    segment mean of ``v - D^T p_J``. Returns ``x``, the dual ``p`` implied by
    ``D^T p = v - x`` and the forward differences of ``x`` (last entry 0).
    """
    jump = sign != 0
    pj = sign * thresh
    pj_prev = _shift_right(xp, pj, 1, 0)
    start = _shift_right(xp, jump, 1, True)  # sample 0 always starts a segment
    last = xp.zeros(tuple(v.shape[:-1]) + (1,), dtype=xp.bool, device=device(v))
    end = xp.concat((jump[..., :-1], xp.logical_not(last)), axis=-1)
    w = xp.stack((v - pj_prev + pj, xp.ones_like(v)), axis=0)  # values and counts
    prefix = _segmented_cumsum(xp, w, start)
    suffix = xp.flip(_segmented_cumsum(xp, xp.flip(w, axis=-1), xp.flip(end, axis=-1)), axis=-1)
    total = prefix + suffix - w
    x = total[0, ...] / total[1, ...]
    p = _segmented_cumsum(xp, x - v + pj_prev, start)
    dx = _forward_diff(xp, x, -1)
    return x, p, dx


def _tv1d_active_set(xp, v, thresh, max_steps):
    """Exact 1-D TV prox of every signal (last axis) by a primal-dual active-set method.

    Semismooth Newton on the dual box constraints ``|p_j| <= thresh``
    (Hintermueller, Ito & Kunisch 2003) in its limit form: an edge joins the
    active (jump) set when its dual leaves the box, and leaves it when the
    jump of ``x`` has the wrong sign. Each step solves the equality-constrained
    problem exactly (:func:`_tv1d_given_jumps`); a signal whose KKT conditions
    hold is final (exact up to rounding) and frozen. Returns ``x`` and the
    per-signal mask of certified signals.
    """
    n = v.shape[-1]
    eps = float(xp.finfo(v.dtype).eps)
    scale = float(xp.max(xp.abs(v)))
    slack = 4.0 * eps * max(1, (n - 1).bit_length()) * (scale + thresh)
    sign = xp.zeros_like(v)
    edge = xp.arange(n, device=device(v)) < n - 1  # the last sample has no edge
    done = xp.zeros(tuple(v.shape[:-1]) + (1,), dtype=xp.bool, device=device(v))
    out = xp.zeros_like(v)
    for _ in range(max_steps):
        x, p, dx = _tv1d_given_jumps(xp, v, sign, thresh)
        jump = sign != 0
        enter = edge & xp.logical_not(jump) & (xp.abs(p) > thresh + slack)
        leave = jump & (sign * dx < -slack)
        ok = xp.logical_not(xp.any(enter | leave, axis=-1, keepdims=True))
        out = xp.where(ok & xp.logical_not(done), x, out)
        done = done | ok
        if bool(xp.all(done)):
            break
        new_sign = xp.where(enter, xp.sign(p), xp.where(leave, xp.zeros_like(sign), sign))
        sign = xp.where(done, sign, new_sign)
    return out, done


# ---------------------------------------------------------------------------
# public classes
# ---------------------------------------------------------------------------


def _check_max_iter(max_iter):
    return check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=1)


def _check_tol(tol, allow_none):
    if tol is None and allow_none:
        return None
    return check_scalar(tol, "tol", lower=0.0, lower_inclusive=False)


class TV1D(Function):
    """1-D total variation ``lam * sum_i |x[i+1] - x[i]|`` along ``axis``.

    Every 1-D signal along ``axis`` is penalised (and denoised by the prox)
    independently; the value sums over all of them.

    Parameters
    ----------
    lam : float, default=1.0
        Nonnegative weight.
    axis : int, default=-1
        Axis along which the signals run.
    engine : {"auto", "numba", "xp"}, default="auto"
        ``"numba"`` (the ``"auto"`` choice for NumPy input when numba is
        available) runs Condat's direct algorithm, one signal after the
        other. ``"xp"`` (the ``"auto"`` choice for CuPy and other array-API
        libraries) is vectorized over all signals with array-API operations
        and **iterative**: an active-set method on the dual (see Notes).
    max_iter : int, default=20000
        Iteration cap of the FISTA fallback of the ``"xp"`` path (a
        ``ConvergenceWarning`` is emitted when reached).
    tol : float, optional
        Stopping tolerance of that fallback: it stops when no entry of the
        iterate moves by more than ``tol * max|v|`` in one step. Defaults to
        ``1e-10`` for float64 and ``1e-5`` for float32.

    Notes
    -----
    The prox of ``step * lam * TV`` is the 1-D TV denoiser (fused-lasso
    signal approximator); both engines return it exactly, up to rounding.

    * ``"numba"``: L. Condat, "A direct algorithm for 1D total variation
      denoising", IEEE SPL 2013; linear time in practice, no tolerance.
    * ``"xp"``: primal-dual active-set (semismooth Newton) iterations on the
      dual ``min_{|p| <= step lam} 0.5 ||v - D^T p||^2``. Each iteration
      guesses the jumps of ``x``, solves for the segment values exactly
      (segmented scans, ``O(n log n)`` work, ``O(log n)`` depth) and checks
      the KKT conditions; a signal that passes is exact and frozen. Typically
      10 to 30 iterations whatever ``n`` and ``lam``. float32 input is
      processed in float64 and returned as float32. Signals not certified
      after 100 iterations (not observed in practice; a safeguard) are solved
      by FISTA on the dual (step 1/4, gradient restart), which is exact only
      up to ``tol``.
    """

    def __init__(self, lam=1.0, axis=-1, engine="auto", max_iter=20000, tol=None):
        self.lam = check_weight(lam)
        self.axis = check_scalar(axis, "axis", kind=numbers.Integral)
        self.engine = check_option(engine, "engine", ("auto", "numba", "xp"))
        self.max_iter = _check_max_iter(max_iter)
        self.tol = _check_tol(tol, allow_none=True)

    def _signals_last(self, xp, x):
        if x.ndim == 0:
            raise ValueError("TV1D needs an array with at least one dimension, got a 0-d array.")
        if not -x.ndim <= self.axis < x.ndim:
            raise ValueError(
                f"axis {self.axis} is out of bounds for an array of dimension {x.ndim}."
            )
        axis = self.axis % x.ndim
        return x if axis == x.ndim - 1 else xp.moveaxis(x, axis, -1)

    @array_argument
    def __call__(self, x):
        x, xp = _check_real(x, "x", "TV1D")
        return self.lam * _tv_value(xp, self._signals_last(xp, x), 1, True)

    @array_prox
    def prox(self, v, step=1.0):
        v, xp = _check_real(v, "v", "TV1D")
        thresh = self.lam * check_step(step)
        vl = self._signals_last(xp, v)
        numba_path = use_numba(xp, self.engine)
        if thresh == 0.0 or vl.size == 0:
            x = xp.asarray(vl, copy=True)
        elif numba_path:
            import numpy as np

            from ._tv_numba import tv1d_prox_rows

            rows = np.ascontiguousarray(vl).reshape(-1, vl.shape[-1])
            x = tv1d_prox_rows(rows, thresh).reshape(vl.shape)
        else:
            # float64 work arrays: the segment sums then carry no float32 rounding
            x, done = _tv1d_active_set(xp, xp.astype(vl, xp.float64), thresh, _ACTIVE_SET_MAX_STEPS)
            x = xp.astype(x, v.dtype)
            if not bool(xp.all(done)):
                tol = _default_tol(xp, v.dtype) if self.tol is None else self.tol
                x_fista = _tv_prox_dual(xp, vl, thresh, 1, True, self.max_iter, tol, "TV1D")
                x = xp.where(done, x, x_fista)
        axis = self.axis % v.ndim
        return x if axis == v.ndim - 1 else xp.moveaxis(x, -1, axis)


class TVND(Function):
    """Total variation over the last ``ndim`` axes (images, volumes).

    ``lam * sum_pixels ||(D x)_pixel||`` with ``D`` the forward differences
    along each of the last ``ndim`` axes (Neumann boundary: zero past the
    last sample) and the pixel norm l2 (``isotropic=True``) or l1
    (anisotropic). Leading axes are a batch (channels, frames): each slice is
    penalised and denoised independently.

    Parameters
    ----------
    lam : float, default=1.0
        Nonnegative weight.
    ndim : {2, 3}, default=2
        Number of trailing axes the differences act on (use :class:`TV1D`
        for signals).
    isotropic : bool, default=True
        l2 pixel norm (rotation-invariant) or l1 (anisotropic).
    max_iter : int, default=1000
        Iteration cap of the prox (a ``ConvergenceWarning`` when reached).
    tol : float, default=1e-6
        The prox stops when no pixel moves by more than ``tol * max|v|`` in
        one step.

    Notes
    -----
    The prox is **iterative**: FISTA on the dual (Beck & Teboulle's fast
    gradient projection, 2009) with step ``1 / (4 ndim)`` and per-image
    gradient restart, vectorized over the whole batch with array-API
    operations only (NumPy, CuPy, ...).
    """

    def __init__(self, lam=1.0, ndim=2, isotropic=True, max_iter=1000, tol=1e-6):
        self.lam = check_weight(lam)
        self.ndim = check_scalar(ndim, "ndim", kind=numbers.Integral)
        if self.ndim not in (2, 3):
            raise ValueError(f"ndim must be 2 or 3 (use TV1D for 1-D signals), got {ndim!r}.")
        if not isinstance(isotropic, bool):
            raise TypeError(f"isotropic must be a bool, got {isotropic!r}.")
        self.isotropic = isotropic
        self.max_iter = _check_max_iter(max_iter)
        self.tol = _check_tol(tol, allow_none=False)

    @property
    def _name(self):
        return type(self).__name__

    def __repr__(self):
        params = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        if type(self) is not TVND:  # the aliases fix ndim
            params.pop("ndim")
        return f"{self._name}(" + ", ".join(f"{k}={v!r}" for k, v in params.items()) + ")"

    def _check_input(self, x, name):
        x, xp = _check_real(x, name, self._name)
        if x.ndim < self.ndim:
            raise ValueError(
                f"{self._name} with ndim={self.ndim} needs {name} with at least {self.ndim} "
                f"dimensions, got shape {tuple(x.shape)}."
            )
        return x, xp

    @array_argument
    def __call__(self, x):
        x, xp = self._check_input(x, "x")
        return self.lam * _tv_value(xp, x, self.ndim, self.isotropic)

    @array_prox
    def prox(self, v, step=1.0):
        v, xp = self._check_input(v, "v")
        thresh = self.lam * check_step(step)
        return _tv_prox_dual(
            xp, v, thresh, self.ndim, self.isotropic, self.max_iter, self.tol, self._name
        )


class TV2D(TVND):
    """Total variation of images over the last two axes: ``TVND(lam, ndim=2, ...)``.

    See :class:`TVND` for the definition, parameters and the iterative prox.
    """

    def __init__(self, lam=1.0, isotropic=True, max_iter=1000, tol=1e-6):
        super().__init__(lam, ndim=2, isotropic=isotropic, max_iter=max_iter, tol=tol)


class TV3D(TVND):
    """Total variation of volumes over the last three axes: ``TVND(lam, ndim=3, ...)``.

    See :class:`TVND` for the definition, parameters and the iterative prox.
    """

    def __init__(self, lam=1.0, isotropic=True, max_iter=1000, tol=1e-6):
        super().__init__(lam, ndim=3, isotropic=isotropic, max_iter=max_iter, tol=tol)
