#!/usr/bin/env python
"""Benchmark: hyperspectral unmixing, optlib FCLS vs pysptools FCLS and a SciPy nnls loop.

Usage::

    python benchmarks/bench_unmixing.py [--quick] [--threads T] [--output PATH]

Problems
--------
Scenes from :func:`optlib.datasets.make_hyperspectral_scene`: 8 endmembers
drawn from the earthlib library (synthetic spectra when earthlib is not
installed), 180 bands, Dirichlet abundances, SNR 30 dB; 1e4 and 1e5 pixels
(``--quick``: 1e4).

Solvers
-------
* ``optlib``: :func:`optlib.hyperspectral.fcls` (numba active set) with
  ``--threads`` numba threads (default 1, as the anchors are single-threaded);
  the batched array-API path (``engine="xp"``) is timed too.
* ``pysptools``: ``pysptools.abundance_maps.amaps.FCLS``, one cvxopt QP per
  pixel in a Python loop. It is timed on the first 1,000 pixels (``--quick``:
  300) and its time is scaled linearly to the full size (its cost is
  per pixel); the table says so.
* ``scipy nnls``: ``scipy.optimize.nnls`` per pixel on the sum-to-one
  augmented system ``[delta 1^T; E^T] a = [delta; y]`` with
  ``delta = 1e3 * max |E|`` (the usual approximation of FCLS), on all pixels.

Protocol
--------
Numba kernels are compiled first; optlib times are the median of 3 runs,
the anchors run once. Accuracy: the largest absolute abundance difference
from optlib's solution (the exact FCLS optimum up to rounding; the test
suite checks it against an exact reference to 1e-8).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from _common import machine_description, median_time

from optlib.datasets import make_hyperspectral_scene
from optlib.hyperspectral import fcls


def _scene(n_pixels, rng):
    try:
        import earthlib  # noqa: F401

        source = "earthlib"
    except ImportError:
        source = "synthetic"
    side = int(np.sqrt(n_pixels))
    s = make_hyperspectral_scene(side, n_pixels // side, 8, endmembers=source, snr=30.0, random_state=rng)
    return s.Y.reshape(-1, s.Y.shape[-1]), s.endmembers, source


def _pysptools_fcls(Y, E):
    from pysptools.abundance_maps.amaps import FCLS

    return FCLS(Y, E)


def _scipy_nnls_loop(Y, E):
    from scipy.optimize import nnls

    delta = 1e3 * np.abs(E).max()
    M = np.vstack([delta * np.ones((1, E.shape[0])), E.T])
    out = np.empty((Y.shape[0], E.shape[0]))
    rhs = np.empty(M.shape[0])
    rhs[0] = delta
    for i, y in enumerate(Y):
        rhs[1:] = y
        out[i] = nnls(M, rhs)[0]
    return out


def run(args):
    rng = np.random.default_rng(0)
    sizes = [10_000] if args.quick else [10_000, 100_000]
    n_sub = 300 if args.quick else 1000
    fcls(*_scene(400, rng)[:2], n_threads=args.threads)  # compile the kernels
    fcls(*_scene(400, rng)[:2], engine="xp")
    rows, notes = [], []
    for n in sizes:
        Y, E, source = _scene(n, rng)
        t_opt, A = median_time(lambda Y=Y, E=E: fcls(Y, E, n_threads=args.threads), 3)
        t_xp, A_xp = median_time(lambda Y=Y, E=E: fcls(Y, E, engine="xp"), 3)
        row = {"pixels": n, "optlib (s)": t_opt, "optlib xp (s)": t_xp,
               "xp max dA": float(np.abs(A_xp - A).max())}
        try:
            t0 = time.perf_counter()
            A_py = _pysptools_fcls(Y[:n_sub], E)
            t_py = (time.perf_counter() - t0) * n / n_sub
            row.update({"pysptools (s, scaled)": t_py, "pysptools / optlib": t_py / t_opt,
                        "pysptools max dA": float(np.abs(A_py - A[:n_sub]).max())})
        except ImportError as exc:
            notes.append(f"pysptools FCLS skipped: {exc}")
        t0 = time.perf_counter()
        A_sp = _scipy_nnls_loop(Y, E)
        t_sp = time.perf_counter() - t0
        row.update({"scipy nnls (s)": t_sp, "scipy / optlib": t_sp / t_opt,
                    "scipy max dA": float(np.abs(A_sp - A).max())})
        rows.append(row)
        print(row, flush=True)
    notes.append(f"endmembers: 8 from {source}, 180 bands, Dirichlet abundances, SNR 30 dB")
    notes.append(f"pysptools timed on the first {n_sub} pixels and scaled linearly to the full size")
    return rows, notes


def _table(rows):
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        cells = [f"{r.get(k):.3g}" if isinstance(r.get(k), float) else str(r.get(k, "-")) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--quick", action="store_true", help="1e4 pixels only, pysptools on 300 pixels")
    parser.add_argument("--threads", type=int, default=1, help="numba threads of optlib's kernel")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    machine = machine_description(1)
    out = args.output or Path(__file__).resolve().parent / "results" / (
        "bench_unmixing_quick.md" if args.quick else "bench_unmixing.md")
    command = f"python benchmarks/bench_unmixing.py {' '.join(argv if argv is not None else sys.argv[1:])}".strip()
    rows, notes = run(args)
    table = _table(rows)
    text = ["# bench_unmixing: FCLS, optlib vs pysptools and a SciPy nnls loop", "",
            f"Command: `{command}`. Times in seconds; ratios are anchor time / optlib (numba) time.", "",
            "## FCLS", "", table, "", *[f"- note: {n}" for n in notes], "", "## Machine", "", machine, ""]
    out.write_text("\n".join(text))
    print(table)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
