"""Small shared helpers for prox implementations."""

from .._validation import check_scalar

__all__ = ["check_step", "check_weight", "magnitude_shrink", "shrink_by_norm"]


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
