"""Dictionary learning by alternating minimisation with l1 or nonconvex penalties.

Minimises over codes ``C`` (n_samples, n_components) and unit-norm atoms ``D``
(n_components, n_features)

    0.5 * ||X - C @ D||_F^2 + alpha * penalty(C),   ||D_k||_2 = 1 for every k,

alternating

* a code step: FISTA on all samples at once, warm-started from the previous
  codes (:func:`~optlib.decomposition._sparse_coding._encode`), which returns
  its lowest-objective iterate and so never increases the objective;
* a dictionary step: one pass of exact block-coordinate minimisation over
  the atoms (Mairal et al. 2010, Algorithm 2, with the unit-sphere constraint
  instead of the unit ball): with ``G = C^T C`` and ``B = X^T C``, atom ``k``
  becomes ``u / ||u||``, ``u = B[:, k] - D^T G[:, k] + G[k, k] D_k``, the exact
  minimiser on the sphere. Atoms no code uses are re-drawn from the data
  (residual of a sample drawn with probability proportional to its squared
  residual, via ``random_state``); their codes are zero, so this leaves the
  objective unchanged.

Both steps are monotone, so ``error_`` (the objective after each iteration)
does not increase, up to rounding.
"""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from .._backend import device, get_namespace, is_non_numpy_array, to_host, to_namespace
from .._result import OptimizeResult
from .._validation import check_option, check_random_state, check_scalar
from ._penalties import check_penalty, make_penalty
from ._sparse_coding import (
    METHODS,
    RESTARTS,
    _as_like,
    _encode,
    _inverse_transform,
    _validate_X,
)

__all__ = ["DictionaryLearning"]


def _objective(X, C, D, g, xp):
    R = X - C @ D
    return 0.5 * float(xp.sum(R * R)) + g(C)


def _svd_init(X, n_components, xp):
    """Codes ``U S`` and unit atoms ``V^T`` from the thin SVD; missing atoms are zero."""
    U, S, Vt = xp.linalg.svd(X, full_matrices=False)
    r = S.shape[0]
    k = min(n_components, r)
    D = Vt[:k, :]
    C = U[:, :k] * S[None, :k]
    if n_components > r:
        D = xp.concat([D, xp.zeros((n_components - r, X.shape[1]), dtype=X.dtype, device=device(X))], axis=0)
        C = xp.concat([C, xp.zeros((X.shape[0], n_components - r), dtype=X.dtype, device=device(X))], axis=1)
    return C, D


def _update_dict(X, C, D, xp, rng):
    """One block-coordinate pass over the atoms (unit-sphere constraint); new ``(D, C, n_redrawn)``.

    ``D`` and ``C`` are updated in place (they are private working copies).
    """
    n_samples, n_components = C.shape
    G = C.T @ C
    B = X.T @ C
    diag = np.asarray(to_host(xp.linalg.diagonal(G)), dtype=np.float64)  # explicit host copy (k scalars)
    tiny = 1e-12 * max(float(diag.max()), 1.0)
    unused = []
    for k in range(n_components):
        gkk = float(diag[k])
        if gkk > tiny:
            u = B[:, k] - D.T @ G[:, k] + gkk * D[k, :]
            norm = float(xp.linalg.vector_norm(u))
            if norm > 0:
                D[k, :] = u / norm
                continue
        unused.append(k)
    if unused:
        R = X - C @ D
        energy = np.asarray(to_host(xp.sum(R * R, axis=1)), dtype=np.float64)
        for k in unused:
            total = energy.sum()
            if total > 0:
                i = int(rng.choice(n_samples, p=energy / total))
                atom = R[i, :]
            else:
                i = int(rng.integers(n_samples))
                atom = X[i, :]
            norm = float(xp.linalg.vector_norm(atom))
            if norm == 0:
                atom = to_namespace(rng.standard_normal(X.shape[1]), xp, device=device(X))
                atom = xp.astype(atom, X.dtype)
                norm = float(xp.linalg.vector_norm(atom))
            D[k, :] = atom / norm
            C[:, k] = 0
            energy[i] = 0.0  # do not draw the same sample twice in a pass
    return D, C, len(unused)


