"""Multi-task regularisation paths and ``MultiTaskLassoCV`` / ``MultiTaskElasticNetCV``.

:func:`._path.enet_path` and :func:`._path.lasso_path` hand a 2-D ``y``
(n_samples, n_tasks) to :func:`multitask_enet_path`, which solves
scikit-learn's multi-task objective (l2,1 penalty over the rows of ``W``,
:mod:`._multitask`) at each alpha, from the largest down, each solve
warm-started from the previous coefficients and residual, on the working-set
block coordinate-descent kernel of :mod:`._multitask_numba`. As in
scikit-learn, the coefficients come back with shape
``(n_tasks, n_features, n_alphas)``, the grid's ``alpha_max`` is the largest
row norm of ``X^T Y`` over ``n_samples * l1_ratio``, ``positive=True`` is
refused and ``precompute`` is ignored (there is no Gram variant). A sparse
``X`` is densified (host memory ``n_samples * n_features``).

The cross-validation estimators are :class:`._cv._LinearModelCV` (grids,
joblib folds, selection, refit) with the multi-task fold paths and
:class:`._multitask.MultiTaskElasticNet` as the refit model; the test error
of a fold is scikit-learn's: the (weighted) mean over its samples, then the
mean over the tasks.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

from .._result import warn_convergence
from .._validation import check_random_state
from ._coordinate_descent import _validate_sample_weight
from ._cv import ElasticNetCV, _LinearModelCV
from ._multitask import MultiTaskElasticNet, _MTProblem
from ._path import _alpha_grid, enet_path, lasso_path

__all__ = ["MultiTaskElasticNetCV", "MultiTaskLassoCV"]


def _solve_mt_path(problem, alphas, l1_ratio, *, coef_init=None, tol=1e-4, max_iter=1000, random_state=None,
                   selection="cyclic", verbose=False):  # fmt: skip
    """Solve ``problem`` (a :class:`._multitask._MTProblem`) at each alpha (decreasing), warm-started.

    Returns ``coefs`` (n_tasks, n_features, n_alphas) in the problem's dtype,
    the duality gaps (n_alphas,) in the objective's units and the epochs per
    alpha. Warns once (``ConvergenceWarning``) when some alphas did not converge.
    """
    n, (T, p) = problem.n, (problem.Yt.shape[0], problem.Xc.shape[1])
    W = np.zeros((p, T), dtype=problem.dtype)  # the kernel's layout: one row per feature
    if coef_init is not None:
        W[:] = coef_init.T
    R = problem.residual(W)
    random = selection == "random"
    rng = check_random_state(random_state) if random else None
    tol_abs = tol * problem.yy
    coefs = np.empty((T, p, len(alphas)), dtype=problem.dtype)
    gaps = np.empty(len(alphas))
    n_iters, missed = [], []
    for i, alpha in enumerate(alphas):
        seed = int(rng.integers(np.iinfo(np.int32).max)) if random else 0
        n_ep, gap = problem.solve(W, R, alpha, l1_ratio, max_iter, tol_abs, random, seed, tol, entry_test=False)
        coefs[:, :, i] = W.T
        gaps[i] = gap / n
        n_iters.append(int(n_ep))
        if not gap <= tol_abs:  # NaN included
            missed.append(i)
        if verbose:
            nnz = int(np.count_nonzero(np.any(W != 0, axis=1)))
            print(f"path {i + 1:3d}/{len(alphas)}: alpha={alpha:.4e} rows={nnz} epochs={n_ep} gap={gap / n:.3e}")
    if missed:
        warn_convergence(
            f"multi-task enet_path: {len(missed)} of {len(alphas)} alphas did not converge in max_iter={max_iter} "
            f"epochs (smallest such alpha {alphas[missed[-1]]:.3e}, duality gap {gaps[missed[-1]]:.3e} > "
            f"tolerance {tol_abs / n:.3e}). Increase max_iter or tol.",
            stacklevel=4,
        )
    return coefs, gaps, n_iters


def multitask_enet_path(X, y, *, l1_ratio, eps, grid_size, alphas, Xy=None, coef_init=None, verbose=False,
                        return_n_iter=False, positive=False, tol=1e-4, max_iter=1000, random_state=None,
                        selection="cyclic"):  # fmt: skip
    """The multi-task path of :func:`._path.enet_path` (``y`` of shape (n_samples, n_tasks)).

    Called by ``enet_path`` after its checks (``l1_ratio``, ``eps``, ``tol``,
    ``max_iter``, ``selection``, ``X``, ``y``, ``Xy``; ``grid_size`` / ``alphas``
    from :func:`._path._check_alphas`); see ``enet_path`` for the parameters.
    ``Xy`` (n_features, n_tasks), when given, only sets the grid's ``alpha_max``.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
    coefs : ndarray of shape (n_tasks, n_features, n_alphas)
    dual_gaps : ndarray of shape (n_alphas,)
    n_iters : list of int
        Only with ``return_n_iter``.
    """
    if positive:
        raise ValueError("positive=True is not allowed for multi-output (y.ndim != 1).")
    if y.ndim != 2:
        raise ValueError(f"y must be 1-D or 2-D (n_samples, n_tasks), got shape {y.shape}.")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} samples, X has {X.shape[0]}.")
    problem = _MTProblem(X, y, None, False)
    T, p = y.shape[1], problem.Xc.shape[1]
    if alphas is None:
        if Xy is None:
            row_norms = problem.xty_row_norms()
        else:
            Xy = np.asarray(Xy, dtype=np.float64)
            if Xy.shape != (p, T):
                raise ValueError(f"Xy must have shape ({p}, {T}) for a y of {T} tasks, got {Xy.shape}.")
            row_norms = np.linalg.norm(Xy, axis=1)
        alphas = _alpha_grid(row_norms, problem.n, l1_ratio, eps, grid_size, False)
    if coef_init is not None:
        coef_init = np.asarray(coef_init, dtype=np.float64)
        if coef_init.shape != (T, p):
            raise ValueError(f"coef_init must have shape ({T}, {p}) (n_tasks, n_features), got {coef_init.shape}.")
    coefs, gaps, n_iters = _solve_mt_path(
        problem, alphas, l1_ratio, coef_init=coef_init, tol=tol, max_iter=max_iter, random_state=random_state,
        selection=selection, verbose=verbose,
    )  # fmt: skip
    if return_n_iter:
        return alphas, coefs, gaps, n_iters
    return alphas, coefs, gaps


class _MultiTaskLinearModelCV(_LinearModelCV):
    """:class:`._cv._LinearModelCV` on the multi-task paths (see the module docstring)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags

    def _check_solver_params(self):
        """No ``positive``, ``precompute`` nor ``use_working_set`` here (scikit-learn's parameters)."""

    def _validate_fit_data(self, X, y, sample_weight):
        """Dense ``X``, 2-D ``y`` in ``X``'s dtype and the weights rescaled to sum to ``n_samples``."""
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc", "coo"], dtype=[np.float64, np.float32], multi_output=True,
            y_numeric=True,
        )  # fmt: skip
        if y.ndim == 1:
            raise ValueError(f"For mono-task outputs, use {type(self).__name__[9:]}; y has shape {y.shape}.")
        if sp.issparse(X):
            X = X.toarray()  # densified once for all the folds (the multi-task kernel is dense)
        y = np.asarray(y, dtype=X.dtype)
        return X, y, _validate_sample_weight(sample_weight, X, X.shape[0], X.dtype, True)

    def _grid_xty(self, X, y, sw):
        return _MTProblem(X, y, sw, self.fit_intercept).xty_row_norms()

    def _fold_job(self, X, y, sw, train, test, l1_ratio, alphas):
        sw_train = None if sw is None else sw[train] * (len(train) / np.sum(sw[train]))
        problem = _MTProblem(X[train], y[train], sw_train, self.fit_intercept)
        coefs, _, _ = _solve_mt_path(
            problem, alphas, l1_ratio, tol=self.tol, max_iter=self.max_iter, random_state=self.random_state,
            selection=self.selection,
        )  # fmt: skip
        intercepts = problem.Y_offset[:, None] - np.einsum("j,tja->ta", problem.X_offset, coefs)
        residues = np.einsum("ij,tja->ita", X[test], coefs) + intercepts - y[test][:, :, None]
        mse = np.average(residues**2, axis=0, weights=None if sw is None else sw[test])  # (task, alpha)
        return mse.mean(axis=0)

    def _refit_model(self):
        return MultiTaskElasticNet(
            alpha=self.alpha_, l1_ratio=self.l1_ratio_, fit_intercept=self.fit_intercept, copy_X=self.copy_X,
            max_iter=self.max_iter, tol=self.tol, random_state=self.random_state, selection=self.selection,
        )  # fmt: skip


