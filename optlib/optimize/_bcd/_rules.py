"""Partitions into blocks and block selection rules of BCD.

Partitions (fixed blocks of ``block_size`` coordinates, the last one smaller
when ``block_size`` does not divide ``n``):

* ``"order"`` -- contiguous chunks ``0..tau-1, tau..2 tau-1, ...``;
* ``"sort"`` -- coordinates sorted by ``L_i``, then chunked, so each block
  has similar constants;
* ``"avg"`` -- coordinates sorted by ``L_i`` and taken alternately from the
  small and the large end (smallest, largest, second smallest, ...), then
  chunked, so the blocks have similar average constants;
* ``"variable"`` -- no fixed partition: any ``tau`` coordinates may form
  the block of an iteration (VB rules).

Selection rules, scored from the gradient ``g`` (the greedy ones) with the
scaled proximal-step score ``r_i(L) = sqrt(2 s_i(L))`` where ``s_i(L)`` is
the decrease of the model ``g_i d + L d^2 / 2 + h(x_i + d) - h(x_i)`` at
its minimiser; without a penalty ``r_i(L) = |g_i| / sqrt(L)``:

================  ====================================  =====================================
rule              fixed blocks                          variable blocks
================  ====================================  =====================================
``"cyclic"``      blocks in turn                        the order partition in turn
``"random"``      uniform block                         ``tau`` coordinates uniformly
``"lipschitz"``   ``P(b) ~ L_b``                        ``tau`` coordinates, ``P(i) ~ L_i``
``"gs"``          ``max ||g_b||``                       ``tau`` largest ``|g_i|``
``"gsl"``         ``max ||g_b|| / sqrt(L_b)``           ``tau`` largest ``|g_i| / sqrt(sum_j |H_ij|)``
``"gsd"``         ``max sum_b |g_i| / sqrt(L_i)``       ``tau`` largest ``|g_i| / sqrt(L_i)``
``"gsq"``         ``max g_b^T H_b^{-1} g_b``            best of candidate blocks (below)
================  ====================================  =====================================

``"gs"`` uses the uniform constant ``max_i L_i`` in ``r_i`` (the same
ranking as ``|g_i|`` without a penalty). With a penalty, ``"gsq"`` scores
as ``"gsd"`` (the block quadratic model with a nonsmooth term has no closed
form).

Variable-block GSQ (no penalty) approximates ``argmax_b g_b^T H_b^{-1} g_b``
over all blocks of ``tau`` coordinates. It keeps, among these candidate
blocks, the one with the largest ``g_b^T H_b^{-1} g_b``:

1. the support after ``n_iht`` iterative hard-thresholding steps
   ``d <- top_tau(d - mu (g + H d))``, ``mu = 1 / lambda_max(H)``, started
   from the GSD block with ``d = -g_i / L_i`` (the approximation the paper
   describes);
2. the GSD block and the GS block;
3. a greedy forward selection. Starting from the empty block, it adds, one
   at a time, the coordinate of largest gain
   ``(g_j - h_jS H_SS^{-1} g_S)^2 / (H_jj - h_jS H_SS^{-1} h_Sj)``, taken
   from the ``2 tau`` best coordinates by the GSD score and by the GS
   score.

On problem A the step ``mu`` is so small that the hard-thresholding steps
never leave the GSD block; candidate 3 supplies the gain over GSD-VB that
the paper reports.
"""

from ..._backend import device, use_numba
from ._design import lambda_max_sym

__all__ = ["PARTITIONS", "SELECTIONS", "Selector", "make_partition"]

PARTITIONS = ("order", "sort", "avg", "variable")
SELECTIONS = ("cyclic", "random", "lipschitz", "gs", "gsl", "gsd", "gsq")
GREEDY = ("gs", "gsl", "gsd", "gsq")


def make_partition(partition, L, block_size):
    """Fixed blocks as a list of host index arrays, from host constants ``L`` (NumPy)."""
    import numpy as np

    n = L.shape[0]
    if partition in ("order", "variable"):
        order = np.arange(n)
    else:
        order = np.argsort(L, kind="stable")
        if partition == "avg":
            lo, hi = 0, n - 1
            alternated = np.empty(n, dtype=np.int64)
            for t in range(n):
                if t % 2 == 0:
                    alternated[t] = order[lo]
                    lo += 1
                else:
                    alternated[t] = order[hi]
                    hi -= 1
            order = alternated
    return [np.sort(order[s : s + block_size]) for s in range(0, n, block_size)]


