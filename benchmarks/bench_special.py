#!/usr/bin/env python
"""Benchmark: log modified Bessel functions, optlib vs SciPy.

Usage::

    python benchmarks/bench_special.py [--quick] [--device gpu] [--repeats N] [--n-check M]

Problem
-------
The issue's set: ``n = 10^6`` points (``--quick``: ``10^5``) with ``x``
log-uniform in [1e-3, 1e5] and ``v`` log-uniform in [1e-2, 1e4], fixed seed.

Implementations
---------------
* optlib ``log_iv(v, x)`` / ``log_kv(v, x)``: numba kernels (the default engine
  for NumPy input), timed with all of numba's threads and with one thread;
  also the vectorized array-API path (``engine="xp"``) on NumPy, for reference.
* SciPy: ``log(ive(v, x)) + x`` and ``log(kve(v, x)) - x`` (single-threaded).
* ``--device gpu``: optlib on CuPy arrays, with its CUDA ``ElementwiseKernel``
  (the default for CuPy input) and with the array-API path, when CuPy and a
  GPU are available; otherwise the script says so. Times include the
  device synchronisation, not host-device transfers (the data are created
  on the device once).

Protocol
--------
Each implementation is warmed up (numba compilation or cache load, CuPy
kernel compilation) on a slice of the data, then timed ``--repeats`` times
(default 7; 3 with ``--quick``); the median wall-clock time is reported, with
its ratio to SciPy's. The fraction of non-finite outputs is counted on the
whole set. Accuracy is the issue's measure
``|computed - reference| / max(1, |reference|)`` on a ``--n-check``-point
subsample (default 2000), the reference coming from mpmath at 34 digits
(``besseli`` where its series is short, otherwise the trapezoidal rule on
Schlaefli's integral in steepest-descent form; the trapezoidal rule on the
shifted integral ``1/2 int exp(-x cosh t + v t) dt`` for ``K``). SciPy's
maximum error is taken over its finite values only.
"""

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

try:
    import optlib
except ImportError:  # running from a source checkout without installation
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import optlib

import scipy
from scipy.special import ive, kve

from optlib.special import log_iv, log_kv
from optlib.special._mpmath_reference import reference_log_iv, reference_log_kv

RESULTS = Path(__file__).resolve().parent / "results"


# -- data and reference ---------------------------------------------------------------


def make_points(n, seed=0):
    rng = np.random.default_rng(seed)
    x = 10.0 ** rng.uniform(-3, 5, n)
    v = 10.0 ** rng.uniform(-2, 4, n)
    return v, x


def mp_reference(v, x, kind, dps=34):
    """log I_v(x) or log K_v(x) as an mpmath number (see optlib/special/_mpmath_reference.py)."""
    return (reference_log_iv if kind == "iv" else reference_log_kv)(v, x, dps)


def max_error(values, refs):
    """Max of |value - ref| / max(1, |ref|) over the finite values; number of non-finite ones."""
    import mpmath as mp

    worst, bad = 0.0, 0
    for val, ref in zip(values, refs):
        if not np.isfinite(val):
            bad += 1
            continue
        worst = max(worst, float(abs(mp.mpf(float(val)) - ref) / max(1, abs(ref))))
    return worst, bad


# -- timing ----------------------------------------------------------------------------------


def timed(fn, repeats, sync=None):
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        if sync is not None:
            sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def machine_description():
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import numba

    return (
        f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} logical cores; "
        f"Python {platform.python_version()}, NumPy {np.__version__}, SciPy {scipy.__version__}, "
        f"numba {numba.__version__} ({numba.get_num_threads()} threads), optlib {optlib.__version__}"
    )


def gpu_namespace():
    try:
        import cupy

        cupy.cuda.runtime.getDeviceCount()
        cupy.zeros(1).sum()
    except Exception as exc:  # noqa: BLE001 - any failure means no usable GPU
        return None, f"no GPU available ({type(exc).__name__}: {exc})"
    return cupy, cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()


