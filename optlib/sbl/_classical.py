"""Classical sparse Bayesian learning: EM, MacKay fixed point and Tipping-Faul fast updates.

Model ``y = Phi x + n`` with ``n ~ N(0, noise_var I)`` and the prior
``x_i ~ N(0, gamma_i)``; the prior variances ``gamma`` (and the noise) are
chosen by maximising the marginal likelihood ``p(y | gamma, noise_var)``.
Three update rules are offered:

* ``"em"``: expectation-maximisation, ``gamma_i <- Sigma_ii + |mu_i|^2``
  (monotone in the marginal likelihood), entries below
  ``prune_threshold * max(gamma)`` are pruned;
* ``"mackay"``: the fixed point of scikit-learn's ``ARDRegression``,
  ``lambda_i <- (g_i + 2 lambda_1) / (|mu_i|^2 + 2 lambda_2)`` with
  ``g_i = 1 - lambda_i Sigma_ii`` and ``lambda = 1 / gamma``, its Gamma
  hyperpriors, initialisation, pruning rule (``lambda_i >= threshold_lambda``)
  and stopping rule (``sum |coef - coef_old| < tol``);
* ``"fast"``: the sequential algorithm of Tipping and Faul (2003). The model
  starts from one column; each iteration adds, re-estimates or deletes the
  one column whose change increases the marginal likelihood most, so only
  ``m x m`` systems over the ``m`` columns in the model are solved.

Complex data use the circular complex Gaussian likelihood (conjugate
transposes, ``|.|^2``); the updates keep their form.
"""

import math

import numpy as np

from .._backend import device, is_numpy_namespace
from .._result import STATUS_CALLBACK, STATUS_CONVERGED, STATUS_MAX_ITER, IterationMonitor, make_result
from .._validation import check_array, check_option, check_scalar
from ._common import (as_array, check_measurements, check_noise_var, common_dtype, initial_noise_var,
                      log_evidence, namespace_of)

__all__ = ["sbl", "METHODS"]

METHODS = ("em", "mackay", "fast")
_DEFAULT_TOL = {"em": 1e-4, "mackay": 1e-3, "fast": 1.0}


def _ct(A, complex_, xp):
    """Conjugate transpose of a 2-D array (plain transpose for real data)."""
    return xp.conj(A).T if complex_ else A.T


def _herm_eig(A, complex_, xp):
    """Eigen-decomposition of the Hermitian part of ``A``."""
    return xp.linalg.eigh(0.5 * (A + _ct(A, complex_, xp)))


def scatter(values, idx, size, xp, base=None):
    """Array of length ``size`` equal to ``base`` (zeros) with ``values`` at positions ``idx``.

    NumPy assigns in place on a copy; other namespaces (no integer-array
    assignment in the array API) add a one-hot product.
    """
    dt = values.dtype
    if is_numpy_namespace(xp):
        out = np.zeros(size, dtype=dt) if base is None else np.array(base, dtype=dt, copy=True)
        out[np.asarray(idx)] = values
        return out
    dev = device(values)
    out = xp.zeros(size, dtype=dt, device=dev) if base is None else base
    if idx.shape[0] == 0:
        return out
    onehot = xp.astype(xp.arange(size, device=dev)[:, None] == idx[None, :], dt)
    old = xp.take(out, idx) if base is not None else xp.zeros_like(values)
    return out + onehot @ (values - old)


def _diag(v, dtype, xp):
    """Diagonal matrix with the real vector ``v`` on its diagonal, in ``dtype``."""
    m = v.shape[0]
    return xp.astype(xp.eye(m, dtype=v.dtype, device=device(v)) * v[None, :], dtype)


