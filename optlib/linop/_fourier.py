"""FFT-based operators: circular convolution (blur) and subsampled Fourier (MRI)."""

import numbers

import numpy as np

from .._backend import device, get_namespace, is_complex
from .._validation import check_array, check_scalar
from ._base import LinearOperator, _as_shape
from ._mask import check_mask

__all__ = ["CircularConvolution", "SubsampledFourier", "gaussian_psf", "uniform_psf"]


def _axes(ndim):
    return tuple(range(ndim))


def _as_complex(xp, x):
    """``x`` as complex of its precision (the array API's ``fftn`` takes complex input)."""
    if is_complex(x, xp):
        return x
    return xp.astype(x, xp.complex64 if x.dtype == xp.float32 else xp.complex128)


def _psf_shape(size, ndim):
    if isinstance(size, numbers.Integral):
        size = (int(size),) * check_scalar(ndim, "ndim", kind=numbers.Integral, lower=1)
    return _as_shape(size, "size")


def uniform_psf(size, ndim=2):
    """Uniform (box) blur kernel of ``size`` (int or tuple), normalised to sum 1 (NumPy float64)."""
    shape = _psf_shape(size, ndim)
    return np.full(shape, 1.0 / np.prod(shape))


def gaussian_psf(size, sigma, ndim=2):
    """Gaussian blur kernel of ``size`` (int or tuple), standard deviation ``sigma`` pixels, sum 1.

    The kernel is centred at index ``size // 2`` along each axis, the centre
    :class:`CircularConvolution` assumes by default (NumPy float64).
    """
    shape = _psf_shape(size, ndim)
    sigma = check_scalar(sigma, "sigma", lower=0.0, lower_inclusive=False)
    grids = np.meshgrid(*[np.arange(s) - s // 2 for s in shape], indexing="ij")
    psf = np.exp(-sum(g.astype(float) ** 2 for g in grids) / (2 * sigma**2))
    return psf / psf.sum()


class CircularConvolution(LinearOperator):
    """Circular (periodic) convolution with a point-spread function, by FFT.

    ``A x = ifftn(H * fftn(x))`` where ``H`` is the transfer function of the
    PSF zero-padded to ``shape`` and rolled so that its centre sits at the
    origin. ``A^H`` multiplies by ``conj(H)``, and
    ``(A^H A + rho I)^{-1} v = ifftn(fftn(v) / (|H|^2 + rho))`` exactly
    (``has_normal_solve``). Real PSF and real input use real FFTs and give
    real output.

    Parameters
    ----------
    psf : array
        Kernel with as many dimensions as ``shape`` and no larger, in any
        namespace (the transfer function is computed there and moved to the
        input's namespace and device on first use).
    shape : tuple of int
        Shape of the images.
    center : tuple of int, optional
        Index of the kernel's centre; ``psf.shape[i] // 2`` by default.
    """

    has_normal_solve = True

    def __init__(self, psf, shape, *, center=None):
        shape = _as_shape(shape, "shape")
        xp = get_namespace(psf) if hasattr(psf, "dtype") else get_namespace()
        psf = check_array(psf, "psf", xp=xp, allow_complex=True)
        if psf.ndim != len(shape) or any(k > s for k, s in zip(psf.shape, shape)):
            raise ValueError(
                f"psf has shape {tuple(psf.shape)}; it needs {len(shape)} dimensions, none larger than shape {shape}."
            )
        center = tuple(k // 2 for k in psf.shape) if center is None else _as_shape_index(center, psf.shape)
        super().__init__(shape, shape, psf.dtype)
        self.psf = psf
        self.center = center
        kernel = xp.zeros(shape, dtype=psf.dtype, device=device(psf))
        kernel[tuple(slice(0, k) for k in psf.shape)] = psf
        kernel = xp.roll(kernel, shift=tuple(-c for c in center), axis=_axes(len(shape)))
        self._transfer = xp.fft.fftn(_as_complex(xp, kernel))
        self._real = not is_complex(psf, xp)
        self._rtransfer = xp.fft.rfftn(kernel) if self._real else None

    def _use_real(self, x):
        return self._real and not is_complex(x, get_namespace(x))

    def _apply(self, x, conj):
        xp = get_namespace(x)
        axes = _axes(x.ndim)
        if self._use_real(x):
            H = self._param("rH", self._rtransfer, x)
            H = xp.conj(H) if conj else H
            return xp.fft.irfftn(xp.fft.rfftn(x) * H, s=self.input_shape, axes=axes)
        H = self._param("H", self._transfer, x, complex_=True)
        H = xp.conj(H) if conj else H
        return xp.fft.ifftn(xp.fft.fftn(_as_complex(xp, x)) * H)

    def _forward(self, x):
        return self._apply(x, conj=False)

    def _adjoint(self, y):
        return self._apply(y, conj=True)

    def _gain(self, like, real):
        """``|H|^2`` (real array, rfft layout when ``real``), cached."""
        name = "rH2" if real else "H2"
        key = (name, id(get_namespace(like)), str(device(like)), like.dtype)
        gain = self._cache.get(key)
        if gain is None:
            xp = get_namespace(like)
            H = self._param("rH" if real else "H", self._rtransfer if real else self._transfer, like,
                            complex_=None if real else True)
            gain = xp.real(H) ** 2 + xp.imag(H) ** 2
            self._cache[key] = gain
        return gain

    def normal(self, x):
        x = self._check(x, self.input_shape, "x")
        return self._filter(x, lambda gain: gain)

    def _solve_normal(self, rhs, rho):
        return self._filter(rhs, lambda gain: 1.0 / (gain + rho))

    def _filter(self, x, response):
        """Multiply the spectrum of ``x`` by ``response(|H|^2)``."""
        xp = get_namespace(x)
        if self._use_real(x):
            gain = response(self._gain(x, real=True))
            return xp.fft.irfftn(xp.fft.rfftn(x) * gain, s=self.input_shape, axes=_axes(x.ndim))
        gain = response(self._gain(x, real=False))
        return xp.fft.ifftn(xp.fft.fftn(_as_complex(xp, x)) * gain)


def _as_shape_index(center, shape):
    center = tuple(int(c) for c in center)
    if len(center) != len(shape) or any(not 0 <= c < k for c, k in zip(center, shape)):
        raise ValueError(f"center must be an index into the psf of shape {tuple(shape)}, got {center!r}.")
    return center


class SubsampledFourier(LinearOperator):
    """Orthonormal n-d FFT followed by a sampling mask (MRI-type measurements).

    ``A x = m * fftn(x, norm="ortho")`` with ``m`` in {0, 1} given in the
    FFT's natural (unshifted) frequency layout; the output keeps the input's
    shape with zeros at unsampled frequencies. The operator is complex:
    ``A^H y = ifftn(m * y, norm="ortho")`` is complex, and
    ``(A^H A + rho I)^{-1} v = ifftn(fftn(v) / (m + rho))`` exactly.

    Parameters
    ----------
    mask : array of bool or {0, 1}
        Sampled frequencies, of the image's shape.
    """

    has_normal_solve = True

    def __init__(self, mask):
        m = check_mask(mask)
        super().__init__(tuple(m.shape), tuple(m.shape), np.complex128)
        self.mask = m

    def _weights(self, like):
        return self._param("mask", self.mask, like, complex_=False)

    def _forward(self, x):
        xp = get_namespace(x)
        return xp.fft.fftn(_as_complex(xp, x), norm="ortho") * self._weights(x)

    def _adjoint(self, y):
        xp = get_namespace(y)
        return xp.fft.ifftn(_as_complex(xp, y) * self._weights(y), norm="ortho")

    def _solve_normal(self, rhs, rho):
        xp = get_namespace(rhs)
        spectrum = xp.fft.fftn(_as_complex(xp, rhs), norm="ortho")
        return xp.fft.ifftn(spectrum / (self._weights(rhs) + rho), norm="ortho")
