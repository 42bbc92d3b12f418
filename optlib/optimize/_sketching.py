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
reads ``||r||`` every ``check_every`` iterations, to keep device
synchronisations rare. Random numbers are drawn on the host with NumPy's
generator; Gaussian sketches are copied to the device in chunks (an explicit
transfer, one per chunk).
"""

import numpy as np

from .._backend import device, is_numpy_namespace, to_host, to_namespace, use_numba

__all__ = ["SKETCHES", "KKTOperator", "sketch_solve"]

SKETCHES = ("gaussian", "kaczmarz", "kaczmarz_weighted", "block_kaczmarz", "gaussian_block", "minres")
_ONE_ROW = ("gaussian", "kaczmarz", "kaczmarz_weighted")
_CHUNK = 32  # iterations per chunk of host-drawn randomness and per residual check
_REFRESH = 1000  # recompute r = K z - b exactly every this many iterations


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


def sketch_solve(K, b, *, sketch, tol, max_iter, rng, block_size=None, z0=None, r0=None, floor=0.0,
                 engine="auto"):
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
    floor : float
        Also stop when ``||r|| <= floor ||z||``: a residual below about
        ``eps ||K|| ||z||`` is rounding noise that no iteration can reduce
        (pass e.g. ``64 eps ||K||``).
    max_iter : int
        Maximum number of iterations.
    rng : numpy.random.Generator
        Source of the sketches (drawn on the host).
    block_size : int, optional
        Columns of the block sketches; default ``min(p, 8)``.
    z0, r0 : array, optional
        Warm start and its residual ``K z0 - b`` (default ``z0 = 0``, ``r0 = -b``).
    engine : {"auto", "numba", "xp"}
        Numba kernel for the one-row sketches on an explicit NumPy matrix.

    Returns
    -------
    z, r : arrays
        Approximate solution and its residual ``K z - b``.
    n_iter : int
        Iterations performed.
    """
    xp = K.xp
    if z0 is None:
        z = xp.zeros(K.p, dtype=K.dtype, device=K.device)
        r = -b
    else:
        z, r = z0, r0
    if sketch == "minres":
        return _minres(K, b, z, r, tol, max_iter, floor)
    block = min(K.p, 8) if block_size is None else min(K.p, int(block_size))
    if sketch in _ONE_ROW and K.dense is not None and is_numpy_namespace(xp) and use_numba(xp, engine):
        return _one_row_numba(K, b, z, r, sketch, tol, max_iter, rng, floor)
    return _sketch_loop(K, b, z, r, sketch, tol, max_iter, rng, block, floor)


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


def _sketch_loop(K, b, z, r, sketch, tol, max_iter, rng, block, floor):
    """Vectorized sketch-and-project loop (any namespace, explicit or matrix-free ``K``)."""
    xp = K.xp
    p = K.p
    if sketch == "kaczmarz_weighted":
        row_sq = np.asarray(to_host(K.row_norms_sq()), dtype=np.float64)  # p host scalars (explicit copy)
        probs = row_sq / row_sq.sum()
    on_host = is_numpy_namespace(xp)  # residual read every iteration on the host, every chunk elsewhere
    n_iter = 0
    while n_iter < max_iter:
        if _done(xp, z, r, tol, floor):
            break
        chunk = min(_CHUNK, max_iter - n_iter)
        if sketch in ("gaussian", "gaussian_block"):
            width = 1 if sketch == "gaussian" else block
            draws = xp.astype(to_namespace(rng.standard_normal((chunk, p, width)), xp, K.device), K.dtype)
        elif sketch == "kaczmarz":
            draws = rng.integers(p, size=(chunk, 1))
        elif sketch == "kaczmarz_weighted":
            draws = rng.choice(p, size=(chunk, 1), p=probs)
        else:
            draws = np.stack([rng.choice(p, size=block, replace=False) for _ in range(chunk)])
        for t in range(chunk):
            if sketch in ("gaussian", "gaussian_block"):
                S = draws[t, ...]
                U = xp.stack([K.matvec(S[:, j]) for j in range(S.shape[1])], axis=1)  # K^T S = K S
                rhs = xp.matmul(xp.matrix_transpose(S), r[:, None])
            else:
                idx = draws[t]
                U = K.columns(idx)  # K^T S for coordinate sketches (K symmetric)
                rhs = xp.take(r, xp.asarray(idx, device=K.device))[:, None]
            step = _project(xp, U, rhs)
            z = z - step
            r = r - K.matvec(step)
            n_iter += 1
            if n_iter % _REFRESH == 0:
                r = K.matvec(z) - b
            if on_host and _done(xp, z, r, tol, floor):
                return z, r, n_iter
    return z, r, n_iter


def _done(xp, z, r, tol, floor):
    """Whether ``||r|| <= max(tol, floor ||z||)`` (one device synchronisation)."""
    return float(xp.linalg.vector_norm(r)) <= max(tol, floor * float(xp.linalg.vector_norm(z)))


def _project(xp, U, rhs):
    """The step ``U (U^T U)^+ rhs`` (the projection of sketch-and-project).

    For blocks it is ``pinv(U^T) rhs``, from an SVD of ``U`` rather than the
    Gram matrix ``U^T U``, whose condition number is squared.
    """
    if U.shape[1] == 1:
        denom = xp.sum(U * U)
        return U[:, 0] * (rhs[0, 0] / xp.where(denom > 0, denom, xp.ones_like(denom)))
    return (xp.linalg.pinv(xp.matrix_transpose(U)) @ rhs)[:, 0]


def _minres(K, b, z, r, tol, max_iter, floor):
    """MINRES (Paige-Saunders) on ``K dz = -r`` from ``z``; residual norm read every few steps."""
    xp = K.xp
    beta1 = xp.linalg.vector_norm(r)
    if float(beta1) <= tol:
        return z, r, 0
    v_old = xp.zeros_like(r)
    v = -r / beta1
    w_old, w_older = xp.zeros_like(r), xp.zeros_like(r)
    beta, eta = beta1, beta1
    c_old, s_old, c, s = 1.0, 0.0, 1.0, 0.0
    dz = xp.zeros_like(r)
    n_iter = 0
    while n_iter < max_iter:
        Av = K.matvec(v)
        alpha = xp.sum(v * Av)
        v_new = Av - alpha * v - beta * v_old
        beta_new = xp.linalg.vector_norm(v_new)
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
        v_old = v
        v = v_new / xp.where(beta_new > 0, beta_new, xp.ones_like(beta_new))
        beta = beta_new
        n_iter += 1
        if n_iter % 10 == 0 or n_iter == max_iter:
            if float(xp.abs(eta)) <= max(tol, floor * float(xp.linalg.vector_norm(z + dz))) or float(beta_new) == 0.0:
                break
    z = z + dz
    return z, K.matvec(z) - b, n_iter

