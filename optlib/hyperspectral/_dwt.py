"""Separable 2-D orthogonal wavelet transform of image stacks, periodized, on any array library.

The hyperspectral denoisers transform a stack of images ``(rows, cols, k)``
over its first two axes with an orthogonal Daubechies (or any orthogonal
PyWavelets) wavelet in periodization mode, which makes the transform exactly
orthogonal: white noise of variance 1 stays white with variance 1 in every
subband, the premise of the SURE threshold rules.

NumPy arrays go through PyWavelets (``pywt.wavedec2(..., mode="periodization")``);
other array libraries (CuPy, array_api_strict) through the filter-bank
implementation below, written with array-API operations only (``roll``, strided
slices, ``stack``), so the transform stays on the input's device. Both give
the same coefficients (tested). Only the filter taps, Python floats, come
from PyWavelets.

Coefficients are ``[cA_n, (cH_n, cV_n, cD_n), ..., (cH_1, cV_1, cD_1)]``,
PyWavelets' ``wavedec2`` layout, each of shape ``(rows / 2^j, cols / 2^j, k)``.
Both spatial sizes must be multiples of ``2**level`` (callers pad).
"""

import pywt

from .._backend import is_numpy_namespace

__all__ = ["dwt_max_level", "wavedec2", "waverec2"]


def dwt_max_level(shape, wavelet, cap):
    """Largest useful level for spatial ``shape``: PyWavelets' bound for the filter, at least 1, at most ``cap``."""
    length = pywt.Wavelet(wavelet).dec_len
    level = min(pywt.dwt_max_level(int(n), length) for n in shape)
    return max(1, min(int(cap), level))


def _taps(wavelet):
    w = pywt.Wavelet(wavelet)
    if not w.orthogonal:
        raise ValueError(f"wavelet must be orthogonal (e.g. 'db5'), got {wavelet!r}.")
    return [float(t) for t in w.dec_lo], [float(t) for t in w.dec_hi]


def _analysis(xp, x, lo, hi):
    """One periodized analysis step along axis 0: ``a_j = sum_k h_k x[(2j + L/2 - k) mod n]``."""
    half = len(lo) // 2
    a = d = None
    for k, (h, g) in enumerate(zip(lo, hi)):
        shifted = xp.roll(x, k - half, axis=0)[::2, ...]
        a = h * shifted if a is None else a + h * shifted
        d = g * shifted if d is None else d + g * shifted
    return a, d


def _upsample(xp, c):
    """Interleave zeros after each sample along axis 0."""
    u = xp.stack((c, xp.zeros_like(c)), axis=1)
    return xp.reshape(u, (2 * c.shape[0],) + tuple(c.shape[1:]))


def _synthesis(xp, a, d, lo, hi):
    """Adjoint (= inverse) of :func:`_analysis` along axis 0."""
    half = len(lo) // 2
    ua, ud = _upsample(xp, a), _upsample(xp, d)
    x = None
    for k, (h, g) in enumerate(zip(lo, hi)):
        term = h * xp.roll(ua, half - k, axis=0) + g * xp.roll(ud, half - k, axis=0)
        x = term if x is None else x + term
    return x


def _swap01(xp, x):
    return xp.permute_dims(x, (1, 0) + tuple(range(2, x.ndim)))


def _dwt2_level(xp, x, lo, hi):
    a, d = _analysis(xp, x, lo, hi)  # rows
    aa, ad = _analysis(xp, _swap01(xp, a), lo, hi)  # columns of the row-lowpass
    da, dd = _analysis(xp, _swap01(xp, d), lo, hi)
    s = lambda y: _swap01(xp, y)
    # PyWavelets' order: cH detail along axis 0, cV detail along axis 1, cD both
    return s(aa), (s(da), s(ad), s(dd))


def _idwt2_level(xp, approx, details, lo, hi):
    ch, cv, cd = details
    s = lambda y: _swap01(xp, y)
    a = s(_synthesis(xp, s(approx), s(cv), lo, hi))
    d = s(_synthesis(xp, s(ch), s(cd), lo, hi))
    return _synthesis(xp, a, d, lo, hi)


def wavedec2(xp, x, wavelet, level):
    """Multilevel 2-D DWT of ``x`` over axes 0 and 1 (see the module docstring for the layout)."""
    if is_numpy_namespace(xp):
        return pywt.wavedec2(x, wavelet, mode="periodization", level=level, axes=(0, 1))
    lo, hi = _taps(wavelet)
    details = []
    a = x
    for _ in range(level):
        a, det = _dwt2_level(xp, a, lo, hi)
        details.append(det)
    return [a] + details[::-1]


def waverec2(xp, coeffs, wavelet):
    """Inverse of :func:`wavedec2`."""
    if is_numpy_namespace(xp):
        return pywt.waverec2(coeffs, wavelet, mode="periodization", axes=(0, 1))
    lo, hi = _taps(wavelet)
    a = coeffs[0]
    for det in coeffs[1:]:
        a = _idwt2_level(xp, a, det, lo, hi)
    return a
