"""Message-passing block coordinate descent for sparse quadratics.

Minimises ``f(x) = 0.5 x^T Q x - c^T x`` (``Q`` symmetric positive definite,
sparse) by exact block updates ``x_b = Q_bb^{-1} (c_b - Q_bc x_c)``. When the
block ``b`` induces a forest in the dependency graph of ``Q`` (its
off-diagonal pattern), the block system is solved exactly in ``O(|b|)`` by
tree elimination, i.e. Gaussian belief propagation on a tree (Nutini,
Laradji and Schmidt, JMLR 2022, Section 7; ``shared/specs/bcd.md``,
"Message passing"). The gradient ``g = Q x - c`` is kept up to date
incrementally: an update of block ``b`` touches only ``b`` and its neighbours.

Block strategies: ``"greedy_tree"`` and ``"random_tree"`` (variable forests
grown in order of decreasing ``|g_i|`` or at random), ``"red_black"`` and
``"tree_partitions"`` (fixed partitions into independent sets or forests),
and ``"greedy"``, the general greedy block of the ``tau`` largest ``|g_i|``
solved by a dense or sparse direct solve (the paper's baseline).
"""

import math
import numbers

import numpy as np

from ..._backend import result_float_dtype
from ..._result import (
    STATUS_CALLBACK,
    STATUS_CONVERGED,
    STATUS_MAX_ITER,
    IterationMonitor,
    make_result,
)
from ..._validation import (
    check_array,
    check_option,
    check_random_state,
    check_scalar,
    check_shape,
)
from ._design import check_host_input

__all__ = ["message_passing_bcd"]

BLOCKS = ("greedy_tree", "random_tree", "red_black", "tree_partitions", "greedy")
SELECTIONS = ("cyclic", "gs")
_FIXED = ("red_black", "tree_partitions")
_DENSE_SOLVE_MAX = (
    500  # general greedy blocks up to this size use a dense Cholesky solve
)
_SYMMETRY_RTOL = 1e-10


def _kernels():
    from . import _message_passing_numba  # numba, when enabled, is imported here only

    return _message_passing_numba


class _Graph:
    """``Q`` split into its diagonal and the CSR arrays of its off-diagonal part."""

    def __init__(self, Q):
        import scipy.sparse as sp

        n = Q.shape[0]
        self.n = n
        self.Q = Q
        self.diag = np.asarray(Q.diagonal(), dtype=np.float64)
        off = (Q - sp.diags(self.diag)).tocsr()
        off.eliminate_zeros()
        off.sort_indices()
        self.off = off
        self.indptr = off.indptr.astype(np.int64)
        self.indices = off.indices.astype(np.int64)
        self.data = off.data.astype(np.float64)
        degree = np.diff(self.indptr)
        self.degree = degree
        self.max_degree = int(degree.max()) if n else 0


def _check_quadratic(Q, c):
    """Validated float64 CSR copy of ``Q`` (symmetric, positive diagonal) and ``c``."""
    import scipy.sparse as sp

    if sp.issparse(Q):
        if Q.ndim != 2 or Q.shape[0] != Q.shape[1]:
            raise ValueError(f"Q must be a square matrix, got shape {tuple(Q.shape)}.")
        if np.issubdtype(Q.dtype, np.complexfloating):
            raise TypeError("Q must be real, got a complex matrix.")
        Qc = sp.csr_matrix(Q, dtype=np.float64, copy=True)
        Qc.sum_duplicates()
        if not np.all(np.isfinite(Qc.data)):
            raise ValueError(
                "Q contains NaN or infinite values; all entries must be finite."
            )
    else:
        Qd = check_array(Q, "Q", ndim=2)
        Qd = np.asarray(Qd, dtype=np.float64)
        if Qd.shape[0] != Qd.shape[1]:
            raise ValueError(f"Q must be a square matrix, got shape {tuple(Qd.shape)}.")
        Qc = sp.csr_matrix(Qd)
    Qc.eliminate_zeros()
    Qc.sort_indices()
    n = Qc.shape[0]
    if n == 0:
        raise ValueError("Q must have at least one row, got shape (0, 0).")
    scale = float(np.max(np.abs(Qc.data))) if Qc.nnz else 0.0
    asym = abs(Qc - Qc.T)
    if asym.nnz and float(asym.max()) > _SYMMETRY_RTOL * scale:
        raise ValueError(
            f"Q must be symmetric; max |Q - Q^T| = {float(asym.max()):.3g}."
        )
    diag = Qc.diagonal()
    if not np.all(diag > 0):
        bad = int(np.flatnonzero(~(diag > 0))[0])
        raise ValueError(
            f"Q must have a positive diagonal; Q[{bad}, {bad}] = {diag[bad]!r}."
        )
    if c is not None:
        c = check_array(c, "c", ndim=1)
        c = np.array(c, dtype=np.float64)  # a private copy
        check_shape(c, (n,), "c")
    return Qc, c


