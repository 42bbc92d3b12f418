#!/usr/bin/env python
"""Benchmark: entropic OT, POT ``sinkhorn`` / ``sinkhorn_log`` vs optlib ``sinkhorn_log`` and SNS.

Usage::

    python benchmarks/bench_ot.py [--quick] [--device gpu] [--budget S] [--repeats N]

Random 2-D point clouds (seed 0), uniform weights, squared-Euclidean cost
normalised to max 1; n in {500, 2000, 5000} (``--quick``: 500); reg in
{1e-2, 1e-3, 1e-4}. Every solver runs to the L1 marginal error 1e-9
(``||P 1 - a||_1 + ||P^T 1 - b||_1``, measured here on the returned plan);
POT's solvers are given ``stopThr=1e-10`` on their own (L2, column) criterion
and an iteration cap derived from ``--budget`` seconds (measured on a short
probe run), so a solver that would take longer is reported as "did not
finish" with its error at the cap instead of being waited for. Times are the
median of ``--repeats`` runs after a warm-up (numba compilation) on a smaller
problem; every solver runs with ``--threads`` BLAS and numba threads (default
1: a shared machine). The
sparsity-constrained rows come from ``benchmarks/_bench_ot_sparse.py`` when it
exists.
"""

import argparse
import math
import time
import warnings
from pathlib import Path

import numpy as np

from _common import machine_description, median_time

RESULTS = Path(__file__).resolve().parent / "results"


def problem(n, seed=0, xp=np):
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((n, 2))
    M = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    M /= M.max()
    a = np.full(n, 1.0 / n)
    return xp.asarray(a), xp.asarray(a.copy()), xp.asarray(M)


def marginal_error(G, a, b):
    G, a, b = (np.asarray(v.get() if hasattr(v, "get") else v) for v in (G, a, b))
    if not np.all(np.isfinite(G)):
        return math.inf
    return float(np.abs(G.sum(1) - a).sum() + np.abs(G.sum(0) - b).sum())


def solvers(budget):
    import ot

    from optlib.ot import sinkhorn_log, sinkhorn_newton_sparse

    def pot(method):
        def run(a, b, M, reg, cap):
            G, log = ot.sinkhorn(a, b, M, reg, method=method, numItermax=cap, stopThr=1e-10, log=True)
            return G, int(log.get("niter", cap))

        return run

    def ours_log(a, b, M, reg, cap):
        G, log = sinkhorn_log(a, b, M, reg, numItermax=cap, stopThr=1e-9, log=True)
        return G, int(log["niter"])

    def sns(a, b, M, reg, cap):
        G, log = sinkhorn_newton_sparse(a, b, M, reg, stopThr=1e-9, log=True)
        return G, f"{log['niter_sinkhorn']}+{log['niter_newton']}"

    return [
        ("POT sinkhorn", pot("sinkhorn"), True),
        ("POT sinkhorn_log", pot("sinkhorn_log"), True),
        ("optlib sinkhorn_log", ours_log, True),
        ("optlib SNS", sns, False),
    ]


