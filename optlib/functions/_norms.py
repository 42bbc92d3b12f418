"""Norm penalties: l1, l2, group l2,1, elastic net."""

import numbers

from .._backend import get_namespace
from .._validation import check_scalar
from ._base import Function
from ._utils import array_argument, array_prox, check_step, check_weight, magnitude_shrink, shrink_by_norm

__all__ = ["L1", "L2", "GroupL21", "ElasticNet"]


# -- private helpers shared by the prox modules --------------------------------


def _as_float(xp, v):
    """``v`` itself when floating (real or complex), else a float64 copy."""
    if xp.isdtype(v.dtype, ("real floating", "complex floating")):
        return v
    return xp.astype(v, xp.float64)


def _vector_norm(xp, v, axis=None, keepdims=False):
    """Euclidean norm of ``v`` (moduli for complex) along ``axis``; real dtype."""
    linalg = getattr(xp, "linalg", None)
    if linalg is not None and hasattr(linalg, "vector_norm"):
        return linalg.vector_norm(v, axis=axis, keepdims=keepdims)
    a = xp.abs(v)
    return xp.sqrt(xp.sum(a * a, axis=axis, keepdims=keepdims))


def _check_axis(axis, ndim):
    """Normalise an int or tuple-of-int ``axis`` for an array of ``ndim`` dims."""
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral):
            raise TypeError(f"axis must be an int or a tuple of ints, got {axis!r}.")
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {axis!r} is out of bounds for an array with {ndim} dimension(s).")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"axis {axis!r} has repeated entries.")
    return out[0] if isinstance(axis, numbers.Integral) else tuple(out)


def _dual_rtol(xp, u):
    """Relative tolerance of dual-ball membership tests in conjugates.

    ``1e-12`` in double precision, ``1e-5`` in single precision, so that
    ``conjugate(dual_scaling(u) * u)`` is finite despite the rounding of the
    product and of the norm.
    """
    single = u.dtype == xp.float32 or u.dtype == xp.complex64
    return 1e-5 if single else 1e-12


def _max_abs(xp, u):
    return float(xp.max(xp.abs(u))) if u.size else 0.0


# -- penalties -----------------------------------------------------------------


class L1(Function):
    """``lam * ||x||_1`` (sum of moduli for complex ``x``); prox is soft thresholding.

    Parameters
    ----------
    lam : float, default=1.0
        Nonnegative weight.
    """

    is_separable = True

    def __init__(self, lam=1.0):
        self.lam = check_weight(lam)

    @array_argument
    def __call__(self, x):
        xp = get_namespace(x)
        return self.lam * float(xp.sum(xp.abs(x)))

    @array_prox
    def prox(self, v, step=1.0):
        xp = get_namespace(v)
        return magnitude_shrink(xp, v, self.lam * check_step(step))

    def conjugate(self, u):
        xp = get_namespace(u)
        excess = float(xp.max(xp.abs(u))) if u.size else 0.0
        return 0.0 if excess <= self.lam * (1 + _dual_rtol(xp, u)) else float("inf")

    def dual_scaling(self, u):
        xp = get_namespace(u)
        norm = float(xp.max(xp.abs(u))) if u.size else 0.0
        return 1.0 if norm <= self.lam else self.lam / norm


class L2(Function):
    """``lam * ||x||_2``, the Euclidean norm of the whole array (not squared).

    The prox is block soft thresholding of the whole array as one block,
    ``v * max(1 - step * lam / ||v||_2, 0)``. Complex arrays are accepted
    (the norm uses moduli).

    Parameters
    ----------
    lam : float, default=1.0
        Nonnegative weight.

    Notes
    -----
    The conjugate is the indicator of the dual ball ``{u : ||u||_2 <= lam}``.
    """

    is_separable = False

    def __init__(self, lam=1.0):
        self.lam = check_weight(lam)

    @array_argument
    def __call__(self, x):
        xp = get_namespace(x)
        return self.lam * float(_vector_norm(xp, x))

    @array_prox
    def prox(self, v, step=1.0):
        step = check_step(step)
        xp = get_namespace(v)
        return shrink_by_norm(xp, v, _vector_norm(xp, v), self.lam * step)

    def conjugate(self, u):
        xp = get_namespace(u)
        norm = float(_vector_norm(xp, _as_float(xp, u))) if u.size else 0.0
        return 0.0 if norm <= self.lam * (1 + _dual_rtol(xp, u)) else float("inf")

    def dual_scaling(self, u):
        xp = get_namespace(u)
        norm = float(_vector_norm(xp, _as_float(xp, u))) if u.size else 0.0
        return 1.0 if norm <= self.lam else self.lam / norm


