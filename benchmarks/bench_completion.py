#!/usr/bin/env python
"""Benchmark: matrix completion, optlib robust_altmin vs SoftImpute and IterativeImputer.

Usage::

    python benchmarks/bench_completion.py [--quick] [--device gpu] [--max-obs N] [--sizes N,...]
                                          [--solvers exact,sketch] [--no-baselines] [--output PATH]

Problems
--------
Incoherent rank-10 square matrices (:func:`optlib.datasets.make_low_rank_completion`,
condition number 2, noiseless) with 100 observations per row:
``|Omega|`` = 1e5, 3e5, 1e6, 3e6, 1e7 (``m = n`` = 1e3 ... 1e5; ``--quick``
stops at 1e6). The relative Frobenius error is computed exactly from the
factors (``O((m + n) k^2)``), never from a dense matrix.

Solvers
-------
* ``altmin exact`` / ``altmin sketch``: :func:`optlib.completion.robust_altmin`
  with ``tol=1e-9`` (numba kernels; ``--device gpu``: CuPy, array-API engine).
* ``soft_impute``: optlib's baseline (randomized SVD, rank 10,
  ``max_iter=100``), up to ``|Omega|`` = 1e6.
* ``fancyimpute SoftImpute`` (``max_rank=None``: full SVD of the dense
  ``m x n`` matrix per iteration, 100 iterations, its defaults) at
  ``m = 1000`` only: dense ``m x n`` storage and full SVDs make larger sizes
  impractical. fancyimpute imports cvxpy for another solver; a stub module
  stands in for it when cvxpy is absent (``pip install --no-deps fancyimpute
  knnimpute``), and its ``check_array`` call is adapted to scikit-learn >= 1.8
  (``force_all_finite`` renamed ``ensure_all_finite``).
* scikit-learn ``IterativeImputer`` (``n_nearest_features=20``,
  ``max_iter=5``) on a separate 300 x 300 problem (30% observed): it fits
  one regression per column and round, far too slow at the sizes above.

``--no-baselines`` runs only the ``robust_altmin`` solvers.

Protocol
--------
Median wall and CPU (process) times of ``--repeats`` runs (default 3) at every
size, taken in rounds over all sizes (one run of each size per round), so that
a drift of the machine's speed over the benchmark (a shared host) hits all
sizes alike instead of biasing the slope; the spread (lowest and highest run)
is printed too. Then one extra run per size for the ``tracemalloc`` peak (NumPy
allocations are traced). numba kernels are compiled on a small problem
first. The process's maximum RSS is reported too (it includes the problem
generator's temporaries). BLAS is limited to one thread in the process
(``threadpoolctl``): the numba kernels use the cores, and OpenBLAS threads
spin-waiting for a descheduled partner made each ``m x 20`` QR of the
spectral start ~10x slower on a loaded machine. On a shared machine the CPU
time is the steadier measure (it excludes time spent descheduled).
The log-log slope of time against ``|Omega|`` is a least-squares fit over
the sizes run.
"""

import argparse
import resource
import sys
import time
import tracemalloc
import types
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_description  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from optlib.completion import robust_altmin, soft_impute  # noqa: E402
from optlib.datasets import make_low_rank_completion  # noqa: E402

RANK = 10
PER_ROW = 100


def factor_error(U, V, P):
    """||U V^T - M||_F / ||M||_F from the factors only, without cancellation.

    ``U V^T - Ut Vt^T = [U, -Ut] [V, Vt]^T = Q1 (R1 R2^T) Q2^T``: the norm is
    that of the small ``R1 R2^T`` (a Gram-matrix expansion loses everything
    below ~1e-8).
    """
    Ut, Vt = P.U.astype(np.float64), P.V.astype(np.float64)
    U, V = np.asarray(U, dtype=np.float64), np.asarray(V, dtype=np.float64)
    R1 = np.linalg.qr(np.hstack([U, -Ut]), mode="r")
    R2 = np.linalg.qr(np.hstack([V, Vt]), mode="r")
    Rt = np.linalg.qr(Ut, mode="r") @ np.linalg.qr(Vt, mode="r").T
    return float(np.linalg.norm(R1 @ R2.T) / np.linalg.norm(Rt))


