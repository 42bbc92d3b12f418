"""Shared pieces of the hyperspectral denoisers: input checks, per-band noise estimation, whitening.

Cubes are ``(rows, cols, bands)`` arrays of any array-API library; all the
work stays in the cube's namespace and on its device. Small ``bands x bands``
matrices (Gram matrices, their inverses and eigenvectors) are computed in
float64 whatever the cube's dtype; the large products run in the cube's
floating dtype (float32 stays float32).
"""

import math
import numbers

from .._backend import device, get_namespace, is_numpy_namespace
from .._validation import check_array, check_scalar

__all__ = ["estimate_noise_std"]

_GRAM_CHUNK = 1 << 16  # pixels per block of the float64 Gram accumulation
_MEDIAN_BLOCK = 1 << 23  # window samples held at once by the array-API median filter


def check_cube(cube, name="cube", *, min_bands=2):
    """``cube`` as a real floating ``(rows, cols, bands)`` array and its namespace.

    A 2-D array raises ``ValueError`` explaining the expected layout; NaN or
    infinite entries raise ``ValueError`` (check_array's message); fewer than
    ``min_bands`` bands raise ``ValueError``.
    """
    xp = get_namespace(cube)
    ndim = getattr(cube, "ndim", None)
    if ndim is not None and ndim != 3:
        raise ValueError(
            f"{name} must be a 3-D cube (rows, cols, bands), got shape {tuple(cube.shape)}; "
            "a (pixels, bands) matrix has no spatial layout: reshape it to (rows, cols, bands)."
        )
    cube = check_array(cube, name, xp=xp, ndim=3)
    if cube.shape[2] < min_bands:
        raise ValueError(f"{name} must have at least {min_bands} bands, got shape {tuple(cube.shape)}.")
    return cube, xp


def check_rank(k, n_bands, name="n_components"):
    """An integer rank in ``[1, n_bands]``; more components than bands raise a ``ValueError`` naming both."""
    k = check_scalar(k, name, kind=numbers.Integral, lower=1)
    if k > n_bands:
        raise ValueError(f"{name}={k} exceeds the number of bands {n_bands} of the cube; use at most {n_bands}.")
    return k


def peak_scale(xp, Y):
    """The power of two at or below ``max|Y|`` (1 for an all-zero ``Y``), a float64 0-d array on Y's device.

    Gram matrices are accumulated on ``Y / peak_scale(Y)``: the division is
    exact, and data near the float64 limits (1e300, 1e-300) then neither
    overflow nor vanish in the squares.
    """
    peak = xp.astype(xp.max(xp.abs(Y)), xp.float64)
    peak = xp.where(peak > 0, peak, xp.ones_like(peak))
    return 2.0 ** xp.floor(xp.log2(peak))


def data_unit(xp, Y):
    """:func:`peak_scale` in ``Y``'s dtype: computing on ``Y / data_unit(Y)`` keeps the squares representable."""
    return xp.astype(peak_scale(xp, Y), Y.dtype)


def gram64(xp, Y, scale=None):
    """``Y^T Y`` in float64 for ``Y`` of shape (pixels, bands), accumulated over blocks of pixels.

    With ``scale`` (a positive float64 scalar), the Gram matrix of ``Y / scale``.
    """
    n = Y.shape[0]
    R = None
    for start in range(0, n, _GRAM_CHUNK):
        block = xp.astype(Y[start:min(start + _GRAM_CHUNK, n), :], xp.float64)
        if scale is not None:
            block = block / scale
        part = block.T @ block
        R = part if R is None else R + part
    return R


