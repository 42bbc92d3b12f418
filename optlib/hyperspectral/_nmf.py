"""L1/2-NMF (Qian, Jia, Zhou and Robles-Kelly, 2011): blind unmixing with an l1/2 sparsity prior.

With pixels as rows, ``Y`` (pixels, bands) ``~ A E``, ``A`` (pixels, p)
the abundances and ``E`` (p, bands) the endmembers::

    min_{A, E >= 0}  1/2 ||Y - A E||_F^2 + lam sum_{nk} a_nk^(1/2)

by the multiplicative updates

    E <- E * (A^T Y) / (A^T A E)
    A <- A * (Y_f E_f^T) / (A E_f E_f^T + lam/2 A^(-1/2))

where ``Y_f = [Y, delta 1]`` and ``E_f = [E, delta 1]`` carry the
sum-to-one constraint as an extra, heavily weighted band (a soft ASC), and
``A^(-1/2)`` is set to zero where ``A < 1e-3`` (as in the authors' code) so
that small abundances are not frozen at zero.
"""

import math
import numbers

from .._backend import device, get_namespace
from .._result import STATUS_CALLBACK, STATUS_CONVERGED, STATUS_MAX_ITER, STATUS_NUMERICAL, IterationMonitor, \
    make_result
from .._validation import check_array, check_option, check_random_state, check_scalar
from ._extraction import vca
from ._unmixing import unmix

__all__ = ["l_half_nmf", "sparseness_lambda"]

_TINY = 1e-12


def sparseness_lambda(Y):
    """Qian et al.'s data-driven l1/2 weight: the mean Hoyer sparseness of the bands over ``sqrt(bands)``.

    ``lam = 1/sqrt(L) sum_l (sqrt(N) - ||y_l||_1 / ||y_l||_2) / (sqrt(N) - 1)``
    for the ``L`` band images ``y_l`` of ``N`` pixels.
    """
    xp = get_namespace(Y)
    X = xp.reshape(Y, (-1, Y.shape[-1]))
    n, L = X.shape
    l1 = xp.sum(xp.abs(X), axis=0)
    l2 = xp.sqrt(xp.sum(X * X, axis=0))
    ratio = l1 / xp.where(l2 > 0, l2, xp.ones_like(l2))
    sn = math.sqrt(n)
    return float(xp.sum((sn - ratio) / max(sn - 1.0, _TINY))) / math.sqrt(L)


def init_vca_fcls(X, p, random_state):
    """Endmembers by VCA (clipped at zero) and abundances by FCLS: the starting point of the blind solvers."""
    xp = get_namespace(X)
    E = xp.clip(vca(X, p, random_state=random_state).endmembers, 0.0, None)
    return E, unmix(X, E, method="fcls")


def _start(X, p, init, random_state):
    """``(E, A)`` by ``init``: ``"vca"`` (VCA + FCLS), ``"random"`` (uniform E, Dirichlet-like A) or given arrays."""
    xp = get_namespace(X)
    if not isinstance(init, str):
        return check_init(xp, X, p, init)
    check_option(init, "init", ("vca", "random"))
    if init == "vca":
        return init_vca_fcls(X, p, random_state)
    rng = check_random_state(random_state)
    n, L = X.shape
    dt, dev = X.dtype, device(X)
    host = "float32" if dt == xp.float32 else "float64"
    scale = float(xp.max(X))
    E = xp.asarray(rng.uniform(0.0, max(scale, _TINY), size=(p, L)).astype(host), device=dev)
    A = xp.asarray(rng.uniform(0.0, 1.0, size=(n, p)).astype(host), device=dev)
    return E, A / xp.sum(A, axis=1, keepdims=True)


def _check_blind(Y, n_endmembers, max_iter, tol):
    xp = get_namespace(Y)
    Y = check_array(Y, "Y", xp=xp, ndim=(2, 3))
    X = xp.reshape(Y, (-1, Y.shape[-1]))
    p = check_scalar(n_endmembers, "n_endmembers", kind=numbers.Integral, lower=1)
    if p > min(X.shape):
        raise ValueError(f"n_endmembers={p} exceeds min(pixels, bands) = {min(X.shape)} of Y.")
    max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=1)
    tol = check_scalar(tol, "tol", lower=0.0)
    return xp, Y, X, p, max_iter, tol


