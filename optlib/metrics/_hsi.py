"""Band-averaged image quality of hyperspectral cubes: MPSNR and MSSIM.

Each band is compared as a 2-D image with :func:`~optlib.metrics.psnr` or
:func:`~optlib.metrics.ssim`, with the band's own dynamic range
(``max - min`` of the reference band) unless ``data_range`` is given, and
the scores are averaged over the bands (the HyDe / denoising literature's
convention). Any array-API library; one scalar comes to the host per band.
"""

from ._image import _check_pair, psnr, ssim

__all__ = ["band_psnr", "mpsnr", "mssim"]


def _check_cubes(x, ref):
    x, ref, xp = _check_pair(x, ref)
    if x.ndim != 3:
        raise ValueError(f"x and ref must be 3-D cubes (rows, cols, bands), got shape {tuple(x.shape)}.")
    return x, ref, xp


def band_psnr(x, ref, data_range=None):
    """PSNR of every band of cube ``x`` (rows, cols, bands) against ``ref``, as a list of floats in dB."""
    x, ref, _ = _check_cubes(x, ref)
    return [psnr(x[:, :, b], ref[:, :, b], data_range=data_range) for b in range(x.shape[2])]


def mpsnr(x, ref, data_range=None):
    """Mean over the bands of the PSNR (dB) of cube ``x`` against ``ref``; see :func:`band_psnr`."""
    scores = band_psnr(x, ref, data_range)
    return sum(scores) / len(scores)


def mssim(x, ref, data_range=None, **ssim_options):
    """Mean over the bands of the 2-D SSIM of cube ``x`` against ``ref`` (options passed to :func:`ssim`)."""
    x, ref, _ = _check_cubes(x, ref)
    scores = [ssim(x[:, :, b], ref[:, :, b], data_range=data_range, **ssim_options) for b in range(x.shape[2])]
    return sum(scores) / len(scores)
