"""Input checks shared by the optimal-transport solvers (POT argument conventions)."""

from .._backend import device, get_namespace, result_float_dtype
from .._validation import check_array, check_scalar

__all__ = ["check_ot_inputs"]


def check_ot_inputs(a, b, M, *, reg=None, mass_rtol=1e-6, batch=False, balanced=True):
    """Validate histograms ``a``, ``b`` and cost ``M`` of an OT problem.

    Parameters
    ----------
    a, b : arrays of shape (n,) and (m,), or (B, n) and (B, m) when ``batch``
        Nonnegative weights. Empty ``a`` or ``b`` (size 0) mean uniform
        weights, as in POT.
    M : array of shape (n, m), or (B, n, m) when ``batch``
        Finite cost matrix.
    reg : float, optional
        Regularisation strength; checked to be finite and > 0 when given.
    mass_rtol : float
        Relative tolerance on ``sum(a) == sum(b)`` when ``balanced``.
    batch : bool
        Accept a leading batch dimension on all three arrays.
    balanced : bool
        Require equal total masses.

    Returns
    -------
    xp, a, b, M, reg
        Namespace and the validated arrays, all in one floating dtype
        (float32 only when every input is float32). Inputs are not modified.
    """
    extra = 1 if batch else 0
    M = check_array(M, "M", ndim=(2 + extra,) if not batch else (2, 3))
    xp = get_namespace(M)
    if batch and M.ndim == 2:
        raise ValueError(f"M must be 3-dimensional (B, n, m) for a batched problem, got shape {tuple(M.shape)}.")
    n, m = M.shape[-2:]
    a = _histogram(a, "a", n, M, xp, batch)
    b = _histogram(b, "b", m, M, xp, batch)
    dtype = result_float_dtype(xp, a, b, M)
    a, b, M = (xp.astype(v, dtype) if v.dtype != dtype else v for v in (a, b, M))
    if balanced:
        sa, sb = xp.sum(a, axis=-1), xp.sum(b, axis=-1)
        mismatch = xp.abs(sa - sb) > mass_rtol * xp.maximum(sa, sb)
        if bool(xp.any(mismatch)):
            raise ValueError(
                f"a and b must have equal total mass (relative tolerance {mass_rtol:g}); "
                f"got sum(a)={_first(sa, mismatch, xp)!r} and sum(b)={_first(sb, mismatch, xp)!r}."
            )
    if reg is not None:
        reg = check_scalar(reg, "reg", lower=0.0, lower_inclusive=False)
    return xp, a, b, M, reg


def _first(values, mask, xp):
    return float(values[xp.argmax(xp.astype(mask, xp.int32))]) if values.ndim else float(values)


def _histogram(w, name, size, M, xp, batch):
    shape = tuple(M.shape[:-2]) + (size,)
    if w is None or (hasattr(w, "shape") and 0 in tuple(w.shape)) or (isinstance(w, (list, tuple)) and len(w) == 0):
        return xp.full(shape, 1.0 / size, dtype=M.dtype, device=device(M))
    w = check_array(w, name, xp=xp, ndim=len(shape))
    if tuple(w.shape) != shape:
        raise ValueError(f"{name} has shape {tuple(w.shape)}, expected {shape} to match M of shape {tuple(M.shape)}.")
    if bool(xp.any(w < 0)):
        raise ValueError(f"{name} has negative weights; histograms must be nonnegative.")
    if bool(xp.any(xp.sum(w, axis=-1) <= 0)):
        raise ValueError(f"{name} has zero total mass.")
    return w
