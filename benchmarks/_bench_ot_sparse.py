#!/usr/bin/env python
"""Benchmark: sparsity-constrained OT, optlib vs POT's ``ot.smooth``.

Usage::

    python benchmarks/_bench_ot_sparse.py [--quick] [--repeats N]

Used by ``benchmarks/bench_ot.py`` through :func:`run`, which returns one
dict per (problem, solver) with keys ``problem``, ``size``, ``solver``,
``time_s``, ``ratio`` (anchor time / optlib time on the anchor's row,
``None`` on optlib's row) and ``accuracy``.

Problems
--------
Random 2-D point clouds (``n`` Gaussian source points, ``n`` target points
shifted by 1), squared Euclidean cost normalised to max 1, uniform weights,
``gamma = 0.1``, at most ``k`` nonzeros per column, ``n`` in {100, 500}
(``--quick``: 100), ``k`` in {1, 5}.

Solvers
-------
* POT ``ot.smooth.smooth_ot_dual`` / ``smooth_ot_semi_dual`` with
  ``reg_type="sparsity_constrained"``, ``max_nz=k`` and its defaults
  (L-BFGS-B, ``stopThr=1e-9``, ``numItermax=500``).
* optlib ``sparsity_constrained_ot(..., formulation="dual" | "semi_dual")``
  with its defaults (the same L-BFGS-B, same iteration budget, tolerances at
  least as tight).

Protocol
--------
Each solver is run once untimed (numba compilation, imports), then timed
``--repeats`` times (3 quick, 5 full) round-robin; the median wall time is
``time_s`` and the median process CPU time is in the accuracy column (more
stable than wall time on a shared machine). BLAS is
limited to one thread for both (threadpoolctl): threaded BLAS slows SciPy's
L-BFGS-B (small vector operations) badly on a shared machine, and optlib
limits it internally anyway. Accuracy: the maximised objective (higher is
better) and its relative difference to optlib's, the largest number of
nonzeros per column and the marginal errors of each plan. POT's stdout (a
debug ``print`` in its projection) is discarded.
"""

import argparse
import contextlib
import io
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

try:
    import optlib  # noqa: F401
except ImportError:  # running from a source checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GAMMA = 0.1


def _problem(n, seed=0):
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((n, 2))
    xt = rng.standard_normal((n, 2)) + 1.0
    M = ((xs[:, None, :] - xt[None, :, :]) ** 2).sum(-1)
    M /= M.max()
    a = np.full(n, 1.0 / n)
    b = np.full(n, 1.0 / n)
    return a, b, M


def _solvers(formulation, k):
    import ot

    from optlib.ot import sparsity_constrained_ot

    pot_fn = ot.smooth.smooth_ot_dual if formulation == "dual" else ot.smooth.smooth_ot_semi_dual

    def pot(a, b, M):
        with contextlib.redirect_stdout(io.StringIO()):
            P, log = pot_fn(a.copy(), b.copy(), M.copy(), GAMMA, reg_type="sparsity_constrained", max_nz=k, log=True)
        return P, -float(log["res"].fun), int(log["res"].nit)

    def ours(a, b, M):
        P, log = sparsity_constrained_ot(a, b, M, GAMMA, k, formulation=formulation, log=True)
        return P, float(log["fun"]), int(log["niter"])

    return [(f"POT smooth_ot_{formulation}", pot), ("optlib", ours)]


def _time_round_robin(solvers, args, repeats):
    """Median wall and CPU time of each solver, timed in turn so that all see the same load."""
    wall = {name: [] for name, _ in solvers}
    cpu = {name: [] for name, _ in solvers}
    out = {}
    for _ in range(repeats):
        for name, fn in solvers:
            t0, c0 = time.perf_counter(), time.process_time()
            out[name] = fn(*args)
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name]), out[name]) for name, _ in solvers}


def run(quick=False, repeats=None):
    """Run the benchmark; return a list of result rows (dicts)."""
    from threadpoolctl import threadpool_limits

    sizes = (100,) if quick else (100, 500)
    repeats = repeats or (3 if quick else 5)
    rows = []
    with threadpool_limits(1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at k = 1, SciPy deprecations in POT
        for n in sizes:
            a, b, M = _problem(n)
            for formulation in ("dual", "semi_dual"):
                for k in (1, 5):
                    solvers = _solvers(formulation, k)
                    for _, fn in solvers:  # warm-up
                        fn(a, b, M)
                    timed = _time_round_robin(solvers, (a, b, M), repeats)
                    t_opt, _, (_, f_opt, _) = timed["optlib"]
                    problem = f"sparsity-constrained OT ({formulation}), k={k}, gamma={GAMMA:g}"
                    for name, _ in solvers:
                        t, cpu, (P, f, nit) = timed[name]
                        nnz = int((np.asarray(P) > 0).sum(axis=0).max())
                        err_b = float(np.abs(P.sum(axis=0) - b).sum())
                        err_a = float(np.abs(P.sum(axis=1) - a).sum())
                        acc = (
                            f"obj {f:.10f} ({(f - f_opt) / abs(f_opt):+.1e} vs optlib); {nit} it; cpu {cpu:.3f} s; "
                            f"max nnz/col {nnz}; L1 marg. err a {err_a:.1e}, b {err_b:.1e}"
                        )
                        rows.append(
                            dict(
                                problem=problem,
                                size=f"{n}x{n}",
                                solver=name,
                                time_s=t,
                                ratio=None if name == "optlib" else t / t_opt,
                                accuracy=acc,
                            )
                        )
    return rows


def markdown(rows):
    """Markdown table of ``rows``."""
    lines = ["| problem | size | solver | time (s) | ratio | accuracy |", "|---|---|---|---|---|---|"]
    for r in rows:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.1f}x"
        cells = (r["problem"], r["size"], r["solver"], f"{r['time_s']:.4f}", ratio, r["accuracy"])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--quick", action="store_true", help="n = 100 only")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per solver (median)")
    args = parser.parse_args(argv)
    print(markdown(run(quick=args.quick, repeats=args.repeats)))
    print("\nratio = POT time / optlib time (higher is better for optlib); BLAS limited to 1 thread for both.")


if __name__ == "__main__":
    main()
