"""Small shared helpers for prox implementations."""

from .._validation import check_scalar

__all__ = ["check_step", "check_weight", "magnitude_shrink"]


def check_step(step):
    """Validate a prox step: a positive finite real number."""
    return check_scalar(step, "step", lower=0.0, lower_inclusive=False)


def check_weight(value, name="lam"):
    """Validate a penalty weight: a nonnegative finite real number."""
    return check_scalar(value, name, lower=0.0)


def magnitude_shrink(xp, v, threshold):
    """Soft thresholding ``v * max(1 - threshold / |v|, 0)``; works for real and complex ``v``.

    For real ``v`` this is ``sign(v) * max(|v| - threshold, 0)``; for complex
    ``v`` it shrinks the modulus and keeps the phase.
    """
    if xp.isdtype(v.dtype, "complex floating"):
        mag = xp.abs(v)
        safe = xp.where(mag > 0, mag, xp.ones_like(mag))
        scale = xp.clip(1.0 - threshold / safe, 0.0, None)
        scale = xp.astype(scale, v.dtype)
        return v * scale
    return xp.sign(v) * xp.clip(xp.abs(v) - threshold, 0.0, None)
