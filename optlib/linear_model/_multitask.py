"""MultiTaskLasso and MultiTaskElasticNet solved by working-set block coordinate descent.

Objective (scikit-learn's scaling, so results are interchangeable)::

    1 / (2 * n_samples) * ||Y - X W^T - b||_F^2
        + alpha * l1_ratio * sum_j ||W[:, j]||_2 + 0.5 * alpha * (1 - l1_ratio) * ||W||_F^2

``W = coef_`` has shape ``(n_tasks, n_features)``; the l2,1 penalty groups
the coefficients of one feature across the tasks, so a feature is selected
for all tasks or for none. ``MultiTaskLasso`` is ``l1_ratio = 1``. As in
scikit-learn, ``sample_weight`` gives the weighted average datafit (weights
rescaled to sum to ``n_samples``), the intercept comes from (weighted)
centring, and the fit stops on scikit-learn's two tests: the duality gap is
below ``tol * ||Y||_F^2`` (``Y`` centred and weighted) and the last epoch
changed no coefficient by more than ``tol`` times the largest one (what
makes scikit-learn's coefficients accurate well beyond the gap tolerance);
``dual_gap_`` is that gap divided by ``n_samples``. A sparse ``X`` is densified (host memory
``n_samples * n_features``); ``X`` is never modified, so ``copy_X`` has no
effect.

The solver is the numba kernel :func:`._multitask_numba.multitask_cd_ws`
(working sets and gap stopping as the single-task kernel of
:mod:`._cd_numba`), imported on first fit.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._result import warn_convergence
from .._validation import check_option, check_random_state, check_scalar
from ._coordinate_descent import (
    SELECTIONS,
    _check_no_overflow,
    _initial_ws_size,
    _sparse_coef,
    _validate_sample_weight,
)

__all__ = ["MultiTaskElasticNet", "MultiTaskLasso"]


def _kernel():
    from . import _multitask_numba  # numba, when enabled, is imported here only

    return _multitask_numba.multitask_cd_ws


class _MTProblem:
    """Multi-task data as the kernel takes it: centred (when ``fit_intercept``) and weighted, once.

    Shared by :class:`MultiTaskElasticNet`, the multi-task paths and the
    cross-validation folds (:mod:`._multitask_path`). ``sw`` are weights
    already rescaled to sum to ``n_samples`` (or None). A sparse ``X`` is
    densified; ``X`` and ``Y`` are never modified.

    Attributes
    ----------
    Xc : ndarray of shape (n_samples, n_features), Fortran-ordered
    Yt : ndarray of shape (n_tasks, n_samples)
        Centred, weighted targets, task-major (the kernel's layout).
    X_offset, Y_offset : ndarray
        Weighted means (zeros without intercept).
    norms2 : ndarray of shape (n_features,), float64
        Squared column norms of ``Xc``.
    yy : float
        ``||Yt||_F^2`` (the gap tolerance is ``tol * yy``).
    """

    def __init__(self, X, Y, sw, fit_intercept):
        if sp.issparse(X):
            X = np.asfortranarray(X.toarray())
        self.n, p = X.shape
        self.dtype = dtype = X.dtype
        Y = np.asarray(Y, dtype=dtype)
        if fit_intercept:
            n = self.n
            self.X_offset = X.mean(axis=0) if sw is None else (sw @ X) / n
            self.Y_offset = Y.mean(axis=0) if sw is None else (sw @ Y) / n
            _check_no_overflow(self.X_offset, "X", X)
            _check_no_overflow(self.Y_offset, "y", Y)
            Xc, Yc = X - self.X_offset, Y - self.Y_offset
        else:
            self.X_offset, self.Y_offset = np.zeros(p, dtype=dtype), np.zeros(Y.shape[1], dtype=dtype)
            Xc, Yc = X, Y
        if sw is not None:
            s = np.sqrt(sw)[:, None]
            Xc, Yc = Xc * s, Yc * s
        self.Xc = np.asfortranarray(Xc, dtype=dtype)
        self.Yt = np.ascontiguousarray(Yc.T, dtype=dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            self.norms2 = np.einsum("ij,ij->j", self.Xc, self.Xc, dtype=np.float64)
            self.yy = float(np.einsum("ij,ij->", self.Yt, self.Yt, dtype=np.float64))
        _check_no_overflow(self.norms2, "X", X)
        _check_no_overflow(self.yy, "y", Y)

    def residual(self, W):
        """``Yt - (Xc W)^T``, task-major and C-ordered, for coefficients ``W`` of shape (n_features, n_tasks)."""
        return np.ascontiguousarray(self.Yt - (self.Xc @ W).T) if np.any(W) else self.Yt.copy()

    def xty_row_norms(self):
        """Row norms of ``Xc^T Yc`` (float64): the multi-task ``alpha_max`` is their max / (n * l1_ratio)."""
        return np.linalg.norm(np.dot(self.Xc.T, self.Yt.T).astype(np.float64), axis=1)

    def solve(self, W, R, alpha, l1_ratio, max_iter, tol, random, seed, dw_tol, entry_test=True):
        """Run the kernel at ``alpha`` from ``W`` (residual ``R``), both updated in place.

        ``tol`` is absolute (n-scaled units) and ``dw_tol`` relative (scikit-learn's
        two stopping tests, see :func:`._multitask_numba.multitask_cd_ws`).
        Returns ``(n_epochs, gap)``, the gap in n-scaled units.
        """
        n = self.n
        return _kernel()(
            self.Xc, self.Yt, W, R, self.norms2, n * alpha * l1_ratio, n * alpha * (1.0 - l1_ratio), max_iter, tol,
            random, seed, _initial_ws_size(self.Xc.shape[1]), dw_tol, entry_test,
        )  # fmt: skip


class MultiTaskElasticNet(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Multi-task elastic net: l2,1 and squared l2 penalties on ``coef_`` (scikit-learn's objective).

    Minimises ``1/(2n) ||Y - X W^T - b||_F^2 + alpha * l1_ratio * sum_j ||W[:, j]||_2
    + 0.5 * alpha * (1 - l1_ratio) * ||W||_F^2``.

    Parameters
    ----------
    alpha : float, default=1.0
        Regularisation strength, >= 0.
    l1_ratio : float, default=0.5
        Mix of the l2,1 and squared l2 penalties, in [0, 1].
    fit_intercept : bool, default=True
        Fit an unpenalised intercept per task.
    copy_X : bool, default=True
        Accepted for scikit-learn compatibility; ``X`` is never modified.
    max_iter : int, default=1000
        Maximum total number of block coordinate-descent epochs (sweeps over
        the current working set).
    tol : float, default=1e-4
        Stop when the duality gap is below ``tol * ||Y||_F^2`` (``Y`` centred)
        and the last epoch changed no coefficient by more than ``tol`` times
        the largest.
    warm_start : bool, default=False
        Start from the previous ``coef_``.
    random_state : int, numpy Generator, RandomState or None, default=None
        Seed for ``selection="random"``.
    selection : {"cyclic", "random"}, default="cyclic"
        Feature order within a sweep.

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features)
    intercept_ : ndarray of shape (n_tasks,) or float
        The float ``0.0`` when ``fit_intercept=False`` (as scikit-learn).
    n_iter_ : int
        Number of epochs run.
    dual_gap_ : float
        Final duality gap, in the units of the objective above.
    eps_ : float
        The tolerance on the gap, ``tol * ||Y||_F^2`` (n-scaled units, as scikit-learn).
    sparse_coef_ : scipy.sparse matrix of shape (n_tasks, n_features)
    n_features_in_ : int
    feature_names_in_ : ndarray of str, when X has feature names.
    """

    def __init__(
        self,
        alpha=1.0,
        *,
        l1_ratio=0.5,
        fit_intercept=True,
        copy_X=True,
        max_iter=1000,
        tol=1e-4,
        warm_start=False,
        random_state=None,
        selection="cyclic",
    ):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.random_state = random_state
        self.selection = selection

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags

    def _l1_ratio(self):
        return check_scalar(self.l1_ratio, "l1_ratio", lower=0.0, upper=1.0)

    @property
    def sparse_coef_(self):
        """``coef_`` as a scipy.sparse CSR array (CSR matrix under ``sparse_interface="spmatrix"``), as scikit-learn."""
        check_is_fitted(self)
        return _sparse_coef(self.coef_)

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {ndarray, scipy.sparse matrix} of shape (n_samples, n_features)
        y : ndarray of shape (n_samples, n_tasks)
        sample_weight : float or array-like of shape (n_samples,), default=None
            Nonnegative weights (rescaled to sum to ``n_samples``).

        Returns
        -------
        self
        """
        alpha = check_scalar(self.alpha, "alpha", lower=0.0)
        l1_ratio = self._l1_ratio()
        max_iter = check_scalar(self.max_iter, "max_iter", kind=numbers.Integral, lower=1)
        tol = check_scalar(self.tol, "tol", lower=0.0)
        check_option(self.selection, "selection", SELECTIONS)
        for name in ("fit_intercept", "warm_start", "copy_X"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}.")
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc", "coo"], dtype=[np.float64, np.float32],
            multi_output=True, y_numeric=True, order="F", copy=False,
        )  # fmt: skip
        if y.ndim == 1:
            name = "ElasticNet" if type(self)._l1_ratio is MultiTaskElasticNet._l1_ratio else "Lasso"
            raise ValueError(f"y must be 2-D (n_samples, n_tasks); for mono-task outputs, use {name}.")
        T = y.shape[1]
        sw = _validate_sample_weight(sample_weight, X, X.shape[0], X.dtype, True)
        problem = _MTProblem(X, y, sw, self.fit_intercept)
        p = problem.Xc.shape[1]
        W = np.zeros((p, T), dtype=problem.dtype)  # row j: feature j's coefficients
        if self.warm_start and hasattr(self, "coef_") and np.shape(self.coef_) == (T, p):
            W[:] = np.asarray(self.coef_, dtype=problem.dtype).T
        R = problem.residual(W)
        random = self.selection == "random"
        seed = int(check_random_state(self.random_state).integers(np.iinfo(np.int32).max)) if random else 0
        eps = tol * problem.yy
        n_ep, gap = problem.solve(W, R, alpha, l1_ratio, max_iter, eps, random, seed, tol)
        if not gap <= eps:  # NaN included
            warn_convergence(
                f"{type(self).__name__}: Objective did not converge. You might want to increase the number "
                f"of iterations. Duality gap: {gap:.6e}, tolerance: {eps:.3e} (max_iter={max_iter} epochs).",
                stacklevel=2,
            )
        coef = np.ascontiguousarray(W.T)
        _check_no_overflow(coef, "X", X)
        self.coef_ = coef
        # the float 0.0 without intercept, as scikit-learn's multi-task models
        self.intercept_ = 0.0
        if self.fit_intercept:
            self.intercept_ = (problem.Y_offset - coef @ problem.X_offset).astype(problem.dtype)
        self.n_iter_ = int(n_ep)
        self.dual_gap_ = float(gap) / problem.n
        self.eps_ = float(eps)
        return self

    def predict(self, X):
        """Predict ``X @ coef_.T + intercept_``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse=True, dtype=[np.float64, np.float32])
        return np.asarray(X @ self.coef_.T + self.intercept_)


class MultiTaskLasso(MultiTaskElasticNet):
    """Multi-task Lasso: l2,1 penalty on ``coef_`` (scikit-learn's objective).

    Minimises ``1/(2n) ||Y - X W^T - b||_F^2 + alpha * sum_j ||W[:, j]||_2``.
    See :class:`MultiTaskElasticNet` for the parameters and attributes
    (``l1_ratio`` is 1).
    """

    def __init__(
        self,
        alpha=1.0,
        *,
        fit_intercept=True,
        copy_X=True,
        max_iter=1000,
        tol=1e-4,
        warm_start=False,
        random_state=None,
        selection="cyclic",
    ):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.random_state = random_state
        self.selection = selection

    def _l1_ratio(self):
        return 1.0
