"""Image quality measures: PSNR and SSIM (2-D and 3-D), magnitude PSNR of complex volumes.

Every function accepts arrays of any array-API library (NumPy, CuPy, ...)
and works in the input's namespace and on its device; the score comes back as
a Python ``float`` (one device-to-host transfer of a scalar).
"""

import math

from .._backend import get_namespace, scale_by_power_of_two
from .._validation import check_array, check_scalar

__all__ = ["normalized_magnitude", "psnr", "psnr_magnitude", "ssim"]


def _check_pair(x, ref, allow_complex=False):
    """``x`` and ``ref`` as floating arrays of one namespace and one shape."""
    xp = get_namespace(x, ref)
    x = check_array(x, "x", xp=xp, allow_complex=allow_complex)
    ref = check_array(ref, "ref", xp=xp, allow_complex=allow_complex)
    if tuple(x.shape) != tuple(ref.shape):
        raise ValueError(f"x has shape {tuple(x.shape)} but ref has shape {tuple(ref.shape)}; they must match.")
    return x, ref, xp


def _refuse_complex(xp, x, ref, name):
    for arr, arg in ((x, "x"), (ref, "ref")):
        if xp.isdtype(arr.dtype, "complex floating"):
            raise TypeError(
                f"{name} needs real images, got complex {arg} (dtype {arr.dtype}); for complex "
                "volumes use psnr_magnitude, or compare normalized_magnitude(x) and "
                "normalized_magnitude(ref) with data_range=1."
            )


def _data_range(xp, ref, data_range):
    if data_range is None:
        data_range = float(xp.max(ref) - xp.min(ref))
        if data_range == 0.0:
            raise ValueError("ref is constant, so its dynamic range is 0: pass data_range explicitly.")
        return data_range
    return check_scalar(data_range, "data_range", lower=0.0, lower_inclusive=False)


def psnr(x, ref, data_range=None):
    """Peak signal-to-noise ratio ``10 log10(data_range**2 / MSE(x, ref))`` in dB.

    Parameters
    ----------
    x : array
        Estimated image (any shape), real.
    ref : array
        Reference image, same shape.
    data_range : float, optional
        Peak-to-peak range of the images. Defaults to ``max(ref) - min(ref)``
        (scikit-image instead takes the dtype's range, 1 for nonnegative
        float images: pass ``data_range=1.0`` for images in ``[0, 1]``).

    Returns
    -------
    float
        PSNR in dB; ``inf`` when ``x`` equals ``ref``.
    """
    x, ref, xp = _check_pair(x, ref, allow_complex=True)
    _refuse_complex(xp, x, ref, "psnr")
    data_range = _data_range(xp, ref, data_range)
    diff = xp.astype(x, xp.float64) - xp.astype(ref, xp.float64)
    mse = float(xp.mean(diff * diff))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range**2 / mse)


def normalized_magnitude(z):
    """Entrywise modulus of ``z`` scaled to a maximum of 1 (``|z| / max|z|``).

    A zero array is returned unchanged (as zeros). Real dtype of the input's
    precision (complex64 -> float32).
    """
    z = check_array(z, "z", allow_complex=True)
    xp = get_namespace(z)
    mag = xp.abs(z)
    peak = xp.max(mag)
    return mag / xp.where(peak > 0, peak, xp.ones_like(peak))


def psnr_magnitude(x, ref):
    """PSNR of the normalized magnitudes of complex (or real) volumes, in dB.

    ``10 log10(max|r|^2 / MSE(|x| / max|x|, |r| / max|r|))`` with
    ``max|r| = 1`` after normalization: the metric of near-field MIMO imaging
    (Oral and Oktem, IEEE TCI 2024), blind to the phase and to a global
    scale of the reconstruction. The matching 3-D SSIM is
    ``ssim(normalized_magnitude(x), normalized_magnitude(ref), data_range=1.0)``.
    """
    x, ref, _ = _check_pair(x, ref, allow_complex=True)
    return psnr(normalized_magnitude(x), normalized_magnitude(ref), data_range=1.0)


