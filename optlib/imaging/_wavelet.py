"""Wavelet-shrinkage denoiser (PyWavelets, host only)."""

import math
import numbers
import warnings

import numpy as np

from .._validation import check_option, check_scalar
from ._base import check_host, check_image, check_sigma

__all__ = ["WaveletDenoiser"]


class WaveletDenoiser:
    """Soft or hard thresholding of the detail coefficients of a wavelet transform, 2-D and 3-D.

    ``D(x, sigma)`` transforms ``x`` with ``pywt.wavedecn`` (``level``
    levels), shrinks every detail subband with the threshold
    ``scale * t(sigma)`` of the chosen rule, keeps the approximation
    coefficients, and inverts the transform:

    * ``"bayes"`` (BayesShrink, Chang, Yu and Vetterli, IEEE TIP 2000): per
      subband ``t = sigma**2 / sigma_x`` with
      ``sigma_x**2 = max(mean(d**2) - sigma**2, 0)`` the signal variance
      estimated from the subband ``d``; a subband with ``sigma_x = 0`` is
      set to zero.
    * ``"universal"`` (VisuShrink, Donoho and Johnstone 1994):
      ``t = sigma * sqrt(2 log x.size)`` for every subband.
    * ``"prox"``: ``t = sigma**2``. With an orthogonal wavelet and soft
      shrinkage, ``D(., sigma)`` is then the prox of
      ``scale * ||W_detail x||_1`` with step ``sigma**2``, so PnP-ADMM
      (``sigma = sqrt(lam / rho)``) is ADMM on
      ``0.5 ||A x - y||^2 + lam * scale * ||W_detail x||_1``.

    ``sigma`` is always given by the caller (no internal noise estimate:
    blind estimates make PnP unstable).

    Parameters
    ----------
    wavelet : str, default="db4"
        Any discrete wavelet name of PyWavelets.
    level : int, optional
        Decomposition levels; default ``max(L - 3, 1)`` with ``L`` the
        largest level PyWavelets allows for the shape (as scikit-image).
        An image too small for one full level (``L = 0``: fewer samples
        than about twice the filter length) still gets one level, whose
        coefficients all feel the boundary extension; PyWavelets' warning
        about that is silenced for the default level only.
    shrink : {"soft", "hard"}, default="soft"
        Thresholding function.
    threshold : {"bayes", "universal", "prox"}, default="bayes"
        Threshold rule, see above.
    scale : float, default=1.0
        Multiplier of the rule's threshold.
    extension : str, default="symmetric"
        Signal extension mode of PyWavelets at the borders (``"periodization"``
        makes an orthogonal wavelet transform exactly orthogonal).

    Notes
    -----
    Runs on the host with NumPy arrays only (PyWavelets has no GPU path);
    other arrays raise ``TypeError`` rather than being copied silently.
    """

    def __init__(self, wavelet="db4", *, level=None, shrink="soft", threshold="bayes", scale=1.0, extension="symmetric"):
        import pywt

        if wavelet not in pywt.wavelist(kind="discrete"):
            raise ValueError(f"wavelet must be a discrete PyWavelets wavelet name, got {wavelet!r}.")
        self.wavelet = wavelet
        self.level = None if level is None else check_scalar(level, "level", kind=numbers.Integral, lower=1)
        self.shrink = check_option(shrink, "shrink", ("soft", "hard"))
        self.threshold = check_option(threshold, "threshold", ("bayes", "universal", "prox"))
        self.scale = check_scalar(scale, "scale", lower=0.0)
        self.extension = check_option(extension, "extension", tuple(pywt.Modes.modes))

    def __repr__(self):
        return (
            f"WaveletDenoiser(wavelet={self.wavelet!r}, level={self.level!r}, shrink={self.shrink!r}, "
            f"threshold={self.threshold!r}, scale={self.scale!r}, extension={self.extension!r})"
        )

    def _thresh(self, d, sigma, n):
        if self.threshold == "universal":
            return self.scale * sigma * math.sqrt(2.0 * math.log(n))
        if self.threshold == "prox":
            return self.scale * sigma**2
        signal_var = float(np.mean(d * d)) - sigma**2
        if signal_var <= 0.0:
            return math.inf
        return self.scale * sigma**2 / math.sqrt(signal_var)

    def __call__(self, x, sigma):
        """Denoise ``x`` (real NumPy array, 2-D or 3-D, not modified) at noise level ``sigma`` >= 0."""
        import pywt

        x, xp = check_image(x, "WaveletDenoiser")
        check_host(xp, "WaveletDenoiser", "PyWavelets")
        sigma = check_sigma(sigma)
        if sigma == 0.0 or self.scale == 0.0:
            return np.array(x, copy=True)
        level = self.level
        with warnings.catch_warnings():
            if level is None:
                max_level = pywt.dwtn_max_level(x.shape, self.wavelet)
                level = max(max_level - 3, 1)
                if max_level == 0:  # the documented one-level default on a tiny image
                    warnings.filterwarnings("ignore", message="Level value of 1 is too high", category=UserWarning)
            coeffs = pywt.wavedecn(x, self.wavelet, mode=self.extension, level=level)
        for detail in coeffs[1:]:
            for key, d in detail.items():
                t = self._thresh(d, sigma, x.size)
                detail[key] = np.zeros_like(d) if t == math.inf else pywt.threshold(d, t, mode=self.shrink)
        out = pywt.waverecn(coeffs, self.wavelet, mode=self.extension)
        out = out[tuple(slice(0, n) for n in x.shape)]
        return np.ascontiguousarray(out, dtype=x.dtype)
