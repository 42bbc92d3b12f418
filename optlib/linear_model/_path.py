"""Regularisation paths of the Lasso and the elastic net (scikit-learn's ``lasso_path`` / ``enet_path``).

The path is solved from the largest alpha down, each solve warm-started
from the previous coefficients (and, on a dense design, from the previous
residual and gradient, so no extra read of ``X`` is spent between alphas;
on a sparse design, whose kernel rebuilds the residual at each solve, from
the linear prediction of :func:`_predict` instead).
Screening between alphas is the kernels' working-set rule: each solve
starts on the previous support plus the features that violate the new
alpha's dual constraint the most, and grows that set only as the duality
gap requires, so a feature far from entering the model is never swept.
Every solve stops on scikit-learn's two tests, the duality gap of the full
problem (``gap <= tol * ||y||^2``, so every point of the path carries a
certificate) and the last epoch's largest coefficient change (at most
``tol`` times the largest coefficient), after at least one epoch: the
previous alpha's solution often passes the gap test at the next alpha, and
keeping it would leave the path (and the cross-validation errors computed
from it) far less accurate than scikit-learn's. The data are preprocessed once
(:class:`._coordinate_descent._CDProblem`: centring and weights for the
cross-validation folds, column norms, the Gram matrix with ``precompute``).
"""

import numbers

import numpy as np
from sklearn.utils import check_array

from .._result import warn_convergence
from .._validation import check_option, check_random_state, check_scalar
from ._coordinate_descent import SELECTIONS, _check_precompute, _CDProblem, _is_sparse

__all__ = ["enet_path", "lasso_path"]

_PATH_OPTIONS = ("tol", "max_iter", "random_state", "selection", "use_working_set")


def _alpha_grid(xty, n, l1_ratio, eps, n_alphas, positive):
    """``n_alphas`` alphas from ``alpha_max`` (all coefficients zero) down to ``eps * alpha_max``, log-spaced.

    ``xty`` is ``X^T y`` of the centred and weighted data (weights summing to ``n``).
    """
    if l1_ratio == 0:
        raise ValueError(
            "l1_ratio=0 (ridge) has no alpha_max (its solution is never zero): pass the alphas explicitly."
        )
    top = max(float(np.max(xty, initial=0.0)), 0.0) if positive else float(np.max(np.abs(xty), initial=0.0))
    alpha_max = top / (n * l1_ratio)
    if alpha_max <= np.finfo(np.float64).resolution:
        return np.full(n_alphas, np.finfo(np.float64).resolution)
    return np.geomspace(alpha_max, alpha_max * eps, num=n_alphas)


def _check_alphas(alphas, n_alphas):
    """``(grid_size, None)`` for a grid to build, or ``(None, alphas sorted decreasing)`` for given alphas."""
    if alphas is None:
        return check_scalar(n_alphas, "n_alphas", kind=numbers.Integral, lower=1), None
    if isinstance(alphas, numbers.Integral) and not isinstance(alphas, (bool, np.bool_)):
        return check_scalar(alphas, "alphas", kind=numbers.Integral, lower=1), None
    values = [check_scalar(a, f"alphas[{i}]", lower=0.0) for i, a in enumerate(np.ravel(np.asarray(alphas, dtype=object)))]
    if not values:
        raise ValueError("alphas must hold at least one value (or be an int: the grid size).")
    return None, np.sort(np.asarray(values, dtype=np.float64))[::-1]


def _predict(w, w_prev, ratio, kinked=True):
    """Linear prediction of the next path point, in place: ``w + ratio * (w - w_prev)``.

    ``w`` and ``w_prev`` are the solutions at the last two alphas and
    ``ratio`` the next alpha step over the last one. A Lasso solution is
    linear in alpha while its support and signs stay fixed, so on the long
    stretches of the path where few coefficients enter or leave, this start
    is far closer to the next solution than ``w`` (the end of an
    ill-conditioned path, with many nonzeros, needs the fewest epochs from
    it). With ``kinked`` (an l1 part or ``positive``: the objective has a
    kink at zero) the prediction is kept on the orthant of ``w``, a
    coefficient that would change sign starting at zero; without (ridge) a
    zero is not special and the prediction is kept as is.
    """
    new = w + ratio * (w - w_prev)
    if kinked:
        new[new * w <= 0] = 0.0
    w[:] = new


