"""Numba kernels of message-passing block coordinate descent on sparse quadratics.

The quadratic is ``f(x) = 0.5 x^T Q x - c^T x`` with ``Q`` symmetric, given
as its diagonal ``diag`` and the CSR arrays ``(indptr, indices, data)`` of its
off-diagonal part (the dependency graph). Kernels work in place on
preallocated work arrays, so an iteration allocates nothing.

This module imports numba at import time: import it lazily. When numba is
missing or disabled (``OPTLIB_DISABLE_NUMBA=1``, read at first import) the
same functions run as plain Python: correct and slow.
"""

import numpy as np

from ..._backend import numba_available

if numba_available():
    from numba import njit
else:  # pragma: no cover - exercised through ``py_func`` and subprocesses

    def njit(*args, **kwargs):
        return lambda func: func


TREE_OK = 0
TREE_CYCLE = 1
TREE_NOT_PD = 2


@njit(cache=True, fastmath=False)
def tree_solve(
    block,
    m,
    indptr,
    indices,
    data,
    diag,
    rhs_global,
    loc,
    order,
    parent,
    pw,
    piv,
    rhs,
    d,
):
    """Solve ``Q_bb d = rhs_global[b]`` exactly when the block ``b`` induces a forest.

    ``block[:m]`` holds the node ids of the block. Gaussian elimination along
    each tree of the forest: a breadth-first search from a root orders the
    nodes, leaves are eliminated into their parents (``piv[p] -= w^2 / piv[u]``),
    and back substitution runs from the roots down. Cost ``O(sum of degrees)``.

    ``loc`` (length ``n``) must hold -1 everywhere and is restored on exit;
    ``order``, ``parent``, ``pw``, ``piv``, ``rhs`` and ``d`` are work arrays of
    length at least ``m``. Returns ``TREE_OK``, ``TREE_CYCLE`` (the block's
    subgraph has a cycle; ``d`` is then meaningless) or ``TREE_NOT_PD``
    (a non-positive pivot: ``Q_bb`` is not positive definite).
    """
    for k in range(m):
        i = block[k]
        loc[i] = k
        parent[k] = -2  # unvisited
        piv[k] = diag[i]
        rhs[k] = rhs_global[i]
    status = TREE_OK
    head = 0
    tail = 0
    for s in range(m):
        if parent[s] != -2:
            continue
        parent[s] = -1
        pw[s] = 0.0
        order[tail] = s
        tail += 1
        while head < tail and status == TREE_OK:
            u = order[head]
            head += 1
            i = block[u]
            for p in range(indptr[i], indptr[i + 1]):
                v = loc[indices[p]]
                if v < 0 or v == parent[u]:
                    continue
                if parent[v] == -2:
                    parent[v] = u
                    pw[v] = data[p]
                    order[tail] = v
                    tail += 1
                else:  # a visited node other than the parent: a cycle
                    status = TREE_CYCLE
                    break
        if status != TREE_OK:
            break
    if status == TREE_OK:
        # leaves to roots: eliminate each node into its parent
        for t in range(tail - 1, -1, -1):
            u = order[t]
            if not piv[u] > 0.0:
                status = TREE_NOT_PD
                break
            p = parent[u]
            if p >= 0:
                w = pw[u]
                piv[p] -= w * w / piv[u]
                rhs[p] -= w * rhs[u] / piv[u]
    if status == TREE_OK:
        # roots to leaves: back substitution
        for t in range(tail):
            u = order[t]
            p = parent[u]
            if p < 0:
                d[u] = rhs[u] / piv[u]
            else:
                d[u] = (rhs[u] - pw[u] * d[p]) / piv[u]
    for k in range(m):
        loc[block[k]] = -1
    return status


@njit(cache=True, fastmath=False)
def apply_step(block, m, d, indptr, indices, data, diag, x, g):
    """``x[b] += d`` and the matching gradient update ``g += Q[:, b] d`` (symmetric ``Q``)."""
    for k in range(m):
        i = block[k]
        dk = d[k]
        if dk == 0.0:
            continue
        x[i] += dk
        g[i] += diag[i] * dk
        for p in range(indptr[i], indptr[i + 1]):
            g[indices[p]] += data[p] * dk


@njit(cache=True, fastmath=False)
def _find(uf, i):
    while uf[i] != i:
        uf[i] = uf[uf[i]]  # path halving
        i = uf[i]
    return i


