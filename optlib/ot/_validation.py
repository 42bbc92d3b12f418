"""Input checks shared by the optimal-transport solvers (POT argument conventions)."""

from .._backend import device, get_namespace, result_float_dtype
from .._validation import check_array, check_scalar

__all__ = ["check_ot_inputs", "check_cost_scale"]


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


# Largest spacing of floating-point numbers near max|M| / reg, in units of the
# exponent, for which entropic potentials still resolve the plan: beyond it the
# sums log_u + log_v - M / reg that give the plan's logarithms carry rounding
# errors of order one (the plan's entries and masses are then meaningless).
_MAX_EXPONENT_ULP = 0.1


def check_cost_scale(M, reg, xp):
    """Reject an entropic problem whose exponents ``M / reg`` the dtype cannot resolve.

    The plan of entropic OT is ``exp(log_u + log_v - M / reg)`` with
    potentials of the size of ``M / reg``; in floating point these sums carry
    rounding errors of ``eps * max|M| / reg``. When that exceeds
    ``_MAX_EXPONENT_ULP`` (``max|M| / reg`` above about 4.5e14 in float64,
    8e5 in float32) no plan can be computed accurately, so a ``ValueError``
    says so instead of returning a plan with wrong masses.

    Parameters
    ----------
    M : array
        Validated cost matrix (or a stack of them).
    reg : float
        Validated entropic regularisation, > 0.
    xp : namespace
        Namespace of ``M``.
    """
    if M.shape[-1] * M.shape[-2] == 0:
        return
    eps = float(xp.finfo(M.dtype).eps)
    peak = float(xp.max(xp.abs(M)))
    if peak / reg * eps > _MAX_EXPONENT_ULP:
        limit = _MAX_EXPONENT_ULP / eps
        raise ValueError(
            f"max|M| / reg = {peak / reg:.3g} is too large for {M.dtype} potentials (at most {limit:.3g}): the plan "
            f"exp(log_u + log_v - M / reg) cannot be represented accurately. Increase reg, or, when "
            f"the costs are large but close together, subtract a constant from M (the plan does not change)."
        )


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