class MultiTaskLassoCV(_MultiTaskLinearModelCV):
    """Multi-task Lasso with alpha chosen by cross-validation along warm-started paths (scikit-learn's).

    Minimises ``1/(2n) ||Y - X W^T - b||_F^2 + alpha * sum_j ||W[:, j]||_2``
    (:class:`MultiTaskLasso`) for each alpha of a grid on each fold, picks the
    alpha of the smallest fold-averaged test error and refits on all the data.

    Parameters
    ----------
    eps : float, default=1e-3
        ``alpha_min / alpha_max`` of the generated grid.
    alphas : int or array-like, default=100
        Size of the generated grid, or the alphas to try.
    fit_intercept : bool, default=True
    max_iter : int, default=1000
        Epochs per alpha.
    tol : float, default=1e-4
        Duality-gap tolerance of each alpha (``tol * ||Y||_F^2``, ``Y`` centred).
    copy_X : bool, default=True
        Passed to the refit (``X`` is never modified).
    cv : int, cross-validation generator or iterable, default=None
        scikit-learn's ``cv`` (None: 5-fold).
    verbose : bool or int, default=False
        joblib's verbosity.
    n_jobs : int, default=None
        Folds solved in parallel (threads).
    random_state : int, RandomState, Generator or None, default=None
        Seed of ``selection="random"``.
    selection : {"cyclic", "random"}, default="cyclic"

    Attributes
    ----------
    alpha_ : float
    alphas_ : ndarray of shape (n_alphas,)
    mse_path_ : ndarray of shape (n_alphas, n_folds)
        Test mean squared error (mean over the tasks) of each alpha on each fold.
    coef_ : ndarray of shape (n_tasks, n_features)
    intercept_ : ndarray of shape (n_tasks,) or float
        The float ``0.0`` when ``fit_intercept=False`` (as scikit-learn).
    dual_gap_, n_iter_ :
        Of the refit at ``alpha_``.
    n_features_in_ : int
    """

    path = staticmethod(lasso_path)

    def __init__(self, *, eps=1e-3, alphas=100, fit_intercept=True, max_iter=1000, tol=1e-4, copy_X=True,
                 cv=None, verbose=False, n_jobs=None, random_state=None, selection="cyclic"):  # fmt: skip
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.copy_X = copy_X
        self.cv = cv
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.selection = selection

    def fit(self, X, y, sample_weight=None):
        """Choose alpha by cross-validation, then refit on all the data.

        Parameters
        ----------
        X : {ndarray, scipy.sparse matrix} of shape (n_samples, n_features)
            Training data (never modified; a sparse ``X`` is densified).
        y : array-like of shape (n_samples, n_tasks)
        sample_weight : float or array-like of shape (n_samples,), default=None
            Weights of the fits and of each fold's test error.

        Returns
        -------
        self
        """
        super().fit(X, y, sample_weight=sample_weight)
        del self.l1_ratio_  # scikit-learn's MultiTaskLassoCV has no l1_ratio_
        return self