def padded_blocks(blocks, block_size, n):
    """``(n_blocks, block_size)`` int64 array of the blocks, padded with ``n``."""
    import numpy as np

    out = np.full((len(blocks), block_size), n, dtype=np.int64)
    for k, b in enumerate(blocks):
        out[k, : b.size] = b
    return out


def _pad_matrix(xp, H, tau):
    s = H.shape[0]
    if s == tau:
        return H
    dev = device(H)
    top = xp.concat([H, xp.zeros((s, tau - s), dtype=H.dtype, device=dev)], axis=1)
    bottom = xp.concat(
        [
            xp.zeros((tau - s, s), dtype=H.dtype, device=dev),
            xp.eye(tau - s, dtype=H.dtype, device=dev),
        ],
        axis=1,
    )
    return xp.concat([top, bottom], axis=0)


def _floor(xp, L):
    """Constants made positive: zeros raised to ``1e-12 max(L)`` (or 1)."""
    top = float(xp.max(L)) if L.shape[0] else 1.0
    floor = 1e-12 * top if top > 0 else 1.0
    return xp.clip(L, floor, None)


class FixedBlocks:
    """The blocks of a fixed partition with their precomputed constants."""

    def __init__(self, xp, datafit, blocks, block_size, need_matrices):
        import numpy as np

        self.xp = xp
        self.host = blocks
        n = datafit.n_vars
        self.n_blocks = len(blocks)
        dev = device(datafit.lipschitz())
        self.index = [xp.asarray(b, device=dev) for b in blocks]
        self.padded_host = padded_blocks(blocks, block_size, n)
        self.padded = xp.asarray(self.padded_host, device=dev)
        self.flat = xp.reshape(self.padded, (-1,))
        self.sizes = np.array([b.size for b in blocks])
        H = [
            _pad_matrix(xp, datafit.hessian_bound_block(i), block_size)
            for i in self.index
        ]
        H = xp.stack(H)
        # the identity padding of short blocks must not raise their L_b
        if self.sizes.min() < block_size:
            Lb = xp.stack(
                [lambda_max_sym(xp, datafit.hessian_bound_block(i)) for i in self.index]
            )
        else:
            Lb = lambda_max_sym(xp, H)
        self.Lb = _floor(xp, Lb)
        self.H = H if need_matrices else None
        self.Hinv = None
        if need_matrices:
            eye = xp.eye(block_size, dtype=H.dtype, device=dev)
            jitter = 1e-12 if H.dtype == xp.float64 else 1e-6
            scale = xp.max(xp.linalg.diagonal(H), axis=1)
            scale = xp.where(scale > 0, scale, xp.ones_like(scale))
            self.Hinv = xp.linalg.inv(H + (jitter * scale)[:, None, None] * eye)
        self.block_of = None

    def coordinate_block_constants(self, n):
        """``L_b`` of the block holding each coordinate (flat, length ``n``)."""
        xp = self.xp
        Lrep = xp.reshape(xp.broadcast_to(self.Lb[:, None], self.padded.shape), (-1,))
        out = xp.zeros(n + 1, dtype=self.Lb.dtype, device=device(self.Lb))
        from ._design import scatter_add

        out = scatter_add(xp, out, self.flat, Lrep)  # pads all land on index n
        return out[:n]


