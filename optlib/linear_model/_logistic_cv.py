"""``SparseLogisticRegressionCV``: C (and ``l1_ratio``) chosen by cross-validation along a path.

scikit-learn's ``LogisticRegressionCV`` protocol: the sample weights
(``sample_weight`` times the class weights, those computed once on all of
``y``) are fixed first; then, for each (fold, ``l1_ratio``), a path over
``Cs`` is fitted on the training part, from the smallest C (the strongest
penalty, the sparsest model) up, each fit warm-started from the previous
one, and each model is scored on the held-out part. The jobs run through
joblib (``n_jobs``, threads: the numba kernels release the GIL). The (C,
``l1_ratio``) of the best score summed over the folds is refitted on all
the data, warm-started from the folds' mean coefficients.

C has scikit-learn's meaning: it multiplies the weighted sum of the losses,
so a fit on samples of total weight ``W`` uses
``alpha = 1 / (C * W)`` in :class:`SparseLogisticRegression`'s scaling.
"""

import inspect
import numbers

import numpy as np
from joblib import Parallel, delayed
from sklearn.metrics import check_scoring, make_scorer
from sklearn.model_selection import check_cv
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data

from .._validation import check_scalar
from ._logistic import SparseLogisticRegression, _class_weights

__all__ = ["SparseLogisticRegressionCV"]


def _check_grid(values, name):
    """A 1-D float array of the grid ``values``, finite and non-empty."""
    grid = np.asarray(values, dtype=np.float64)
    if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)):
        raise ValueError(f"{name} must be a non-empty 1-D list of finite numbers, got {values!r}.")
    return grid


def _fold_path(X, y, sw, score_weight, train, test, anchors, Cs, l1_ratio, n_rows, scorer, options):
    """Warm-started path over ``Cs`` on ``train``, scored on ``test``.

    ``sw`` weights the fits; ``score_weight`` (the caller's ``sample_weight``,
    or None) the held-out scores. ``anchors`` holds one sample of each class:
    a class that ``train`` lacks is fitted with its anchor at weight 0, so
    that every fold's model has all the classes (as scikit-learn's); that
    class's intercept then falls until the tolerance stops it.

    Returns ``(coefs, scores, n_iter)`` in the order of ``Cs``: ``coefs``
    (n_cs, n_rows, n_features + fit_intercept) in X's dtype, the intercepts last.
    """
    lacking = anchors[~np.isin(y[anchors], y[train])]
    X_train, y_train = X[np.r_[train, lacking]], y[np.r_[train, lacking]]
    if not hasattr(X_train, "tocsc"):
        X_train = np.asfortranarray(X_train)
    sw_train = np.r_[sw[train], np.zeros(lacking.size)]
    total = sw_train.sum()
    est = SparseLogisticRegression(l1_ratio=l1_ratio, warm_start=True, **options)
    p = X.shape[1]
    coefs = np.zeros((len(Cs), n_rows, p + int(options["fit_intercept"])), dtype=X.dtype)
    scores, n_iter = np.empty(len(Cs)), np.empty(len(Cs), dtype=np.int64)
    score_params = {} if score_weight is None else {"sample_weight": score_weight[test]}
    for k in np.argsort(Cs):  # strongest penalty first
        est.set_params(alpha=1.0 / (Cs[k] * total))
        est.fit(X_train, y_train, sample_weight=sw_train)
        coefs[k, :, :p] = est.coef_
        if options["fit_intercept"]:
            coefs[k, :, -1] = est.intercept_
        scores[k] = scorer(est, X[test], y[test], **score_params)
        n_iter[k] = est.n_iter_
    return coefs, scores, n_iter


