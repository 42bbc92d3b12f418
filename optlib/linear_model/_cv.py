"""``LassoCV`` and ``ElasticNetCV``: alpha (and l1_ratio) chosen by cross-validation along the path.

scikit-learn's protocol: one alpha grid per ``l1_ratio`` from the full data
(:func:`._path._alpha_grid`), then for each (``l1_ratio``, fold) a
warm-started path on the training part (:func:`._path._solve_path`, the
fold centred and weighted on its own) and the (weighted) mean squared error
of each alpha on the held-out part. The jobs run through joblib
(``n_jobs``, threads: the numba kernels release the GIL). The alpha (and
``l1_ratio``) of the smallest fold-averaged error is refitted on all the
data with :class:`ElasticNet` / :class:`Lasso`.
"""

import numbers

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import check_cv
from sklearn.utils.validation import column_or_1d, validate_data

from .._validation import check_option, check_scalar
from ._coordinate_descent import (
    SELECTIONS,
    ElasticNet,
    _check_bools,
    _check_precompute,
    _CDProblem,
    _is_sparse,
    _linear_predict,
    _sparse_coef,
    _validate_sample_weight,
)
from ._path import _alpha_grid, _check_alphas, _solve_path, enet_path, lasso_path

__all__ = ["ElasticNetCV", "LassoCV"]


def _fold_mse(X, y, sw, train, test, fit_intercept, precompute, l1_ratio, alphas, options):
    """Mean squared test error (weighted by ``sw``) of the path fitted on ``train``, per alpha."""
    X_train = X[train]
    if not _is_sparse(X_train):
        X_train = np.asfortranarray(X_train)
    sw_train = None if sw is None else sw[train] * (len(train) / np.sum(sw[train]))
    # X_train is a fresh copy: centred in place (copy=False)
    problem = _CDProblem(X_train, y[train][:, None], sw_train, fit_intercept, precompute, copy=False)
    coefs, _, _ = _solve_path(problem, 0, alphas, l1_ratio, **options)
    intercepts = problem.Y_offset[0] - problem.X_offset @ coefs
    residues = np.asarray(X[test] @ coefs) + intercepts - y[test][:, None]
    return np.average(residues**2, axis=0, weights=None if sw is None else sw[test])


def _check_fold_weights(sw, folds):
    """Raise if some fold's training or test samples all have zero ``sample_weight``."""
    for k, (train, test) in enumerate(folds):
        for part, idx in (("training", train), ("test", test)):
            if not np.sum(sw[idx]) > 0:
                raise ValueError(f"sample_weight is zero on every {part} sample of fold {k}; "
                                 "each fold needs a positive total weight in both parts.")


