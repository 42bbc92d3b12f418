"""
Hyperspectral unmixing with outlier bands: FCLS, SUnSAL and RRLbS
==================================================================

A simulated scene (:func:`optlib.datasets.make_hyperspectral_scene`): four
smooth endmember spectra, Gaussian-random-field abundances, white noise at
25 dB, and 10% of the bands striped (5-15% of the columns offset). Three
unmixings:

- FCLS (:func:`optlib.hyperspectral.fcls`) with the endmembers found by VCA;
- SUnSAL (:func:`optlib.hyperspectral.sunsal`) on a library made of the VCA
  endmembers and distractor spectra, with a small l1 weight and sum-to-one;
- RRLbS (:func:`optlib.hyperspectral.rrlbs`), blind: it refines the
  endmembers and abundances under an l2,1 loss over bands (striped bands
  weigh little) and a guided lp sparsity.

Top: the true abundance maps and each method's (matched to the truth);
bottom: the true endmembers, VCA's and RRLbS's (grey lines: the striped
bands). Set ``OPTLIB_EXAMPLE_QUICK=1`` for a smaller scene.
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

from optlib import ConvergenceWarning
from optlib.datasets import make_hyperspectral_scene, make_synthetic_spectra
from optlib.hyperspectral import fcls, rrlbs, sunsal, vca
from optlib.metrics import abundance_rmse, sad
from optlib.metrics._spectral import match_endmembers

QUICK = os.environ.get("OPTLIB_EXAMPLE_QUICK", "").strip().lower() in ("1", "true", "yes")
SIDE, BANDS = (24, 60) if QUICK else (48, 120)
try:
    OUT_DIR = Path(os.environ.get("OPTLIB_EXAMPLES_OUTPUT", Path(__file__).resolve().parent))
except NameError:  # run interactively
    OUT_DIR = Path(os.environ.get("OPTLIB_EXAMPLES_OUTPUT", "."))
P = 4

scene = make_hyperspectral_scene(SIDE, SIDE, P, n_bands=BANDS, abundances="grf", snr=25.0, corruption="stripes",
                                 random_state=0)
Y = scene.Y.reshape(-1, BANDS)

# %%
# Unmixing
# --------
E_vca = np.clip(vca(Y, P, random_state=0).endmembers, 0.0, None)
library = np.vstack([E_vca, make_synthetic_spectra(8, BANDS, random_state=1) * 0.5])
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    results = {
        "FCLS (VCA)": (E_vca, fcls(Y, E_vca)),
        "SUnSAL": (E_vca, sunsal(Y, library, lam=1e-3, sum_to_one=True, max_iter=300).x[:, :P]),
        "RRLbS": None,
    }
    rr = rrlbs(Y, P, init=results["FCLS (VCA)"], max_iter=100)
results["RRLbS"] = (rr.endmembers, rr.abundances)
ref = scene.abundances.reshape(-1, P)
for name, (E, A) in results.items():
    perm = match_endmembers(E, scene.endmembers)
    results[name] = (E[perm], A[:, perm])
    print(f"{name:11s} SAD {sad(E, scene.endmembers):.4f} rad  abundance RMSE {abundance_rmse(A[:, perm], ref):.2f}")

# %%
# Abundance maps and endmembers
# -----------------------------
rows = [("truth", ref)] + [(name, A) for name, (_, A) in results.items()]
fig, axes = plt.subplots(len(rows) + 1, P, figsize=(2.2 * P, 2.1 * (len(rows) + 1)))
for r, (name, A) in enumerate(rows):
    for k in range(P):
        ax = axes[r, k]
        ax.imshow(A[:, k].reshape(SIDE, SIDE), vmin=0, vmax=1, cmap="viridis")
        ax.set_xticks([])
        ax.set_yticks([])
        if k == 0:
            ax.set_ylabel(name)
        if r == 0:
            ax.set_title(f"endmember {k}")
wl = scene.wavelengths
for k in range(P):
    ax = axes[-1, k]
    ax.plot(wl, scene.endmembers[k], "k", lw=2, label="truth")
    for name, (E, _) in results.items():
        if name != "SUnSAL":  # SUnSAL uses the VCA endmembers
            ax.plot(wl, E[k], lw=1, label=name)
    for b in scene.corrupted_bands:
        ax.axvline(wl[b], color="0.85", lw=0.8, zorder=0)
    ax.set_xlabel("wavelength (um)")
axes[-1, 0].legend(fontsize=7)
fig.tight_layout()
fig.savefig(OUT_DIR / "unmixing.png", dpi=90)