class SparseLogisticRegressionCV(SparseLogisticRegression):
    """Sparse logistic regression with C (and ``l1_ratio``) chosen by cross-validation.

    The objective is :class:`SparseLogisticRegression`'s, parametrised as in
    scikit-learn's ``LogisticRegressionCV`` by ``C`` (``alpha = 1 / (C *
    total sample weight)``). For each fold and ``l1_ratio`` a warm-started
    path over ``Cs`` is fitted and scored; the best (C, ``l1_ratio``) is
    refitted on all the data. See the module docstring.

    Parameters
    ----------
    Cs : int or array-like of float, default=10
        Values of C; an int asks for that many values on a log scale between
        1e-4 and 1e4, as in scikit-learn.
    l1_ratios : array-like of float in [0, 1], default=None
        Mixes of l1 and l2 penalties to try; None means ``[1.0]`` (the lasso
        penalty).
    fit_intercept : bool, default=True
        Fit unpenalised intercepts.
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn (None: 5-fold stratified). A training part may
        lack a class (a rare class, unstratified folds): as in scikit-learn,
        its model still has every class, the absent one fitted with no
        samples (its intercept, if any, falls until ``tol`` stops it).
    scoring : str or callable, default=None
        Scorer of the held-out folds (``check_scoring``); None means accuracy,
        scikit-learn's default. As in scikit-learn, a scorer whose metric
        takes ``labels`` gets all the classes (a held-out fold may lack
        some), and for two classes ``pos_label`` the second class. The scores
        are weighted by ``sample_weight`` when it is given (not by the class
        weights), as scikit-learn's ``LogisticRegressionCV`` (1.9) weights
        them; a callable must then accept ``sample_weight``.
    class_weight : dict, "balanced" or None, default=None
        As in :class:`SparseLogisticRegression`; ``"balanced"`` weights are
        computed once from all of ``y``, as scikit-learn does.
    tol, max_iter, max_epochs : see :class:`SparseLogisticRegression`
        Used by every fit of the paths and by the refit.
    n_jobs : int, default=None
        Number of joblib threads over the (fold, ``l1_ratio``) paths.
    refit : bool, default=True
        Refit on all the data with the best (C, ``l1_ratio``). Otherwise
        ``coef_`` averages the folds' best models and ``C_`` / ``l1_ratio_``
        their parameters, as scikit-learn does.
    verbose : int, default=0
        joblib's progress messages over the paths.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    C_ : float
        Chosen C (scikit-learn's non-legacy attribute: a float).
    l1_ratio_ : float
        Chosen ``l1_ratio``.
    alpha_ : float
        The ``alpha`` of :class:`SparseLogisticRegression` that the chosen C
        gives on all the data.
    Cs_ : ndarray of shape (n_cs,)
    l1_ratios_ : ndarray of shape (n_l1_ratios,)
    scores_ : ndarray of shape (n_folds, n_l1_ratios, n_cs)
        Held-out score of each fold, ``l1_ratio`` and C.
    coefs_paths_ : ndarray of shape (n_folds, n_l1_ratios, n_cs, n_rows, n_dof)
        Coefficients of each path, ``n_rows`` 1 for two classes (else
        n_classes), ``n_dof = n_features + fit_intercept`` (intercepts last).
        scikit-learn's non-legacy layout.
    n_iter_ : ndarray of shape (n_folds, n_l1_ratios, n_cs)
        Newton steps of each fit of the paths.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, when X has feature names.
    """

    def __init__(
        self,
        Cs=10,
        *,
        l1_ratios=None,
        fit_intercept=True,
        cv=None,
        scoring=None,
        class_weight=None,
        tol=1e-4,
        max_iter=100,
        max_epochs=50_000,
        n_jobs=None,
        refit=True,
        verbose=0,
    ):
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.scoring = scoring
        self.class_weight = class_weight
        self.tol = tol
        self.max_iter = max_iter
        self.max_epochs = max_epochs
        self.n_jobs = n_jobs
        self.refit = refit
        self.verbose = verbose

    def _check_params(self):
        if isinstance(self.Cs, numbers.Integral) and not isinstance(self.Cs, bool):
            check_scalar(self.Cs, "Cs", kind=numbers.Integral, lower=1)
            Cs = np.logspace(-4, 4, self.Cs)
        else:
            Cs = _check_grid(self.Cs, "Cs")
            if not np.all(Cs > 0):
                raise ValueError(f"Cs must be positive, got {self.Cs!r}.")
        l1_ratios = np.array([1.0]) if self.l1_ratios is None else _check_grid(self.l1_ratios, "l1_ratios")
        if not np.all((l1_ratios >= 0) & (l1_ratios <= 1)):
            raise ValueError(f"l1_ratios must lie in [0, 1], got {self.l1_ratios!r}.")
        for name in ("fit_intercept", "refit"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}.")
        check_scalar(self.tol, "tol", lower=0.0)
        check_scalar(self.max_iter, "max_iter", kind=numbers.Integral, lower=1)
        check_scalar(self.max_epochs, "max_epochs", kind=numbers.Integral, lower=1)
        if self.n_jobs is not None and not isinstance(self.n_jobs, numbers.Integral):
            raise TypeError(f"n_jobs must be an int or None, got {self.n_jobs!r}.")
        if not isinstance(self.verbose, (bool, np.bool_)):
            check_scalar(self.verbose, "verbose", kind=numbers.Integral, lower=0)
        return Cs, l1_ratios

    def _scorer(self):
        # accuracy by default (scikit-learn's default; not self.score, which calls this)
        return check_scoring(self, scoring="accuracy" if self.scoring is None else self.scoring)

    def _fold_scorer(self, classes):
        """The scorer of the held-out folds, told all the ``classes`` (a test fold may lack some).

        As scikit-learn's ``LogisticRegressionCV``: a scorer built on a metric
        with a ``labels`` argument (log loss, Brier score, ROC AUC, F1, ...)
        is rebuilt with ``labels=classes``, and, for two classes and a metric
        with ``pos_label``, ``pos_label=classes[-1]`` (the positive class of
        the model, also for string labels); arguments the scorer was made
        with are kept.
        """
        scorer = self._scorer()
        func = getattr(scorer, "_score_func", None)
        if func is None:  # a plain callable: used as given
            return scorer
        params = inspect.signature(func).parameters
        if "labels" not in params:
            return scorer
        kwargs = dict(getattr(scorer, "_kwargs", {}))
        kwargs.setdefault("labels", classes)
        if classes.shape[0] == 2 and "pos_label" in params:
            kwargs.setdefault("pos_label", classes[-1])
        return make_scorer(
            func, greater_is_better=scorer._sign > 0, response_method=scorer._response_method, **kwargs
        )

    def fit(self, X, y, sample_weight=None):
        """Choose C (and ``l1_ratio``) by cross-validation, then refit on all the data.

        Parameters
        ----------
        X : {ndarray, scipy.sparse matrix} of shape (n_samples, n_features)
            Training data (never modified).
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the fits and of the held-out scores.

        Returns
        -------
        self
        """
        Cs, l1_ratios = self._check_params()
        X, y = validate_data(
            self, X, y, accept_sparse="csc", dtype=[np.float64, np.float32], order="F", copy=False,
            ensure_all_finite=False,  # checked by each fit's first pass over X
        )  # fmt: skip
        check_classification_targets(y)
        classes, anchors, yi = np.unique(y, return_index=True, return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in y, "
                f"but the data contains only one class: {classes[0]!r}."
            )
        score_weight = None
        if sample_weight is not None:
            score_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        scorer = self._fold_scorer(classes)
        cw = _class_weights(self.class_weight, classes, yi, score_weight)
        sw = cw[yi] if score_weight is None else score_weight * cw[yi]
        if not sw.sum() > 0:
            raise ValueError("sample_weight (times the class weights) must have a positive sum.")

        folds = list(check_cv(self.cv, y, classifier=True).split(X, y))
        options = {
            "fit_intercept": self.fit_intercept,
            "tol": self.tol,
            "max_iter": self.max_iter,
            "max_epochs": self.max_epochs,
        }
        n_rows = 1 if classes.shape[0] == 2 else classes.shape[0]
        jobs = (
            delayed(_fold_path)(X, y, sw, score_weight, train, test, anchors, Cs, r, n_rows, scorer, options)
            for train, test in folds
            for r in l1_ratios
        )
        out = Parallel(n_jobs=self.n_jobs, verbose=self.verbose, prefer="threads")(jobs)
        n_folds, n_l1 = len(folds), len(l1_ratios)
        coefs = np.stack([o[0] for o in out]).reshape(n_folds, n_l1, *out[0][0].shape)
        scores = np.stack([o[1] for o in out]).reshape(n_folds, n_l1, len(Cs))
        n_iter = np.stack([o[2] for o in out]).reshape(n_folds, n_l1, len(Cs))

        p = X.shape[1]
        if self.refit:
            # best summed score; ties go to the first C, then the first l1_ratio (scikit-learn's order)
            total = scores.sum(axis=0).T  # (n_cs, n_l1)
            i_c, i_r = np.unravel_index(np.argmax(total), total.shape)
            C, l1_ratio = float(Cs[i_c]), float(l1_ratios[i_r])
            start = coefs[:, i_r, i_c].mean(axis=0)
            model = SparseLogisticRegression(
                alpha=1.0 / (C * sw.sum()), l1_ratio=l1_ratio, warm_start=True, **options
            )
            model.classes_, model.coef_ = classes, start[:, :p]
            model.intercept_ = start[:, p] if self.fit_intercept else np.zeros(start.shape[0])
            model.fit(X, y, sample_weight=sw)
            coef, intercept = model.coef_, model.intercept_
        else:
            # per fold; ties go to the first C, then the first l1_ratio
            best = np.argmax(scores.transpose(0, 2, 1).reshape(n_folds, -1), axis=1)
            i_c, i_r = np.unravel_index(best, (len(Cs), n_l1))
            C, l1_ratio = float(np.mean(Cs[i_c])), float(np.mean(l1_ratios[i_r]))
            mean = coefs[np.arange(n_folds), i_r, i_c].mean(axis=0)
            coef = mean[:, :p]
            intercept = mean[:, p] if self.fit_intercept else np.zeros(mean.shape[0], dtype=mean.dtype)

        self.classes_ = classes
        self.coef_ = np.asarray(coef, dtype=X.dtype)
        self.intercept_ = np.asarray(intercept, dtype=X.dtype)
        self.C_ = C
        self.l1_ratio_ = l1_ratio
        self.alpha_ = 1.0 / (C * sw.sum())
        self.Cs_ = Cs
        self.l1_ratios_ = l1_ratios
        self.scores_ = scores
        self.coefs_paths_ = coefs
        self.n_iter_ = n_iter
        return self

    def score(self, X, y, sample_weight=None):
        """Score of the model on ``(X, y)`` with the ``scoring`` option (accuracy when None)."""
        scorer = self._scorer()
        if sample_weight is None:
            return scorer(self, X, y)
        return scorer(self, X, y, sample_weight=sample_weight)
