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
Stopping, scikit-learn's two tests: the duality gap is below
``tol * ||y||^2`` (``y`` centred and weighted) and the last epoch changed no
coefficient by more than ``tol`` times the largest one. The second test is
what makes scikit-learn's coefficients accurate well beyond the gap
tolerance (the gap of a residual-based dual point shrinks only like the
square root of the primal error), and its cross-validation choices depend
on that accuracy. A warm start that already passes the gap test is returned
without an epoch, as in scikit-learn. The gap is the smaller of scikit-learn's two
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
import warnings

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


def _check_bools(obj, names):
    """``TypeError`` naming the first attribute of ``obj`` among ``names`` that is not a bool."""
    for name in names:
        if not isinstance(getattr(obj, name), (bool, np.bool_)):
            raise TypeError(f"{name} must be a bool, got {getattr(obj, name)!r}.")


def _linear_predict(est, X):
    """``X @ coef_.T + intercept_`` of a fitted linear estimator ``est`` (its ``predict``)."""
    check_is_fitted(est)
    X = validate_data(est, X, reset=False, accept_sparse=True, dtype=[np.float64, np.float32])
    return np.asarray(X @ est.coef_.T + est.intercept_)


def _sparse_coef(coef):
    """``coef`` (1-D or 2-D) as a 2-D CSR array, or CSR matrix under ``sparse_interface="spmatrix"``."""
    from scipy import sparse as sp
    from sklearn import get_config

    rows = np.atleast_2d(coef)
    if get_config().get("sparse_interface") == "spmatrix":
        return sp.csr_matrix(rows)
    return sp.csr_array(rows)


def _gram_kernel():
    from . import _cd_gram_numba

    return _cd_gram_numba.enet_cd_gram


def _check_precompute(precompute, allow_auto):
    """``precompute`` is ``True``, ``False``, ``"auto"`` (when ``allow_auto``) or a Gram matrix."""
    if isinstance(precompute, (bool, np.bool_)) or hasattr(precompute, "__array__"):
        return
    if allow_auto and isinstance(precompute, str) and precompute == "auto":
        return
    options = "True, False, 'auto' or" if allow_auto else "True, False or"
    raise ValueError(f"precompute must be {options} a Gram matrix of shape (n_features, n_features), got {precompute!r}.")


def _check_gram(G, Xc, dtype):
    """Validate a user-supplied Gram matrix against the (centred, weighted) dense design ``Xc``.

    Shape ``(p, p)``, finite, symmetric within the dtype's tolerance, and one
    entry (features ``p // 2`` and ``p // 2 + 1``, as scikit-learn checks)
    equal to its value recomputed from ``Xc``. Returns it as C-ordered float64.
    """
    p = Xc.shape[1]
    G = np.asarray(G)
    if G.shape != (p, p):
        raise ValueError(f"precompute: the Gram matrix must have shape ({p}, {p}) (n_features, n_features), got {G.shape}.")
    if not np.issubdtype(G.dtype, np.number) or not np.all(np.isfinite(G)):
        raise ValueError("precompute: the Gram matrix must hold finite numbers.")
    rtol = 1e-4 if np.float32 in (G.dtype, dtype) else 1e-7
    scale = float(np.max(np.abs(np.diagonal(G)), initial=0.0))
    if not np.allclose(G, G.T, rtol=rtol, atol=1e-5 * max(scale, 1.0)):
        raise ValueError("precompute: the Gram matrix is not symmetric; it must be X.T @ X.")
    f1 = p // 2
    f2 = min(f1 + 1, p - 1)
    expected = float(np.dot(Xc[:, f1].astype(np.float64), Xc[:, f2]))
    if not np.isclose(G[f1, f2], expected, rtol=rtol, atol=1e-5):
        raise ValueError(
            f"precompute: the Gram matrix does not match X: entry ({f1}, {f2}) is {float(G[f1, f2])!r}, "
            f"X[:, {f1}] @ X[:, {f2}] is {expected!r} (X centred and weighted as in the fit)."
        )
    return np.ascontiguousarray(G, dtype=np.float64)


