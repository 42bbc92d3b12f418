"""Generators of the block-coordinate-descent test problems A-E and L1.

The constructions follow Nutini, Laradji and Schmidt (JMLR 2022, Section 10
and Appendix), see ``../shared/specs/bcd.md``. Every generator draws from a
NumPy ``Generator`` seeded by ``random_state``; the same seed gives the same
problem on every platform.
"""

import numbers

import numpy as np

from .._validation import check_option, check_random_state, check_scalar

__all__ = [
    "load_bcd_problem",
    "make_bcd_least_squares",
    "make_bcd_logistic",
    "make_bcd_softmax",
    "make_lattice_label_propagation",
    "make_moons_label_propagation",
    "make_nonnegative_l1_problem",
]


def _bunch(**fields):
    from sklearn.utils import Bunch

    return Bunch(**fields)


def _check_pair(value, name):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{name} must be a pair of numbers, got {value!r}.")
    return value


def _check_size(value, name):
    return check_scalar(value, name, kind=numbers.Integral, lower=1)


def _scaled_sparse_design(n_samples, n_features, rng):
    """Design of problem A: N(0, 1) + 1, columns scaled by 10 N(0, 1), entries kept w.p. 10 log(n)/n."""
    A = rng.standard_normal((n_samples, n_features)) + 1.0
    A *= 10.0 * rng.standard_normal(n_features)
    keep = min(1.0, 10.0 * np.log(n_samples) / n_samples)
    A *= rng.random((n_samples, n_features)) < keep
    return A


def _sparse_truth(n_features, rng, density=0.1):
    return rng.standard_normal(n_features) * (rng.random(n_features) < density)


def make_bcd_least_squares(n_samples=1000, n_features=10000, *, random_state=None):
    """Problem A: least squares ``0.5 ||A x - b||^2`` with badly scaled sparse columns.

    Parameters
    ----------
    n_samples, n_features : int, default=1000, 10000
        Shape of ``A``.
    random_state : int, Generator, RandomState or None

    Returns
    -------
    problem : Bunch
        ``A`` (dense, ``(n_samples, n_features)``), ``b = A x_true + noise``,
        ``x_true`` (10% nonzero), ``lipschitz`` (coordinate constants
        ``||a_i||^2``).
    """
    n_samples = _check_size(n_samples, "n_samples")
    n_features = _check_size(n_features, "n_features")
    rng = check_random_state(random_state)
    A = _scaled_sparse_design(n_samples, n_features, rng)
    x_true = _sparse_truth(n_features, rng)
    b = A @ x_true + rng.standard_normal(n_samples)
    return _bunch(
        A=A, b=b, x_true=x_true, lipschitz=np.einsum("ij,ij->j", A, A), name="A"
    )


def make_bcd_logistic(n_samples=1000, n_features=10000, *, flip=0.1, random_state=None):
    """Problem B: logistic loss ``sum_i log(1 + exp(-b_i a_i^T x))``.

    ``A`` and ``x_true`` are built as in problem A; ``b = sign(A x_true)`` with
    each sign flipped with probability ``flip``.

    Returns
    -------
    problem : Bunch
        ``A``, ``b`` (in {-1, +1}), ``x_true``, ``lipschitz`` (``0.25 ||a_i||^2``).
    """
    n_samples = _check_size(n_samples, "n_samples")
    n_features = _check_size(n_features, "n_features")
    flip = check_scalar(flip, "flip", lower=0.0, upper=1.0)
    rng = check_random_state(random_state)
    A = _scaled_sparse_design(n_samples, n_features, rng)
    x_true = _sparse_truth(n_features, rng)
    b = np.where(A @ x_true >= 0, 1.0, -1.0)
    b[rng.random(n_samples) < flip] *= -1.0
    return _bunch(
        A=A, b=b, x_true=x_true, lipschitz=0.25 * np.einsum("ij,ij->j", A, A), name="B"
    )


