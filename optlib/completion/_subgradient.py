"""Sub-gradient method on the l1 factorized loss with small initialization (Ma and Fattahi, JMLR 2023).

Symmetric PSD recovery: ``y_i = <A_i, X*> + s_i`` with ``X* = U* U*^T`` of
rank ``r``, fitted by ``U`` (``d x r'``, ``r' >= r`` allowed) minimising
``f(U) = (1/N) ||y - A(U U^T)||_1`` by

    U <- U - eta_t D_t,   D_t = (1/N) sum_i sign(<A_i, U U^T> - y_i) (A_i + A_i^T) U,

from ``U_0 = alpha Lambda D_{r'+}^{1/2}`` (top eigenpairs of
``(1/N) sum_i sign(y_i) (A_i + A_i^T) / 2``, negative ones set to 0) with a
tiny ``alpha``. Step sizes: ``"geometric"``, ``eta_t = eta rho^t / ||Q_t||_2``
with ``Q_t = (1/N) sum_i sign(.) (A_i + A_i^T) / 2``; ``"polyak"``,
``eta_t = eta f(U_t) / ||D_t||_F^2`` (noiseless measurements).

Entry sampling (matrix completion) is an extension the paper leaves to future
work: the operator is ``A_t = sqrt(m n) e_{i_t} e_{j_t}^T`` (the scaling makes
``(1/N) ||A(X)||_1`` comparable to the Gaussian case), the factorization is
asymmetric, ``U V^T``, with the same step rules applied to both factors. No
balancing term is added: the sub-gradient flow conserves
``U^T U - V^T V``, which starts at ``O(alpha^2)`` from the symmetric small
initialization.

Decay. The paper's rule is ``rho = 1 - Theta(eta / (kappa log(1/alpha)))``
with unspecified constants. The geometric schedule only works when the step
shrinks no faster than the iterates approach the solution: then the error
follows the step (measured: error ~ 1-2 x the relative update
``eta_t ||D_t|| / ||U_t||``); decayed faster, the steps run out first and the
iterates stall at a fixed distance. Default ``rho = 1 - eta / (c log(1/alpha))``
with ``c = 2`` for Gaussian sensing (the paper's experiments) and ``c = 3.5``
for entry sampling. Measured on rank-10 problems with 10% of the observations
corrupted by ``N(0, 100)`` errors: 600 x 600 at 8%, seeds
0-2, ``c = 2`` ended at 4e-5, 1e-2, 2e-5 (the 1e-2 a stall), ``c = 3`` at
2e-11, 4e-7, 2e-11 but seed 1 reached only 1e-5..3e-4 for other
``random_state`` (the randomized spectral initialisation), ``c = 3.5`` at
2e-11..6e-8 for all, and 1e-11 on 2000 x 2000 at 5% (about 5100 iterations).
The window is narrow: a slower decay also gives an over-parameterized factor
(``rank`` above the true rank) time to fit the outliers. 100 x 100, rank 2
fitted with ``rank=4``, 40% observed, 10% outliers ended at 8e-9 (c = 2), 8e-6
(3), 3e-5..1.5e-4 (3.5), 2e-3 (4), 0.13 (5): over-parameterized completion is
best run with ``decay = 1 - eta / (2 log(1/alpha))``. Ill-conditioned targets
(the ``kappa`` of the rule) need ``decay`` closer to 1.

Stopping and success. ``f(U) >= 0``, so ``f <= tol f(U_0)`` certifies a
near-exact fit of the measurements, a global minimizer of the loss
(reachable only with noiseless, outlier-free data): ``success=True``. With
outliers or noise the minimum loss is positive and that test never fires; the
run ends when the relative update falls below ``tol / 10``. That only says the
step has vanished, which it does on schedule whether or not the iterates kept
up, so it is no convergence certificate: ``success=False``, a
``ConvergenceWarning``, and the best iterate (lowest loss) is returned.
"""

import math
import numbers