class DictionaryLearning(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Dictionary learning with l1 or nonconvex sparsity penalties.

    Finds unit-norm atoms ``components_`` (n_components, n_features) and codes
    minimising ``0.5 * ||X - C @ components_||_F^2 + alpha * penalty(C)`` by
    alternating a warm-started FISTA code step on all samples with an exact
    block-coordinate atom update (see the module notes). The objective after
    each iteration is kept in ``error_`` and does not increase.

    Parameters
    ----------
    n_components : int, optional
        Number of atoms; ``n_features`` when None.
    penalty : {"l1", "l0", "l1/2", "cel0", "mcp", "scad"}, default="l1"
        Sparsity penalty on the codes (see :func:`sparse_encode`).
    alpha : float, default=1.0
        Penalty weight, ``>= 0``.
    penalty_params : dict, optional
        ``{"gamma": ...}`` for ``"mcp"``, ``{"a": ...}`` for ``"scad"``.
    max_iter : int, default=100
        Maximum number of alternating iterations.
    tol : float, default=1e-6
        Stop when the objective decreases by less than ``tol`` times its value
        in one iteration.
    code_max_iter : int, default=100
        FISTA iterations allowed per code step during ``fit``.
    code_tol : float, default=1e-4
        Relative gradient-mapping tolerance of the code steps during ``fit``.
    transform_alpha : float, optional
        ``alpha`` used by ``transform``; ``alpha`` when None.
    transform_max_iter : int, default=1000
        FISTA iterations allowed in ``transform``.
    transform_tol : float, default=1e-6
        Tolerance of ``transform`` (see :func:`sparse_encode`).
    positive_code : bool, default=False
        Nonnegative codes.
    method : {"fista", "ista"}, default="fista"
        Code solver.
    restart : {"gradient", "function", None}, default="gradient"
        FISTA momentum restart.
    dict_init : array of shape (n_components, n_features), optional
        Initial atoms (normalised to unit norm; zero rows are re-drawn). Default:
        the leading right singular vectors of ``X`` (as scikit-learn).
    code_init : array of shape (n_samples, n_components), optional
        Initial codes. Default: ``U S`` of the SVD with the SVD atoms, zeros
        with ``dict_init``.
    callback : callable, optional
        ``callback(intermediate_result)`` after each iteration with an
        :class:`~optlib.OptimizeResult` holding ``components``, ``codes``
        (copies of that iteration's arrays, safe to keep), ``nit`` and
        ``fun``; raising ``StopIteration`` stops the fit.
    verbose : bool or int, default=False
        Print the objective every ``verbose`` iterations.
    random_state : int, Generator, RandomState or None, default=None
        Seeds the re-drawing of unused atoms.

    Attributes
    ----------
    components_ : array of shape (n_components, n_features)
        Unit-norm atoms, in the namespace, device and dtype of ``X``.
    error_ : list of float
        Objective after each iteration.
    n_iter_ : int
        Number of iterations run.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Feature names seen in ``fit``, when ``X`` has string column names.

    Notes
    -----
    Nonconvex penalties make the fit sensitive to its start: from the default
    SVD start they tend to stall in poor local minima. Start them from an l1
    dictionary, ``dict_init=DictionaryLearning(k, alpha=...).fit(X).components_``;
    they then remove the l1 shrinkage bias (on planted problems the recovered
    atoms get closer to the true ones).

    Works on any array-API namespace (NumPy, array_api_strict, CuPy): the fit
    runs in ``X``'s namespace; only the scalar bookkeeping (atom usage, the
    draw of re-initialised atoms) is on the host, and a re-drawn Gaussian atom
    (all-zero data only) is moved explicitly. ``transform`` requires data in
    the namespace the model was fitted in.

    Examples
    --------
    >>> import numpy as np
    >>> from optlib.decomposition import DictionaryLearning
    >>> X = np.random.default_rng(0).standard_normal((50, 8))
    >>> dl = DictionaryLearning(6, alpha=0.5, random_state=0).fit(X)
    >>> dl.components_.shape, dl.transform(X).shape
    ((6, 8), (50, 6))
    """

    def __init__(
        self,
        n_components=None,
        *,
        penalty="l1",
        alpha=1.0,
        penalty_params=None,
        max_iter=100,
        tol=1e-6,
        code_max_iter=100,
        code_tol=1e-4,
        transform_alpha=None,
        transform_max_iter=1000,
        transform_tol=1e-6,
        positive_code=False,
        method="fista",
        restart="gradient",
        dict_init=None,
        code_init=None,
        callback=None,
        verbose=False,
        random_state=None,
    ):
        self.n_components = n_components
        self.penalty = penalty
        self.alpha = alpha
        self.penalty_params = penalty_params
        self.max_iter = max_iter
        self.tol = tol
        self.code_max_iter = code_max_iter
        self.code_tol = code_tol
        self.transform_alpha = transform_alpha
        self.transform_max_iter = transform_max_iter
        self.transform_tol = transform_tol
        self.positive_code = positive_code
        self.method = method
        self.restart = restart
        self.dict_init = dict_init
        self.code_init = code_init
        self.callback = callback
        self.verbose = verbose
        self.random_state = random_state

    def _check_params(self):
        check_penalty(self.penalty, self.penalty_params)
        p = {}
        if self.n_components is not None:
            p["n_components"] = check_scalar(self.n_components, "n_components", kind=numbers.Integral, lower=1)
        p["alpha"] = check_scalar(self.alpha, "alpha", lower=0.0)
        p["max_iter"] = check_scalar(self.max_iter, "max_iter", kind=numbers.Integral, lower=1)
        p["tol"] = check_scalar(self.tol, "tol", lower=0.0)
        p["code_max_iter"] = check_scalar(self.code_max_iter, "code_max_iter", kind=numbers.Integral, lower=1)
        p["code_tol"] = check_scalar(self.code_tol, "code_tol", lower=0.0)
        if self.transform_alpha is not None:
            p["transform_alpha"] = check_scalar(self.transform_alpha, "transform_alpha", lower=0.0)
        else:
            p["transform_alpha"] = p["alpha"]
        p["transform_max_iter"] = check_scalar(
            self.transform_max_iter, "transform_max_iter", kind=numbers.Integral, lower=1
        )
        p["transform_tol"] = check_scalar(self.transform_tol, "transform_tol", lower=0.0)
        if not isinstance(self.positive_code, (bool, np.bool_)):
            raise TypeError(f"positive_code must be a bool, got {self.positive_code!r}.")
        check_option(self.method, "method", METHODS)
        check_option(self.restart, "restart", RESTARTS)
        if self.callback is not None and not callable(self.callback):
            raise TypeError(f"callback must be callable or None, got {type(self.callback).__name__}.")
        return p

    def _code_options(self, p):
        return dict(
            penalty=self.penalty,
            penalty_params=self.penalty_params,
            method=self.method,
            restart=self.restart,
            positive=self.positive_code,
        )

    def _fit(self, X):
        p = self._check_params()
        X, xp = _validate_X(self, X, reset=True)
        n_samples, n_features = X.shape
        n_components = p.get("n_components", n_features)
        rng = check_random_state(self.random_state)
        g = make_penalty(self.penalty, p["alpha"], self.penalty_params, self.positive_code)

        if self.dict_init is not None:
            D = _as_like(self.dict_init, X, xp, "dict_init")
            if tuple(D.shape) != (n_components, n_features):
                raise ValueError(
                    f"dict_init has shape {tuple(D.shape)}, expected (n_components, n_features) = "
                    f"{(n_components, n_features)}."
                )
            norms = xp.linalg.vector_norm(D, axis=1)
            D = D / xp.where(norms > 0, norms, xp.ones_like(norms))[:, None]
            C = None
        else:
            C, D = _svd_init(X, n_components, xp)
        D = xp.asarray(D, copy=True)  # private working copy, updated in place
        if self.code_init is not None:
            C = _as_like(self.code_init, X, xp, "code_init")
            if tuple(C.shape) != (n_samples, n_components):
                raise ValueError(
                    f"code_init has shape {tuple(C.shape)}, expected (n_samples, n_components) = "
                    f"{(n_samples, n_components)}."
                )
        if C is None:
            C = xp.zeros((n_samples, n_components), dtype=X.dtype, device=device(X))
        if self.positive_code:
            C = xp.clip(C, 0.0, None)
        C = xp.asarray(C, copy=True)

        errors = []
        code_opts = self._code_options(p)
        converged = False
        it = 0
        for it in range(1, p["max_iter"] + 1):
            C, _ = _encode(
                X,
                D,
                xp,
                alpha=p["alpha"],
                init=C,
                max_iter=p["code_max_iter"],
                tol=p["code_tol"],
                warn=False,
                **code_opts,
            )
            C = xp.asarray(C, copy=True)
            D, C, n_redrawn = _update_dict(X, C, D, xp, rng)
            errors.append(_objective(X, C, D, g, xp))
            if self.verbose and it % int(self.verbose) == 0:
                print(
                    f"[DictionaryLearning] iter {it:4d}  objective={errors[-1]:.6e}"
                    + (f"  redrawn atoms={n_redrawn}" if n_redrawn else "")
                )
            if self.callback is not None:
                try:
                    # copies: D and C are working arrays, updated in place by the next iterations
                    self.callback(
                        OptimizeResult(
                            components=xp.asarray(D, copy=True),
                            codes=xp.asarray(C, copy=True),
                            nit=it,
                            fun=errors[-1],
                        )
                    )
                except StopIteration:
                    converged = True
                    break
            if it > 1 and errors[-2] - errors[-1] <= self.tol * abs(errors[-2]):
                converged = True
                break
        if not converged:
            warnings.warn(
                f"DictionaryLearning did not converge in max_iter={p['max_iter']} iterations "
                f"(last relative decrease above tol={self.tol:g}); increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.components_ = D
        self.error_ = errors
        self.n_iter_ = it
        self.n_components_ = n_components
        return X, xp, C, p

    def fit(self, X, y=None):
        """Learn the dictionary from ``X``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Training data (any array-API namespace; float32 kept).
        y : ignored

        Returns
        -------
        self
        """
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit and return the codes of ``X`` in the learned dictionary.

        The codes are those of :meth:`transform` (same settings), warm-started
        from the codes of the last fit iteration.
        """
        X, xp, C, p = self._fit(X)
        return self._transform(X, xp, p, init=C)

    def _transform(self, X, xp, p, init=None):
        codes, _ = _encode(
            X,
            self.components_,
            xp,
            alpha=p["transform_alpha"],
            init=init,
            max_iter=p["transform_max_iter"],
            tol=p["transform_tol"],
            caller=type(self).__name__,
            stacklevel=5,
            **self._code_options(p),
        )
        return codes

    def _check_same_namespace(self, X, method):
        xp_fit = get_namespace(self.components_)
        xp = get_namespace(X) if is_non_numpy_array(X) else get_namespace(np.empty(0))
        same = xp_fit.__name__ == xp.__name__
        if same and is_non_numpy_array(X):
            same = device(X) == device(self.components_)
        if not same:
            raise ValueError(
                f"Inputs passed to {type(self).__name__}.{method}() must use the same namespace "
                f"and the same device as those passed to fit(); fitted in {xp_fit.__name__}, "
                f"got {xp.__name__}."
            )

    def transform(self, X):
        """Sparse codes of ``X`` in the learned dictionary.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Same namespace and device as the data given to ``fit``.

        Returns
        -------
        codes : array of shape (n_samples, n_components)
        """
        check_is_fitted(self)
        p = self._check_params()
        self._check_same_namespace(X, "transform")
        X, xp = _validate_X(self, X, reset=False)
        return self._transform(X, xp, p)

    def inverse_transform(self, X):
        """Reconstruct data from codes: ``X @ components_``."""
        check_is_fitted(self)
        return _inverse_transform(X, self.components_)

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.array_api_support = True
        return tags
