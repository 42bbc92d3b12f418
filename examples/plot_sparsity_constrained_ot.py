"""
Sparsity-constrained optimal transport: at most k sources per target
====================================================================

Quadratically regularised OT already gives sparse plans, but it cannot bound
how many source points feed one target. Sparsity-constrained OT (Liu,
Puigcerver and Blondel, ICLR 2023) adds that bound: every column of the plan
has at most ``k`` nonzeros (e.g. ``k`` tokens per expert in a mixture of
experts). :func:`optlib.ot.sparsity_constrained_ot` solves its semi-dual with
L-BFGS and exact sparse-simplex projections, so each column of the plan has
exactly the target's mass and at most ``k`` nonzeros.

This example transports 30 source points to 30 target points in the plane
(squared Euclidean cost normalised to max 1) for ``k = 1, 2, 5``, plots each
plan as a matrix and as segments between matched points, and compares with
the unconstrained quadratically regularised plan (``k = n``) and the exact
OT cost (POT's ``ot.emd2``, when POT is installed).

The constrained problem is nonconvex and is solved through a concave
relaxation (the semi-dual): the column marginals of its plan are exact, but
for ``1 < k < n`` the row marginals are met only approximately (the printed
row-sum error), so the plan's cost ``<T, M>`` can even fall slightly below
the exact OT cost. ``k = 1`` here gives a permutation, i.e. the exact OT
plan between uniform point clouds of equal size.
"""

# %%
# Problem
# -------

import os
import time
from pathlib import Path

import matplotlib

if not os.environ.get("DISPLAY"):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from optlib.ot import sparsity_constrained_ot

try:
    OUT_DIR = Path(os.environ.get("OPTLIB_EXAMPLES_OUTPUT", Path(__file__).resolve().parent))
except NameError:  # run interactively, without __file__
    OUT_DIR = Path(os.environ.get("OPTLIB_EXAMPLES_OUTPUT", "."))

rng = np.random.default_rng(0)
n = 30
xs = rng.standard_normal((n, 2)) * [1.0, 0.5]
xt = rng.standard_normal((n, 2)) * [0.5, 1.0] + [2.5, 0.5]
M = ((xs[:, None, :] - xt[None, :, :]) ** 2).sum(-1)
M /= M.max()
a = np.full(n, 1.0 / n)
b = np.full(n, 1.0 / n)
gamma = 0.5  # large enough for the unconstrained plan to spread over several sources

# %%
# Solve for k = 1, 2, 5 and without constraint
# --------------------------------------------

ks = [1, 2, 5, n]
plans, logs = {}, {}
t0 = time.perf_counter()
for k in ks:
    plans[k], logs[k] = sparsity_constrained_ot(a, b, M, gamma, k, formulation="semi_dual", log=True, numItermax=2000)
elapsed = time.perf_counter() - t0

try:
    import ot

    emd_cost = float(ot.emd2(a, b, M))
except ImportError:  # POT is optional
    emd_cost = None

print(f"gamma = {gamma}, {n} x {n} points, solved 4 problems in {elapsed:.2f} s")
print(" k   max nnz/col   <T, M>    column-sum error   row-sum error   iterations")
for k in ks:
    P = plans[k]
    print(
        f"{k:2d}   {int((P > 0).sum(axis=0).max()):11d}   {logs[k]['cost']:.5f}   "
        f"{np.abs(P.sum(0) - b).max():16.1e}   {np.abs(P.sum(1) - a).max():13.1e}   {logs[k]['niter']:10d}"
    )
if emd_cost is not None:
    print(f"exact OT cost (ot.emd2): {emd_cost:.5f}")

# %%
# Plot the plans
# --------------
# Top: the plan matrices (rows = sources, columns = targets). Bottom: a
# segment from source to target for every nonzero entry, its opacity
# proportional to the transported mass.

fig, axes = plt.subplots(2, len(ks), figsize=(4.0 * len(ks), 7.5))
vmax = max(P.max() for P in plans.values())
for col, k in enumerate(ks):
    P = plans[k]
    title = f"k = {k}" if k < n else f"k = n = {n} (quadratic OT)"
    ax = axes[0, col]
    ax.imshow(P, cmap="magma_r", vmin=0, vmax=vmax, interpolation="nearest")
    ax.set_title(f"{title}\n{int((P > 0).sum())} nonzeros, <T, M> = {logs[k]['cost']:.4f}", fontsize=10)
    ax.set_xlabel("target j")
    ax.set_ylabel("source i")
    ax = axes[1, col]
    i_idx, j_idx = np.nonzero(P)
    for i, j in zip(i_idx, j_idx):
        ax.plot([xs[i, 0], xt[j, 0]], [xs[i, 1], xt[j, 1]], color="tab:gray", alpha=float(P[i, j] / P.max()), lw=1.2)
    ax.scatter(*xs.T, s=18, color="tab:blue", label="source", zorder=3)
    ax.scatter(*xt.T, s=18, color="tab:orange", label="target", zorder=3)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if col == 0:
        ax.legend(loc="lower left", fontsize=8)
fig.suptitle(f"Sparsity-constrained OT: at most k nonzeros per column (gamma = {gamma})")
fig.tight_layout()
out_png = OUT_DIR / "sparsity_constrained_ot.png"
fig.savefig(out_png, dpi=90)
print(f"saved {out_png}")
