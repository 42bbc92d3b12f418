"""Randomized iterative sketching solvers for square linear systems ``K z = b``.

Sketch-and-project iterations (Gower and Richtarik, 2015): at each step a
random sketch ``S`` is drawn and ``z`` is projected onto the solution set of
the sketched system ``S^T K z = S^T b``::

    z <- z - K^T S (S^T K K^T S)^+ S^T (K z - b)

``"gaussian"`` draws one Gaussian vector, ``"kaczmarz"`` one coordinate
vector uniformly (randomized Kaczmarz), ``"kaczmarz_weighted"`` one
coordinate with probability proportional to the squared row norm
(Strohmer-Vershynin), ``"block_kaczmarz"`` ``block_size`` coordinates
without replacement, and ``"gaussian_block"`` a Gaussian matrix with
``block_size`` columns. ``"minres"`` is not a sketch: it is the Krylov
solver MINRES for symmetric systems, offered for large, badly conditioned
systems where sketching needs too many iterations (the PDE-constrained
problem); it stops on the same residual test.

The residual ``r = K z - b`` is carried along and the iteration stops at
``||r|| <= tol``. NumPy inputs with an explicit matrix run the one-row
sketches in a numba kernel (iterations are cheap and many); other inputs
(array-API namespaces, matrix-free operators) run a vectorized loop that
reads ``||r||`` once per chunk of iterations, to keep device
synchronisations rare. The block sketches adapt their block size (doubling
while the residual falls too slowly) and every vectorized solve gives up
early when its observed rate cannot reach the tolerance in the iterations
left (see :func:`sketch_solve`). Random numbers are drawn on the host with NumPy's
generator; Gaussian sketches are copied to the device in chunks (an explicit
transfer, one per chunk).
"""

import math

import numpy as np

from .._backend import device, is_numpy_namespace, to_host, to_namespace, use_numba

__all__ = ["SKETCHES", "MATRIX_FREE_MAX_BLOCK", "KKTOperator", "sketch_solve"]

SKETCHES = ("gaussian", "kaczmarz", "kaczmarz_weighted", "block_kaczmarz", "gaussian_block", "minres")
_ONE_ROW = ("gaussian", "kaczmarz", "kaczmarz_weighted")
_CHUNK = 32  # iterations per chunk of host-drawn randomness and per residual check
_REFRESH = 1000  # recompute r = K z - b exactly every this many iterations
_GROWTH_CHUNKS = 4  # block sketches double their block while the tolerance is more chunks away than this
_STALL_CHUNKS = 4  # chunks at the largest block before the stall test
_MINRES_STALL = 20  # preconditioned MINRES stops when its true residual has not improved for this many steps
#: Largest adaptive block of a matrix-free operator (each column costs one product with K).
MATRIX_FREE_MAX_BLOCK = 64


class KKTOperator:
    """The symmetric KKT matrix ``K = [[B, G^T], [G, 0]]``, explicit or matrix-free.

    Parameters
    ----------
    n, m : int
        Number of variables and constraints.
    matvec : callable
        ``matvec(z)`` returns ``K z`` for a vector of length ``n + m``.
    dense : array or None
        The explicit ``(n + m, n + m)`` matrix, when it is formed.
    xp : namespace
        Array namespace of the vectors.
    like : array
        An array whose dtype and device new vectors take.
    """

    def __init__(self, n, m, matvec, dense, xp, like):
        self.n, self.m, self.p = n, m, n + m
        self._matvec = matvec
        self.dense = dense
        self.xp = xp
        self.dtype = like.dtype
        self.device = device(like)
        self.n_matvec = 0
        self._row_sq = None

    def matvec(self, z):
        """``K z``."""
        self.n_matvec += 1
        return self.dense @ z if self.dense is not None else self._matvec(z)

    def matmat(self, S):
        """``K S`` for a ``(p, k)`` matrix ``S`` (``k`` products when matrix-free)."""
        if self.dense is not None:
            self.n_matvec += S.shape[1]
            return self.dense @ S
        return self.xp.stack([self.matvec(S[:, j]) for j in range(S.shape[1])], axis=1)

    def column(self, i):
        """Column ``i`` of ``K`` (equal to row ``i``: ``K`` is symmetric)."""
        if self.dense is not None:
            return self.dense[:, i]
        e = self.xp.zeros(self.p, dtype=self.dtype, device=self.device)
        e[i] = 1.0
        return self.matvec(e)

    def columns(self, idx):
        """Columns ``idx`` of ``K`` as a ``(p, len(idx))`` matrix."""
        xp = self.xp
        if self.dense is not None:
            return xp.take(self.dense, xp.asarray(idx, device=self.device), axis=1)
        return xp.stack([self.column(int(i)) for i in idx], axis=1)

    def row_norms_sq(self):
        """Squared row norms (``p`` products when matrix-free; computed once)."""
        if self._row_sq is None:
            xp = self.xp
            if self.dense is not None:
                self._row_sq = xp.sum(self.dense * self.dense, axis=1)
            else:
                self._row_sq = xp.stack([xp.sum(self.column(i) ** 2) for i in range(self.p)])
        return self._row_sq

    def norm2(self, n_iter=30, seed=0):
        """Spectral norm: exact for an explicit matrix, power iterations otherwise."""
        xp = self.xp
        if self.dense is not None:
            return float(xp.linalg.matrix_norm(self.dense, ord=2))
        rng = np.random.default_rng(seed)
        v = to_namespace(rng.standard_normal(self.p), xp, self.device)
        v = xp.astype(v, self.dtype)
        est = 0.0
        for _ in range(n_iter):
            w = self.matvec(v / xp.linalg.vector_norm(v))
            est = float(xp.linalg.vector_norm(w))
            if est == 0.0:
                return 0.0
            v = w
        return est