def make_bcd_softmax(
    n_samples=1000, n_features=1000, n_classes=50, *, random_state=None
):
    """Problem C: softmax (multinomial logistic) loss with ``n_classes`` classes.

    ``A`` is built as in problem A; the labels are ``argmax_k (A W + E)`` for a
    dense Gaussian ``W`` (``n_features x n_classes``) and Gaussian noise ``E``.
    The unknown is ``X`` of shape ``(n_features, n_classes)``.

    Returns
    -------
    problem : Bunch
        ``A``, ``labels`` (ints in ``[0, n_classes)``), ``Y`` (one-hot),
        ``W_true``, ``lipschitz`` (per feature, ``0.5 ||a_i||^2``, a bound on
        every diagonal entry of the Hessian in the row of feature ``i``).
    """
    n_samples = _check_size(n_samples, "n_samples")
    n_features = _check_size(n_features, "n_features")
    n_classes = check_scalar(n_classes, "n_classes", kind=numbers.Integral, lower=2)
    rng = check_random_state(random_state)
    A = _scaled_sparse_design(n_samples, n_features, rng)
    W_true = rng.standard_normal((n_features, n_classes))
    labels = np.argmax(A @ W_true + rng.standard_normal((n_samples, n_classes)), axis=1)
    Y = np.zeros((n_samples, n_classes))
    Y[np.arange(n_samples), labels] = 1.0
    return _bunch(
        A=A,
        labels=labels,
        Y=Y,
        W_true=W_true,
        lipschitz=0.5 * np.einsum("ij,ij->j", A, A),
        name="C",
    )


def _label_propagation_system(W, labelled, y, name, **extra):
    """Reduce ``0.5 sum_ij w_ij (y_i - y_j)^2`` over the unlabelled nodes to ``0.5 x^T Q x - c^T x``."""
    import scipy.sparse as sp

    W = sp.csr_matrix(W)
    n = W.shape[0]
    is_labelled = np.zeros(n, dtype=bool)
    is_labelled[labelled] = True
    free = np.flatnonzero(~is_labelled)
    degree = np.asarray(W.sum(axis=1)).ravel()
    W_ff = W[free][:, free]
    Q = (sp.diags(degree[free]) - W_ff).tocsr()
    Q.sort_indices()
    c = W[free][:, labelled] @ y[labelled]
    adjacency = (W_ff != 0).astype(np.int8).tocsr()
    return _bunch(
        Q=Q,
        c=np.asarray(c, dtype=float),
        adjacency=adjacency,
        free=free,
        labelled=np.asarray(labelled),
        y=y,
        weights=W,
        name=name,
        **extra,
    )


def _ensure_labels_in_every_component(W, labelled, rng):
    """Replace labels so every connected component holds one (keeps ``Q`` positive definite)."""
    from scipy.sparse.csgraph import connected_components

    _, component = connected_components(W, directed=False)
    labelled = list(labelled)
    covered = set(component[labelled])
    for comp in np.unique(component):
        if comp not in covered:
            members = np.flatnonzero(component == comp)
            counts = np.bincount(component[labelled])
            donor = int(
                np.argmax(counts)
            )  # take a label from the best-covered component
            index = next(
                i for i, node in enumerate(labelled) if component[node] == donor
            )
            labelled[index] = int(rng.choice(members))
            covered.add(comp)
    return np.sort(np.asarray(labelled))