def _check_positions(positions, n):
    if positions is None:
        return None
    pos = np.asarray(positions)
    if pos.ndim != 2 or pos.shape != (n, 2):
        raise ValueError(
            f"positions must have shape ({n}, 2) (lattice row and column of each unknown), got {pos.shape}."
        )
    if not np.issubdtype(pos.dtype, np.integer):
        if not np.all(np.isfinite(pos)) or not np.all(pos == np.round(pos)):
            raise ValueError("positions must hold integer lattice coordinates.")
        pos = pos.astype(np.int64)
    return pos.astype(np.int64)


def _fixed_partition(kind, graph, positions):
    """Labels of a fixed partition whose classes induce forests (independent sets for red-black)."""
    kern = _kernels()
    n = graph.n
    order = np.argsort(-graph.degree, kind="stable").astype(np.int64)
    if kind == "red_black":
        if positions is not None:
            label = ((positions[:, 0] + positions[:, 1]) % 2).astype(np.int64)
            off = graph.off.tocoo()
            if np.any(label[off.row] == label[off.col]):
                raise ValueError(
                    "positions do not give a 2-colouring of Q's dependency graph "
                    "(two neighbours share a colour); pass positions=None for a greedy colouring."
                )
        else:
            label = kern.two_colouring(graph.indptr, graph.indices)
            if n and label[0] < 0:  # not bipartite
                label = kern.greedy_colouring(order, graph.indptr, graph.indices)
    else:
        if positions is not None:
            r, col = positions[:, 0], positions[:, 1]
            rmin, rmax, cmin = r.min(), r.max(), col.min()
            # two combs: spine on the first row with teeth down the even columns, and
            # spine on the last row with teeth up the odd columns
            label = np.where(
                r == rmin, 0, np.where(r == rmax, 1, (col - cmin) % 2)
            ).astype(np.int64)
            if kern.partition_has_cycle(label, graph.indptr, graph.indices):
                raise ValueError(
                    "positions do not describe a 4-neighbour lattice of Q's dependency graph "
                    "(a comb block has a cycle); pass positions=None for a greedy forest partition."
                )
        else:
            label = kern.greedy_forest_partition(
                order, graph.indptr, graph.indices, graph.max_degree
            )
    blocks = [
        np.flatnonzero(label == k).astype(np.int64) for k in range(int(label.max()) + 1)
    ]
    keep = [k for k, b in enumerate(blocks) if b.size]
    blocks = [blocks[k] for k in keep]
    relabel = np.full(int(label.max()) + 1, -1, dtype=np.int64)
    relabel[keep] = np.arange(len(keep))
    return blocks, relabel[label]


