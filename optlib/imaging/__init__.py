"""Image and volume denoisers for plug-and-play methods.

Every denoiser is a callable ``denoiser(x, sigma)``: ``x`` a real image (2-D)
or volume (3-D), ``sigma`` the noise standard deviation given explicitly
(``pnp_admm`` passes ``sigma = sqrt(lam / rho)``). Any callable with that
signature plugs into the PnP solvers of :mod:`optlib.optimize`.

==========================  ===============================================  ================
denoiser                    method                                           arrays
==========================  ===============================================  ================
:class:`TVDenoiser`         isotropic TV prox, Chambolle (numba / array API)  any namespace
:func:`tv_denoise`          the same with an explicit weight                 any namespace
:class:`WaveletDenoiser`    soft/hard wavelet shrinkage (PyWavelets)         NumPy
:class:`SkimageTV`          scikit-image's ``denoise_tv_chambolle``          NumPy
:class:`SkimageNLM`         scikit-image's ``denoise_nl_means``              NumPy
:class:`BM3DDenoiser`       optional ``bm3d`` package                        NumPy, 2-D
:class:`MagnitudeDenoiser`  any of these on ``|z|``, phase kept (complex)    as the inner one
==========================  ===============================================  ================

Real-only denoisers refuse complex input with a ``TypeError`` pointing to
:class:`MagnitudeDenoiser`; a negative ``sigma`` raises ``ValueError``.
Inputs are never modified; the output has the input's dtype.
"""

from ._adapters import BM3DDenoiser, SkimageNLM, SkimageTV
from ._magnitude import MagnitudeDenoiser
from ._mimo import back_projection, kirchhoff_migration
from ._tv import TVDenoiser, tv_denoise
from ._wavelet import WaveletDenoiser

__all__ = [
    "BM3DDenoiser",
    "MagnitudeDenoiser",
    "SkimageNLM",
    "SkimageTV",
    "TVDenoiser",
    "WaveletDenoiser",
    "back_projection",
    "kirchhoff_migration",
    "tv_denoise",
]