def to_device(P, gpu):
    if not gpu:
        return (P.rows, P.cols, P.data)
    import cupy

    return (cupy.asarray(P.rows), cupy.asarray(P.cols), cupy.asarray(P.data))


def host(a):
    return a.get() if hasattr(a, "get") else a


def timed(fn, data, sync):
    """Wall and CPU (process) seconds of one call, and its result."""
    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fn(data)
    sync()
    return time.perf_counter() - t0, time.process_time() - c0, res


def traced_peak_mb(fn, data, sync):
    """``tracemalloc`` peak of one call, in MB."""
    tracemalloc.start()
    timed(fn, data, sync)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def summary(name, runs, P, peak_mb):
    """Table row of a solver at one size: median (and range of) the runs' times, the last run's error."""
    walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
    res = runs[-1][2]
    return dict(solver=name, seconds=float(np.median(walls)), cpu=float(np.median(cpus)),
                spread=f"{min(walls):.3g}-{max(walls):.3g}", error=factor_error(host(res.U), host(res.V), P),
                nit=res.nit, peak_mb=peak_mb)


def fancyimpute_softimpute(P):
    try:
        import cvxpy  # noqa: F401
    except ImportError:
        sys.modules.setdefault("cvxpy", types.ModuleType("cvxpy"))
    try:
        import fancyimpute.soft_impute
        import fancyimpute.solver
        from fancyimpute import SoftImpute
    except ImportError as exc:
        return None, f"fancyimpute not importable ({exc})"
    from sklearn.utils import check_array

    for module in (fancyimpute.solver, fancyimpute.soft_impute):  # fancyimpute 0.7 passes force_all_finite
        module.check_array = lambda X, force_all_finite=True, **kw: check_array(
            X, ensure_all_finite=force_all_finite, **kw)
    X = np.full(P.shape, np.nan)
    X[P.rows, P.cols] = P.data
    t0, c0 = time.perf_counter(), time.process_time()
    Z = SoftImpute(verbose=False).fit_transform(X)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    M = P.U @ P.V.T
    return dict(solver="fancyimpute SoftImpute", seconds=seconds, cpu=cpu,
                error=np.linalg.norm(Z - M) / np.linalg.norm(M), nit=100, peak_mb=float("nan")), None