def make_lattice_label_propagation(
    shape=(50, 50),
    n_labelled=100,
    *,
    weight_range=(1e4, 1e5),
    label_scale=10.0,
    random_state=None,
):
    """Problem D: label propagation on a 2-D lattice (4-neighbour), a sparse quadratic.

    Minimises ``0.5 sum_{i~j} w_ij (y_i - y_j)^2`` over the unlabelled nodes,
    with edge weights uniform in ``weight_range`` and ``n_labelled`` nodes
    holding labels drawn from ``N(0, label_scale^2)``. Written as
    ``f(x) = 0.5 x^T Q x - c^T x`` with ``Q`` the Laplacian restricted to the
    unlabelled nodes (positive definite).

    Returns
    -------
    problem : Bunch
        ``Q`` (CSR, SPD), ``c``, ``adjacency`` (CSR pattern of ``Q`` off the
        diagonal: the dependency graph), ``free`` (node ids of the unknowns),
        ``labelled``, ``y`` (labels of all nodes; meaningful on ``labelled``),
        ``weights`` (full weight matrix), ``grid_shape`` and ``positions``
        (lattice row and column of each unknown).
    """
    import scipy.sparse as sp

    rows, cols = (
        check_scalar(s, "shape", kind=numbers.Integral, lower=2)
        for s in _check_pair(shape, "shape")
    )
    n = rows * cols
    n_labelled = check_scalar(
        n_labelled, "n_labelled", kind=numbers.Integral, lower=1, upper=n - 1
    )
    low, high = (
        check_scalar(w, "weight_range", lower=0.0, lower_inclusive=False)
        for w in _check_pair(weight_range, "weight_range")
    )
    if high < low:
        raise ValueError(f"weight_range must be increasing, got {weight_range!r}.")
    rng = check_random_state(random_state)
    ids = np.arange(n).reshape(rows, cols)
    heads = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    tails = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    w = rng.uniform(low, high, heads.size)
    W = sp.coo_matrix(
        (np.r_[w, w], (np.r_[heads, tails], np.r_[tails, heads])), shape=(n, n)
    )
    y = label_scale * rng.standard_normal(n)
    labelled = np.sort(rng.choice(n, n_labelled, replace=False))
    problem = _label_propagation_system(W, labelled, y, "D", grid_shape=(rows, cols))
    problem.positions = np.column_stack(np.unravel_index(problem.free, (rows, cols)))
    return problem


def make_moons_label_propagation(
    n_samples=2000, n_neighbors=5, n_labelled=100, *, noise=0.1, random_state=None
):
    """Problem E: label propagation on a k-nearest-neighbour graph of two moons.

    Unit weights on the symmetrised ``n_neighbors``-NN graph; labels are the
    moon of each point (+1 / -1) on ``n_labelled`` random points, moved if
    needed so each connected component holds one (``Q`` positive definite).

    Returns
    -------
    problem : Bunch
        As :func:`make_lattice_label_propagation`, with ``X`` (the points)
        instead of the lattice fields and ``y`` the true moons in {-1, +1}.
    """
    from sklearn.datasets import make_moons
    from sklearn.neighbors import kneighbors_graph

    n_samples = check_scalar(n_samples, "n_samples", kind=numbers.Integral, lower=4)
    n_neighbors = check_scalar(
        n_neighbors, "n_neighbors", kind=numbers.Integral, lower=1, upper=n_samples - 1
    )
    n_labelled = check_scalar(
        n_labelled, "n_labelled", kind=numbers.Integral, lower=1, upper=n_samples - 1
    )
    rng = check_random_state(random_state)
    X, moon = make_moons(
        n_samples, noise=noise, random_state=int(rng.integers(2**31 - 1))
    )
    G = kneighbors_graph(X, n_neighbors, mode="connectivity")
    W = ((G + G.T) > 0).astype(float)
    labelled = np.sort(rng.choice(n_samples, n_labelled, replace=False))
    labelled = _ensure_labels_in_every_component(W, labelled, rng)
    y = np.where(moon == 1, 1.0, -1.0)
    return _label_propagation_system(W, labelled, y, "E", X=X)


def make_nonnegative_l1_problem(
    n_samples=1000, n_features=10000, *, lam=5e4, random_state=None
):
    """Problem L1: ``0.5 ||A x - b||^2 + lam sum_i x_i`` subject to ``x >= 0``, on problem A's data.

    Returns
    -------
    problem : Bunch
        Problem A's fields plus ``lam``.
    """
    lam = check_scalar(lam, "lam", lower=0.0)
    problem = make_bcd_least_squares(n_samples, n_features, random_state=random_state)
    problem.lam = lam
    problem.name = "L1"
    return problem


_GENERATORS = {
    "A": make_bcd_least_squares,
    "B": make_bcd_logistic,
    "C": make_bcd_softmax,
    "D": make_lattice_label_propagation,
    "E": make_moons_label_propagation,
    "L1": make_nonnegative_l1_problem,
}


def load_bcd_problem(name, *, random_state=0, **kwargs):
    """One of the BCD paper's problems by name: ``"A"``, ``"B"``, ``"C"``, ``"D"``, ``"E"`` or ``"L1"``.

    Extra keyword arguments go to the generator (e.g. a smaller size for tests).
    """
    check_option(name, "name", tuple(_GENERATORS))
    return _GENERATORS[name](random_state=random_state, **kwargs)