def posterior(Phi_a, y, gamma_a, noise_var, xp, complex_, full=False):
    """Gaussian posterior of the columns in the model, and the evidence terms.

    Uses the ``m x m`` form ``Sigma = (Phi^H Phi / s2 + diag(1/gamma))^-1``
    when ``m <= n`` and the ``n x n`` Woodbury form otherwise; one Hermitian
    eigendecomposition gives the inverse and the log-determinant.

    Returns
    -------
    dict with ``mu``, ``diag`` (posterior variances), ``sigma`` (full
    covariance when ``full``), ``logdet`` (``log|C|``), ``quad``
    (``y^H C^-1 y``) and ``rss`` (``||y - Phi mu||^2``).
    """
    n, m = Phi_a.shape
    rdt = gamma_a.dtype
    PhiH = _ct(Phi_a, complex_, xp)
    if m == 0:
        empty = xp.zeros((0,), dtype=Phi_a.dtype, device=device(Phi_a))
        rss = xp.sum(xp.abs(y) ** 2)
        return dict(mu=empty, diag=xp.zeros((0,), dtype=rdt, device=device(Phi_a)),
                    sigma=xp.zeros((0, 0), dtype=Phi_a.dtype, device=device(Phi_a)),
                    logdet=n * math.log(noise_var), quad=float(rss) / noise_var, rss=rss)
    if m <= n:
        b = PhiH @ y
        A = PhiH @ Phi_a / noise_var + _diag(1.0 / gamma_a, Phi_a.dtype, xp)
        e, V = _herm_eig(A, complex_, xp)
        Sigma = (V / xp.astype(e, V.dtype)[None, :]) @ _ct(V, complex_, xp)
        mu = Sigma @ b / noise_var
        diag = xp.real(xp.linalg.diagonal(Sigma)) if complex_ else xp.linalg.diagonal(Sigma)
        r = y - Phi_a @ mu
        rss = xp.sum(xp.abs(r) ** 2)
        logdet = n * math.log(noise_var) + float(xp.sum(xp.log(gamma_a))) + float(xp.sum(xp.log(e)))
        quad = (float(xp.sum(xp.abs(y) ** 2)) - float(xp.real(xp.sum(xp.conj(b) * mu)))) / noise_var
        return dict(mu=mu, diag=diag, sigma=Sigma, logdet=logdet, quad=quad, rss=rss)
    PG = Phi_a * xp.astype(gamma_a, Phi_a.dtype)[None, :]
    C = PG @ PhiH + noise_var * xp.eye(n, dtype=Phi_a.dtype, device=device(Phi_a))
    e, V = _herm_eig(C, complex_, xp)
    VH = _ct(V, complex_, xp)
    einv = xp.astype(1.0 / e, V.dtype)[:, None]
    W = V @ (einv * (VH @ PG))  # C^-1 Phi Gamma
    z = V @ (einv[:, 0] * (VH @ y))  # C^-1 y
    mu = xp.astype(gamma_a, Phi_a.dtype) * (PhiH @ z)
    diag = gamma_a - xp.real(xp.sum(xp.conj(PG) * W, axis=0))
    rss = noise_var**2 * xp.sum(xp.abs(z) ** 2)  # y - Phi mu = s2 C^-1 y
    logdet = float(xp.sum(xp.log(e)))
    quad = float(xp.real(xp.sum(xp.conj(y) * z)))
    sigma = _diag(gamma_a, Phi_a.dtype, xp) - _ct(PG, complex_, xp) @ W if full else None
    return dict(mu=mu, diag=diag, sigma=sigma, logdet=logdet, quad=quad, rss=rss)


