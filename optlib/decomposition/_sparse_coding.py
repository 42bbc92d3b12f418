"""Sparse coding against a fixed dictionary with convex and nonconvex penalties.

For data ``X`` of shape ``(n_samples, n_features)`` and a dictionary ``D`` of
shape ``(n_components, n_features)`` (scikit-learn's layout), the codes ``C``
of shape ``(n_samples, n_components)`` solve, sample by sample,

    min_c  0.5 * ||x - c @ D||_2^2 + alpha * penalty(c)

which is scikit-learn's ``sparse_encode`` scaling. The penalties are
separable, so the per-sample problems are the columns of one matrix problem

    min_Z  0.5 * ||D^T Z - X^T||_F^2 + alpha * penalty(Z),   Z = C^T,

solved at once by :func:`optlib.optimize.proxgrad` (FISTA with adaptive
restart) on :class:`optlib.functions.LeastSquares` ``(A=D^T, y=X^T)``: each
iteration costs two dense matrix products, whatever the number of samples.
"""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import validate_data

from .._backend import device, get_namespace, is_non_numpy_array, is_numpy_namespace, to_host, to_namespace
from .._result import STATUS_MAX_ITER, STATUS_NUMERICAL
from .._validation import check_array, check_option, check_scalar
from ..functions import LeastSquares
from ..optimize import proxgrad
from ._penalties import check_penalty, make_penalty

__all__ = ["sparse_encode", "SparseCoder"]

METHODS = ("fista", "ista")
RESTARTS = (None, "function", "gradient")


# -- validation shared with DictionaryLearning -----------------------------------



def _validate_X(estimator, X, *, reset, name="X"):
    """Validate ``X`` for an estimator; return ``(X, xp)``.

    NumPy-convertible inputs (arrays, lists, DataFrames) go through
    scikit-learn's ``validate_data`` (feature names, ``n_features_in_``,
    sparse rejection, float32/float64 kept, integers to float64). Arrays of
    other array-API libraries stay in their namespace and device and get the
    same checks from :func:`optlib._validation.check_array`, whatever
    scikit-learn's ``array_api_dispatch`` setting.
    """
    if not is_non_numpy_array(X):
        X = validate_data(estimator, X, reset=reset, dtype=[np.float64, np.float32])
        return X, get_namespace(X)
    xp = get_namespace(X)
    X = check_array(X, name, xp=xp, ndim=2)
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"{name} must have at least one sample and one feature, got shape {tuple(X.shape)}.")
    if reset:
        estimator.n_features_in_ = X.shape[1]
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif hasattr(estimator, "n_features_in_") and X.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} "
            f"is expecting {estimator.n_features_in_} features as input."
        )
    return X, xp


def _as_like(A, X, xp, name):
    """``A`` as a floating array in ``X``'s namespace, device and dtype (explicit transfer).

    Host data (NumPy arrays, lists) goes to ``X``'s device; an array of
    ``X``'s library is used as it is, and must be on ``X``'s device
    (``ValueError`` naming ``name`` otherwise).
    """
    if not is_numpy_namespace(xp) and not is_non_numpy_array(A):
        A = to_namespace(A, xp, device=device(X))
    elif is_numpy_namespace(xp) and is_non_numpy_array(A):
        A = to_host(A)
    A = check_array(A, name, xp=xp, ndim=2)
    if device(A) != device(X):
        raise ValueError(f"{name} is on device {device(A)!r} but X is on {device(X)!r}; move {name} to X's device.")
    if A.dtype != X.dtype:
        A = xp.astype(A, X.dtype)
    return A


def _check_options(*, alpha, max_iter, tol, method, restart, positive):
    alpha = check_scalar(alpha, "alpha", lower=0.0)
    max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=1)
    tol = check_scalar(tol, "tol", lower=0.0)
    check_option(method, "method", METHODS)
    check_option(restart, "restart", RESTARTS)
    if not isinstance(positive, (bool, np.bool_)):
        raise TypeError(f"positive must be a bool, got {positive!r}.")
    return alpha, max_iter, tol


# -- the solver -----------------------------------------------------------------


