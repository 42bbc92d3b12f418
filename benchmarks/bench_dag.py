#!/usr/bin/env python
"""Benchmark: linear DAG learning, optlib CoLiDE vs the ``dagma`` package.

Usage::

    python benchmarks/bench_dag.py [--quick] [--device gpu] [--seeds N] [--dims D ...] [--graphs ER|SF] [--noise equal|unequal]
                                   [--threads T] [--output PATH]

Problems
--------
The issue's grid: ``d`` in {20, 50} (``--quick``: 20), ER2 and SF2 graphs
(``s0 = 2 d`` edges, weights in ``[-2, -0.5] U [0.5, 2]``), ``n = 1000``
Gaussian samples with equal noise variances (1) or unequal ones (drawn from
``U[0.5, 10]``), 5 seeds (``--quick``: 2).

Solvers
-------
* ``dagma``: ``dagma.linear.DagmaLinear(loss_type="l2").fit(X)`` with its
  defaults (``lambda1=0.03``, ``T=5``, ``s=[1, .9, .8, .7, .6]``,
  ``warm_iter=3e4``, ``max_iter=6e4``, ``lr=3e-4``, threshold 0.3). The
  package declares torch as a dependency, which its linear model does not use:
  ``pip install --no-deps dagma`` and ``tqdm`` are enough.
* ``optlib DAGMA``: ``colide(X, score_type="dagma")`` with exactly these settings,
  the same algorithm: the speed comparison at equal settings.
* ``CoLiDE-EV`` / ``CoLiDE-NV``: :class:`optlib.dag.CoLiDE` with the paper's
  settings (``alpha=0.05``, ``s=(1, .9, .8, .7)``, ``warm_iter=2e4``,
  ``max_iter=7e4``).

Protocol
--------
Each solver runs once per problem (a fit takes seconds to minutes, and the
seeds already repeat the measure); the table reports the mean over seeds of
the wall time, SHD, TPR and FDR, and ``dagma time / optlib DAGMA time``.
numba kernels are compiled on a small problem first. BLAS runs with
``--threads`` threads (default 1) for every solver, through threadpoolctl.
optlib's estimates are thresholded and made acyclic; dagma's are only
thresholded (its default), and the table counts how many were not DAGs.
``--device gpu`` runs the optlib solvers on CuPy arrays (array-API engine)
when CuPy and a GPU are available.
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")  # dagma draws a progress bar

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_description

from optlib.dag import CoLiDE, colide, is_dag
from optlib.datasets import simulate_dag, simulate_linear_sem
from optlib.metrics import count_accuracy

DAGMA_SETTINGS = {"alpha": 0.03, "s": (1.0, 0.9, 0.8, 0.7, 0.6), "warm_iter": 30000, "max_iter": 60000, "lr": 3e-4}


def problem(d, graph, noise, seed, n=1000):
    W = simulate_dag(d, 2 * d, graph, random_state=seed)
    rng = np.random.default_rng(1000 + seed)
    scale = 1.0 if noise == "equal" else np.sqrt(rng.uniform(0.5, 10.0, d))
    return W, simulate_linear_sem(W, n, noise_scale=scale, random_state=seed)


def solvers(xp_module):
    def on_device(X):
        return X if xp_module is None else xp_module.asarray(X)

    def host(A):
        return A if xp_module is None else A.get()

    out = {
        "optlib DAGMA": lambda X: host(colide(on_device(X), score_type="dagma", **DAGMA_SETTINGS).adjacency),
        "CoLiDE-EV": lambda X: host(CoLiDE("equal").fit(on_device(X)).adjacency_),
        "CoLiDE-NV": lambda X: host(CoLiDE("nonequal").fit(on_device(X)).adjacency_),
    }
    try:
        from dagma.linear import DagmaLinear
    except ImportError:
        return out, "dagma not installed (pip install --no-deps dagma tqdm): anchor skipped"
    out = {"dagma": lambda X: DagmaLinear(loss_type="l2").fit(X.copy()), **out}
    return out, None


def run(args, on_row=None):
    import warnings

    from threadpoolctl import threadpool_limits

    xp_module = None
    notes = []
    if args.device == "gpu":
        try:
            import cupy

            cupy.cuda.runtime.getDeviceCount()
            xp_module = cupy
        except (ImportError, RuntimeError) as exc:  # pragma: no cover - depends on the machine
            notes.append(f"--device gpu: CuPy or GPU unavailable ({exc}); ran on the CPU")
    table, note = solvers(xp_module)
    if note:
        notes.append(note)
    dims = args.dims or ((20,) if args.quick else (20, 50))
    noises = args.noise or ("equal", "unequal")
    graphs = args.graphs or ("ER", "SF")
    seeds = range(args.seeds if args.seeds else (2 if args.quick else 5))
    colide(problem(5, "ER", "equal", 0)[1], max_iter=10, warm_iter=10)  # compile the kernels
    rows = []
    with threadpool_limits(args.threads or None), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for d in dims:
            for graph in graphs:
                for noise in noises:
                    stats = {name: [] for name in table}
                    for seed in seeds:
                        W, X = problem(d, graph, noise, seed)
                        for name, fit in table.items():
                            t0 = time.perf_counter()
                            A = fit(X)
                            seconds = time.perf_counter() - t0
                            acc = count_accuracy(W, A)
                            stats[name].append((seconds, acc["shd"], acc["tpr"], acc["fdr"], is_dag(A)))
                            print(f"d={d} {graph}2 {noise} seed={seed} {name}: {seconds:.2f}s SHD={acc['shd']}",
                                  flush=True)
                    rows.append((d, graph, noise, {k: np.array(v, dtype=float) for k, v in stats.items()}))
                    if on_row is not None:
                        on_row(rows, notes)
    return rows, notes


def format_table(rows, names):
    header = "| d | graph | noise | " + " | ".join(f"{n} time (s) / SHD / TPR / FDR" for n in names)
    header += " | dagma / optlib DAGMA time | dagma non-DAG |"
    lines = [header, "|" + "---|" * (len(names) + 5)]
    for d, graph, noise, stats in rows:
        cells = [f"{stats[n][:, 0].mean():.2f} / {stats[n][:, 1].mean():.1f} / {stats[n][:, 2].mean():.2f} / "
                 f"{stats[n][:, 3].mean():.2f}" for n in names]
        if "dagma" in stats:
            ratio = f"{stats['dagma'][:, 0].mean() / stats['optlib DAGMA'][:, 0].mean():.1f}x"
            non_dag = f"{int((stats['dagma'][:, 4] == 0).sum())}/{len(stats['dagma'])}"
        else:
            ratio = non_dag = "n/a"
        lines.append(f"| {d} | {graph}2 | {noise} | " + " | ".join(cells) + f" | {ratio} | {non_dag} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--quick", action="store_true", help="d = 20 only, 2 seeds")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 5, quick 2)")
    parser.add_argument("--dims", type=int, nargs="+", default=None, help="graph sizes (default 20 50)")
    parser.add_argument("--graphs", choices=("ER", "SF"), nargs="+", default=None, help="graph types (default both)")
    parser.add_argument("--noise", choices=("equal", "unequal"), nargs="+", default=None,
                        help="noise settings (default both)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (0: library default)")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    machine = machine_description(args.threads)
    out = args.output or Path(__file__).resolve().parent / "results" / (
        "bench_dag_quick.md" if args.quick else "bench_dag.md")
    command = f"python benchmarks/bench_dag.py {' '.join(argv if argv is not None else sys.argv[1:])}".strip()
    t0 = time.perf_counter()

    def write(rows, notes, done=False):
        table = format_table(rows, list(rows[0][3]))
        status = "" if done else " Partial: the run is still going; rows are added as they finish."
        text = [
            "# bench_dag: optlib CoLiDE vs dagma",
            "",
            (f"Command: `{command}` ({time.perf_counter() - t0:.0f} s so far). Means over seeds of the wall "
            f"time (s) / SHD / TPR / FDR; n = 1000, Gaussian noise.{status}"),
            "",
            table,
            "",
            *[f"- note: {n}" for n in notes],
            "",
            "## Machine",
            "",
            machine,
            "",
        ]
        out.write_text("\n".join(text))
        return table

    rows, notes = run(args, on_row=write)
    print(write(rows, notes, done=True))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
