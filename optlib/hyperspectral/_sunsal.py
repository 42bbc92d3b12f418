"""SUnSAL: sparse unmixing by variable splitting and augmented Lagrangian (Bioucas-Dias and Figueiredo, 2010).

For pixels ``Y`` (pixels, bands) and a spectral library ``D`` (m, bands),
with abundances ``X`` (pixels, m) and ``Y ~ X D``::

    min_X  1/2 ||Y - X D||_F^2 + lam ||X||_1    s.t.  X >= 0,  X 1 = 1 (optional)

is solved by the generic scaled ADMM :func:`optlib.optimize.admm` with the
splitting ``f(X) = 1/2 ||Y - X D||^2 (+ sum-to-one)``, ``g(Z) = lam ||Z||_1
(+ Z >= 0)``: the x-update is the closed-form prox of ``f``, batched over
pixels through the library Gram ``D D^T`` (one ``m x m`` inverse per value of
``rho``), and the z-update a nonnegative soft threshold.
"""

import math
import numbers

from .._backend import device, get_namespace, to_namespace
from .._result import STATUS_CONVERGED, make_result
from .._validation import check_scalar
from ..functions import L1, Function
from ..functions._utils import check_step
from ._unmixing import _gram

__all__ = ["sunsal"]


class _LibraryLeastSquares(Function):
    """``1/2 ||Y - X D||_F^2`` over ``X`` (pixels, m), restricted to ``X 1 = 1`` when ``sum_to_one``.

    ``G = D D^T`` and ``B = Y D^T`` are given. The prox at ``V`` with step
    ``t`` solves ``X (G + I / t) = B + V / t`` (plus a multiplier on the
    sum-to-one rows); the inverse of ``G + I / t`` is cached per step.
    """

    is_convex = True

    def __init__(self, G, B, yy, sum_to_one):
        self.G, self.B, self.yy, self.sum_to_one = G, B, yy, sum_to_one
        self._step = None
        self._inv = None

    def __call__(self, X):
        xp = get_namespace(X)
        # 1/2 ||Y - X D||^2 = 1/2 ||Y||^2 - <X, B> + 1/2 <X G, X>
        return float(0.5 * self.yy - xp.sum(X * self.B) + 0.5 * xp.sum((X @ self.G) * X))

    def prox(self, V, step=1.0):
        xp = get_namespace(V)
        step = check_step(step)
        if step != self._step:
            m = self.G.shape[0]
            eye = xp.eye(m, dtype=self.G.dtype, device=device(self.G))
            self._inv = xp.linalg.inv(self.G + eye / step)
            self._row = xp.sum(self._inv, axis=0)  # 1^T K (K symmetric)
            self._step = step
        X = (self.B + V / step) @ self._inv
        if self.sum_to_one:  # X <- X - (X 1 - 1) (1^T K 1)^{-1} 1^T K
            excess = xp.sum(X, axis=1, keepdims=True) - 1.0
            X = X - excess * (self._row / xp.sum(self._row))[None, :]
        return X


class _NonnegativeL1(Function):
    """``lam * sum(x)`` on ``x >= 0`` (``inf`` elsewhere); prox ``max(v - step lam, 0)``."""

    is_separable = True

    def __init__(self, lam):
        self.lam = lam

    def __call__(self, x):
        xp = get_namespace(x)
        if bool(xp.any(x < 0)):
            return math.inf
        return self.lam * float(xp.sum(x))

    def prox(self, v, step=1.0):
        xp = get_namespace(v)
        return xp.clip(v - self.lam * check_step(step), 0.0, None)