def _noise_var_from_gram(xp, R, n_pixels):
    """Residual variance of each band regressed on all the others (HySime's noise estimate).

    With ``P = R^{-1}`` (``R = Y^T Y`` plus a tiny ridge), the least-squares
    residual of band ``i`` on the other bands is ``(Y P)[:, i] / P_ii``, so its
    mean square is ``(P R P)_ii / (N P_ii^2)``: no pass over the pixels.
    A cube with no more pixels than bands is fitted exactly by the
    regression and raises ``ValueError``; rounding below zero is clipped.
    """
    L = R.shape[0]
    if n_pixels <= L:
        raise ValueError(f"the noise estimate regresses each band on the others and needs more pixels than bands; "
                         f"the cube has {n_pixels} pixels and {L} bands: pass sigma or a larger cube.")
    eye = xp.eye(L, dtype=R.dtype, device=device(R))
    ridge = 1e-12 * xp.sum(xp.linalg.diagonal(R)) / L
    P = xp.linalg.inv(R + ridge * eye)
    PRP = P @ R @ P
    d = xp.linalg.diagonal(P)
    return xp.clip(xp.linalg.diagonal(PRP), 0.0, None) / (n_pixels * d * d)


def estimate_noise_std(cube):
    """Noise standard deviation of each band, by regression on the other bands (HySime).

    Each band is predicted by least squares from all the other bands; the
    residual is taken as that band's noise (Bioucas-Dias and Nascimento,
    "Hyperspectral subspace identification", IEEE TGRS 2008), and its root
    mean square is the band's noise level. Spectral correlation makes the
    signal predictable, so the estimate is accurate for cubes with many more
    pixels than bands and a signal subspace much smaller than the number of
    bands; it overestimates when bands are few.

    Parameters
    ----------
    cube : array of shape (rows, cols, bands)
        Any array-API library; not modified.

    Returns
    -------
    array of shape (bands,)
        Float64 standard deviations, in the cube's namespace and on its device.

    Raises
    ------
    ValueError
        When the cube has no more pixels than bands (the regression then
        fits every band exactly), or holds NaN or infinite values.
    """
    cube, xp = check_cube(cube, min_bands=2)
    Y = xp.reshape(cube, (-1, cube.shape[2]))
    scale = peak_scale(xp, Y)
    return xp.sqrt(_noise_var_from_gram(xp, gram64(xp, Y, scale=scale), Y.shape[0])) * scale


def noise_and_whitened_gram(xp, cube, sigma):
    """Per-band noise std ``s`` (:func:`resolve_sigma`) and the whitened Gram ``diag(1/s) Y^T Y diag(1/s)``.

    Both float64 on the cube's device; the Gram matrix is accumulated in the
    units of :func:`peak_scale`, so that any finite cube is representable.
    """
    Y = xp.reshape(cube, (-1, cube.shape[2]))
    scale = peak_scale(xp, Y)
    R = gram64(xp, Y, scale=scale)
    s = resolve_sigma(xp, cube, sigma, R, scale)
    t = s / scale
    return s, R / (t[:, None] * t[None, :])


def resolve_sigma(xp, cube, sigma, R=None, scale=1.0):
    """Per-band noise std as a float64 ``(bands,)`` array on the cube's device.

    ``sigma=None`` estimates it (:func:`estimate_noise_std`, from ``R``,
    the Gram matrix of ``cube / scale``, when given); a scalar applies to
    every band; an array must have one positive entry per band.
    """
    L = cube.shape[2]
    dev = device(cube)
    if sigma is None:
        if R is None:
            Y = xp.reshape(cube, (-1, L))
            scale = peak_scale(xp, Y)
            R = gram64(xp, Y, scale=scale)
        s = xp.sqrt(_noise_var_from_gram(xp, R, cube.shape[0] * cube.shape[1])) * scale
        floor = 1e-8 * xp.max(s)
        return xp.where(s > floor, s, floor)  # a noiseless band would otherwise divide by zero
    if isinstance(sigma, numbers.Real):
        value = check_scalar(sigma, "sigma", lower=0.0, lower_inclusive=False)
        return xp.full((L,), value, dtype=xp.float64, device=dev)
    s = check_array(sigma, "sigma", xp=xp, ndim=1)
    if s.shape[0] != L:
        raise ValueError(f"sigma must be a scalar or have one entry per band ({L}), got shape {tuple(s.shape)}.")
    if not bool(xp.all(s > 0)):
        raise ValueError("sigma must be positive in every band.")
    return xp.astype(s, xp.float64)


