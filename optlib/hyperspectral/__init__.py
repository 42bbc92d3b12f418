"""Hyperspectral unmixing.

Layout: cubes are ``(rows, cols, bands)`` or ``(pixels, bands)``, endmembers
the rows of ``(p, bands)`` arrays, abundances carry the endmember axis last
(``Y = A @ E`` per pixel). Scenes and noise models are in
:mod:`optlib.datasets` (:func:`~optlib.datasets.make_hyperspectral_scene`),
quality measures in :mod:`optlib.metrics` (:func:`~optlib.metrics.sad`,
:func:`~optlib.metrics.abundance_rmse`, :func:`~optlib.metrics.sre`).

- Per-pixel solvers with known endmembers: :func:`unmix`, :func:`fcls`,
  :func:`nnls`, :func:`ucls` (numba active set, batched array-API path, Dask).
- Endmember extraction and subspace estimation: :func:`vca`, :func:`nfindr`,
  :func:`atgp`, :func:`extract_endmembers`, :func:`hysime`,
  :func:`estimate_noise`.
- Sparse unmixing on a library: :func:`sunsal` (ADMM); blind unmixing:
  :func:`rrlbs` (l2,1 loss, guided lp sparsity), :func:`l_half_nmf`.
- Estimators: :class:`SpectralUnmixing`, :class:`EndmemberExtractor`.
- Denoising (the HyDe family): :func:`denoise_hyres`, :func:`denoise_fasthyde`,
  :func:`denoise_hyminor`, :func:`denoise_l1hymixde`, :func:`denoise_otvca`,
  :class:`HyperspectralDenoiser` (tiled Dask processing), per-band noise levels
  :func:`estimate_noise_std`.
"""

from ._denoise_common import estimate_noise_std
from ._denoise_estimator import HyperspectralDenoiser
from ._denoise_fasthyde import denoise_fasthyde
from ._denoise_hyres import denoise_hyres
from ._denoise_mixed import denoise_hyminor, denoise_l1hymixde
from ._denoise_otvca import denoise_otvca
from ._estimators import EndmemberExtractor, SpectralUnmixing
from ._extraction import EXTRACTORS, atgp, estimate_noise, extract_endmembers, hysime, nfindr, vca
from ._nmf import l_half_nmf
from ._rrlbs import rrlbs
from ._sunsal import sunsal
from ._unmixing import METHODS, fcls, nnls, ucls, unmix

__all__ = [
    "EndmemberExtractor",
    "SpectralUnmixing",
    "EXTRACTORS",
    "atgp",
    "estimate_noise",
    "extract_endmembers",
    "hysime",
    "nfindr",
    "vca",
    "METHODS",
    "fcls",
    "nnls",
    "ucls",
    "unmix",
    "sunsal",
    "rrlbs",
    "l_half_nmf",
    "HyperspectralDenoiser",
    "denoise_fasthyde",
    "denoise_hyres",
    "denoise_hyminor",
    "denoise_l1hymixde",
    "denoise_otvca",
    "estimate_noise_std",
]
