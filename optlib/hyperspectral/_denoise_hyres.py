"""HyRes: hyperspectral restoration by a low-rank wavelet model with SURE-chosen rank and thresholds.

Rasti, Ulfarsson and Ghamisi, "Automatic hyperspectral image restoration using
sparse and low-rank modeling", IEEE GRSL 14(12), 2017. The whitened cube is
modelled as ``Y = D2 X V^T + N``: ``V`` the first ``r`` principal directions
(spectral), ``D2`` an orthogonal 2-D wavelet synthesis (spatial), ``X`` sparse
wavelet coefficients. Each principal-component image is denoised by soft
thresholding of its wavelet coefficients, and both the threshold of every
component and the rank ``r`` minimise Stein's unbiased risk estimate.
"""

import numbers

from .._validation import check_scalar
from ._denoise_common import check_cube, noise_and_whitened_gram
from ._denoise_shrinkage import (
    SubspaceShrinkage,
    component_images,
    subbands,
    sure_soft_threshold,
)
from ._dwt import dwt_max_level, wavedec2

__all__ = ["denoise_hyres", "fit_hyres"]

_BATCH = 8  # principal components transformed per batch


def _check_wavelet(wavelet):
    import pywt

    if wavelet not in pywt.wavelist(kind="discrete") or not pywt.Wavelet(wavelet).orthogonal:
        raise ValueError(f"wavelet must be an orthogonal PyWavelets wavelet such as 'db5', got {wavelet!r}.")
    return wavelet


def fit_hyres(cube, *, sigma=None, wavelet="db5", level=5, max_rank=None, patience=3, shifts=1):
    """Fit HyRes to ``cube``: a :class:`SubspaceShrinkage` and a dict with ``rank``, ``sigma``, ``sure``.

    See :func:`denoise_hyres` for the method and the parameters.
    """
    cube, xp = check_cube(cube)
    rows, cols, L = cube.shape
    _check_wavelet(wavelet)
    level = check_scalar(level, "level", kind=numbers.Integral, lower=1)
    max_rank = L if max_rank is None else check_scalar(max_rank, "max_rank", kind=numbers.Integral, lower=1)
    max_rank = min(max_rank, L)
    patience = check_scalar(patience, "patience", kind=numbers.Integral, lower=1)
    shifts = check_scalar(shifts, "shifts", kind=numbers.Integral, lower=1)

    s, R_w = noise_and_whitened_gram(xp, cube, sigma)
    _, V = xp.linalg.eigh(R_w)
    V = xp.flip(V, axis=1)  # principal directions of the whitened cube, largest first
    W = V / s[:, None]  # whitening then projection: pc = Y diag(1/s) V
    level = dwt_max_level((rows, cols), wavelet, level)

    thresholds, gains, quiet = [], [], 0
    for start in range(0, max_rank, _BATCH):
        stop = min(start + _BATCH, max_rank)
        coeffs = wavedec2(xp, component_images(xp, cube, W[:, start:stop], level), wavelet, level)
        flat = xp.concat([xp.reshape(c, (-1, stop - start)) for c in subbands(coeffs)], axis=0)
        t, gain = sure_soft_threshold(xp, flat)
        thresholds.append(t)
        gains.append(gain)
        noise_level = -((2.0 * flat.shape[0]) ** 0.5)
        for g in [float(v) for v in gain]:  # one host transfer per batch
            quiet = quiet + 1 if g > noise_level else 0
        if quiet >= patience:
            break
    sure = xp.cumulative_sum(xp.concat(gains))
    rank = int(xp.argmin(sure)) + 1 if float(xp.min(sure)) < 0 else 1
    T = xp.concat(thresholds)[:rank]
    T = xp.broadcast_to(xp.reshape(T, (1, rank)), (1 + 3 * level, rank))  # one threshold for all subbands
    model = SubspaceShrinkage(W[:, :rank], (V[:, :rank] * s[:, None]).T, T, wavelet, level, shifts=shifts)
    return model, {"rank": rank, "sigma": s, "thresholds": T[0, :], "sure": sure}


def denoise_hyres(cube, *, sigma=None, wavelet="db5", level=5, max_rank=None, patience=3, shifts=1,
                  return_info=False):
    """Denoise a hyperspectral cube with HyRes (low-rank wavelet model, SURE-chosen rank and thresholds).

    Steps: per-band noise levels ``sigma_b`` (estimated by regression on the
    other bands when not given) whiten the cube; its principal components
    ``Y_w V`` (eigenvectors of the whitened Gram matrix, largest first) are
    transformed by an orthogonal periodized 2-D DWT (``level`` levels,
    spatial sizes mirror-padded to multiples of ``2**level``); the wavelet
    coefficients of component ``i`` are soft-thresholded at the SURE-optimal
    threshold (unit noise after whitening), and the rank ``r`` minimises the
    total SURE, in which an excluded component costs its estimated signal
    energy. Components are processed in batches and the search stops once
    ``patience`` successive components bring no SURE gain above the noise
    (a gain under ``sqrt(2 n)``, the standard deviation of SURE for a pure
    noise component of ``n`` coefficients). The estimate is
    ``sum_i IDWT(soft(DWT(pc_i))) v_i^T diag(sigma)``.

    Parameters
    ----------
    cube : array of shape (rows, cols, bands)
        Noisy cube, any array-API library (NumPy through PyWavelets; others
        through optlib's separable DWT, on the cube's device). Not modified.
    sigma : float or array of shape (bands,), optional
        Noise standard deviation (one for all bands or one per band);
        estimated per band when omitted.
    wavelet : str, default="db5"
        Orthogonal wavelet (Daubechies ``dbN`` in the paper).
    level : int, default=5
        Decomposition levels (lowered for small images).
    max_rank : int, optional
        Largest rank tried (default: all bands).
    patience : int, default=3
        Components without significant SURE gain before the rank search stops.
    shifts : int, default=1
        Cycle spinning as in :func:`denoise_fasthyde` (1: the paper's
        method, one transform; rank and thresholds are fitted unshifted).
    return_info : bool, default=False
        Also return a dict with ``rank``, ``sigma`` (per band),
        ``thresholds`` (per kept component) and ``sure`` (total SURE per
        tried rank, relative to the zero estimate).

    Returns
    -------
    denoised : array of shape (rows, cols, bands)
        In the cube's namespace, device and floating dtype.
    info : dict
        Only with ``return_info=True``.
    """
    model, info = fit_hyres(cube, sigma=sigma, wavelet=wavelet, level=level, max_rank=max_rank, patience=patience,
                            shifts=shifts)
    out = model.apply(cube)
    return (out, info) if return_info else out
