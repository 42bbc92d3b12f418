"""Label propagation (harmonic functions) solved by message-passing block coordinate descent.

Zhu, Ghahramani and Lafferty's harmonic-function label propagation with hard
clamping: on a symmetric graph with weights ``w_ij``, the label distribution
``F[:, k]`` of class ``k`` minimises

    0.5 * sum_ij w_ij (F_ik - F_jk)^2

with ``F`` fixed to the one-hot labels on the labelled samples. Over the
unlabelled samples this is the sparse quadratic ``0.5 x^T Q x - c_k^T x``
with ``Q = (D - W)_uu`` and ``c_k = W_ul Y_lk`` (``D`` the degrees), solved
for each class (one-vs-rest) by :func:`optlib.optimize.message_passing_bcd`;
as ``Q 1 = sum_k c_k``, the distributions sum to one and the last class is
the complement of the others (one solve fewer).
Its minimiser is the fixed point of scikit-learn's
:class:`~sklearn.semi_supervised.LabelPropagation` iteration when both use
the same symmetric graph (see the class docstring for the graphs).
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import check_option, check_scalar

__all__ = ["LabelPropagation"]

KERNELS = ("knn", "rbf")


class LabelPropagation(ClassifierMixin, BaseEstimator):
    """Semi-supervised label propagation with exact block updates on forests.

    scikit-learn's semi-supervised API: ``fit(X, y)`` with ``y = -1`` for the
    unlabelled samples; ``transduction_`` holds the labels given to every
    training sample, ``predict`` and ``predict_proba`` classify new samples.

    Parameters
    ----------
    kernel : {"knn", "rbf"} or callable, default="knn"
        Graph on the training samples:

        - ``"knn"``: the ``n_neighbors``-nearest-neighbour graph (self
          excluded), symmetrised by union (``w_ij = 1`` when ``j`` is among the
          neighbours of ``i`` or ``i`` among those of ``j``), as problem E of
          :mod:`optlib.datasets`. scikit-learn's ``kernel="knn"`` instead uses
          the directed graph (self included) normalised by rows, whose fixed
          point is not a symmetric quadratic; the two agree on most samples but
          not exactly.
        - ``"rbf"``: ``w_ij = exp(-gamma ||x_i - x_j||^2)``, scikit-learn's
          graph (its self-loops do not change the solution): dense, so the
          forest blocks are tiny (at most two samples); prefer ``"knn"`` for
          more than a few hundred samples.
        - a callable ``kernel(A, B)`` returning the (sparse or dense) affinity
          between the rows of ``A`` and ``B``, as scikit-learn's:
          ``kernel(X, X)`` must be symmetric and nonnegative; ``predict`` uses
          ``kernel(X_train, X_new)``.
    gamma : float, default=20
        Parameter of the ``"rbf"`` kernel.
    n_neighbors : int, default=7
        Number of neighbours of the ``"knn"`` kernel (at most ``n_samples - 1``
        are used).
    blocks : str, default="greedy_tree"
        Block strategy of :func:`~optlib.optimize.message_passing_bcd`.
    max_iter : int, default=10000
        Maximum number of block updates per class (each updates a forest of
        samples, about half of a kNN graph's unlabelled samples).
    tol : float, default=1e-6
        Stop a class when ``||Q x - c_k|| <= tol * ||c_k||``.
    random_state : int, Generator or None, default=None
        Randomness of ``blocks="random_tree"``.
    n_jobs : int, default=None
        Parallel jobs of the nearest-neighbour search.

    Attributes
    ----------
    X_ : ndarray of shape (n_samples, n_features)
        Training samples.
    classes_ : ndarray of shape (n_classes,)
        Labels seen in ``y`` (``-1`` excluded).
    label_distributions_ : ndarray of shape (n_samples, n_classes)
        Class distribution of each training sample (rows sum to 1; all zero for
        samples not connected to any labelled one, as in scikit-learn).
    transduction_ : ndarray of shape (n_samples,)
        Label given to each training sample.
    n_iter_ : int
        Largest number of block updates over the classes.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, when X has feature names.

    Notes
    -----
    Unlike scikit-learn, ``predict_proba`` returns the uniform distribution
    (instead of NaN) for a new sample whose graph neighbours carry no label
    mass.
    """

    def __init__(
        self,
        kernel="knn",
        *,
        gamma=20.0,
        n_neighbors=7,
        blocks="greedy_tree",
        max_iter=10000,
        tol=1e-6,
        random_state=None,
        n_jobs=None,
    ):
        self.kernel = kernel
        self.gamma = gamma
        self.n_neighbors = n_neighbors
        self.blocks = blocks
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _check_params(self):
        from ..optimize._bcd._message_passing import BLOCKS

        if not callable(self.kernel):
            check_option(self.kernel, "kernel", KERNELS)
        check_option(self.blocks, "blocks", BLOCKS)
        check_scalar(self.gamma, "gamma", lower=0.0, lower_inclusive=False)
        check_scalar(self.n_neighbors, "n_neighbors", kind=numbers.Integral, lower=1)
        check_scalar(self.max_iter, "max_iter", kind=numbers.Integral, lower=1)
        check_scalar(self.tol, "tol", lower=0.0)

    def _graph(self, X):
        """Symmetric nonnegative CSR weight matrix of the training samples, zero diagonal."""
        import scipy.sparse as sp
        from sklearn.metrics.pairwise import rbf_kernel
        from sklearn.neighbors import NearestNeighbors

        n = X.shape[0]
        if callable(self.kernel):
            W = self.kernel(X, X)
            W = sp.csr_matrix(W, dtype=np.float64)
            if W.shape != (n, n):
                raise ValueError(
                    f"kernel(X, X) must have shape ({n}, {n}), got {W.shape}."
                )
            if W.nnz and (not np.all(np.isfinite(W.data)) or W.data.min() < 0):
                raise ValueError("kernel(X, X) must be finite and nonnegative.")
            if W.nnz and abs(W - W.T).max() > 1e-12 * abs(W).max():
                raise ValueError(
                    "kernel(X, X) must be symmetric (label propagation solves a symmetric quadratic)."
                )
        elif self.kernel == "knn":
            k = min(self.n_neighbors, n - 1)
            self.nn_fit_ = NearestNeighbors(
                n_neighbors=max(k, 1), n_jobs=self.n_jobs
            ).fit(X)
            if k == 0:
                W = sp.csr_matrix((n, n))
            else:
                G = self.nn_fit_.kneighbors_graph(None, k, mode="connectivity")
                W = G.maximum(G.T).tocsr()
        else:
            W = sp.csr_matrix(rbf_kernel(X, X, gamma=self.gamma))
        W = sp.csr_matrix(W)
        W.setdiag(0.0)
        W.eliminate_zeros()
        return W

    def fit(self, X, y):
        """Fit the model: build the graph and solve the harmonic problem of each class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels, ``-1`` for unlabelled samples.

        Returns
        -------
        self
        """
        import scipy.sparse as sp
        from scipy.sparse.csgraph import connected_components

        from ..optimize import message_passing_bcd

        self._check_params()
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], reset=True)
        check_classification_targets(y)
        self.X_ = X
        y = np.asarray(y)
        unlabelled = y == -1
        classes = np.unique(y[~unlabelled])
        if classes.size == 0:
            raise ValueError(
                "y has no labelled sample (every entry is -1); label at least one sample."
            )
        self.classes_ = classes
        n = X.shape[0]
        W = self._graph(X)

        F = np.zeros((n, classes.size))
        labelled = np.flatnonzero(~unlabelled)
        F[labelled, np.searchsorted(classes, y[labelled])] = 1.0
        # unlabelled samples in components without a label keep zero distributions
        _, component = connected_components(W, directed=False)
        reached = np.isin(component, np.unique(component[labelled]))
        free = np.flatnonzero(unlabelled & reached)
        self.n_iter_ = 0
        if free.size:
            degree = np.asarray(W.sum(axis=1)).ravel()
            W_free = W[free]
            Q = (sp.diags(degree[free]) - W_free[:, free]).tocsr()
            C = W_free[:, labelled] @ F[labelled]
            # the distributions sum to one (Q 1 = sum_k c_k): the last class is the complement
            n_solve = max(classes.size - 1, 1)
            for k in range(n_solve):
                res = message_passing_bcd(
                    Q,
                    np.asarray(C[:, k]).ravel(),
                    blocks=self.blocks,
                    max_iter=self.max_iter,
                    tol=self.tol,
                    random_state=self.random_state,
                    history=False,
                )
                F[free, k] = res.x
                self.n_iter_ = max(self.n_iter_, int(res.nit))
            if classes.size > 1:
                F[free, -1] = 1.0 - F[free, :-1].sum(axis=1)
        np.clip(F, 0.0, None, out=F)
        total = F.sum(axis=1, keepdims=True)
        total[total == 0] = 1.0
        F /= total
        self.label_distributions_ = F
        self.transduction_ = classes[np.argmax(F, axis=1)]
        return self

    def predict_proba(self, X):
        """Class probabilities of new samples: label distributions averaged over their graph neighbours.

        ``"knn"``: the sum of the distributions of the ``n_neighbors`` nearest
        training samples; ``"rbf"`` and callables: the kernel-weighted sum
        (scikit-learn's rule), normalised to sum to 1.
        """
        from sklearn.metrics.pairwise import rbf_kernel

        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        F = self.label_distributions_
        if callable(self.kernel):
            P = np.asarray((self.kernel(self.X_, X).T @ F), dtype=np.float64)
        elif self.kernel == "knn":
            k = min(self.n_neighbors, self.X_.shape[0])
            neighbours = self.nn_fit_.kneighbors(X, k, return_distance=False)
            P = F[neighbours].sum(axis=1)
        else:
            P = rbf_kernel(X, self.X_, gamma=self.gamma) @ F
        total = P.sum(axis=1, keepdims=True)
        empty = total[:, 0] <= 0
        P[empty] = 1.0
        total[empty] = P.shape[1]
        return P / total

    def predict(self, X):
        """Most probable class of each sample of ``X``."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