class _CDProblem:
    """One elastic-net least-squares problem, preprocessed once, solved per target and alpha.

    Shared by :meth:`ElasticNet.fit`, :func:`~optlib.linear_model.enet_path`
    and the cross-validation folds: the (weighted) centring, the column norms
    and, with ``precompute``, the Gram matrix are computed once, and
    :meth:`target` returns a solver that warm-starts from its last
    coefficients (the path's warm starts).

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
        Validated float32 / float64 design (dense: Fortran-ordered).
    Y : ndarray of shape (n_samples, n_targets)
        Targets in ``X``'s dtype.
    sw : ndarray of shape (n_samples,) or None
        Sample weights, already rescaled to sum to ``n_samples``.
    fit_intercept : bool
        Centre ``X`` and ``Y`` with their weighted means.
    precompute : bool, "auto" or array
        scikit-learn's meaning: ``"auto"`` is ``n_samples > n_features``; a
        given Gram matrix is validated (:func:`_check_gram`) or, when ``X``
        needed centring, recomputed with a ``UserWarning``. Ignored for sparse ``X``.
    Xy : ndarray of shape (n_features,) or (n_features, n_targets), optional
        ``X^T Y`` matching a given Gram matrix (checked for its shape only).
    copy : bool
        ``False`` centres and weights a dense Fortran ``X`` in place
        (scikit-learn's ``copy_X=False``: the caller's array is overwritten).
    check_gram : bool
        Validate a given Gram matrix.
    """

    def __init__(self, X, Y, sw, fit_intercept, precompute=False, Xy=None, copy=True, check_gram=True):
        self.n, self.p = n, p = X.shape
        self.dtype = dtype = X.dtype
        self.sparse = sparse = _is_sparse(X)
        self.X = X
        n_targets = Y.shape[1]
        # each target's (weighted) mean summed as that of a 1-D target (a C-ordered Y's column means, and a
        # matrix-vector sw @ Y, round differently): the multi-target fit equals the single-target fits bit for bit
        Y = np.asfortranarray(Y)
        if fit_intercept:
            with np.errstate(over="ignore", invalid="ignore"):  # overflow, NaN, inf: errors below
                if sw is None:
                    X_offset = np.asarray(X.mean(axis=0)).ravel().astype(dtype)
                    Y_offset = Y.mean(axis=0)
                else:
                    X_offset = np.asarray(X.T @ sw).ravel().astype(dtype) / n
                    Y_offset = np.array([sw @ Y[:, k] for k in range(n_targets)], dtype=Y.dtype) / n  # as a 1-D y's
            _check_no_overflow(X_offset, "X", X)  # e.g. entries near finfo(dtype).max
            _check_no_overflow(Y_offset, "y", Y)
        else:
            X_offset = np.zeros(p, dtype=dtype)
            Y_offset = np.zeros(n_targets, dtype=dtype)
        self.X_offset, self.Y_offset = X_offset, Y_offset
        self.gram = None
        if sparse:
            # implicit centring: X is never densified nor modified (see _cd_sparse_numba)
            Xcsc = _as_csc(X)
            self.v = v = np.ones(n) if sw is None else np.sqrt(sw).astype(np.float64)
            self.data = Xcsc.data if sw is None else Xcsc.data * v[Xcsc.indices].astype(dtype)
            self.indptr, self.indices = Xcsc.indptr, Xcsc.indices
            self.Ys = np.ascontiguousarray((Y * v[:, None]).T, dtype=np.float64)  # (n_targets, n)
            self.xo64 = np.asarray(X_offset, dtype=np.float64)
            Yc = self.Ys - np.asarray(Y_offset, dtype=np.float64)[:, None] * v
        else:
            inplace = not copy and isinstance(X, np.ndarray) and X.flags.f_contiguous and X.flags.writeable
            Xc = X
            if fit_intercept:
                with np.errstate(invalid="ignore"):  # inf in X: rejected by the fused check
                    if inplace:
                        Xc -= X_offset
                    else:
                        Xc = np.asfortranarray(X - X_offset)
                        inplace = True  # Xc is ours now
                Yc = Y - Y_offset
            else:
                Yc = Y
            if sw is not None:
                s = np.sqrt(sw).astype(dtype)
                if inplace:
                    Xc *= s[:, None]
                else:
                    Xc = np.asfortranarray(Xc * s[:, None])
                Yc = Yc * s[:, None]
            self.Xc = np.asfortranarray(Xc, dtype=dtype)
            Yc = np.ascontiguousarray(Yc.T, dtype=dtype)  # (n_targets, n)
            self.gram, self.Xy = self._resolve_gram(precompute, Xy, fit_intercept, sw, check_gram, Yc)
        self.Yc = Yc
        self.yy = np.empty(n_targets)
        with np.errstate(over="ignore"):
            for k in range(n_targets):
                self.yy[k] = float(Yc[k] @ Yc[k])
        _check_no_overflow(self.yy, "y", Y)
        self._norms2 = self._xty0 = None
        self.sparse_stats = None  # sparse kernel: (squared column norms, X^T v), see _TargetSolver.run

    def _resolve_gram(self, precompute, Xy, fit_intercept, sw, check_gram, Yc):
        """The Gram matrix (float64) and ``X^T Y`` (n_targets, p) to use, or ``(None, None)``."""
        Xc, p = self.Xc, self.p
        if hasattr(precompute, "__array__"):
            if fit_intercept and np.any(self.X_offset != 0):
                warnings.warn(
                    "precompute: a Gram matrix was given but X is centred to fit the intercept; "
                    "the Gram matrix of the centred X is computed instead.",
                    UserWarning,
                    stacklevel=4,
                )
                precompute, Xy = True, None
            elif check_gram:
                precompute = _check_gram(precompute, Xc, self.dtype)
            else:
                precompute = np.ascontiguousarray(precompute, dtype=np.float64)
        if isinstance(precompute, str):  # "auto"
            precompute = self.n > p
        if precompute is False or precompute is np.False_:
            return None, None
        if precompute is True or precompute is np.True_:
            X64 = Xc if Xc.dtype == np.float64 else Xc.astype(np.float64)
            precompute = np.ascontiguousarray(X64.T @ X64)
            Xy = None
        if Xy is None:
            Xy = np.asarray(Yc @ Xc, dtype=np.float64)  # (n_targets, p)
        else:
            Xy = np.asarray(Xy, dtype=np.float64)
            Xy = Xy[:, None] if Xy.ndim == 1 else Xy
            if Xy.shape != (p, Yc.shape[0]):
                raise ValueError(f"Xy must have shape ({p},) or ({p}, n_targets), got {Xy.shape}.")
            Xy = np.ascontiguousarray(Xy.T)
        return precompute, Xy

    def _dense_stats(self):
        """Squared column norms and ``X^T y`` of the first target: one read of ``X`` (and its finite check)."""
        if self._norms2 is None:
            norms2, xty = _prep()(self.Xc, self.Yc[0])
            _check_no_overflow(norms2, "X", self.X)
            self._norms2, self._xty0 = norms2, xty
        return self._norms2

    def xty(self, k):
        """``X^T y_k`` of the centred, weighted data (float64), for the alpha grid."""
        if self.gram is not None:
            return self.Xy[k]
        if self.sparse:
            from scipy import sparse as sp

            Xs = sp.csc_matrix((self.data, self.indices, self.indptr), shape=(self.n, self.p))
            yc = self.Ys[k] - float(self.Y_offset[k]) * self.v
            return np.asarray(Xs.T @ yc).ravel() - self.xo64 * float(self.v @ yc)
        self._dense_stats()
        return self._xty0 if k == 0 else np.dot(self.Xc.T, self.Yc[k]).astype(np.float64)

    def target(self, k, w):
        """A solver of target ``k`` starting at ``w`` (copied; clipped at 0 by ``run(positive=True)``)."""
        return _TargetSolver(self, k, w)


