"""Random DAGs and linear structural equation models (for ``optlib.dag``).

The conventions are those of the continuous DAG-learning literature (NOTEARS,
DAGMA, CoLiDE): ``W[i, j] != 0`` is an edge ``i -> j`` and the data follow
``X = X W + Z``, so column ``j`` of ``X`` is a linear function of its parents
plus the noise ``Z[:, j]``. Everything is drawn on the host from a NumPy
``Generator`` seeded by ``random_state``.
"""

import numbers

import numpy as np

from .._validation import check_array, check_option, check_random_state, check_scalar

__all__ = ["simulate_dag", "simulate_linear_sem"]

GRAPH_TYPES = ("ER", "SF")
NOISE_TYPES = ("gauss", "exp", "laplace", "gumbel")


def _erdos_renyi(d, s0, rng):
    """Lower-triangular ER skeleton: each of the ``d (d - 1) / 2`` pairs is an edge w.p. ``2 s0 / (d^2 - d)``."""
    p = min(1.0, 2.0 * s0 / (d * d - d)) if d > 1 else 0.0
    return np.tril(rng.random((d, d)) < p, k=-1)


def _barabasi_albert(d, s0, rng):
    """Preferential attachment: node ``k`` sends edges to ``m = round(s0 / d)`` earlier nodes.

    Earlier nodes are chosen without replacement with probability proportional
    to their degree plus one, so the first nodes become hubs with many parents.
    """
    m = max(1, round(s0 / d))
    A = np.zeros((d, d), dtype=bool)
    degree = np.zeros(d)
    for k in range(1, d):
        weights = degree[:k] + 1.0
        targets = rng.choice(k, size=min(m, k), replace=False, p=weights / weights.sum())
        A[k, targets] = True
        degree[targets] += 1.0
        degree[k] += targets.size
    return A


def simulate_dag(d, s0, graph_type="ER", *, weight_range=(0.5, 2.0), random_state=None):
    """Random DAG with about ``s0`` edges, as a weighted adjacency matrix.

    Parameters
    ----------
    d : int
        Number of nodes (>= 1).
    s0 : int
        Expected number of edges (``"ER"``); ``"SF"`` adds ``round(s0 / d)``
        edges per node, so ``s0 = 2 d`` gives the usual ER2 / SF2 graphs.
    graph_type : {"ER", "SF"}, default="ER"
        Erdos-Renyi, or scale-free (Barabasi-Albert preferential attachment).
    weight_range : pair of float or None, default=(0.5, 2.0)
        Edge weights are drawn uniformly from ``[-high, -low] U [low, high]``.
        ``None`` returns the binary adjacency matrix.
    random_state : int, Generator, RandomState or None

    Returns
    -------
    W : ndarray of shape (d, d), float64
        ``W[i, j] != 0`` is an edge ``i -> j``. The nodes are randomly
        permuted, so ``W`` is not triangular.
    """
    d = check_scalar(d, "d", kind=numbers.Integral, lower=1)
    s0 = check_scalar(s0, "s0", kind=numbers.Integral, lower=0)
    check_option(graph_type, "graph_type", GRAPH_TYPES)
    rng = check_random_state(random_state)
    A = _erdos_renyi(d, s0, rng) if graph_type == "ER" else _barabasi_albert(d, s0, rng)
    perm = rng.permutation(d)
    A = A[np.ix_(perm, perm)]
    if weight_range is None:
        return A.astype(np.float64)
    if not isinstance(weight_range, (tuple, list)) or len(weight_range) != 2:
        raise ValueError(f"weight_range must be a pair (low, high) or None, got {weight_range!r}.")
    low = check_scalar(weight_range[0], "weight_range[0]", lower=0.0)
    high = check_scalar(weight_range[1], "weight_range[1]", lower=low)
    magnitude = rng.uniform(low, high, size=(d, d))
    sign = rng.choice([-1.0, 1.0], size=(d, d))
    return np.where(A, sign * magnitude, 0.0)


def _noise(noise_type, std, shape, rng):
    """Zero-location noise with standard deviation ``std`` (exponential: mean ``std`` as well)."""
    if noise_type == "gauss":
        return std * rng.standard_normal(shape)
    if noise_type == "exp":
        return std * rng.exponential(size=shape)
    if noise_type == "laplace":
        return (std / np.sqrt(2.0)) * rng.laplace(size=shape)
    return (std * np.sqrt(6.0) / np.pi) * rng.gumbel(size=shape)


def simulate_linear_sem(W, n, noise_type="gauss", *, noise_scale=1.0, random_state=None):
    """Samples of the linear SEM ``X = X W + Z`` on the DAG ``W``.

    Parameters
    ----------
    W : array of shape (d, d)
        Weighted adjacency matrix of a DAG (``W[i, j]`` is the weight of
        ``i -> j``).
    n : int
        Number of samples (>= 1).
    noise_type : {"gauss", "exp", "laplace", "gumbel"}, default="gauss"
        Distribution of the independent noise ``Z[:, j]``: zero location
        (the exponential is not centred) and standard deviation
        ``noise_scale[j]``, as in CoLiDE's experiments.
    noise_scale : float or array of shape (d,), default=1.0
        Standard deviation of each variable's noise: one value for equal noise
        variances, one per variable for unequal ones (CoLiDE's heteroscedastic
        setting draws the variances ``noise_scale ** 2`` from ``U[0.5, 10]``).
    random_state : int, Generator, RandomState or None

    Returns
    -------
    X : ndarray of shape (n, d), float64

    Raises
    ------
    ValueError
        If ``W`` is not square or has a directed cycle.
    """
    W = check_array(W, "W", ndim=2)
    W = np.asarray(W, dtype=np.float64)
    d = W.shape[0]
    if W.shape != (d, d):
        raise ValueError(f"W must be square, got shape {W.shape}.")
    n = check_scalar(n, "n", kind=numbers.Integral, lower=1)
    check_option(noise_type, "noise_type", NOISE_TYPES)
    scale = np.asarray(check_array(noise_scale, "noise_scale", ndim=(0, 1)), dtype=np.float64)
    if scale.ndim == 1 and scale.shape != (d,):
        raise ValueError(f"noise_scale must be a scalar or have shape ({d},), got shape {scale.shape}.")
    if np.any(scale < 0):
        raise ValueError("noise_scale must be nonnegative.")
    order = _topological_order(W != 0)
    if order is None:
        raise ValueError("W must be the adjacency matrix of a DAG; it has a directed cycle.")
    rng = check_random_state(random_state)
    Z = _noise(noise_type, np.broadcast_to(scale, (d,)), (n, d), rng)
    X = np.zeros((n, d))
    for j in order:  # parents first
        X[:, j] = X @ W[:, j] + Z[:, j]
    return X


def _topological_order(A):
    """Topological order of the boolean adjacency ``A`` (Kahn's algorithm), or None if cyclic."""
    indegree = A.sum(axis=0).astype(int)
    order = []
    ready = list(np.flatnonzero(indegree == 0))
    while ready:
        i = ready.pop()
        order.append(i)
        for j in np.flatnonzero(A[i]):
            indegree[j] -= 1
            if indegree[j] == 0:
                ready.append(j)
    return order if len(order) == A.shape[0] else None