class Selector:
    """Chooses the block of each iteration.

    ``select(it, st)`` returns ``(idx, k)``: the coordinates (an integer
    array of the datafit's namespace) and the fixed block number (``None``
    for variable blocks).
    """

    def __init__(
        self,
        rule,
        partition,
        datafit,
        penalty,
        block_size,
        rng,
        engine,
        need_matrices,
        n_iht=10,
    ):
        import numpy as np

        xp = self.xp = datafit.xp
        self.rule, self.partition, self.datafit, self.penalty = (
            rule,
            partition,
            datafit,
            penalty,
        )
        self.tau = block_size
        self.rng = rng
        self.n = n = datafit.n_vars
        self.numba = use_numba(xp, engine)
        self.n_iht = n_iht
        self.greedy = rule in GREEDY
        L = _floor(xp, datafit.lipschitz())
        self.L = L
        self.dev = device(L)
        L_host = np.asarray(_to_host(L), dtype=np.float64)
        self.variable = partition == "variable"
        blocks = make_partition(partition, L_host, block_size)
        need_fixed_matrices = not self.variable and (need_matrices or rule == "gsq")
        self.fixed = (
            None
            if self.variable
            else FixedBlocks(xp, datafit, blocks, block_size, need_fixed_matrices)
        )
        self.cyclic_blocks = blocks if self.variable else None
        self.cyclic_index = (
            [xp.asarray(b, device=self.dev) for b in blocks] if self.variable else None
        )
        self.Lmax = float(xp.max(L))
        if rule == "lipschitz":
            if self.variable:
                self.p = L_host / L_host.sum()
            else:
                Lb = np.asarray(_to_host(self.fixed.Lb), dtype=np.float64)
                self.p = Lb / Lb.sum()
        self.scale = None  # per-coordinate constant of the score
        if self.greedy:
            if rule == "gs":
                self.scale = xp.full(n, self.Lmax, dtype=L.dtype, device=self.dev)
            elif rule == "gsl":
                self.scale = (
                    self.fixed.coordinate_block_constants(n)
                    if not self.variable
                    else _floor(xp, datafit.diag_bound())
                )
            else:
                self.scale = L
        self.quadratic_scores = rule == "gsq" and penalty.is_zero
        self.gsq_forward = True

    # -- scores ----------------------------------------------------------------
    def coordinate_scores(self, g, x):
        """``r_i`` for every coordinate with the rule's constants."""
        if self.numba:
            import numpy as np

            from ._numba import coordinate_scores

            pen = self.penalty
            out = np.empty_like(g)
            return coordinate_scores(
                g,
                x,
                self.scale,
                pen.l1,
                pen.l2,
                pen.lower,
                pen.upper,
                not pen.is_zero,
                out,
            )
        return self.penalty.coordinate_scores(self.xp, g, x, self.scale)

    def block_scores(self, g, x):
        """Score of every fixed block (the rule's criterion, up to a monotone map)."""
        xp = self.xp
        fb = self.fixed
        if self.quadratic_scores:
            if self.numba:
                import numpy as np

                from ._numba import block_quadratic_scores

                return block_quadratic_scores(
                    g, fb.padded_host, fb.Hinv, np.empty(fb.n_blocks, dtype=g.dtype)
                )
            gext = xp.concat([g, xp.zeros(1, dtype=g.dtype, device=self.dev)])
            G = xp.reshape(xp.take(gext, fb.flat), fb.padded.shape)
            return xp.sum(G * xp.matmul(fb.Hinv, G[:, :, None])[:, :, 0], axis=1)
        r = self.coordinate_scores(g, x)
        squared = self.rule != "gsd" and self.rule != "gsq"
        if self.numba:
            import numpy as np

            from ._numba import block_scores

            return block_scores(
                r, fb.padded_host, squared, np.empty(fb.n_blocks, dtype=r.dtype)
            )
        rext = xp.concat([r, xp.zeros(1, dtype=r.dtype, device=self.dev)])
        R = xp.reshape(xp.take(rext, fb.flat), fb.padded.shape)
        return xp.sqrt(xp.sum(R * R, axis=1)) if squared else xp.sum(R, axis=1)

    def top(self, scores, k):
        """Indices of the ``k`` largest scores (decreasing, ties to the lower index)."""
        if self.numba:
            import numpy as np

            from ._numba import topk

            return topk(scores, k, np.empty(k, dtype=np.int64))
        return self.xp.argsort(-scores, stable=True)[:k]

    # -- selection -------------------------------------------------------------
    def select(self, it, st):
        import numpy as np

        xp = self.xp
        rule = self.rule
        if self.variable:
            if rule == "cyclic":
                return self.cyclic_index[(it - 1) % len(self.cyclic_index)], None
            if rule == "random":
                idx = np.sort(self.rng.choice(self.n, self.tau, replace=False))
                return xp.asarray(idx, device=self.dev), None
            if rule == "lipschitz":
                idx = np.sort(
                    self.rng.choice(self.n, self.tau, replace=False, p=self.p)
                )
                return xp.asarray(idx, device=self.dev), None
            g = self.datafit.gradient(st)
            if self.quadratic_scores:
                return self._gsq_variable(g), None
            return self.top(self.coordinate_scores(g, st.x), self.tau), None
        fb = self.fixed
        if rule == "cyclic":
            k = (it - 1) % fb.n_blocks
        elif rule == "random":
            k = int(self.rng.integers(fb.n_blocks))
        elif rule == "lipschitz":
            k = int(self.rng.choice(fb.n_blocks, p=self.p))
        else:
            scores = self.block_scores(self.datafit.gradient(st), st.x)
            k = int(self.top(scores, 1)[0])
        return fb.index[k], k

    def _gsq_variable(self, g):
        """Variable-block GSQ: iterative hard thresholding on the quadratic model (see module doc)."""
        xp = self.xp
        df = self.datafit
        tau = self.tau
        start = self.top(xp.abs(g) / xp.sqrt(self.L), tau)
        mu = 1.0 / max(df.hessian_bound_lmax(), 1e-300)
        mask = self._mask(start)
        d = -(g / self.L) * mask
        support = start
        for _ in range(self.n_iht):
            v = d - mu * (g + df.hessian_bound_matvec(d))
            support = self.top(xp.abs(v), tau)
            d = v * self._mask(support)
        gs = self.top(xp.abs(g), tau)
        candidates = [support, start, gs]
        if self.gsq_forward:
            candidates.append(self._forward_block(g, start, gs))
        best, best_q = None, -1.0
        for cand in candidates:
            cand = xp.sort(xp.asarray(cand, device=self.dev))
            q = _quadratic_progress(xp, df.hessian_bound_block(cand), xp.take(g, cand))
            if q > best_q:
                best, best_q = cand, q
        return best

    def _forward_block(self, g, gsd, gs):
        """Greedy forward selection of ``tau`` coordinates maximising ``g_b^T H_b^{-1} g_b``.

        Candidates: the ``2 tau`` best coordinates by the GSD and by the GS
        score. Adding ``j`` to ``S`` gains ``(g_j - h_jS H_SS^{-1} g_S)^2 /
        (H_jj - h_jS H_SS^{-1} h_Sj)`` (a Schur complement), evaluated for all
        candidates at once.
        """
        xp = self.xp
        tau = self.tau
        k = min(2 * tau, self.n)
        score_d = xp.abs(g) / xp.sqrt(self.L)
        pool = xp.concat(
            [
                xp.asarray(self.top(score_d, k), device=self.dev),
                xp.asarray(self.top(xp.abs(g), k), device=self.dev),
            ]
        )
        pool = xp.unique_values(pool)
        H = self.datafit.hessian_bound_block(pool)
        gp = xp.take(g, pool)
        diag = xp.linalg.diagonal(H)
        P = pool.shape[0]
        chosen = []
        taken = xp.zeros(P, dtype=xp.bool, device=self.dev)
        neg = xp.full(P, -1.0, dtype=g.dtype, device=self.dev)
        for _ in range(min(tau, P)):
            if chosen:
                S = xp.asarray(chosen, dtype=pool.dtype, device=self.dev)
                HS = xp.take(xp.take(H, S, axis=0), S, axis=1)
                hSP = xp.take(H, S, axis=0)
                sol = xp.linalg.solve(
                    HS
                    + 1e-12
                    * xp.max(diag)
                    * xp.eye(S.shape[0], dtype=H.dtype, device=self.dev),
                    xp.concat([xp.take(gp, S)[:, None], hSP], axis=1),
                )
                num = gp - hSP.T @ sol[:, 0]
                den = diag - xp.sum(hSP * sol[:, 1:], axis=0)
            else:
                num, den = gp, diag
            ok = xp.logical_and(den > 1e-12 * xp.max(diag), xp.logical_not(taken))
            gain = xp.where(ok, num * num / xp.where(ok, den, xp.ones_like(den)), neg)
            j = int(xp.argmax(gain))
            if float(gain[j]) < 0:
                break
            chosen.append(j)
            taken = xp.logical_or(taken, xp.arange(P, device=self.dev) == j)
        return xp.take(pool, xp.asarray(chosen, dtype=pool.dtype, device=self.dev))

    def _mask(self, idx):
        from ._design import scatter_add

        xp = self.xp
        z = xp.zeros(self.n, dtype=self.L.dtype, device=self.dev)
        return scatter_add(
            xp,
            z,
            xp.asarray(idx, device=self.dev),
            xp.ones(idx.shape[0], dtype=z.dtype, device=self.dev),
        )


def _quadratic_progress(xp, H, gb):
    eye = xp.eye(H.shape[0], dtype=H.dtype, device=device(H))
    scale = float(xp.max(xp.linalg.diagonal(H))) if H.shape[0] else 1.0
    jitter = (1e-12 if H.dtype == xp.float64 else 1e-6) * (scale if scale > 0 else 1.0)
    sol = xp.linalg.solve(H + jitter * eye, gb[:, None])[:, 0]
    return float(xp.sum(gb * sol))


def _to_host(a):
    from ..._backend import to_host

    return to_host(a)
