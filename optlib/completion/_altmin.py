"""Alternating minimization for matrix completion, exact or sketch-preconditioned, with outlier trimming.

The framework is Jain, Netrapalli and Sanghavi's (STOC 2013): a spectral
start from the top-k SVD of the observed matrix with its rows and columns
balanced (:func:`spectral_init`), then alternating
least-squares solves of ``V`` given ``U`` and ``U`` given ``V`` over the
observed entries. Gu, Song, Yin and Zhang (ICLR 2024) show that the solves
may be approximate: each row's tall least-squares system is preconditioned by
the QR (here Cholesky) factor of a sketch and solved by a few iterations, for
``O~(|Omega| k)`` work per pass (``solver="sketch"``); ``solver="exact"``
solves the ``k x k`` normal equations (``O(|Omega| k^2)``).

Robustness to gross outliers (``robust=True``) is an extension, not part of
either paper, in three phases. Huber IRLS straight from the spectral start
locked onto wrong fixed points on about half the seeds of a rank-10
600 x 600 problem, 8% observed, 10% of them corrupted (errors 0.16-0.98):
with ~48 observations per row the in-sample residuals of a poor fit are
small, the threshold below shrinks with them, and clean entries of the
badly fitted rows are down-weighted for good. So two trimmed least-squares
phases come first, each with fixed 0/1 weights until the residual settles
(``_TRIM_SETTLED``, at most ``_TRIM_PASSES`` passes; the spectral start also
uses the first phase's weights): the first drops the values beyond 2.5
robust standard deviations of the values (most gross outliers), the second
the entries whose residual after the first exceeds 3 robust standard
deviations of the residuals. Then iteratively reweighted least squares on
the Huber loss, with the second phase's cut kept: an entry whose residual
exceeds it has weight 0, not ``tau / |r|``. Without the cut the Huber
phase tends to least absolute deviations as ``tau`` shrinks, and a row with
a third of its ~35 entries corrupted and 10 unknowns has its l1 minimum
away from the truth: the row fitted 7 entries exactly and dropped the rest.
On 10 seeds each the error <= 1e-4 went from 5 to 10 (600 x 600) and from
6 to 9 (1000 x 1000, 5%), in ~50 passes instead of ~80-300; with no
trim or cut leaving a line under half its entries (:func:`_keep_lines`),
10 of 10 on both (errors <= 1.4e-7). The Huber
threshold ``tau`` is ``outlier_threshold`` robust standard deviations
(``1.4826 x`` the median absolute residual) of the current fit. An entry with
residual ``r`` gets weight ``min(1, tau / |r|)``, so a gross outlier pulls on
the fit with a force of at most ``tau``. As the fit improves ``tau`` shrinks
with the residuals, the outliers' pull vanishes and the clean entries are
fitted exactly. (Hard trimming, weight 0 beyond ``tau``, was tried first: the
trimmed clean entries are no longer fitted, their residuals stay above the
shrinking threshold, and more and more entries drop out.)

Damping of rows fitted off their partners (every mode). A row whose
observed partner rows nearly span fewer than ``k`` directions can get a
least-squares solution pointing where they vanish; at the next half-step it
drags those partners toward it and the pair locks into a spurious fixed
point. On the benchmark's 1e5 x 1e5 problems (rank 10, 100 observations per
row) this stalled 2 of 4 seeds at a residual of ~7e-3 (one row with a norm
1e4 times its peers', local Gram condition 1e9), and 1 of 6 at 1e4 x 1e4 with
60 per row. So a row whose fit is more than ``MAX_EXTRAPOLATION`` (100) times
larger in mean square over all partners than over its observed ones is
re-solved with the smallest ridge in ``tr(G) / k x (1e-8, 1e-6, ..., 1)``
that brings it under; all those seeds then converge (14-15 passes at 1e5).
A row that no ridge of the ladder brings under keeps its plain fit: its
large ratio lies along well-sampled directions (in rank 1 the ratio does not
depend on the row's scale). The damping stops for good once the residual
changes by less than ``_DAMP_UNTIL`` per pass or settles: a legitimately coherent matrix
(a few columns 100 times larger than the rest) has rows that miss them with
ratios above 100 at the true fit, and a ridge kept to the end biased them
(120 x 120 rank 2 and 200 x 200 rank 3, two such columns: 0 of 8 seeds
recovered, errors 0.1-0.6; now 8 of 8 to 1e-9, before the damping 2 of 8).
A fit that settles while damped is not at the least-squares fixed point and
goes on undamped (in float32, eps 1.2e-7, one stopped at a damped plateau:
residual 1.3e-2, error 0.15).
:func:`row_factors` (no alternation) does not damp.

Two additions for speed, neither changing the fixed point:

* Anderson acceleration of the passes: the ``U`` each ``V`` half-step starts
  from is the Anderson extrapolation (memory 5) of the last ``U`` iterates,
  restarted whenever the residual grows. The returned factors are always a
  plain half-step pair. On the benchmark's problems (rank 10, 100 observations
  per row) the passes to a 1e-9 residual fall from 20-24 to 12-15, and with
  gross outliers from ~125 to ~80.
* float32 factor reads on the host (:func:`_lean`) in the spectral start and
  in the passes until the residual settles, then float64.
"""

import math
import numbers

import numpy as np

