"""Hyperspectral family demo: FCLS against SciPy references; blind unmixing of a small scene."""

import numpy as np

from . import DemoRow, timed, warm_up

FAMILY = "hyperspectral"


def fcls_demo():
    """FCLS of 2,500 pixels x 180 bands x 8 endmembers against a SciPy nnls loop (and SLSQP on 20 pixels)."""
    from scipy.optimize import minimize, nnls

    from ..datasets import make_hyperspectral_scene
    from ..hyperspectral import fcls

    s = make_hyperspectral_scene(50, 50, 8, snr=30, random_state=0)
    Y, E = s.Y.reshape(-1, 180), s.endmembers
    warm_up(fcls, Y[:50], E)
    A, seconds = timed(fcls, Y, E)

    def nnls_loop(Y):  # sum-to-one by a heavily weighted extra row (the usual FCLS approximation)
        delta = 1e3 * np.abs(E).max()
        M = np.vstack([delta * np.ones((1, 8)), E.T])
        return np.array([nnls(M, np.concatenate([[delta], y]))[0] for y in Y])

    ref, ref_seconds = timed(nnls_loop, Y)
    G = E @ E.T
    slsqp = np.array([minimize(lambda a, b=E @ y: 0.5 * a @ G @ a - b @ a, np.full(8, 1 / 8),
                               jac=lambda a, b=E @ y: G @ a - b, bounds=[(0, None)] * 8,
                               constraints={"type": "eq", "fun": lambda a: a.sum() - 1.0},
                               method="SLSQP", options={"ftol": 1e-15, "maxiter": 500}).x for y in Y[:20]])
    err = float(np.abs(A - ref).max())
    err_qp = float(np.abs(A[:20] - slsqp).max())
    return DemoRow(family=FAMILY, problem="FCLS, 2,500 pixels x 180 bands x 8 endmembers",
                   solver="fcls (numba active set)", seconds=seconds,
                   reference="scipy nnls loop (augmented ASC row); SLSQP QP on 20 pixels",
                   reference_seconds=ref_seconds,
                   accuracy=f"max |dA| {err:.1e} (nnls), {err_qp:.1e} (SLSQP)", ok=err <= 1e-4 and err_qp <= 1e-6)


def blind_demo():
    """VCA + FCLS and RRLbS on a 24 x 24 scene with 10% striped bands, against the true endmembers."""
    from ..datasets import make_hyperspectral_scene
    from ..hyperspectral import rrlbs
    from ..hyperspectral._nmf import init_vca_fcls
    from ..metrics import sad

    s = make_hyperspectral_scene(24, 24, 4, n_bands=100, snr=30, purity=0.9, corruption="stripes", random_state=0)
    Y = s.Y.reshape(-1, 100)
    warm_up(rrlbs, Y[:64], 4, max_iter=2, random_state=0)
    start, ref_seconds = timed(init_vca_fcls, Y, 4, 0)
    res, seconds = timed(rrlbs, Y, 4, init=start, max_iter=200)
    sad_rr, sad_vca = sad(res.endmembers, s.endmembers), sad(start[0], s.endmembers)
    return DemoRow(family=FAMILY, problem="blind unmixing, 24 x 24 x 100, 4 endmembers, 10% striped bands",
                   solver="rrlbs (l2,1 loss, guided lp sparsity)", seconds=seconds,
                   reference="internal: VCA + FCLS (its start); the true endmembers", reference_seconds=ref_seconds,
                   accuracy=f"SAD {sad_rr:.3f} rad (VCA+FCLS {sad_vca:.3f})", ok=sad_rr <= sad_vca)


DEMOS = [fcls_demo, blind_demo]
