"""Shared pieces of the sparse Bayesian learning solvers.

Input checks for a dictionary and its measurements, the noise-variance
argument, and the Gaussian log marginal likelihood in its real and complex
forms.
"""

import math
import numbers

import numpy as np
from array_api_compat import is_array_api_obj

from .._backend import get_namespace, real_dtype, result_float_dtype
from .._validation import check_array, check_scalar

__all__ = ["check_measurements", "check_noise_var", "log_evidence", "initial_noise_var", "common_dtype",
           "as_array", "namespace_of"]


def check_measurements(y, n_rows, xp, dtype, name="y"):
    """Check ``y`` (finite, ``n_rows`` entries) and cast it to ``dtype``; returns a 1-D array."""
    y = check_array(y, name, xp=xp, allow_complex=True)
    size = math.prod(y.shape)
    if size != n_rows:
        raise ValueError(f"{name} has {size} entries but the dictionary has {n_rows} rows; they must match.")
    y = xp.reshape(y, (n_rows,))
    return y if y.dtype == dtype else xp.astype(y, dtype)


def check_noise_var(noise_var):
    """``None`` (estimate the noise) or a positive finite float."""
    if noise_var is None:
        return None
    if not isinstance(noise_var, numbers.Real) and getattr(noise_var, "ndim", None) != 0:
        raise TypeError(f"noise_var must be None or a positive real number, got {noise_var!r}.")
    return check_scalar(noise_var, "noise_var", lower=0.0, lower_inclusive=False)


def common_dtype(xp, *arrays):
    """Computation dtype of the arrays (float32/complex64 kept) and its real counterpart."""
    dtype = result_float_dtype(xp, *arrays)
    return dtype, real_dtype(dtype, xp)


def initial_noise_var(y, xp):
    """Starting noise variance ``0.1 var(y)`` (mean square when the variance vanishes)."""
    power = xp.mean(xp.abs(y - xp.mean(y)) ** 2)
    fallback = xp.mean(xp.abs(y) ** 2)
    value = float(power) if float(power) > 0 else float(fallback)
    return 0.1 * value if value > 0 else 1e-6


def log_evidence(logdet, quad, n, complex_):
    """Gaussian log marginal likelihood ``log N(y; 0, C)`` from ``log|C|`` and ``y^H C^-1 y``.

    Complex circular data use ``-(n log pi + log|C| + quad)``, real data
    ``-(n log 2 pi + log|C| + quad) / 2``.
    """
    if complex_:
        return -(n * math.log(math.pi) + logdet + quad)
    return -0.5 * (n * math.log(2.0 * math.pi) + logdet + quad)


def as_array(x):
    """``x`` itself when it is an array-API array, else a NumPy array (lists, tuples, scalars)."""
    if is_array_api_obj(x) or x is None:
        return x
    if isinstance(x, str):
        raise TypeError("expected a numeric array, got a string.")
    return np.asarray(x)


def namespace_of(*arrays):
    """Array namespace of the arguments after :func:`as_array`; mixing libraries raises ``TypeError``."""
    return get_namespace(*[as_array(a) for a in arrays])
