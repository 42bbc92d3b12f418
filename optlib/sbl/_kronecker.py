"""Kronecker-structured sparse Bayesian learning (KroSBL; He and Joseph, IEEE TSP 2024).

Model ``y = (A_1 kron ... kron A_I) x + n`` with the prior
``x ~ N(0, diag(gamma_1 kron ... kron gamma_I))``. Vectors follow NumPy's
C order: ``x`` of length ``N_1 ... N_I`` is the flattened tensor of shape
``(N_1, ..., N_I)`` and ``H x`` is that tensor multiplied by ``A_i`` along
mode ``i``.

E-step without any ``N x N`` or ``M x N`` matrix: with the small
eigendecompositions ``A_i Gamma_i A_i^H = U_i P_i U_i^H``,
``C = noise_var I + H Gamma H^H = (kron U_i)(noise_var + kron P_i)(kron U_i)^H``,
so with ``d = 1 / (noise_var + kron P_i)`` and ``B_i = Gamma_i A_i^H U_i``:
``mu = (kron B_i)(d * (kron U_i)^H y)`` and
``diag(Sigma) = gamma - (kron |B_i|^2) d``; ``log|C|``, ``y^H C^-1 y`` and
the noise update are sums over ``d``. Every product is a mode product.

M-step on ``Lambda = diag(Sigma) + |mu|^2`` (a tensor): ``"am"`` minimises
``sum(log gamma + Lambda / gamma)`` over one factor at a time; ``"svd"``
takes the rank-one Kronecker approximation of ``Lambda`` by successive
leading singular vectors; ``"pc"`` couples neighbouring entries of each
factor (``gamma~_i = C_alpha gamma_i``) and fits ``gamma_i >= 0`` to the AM
target by non-negative least squares.
"""

import math

import numpy as np

from .._backend import device, get_namespace, is_numpy_namespace, to_host, to_namespace
from .._result import STATUS_CALLBACK, STATUS_CONVERGED, STATUS_MAX_ITER, IterationMonitor, make_result
from .._validation import check_array, check_option, check_scalar
from ._classical import scatter
from ._common import (as_array, check_measurements, check_noise_var, common_dtype, initial_noise_var,
                      log_evidence)

__all__ = ["kron_sbl", "kron_estep", "mode_product", "KRON_METHODS"]

KRON_METHODS = ("am", "svd", "pc")
_DEFAULT_PRUNE = {"am": 1e-2, "svd": 1e-3, "pc": 1e-2}
_AM_TOL = 1e-5
_AM_SWEEPS = 50
_PC_SWEEPS = 10
_PC_FLOOR = 1e-5


def mode_product(T, mats, xp):
    """Multiply tensor ``T`` by ``mats[i]`` along each mode ``i`` (``T x_1 M_1 ... x_I M_I``).

    Each step contracts the leading mode and appends the new one at the end,
    so after ``I`` steps the modes are back in order.
    """
    for M in mats:
        T = xp.tensordot(T, M, axes=([0], [1]))
    return T


def _ct(A, complex_, xp):
    return xp.conj(A).T if complex_ else A.T


def _outer(vectors, xp):
    """Tensor ``v_1 o v_2 o ... o v_I`` (the Kronecker product, reshaped)."""
    T = vectors[0]
    for v in vectors[1:]:
        T = T[..., None] * v
    return T


def kron_estep(factors, Y, gammas, noise_var, xp, complex_):
    """Posterior mean and variances under a Kronecker prior, by mode products.

    Parameters
    ----------
    factors : list of arrays (M_i, n_i)
    Y : array of shape (M_1, ..., M_I)
    gammas : list of real arrays (n_i,)
    noise_var : float
    xp : namespace
    complex_ : bool

    Returns
    -------
    dict with ``mu`` and ``diag`` (tensors of shape ``(n_1, ..., n_I)``),
    ``logdet`` (``log|C|``), ``quad`` (``y^H C^-1 y``), ``rss``
    (``||y - H mu||^2``) and ``trace`` (``sum_n (1 - Sigma_nn / gamma_n)``).
    """
    Us, Ps, Bs, B2 = [], [], [], []
    for A, g in zip(factors, gammas):
        AG = A * xp.astype(g, A.dtype)[None, :]
        K = AG @ _ct(A, complex_, xp)
        p, U = xp.linalg.eigh(0.5 * (K + _ct(K, complex_, xp)))
        B = _ct(AG, complex_, xp) @ U
        Us.append(_ct(U, complex_, xp))
        Ps.append(xp.maximum(p, xp.zeros_like(p)))
        Bs.append(B)
        B2.append(xp.abs(B) ** 2)
    P = _outer(Ps, xp)
    d = 1.0 / (noise_var + P)
    Z = mode_product(Y, Us, xp)
    absZ2 = xp.abs(Z) ** 2
    mu = mode_product(xp.astype(d, Z.dtype) * Z, Bs, xp)
    diag = _outer(gammas, xp) - mode_product(d, B2, xp)
    return dict(mu=mu, diag=diag, logdet=float(xp.sum(xp.log(noise_var + P))), quad=float(xp.sum(d * absZ2)),
                rss=noise_var**2 * float(xp.sum(d**2 * absZ2)), trace=float(xp.sum(P * d)))


