"""Test images from scikit-image's bundled (offline) set, scaled to ``[0, 1]``."""

import numbers

import numpy as np

from .._validation import check_option, check_scalar

__all__ = ["IMAGES", "load_image"]

#: Names accepted by :func:`load_image`: the images scikit-image ships in its wheel
#: (the others in ``skimage.data`` are downloaded on first use and fail offline).
IMAGES = ("camera", "astronaut", "coins", "moon", "brick", "grass", "gravel", "text", "shepp_logan_phantom")
_ALIASES = {"cameraman": "camera"}


def load_image(name, size=None, dtype=np.float64):
    """A grayscale test image with values in ``[0, 1]``.

    Parameters
    ----------
    name : str
        One of :data:`IMAGES` (``"cameraman"`` is accepted for ``"camera"``).
        ``"astronaut"`` is converted from RGB to luminance.
    size : int or tuple of two int, optional
        Output shape (an int gives a square image). The image is resized by
        bilinear interpolation with anti-aliasing (``skimage.transform.resize``)
        and clipped to ``[0, 1]``. Default: the original size (512 x 512 for
        camera).
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Floating dtype of the result.

    Returns
    -------
    ndarray of shape ``size`` (or the original shape)
        Host NumPy array; move it to a device explicitly if needed.
    """
    from skimage import (  # scikit-image: a test/example dependency only
        color,
        data,
        transform,
    )

    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {name!r}.")
    name = check_option(_ALIASES.get(name, name), "image name", IMAGES)
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}.")
    img = getattr(data, name)()
    if img.ndim == 3:
        img = color.rgb2gray(img)  # already in [0, 1]
    elif img.dtype == np.uint8:
        img = img / 255.0
    img = np.asarray(img, dtype=np.float64)
    if size is not None:
        if isinstance(size, numbers.Integral):
            shape = (size, size)
        elif isinstance(size, (tuple, list)):
            shape = tuple(size)
        else:
            raise TypeError(f"size must be an int or a pair of ints, got {size!r}.")
        if len(shape) != 2:
            raise ValueError(f"size must be an int or a pair of ints, got {size!r}.")
        shape = tuple(check_scalar(s, "size", kind=numbers.Integral, lower=1) for s in shape)
        if shape != img.shape:
            img = np.clip(transform.resize(img, shape, order=1, anti_aliasing=True), 0.0, 1.0)
    return img.astype(dtype, copy=False)
