"""Penalties on the modulus of (complex) unknowns: ``z -> g(|z|)``."""

from .._backend import get_namespace
from ._base import Function
from ._utils import array_argument, array_prox, check_step

__all__ = ["Magnitude"]


class Magnitude(Function):
    """``g(|z|)``: a penalty ``g`` applied to the entrywise modulus of ``z``.

    Regularisation on the magnitude of complex unknowns (Oral, Oktem, IEEE TCI
    2024): the phase is kept, only the modulus is regularised::

        prox_{t g(|.|)}(z) = prox_{t g}(|z|) * exp(i angle(z)).

    Why: for any ``x``, ``|x_i - z_i| >= ||x_i| - |z_i||`` with equality iff
    ``x_i`` has the phase of ``z_i``, so the problem reduces to minimising
    ``g(rho) + ||rho - |z|||^2 / (2 t)`` over moduli ``rho >= 0``. The identity
    therefore holds whenever ``prox_{t g}`` maps nonnegative inputs to
    nonnegative outputs: every even penalty (l1, l0, l1/2, lp, CEL0, MCP,
    SCAD, ...), and e.g. TV or nonnegativity on the magnitude image. The
    wrapper clamps ``prox_{t g}(|z|)`` at 0, a no-op in those cases (and the
    exact constrained minimiser for separable convex ``g``; for a learned
    denoiser it is the clamp advised by Oral and Oktem). ``g`` need not be
    separable.

    The phase ``exp(i angle(z))`` is computed as ``z / |z|``; where ``z = 0``
    every phase is optimal and phase 1 is used (so a nonzero
    ``prox_{t g}(0)`` comes out real positive). For real ``z`` the phase is
    ``sign(z)`` (``+1`` at 0): ``prox_{t g}(|z|) * sign(z)``.

    Values keep the input's namespace; complex64 input gives complex64,
    complex128 gives complex128, real input keeps its real dtype.

    Parameters
    ----------
    g : Function
        Penalty acting on real, nonnegative arrays (the moduli).
    """

    is_smooth = False

    def __init__(self, g):
        if not isinstance(g, Function) and not callable(getattr(g, "prox", None)):
            raise TypeError(f"g must be a Function with a prox method, got {type(g).__name__}.")
        self.g = g

    @property
    def is_convex(self):
        return self.g.is_convex

    @property
    def is_separable(self):
        return self.g.is_separable

    @array_argument
    def __call__(self, z):
        xp = get_namespace(z)
        return self.g(xp.abs(z))

    @array_prox
    def prox(self, z, step=1.0):
        step = check_step(step)
        xp = get_namespace(z)
        mag = xp.abs(z)
        rho = xp.clip(self.g.prox(mag, step), 0.0, None)
        positive = mag > 0
        if xp.isdtype(z.dtype, "complex floating"):
            # Rescale subnormal moduli to normal range first: dividing by them overflows.
            boost = 2.0**60 if mag.dtype == xp.float32 else 2.0**100
            factor = xp.where(mag < xp.finfo(mag.dtype).smallest_normal, boost * xp.ones_like(mag), xp.ones_like(mag))
            safe = xp.where(positive, mag * factor, xp.ones_like(mag))
            phase = xp.where(positive, (z * xp.astype(factor, z.dtype)) / xp.astype(safe, z.dtype), xp.ones_like(z))
            return xp.astype(rho, z.dtype) * phase
        phase = xp.where(z < 0, -xp.ones_like(z), xp.ones_like(z))
        return xp.astype(rho, z.dtype) * phase