from .._backend import ENGINES, device, get_namespace, to_namespace, use_numba
from .._result import (
    STATUS_CALLBACK,
    STATUS_CONVERGED,
    STATUS_MAX_ITER,
    IterationMonitor,
    make_result,
    warn_convergence,
)
from .._validation import check_array, check_option, check_random_state, check_scalar
from ._altmin import check_rank
from ._observations import check_observations, factors_in_user_units, ldexp_or_inf
from ._svd import randomized_svd

__all__ = ["subgradient_recovery"]

STEPS = ("geometric", "polyak")
DECAY_CONSTANT = {"sensing": 2.0, "completion": 3.5}  # c of the default decay (module notes)
_VANISHED = "vanished"  # internal status: the relative update fell below tol / 10
VANISHED_MESSAGE = ("The relative update fell below tol / 10 before the loss fell below tol times its initial value: "
                    "the step size has vanished, which certifies no convergence (with outliers the minimum loss is "
                    "positive).")


def _check_stop(f, f0, rel, tol):
    """``STATUS_CONVERGED`` on the loss test, ``_VANISHED`` on the update test, else None.

    The update test uses ``tol / 10``: on an exact fit the relative update and
    the loss ratio fall together, and the loss test must fire first.
    """
    if f <= tol * f0:
        return STATUS_CONVERGED
    if rel < tol / 10:
        return _VANISHED
    return None


def _finish(x, f, it, status, monitor, **factors):
    """The result; a vanished step is reported as not converged, with a warning."""
    if status != _VANISHED:
        return make_result(x, fun=f, nit=it, status=status, monitor=monitor, solver="subgradient_recovery", **factors)
    res = make_result(x, fun=f, nit=it, status=STATUS_MAX_ITER, monitor=monitor, warn=False, **factors)
    res.message = VANISHED_MESSAGE
    warn_convergence(f"subgradient_recovery: {VANISHED_MESSAGE} Returning the best iterate.", stacklevel=3)
    return res


class _Sensing:
    """Symmetric sensing ``A(X)_i = <A_i, X>`` with dense ``(N, d, d)`` matrices."""

    def __init__(self, A, y, xp):
        self.A, self.y, self.xp = A, y, xp
        self.Asym = (A + xp.permute_dims(A, (0, 2, 1))) / 2

    def residual(self, U, V):
        xp = self.xp
        return xp.sum(self.A * (U @ xp.matrix_transpose(V))[None, :, :], axis=(1, 2)) - self.y

    def weighted(self, c):
        """``(1/N) sum_i c_i (A_i + A_i^T) / 2`` (dense ``d x d``)."""
        return self.xp.mean(c[:, None, None] * self.Asym, axis=0)


def _symmetric_run(op, U, eta, rho, rule, tol, max_iter, monitor, xp):
    """Sub-gradient iterations on ``U`` (symmetric case)."""
    best, status, it, f0 = None, STATUS_MAX_ITER, 0, None
    for it in range(1, max_iter + 1):
        r = op.residual(U, U)
        f = float(xp.mean(xp.abs(r)))
        f0 = f if f0 is None else f0
        if best is None or f < best[0]:
            best = (f, U)
        Q = op.weighted(xp.sign(r))
        D = 2 * (Q @ U)
        dn = float(xp.sum(D * D))
        if rule == "geometric":
            qn = float(xp.linalg.matrix_norm(Q, ord=2))
            step = eta * rho ** (it - 1) / qn if qn > 0 else 0.0
        else:
            step = eta * f / dn if dn > 0 else 0.0
        if monitor(it, U, objective=f, step=step):
            status = STATUS_CALLBACK
            break
        stop = _check_stop(f, f0, step * math.sqrt(dn / max(float(xp.sum(U * U)), 1e-300)), tol)
        if stop is not None:
            status = stop
            break
        U = U - step * D
    return best, status, it


