"""
Lasso: regularization path and cross-validated choice of alpha
==============================================================

:func:`optlib.linear_model.lasso_path` solves the Lasso at 100 alphas from
``alpha_max`` (all coefficients zero) down to ``1e-3 alpha_max``, each solve
warm-started from the previous one and screened by the working-set rule, and
returns the duality gap of every point. :class:`optlib.linear_model.LassoCV`
runs such a path on each cross-validation fold, picks the alpha of smallest
mean test error, and refits on all the data. Left: the coefficient paths
(true support in colour); right: the test error of each fold and their mean,
with the chosen ``alpha_``.

Set ``OPTLIB_EXAMPLE_QUICK=1`` for a smoke-test run (a smaller problem).
"""

# %%
# Setup
# -----
import os
from pathlib import Path

import matplotlib

if not os.environ.get("DISPLAY"):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from optlib.linear_model import LassoCV, lasso_path

QUICK = os.environ.get("OPTLIB_EXAMPLE_QUICK", "").strip().lower() in ("1", "true", "yes")
N, P, K = (100, 200, 5) if QUICK else (300, 1000, 10)
try:
    OUT_DIR = Path(os.environ.get("OPTLIB_EXAMPLES_OUTPUT", Path(__file__).resolve().parent))
except NameError:  # run interactively, without __file__
    OUT_DIR = Path(os.environ.get("OPTLIB_EXAMPLES_OUTPUT", "."))

rng = np.random.default_rng(0)
X = rng.standard_normal((N, P))
w_true = np.zeros(P)
w_true[:K] = rng.choice([-1.0, 1.0], K) * rng.uniform(1.0, 3.0, K)
y = X @ w_true + rng.standard_normal(N)

# %%
# The path (centred data: the path has no intercept) and the cross-validation
# ---------------------------------------------------------------------------
Xc, yc = X - X.mean(axis=0), y - y.mean()
alphas, coefs, gaps = lasso_path(Xc, yc, eps=1e-3, n_alphas=100)
print(f"path: {len(alphas)} alphas, largest duality gap {gaps.max():.2e}")
cv = LassoCV(cv=5, alphas=100).fit(X, y)
print(f"LassoCV: alpha_ = {cv.alpha_:.4f}, {np.count_nonzero(cv.coef_)} nonzero coefficients "
      f"(true support: {K})")

# %%
# Figure
# ------
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
for j in range(P):
    ax1.semilogx(alphas, coefs[j], color=f"C{j}" if j < K else "0.8", lw=1.5 if j < K else 0.5)
ax1.axvline(cv.alpha_, color="k", ls="--", label="LassoCV alpha_")
ax1.invert_xaxis()
ax1.set_xlabel("alpha")
ax1.set_ylabel("coefficient")
ax1.set_title(f"lasso_path, {N} x {P}")
ax1.legend()
ax2.semilogx(cv.alphas_, cv.mse_path_, ":", lw=0.8)
ax2.semilogx(cv.alphas_, cv.mse_path_.mean(axis=1), "k", lw=2, label="mean over folds")
ax2.axvline(cv.alpha_, color="k", ls="--", label="alpha_")
ax2.invert_xaxis()
ax2.set_xlabel("alpha")
ax2.set_ylabel("test mean squared error")
ax2.set_title("LassoCV, 5 folds")
ax2.legend()
fig.tight_layout()
fig.savefig(OUT_DIR / "lasso_path_cv.png", dpi=100)
