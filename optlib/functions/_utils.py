"""Small shared helpers for prox implementations, and the input/output convention."""

import functools

import numpy as np
from array_api_compat import is_array_api_obj

from .._backend import get_namespace
from .._validation import check_array, check_scalar

__all__ = [
    "as_float_array",
    "array_argument",
    "array_prox",
    "check_step",
    "check_weight",
    "magnitude_shrink",
    "shrink_by_norm",
]


def as_float_array(x, name):
    """Namespace and floating array for a value or prox argument ``x``: ``(xp, array)``.

    Arrays keep their namespace, device and floating dtype (real or complex);
    integer and boolean arrays become float64 on their device. Python scalars
    and sequences become NumPy arrays (0-d for a scalar). Anything else
    raises ``TypeError`` naming ``name``. Non-finite entries are allowed.
    """
    if is_array_api_obj(x) and not isinstance(x, np.generic):  # fast path: already a floating array
        xp = get_namespace(x)
        if xp.isdtype(x.dtype, ("real floating", "complex floating")):
            return xp, x
    arr = check_array(x, name, allow_complex=True, finite=False, min_size=0)
    return get_namespace(arr), arr


def array_argument(method):
    """Decorate ``method(self, x)`` (a value) to take its argument through :func:`as_float_array`."""

    @functools.wraps(method)
    def wrapper(self, x):
        return method(self, as_float_array(x, "x")[1])

    return wrapper


def array_prox(prox):
    """Decorate ``prox(self, v, step)`` with the catalogue's input/output convention.

    ``v`` goes through :func:`as_float_array`, and the result is always an
    array of ``v``'s namespace: a 0-d input gives a 0-d array (NumPy
    operations on 0-d arrays return NumPy scalars, which are converted back).
    """

    @functools.wraps(prox)
    def wrapper(self, v, step=1.0):
        xp, v = as_float_array(v, "v")
        out = prox(self, v, step)
        return xp.asarray(out) if out.ndim == 0 else out

    return wrapper


def check_step(step):
    """Validate a prox step: a positive finite real number."""
    return check_scalar(step, "step", lower=0.0, lower_inclusive=False)


def check_weight(value, name="lam"):
    """Validate a penalty weight: a nonnegative finite real number."""
    return check_scalar(value, name, lower=0.0)


def shrink_by_norm(xp, v, norm, threshold):
    """``v * max(1 - threshold / norm, 0)`` with ``norm`` broadcastable to ``v``.

    Divides only where ``norm > threshold``, so tiny (subnormal) norms cannot overflow.
    """
    keep = norm > threshold
    safe = xp.where(keep, norm, xp.ones_like(norm))
    scale = xp.where(keep, 1.0 - threshold / safe, xp.zeros_like(norm))
    if scale.dtype != v.dtype:
        scale = xp.astype(scale, v.dtype)
    return v * scale


def magnitude_shrink(xp, v, threshold):
    """Soft thresholding ``v * max(1 - threshold / |v|, 0)``; works for real and complex ``v``.

    For real ``v`` this is ``sign(v) * max(|v| - threshold, 0)``; for complex
    ``v`` it shrinks the modulus and keeps the phase.
    """
    if xp.isdtype(v.dtype, "complex floating"):
        return shrink_by_norm(xp, v, xp.abs(v), threshold)
    return xp.sign(v) * xp.clip(xp.abs(v) - threshold, 0.0, None)