def reflect_pad(xp, x, multiple):
    """Pad axes 0 and 1 of ``x`` at the end, mirrored (``... c b a | a b c``), to multiples of ``multiple``."""
    for axis in (0, 1):
        n = x.shape[axis]
        extra = (-n) % multiple
        while extra:  # the mirror copies at most n samples at a time
            take = min(extra, x.shape[axis])
            idx = [slice(None)] * x.ndim
            idx[axis] = slice(x.shape[axis] - take, x.shape[axis])
            x = xp.concat((x, xp.flip(x[tuple(idx)], axis=axis)), axis=axis)
            extra -= take
    return x


def spectral_project(xp, cube, M):
    """``cube`` (rows, cols, bands) times ``M`` (bands, k) over the band axis, in the cube's dtype."""
    rows, cols, L = cube.shape
    M = xp.astype(M, cube.dtype)
    return xp.reshape(xp.reshape(cube, (rows * cols, L)) @ M, (rows, cols, M.shape[1]))


def _mirror_index(xp, k, n):
    """Integer indices ``k`` (any, even far outside ``[0, n)``) reflected into ``[0, n)`` about the edge samples.

    The reflections repeat with period ``2 (n - 1)`` (``... c b | a b c | b a ...``,
    SciPy's ``mode="mirror"``), so windows wider than the image are defined;
    a side of one sample maps everything to it.
    """
    if n == 1:
        return xp.zeros_like(k)
    k = xp.abs(k) % (2 * (n - 1))
    return xp.where(k > n - 1, 2 * (n - 1) - k, k)


def _mirror(xp, x, h, axis):
    """Extend axis ``axis`` of ``x`` by ``h`` samples on both sides, mirrored about the edge samples (``c b | a b c``)."""
    n = x.shape[axis]
    idx = _mirror_index(xp, xp.arange(-h, n + h, device=device(x)), n)
    return xp.take(x, idx, axis=axis)


