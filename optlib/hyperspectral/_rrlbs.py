"""RRLbS: robust representation and learning-based sparsity for blind unmixing (after Zhu et al., 2014).

Pixels as rows: ``Y`` (N pixels, L bands) ``~ A E`` with ``A`` (N, p) the
abundances and ``E`` (p, L) the endmembers. The model (documented in
``docs/user_guide/hyperspectral.md``) is::

    J(E, A, h) = sum_b sqrt(||Y_b - A E_b||^2 + eps^2)                       (l2,1 over bands)
               + lam sum_n h_n phi(a_n) + lam mu/2 ||h||^2                     (guided lp sparsity)
    phi(a) = sum_k (a_k + eps_p)^q,   0 < q <= 1
    subject to  E >= 0,  A >= 0,  A 1 = 1,  h in H = {0 <= h_n <= 1, sum_n h_n = k}

where ``Y_b`` is band ``b`` (a column of ``Y``). The guidance map ``h``
(one value per pixel) sends the sparsity budget to the purest pixels
(``phi`` is smallest, 1, at a vertex of the simplex) and leaves the most mixed
ones free. Each iteration decreases ``J`` (block majorisation-minimisation):

1. ``E``: bands decouple, each ``E_b`` minimises ``||Y_b - A E_b||`` over
   ``E_b >= 0``: an NNLS per band (exact).
2. ``A``: ``sqrt`` is concave, so ``sqrt(x) <= sqrt(x_t) + (x - x_t) / (2 sqrt(x_t))``
   gives the IRLS weights ``w_b = 1 / (2 s_b)``, ``s_b = sqrt(||r_b||^2 + eps^2)``;
   ``(a + eps_p)^q`` is concave, so its tangent majorises it (weights
   ``c = q (a_t + eps_p)^(q - 1)``). The surrogate is, per pixel, the FCLS
   problem ``min a^T G a - 2 a^T (E W y_n - lam h_n c_n / 2)`` with
   ``G = E W E^T``, solved exactly by the active-set kernel of FCLS.
3. ``h``: ``min_{h in H} sum h_n phi_n + mu/2 ||h||^2`` is the projection of
   ``-phi / mu`` on the capped simplex ``H`` (a threshold found by bisection):
   ``h_n = clip(t - phi_n / mu, 0, 1)``.

Blank bands (constant over all pixels, e.g. a dead channel set to zero)
carry no information on ``E``: they are left out of the model and the
endmembers there are interpolated linearly along the band index from the
nearest informative bands (``blank_bands="interpolate"``).
"""

import math
import numbers

import numpy as np

from .._backend import device, get_namespace, to_host
from .._result import STATUS_CALLBACK, STATUS_CONVERGED, STATUS_MAX_ITER, STATUS_NUMERICAL, IterationMonitor, \
    make_result
from .._validation import check_option, check_random_state, check_scalar
from ._extraction import vca
from ._denoise_common import data_unit
from ._nmf import _check_blind, check_init, init_vca_fcls
from ._unmixing import _DEFAULT_TOL, _active_set, unmix

__all__ = ["rrlbs"]


def _project_capped_simplex(xp, v, k, n_bisect=100):
    """Projection of ``v`` on ``{0 <= h <= 1, sum h = k}``: ``clip(v + t, 0, 1)`` with ``t`` by bisection."""
    lo = -xp.max(v)
    hi = 1.0 - xp.min(v)
    for _ in range(n_bisect):  # no host synchronisation
        t = 0.5 * (lo + hi)
        above = xp.sum(xp.clip(v + t, 0.0, 1.0)) > k
        hi = xp.where(above, t, hi)
        lo = xp.where(above, lo, t)
    return xp.clip(v + 0.5 * (lo + hi), 0.0, 1.0)