class _LinearModelCV(RegressorMixin, BaseEstimator):
    """Shared fit of :class:`LassoCV` and :class:`ElasticNetCV` (see the module docstring)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    @property
    def sparse_coef_(self):
        """``coef_`` as a scipy.sparse CSR array (see :attr:`ElasticNet.sparse_coef_`)."""
        return _sparse_coef(self.coef_)

    def _l1_ratios(self):
        return np.array([1.0])

    def _check_params(self):
        check_scalar(self.eps, "eps", lower=0.0, lower_inclusive=False)
        check_scalar(self.max_iter, "max_iter", kind=numbers.Integral, lower=1)
        check_scalar(self.tol, "tol", lower=0.0)
        check_option(self.selection, "selection", SELECTIONS)
        _check_bools(self, ("fit_intercept", "copy_X"))
        self._check_solver_params()
        if self.n_jobs is not None and not isinstance(self.n_jobs, numbers.Integral):
            raise TypeError(f"n_jobs must be an int or None, got {self.n_jobs!r}.")
        return _check_alphas(self.alphas, None)

    # Hooks overridden by the multi-task estimators (._multitask_path): solver
    # parameters, data checks, alpha_max statistic, fold job and refit model.
    def _check_solver_params(self):
        _check_bools(self, ("positive", "use_working_set"))
        _check_precompute(self.precompute, allow_auto=True)

    def _validate_fit_data(self, X, y, sample_weight):
        """``X``, ``y`` (1-D, in ``X``'s dtype) and the weights rescaled to sum to ``n_samples``."""
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csc",
            dtype=[np.float64, np.float32],
            y_numeric=True,
            multi_output=True,
            ensure_all_finite=False,  # fused with the kernels' first read of X
        )
        if y.ndim > 1 and y.shape[1] > 1:
            raise ValueError(f"{type(self).__name__} fits one target; y has shape {y.shape}.")
        y = column_or_1d(y, warn=True).astype(X.dtype, copy=False)
        return X, y, _validate_sample_weight(sample_weight, X, X.shape[0], X.dtype, True)

    def _grid_xty(self, X, y, sw):
        """``X^T y`` of the centred, weighted full data: the grids' ``alpha_max`` (see ``_path._alpha_grid``)."""
        return _CDProblem(X, y[:, None], sw, self.fit_intercept, False).xty(0)

    def _fold_job(self, X, y, sw, train, test, l1_ratio, alphas):
        """Test errors of one (``l1_ratio``, fold) path, per alpha."""
        options = dict(
            positive=self.positive, tol=self.tol, max_iter=self.max_iter, random_state=self.random_state,
            selection=self.selection, use_working_set=self.use_working_set,
        )  # fmt: skip
        return _fold_mse(X, y, sw, train, test, self.fit_intercept, self.precompute, l1_ratio, alphas, options)

    def _refit_model(self):
        """The estimator refitted at ``alpha_`` / ``l1_ratio_`` on all the data."""
        return ElasticNet(  # l1_ratio=1 for LassoCV: Lasso's objective
            alpha=self.alpha_, l1_ratio=self.l1_ratio_, fit_intercept=self.fit_intercept,
            precompute=False if isinstance(self.precompute, str) else self.precompute, max_iter=self.max_iter,
            copy_X=self.copy_X, tol=self.tol, positive=self.positive, random_state=self.random_state,
            selection=self.selection, use_working_set=self.use_working_set,
        )  # fmt: skip

    def fit(self, X, y, sample_weight=None):
        """Choose alpha (and ``l1_ratio``) by cross-validation, then refit on all the data.

        Parameters
        ----------
        X : {ndarray, scipy.sparse matrix} of shape (n_samples, n_features)
            Training data (never modified).
        y : array-like of shape (n_samples,)
            Target (one output).
        sample_weight : float or array-like of shape (n_samples,), default=None
            Weights of the fits and of each fold's test error (scikit-learn's
            meaning: the selection criterion is the unweighted mean over the
            folds of the weighted test errors).

        Returns
        -------
        self
        """
        grid_size, given_alphas = self._check_params()
        l1_ratios = self._l1_ratios()
        X, y, sw = self._validate_fit_data(X, y, sample_weight)
        n = X.shape[0]
        if given_alphas is None:
            xty = self._grid_xty(X, y, sw)
            positive = getattr(self, "positive", False)  # not a multi-task parameter
            alphas = [_alpha_grid(xty, n, r, self.eps, grid_size, positive) for r in l1_ratios]
        else:
            alphas = [given_alphas] * len(l1_ratios)
        folds = list(check_cv(self.cv).split(X, y))
        if sw is not None:
            _check_fold_weights(sw, folds)
        jobs = (
            delayed(self._fold_job)(X, y, sw, train, test, r, a)
            for r, a in zip(l1_ratios, alphas)
            for train, test in folds
        )
        mse = Parallel(n_jobs=self.n_jobs, verbose=self.verbose, prefer="threads")(jobs)
        mse = np.reshape(mse, (len(l1_ratios), len(folds), -1))  # (l1_ratio, fold, alpha)
        mean_mse = mse.mean(axis=1)
        i_ratio, i_alpha = np.unravel_index(np.argmin(mean_mse), mean_mse.shape)
        self.alpha_ = float(alphas[i_ratio][i_alpha])
        self.l1_ratio_ = float(l1_ratios[i_ratio])
        self.mse_path_ = np.squeeze(np.moveaxis(mse, 2, 1))
        # one grid per l1_ratio when generated; given alphas are shared (1-D), as in scikit-learn
        self.alphas_ = np.asarray(alphas)[0] if len(l1_ratios) == 1 or given_alphas is not None else np.asarray(alphas)

        model = self._refit_model()
        model.fit(X, y, sample_weight=sw)
        self.coef_, self.intercept_ = model.coef_, model.intercept_
        self.dual_gap_, self.n_iter_ = model.dual_gap_, model.n_iter_
        return self

    def predict(self, X):
        """Predict ``X @ coef_ + intercept_``."""
        return _linear_predict(self, X)


