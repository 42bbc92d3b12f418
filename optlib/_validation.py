"""Argument checks with precise messages.

Every error names the argument and says what was wrong. Arrays are never
modified: coercion returns new arrays (or the input itself when nothing had to
change, which callers must treat as read-only).
"""

import numbers

from ._backend import get_namespace

__all__ = [
    "check_array",
    "check_finite",
    "check_shape",
    "check_scalar",
    "check_option",
    "check_random_state",
]


def check_finite(x, name, xp=None):
    """Raise ``ValueError`` if ``x`` holds NaN or infinity."""
    xp = get_namespace(x) if xp is None else xp
    if not bool(xp.all(xp.isfinite(x))):
        n_nan = int(xp.sum(xp.astype(xp.isnan(x), xp.int64)))
        kind = "NaN" if n_nan else "infinite"
        raise ValueError(f"{name} contains {kind} values; all entries must be finite.")
    return x


def check_array(x, name, *, xp=None, ndim=None, dtype="float", allow_complex=False, finite=True, min_size=1):
    """Convert ``x`` to an array of a floating dtype and check it.

    Parameters
    ----------
    x : array_like
        Input. Lists and scalars become arrays of namespace ``xp`` (NumPy by default).
    name : str
        Argument name used in error messages.
    xp : namespace, optional
        Target namespace; inferred from ``x`` when it is an array.
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions.
    dtype : "float" or dtype
        ``"float"`` keeps float32/float64 (and complex when ``allow_complex``)
        and casts integers and booleans to float64.
    allow_complex : bool
        Accept complex input.
    finite : bool
        Reject NaN and infinity.
    min_size : int
        Minimum number of elements.
    """
    if isinstance(x, str):
        raise TypeError(f"{name} must be a numeric array, got a string.")
    if xp is None:
        try:
            xp = get_namespace(x)
        except TypeError:
            xp = get_namespace()
    try:
        arr = xp.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array: {exc}") from None
    if xp.isdtype(arr.dtype, "complex floating"):
        if not allow_complex:
            raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}.")
    elif not xp.isdtype(arr.dtype, ("real floating", "integral", "bool")):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}.")
    if dtype == "float":
        if not xp.isdtype(arr.dtype, ("real floating", "complex floating")):
            arr = xp.astype(arr, xp.float64)
    elif arr.dtype != dtype:
        arr = xp.astype(arr, dtype)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(d) for d in allowed)
            raise ValueError(f"{name} must be {want}-dimensional, got shape {tuple(arr.shape)}.")
    size = 1
    for s in arr.shape:
        size *= s
    if size < min_size:
        raise ValueError(f"{name} must have at least {min_size} element(s), got shape {tuple(arr.shape)}.")
    if finite:
        check_finite(arr, name, xp)
    return arr


def check_shape(x, shape, name):
    """Raise ``ValueError`` unless ``x.shape`` matches ``shape`` (``None`` = any size)."""
    actual = tuple(x.shape)
    ok = len(actual) == len(shape) and all(s is None or s == a for s, a in zip(shape, actual))
    if not ok:
        dims = ["any" if s is None else str(s) for s in shape]
        want = "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
        raise ValueError(f"{name} has shape {actual}, expected {want}.")
    return x


def check_scalar(value, name, *, kind=numbers.Real, lower=None, upper=None, lower_inclusive=True, upper_inclusive=True):
    """Validate a scalar parameter: type, finiteness and bounds.

    Returns the value converted to ``float`` (or ``int`` when ``kind`` is
    ``numbers.Integral``).
    """
    if isinstance(value, bool) or not isinstance(value, kind):
        try:  # accept 0-d arrays
            if getattr(value, "ndim", None) == 0:
                value = value.item()
        except AttributeError:
            pass
    if isinstance(value, bool) or not isinstance(value, kind):
        expected = "an integer" if issubclass(kind, numbers.Integral) else "a real number"
        raise TypeError(f"{name} must be {expected}, got {value!r}.")
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    if lower is not None and (value < lower or (value == lower and not lower_inclusive)):
        op = ">=" if lower_inclusive else ">"
        raise ValueError(f"{name} must be {op} {lower}, got {value!r}.")
    if upper is not None and (value > upper or (value == upper and not upper_inclusive)):
        op = "<=" if upper_inclusive else "<"
        raise ValueError(f"{name} must be {op} {upper}, got {value!r}.")
    return int(value) if issubclass(kind, numbers.Integral) else float(value)


def check_option(value, name, options):
    """Raise ``ValueError`` unless ``value`` is one of ``options``."""
    if value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise ValueError(f"Unknown {name} {value!r}; expected one of {listed}.")
    return value


def check_random_state(random_state):
    """NumPy ``Generator`` from ``None``, an int, a ``Generator`` or a ``RandomState``."""
    import numpy as np

    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**32 - 1))
    if random_state is None or isinstance(random_state, numbers.Integral):
        if random_state is not None and random_state < 0:
            raise ValueError(f"random_state must be a nonnegative int, got {random_state!r}.")
        return np.random.default_rng(random_state)
    raise TypeError(
        "random_state must be None, a nonnegative int, a numpy Generator or a RandomState, "
        f"got {random_state!r}."
    )
