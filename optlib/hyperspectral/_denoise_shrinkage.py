"""Subspace wavelet shrinkage with fixed parameters: the common form of HyRes and FastHyDe (SURE).

Both methods estimate a cube as ``IDWT(soft(DWT(Y W), T)) B``: a spectral
projection ``W`` (bands x k: whitening then principal or signal-subspace
directions), an orthogonal periodized 2-D DWT of each of the ``k``
component images, soft thresholding with a threshold per subband and
component (in units of the unit noise of the components), the inverse DWT,
and a spectral synthesis ``B`` (k x bands). Optionally the shrinkage is
made translation invariant by cycle spinning (Coifman and Donoho, 1995):
it is repeated on the ``shifts x shifts`` periodic translates of the
component images and the results, shifted back, are averaged. Fitting (choosing ``W``, ``B``
and the thresholds by SURE) is global; applying the fitted model is local in
space, which is what makes tiled processing exact: with tiles aligned to
``2**level`` pixels and an overlap wider than the wavelets' support, every
tile gives the in-memory result away from its borders.
"""

import math

from .._backend import device, get_namespace
from ._denoise_common import reflect_pad, spectral_project
from ._dwt import wavedec2, waverec2

__all__ = ["SubspaceShrinkage", "shrink", "subband_thresholds", "sure_soft_threshold"]


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


def soft(xp, c, t):
    """Soft thresholding of ``c`` at ``t`` (broadcast)."""
    return xp.sign(c) * xp.maximum(xp.abs(c) - t, xp.zeros_like(c))


def subbands(coeffs):
    """The subband arrays of a ``wavedec2`` list in order: approximation, then details coarse to fine."""
    out = [coeffs[0]]
    for det in coeffs[1:]:
        out.extend(det)
    return out


def from_subbands(bands):
    """Inverse of :func:`subbands`."""
    return [bands[0]] + [tuple(bands[i:i + 3]) for i in range(1, len(bands), 3)]


def subband_thresholds(xp, Z, wavelet, level):
    """SURE soft thresholds ``(1 + 3 level, k)`` of each detail subband and image of a unit-noise stack ``Z``.

    The approximation subband (first row) gets threshold 0: it is kept.
    """
    k = Z.shape[2]
    bands = subbands(wavedec2(xp, Z, wavelet, level))
    T = [xp.zeros((k,), dtype=xp.float64, device=device(Z))]
    T += [sure_soft_threshold(xp, xp.reshape(b, (-1, k)))[0] for b in bands[1:]]
    return xp.stack(T)


def shrink(xp, Z, T, wavelet, level, shifts=1):
    """Soft-thresholded wavelet reconstruction of an image stack ``Z``, cycle-spun over ``shifts x shifts`` translates.

    ``Z`` (rows, cols, k) has sizes multiple of ``2**level``; ``T`` holds
    one threshold per subband and image (see :class:`SubspaceShrinkage`).
    """
    T = xp.astype(T, Z.dtype)
    out = None
    for a in range(shifts):
        for b in range(shifts):
            shifted = xp.roll(Z, (a, b), axis=(0, 1)) if a or b else Z
            coeffs = subbands(wavedec2(xp, shifted, wavelet, level))
            X = waverec2(xp, from_subbands([soft(xp, c, T[i, :]) for i, c in enumerate(coeffs)]), wavelet)
            X = xp.roll(X, (-a, -b), axis=(0, 1)) if a or b else X
            out = X if out is None else out + X
    return out / float(shifts**2) if shifts > 1 else out


def component_images(xp, cube, W, level):
    """``cube @ W`` as images, mirror-padded to multiples of ``2**level``."""
    return reflect_pad(xp, spectral_project(xp, cube, W), 2**level)


class SubspaceShrinkage:
    """A fitted subspace wavelet-shrinkage denoiser ``Y -> IDWT(soft(DWT(Y W), T)) B``.

    Parameters
    ----------
    W : array (bands, k)
        Analysis: component images ``Y W`` with unit noise.
    B : array (k, bands)
        Synthesis back to the bands.
    thresholds : array (1 + 3 level, k)
        Soft threshold of each subband (approximation first, then
        ``(H, V, D)`` from coarse to fine) and component.
    wavelet : str
    level : int
    anscombe : bool
        Apply ``2 sqrt(y + 3/8)`` first and ``(z / 2)^2 - 1/8`` last (Poisson noise).
    shifts : int
        Cycle spinning: average of the shrinkage over the periodic shifts
        ``(a, b)``, ``0 <= a, b < shifts``, of the component images (1: none).
        The thresholds are those fitted on the unshifted transform.
    """

    def __init__(self, W, B, thresholds, wavelet, level, anscombe=False, shifts=1):
        self.W, self.B, self.thresholds = W, B, thresholds
        self.wavelet, self.level, self.anscombe, self.shifts = wavelet, level, anscombe, shifts

    @property
    def support(self):
        """Half-width in pixels of the spatial footprint of one output pixel (overlap needed by tiles)."""
        import pywt

        length = pywt.Wavelet(self.wavelet).dec_len
        return 2 * (length - 1) * (2**self.level - 1) + self.shifts - 1

    def apply(self, cube):
        """Denoise an in-memory cube (any array-API library) with the fitted parameters."""
        xp = get_namespace(cube)
        rows, cols, _ = cube.shape
        if self.anscombe:
            cube = 2.0 * xp.sqrt(xp.maximum(cube, xp.zeros_like(cube)) + 3.0 / 8.0)
        T = xp.astype(self.thresholds, cube.dtype)
        Z = component_images(xp, cube, self.W, self.level)
        X = shrink(xp, Z, T, self.wavelet, self.level, self.shifts)[:rows, :cols, :]
        out = spectral_project(xp, X, self.B)
        if self.anscombe:
            out = (out / 2.0) ** 2 - 1.0 / 8.0
        return xp.astype(out, cube.dtype)

    def apply_tiled(self, cube, *, overlap=None):
        """Denoise a Dask cube tile by tile (``map_overlap`` over the spatial chunks).

        The band axis must be one chunk; spatial chunk sizes and the overlap
        should be multiples of ``2**level`` so that tiles stay aligned with
        the wavelet grid. ``overlap`` defaults to :attr:`support` rounded up
        to a multiple of ``2**level``; the cube is extended periodically at
        its borders, as the periodized in-memory transform does. The result
        then equals :meth:`apply` of the whole cube (up to rounding) when
        its spatial sizes are multiples of ``2**level``.
        """
        import numpy as np

        step = 2**self.level
        depth = self.support if overlap is None else int(overlap)
        depth = step * math.ceil(depth / step)
        depth = min(depth, step * (min(cube.shape[0], cube.shape[1]) // step))  # Dask's bound: the array size
        if len(cube.chunks[2]) != 1:
            cube = cube.rechunk({2: -1})
        W, B, T = (np.asarray(a) for a in (self.W, self.B, self.thresholds))
        local = SubspaceShrinkage(W, B, T, self.wavelet, self.level, self.anscombe, self.shifts)
        dtype = cube.dtype if np.issubdtype(cube.dtype, np.floating) else np.float64
        return cube.map_overlap(local.apply, depth={0: depth, 1: depth, 2: 0}, boundary="periodic",
                                dtype=dtype, meta=np.empty((0, 0, 0), dtype=dtype))
