#!/usr/bin/env python
"""Benchmark: optlib ``Lasso`` (working-set coordinate descent) vs scikit-learn, skglm, celer.

Usage::

    python benchmarks/bench_bcd.py [--quick] [--repeats N] [--threads T] [--target G]

Problems (issue 3, item 8), all ``fit_intercept=False``, objective
``1/(2n) ||y - X w||^2 + alpha ||w||_1`` (scikit-learn's scaling, shared by
every solver):

1. correlated design, n=500, p=5000, AR(1) columns with rho=0.5, 50 nonzero
   coefficients, SNR 3, at ``alpha_max / 10, / 100, / 1000``;
2. problem A of the BCD spec (``../shared/specs/bcd.md``): 1000 x 10000,
   entries N(0,1)+1, columns scaled by 10 N(0,1), each entry kept with
   probability 10 log(m)/m (m = 1000), x* 10% nonzero, ``y = A x*`` plus
   noise (SNR 3), at ``alpha_max / 10`` (stored dense);
3. sparse CSC design 20000 x 50000, density 1e-3, at ``alpha_max / 10``:
   optlib does not support sparse X yet ("not supported yet"), the anchors are
   still timed;
4. L1 logistic regression 2000 x 10000: not implemented in optlib yet (noted,
   not run).

``--quick``: problem 1 at ``alpha_max / 10`` and ``/ 100`` only, 3 repeats.

Protocol: the one of ``bench_proxgrad.py`` (its ``Solver`` classes, tolerance
ladder and machine description are imported from there), with target
relative objective gap 1e-10. Each solver is first run once at the tightest
setting of its ladder (warm-up: numba JIT, caches, and a candidate for the
best objective ``F*``), then calibrated (loosest tolerance on the ladder
whose result is within the target of the best objective found by any solver
so far), then timed round-robin (median of ``--repeats`` runs, wall and CPU
time). Gaps are reported against the final ``F*``. Ratio = optlib time /
fastest of skglm and celer (issue target: <= 0.5).
"""

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
try:
    import optlib  # noqa: F401
except ImportError:  # running from a source checkout without installation
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import optlib  # noqa: F401

from bench_proxgrad import (  # noqa: E402  (shared protocol)
    CelerLasso,
    Problem,
    SkglmLasso,
    SklearnLasso,
    Solver,
    _design,
    _timed_run,
    _tol_ladder,
    machine_description,
    with_thread_limit,
)

RESULTS = Path(__file__).resolve().parent / "results"
NOT_SUPPORTED = "not supported yet"


# -- problems --------------------------------------------------------------------


def _lasso_problem(name, size, X, w_true, rng, divisor, snr=3.0):
    n = X.shape[0]
    signal = np.asarray(X @ w_true).ravel()
    noise = rng.standard_normal(n)
    y = signal + noise * np.linalg.norm(signal) / (snr * np.linalg.norm(noise))
    alpha = float(np.max(np.abs(X.T @ y))) / n / divisor
    prob = Problem(f"{name} a_max/{divisor}", size, "lasso", X, y, alpha, 1.0 / n)
    prob.sparse = hasattr(X, "tocsc")
    return prob


def make_correlated(divisor, n=500, p=5000, rho=0.5, nnz=50, seed=0):
    rng = np.random.default_rng(seed)
    X = np.asfortranarray(_design(rng, n, p, rho))
    w = np.zeros(p)
    w[rng.choice(p, nnz, replace=False)] = rng.standard_normal(nnz)
    return _lasso_problem("(1) correlated rho=0.5", f"{n}x{p}", X, w, rng, divisor)