class MultiTaskElasticNetCV(_MultiTaskLinearModelCV):
    """Multi-task elastic net with alpha and ``l1_ratio`` chosen by cross-validation (scikit-learn's).

    Parameters
    ----------
    l1_ratio : float or list of float, default=0.5
        The ``l1_ratio`` values to try (one path per value and fold).
    eps, alphas, fit_intercept, max_iter, tol, cv, copy_X, verbose, n_jobs, random_state, selection :
        As in :class:`MultiTaskLassoCV`.

    Attributes
    ----------
    alpha_ : float
    l1_ratio_ : float
    alphas_ : ndarray of shape (n_alphas,) or (n_l1_ratio, n_alphas)
    mse_path_ : ndarray of shape (n_alphas, n_folds) or (n_l1_ratio, n_alphas, n_folds)
    coef_ : ndarray of shape (n_tasks, n_features)
    intercept_ : ndarray of shape (n_tasks,) or float
        The float ``0.0`` when ``fit_intercept=False`` (as scikit-learn).
    dual_gap_, n_iter_ :
        Of the refit.
    n_features_in_ : int
    """

    path = staticmethod(enet_path)

    def __init__(self, *, l1_ratio=0.5, eps=1e-3, alphas=100, fit_intercept=True, max_iter=1000, tol=1e-4,
                 cv=None, copy_X=True, verbose=0, n_jobs=None, random_state=None, selection="cyclic"):  # fmt: skip
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.cv = cv
        self.copy_X = copy_X
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.selection = selection

    _l1_ratios = ElasticNetCV._l1_ratios
