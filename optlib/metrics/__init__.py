"""Quality measures shared across families.

Graph structure recovery (``optlib.dag``): :func:`count_accuracy` and the
single measures :func:`shd`, :func:`tpr`, :func:`fdr`, :func:`fpr`,
:func:`nnz`, with the NOTEARS / DAGMA conventions (a reversed edge counts
once in the structural Hamming distance).

Images and volumes: :func:`psnr`, :func:`ssim` (Gaussian window, 2-D and
3-D, as scikit-image), and for complex volumes :func:`psnr_magnitude` on
:func:`normalized_magnitude` (near-field MIMO imaging).

Spectra (``optlib.hyperspectral``, HySUPP conventions): :func:`spectral_angle`,
:func:`sam`, :func:`sad` with Hungarian matching (:func:`match_endmembers`),
:func:`abundance_rmse`, :func:`sre`.

Hyperspectral cubes, averaged over the bands: :func:`mpsnr`, :func:`mssim`,
:func:`band_psnr`.
"""

from ._graph import count_accuracy, fdr, fpr, nnz, shd, tpr
from ._hsi import band_psnr, mpsnr, mssim
from ._image import normalized_magnitude, psnr, psnr_magnitude, ssim
from ._spectral import abundance_rmse, match_endmembers, sad, sam, spectral_angle, sre

__all__ = [
    "count_accuracy",
    "fdr",
    "fpr",
    "nnz",
    "shd",
    "tpr",
    "normalized_magnitude",
    "psnr",
    "psnr_magnitude",
    "ssim",
    "abundance_rmse",
    "match_endmembers",
    "sad",
    "sam",
    "spectral_angle",
    "sre",
    "band_psnr",
    "mpsnr",
    "mssim",
]