def sbl(Phi, y, *, method="fast", noise_var=None, max_iter=300, tol=None, prune_threshold=1e-3,
        threshold_lambda=1e4, hyperprior=(1e-6, 1e-6, 1e-6, 1e-6), ard_compatible=False, callback=None,
        history=False, verbose=False):
    """Sparse Bayesian learning (relevance vector machine) for ``y = Phi x + noise``.

    Parameters
    ----------
    Phi : array of shape (n, p)
        Dictionary (design matrix), real or complex.
    y : array of shape (n,)
        Measurements; complex when ``Phi`` or ``y`` is complex.
    method : {"fast", "em", "mackay"}, default="fast"
        Hyperparameter update (see the module docstring).
    noise_var : float or None, default=None
        Known noise variance, or ``None`` to estimate it (starting at
        ``0.1 var(y)`` for ``"em"`` and ``"fast"``, at ``var(y)`` for
        ``"mackay"`` as ``ARDRegression`` does).
    max_iter : int, default=300
        Maximum number of iterations (one add/delete/re-estimate step each for
        ``"fast"``).
    tol : float or None
        Stopping tolerance; ``None`` gives the method's default: ``"em"``
        relative change of ``gamma`` below ``1e-4``; ``"mackay"``
        ``sum |coef - coef_old| < 1e-3`` (ARDRegression's rule); ``"fast"``
        no single step raises the log marginal likelihood by more than ``1``
        (one nat: smaller steps mostly add columns that fit noise).
    prune_threshold : float, default=1e-3
        ``"em"`` prunes ``gamma_i < prune_threshold * max(gamma)`` (0 keeps all).
    threshold_lambda : float, default=1e4
        ``"mackay"`` prunes columns whose precision ``1 / gamma_i`` reaches it.
    hyperprior : tuple of 4 floats, default=(1e-6,)*4
        ``(alpha_1, alpha_2, lambda_1, lambda_2)``, the Gamma hyperpriors of
        ``"mackay"`` on the noise and weight precisions (as ARDRegression).
    ard_compatible : bool, default=False
        ``"mackay"`` on real NumPy data only: compute each posterior with
        ARDRegression's arithmetic (``scipy.linalg.pinvh`` of the ``p x p``
        precision, or of the ``n x n`` Woodbury matrix when ``n < p``, and
        the full ``p x p`` covariance), which reproduces its iterates to the
        last bit. The default eigendecomposition path gives the same
        iteration up to rounding, but ARDRegression's iteration amplifies
        rounding (ARDRegression itself moves by 1e-5 when ``X`` is passed in
        Fortran order), so only this mode matches it to 1e-6 when ``p > n``.
        Slower: the covariance is formed in full.
    callback : callable, optional
        ``callback(intermediate_result)`` after each iteration, with ``x`` and
        ``log_marginal_likelihood``; raising ``StopIteration`` stops.
    history : bool, default=False
        Record ``log_marginal_likelihood`` per iteration in ``result.history``.
    verbose : bool or int, default=False
        Print the log marginal likelihood every ``verbose`` iterations.

    Returns
    -------
    OptimizeResult
        ``x`` posterior mean (zeros outside the model), ``gamma`` prior
        variances (the last value before pruning for pruned columns),
        ``active`` boolean mask of the columns in the model, ``sigma`` posterior
        covariance over the active columns (in index order), ``noise_var``,
        ``fun`` the negative log marginal likelihood at the returned
        hyperparameters, ``nit``, ``success``, ``status``, ``message`` and,
        when recorded, ``history`` with the column ``log_marginal_likelihood``.
        Arrays are in the input's namespace and device; real outputs have the
        real dtype of the input (float32 kept).
    """
    check_option(method, "method", METHODS)
    xp = namespace_of(Phi, y)
    Phi = check_array(as_array(Phi), "Phi", xp=xp, ndim=2, allow_complex=True)
    y0 = check_array(as_array(y), "y", xp=xp, allow_complex=True)
    dtype, rdt = common_dtype(xp, Phi, y0)
    Phi = Phi if Phi.dtype == dtype else xp.astype(Phi, dtype)
    y = check_measurements(y0, Phi.shape[0], xp, dtype)
    noise_var = check_noise_var(noise_var)
    max_iter = check_scalar(max_iter, "max_iter", kind=int, lower=1)
    tol = _DEFAULT_TOL[method] if tol is None else check_scalar(tol, "tol", lower=0.0)
    prune_threshold = check_scalar(prune_threshold, "prune_threshold", lower=0.0, upper=1.0, upper_inclusive=False)
    threshold_lambda = check_scalar(threshold_lambda, "threshold_lambda", lower=0.0, lower_inclusive=False)
    if len(hyperprior) != 4:
        raise ValueError(f"hyperprior must hold 4 numbers (alpha_1, alpha_2, lambda_1, lambda_2), got {hyperprior!r}.")
    hyperprior = tuple(check_scalar(h, "hyperprior", lower=0.0) for h in hyperprior)
    complex_ = xp.isdtype(dtype, "complex floating")
    if ard_compatible and (method != "mackay" or complex_ or not is_numpy_namespace(xp)):
        raise ValueError("ard_compatible=True applies to method='mackay' on real NumPy arrays only.")
    monitor = IterationMonitor(callback, record_history=history, verbose=verbose, name=f"sbl[{method}]")
    solver = {"em": _em, "mackay": _mackay, "fast": _fast}[method]
    state = solver(Phi, y, noise_var, max_iter, tol, monitor, xp, complex_, rdt,
                   prune_threshold=prune_threshold, threshold_lambda=threshold_lambda, hyperprior=hyperprior,
                   ard_compatible=ard_compatible)
    idx, gamma, s2, status, nit, *final = state  # final: the last posterior, when the solver computes it
    p = Phi.shape[1]
    if final and final[0] is not None:
        post = final[0]
    else:
        post = posterior(xp.take(Phi, idx, axis=1), y, xp.take(gamma, idx), s2, xp, complex_, full=True)
    x = scatter(post["mu"], idx, p, xp)
    active = scatter(xp.ones(idx.shape[0], dtype=rdt, device=device(Phi)), idx, p, xp) > 0
    lml = log_evidence(post["logdet"], post["quad"], Phi.shape[0], complex_)
    return make_result(x, fun=-lml, nit=nit, status=status, monitor=monitor, solver=f"sbl(method={method!r})",
                       gamma=gamma, active=active, sigma=post["sigma"], noise_var=s2)