def init_vca_ensemble(X, p, n_runs, random_state):
    """Mean of ``n_runs`` VCA endmember sets (each matched to the first by spectral angle), FCLS abundances.

    At low SNR a single VCA run returns noisy pixels (projected on the
    signal subspace); runs with other random directions pick other pixels
    near the same vertices, and their matched mean averages the noise out.
    """
    from ..metrics._spectral import match_endmembers

    xp = get_namespace(X)
    rng = check_random_state(random_state)
    first = vca(X, p, random_state=rng).endmembers
    total = first
    for _ in range(n_runs - 1):
        E = vca(X, p, random_state=rng).endmembers
        perm = xp.asarray(match_endmembers(E, first), device=device(X))
        total = total + xp.take(E, perm, axis=0)
    E = xp.clip(total / n_runs, 0.0, None)
    return E, unmix(X, E, method="fcls")


def _blank_band_mask(X):
    """Host boolean mask of the bands of ``X`` that are constant over the pixels (to rounding).

    A single pixel is constant on every band, so it marks none.
    """
    if X.shape[0] < 2:
        return np.zeros(X.shape[1], dtype=bool)
    xp = get_namespace(X)
    ptp = xp.max(X, axis=0) - xp.min(X, axis=0)
    scale = xp.max(xp.abs(X))
    return to_host(ptp <= 8.0 * xp.finfo(X.dtype).eps * scale).copy()


def _band_interpolation(blank):
    """Matrix ``P`` (informative bands, bands): ``E_informative @ P`` copies the informative bands of ``E``
    and fills each blank band linearly along the band index from its nearest informative neighbours
    (the nearest one beyond either end)."""
    bands = np.arange(blank.size)
    good = bands[~blank]
    return np.stack([np.interp(bands, good, row) for row in np.eye(good.size)])


class _Model:
    """The RRLbS objective, its pieces and the three block updates."""

    def __init__(self, X, lam, q, mu, k, eps, eps_p, tol, engine):
        self.xp = get_namespace(X)
        self.X, self.lam, self.q, self.mu, self.k = X, lam, q, mu, k
        self.eps, self.eps_p, self.engine = eps, eps_p, engine
        self.tol = tol
        self.x_scale = float(self.xp.max(self.xp.abs(X)))  # the endmembers' units

    def band_norms(self, E, A):
        R = self.X - A @ E
        return self.xp.sqrt(self.xp.sum(R * R, axis=0) + self.eps**2)

    def phi(self, A):
        return self.xp.sum((A + self.eps_p) ** self.q, axis=1)

    def terms(self, E, A, h):
        """``(loss, penalty)``: the l2,1 loss and the guided sparsity term (with the map's quadratic)."""
        xp = self.xp
        loss = float(xp.sum(self.band_norms(E, A)))
        penalty = self.lam * float(xp.sum(h * self.phi(A)) + 0.5 * self.mu * xp.sum(h * h))
        return loss, penalty

    def _solve(self, G, B, sum_to_one, x_scale=1.0):
        """Active-set QP ``min x^T G x - 2 x^T b`` per row ``b`` of ``B``; ``x_scale`` is the size of the
        solution, so that the KKT tolerance ``tol * max(diag G) * x_scale`` is in the multipliers' units."""
        scale = float(self.xp.max(self.xp.linalg.diagonal(G))) * x_scale
        out, _ = _active_set(self.xp, G, B, sum_to_one=sum_to_one, tol=self.tol * max(scale, 1e-300),
                             max_iter=10 * G.shape[0] + 50, engine=self.engine, n_threads=None)
        return out

    def update_E(self, A):
        """NNLS of every band on the abundances (exact minimiser of J in E)."""
        return self._solve(A.T @ A, self.X.T @ A, False, self.x_scale).T

    def update_A(self, E, A, h):
        """Exact minimiser of the IRLS / tangent surrogate at ``A``, under ANC and ASC."""
        w = 0.5 / self.band_norms(E, A)
        EW = E * w[None, :]
        C = self.q * (A + self.eps_p) ** (self.q - 1.0)
        B = self.X @ EW.T - (0.5 * self.lam) * h[:, None] * C
        return self._solve(EW @ E.T, B, True)

    def update_h(self, A):
        return _project_capped_simplex(self.xp, -self.phi(A) / self.mu, self.k)