class GroupL21(Function):
    """Group lasso ``lam * sum_g ||x_g||_2``: l2 norms along ``axis``, summed over the rest.

    Each group is the 1-D slice (or sub-array, for a tuple ``axis``) obtained
    by fixing every index not in ``axis``. With ``axis=-1`` and a 2-D array,
    each row is a group; with ``axis=0`` each column is. The prox is block
    soft thresholding of every group. Complex arrays are accepted.

    Parameters
    ----------
    lam : float, default=1.0
        Nonnegative weight.
    axis : int or tuple of int, default=-1
        Axis (axes) along which the l2 norm of a group is taken.

    Notes
    -----
    The conjugate is the indicator of ``{u : max_g ||u_g||_2 <= lam}``.
    """

    is_separable = False

    def __init__(self, lam=1.0, axis=-1):
        self.lam = check_weight(lam)
        if isinstance(axis, bool) or not (
            isinstance(axis, numbers.Integral)
            or (isinstance(axis, tuple) and axis and all(isinstance(a, numbers.Integral) for a in axis))
        ):
            raise TypeError(f"axis must be an int or a non-empty tuple of ints, got {axis!r}.")
        self.axis = axis

    def _group_norms(self, xp, x, keepdims):
        if x.ndim == 0:
            raise ValueError("GroupL21 needs an array with at least one dimension, got a 0-d array.")
        axis = _check_axis(self.axis, x.ndim)
        return _vector_norm(xp, x, axis=axis, keepdims=keepdims)

    @array_argument
    def __call__(self, x):
        xp = get_namespace(x)
        return self.lam * float(xp.sum(self._group_norms(xp, x, False)))

    @array_prox
    def prox(self, v, step=1.0):
        step = check_step(step)
        xp = get_namespace(v)
        return shrink_by_norm(xp, v, self._group_norms(xp, v, True), self.lam * step)

    def _max_group_norm(self, u):
        xp = get_namespace(u)
        if not u.size:
            return 0.0
        return float(xp.max(self._group_norms(xp, _as_float(xp, u), False)))

    def conjugate(self, u):
        rtol = _dual_rtol(get_namespace(u), u)
        return 0.0 if self._max_group_norm(u) <= self.lam * (1 + rtol) else float("inf")

    def dual_scaling(self, u):
        norm = self._max_group_norm(u)
        return 1.0 if norm <= self.lam else self.lam / norm


class ElasticNet(Function):
    """Elastic net ``lam * (l1_ratio * ||x||_1 + 0.5 * (1 - l1_ratio) * ||x||_2^2)``.

    Same parametrisation as :class:`sklearn.linear_model.ElasticNet`
    (``lam`` is scikit-learn's ``alpha``). The prox is soft thresholding at
    ``step * lam * l1_ratio`` followed by division by
    ``1 + step * lam * (1 - l1_ratio)``. Complex arrays are accepted (moduli).

    Parameters
    ----------
    lam : float, default=1.0
        Nonnegative weight.
    l1_ratio : float, default=0.5
        Mix between l1 (``1``) and squared l2 (``0``), in ``[0, 1]``.

    Notes
    -----
    With ``a = lam * l1_ratio`` and ``b = lam * (1 - l1_ratio)`` the conjugate
    is ``sum_i max(|u_i| - a, 0)^2 / (2 b)``, which is finite everywhere when
    ``b > 0`` (then :meth:`dual_scaling` is 1); when ``b == 0`` it reduces to
    the l1 case.
    """

    is_separable = True

    def __init__(self, lam=1.0, l1_ratio=0.5):
        self.lam = check_weight(lam)
        self.l1_ratio = check_scalar(l1_ratio, "l1_ratio", lower=0.0, upper=1.0)

    @property
    def _a(self):
        return self.lam * self.l1_ratio

    @property
    def _b(self):
        return self.lam * (1.0 - self.l1_ratio)

    @array_argument
    def __call__(self, x):
        xp = get_namespace(x)
        mag = xp.abs(x)
        return self._a * float(xp.sum(mag)) + 0.5 * self._b * float(xp.sum(mag * mag))

    @array_prox
    def prox(self, v, step=1.0):
        step = check_step(step)
        xp = get_namespace(v)
        return magnitude_shrink(xp, v, step * self._a) / (1.0 + step * self._b)

    def conjugate(self, u):
        xp = get_namespace(u)
        if self._b > 0:
            excess = xp.clip(xp.abs(_as_float(xp, u)) - self._a, 0.0, None)
            return float(xp.sum(excess * excess)) / (2.0 * self._b)
        return 0.0 if _max_abs(xp, u) <= self._a * (1 + _dual_rtol(xp, u)) else float("inf")

    def dual_scaling(self, u):
        if self._b > 0:
            return 1.0
        norm = _max_abs(get_namespace(u), u)
        return 1.0 if norm <= self._a else self._a / norm