def _status(converged, stopped):
    if stopped:
        return STATUS_CALLBACK
    return STATUS_CONVERGED if converged else STATUS_MAX_ITER


def _em(Phi, y, noise_var, max_iter, tol, monitor, xp, complex_, rdt, *, prune_threshold, **_):
    """EM updates of ``gamma`` (and of the noise when unknown), with relative pruning."""
    n, p = Phi.shape
    dev = device(Phi)
    estimate = noise_var is None
    s2 = initial_noise_var(y, xp) if estimate else noise_var
    idx = xp.arange(p, device=dev)
    gamma = xp.ones(p, dtype=rdt, device=dev)
    gamma_a = gamma
    converged = stopped = False
    it = 0
    for it in range(1, max_iter + 1):
        Phi_a = xp.take(Phi, idx, axis=1)
        post = posterior(Phi_a, y, gamma_a, s2, xp, complex_)
        new = post["diag"] + xp.abs(post["mu"]) ** 2
        if estimate:
            s2 = float(post["rss"] + s2 * xp.sum(1.0 - post["diag"] / gamma_a)) / n
        change = float(xp.linalg.vector_norm(new - gamma_a) / xp.linalg.vector_norm(gamma_a))
        lml = log_evidence(post["logdet"], post["quad"], n, complex_)
        gamma = scatter(new, idx, p, xp, base=gamma)
        stopped = monitor(it, scatter(post["mu"], idx, p, xp), log_marginal_likelihood=lml)
        keep = new >= prune_threshold * xp.max(new)
        idx, gamma_a = idx[keep], new[keep]
        converged = change < tol
        if converged or stopped or idx.shape[0] == 0:
            break
    return idx, gamma, s2, _status(converged, stopped), it


def _mackay(Phi, y, noise_var, max_iter, tol, monitor, xp, complex_, rdt, *, threshold_lambda, hyperprior,
            ard_compatible, **_):
    """MacKay fixed point with ARDRegression's hyperpriors, pruning and stopping rule.

    The noise is tracked as a precision ``alpha`` and every update is written
    in ARDRegression's order, so that ``ard_compatible`` differs only in the
    posterior's arithmetic.
    """
    n, p = Phi.shape
    dev = device(Phi)
    a1, a2, l1, l2 = hyperprior
    estimate = noise_var is None
    if estimate:
        var_y = float(xp.mean(xp.abs(y - xp.mean(y)) ** 2))
        alpha = 1.0 / (var_y + float(np.finfo(np.float64).eps))
    else:
        alpha = 1.0 / noise_var
    idx = xp.arange(p, device=dev)
    lam = xp.ones(p, dtype=rdt, device=dev)
    lam_a = lam
    coef_old = None
    converged = stopped = False
    it = 0
    for it in range(1, max_iter + 1):
        if ard_compatible:
            post = _ard_posterior(Phi, y, idx, lam_a, alpha)
        else:
            post = posterior(xp.take(Phi, idx, axis=1), y, 1.0 / lam_a, 1.0 / alpha, xp, complex_)
        mu = post["mu"]
        g = 1.0 - lam_a * post["diag"]
        lml = log_evidence(post["logdet"], post["quad"], n, complex_)
        lam_a = (g + 2.0 * l1) / (xp.abs(mu) ** 2 + 2.0 * l2)
        if estimate:
            alpha = (n - float(xp.sum(g)) + 2.0 * a1) / (float(post["rss"]) + 2.0 * a2)
        lam = scatter(lam_a, idx, p, xp, base=lam)
        keep = lam_a < threshold_lambda
        idx, lam_a, mu = idx[keep], lam_a[keep], mu[keep]
        coef = scatter(mu, idx, p, xp)
        stopped = monitor(it, coef, log_marginal_likelihood=lml)
        converged = coef_old is not None and float(xp.sum(xp.abs(coef - coef_old))) < tol
        coef_old = coef
        if converged or stopped or idx.shape[0] == 0:
            break
    final = _ard_posterior(Phi, y, idx, lam_a, alpha) if ard_compatible and idx.shape[0] else None
    return idx, 1.0 / lam, 1.0 / alpha, _status(converged, stopped), it, final