def sketch_solve(K, b, *, sketch, tol, max_iter, rng, block_size=None, adaptive_block=True, z0=None, r0=None,
                 floor=0.0, engine="auto", precond=None):
    """Solve ``K z = b`` by a randomized sketching method until ``||K z - b|| <= tol``.

    Parameters
    ----------
    K : KKTOperator
        The (symmetric) system matrix.
    b : array of shape (p,)
        Right-hand side.
    sketch : str
        One of :data:`SKETCHES`.
    tol : float
        Absolute tolerance on the residual norm.
    max_iter : int
        Budget of the solve: maximum number of iterations, an iteration with
        a block of ``k`` columns counting ``k`` (its cost in products with
        ``K``).
    rng : numpy.random.Generator
        Source of the sketches (drawn on the host).
    block_size : int, optional
        Columns of the block sketches (the first block size when
        ``adaptive_block``); default ``min(p, 8)``.
    adaptive_block : bool
        Block sketches double their block size, up to ``p`` for an explicit
        matrix and :data:`MATRIX_FREE_MAX_BLOCK` matrix-free, after each
        chunk of 32 iterations whose rate would need more than four further
        chunks to reach ``tol``. Sketch-and-project
        contracts the error by about ``1 - block sigma_min(K)^2 / ||K||_F^2``
        per iteration, so a fixed small block stalls on ill-conditioned
        systems; a Gaussian block of ``p`` columns solves the system in one
        iteration.
    z0, r0 : array, optional
        Warm start and its residual ``K z0 - b`` (default ``z0 = 0``, ``r0 = -b``).
    floor : float
        Also stop when ``||r|| <= floor ||z||``: a residual below about
        ``eps ||K|| ||z||`` is rounding noise that no iteration can reduce
        (pass e.g. ``64 eps ||K||``).
    engine : {"auto", "numba", "xp"}
        Numba kernel for the one-row sketches on an explicit NumPy matrix.
    precond : callable, optional
        ``precond(u)``: a symmetric positive definite approximation of
        ``|K|^{-1}`` applied to ``u`` (``"minres"`` only), e.g. the block
        diagonal ``diag(B^{-1}, (G B^{-1} G^T)^{-1})``, with which MINRES
        needs a few iterations whatever the conditioning of ``K``.

    Returns
    -------
    z, r : arrays
        Approximate solution and its residual ``K z - b``.
    n_iter : int
        Iterations performed. The solve may end before ``max_iter`` without
        meeting ``tol``: when, at its largest block, the residual's observed
        geometric rate (over at least four chunks and ``2 p / block``
        iterations) cannot reach ``tol`` within the remaining budget (a
        stall; the caller tests ``||r||`` itself).
    block : int or None
        Final block size (1 for one-row sketches, None for MINRES), to start
        the next related solve with.
    """
    xp = K.xp
    if z0 is None:
        z = xp.zeros(K.p, dtype=K.dtype, device=K.device)
        r = -b
    else:
        z, r = z0, r0
    if sketch == "minres":
        return (*_minres(K, b, z, r, tol, max_iter, floor, precond), None)
    if precond is not None:
        raise ValueError(f"A preconditioner is used by sketch='minres' only, not by sketch={sketch!r}.")
    if sketch in _ONE_ROW:
        if K.dense is not None and is_numpy_namespace(xp) and use_numba(xp, engine):
            return (*_one_row_numba(K, b, z, r, sketch, tol, max_iter, rng, floor), 1)
        block, cap = 1, 1
    else:
        cap = K.p if K.dense is not None else min(K.p, MATRIX_FREE_MAX_BLOCK)
        block = min(cap, 8 if block_size is None else int(block_size))
        if not adaptive_block:
            cap = block
    return _sketch_loop(K, b, z, r, sketch, tol, max_iter, rng, block, cap, floor)