def _mean_except(L, gammas, i, xp):
    """AM target of factor ``i``: mean of ``L / kron_{k != i} gamma_k`` over the other modes.

    Contracts ``L`` with ``1 / (N_k gamma_k)`` along every other mode (last
    first, so the remaining axis numbers stay valid).
    """
    T = L
    for k in range(len(gammas) - 1, -1, -1):
        if k != i:
            g = gammas[k]
            T = xp.tensordot(T, 1.0 / (g.shape[0] * g), axes=([k], [0]))
    return T


def _normalise(gammas, xp):
    """Unit-norm factors except the last, which carries the scale."""
    out, scale = [], 1.0
    for g in gammas[:-1]:
        norm = xp.linalg.vector_norm(g)
        out.append(g / norm)
        scale = scale * norm
    out.append(gammas[-1] * scale)
    return out


def _am_step(L, gammas, xp):
    """Block-exact minimisation of ``sum(log gamma + L / gamma)`` factor by factor, until stable."""
    gammas = list(gammas)
    for _ in range(_AM_SWEEPS):
        change = 0.0
        for i in range(len(gammas)):
            new = _mean_except(L, gammas, i, xp)
            change = max(change, float(xp.max(xp.abs(new - gammas[i]) / xp.max(new))))
            gammas[i] = new
        gammas = _normalise(gammas, xp)
        if change < _AM_TOL:
            break
    return gammas


def _svd_step(L, xp):
    """Rank-one Kronecker approximation of ``L`` by successive leading singular vectors."""
    shape = L.shape
    gammas, R = [], L
    for i in range(len(shape) - 1):
        R = xp.reshape(R, (shape[i], -1))
        U, s, Vh = xp.linalg.svd(R, full_matrices=False)
        gammas.append(xp.abs(U[:, 0]))
        R = s[0] * Vh[0, :]
    gammas.append(xp.abs(xp.reshape(R, (shape[-1],))))
    return _normalise(gammas, xp)


def coupling_matrix(n, alpha):
    """``C_alpha = I + alpha (ones on the first off-diagonals)`` on the host, shape (n, n)."""
    return np.eye(n) + alpha * (np.eye(n, k=1) + np.eye(n, k=-1))


def _pc_step(L, coupled, couplings, xp):
    """Pattern-coupled factor updates, one factor at a time, until stable (at most 10 sweeps).

    A coupled factor (``couplings[i]`` a host matrix ``C``) is
    ``C gamma_i + 1e-5`` with ``gamma_i >= 0`` the non-negative least-squares
    fit of ``C gamma_i`` to the AM target, solved on the host with
    :func:`scipy.optimize.nnls` (``N_i`` unknowns: a few numbers are copied);
    an uncoupled factor (``None``) takes the AM target itself. Factors are
    normalised as in :func:`_am_step` after each sweep.
    """
    from scipy.optimize import nnls

    coupled = list(coupled)
    for _ in range(_PC_SWEEPS):
        change = 0.0
        for i, C in enumerate(couplings):
            target = _mean_except(L, coupled, i, xp)
            if C is not None:
                sol, _ = nnls(C, to_host(target).astype(np.float64))
                target = xp.astype(to_namespace(C @ sol + _PC_FLOOR, xp, device=device(L)), L.dtype)
            change = max(change, float(xp.max(xp.abs(target - coupled[i])) / xp.max(target)))
            coupled[i] = target
        coupled = _normalise(coupled, xp)
        if change < _AM_TOL:
            break
    return coupled


