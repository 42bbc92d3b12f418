"""Shared checks of the denoisers: the noise level and real-valued images."""

from .._backend import get_namespace, is_numpy_namespace
from .._validation import check_array, check_scalar

__all__ = ["check_host", "check_image", "check_sigma"]


def check_sigma(sigma):
    """The noise standard deviation as a float; negative or non-finite values raise ``ValueError``."""
    return check_scalar(sigma, "sigma", lower=0.0)


def check_image(x, cls, ndims=(2, 3)):
    """``x`` as a real floating array of namespace ``xp``: ``(x, xp)``.

    Complex input raises a ``TypeError`` that points to
    :class:`~optlib.imaging.MagnitudeDenoiser`; a number of dimensions
    outside ``ndims`` raises ``ValueError``. Integer input becomes float64.
    """
    xp = get_namespace(x)
    x = check_array(x, "x", xp=xp, allow_complex=True)
    if xp.isdtype(x.dtype, "complex floating"):
        raise TypeError(
            f"{cls} denoises real images, got complex x (dtype {x.dtype}); to denoise the "
            f"magnitude and keep the phase use MagnitudeDenoiser({cls}(...))."
        )
    if x.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{cls} needs a {want} array x, got shape {tuple(x.shape)}.")
    return x, xp


def check_host(xp, cls, package):
    """Raise ``TypeError`` unless ``xp`` is NumPy: the denoiser runs ``package`` on the host."""
    if not is_numpy_namespace(xp):
        raise TypeError(
            f"{cls} runs {package} on the host and needs a NumPy array, got an array of "
            f"{xp.__name__}; copy it explicitly (optlib._backend.to_host) or use TVDenoiser, "
            "which runs on any array library."
        )