def _encode(
    X,
    D,
    xp,
    *,
    penalty,
    alpha,
    penalty_params=None,
    init=None,
    max_iter=1000,
    tol=1e-6,
    method="fista",
    restart="gradient",
    positive=False,
    verbose=False,
    warn=True,
    caller="sparse_encode",
    stacklevel=3,
):
    """Codes of ``X`` (n_samples, n_features) against ``D`` (n_components, n_features).

    Arrays are already validated, in namespace ``xp`` and of one dtype.
    Returns ``(codes, result)`` with ``result`` the :class:`OptimizeResult`
    of the matrix problem (``fun`` is the summed objective).
    """
    penalty, params = check_penalty(penalty, penalty_params)
    g = make_penalty(penalty, alpha, params, positive)
    n_samples = X.shape[0]
    n_components = D.shape[0]
    scale = None
    if penalty == "cel0":
        # CEL0 is defined for unit-norm atoms: with a_k = ||D_k||, the CEL0 of
        # a_k c_k on the normalised atom equals the CEL0 with parameter a_k on
        # the raw atom, so solving in z_k = a_k c_k is exact. Zero atoms get zero codes.
        norms = xp.linalg.vector_norm(D, axis=1)
        used = norms > 0
        scale = xp.where(used, norms, xp.ones_like(norms))
        D = D / scale[:, None]
    f = LeastSquares(D.T, X.T)
    if init is None:
        z0 = xp.zeros((n_components, n_samples), dtype=X.dtype, device=device(X))
    else:
        z0 = init.T if scale is None else init.T * scale[:, None]
    # Stopping rule independent of the starting point: the gradient-mapping
    # norm relative to ||D X^T||_F, the norm of the datafit gradient at zero.
    reference = float(xp.linalg.vector_norm(xp.reshape(D @ X.T, (-1,))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = proxgrad(
            f,
            g,
            z0,
            method=method,
            restart=restart,
            tol=0.0,
            atol=tol * reference,
            max_iter=max_iter,
            verbose=verbose,
        )
    if warn and result.status in (STATUS_MAX_ITER, STATUS_NUMERICAL):
        why = "non-finite values" if result.status == STATUS_NUMERICAL else f"max_iter={max_iter} iterations"
        warnings.warn(
            f"{caller}: sparse coding (penalty={penalty!r}) stopped after {why} without "
            f"reaching tol={tol:g} (residual {result.residual:.3g} > {tol * reference:.3g}); "
            "increase max_iter or tol.",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    Z = result.x
    if scale is not None:
        Z = xp.where(used[:, None], Z / scale[:, None], xp.zeros_like(Z))
    codes = Z.T
    if is_numpy_namespace(xp):
        codes = np.ascontiguousarray(codes)
    return codes, result


def sparse_encode(
    X,
    dictionary,
    *,
    penalty="l1",
    alpha=1.0,
    penalty_params=None,
    init=None,
    max_iter=1000,
    tol=1e-6,
    method="fista",
    restart="gradient",
    positive=False,
    verbose=False,
    return_result=False,
):
    """Sparse codes of ``X`` in ``dictionary`` with an l1 or nonconvex penalty.

    Each sample ``x`` (row of ``X``) gets the code ``c`` minimising

        0.5 * ||x - c @ dictionary||_2^2 + alpha * penalty(c),

    the scaling of :func:`sklearn.decomposition.sparse_encode` (so
    ``penalty="l1"`` matches its ``algorithm="lasso_cd"`` / ``"lasso_lars"``
    with the same ``alpha``). All samples are solved at once, as one matrix
    problem, by proximal gradient (:func:`optlib.optimize.proxgrad`).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data. Its namespace (NumPy, array_api_strict, CuPy, ...), device and
        dtype (float32 kept, float64 otherwise) determine the output's.
    dictionary : array of shape (n_components, n_features)
        Atoms as rows; moved (explicitly) to ``X``'s namespace and dtype if needed.
    penalty : {"l1", "l0", "l1/2", "cel0", "mcp", "scad"}, default="l1"
        ``"l1"``: soft thresholding (convex, the Lasso); ``"l0"``: number of
        nonzeros (hard thresholding); ``"l1/2"``: sum of ``sqrt(|c|)`` (half
        thresholding); ``"cel0"``: continuous exact l0 relaxation (for atom
        norms ``||D_k||``, handled by rescaling); ``"mcp"``: minimax concave
        penalty; ``"scad"``: smoothly clipped absolute deviation. The
        nonconvex ones give stationary points, not global minima.
    alpha : float, default=1.0
        Penalty weight, ``>= 0``.
    penalty_params : dict, optional
        Extra penalty parameters: ``{"gamma": 3.0}`` for ``"mcp"``,
        ``{"a": 3.7}`` for ``"scad"``.
    init : array of shape (n_samples, n_components), optional
        Warm start (zeros by default).
    max_iter : int, default=1000
        Maximum number of proximal-gradient iterations (for all samples together).
    tol : float, default=1e-6
        Stop when the gradient-mapping norm ``||Z - Z+|| / t`` of the matrix
        problem is at most ``tol * ||dictionary @ X^T||_F`` (its value at zero
        without penalty), whatever ``init``.
    method : {"fista", "ista"}, default="fista"
        Accelerated or plain proximal gradient.
    restart : {"gradient", "function", None}, default="gradient"
        FISTA momentum restart (O'Donoghue-Candès).
    positive : bool, default=False
        Restrict codes to be nonnegative.
    verbose : bool or int, default=False
        Print solver progress every ``verbose`` iterations.
    return_result : bool, default=False
        Also return the solver's :class:`~optlib.OptimizeResult`.

    Returns
    -------
    codes : array of shape (n_samples, n_components)
        In ``X``'s namespace, device and floating dtype.
    result : OptimizeResult
        Only with ``return_result=True``; ``fun`` is the objective summed over samples.

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` is reached before ``tol``.
    """
    if is_non_numpy_array(X):
        xp = get_namespace(X)
        X = check_array(X, "X", xp=xp, ndim=2)
    else:
        X = check_array(np.asarray(X) if not isinstance(X, np.ndarray) else X, "X", ndim=2)
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        xp = get_namespace(X)
    D = _as_like(dictionary, X, xp, "dictionary")
    if D.shape[1] != X.shape[1]:
        raise ValueError(
            f"dictionary has {D.shape[1]} features (shape {tuple(D.shape)}) but X has "
            f"{X.shape[1]} (shape {tuple(X.shape)}); they must match."
        )
    alpha, max_iter, tol = _check_options(
        alpha=alpha, max_iter=max_iter, tol=tol, method=method, restart=restart, positive=positive
    )
    if init is not None:
        init = _as_like(init, X, xp, "init")
        if tuple(init.shape) != (X.shape[0], D.shape[0]):
            raise ValueError(f"init has shape {tuple(init.shape)}, expected {(X.shape[0], D.shape[0])}.")
    codes, result = _encode(
        X,
        D,
        xp,
        penalty=penalty,
        alpha=alpha,
        penalty_params=penalty_params,
        init=init,
        max_iter=max_iter,
        tol=tol,
        method=method,
        restart=restart,
        positive=positive,
        verbose=verbose,
    )
    return (codes, result) if return_result else codes


class SparseCoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Sparse coding against a fixed dictionary, with l1 or nonconvex penalties.

    The codes ``C`` of data ``X`` minimise, for every sample ``x``,
    ``0.5 * ||x - c @ dictionary||^2 + alpha * penalty(c)`` (scikit-learn's
    scaling), computed for all samples at once by FISTA; see
    :func:`sparse_encode`. A stateless transformer: ``fit`` only validates.

    Parameters
    ----------
    dictionary : array of shape (n_components, n_features)
        Atoms as rows (scikit-learn's layout). Not modified; moved explicitly
        to the namespace, device and dtype of the data at transform time.
    penalty : {"l1", "l0", "l1/2", "cel0", "mcp", "scad"}, default="l1"
        Sparsity penalty (see :func:`sparse_encode`).
    alpha : float, default=1.0
        Penalty weight, ``>= 0``.
    penalty_params : dict, optional
        ``{"gamma": ...}`` for ``"mcp"``, ``{"a": ...}`` for ``"scad"``.
    positive : bool, default=False
        Nonnegative codes.
    max_iter : int, default=1000
        Maximum FISTA iterations.
    tol : float, default=1e-6
        Relative tolerance on the gradient mapping (see :func:`sparse_encode`).
    method : {"fista", "ista"}, default="fista"
        Solver.
    restart : {"gradient", "function", None}, default="gradient"
        FISTA momentum restart.
    verbose : bool or int, default=False
        Solver progress.

    Attributes
    ----------
    n_components_ : int
        Number of atoms (set by ``fit``).
    n_iter_ : int
        FISTA iterations used to encode the data given to ``fit``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Feature names seen in ``fit``, when ``X`` has string column names.

    Notes
    -----
    ``transform`` follows the array namespace of ``X`` (NumPy, array_api_strict,
    CuPy...). The scikit-learn ``array_api_support`` tag stays off: the
    common array-API check requires every NumPy array held by the estimator,
    parameters included, to move to ``X``'s namespace at ``fit``, which a
    dictionary given as a constructor parameter cannot do.

    Examples
    --------
    >>> import numpy as np
    >>> from optlib.decomposition import SparseCoder
    >>> D = np.eye(3, 4)
    >>> SparseCoder(D, alpha=0.5).transform(np.array([[2.0, 0.2, -1.0, 5.0]]))
    array([[ 1.5,  0. , -0.5]])
    """

    def __init__(
        self,
        dictionary,
        *,
        penalty="l1",
        alpha=1.0,
        penalty_params=None,
        positive=False,
        max_iter=1000,
        tol=1e-6,
        method="fista",
        restart="gradient",
        verbose=False,
    ):
        self.dictionary = dictionary
        self.penalty = penalty
        self.alpha = alpha
        self.penalty_params = penalty_params
        self.positive = positive
        self.max_iter = max_iter
        self.tol = tol
        self.method = method
        self.restart = restart
        self.verbose = verbose

    def _check_params(self):
        check_penalty(self.penalty, self.penalty_params)
        return _check_options(
            alpha=self.alpha,
            max_iter=self.max_iter,
            tol=self.tol,
            method=self.method,
            restart=self.restart,
            positive=self.positive,
        )

    def _dictionary_like(self, X, xp):
        D = _as_like(self.dictionary, X, xp, "dictionary")
        if D.shape[1] != X.shape[1]:
            raise ValueError(
                f"dictionary and X have different numbers of features: dictionary has shape "
                f"{tuple(D.shape)}, X has shape {tuple(X.shape)}."
            )
        return D

    def _codes(self, X, reset=False):
        alpha, max_iter, tol = self._check_params()
        X, xp = _validate_X(self, X, reset=reset)
        D = self._dictionary_like(X, xp)
        return _encode(
            X,
            D,
            xp,
            penalty=self.penalty,
            alpha=alpha,
            penalty_params=self.penalty_params,
            max_iter=max_iter,
            tol=tol,
            method=self.method,
            restart=self.restart,
            positive=self.positive,
            verbose=self.verbose,
            caller=type(self).__name__,
            stacklevel=5,
        )

    def _fit(self, X):
        codes, result = self._codes(X, reset=True)
        self.n_components_ = int(codes.shape[1])
        self.n_iter_ = int(result.nit)
        return codes

    def fit(self, X, y=None):
        """Validate the parameters and ``X``; the dictionary is fixed, nothing is learned.

        ``X`` is encoded once so that ``n_iter_`` reports the iterations its
        codes need; :meth:`transform` works without ``fit``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Data.
        y : ignored

        Returns
        -------
        self
        """
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        """Codes of ``X``, computed once (the work of :meth:`fit`).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Data.
        y : ignored

        Returns
        -------
        codes : array of shape (n_samples, n_components)
        """
        return self._fit(X)

    def transform(self, X, y=None):
        """Sparse codes of ``X``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Data; its namespace, device and float dtype are kept.
        y : ignored

        Returns
        -------
        codes : array of shape (n_samples, n_components)
        """
        return self._codes(X)[0]

    def inverse_transform(self, X):
        """Reconstruct data from codes: ``X @ dictionary``.

        Parameters
        ----------
        X : array of shape (n_samples, n_components)
            Codes.

        Returns
        -------
        array of shape (n_samples, n_features)
        """
        return _inverse_transform(X, self.dictionary)

    @property
    def _n_features_out(self):
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _inverse_transform(codes, dictionary):
    """``codes @ dictionary`` in the namespace and dtype of ``codes``."""
    if is_non_numpy_array(codes):
        xp = get_namespace(codes)
        codes = check_array(codes, "X", xp=xp, ndim=2)
    else:
        codes = np.asarray(codes)
        codes = check_array(codes, "X", ndim=2)
        if codes.dtype not in (np.float32, np.float64):
            codes = codes.astype(np.float64)
        xp = get_namespace(codes)
    D = _as_like(dictionary, codes, xp, "dictionary")
    if codes.shape[1] != D.shape[0]:
        raise ValueError(
            f"X has {codes.shape[1]} components but the dictionary has {D.shape[0]} atoms; "
            "inverse_transform expects codes of shape (n_samples, n_components)."
        )
    return codes @ D
