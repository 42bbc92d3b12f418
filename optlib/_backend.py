"""Array namespace, device and dtype helpers, exact power-of-two scaling, and the numba switch.

Every public solver starts with ``xp = get_namespace(*arrays)`` and does its
array work through ``xp``, so that NumPy, CuPy and any array-API-conforming
library work alike. Hot loops that do not vectorize get a numba kernel, used
only for NumPy inputs; :func:`use_numba` decides, honouring the
``OPTLIB_DISABLE_NUMBA`` environment variable so tests can compare both paths.

Host/device moves are never implicit: :func:`to_host` and :func:`to_namespace`
are the only places that copy between them.
"""

import os
from importlib.util import find_spec

import numpy as np
from array_api_compat import array_namespace
from array_api_compat import device as _device
from array_api_compat import is_array_api_obj, is_cupy_namespace, is_numpy_namespace

__all__ = [
    "get_namespace",
    "device",
    "is_numpy_namespace",
    "is_cupy_namespace",
    "is_non_numpy_array",
    "to_host",
    "to_namespace",
    "result_float_dtype",
    "real_dtype",
    "scale_by_power_of_two",
    "is_complex",
    "numba_available",
    "use_numba",
    "ENGINES",
]

ENGINES = ("auto", "numba", "xp")
_NUMBA_ENV = "OPTLIB_DISABLE_NUMBA"


def get_namespace(*arrays):
    """Return the array-API namespace shared by ``arrays``.

    ``None`` entries and Python scalars are ignored; with no array left the
    NumPy namespace is returned. Mixing libraries (e.g. NumPy and CuPy)
    raises ``TypeError``.
    """
    arrays = [a for a in arrays if a is not None and not isinstance(a, (int, float, complex, bool))]
    if not arrays:
        return array_namespace(np.empty(0))
    return array_namespace(*arrays)


def device(x):
    """Device on which array ``x`` lives."""
    return _device(x)


def is_non_numpy_array(x):
    """True for array-API arrays of another library than NumPy (CuPy, array_api_strict, ...).

    Such arrays keep their namespace and device; everything else (NumPy
    arrays, lists, scalars, DataFrames) is host data.
    """
    return is_array_api_obj(x) and not isinstance(x, np.ndarray)


def to_host(x):
    """Copy ``x`` to a NumPy array on the host (explicit transfer).

    CuPy arrays are copied with ``.get()``; other host-readable arrays go
    through DLPack, which also reads a CPU array that its library places on a
    non-default device (where ``np.asarray`` refuses, as array_api_strict
    does). The result may share memory with ``x``: treat it as read-only.
    """
    if isinstance(x, np.ndarray):
        return x
    xp = get_namespace(x)
    if is_cupy_namespace(xp):
        return x.get()
    if hasattr(x, "__dlpack__"):
        return np.from_dlpack(x)
    return np.asarray(x)


def to_namespace(x, xp, device=None):
    """Copy host array ``x`` into namespace ``xp`` on ``device`` (explicit transfer)."""
    if is_numpy_namespace(xp):
        return np.asarray(x)
    if device is None:
        return xp.asarray(x)
    return xp.asarray(x, device=device)


def is_complex(x, xp=None):
    """Whether ``x`` has a complex floating dtype."""
    xp = get_namespace(x) if xp is None else xp
    return xp.isdtype(x.dtype, "complex floating")


def real_dtype(dtype, xp):
    """Real floating dtype matching ``dtype`` (complex64 -> float32, ...)."""
    if dtype == xp.complex64 or dtype == xp.float32:
        return xp.float32
    return xp.float64


def result_float_dtype(xp, *arrays):
    """Floating dtype for computations on ``arrays``.

    float32 when every floating input is float32 (complex64 when any input is
    complex and all are single precision); float64 otherwise, including for
    integer inputs. Complex inputs give a complex result dtype.
    """
    single = True
    complex_ = False
    for a in arrays:
        if a is None:
            continue
        dt = a.dtype
        if xp.isdtype(dt, "complex floating"):
            complex_ = True
            single &= dt == xp.complex64
        elif xp.isdtype(dt, "real floating"):
            single &= dt == xp.float32
        else:
            single = False
    if complex_:
        return xp.complex64 if single else xp.complex128
    return xp.float32 if single else xp.float64


def scale_by_power_of_two(a, e):
    """``a * 2**e`` without forming ``2**e`` (which overflows past ``e = 1023``): exact for normal results.

    ``e = 0`` returns ``a`` itself (no copy). The solvers that work in
    power-of-two units of their data (completion, ssim) scale with it.
    """
    if e == 0:
        return a
    half = e // 2
    return (a * 2.0**half) * 2.0 ** (e - half)


def numba_available():
    """True when numba is importable and not disabled by ``OPTLIB_DISABLE_NUMBA``."""
    if os.environ.get(_NUMBA_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    return find_spec("numba") is not None


def use_numba(xp, engine="auto"):
    """Decide whether a numba kernel runs for namespace ``xp``.

    Parameters
    ----------
    xp : namespace
        Namespace of the inputs; numba kernels only run on NumPy arrays.
    engine : {"auto", "numba", "xp"}
        ``"auto"`` uses numba when available for NumPy inputs, ``"xp"`` forces
        the vectorized array-API path, ``"numba"`` requires numba and NumPy.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}.")
    if engine == "xp":
        return False
    numpy_input = is_numpy_namespace(xp)
    if engine == "numba":
        if not numpy_input:
            raise ValueError("engine='numba' requires NumPy arrays; use engine='xp' for other array libraries.")
        if not numba_available():
            raise ValueError(f"engine='numba' requested but numba is unavailable or disabled by {_NUMBA_ENV}.")
        return True
    return numpy_input and numba_available()
