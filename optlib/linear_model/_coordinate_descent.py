"""Lasso and ElasticNet estimators solved by working-set coordinate descent.

Objective (scikit-learn's scaling, so results are interchangeable)::

    1 / (2 * n_samples) * ||y - X w - b||^2
        + alpha * l1_ratio * ||w||_1 + 0.5 * alpha * (1 - l1_ratio) * ||w||^2

``Lasso`` is ``l1_ratio = 1``. With ``sample_weight`` the datafit is the
weighted average (weights rescaled to sum to ``n_samples``), as in
scikit-learn. The intercept is handled by centring ``X`` and ``y`` with their
(weighted) means; a sparse ``X`` (any scipy.sparse format, used as CSC) is
never densified nor modified: its centring and weights are implicit in the
kernel (:mod:`._cd_sparse_numba`), as in scikit-learn's sparse solver.
Stopping: the duality gap falls below ``tol * ||y||^2`` (``y`` centred and
weighted), scikit-learn's rule. The gap is the smaller of scikit-learn's two
formulations, so it stays valid for ridge (``l1_ratio = 0``); for least
squares (``alpha = 0``) it is the squared norm of the gradient, as in
scikit-learn. Data whose statistics overflow (entries near
``finfo(dtype).max``) get a ``ValueError``, never a NaN model.

The solver is a numba coordinate-descent kernel (:mod:`._cd_numba`, imported
on first fit) with an incrementally maintained residual, skglm-style working
sets, Anderson extrapolation and Newton steps on the identified support.
Without numba (or with ``OPTLIB_DISABLE_NUMBA=1``) the same kernel runs as
pure Python, which is correct but slow.

Input checks: ``X``'s finite check is fused with the kernels' first read of
``X`` (column norms and ``X^T y`` in one pass: :func:`._cd_numba.prep`, and
the sparse kernel's set-up). A NaN or infinite entry makes its column's
squared norm non-finite, and scikit-learn's element-wise check then raises
its usual error; a finite ``X`` whose squared column norm overflows gets an
overflow error (coordinate descent could not update that coefficient).
``y`` and ``sample_weight`` are checked by scikit-learn.
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import (
    _assert_all_finite,
    _check_feature_names,
    _check_n_features,
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from .._result import warn_convergence
from .._validation import check_option, check_random_state, check_scalar

__all__ = ["ElasticNet", "Lasso"]

SELECTIONS = ("cyclic", "random")
_P0 = 100  # smallest initial working-set size (skglm and celer use 10)
_P0_FRACTION = 0.02  # initial working-set size: this fraction of the features, at least _P0 (see _initial_ws_size)


def _initial_ws_size(p):
    """Size of the first working set: ``max(_P0, _P0_FRACTION * p)``.

    Each outer iteration costs a full gradient pass (one read of ``X``); an
    epoch on a working set of 2% of the features costs 2% of one (less for a
    sparse ``X``), so starting there skips the first tiny working sets (and
    their full passes) that the selection at ``w = 0`` would otherwise grow
    through.
    """
    return max(_P0, int(_P0_FRACTION * p))


def _kernel():
    from . import _cd_numba  # numba, when enabled, is imported here only

    return _cd_numba.enet_cd_ws


def _prep():
    from . import _cd_numba

    return _cd_numba.prep


def _sparse_kernel():
    from . import _cd_sparse_numba

    return _cd_sparse_numba.enet_cd_ws_sparse


def _as_csc(X):
    """CSC copy-free when possible, canonical (summed duplicates); never modifies ``X``."""
    X = X.tocsc() if X.format != "csc" else X
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


def _check_finite(X, name="X"):
    """scikit-learn's finite check of ``X`` (its error messages), run only when a kernel saw a non-finite norm."""
    _assert_all_finite(X.data if hasattr(X, "tocsc") else X, input_name=name)


def _is_sparse(X):
    return hasattr(X, "tocsc") or hasattr(X, "sparse") and hasattr(X, "to_coo")


