"""Block coordinate descent with greedy rules (Nutini, Laradji and Schmidt, JMLR 2022).

The driver: it validates the options, builds the selector and the updater
and runs the loop. The pieces live in the sibling modules of this package:
``_datafits`` (smooth terms with incremental state), ``_penalties``
(separable penalties), ``_rules`` (partitions and selection rules),
``_updates`` (block updates) and ``_numba`` (compiled kernels).
"""

import math
import numbers

from ..._backend import ENGINES, device, get_namespace
from ..._result import (
    STATUS_CALLBACK,
    STATUS_CONVERGED,
    STATUS_MAX_ITER,
    STATUS_NUMERICAL,
    IterationMonitor,
    make_result,
)
from ..._validation import check_option, check_random_state, check_scalar
from ._datafits import validate_datafit
from ._design import check_on_device
from ._penalties import make_penalty
from ._rules import GREEDY, PARTITIONS, SELECTIONS, Selector
from ._updates import UPDATES, BlockUpdater

__all__ = ["bcd"]


def bcd(
    datafit,
    x0=None,
    *,
    penalty=None,
    partition="variable",
    block_size=None,
    selection="gsl",
    update="lb",
    max_iter=500,
    tol=None,
    check_every=None,
    n_iht=10,
    engine="auto",
    callback=None,
    history=True,
    random_state=None,
    verbose=False,
):
    """Minimise ``f(x) + h(x)`` by block coordinate descent with greedy or random block rules.

    Each iteration chooses a block of ``block_size`` coordinates (from a fixed
    partition, or any coordinates for ``partition="variable"``) by the rule
    ``selection``, and updates it by ``update``. The smooth part ``f`` is a
    datafit object that carries an incremental state, so a block change costs
    ``O(m |b|)``; the greedy rules need the full gradient each iteration (see
    the cost notes of each datafit).

    Parameters
    ----------
    datafit : LeastSquaresDatafit, LogisticDatafit, SoftmaxDatafit or QuadraticDatafit
        Smooth part; fixes the array namespace, device and dtype.
    x0 : array, optional
        Starting point of shape ``datafit.x_shape`` (default zeros). Not
        modified. With a box penalty it is projected onto the box first.
    penalty : None, SeparablePenalty or optlib.functions L1, ElasticNet, NonNegative, Box
        Separable nonsmooth part; the updates become proximal and the greedy
        scores use the decrease of a proximal coordinate step.
    partition : {"order", "sort", "avg", "variable"}
        Fixed partitions (contiguous, sorted by ``L_i``, alternating large
        and small ``L_i``) or variable blocks.
    block_size : int, optional
        Number of coordinates per block (``tau``), ``1 <= tau <= n``;
        default ``min(5, n)``.
    selection : {"cyclic", "random", "lipschitz", "gs", "gsl", "gsd", "gsq"}
        Block selection rule (see :mod:`optlib.optimize._bcd._rules`).
    update : {"lb", "la", "hb", "newton", "optimal"}
        Block update: gradient step with the block Lipschitz constant, the
        same with backtracking, matrix step with the block Hessian bound,
        Newton with line search, exact minimisation (quadratic datafits).
    max_iter : int
        Number of block updates.
    tol : float, optional
        Stop when ``||x - prox_h(x - grad f(x))||_inf <= tol * (that at x0)``.
        ``None`` (default) runs exactly ``max_iter`` iterations (no test, no
        warning; ``status`` is 1). With a tolerance, reaching ``max_iter``
        warns ``ConvergenceWarning`` and gives ``success=False``.
    check_every : int, optional
        Iterations between two tests of ``tol``. Default: every iteration for
        the greedy rules (the gradient is at hand), every ``n_blocks``
        iterations (an epoch) otherwise, since the test costs a full gradient.
    n_iht : int
        Hard-thresholding steps of the variable-block GSQ rule (one of its
        candidate blocks, see :mod:`optlib.optimize._bcd._rules`).
    engine : {"auto", "numba", "xp"}
        numba kernels (NumPy input) for the scores, top-k and sparse columns,
        or the vectorised array-API path (the one CuPy takes).
    callback : callable, optional
        ``callback(intermediate_result)`` after each iteration, with ``x`` (a
        copy of the iterate, shape ``datafit.x_shape``), ``nit`` and
        ``objective``; raising ``StopIteration`` stops.
    history : bool
        Record the objective per iteration (iteration 0 is the start).
    random_state : None, int or Generator
        Randomness of the random and Lipschitz rules.
    verbose : bool or int
        Print the objective every ``verbose`` iterations.

    Returns
    -------
    OptimizeResult
        ``x`` (shape ``datafit.x_shape``, the datafit's namespace and dtype),
        ``fun``, ``nit``, ``success``, ``status``, ``message``, ``residual``
        (last optimality measure, ``nan`` if never computed), ``history``.
        Every update decreases the objective, so the last iterate is the best.

    Notes
    -----
    Cost per iteration: ``O(m |b|)`` for the cyclic, random and Lipschitz
    rules (block gradient and state update); the greedy rules add one full
    gradient (``O(nnz(A))``; free for :class:`QuadraticDatafit`, which keeps
    it up to date) and an ``O(n)`` scoring pass (``O(n tau)`` top-k in
    the numba kernel, a sort on the array-API path). Variable-block GSQ adds
    ``n_iht`` products with the Hessian bound. Host-device traffic is
    explicit and small: the random rules draw ``tau`` indices on the host
    (NumPy ``Generator``) and copy them to the device, and the fixed
    partitions are built once on the host from the constants ``L_i``.
    """
    datafit = validate_datafit(datafit)
    pen = make_penalty(penalty)
    partition = check_option(partition, "partition", PARTITIONS)
    selection = check_option(selection, "selection", SELECTIONS)
    update = check_option(update, "update", UPDATES)
    engine = check_option(engine, "engine", ENGINES)
    n = datafit.n_vars
    if block_size is None:
        block_size = min(5, n)
    block_size = check_scalar(
        block_size, "block_size", kind=numbers.Integral, lower=1, upper=n
    )
    max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=0)
    n_iht = check_scalar(n_iht, "n_iht", kind=numbers.Integral, lower=0)
    if tol is not None:
        tol = check_scalar(tol, "tol", lower=0.0)
    if check_every is not None:
        check_every = check_scalar(
            check_every, "check_every", kind=numbers.Integral, lower=1
        )
    if update == "optimal" and not datafit.is_quadratic:
        raise ValueError(
            f"update='optimal' needs a quadratic datafit (least squares or QuadraticDatafit); "
            f"{type(datafit).__name__} is not quadratic; use update='newton'."
        )
    rng = check_random_state(random_state)
    xp = datafit.xp
    dtype = datafit.dtype
    dev = device(datafit.lipschitz())

    if x0 is None:
        x = xp.zeros(n, dtype=dtype, device=dev)
    else:
        is_array = hasattr(x0, "__array_namespace__") or type(x0).__module__ == "numpy"
        if is_array and get_namespace(x0) is not xp:
            raise TypeError(
                "x0 must come from the same array library as the datafit's arrays."
            )
        x0 = check_on_device(x0, "x0", xp, dev)
        if tuple(x0.shape) != tuple(datafit.x_shape) and tuple(x0.shape) != (n,):
            raise ValueError(
                f"x0 has shape {tuple(x0.shape)}, expected {tuple(datafit.x_shape)}."
            )
        x = xp.reshape(xp.astype(x0, dtype, copy=True), (n,))
        if pen.bounded:
            lo = pen.lower if math.isfinite(pen.lower) else None
            hi = pen.upper if math.isfinite(pen.upper) else None
            x = xp.clip(x, lo, hi)

    need_matrices = update in ("hb", "optimal") or (
        update == "newton" and datafit.is_quadratic
    )
    selector = Selector(
        selection,
        partition,
        datafit,
        pen,
        block_size,
        rng,
        engine,
        need_matrices,
        n_iht=n_iht,
    )
    updater = BlockUpdater(update, datafit, pen, selector)
    if check_every is None:
        check_every = (
            1
            if selection in GREEDY
            else (
                selector.fixed.n_blocks if selector.fixed else math.ceil(n / block_size)
            )
        )

    st = datafit.init_state(x)
    hval = pen.value(xp, x)
    objective = st.f + hval
    monitor = IterationMonitor(
        callback, history, verbose, name=f"BCD({selection}, {update})"
    )
    if monitor.history is not None:
        monitor.history.record(0, objective=objective)

    def optimality():
        g = datafit.gradient(st)
        return float(xp.max(xp.abs(st.x - pen.prox(xp, st.x - g, 1.0))))

    residual = math.nan
    r0 = None
    status = STATUS_MAX_ITER
    it = 0
    for it in range(1, max_iter + 1):
        if tol is not None and (it - 1) % check_every == 0:
            residual = optimality()
            r0 = residual if r0 is None else r0
            if residual <= tol * r0:
                it -= 1
                status = STATUS_CONVERGED
                break
        idx, k = selector.select(it, st)
        hval += updater.step(st, idx, k)
        objective = st.f + hval
        if not math.isfinite(objective):
            status = STATUS_NUMERICAL
            break
        # the callback gets a copy: st.x is updated in place by the next steps
        current = (
            None
            if callback is None
            else xp.reshape(xp.asarray(st.x, copy=True), datafit.x_shape)
        )
        if monitor(it, current, objective=objective):
            status = STATUS_CALLBACK
            break
    else:
        if tol is not None:
            residual = optimality()
            r0 = residual if r0 is None else r0
            if residual <= tol * r0:
                status = STATUS_CONVERGED

    return make_result(
        xp.reshape(st.x, datafit.x_shape),
        fun=objective,
        nit=it,
        status=status,
        monitor=monitor,
        warn=tol is not None or status == STATUS_NUMERICAL,
        solver=f"bcd(selection={selection!r}, update={update!r})",
        residual=residual,
    )