def _gaussian_taps(sigma, truncate):
    """Normalized 1-D Gaussian weights on ``-r..r``, ``r = int(truncate * sigma + 0.5)``."""
    radius = int(truncate * sigma + 0.5)
    taps = [math.exp(-0.5 * (k / sigma) ** 2) for k in range(-radius, radius + 1)]
    total = sum(taps)
    return [t / total for t in taps]


def _reflect_pad(xp, a, axis, r):
    """Pad ``a`` by ``r`` samples on both ends of ``axis``, mirrored about the edge (``d c b a | a b c d``)."""
    n = a.shape[axis]
    idx = [slice(None)] * a.ndim

    def take(start, stop):
        idx[axis] = slice(start, stop)
        return a[tuple(idx)]

    left = xp.flip(take(0, r), axis=axis)
    right = xp.flip(take(n - r, n), axis=axis)
    return xp.concat((left, a, right), axis=axis)


def _gaussian_filter(xp, a, taps):
    """Separable Gaussian smoothing of ``a`` over every axis, reflected borders."""
    r = (len(taps) - 1) // 2
    for axis in range(a.ndim):
        n = a.shape[axis]
        padded = _reflect_pad(xp, a, axis, r)
        idx = [slice(None)] * a.ndim
        out = None
        for k, w in enumerate(taps):
            idx[axis] = slice(k, k + n)
            term = w * padded[tuple(idx)]
            out = term if out is None else out + term
        a = out
    return a


def _ratio_or_one(xp, num, den, tiny):
    """``num / den``, and 1 where ``den <= tiny`` (a 0/0 factor); plain ratio when ``tiny`` is None."""
    if tiny is None:
        return num / den
    undefined = den <= tiny
    one = xp.ones_like(den)
    return xp.where(undefined, one, num / xp.where(undefined, one, den))


