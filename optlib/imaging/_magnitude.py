"""Denoising the magnitude of complex images, keeping the phase."""

from ..functions import Magnitude
from ._base import check_sigma

__all__ = ["MagnitudeDenoiser"]


class _AtSigma:
    """``denoiser(., sigma)`` seen as a prox, for :class:`optlib.functions.Magnitude`."""

    def __init__(self, denoiser, sigma):
        self.denoiser = denoiser
        self.sigma = sigma

    def prox(self, v, step=1.0):
        return self.denoiser(v, self.sigma)


class MagnitudeDenoiser:
    """Apply a real denoiser to ``|z|`` and keep the phase of ``z``.

    ``D(z, sigma) = max(denoiser(|z|, sigma), 0) * exp(i angle(z))``
    (phase 1 where ``z = 0``; ``sign(z)`` for real ``z``). When
    ``denoiser(., sigma)`` is the prox of a penalty ``g`` that maps
    nonnegative images to nonnegative images (TV, l1, wavelet shrinkage of a
    nonnegative image up to the clamp...), this is exactly the prox of
    ``g(|z|)`` (Oral and Oktem, IEEE TCI 2024); for other denoisers the clamp
    at 0 is their advice. Shares :class:`optlib.functions.Magnitude`'s
    implementation. Complex64 gives complex64, complex128 gives complex128.

    Parameters
    ----------
    denoiser : callable
        ``denoiser(x, sigma)`` acting on real nonnegative arrays, e.g.
        :class:`TVDenoiser` (for near-field MIMO volumes, 3-D TV on the
        magnitude).
    """

    def __init__(self, denoiser):
        if not callable(denoiser):
            raise TypeError(f"denoiser must be a callable denoiser(x, sigma), got {type(denoiser).__name__}.")
        self.denoiser = denoiser

    def __repr__(self):
        return f"MagnitudeDenoiser({self.denoiser!r})"

    def __call__(self, z, sigma):
        """Denoise the magnitude of ``z`` (any namespace, not modified) at noise level ``sigma`` >= 0."""
        return Magnitude(_AtSigma(self.denoiser, check_sigma(sigma))).prox(z)
