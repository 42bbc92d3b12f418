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
Median wall and CPU (process) times of 3 repeats up to 1e6 observations, one
run above, then one extra run for the ``tracemalloc`` peak (NumPy
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


def run_optlib(name, fn, data, P, repeats, sync):
    """Median wall and CPU times of ``repeats`` runs, then one traced run for the peak."""
    def call():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn(data)
        sync()
        return out

    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        res = call()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    tracemalloc.start()
    call()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return dict(solver=name, seconds=float(np.median(walls)), cpu=float(np.median(cpus)),
                error=factor_error(host(res.U), host(res.V), P), nit=res.nit, peak_mb=peak / 2**20)


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

    command = " ".join(["python benchmarks/bench_completion.py", *sys.argv[1:]])
    lines = ["# bench_completion", "", f"- command: `{command}`", machine_description(None), "",
             "| m = n | obs | solver | time (s) | CPU time (s) | rel. error | passes | tracemalloc peak (MB) |",
             "|---:|---:|---|---:|---:|---:|---:|---:|"]
    times = {}
    for n_obs in sizes:
        m = int(n_obs // PER_ROW)
        P = make_low_rank_completion(m, m, RANK, sampling_rate=PER_ROW / m, condition_number=2, random_state=0)
        data = to_device(P, gpu)
        repeats = 3 if n_obs <= 1e6 else 1
        rows = []
        for solver in args.solvers.split(","):
            rows.append(run_optlib(f"altmin {solver}", lambda d, s=solver: robust_altmin(
                d, RANK, shape=P.shape, solver=s, tol=1e-9, random_state=0), data, P, repeats, sync))
        if n_obs <= 1e6 and not args.no_baselines:
            rows.append(run_optlib("soft_impute", lambda d: soft_impute(d, RANK, shape=P.shape, random_state=0),
                                   data, P, 1, sync))
        if m <= 1000 and not args.no_baselines:
            row, note = fancyimpute_softimpute(P)
            rows.append(row) if row else lines.append(f"<!-- {note} -->")
        for r in rows:
            times.setdefault(r["solver"], []).append((P.rows.size, r["seconds"], r["cpu"]))
            line = (f"| {m} | {P.rows.size:.2e} | {r['solver']} | {r['seconds']:.3g} | {r['cpu']:.3g} | "
                    f"{r['error']:.2e} | {r['nit']} | {r['peak_mb']:.0f} |")
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