# -- main ------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1e5 points, 3 repeats, 500-point accuracy check")
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu", help="also time optlib on a CuPy GPU")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--n-check", type=int, default=None, help="points of the mpmath accuracy check")
    args = parser.parse_args(argv)
    n = 10**5 if args.quick else 10**6
    repeats = args.repeats or (3 if args.quick else 7)
    n_check = args.n_check or (500 if args.quick else 2000)

    import numba

    v, x = make_points(n)
    n_threads = numba.get_num_threads()

    impls = {
        "iv": [
            ("SciPy `log(ive(v, x)) + x`", lambda a, b: np.log(ive(a, b)) + b, None),
            (f"optlib `log_iv` (numba, {n_threads} threads)", lambda a, b: log_iv(a, b), n_threads),
            ("optlib `log_iv` (numba, 1 thread)", lambda a, b: log_iv(a, b), 1),
            ("optlib `log_iv` (array-API path, NumPy)", lambda a, b: log_iv(a, b, engine="xp"), None),
        ],
        "kv": [
            ("SciPy `log(kve(v, x)) - x`", lambda a, b: np.log(kve(a, b)) - b, None),
            (f"optlib `log_kv` (numba, {n_threads} threads)", lambda a, b: log_kv(a, b), n_threads),
            ("optlib `log_kv` (numba, 1 thread)", lambda a, b: log_kv(a, b), 1),
            ("optlib `log_kv` (array-API path, NumPy)", lambda a, b: log_kv(a, b, engine="xp"), None),
        ],
    }

    gpu_note = None
    if args.device == "gpu":
        cp, gpu_note = gpu_namespace()
        if cp is None:
            print(gpu_note)
        else:
            vg, xg = cp.asarray(v), cp.asarray(x)
            sync = cp.cuda.Device().synchronize
            for kind, f in (("iv", log_iv), ("kv", log_kv)):
                impls[kind].append((f"optlib `log_{kind}` (CuPy kernel, {gpu_note})", (vg, xg, sync, f), None))
                xp_f = (lambda g: lambda a, b: g(a, b, engine="xp"))(f)
                impls[kind].append((f"optlib `log_{kind}` (CuPy, array-API path)", (vg, xg, sync, xp_f), None))

    # accuracy subsample and its reference (computed once)
    idx = np.random.default_rng(1).choice(n, size=min(n_check, n), replace=False)
    print(f"computing the mpmath reference on {idx.size} points ...", flush=True)
    t0 = time.perf_counter()
    refs = {kind: [mp_reference(v[i], x[i], kind) for i in idx] for kind in ("iv", "kv")}
    print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)

    rows = []
    for kind, entries in impls.items():
        scipy_time = None
        for name, fn, threads in entries:
            if isinstance(fn, tuple):  # GPU entry
                vg, xg, sync, f = fn
                f(vg[:1000], xg[:1000])
                sync()
                t, out = timed(lambda: f(vg, xg), repeats, sync)
                out = out.get()
            else:
                if threads is not None:
                    numba.set_num_threads(threads)
                with np.errstate(all="ignore"):
                    fn(v[:2000], x[:2000])  # warm-up: JIT / cache load
                    fn(v[: 50_000], x[: 50_000])
                    t, out = timed(lambda: fn(v, x), repeats)
                numba.set_num_threads(n_threads)
            nonfinite = float(np.mean(~np.isfinite(out)))
            err, _ = max_error(out[idx], refs[kind])
            if scipy_time is None:
                scipy_time = t
            rows.append((kind, name, t, scipy_time / t, nonfinite, err))
            print(f"{name:55s} {t:8.4f} s  x{scipy_time / t:6.2f}  non-finite {100 * nonfinite:6.2f} %  max err {err:.1e}", flush=True)

    lines = [
        f"# bench_special{' (quick)' if args.quick else ''}",
        "",
        f"{datetime.date.today().isoformat()} -- {machine_description()}",
        "",
        f"{n:.0e} points, x log-uniform in [1e-3, 1e5], v log-uniform in [1e-2, 1e4] (seed 0); "
        f"median of {repeats} timed runs after warm-up; accuracy: max |err| / max(1, |ref|) against mpmath "
        f"(34 digits) on a {idx.size}-point subsample (SciPy: over its finite values).",
        "",
        "| function | implementation | time (s) | speed-up vs SciPy | non-finite | max error |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for kind, name, t, ratio, nonfinite, err in rows:
        fname = "log I_v(x)" if kind == "iv" else "log K_v(x)"
        lines.append(f"| {fname} | {name} | {t:.4f} | {ratio:.2f} | {100 * nonfinite:.2f} % | {err:.1e} |")
    if gpu_note is not None and args.device == "gpu" and "no GPU" in gpu_note:
        lines += ["", f"GPU: {gpu_note}."]
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    RESULTS.mkdir(exist_ok=True)
    out_file = RESULTS / ("bench_special_quick.md" if args.quick else "bench_special.md")
    out_file.write_text(text)
    print(f"written to {out_file}")


if __name__ == "__main__":
    main()