@njit(cache=True, fastmath=False)
def _neighbour_roots(i, indptr, indices, tag, value, uf, roots):
    """Roots of the trees holding the neighbours ``j`` of ``i`` with ``tag[j] == value``.

    Writes them into ``roots`` and returns their number, or ``-1`` when two
    such neighbours share a tree (adding ``i`` would close a cycle).
    """
    nroots = 0
    for p in range(indptr[i], indptr[i + 1]):
        j = indices[p]
        if tag[j] != value:
            continue
        r = _find(uf, j)
        for q in range(nroots):
            if roots[q] == r:
                return -1
        roots[nroots] = r
        nroots += 1
    return nroots


@njit(cache=True, fastmath=False)
def grow_forest(order, max_size, indptr, indices, mark, stamp, uf, roots, block):
    """Greedy forest: scan ``order`` and keep each node that closes no cycle.

    A node may join when its neighbours already in the block lie in pairwise
    different trees (checked with a union-find ``uf``); it then merges those
    trees. Stops after ``max_size`` nodes. ``mark`` (length ``n``) flags block
    members with the value ``stamp`` (a fresh value per call avoids clearing
    it); ``roots`` is a work array of length at least the maximum degree.
    Writes the block into ``block`` and returns its size.
    """
    m = 0
    for t in range(order.shape[0]):
        if m >= max_size:
            break
        i = order[t]
        nroots = _neighbour_roots(i, indptr, indices, mark, stamp, uf, roots)
        if nroots < 0:
            continue
        mark[i] = stamp
        uf[i] = i
        for q in range(nroots):
            uf[roots[q]] = i
        block[m] = i
        m += 1
    return m


@njit(cache=True, fastmath=False)
def two_colouring(indptr, indices):
    """Colours 0/1 of a bipartite graph by breadth-first search; ``-1`` everywhere when it is not bipartite."""
    n = indptr.shape[0] - 1
    colour = np.full(n, -1, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    for s in range(n):
        if colour[s] >= 0:
            continue
        colour[s] = 0
        head = 0
        tail = 1
        queue[0] = s
        while head < tail:
            u = queue[head]
            head += 1
            for p in range(indptr[u], indptr[u + 1]):
                v = indices[p]
                if colour[v] < 0:
                    colour[v] = 1 - colour[u]
                    queue[tail] = v
                    tail += 1
                elif colour[v] == colour[u]:
                    colour[:] = -1
                    return colour
    return colour


@njit(cache=True, fastmath=False)
def greedy_colouring(order, indptr, indices):
    """Greedy graph colouring in the given order: each node takes the smallest free colour."""
    n = order.shape[0]
    colour = np.full(n, -1, dtype=np.int64)
    forbidden = np.full(n + 1, -1, dtype=np.int64)
    for t in range(n):
        i = order[t]
        for p in range(indptr[i], indptr[i + 1]):
            cj = colour[indices[p]]
            if cj >= 0:
                forbidden[cj] = i
        k = 0
        while forbidden[k] == i:
            k += 1
        colour[i] = k
    return colour


@njit(cache=True, fastmath=False)
def greedy_forest_partition(order, indptr, indices, max_degree):
    """Partition the nodes into forests: each node joins the first forest where it closes no cycle."""
    n = order.shape[0]
    label = np.full(n, -1, dtype=np.int64)
    uf = np.arange(n)
    roots = np.empty(max(max_degree, 1), dtype=np.int64)
    n_forests = 0
    for t in range(n):
        i = order[t]
        chosen = -1
        for k in range(n_forests + 1):
            if k == n_forests:
                chosen = k
                n_forests += 1
                break
            if _neighbour_roots(i, indptr, indices, label, k, uf, roots) >= 0:
                chosen = k
                break
        label[i] = chosen
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if label[j] == chosen and j != i:
                rj = _find(uf, j)
                if rj != i:
                    uf[rj] = i
    return label


@njit(cache=True, fastmath=False)
def partition_has_cycle(label, indptr, indices):
    """True when some class of ``label`` induces a subgraph with a cycle (labels < 0 are ignored)."""
    n = label.shape[0]
    uf = np.arange(n)
    for i in range(n):
        if label[i] < 0:
            continue
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if j <= i or label[j] != label[i]:
                continue
            ri = _find(uf, i)
            rj = _find(uf, j)
            if ri == rj:
                return True
            uf[ri] = rj
    return False