def subgradient_recovery(
    y,
    sensing=None,
    *,
    rank,
    shape=None,
    init_scale=1e-8,
    step=0.3,
    decay=None,
    step_rule="geometric",
    tol=1e-10,
    max_iter=10000,
    engine="auto",
    random_state=None,
    callback=None,
    history=False,
    verbose=False,
):
    """Robust low-rank recovery by the sub-gradient method on the l1 loss.

    Parameters
    ----------
    y : array (N,), or observations
        With ``sensing``: the measurements ``y_i = <A_i, X*> + s_i``.
        Without: observed entries as in :func:`robust_altmin` (tuple
        ``(rows, cols, values)`` or scipy.sparse), the completion extension.
    sensing : array (N, d, d), optional
        The sensing matrices ``A_i`` (symmetric PSD recovery of ``X*``).
    rank : int
        Factor width ``r'`` (may exceed the true rank: over-parameterization).
    shape : tuple of int, optional
        ``(m, n)`` of the completion case.
    init_scale : float
        ``alpha`` of the small initialization (the final error floor is
        proportional to it).
    step : float
        ``eta``.
    decay : float in (0, 1], optional
        ``rho`` of the geometric rule; default ``1 - eta / (c log(1/alpha))``
        with ``c = 2`` (sensing) or ``3.5`` (completion). It must let the
        iterates keep up with the step: a faster decay stalls (module notes).
    step_rule : {"geometric", "polyak"}
        See the module notes; ``"polyak"`` assumes a zero optimal loss
        (noiseless, outlier-free).
    tol : float
        Success when the loss falls below ``tol`` times its initial value (a
        near-exact fit). The run also stops, with ``success=False`` and a
        ``ConvergenceWarning``, when the relative update
        ``eta_t ||D_t|| / ||U_t||`` falls below ``tol / 10``: the step has
        vanished, which is no certificate (with outliers the loss test cannot
        fire; the error is then of the order of that update if the decay was
        slow enough).
    max_iter : int
    engine : {"auto", "numba", "xp"}
        Completion case: numba kernels for the products on NumPy input, or
        the array-API path (as in :func:`robust_altmin`).
    random_state, callback, history, verbose
        As in :func:`robust_altmin` (the completion case's randomized SVD).

    Returns
    -------
    OptimizeResult
        Symmetric case: ``U`` and ``x = U U^T``; completion case: ``U``,
        ``V`` and ``x = (U, V)``. ``fun`` (the l1 loss of the best iterate,
        returned), ``nit``, ``success``, ``status``, ``message``, ``history``
        (``objective``, ``step``).
    """
    step_rule = check_option(step_rule, "step_rule", STEPS)
    engine = check_option(engine, "engine", ENGINES)
    alpha = check_scalar(init_scale, "init_scale", lower=0.0, lower_inclusive=False)
    eta = check_scalar(step, "step", lower=0.0, lower_inclusive=False)
    case = "sensing" if sensing is not None else "completion"
    if decay is None:
        rho = 1.0 - eta / (DECAY_CONSTANT[case] * max(math.log(1 / alpha), 1.0))
        if rho <= 0:
            raise ValueError(f"step={eta} is too large for the default decay (rho={rho:.3g} <= 0): pass decay.")
    else:
        rho = check_scalar(decay, "decay", lower=0.0, upper=1.0, lower_inclusive=False)
    tol = check_scalar(tol, "tol", lower=0.0)
    max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=1)
    monitor = IterationMonitor(callback, history, verbose, name="subgradient_recovery")
    if sensing is None:
        return _completion(y, rank, shape, alpha, eta, rho, step_rule, tol, max_iter, engine,
                           check_random_state(random_state), monitor)
    A = check_array(sensing, "sensing", ndim=3)
    xp = get_namespace(A)
    if A.shape[1] != A.shape[2]:
        raise ValueError(f"sensing must have shape (N, d, d), got {tuple(A.shape)}.")
    y = check_array(y, "y", xp=xp, ndim=1)
    if y.shape[0] != A.shape[0]:
        raise ValueError(f"y has {y.shape[0]} measurements but sensing has {A.shape[0]} matrices.")
    dtype = A.dtype if A.dtype == y.dtype else xp.float64
    A, y = xp.astype(A, dtype), xp.astype(y, dtype)
    k = check_rank(rank, (A.shape[1], A.shape[1]))
    op = _Sensing(A, y, xp)
    lam, vec = xp.linalg.eigh(op.weighted(xp.sign(y)))
    lam, vec = xp.flip(lam)[:k], xp.flip(vec, axis=1)[:, :k]
    U0 = alpha * vec * xp.sqrt(xp.maximum(lam, xp.zeros_like(lam)))[None, :]
    (f, U), status, it = _symmetric_run(op, U0, eta, rho, step_rule, tol, max_iter, monitor, xp)
    return _finish(U @ xp.matrix_transpose(U), f, it, status, monitor, U=U)