def bench(sizes, regs, repeats, budget, xp, log):
    rows = []
    entries = solvers(budget)
    a, b, M = problem(100, seed=1, xp=xp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _, fn, _ in entries:  # warm-up: numba compilation, imports
            fn(a, b, M, 1e-2, 50)
    for n in sizes:
        a, b, M = problem(n, xp=xp)
        for reg in regs:
            results = {}
            for name, fn, capped in entries:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    cap = 1_000_000
                    if capped:  # probe 20 iterations, cap the run at ~budget seconds
                        t0 = time.perf_counter()
                        fn(a, b, M, reg, 20)
                        per_it = max((time.perf_counter() - t0) / 20, 1e-6)
                        cap = max(20, int(budget / per_it))
                    reps = repeats if budget > 0 else 1
                    t, (G, nit) = median_time(lambda: fn(a, b, M, reg, cap), 1)
                    if t < budget / 3:
                        t, (G, nit) = median_time(lambda: fn(a, b, M, reg, cap), reps)
                err = marginal_error(G, a, b)
                Gh = np.asarray(G.get() if hasattr(G, "get") else G)
                Mh = np.asarray(M.get() if hasattr(M, "get") else M)
                cost = float(np.sum(Gh * Mh)) if np.all(np.isfinite(Gh)) else math.nan
                done = err <= 1.01e-9
                results[name] = dict(time=t, nit=nit, err=err, cost=cost, done=done, cap=cap)
                log(f"n={n} reg={reg:g} {name:22s} {t:8.3f} s  it={nit}  err={err:.1e}  cost={cost:.10f}")
            ref = results["optlib SNS"]
            for name, r in results.items():
                rows.append(
                    dict(n=n, reg=reg, solver=name, **r, ratio=r["time"] / ref["time"], dcost=r["cost"] - ref["cost"])
                )
    return rows


def table(rows):
    lines = [
        "| n | reg | solver | time (s) | iterations | L1 marginal error | finished | time / SNS time | cost - SNS cost |",
        "|---:|---:|---|---:|---:|---:|---|---:|---:|",
    ]
    for r in rows:
        fin = "yes" if r["done"] else ("no: NaN/inf" if not math.isfinite(r["err"]) else f"no (cap {r['cap']} it.)" if isinstance(r["nit"], int) and r["nit"] >= r["cap"] - 1 else "no (own stopping rule)")
        lines.append(
            f"| {r['n']} | {r['reg']:g} | {r['solver']} | {r['time']:.3f} | {r['nit']} | {r['err']:.1e} | {fin} "
            f"| {r['ratio']:.2f} | {r['dcost']:.1e} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--budget", type=float, default=None, help="seconds per capped solver run (default 20, quick 10)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="BLAS and numba threads for every solver (0: library default)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="problem sizes (default 500 2000 5000)")
    parser.add_argument("--regs", type=float, nargs="+", default=None, help="regularisations (default 1e-2 1e-3 1e-4)")
    args = parser.parse_args(argv)
    xp = np
    if args.device == "gpu":
        try:
            import cupy

            cupy.cuda.runtime.getDeviceCount()
            xp = cupy
        except Exception:
            print("No GPU available (cupy missing or no usable device): nothing to run for --device gpu.")
            return
    budget = args.budget or (10.0 if args.quick else 20.0)
    sizes = args.sizes or ([500] if args.quick else [500, 2000, 5000])
    regs = args.regs or [1e-2, 1e-3, 1e-4]
    import contextlib
    import os

    limit = contextlib.nullcontext()
    if args.threads > 0:
        from threadpoolctl import threadpool_limits

        limit = threadpool_limits(args.threads)
        try:
            import numba

            numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
        except ImportError:
            pass
    with limit:
        machine = machine_description(args.threads)
        print(machine)
        rows = bench(sizes, regs, args.repeats, budget, xp, lambda s: print(s, flush=True))
    machine += "\n- numba threads: " + (str(args.threads) if args.threads > 0 else "default")
    machine += "\n- load average at end (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg())
    machine += " (a shared machine: other jobs ran alongside, times are noisy)"
    text = table(rows)
    extra = ""
    try:
        import _bench_ot_sparse

        sparse_rows = _bench_ot_sparse.run(args.quick)
        if sparse_rows:
            keys = list(sparse_rows[0])
            extra = "\n\n## Sparsity-constrained OT\n\n| " + " | ".join(keys) + " |\n|" + "---|" * len(keys) + "\n"
            extra += "\n".join("| " + " | ".join(str(r.get(k, "")) for k in keys) + " |" for r in sparse_rows)
    except ImportError:
        extra = "\n\n(sparsity-constrained OT: `_bench_ot_sparse.py` not available)"
    print("\n" + text + extra)
    out = RESULTS / ("bench_ot_quick.md" if args.quick else "bench_ot.md")
    if args.sizes and not args.quick:
        out = RESULTS / ("bench_ot_n" + "_".join(str(n) for n in sizes) + ".md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        "# bench_ot" + (" (--quick)" if args.quick else "") + "\n\nTime to L1 marginal error 1e-9 "
        f"(capped at ~{budget:g} s per run), median of {args.repeats} runs after warm-up; n in {sizes}.\n\n## Machine\n\n"
        + machine + "\n\n## Results\n\n" + text + extra + "\n"
    )
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
