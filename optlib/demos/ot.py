"""Optimal-transport family demos."""

import contextlib
import io
import warnings

import numpy as np

from . import DemoRow, timed, warm_up

FAMILY = "optimal transport"


def _point_clouds(n, seed):
    rng = np.random.default_rng(seed)
    xs, xt = rng.random((n, 2)), rng.random((n, 2)) + 0.5
    M = ((xs[:, None, :] - xt[None, :, :]) ** 2).sum(-1)
    M /= M.max()
    return np.full(n, 1.0 / n), np.full(n, 1.0 / n), M


def sns_demo():
    """Sinkhorn-Newton-Sparse against POT's log-domain Sinkhorn run to 1e-13."""
    import ot as pot

    from ..ot import sinkhorn_newton_sparse

    n, reg = 200, 1e-2
    a, b, M = _point_clouds(n, 0)
    warm_up(sinkhorn_newton_sparse, a[:10] * n / 10, b[:10] * n / 10, M[:10, :10], reg)
    plan, seconds = timed(sinkhorn_newton_sparse, a, b, M, reg)
    reference, ref_seconds = timed(pot.sinkhorn, a, b, M, reg, method="sinkhorn_log", numItermax=100000,
                                   stopThr=1e-13)
    err = float(np.max(np.abs(plan - reference)))
    return DemoRow(FAMILY, f"entropic OT n={n}, reg={reg:g}", "ot.sinkhorn_newton_sparse", seconds,
                   "POT sinkhorn_log (stopThr 1e-13)", ref_seconds, f"max abs plan diff {err:.1e}", err <= 1e-8)


def _pot_sparsity_constrained(a, b, M, reg, k):
    """POT's semi-dual solver, quietened: POT 0.9 prints array shapes on every
    objective call and passes L-BFGS-B options that SciPy has deprecated;
    neither concerns the result."""
    import ot as pot

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        _, log = pot.smooth.smooth_ot_semi_dual(a.copy(), b.copy(), M.copy(), reg,
                                                reg_type="sparsity_constrained", max_nz=k, log=True)
    return log


def sparsity_constrained_demo():
    """Sparsity-constrained OT (k=2 per column): semi-dual objective against POT's ot.smooth."""
    from ..ot import sparsity_constrained_ot

    n, reg, k = 100, 0.1, 2
    a, b, M = _point_clouds(n, 1)
    options = {"formulation": "semi_dual", "numItermax": 5000, "log": True}
    warm_up(sparsity_constrained_ot, a[:10] * n / 10, b[:10] * n / 10, M[:10, :10], reg, k, **options)
    (plan, log), seconds = timed(sparsity_constrained_ot, a, b, M, reg, k, **options)
    pot_log, ref_seconds = timed(_pot_sparsity_constrained, a, b, M, reg, k)
    ours, theirs = float(log["fun"]), -float(pot_log["res"].fun)
    gain = (ours - theirs) / abs(theirs)
    sparse_ok = int(np.max(np.count_nonzero(plan, axis=0))) <= k
    return DemoRow(FAMILY, f"sparsity-constrained OT n={n}, k={k}", "ot.sparsity_constrained_ot (semi-dual)", seconds,
                   "POT ot.smooth semi-dual (L-BFGS-B)", ref_seconds,
                   f"semi-dual objective {gain:+.1e} rel. (higher is better); <= {k} nonzeros/column",
                   gain >= -1e-9 and sparse_ok)


DEMOS = [sns_demo, sparsity_constrained_demo]