def iterative_imputer_row():
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    P = make_low_rank_completion(300, 300, RANK, sampling_rate=0.3, condition_number=2, random_state=0)
    X = np.full(P.shape, np.nan)
    X[P.rows, P.cols] = P.data
    M = P.U @ P.V.T
    rows = []
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Z = IterativeImputer(n_nearest_features=20, max_iter=5, random_state=0).fit_transform(X)
    rows.append(("IterativeImputer", time.perf_counter() - t0, np.linalg.norm(Z - M) / np.linalg.norm(M)))
    t0 = time.perf_counter()
    res = robust_altmin((P.rows, P.cols, P.data), RANK, shape=P.shape, tol=1e-9, random_state=0)
    rows.append(("altmin exact", time.perf_counter() - t0, factor_error(res.U, res.V, P)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--max-obs", type=float, default=None)
    parser.add_argument("--sizes", default=None, help="comma-separated |Omega| values (overrides the default list)")
    parser.add_argument("--output", default=None)
    parser.add_argument("--solvers", default="exact,sketch", help="comma-separated robust_altmin solvers")
    parser.add_argument("--no-baselines", action="store_true", help="skip SoftImpute and IterativeImputer")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per size (taken in rounds over the sizes)")
    args = parser.parse_args()
    threadpool_limits(1)  # BLAS single-threaded: the numba kernels use the cores (see Protocol)
    gpu = args.device == "gpu"
    sizes = [1e5, 3e5, 1e6] if args.quick else [1e5, 3e5, 1e6, 3e6, 1e7]
    if args.sizes:
        sizes = [float(v) for v in args.sizes.split(",")]
    if args.max_obs:
        sizes = [s for s in sizes if s <= args.max_obs]
    sync = (lambda: __import__("cupy").cuda.Device().synchronize()) if gpu else (lambda: None)
    out = Path(args.output) if args.output else Path(__file__).resolve().parent / "results" / (
        "bench_completion_quick.md" if args.quick else "bench_completion.md")

    warm = make_low_rank_completion(100, 100, RANK, sampling_rate=0.5, random_state=0)
    for solver in ("exact", "sketch"):  # compile the numba kernels
        robust_altmin(to_device(warm, gpu), RANK, shape=warm.shape, solver=solver)
    soft_impute(to_device(warm, gpu), RANK, shape=warm.shape, random_state=0)

    command = " ".join(["python benchmarks/bench_completion.py", *sys.argv[1:]])
    lines = ["# bench_completion", "", f"- command: `{command}`", machine_description(None), "",
             f"Times: median of {args.repeats} runs taken in rounds over the sizes; range: lowest-highest wall time.",
             "",
             "| m = n | obs | solver | time (s) | range (s) | CPU time (s) | rel. error | passes | tracemalloc peak (MB) |",
             "|---:|---:|---|---:|---|---:|---:|---:|---:|"]
    problems = []
    for n_obs in sizes:
        m = int(n_obs // PER_ROW)
        P = make_low_rank_completion(m, m, RANK, sampling_rate=PER_ROW / m, condition_number=2, random_state=0)
        problems.append((m, P, to_device(P, gpu)))
    solvers = {f"altmin {s}": (lambda d, shape, s=s: robust_altmin(d, RANK, shape=shape, solver=s, tol=1e-9,
                                                                    random_state=0)) for s in args.solvers.split(",")}
    runs = {}
    for _ in range(args.repeats):  # rounds over the sizes: a drift of the machine's speed hits every size
        for m, P, data in problems:
            for name, solve in solvers.items():
                fn = lambda d, f=solve, shape=P.shape: f(d, shape)  # noqa: E731
                runs.setdefault((m, name), []).append(timed(fn, data, sync))
    times = {}
    for m, P, data in problems:
        rows = [summary(name, runs[m, name], P,
                        traced_peak_mb(lambda d, f=solve, shape=P.shape: f(d, shape), data, sync))
                for name, solve in solvers.items()]
        if P.rows.size <= 1e6 and not args.no_baselines:
            wall, cpu, res = timed(lambda d: soft_impute(d, RANK, shape=P.shape, random_state=0), data, sync)
            rows.append(summary("soft_impute", [(wall, cpu, res)], P, float("nan")))
        if m <= 1000 and not args.no_baselines:
            row, note = fancyimpute_softimpute(P)
            rows.append(row) if row else lines.append(f"<!-- {note} -->")
        for r in rows:
            times.setdefault(r["solver"], []).append((P.rows.size, r["seconds"], r["cpu"]))
            line = (f"| {m} | {P.rows.size:.2e} | {r['solver']} | {r['seconds']:.3g} | {r.get('spread', '')} | "
                    f"{r['cpu']:.3g} | {r['error']:.2e} | {r['nit']} | {r['peak_mb']:.0f} |")
            print(line, flush=True)
            lines.append(line)
        Path(out).write_text("\n".join(lines) + "\n")
    lines += ["", "Log-log slope of time against |Omega| (least squares; wall time, CPU time):", ""]
    for name, pts in times.items():
        if len(pts) >= 2:
            x = np.log([p[0] for p in pts])
            wall, cpu = (np.polyfit(x, np.log([p[c] for p in pts]), 1)[0] for c in (1, 2))
            lines.append(f"- {name}: {wall:.2f}, {cpu:.2f} over {len(pts)} sizes ({pts[0][0]:.0e}..{pts[-1][0]:.0e})")
    lines.append(f"- process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB")
    if not gpu and not args.no_baselines:
        lines += ["", "IterativeImputer (300 x 300, rank 10, 30% observed):", "",
                  "| solver | time (s) | rel. error |", "|---|---:|---:|"]
        lines += [f"| {n} | {t:.3g} | {e:.2e} |" for n, t, e in iterative_imputer_row()]
    Path(out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-12:]))


if __name__ == "__main__":
    main()
