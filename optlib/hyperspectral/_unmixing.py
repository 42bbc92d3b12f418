"""Per-pixel least-squares unmixing with known endmembers: FCLS, NNLS and UCLS, batched over pixels.

For a pixel ``y`` (bands,) and endmembers ``E`` (p, bands), the abundances
``a`` (p,) minimise ``0.5 ||y - E^T a||^2``:

- UCLS: unconstrained, ``a = (E E^T)^+ E y`` (pseudo-inverse: minimum norm);
- NNLS: subject to ``a >= 0`` (abundance nonnegativity, ANC);
- FCLS: subject to ``a >= 0`` and ``sum(a) = 1`` (ANC and ASC).

All pixels share ``G = E E^T``; the data enter through ``B = Y E^T`` (one
matrix product), so a pixel costs ``O(p^3)`` per iteration whatever the
number of bands. NNLS and FCLS use a primal active-set method (Lawson-Hanson,
with the sum-to-one constraint kept in every subproblem), which ends at the
exact solution in finitely many steps: with numba, pixel by pixel in
parallel; otherwise (CuPy, or ``engine="xp"``) all pixels in lockstep with
batched ``p x p`` solves. Dask arrays are unmixed block by block (see
:func:`unmix`).
"""

import math
import numbers

from .._backend import device, get_namespace, use_numba
from .._result import warn_convergence
from .._validation import check_array, check_option, check_scalar
from ..decomposition._sparse_coding import _as_like
from ._denoise_common import data_unit

__all__ = ["unmix", "fcls", "nnls", "ucls", "METHODS"]

METHODS = ("fcls", "nnls", "ucls")
_DEFAULT_TOL = {4: 1e-5, 8: 1e-10}  # by itemsize: float32, float64


def _is_dask(x):
    from array_api_compat import is_dask_array

    return is_dask_array(x)


def _gram(Y, endmembers, *, in_units_of_E=False):
    """Validated ``(xp, E, G, B, shape, unit)``: ``G = E E^T``, ``B = Y E^T`` with pixels as rows.

    With ``in_units_of_E``, ``Y`` and ``E`` are first divided by ``unit``,
    the :func:`data_unit` of ``E`` (least-squares abundances do not depend
    on it), so that data near the float64 limits neither overflow nor
    vanish in the products; otherwise ``unit`` is None.
    """
    xp = get_namespace(Y)
    Y = check_array(Y, "Y", xp=xp, ndim=(1, 2, 3))
    E = _as_like(endmembers, Y, xp, "endmembers")
    if E.shape[1] != Y.shape[-1]:
        raise ValueError(
            f"Y has {Y.shape[-1]} bands (last axis) but endmembers has {E.shape[1]} (columns); they must match."
        )
    flat = xp.reshape(Y, (-1, Y.shape[-1]))
    unit = None
    if in_units_of_E:
        unit = data_unit(xp, E)
        E, flat = E / unit, flat / unit
    return xp, E, E @ E.T, flat @ E.T, tuple(Y.shape[:-1]) + (E.shape[0],), unit


