"""Block updates of BCD: gradient (``lb``, ``la``), matrix (``hb``), ``newton`` and ``optimal``.

Each update computes a step ``d`` on the chosen block, accepts it into the
datafit state and returns the change of the penalty value. With a penalty
the steps are proximal:

* ``"lb"`` -- ``d = prox_{h / L_b}(x_b - g_b / L_b) - x_b`` with the block
  constant ``L_b = lambda_max`` of the block Hessian bound;
* ``"la"`` -- the same with ``L_b`` found by backtracking (doubling until
  ``f(x + d) <= f(x) + g_b^T d + L_b ||d||^2 / 2``), started from the
  largest remembered constant of the block's coordinates (initially ``L_i``)
  and remembered per coordinate (halved after a first-try success so it
  can also decrease); the change of ``f`` comes from the datafit without
  cancellation against ``f`` itself, so the test stays reliable near the
  optimum;
* ``"hb"`` -- minimiser of ``g_b^T d + d^T H_b d / 2 + h(x_b + d)`` with
  ``H_b`` the block Hessian bound (a Cholesky-type solve without penalty,
  an inner accelerated proximal-gradient solve with one);
* ``"newton"`` -- the same model with the true block Hessian, then an
  Armijo backtracking line search on the objective (proximal Newton with a
  penalty);
* ``"optimal"`` -- exact block minimisation, for quadratic datafits
  (``hb`` with the exact Hessian, inner solve to full accuracy).

``lb``, ``hb`` and ``optimal`` decrease the objective monotonically (they
minimise an upper bound); ``la`` and ``newton`` do by their line searches.
"""

from ..._backend import device
from ._design import scatter_add

__all__ = ["UPDATES", "BlockUpdater"]

UPDATES = ("lb", "la", "hb", "newton", "optimal")
_ARMIJO = 1e-4


def _eps(xp, dtype):
    return 2.220446049250313e-16 if dtype == xp.float64 else 1.1920929e-07