def make_problem_a(divisor=10, m=1000, p=10000, seed=0):
    """Problem A of the BCD spec (Nutini et al. 2022), with an l1 penalty."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, p)) + 1.0
    X *= 10.0 * rng.standard_normal(p)  # column scales
    X *= rng.random((m, p)) < 10.0 * np.log(m) / m  # sparsity pattern
    X = np.asfortranarray(X)
    w = np.zeros(p)
    k = p // 10
    w[rng.choice(p, k, replace=False)] = rng.standard_normal(k)
    return _lasso_problem("(2) problem A", f"{m}x{p}", X, w, rng, divisor)


def make_sparse(divisor=10, n=20000, p=50000, density=1e-3, nnz=100, seed=0):
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, format="csc", random_state=seed, data_rvs=rng.standard_normal)
    w = np.zeros(p)
    w[rng.choice(p, nnz, replace=False)] = rng.standard_normal(nnz)
    return _lasso_problem("(3) sparse CSC d=1e-3", f"{n}x{p}", X, w, rng, divisor)


# -- solvers ---------------------------------------------------------------------


class OptlibLasso(Solver):
    name = "optlib Lasso"

    def supports(self, problem):
        return not getattr(problem, "sparse", False)

    def settings(self, problem):
        return _tol_ladder(1e-2, 1e-14)

    def run(self, problem, tol):
        from optlib.linear_model import Lasso

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = Lasso(alpha=problem.alpha, fit_intercept=False, tol=tol, max_iter=1_000_000)
            model.fit(problem.A, problem.b)
        return model.coef_


ALL_SOLVERS = [OptlibLasso, SklearnLasso, SkglmLasso, CelerLasso]


# -- driver ----------------------------------------------------------------------


def benchmark(problems, solvers, repeats, target, log):
    rows = []
    for problem in problems:
        log(f"\n## {problem.name} ({problem.size}), alpha = {problem.alpha:.4e}")
        entries = []
        for solver in solvers:
            if not solver.supports(problem):
                rows.append(dict(problem=problem.name, size=problem.size, solver=solver.name, note=NOT_SUPPORTED))
                log(f"  {solver.name:20s} {NOT_SUPPORTED}")
                continue
            t0 = time.perf_counter()
            # warm-up at the tightest setting: JIT, caches, and a candidate for F*
            problem.observe(problem.objective(solver.run(problem, solver.settings(problem)[-1])))
            entries.append(dict(solver=solver, wall=[], cpu=[], w=None, warm=time.perf_counter() - t0))
        for e in entries:  # calibrate once every solver has contributed to F*
            t0 = time.perf_counter()
            e["setting"] = e["solver"].calibrate(problem, target)
            log(
                f"  calibrated {e['solver'].name:20s} {e['solver'].describe(e['setting']):12s} "
                f"(warm-up {e['warm']:.1f} s, calibration {time.perf_counter() - t0:.1f} s)"
            )
        for _ in range(repeats):  # round-robin
            for e in entries:
                wall, cpu, e["w"] = _timed_run(e["solver"], problem, e["setting"])
                e["wall"].append(wall)
                e["cpu"].append(cpu)
        for e in entries:
            e["value"] = problem.objective(e["w"])
            problem.observe(e["value"])
            e["time"], e["cpu_time"] = statistics.median(e["wall"]), statistics.median(e["cpu"])
            log(f"  {e['solver'].name:20s} {e['time']:9.4f} s wall  {e['cpu_time']:9.4f} s cpu")
        fast = [e for e in entries if isinstance(e["solver"], (SkglmLasso, CelerLasso))]
        best_wall = min((e["time"] for e in fast), default=None)
        best_cpu = min((e["cpu_time"] for e in fast), default=None)
        for e in entries:
            rows.append(
                dict(
                    problem=problem.name,
                    size=problem.size,
                    solver=e["solver"].name,
                    setting=e["solver"].describe(e["setting"]),
                    time=e["time"],
                    cpu=e["cpu_time"],
                    ratio=e["time"] / best_wall if best_wall else None,
                    cpu_ratio=e["cpu_time"] / best_cpu if best_cpu else None,
                    gap=problem.rel_gap(e["value"]),
                    f_star=problem.f_star,
                )
            )
    return rows


def markdown_table(rows, target):
    lines = [
        "| problem | size | solver | setting | time (s) | ratio (time / fastest of skglm, celer) "
        "| CPU time (s) | CPU ratio | rel. objective gap |",
        "|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    fmt = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
    for r in rows:
        if "note" in r:
            lines.append(f"| {r['problem']} | {r['size']} | {r['solver']} | {r['note']} | | | | | |")
            continue
        flag = "" if r["gap"] <= target else " (target missed)"
        lines.append(
            f"| {r['problem']} | {r['size']} | {r['solver']} | {r['setting']} | {r['time']:.4f} "
            f"| {fmt(r['ratio'])} | {r['cpu']:.4f} | {fmt(r['cpu_ratio'])} | {max(r['gap'], 0.0):.1e}{flag} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="problem (1) at a_max/10 and /100, 3 repeats")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per solver (default 5, quick 3)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (0 = library default)")
    parser.add_argument("--target", type=float, default=1e-10, help="relative objective gap to reach")
    parser.add_argument(
        "--only", choices=("1", "2", "3"), default=None, help="run only this problem set (full mode)"
    )
    parser.add_argument("--output", type=Path, default=None, help="Markdown file (default results/bench_bcd[_quick].md)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 5)
    if args.output is None:
        args.output = RESULTS / ("bench_bcd_quick.md" if args.quick else "bench_bcd.md")

    makers = []
    if args.quick:
        makers = [lambda: make_correlated(10), lambda: make_correlated(100)]
    else:
        if args.only in (None, "1"):
            makers += [lambda d=d: make_correlated(d) for d in (10, 100, 1000)]
        if args.only in (None, "2"):
            makers.append(make_problem_a)
        if args.only in (None, "3"):
            makers.append(make_sparse)
    problems = [make() for make in makers]

    solvers, notes = [], []
    for cls in ALL_SOLVERS:
        solver = cls()
        if solver.available():
            solvers.append(solver)
        else:
            notes.append(f"- {solver.name}: skipped, `{solver.module}` is not installed (`pip install {solver.module}`).")
    not_run = []
    if not args.quick and args.only is None:
        not_run.append(
            "- (4) L1 logistic regression 2000 x 10000: not implemented in optlib yet "
            "(`SparseLogisticRegression` is pending), so not run."
        )
    elif not args.quick:
        not_run.append(f"- run restricted to problem set ({args.only}) with `--only`.")
    else:
        not_run.append("- `--quick`: problem (1) at a_max/10 and a_max/100 only; (2), (3), (4) not run.")

    machine = machine_description(args.threads)
    title = "# bench_bcd" + (" (--quick)" if args.quick else "")
    print(title)
    print(machine)
    for line in notes + not_run:
        print(line)

    rows = with_thread_limit(
        args.threads, benchmark, problems, solvers, repeats, args.target, lambda s: print(s, flush=True)
    )

    table = markdown_table(rows, args.target)
    print("\n" + table)
    text = "\n\n".join(
        [
            title,
            f"Time to reach a relative objective gap <= {args.target:g} of the best objective found by "
            f"any solver (median of {repeats} runs, round-robin, after a warm-up at the tightest "
            "tolerance and a tolerance calibration); ratio = solver time / fastest of skglm and celer "
            "(issue 3 target for optlib: <= 0.5), on wall-clock and on process CPU time. "
            "`fit_intercept=False` everywhere. See the module docstring of `benchmarks/bench_bcd.py` "
            "and `benchmarks/README.md` for the protocol.",
            "## Machine\n\n" + machine,
            "## Results\n\n" + table,
            "## Notes\n\n" + "\n".join(notes + not_run),
        ]
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    print(f"\nwritten to {args.output}")


if __name__ == "__main__":
    main()
