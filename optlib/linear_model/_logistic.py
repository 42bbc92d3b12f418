"""Sparse (l1 / elastic-net) logistic regression solved by working-set proximal Newton.

Objective (skglm's scaling). With two classes, mapped to ``y_i = -1`` for
``classes_[0]`` and ``+1`` for ``classes_[1]``::

    1/n sum_i s_i log(1 + exp(-y_i (x_i w + b)))
        + alpha * l1_ratio * ||w||_1 + 0.5 * alpha * (1 - l1_ratio) * ||w||^2

With more classes, the multinomial (softmax cross-entropy) loss::

    1/n sum_i s_i (logsumexp_k(x_i W_k + b_k) - (x_i W_{y_i} + b_{y_i}))

plus the same penalty applied entrywise to ``W`` (n_classes, n_features). The
sample weights ``s_i`` are rescaled to sum to ``n``; intercepts are not
penalised. This is scikit-learn's ``LogisticRegression`` objective divided by
``C * n`` with ``alpha = 1 / (C * n)``.

The solver is a numba working-set proximal Newton kernel
(:mod:`._logistic_numba`, imported on first fit). Stopping: the largest
violation of the optimality conditions, ``max_j dist(-grad_j, d pen(w_j))``
over all coefficients (and ``|grad_b|`` for the intercepts), is at most
``tol``. The gradient is that of the averaged loss above, so ``tol`` is on the
scale of ``alpha`` (``alpha_max = ||X^T y||_inf / (2 n)`` for ``y`` in {-1, 1}
without intercept): ``tol = 1e-4`` is a few digits below typical ``alpha``.
"""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _assert_all_finite,
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from .._result import warn_convergence
from .._validation import check_scalar

__all__ = ["SparseLogisticRegression"]

_P0 = 300  # initial working-set size (skglm: 10); fewer full-gradient passes, the dominant cost


def _kernels():
    from . import _logistic_numba  # numba, when enabled, is imported here only

    return _logistic_numba


def _class_weights(class_weight, classes, yi, sample_weight):
    """Weight of each class, shape (n_classes,), as scikit-learn's ``compute_class_weight``.

    ``class_weight`` is None (all ones), ``"balanced"`` (``n / (n_classes *
    count_k)`` with counts weighted by ``sample_weight`` when given, as
    scikit-learn >= 1.6) or a dict ``{label: weight}`` (missing labels get 1;
    keys that are not labels of ``y``, e.g. classes absent from a
    cross-validation fold, are ignored when every label has a weight and an
    error otherwise, scikit-learn's rule). ``yi`` are the class indices of
    the samples.
    """
    n_classes = classes.shape[0]
    if class_weight is None:
        return np.ones(n_classes)
    if isinstance(class_weight, str) and class_weight == "balanced":
        counts = np.bincount(yi, weights=sample_weight, minlength=n_classes)
        if not np.all(counts > 0):
            empty = classes[counts <= 0].tolist()
            raise ValueError(
                f"class_weight='balanced' needs a positive total sample_weight in every class; classes {empty} have none."
            )
        return counts.sum() / (n_classes * counts)
    if not isinstance(class_weight, dict):
        raise ValueError(
            f"class_weight must be None, 'balanced' or a dict {{label: weight}}, got {class_weight!r}."
        )
    labels = set(classes.tolist())
    unknown = [k for k in class_weight if k not in labels]
    if unknown and not labels <= set(class_weight):
        raise ValueError(
            f"class_weight has keys that are not class labels of y: {unknown}; classes are {classes.tolist()} "
            "(keys beyond the classes are allowed only when every class has a weight, as in scikit-learn)."
        )
    weights = np.ones(n_classes)
    for k, label in enumerate(classes.tolist()):
        if label in class_weight:
            weights[k] = check_scalar(class_weight[label], f"class_weight[{label!r}]", lower=0.0)
    return weights