class _TargetSolver:
    """Warm-started solves of one target of a :class:`_CDProblem` (``.w``: current coefficients)."""

    def __init__(self, problem, k, w):
        self.problem, self.k = problem, k
        dense = not problem.sparse and problem.gram is None
        self.w = np.array(w, dtype=problem.dtype if dense else np.float64)
        self.R = self.grad = None  # residual and X^T R of the dense kernel, kept between solves
        self.calls = 0

    def run(self, alpha1, alpha2, positive, max_iter, tol, random, seed, use_ws, dw_tol, entry_test=True):
        """Solve at ``(alpha1, alpha2)`` (n-scaled) from the current ``w``; returns ``(n_epochs, gap)``.

        ``tol`` is the absolute gap tolerance (n-scaled units), ``dw_tol`` the
        relative one of scikit-learn's coefficient-change test (the user's
        ``tol``): both must hold after the last epoch. ``entry_test``: a start
        that passes the gap test is returned without an epoch (scikit-learn's
        test at entry; a path turns it off for its warm starts, see
        :func:`._cd_numba.enet_cd_ws`). Raises the finite-check errors of
        ``X`` on the first call.
        """
        pb, k, w = self.problem, self.k, self.w
        if positive and np.any(w < 0):
            np.maximum(w, 0, out=w)
            self.R = self.grad = None
        opts = (alpha1, alpha2, bool(positive), max_iter, tol, random, seed, bool(use_ws), _initial_ws_size(pb.p))
        first = self.calls == 0
        self.calls += 1
        if pb.gram is not None:
            if first:  # the finite check of X, as the other kernels do it
                _check_no_overflow(pb._dense_stats(), "X", pb.X)
            return _gram_kernel()(pb.gram, pb.Xy[k], float(pb.yy[k]), w, *opts, dw_tol, entry_test)
        if pb.sparse:
            # column norms and X^T v (and the finite check of X): filled by the problem's first solve,
            # whatever its target, and kept for the next ones (later alphas and targets)
            ready = pb.sparse_stats is not None
            if not ready:
                pb.sparse_stats = (np.empty(pb.p), np.empty(pb.p))
            n_ep, gap = _sparse_kernel()(
                pb.indptr, pb.indices, pb.data, pb.Ys[k], float(pb.Y_offset[k]), pb.v, pb.xo64, *pb.sparse_stats,
                ready, w, *opts, not ready, dw_tol, entry_test,
            )  # fmt: skip
            if n_ep < 0:  # a non-finite column norm: NaN / inf in X, or an overflow
                pb.sparse_stats = None
                _raise_non_finite("X", pb.X)
            return n_ep, gap
        norms2 = pb._dense_stats()
        yk = pb.Yc[k]
        if self.R is None:
            self.R = yk.copy() if not np.any(w) else yk - pb.Xc @ w
            # at w = 0 the gradient is X^T y, already computed with the norms
            self.grad = pb.xty(k).copy() if not np.any(w) else np.dot(pb.Xc.T, self.R).astype(np.float64)
        # R and grad (X^T R) are updated in place: the next solve (path) starts from them
        return _kernel()(pb.Xc, yk, w, self.R, *opts, True, norms2, self.grad, dw_tol, entry_test)


