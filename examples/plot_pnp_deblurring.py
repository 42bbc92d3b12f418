"""
Plug-and-play ADMM: deblurring and inpainting with TV, wavelet and NLM priors
=============================================================================

The cameraman image is blurred by a 9 x 9 uniform kernel (circular) with
Gaussian noise of standard deviation 0.01 (top row), or half of its pixels
are lost at random with the same noise (bottom row). Each is restored by
:func:`optlib.optimize.pnp_admm` (30 iterations, exact FFT / mask
x-update) with three denoisers of :mod:`optlib.imaging`, each given the
noise level ``sigma = sqrt(lam / rho)`` explicitly:

* :class:`~optlib.imaging.TVDenoiser`: the exact prox of the isotropic total
  variation (Chambolle's algorithm, 3 warm-started iterations per call), so
  the iteration is ADMM on ``0.5 ||A x - y||^2 + lam TV(x)``;
* :class:`~optlib.imaging.WaveletDenoiser`: db4, 3 levels, universal threshold
  (deblurring) or BayesShrink (inpainting);
* :class:`~optlib.imaging.SkimageNLM`: scikit-image's non-local means (with
  continuation on ``rho`` for inpainting).

PSNR (:func:`optlib.metrics.psnr`) is printed and shown in the titles;
``benchmarks/bench_pnp.py`` times the same runs against scikit-image loops
and PyProximal.

Set ``OPTLIB_EXAMPLE_QUICK=1`` for a smoke-test run (128 x 128, 20
iterations).
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

from optlib.datasets import load_image
from optlib.imaging import SkimageNLM, TVDenoiser, WaveletDenoiser
from optlib.linop import CircularConvolution, Mask
from optlib.linop._fourier import uniform_psf
from optlib.metrics import psnr
from optlib.optimize import pnp_admm

QUICK = os.environ.get("OPTLIB_EXAMPLE_QUICK", "").strip().lower() in ("1", "true", "yes")
SIZE, N_ITER = (128, 20) if QUICK else (512, 30)
try:
    OUT_DIR = Path(os.environ.get("OPTLIB_EXAMPLES_OUTPUT", Path(__file__).resolve().parent))
except NameError:  # run interactively, without __file__
    OUT_DIR = Path(os.environ.get("OPTLIB_EXAMPLES_OUTPUT", "."))

x_true = load_image("camera", size=SIZE)
rng = np.random.default_rng(0)
noise = 0.01 * rng.standard_normal(x_true.shape)
blur = CircularConvolution(uniform_psf(9), x_true.shape)
mask = Mask(rng.random(x_true.shape) < 0.5)
PROBLEMS = {
    "deblurring": (blur, blur.forward(x_true) + noise),
    "inpainting": (mask, mask.forward(x_true + noise)),
}

# (denoiser factory, lam, rho, rho_factor) per problem; sigma = sqrt(lam / rho).
# NLM cannot fill the holes of an inpainting start (it matches the zeros as
# structure): continuation on rho (rho *= 1.15 per iteration) starts it at a
# large sigma = 0.32 that smooths them away, and ends at sigma = 0.04.
PRIORS = {
    "TV": {
        "deblurring": (lambda: TVDenoiser(tol=None, max_iter=3, warm_start=True), 4e-4, 3e-2, 1.0),
        "inpainting": (lambda: TVDenoiser(tol=None, max_iter=3, warm_start=True), 1e-3, 1e-2, 1.0),
    },
    "wavelet": {
        "deblurring": (lambda: WaveletDenoiser("db4", level=3, threshold="universal"), 1e-5, 1e-2, 1.0),
        "inpainting": (lambda: WaveletDenoiser("db4", level=3), 1e-3, 1e-1, 1.0),
    },
    "NLM": {
        "deblurring": (lambda: SkimageNLM(patch_distance=3 if QUICK else 6), 1e-4, 1e-2, 1.0),
        "inpainting": (lambda: SkimageNLM(patch_distance=3 if QUICK else 6), 1e-3, 1e-2, 1.15),
    },
}

# %%
# Restorations
# ------------
results = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for problem, (A, y) in PROBLEMS.items():
        results[(problem, "observed")] = (np.clip(y, 0, 1), 0.0)
        for prior, settings in PRIORS.items():
            make, lam, rho, rho_factor = settings[problem]
            t0 = time.perf_counter()
            x = pnp_admm(y, A, make(), lam=lam, rho=rho, rho_factor=rho_factor, max_iter=N_ITER, tol=0.0).x
            results[(problem, prior)] = (np.clip(x, 0, 1), time.perf_counter() - t0)
for (problem, method), (img, seconds) in results.items():
    print(f"{problem:10s} {method:8s} PSNR {psnr(img, x_true, data_range=1.0):6.2f} dB  {seconds:6.2f} s")

# %%
# Figure
# ------
columns = ["observed", *PRIORS]
fig, axes = plt.subplots(2, len(columns), figsize=(3.2 * len(columns), 6.8))
for row, problem in enumerate(PROBLEMS):
    for col, method in enumerate(columns):
        img, _ = results[(problem, method)]
        ax = axes[row, col]
        ax.imshow(img, cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{problem}: {method}\n{psnr(img, x_true, data_range=1.0):.2f} dB", fontsize=9)
        ax.axis("off")
fig.tight_layout()
fig.savefig(OUT_DIR / "pnp_deblurring.png", dpi=80)