def kron_sbl(factors, y, *, method="svd", noise_var=None, max_iter=150, tol=1e-4, prune_threshold=None,
             prune_floor=0.0, coupling=0.8, gamma_init=1.0, callback=None, history=False, verbose=False):
    """Kronecker-structured sparse Bayesian learning (AM-, SVD- or PC-KroSBL).

    Parameters
    ----------
    factors : sequence of arrays (M_i, N_i)
        The Kronecker factors of the dictionary ``H = A_1 kron ... kron A_I``
        (any number, real or complex).
    y : array of shape (M_1 ... M_I,) or (M_1, ..., M_I)
        Measurements, in C order.
    method : {"svd", "am", "pc"}, default="svd"
        M-step (see the module docstring).
    noise_var : float or None, default=None
        Known noise variance, or ``None`` to estimate it (from ``0.1 var(y)``)
        by ``(||y - H mu||^2 + noise_var sum(1 - Sigma_nn / gamma_n)) / M``.
    max_iter : int, default=150
    tol : float, default=1e-4
        Stop when ``||gamma_new - gamma|| / ||gamma|| < tol`` (full Kronecker
        vectors, computed from the factors).
    prune_threshold : float, sequence of floats (one per factor) or None
        Drop factor entries below ``prune_threshold * max`` with their
        columns; ``None`` gives 1e-2 for AM and PC (on the coupled
        variances; ``C_alpha`` is restricted to the kept entries) and 1e-3
        for SVD.
    prune_floor : float, default=0.0
        Also drop factor entries below this absolute value (each factor
        keeps at least its largest entry). Factors are scaled as in the
        paper's code: all but the last of unit norm, the last carrying the
        scale; the paper's IRS-MIMO experiment uses ``1e-4``.
    coupling : float or sequence of floats, default=0.8
        ``alpha`` of the PC coupling ``C_alpha`` (``method="pc"`` only), one
        for all factors or one per factor; ``0`` leaves a factor uncoupled
        (AM update), e.g. a factor expected to hold isolated nonzeros.
    gamma_init : float, default=1.0
        Initial prior variance of every coefficient (constant factors whose
        product is ``gamma_init``; for PC the coupled ``C_alpha 1`` scaled
        by it), as in the paper's code. EM is not invariant to it: the
        iterates depend on ``gamma_init`` relative to the data scale
        ``||y||^2 / ||H||_F^2`` (``||H||_F^2 = prod ||A_i||_F^2``). Well
        below that scale the first E-steps act as a matched filter and the
        irrelevant variances fall fast; far above it they shrink slowly and
        AM/PC can stop at ``max_iter`` with a dense ``gamma``.
    callback, history, verbose
        As in :func:`optlib.sbl.sbl`.

    Returns
    -------
    OptimizeResult
        ``x`` posterior mean of length ``N_1 ... N_I`` (zeros on pruned
        entries), ``gammas`` the prior-variance factors (length ``N_i``, zeros
        on pruned entries; the coupled variances for PC), ``support`` boolean
        mask of the entries kept, ``noise_var``, ``fun`` the negative log
        marginal likelihood, ``nit``, ``success``, ``status``, ``message``
        and, when recorded, ``history`` (``log_marginal_likelihood``).
    """
    check_option(method, "method", KRON_METHODS)
    if isinstance(factors, str) or not hasattr(factors, "__len__") or len(factors) == 0:
        raise TypeError("factors must be a non-empty sequence of 2-D arrays.")
    factors = [as_array(A) for A in factors]
    xp = get_namespace(*factors, as_array(y))
    factors = [check_array(A, f"factors[{i}]", xp=xp, ndim=2, allow_complex=True) for i, A in enumerate(factors)]
    y_arr = check_array(as_array(y), "y", xp=xp, allow_complex=True)
    dtype, rdt = common_dtype(xp, *factors, y_arr)
    factors = [A if A.dtype == dtype else xp.astype(A, dtype) for A in factors]
    m_shape = tuple(A.shape[0] for A in factors)
    n_shape = tuple(A.shape[1] for A in factors)
    M = math.prod(m_shape)
    if y_arr.ndim > 1 and tuple(y_arr.shape) != m_shape:
        raise ValueError(f"y has shape {tuple(y_arr.shape)}; expected {(M,)} or {m_shape} (rows of the factors).")
    Y = xp.reshape(check_measurements(y_arr, M, xp, dtype), m_shape)
    noise_var = check_noise_var(noise_var)
    max_iter = check_scalar(max_iter, "max_iter", kind=int, lower=1)
    tol = check_scalar(tol, "tol", lower=0.0)
    gamma_init = check_scalar(gamma_init, "gamma_init", lower=0.0, lower_inclusive=False)
    prunes = _per_factor(_DEFAULT_PRUNE[method] if prune_threshold is None else prune_threshold,
                         "prune_threshold", len(factors), upper=1.0)
    prune_floor = check_scalar(prune_floor, "prune_floor", lower=0.0)
    couplings = _per_factor(coupling, "coupling", len(factors))
    complex_ = xp.isdtype(dtype, "complex floating")
    dev = device(Y)
    monitor = IterationMonitor(callback, record_history=history, verbose=verbose, name=f"kron_sbl[{method}]")

    estimate = noise_var is None
    s2 = initial_noise_var(xp.reshape(Y, (M,)), xp) if estimate else noise_var
    idx = [xp.arange(n, device=dev) for n in n_shape]
    cur = list(factors)
    gammas = [xp.ones(n, dtype=rdt, device=dev) for n in n_shape]
    C_host = [coupling_matrix(n, a) if a > 0 else None for n, a in zip(n_shape, couplings)]
    if method == "pc":
        gammas = [g if C is None else xp.astype(to_namespace(C.sum(axis=1), xp, device=dev), rdt)
                  for g, C in zip(gammas, C_host)]
    gammas[-1] = gammas[-1] * gamma_init
    status, it = STATUS_MAX_ITER, 0
    for it in range(1, max_iter + 1):
        post = kron_estep(cur, Y, gammas, s2, xp, complex_)
        lml = log_evidence(post["logdet"], post["quad"], M, complex_)
        stopped = monitor(it, _embed(post["mu"], idx, n_shape, xp), log_marginal_likelihood=lml)
        if estimate:
            s2 = (post["rss"] + s2 * post["trace"]) / M
        L = post["diag"] + xp.abs(post["mu"]) ** 2
        if method == "am":
            new = _am_step(L, gammas, xp)
        elif method == "svd":
            new = _svd_step(L, xp)
        else:
            new = _pc_step(L, gammas, C_host, xp)
        change = _relative_change(new, gammas, xp)
        gammas = new
        for i, (g, prune) in enumerate(zip(gammas, prunes)):
            if prune > 0 or prune_floor > 0:
                g_max = xp.max(g)
                kept = xp.nonzero((g >= prune * g_max) & ((g >= prune_floor) | (g >= g_max)))[0]
                gammas[i], idx[i], cur[i] = xp.take(g, kept), xp.take(idx[i], kept), xp.take(cur[i], kept, axis=1)
                if C_host[i] is not None and kept.shape[0] < C_host[i].shape[0]:
                    host_kept = to_host(kept)
                    C_host[i] = C_host[i][np.ix_(host_kept, host_kept)]
        if stopped:
            status = STATUS_CALLBACK
            break
        if change < tol:
            status = STATUS_CONVERGED
            break
    post = kron_estep(cur, Y, gammas, s2, xp, complex_)
    lml = log_evidence(post["logdet"], post["quad"], M, complex_)
    x = _embed(post["mu"], idx, n_shape, xp)
    full_gammas = [scatter(g, i, n, xp) for g, i, n in zip(gammas, idx, n_shape)]
    support = _outer([xp.astype(g > 0, rdt) for g in full_gammas], xp) > 0
    support = xp.reshape(support, (math.prod(n_shape),))
    return make_result(x, fun=-lml, nit=it, status=status, monitor=monitor, solver=f"kron_sbl(method={method!r})",
                       gammas=full_gammas, support=support, noise_var=s2)