def _validate_sample_weight(sample_weight, X, n, dtype, check_input):
    """Weights rescaled to sum to ``n_samples`` (``None`` for none or a number when checked)."""
    if sample_weight is None:
        return None
    if check_input:
        if isinstance(sample_weight, numbers.Number):
            return None
        sw = _check_sample_weight(sample_weight, X, dtype=dtype)
        if np.any(sw < 0):
            raise ValueError("sample_weight must be nonnegative.")
        if sw.sum() <= 0:
            raise ValueError("sample_weight must have a positive sum.")
    else:  # a scalar weight is uniform, as with check_input=True
        sw = np.broadcast_to(np.asarray(sample_weight, dtype=dtype), (n,))
    sw = sw / sw.max()  # weights near finfo.max: their sum must not overflow
    return sw * (n / sw.sum())


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
    precompute : bool or array of shape (n_features, n_features), default=False
        Solve from the Gram matrix ``X^T X`` (computed once; a coordinate
        update then costs O(n_features) instead of O(n_samples), which pays
        when ``n_samples >> n_features``). ``True`` computes it; an array is
        used as given after a check (shape, symmetry, one entry recomputed
        from ``X``), or recomputed with a ``UserWarning`` when ``X`` is
        centred for the intercept (scikit-learn's behaviour). Ignored for a
        sparse ``X``.
    max_iter : int, default=1000
        Maximum total number of coordinate-descent epochs (sweeps over the
        current working set).
    copy_X : bool, default=True
        ``False`` lets the fit centre and weight a dense, Fortran-ordered
        float ``X`` in place (it is overwritten, as in scikit-learn); with
        ``True`` the input is never modified.
    tol : float, default=1e-4
        Stop when the duality gap is below ``tol * ||y||^2 / n_samples`` and
        the last epoch changed no coefficient by more than ``tol`` times the
        largest one (scikit-learn's tests).
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
    sparse_coef_ : scipy.sparse CSR array of shape (1, n_features) or (n_targets, n_features)
        ``coef_`` as a sparse matrix (a property).
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
        precompute=False,
        max_iter=1000,
        copy_X=True,
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
        self.precompute = precompute
        self.max_iter = max_iter
        self.copy_X = copy_X
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

    @property
    def sparse_coef_(self):
        """``coef_`` as a scipy.sparse CSR array (a CSR matrix under scikit-learn's ``sparse_interface="spmatrix"``)."""
        return _sparse_coef(self.coef_)

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
            ``False`` skips the validation of ``X``, ``y``, ``sample_weight``
            and of a given Gram matrix (scikit-learn's meaning, for callers
            fitting many times on the same checked data): the caller
            guarantees a float32 or float64 ``X`` (a Fortran-ordered ndarray,
            else it is copied, or scipy.sparse), a numeric ``y`` with
            ``n_samples`` rows and nonnegative weights. NaN or infinity in
            ``X`` is still detected (the check is free, fused with the kernels).

        Returns
        -------
        self : ElasticNet
            The fitted estimator.
        """
        alpha = check_scalar(self.alpha, "alpha", lower=0.0)
        l1_ratio = self._l1_ratio()
        max_iter = check_scalar(self.max_iter, "max_iter", kind=numbers.Integral, lower=1)
        tol = check_scalar(self.tol, "tol", lower=0.0)
        check_option(self.selection, "selection", SELECTIONS)
        _check_bools(self, ("fit_intercept", "warm_start", "positive", "use_working_set", "copy_X"))
        _check_precompute(self.precompute, allow_auto=False)
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
        n, p = X.shape
        dtype = X.dtype
        y = np.asarray(y, dtype=dtype)
        single = y.ndim == 1
        Y = y[:, None] if single else y
        n_targets = Y.shape[1]
        sw = _validate_sample_weight(sample_weight, X, n, dtype, check_input)
        problem = _CDProblem(
            X, Y, sw, self.fit_intercept, self.precompute, copy=self.copy_X, check_gram=check_input
        )

        coef = np.zeros((n_targets, p), dtype=dtype)
        if self.warm_start and hasattr(self, "coef_"):
            prev = (
                np.asarray(self.coef_, dtype=dtype).reshape(-1, p)
                if self.coef_.shape[-1] == p
                else None
            )
            if prev is not None and prev.shape[0] == n_targets:
                coef[:] = prev
        random = self.selection == "random"
        # seeding a generator from the OS costs more than a small fit: only when used
        rng = check_random_state(self.random_state) if random else None
        n_iters, gaps = [], np.zeros(n_targets, dtype=dtype)
        for k in range(n_targets):
            tol_k = tol * problem.yy[k]
            seed = int(rng.integers(np.iinfo(np.int32).max)) if random else 0
            solver = problem.target(k, coef[k])
            n_ep, gap = solver.run(
                n * alpha * l1_ratio, n * alpha * (1.0 - l1_ratio), self.positive, max_iter, tol_k,
                random, seed, self.use_working_set, tol,
            )  # fmt: skip
            coef[k] = solver.w
            n_iters.append(int(n_ep))
            gaps[k] = gap / n
            if not gap <= tol_k:  # NaN included
                warn_convergence(
                    f"{type(self).__name__}: objective did not converge after max_iter={max_iter} epochs: "
                    f"duality gap {gap / n:.3e} > tolerance {tol_k / n:.3e}. Increase max_iter or tol.",
                    stacklevel=2,
                )
        intercept = (
            problem.Y_offset - np.array([c @ problem.X_offset for c in coef], dtype=dtype)  # dots, as for one target
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
        return _linear_predict(self, X)


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
        precompute=False,
        copy_X=True,
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
        self.precompute = precompute
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.use_working_set = use_working_set

    def _l1_ratio(self):
        return 1.0