class LassoCV(_LinearModelCV):
    """Lasso with alpha chosen by cross-validation along a warm-started path.

    Parameters
    ----------
    eps : float, default=1e-3
        ``alpha_min / alpha_max`` of the generated grid.
    alphas : int or array-like, default=100
        Size of the generated grid, or the alphas to try.
    fit_intercept : bool, default=True
    precompute : "auto", bool or array, default="auto"
        Gram matrix use in the fold paths (``"auto"``: when the training part
        has more samples than features); the refit uses it unless ``"auto"``
        (scikit-learn's rule). See :class:`Lasso`.
    max_iter : int, default=1000
        Epochs per alpha.
    tol : float, default=1e-4
        Duality-gap tolerance of each alpha (see :class:`Lasso`).
    copy_X : bool, default=True
        Passed to the refit (the folds work on copies).
    cv : int, cross-validation generator or iterable, default=None
        scikit-learn's ``cv`` (None: 5-fold).
    verbose : bool or int, default=False
        joblib's verbosity.
    n_jobs : int, default=None
        Folds solved in parallel (threads).
    positive : bool, default=False
    random_state : int, RandomState, Generator or None, default=None
        Seed of ``selection="random"``.
    selection : {"cyclic", "random"}, default="cyclic"
    use_working_set : bool, default=True
        See :class:`Lasso`.

    Attributes
    ----------
    alpha_ : float
        Chosen alpha.
    alphas_ : ndarray of shape (n_alphas,)
        Alphas tried (decreasing).
    mse_path_ : ndarray of shape (n_alphas, n_folds)
        Test mean squared error of each alpha on each fold.
    coef_, intercept_, dual_gap_, n_iter_ :
        Of the refit at ``alpha_``.
    n_features_in_ : int
    """

    path = staticmethod(lasso_path)

    def __init__(self, *, eps=1e-3, alphas=100, fit_intercept=True, precompute="auto", max_iter=1000, tol=1e-4,
                 copy_X=True, cv=None, verbose=False, n_jobs=None, positive=False, random_state=None,
                 selection="cyclic", use_working_set=True):  # fmt: skip
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.tol = tol
        self.copy_X = copy_X
        self.cv = cv
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.use_working_set = use_working_set

    def fit(self, X, y, sample_weight=None):  # noqa: D102 (the shared fit's docstring)
        super().fit(X, y, sample_weight=sample_weight)
        del self.l1_ratio_  # scikit-learn's LassoCV has no l1_ratio_
        return self

    fit.__doc__ = _LinearModelCV.fit.__doc__


class ElasticNetCV(_LinearModelCV):
    """Elastic net with alpha and ``l1_ratio`` chosen by cross-validation along warm-started paths.

    Parameters
    ----------
    l1_ratio : float or list of float, default=0.5
        The ``l1_ratio`` values to try (one path per value and fold).
    eps, alphas, fit_intercept, precompute, max_iter, tol, cv, copy_X, verbose, n_jobs, positive, \
random_state, selection, use_working_set :
        As in :class:`LassoCV`.

    Attributes
    ----------
    alpha_ : float
    l1_ratio_ : float
        Chosen ``l1_ratio``.
    alphas_ : ndarray of shape (n_alphas,) or (n_l1_ratio, n_alphas)
    mse_path_ : ndarray of shape (n_alphas, n_folds) or (n_l1_ratio, n_alphas, n_folds)
    coef_, intercept_, dual_gap_, n_iter_ :
        Of the refit.
    n_features_in_ : int
    """

    path = staticmethod(enet_path)

    def __init__(self, *, l1_ratio=0.5, eps=1e-3, alphas=100, fit_intercept=True, precompute="auto",
                 max_iter=1000, tol=1e-4, cv=None, copy_X=True, verbose=0, n_jobs=None, positive=False,
                 random_state=None, selection="cyclic", use_working_set=True):  # fmt: skip
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.tol = tol
        self.cv = cv
        self.copy_X = copy_X
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.use_working_set = use_working_set

    def _l1_ratios(self):
        ratios = np.atleast_1d(np.asarray(self.l1_ratio, dtype=np.float64)).ravel()
        for r in ratios:
            check_scalar(float(r), "l1_ratio", lower=0.0, upper=1.0)
        return ratios