def _completion(observed, rank, shape, alpha, eta, rho, rule, tol, max_iter, engine, rng, monitor):
    """Entry-sampling extension: ``U V^T`` from observed entries, l1 loss."""
    probe = observed[2] if isinstance(observed, (tuple, list)) and len(observed) == 3 else None
    xp0 = get_namespace(probe) if hasattr(probe, "shape") else get_namespace()
    obs, e = check_observations(observed, shape, host=use_numba(xp0, engine)).in_units()  # values / 2**e
    xp = obs.xp
    k = check_rank(rank, obs.shape)
    m, n = obs.shape
    values, dev = obs.values, device(obs.values)
    scale = math.sqrt(m * n) / obs.nnz  # (1/N) sqrt(mn): the operator's scaling

    def mm(c):
        return (lambda X: obs.matmat(c, X) * scale), (lambda Y: obs.rmatmat(c, Y) * scale)

    L, s, R = randomized_svd(*mm(xp.sign(values)), obs.shape, k, xp=xp, dev=dev, dtype=values.dtype, rng=rng)
    root = xp.sqrt(s)[None, :]
    U, V = alpha * L * root, alpha * R * root
    v = to_namespace(rng.standard_normal((n, 1)), xp, dev)
    v = xp.astype(v, values.dtype)
    best, status, it, f0 = None, STATUS_MAX_ITER, 0, None
    for it in range(1, max_iter + 1):
        r = obs.entries(U, V) - values
        f = math.sqrt(m * n) * float(xp.mean(xp.abs(r)))
        f0 = f if f0 is None else f0
        if best is None or f < best[0]:
            best = (f, U, V)
        sg = xp.sign(r)
        GU, GV = obs.matmat(sg, V) * scale, obs.rmatmat(sg, U) * scale
        dn = float(xp.sum(GU * GU) + xp.sum(GV * GV))
        if rule == "geometric":  # ||Q_t||_2 by one warm-started power iteration per step
            u = obs.matmat(sg, v) * scale
            u = u / max(float(xp.linalg.vector_norm(u)), 1e-300)
            v = obs.rmatmat(sg, u) * scale
            qn = float(xp.linalg.vector_norm(v))
            v = v / max(qn, 1e-300)
            step = eta * rho ** (it - 1) / qn if qn > 0 else 0.0
        else:
            step = eta * f / dn if dn > 0 else 0.0
        if monitor(it, factors_in_user_units((U, V), e), objective=ldexp_or_inf(f, e), step=step):
            status = STATUS_CALLBACK
            break
        stop = _check_stop(f, f0, step * math.sqrt(dn / max(float(xp.sum(U * U) + xp.sum(V * V)), 1e-300)), tol)
        if stop is not None:
            status = stop
            break
        U, V = U - step * GU, V - step * GV
    f, U, V = best
    U, V = factors_in_user_units((U, V), e)
    return _finish((U, V), ldexp_or_inf(f, e), it, status, monitor, U=U, V=V)
