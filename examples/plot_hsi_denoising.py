"""
Hyperspectral denoising: before/after band images and per-band PSNR
===================================================================

A simulated scene (:func:`optlib.datasets.make_hyperspectral_scene`: 5
endmembers, Gaussian-random-field abundances, 180 bands) is corrupted twice:
white Gaussian noise at 20 dB, and mixed noise (30 dB plus band-dependent
noise, impulses on 10% of the bands and column stripes on a third of them,
:func:`~optlib.datasets.add_band_noise`, :func:`~optlib.datasets.add_impulse_noise`,
:func:`~optlib.datasets.add_stripes`). The Gaussian cube is denoised by
HyRes and FastHyDe, the mixed one by FastHyDe (its default ``robust="auto"``
finds the impulse and stripe bands and cleans only those), HyMiNoR and
L1HyMixDe. Top: one band before and after; bottom: the PSNR of every band
(:func:`optlib.metrics.band_psnr`) and the mean (MPSNR) in the legend.

Set ``OPTLIB_EXAMPLE_QUICK=1`` for a smoke-test run (a smaller cube).
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

from optlib.datasets import (
    add_band_noise,
    add_impulse_noise,
    add_stripes,
    make_hyperspectral_scene,
)
from optlib.hyperspectral import (
    denoise_fasthyde,
    denoise_hyminor,
    denoise_hyres,
    denoise_l1hymixde,
)
from optlib.metrics import band_psnr

QUICK = os.environ.get("OPTLIB_EXAMPLE_QUICK", "").strip().lower() in ("1", "true", "yes")
SIDE, BANDS = (40, 48) if QUICK else (128, 180)
try:
    OUT_DIR = Path(os.environ.get("OPTLIB_EXAMPLES_OUTPUT", Path(__file__).resolve().parent))
except NameError:  # run interactively, without __file__
    OUT_DIR = Path(os.environ.get("OPTLIB_EXAMPLES_OUTPUT", "."))

# %%
# Two noisy versions of one scene
# -------------------------------
gauss = make_hyperspectral_scene(SIDE, SIDE, 5, n_bands=BANDS, abundances="grf", snr=20, random_state=0)
clean = gauss.clean
mixed = make_hyperspectral_scene(SIDE, SIDE, 5, n_bands=BANDS, abundances="grf", snr=30, random_state=0).Y
mixed, _ = add_band_noise(mixed, (15.0, 30.0), random_state=1)
mixed, impulse_bands = add_impulse_noise(mixed, 0.05, fraction=0.1, random_state=2)
mixed, stripe_bands = add_stripes(mixed, fraction=1 / 3, random_state=3)

runs = {
    "Gaussian 20 dB": (gauss.Y, {"HyRes": denoise_hyres(gauss.Y), "FastHyDe": denoise_fasthyde(gauss.Y)}),
    "mixed noise": (mixed, {"FastHyDe": denoise_fasthyde(mixed),
                            "HyMiNoR": denoise_hyminor(mixed), "L1HyMixDe": denoise_l1hymixde(mixed)}),
}

# %%
# Band images and per-band PSNR
# -----------------------------
band = int(stripe_bands[0])  # a striped band of the mixed cube
fig, axes = plt.subplots(2, 4, figsize=(15, 7.5))
show = [("clean", clean), ("Gaussian noisy", gauss.Y), ("Gaussian: FastHyDe", runs["Gaussian 20 dB"][1]["FastHyDe"]),
        ("mixed: L1HyMixDe", runs["mixed noise"][1]["L1HyMixDe"])]
lo, hi = np.percentile(clean[:, :, band], [1, 99])
for ax, (title, cube) in zip(axes[0], show):
    ax.imshow(cube[:, :, band], cmap="gray", vmin=lo, vmax=hi)
    ax.set_title(f"{title}, band {band}")
    ax.axis("off")
axes[1, 0].imshow(mixed[:, :, band], cmap="gray", vmin=lo, vmax=hi)
axes[1, 0].set_title(f"mixed noisy, band {band}")
axes[1, 0].axis("off")
for ax, (name, (noisy, outs)) in zip(axes[1, 1:3], runs.items()):
    scores = band_psnr(noisy, clean)
    ax.plot(scores, color="0.6", label=f"noisy ({np.mean(scores):.1f} dB)")
    for method, out in outs.items():
        scores = band_psnr(out, clean)
        ax.plot(scores, label=f"{method} ({np.mean(scores):.1f} dB)")
        print(f"{name:15s} {method:18s} MPSNR {np.mean(scores):.2f} dB")
    ax.set_xlabel("band")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(name)
    ax.legend(fontsize=8)
axes[1, 3].axis("off")
axes[1, 3].text(0, 0.5, f"{SIDE} x {SIDE} x {BANDS} cube\nimpulse bands: {len(impulse_bands)}\n"
                f"striped bands: {len(stripe_bands)}", fontsize=11)
fig.tight_layout()
fig.savefig(OUT_DIR / "hsi_denoising.png", dpi=100)