def l_half_nmf(Y, n_endmembers, *, lam=None, delta=15.0, init="vca", max_iter=1000, tol=1e-5, check_every=10,
               callback=None, history=False, verbose=False, random_state=None):
    """Blind unmixing by L1/2-sparsity-constrained NMF with multiplicative updates (see the module docstring).

    Parameters
    ----------
    Y : array of shape (rows, cols, bands) or (pixels, bands)
        Reflectances; negative values (noise) are set to zero, since the
        multiplicative updates need nonnegative data.
    n_endmembers : int
    lam : float >= 0, optional
        Weight of the l1/2 penalty; :func:`sparseness_lambda` of ``Y`` by
        default (the authors' rule, in the units of reflectances near 1).
    delta : float > 0
        Weight of the sum-to-one band (larger: the ASC is closer to exact).
    init : {"vca", "random"} or tuple (endmembers, abundances)
        VCA + FCLS, random ``E`` and ``A`` (``random_state``), or given
        arrays of shapes (p, bands) and (pixels, p) (e.g. the start of
        :func:`rrlbs`, for a comparison from the same point).
    max_iter : int
    tol : float
        Stop when the objective decreased by less than ``tol`` (relative)
        over the last ``check_every`` iterations.
    check_every : int
        Iterations between objective evaluations (and history records).
    callback, history, verbose
        As in :func:`optlib.optimize.proxgrad`; history records
        ``objective`` every ``check_every`` iterations.
    random_state : None, int or Generator

    Returns
    -------
    OptimizeResult
        ``endmembers`` (p, bands), ``abundances`` (``Y.shape[:-1] + (p,)``),
        ``x`` (the abundances), ``fun``, ``nit``, ``success``, ``status``,
        ``message``, ``lam``, ``history``. Reaching ``max_iter`` warns
        (``ConvergenceWarning``) and returns the last iterate.
    """
    xp, Y, X, p, max_iter, tol = _check_blind(Y, n_endmembers, max_iter, tol)
    X = xp.clip(X, 0.0, None)
    delta = check_scalar(delta, "delta", lower=0.0, lower_inclusive=False)
    check_every = check_scalar(check_every, "check_every", kind=numbers.Integral, lower=1)
    lam = sparseness_lambda(X) if lam is None else check_scalar(lam, "lam", lower=0.0)
    E, A = _start(X, p, init, random_state)
    A = xp.clip(A, _TINY, None)
    E = xp.clip(E, _TINY, None)
    monitor = IterationMonitor(callback, history, verbose, name="L1/2-NMF")

    def objective(E, A):
        R = X - A @ E
        return 0.5 * float(xp.sum(R * R)) + lam * float(xp.sum(xp.sqrt(A)))

    previous = objective(E, A)
    status, it = STATUS_MAX_ITER, 0
    for it in range(1, max_iter + 1):
        E = E * (A.T @ X) / xp.clip(A.T @ (A @ E), _TINY, None)
        # sum-to-one as an extra band of weight delta: Y_f E_f^T = Y E^T + delta^2, E_f E_f^T = E E^T + delta^2
        numer = X @ E.T + delta**2
        inv_sqrt = xp.where(A < 1e-3, xp.zeros_like(A), 1.0 / xp.sqrt(xp.clip(A, 1e-3, None)))
        A = A * numer / xp.clip(A @ (E @ E.T + delta**2) + 0.5 * lam * inv_sqrt, _TINY, None)
        if it % check_every and it != max_iter:
            continue
        value = objective(E, A)
        if not math.isfinite(value):
            status = STATUS_NUMERICAL
            break
        if monitor(it, A, objective=value):
            status = STATUS_CALLBACK
            break
        if abs(previous - value) <= tol * max(abs(value), _TINY):
            status = STATUS_CONVERGED
            break
        previous = value
    abundances = xp.reshape(A, tuple(Y.shape[:-1]) + (p,))
    return make_result(abundances, fun=value, nit=it, status=status, monitor=monitor, solver="l_half_nmf",
                       endmembers=E, abundances=abundances, lam=lam)


def check_init(xp, X, p, init):
    """Validated ``(E, A)`` starting point in ``X``'s namespace, device and dtype (``E`` clipped at zero)."""
    from ..decomposition._sparse_coding import _as_like

    if not isinstance(init, (tuple, list)) or len(init) != 2:
        raise TypeError("init must be a tuple (endmembers, abundances).")
    E = _as_like(init[0], X, xp, "init endmembers")
    A = _as_like(init[1], X, xp, "init abundances")
    if tuple(E.shape) != (p, X.shape[1]):
        raise ValueError(f"init endmembers has shape {tuple(E.shape)}, expected {(p, X.shape[1])}.")
    if tuple(A.shape) != (X.shape[0], p):
        raise ValueError(f"init abundances has shape {tuple(A.shape)}, expected {(X.shape[0], p)}.")
    return xp.clip(E, 0.0, None), A