def median_filter(xp, cube, window):
    """Median over ``window x window`` neighbourhoods of every band of ``cube`` (mirrored borders).

    NumPy cubes use :func:`scipy.ndimage.median_filter` (``mode="mirror"``);
    others sort the stacked window samples, a few bands at a time, on the
    cube's device. Both give the same values.
    """
    if is_numpy_namespace(xp):
        from scipy.ndimage import median_filter as scipy_median

        return scipy_median(cube, size=(window, window, 1), mode="mirror")
    rows, cols, L = cube.shape
    h = window // 2
    padded = _mirror(xp, _mirror(xp, cube, h, 0), h, 1)
    step = max(1, _MEDIAN_BLOCK // (rows * cols * window * window))
    out = []
    for b in range(0, L, step):
        part = padded[:, :, b:min(b + step, L)]
        samples = xp.stack([part[i:i + rows, j:j + cols, :] for i in range(window) for j in range(window)], axis=-1)
        out.append(xp.sort(samples, axis=-1)[..., window * window // 2])
    return xp.concat(out, axis=2)


def _spectral_residual(xp, cube):
    """Residual of each band regressed on all the others, as a cube (noise plus outliers, free of signal),
    and the precision of each band's residual, float64 ``(bands,)``.

    The Gram matrix is accumulated on the cube divided by :func:`peak_scale`
    (the regression does not depend on the scale), so that cubes
    near the overflow or underflow limits of float64 do not overflow or
    vanish in the squares. The residual of a noiseless cube is not zero:
    computing ``r_b = Y m_b`` in the cube's dtype errs by up to
    ``eps * max|Y| * ||m_b||_1``, and the ridge ``delta`` leaves signal
    of about ``sqrt(delta / pixels)`` per entry (1e-6 of the cube's RMS)
    unexplained; the precision is their sum.
    """
    rows, cols, L = cube.shape
    Y = xp.reshape(cube, (rows * cols, L))
    scale = peak_scale(xp, Y)
    R = gram64(xp, Y, scale=scale)
    eye = xp.eye(L, dtype=R.dtype, device=device(R))
    ridge = 1e-12 * xp.sum(xp.linalg.diagonal(R)) / L
    P = xp.linalg.inv(R + ridge * eye)
    M = P / xp.linalg.diagonal(P)[None, :]  # column i: e_i minus band i's predictor
    precision = scale * (xp.finfo(cube.dtype).eps * xp.sum(xp.abs(M), axis=0) + xp.sqrt(ridge / (rows * cols)))
    return xp.reshape(Y @ xp.astype(M, cube.dtype), (rows, cols, L)), precision


def _kth_smallest(xp, a, k, axis):
    """The ``k``-th smallest entry (0-based) of ``a`` along ``axis``, that axis removed.

    NumPy arrays use a selection (:func:`numpy.partition`, linear time);
    others an unstable sort.
    """
    if is_numpy_namespace(xp):
        import numpy as np

        return np.take(np.partition(a, k, axis=axis), k, axis=axis)
    idx = [slice(None)] * a.ndim
    idx[axis] = k
    return xp.sort(a, axis=axis, stable=False)[tuple(idx)]


def _robust_std(xp, abs_r, floor):
    """``1.4826`` times the median of each band of ``abs_r`` (rows, cols, bands), absolute values of a residual,
    and at least ``floor`` (bands,), the residual's precision: a noiseless cube, whose residual is rounding
    and ridge error alone, has no outliers."""
    n = abs_r.shape[0] * abs_r.shape[1]
    s = 1.4826 * _kth_smallest(xp, xp.reshape(abs_r, (n, abs_r.shape[2])), n // 2, 0)
    return xp.maximum(s, xp.astype(floor, s.dtype))


# two-sided Gaussian tail beyond 3.5 standard deviations: the false-alarm rate of each outlier test
_TAIL = math.erfc(3.5 / math.sqrt(2.0))


def _clear_excess(counts, trials):
    """Bands whose ``counts`` of flagged tests (out of ``trials`` each) are far above Gaussian noise's.

    Under Gaussian noise each test fires with probability ``_TAIL``, so a
    band's count is about Poisson with mean ``trials * _TAIL``; the mean is
    raised by 25% (the robust std and the residual are themselves
    estimates: on Gaussian cubes the rates measured 5-12% above
    ``_TAIL``) and a band is flagged when its count is beyond that Poisson
    law's ``1 - 1e-6`` quantile. ``counts`` is an integer array; returns a
    boolean array of its shape.
    """
    from scipy.stats import poisson

    return counts > int(poisson.isf(1e-6, 1.25 * trials * _TAIL))


def remove_outliers(xp, cube, *, p=None, window=5, detect=False):
    """A coarse cube free of impulses and column stripes, and the mask of the entries it changed.

    Outliers are found in the spectral residual ``r`` (each band minus its
    least-squares prediction from the other bands: noise plus outliers, the
    signal being spectrally predictable), with ``s_b`` the robust std of
    ``r`` in band ``b`` (``1.4826`` times the median of ``|r|``):

    * an entry is an impulse when ``|r| > 3.5 s_b``, or, when ``p`` is
      given, by HyDe's median test ``|y - median(y)| > p * range_b``
      (``median`` the ``window x window`` median filter of the band,
      ``range_b`` the band's range after it); impulses take the median value;
    * a column of band ``b`` is a stripe (or dead line) when the median of
      ``r`` along it exceeds ``3.5 * 1.2533 s_b / sqrt(rows)`` (3.5 standard
      errors of a median); that offset is subtracted from its other entries.
      Stripes are taken along columns, the along-track direction of
      push-broom sensors.

    With ``detect=True`` (``p`` must be None) a band is cleaned of impulses,
    and separately of stripes, only when the number of entries (columns)
    its test flags is far above what Gaussian noise gives (each 3.5-sigma
    test fires with probability 4.65e-4 on Gaussian noise; a band is
    flagged with probability about 1e-6; see :func:`_clear_excess`): a cube with Gaussian noise only, white or not,
    comes back unchanged with an empty mask, and the median filter is then
    not computed.

    A spatial median test alone flags edges and textures as outliers when
    the noise is weak; the spectral residual does not.
    """
    if p is not None:
        p = check_scalar(p, "p", lower=0.0, lower_inclusive=False)
        if detect:
            raise ValueError("p and detect=True are exclusive: the detection counts the 3.5-sigma residual test.")
    window = check_scalar(window, "window", kind=numbers.Integral, lower=3)
    if window % 2 == 0:
        raise ValueError(f"window must be odd, got {window}.")
    rows, cols, _ = cube.shape
    r, precision = _spectral_residual(xp, cube)
    abs_r = xp.abs(r)
    s = _robust_std(xp, abs_r, precision)
    offset = _kth_smallest(xp, r, rows // 2, 0)  # (cols, bands): median residual of each column
    stripe = xp.abs(offset) > 3.5 * 1.2533 * s / rows**0.5
    if detect:
        stripe = stripe & _clear_excess(xp.count_nonzero(stripe, axis=0), cols)
    offset = xp.where(stripe, offset, xp.zeros_like(offset))
    coarse = cube - offset[None, :, :] if bool(xp.any(stripe)) else cube
    if p is not None:
        med = median_filter(xp, cube, window)
        mask = xp.abs(cube - med) > p * (xp.max(med, axis=(0, 1)) - xp.min(med, axis=(0, 1)))
        return xp.where(mask, med, coarse), mask | stripe[None, :, :]
    mask = abs_r > 3.5 * s
    if detect:
        mask = mask & _clear_excess(xp.count_nonzero(mask, axis=(0, 1)), rows * cols)
    if bool(xp.any(mask)):
        coarse = xp.where(mask, _median_at(xp, cube, mask, window), coarse)
    return coarse, mask | stripe[None, :, :]


def _median_at(xp, cube, mask, window):
    """:func:`median_filter` of ``cube`` at the entries where the boolean ``mask`` is set; zeros elsewhere.

    Only the ``window x window`` neighbourhoods of the masked entries are
    gathered (mirrored borders, as :func:`median_filter`), so the cost
    follows the number of outliers, not the size of the cube.
    """
    rows, cols, L = cube.shape
    h = window // 2
    if not bool(xp.any(mask)):  # Gaussian noise: nothing flagged (a test far cheaper than nonzero)
        return xp.zeros_like(cube)
    i, j, b = xp.nonzero(mask)
    m = i.shape[0]
    offsets = xp.arange(-h, h + 1, dtype=i.dtype, device=device(i))

    def mirrored(k, n):  # (m, window) indices k + offsets, mirrored into [0, n)
        return _mirror_index(xp, k[:, None] + offsets[None, :], n)

    flat = (mirrored(i, rows)[:, :, None] * cols + mirrored(j, cols)[:, None, :]) * L + b[:, None, None]
    samples = xp.take(xp.reshape(cube, (-1,)), xp.reshape(flat, (-1,)), axis=0)
    med = _kth_smallest(xp, xp.reshape(samples, (m, window * window)), window * window // 2, 1)
    med = xp.concat((med, xp.zeros((1,), dtype=cube.dtype, device=device(cube))))
    flags = xp.astype(xp.reshape(mask, (-1,)), xp.int64)
    pos = xp.where(flags > 0, xp.cumulative_sum(flags) - 1, xp.full_like(flags, m))  # entry -> med index
    return xp.reshape(xp.take(med, pos, axis=0), cube.shape)


def clean_outliers(xp, cube, robust):
    """``cube`` cleaned of impulses and stripes as the ``robust`` option of the denoisers asks.

    ``False``: unchanged; ``True``: :func:`remove_outliers` in every band;
    ``"auto"``: only in the bands where they are detected
    (``remove_outliers(..., detect=True)``; Gaussian noise leaves the cube as is).
    Any other value raises ``ValueError`` naming ``robust``.
    """
    auto = isinstance(robust, str) and robust == "auto"
    if not auto and (isinstance(robust, str) or robust not in (True, False)):
        raise ValueError(f"robust must be True, False or 'auto', got {robust!r}.")
    if not auto and not robust:
        return cube
    return remove_outliers(xp, cube, detect=auto)[0]