def _one_row_numba(K, b, z, r, sketch, tol, max_iter, rng, floor):
    from ._sketching_numba import one_row_sketch

    A = np.ascontiguousarray(K.dense)
    z, r = np.array(z, dtype=A.dtype), np.array(r, dtype=A.dtype)
    kind = _ONE_ROW.index(sketch)
    row_sq = np.ascontiguousarray(np.asarray(K.row_norms_sq()))
    cum = np.cumsum(row_sq) / np.sum(row_sq)
    seed = int(rng.integers(2**31 - 1))
    n_iter = one_row_sketch(A, A @ A.T, b, z, r, row_sq, cum, kind, float(tol), float(floor), int(max_iter), seed)
    K.n_matvec += n_iter  # one (row) product with K per iteration
    return z, r, n_iter


def _draw(sketch, rng, chunk, p, block, probs):
    """Host-drawn randomness of ``chunk`` iterations."""
    if sketch in ("gaussian", "gaussian_block"):
        return rng.standard_normal((chunk, p, block))
    if sketch == "kaczmarz":
        return rng.integers(p, size=(chunk, 1))
    if sketch == "kaczmarz_weighted":
        return rng.choice(p, size=(chunk, 1), p=probs)
    return np.stack([rng.choice(p, size=block, replace=False) for _ in range(chunk)])


