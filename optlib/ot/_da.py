"""Transport estimators for domain adaptation, following POT's ``ot.da``.

:class:`SNSTransport` (entropic OT by Sinkhorn-Newton-Sparse) and
:class:`SparsityConstrainedTransport` fit a coupling between source samples
``Xs`` and target samples ``Xt`` and map samples across by barycentric
mapping, with POT's API: ``fit(Xs, ys, Xt, yt)``, ``transform(Xs, ...,
batch_size=128)``, ``inverse_transform(..., Xt, ...)``, ``fit_transform`` and
the fitted attributes ``coupling_``, ``cost_``, ``mu_s``, ``mu_t``, ``xs_``,
``xt_``, ``log_``.

Design notes
------------
* The fit signature is POT's ``fit(Xs=None, ys=None, Xt=None, yt=None)``,
  not scikit-learn's ``fit(X, y)``: the estimators are scikit-learn
  ``BaseEstimator`` objects (``get_params``, ``set_params``, ``clone``,
  ``repr``) but are *not* usable as a step of a ``Pipeline``, which would call
  ``fit(X, y)`` without target samples (a clear error is raised then).
* The cost matrix and the solve run in float64 whatever the input dtype (an
  explicit, documented upcast): the default tolerance ``1e-9`` on the
  marginals is below float32 resolution. ``transform`` and
  ``inverse_transform`` return arrays in the namespace and floating dtype of
  the samples they are given (float32 in, float32 out).
* Labels (``ys``, ``yt``, ``-1`` for unlabelled) give POT's semi-supervised
  cost: pairs of labelled samples with different labels cost at least
  ``limit_max`` times the largest cost; with ``limit_max=inf`` (POT's default
  for ``SinkhornTransport``) no mass moves between them. The solvers take
  costs of a bounded range only, so such pairs (and those of a finite
  ``limit_max`` large enough that the plan underflows there) are solved with
  a finite stand-in large enough that the plan is exactly zero there
  (:meth:`_BaseTransport._solve_forbidding`); ``cost_`` holds POT's value
  (capped at the largest float).
* :class:`SNSTransport` maps samples, by default, with the entropic map of
  its dual potentials (POT's ``out_of_sample_map="continuous"``, defined for
  any point), or, with ``out_of_sample_map="ferradans"``, as follows.
* Barycentric mapping, as POT: a training source point ``x_i`` goes to
  ``sum_j P_ij x^t_j / sum_j P_ij``. A row of the coupling with no mass
  (possible for :class:`SparsityConstrainedTransport`, whose columns hold at
  most ``max_nz`` nonzeros, so that when ``n_s > max_nz n_t`` some sources
  receive no mass) has no barycentre: the point is mapped to its own
  position (POT maps it to the origin). Other source points are displaced
  like their nearest training source point (squared Euclidean distance, as
  POT): ``T(x) = x + T(x_i) - x_i``. ``inverse_transform`` is the same with
  the roles of source and target swapped (columns of the coupling).
"""

import math
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._backend import device, get_namespace, is_numpy_namespace, result_float_dtype
from .._validation import check_array, check_option, check_scalar
from ._sns import sinkhorn_newton_sparse
from ._sparsity_constrained import sparsity_constrained_ot

__all__ = ["SNSTransport", "SparsityConstrainedTransport"]

#: Metrics computed with the array namespace of the samples (any backend).
_XP_METRICS = ("sqeuclidean", "euclidean")
#: Further metrics computed by ``scipy.spatial.distance.cdist`` (NumPy input only).
_CDIST_METRICS = ("cityblock", "chebyshev", "minkowski", "cosine", "correlation", "braycurtis", "canberra")
_METRICS = _XP_METRICS + _CDIST_METRICS
_NORMS = (None, "median", "max", "log", "loglog")
#: POT's label of an unlabelled sample (``ot.da``'s semi-supervised convention).
_MISSING_LABEL = -1
#: Margin, in units of the regularisation and above the range of the allowed costs, of the finite
#: cost that stands in for an infinite one: the plan's entries there, ~exp(-750), underflow to 0.
_FORBID_MARGIN = 750.0
#: Attempts (the margin doubled each time) before the forbidden pairs are declared not emptied.
_FORBID_ATTEMPTS = 3


# --------------------------------------------------------------------------- helpers