from .._backend import (
    device,
    get_namespace,
    is_numpy_namespace,
    to_namespace,
    use_numba,
)
from .._result import (
    STATUS_CALLBACK,
    STATUS_CONVERGED,
    STATUS_MAX_ITER,
    STATUS_NUMERICAL,
    IterationMonitor,
    make_result,
    warn_convergence,
)
from .._validation import check_option, check_random_state, check_scalar
from ._observations import (
    check_observations,
    factors_in_user_units,
    largest_magnitude,
    ldexp_or_inf,
    scale_by_power_of_two,
    weight_in_units,
)
from ._svd import randomized_svd

__all__ = ["robust_altmin"]

SOLVERS = ("exact", "sketch")
_MAD_SCALE = 1.4826  # median absolute deviation -> standard deviation for Gaussian residuals
_JITTER = 1e-13  # same relative diagonal shift as the numba kernels
_ANDERSON_DEPTH = 5  # passes remembered by the Anderson acceleration
_LEAN_UNTIL = 1e-5  # float32 gathers until the relative residual changes by less than this per pass
_LEAN_SCALE = (1e-15, 1e15)  # observed RMS values for which the float32 copies neither overflow nor underflow
_TRIM = (2.5, 3.0)  # robust: trimmed phases drop the values, then the residuals, beyond these many robust s.d.
_TRIM_PASSES = 30  # robust: most passes of a trimmed phase
_TRIM_SETTLED = 1e-4  # robust: a trimmed phase ends once the residual changes by less than this per pass
MAX_EXTRAPOLATION = 1e2  # a row fit this many times larger off its observed partners is re-solved with a ridge
_DAMPING_RIDGES = (1e-8, 1e-6, 1e-4, 1e-2, 1.0)  # the ridges tried in turn, relative to tr(G) / k
_BALANCE_SWEEPS = 3  # alternating updates of the spectral start's row and column scales
_DAMP_UNTIL = 1e-5  # damping stops once the relative residual changes by less than this per pass


def check_rank(rank, shape, name="rank"):
    """``rank`` as an int in ``[1, min(m, n)]``."""
    rank = check_scalar(rank, name, kind=numbers.Integral, lower=1)
    if rank > min(shape):
        raise ValueError(f"{name}={rank} exceeds min(m, n) = {min(shape)} for a matrix of shape {tuple(shape)}.")
    return rank