def _sketch_loop(K, b, z, r, sketch, tol, max_iter, rng, block, cap, floor):
    """Vectorized sketch-and-project loop (any namespace, explicit or matrix-free ``K``).

    ``||r||`` is read once per chunk of :data:`_CHUNK` iterations (every
    iteration on the host), where the block grows (up to ``cap``) and the
    stall test runs.
    """
    xp = K.xp
    p = K.p
    probs = None
    if sketch == "kaczmarz_weighted":
        row_sq = np.asarray(to_host(K.row_norms_sq()), dtype=np.float64)  # p host scalars (explicit copy)
        probs = row_sq / row_sq.sum()
    on_host = is_numpy_namespace(xp)
    n_iter = work = 0  # work: sketch columns used, the budget max_iter counts
    res = _norm(xp, r)
    ref_iter, ref_res, best = 0, res, res  # stall test: rate measured since the last block change
    while work < max_iter:
        target = max(tol, floor * _norm(xp, z))
        if res <= target:
            break
        if n_iter > 0:
            if block < cap and _slow(chunk_start, res, target):
                block = min(2 * block, cap)
                ref_iter, ref_res, best = n_iter, res, res
            elif _stalled(n_iter - ref_iter, ref_res, best, target, (max_iter - work) // block, p, block):
                break
        chunk_start = res
        chunk = min(_CHUNK, -(-(max_iter - work) // block))
        draws = _draw(sketch, rng, chunk, p, block, probs)
        if sketch in ("gaussian", "gaussian_block"):
            draws = xp.astype(to_namespace(draws, xp, K.device), K.dtype)
        for t in range(chunk):
            if sketch in ("gaussian", "gaussian_block"):
                S = draws[t, ...]
                U = K.matmat(S)  # K^T S = K S
                rhs = xp.matmul(xp.matrix_transpose(S), r[:, None])
            else:
                idx = draws[t]
                U = K.columns(idx)  # K^T S for coordinate sketches (K symmetric)
                rhs = xp.take(r, xp.asarray(idx, device=K.device))[:, None]
            step = _project(xp, U, rhs)
            z = z - step
            r = r - K.matvec(step)
            n_iter += 1
            work += block
            if n_iter % _REFRESH == 0:
                r = K.matvec(z) - b
            if on_host and t < chunk - 1 and _norm(xp, r) <= max(tol, floor * _norm(xp, z)):
                return z, r, n_iter, block
        res = _norm(xp, r)
        best = min(best, res)
    return z, r, n_iter, block


def _slow(start, end, target):
    """Whether, at the rate of the last chunk, reaching ``target`` takes more than :data:`_GROWTH_CHUNKS` chunks."""
    return end >= start or math.log(target / end) / math.log(end / start) > _GROWTH_CHUNKS


def _stalled(done, ref_res, best, target, budget, p, block):
    """Whether the rate observed over ``done`` iterations cannot reach ``target`` within ``budget``."""
    if done < max(_STALL_CHUNKS * _CHUNK, 2 * p // block):
        return False
    if best >= ref_res:
        return True
    log_rate = math.log(best / ref_res) / done
    return math.log(target / best) / log_rate > budget


def _norm(xp, v):
    return float(xp.linalg.vector_norm(v))


def _project(xp, U, rhs):
    """The step ``U (U^T U)^+ rhs`` (the projection of sketch-and-project).

    For blocks it is ``pinv(U^T) rhs = Q pinv(R^T) rhs`` from a QR
    factorisation ``U = Q R``: no Gram matrix ``U^T U`` (whose condition
    number is squared), and a pseudo-inverse of the small ``R`` only, which
    keeps rank-deficient blocks safe.
    """
    if U.shape[1] == 1:
        denom = xp.sum(U * U)
        return U[:, 0] * (rhs[0, 0] / xp.where(denom > 0, denom, xp.ones_like(denom)))
    Q, R = xp.linalg.qr(U)
    return (Q @ (xp.linalg.pinv(xp.matrix_transpose(R)) @ rhs))[:, 0]


def _minres(K, b, z, r, tol, max_iter, floor, precond=None):
    """MINRES (Paige-Saunders) on ``K dz = -r`` from ``z``, optionally preconditioned.

    Preconditioned Lanczos: ``u_k`` are the residual-space vectors, ``v_k =
    M u_k / beta_k`` with ``beta_k = sqrt(u_k . M u_k)`` the search
    directions (``M = precond``, symmetric positive definite; ``M = I``
    gives the plain method). The Givens recurrences then track the
    ``M``-norm of the residual, ``|eta|``: without a preconditioner it is
    the residual norm itself, read every 10 steps; with one, the true
    residual ``K z - b`` is formed every 5 steps (one extra product) to test
    the 2-norm tolerance, and the solve stops when it has not decreased for
    20 steps (rounding level: the ``M``-norm keeps falling below it).
    """
    xp = K.xp
    apply = precond if precond is not None else (lambda u: u)
    check = 10 if precond is None else 5
    u = -r
    y = apply(u)
    beta1 = xp.sqrt(xp.sum(u * y))
    if float(xp.linalg.vector_norm(r)) <= tol or float(beta1) == 0.0:
        return z, r, 0
    u_old = xp.zeros_like(r)
    v = y / beta1
    w_old, w_older = xp.zeros_like(r), xp.zeros_like(r)
    beta_old, beta, eta = beta1, beta1, beta1
    c_old, s_old, c, s = 1.0, 0.0, 1.0, 0.0
    dz = xp.zeros_like(r)
    n_iter = 0
    best, best_at = math.inf, 0  # smallest true residual (preconditioned runs) and its iteration
    while n_iter < max_iter:
        Av = K.matvec(v)
        alpha = xp.sum(v * Av)
        u_new = Av - (alpha / beta) * u - (beta / beta_old) * u_old
        y = apply(u_new)
        beta_new = xp.sqrt(xp.maximum(xp.sum(u_new * y), xp.zeros_like(alpha)))
        delta = c * alpha - c_old * s * beta
        rho1 = xp.sqrt(delta**2 + beta_new**2)
        rho2 = s * alpha + c_old * c * beta
        rho3 = s_old * beta
        c_old, s_old = c, s
        c, s = delta / rho1, beta_new / rho1
        w = (v - rho3 * w_older - rho2 * w_old) / rho1
        dz = dz + c * eta * w
        eta = -s * eta
        w_older, w_old = w_old, w
        u_old, u = u, u_new
        v = y / xp.where(beta_new > 0, beta_new, xp.ones_like(beta_new))
        beta_old, beta = beta, beta_new
        n_iter += 1
        if n_iter % check == 0 or n_iter == max_iter:
            target = max(tol, floor * float(xp.linalg.vector_norm(z + dz)))
            if float(beta_new) == 0.0:
                break
            if precond is None:
                res = float(xp.abs(eta))
                if res <= target or not math.isfinite(res):  # non-finite: a non-finite product with K
                    break
                continue
            res = float(xp.linalg.vector_norm(K.matvec(z + dz) - b))
            if res < best:
                best, best_at = res, n_iter
            if res <= target or n_iter - best_at >= _MINRES_STALL:
                break
    z = z + dz
    return z, K.matvec(z) - b, n_iter