def _sq_distances(xp, X, Y):
    """Squared Euclidean distances ``||x_i - y_j||^2`` (clipped at 0), vectorized in ``xp``."""
    if is_numpy_namespace(xp):
        from scipy.spatial.distance import cdist

        return cdist(np.asarray(X), np.asarray(Y), metric="sqeuclidean")
    x2 = xp.sum(X * X, axis=1)
    y2 = xp.sum(Y * Y, axis=1)
    D = x2[:, None] + y2[None, :] - 2.0 * (X @ xp.permute_dims(Y, (1, 0)))
    return xp.maximum(D, xp.zeros_like(D))


def _pairwise_cost(xp, Xs, Xt, metric):
    """Cost matrix between the rows of ``Xs`` and ``Xt`` (float64 arrays of namespace ``xp``)."""
    if metric == "sqeuclidean":
        return _sq_distances(xp, Xs, Xt)
    if metric == "euclidean":
        return xp.sqrt(_sq_distances(xp, Xs, Xt))
    if not is_numpy_namespace(xp):
        raise TypeError(
            f"metric={metric!r} is computed by scipy.spatial.distance.cdist and needs NumPy arrays; "
            f"for other array libraries use one of {_XP_METRICS}."
        )
    from scipy.spatial.distance import cdist

    return cdist(np.asarray(Xs), np.asarray(Xt), metric=metric)


