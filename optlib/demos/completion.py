"""Matrix-completion family demo."""

import numpy as np

from . import DemoRow, timed

FAMILY = "matrix completion"


def robust_altmin_demo():
    """Rank-10 1000 x 1000 from 5% of the entries, 10% of them grossly corrupted, against the true matrix."""
    from ..completion import robust_altmin
    from ..datasets import make_low_rank_completion

    P = make_low_rank_completion(1000, 1000, 10, sampling_rate=0.05, outlier_fraction=0.1, random_state=0)
    warm = make_low_rank_completion(50, 50, 2, sampling_rate=0.5, random_state=0)
    robust_altmin((warm.rows, warm.cols, warm.data), 2, shape=warm.shape)  # compile outside the timing
    res, seconds = timed(robust_altmin, (P.rows, P.cols, P.data), 10, shape=P.shape, robust=True, tol=1e-10,
                         max_iter=300, random_state=0)
    M = P.U @ P.V.T
    err = np.linalg.norm(res.U @ res.V.T - M) / np.linalg.norm(M)
    return DemoRow(family=FAMILY, problem="rank 10, 1000 x 1000, 5% observed, 10% outliers",
                   solver="robust_altmin (trimmed LS, then Huber IRLS; numba)", seconds=seconds,
                   reference="the generator's true low-rank matrix", reference_seconds=None,
                   accuracy=f"rel. Frobenius error {err:.1e}", ok=err <= 1e-4)


DEMOS = [robust_altmin_demo]