def rrlbs(Y, n_endmembers, *, lam=None, q=0.5, guidance_fraction=0.1, mu=0.1, eps=1e-4, eps_p=1e-3,
          init="vca", n_vca_runs=30, blank_bands="interpolate", max_iter=200, tol=1e-5, engine="auto", callback=None,
          history=False, verbose=False, random_state=None):
    """Blind unmixing by RRLbS: l2,1 loss over bands and lp sparsity weighted by a learned guidance map.

    Minimises the objective of the module docstring (see also the
    hyperspectral user guide) by block majorisation-minimisation; the
    objective is non-increasing along the iterations.

    Parameters
    ----------
    Y : array of shape (rows, cols, bands) or (pixels, bands)
        Finite data (NaN raises ``ValueError``); noise may make it negative.
    n_endmembers : int
    lam : float >= 0, optional
        Weight of the sparsity term. By default ``0.5 * loss0 / N``, where
        ``loss0`` is the l2,1 loss of the starting point and ``N`` the number
        of pixels: the penalty then scales with the noise level, as a MAP
        prior does.
    q : float in (0, 1]
        Exponent of the lp sparsity.
    guidance_fraction : float in (0, 1]
        Mass of the guidance map, ``sum h = guidance_fraction * N``.
    mu : float > 0
        Quadratic weight on the map; smaller gives a sparser, more binary
        ``h`` (``phi`` lies in ``[1, p^(1-q)]``, so ``mu`` is in its units).
    eps : float > 0
        Smoothing of the band norms, relative to the RMS band norm of ``Y``.
    eps_p : float > 0
        Offset inside the lp term (abundance units).
    init : {"vca", "vca-ensemble"} or tuple (endmembers, abundances)
        Starting point: VCA + FCLS; the mean of ``n_vca_runs`` VCA runs
        (matched by spectral angle) + FCLS, less noisy at low SNR (10 dB);
        or given arrays of shapes (p, bands) and (pixels, p).
        ``random_state`` seeds VCA.
    n_vca_runs : int >= 1
        Number of VCA runs averaged by ``init="vca-ensemble"``.
    blank_bands : {"interpolate", "fit"}
        Bands that are constant over all pixels (dead or blank channels)
        say nothing about the endmembers. ``"interpolate"``: they are left
        out of the model (and of VCA), and ``E`` there is interpolated
        linearly along the band index from the nearest informative bands
        (spectra are smooth at the scale of a few bands); their
        ``band_weights`` are zero. ``"fit"``: they are fitted like the
        others (a zero band gives ``E_b = 0``).
    max_iter : int
    tol : float
        Stop when one iteration decreases the objective by less than ``tol``
        relative to its value.
    engine : {"auto", "numba", "xp"}
        Kernel of the active-set subproblems (as in :func:`unmix`).
    callback, history, verbose
        ``history`` records ``objective``, ``loss`` and ``penalty`` per
        iteration (iteration 0 is the starting point).
    random_state : None, int or Generator

    Returns
    -------
    OptimizeResult
        ``endmembers`` (p, bands), ``abundances`` (``Y.shape[:-1] + (p,)``,
        nonnegative, summing to one), ``guidance`` (``Y.shape[:-1]``, the
        map ``h``), ``band_weights`` (bands,) the final IRLS weights
        ``1 / (2 sqrt(||r_b||^2 + eps^2))`` (small on outlier bands, zero on
        interpolated blank bands), ``blank_bands`` (sorted indices of the
        interpolated bands; empty with ``"fit"``), ``x`` (the abundances),
        ``fun``, ``nit``, ``success``, ``status``, ``message``, ``lam``,
        ``history``. Reaching ``max_iter``
        warns (``ConvergenceWarning``) and returns the last iterate.
    """
    xp, Y, X, p, max_iter, tol = _check_blind(Y, n_endmembers, max_iter, tol)
    n, L = X.shape
    q = check_scalar(q, "q", lower=0.0, upper=1.0, lower_inclusive=False)
    frac = check_scalar(guidance_fraction, "guidance_fraction", lower=0.0, upper=1.0, lower_inclusive=False)
    mu = check_scalar(mu, "mu", lower=0.0, lower_inclusive=False)
    eps = check_scalar(eps, "eps", lower=0.0, lower_inclusive=False)
    eps_p = check_scalar(eps_p, "eps_p", lower=0.0, lower_inclusive=False)
    n_vca_runs = check_scalar(n_vca_runs, "n_vca_runs", kind=numbers.Integral, lower=1)
    check_option(blank_bands, "blank_bands", ("interpolate", "fit"))
    if isinstance(init, str):
        check_option(init, "init", ("vca", "vca-ensemble"))
    else:
        init = check_init(xp, X, p, init)
    # the model runs on X / unit (a power of two: exact), so that data near the float64 limits stay
    # representable in the squares; E, the loss, lam and the band weights come back in the data's units
    unit_array = data_unit(xp, X)
    unit = float(unit_array)
    X = X / unit_array
    if not isinstance(init, str):
        init = (init[0] / unit_array, init[1])
    blank = _blank_band_mask(X) if blank_bands == "interpolate" else np.zeros(L, dtype=bool)
    if L - int(blank.sum()) < p:
        raise ValueError(f"Y has {L - int(blank.sum())} non-constant bands; n_endmembers={p} needs at least {p} "
                         "(or blank_bands='fit').")
    if blank.any():  # the model lives on the informative bands; E is interpolated on the blank ones at the end
        select = xp.asarray(np.flatnonzero(~blank), device=device(X))
        X = xp.take(X, select, axis=1)
        L = X.shape[1]
        if not isinstance(init, str):
            init = (xp.take(init[0], select, axis=1), init[1])
    if init == "vca":
        E, A = init_vca_fcls(X, p, random_state)
    elif init == "vca-ensemble":
        E, A = init_vca_ensemble(X, p, n_vca_runs, random_state)
    else:
        E, A = init
    rms_band = math.sqrt(float(xp.sum(X * X)) / L)
    tol_kkt = _DEFAULT_TOL[8 if X.dtype == xp.float64 else 4]
    model = _Model(X, 0.0, q, mu, frac * n, eps * max(rms_band, 1e-300), eps_p, tol_kkt, engine)
    model.lam = (0.5 * float(xp.sum(model.band_norms(E, A))) / n if lam is None
                 else check_scalar(lam, "lam", lower=0.0) / unit)
    h = model.update_h(A)
    loss, penalty = model.terms(E, A, h)
    value = loss + penalty
    monitor = IterationMonitor(callback, history, verbose, name="RRLbS")
    if monitor.history is not None:
        monitor.history.record(0, objective=value * unit, loss=loss * unit, penalty=penalty * unit)
    status, it = STATUS_MAX_ITER, 0
    for it in range(1, max_iter + 1):
        E = model.update_E(A)
        A = model.update_A(E, A, h)
        h = model.update_h(A)
        previous = value
        loss, penalty = model.terms(E, A, h)
        value = loss + penalty
        if not math.isfinite(value):
            status = STATUS_NUMERICAL
            break
        if monitor(it, A, objective=value * unit, loss=loss * unit, penalty=penalty * unit):
            status = STATUS_CALLBACK
            break
        if previous - value <= tol * abs(value):
            status = STATUS_CONVERGED
            break
    shape = tuple(Y.shape[:-1])
    abundances = xp.reshape(A, shape + (p,))
    weights = 0.5 / (model.band_norms(E, A) * unit_array)
    E = E * unit_array
    if blank.any():
        E = E @ xp.asarray(_band_interpolation(blank), dtype=X.dtype, device=device(X))
        weights = weights @ xp.asarray(np.eye(blank.size)[~blank], dtype=X.dtype, device=device(X))
    return make_result(abundances, fun=value * unit, nit=it, status=status, monitor=monitor, solver="rrlbs",
                       endmembers=E, abundances=abundances, guidance=xp.reshape(h, shape), band_weights=weights,
                       blank_bands=np.flatnonzero(blank), lam=model.lam * unit)