def _per_factor(value, name, n_factors, upper=None):
    """One non-negative number per factor, from one number or a sequence of ``n_factors``."""
    values = [value] * n_factors if np.ndim(value) == 0 else list(value)
    if len(values) != n_factors:
        raise ValueError(f"{name} must be one number or one per factor ({n_factors}), got {value!r}.")
    return [check_scalar(v, name, lower=0.0, upper=upper, upper_inclusive=upper is None) for v in values]


def _relative_change(new, old, xp):
    """``||kron(new) - kron(old)|| / ||kron(old)||`` from inner products of the factors."""
    nn = oo = no = 1.0
    for a, b in zip(new, old):
        nn *= float(xp.sum(a * a))
        oo *= float(xp.sum(b * b))
        no *= float(xp.sum(a * b))
    return math.sqrt(max(nn + oo - 2.0 * no, 0.0) / oo)


def _embed(T, idx, n_shape, xp):
    """Flattened full-size tensor with ``T`` on the kept indices of each mode (zeros elsewhere)."""
    if all(i.shape[0] == n for i, n in zip(idx, n_shape)):
        return xp.reshape(T, (math.prod(n_shape),))
    if is_numpy_namespace(xp):
        out = np.zeros(n_shape, dtype=T.dtype)
        out[np.ix_(*[np.asarray(i) for i in idx])] = T
        return out.reshape(-1)
    selectors = [xp.astype(xp.arange(n, device=device(T))[:, None] == i[None, :], T.dtype)
                 for i, n in zip(idx, n_shape)]
    return xp.reshape(mode_product(T, selectors, xp), (math.prod(n_shape),))