def block_partition(Q, blocks="red_black", *, positions=None):
    """Fixed partition of the unknowns into forest blocks of ``Q``'s dependency graph.

    Parameters
    ----------
    Q : sparse matrix or array of shape (n, n)
        Symmetric matrix; its off-diagonal pattern is the dependency graph.
    blocks : {"red_black", "tree_partitions"}
        ``"red_black"``: independent sets (the 2-colouring ``(row + col) % 2``
        of a lattice given ``positions``; otherwise a 2-colouring by
        breadth-first search when the graph is bipartite, else a greedy
        colouring in order of decreasing degree). ``"tree_partitions"``: forests (two combs
        on a lattice given ``positions``, otherwise a greedy partition where
        each node joins the first forest in which it closes no cycle).
    positions : array of shape (n, 2), optional
        Lattice row and column of each unknown.

    Returns
    -------
    list of int arrays
        The blocks (sorted node ids), each inducing a forest.
    """
    check_option(blocks, "blocks", _FIXED)
    Qc, _ = _check_quadratic(Q, None)
    graph = _Graph(Qc)
    return _fixed_partition(blocks, graph, _check_positions(positions, graph.n))[0]


class _Workspace:
    def __init__(self, n, max_degree):
        self.loc = np.full(n, -1, dtype=np.int64)
        self.order = np.empty(n, dtype=np.int64)
        self.parent = np.empty(n, dtype=np.int64)
        self.pw = np.empty(n, dtype=np.float64)
        self.piv = np.empty(n, dtype=np.float64)
        self.rhs = np.empty(n, dtype=np.float64)
        self.d = np.empty(n, dtype=np.float64)
        self.mark = np.zeros(n, dtype=np.int64)
        self.stamp = 0
        self.uf = np.arange(n, dtype=np.int64)
        self.roots = np.empty(max(max_degree, 1), dtype=np.int64)
        self.block = np.empty(n, dtype=np.int64)


def _tree_step(kern, graph, ws, block, m, x, g, neg_g):
    np.negative(g, out=neg_g)
    status = kern.tree_solve(
        block,
        m,
        graph.indptr,
        graph.indices,
        graph.data,
        graph.diag,
        neg_g,
        ws.loc,
        ws.order,
        ws.parent,
        ws.pw,
        ws.piv,
        ws.rhs,
        ws.d,
    )
    if status == kern.TREE_NOT_PD:
        raise ValueError(
            "Q must be positive definite: block elimination met a non-positive pivot."
        )
    if status == kern.TREE_CYCLE:  # pragma: no cover - builders only produce forests
        raise RuntimeError(
            "internal error: a block of message_passing_bcd is not a forest."
        )
    kern.apply_step(
        block, m, ws.d, graph.indptr, graph.indices, graph.data, graph.diag, x, g
    )


def _direct_step(kern, graph, block, x, g):
    import scipy.linalg
    import scipy.sparse.linalg

    sub = graph.Q[block][:, block]
    rhs = -g[block]
    try:
        if block.size <= _DENSE_SOLVE_MAX:
            d = scipy.linalg.cho_solve(
                scipy.linalg.cho_factor(sub.toarray(), lower=True), rhs
            )
        else:
            d = np.asarray(
                scipy.sparse.linalg.spsolve(sub.tocsc(), rhs), dtype=np.float64
            )
    except np.linalg.LinAlgError:
        raise ValueError(
            "Q must be positive definite: a block Cholesky factorisation failed."
        ) from None
    kern.apply_step(
        block, block.size, d, graph.indptr, graph.indices, graph.data, graph.diag, x, g
    )


