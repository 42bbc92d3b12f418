"""Label propagation (harmonic functions): a sparse linear system per class.

Zhu, Ghahramani and Lafferty's label propagation with hard clamping, as
scikit-learn's :class:`~sklearn.semi_supervised.LabelPropagation` iterates
it: with the affinity ``W`` row-normalised into ``P = D^{-1} W`` (``D`` the
row sums), the label distributions of the unlabelled samples are the fixed
point ``F_u = P_uu F_u + P_ul Y_l``, i.e. the solution of

    Q F_u = C,    Q = (D - W)_uu,    C = W_ul Y_l

(self-loops cancel in ``D - W``, so they do not change the solution; samples
from which no labelled sample can be reached along the graph's edges keep a
zero distribution, as in scikit-learn). Since ``Q 1 = C 1``, the
distributions sum to one and the last class is the complement of the others
(one solve fewer).

* Symmetric ``W`` (the ``"rbf"`` kernel, ``graph="symmetric"``, symmetric
  callables): ``Q`` is symmetric positive definite and ``F_u[:, k]``
  minimises ``0.5 x^T Q x - c_k^T x``, solved by
  :func:`optlib.optimize.message_passing_bcd` (exact block updates on forests).
* Non-symmetric ``W`` (scikit-learn's directed kNN graph, the default, and
  non-symmetric callables): ``Q`` is a nonsingular M-matrix but not
  symmetric, so there is no quadratic to minimise and message passing does
  not apply; the system is solved exactly by a sparse LU factorisation
  (SuperLU, host memory), one factorisation for all the classes.
"""

import math
import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._result import warn_convergence
from .._validation import check_option, check_scalar

__all__ = ["LabelPropagation"]

KERNELS = ("knn", "rbf")
GRAPHS = ("directed", "symmetric")
SOLVERS = ("auto", "direct", "message_passing")
_DENSE_FRACTION = 0.1  # a graph with more edges than this fraction of n^2 is solved densely


