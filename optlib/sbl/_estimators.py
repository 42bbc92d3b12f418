"""scikit-learn estimators over the SBL solvers: SBLRegressor and KroneckerSBL."""

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ._classical import METHODS, sbl
from ._kronecker import kron_sbl

__all__ = ["SBLRegressor", "KroneckerSBL"]


class SBLRegressor(RegressorMixin, BaseEstimator):
    """Sparse Bayesian (ARD) linear regression with EM, MacKay or Tipping-Faul fast updates.

    ``method="mackay"`` runs ARDRegression's algorithm with its defaults and
    reproduces its coefficients (exactly with ``ard_compatible=True``); ``"fast"`` (the default) adds, re-estimates
    and deletes one feature at a time and works only with the features in
    the model.

    Parameters
    ----------
    method : {"fast", "em", "mackay"}, default="fast"
    max_iter : int, default=300
    tol : float or None, default=None
        Per-method default of :func:`optlib.sbl.sbl`.
    noise_var : float or None, default=None
        Known noise variance; ``None`` estimates it.
    threshold_lambda : float, default=1e4
        Pruning precision of ``"mackay"`` (ARDRegression's parameter).
    prune_threshold : float, default=1e-3
        Relative pruning of ``"em"``.
    alpha_1, alpha_2, lambda_1, lambda_2 : float, default=1e-6
        Gamma hyperpriors of ``"mackay"`` (ARDRegression's parameters).
    ard_compatible : bool, default=False
        ``"mackay"`` with ARDRegression's arithmetic, which reproduces its
        coefficients to the last bit (see :func:`optlib.sbl.sbl`; without
        it they agree to rounding when ``n >= p`` and to ~1e-5 when
        ``p > n``, ARDRegression's own sensitivity to rounding).
    fit_intercept : bool, default=True
    verbose : bool, default=False

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    alpha_ : float
        Estimated noise precision.
    lambda_ : ndarray of shape (n_features,)
        Weight precisions ``1 / gamma`` (``inf`` for features never in the model).
    sigma_ : ndarray of shape (n_kept, n_kept)
        Posterior covariance of the kept features (``lambda_ < threshold_lambda``
        for ``"mackay"``, the active set otherwise).
    scores_ : ndarray
        Log marginal likelihood per iteration.
    n_iter_ : int
    X_offset_ : ndarray of shape (n_features,)
        Feature means removed before fitting (zeros without an intercept).
    """

    def __init__(self, *, method="fast", max_iter=300, tol=None, noise_var=None, threshold_lambda=1e4,
                 prune_threshold=1e-3, alpha_1=1e-6, alpha_2=1e-6, lambda_1=1e-6, lambda_2=1e-6,
                 ard_compatible=False, fit_intercept=True, verbose=False):
        self.method = method
        self.max_iter = max_iter
        self.tol = tol
        self.noise_var = noise_var
        self.threshold_lambda = threshold_lambda
        self.prune_threshold = prune_threshold
        self.alpha_1 = alpha_1
        self.alpha_2 = alpha_2
        self.lambda_1 = lambda_1
        self.lambda_2 = lambda_2
        self.ard_compatible = ard_compatible
        self.fit_intercept = fit_intercept
        self.verbose = verbose

    def fit(self, X, y):
        """Fit the model to ``X`` (n_samples, n_features) and ``y`` (n_samples,)."""
        if self.method not in METHODS:
            raise ValueError(f"Unknown method {self.method!r}; expected one of {METHODS}.")
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], y_numeric=True, ensure_min_samples=2)
        y = y.astype(X.dtype, copy=False)
        if self.fit_intercept:
            X_offset, y_offset = X.mean(axis=0), y.mean()
            Xc, yc = X - X_offset, y - y_offset
        else:
            X_offset, y_offset = np.zeros(X.shape[1], dtype=X.dtype), X.dtype.type(0)
            Xc, yc = X, y
        result = sbl(Xc, yc, method=self.method, noise_var=self.noise_var, max_iter=self.max_iter, tol=self.tol,
                     prune_threshold=self.prune_threshold, threshold_lambda=self.threshold_lambda,
                     hyperprior=(self.alpha_1, self.alpha_2, self.lambda_1, self.lambda_2),
                     ard_compatible=self.ard_compatible, history=True, verbose=self.verbose)
        self.coef_ = result.x
        gamma = result.gamma
        with np.errstate(divide="ignore"):
            self.lambda_ = np.where(gamma > 0, 1.0 / np.where(gamma > 0, gamma, 1.0), np.inf).astype(X.dtype)
        self.active_ = np.asarray(result.active)
        self.sigma_ = result.sigma
        self.alpha_ = X.dtype.type(1.0 / result.noise_var)
        self.scores_ = np.asarray(result.history["log_marginal_likelihood"])
        self.n_iter_ = int(result.nit)
        self.X_offset_ = X_offset
        self.intercept_ = float(y_offset - X_offset @ self.coef_) if self.fit_intercept else 0.0
        return self

    def predict(self, X, return_std=False):
        """Predictive mean (and standard deviation, noise included, with ``return_std=True``)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        mean = X @ self.coef_ + self.intercept_
        if not return_std:
            return mean
        Xa = (X - self.X_offset_)[:, self.active_]  # the intercept is fitted on centred data
        var = np.sum((Xa @ self.sigma_) * Xa, axis=1) + 1.0 / self.alpha_
        return mean, np.sqrt(var)


class KroneckerSBL(BaseEstimator):
    """Kronecker-structured SBL for ``y = (A_1 kron ... kron A_I) x + noise``.

    Parameters
    ----------
    factors : sequence of arrays (M_i, N_i)
        The dictionary factors.
    method : {"svd", "am", "pc"}, default="svd"
    noise_var, max_iter, tol, prune_threshold, coupling, gamma_init, verbose
        As in :func:`optlib.sbl.kron_sbl`.

    Attributes
    ----------
    coef_ : array of shape (N_1 ... N_I,)
    support_ : boolean array of shape (N_1 ... N_I,)
    gammas_ : list of arrays
    noise_ : float
        Estimated (or given) noise variance.
    n_iter_ : int
    """

    def __init__(self, factors, *, method="svd", noise_var=None, max_iter=150, tol=1e-4, prune_threshold=None,
                 coupling=0.8, gamma_init=1.0, verbose=False):
        self.factors = factors
        self.method = method
        self.noise_var = noise_var
        self.max_iter = max_iter
        self.tol = tol
        self.prune_threshold = prune_threshold
        self.coupling = coupling
        self.gamma_init = gamma_init
        self.verbose = verbose

    def fit(self, y):
        """Recover the sparse vector from measurements ``y`` (length ``M_1 ... M_I``)."""
        result = kron_sbl(self.factors, y, method=self.method, noise_var=self.noise_var, max_iter=self.max_iter,
                          tol=self.tol, prune_threshold=self.prune_threshold, coupling=self.coupling,
                          gamma_init=self.gamma_init, verbose=self.verbose)
        self.coef_ = result.x
        self.support_ = result.support
        self.gammas_ = result.gammas
        self.noise_ = result.noise_var
        self.n_iter_ = int(result.nit)
        return self