def _median(xp, C):
    flat = xp.sort(xp.reshape(C, (-1,)))
    k = flat.shape[0]
    return (flat[(k - 1) // 2] + flat[k // 2]) / 2.0


def _normalize_cost(xp, C, norm):
    """POT's ``cost_normalization``: returns ``(C_normalised, value)`` (value ``None`` for log norms)."""
    value = None
    if norm in ("median", "max"):
        value = float(_median(xp, C) if norm == "median" else xp.max(C))
        if not value > 0:
            raise ValueError(
                f"norm={norm!r} cannot normalise the cost: its {norm} is {value!r} "
                "(most source and target samples coincide); use norm=None."
            )
    return _apply_norm(xp, C, norm, value), value


def _apply_norm(xp, C, norm, value):
    """The normalisation ``norm`` of a cost, ``value`` being the fitted median or maximum."""
    if norm in ("median", "max"):
        return C / value
    if norm in ("log", "loglog"):
        C = xp.log(1.0 + C)
        if norm == "loglog":
            C = xp.log(1.0 + C)
    return C


def _check_samples(X, name, xp=None):
    if X is None:
        raise ValueError(
            f"{name} is required. These estimators follow POT's ot.da signature fit(Xs=None, ys=None, "
            "Xt=None, yt=None): pass the source samples Xs and the target samples Xt (they cannot be "
            "fitted as a scikit-learn Pipeline step with fit(X, y))."
        )
    return check_array(X, name, xp=xp, ndim=2)


def _check_weights(w, name, n, xp, dev):
    """Sample weights normalised to sum 1 (uniform when ``None``, on device ``dev``), float64."""
    if w is None:
        return xp.full((n,), 1.0 / n, dtype=xp.float64, device=dev)
    w = check_array(w, name, xp=xp, ndim=1)
    if w.shape[0] != n:
        raise ValueError(f"{name} has {w.shape[0]} weights, expected one per sample ({n}).")
    if bool(xp.any(w < 0)):
        raise ValueError(f"{name} has negative weights; sample weights must be nonnegative.")
    total = float(xp.sum(w))
    if not total > 0:
        raise ValueError(f"{name} has zero total mass.")
    return xp.astype(w, xp.float64) / total


def _barycentric(xp, P, Y, axis):
    """Barycentres ``sum_j P_ij y_j / sum_j P_ij`` (``axis=1``; columns for ``axis=0``) and the mass mask."""
    if axis == 0:
        P = xp.permute_dims(P, (1, 0))
    mass = xp.sum(P, axis=1)
    has_mass = mass > 0
    safe = xp.where(has_mass, mass, xp.ones_like(mass))
    return (P @ Y) / safe[:, None], has_mass


def _check_labels(y, name, n, xp, dev):
    """Labels ``y`` as a 1-D array of namespace ``xp`` on device ``dev``, one per sample."""
    y = xp.asarray(y, device=dev)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"{name} must hold one label per sample, shape ({n},); got shape {tuple(y.shape)}.")
    return y


def _check_limit_max(limit_max):
    """``limit_max`` as a float: ``inf`` or a finite value > 0."""
    if isinstance(limit_max, numbers.Real) and not isinstance(limit_max, bool) and limit_max == math.inf:
        return math.inf
    return check_scalar(limit_max, "limit_max", lower=0.0, lower_inclusive=False)


def _label_cost(xp, C, ys, yt, limit_max):
    """POT's semi-supervised cost: ``(cost_, mismatch)``.

    ``mismatch`` is the mask of the pairs of labelled samples (label not
    ``_MISSING_LABEL``) with different labels; they cost at least
    ``limit_max * max(C)``, capped at the largest float (POT's value, also
    that of ``limit_max = inf``). :meth:`_BaseTransport._solve_forbidding`
    solves with no mass on those whose cost is beyond the solvers' range.
    """
    labelled = (ys != _MISSING_LABEL)[:, None] & (yt != _MISSING_LABEL)[None, :]
    mismatch = labelled & (ys[:, None] != yt[None, :])
    big = float(xp.finfo(C.dtype).max)
    floor = big if limit_max == math.inf else min(limit_max * float(xp.max(C)), big)
    return xp.where(mismatch, xp.maximum(C, xp.full_like(C, floor)), C), mismatch


# --------------------------------------------------------------------------- base class


class _BaseTransport(BaseEstimator):
    """Shared fit / transform machinery (POT's ``ot.da.BaseTransport`` API).

    Subclasses define ``_check_params()`` (validated solver options) and
    ``_solve(a, b, M, params)`` returning ``(coupling, log_dict, n_iter)``.
    """

    # ----------------------------------------------------------------- fit

    def fit(self, Xs=None, ys=None, Xt=None, yt=None, *, a=None, b=None):
        r"""Fit the coupling between source samples ``Xs`` and target samples ``Xt``.

        Parameters
        ----------
        Xs : array of shape (n_source_samples, n_features)
            Source samples (required).
        ys : array of shape (n_source_samples,), optional
            Source labels, ``-1`` for an unlabelled sample (POT's
            semi-supervised convention: ``-1`` cannot be a class).
        Xt : array of shape (n_target_samples, n_features)
            Target samples (required), with the same number of features.
        yt : array of shape (n_target_samples,), optional
            Target labels, ``-1`` for unlabelled. When both ``ys`` and ``yt``
            are given, a labelled source and a labelled target sample with
            different labels cost at least ``limit_max * max(cost)`` (POT's
            correction, after the normalisation); with ``limit_max=inf``
            (default) no mass moves between them. Otherwise labels are ignored.
        a, b : arrays of shape (n_source_samples,) and (n_target_samples,), optional
            Keyword-only sample weights of the source and target samples,
            each normalised to sum 1 (uniform by default, as POT's
            ``distribution_estimation_uniform``).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        params = self._check_params()
        Xs = _check_samples(Xs, "Xs")
        xp = get_namespace(Xs)
        Xt = _check_samples(Xt, "Xt", xp=xp)
        if Xs.shape[1] != Xt.shape[1]:
            raise ValueError(
                f"Xs has {Xs.shape[1]} features but Xt has {Xt.shape[1]}; "
                "source and target samples must have the same number of features."
            )
        n_s, n_t = Xs.shape[0], Xt.shape[0]
        mu_s = _check_weights(a, "a", n_s, xp, device(Xs))
        mu_t = _check_weights(b, "b", n_t, xp, device(Xs))
        # Explicit upcast: the cost and the solve run in float64 (see the module notes).
        Xs64, Xt64 = xp.astype(Xs, xp.float64), xp.astype(Xt, xp.float64)
        C = _pairwise_cost(xp, Xs64, Xt64, self.metric)
        C, norm_value = _normalize_cost(xp, C, self.norm)
        mismatch = None
        if ys is not None and yt is not None:
            ys, yt = _check_labels(ys, "ys", n_s, xp, device(Xs)), _check_labels(yt, "yt", n_t, xp, device(Xs))
            C, mismatch = _label_cost(xp, C, ys, yt, params["limit_max"])
        coupling, log, n_iter = self._solve_forbidding(mu_s, mu_t, C, mismatch, params)
        self.cost_ = C
        self.norm_cost_ = norm_value
        self.mu_s, self.mu_t = mu_s, mu_t
        # Private copies: later changes to the caller's arrays do not affect the fit.
        self.xs_ = xp.asarray(Xs, copy=True)
        self.xt_ = xp.asarray(Xt, copy=True)
        self.coupling_ = coupling
        self.n_iter_ = n_iter
        self.log_ = log if self.log else {}
        self.n_features_in_ = int(Xs.shape[1])
        return self

    def _solve_forbidding(self, a, b, C, mismatch, params):
        """``_solve`` with no mass on the pairs of ``mismatch`` whose cost is out of reach (None: plain ``_solve``).

        The solvers take costs of a bounded range only, so the pairs of
        ``mismatch`` costing more than a stand-in, ``_FORBID_MARGIN``
        regularisation units (plus the range of the other costs, which bounds
        that of the potentials in practice) above the largest other cost, are
        solved at the stand-in: the plan's entries there underflow to zero, as
        they would at their own cost (``limit_max=inf``, or a finite one large
        enough). The margin is doubled while some remain nonzero; when that
        does not empty them (labels whose masses no plan can match), a finite
        ``limit_max`` is solved at its own costs, an infinite one with a
        ``UserWarning`` saying how much mass they carry.
        """
        xp = get_namespace(C)
        if mismatch is None or not bool(xp.any(mismatch)):
            return self._solve(a, b, C, params)
        if bool(xp.all(mismatch)):
            if bool(xp.all(C < xp.finfo(C.dtype).max)):
                return self._solve(a, b, C, params)  # a finite limit_max: every pair costs its floored cost
            raise ValueError("ys and yt leave no pair of samples to transport: every labelled pair differs.")
        hi = float(xp.max(xp.where(mismatch, xp.full_like(C, -math.inf), C)))
        lo = float(xp.min(xp.where(mismatch, xp.full_like(C, math.inf), C)))
        reg = params["reg"]
        margin = _FORBID_MARGIN + (hi - lo) / reg
        for _ in range(_FORBID_ATTEMPTS):
            stand_in = xp.full_like(C, hi + reg * margin)
            forbidden = mismatch & (C > stand_in)
            coupling, log, n_iter = self._solve(a, b, xp.where(forbidden, stand_in, C), params)
            leaked = float(xp.sum(xp.where(forbidden, coupling, xp.zeros_like(coupling))))
            if leaked == 0.0:
                break
            margin *= 2.0
        else:
            if bool(xp.all(xp.where(forbidden, C, xp.zeros_like(C)) < xp.finfo(C.dtype).max)):
                return self._solve(a, b, C, params)  # a finite limit_max's mass there: its own costs decide
            warnings.warn(
                f"{type(self).__name__}: the plan keeps {leaked:.3g} of mass between samples with different "
                "labels (the labelled masses of some class cannot be matched); consider a finite limit_max.",
                UserWarning,
                stacklevel=3,
            )
        return coupling, log, n_iter

    def fit_transform(self, Xs=None, ys=None, Xt=None, yt=None, *, a=None, b=None):
        """Fit on ``(Xs, Xt)`` and return ``transform(Xs)``: the barycentric images of ``Xs``."""
        return self.fit(Xs, ys, Xt, yt, a=a, b=b).transform(Xs, ys, Xt, yt)

    # ----------------------------------------------------------------- mapping

    def transform(self, Xs=None, ys=None, Xt=None, yt=None, batch_size=128):
        """Transport source samples onto the target domain.

        Training source samples (``Xs`` equal to ``xs_``) are mapped to their
        barycentric images ``coupling_ @ xt_ / coupling_.sum(1)``, or to
        themselves when their row of the coupling has no mass. Other samples
        are displaced like their nearest training source sample (squared
        Euclidean distance), ``batch_size`` samples at a time.

        Parameters
        ----------
        Xs : array of shape (n_samples, n_features)
            Source samples to transport (required).
        ys, Xt, yt : ignored
            Accepted for compatibility with POT's signature.
        batch_size : int, default=128
            Number of out-of-sample points whose distances to the training
            source samples are computed at once.

        Returns
        -------
        transp_Xs : array of shape (n_samples, n_features)
            Transported samples, in the namespace and floating dtype of ``Xs``.
        """
        return self._map(Xs, "Xs", batch_size, forward=True)

    def inverse_transform(self, Xs=None, ys=None, Xt=None, yt=None, batch_size=128):
        """Transport target samples back onto the source domain.

        The mirror image of :meth:`transform`: training target samples go to
        ``coupling_.T @ xs_ / coupling_.sum(0)`` (or stay in place when their
        column has no mass), other samples are displaced like their nearest
        training target sample.

        Parameters
        ----------
        Xt : array of shape (n_samples, n_features)
            Target samples to transport (required).
        Xs, ys, yt : ignored
            Accepted for compatibility with POT's signature.
        batch_size : int, default=128
            Batch size of the out-of-sample nearest-neighbour search.

        Returns
        -------
        transp_Xt : array of shape (n_samples, n_features)
            Transported samples, in the namespace and floating dtype of ``Xt``.
        """
        return self._map(Xt, "Xt", batch_size, forward=False)

    def _check_map_input(self, X, name, batch_size):
        """Validated ``(xp, X, batch_size, out_dtype)`` of a transform (fitted estimator, matching features)."""
        check_is_fitted(self, "coupling_")
        batch_size = check_scalar(batch_size, "batch_size", kind=numbers.Integral, lower=1)
        X = _check_samples(X, name)
        xp = get_namespace(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"{name} has {X.shape[1]} features, but the estimator was fitted with "
                             f"{self.n_features_in_}.")
        return xp, X, batch_size, result_float_dtype(xp, X)

    def _map(self, X, name, batch_size, forward):
        """Barycentric map of training samples, nearest-neighbour displacement of others (POT's "ferradans")."""
        xp, X, batch_size, out_dtype = self._check_map_input(X, name, batch_size)
        train, other = (self.xs_, self.xt_) if forward else (self.xt_, self.xs_)
        train64 = xp.astype(train, xp.float64)
        images, has_mass = _barycentric(xp, self.coupling_, xp.astype(other, xp.float64), axis=1 if forward else 0)
        # Rows (columns) with no mass stay in place: zero displacement.
        shift = xp.where(has_mass[:, None], images - train64, xp.zeros_like(images))
        if tuple(X.shape) == tuple(train.shape) and bool(xp.all(X == train)):
            return xp.astype(train64 + shift, out_dtype)
        X64 = xp.astype(X, xp.float64)
        parts = []
        for start in range(0, X.shape[0], batch_size):
            Xb = X64[start : min(start + batch_size, X.shape[0]), ...]
            idx = xp.argmin(_sq_distances(xp, Xb, train64), axis=1)
            parts.append(Xb + xp.take(shift, idx, axis=0))
        return xp.astype(xp.concat(parts, axis=0), out_dtype)

    # ----------------------------------------------------------------- validation

    def _check_common(self):
        metric = self.metric
        if not isinstance(metric, str):
            raise TypeError(f"metric must be a string, got {metric!r}.")
        check_option(metric, "metric", _METRICS)
        check_option(self.norm, "norm", _NORMS)
        max_iter = check_scalar(self.max_iter, "max_iter", kind=numbers.Integral, lower=1)
        tol = check_scalar(self.tol, "tol", lower=0.0)
        if not isinstance(self.log, (bool, np.bool_)):
            raise TypeError(f"log must be a bool, got {self.log!r}.")
        return {"max_iter": max_iter, "tol": tol, "limit_max": _check_limit_max(self.limit_max)}


# --------------------------------------------------------------------------- estimators


class SNSTransport(_BaseTransport):
    r"""Entropic OT transport estimator solved by Sinkhorn-Newton-Sparse.

    The coupling solves :math:`\min_{P \in U(\mu_s, \mu_t)} \langle P, C\rangle
    + \mathrm{reg\_e} \sum_{ij} P_{ij}(\log P_{ij} - 1)` -- the problem of
    POT's ``ot.da.SinkhornTransport`` -- with
    :func:`~optlib.ot.sinkhorn_newton_sparse`: the same coupling, reached in a
    few Newton steps where Sinkhorn needs thousands of iterations at small
    ``reg_e``. Samples are mapped as by POT's estimator: by default with the
    entropic map of the dual potentials, defined for any point
    (``out_of_sample_map="continuous"``), or by barycentric mapping with a
    nearest-neighbour rule for new points (``"ferradans"``); see
    :meth:`transform`.

    The API follows POT's ``ot.da`` estimators, including the fit signature
    ``fit(Xs=None, ys=None, Xt=None, yt=None)``: this is a scikit-learn
    ``BaseEstimator`` (``get_params``/``set_params``/``clone`` work), but not
    a scikit-learn transformer, and it cannot be a ``Pipeline`` step.

    Parameters
    ----------
    reg_e : float, default=0.1
        Entropic regularisation, > 0 (relative to the scale of the cost:
        consider ``norm="max"``).
    metric : str, default="sqeuclidean"
        Ground metric: ``"sqeuclidean"`` or ``"euclidean"`` (any array
        library), or, for NumPy input, ``"cityblock"``, ``"chebyshev"``,
        ``"minkowski"``, ``"cosine"``, ``"correlation"``, ``"braycurtis"``,
        ``"canberra"`` (``scipy.spatial.distance.cdist``).
    norm : {None, "median", "max", "log", "loglog"}, default=None
        Cost normalisation, as POT's ``cost_normalization``: divide by the
        median or the maximum, or apply ``log(1 + C)`` once or twice.
    max_iter : int, default=100
        Maximum number of Newton iterations (``numItermax``).
    tol : float, default=1e-9
        Stop when the L1 marginal error is at most ``tol`` (``stopThr``).
    n_sinkhorn : int, default=20
        Sinkhorn warm-up iterations before the Newton stage.
    sparsity : float in (0, 1], optional
        Kept fraction of the plan's entries in the sparsified Hessian
        (solver default when ``None``).
    verbose : bool or int, default=False
        Solver progress printing.
    log : bool, default=False
        Keep the solver's log dict in ``log_`` (empty dict otherwise).
    out_of_sample_map : {"continuous", "ferradans"}, default="continuous"
        How :meth:`transform` maps samples, as POT's ``SinkhornTransport``
        (whose default is also ``"continuous"``). ``"continuous"``: the
        entropic map of the fitted dual potentials (Pooladian & Niles-Weed,
        2021), ``T(x) = sum_j w_j(x) x^t_j`` with ``w(x) = softmax_j(log_v_j -
        c(x, x^t_j) / reg_e)``, the cost ``c`` computed and normalised as in
        ``fit``; on the training samples it is the barycentric map of the
        coupling. ``"ferradans"``: barycentric map of the training samples,
        other samples displaced like their nearest training sample.
        :meth:`inverse_transform` is the mirror image (``log_u``, source
        samples). As POT's, the map uses the cost without the label
        correction of ``fit``: with labels, it is not the barycentric map of
        the coupling on the training samples.
    limit_max : float, default=inf
        Semi-supervised mode, POT's parameter: when ``fit`` gets both ``ys``
        and ``yt``, a labelled source and a labelled target sample with
        different labels (``-1``: unlabelled) cost at least ``limit_max``
        times the largest cost; ``inf`` forbids any mass between them
        (``cost_`` holds the largest float there, as POT's).

    Attributes
    ----------
    coupling_ : array of shape (n_source_samples, n_target_samples)
        Transport plan (float64, namespace of the samples).
    log_u_, log_v_ : arrays of shape (n_source_samples,) and (n_target_samples,)
        Dual potentials divided by ``reg_e`` (POT's ``log_["log_u"]``,
        ``log_["log_v"]``), float64; ``-inf`` where a sample weight is 0.
    cost_ : array of shape (n_source_samples, n_target_samples)
        Normalised cost matrix (with the label correction when ``fit`` got labels).
    norm_cost_ : float or None
        Value the cost was divided by (``norm="median"`` or ``"max"``).
    mu_s, mu_t : arrays of shape (n_source_samples,) and (n_target_samples,)
        Sample weights (uniform unless given to ``fit``).
    xs_, xt_ : arrays
        Copies of the training source and target samples.
    n_iter_ : int
        Newton iterations run (the solver's ``niter``; the Sinkhorn
        iterations are in ``log_["niter_sinkhorn"]`` when ``log=True``).
    log_ : dict
        The solver's log (``log=True``), with ``"result"`` an
        :class:`~optlib.OptimizeResult`; ``{}`` otherwise.
    n_features_in_ : int
        Number of features of the samples.

    See Also
    --------
    optlib.ot.sinkhorn_newton_sparse : the solver.
    SparsityConstrainedTransport : sparse couplings.

    Examples
    --------
    >>> import numpy as np
    >>> from optlib.ot import SNSTransport
    >>> rng = np.random.default_rng(0)
    >>> Xs, Xt = rng.normal(size=(20, 2)), rng.normal(size=(15, 2)) + 2.0
    >>> est = SNSTransport(reg_e=0.5).fit(Xs=Xs, Xt=Xt)
    >>> est.coupling_.shape, est.transform(Xs=Xs).shape
    ((20, 15), (20, 2))
    """

    def __init__(
        self,
        reg_e=1e-1,
        metric="sqeuclidean",
        norm=None,
        max_iter=100,
        tol=1e-9,
        n_sinkhorn=20,
        sparsity=None,
        verbose=False,
        log=False,
        out_of_sample_map="continuous",
        limit_max=np.inf,
    ):
        self.reg_e = reg_e
        self.metric = metric
        self.norm = norm
        self.max_iter = max_iter
        self.tol = tol
        self.n_sinkhorn = n_sinkhorn
        self.sparsity = sparsity
        self.verbose = verbose
        self.log = log
        self.out_of_sample_map = out_of_sample_map
        self.limit_max = limit_max

    def _check_params(self):
        params = self._check_common()
        params["reg"] = check_scalar(self.reg_e, "reg_e", lower=0.0, lower_inclusive=False)
        params["n_sinkhorn"] = check_scalar(self.n_sinkhorn, "n_sinkhorn", kind=numbers.Integral, lower=0)
        if self.sparsity is not None:
            check_scalar(self.sparsity, "sparsity", lower=0.0, upper=1.0, lower_inclusive=False)
        check_option(self.out_of_sample_map, "out_of_sample_map", ("continuous", "ferradans"))
        return params

    def _solve(self, a, b, M, params):
        G, log = sinkhorn_newton_sparse(
            a,
            b,
            M,
            params["reg"],
            numItermax=params["max_iter"],
            stopThr=params["tol"],
            n_sinkhorn=params["n_sinkhorn"],
            sparsity=self.sparsity,
            log=True,
            verbose=self.verbose,
        )
        self.log_u_, self.log_v_ = log["log_u"], log["log_v"]
        return G, log, int(log["niter"])

    def transform(self, Xs=None, ys=None, Xt=None, yt=None, batch_size=128):
        """Transport source samples onto the target domain.

        With ``out_of_sample_map="continuous"`` (default), every sample ``x``
        goes to ``sum_j w_j(x) x^t_j``, ``w(x) = softmax_j(log_v_j - c(x,
        x^t_j) / reg_e)`` (POT's ``SinkhornTransport``; the barycentric map
        of the coupling on training samples), ``batch_size`` samples at a
        time; with ``"ferradans"``, as :class:`SparsityConstrainedTransport`
        (nearest-neighbour displacement of new samples).

        Parameters
        ----------
        Xs : array of shape (n_samples, n_features)
            Source samples to transport (required).
        ys, Xt, yt : ignored
            Accepted for compatibility with POT's signature.
        batch_size : int, default=128
            Number of samples whose costs to the training samples are
            computed at once.

        Returns
        -------
        transp_Xs : array of shape (n_samples, n_features)
            Transported samples, in the namespace and floating dtype of ``Xs``.
        """
        return super().transform(Xs, ys, Xt, yt, batch_size=batch_size)

    def inverse_transform(self, Xs=None, ys=None, Xt=None, yt=None, batch_size=128):
        """Transport target samples back onto the source domain.

        The mirror image of :meth:`transform`: with ``"continuous"``,
        ``x -> sum_i w_i(x) x^s_i``, ``w(x) = softmax_i(log_u_i - c(x^s_i,
        x) / reg_e)``.

        Parameters
        ----------
        Xt : array of shape (n_samples, n_features)
            Target samples to transport (required).
        Xs, ys, yt : ignored
            Accepted for compatibility with POT's signature.
        batch_size : int, default=128
            Number of samples mapped at once.

        Returns
        -------
        transp_Xt : array of shape (n_samples, n_features)
            Transported samples, in the namespace and floating dtype of ``Xt``.
        """
        return super().inverse_transform(Xs, ys, Xt, yt, batch_size=batch_size)

    def _map(self, X, name, batch_size, forward):
        if self.out_of_sample_map == "ferradans":
            return super()._map(X, name, batch_size, forward)
        xp, X, batch_size, out_dtype = self._check_map_input(X, name, batch_size)
        other, potential = (self.xt_, self.log_v_) if forward else (self.xs_, self.log_u_)
        other64 = xp.astype(other, xp.float64)
        reg = float(self.reg_e)
        X64 = xp.astype(X, xp.float64)
        parts = []
        for start in range(0, X.shape[0], batch_size):
            Xb = X64[start : min(start + batch_size, X.shape[0]), ...]
            # the cost is symmetric in its arguments for every metric offered
            C = _apply_norm(xp, _pairwise_cost(xp, Xb, other64, self.metric), self.norm, self.norm_cost_)
            logits = potential[None, :] - C / reg
            w = xp.exp(logits - xp.max(logits, axis=1, keepdims=True))
            parts.append((w @ other64) / xp.sum(w, axis=1, keepdims=True))
        return xp.astype(xp.concat(parts, axis=0), out_dtype)


class SparsityConstrainedTransport(_BaseTransport):
    r"""Sparsity-constrained OT transport estimator: at most ``max_nz`` sources per target.

    The coupling solves the quadratically regularised OT problem with at
    most ``max_nz`` nonzeros per column (per target sample),
    :math:`\min \langle P, C\rangle + \frac{\mathrm{reg}}{2}\|P\|_F^2`, by
    :func:`~optlib.ot.sparsity_constrained_ot` (Liu, Puigcerver & Blondel,
    2023). ``max_nz=1`` with a small ``reg`` approaches unregularised OT:
    each target sample receives mass from one source sample. When ``n_s >
    max_nz n_t`` some source samples receive no mass; :meth:`transform`
    leaves those in place.

    The API follows POT's ``ot.da`` estimators, including the fit signature
    ``fit(Xs=None, ys=None, Xt=None, yt=None)``: this is a scikit-learn
    ``BaseEstimator`` (``get_params``/``set_params``/``clone`` work), but not
    a scikit-learn transformer, and it cannot be a ``Pipeline`` step.

    Parameters
    ----------
    reg : float, default=1.0
        Quadratic regularisation ``gamma > 0`` (relative to the cost scale).
    max_nz : int, default=1
        Maximum number of nonzeros per column of the coupling, >= 1.
    formulation : {"semi_dual", "dual"}, default="semi_dual"
        Relaxation maximised by L-BFGS. The semi-dual gives columns summing
        exactly to ``mu_t``.
    metric, norm
        As in :class:`SNSTransport`.
    max_iter : int, default=500
        Maximum number of L-BFGS iterations (``numItermax``).
    tol : float, default=1e-9
        L-BFGS tolerance (``stopThr``).
    verbose : bool or int, default=False
        Solver progress printing.
    log : bool, default=False
        Keep the solver's log dict in ``log_`` (empty dict otherwise).
    limit_max : float, default=inf
        Semi-supervised cost correction from the labels, as in :class:`SNSTransport`.

    Attributes
    ----------
    coupling_, cost_, norm_cost_, mu_s, mu_t, xs_, xt_, log_, n_features_in_
        As in :class:`SNSTransport`.
    n_iter_ : int
        L-BFGS iterations run.

    See Also
    --------
    optlib.ot.sparsity_constrained_ot : the solver.
    SNSTransport : entropic couplings.
    """

    def __init__(
        self,
        reg=1.0,
        max_nz=1,
        formulation="semi_dual",
        metric="sqeuclidean",
        norm=None,
        max_iter=500,
        tol=1e-9,
        verbose=False,
        log=False,
        limit_max=np.inf,
    ):
        self.reg = reg
        self.max_nz = max_nz
        self.formulation = formulation
        self.metric = metric
        self.norm = norm
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.log = log
        self.limit_max = limit_max

    def _check_params(self):
        params = self._check_common()
        params["reg"] = check_scalar(self.reg, "reg", lower=0.0, lower_inclusive=False)
        params["max_nz"] = check_scalar(self.max_nz, "max_nz", kind=numbers.Integral, lower=1)
        check_option(self.formulation, "formulation", ("semi_dual", "dual"))
        return params

    def _solve(self, a, b, M, params):
        G, log = sparsity_constrained_ot(
            a,
            b,
            M,
            params["reg"],
            params["max_nz"],
            formulation=self.formulation,
            numItermax=params["max_iter"],
            stopThr=params["tol"],
            log=True,
            verbose=self.verbose,
        )
        return G, log, int(log["niter"])