def _solve_path(problem, k, alphas, l1_ratio, *, coef_init=None, positive=False, tol=1e-4, max_iter=1000,
                random_state=None, selection="cyclic", use_working_set=True, verbose=False):  # fmt: skip
    """Solve target ``k`` of ``problem`` at each alpha (decreasing), warm-started; no input checks.

    Returns ``coefs`` (n_features, n_alphas) in the problem's dtype, the
    duality gaps (n_alphas,) in the objective's units, and the epochs per alpha.
    Warns once (``ConvergenceWarning``) when some alphas did not converge.
    """
    n, p = problem.n, problem.p
    random = selection == "random"
    rng = check_random_state(random_state) if random else None
    w0 = np.zeros(p) if coef_init is None else coef_init
    solver = problem.target(k, w0)
    tol_k = tol * problem.yy[k]
    coefs = np.empty((p, len(alphas)), dtype=problem.dtype)
    gaps = np.empty(len(alphas))
    n_iters, missed = [], []
    # the sparse kernel rebuilds its residual from w at each solve: its warm start can be predicted for free
    predict = problem.sparse
    w_prev = w_last = None
    for i, alpha in enumerate(alphas):
        seed = int(rng.integers(np.iinfo(np.int32).max)) if random else 0
        if predict and w_prev is not None and alphas[i - 1] != alphas[i - 2]:
            ratio = (alpha - alphas[i - 1]) / (alphas[i - 1] - alphas[i - 2])
            _predict(solver.w, w_prev, ratio, kinked=l1_ratio > 0 or positive)
        n_ep, gap = solver.run(
            n * alpha * l1_ratio, n * alpha * (1.0 - l1_ratio), positive, max_iter, tol_k, random, seed,
            use_working_set, tol, entry_test=False,
        )  # fmt: skip
        coefs[:, i] = solver.w
        if predict:
            w_prev, w_last = w_last, solver.w.copy()
        gaps[i] = gap / n
        n_iters.append(int(n_ep))
        if not gap <= tol_k:
            missed.append(i)
        if verbose:
            nnz = int(np.count_nonzero(solver.w))
            print(f"path {i + 1:3d}/{len(alphas)}: alpha={alpha:.4e} nnz={nnz} epochs={n_ep} gap={gap / n:.3e}")
    if missed:
        warn_convergence(
            f"enet_path: {len(missed)} of {len(alphas)} alphas did not converge in max_iter={max_iter} epochs "
            f"(smallest such alpha {alphas[missed[-1]]:.3e}, duality gap {gaps[missed[-1]]:.3e} > "
            f"tolerance {tol_k / n:.3e}). Increase max_iter or tol.",
            stacklevel=3,
        )
    return coefs, gaps, n_iters