class LabelPropagation(ClassifierMixin, BaseEstimator):
    """Semi-supervised label propagation, solved exactly (scikit-learn's model and defaults).

    scikit-learn's semi-supervised API: ``fit(X, y)`` with ``y = -1`` for the
    unlabelled samples; ``transduction_`` holds the labels given to every
    training sample, ``predict`` and ``predict_proba`` classify new samples.
    With the default ``graph="directed"`` the label distributions are the
    fixed point that scikit-learn's :class:`~sklearn.semi_supervised.LabelPropagation`
    iterates towards, computed by a linear solve instead of the iteration.

    Parameters
    ----------
    kernel : {"knn", "rbf"} or callable, default="rbf"
        Affinity between the training samples:

        - ``"rbf"``: ``w_ij = exp(-gamma ||x_i - x_j||^2)`` (dense).
        - ``"knn"``: ``w_ij = 1`` when ``j`` is among the ``n_neighbors``
          nearest training samples of ``x_i``, the sample itself counted (as
          scikit-learn builds it: ``kneighbors_graph`` queried with the
          training samples), so ``n_neighbors - 1`` other samples; a
          directed graph.
        - a callable ``kernel(A, B)`` returning the (sparse or dense)
          affinity between the rows of ``A`` and ``B``, as scikit-learn's;
          ``kernel(X, X)`` must be finite and nonnegative, and may be
          non-symmetric; ``predict`` uses ``kernel(X_train, X_new)``.
    gamma : float, default=20
        Parameter of the ``"rbf"`` kernel.
    n_neighbors : int, default=7
        Number of neighbours of the ``"knn"`` kernel (at most ``n_samples``).
    graph : {"directed", "symmetric"}, default="directed"
        ``"directed"``: the affinity as the kernel gives it (scikit-learn's).
        ``"symmetric"``: symmetrised by the element-wise maximum; for
        ``"knn"`` the union of the ``n_neighbors``-nearest-neighbour graphs
        with the sample itself excluded (``n_neighbors`` other samples, as
        problem E of :mod:`optlib.datasets`). A symmetric graph is solved by
        message passing, whose blocks scale to large sparse graphs.
    solver : {"auto", "direct", "message_passing"}, default="auto"
        ``"direct"``: LU factorisation of the row-normalised system (dense
        for a dense graph, sparse otherwise), all classes at once; exact, and
        the only choice for a non-symmetric graph. ``"message_passing"``:
        :func:`~optlib.optimize.message_passing_bcd` per class, for large
        sparse symmetric graphs (its residual test is global, so samples with
        affinities many orders of magnitude below the others are resolved
        less accurately). ``"auto"``: message passing for a sparse (at most
        10% of the entries) symmetric graph, the direct solve otherwise.
    blocks : str, default="greedy_tree"
        Block strategy of :func:`~optlib.optimize.message_passing_bcd`.
    max_iter : int, default=1000
        Maximum number of full sweeps of message passing (block updates
        totalling ``max_iter`` times the number of unlabelled samples).
        Not used by the direct solve of a non-symmetric graph.
    tol : float, default=1e-6
        Message passing stops a class when ``||Q x - c_k|| <= tol * ||c_k||``.
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
        samples that reach no labelled one, as in scikit-learn).
    transduction_ : ndarray of shape (n_samples,)
        Label given to each training sample.
    n_iter_ : int
        Full sweeps of message passing (block updates over the classes
        divided by the number of unlabelled samples per class, rounded up,
        largest over the classes); 1 for a direct solve.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, when X has feature names.

    Notes
    -----
    scikit-learn iterates ``F <- P F`` (clamped, ``tol=1e-3`` on the change
    of ``F`` by default) and stops short of the fixed point; here the fixed
    point is solved to ``tol``, so the two agree to scikit-learn's own
    accuracy (to 1e-8 with ``tol=1e-12`` on its side). ``tol`` and
    ``max_iter`` thus do not mean the same in both. Unlike scikit-learn,
    ``predict_proba`` returns the uniform distribution (instead of NaN) for a
    new sample whose graph neighbours carry no label mass.
    """

    def __init__(
        self,
        kernel="rbf",
        *,
        gamma=20.0,
        n_neighbors=7,
        graph="directed",
        solver="auto",
        blocks="greedy_tree",
        max_iter=1000,
        tol=1e-6,
        random_state=None,
        n_jobs=None,
    ):
        self.kernel = kernel
        self.gamma = gamma
        self.n_neighbors = n_neighbors
        self.graph = graph
        self.solver = solver
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
        check_option(self.graph, "graph", GRAPHS)
        check_option(self.blocks, "blocks", BLOCKS)
        check_option(self.solver, "solver", SOLVERS)
        check_scalar(self.gamma, "gamma", lower=0.0, lower_inclusive=False)
        check_scalar(self.n_neighbors, "n_neighbors", kind=numbers.Integral, lower=1)
        check_scalar(self.max_iter, "max_iter", kind=numbers.Integral, lower=1)
        check_scalar(self.tol, "tol", lower=0.0)

    def _affinity(self, X):
        """Nonnegative CSR affinity of the training samples (the chosen graph, self-loops kept)."""
        import scipy.sparse as sp
        from sklearn.metrics.pairwise import rbf_kernel
        from sklearn.neighbors import NearestNeighbors

        n = X.shape[0]
        if callable(self.kernel):
            W = sp.csr_matrix(self.kernel(X, X), dtype=np.float64)
            if W.shape != (n, n):
                raise ValueError(f"kernel(X, X) must have shape ({n}, {n}), got {W.shape}.")
            if W.nnz and (not np.all(np.isfinite(W.data)) or W.data.min() < 0):
                raise ValueError("kernel(X, X) must be finite and nonnegative.")
        elif self.kernel == "knn":
            symmetric = self.graph == "symmetric"
            k = min(self.n_neighbors, n - 1 if symmetric else n)
            self.nn_fit_ = NearestNeighbors(n_neighbors=max(k, 1), n_jobs=self.n_jobs).fit(X)
            if k == 0:
                return sp.csr_matrix((n, n))
            # None: neighbours of the training samples, self excluded; X: self included (scikit-learn's)
            W = self.nn_fit_.kneighbors_graph(None if symmetric else X, k, mode="connectivity")
        else:
            W = sp.csr_matrix(rbf_kernel(X, X, gamma=self.gamma))
        if self.graph == "symmetric":
            W = W.maximum(W.T)
        return sp.csr_matrix(W, dtype=np.float64)

    def _build_graph(self):
        """Row-normalised affinity ``D^{-1} W`` of ``X_`` (scikit-learn's transition matrix; a zero row stays zero)."""
        import scipy.sparse as sp

        W = self._affinity(self.X_)
        degree = np.asarray(W.sum(axis=1)).ravel()
        inv = np.divide(1.0, degree, out=np.zeros_like(degree), where=degree > 0)
        return sp.diags(inv) @ W

    @staticmethod
    def _reaching(W, labelled):
        """Mask of the samples from which a labelled sample is reachable (row ``i`` depends on ``j`` if ``w_ij > 0``)."""
        import scipy.sparse as sp
        from scipy.sparse.csgraph import breadth_first_order

        n = W.shape[0]
        ones = np.ones(labelled.size)
        source = sp.csr_matrix((ones, (np.full(labelled.size, n), labelled)), shape=(n + 1, n + 1))
        G = sp.block_diag((W.T, sp.csr_matrix((1, 1))), format="csr") + source  # edges j -> i and n -> labelled
        order = breadth_first_order(G, n, directed=True, return_predecessors=False)
        mask = np.zeros(n, dtype=bool)
        mask[order[order < n]] = True
        return mask

    def fit(self, X, y):
        """Fit the model: build the graph and solve the harmonic system of each class.

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
        W = self._affinity(X)
        W.setdiag(0.0)  # self-loops cancel in D - W
        W.eliminate_zeros()

        F = np.zeros((n, classes.size))
        labelled = np.flatnonzero(~unlabelled)
        F[labelled, np.searchsorted(classes, y[labelled])] = 1.0
        free = np.flatnonzero(unlabelled & self._reaching(W, labelled))
        self.n_iter_ = 0
        if free.size:
            degree = np.asarray(W.sum(axis=1)).ravel()
            W_free = W[free]
            C = np.asarray(W_free[:, labelled] @ F[labelled])
            asym = W - W.T
            symmetric = not asym.nnz or abs(asym).max() <= 1e-12 * abs(W).max()
            solver = self.solver
            if solver == "auto":
                dense = W.nnz > _DENSE_FRACTION * n * n
                solver = "message_passing" if symmetric and not dense else "direct"
            elif solver == "message_passing" and not symmetric:
                raise ValueError(
                    "solver='message_passing' needs a symmetric graph (it minimises a quadratic); "
                    "this kernel's affinity is not symmetric: use solver='direct' or graph='symmetric'."
                )
            if solver == "direct":
                F[free] = self._direct(W_free[:, free], degree[free], C)
                self.n_iter_ = 1
            else:
                Q = (sp.diags(degree[free]) - W_free[:, free]).tocsr()
                # the distributions sum to one (Q 1 = C 1): the last class is the complement
                n_solve = max(classes.size - 1, 1)
                for k in range(n_solve):
                    F[free, k], sweeps = self._message_passing(Q, C[:, k])
                    self.n_iter_ = max(self.n_iter_, sweeps)
                if classes.size > 1:
                    F[free, -1] = 1.0 - F[free, :-1].sum(axis=1)
        np.clip(F, 0.0, None, out=F)
        total = F.sum(axis=1, keepdims=True)
        total[total == 0] = 1.0
        F /= total
        self.label_distributions_ = F
        self.transduction_ = classes[np.argmax(F, axis=1)]
        return self

    @staticmethod
    def _direct(W_uu, degree, C):
        """Solve ``(D - W_uu) F = C`` for all classes, rows scaled by ``1 / D`` (``I - P_uu``, O(1) rows).

        The scaling keeps samples whose affinities are tiny (an ``"rbf"``
        kernel with a large ``gamma``: weights down to 1e-300) as accurate as
        the others. Dense LU (LAPACK) for a dense graph, sparse LU (SuperLU)
        otherwise.
        """
        import scipy.linalg
        import scipy.sparse as sp

        P = sp.csr_matrix(W_uu, copy=True)  # rows divided by the degrees (1 / degree may overflow)
        P.data /= np.repeat(degree, np.diff(P.indptr))
        A = sp.identity(degree.size, format="csr") - P
        B = C / degree[:, None]
        if W_uu.nnz > _DENSE_FRACTION * degree.size**2:
            return scipy.linalg.solve(A.toarray(), B, check_finite=False)
        from scipy.sparse.linalg import splu

        return splu(A.tocsc()).solve(np.asfortranarray(B))

    def _message_passing(self, Q, c):
        """Solve ``Q x = c`` (symmetric) within ``max_iter`` full sweeps; returns ``x`` and the sweeps used."""
        from ..optimize import message_passing_bcd

        size = Q.shape[0]
        budget = self.max_iter * size  # node updates
        updated = [0]

        def count(intermediate_result):
            updated[0] += intermediate_result.block_size
            if updated[0] >= budget:
                raise StopIteration

        res = message_passing_bcd(
            Q, c, blocks=self.blocks, max_iter=budget, tol=self.tol, random_state=self.random_state,
            callback=count, history=False,
        )  # fmt: skip
        if not res.success:
            warn_convergence(
                f"LabelPropagation: max_iter={self.max_iter} sweeps reached without convergence "
                f"(residual {res.grad_norm:.3e}, tol={self.tol}).",
                stacklevel=3,
            )
        return res.x, min(math.ceil(updated[0] / size), self.max_iter)  # the last block may overshoot

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