def _raise_non_finite(name, data):
    """Raise the ``ValueError`` for a non-finite statistic of the array ``data`` (named ``name``).

    NaN or infinity in ``data`` gets scikit-learn's error; finite ``data``
    whose statistic overflowed gets an overflow error.
    """
    _check_finite(data, name)
    raise ValueError(
        f"{name} holds values too large for its dtype: the coordinate-descent statistics "
        "overflow. Rescale it (e.g. with sklearn.preprocessing.StandardScaler)."
    )


def _check_no_overflow(value, name, data):
    """:func:`_raise_non_finite` when ``value``, a statistic of ``data``, is not finite."""
    if not np.all(np.isfinite(value)):
        _raise_non_finite(name, data)


class ElasticNet(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Linear regression with combined l1 and l2 penalties (scikit-learn's objective).

    Minimises ``1/(2n) ||y - Xw - b||^2 + alpha * l1_ratio * ||w||_1
    + 0.5 * alpha * (1 - l1_ratio) * ||w||^2``.

    Parameters
    ----------
    alpha : float, default=1.0
        Regularisation strength, >= 0.
    l1_ratio : float, default=0.5
        Mix of l1 and l2 penalties, in [0, 1].
    fit_intercept : bool, default=True
        Fit an unpenalised intercept.
    max_iter : int, default=1000
        Maximum total number of coordinate-descent epochs (sweeps over the
        current working set).
    tol : float, default=1e-4
        Stop when the duality gap is below ``tol * ||y||^2 / n_samples``.
    warm_start : bool, default=False
        Start from the previous ``coef_``.
    positive : bool, default=False
        Constrain the coefficients to be nonnegative.
    random_state : int, numpy Generator, RandomState or None, default=None
        Seed for ``selection="random"``.
    selection : {"cyclic", "random"}, default="cyclic"
        Coordinate order within a sweep.
    use_working_set : bool, default=True
        Solve growing working-set subproblems (much faster for sparse
        solutions); ``False`` sweeps all features every epoch, as scikit-learn.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    n_iter_ : int or list of int
        Number of epochs run (per target).
    dual_gap_ : float or ndarray of shape (n_targets,)
        Final duality gap, in the units of the objective above (with
        ``alpha = 0``: the squared norm of the gradient divided by
        ``n_samples``, scikit-learn's first-order test).
    n_features_in_ : int
    feature_names_in_ : ndarray of str, when X has feature names.
    """

    def __init__(
        self,
        alpha=1.0,
        *,
        l1_ratio=0.5,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-4,
        warm_start=False,
        positive=False,
        random_state=None,
        selection="cyclic",
        use_working_set=True,
    ):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.use_working_set = use_working_set

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags

    def _l1_ratio(self):
        return check_scalar(self.l1_ratio, "l1_ratio", lower=0.0, upper=1.0)

    def fit(self, X, y, sample_weight=None, check_input=True):
        """Fit the model.

        Parameters
        ----------
        X : {ndarray, scipy.sparse matrix or array} of shape (n_samples, n_features)
            Training data.
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : float or array-like of shape (n_samples,), default=None
            Nonnegative weights (rescaled to sum to ``n_samples``); a float
            weighs all samples alike.
        check_input : bool, default=True
            ``False`` skips the validation of ``X``, ``y`` and
            ``sample_weight`` (scikit-learn's meaning, for callers fitting
            many times on the same checked data): the caller guarantees a
            float32 or float64 ``X`` (a Fortran-ordered ndarray, else it is
            copied, or scipy.sparse), a numeric ``y`` with ``n_samples`` rows
            and nonnegative weights. NaN or infinity in ``X`` is still
            detected (the check is free, fused with the kernels).

        Returns
        -------
        self : ElasticNet
            The fitted estimator.
        """
        alpha = check_scalar(self.alpha, "alpha", lower=0.0)
        l1_ratio = self._l1_ratio()
        max_iter = check_scalar(
            self.max_iter, "max_iter", kind=numbers.Integral, lower=1
        )
        tol = check_scalar(self.tol, "tol", lower=0.0)
        check_option(self.selection, "selection", SELECTIONS)
        for name in ("fit_intercept", "warm_start", "positive", "use_working_set"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}.")
        if check_input:
            X, y = validate_data(
                self,
                X,
                y,
                accept_sparse=["csc", "csr", "coo"],
                dtype=[np.float64, np.float32],
                multi_output=True,
                y_numeric=True,
                order="F",
                copy=False,
                # X's finite check is fused with the kernels' first read of X (see _check_finite)
                ensure_all_finite=False,
            )
        else:
            _check_n_features(self, X, reset=True)
            _check_feature_names(self, X, reset=True)
            if not _is_sparse(X):
                X = np.asfortranarray(X)  # no copy when Fortran-ordered, as the caller guarantees
        sparse = _is_sparse(X)
        n, p = X.shape
        dtype = X.dtype
        y = np.asarray(y, dtype=dtype)
        single = y.ndim == 1
        Y = y[:, None] if single else y
        n_targets = Y.shape[1]

        # preprocessing: weighted centring, sqrt(weight) scaling (scikit-learn's convention)
        if sample_weight is not None:
            if check_input:
                sw = _check_sample_weight(sample_weight, X, dtype=dtype)
                if np.any(sw < 0):
                    raise ValueError("sample_weight must be nonnegative.")
                if sw.sum() <= 0:
                    raise ValueError("sample_weight must have a positive sum.")
            else:  # a scalar weight is uniform, as with check_input=True
                sw = np.broadcast_to(np.asarray(sample_weight, dtype=dtype), (n,))
            sw = sw / sw.max()  # weights near finfo.max: their sum must not overflow
            sw = sw * (n / sw.sum())
        else:
            sw = None
        if self.fit_intercept:
            with np.errstate(over="ignore", invalid="ignore"):  # overflow, NaN, inf: errors below
                if sw is None:
                    X_offset = np.asarray(X.mean(axis=0)).ravel().astype(dtype)
                    Y_offset = Y.mean(axis=0)
                else:
                    X_offset = np.asarray(X.T @ sw).ravel().astype(dtype) / n
                    Y_offset = (sw @ Y) / n
            _check_no_overflow(X_offset, "X", X)  # e.g. entries near finfo(dtype).max
            _check_no_overflow(Y_offset, "y", Y)
        else:
            X_offset = np.zeros(p, dtype=dtype)
            Y_offset = np.zeros(n_targets, dtype=dtype)
        if sparse:
            # implicit centring: X is never densified nor modified (see _cd_sparse_numba)
            Xcsc = _as_csc(X)
            v = np.ones(n) if sw is None else np.sqrt(sw).astype(np.float64)
            data = Xcsc.data if sw is None else Xcsc.data * v[Xcsc.indices].astype(dtype)
            indptr, indices = Xcsc.indptr, Xcsc.indices
            Ys = np.ascontiguousarray((Y * v[:, None]).T, dtype=np.float64)  # (n_targets, n)
            xo64 = np.asarray(X_offset, dtype=np.float64)
            Yc = Ys - np.asarray(Y_offset, dtype=np.float64)[:, None] * v
        else:
            if self.fit_intercept:
                with np.errstate(invalid="ignore"):  # inf in X: rejected by the fused check below
                    Xc = np.asfortranarray(X - X_offset)
                Yc = Y - Y_offset
            else:
                Xc, Yc = X, Y
            if sw is not None:
                s = np.sqrt(sw)
                Xc = np.asfortranarray(Xc * s[:, None])
                Yc = Yc * s[:, None]
            Xc = np.asfortranarray(Xc, dtype=dtype)
            Yc = np.ascontiguousarray(Yc.T, dtype=dtype)  # (n_targets, n)

        coef = np.zeros((n_targets, p), dtype=dtype)
        if self.warm_start and hasattr(self, "coef_"):
            prev = (
                np.asarray(self.coef_, dtype=dtype).reshape(-1, p)
                if self.coef_.shape[-1] == p
                else None
            )
            if prev is not None and prev.shape[0] == n_targets:
                coef[:] = prev
        alpha1 = n * alpha * l1_ratio
        alpha2 = n * alpha * (1.0 - l1_ratio)
        random = self.selection == "random"
        # seeding a generator from the OS costs more than a small fit: only when used
        rng = check_random_state(self.random_state) if random else None
        kernel = _sparse_kernel() if sparse else _kernel()
        n_iters, gaps = [], np.zeros(n_targets, dtype=dtype)
        for k in range(n_targets):
            yk = Yc[k]
            with np.errstate(over="ignore"):
                yy = float(yk @ yk)
            _check_no_overflow(yy, "y", Y)
            tol_k = tol * yy
            seed = int(rng.integers(np.iinfo(np.int32).max)) if random else 0
            opts = (alpha1, alpha2, bool(self.positive), max_iter, tol_k, random, seed,
                    bool(self.use_working_set), _initial_ws_size(p))
            if sparse:
                w = np.array(coef[k], dtype=np.float64)
                if self.positive:
                    np.maximum(w, 0, out=w)
                args = (indptr, indices, data, Ys[k], float(Y_offset[k]), v, xo64, w, *opts)
                n_ep, gap = kernel(*args, k == 0)
                if n_ep < 0:  # a non-finite column norm: NaN / inf in X, or an overflow
                    _raise_non_finite("X", X)
            else:
                w = np.ascontiguousarray(coef[k])
                if self.positive:
                    np.maximum(w, 0, out=w)
                if k == 0:
                    # one read of X: norms, X^T y and the finite check (NaN / inf give a non-finite norm)
                    norms2, xty = _prep()(Xc, yk)
                    _check_no_overflow(norms2, "X", X)
                if np.any(w):
                    R = yk - Xc @ w
                    n_ep, gap = kernel(Xc, yk, w, R, *opts, True, norms2)
                else:
                    xty_k = xty if k == 0 else np.dot(Xc.T, yk).astype(np.float64)
                    n_ep, gap = kernel(Xc, yk, w, yk.copy(), *opts, True, norms2, xty_k)
            coef[k] = w
            n_iters.append(int(n_ep))
            gaps[k] = gap / n
            if not gap <= tol_k:  # NaN included
                warn_convergence(
                    f"{type(self).__name__}: objective did not converge after max_iter={max_iter} epochs: "
                    f"duality gap {gap / n:.3e} > tolerance {tol_k / n:.3e}. Increase max_iter or tol.",
                    stacklevel=2,
                )
        intercept = (
            Y_offset - coef @ X_offset
            if self.fit_intercept
            else np.zeros(n_targets, dtype=dtype)
        )
        _check_no_overflow(coef, "X", X)  # overflow within the iterations (as scikit-learn checks)
        _check_no_overflow(intercept, "X", X)
        if single:
            self.coef_ = coef[0]
            self.intercept_ = (
                float(intercept[0])
                if not self.fit_intercept
                else dtype.type(intercept[0])
            )
            self.n_iter_ = n_iters[0]
            self.dual_gap_ = float(gaps[0])
        else:
            self.coef_ = coef
            self.intercept_ = intercept.astype(dtype)
            self.n_iter_ = n_iters
            self.dual_gap_ = gaps
        return self

    def predict(self, X):
        """Predict ``X @ coef_.T + intercept_``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse=True, dtype=[np.float64, np.float32])
        out = X @ self.coef_.T + self.intercept_
        return np.asarray(out)


class Lasso(ElasticNet):
    """Linear regression with l1 penalty (scikit-learn's objective).

    Minimises ``1/(2n) ||y - Xw - b||^2 + alpha * ||w||_1``. See
    :class:`ElasticNet` for the parameters and attributes (``l1_ratio`` is 1).
    """

    def __init__(
        self,
        alpha=1.0,
        *,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-4,
        warm_start=False,
        positive=False,
        random_state=None,
        selection="cyclic",
        use_working_set=True,
    ):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.use_working_set = use_working_set

    def _l1_ratio(self):
        return 1.0