def enet_path(X, y, *, l1_ratio=0.5, eps=1e-3, n_alphas=100, alphas=None, precompute="auto", Xy=None,
              copy_X=True, coef_init=None, verbose=False, return_n_iter=False, positive=False, check_input=True,
              **params):  # fmt: skip
    """Elastic-net regularisation path by warm-started working-set coordinate descent.

    Solves, for each alpha (scikit-learn's objective, no intercept: centre
    the data first, or use :class:`ElasticNetCV` / :class:`ElasticNet`)::

        1 / (2 * n_samples) * ||y - X w||^2
            + alpha * l1_ratio * ||w||_1 + 0.5 * alpha * (1 - l1_ratio) * ||w||^2

    Parameters
    ----------
    X : {ndarray, scipy.sparse matrix} of shape (n_samples, n_features)
        Design (float32 or float64 kept; others become float64). Never modified.
    y : ndarray of shape (n_samples,) or (n_samples, n_tasks)
        Target; a 2-D ``y`` gives scikit-learn's multi-task (l2,1) path
        (:mod:`._multitask_path`: no ``positive``, no Gram matrix).
    l1_ratio : float, default=0.5
        Mix of l1 and l2 penalties, in [0, 1] (0 needs explicit ``alphas``).
    eps : float, default=1e-3
        ``alpha_min / alpha_max`` of the generated grid.
    n_alphas : int, default=100
        Size of the generated grid (when ``alphas`` is None).
    alphas : array-like or int, default=None
        Alphas to solve at (sorted decreasing); an int is the size of the
        generated grid (scikit-learn >= 1.9's spelling of ``n_alphas``).
    precompute : "auto", bool or array of shape (n_features, n_features), default="auto"
        Solve from the Gram matrix ``X^T X`` (``"auto"``: when
        ``n_samples > n_features``; an array is checked against ``X`` when
        ``check_input``). Ignored for a sparse ``X``.
    Xy : array-like of shape (n_features,), default=None
        ``X^T y``, used with a given Gram matrix.
    copy_X : bool, default=True
        Accepted for scikit-learn compatibility: the path never modifies ``X``.
    coef_init : array-like of shape (n_features,) or (n_tasks, n_features), default=None
        Starting coefficients of the first alpha.
    verbose : bool or int, default=False
        Print one line per alpha.
    return_n_iter : bool, default=False
        Also return the epochs per alpha.
    positive : bool, default=False
        Constrain the coefficients to be nonnegative.
    check_input : bool, default=True
        ``False`` skips the checks of ``X``, ``y``, ``Xy`` and of a given Gram
        matrix (``X`` must then be a float ndarray, Fortran-ordered to avoid
        a copy, or scipy.sparse).
    **params
        ``tol`` (default 1e-4: stop each alpha when the duality gap is below
        ``tol * ||y||^2 / n_samples`` and the last epoch changed no
        coefficient by more than ``tol`` times the largest), ``max_iter``
        (1000 epochs per alpha),
        ``random_state``, ``selection`` ("cyclic" or "random") and
        ``use_working_set`` (True), as in :class:`ElasticNet`.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
        The alphas, decreasing.
    coefs : ndarray of shape (n_features, n_alphas) or (n_tasks, n_features, n_alphas)
        Coefficients along the path, in ``X``'s dtype.
    dual_gaps : ndarray of shape (n_alphas,)
        Duality gap at each alpha, in the units of the objective above.
    n_iters : list of int
        Epochs per alpha (only with ``return_n_iter``).
    """
    unknown = sorted(set(params) - set(_PATH_OPTIONS))
    if unknown:
        raise ValueError(f"Unexpected parameters in params: {unknown}; accepted: {list(_PATH_OPTIONS)}.")
    tol = check_scalar(params.get("tol", 1e-4), "tol", lower=0.0)
    max_iter = check_scalar(params.get("max_iter", 1000), "max_iter", kind=numbers.Integral, lower=1)
    selection = check_option(params.get("selection", "cyclic"), "selection", SELECTIONS)
    l1_ratio = check_scalar(l1_ratio, "l1_ratio", lower=0.0, upper=1.0)
    eps = check_scalar(eps, "eps", lower=0.0, lower_inclusive=False)
    _check_precompute(precompute, allow_auto=True)
    grid_size, alphas = _check_alphas(alphas, n_alphas)
    if check_input:
        X = check_array(X, accept_sparse="csc", dtype=[np.float64, np.float32], order="F", ensure_all_finite=False)
        y = check_array(y, dtype=X.dtype.type, ensure_2d=False)
        if Xy is not None:
            Xy = check_array(Xy, dtype=X.dtype.type, ensure_2d=False)
    elif not _is_sparse(X):
        X = np.asfortranarray(X)
    y = np.asarray(y, dtype=X.dtype)
    if y.ndim != 1:  # several targets: the multi-task (l2,1) path
        from ._multitask_path import multitask_enet_path

        return multitask_enet_path(
            X, y, l1_ratio=l1_ratio, eps=eps, grid_size=grid_size, alphas=alphas, Xy=Xy, coef_init=coef_init,
            verbose=verbose, return_n_iter=return_n_iter, positive=positive, tol=tol, max_iter=max_iter,
            random_state=params.get("random_state"), selection=selection,
        )  # fmt: skip
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} samples, X has {X.shape[0]}.")
    if positive and not isinstance(positive, (bool, np.bool_)):
        raise TypeError(f"positive must be a bool, got {positive!r}.")
    problem = _CDProblem(X, y[:, None], None, False, precompute, Xy=Xy, check_gram=check_input)
    if alphas is None:
        alphas = _alpha_grid(problem.xty(0), problem.n, l1_ratio, eps, grid_size, positive)
    if coef_init is not None:
        coef_init = np.asarray(coef_init, dtype=np.float64).ravel()
        if coef_init.shape != (problem.p,):
            raise ValueError(f"coef_init must have shape ({problem.p},), got {np.shape(coef_init)}.")
    coefs, gaps, n_iters = _solve_path(
        problem, 0, alphas, l1_ratio, coef_init=coef_init, positive=bool(positive), tol=tol, max_iter=max_iter,
        random_state=params.get("random_state"), selection=selection,
        use_working_set=bool(params.get("use_working_set", True)), verbose=verbose,
    )  # fmt: skip
    if return_n_iter:
        return alphas, coefs, gaps, n_iters
    return alphas, coefs, gaps


def lasso_path(X, y, *, eps=1e-3, n_alphas=100, alphas=None, precompute="auto", Xy=None, copy_X=True,
               coef_init=None, verbose=False, return_n_iter=False, positive=False, **params):  # fmt: skip
    """Lasso regularisation path: :func:`enet_path` with ``l1_ratio=1``.

    Solves ``1 / (2 * n_samples) * ||y - X w||^2 + alpha * ||w||_1`` for each
    alpha; the parameters and return values are :func:`enet_path`'s
    (``check_input`` is passed through ``**params``).
    """
    return enet_path(
        X, y, l1_ratio=1.0, eps=eps, n_alphas=n_alphas, alphas=alphas, precompute=precompute, Xy=Xy,
        copy_X=copy_X, coef_init=coef_init, verbose=verbose, return_n_iter=return_n_iter, positive=positive,
        **params,
    )  # fmt: skip
