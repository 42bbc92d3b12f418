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

from .._backend import device
from .._validation import check_scalar
from ._denoise_common import (
    check_cube,
    gram64,
    reflect_pad,
    resolve_sigma,
    spectral_project,
)
from ._dwt import dwt_max_level, wavedec2, waverec2

__all__ = ["denoise_hyres"]

_BATCH = 8  # principal components transformed per batch


def _flatten(xp, coeffs):
    """All coefficients of a ``wavedec2`` list as one ``(n_coeffs, k)`` array."""
    k = coeffs[0].shape[-1]
    parts = [xp.reshape(coeffs[0], (-1, k))]
    for det in coeffs[1:]:
        parts.extend(xp.reshape(d, (-1, k)) for d in det)
    return xp.concat(parts, axis=0)


def _unflatten(xp, flat, like):
    """Inverse of :func:`_flatten` with the shapes of ``like`` (and ``flat``'s column count)."""
    k = flat.shape[1]
    out, start = [], 0

    def take(ref):
        nonlocal start
        size = ref.shape[0] * ref.shape[1]
        block = xp.reshape(flat[start:min(start + size, flat.shape[0]), :], (ref.shape[0], ref.shape[1], k))
        start += size
        return block

    out.append(take(like[0]))
    for det in like[1:]:
        out.append(tuple(take(d) for d in det))
    return out


def sure_soft_threshold(xp, c):
    """Soft thresholds minimising SURE for unit-variance noise, column by column.

    For coefficients ``c`` (n, k) of signal plus N(0, 1) noise, soft
    thresholding at ``t`` has the unbiased risk estimate
    ``SURE(t) = n - 2 #{|c| <= t} + sum min(c^2, t^2)`` (Donoho and Johnstone,
    JASA 1995), minimised exactly over ``t`` in ``{0} U {|c_i|}`` by sorting.

    Returns
    -------
    t : array (k,)
        The thresholds.
    gain : array (k,)
        ``min SURE - (||c||^2 - n)``: the estimated change of risk from
        keeping the column (soft-thresholded) instead of zeroing it; never
        positive, and near zero for pure-noise columns.
    """
    n = c.shape[0]
    a = xp.sort(xp.abs(xp.astype(c, xp.float64)), axis=0)
    a2 = a * a
    csum = xp.cumulative_sum(a2, axis=0)
    count = xp.reshape(xp.arange(1, n + 1, dtype=xp.float64, device=device(c)), (n, 1))
    risk = n - 2.0 * count + csum + (n - count) * a2  # SURE at t = a[i], i = 0..n-1
    total = csum[-1, :]
    risk0 = xp.full_like(total, float(n))  # t = 0 keeps the noisy coefficients: risk n
    best = xp.argmin(risk, axis=0)
    best_risk = xp.min(risk, axis=0)
    use_zero = risk0 < best_risk
    t = xp.take_along_axis(a, xp.reshape(best, (1, -1)), axis=0)[0, :]
    t = xp.where(use_zero, xp.zeros_like(t), t)
    best_risk = xp.where(use_zero, risk0, best_risk)
    return t, best_risk - (total - n)


def _soft(xp, c, t):
    return xp.sign(c) * xp.maximum(xp.abs(c) - t, xp.zeros_like(c))


def _check_wavelet(wavelet):
    import pywt

    if wavelet not in pywt.wavelist(kind="discrete") or not pywt.Wavelet(wavelet).orthogonal:
        raise ValueError(f"wavelet must be an orthogonal PyWavelets wavelet such as 'db5', got {wavelet!r}.")
    return wavelet


def denoise_hyres(cube, *, sigma=None, wavelet="db5", level=5, max_rank=None, patience=3, return_info=False):
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
    cube, xp = check_cube(cube)
    rows, cols, L = cube.shape
    _check_wavelet(wavelet)
    level = check_scalar(level, "level", kind=numbers.Integral, lower=1)
    max_rank = L if max_rank is None else check_scalar(max_rank, "max_rank", kind=numbers.Integral, lower=1)
    max_rank = min(max_rank, L)
    patience = check_scalar(patience, "patience", kind=numbers.Integral, lower=1)

    R = gram64(xp, xp.reshape(cube, (rows * cols, L)))
    s = resolve_sigma(xp, cube, sigma, R)
    Rw = R / (s[:, None] * s[None, :])
    _, V = xp.linalg.eigh(Rw)
    V = xp.flip(V, axis=1)  # descending eigenvalues
    W = V / s[:, None]  # whitening then projection: pc = Y diag(1/s) V
    level = dwt_max_level((rows, cols), wavelet, level)

    kept_coeffs, thresholds, gains = [], [], []
    quiet, like = 0, None
    for start in range(0, max_rank, _BATCH):
        stop = min(start + _BATCH, max_rank)
        pcs = reflect_pad(xp, spectral_project(xp, cube, W[:, start:stop]), 2**level)
        coeffs = wavedec2(xp, pcs, wavelet, level)
        like = coeffs
        flat = _flatten(xp, coeffs)
        t, gain = sure_soft_threshold(xp, flat)
        n = flat.shape[0]
        kept_coeffs.append(_soft(xp, flat, xp.astype(t, flat.dtype)))
        thresholds.append(t)
        gains.append(gain)
        for g in [float(v) for v in gain]:  # one host transfer per batch
            quiet = quiet + 1 if g > -((2.0 * n) ** 0.5) else 0
        if quiet >= patience:
            break
    gains_all = xp.concat(gains)
    sure = xp.cumulative_sum(gains_all)
    rank = int(xp.argmin(sure)) + 1 if float(xp.min(sure)) < 0 else 1
    flat = xp.concat(kept_coeffs, axis=1)[:, :rank]
    X = waverec2(xp, _unflatten(xp, flat, like), wavelet)[:rows, :cols, :]
    back = xp.astype((V[:, :rank] * s[:, None]).T, cube.dtype)  # (rank, bands)
    out = xp.reshape(xp.reshape(X, (rows * cols, rank)) @ back, (rows, cols, L))
    if not return_info:
        return out
    info = {"rank": rank, "sigma": s, "thresholds": xp.concat(thresholds)[:rank], "sure": sure}
    return out, info
