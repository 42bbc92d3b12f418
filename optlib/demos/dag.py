"""DAG-learning family demo."""

import warnings

import numpy as np

from . import DemoRow, timed

FAMILY = "DAG learning"


def colide_demo():
    """CoLiDE-NV on a 10-node ER2 graph with unequal noise variances, against the true graph."""
    from ..dag import CoLiDE, colide, is_dag
    from ..datasets import simulate_dag, simulate_linear_sem
    from ..metrics import count_accuracy

    d = 10
    W = simulate_dag(d, 2 * d, "ER", random_state=0)
    scale = np.sqrt(np.random.default_rng(0).uniform(0.5, 10.0, d))
    X = simulate_linear_sem(W, 1000, noise_scale=scale, random_state=0)
    with warnings.catch_warnings():  # compile the kernels outside the timed run
        warnings.simplefilter("ignore")
        colide(X[:, :3], warm_iter=2, max_iter=2)
    est, seconds = timed(CoLiDE("nonequal").fit, X)
    acc = count_accuracy(W, est.adjacency_)
    scale_err = float(np.max(np.abs(est.noise_scale_ - scale) / scale))
    ok = is_dag(est.adjacency_) and acc["shd"] <= 2 and scale_err <= 0.2
    return DemoRow(family=FAMILY, problem=f"linear SEM, ER2 DAG d={d}, n=1000, unequal noise",
                   solver="CoLiDE-NV (numba)", seconds=seconds,
                   reference="the simulated true graph and noise scales", reference_seconds=None,
                   accuracy=f"SHD {acc['shd']}, TPR {acc['tpr']:.2f}, noise scales within {scale_err:.0%}",
                   ok=ok)


DEMOS = [colide_demo]