def _ard_posterior(Phi, y, idx, lam_a, alpha):
    """``posterior`` with ARDRegression's arithmetic (real NumPy): pinvh, full covariance, its product order."""
    from scipy.linalg import pinvh

    n, p = Phi.shape
    X = Phi[:, idx]
    if n >= p:  # the p x p precision lambda I + alpha X^T X
        M = lam_a * np.eye(X.shape[1], dtype=X.dtype) + alpha * np.dot(X.T, X)
        sigma = pinvh(M)
        logdet = -n * math.log(alpha) - float(np.sum(np.log(lam_a))) + np.linalg.slogdet(M)[1]
    else:  # Woodbury: the n x n matrix C = I / alpha + X diag(1/lambda) X^T
        inv_lam = 1.0 / lam_a.reshape(1, -1)
        M = np.eye(n, dtype=X.dtype) / alpha + np.dot(X * inv_lam, X.T)
        C_inv = pinvh(M)
        sigma = -np.dot(inv_lam.reshape(-1, 1) * X.T, np.dot(C_inv, X * inv_lam))
        sigma[np.diag_indices(sigma.shape[1])] += 1.0 / lam_a
        logdet = np.linalg.slogdet(M)[1]
    mu = alpha * np.linalg.multi_dot([sigma, X.T, y])
    coef = np.zeros(p, dtype=mu.dtype)
    coef[idx] = mu
    rss = np.sum((y - np.dot(Phi, coef)) ** 2)
    b = np.dot(X.T, y)
    quad = alpha * float(np.dot(y, y)) - alpha * float(np.dot(b, mu))  # y^T C^-1 y
    return dict(mu=mu, diag=np.diag(sigma), sigma=sigma, logdet=float(logdet), quad=quad, rss=rss)