def ssim(x, ref, *, data_range=None, sigma=1.5, truncate=3.5, k1=0.01, k2=0.03):
    """Mean structural similarity of two 2-D images or 3-D volumes (Gaussian window).

    Wang, Bovik, Sheikh and Simoncelli (IEEE TIP 2004): local means,
    variances and covariance are weighted by an isotropic Gaussian of
    standard deviation ``sigma`` truncated at ``truncate * sigma`` (an 11-tap
    window per axis by default), with borders mirrored; the SSIM map is
    averaged over the pixels at least one window radius from the border.
    Equals ``skimage.metrics.structural_similarity(x, ref,
    gaussian_weights=True, sigma=sigma, use_sample_covariance=False,
    data_range=data_range)`` for float64 input.

    Parameters
    ----------
    x, ref : array
        Real arrays of the same shape, 2-D or 3-D, each side at least one
        window long (11 samples by default).
    data_range : float, optional
        Peak-to-peak range; defaults to ``max(ref) - min(ref)`` (scikit-image
        requires it for float images).
    sigma : float, default=1.5
        Standard deviation of the Gaussian window, in samples.
    truncate : float, default=3.5
        Window radius in standard deviations.
    k1, k2 : float, default=0.01, 0.03
        Stabilising constants ``C1 = (k1 R)^2``, ``C2 = (k2 R)^2`` with
        ``R = data_range``. ``k1 = k2 = 0`` gives Wang and Bovik's universal
        quality index; see Notes for its flat windows.

    Returns
    -------
    float
        Mean SSIM, at most 1 (equal images).

    Notes
    -----
    Work is done in the input's floating precision (float32 stays float32,
    as in scikit-image); the final mean in float64. The local (co)variances
    are computed from each image less its mean, so an offset (``1e4 +``
    texture) costs no precision to cancellation; and in units of the power of
    two of ``data_range`` (an exact scaling), so images in units of 1e-25 or
    1e20 (float32) score as in units of 1. For complex volumes
    compare :func:`normalized_magnitude` of each with ``data_range=1.0``.

    With ``C1 = 0`` the luminance factor ``2 mx my / (mx^2 + my^2)`` is 0/0
    where both local means vanish, and with ``C2 = 0`` the contrast-structure
    factor ``2 cov / (vx + vy)`` is 0/0 where both windows are flat (constant
    images, flat backgrounds). Such a factor is taken as 1 (the two windows
    agree in it), as Wang's reference code of the universal quality index
    does; "vanish" means below the rounding level of the window's second
    moments. So two constant images ``a`` and ``b`` score ``2ab / (a^2 + b^2)``
    (1 when both are 0) instead of NaN or rounding noise (scikit-image returns
    NaN there).
    """
    x, ref, xp = _check_pair(x, ref, allow_complex=True)
    _refuse_complex(xp, x, ref, "ssim")
    if x.ndim not in (2, 3):
        raise ValueError(f"ssim compares 2-D images or 3-D volumes, got shape {tuple(x.shape)}.")
    sigma = check_scalar(sigma, "sigma", lower=0.0, lower_inclusive=False)
    truncate = check_scalar(truncate, "truncate", lower=0.0, lower_inclusive=False)
    k1 = check_scalar(k1, "k1", lower=0.0)
    k2 = check_scalar(k2, "k2", lower=0.0)
    data_range = _data_range(xp, ref, data_range)
    taps = _gaussian_taps(sigma, truncate)
    win = len(taps)
    if min(x.shape) < win:
        raise ValueError(
            f"every side of x must be at least the window size {win} (sigma={sigma}, "
            f"truncate={truncate}), got shape {tuple(x.shape)}."
        )
    dtype = x.dtype if x.dtype == ref.dtype else xp.float64
    # in units of data_range's power of two (exact, so no rounding changes): the second moments of images
    # of 1e-25 or 1e20 (float32), 1e-200 or 1e300 (float64) would underflow or overflow the dtype; units no
    # smaller than the images' peak allows (a data_range far below it: squares within the dtype's range)
    a, b = xp.astype(x, dtype), xp.astype(ref, dtype)
    peak = float(xp.maximum(xp.max(xp.abs(a)), xp.max(xp.abs(b))))
    max_exp = math.frexp(float(xp.finfo(dtype).max))[1]  # 128 (float32), 1024 (float64)
    e = max(math.frexp(data_range)[1], math.frexp(peak)[1] - max_exp // 2 + 4)
    data_range = math.ldexp(data_range, -e)
    a, b = scale_by_power_of_two(a, -e), scale_by_power_of_two(b, -e)
    # (co)variances from the images less their means: they are shift-invariant, and E[a^2] - E[a]^2
    # of an image with a large offset (1e4 + texture) would cancel to rounding noise
    ma, mb = xp.mean(a), xp.mean(b)
    if k1 == 0:  # local means of the raw images: exactly 0 on zero windows, for the 0/0 test below
        ux, uy = _gaussian_filter(xp, a, taps), _gaussian_filter(xp, b, taps)
    a, b = a - ma, b - mb
    ua, ub = _gaussian_filter(xp, a, taps), _gaussian_filter(xp, b, taps)
    if k1 != 0:
        ux, uy = ua + ma, ub + mb
    sa, sb = _gaussian_filter(xp, a * a, taps), _gaussian_filter(xp, b * b, taps)
    vx, vy = sa - ua * ua, sb - ub * ub
    vxy = _gaussian_filter(xp, a * b, taps) - ua * ub
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    # without a constant: the rounding level of the window statistics (win taps per axis), that of the
    # second moments the means (raw) and the variances (centred) were computed from; |vx| since a
    # variance that is rounding noise may be negative
    eps = 4 * a.ndim * win * xp.finfo(dtype).eps
    tiny_mean = eps * (ux * ux + uy * uy + xp.abs(vx) + xp.abs(vy)) if c1 == 0 else None
    tiny_var = eps * (sa + sb) if c2 == 0 else None
    luminance = _ratio_or_one(xp, 2 * ux * uy + c1, ux * ux + uy * uy + c1, tiny_mean)
    structure = _ratio_or_one(xp, 2 * vxy + c2, vx + vy + c2, tiny_var)
    s = luminance * structure
    pad = (win - 1) // 2
    inner = s[tuple(slice(pad, n - pad) for n in s.shape)]
    return float(xp.mean(xp.astype(inner, xp.float64)))
