"""
Matrix completion: recovery against sampling rate, and runtime against |Omega|
==============================================================================

Incoherent rank-``k`` matrices (:func:`optlib.datasets.make_low_rank_completion`)
are observed at a growing fraction of their entries. Left: relative error of
alternating minimization (:func:`optlib.completion.robust_altmin`, exact
solves), its sketch-preconditioned variant, the l1 sub-gradient method
(:func:`optlib.completion.subgradient_recovery`, entry-sampling case) and the
Soft-Impute baseline (:func:`optlib.completion.soft_impute`): the factorized
methods switch from failure to exact recovery within a narrow band of
sampling rates (a phase transition), Soft-Impute keeps the bias of its
nuclear-norm shrinkage. Right: runtime of ``robust_altmin`` against the
number of observations on a log-log scale (100 observations per row), with
the fitted slope; ``benchmarks/bench_completion.py`` measures it up to
``|Omega| = 1e7``.

Set ``OPTLIB_EXAMPLE_QUICK=1`` for a smoke-test run (smaller matrices, fewer
rates).
"""

# %%
# Setup
# -----
import os
import time
import warnings
from pathlib import Path

import matplotlib

if not os.environ.get("DISPLAY"):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from optlib.completion import robust_altmin, soft_impute, subgradient_recovery
from optlib.datasets import make_low_rank_completion

QUICK = os.environ.get("OPTLIB_EXAMPLE_QUICK", "").strip().lower() in ("1", "true", "yes")
N, RANK = (80, 3) if QUICK else (200, 5)
RATES = (0.1, 0.3) if QUICK else (0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3)
SIZES = (100, 200) if QUICK else (200, 400, 800, 1600, 3200)
try:
    OUT_DIR = Path(os.environ.get("OPTLIB_EXAMPLES_OUTPUT", Path(__file__).resolve().parent))
except NameError:  # run interactively, without __file__
    OUT_DIR = Path(os.environ.get("OPTLIB_EXAMPLES_OUTPUT", "."))

METHODS = {
    "altmin (exact)": lambda d, s: robust_altmin(d, RANK, shape=s, tol=1e-10, random_state=0),
    "altmin (sketch)": lambda d, s: robust_altmin(d, RANK, shape=s, solver="sketch", tol=1e-10, random_state=0),
    "sub-gradient l1": lambda d, s: subgradient_recovery(d, rank=RANK, shape=s, max_iter=300 if QUICK else 10_000),
    "soft_impute": lambda d, s: soft_impute(d, RANK, shape=s, random_state=0),
}


def rel_error(res, P):
    M = P.U @ P.V.T
    return np.linalg.norm(res.U @ res.V.T - M) / np.linalg.norm(M)


# %%
# Recovery error against the sampling rate
# ----------------------------------------
errors = {name: [] for name in METHODS}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # below the transition the solvers do not converge
    for rate in RATES:
        P = make_low_rank_completion(N, N, RANK, sampling_rate=rate, random_state=0)
        for name, fit in METHODS.items():
            errors[name].append(max(rel_error(fit((P.rows, P.cols, P.data), P.shape), P), 1e-16))
            print(f"rate {rate:.2f}  {name:16s} rel. error {errors[name][-1]:.2e}")

# %%
# Runtime against the number of observations
# ------------------------------------------
robust_altmin((P.rows, P.cols, P.data), RANK, shape=P.shape, max_iter=2)  # compile outside the timings
counts, seconds = [], []
for n in SIZES:
    P = make_low_rank_completion(n, n, RANK, sampling_rate=min(1.0, 100 / n), random_state=0)
    t0 = time.perf_counter()
    robust_altmin((P.rows, P.cols, P.data), RANK, shape=P.shape, tol=1e-9, random_state=0)
    counts.append(P.rows.size)
    seconds.append(time.perf_counter() - t0)
    print(f"|Omega| = {counts[-1]:9d}  {seconds[-1]:.3f} s")
slope = np.polyfit(np.log(counts), np.log(seconds), 1)[0]
print(f"log-log slope: {slope:.2f}")

# %%
# Figure
# ------
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
for name, errs in errors.items():
    ax1.semilogy(RATES, errs, "o-", label=name)
ax1.set_xlabel("sampling rate")
ax1.set_ylabel("relative Frobenius error")
ax1.set_title(f"{N} x {N}, rank {RANK}")
ax1.legend()
ax2.loglog(counts, seconds, "o-", label=f"altmin (exact), slope {slope:.2f}")
ax2.set_xlabel("|Omega|")
ax2.set_ylabel("time (s)")
ax2.set_title("runtime, 100 observations per row")
ax2.legend()
fig.tight_layout()
fig.savefig(OUT_DIR / "completion_phase_transition.png", dpi=100)
