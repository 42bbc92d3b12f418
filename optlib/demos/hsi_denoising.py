"""Hyperspectral denoising demo row: HyRes against per-band wavelet denoising (scikit-image)."""

from . import DemoRow, require, timed

FAMILY = "hyperspectral"


def hyres_demo():
    """HyRes on a 64 x 64 x 100 scene at 20 dB against scikit-image's per-band BayesShrink; MPSNR."""
    denoise_wavelet = require("skimage.restoration", "scikit-image").denoise_wavelet
    import numpy as np

    from ..datasets import make_hyperspectral_scene
    from ..hyperspectral import denoise_hyres
    from ..metrics import mpsnr

    s = make_hyperspectral_scene(64, 64, 4, n_bands=100, abundances="grf", snr=20, random_state=0)
    out, seconds = timed(denoise_hyres, s.Y)

    def per_band(Y):
        return np.stack([denoise_wavelet(Y[:, :, b], wavelet="db5", method="BayesShrink", mode="soft",
                                         rescale_sigma=True) for b in range(Y.shape[2])], axis=2)

    ref, ref_seconds = timed(per_band, s.Y)
    noisy, ours, theirs = mpsnr(s.Y, s.clean), mpsnr(out, s.clean), mpsnr(ref, s.clean)
    return DemoRow(family=FAMILY, problem="denoising, 64 x 64 x 100 simulated cube, 20 dB",
                   solver="denoise_hyres (whitened PCA + SURE wavelet shrinkage)", seconds=seconds,
                   reference="skimage denoise_wavelet per band (BayesShrink, db5)", reference_seconds=ref_seconds,
                   accuracy=f"MPSNR {ours:.1f} dB (per band {theirs:.1f}, noisy {noisy:.1f})",
                   ok=ours >= theirs + 3.0)  # measured 37.7 vs 24.4 dB, 0.6 s vs 0.7 s


DEMOS = [hyres_demo]