class BlockUpdater:
    """Applies one update rule; holds the remembered constants of ``"la"``."""

    def __init__(self, update, datafit, penalty, selector, inner_max_iter=500):
        self.update = update
        self.df = datafit
        self.pen = penalty
        self.sel = selector
        self.xp = datafit.xp
        self.inner_max_iter = inner_max_iter
        if update == "la":
            self.L_memory = self.xp.asarray(selector.L, copy=True)

    def step(self, st, idx, k):
        """Update block ``idx`` (fixed block ``k`` or ``None``); return the change of ``h``."""
        xp = self.xp
        gb = self.df.block_gradient(st, idx)
        xb = xp.take(st.x, idx)
        u = self.update
        if u == "lb":
            Lb = self._block_constant(idx, k)
            d = self._prox_step(xb, gb, Lb)
            delta_f, aux = self.df.trial(st, idx, d, gb)
        elif u == "la":
            d, delta_f, aux = self._la(st, idx, xb, gb)
        elif u in ("hb", "optimal"):
            H = self._bound_matrix(idx, k)
            d = self._model_step(xb, gb, H, k, exact=u == "optimal")
            delta_f, aux = self.df.trial(st, idx, d, gb)
        else:  # newton
            if self.df.is_quadratic:
                H = self._bound_matrix(idx, k)
                d = self._model_step(xb, gb, H, k, exact=True)
                delta_f, aux = self.df.trial(st, idx, d, gb)
            else:
                d, delta_f, aux = self._newton(st, idx, xb, gb)
        dh = self._penalty_change(xb, d)
        self.df.accept(st, idx, d, aux, st.f + delta_f)
        return dh

    # -- pieces ----------------------------------------------------------------
    def _block_constant(self, idx, k):
        xp = self.xp
        if k is not None:
            return float(self.sel.fixed.Lb[k])
        H = self.df.hessian_bound_block(idx)
        L = float(xp.linalg.eigvalsh(H)[-1])
        return L if L > 0 else max(self.sel.Lmax * 1e-12, 1e-300)

    def _bound_matrix(self, idx, k):
        fb = self.sel.fixed
        if k is not None and fb is not None and fb.H is not None:
            s = int(fb.sizes[k])
            H = fb.H[k, ...]
            return H if s == H.shape[0] else H[:s, :s]
        return self.df.hessian_bound_block(idx)

    def _prox_step(self, xb, gb, L):
        pen = self.pen
        if pen.is_zero:
            return -gb / L
        return pen.prox(self.xp, xb - gb / L, 1.0 / L) - xb

    def _penalty_change(self, xb, d):
        pen = self.pen
        if pen.is_zero:
            return 0.0
        xp = self.xp
        return pen.value(xp, xb + d) - pen.value(xp, xb)

    def _solve(self, H, gb, k=None):
        """``H^{-1} gb`` (precomputed inverse for a fixed block, else a solve with a tiny ridge)."""
        xp = self.xp
        fb = self.sel.fixed
        if (
            k is not None
            and fb is not None
            and fb.Hinv is not None
            and int(fb.sizes[k]) == fb.Hinv.shape[1]
        ):
            return fb.Hinv[k, ...] @ gb
        n = H.shape[0]
        eye = xp.eye(n, dtype=H.dtype, device=device(H))
        scale = float(xp.max(xp.linalg.diagonal(H)))
        jitter = (1e-12 if H.dtype == xp.float64 else 1e-6) * (
            scale if scale > 0 else 1.0
        )
        return xp.linalg.solve(H + jitter * eye, gb[:, None])[:, 0]

    def _model_step(self, xb, gb, H, k, exact):
        """Minimiser of ``gb^T d + d^T H d / 2 + h(xb + d)``."""
        xp = self.xp
        if self.pen.is_zero:
            return -self._solve(H, gb, k if H.shape[0] == self.sel.tau else None)
        # inner FISTA on the block model, started at the lb step; keep the better of start and end
        L = float(xp.linalg.eigvalsh(H)[-1])
        L = L if L > 0 else 1.0
        pen = self.pen
        d0 = self._prox_step(xb, gb, L)
        tol = (1e2 if exact else 1e4) * _eps(xp, xb.dtype)
        y, d, t = d0, d0, 1.0
        for _ in range(
            self.inner_max_iter if exact else max(self.inner_max_iter // 5, 20)
        ):
            grad = gb + H @ y
            d_new = pen.prox(xp, xb + y - grad / L, 1.0 / L) - xb
            t_new = (1.0 + (1.0 + 4.0 * t * t) ** 0.5) / 2.0
            y = d_new + ((t - 1.0) / t_new) * (d_new - d)
            change = float(xp.max(xp.abs(d_new - d)))
            d, t = d_new, t_new
            if change <= tol * (1.0 + float(xp.max(xp.abs(xb + d)))):
                break
        if self._model_value(xb, gb, H, d) > self._model_value(xb, gb, H, d0):
            d = d0
        return d

    def _model_value(self, xb, gb, H, d):
        xp = self.xp
        return float(xp.sum(gb * d) + 0.5 * xp.sum(d * (H @ d))) + self._penalty_change(
            xb, d
        )

    def _la(self, st, idx, xb, gb):
        xp = self.xp
        L = float(xp.max(xp.take(self.L_memory, idx)))
        first = True
        for _ in range(60):
            d = self._prox_step(xb, gb, L)
            delta_f, aux = self.df.trial(st, idx, d, gb)
            gd, dd = float(xp.sum(gb * d)), float(xp.sum(d * d))
            tol = 1e2 * _eps(xp, xb.dtype) * (abs(gd) + L * dd)
            if delta_f <= gd + 0.5 * L * dd + tol:
                break
            L *= 2.0
            first = False
        keep = 0.5 * L if first else L
        old = xp.take(self.L_memory, idx)
        self.L_memory = scatter_add(xp, self.L_memory, idx, keep - old)
        return d, delta_f, aux

    def _newton(self, st, idx, xb, gb):
        xp = self.xp
        H = self.df.hessian_block(st, idx)
        d = self._model_step(xb, gb, H, None, exact=False)
        delta = float(xp.sum(gb * d)) + self._penalty_change(xb, d)
        if (
            not delta < 0
        ):  # not a descent direction (numerically): fall back to the lb step
            d = self._prox_step(xb, gb, self._block_constant(idx, None))
            delta_f, aux = self.df.trial(st, idx, d, gb)
            return d, delta_f, aux
        t = 1.0
        for _ in range(50):
            dt = t * d
            delta_f, aux = self.df.trial(st, idx, dt, gb)
            if delta_f + self._penalty_change(xb, dt) <= _ARMIJO * t * delta:
                return dt, delta_f, aux
            t *= 0.5
        zero = xp.zeros_like(d)
        delta_f, aux = self.df.trial(st, idx, zero, gb)
        return zero, delta_f, aux