def _active_set_xp(G, B, sum_to_one, tol, max_iter):
    """Lawson-Hanson active set for all pixels (rows of ``B``) in lockstep.

    State per pixel: abundances ``a`` (feasible throughout) and the free set
    ``F``. A step either (i) after a subproblem solution that stayed
    feasible, checks the KKT multipliers ``lambda_j = g_j + mu`` of the
    fixed variables (``g = G a - b``, ``mu`` the sum-to-one multiplier,
    ``-mean(g_F)``): if all are ``>= -tol`` the pixel is done, else the most
    negative enters ``F``; then (ii) solves the equality-constrained
    subproblem on ``F`` (``z = z_1 + (1 - 1^T z_1) / (1^T z_2) z_2`` with
    ``G_FF z_1 = b_F``, ``G_FF z_2 = 1``) and moves towards it as far as
    feasibility allows, dropping the blocking variable. If the variable that
    just entered blocks at once, the pixel is optimal up to rounding.
    Returns ``(A, converged)``.
    """
    xp = get_namespace(B)
    dev, dt = device(B), B.dtype
    n, p = B.shape
    cols = xp.arange(p, device=dev)[None, :]
    eye = xp.eye(p, dtype=dt, device=dev)
    # the numba kernel's pivot floor, as a ridge: keeps G_FF invertible for collinear endmembers
    ridge = eye * (xp.finfo(dt).eps * xp.max(xp.sum(G * eye, axis=0)))
    inf = xp.asarray(math.inf, dtype=dt, device=dev)
    zero = xp.zeros((), dtype=dt, device=dev)
    if sum_to_one:  # start at the best vertex
        best = xp.argmin(0.5 * xp.sum(G * eye, axis=0)[None, :] - B, axis=1)
        free = cols == best[:, None]
    else:
        free = xp.zeros((n, p), dtype=xp.bool, device=dev)
    a = xp.astype(free, dt)
    done = xp.zeros(n, dtype=xp.bool, device=dev)
    need_kkt = xp.ones(n, dtype=xp.bool, device=dev)
    for it in range(max_iter):
        g = a @ G - B
        mu = zero
        if sum_to_one:
            mu = -xp.sum(xp.where(free, g, zero), axis=1, keepdims=True) / xp.sum(
                xp.astype(free, dt), axis=1, keepdims=True)
        lam = xp.where(free, inf, g + mu)
        entering = xp.argmin(lam, axis=1)
        kkt = need_kkt & ~done
        optimal = kkt & (xp.min(lam, axis=1) >= -tol)
        done = done | optimal
        add = kkt & ~optimal
        free = free | (add[:, None] & (cols == entering[:, None]))
        z = _solve_free(xp, G + ridge, B, free, eye, sum_to_one)
        neg = free & (z <= 0)
        safe = xp.where(a > z, a - z, xp.ones_like(a))
        ratio = xp.where(neg, xp.where(a > z, a / safe, zero), inf)
        blocking = xp.argmin(ratio, axis=1)
        feasible = ~xp.any(neg, axis=1)
        alpha = xp.where(feasible, xp.ones_like(ratio[:, 0]), xp.min(ratio, axis=1))[:, None]
        hit = cols == blocking[:, None]
        stall = ~done & add & ~feasible & (blocking == entering)
        moved = a + alpha * (z - a)
        new_free = xp.where(feasible[:, None], free, free & ~hit & (moved > 0))
        moved = xp.where(new_free, xp.where(feasible[:, None], z, moved), zero)
        update = (~done & ~stall)[:, None]
        a = xp.where(update, moved, a)
        free = xp.where(update, new_free, xp.where(stall[:, None], free & ~hit, free))
        done = done | stall
        need_kkt = feasible
        if it % 4 == 3 and bool(xp.all(done)):  # a device sync every fourth step only
            break
    return a, done


def _solve_free(xp, G, B, free, eye, sum_to_one):
    """Minimiser of every pixel's subproblem on its free set (zero outside), by batched solves."""
    dt = B.dtype
    zero = xp.zeros((), dtype=dt, device=device(B))
    one = xp.ones((), dtype=dt, device=device(B))
    M = xp.where(free[:, :, None] & free[:, None, :], G[None, :, :], zero) + xp.where(
        free, zero, one)[:, :, None] * eye[None, :, :]
    rhs = [xp.where(free, B, zero)]
    if sum_to_one:
        rhs.append(xp.where(free, one, zero))
    X = xp.linalg.solve(M, xp.stack(rhs, axis=2))
    z = X[:, :, 0]
    if sum_to_one:
        w = X[:, :, 1]
        z = z + ((1.0 - xp.sum(z, axis=1, keepdims=True)) / xp.sum(w, axis=1, keepdims=True)) * w
    return z


def _active_set(xp, G, B, *, sum_to_one, tol, max_iter, engine, n_threads):
    """Abundances of every row of ``B`` and the number of pixels that did not converge."""
    if use_numba(xp, engine):
        import numpy as np

        from ._unmixing_numba import active_set_parallel, active_set_serial

        B = np.ascontiguousarray(B)
        G = np.ascontiguousarray(G)
        out = np.empty_like(B)
        nit = np.empty(B.shape[0], dtype=np.int64)
        jitter = float(np.finfo(B.dtype).eps) * max(float(np.max(np.diag(G))), 1e-300)
        args = (G, B, sum_to_one, tol, jitter, max_iter, out, nit)
        if n_threads == 1:
            active_set_serial(*args)
        else:
            import numba

            previous = numba.get_num_threads()
            numba.set_num_threads(min(n_threads or previous, numba.config.NUMBA_NUM_THREADS))
            try:
                active_set_parallel(*args)
            finally:
                numba.set_num_threads(previous)
        return out, int(np.sum(nit < 0))
    A, done = _active_set_xp(G, B, sum_to_one, tol, max_iter)
    return A, int(xp.sum(xp.astype(~done, xp.int64)))