def sunsal(Y, library, *, lam=0.0, sum_to_one=False, nonnegative=True, rho=None, x0=None, tol=1e-4,
           max_iter=1000, callback=None, history=False, verbose=False):
    """Sparse unmixing of every pixel of ``Y`` on a spectral library by ADMM (SUnSAL).

    Solves ``min_X 1/2 ||Y - X D||_F^2 + lam ||X||_1`` subject to ``X >= 0``
    (``nonnegative``) and ``X 1 = 1`` (``sum_to_one``), all pixels at once,
    with :func:`optlib.optimize.admm` (see the module docstring).

    Parameters
    ----------
    Y : array of shape (rows, cols, bands), (pixels, bands) or (bands,)
        Pixels; NaN raises ``ValueError``.
    library : array of shape (m, bands)
        Library spectra ``D`` as rows (may hold many more spectra than
        bands). Moved explicitly to ``Y``'s namespace, device and dtype.
    lam : float >= 0
        Weight of the l1 penalty (in the units of ``1/2 ||Y - X D||^2``:
        data units squared; see Notes).
    sum_to_one : bool
        Impose the abundance sum-to-one constraint (ASC). With
        ``nonnegative=True`` as well this is FCLS whatever ``lam`` (the l1
        norm of a feasible pixel is 1, so ``lam`` only adds ``lam`` per pixel
        to ``fun``).
    nonnegative : bool
        Impose ``X >= 0`` (ANC); otherwise the penalty is a plain l1.
    rho : float > 0, optional
        ADMM penalty; ``0.05 trace(D D^T) / m`` by default (relative to the
        library's scale).
    x0 : array of shape ``Y.shape[:-1] + (m,)``, optional
        Starting abundances (zeros by default).
    tol, max_iter, callback, history, verbose
        As in :func:`optlib.optimize.admm` (relative primal and dual
        residuals below ``tol``). The callback's and the history's ``rho``
        and ``objective`` are in data units; the ``verbose`` lines show the
        scaled problem's (see Notes).

    Returns
    -------
    OptimizeResult
        ``x``: the abundances, shape ``Y.shape[:-1] + (m,)``, in ``Y``'s
        namespace, device and dtype. They are the split variable ``z`` of
        ADMM, so they satisfy ``X >= 0`` exactly and the sum-to-one
        constraint up to the primal residual. ``fun`` (objective at ``x``),
        ``nit``, ``success``, ``status``, ``message``, ``rho``,
        ``primal_residual``, ``dual_residual``, ``history``. When
        ``lam`` is large enough for ``X = 0`` to satisfy the optimality
        conditions of every pixel (no sum-to-one), that exact solution comes
        back at once (``nit=0``). At
        ``max_iter`` a ``ConvergenceWarning`` is emitted and the last
        iterate returned (``success=False``).

    Notes
    -----
    Units: ``fun`` and the objective are in the units of ``Y`` squared,
    ``lam`` in those of ``Y`` times ``library``, ``rho`` in those of
    ``library`` squared (all data units squared when ``Y`` and ``library``
    share them, the abundances then having none), the abundances in those
    of ``Y`` over ``library``. The
    solve runs on ``Y`` and ``library`` divided by a power of two near the
    library's peak (exact), with ``lam`` and ``rho`` divided by its square,
    and ``rho``, ``fun`` and the objective are multiplied back: a cube and
    library scaled together by ``s`` (1e-300, 1e200, ...) give the same
    abundances, iterations and residuals, and ``lam``, ``rho``, ``fun``
    scaled by ``s^2`` (which overflow or vanish when ``s^2`` lies beyond the
    float64 range: ``lam=0`` and the default ``rho`` stay usable there).
    A library far from the cube's scale (for example reflectances in
    ``[0, 1]`` with a cube of 1e-300) makes abundances of that order, whose
    squares vanish in the residual norms.
    """
    from ..optimize import admm

    lam = check_scalar(lam, "lam", lower=0.0)
    # computed on Y and D divided by D's unit (a power of two: exact), so that data near the float64
    # limits neither overflow nor vanish in D D^T; lam and rho (data units squared) go in divided by
    # unit^2, and rho and the objective come back multiplied by it
    xp, D, G, B, shape, unit_array = _gram(Y, library, in_units_of_E=True)
    unit = float(unit_array)

    def to_data_units(value):  # value * unit^2, in two steps: unit^2 alone may over- or underflow
        return value * unit * unit

    flat = xp.reshape(Y, (-1, Y.shape[-1])) / unit_array
    f = _LibraryLeastSquares(G, B, float(xp.sum(flat * flat)), bool(sum_to_one))
    lam_scaled = lam / unit / unit
    # with both constraints ||x||_1 = 1 for every feasible pixel: lam only shifts the objective, and
    # leaving it in g would stall ADMM at z = 0 (far from the simplex) for large lam
    g = _NonnegativeL1(0.0 if sum_to_one else lam_scaled) if nonnegative else L1(lam_scaled)
    m = D.shape[0]
    if rho is None:
        rho = max(0.05 * float(xp.sum(D * D)) / m, 1e-300)
    else:
        rho = check_scalar(rho, "rho", lower=0.0, lower_inclusive=False) / unit / unit
    if x0 is None:
        x0 = xp.zeros(B.shape, dtype=B.dtype, device=device(B))
    else:
        x0 = to_namespace(x0, xp, device=device(B))  # host starts move explicitly to Y's device
        if tuple(x0.shape) != shape:
            raise ValueError(f"x0 has shape {tuple(x0.shape)}, expected {shape}.")
        x0 = xp.reshape(xp.astype(x0, B.dtype), B.shape)
    max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=1)

    def fun(Z):  # the objective in data units
        return to_data_units(f(Z)) + lam * float(xp.sum(xp.abs(Z)))

    if not sum_to_one and lam > 0.0 and float(xp.max(B if nonnegative else xp.abs(B))) <= lam_scaled:
        # KKT at X = 0 (gradient -B + lam >= 0, or |B| <= lam): the exact solution, which ADMM's
        # relative primal residual ||x - z|| / ||x|| = 1 at z = 0 would never accept
        Z = xp.zeros(B.shape, dtype=B.dtype, device=device(B))
        extra = {"history": {}} if history else {}
        return make_result(xp.reshape(Z, shape), fun=fun(Z), nit=0, status=STATUS_CONVERGED, solver="sunsal",
                           rho=to_data_units(rho), primal_residual=0.0, dual_residual=0.0, **extra)

    def in_data_units(values):  # a callback's rho and objective (its residuals are relative)
        for key in ("rho", "objective"):
            values[key] = to_data_units(values[key])
        callback(values)

    res = admm(f, g, x0, rho=rho, tol=tol, max_iter=max_iter, history=history, verbose=verbose,
               callback=None if callback is None else in_data_units)
    if history:
        for key in ("rho", "objective"):
            res.history[key][:] = [to_data_units(v) for v in res.history[key]]
    Z = res.pop("z")
    del res["u"]
    res["x"] = xp.reshape(Z, shape)
    res["fun"] = fun(Z)
    res["rho"] = to_data_units(res["rho"])
    return res
