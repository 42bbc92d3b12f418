"""
AdaSketch-Newton: KKT residual per sketch, and the superlinear mode
===================================================================

:func:`optlib.optimize.minimize_eq` solves ``min f(x) s.t. c(x) = 0`` by
Newton steps whose KKT systems are solved inexactly by randomized sketching.
Left: the KKT residual ``||(grad_x L, c)||`` against Newton iterations on
a few Hock-Schittkowski problems and a constrained logistic regression, for
each sketch (default accuracy condition). Right: the local rate
``kkt_{k+1} / kkt_k`` on HS56 with a loose accuracy condition (``psi``
small): with ``theta_k = 1`` the inexact steps converge linearly (a constant
ratio), with ``superlinear=True`` (``theta_k = kkt_k^(1/2)``) the ratio falls
to zero, the superlinear rate of the paper's theorem.

Set ``OPTLIB_EXAMPLE_QUICK=1`` for a smoke-test run (fewer problems and sketches).
"""

# %%
# Setup
# -----
import os
import warnings
from pathlib import Path

import matplotlib

if not os.environ.get("DISPLAY"):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from optlib.datasets import load_constrained_problem, make_constrained_logistic
from optlib.optimize import minimize_eq

QUICK = os.environ.get("OPTLIB_EXAMPLE_QUICK", "").strip().lower() in ("1", "true", "yes")
PROBLEMS = ("HS7", "HS56") if QUICK else ("HS7", "HS56", "BT2", "logistic-wine")
SKETCHES = ("gaussian_block", "gaussian") if QUICK else ("gaussian_block", "block_kaczmarz", "gaussian",
                                                           "kaczmarz", "kaczmarz_weighted")
try:
    OUT_DIR = Path(os.environ.get("OPTLIB_EXAMPLES_OUTPUT", Path(__file__).resolve().parent))
except NameError:  # run interactively, without __file__
    OUT_DIR = Path(os.environ.get("OPTLIB_EXAMPLES_OUTPUT", "."))


def load(name):
    return make_constrained_logistic("wine", random_state=0) if name == "logistic-wine" else load_constrained_problem(name)


def solve(p, **kw):
    if p.v0 is not None:
        kw.setdefault("v0", p.v0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return minimize_eq(p.fun, p.x0, **p.minimize_kwargs(), random_state=0, **kw)


# %%
# KKT residual against Newton iterations, per sketch
# --------------------------------------------------
fig, axes = plt.subplots(1, len(PROBLEMS) + 1, figsize=(4 * (len(PROBLEMS) + 1), 3.6))
for ax, name in zip(axes, PROBLEMS):
    p = load(name)
    for sketch in SKETCHES:
        res = solve(p, sketch=sketch, tol=1e-10)
        ax.semilogy(res.kkt_history, marker=".", label=f"{sketch} ({sum(res.inner_iterations)} inner)")
    ax.set(title=f"{p.name} (n={p.n}, m={p.m})", xlabel="Newton iteration", ylabel="KKT residual")
    ax.legend(fontsize=7)

# %%
# Local rate: linear (theta = 1) against superlinear (theta_k -> 0)
# -----------------------------------------------------------------
ax = axes[-1]
p = load_constrained_problem("HS56")
for superlinear in (False, True):
    h = np.asarray(solve(p, sketch="gaussian", psi=1e-2, tol=1e-11, superlinear=superlinear).kkt_history)
    ratio = h[1:] / h[:-1]
    ax.semilogy(np.arange(1, len(h)), ratio, marker="o",
                label="superlinear=True" if superlinear else "theta = 1 (linear)")
    print(f"HS56, superlinear={superlinear}: {len(h) - 1} iterations, last ratios {np.round(ratio[-3:], 4)}")
ax.set(title="HS56, loose accuracy (psi=1e-2)", xlabel="Newton iteration k", ylabel="kkt_k / kkt_{k-1}")
ax.legend(fontsize=7)
fig.tight_layout()
out = OUT_DIR / "alm_sketch.png"
fig.savefig(out, dpi=90)
print(f"saved {out}")
