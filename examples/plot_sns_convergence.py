"""
Sinkhorn-Newton-Sparse vs Sinkhorn: convergence
===============================================

Entropic optimal transport between two random 2-D point clouds (n = 800,
squared-Euclidean cost normalised to max 1, reg = 1e-3). Log-domain Sinkhorn
(:func:`optlib.ot.sinkhorn_log`) converges linearly and slowly at small
``reg``; Sinkhorn-Newton-Sparse (:func:`optlib.ot.sinkhorn_newton_sparse`,
Tang et al., ICLR 2024) runs 20 Sinkhorn iterations, then Newton steps with a
sparsified Hessian that converge superlinearly. The plot shows the L1 marginal
error against iterations and against wall-clock time.

Set ``OPTLIB_EXAMPLE_QUICK=1`` for a smoke-test run (n = 200).
"""

import os
import warnings
from pathlib import Path

import matplotlib

if not os.environ.get("DISPLAY"):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from optlib.ot import sinkhorn_log, sinkhorn_newton_sparse

QUICK = os.environ.get("OPTLIB_EXAMPLE_QUICK", "").strip().lower() in ("1", "true", "yes")
N = 200 if QUICK else 800
REG = 1e-3
rng = np.random.default_rng(0)
x, y = rng.random((N, 2)), rng.random((N, 2))
M = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
M /= M.max()
a = b = np.full(N, 1.0 / N)

# warm-up (numba compilation) on a tiny problem, so that times are honest
sinkhorn_newton_sparse(a[:20] * N / 20, b[:20] * N / 20, M[:20, :20], REG)

# %%
# Solve with both methods
# -----------------------
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    _, log_sk = sinkhorn_log(a, b, M, REG, log=True, numItermax=20_000, stopThr=1e-9)
    _, log_sns = sinkhorn_newton_sparse(a, b, M, REG, log=True, stopThr=1e-9)
h_sk, h_sns = log_sk["result"].history, log_sns["result"].history
n_warm = len(log_sns["err"]) - len(h_sns)  # warm-up entries of the error log
print(f"Sinkhorn: {log_sk['niter']} iterations, {h_sk['time'][-1]:.2f} s")
print(f"SNS: {log_sns['niter_sinkhorn']} Sinkhorn + {log_sns['niter_newton']} Newton iterations, {h_sns['time'][-1]:.2f} s")

# %%
# Plot
# ----
# SNS iterations are numbered after its warm-up Sinkhorn iterations.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
ax1.semilogy(h_sk["iteration"], h_sk["marginal_error"], label="Sinkhorn (log domain)")
ax1.semilogy(np.arange(1, n_warm + 1), log_sns["err"][:n_warm], "C1:", label="SNS warm-up")
ax1.semilogy(np.array(h_sns["iteration"]) + n_warm, h_sns["marginal_error"], "C1o-", label="SNS Newton")
ax1.set_xlabel("iteration")
ax1.set_ylabel("L1 marginal error")
ax1.set_xscale("log")
ax1.legend()
ax2.semilogy(h_sk["time"], h_sk["marginal_error"], label="Sinkhorn (log domain)")
ax2.semilogy(h_sns["time"], h_sns["marginal_error"], "C1o-", label="SNS (Newton stage)")
ax2.set_xlabel("time (s)")
ax2.legend()
fig.suptitle(f"n = {N}, reg = {REG:g}")
fig.tight_layout()
out = Path(os.environ.get("OPTLIB_EXAMPLES_OUTPUT", Path(__file__).resolve().parent)) / "sns_convergence.png"
fig.savefig(out, dpi=100)
print(f"saved {out}")
