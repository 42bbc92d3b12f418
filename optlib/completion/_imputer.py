"""scikit-learn transformer: impute NaN entries with a low-rank model."""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._backend import use_numba
from .._validation import check_option, check_scalar
from ._altmin import robust_altmin, row_factors
from ._observations import (
    check_observations,
    largest_magnitude,
    scale_by_power_of_two,
    units_exponent,
)
from ._soft_impute import soft_impute
from ._subgradient import subgradient_recovery

__all__ = ["LowRankImputer"]

METHODS = ("altmin", "soft_impute", "subgradient")


def _column_means(X, observed, counts):
    """Means of the observed entries of each column of ``X`` (0 for a column without any), in ``X``'s dtype.

    Summed in the power-of-two units of :func:`units_exponent`: sums of values
    near the largest float overflowed (``inf`` means, then ``inf`` rows).
    """
    Xo = np.where(observed, X, 0)
    e = units_exponent(largest_magnitude(Xo, np), X.dtype == np.float32)
    sums = scale_by_power_of_two(Xo, -e).sum(axis=0)
    return scale_by_power_of_two(sums / np.maximum(counts, 1), e).astype(X.dtype)


class LowRankImputer(TransformerMixin, BaseEstimator):
    """Fill missing entries (NaN) with a rank-``rank`` model ``U V^T``.

    ``fit`` factorizes the observed entries; ``components_`` (``V``) holds
    the column factors. ``transform`` is inductive: for each row of new data
    it solves the ridge least-squares problem of its observed entries against
    ``components_`` (one ``k x k`` system per row) and fills the row's
    missing entries with ``u V^T``; observed entries pass unchanged.
    The data are not centred: removing column means adds a rank-one term, so
    an exactly rank-``k`` matrix would no longer be rank ``k``.
    It therefore works inside a :class:`~sklearn.pipeline.Pipeline` before a
    regressor, on rows unseen at fit time.

    Parameters
    ----------
    rank : int
        Rank of the model; capped at ``min(n_samples, n_features)`` of the
        training data (``rank_``).
    method : {"altmin", "soft_impute", "subgradient"}
        Solver of the training factorization: :func:`robust_altmin`,
        :func:`soft_impute` or :func:`subgradient_recovery` (entry-sampling
        case).
    robust : bool
        ``method="altmin"`` only: Huber reweighting against gross outliers, in
        ``fit`` and in the row solves of ``transform``.
    alpha : float
        Ridge weight of the row solves (``fit`` with ``"altmin"`` and
        ``transform``). With 0, a row with fewer observed entries than
        ``rank_`` gets the minimum-norm solution of its consistent system
        (the tiny diagonal shift of the solver selects it).
    max_iter : int, optional
        Passed to the solver; None: the solver's own default (100 passes of
        :func:`robust_altmin` and :func:`soft_impute`, 10000 iterations of
        :func:`subgradient_recovery`, which needs thousands), and at most 100
        Huber refits per ``transform`` with ``robust``.
    tol : float
        Passed to the solver.
    random_state : None, int or numpy.random.Generator

    Attributes
    ----------
    mean_ : ndarray (n_features,)
        Observed column means (0 for a column with no observed entry).
    components_ : ndarray (n_features, rank_)
        Column factors ``V``.
    rank_ : int
    n_iter_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray, when fitted on a DataFrame

    Notes
    -----
    A row with no observed entry (all NaN) is imputed by the column means
    ``mean_`` of the training data. Only NumPy input is accepted; the
    function API (:func:`robust_altmin`) takes other array libraries.
    """

    def __init__(self, rank=10, *, method="altmin", robust=False, alpha=0.0, max_iter=None, tol=1e-6,
                 random_state=None):
        self.rank = rank
        self.method = method
        self.robust = robust
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X, y=None):
        """Learn the column means and factors from ``X`` (NaN = missing)."""
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan")
        check_option(self.method, "method", METHODS)
        check_scalar(self.rank, "rank", kind=numbers.Integral, lower=1)
        alpha = check_scalar(self.alpha, "alpha", lower=0.0)
        observed = ~np.isnan(X)
        counts = observed.sum(axis=0)
        if not counts.any():
            raise ValueError("X has no observed (non-NaN) entry.")
        self.mean_ = _column_means(X, observed, counts)
        self.rank_ = min(self.rank, *X.shape)
        rows, cols = np.nonzero(observed)
        data = (rows, cols, X[rows, cols])
        common = dict(shape=X.shape, random_state=self.random_state)
        if self.max_iter is not None:
            common["max_iter"] = self.max_iter
        if self.method == "altmin":
            res = robust_altmin(data, self.rank_, robust=self.robust, alpha=alpha, tol=self.tol, **common)
        elif self.method == "soft_impute":
            with warnings.catch_warnings():  # only V is kept: U's overflow near the largest float is no concern
                warnings.filterwarnings("ignore", "soft_impute: U ", RuntimeWarning)
                res = soft_impute(data, self.rank_, tol=self.tol, **common)
        else:
            res = subgradient_recovery(data, rank=self.rank_, tol=self.tol, **common)
        self.components_ = res.V
        self.n_iter_ = res.nit
        return self

    def transform(self, X):
        """Impute the NaN entries of ``X`` from its observed entries and ``components_``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan", reset=False)
        V = self.components_.astype(X.dtype, copy=False)
        mean = self.mean_.astype(X.dtype, copy=False)
        missing = np.isnan(X)
        if not missing.any():
            return X.copy()
        rows, cols = np.nonzero(~missing)
        fill = np.zeros(X.shape, dtype=X.dtype)
        if rows.size:
            # in units of 2**e: with orthonormal components (soft_impute) a row's factor is as large as the
            # row's norm, past the largest float for values near it even where u V^T is finite
            values = X[rows, cols]
            e = units_exponent(largest_magnitude(values, np), X.dtype == np.float32)
            obs = check_observations((rows, cols, scale_by_power_of_two(values, -e)), X.shape,
                                     host=use_numba(np, "auto"))
            robust = self.robust and self.method == "altmin"  # Huber rows: an outlier would drag its row's fit
            refits = 100 if self.max_iter is None else self.max_iter
            U = row_factors(obs, V, float(self.alpha), robust=robust, max_iter=refits, tol=self.tol)
            fill = scale_by_power_of_two(U @ V.T, e)
        empty = missing.all(axis=1)
        fill[empty] = mean
        return np.where(missing, fill, X)
