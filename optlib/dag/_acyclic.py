"""Acyclicity test and the thresholding that turns an estimate into a DAG.

Both work with array-API operations on the input's namespace and device: a
directed graph on ``d`` nodes is acyclic exactly when its 0/1 adjacency
matrix ``A`` is nilpotent, ``A^d = 0``, which ``ceil(log2 d)`` squarings
decide (entries are clipped back to {0, 1} after each product, so they stay
exact in floating point).
"""

import math

from .._backend import get_namespace
from .._validation import check_array, check_scalar

__all__ = ["is_dag", "threshold_to_dag"]


def _check_square(W, name, xp):
    W = check_array(W, name, xp=xp, ndim=2)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"{name} must be square, got shape {tuple(W.shape)}.")
    return W


def _acyclic(A, xp):
    """Whether the 0/1 floating adjacency ``A`` has no directed cycle (self-loops included)."""
    d = A.shape[0]
    P = A
    for _ in range(math.ceil(math.log2(d)) if d > 1 else 0):
        P = xp.minimum(P @ P, 1.0)
    return not bool(xp.any(P != 0))


def is_dag(W):
    """Whether the graph with an edge ``i -> j`` for each nonzero ``W[i, j]`` is acyclic.

    Parameters
    ----------
    W : array of shape (d, d)

    Returns
    -------
    bool
    """
    xp = get_namespace(W)
    W = _check_square(W, "W", xp)
    return _acyclic(xp.astype(W != 0, W.dtype), xp)


def threshold_to_dag(W, threshold=0.3):
    """Zero the entries with ``|W| <= threshold``, then remove the weakest edges until the graph is acyclic.

    Removing the edges one at a time in increasing order of ``|W|`` until no
    cycle is left is the same as raising the threshold to the smallest edge
    magnitude that leaves a DAG; that magnitude is found by bisection over the
    sorted magnitudes, so ``O(log(#edges))`` acyclicity tests are done.

    Parameters
    ----------
    W : array of shape (d, d)
        Weighted adjacency estimate. Not modified.
    threshold : float, default=0.3
        Entries with magnitude at most ``threshold`` are dropped first.

    Returns
    -------
    W_dag : array of shape (d, d)
        Acyclic, in the namespace, device and dtype of ``W``.
    """
    xp = get_namespace(W)
    W = _check_square(W, "W", xp)
    threshold = check_scalar(threshold, "threshold", lower=0.0)
    magnitude = xp.abs(W)
    keep = magnitude > threshold
    dtype = W.dtype
    if _acyclic(xp.astype(keep, dtype), xp):
        return xp.where(keep, W, xp.zeros_like(W))
    levels = xp.sort(magnitude[keep])  # edge magnitudes, ascending
    # invariant: dropping the lo weakest edges leaves a cycle, dropping hi leaves a DAG
    lo, hi = 0, levels.shape[0]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _acyclic(xp.astype(magnitude > levels[mid - 1], dtype), xp):
            hi = mid
        else:
            lo = mid
    keep = magnitude > levels[hi - 1]
    return xp.where(keep, W, xp.zeros_like(W))
