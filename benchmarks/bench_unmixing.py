#!/usr/bin/env python
"""Benchmark: hyperspectral unmixing, optlib FCLS vs pysptools FCLS and a SciPy nnls loop; blind-unmixing quality.

Usage::

    python benchmarks/bench_unmixing.py [--quick] [--part {fcls,quality,all}] [--threads T] [--output PATH]

``--part fcls`` is the speed comparison below; ``--part quality`` the
quality table of blind unmixing (section "Quality" at the end of this
docstring), written to ``results/bench_unmixing_quality[_quick].md``.

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

Quality
-------
Blind unmixing, RRLbS (:func:`optlib.hyperspectral.rrlbs`, default
parameters, 300 iterations at most) against VCA + FCLS and L1/2-NMF
(:func:`optlib.hyperspectral.l_half_nmf`, 500 iterations at most). "RRLbS"
and "L1/2-NMF" start from RRLbS's ``init="vca-ensemble"`` (the matched
mean of 30 VCA runs, then FCLS; same seed, but with blank bands RRLbS runs
it on the informative bands only); "RRLbS (VCA)" and "L1/2-NMF
(VCA)" from a single VCA + FCLS run (L1/2-NMF's own default, on the data
clipped at zero; RRLbS the run of the VCA + FCLS column). RRLbS
leaves the blank bands (constant over the pixels) out of its model and
interpolates its endmembers there (``blank_bands="interpolate"``, the
default); the other methods fit them (``E_b = 0`` on a zero band). Scenes: 40 x 40 pixels, 5 earthlib endmembers (synthetic without
earthlib), 180 bands, Dirichlet(1) abundances capped at purity 0.9 (no pure
pixels), SNR 30 / 20 / 10 dB, and 10% of the bands corrupted (blank bands,
or stripes on 5-15% of the columns) or not. For each seed the corrupted
scenes share the clean scene and noise of the uncorrupted one. Mean over
the seeds (5; ``--quick``: 2) of the SAD (radians, Hungarian-matched) and
the abundance RMSE (HySUPP's ``100 sqrt(mean((A - A_ref)^2))``), after
matching. SAD compares the estimates with the clean reference spectra on
all 180 bands, the corrupted ones included (what a user comparing with
ground truth sees); a second table gives the SAD on the uncorrupted bands
only, for the scenes with blank bands. BLAS runs on one thread.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from _common import machine_description, median_time

from optlib.datasets import make_hyperspectral_scene
from optlib.hyperspectral import fcls, l_half_nmf, rrlbs


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


QUALITY_SNRS = (30.0, 20.0, 10.0)
QUALITY_CORRUPTIONS = (None, "blank", "stripes")
QUALITY_METHODS = ("VCA+FCLS", "L1/2-NMF (VCA)", "L1/2-NMF", "RRLbS (VCA)", "RRLbS")


def _blind_methods(Y, p, seed):
    """Endmembers and abundances of each method on the pixels ``Y`` (VCA seeded by ``seed``)."""
    from optlib.hyperspectral._nmf import init_vca_fcls
    from optlib.hyperspectral._rrlbs import init_vca_ensemble

    E0, A0 = init_vca_fcls(Y, p, seed)
    start = init_vca_ensemble(Y, p, 30, seed)  # rrlbs(init="vca-ensemble")'s start, for L1/2-NMF
    nmf_vca = l_half_nmf(Y, p, max_iter=500, random_state=seed)  # its own VCA + FCLS start, on the clipped data
    nmf = l_half_nmf(Y, p, init=start, max_iter=500)
    rr_vca = rrlbs(Y, p, init=(E0, A0), max_iter=300)
    rr = rrlbs(Y, p, init="vca-ensemble", max_iter=300, random_state=seed)
    out = {"VCA+FCLS": (E0, A0), "L1/2-NMF (VCA)": nmf_vca, "L1/2-NMF": nmf, "RRLbS (VCA)": rr_vca, "RRLbS": rr}
    return {k: v if isinstance(v, tuple) else (v.endmembers, v.abundances) for k, v in out.items()}


def run_quality(args):
    import warnings

    from threadpoolctl import threadpool_limits

    from optlib import ConvergenceWarning
    from optlib.metrics import abundance_rmse, sad
    from optlib.metrics._spectral import match_endmembers

    try:
        import earthlib  # noqa: F401

        source = "earthlib"
    except ImportError:
        source = "synthetic"
    seeds = range(2) if args.quick else range(5)
    p = 5
    sums = {}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in seeds:
            for snr in QUALITY_SNRS:
                for corruption in QUALITY_CORRUPTIONS:
                    s = make_hyperspectral_scene(40, 40, p, endmembers=source, snr=snr, purity=0.9,
                                                 corruption=corruption, random_state=1000 + seed)
                    Y = s.Y.reshape(-1, s.Y.shape[-1])
                    ref = s.abundances.reshape(-1, p)
                    good = np.setdiff1d(np.arange(Y.shape[1]), s.corrupted_bands)
                    for name, (E, A) in _blind_methods(Y, p, seed).items():
                        perm = match_endmembers(E, s.endmembers)
                        key = (snr, corruption or "none", name)
                        sad_, rmse = sad(E, s.endmembers), abundance_rmse(A.reshape(-1, p), ref, permutation=perm)
                        sad_good = sad(E[:, good], s.endmembers[:, good])
                        total = sums.setdefault(key, np.zeros(3))
                        total += (sad_, rmse, sad_good)
                        print(seed, key, f"SAD {sad_:.4f} RMSE {rmse:.2f} SAD(good) {sad_good:.4f}", flush=True)
    rows = []
    for snr in QUALITY_SNRS:
        for corruption in QUALITY_CORRUPTIONS:
            row = {"SNR (dB)": int(snr), "corruption": corruption or "none"}
            for name in QUALITY_METHODS:
                mean = sums[(snr, corruption or "none", name)] / len(seeds)
                row[f"SAD {name}"] = float(mean[0])
            for name in QUALITY_METHODS:
                mean = sums[(snr, corruption or "none", name)] / len(seeds)
                row[f"RMSE {name}"] = float(mean[1])
            rows.append(row)
    good_rows = []
    for snr in QUALITY_SNRS:
        row = {"SNR (dB)": int(snr), "corruption": "blank"}
        for name in QUALITY_METHODS:
            row[f"SAD {name}"] = float(sums[(snr, "blank", name)][2] / len(seeds))
        good_rows.append(row)
    notes = [f"40 x 40 pixels, {p} {source} endmembers, 180 bands, Dirichlet abundances (purity <= 0.9), "
             f"means over {len(seeds)} seeds; SAD in radians, RMSE = 100 sqrt(mean squared error)",
             "corruption: 10% of the bands blank (zero) or striped (5-15% of the columns offset by up to "
             "25% of the band mean)",
             "SAD on all 180 bands against the clean reference spectra, corrupted bands included; RRLbS "
             "interpolates its endmembers on the blank bands it detects (constant over the pixels), the others "
             "fit them with zero",
             "L1/2-NMF and RRLbS start from the same ensemble VCA start (same seed; with blank bands RRLbS runs it on "
             "the informative bands); the (VCA) columns from a "
             "single VCA + FCLS run (L1/2-NMF's default init, on the data clipped at zero)"]
    return rows, good_rows, notes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--quick", action="store_true", help="1e4 pixels only, pysptools on 300 pixels")
    parser.add_argument("--part", choices=("fcls", "quality", "all"), default="all",
                        help="FCLS speed table, blind-unmixing quality table, or both")
    parser.add_argument("--threads", type=int, default=1, help="numba threads of optlib's kernel")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    machine = machine_description(1)
    command = f"python benchmarks/bench_unmixing.py {' '.join(argv if argv is not None else sys.argv[1:])}".strip()
    if args.part in ("quality", "all"):
        _main_quality(args, machine, command)
    if args.part == "quality":
        return
    out = args.output or Path(__file__).resolve().parent / "results" / (
        "bench_unmixing_quick.md" if args.quick else "bench_unmixing.md")
    rows, notes = run(args)
    table = _table(rows)
    text = ["# bench_unmixing: FCLS, optlib vs pysptools and a SciPy nnls loop", "",
            f"Command: `{command}`. Times in seconds; ratios are anchor time / optlib (numba) time.", "",
            "## FCLS", "", table, "", *[f"- note: {n}" for n in notes], "", "## Machine", "", machine, ""]
    out.write_text("\n".join(text))
    print(table)
    print(f"written to {out}")


def _main_quality(args, machine, command):
    out = Path(__file__).resolve().parent / "results" / (
        "bench_unmixing_quality_quick.md" if args.quick else "bench_unmixing_quality.md")
    if args.output is not None and args.part == "quality":
        out = args.output
    rows, good_rows, notes = run_quality(args)
    table = _table(rows)
    text = ["# bench_unmixing: blind-unmixing quality, RRLbS vs VCA+FCLS and L1/2-NMF", "",
            f"Command: `{command}`. Lower is better in every column.", "", table, "",
            *[f"- note: {n}" for n in notes], "",
            "## SAD on the uncorrupted bands only (blank bands left out of the angle)", "", _table(good_rows), "",
            "## Machine", "", machine, ""]
    out.write_text("\n".join(text))
    print(table)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