def median(a, xp):
    """Median of ``a`` as a Python float (O(n) selection on NumPy; elsewhere a sort, upper middle element)."""
    if is_numpy_namespace(xp):
        return float(np.median(a))
    s = xp.sort(a)
    return float(s[s.shape[0] // 2])


def median_abs(r, xp):
    """Median of ``|r|`` as a Python float."""
    return median(xp.abs(r), xp)


# -- half-steps -------------------------------------------------------------------------


def _half_step_xp(obs, axis, F, X0, values, weights, alpha, solver, sketch_size, n_inner, rtol, rng,
                  max_extrapolation):
    """Batched solves of every row (``axis=0``) or column (``axis=1``) on the padded tables."""
    xp = obs.xp
    k = F.shape[1]
    A = obs.gather_factor(F, axis)  # (size, width, k)
    W = obs.gather(xp.ones_like(values) if weights is None else weights, axis)
    Y = obs.gather(values, axis)
    AW = A * W[:, :, None]
    b = xp.sum(AW * Y[:, :, None], axis=1)
    eye = xp.eye(k, dtype=F.dtype, device=device(F))

    def regularized(G):
        tr = xp.linalg.trace(G)
        empty = xp.astype((tr == 0) & (alpha == 0), G.dtype)  # no observation: identity, zero solution
        return G + (alpha + _JITTER * tr / k + empty)[:, None, None] * eye

    def gram():
        return xp.matmul(xp.matrix_transpose(AW), A)

    def damped(x, seen_sq, G=None):
        """``x`` with the rows fitted off their partners re-solved with the smallest sufficient ridge.

        As the numba kernels (:func:`._altmin_numba.solve_exact`): a row whose
        mean square over all partners exceeds ``max_extrapolation`` times its
        (weighted) mean square over the observed ones gets the first ridge of
        ``tr(G) / k x _DAMPING_RIDGES`` that brings it under, and stays as it
        is if none does.
        """
        if max_extrapolation == math.inf:
            return x
        wsum = xp.sum(W, axis=1)
        H = xp.matrix_transpose(F) @ F

        def overreaching(x, seen_sq):
            full = xp.sum(xp.matmul(x, H) * x, axis=1) / F.shape[0]
            return (wsum > 0) & (full * wsum > max_extrapolation * seen_sq)

        pending = overreaching(x, seen_sq)
        if not bool(xp.any(pending)):  # one sync per half-step
            return x
        G = gram() if G is None else G
        tr = xp.linalg.trace(G)
        for rel in _DAMPING_RIDGES:
            ridge = (rel * tr / k)[:, None, None] * eye
            x_rel = xp.linalg.solve(regularized(G) + ridge, b[:, :, None])[:, :, 0]
            under = pending & ~overreaching(x_rel, xp.sum(x_rel * xp.matmul(G, x_rel[:, :, None])[:, :, 0], axis=1))
            x = xp.where(under[:, None], x_rel, x)
            pending = pending & ~under
            if not bool(xp.any(pending)):
                break
        return x

    if solver == "exact" or A.shape[1] <= sketch_size:
        G = gram()
        x = xp.linalg.solve(regularized(G), b[:, :, None])[:, :, 0]
        return damped(x, xp.sum(x * b, axis=1), G)
    # CountSketch of the weighted rows: fold positions modulo sketch_size with random signs
    width = A.shape[1]
    folds = -(-width // sketch_size)
    signs = to_namespace(rng.choice([-1.0, 1.0], size=folds * sketch_size), xp, device(F))
    SA = A * xp.sqrt(W)[:, :, None]
    pad = folds * sketch_size - width
    if pad:
        SA = xp.concat([SA, xp.zeros((SA.shape[0], pad, k), dtype=F.dtype, device=device(F))], axis=1)
    SA = xp.sum(xp.reshape(SA * xp.astype(signs, F.dtype)[None, :, None], (SA.shape[0], folds, sketch_size, k)), axis=1)
    P = xp.linalg.inv(regularized(xp.matmul(xp.matrix_transpose(SA), SA)))

    def normal(x):
        return xp.sum(AW * xp.sum(A * x[:, None, :], axis=2)[:, :, None], axis=1) + alpha * x

    def dot(a, c):
        return xp.sum(a * c, axis=1)

    x = X0
    res = b - normal(x)
    z = xp.matmul(P, res[:, :, None])[:, :, 0]
    p = z
    rz = dot(res, z)
    floor = rtol * rtol * rz
    for _ in range(n_inner):
        Ap = normal(p)
        pAp = dot(p, Ap)
        active = (pAp > 0) & (rz > floor)
        step = xp.where(active, rz / xp.where(active, pAp, 1.0), 0.0)
        x = x + step[:, None] * p
        res = res - step[:, None] * Ap
        z = xp.matmul(P, res[:, :, None])[:, :, 0]
        rz_new = dot(res, z)
        beta = xp.where(active, rz_new / xp.where(rz > 0, rz, 1.0), 0.0)
        p = z + beta[:, None] * p
        rz = rz_new
    return damped(x, dot(x, normal(x) - alpha * x))


def _half_step(obs, axis, F, X0, values, weights, alpha, solver, sketch_size, n_inner, rtol, rng, residuals=False,
               keep_residuals=True, resid=None, max_extrapolation=MAX_EXTRAPOLATION):
    """New factor whose rows (``axis=0``: rows of U; ``axis=1``: rows of V) solve the least-squares problems.

    ``weights=None``: unit weights. ``residuals=True`` (``axis=0`` only): also
    return ``r = values - (U V^T)_Omega`` in canonical order (``None`` unless
    ``keep_residuals``) and the sums of ``r^2`` and of ``values^2`` over the
    inliers (entries of weight 1; all without weights). On the host the
    kernel computes them from the rows it has gathered, into ``resid`` when
    given (a spare buffer: fresh ``|Omega|``-sized arrays each pass cost page
    faults at large sizes).
    """
    if not obs.host:
        xp = obs.xp
        out = _half_step_xp(obs, axis, F, X0, values, weights, alpha, solver, sketch_size, n_inner, rtol, rng,
                            max_extrapolation)
        if not residuals:
            return out
        r = values - obs.entries(out, F)
        r_in, values_in = r, values
        if weights is not None:  # selected, not multiplied: an outlier's square may overflow (0 * inf)
            zero = xp.zeros_like(r)
            r_in, values_in = xp.where(weights >= 1, r, zero), xp.where(weights >= 1, values, zero)
        kept_sq, norm_sq = float(xp.sum(r_in * r_in)), float(xp.sum(values_in * values_in))
        return out, r if keep_residuals else None, kept_sq, norm_sq
    from ._altmin_numba import solve_exact, solve_sketched

    ptr, idx, _ = obs.side(axis)
    values = obs.in_order(values, axis)  # the kernels read values and weights in the row or column order
    weighted = weights is not None
    weights = obs.in_order(weights, axis) if weighted else values
    F = np.ascontiguousarray(F)
    out = np.zeros((ptr.shape[0] - 1, F.shape[1]), dtype=values.dtype)
    store = residuals and keep_residuals
    if resid is None or not store:
        resid = np.empty(values.shape[0] if store else 0, dtype=values.dtype)
    F64 = F.astype(np.float64, copy=False)
    H = F64.T @ F64  # for the damping of rows fitted off their partners
    ridges = np.asarray(_DAMPING_RIDGES)
    if solver == "exact":
        kept_sq, norm_sq, _ = solve_exact(ptr, idx, values, weights, weighted, F, H, max_extrapolation, ridges,
                                          alpha, out, resid, residuals)
    else:
        seed = int(rng.integers(2**62))
        kept_sq, norm_sq, _ = solve_sketched(ptr, idx, values, weights, weighted, F, H, max_extrapolation, ridges,
                                             X0, alpha, sketch_size, n_inner, rtol, seed, out, resid, residuals)
    return (out, resid if store else None, kept_sq, norm_sq) if residuals else out


# -- the solver ------------------------------------------------------------------------


def spectral_init(obs, values, rank, rng, n_iter=4):
    """Top-``rank`` left singular vectors of the line-balanced ``P_Omega(values) / p``, scaled back.

    The SVD is that of ``D_r^-1 P_Omega(values) D_c^-1`` (:func:`_line_scales`:
    every row and column of unit mean square), and the start is ``D_r`` times
    its left singular vectors, scaled by the singular values' roots: ``M`` and
    ``D_r^-1 M D_c^-1`` have the same rank, and on incoherent data the scales
    are all near 1. Without the balancing a few lines much larger than the
    rest (columns in other units) took the whole spectrum: with two columns
    1e3 times larger, every seed of a rank-1 200 x 200 problem, 10% observed,
    ended at a spurious fixed point (residual ~1e-2, errors 1e2-2e4) reported
    as converged; balanced, 8 of 10 reach 1e-7 and the other two warn.

    ``n_iter`` power iterations, on float32 bases when :func:`_lean` (half the
    memory traffic of the sparse products; the start needs a subspace far
    coarser than float32 resolves). The start must lie inside the basin of the
    alternating solves, and with gross outliers that needs an accurate
    subspace: with 2 iterations the robust solve on a rank-10 1000 x 1000
    matrix, 5% observed and 10% of them corrupted, converged to a wrong
    fixed point (relative error 0.42, 0.22 on two seeds; 4 iterations: 4e-10).
    """
    xp = obs.xp
    p = obs.nnz / (obs.shape[0] * obs.shape[1])
    dtype = xp.float32 if _lean(obs) else values.dtype
    data = obs if values is obs.values else obs.with_values(values)  # (host) column order gathered once
    r, c = _line_scales(data, data.values, dtype)
    level = math.sqrt(float(xp.mean(c * c)))
    r_op, c_op = xp.astype(r, dtype)[:, None], xp.astype(c, dtype)[:, None]
    # the subspace of P_Omega(values) / p is that of P_Omega(values): divide the singular values only
    U, s, _ = randomized_svd(
        lambda X: data.matmat(data.values, X / c_op) / r_op,
        lambda Y: data.rmatmat(data.values, Y / r_op) / c_op,
        obs.shape, rank, xp=xp, dev=device(values), dtype=dtype, rng=rng, n_iter=n_iter,
    )
    return xp.astype(r_op * U * xp.sqrt(s * level / p)[None, :], values.dtype, copy=False)


def _line_scales(obs, values, dtype=None, sweeps=_BALANCE_SWEEPS):
    """Row and column scales ``r``, ``c`` (``(m,)``, ``(n,)``) with ``values_ij / (r_i c_j)`` of mean square ~1 in every line.

    Alternating (Sinkhorn-like) updates of the mean squares, two sparse
    products each: ``r_i^2 = mean_j values_ij^2 / c_j^2``, then
    ``c_j^2 = mean_i values_ij^2 / r_i^2``. ``r`` has median 1 and ``c``
    carries the values' level ``l`` (the median of ``c``), each reference
    raised where needed to ``2**-b`` times the largest scale. ``r`` is kept
    within ``[2**-b, 2**b]`` and ``c`` within ``l [2**-b, 2**b]``, ``b`` an
    eighth of the largest exponent of ``dtype`` (that of the balanced
    products; by default the values'), so that lines without observations or
    of zeros, or far smaller than the rest, neither divide by zero nor
    overflow, and no line is cut at the top: every balanced entry is at most
    the root of its column's count. The bounds are relative to ``l``: values are left as they are
    between ``2**-256`` and ``2**256`` (:func:`units_exponent`), and bounds
    fixed around 1 cut the column scales of data at ``1e50`` down to
    ``2**128``, leaving every column unbalanced; with float32 products
    (:func:`_lean`) bounds of ``2**128`` overflowed ``X / c`` for a column of
    observed zeros (``0 x inf``: NaN, and the SVD raised). The medians, not
    root-mean-squares: one row ``1e8`` times larger than the rest set the
    root-mean-square, every other row fell to the lower bound and their
    mean squares stayed ``8e6`` apart (bounds ``2**+-16``). The plain median
    cut the largest lines of values spanning ``1e-150 .. 1e150`` at the top:
    balanced entries past float32 and the SVD raised.
    """
    xp = obs.xp
    dev = device(values)
    b = np.finfo(np.float32 if (values.dtype if dtype is None else dtype) == xp.float32 else np.float64).maxexp // 8
    lo, hi = 2.0**-b, 2.0**b
    squares = (obs if values is obs.values else obs.with_values(values)).map_values(lambda v: v * v)
    counts = [xp.astype(xp.maximum(cnt, xp.ones_like(cnt)), values.dtype) for cnt in (obs.row_counts, obs.col_counts)]

    def mean_square(product, size, other, count):  # mean of values^2 / other^2 along each line
        return product(squares.values, xp.reshape(1.0 / (other * other), (size, 1)))[:, 0] / count

    def reference(scale):  # the median, raised to 2**-b times the largest scale; 1 for all-zero scales
        return max(median(scale, xp), float(xp.max(scale)) / hi) or 1.0

    c = xp.ones(obs.shape[1], dtype=values.dtype, device=dev)
    for _ in range(sweeps):
        r = xp.sqrt(mean_square(squares.matmat, obs.shape[1], c, counts[0]))
        r = xp.clip(r / reference(r), lo, hi)
        c = xp.sqrt(mean_square(squares.rmatmat, obs.shape[0], r, counts[1]))
        level = reference(c)
        c = xp.clip(c, lo * level, hi * level)
    return r, c


def _lean(obs):
    """Whether the numba kernels may gather float32 copies of float64 factors.

    The half-steps read one partner factor row per observation at random; at
    large sizes that traffic, not the arithmetic, dominates, and a float32
    copy halves it (80 to 40 bytes a row at rank 10). The sums stay in
    float64; only the factor read is rounded, which perturbs a pass by a
    relative ~1e-7, so :func:`robust_altmin` switches to float64 factors
    once the residual changes by less than ``_LEAN_UNTIL`` per pass.
    """
    lo, hi = _LEAN_SCALE
    return obs.host and obs.values.dtype == np.float64 and lo <= obs.scale() <= hi


class _Anderson:
    """Anderson acceleration (type II, memory ``depth``) of the pass map ``U -> g(U)``.

    ``g(U)`` is the ``U`` half-step after the ``V`` half-step from ``U``. Given
    the last iterate ``x`` and ``g(x)``, :meth:`step` returns the next
    iterate ``g(x) - sum_j gamma_j (g_{j+1} - g_j)``, where ``gamma`` minimizes
    the norm of the same combination of the fixed-point residuals
    ``f = g(x) - x`` (a small ridge-regularized normal equation, solved on the
    factors' device). The differences are kept in two ``(depth, m k)`` ring
    buffers, allocated once.
    """

    def __init__(self, depth, xp):
        self.depth, self.xp = depth, xp
        self.dF = self.dG = None
        self.reset()

    def reset(self):
        self.count, self.slot, self.last = 0, 0, None

    def step(self, x, gx):
        xp = self.xp
        f = xp.reshape(gx - x, (-1,))
        g = xp.reshape(gx, (-1,))
        if self.last is not None:
            if self.dF is None:
                self.dF, self.dG = (xp.empty((self.depth, f.shape[0]), dtype=f.dtype, device=device(f)) for _ in "FG")
            self.dF[self.slot, :] = f - self.last[0]
            self.dG[self.slot, :] = g - self.last[1]
            self.slot = (self.slot + 1) % self.depth
            self.count = min(self.count + 1, self.depth)
        self.last = (f, g)
        if not self.count:
            return gx
        D = self.dF[: self.count, :]  # the order of the stored differences does not matter
        G = xp.matmul(D, xp.matrix_transpose(D))
        ridge = 1e-10 * xp.linalg.trace(G) + xp.finfo(G.dtype).smallest_normal
        eye = xp.eye(G.shape[0], dtype=G.dtype, device=device(G))
        gamma = xp.linalg.solve(G + ridge * eye, xp.matmul(D, f[:, None]))
        return xp.reshape(g - xp.matmul(xp.matrix_transpose(self.dG[: self.count, :]), gamma)[:, 0], gx.shape)


def _huber_weights(obs, r, threshold, floor):
    """IRLS weights ``min(1, tau / |r|)`` of the Huber loss, ``tau = threshold x`` the robust residual scale."""
    xp = obs.xp
    tau = max(threshold * _MAD_SCALE * median_abs(r, xp), floor)
    return xp.minimum(xp.ones_like(r), tau / xp.maximum(xp.abs(r), xp.full_like(r, tau))), tau


def _first_trim(obs):
    """0/1 weights of the values within 2.5 robust s.d. of their median, and the largest kept ``|value|``.

    About the median: values of nonzero mean (ratings 1..5) would keep the
    outliers of their own size. The kept values set a robust fit's units
    and scale: gross outliers would take the others under the Huber floor,
    or to underflow.
    """
    xp = obs.xp
    kept, _ = _trim_weights(obs.values - median(obs.values, xp), _TRIM[0], xp)
    return kept, float(xp.max(xp.where(kept > 0, xp.abs(obs.values), xp.zeros_like(obs.values))))


def _rms(a, kept, xp):
    """Root-mean-square of ``a`` where the 0/1 ``kept`` is 1 (the others' squares, which may overflow, are not formed)."""
    a = xp.where(kept > 0, a, xp.zeros_like(a))
    count = float(xp.sum(kept))
    return math.sqrt(float(xp.sum(a * a)) / count) if count else 0.0


def _trim_weights(a, cut, xp, floor=0.0):
    """0/1 weights of a trimmed robust phase, 1 where ``|a| <= level``, and ``level = cut x 1.4826 median |a|``
    (at least ``floor``)."""
    level = max(cut * _MAD_SCALE * median_abs(a, xp), floor)
    return xp.astype(xp.abs(a) <= level, a.dtype), level


def _line_sums(obs, a):
    """Sums of ``a`` (one value per observation) over each row and over each column: ``(m,)`` and ``(n,)``."""
    xp = obs.xp
    return tuple(product(a, xp.ones((size, 1), dtype=a.dtype, device=device(a)))[:, 0]
                 for product, size in ((obs.matmat, obs.shape[1]), (obs.rmatmat, obs.shape[0])))


def _overloaded_lines(obs, flagged):
    """Rows and columns more than half of whose observations are ``flagged`` (0/1) as outliers, as a count.

    At a sound fit every row and column keeps most of its entries (the
    model allows fewer than half outliers in any line); a line that has lost
    most of them fits the few it kept exactly and the rest not at all, a
    wrong fixed point the inlier residual cannot see.
    """
    xp = obs.xp
    counts = _line_sums(obs, xp.ones_like(flagged))
    return sum(int(xp.sum(xp.astype(f > 0.5 * c, xp.int64))) for f, c in zip(_line_sums(obs, flagged), counts))


def _keep_lines(obs, kept, rank):
    """0/1 ``kept``, with all entries of a row or column restored where it keeps under half of them or under ``rank``.

    A trim or cut must not leave a row or column with fewer than half of its
    observations (more outliers than that are beyond the model) nor with
    fewer than ``rank`` (its least-squares system would be singular). Without
    this, a poorly fitted line lost its entries for good: legitimately large
    rows were trimmed whole by the value trim, and rows fitted poorly by the
    first phase were cut whole by the second and never fitted again (a
    clean, noiseless 200 x 200 problem of rank 5 ended at a wrong fixed point
    on 2 seeds of 5).
    """
    xp = obs.xp
    restore = None
    for n_kept, n_all, index in zip(_line_sums(obs, kept), _line_sums(obs, xp.ones_like(kept)), (obs.rows, obs.cols)):
        short = (n_kept < 0.5 * n_all) | (n_kept < xp.minimum(n_all, xp.full_like(n_all, rank)))
        line = xp.take(short, index)
        restore = line if restore is None else restore | line
    return xp.where(restore, xp.ones_like(kept), kept)


def row_factors(obs, V, alpha, *, robust=False, threshold=1.345, max_iter=100, tol=1e-7):
    """Rows of ``U`` given ``V``: each row's least-squares fit to its observations, or Huber IRLS with ``robust``.

    ``robust``: the Huber weights of :func:`robust_altmin` (``threshold``
    robust standard deviations of the residuals), refitted until ``U``
    changes by less than ``tol`` relative, at most ``max_iter`` times; a
    gross outlier in a row then no longer drags the row's whole fit.

    Solved with the values in units of ``2**e`` (:meth:`Observations.in_units`;
    with ``robust``, of the values :func:`_first_trim` keeps, which the
    refits also start from) and ``V`` in units of ``2**f`` (its largest
    magnitude near 1; ``V`` need not share the values' scale: Soft-Impute's
    is orthonormal), ``alpha`` in units of ``2**(2 f)``; then ``U`` is
    ``2**(e - f)`` times the solution.
    """
    xp = obs.xp
    trimmed, top = _first_trim(obs) if robust else (None, None)
    obs, e = obs.in_units(top)
    v_top = largest_magnitude(V, xp)
    f = math.frexp(v_top)[1] if math.isfinite(v_top) else 0
    V = scale_by_power_of_two(V, -f) if f else V
    U = _row_factors(obs, V, weight_in_units(alpha, -2 * f), trimmed, threshold, max_iter, tol)
    return scale_by_power_of_two(U, e - f) if e != f else U


def _row_factors(obs, V, alpha, trimmed, threshold, max_iter, tol):
    """:func:`row_factors` on values and ``V`` of magnitude near 1; robust unless ``trimmed`` is None."""
    xp = obs.xp
    solve = dict(alpha=alpha, solver="exact", sketch_size=V.shape[1], n_inner=1, rtol=0.0, rng=None,
                 max_extrapolation=math.inf)  # no alternation, nothing to damp: least squares
    U = xp.zeros((obs.shape[0], V.shape[1]), dtype=V.dtype, device=device(V))
    U = _half_step(obs, 0, V, U, obs.values, trimmed, **solve)  # robust: from the fit without the trimmed values
    if trimmed is not None:
        floor = 1e3 * float(np.finfo(np.float32 if V.dtype == xp.float32 else np.float64).eps) * _rms(
            obs.values, trimmed, xp)
        for _ in range(max_iter):
            weights, _ = _huber_weights(obs, obs.values - obs.entries(U, V), threshold, floor)
            U, U_old = _half_step(obs, 0, V, U, obs.values, weights, **solve), U
            if float(xp.linalg.vector_norm(U - U_old)) <= tol * float(xp.linalg.vector_norm(U)):
                break
    return U


def robust_altmin(
    observed,
    rank,
    *,
    shape=None,
    robust=False,
    outlier_threshold=1.345,
    solver="exact",
    alpha=0.0,
    sketch_size=None,
    n_inner=10,
    inner_tol=1e-8,
    tol=1e-7,
    max_iter=100,
    engine="auto",
    random_state=None,
    callback=None,
    history=False,
    verbose=False,
):
    """Low-rank matrix completion by (robust) alternating minimization.

    Finds ``U`` (``m x k``) and ``V`` (``n x k``) with ``U V^T`` matching the
    observed entries, from a spectral start, by alternating exact or
    sketch-preconditioned least-squares solves over the observed entries
    (Gu, Song, Yin and Zhang, ICLR 2024). Memory is
    ``O(|Omega| + (m + n) k)``: no dense ``m x n`` array is formed.

    Parameters
    ----------
    observed : tuple (rows, cols, values) or scipy.sparse matrix
        Observed entries ``M[rows[t], cols[t]] = values[t]``; see
        :func:`check_observations` for the rules (duplicate entries are
        averaged, indices must be in range). Arrays may come from NumPy,
        CuPy or any array-API library; the factors come back in that
        namespace, on that device, in the values' floating dtype.
    rank : int
        Target rank ``k``, ``1 <= k <= min(m, n)``.
    shape : tuple of int, optional
        ``(m, n)``; inferred from the largest indices when omitted.
    robust : bool
        Resist gross outliers (see the module notes): least squares without
        the values beyond 2.5 robust standard deviations of the values from
        their median (the spectral start too), then without the residuals of
        that fit beyond 3 robust standard deviations, each phase until the
        residual settles (at most 30 passes); then after each pass each
        observation gets the Huber weight ``min(1, tau / |residual|)``, or 0
        beyond the second trim's level. No trim or cut leaves a row or
        column with fewer than half of its observations or fewer than
        ``rank``: there it keeps them all.
    outlier_threshold : float
        Huber threshold ``tau`` in units of ``1.4826 * median |residual|``
        (1.345: Huber's choice, 95% efficiency under Gaussian noise).
    solver : {"exact", "sketch"}
        ``"exact"``: batched ``k x k`` normal equations, ``O(|Omega| k^2)``
        per pass. ``"sketch"``: CountSketch-preconditioned conjugate
        gradients warm-started at the previous factor, ``O(|Omega| k)`` per
        inner iteration; rows with at most ``sketch_size`` observations are
        solved exactly.
    alpha : float
        Ridge weight on the rows of the factors (0: plain least squares; a
        tiny relative diagonal shift keeps the systems solvable). Rows with no
        observation get a zero factor row.
    sketch_size : int, optional
        CountSketch buckets per row (default ``4 k``).
    n_inner, inner_tol : int, float
        Inner iteration budget and relative residual target of ``"sketch"``.
    tol : float
        Stop when the relative residual on the observations,
        ``||P(M - U V^T)||_F / ||P(M)||_F`` (with ``robust``: on those with
        Huber weight 1), falls below ``tol`` or changes by less than ``tol``
        relative to the previous pass. The relative residual is resolved to
        about ``eps`` of the values' dtype: a ``tol`` under ``eps`` counts as
        ``eps``, and a change by less than ``eps`` counts as settled (float32
        residuals computed in float32, on the array-API path, fluctuate by
        ~``eps / sqrt(|Omega|)`` from pass to pass: under the default ``1e-7``
        they never settled, noiseless or noisy).
    max_iter : int
        Maximum number of passes (one ``V`` and one ``U`` update each).
    engine : {"auto", "numba", "xp"}
        numba kernels over CSR/CSC structures (NumPy), or the batched
        array-API path (CuPy, other libraries; also runs on NumPy).
    random_state : None, int or numpy.random.Generator
        Seeds the randomized SVD and the sketches (drawn on the host, copied
        to the device explicitly).
    callback : callable, optional
        ``callback(intermediate_result)`` after each pass; raise
        ``StopIteration`` to stop.
    history : bool
        Record ``objective``, ``residual`` and ``tau`` (Huber threshold,
        ``inf`` unless ``robust``) per pass.
    verbose : bool or int
        Print a line every ``verbose`` passes.

    Returns
    -------
    OptimizeResult
        ``U``, ``V`` (the factors, ``x = (U, V)``), ``fun`` (half the
        weighted squared residual plus the ridge term), ``residual``,
        ``nit``, ``success``, ``status``, ``message``, ``outliers`` (boolean,
        per input entry, True where the final residual exceeds
        ``10 tau`` and ``1e6 eps`` times the RMS observed value; all False
        unless ``robust``),
        ``history`` when recorded.

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` passes do not reach ``tol`` (the best pass is
        returned, ``success=False``); with ``robust``, also when the
        returned fit misses by more than ``1e-3`` times the RMS observed value
        (and ``10 tau``) more than half of the observations of some
        row or column (a wrong fixed point: ``success=False``; the model
        allows fewer than half outliers in any line).
    """
    solver = check_option(solver, "solver", SOLVERS)
    alpha = check_scalar(alpha, "alpha", lower=0.0)
    tol = check_scalar(tol, "tol", lower=0.0)
    max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=1)
    outlier_threshold = check_scalar(outlier_threshold, "outlier_threshold", lower=0.0, lower_inclusive=False)
    n_inner = check_scalar(n_inner, "n_inner", kind=numbers.Integral, lower=1)
    inner_tol = check_scalar(inner_tol, "inner_tol", lower=0.0)
    rng = check_random_state(random_state)
    probe = observed[2] if isinstance(observed, (tuple, list)) and len(observed) == 3 else None
    xp0 = get_namespace(probe) if hasattr(probe, "shape") else get_namespace()
    obs = check_observations(observed, shape, host=use_numba(xp0, engine))
    xp = obs.xp
    trimmed, top = _first_trim(obs) if robust else (None, None)
    obs, e = obs.in_units(top)
    alpha = weight_in_units(alpha, -e)  # solved in units of 2**e: values / 2**e, factors / 2**(e / 2)
    k = check_rank(rank, obs.shape)
    sketch_size = 4 * k if sketch_size is None else check_scalar(sketch_size, "sketch_size", kind=numbers.Integral, lower=k)
    monitor = IterationMonitor(callback, history, verbose, name="robust_altmin")
    # the relative residual resolves about eps of the values' dtype: a tol or a change per pass under it is noise
    resolution = float(np.finfo(np.float32 if obs.values.dtype == xp.float32 else np.float64).eps)
    reachable_tol = max(tol, resolution)

    values = obs.values
    scale = obs.scale() if trimmed is None else _rms(values, trimmed, xp)
    floor = 1e3 * resolution * scale
    weights, tau = None, math.inf  # None: unit weights
    phase, phase_start = 0, 0  # robust: trimmed phases 0 .. len(_TRIM) - 1 with fixed 0/1 weights, then Huber
    trimming = robust
    if robust:
        weights = _keep_lines(obs, trimmed, k)
    lean = _lean(obs)

    def gathered(F):  # the factor the half-step reads: a float32 copy while lean
        return F.astype(np.float32) if lean else F

    solve = dict(alpha=alpha, solver=solver, sketch_size=sketch_size, n_inner=n_inner, rtol=inner_tol, rng=rng)
    U = spectral_init(obs, values if weights is None else values * weights, k, rng)
    V0 = xp.zeros((obs.shape[1], k), dtype=U.dtype, device=device(U))
    V = _half_step(obs, 1, gathered(U), V0, values, weights, **solve)

    best = None
    spare = None  # host: a residual buffer no longer referenced (the last pass's, or a former best's)
    previous = math.inf
    accel = _Anderson(_ANDERSON_DEPTH, xp)
    x = U  # the U the next V half-step starts from: the last U, extrapolated
    status = STATUS_MAX_ITER
    it = 0
    for it in range(1, max_iter + 1):
        # residual sums over the inliers: Huber-downweighted entries excluded
        # r: needed by the robust phases only (not robust: outliers are all False; not storing it saves time)
        U, r, kept_sq, norm_sq = _half_step(obs, 0, gathered(V), x, values, weights, residuals=True,
                                            keep_residuals=robust, resid=spare,
                                            **solve)
        residual = math.sqrt(kept_sq / norm_sq) if norm_sq > 0 else math.sqrt(kept_sq)
        fun = 0.5 * kept_sq + 0.5 * alpha * (float(xp.sum(U * U)) + float(xp.sum(V * V)))
        if not math.isfinite(residual):
            status = STATUS_NUMERICAL
            break
        if best is None or residual <= best[0]:
            spare = None if best is None else best[4]
            best = (residual, fun, U, V, r, tau)
        else:
            spare = r
        if monitor(it, factors_in_user_units((U, V), e), objective=ldexp_or_inf(fun, 2 * e), residual=residual,
                   tau=ldexp_or_inf(tau, e)):
            status = STATUS_CALLBACK
            break
        settled = math.isfinite(previous) and abs(previous - residual) <= max(tol * previous, resolution)
        # settled while damped: a ridge-biased plateau, not the least-squares fixed point; go on undamped
        damped = solve.get("max_extrapolation", MAX_EXTRAPOLATION) < math.inf
        if not trimming and (residual <= reachable_tol or (settled and not damped)):
            status = STATUS_CONVERGED
            break
        if residual > previous:  # the extrapolation did not pay: restart from the plain pass
            accel.reset()
        if lean and abs(previous - residual) < _LEAN_UNTIL:
            lean = False
        if settled or abs(previous - residual) < _DAMP_UNTIL:  # the plain least-squares fixed point from here on
            solve["max_extrapolation"] = math.inf
        if trimming and (it - phase_start >= _TRIM_PASSES or (
                math.isfinite(previous) and abs(previous - residual) <= _TRIM_SETTLED * previous)):
            phase, phase_start = phase + 1, it
            trimming = phase < len(_TRIM)
            if trimming:
                # no cut under the outlier flags' level: at an exact fit, 3 s.d. of the rounding errors cut inliers
                # at random, lines fell short and _keep_lines restored them whole, gross outliers included
                weights, cut = _trim_weights(r, _TRIM[phase], xp, 1e3 * floor)
                weights = _keep_lines(obs, weights, k)
            best, residual = None, math.inf  # the trimmed fits are not candidates for the answer
            accel.reset()
        previous = residual
        if robust and not trimming:
            weights, tau = _huber_weights(obs, r, outlier_threshold, floor)
            kept = _keep_lines(obs, xp.astype(xp.abs(r) <= cut, r.dtype), k)  # the last trim's cut stays
            weights = xp.where(kept > 0, weights, xp.zeros_like(weights))
        x = accel.step(x, U)
        V = _half_step(obs, 1, gathered(x), V, values, weights, **solve)
    if status in (STATUS_MAX_ITER, STATUS_NUMERICAL) and best is not None:  # else: the pass that stopped
        residual, fun, U, V, r, tau = best
    elif best is None:  # non-finite at the first pass
        residual = fun = math.inf
    if robust:
        level = max(10 * tau, 1e3 * floor)
        flagged = (r > level) | (r < -level)  # not abs(r): a fresh |Omega|-sized float array costs page faults
        outliers = xp.take(flagged, obs.inverse)
    else:
        outliers = xp.zeros(obs.inverse.shape, dtype=xp.bool, device=device(values))
    U, V = factors_in_user_units((U, V), e)
    result = make_result(
        (U, V), fun=ldexp_or_inf(fun, 2 * e), nit=it, status=status, monitor=monitor, solver="robust_altmin",
        U=U, V=V, residual=residual, outliers=outliers,
    )
    if robust and result.success and not trimming:
        # gross misfits only: a slowly converging line keeps residuals well above tau
        lines = _overloaded_lines(obs, xp.astype(xp.abs(r) > max(10 * tau, 1e-3 * scale), r.dtype))
        if lines:
            result.success = False
            result.message = (f"Wrong fixed point: {lines} rows or columns have more than half of their "
                              "observations down-weighted as outliers.")
            warn_convergence(f"robust_altmin: {result.message}", stacklevel=2)
    return result
