#!/usr/bin/env python
"""Benchmark: hyperspectral denoising, optlib (HyRes, FastHyDe, HyMiNoR, L1HyMixDe, OTVCA) vs HyDe (``hyde-images``, torch CPU).

Usage::

    python benchmarks/bench_hsi_denoise.py [--quick] [--sizes N ...] [--big] [--skip-hyde METHOD ...]
                                           [--methods METHOD ...] [--output PATH]

Problems
--------
Scenes from :func:`optlib.datasets.make_hyperspectral_scene`: 5 synthetic
endmembers, 180 bands, Gaussian-random-field abundances, float32, 128 x 128
pixels (``--quick``: 64 x 64; ``--sizes 64 128``: both), white Gaussian noise at 20, 30 and 40 dB, and
"mixed": 30 dB plus non-i.i.d. band noise (15-30 dB on all bands), impulse
noise (density 0.05 on 10% of the bands) and stripes (a third of the bands).
``--big`` adds the issue's 512 x 512 x 180 cube at 20 dB (optlib only, and
HyDe's HyRes). ``--skip-hyde L1HyMixDe`` leaves out HyDe's run of the named
methods (its L1HyMixDe runs BM3D in a loop: minutes per cube at 128 x 128);
``--methods OTVCA FastHyDe`` runs only the rows of those methods (a row
"FastHyDe (robust=False)" belongs to FastHyDe).

Methods
-------
* HyRes: :func:`optlib.hyperspectral.denoise_hyres` vs ``hyde.HyRes``.
* FastHyDe: :func:`optlib.hyperspectral.denoise_fasthyde` (defaults:
  ``denoiser="sure"``, cycle-spun SURE wavelet shrinkage, and
  ``robust="auto"``, outlier removal in the bands where outliers are
  detected) vs ``hyde.FastHyDe`` (BM3D on the eigen-images, ``k_subspace``
  set to optlib's HySime estimate); on mixed noise also ``robust=False``
  (against HyDe with ``k_subspace`` set to optlib's estimate without the
  outlier removal) and ``robust=True``.
* HyMiNoR: :func:`optlib.hyperspectral.denoise_hyminor` vs ``hyde.HyMiNoR``
  (defaults: lam=10, 50 ADMM iterations).
* L1HyMixDe: :func:`optlib.hyperspectral.denoise_l1hymixde` vs
  ``hyde.L1HyMixDe`` (BM3D; ``k_subspace`` set to optlib's estimate,
  ``p=0.05`` on bands normalised to [0, 1]).
* OTVCA (subspace + TV): :func:`optlib.hyperspectral.denoise_otvca` vs
  ``hyde.OTVCA`` (``features`` set to optlib's estimate, ``normalize=True``
  as its lam=0.01 default assumes, 10 iterations); optlib with its
  defaults (``robust="auto"``).

Protocol
--------
One thread for everyone (``torch.set_num_threads(1)``, BLAS limited by
threadpoolctl); one warm-up call each, then the median of 3 runs (HyDe's
FastHyDe and L1HyMixDe, BM3D-based: 1 run). Wall and CPU (process) time of
the same runs: on a loaded machine the CPU time is the fairer measure, and
the time ratio is taken on it. MPSNR: mean over bands of the PSNR with the
clean band's range (:func:`optlib.metrics.mpsnr`).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from _common import machine_description
from threadpoolctl import threadpool_limits

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
    denoise_otvca,
)
from optlib.metrics import mpsnr


def _problem(side, noise, seed=0):
    snr = 30.0 if noise == "mixed" else float(noise)
    sc = make_hyperspectral_scene(side, side, 5, n_bands=180, abundances="grf", snr=snr, random_state=seed)
    Y = sc.Y
    if noise == "mixed":
        Y, _ = add_band_noise(Y, (15.0, 30.0), random_state=seed + 1)
        Y, _ = add_impulse_noise(Y, 0.05, fraction=0.1, random_state=seed + 2)
        Y, _ = add_stripes(Y, fraction=1 / 3, random_state=seed + 3)
    return Y.astype(np.float32), sc.clean.astype(np.float32)


def _hyde():
    try:
        import hyde
        import torch
    except ImportError as exc:  # pragma: no cover - optional anchor
        print(f"HyDe unavailable ({exc}); optlib only.", file=sys.stderr)
        return None, None
    torch.set_num_threads(1)
    return hyde, torch


def run(sizes, noises, big, skip_hyde=(), repeats=3, methods=None):
    hyde, torch = _hyde()
    rows = []
    cases = [(s, n) for s in sizes for n in noises] + ([(512, "20")] if big else [])
    for side, noise in cases:
        Y, clean = _problem(side, noise)
        base = mpsnr(Y, clean)
        large = side >= 512
        k = denoise_fasthyde(Y, return_info=True)[1]["n_components"]
        k_mix = denoise_l1hymixde(Y, return_info=True)[1]["n_components"]
        T = (lambda: torch.from_numpy(Y)) if hyde else None
        entries = [
            ("HyRes", lambda: denoise_hyres(Y), (lambda: hyde.HyRes()(T()).numpy()) if hyde else None),
            ("FastHyDe", lambda: denoise_fasthyde(Y),
             (lambda: hyde.FastHyDe()(T(), k_subspace=k).numpy()) if hyde and not large else None),
        ]
        if noise == "mixed":
            k_plain = denoise_fasthyde(Y, robust=False, return_info=True)[1]["n_components"]
            entries += [("FastHyDe (robust=False)", lambda: denoise_fasthyde(Y, robust=False),
                         (lambda: hyde.FastHyDe()(T(), k_subspace=k_plain).numpy()) if hyde else None),
                        ("FastHyDe (robust=True)", lambda: denoise_fasthyde(Y, robust=True), None)]
        if not large:
            entries += [
                ("HyMiNoR", lambda: denoise_hyminor(Y), (lambda: hyde.HyMiNoR()(T()).numpy()) if hyde else None),
                ("L1HyMixDe", lambda: denoise_l1hymixde(Y),
                 (lambda: hyde.L1HyMixDe()(T(), k_subspace=k_mix).numpy()) if hyde else None),
                ("OTVCA", lambda: denoise_otvca(Y),
                 (lambda: hyde.OTVCA()(T(), features=k, normalize=True)[0].numpy()) if hyde else None),
            ]
        if methods:
            entries = [e for e in entries if e[0].split(" (")[0] in methods]
        for name, ours, anchor in entries:
            anchor = None if name in skip_hyde else anchor
            ours()  # warm-up
            t_o, c_o, out_o = _median_times(ours, 1 if large else repeats)
            row = {"problem": f"{side}x{side}x180 {noise}{'' if noise == 'mixed' else ' dB'}", "method": name,
                   "noisy": base, "optlib": mpsnr(out_o, clean), "t_optlib": t_o, "c_optlib": c_o, "hyde": None,
                   "t_hyde": None, "c_hyde": None}
            if anchor is not None:
                once = name.startswith("FastHyDe") or name == "L1HyMixDe" or large  # BM3D-based or big: 1 run
                t_h, c_h, out_h = _median_times(anchor, 1 if once else repeats)
                row.update(hyde=mpsnr(out_h, clean), t_hyde=t_h, c_hyde=c_h)
            rows.append(row)
            print(_fmt(row), flush=True)
    return rows


def _median_times(fn, repeats):
    """Median wall and CPU (process) seconds of ``repeats`` calls of ``fn``, and its last output."""
    wall, cpu, out = [], [], None
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu), out


def _fmt(r):
    h, th, ch, ratio, d = ("n/a",) * 5
    if r["hyde"] is not None:
        h, d = f"{r['hyde']:.2f}", f"{r['optlib'] - r['hyde']:+.2f}"
        th, ch, ratio = f"{r['t_hyde']:.2f}", f"{r['c_hyde']:.2f}", f"{r['c_hyde'] / r['c_optlib']:.1f}x"
    return (f"| {r['problem']} | {r['method']} | {r['noisy']:.2f} | {r['optlib']:.2f} | {h} | {d} | "
            f"{r['c_optlib']:.2f} ({r['t_optlib']:.2f}) | {ch} ({th}) | {ratio} |")


HEADER = ("| problem | method | noisy MPSNR | optlib MPSNR | HyDe MPSNR | optlib - HyDe (dB) | optlib CPU s (wall) "
          "| HyDe CPU s (wall) | HyDe CPU / optlib CPU |\n|---|---|---|---|---|---|---|---|---|")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="+", help="cube sides (default 128; 64 with --quick)")
    parser.add_argument("--big", action="store_true")
    parser.add_argument("--skip-hyde", nargs="+", default=[], metavar="METHOD", help="methods not run with HyDe")
    parser.add_argument("--methods", nargs="+", metavar="METHOD", help="run only these methods' rows")
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "bench_hsi_denoise.md"))
    args = parser.parse_args()
    sizes = args.sizes or ([64] if args.quick else [128])
    print(HEADER)
    with threadpool_limits(1):
        rows = run(sizes, ["20", "30", "40", "mixed"], args.big, args.skip_hyde, methods=args.methods)
    text = ["# Hyperspectral denoising: optlib vs HyDe (hyde-images 0.4.3, torch CPU)", "",
            machine_description(1), "", "One thread each; " + ("quick mode" if args.quick else "full mode") + ".",
            "", HEADER] + [_fmt(r) for r in rows]
    Path(args.output).write_text("\n".join(text) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
