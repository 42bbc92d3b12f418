"""
Accuracy of the log modified Bessel functions: optlib vs SciPy
==============================================================

``I_v(x)`` overflows double precision as soon as ``x > 713`` and ``K_v(x)``
underflows for ``x > 705``; for large orders both leave the double range even
at moderate ``x``. The scaled SciPy functions ``ive`` and ``kve`` push the
limit back for large ``x`` but not for large ``v``, so ``log(ive(v, x)) + x``
and ``log(kve(v, x)) - x`` are non-finite on a large part of the (v, x)
plane. :func:`optlib.special.log_iv` and :func:`optlib.special.log_kv` work in
log space throughout (power series, Debye's uniform expansion, Temme's method
and an integral representation for ``K``) and stay finite and accurate to a
few ulps everywhere.

This example maps the error ``|computed - reference| / max(1, |reference|)``
of both libraries against mpmath (34 digits) on a log-spaced grid of orders
and arguments. Non-finite values are shown in black.

Set ``OPTLIB_EXAMPLE_QUICK=1`` for a smoke-test run (a coarse grid).
"""

# %%
# Setup
# -----
# A 60 x 60 grid over ``v`` in [1e-2, 1e5] and ``x`` in [1e-3, 1e6]. The mpmath
# reference takes about 20 s on one core: ``mpmath.besseli`` where its power
# series is short, and elsewhere the trapezoidal rule on two integral
# representations (see ``tests/special/test_bessel.py``), because
# ``mpmath.besseli(1e4, 1e4)`` alone would take minutes.

import os
import time
from pathlib import Path

import matplotlib

if not os.environ.get("DISPLAY"):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mpmath as mp
import numpy as np
from matplotlib.colors import LogNorm
from scipy.special import ive, kve

from optlib.special import log_iv, log_kv
from optlib.special._mpmath_reference import reference_log_iv, reference_log_kv

QUICK = os.environ.get("OPTLIB_EXAMPLE_QUICK", "").strip().lower() in ("1", "true", "yes")
N = 16 if QUICK else 60
DPS = 34
try:
    OUT_DIR = Path(os.environ.get("OPTLIB_EXAMPLES_OUTPUT", Path(__file__).resolve().parent))
except NameError:  # run interactively, without __file__
    OUT_DIR = Path(os.environ.get("OPTLIB_EXAMPLES_OUTPUT", "."))
t_start = time.perf_counter()

v_axis = np.logspace(-2, 5, N)
x_axis = np.logspace(-3, 6, N)
V, X = np.meshgrid(v_axis, x_axis, indexing="ij")


def reference(v, x, kind):
    """log I_v(x) (kind "iv") or log K_v(x) (kind "kv") with mpmath (integral forms where besseli is slow)."""
    return (reference_log_iv if kind == "iv" else reference_log_kv)(v, x, DPS)


refs = {kind: [[reference(a, b, kind) for a, b in zip(rv, rx)] for rv, rx in zip(V, X)] for kind in ("iv", "kv")}
print(f"mpmath reference on {N * N} points: {time.perf_counter() - t_start:.1f} s")

# %%
# Both libraries on the grid
# --------------------------

with np.errstate(all="ignore"):
    computed = {
        ("iv", "SciPy: log(ive(v, x)) + x"): np.log(ive(V, X)) + X,
        ("iv", "optlib: log_iv(v, x)"): log_iv(V, X),
        ("kv", "SciPy: log(kve(v, x)) - x"): np.log(kve(V, X)) - X,
        ("kv", "optlib: log_kv(v, x)"): log_kv(V, X),
    }


def error_map(values, ref):
    err = np.full(values.shape, np.nan)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if np.isfinite(values[i, j]):
                r = ref[i][j]
                err[i, j] = float(abs(mp.mpf(float(values[i, j])) - r) / max(1, abs(r)))
    return err


errors = {key: error_map(val, refs[key[0]]) for key, val in computed.items()}
for (kind, name), err in errors.items():
    print(f"{name:28s} max error {np.nanmax(err):.1e}   non-finite {100 * np.mean(np.isnan(err)):5.1f} %")

# %%
# Error maps
# ----------
# Black: non-finite result. The colour scale starts at the double-precision
# unit roundoff. SciPy's ``ive``/``kve`` underflow or overflow for orders
# above a few hundred unless ``x`` is comparable to ``v``; optlib stays near
# machine precision on the whole plane.

fig, axes = plt.subplots(2, 2, figsize=(10, 8.2), sharex=True, sharey=True)
norm = LogNorm(vmin=1e-17, vmax=1e-12)
cmap = plt.get_cmap("viridis").with_extremes(bad="black")
extent = [np.log10(x_axis[0]), np.log10(x_axis[-1]), np.log10(v_axis[0]), np.log10(v_axis[-1])]
for ax, ((kind, name), err) in zip(axes.ravel(), errors.items()):
    shown = np.where(np.isnan(err), np.nan, np.maximum(err, 1e-17))
    im = ax.imshow(shown, origin="lower", extent=extent, aspect="auto", cmap=cmap, norm=norm, interpolation="nearest")
    bad = 100 * np.mean(np.isnan(err))
    ax.set_title(f"{name}\nmax error {np.nanmax(err):.1e}, non-finite {bad:.0f} %", fontsize=10)
for ax in axes[1]:
    ax.set_xlabel("log10 x")
for ax in axes[:, 0]:
    ax.set_ylabel("log10 v")
fig.colorbar(im, ax=axes, label="|error| / max(1, |log f|)", shrink=0.85)
OUT_DIR.mkdir(parents=True, exist_ok=True)
out_png = OUT_DIR / "bessel_accuracy.png"
fig.savefig(out_png, dpi=110)
print(f"saved {out_png}; total runtime {time.perf_counter() - t_start:.1f} s")
