"""Adapters of third-party denoisers to the ``denoiser(x, sigma)`` protocol (host only)."""

import numbers

import numpy as np

from .._validation import check_option, check_scalar
from ._base import check_host, check_image, check_sigma

__all__ = ["BM3DDenoiser", "SkimageNLM", "SkimageTV"]


class SkimageTV:
    """``skimage.restoration.denoise_tv_chambolle`` with weight ``scale * sigma**2``.

    The same model and weight convention as :class:`TVDenoiser` (see
    there), solved by scikit-image (relative energy change ``eps``); kept
    as a reference and benchmark anchor. NumPy arrays only.

    Parameters
    ----------
    scale : float, default=1.0
        TV weight ``scale * sigma**2``.
    eps : float, default=2e-4
        scikit-image's stopping tolerance.
    max_num_iter : int, default=200
        scikit-image's iteration cap.
    """

    def __init__(self, scale=1.0, *, eps=2e-4, max_num_iter=200):
        self.scale = check_scalar(scale, "scale", lower=0.0)
        self.eps = check_scalar(eps, "eps", lower=0.0, lower_inclusive=False)
        self.max_num_iter = check_scalar(max_num_iter, "max_num_iter", kind=numbers.Integral, lower=1)

    def __repr__(self):
        return f"SkimageTV(scale={self.scale!r}, eps={self.eps!r}, max_num_iter={self.max_num_iter!r})"

    def __call__(self, x, sigma):
        """Denoise ``x`` (real NumPy array, 2-D or 3-D, not modified) at noise level ``sigma`` >= 0."""
        from skimage.restoration import denoise_tv_chambolle

        x, xp = check_image(x, "SkimageTV")
        check_host(xp, "SkimageTV", "scikit-image")
        weight = self.scale * check_sigma(sigma) ** 2
        if weight == 0.0:
            return np.array(x, copy=True)
        out = denoise_tv_chambolle(x, weight=weight, eps=self.eps, max_num_iter=self.max_num_iter)
        return np.asarray(out, dtype=x.dtype)


class SkimageNLM:
    """``skimage.restoration.denoise_nl_means`` with the noise level passed explicitly.

    Calls ``denoise_nl_means(x, h=h * sigma, sigma=sigma, ...)``: patch
    distances are corrected for the noise variance ``2 sigma**2``, and the
    filtering strength is ``h`` times the noise level. 2-D or 3-D NumPy
    arrays.

    Parameters
    ----------
    h : float, default=0.8
        Filtering strength relative to ``sigma`` (scikit-image suggests
        about 0.8 with ``fast_mode`` and the ``sigma`` correction).
    patch_size : int, default=5
        Side of the compared patches.
    patch_distance : int, default=6
        Search radius.
    fast_mode : bool, default=True
        scikit-image's fast (uniform patch weights) variant.
    """

    def __init__(self, h=0.8, *, patch_size=5, patch_distance=6, fast_mode=True):
        self.h = check_scalar(h, "h", lower=0.0, lower_inclusive=False)
        self.patch_size = check_scalar(patch_size, "patch_size", kind=numbers.Integral, lower=1)
        self.patch_distance = check_scalar(patch_distance, "patch_distance", kind=numbers.Integral, lower=1)
        if not isinstance(fast_mode, bool):
            raise TypeError(f"fast_mode must be a bool, got {fast_mode!r}.")
        self.fast_mode = fast_mode

    def __repr__(self):
        return (
            f"SkimageNLM(h={self.h!r}, patch_size={self.patch_size!r}, "
            f"patch_distance={self.patch_distance!r}, fast_mode={self.fast_mode!r})"
        )

    def __call__(self, x, sigma):
        """Denoise ``x`` (real NumPy array, 2-D or 3-D, not modified) at noise level ``sigma`` >= 0."""
        from skimage.restoration import denoise_nl_means

        x, xp = check_image(x, "SkimageNLM")
        check_host(xp, "SkimageNLM", "scikit-image")
        sigma = check_sigma(sigma)
        if sigma == 0.0:
            return np.array(x, copy=True)
        out = denoise_nl_means(
            x,
            h=self.h * sigma,
            sigma=sigma,
            patch_size=self.patch_size,
            patch_distance=self.patch_distance,
            fast_mode=self.fast_mode,
        )
        # scikit-image drops axes of length 1 (a 1 x n image comes back 1-D): restore x's shape
        return np.asarray(out, dtype=x.dtype).reshape(x.shape)


class BM3DDenoiser:
    """BM3D (Dabov et al. 2007; Makinen et al. 2020) through the optional ``bm3d`` package.

    ``bm3d`` is not a dependency of optlib (its licence allows
    non-commercial use only): install it yourself with ``pip install bm3d``.
    2-D NumPy images; slow (about 15 s for 512 x 512 on one core).

    Parameters
    ----------
    stage : {"all", "hard"}, default="all"
        Both stages (hard thresholding then Wiener filtering) or the first only.
    """

    def __init__(self, stage="all"):
        self.stage = check_option(stage, "stage", ("all", "hard"))
        try:
            import bm3d  # noqa: F401
        except ImportError:
            raise ImportError(
                "BM3DDenoiser needs the optional 'bm3d' package (non-commercial licence), which "
                "optlib does not install: pip install bm3d"
            ) from None

    def __repr__(self):
        return f"BM3DDenoiser(stage={self.stage!r})"

    def __call__(self, x, sigma):
        """Denoise ``x`` (real 2-D NumPy array, not modified) at noise level ``sigma`` >= 0."""
        import bm3d

        x, xp = check_image(x, "BM3DDenoiser", ndims=(2,))
        check_host(xp, "BM3DDenoiser", "bm3d")
        sigma = check_sigma(sigma)
        if sigma == 0.0:
            return np.array(x, copy=True)
        stage = bm3d.BM3DStages.ALL_STAGES if self.stage == "all" else bm3d.BM3DStages.HARD_THRESHOLDING
        return np.asarray(bm3d.bm3d(x, sigma_psd=sigma, stage_arg=stage), dtype=x.dtype)