class SparseLogisticRegression(LinearClassifierMixin, BaseEstimator):
    """Logistic regression with l1 / elastic-net penalty (binary or multinomial).

    Minimises ``1/n sum_i s_i loss_i + alpha * l1_ratio * ||W||_1
    + 0.5 * alpha * (1 - l1_ratio) * ||W||_F^2`` where ``loss_i`` is the
    logistic loss (two classes) or the softmax cross-entropy (more classes);
    see the module docstring. ``alpha = 1 / (C * n_samples)`` gives
    scikit-learn's ``LogisticRegression(C=C, l1_ratio=l1_ratio)`` solution.

    Parameters
    ----------
    alpha : float, default=0.01
        Regularisation strength, >= 0.
    l1_ratio : float, default=1.0
        Mix of l1 and l2 penalties, in [0, 1] (1 is the lasso penalty).
    fit_intercept : bool, default=True
        Fit unpenalised intercepts.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, as in scikit-learn: each sample's weight is
        its ``sample_weight`` times the weight of its class. A dict maps
        labels to weights (missing labels get 1; keys that are not labels
        of ``y`` are ignored when every label has a weight, as in
        scikit-learn, and an error otherwise); ``"balanced"`` uses
        ``n_samples / (n_classes * count_k)``, with the counts weighted by
        ``sample_weight`` when given. The weights are then rescaled to sum to
        ``n_samples``: ``alpha`` keeps its meaning, and ``alpha = 1 / (C *
        sum of the weights)`` gives scikit-learn's solution.
    tol : float, default=1e-4
        Stop when the largest optimality violation (distance of minus the
        gradient of the averaged loss to the subdifferential of the penalty,
        over all coefficients and intercepts) is at most ``tol``.
    max_iter : int, default=100
        Maximum number of working-set (outer) iterations.
    max_epochs : int, default=50_000
        Maximum total number of coordinate-descent epochs over working sets.
    warm_start : bool, default=False
        Start from the previous ``coef_`` and ``intercept_`` when their shape
        fits.
    verbose : bool or int, default=0
        Print the objective and violation at each outer iteration.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        In the dtype of ``X`` (float32 or float64).
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : int
        Number of proximal Newton steps taken.
    n_epochs_ : int
        Number of coordinate-descent epochs run.
    violation_ : float
        Optimality violation at the returned solution (compare with ``tol``).
    objective_ : float
        Objective value at the returned solution.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, when X has feature names.
    """

    def __init__(
        self,
        alpha=0.01,
        *,
        l1_ratio=1.0,
        fit_intercept=True,
        class_weight=None,
        tol=1e-4,
        max_iter=100,
        max_epochs=50_000,
        warm_start=False,
        verbose=0,
    ):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.tol = tol
        self.max_iter = max_iter
        self.max_epochs = max_epochs
        self.warm_start = warm_start
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        ``X`` dense (n_samples, n_features) or scipy sparse (converted to CSC),
        ``y`` (n_samples,) class labels, ``sample_weight`` (n_samples,) >= 0.
        """
        alpha = check_scalar(self.alpha, "alpha", lower=0.0)
        l1_ratio = check_scalar(self.l1_ratio, "l1_ratio", lower=0.0, upper=1.0)
        tol = check_scalar(self.tol, "tol", lower=0.0)
        max_iter = check_scalar(
            self.max_iter, "max_iter", kind=numbers.Integral, lower=1
        )
        max_epochs = check_scalar(
            self.max_epochs, "max_epochs", kind=numbers.Integral, lower=1
        )
        for name in ("fit_intercept", "warm_start"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}.")
        verbose = self.verbose
        if not isinstance(verbose, (bool, np.bool_)):
            verbose = check_scalar(verbose, "verbose", kind=numbers.Integral, lower=0)
        verbose = bool(verbose)
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csc",
            dtype=[np.float64, np.float32],
            order="F",
            copy=False,
            # X's finite check is fused with the kernel's first full gradient (see _solve)
            ensure_all_finite=False,
        )
        check_classification_targets(y)
        classes, yi = np.unique(y, return_inverse=True)
        n_classes = classes.shape[0]
        if n_classes < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in y, "
                f"but the data contains only one class: {classes[0]!r}."
            )
        n, p = X.shape
        dtype = X.dtype
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        if self.class_weight is not None:
            cw = _class_weights(self.class_weight, classes, yi, sw)
            sw = cw[yi] if sw is None else sw * cw[yi]
        if sw is None:
            c = np.full(n, 1.0 / n)
        else:
            total = sw.sum()
            if not total > 0:
                raise ValueError("sample_weight (times the class weights) must have a positive sum.")
            c = sw / total

        sparse = hasattr(X, "tocsc")
        if sparse:
            X = X.tocsc()
            if not X.has_canonical_format:
                X = X.copy()  # never modify the caller's matrix
                X.sum_duplicates()
            # int64 indices: one compiled specialisation for dense and sparse input
            data = np.ascontiguousarray(X.data)
            indices = X.indices.astype(np.int64)
            indptr = X.indptr.astype(np.int64)
            Xd = np.zeros((2, 2), dtype=dtype, order="F")  # unused placeholder
        else:
            Xd = X
            data = np.zeros(0, dtype=dtype)
            indices = np.zeros(0, dtype=np.int64)
            indptr = np.zeros(1, dtype=np.int64)
        # BLAS dot products for the gradients (dense float64 with contiguous columns)
        blas = (not sparse) and dtype == np.float64 and Xd.flags.f_contiguous

        binary = n_classes == 2
        n_rows = 1 if binary else n_classes
        coef = np.zeros((n_rows, p))
        intercept = np.zeros(n_rows)
        if (
            self.warm_start
            and hasattr(self, "coef_")
            and np.shape(self.coef_) == (n_rows, p)
            and np.array_equal(getattr(self, "classes_", None), classes)
        ):
            coef[:] = self.coef_
            if self.fit_intercept:
                intercept[:] = self.intercept_
        alpha1 = alpha * l1_ratio
        alpha2 = alpha * (1.0 - l1_ratio)
        fit_intercept = bool(self.fit_intercept)
        kern = _kernels()
        with warnings.catch_warnings():
            # compile-time notice for (n, 1) / (1, p) arrays, typed C-contiguous by numba
            warnings.filterwarnings(
                "ignore", message=r"np\.dot\(\) is faster on contiguous arrays"
            )
            args = (
                kern, binary, Xd, data, indices, indptr, sparse, blas, yi, c, coef, intercept,
                fit_intercept, alpha1, alpha2, tol, max_iter, max_epochs, verbose,
            )  # fmt: skip
            coef0, intercept0 = coef.copy(), intercept.copy()
            out = self._solve(*args, True)
            if out[2] < 0:  # non-finite first gradient: NaN / inf in X (raises), else an overflow
                _assert_all_finite(data if sparse else Xd, input_name="X")
                out = self._solve(*args[:10], coef0, intercept0, *args[12:], False)
            coef, intercept, n_newton, n_epochs, viol, obj = out[0], out[1], out[3], out[4], out[5], out[6]
        if not viol <= tol:
            warn_convergence(
                f"{type(self).__name__}: did not converge (max_iter={max_iter}, max_epochs={max_epochs}): "
                f"optimality violation {viol:.3e} > tol {tol:.3e}. Returning the best iterate; "
                "increase max_iter or tol.",
                stacklevel=2,
            )
        self.classes_ = classes
        self.coef_ = coef.astype(dtype)
        self.intercept_ = intercept.astype(dtype)
        self.n_iter_ = int(n_newton)
        self.n_epochs_ = int(n_epochs)
        self.violation_ = float(viol)
        self.objective_ = float(obj)
        return self

    @staticmethod
    def _solve(kern, binary, Xd, data, indices, indptr, sparse, blas, yi, c, coef, intercept,
               fit_intercept, alpha1, alpha2, tol, max_iter, max_epochs, verbose, check_finite):  # fmt: skip
        """Run the numba kernel; ``coef`` (n_rows, p) and ``intercept`` are float64.

        Returns ``(coef, intercept, n_outer, n_newton, n_epochs, violation, objective)``;
        ``n_outer = -1``: the finite check failed (see ``binary_prox_newton``).
        """
        if binary:
            w = np.ascontiguousarray(coef[0])
            ypm = np.where(yi == 1, 1.0, -1.0)
            b, n_outer, n_newton, n_epochs, viol, obj = kern.binary_prox_newton(
                Xd, data, indices, indptr, sparse, blas, ypm, c, w, float(intercept[0]),
                fit_intercept, alpha1, alpha2, tol, max_iter, max_epochs, _P0, verbose, check_finite,
            )  # fmt: skip
            coef[0] = w
            intercept[0] = b
        else:
            W = np.ascontiguousarray(coef.T)
            b = intercept.copy()
            n_outer, n_newton, n_epochs, viol, obj = kern.multinomial_prox_newton(
                Xd, data, indices, indptr, sparse, blas, yi.astype(np.intp), c, W, b,
                fit_intercept, alpha1, alpha2, tol, max_iter, max_epochs, _P0, verbose, check_finite,
            )  # fmt: skip
            coef[:] = W.T
            intercept[:] = b
        return coef, intercept, n_outer, n_newton, n_epochs, viol, obj

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        check_is_fitted(self)
        scores = self.decision_function(X)
        if scores.ndim == 1:
            from scipy.special import expit

            p1 = expit(scores)
            return np.stack([1.0 - p1, p1], axis=1)
        from scipy.special import softmax

        return softmax(scores, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably."""
        check_is_fitted(self)
        scores = self.decision_function(X)
        if scores.ndim == 1:
            from scipy.special import log_expit

            return np.stack([log_expit(-scores), log_expit(scores)], axis=1)
        from scipy.special import log_softmax

        return log_softmax(scores, axis=1)