def unmix(Y, endmembers, *, method="fcls", engine="auto", tol=None, max_iter=None, n_threads=None):
    """Abundances of every pixel of ``Y`` for known endmembers (FCLS, NNLS or UCLS).

    Parameters
    ----------
    Y : array of shape (rows, cols, bands), (pixels, bands) or (bands,)
        NumPy, CuPy or any array-API array, or a Dask array (see Notes). Must
        be finite: NaN pixels raise ``ValueError`` (mask them out first).
        Negative values (noise) are accepted.
    endmembers : array of shape (p, bands)
        Endmember spectra as rows. Host arrays are copied explicitly to
        ``Y``'s device; the computation runs in ``Y``'s dtype.
    method : {"fcls", "nnls", "ucls"}
        Fully constrained (``a >= 0``, ``sum(a) = 1``), nonnegative, or
        unconstrained least squares (the minimum-norm solution when the
        endmembers are linearly dependent, e.g. more endmembers than bands).
    engine : {"auto", "numba", "xp"}
        Numba kernel (NumPy input) or the batched array-API path.
    tol : float, optional
        Optimality tolerance on the KKT multipliers, relative to the largest
        squared endmember norm; 1e-10 in float64 and 1e-5 in float32 by
        default.
    max_iter : int, optional
        Active-set steps per pixel (default ``10 p + 50``). Pixels that reach
        it keep their last (feasible) iterate, and a ``ConvergenceWarning``
        says how many they are.
    n_threads : int, optional
        Numba threads (default: numba's setting; ``1`` runs the serial
        kernel in the calling thread, which Dask blocks do by default).

    Returns
    -------
    array of shape ``Y.shape[:-1] + (p,)``
        In ``Y``'s namespace, device and dtype (a Dask array for Dask input).

    Notes
    -----
    A Dask array is rechunked to hold the band axis whole and unmixed with
    ``map_blocks``, chunk by chunk, so a cube larger than memory streams
    through. Each block runs the serial numba kernel unless ``n_threads`` is
    given: Dask's worker threads supply the parallelism, and numba's own
    threads would oversubscribe the cores. (With ``n_threads > 1`` a block
    sets ``numba.set_num_threads`` for its own thread; setting the
    environment variable ``NUMBA_NUM_THREADS`` of the workers caps it.)
    """
    check_option(method, "method", METHODS)
    if tol is not None:
        tol = check_scalar(tol, "tol", lower=0.0)
    if max_iter is not None:
        max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=1)
    if n_threads is not None:
        n_threads = check_scalar(n_threads, "n_threads", kind=numbers.Integral, lower=1)
    if _is_dask(Y):
        return _unmix_dask(Y, endmembers, method=method, engine=engine, tol=tol, max_iter=max_iter,
                           n_threads=n_threads)
    xp, E, G, B, shape, _ = _gram(Y, endmembers, in_units_of_E=True)
    if method == "ucls":  # minimum-norm solution when the endmembers are linearly dependent
        return xp.reshape(B @ xp.linalg.pinv(G), shape)
    p = E.shape[0]
    if tol is None:
        tol = _DEFAULT_TOL[8 if B.dtype == xp.float64 else 4]
    scale = float(xp.max(xp.sum(E * E, axis=1)))
    A, n_failed = _active_set(xp, G, B, sum_to_one=method == "fcls", tol=tol * scale,
                              max_iter=10 * p + 50 if max_iter is None else max_iter,
                              engine=engine, n_threads=n_threads)
    if n_failed:
        warn_convergence(f"{method}: {n_failed} of {B.shape[0]} pixels did not converge within max_iter "
                         "active-set steps; their last feasible iterate is returned.")
    return xp.reshape(A, shape)


def _unmix_dask(Y, endmembers, **options):
    """``unmix`` of a Dask array, block by block (band axis whole, endmembers on the host)."""
    import numpy as np

    from .._backend import to_host

    if Y.ndim not in (2, 3):
        raise ValueError(f"Y must be 2- or 3-dimensional, got shape {tuple(Y.shape)}.")
    E = check_array(to_host(endmembers) if not isinstance(endmembers, np.ndarray) else endmembers,
                    "endmembers", ndim=2)
    if E.shape[1] != Y.shape[-1]:
        raise ValueError(
            f"Y has {Y.shape[-1]} bands (last axis) but endmembers has {E.shape[1]} (columns); they must match."
        )
    if options["n_threads"] is None:
        options["n_threads"] = 1
    dtype = Y.dtype if Y.dtype in (np.float32, np.float64) else np.float64
    Y = Y.rechunk({Y.ndim - 1: -1})
    return Y.map_blocks(unmix, E, **options, dtype=dtype, chunks=Y.chunks[:-1] + ((E.shape[0],),),
                        meta=np.empty((0,) * Y.ndim, dtype=dtype))


def fcls(Y, endmembers, **options):
    """Fully constrained least squares: :func:`unmix` with ``method="fcls"``."""
    return unmix(Y, endmembers, method="fcls", **options)


def nnls(Y, endmembers, **options):
    """Nonnegative least squares: :func:`unmix` with ``method="nnls"``."""
    return unmix(Y, endmembers, method="nnls", **options)


def ucls(Y, endmembers, **options):
    """Unconstrained least squares: :func:`unmix` with ``method="ucls"``."""
    return unmix(Y, endmembers, method="ucls", **options)