def message_passing_bcd(
    Q,
    c,
    x0=None,
    *,
    blocks="greedy_tree",
    block_size=None,
    selection="cyclic",
    max_iter=500,
    tol=None,
    positions=None,
    random_state=None,
    callback=None,
    history=True,
    verbose=False,
):
    """Minimise ``0.5 x^T Q x - c^T x`` by block coordinate descent with forest blocks.

    Each iteration picks a block ``b`` and sets ``x_b`` to the exact block
    minimiser ``Q_bb^{-1} (c_b - Q_bc x_c)``. For the forest strategies the
    block induces a forest in the dependency graph (the off-diagonal pattern
    of ``Q``) and the solve is tree elimination (Gaussian belief propagation)
    in ``O(|b|)``, a numba kernel on the CSR arrays. The gradient
    ``g = Q x - c`` is updated incrementally, on the block and its neighbours.
    The objective decreases monotonically.

    Parameters
    ----------
    Q : sparse matrix or array of shape (n, n)
        Symmetric positive definite, positive diagonal (sparse for efficiency;
        a dense array is converted to CSR).
    c : array of shape (n,)
        Linear term.
    x0 : array of shape (n,), optional
        Starting point (default zeros).
    blocks : {"greedy_tree", "random_tree", "red_black", "tree_partitions", "greedy"}
        - ``"greedy_tree"``: nodes are scanned by decreasing ``|g_i|`` and kept
          unless they close a cycle among the nodes already kept (union-find):
          a maximal forest, or the first ``block_size`` nodes of it.
        - ``"random_tree"``: the same growth in a random order.
        - ``"red_black"``: fixed partition into independent sets: the
          2-colouring ``(row + col) % 2`` of a lattice given ``positions``;
          otherwise a breadth-first 2-colouring when the graph is bipartite,
          else a greedy colouring (order of decreasing degree).
        - ``"tree_partitions"``: fixed partition into forests: two comb-shaped
          forests of a lattice given ``positions``, otherwise a greedy
          partition (each node joins the first forest where it closes no cycle).
        - ``"greedy"``: the general greedy block of the ``block_size`` largest
          ``|g_i|`` (not a forest), solved by a dense Cholesky factorisation
          (sparse LU above 500 unknowns): the paper's baseline.
    block_size : int, optional
        Maximum block size of the tree strategies (default: no limit, as in
        the paper), and ``tau`` of ``"greedy"`` (default ``int(n ** (1/3))``,
        the size whose dense solve costs ``O(n)``, as the paper's reference
        code). Not used by the fixed partitions (``ValueError`` if given).
    selection : {"cyclic", "gs"}
        Block choice for the fixed partitions: ``"cyclic"`` (in turn, as in the
        paper) or ``"gs"`` (Gauss-Southwell: the block of largest ``||g_b||_2``).
    max_iter : int
        Number of block updates.
    tol : float, optional
        Stop when ``||g||_2 <= tol * ||g(x0)||_2``. ``None`` (default) runs
        ``max_iter`` iterations (stopping early only at an exact zero
        gradient) and then does not warn.
    positions : array of shape (n, 2), optional
        Lattice row and column of each unknown (e.g. ``problem.positions`` of
        :func:`~optlib.datasets.make_lattice_label_propagation`), used by
        ``"red_black"`` and ``"tree_partitions"``.
    random_state : int, Generator or None
        Randomness of ``"random_tree"``.
    callback : callable, optional
        ``callback(intermediate_result)`` after each iteration, with ``x``,
        ``nit``, ``objective``, ``grad_norm`` and ``block_size``; raising
        ``StopIteration`` stops the solver.
    history : bool
        Record ``objective``, ``grad_norm`` (``||g||_2``), ``block_size`` and
        time per iteration.
    verbose : bool or int
        Print progress every ``verbose`` iterations.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun`` (``f(x)``), ``nit``, ``success``, ``status``,
        ``message``, ``grad`` (``Q x - c``, maintained incrementally; ``x`` and
        ``grad`` in float32 when every input is, though computed in float64),
        ``grad_norm``, ``n_blocks`` (size of the fixed partition, or ``None``)
        and ``history``. With ``tol`` set, ``ConvergenceWarning`` when
        ``max_iter`` is reached.

    Notes
    -----
    Runs on the host with NumPy and SciPy sparse matrices (the elimination is
    sequential); everything is computed in float64. Without numba (or with
    ``OPTLIB_DISABLE_NUMBA=1``) the kernels run as plain Python.
    """
    blocks = check_option(blocks, "blocks", BLOCKS)
    selection = check_option(selection, "selection", SELECTIONS)
    max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=0)
    if tol is not None:
        tol = check_scalar(tol, "tol", lower=0.0)
    for value, name in ((Q, "Q"), (c, "c"), (x0, "x0"), (positions, "positions")):
        check_host_input(value, name, "message_passing_bcd")
    out_dtype = result_float_dtype(
        np,
        *(
            a if hasattr(a, "dtype") else np.asarray(a)
            for a in (Q, c, x0)
            if a is not None
        ),
    )
    Qc, c = _check_quadratic(Q, c)  # float64 inside; results cast back to out_dtype
    n = Qc.shape[0]
    if block_size is not None:
        if blocks in _FIXED:
            raise ValueError(
                f"block_size is not used by blocks={blocks!r} (a fixed partition); leave it None."
            )
        block_size = check_scalar(
            block_size, "block_size", kind=numbers.Integral, lower=1
        )
    positions = _check_positions(positions, n)
    rng = check_random_state(random_state)
    if x0 is None:
        x = np.zeros(n)
    else:
        x0 = check_array(x0, "x0", ndim=1)
        check_shape(x0, (n,), "x0")
        x = np.array(x0, dtype=np.float64)
    monitor = IterationMonitor(callback, history, verbose, name="message_passing_bcd")

    kern = _kernels()
    graph = _Graph(Qc)
    ws = _Workspace(n, graph.max_degree)
    g = Qc @ x - c
    neg_g = np.empty(n)
    g0_norm = float(np.linalg.norm(g))
    threshold = 0.0 if tol is None else tol * g0_norm

    partition = labels = None
    if blocks in _FIXED:
        partition, labels = _fixed_partition(blocks, graph, positions)
    max_size = n if block_size is None else min(block_size, n)
    tau = max(1, int(n ** (1.0 / 3.0))) if block_size is None else min(block_size, n)

    status = STATUS_CONVERGED if g0_norm <= threshold else STATUS_MAX_ITER
    grad_norm = g0_norm
    it = 0
    if status != STATUS_CONVERGED:
        for it in range(1, max_iter + 1):
            if blocks in ("greedy_tree", "random_tree"):
                if blocks == "greedy_tree":
                    order = np.argsort(-np.abs(g), kind="stable")
                else:
                    order = rng.permutation(n)
                ws.stamp += 1
                m = kern.grow_forest(
                    order.astype(np.int64, copy=False),
                    max_size,
                    graph.indptr,
                    graph.indices,
                    ws.mark,
                    ws.stamp,
                    ws.uf,
                    ws.roots,
                    ws.block,
                )
                block = ws.block
                _tree_step(kern, graph, ws, block, m, x, g, neg_g)
            elif blocks in _FIXED:
                if selection == "cyclic":
                    k = (it - 1) % len(partition)
                else:
                    k = int(
                        np.argmax(
                            np.bincount(labels, weights=g * g, minlength=len(partition))
                        )
                    )
                block = partition[k]
                m = block.size
                _tree_step(kern, graph, ws, block, m, x, g, neg_g)
            else:
                block = np.sort(np.argpartition(-np.abs(g), tau - 1)[:tau]).astype(
                    np.int64
                )
                m = tau
                _direct_step(kern, graph, block, x, g)
            fun = 0.5 * float(x @ (g - c))
            grad_norm = float(np.linalg.norm(g))
            stop = monitor(
                it,
                x.copy() if callback is not None else x,
                objective=fun,
                grad_norm=grad_norm,
                block_size=m,
            )
            if grad_norm <= threshold:
                status = STATUS_CONVERGED
                break
            if stop:
                status = STATUS_CALLBACK
                break
    fun = 0.5 * float(x @ (g - c))
    if not math.isfinite(
        fun
    ):  # pragma: no cover - finite inputs and SPD Q keep it finite
        raise FloatingPointError("message_passing_bcd produced a non-finite objective.")
    return make_result(
        x.astype(out_dtype, copy=False),
        fun=fun,
        nit=it,
        status=status,
        monitor=monitor,
        warn=tol is not None,
        solver="message_passing_bcd",
        grad=g.astype(out_dtype, copy=False),
        grad_norm=grad_norm,
        n_blocks=None if partition is None else len(partition),
    )