def _fast(Phi, y, noise_var, max_iter, tol, monitor, xp, complex_, rdt, **_):
    """Tipping-Faul sequential updates over the columns in the model.

    The statistics ``S_i = phi_i^H C^-1 phi_i`` and ``Q_i = phi_i^H C^-1 y``
    of every column come from the ``p x m`` products ``Phi^H Phi_a``, kept
    column by column, so no ``n x n`` or ``p x p`` matrix is formed. Each
    step picks on the host the single change with the largest gain.

    An unknown noise variance is re-estimated once, by its fixed-point update
    ``rss / (n - sum_i (1 - alpha_i Sigma_ii))``, from the first model that
    converged at the initial noise; the steps then continue at that noise.
    Alternating noise updates and steps until joint convergence drives the
    noise towards zero when ``p >> n`` (each lower noise admits more columns
    that fit noise), as measured on the benchmark problem.
    """
    n, p = Phi.shape
    dev = device(Phi)
    half = 1.0 if complex_ else 0.5
    estimate = noise_var is None
    s2 = initial_noise_var(y, xp) if estimate else noise_var
    PhiH = _ct(Phi, complex_, xp)
    b = PhiH @ y
    d = xp.sum(xp.abs(Phi) ** 2, axis=0)
    yy = float(xp.sum(xp.abs(y) ** 2))
    usable = d > 0
    d_safe = xp.where(usable, d, xp.ones_like(d))
    proj = xp.where(usable, xp.abs(b) ** 2 / d_safe, xp.zeros_like(d))
    first = int(xp.argmax(proj))
    excess = max(float(proj[first]) - s2, 1e-3 * float(proj[first]), float(np.finfo(np.float64).tiny))
    order = [first]
    alpha = xp.asarray([float(d[first]) / excess], dtype=rdt, device=dev)
    G = PhiH @ Phi[:, first:first + 1]
    positions = xp.arange(p, device=dev)
    in_model = positions == first
    converged = stopped = False
    noise_done = not estimate
    it = 0
    for it in range(1, max_iter + 1):
        beta = 1.0 / s2
        idx = xp.asarray(order, device=dev)
        Gaa = xp.take(G, idx, axis=0)
        e, V = _herm_eig(beta * Gaa + _diag(alpha, Gaa.dtype, xp), complex_, xp)
        Sigma = (V / xp.astype(e, V.dtype)[None, :]) @ _ct(V, complex_, xp)
        b_a = xp.take(b, idx)
        mu = beta * (Sigma @ b_a)
        S = beta * d - beta**2 * xp.real(xp.sum((G @ Sigma) * xp.conj(G), axis=1))
        Q = beta * b - beta * (G @ mu)
        lml = log_evidence(-n * math.log(beta) - float(xp.sum(xp.log(alpha))) + float(xp.sum(xp.log(e))),
                           beta * yy - beta * float(xp.real(xp.sum(xp.conj(b_a) * mu))), n, complex_)
        stopped = monitor(it, scatter(mu, idx, p, xp), log_marginal_likelihood=lml)
        if stopped:
            break
        alpha_full = scatter(alpha, idx, p, xp, base=xp.ones(p, dtype=rdt, device=dev))
        gain, new_alpha = _fast_gains(S, Q, alpha_full, in_model, usable, len(order) > 1, xp)
        gain = half * gain
        j = int(xp.argmax(gain))
        best = float(gain[j])
        if best < tol:
            if not noise_done:
                rss = yy - 2.0 * float(xp.real(xp.sum(xp.conj(mu) * b_a))) \
                    + float(xp.real(xp.sum(xp.conj(mu) * (Gaa @ mu))))
                dof = n - len(order) + float(xp.sum(alpha * xp.real(xp.linalg.diagonal(Sigma))))
                s2 = rss / dof if rss > 0 and dof > 0 else s2
                noise_done = True
                continue
            converged = True
            break
        a_new = float(new_alpha[j])
        if j not in order:
            order.append(j)
            alpha = xp.concat([alpha, xp.asarray([a_new], dtype=rdt, device=dev)])
            G = xp.concat([G, PhiH @ Phi[:, j:j + 1]], axis=1)
            in_model = in_model | (positions == j)
            continue
        pos = order.index(j)
        slots = xp.arange(len(order), device=dev) != pos
        if math.isinf(a_new):
            order.pop(pos)
            alpha, G = alpha[slots], G[:, slots]
            in_model = in_model & (positions != j)
        else:
            alpha = xp.where(slots, alpha, xp.asarray(a_new, dtype=rdt, device=dev))
    idx = xp.asarray(order, device=dev)
    gamma = scatter(1.0 / alpha, idx, p, xp)
    return idx, gamma, s2, _status(converged, stopped), it


def _fast_gains(S, Q, alpha, in_model, usable, can_delete, xp):
    """Gain in log marginal likelihood (real-data form without the 1/2) of each column's best step.

    Outside the model: adding the column with its optimal precision
    ``s^2 / (|q|^2 - s)``; in the model: re-estimating it, or deleting it when
    ``|q|^2 <= s`` (then ``new_alpha`` is infinite). Returns ``(gain, new_alpha)``.
    """
    one = xp.ones_like(S)
    Q2 = xp.abs(Q) ** 2
    denom = xp.where(in_model, alpha - S, one)
    s = xp.where(in_model, alpha * S / denom, S)
    q2 = xp.where(in_model, alpha**2 * Q2 / denom**2, Q2)
    theta = q2 - s
    grow = theta > 0
    new_alpha = xp.where(grow, s**2 / xp.where(grow, theta, one), xp.full_like(S, xp.inf))
    S_safe = xp.where(usable, S, one)
    Q2_safe = xp.where(Q2 > 0, Q2, one)
    add = (Q2 - S) / S_safe + xp.log(S_safe / Q2_safe)
    change = 1.0 / xp.where(grow, new_alpha, one) - 1.0 / alpha
    reestimate = Q2 * change / (S * change + 1.0) - xp.log(xp.maximum(1.0 + S * change, xp.finfo(S.dtype).smallest_normal))
    ratio = xp.minimum(S / alpha, 1.0 - xp.finfo(S.dtype).eps)
    delete = Q2 / (S - alpha) - xp.log(1.0 - ratio)
    minus_inf = xp.full_like(S, -xp.inf)
    if not can_delete:
        delete = minus_inf
    gain = xp.where(in_model, xp.where(grow, reestimate, delete), xp.where(grow & usable, add, minus_inf))
    return gain, new_alpha
