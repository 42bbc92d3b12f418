#!/usr/bin/env python
"""Benchmark: FISTA for the Lasso and for l1 sparse coding, optlib vs anchors.

Usage::

    python benchmarks/bench_proxgrad.py [--quick] [--repeats N] [--threads T]

Problems
--------
* Lasso ``min_w 1/(2n) ||y - X w||^2 + alpha ||w||_1`` (scikit-learn's
  scaling) on Gaussian and correlated (AR(1) columns, rho = 0.6) designs, at
  ``alpha = alpha_max / 10`` and ``alpha_max / 100``.
* l1 sparse coding of many signals with one dictionary,
  ``min_C sum_i 1/2 ||x_i - D^T c_i||^2 + alpha ||c_i||_1`` (the minimiser of
  scikit-learn's ``sparse_encode(algorithm="lasso_cd")``, whose objective is
  this one divided by ``n_features``).

Solvers
-------
* optlib: ``proxgrad(LeastSquares(X, y, scale=1/n), L1(alpha), 0, method="fista",
  restart="gradient")`` with its default gradient-mapping stopping rule.
* scikit-learn ``Lasso(fit_intercept=False)`` (coordinate descent).
* scikit-learn ``sparse_encode(algorithm="lasso_cd")`` (sparse coding only).
* pyproximal ``ProximalGradient(L2(Op=MatrixMult(X)), L1, acceleration="fista")``.
* celer / skglm ``Lasso`` when installed (``bench`` extra), skipped otherwise.

Protocol
--------
A reference optimum ``F*`` comes from scikit-learn ``Lasso(tol=1e-12)`` and is
lowered to the best objective any solver reaches. Each solver is warmed up
(numba JIT, caches), then calibrated: its own stopping tolerance is tightened
along a ladder until the relative objective gap ``(F - F*) / F*`` is at most
``--target`` (1e-6). Solvers without a usable tolerance (pyproximal, whose
``tol`` costs an objective per iteration) get the smallest iteration count
that reaches the target, found by a callback in an untimed run -- an oracle
stopping rule in the anchor's favour. The chosen settings are then timed,
round-robin over the solvers (median of ``--repeats`` runs, wall clock and
process CPU time, everything from the raw arrays to the solution included:
Lipschitz constants, Gram matrices). Solvers that never reach the target are
reported with their final gap.

BLAS is limited to ``--threads`` threads (default 1) in every solver so that
coordinate-descent anchors (single-threaded) and BLAS-bound first-order
methods compare on equal hardware, and so that timings are stable on shared
machines.
"""

import argparse
import datetime
import importlib
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

try:
    import optlib  # noqa: F401
except ImportError:  # running from a source checkout without installation
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import optlib  # noqa: F401

from optlib.functions import L1, LeastSquares
from optlib.optimize import proxgrad

RESULTS = Path(__file__).resolve().parent / "results" / "bench_proxgrad.md"


# -- problems --------------------------------------------------------------------


class Problem:
    """A Lasso-type problem: ``scale/2 ||A w - b||_F^2 + alpha ||w||_1``.

    ``kind`` is ``"lasso"`` (``A = X`` of shape (n, p), ``b = y``,
    ``scale = 1/n``) or ``"coding"`` (``A = D^T`` of shape (n_features,
    n_atoms), ``b = X^T`` of shape (n_features, n_signals), ``scale = 1``).
    """

    def __init__(self, name, size, kind, A, b, alpha, scale):
        self.name, self.size, self.kind = name, size, kind
        self.A, self.b, self.alpha, self.scale = A, b, alpha, scale
        self.x_shape = (A.shape[1],) + b.shape[1:]
        self.f_star = np.inf

    def objective(self, w):
        w = np.asarray(w, dtype=np.float64).reshape(self.x_shape)
        r = self.A @ w - self.b
        return 0.5 * self.scale * float(np.sum(r * r)) + self.alpha * float(np.sum(np.abs(w)))

    def observe(self, value):
        """Lower the reference optimum to ``value`` when it is better."""
        self.f_star = min(self.f_star, value)

    def rel_gap(self, value):
        return (value - self.f_star) / abs(self.f_star)


def _design(rng, n, p, rho):
    """Gaussian design; AR(1)-correlated columns (corr rho^|i-j|) when rho > 0."""
    G = rng.standard_normal((n, p))
    if rho == 0:
        return G
    X = np.empty((n, p))
    X[:, 0] = G[:, 0]
    c = np.sqrt(1 - rho * rho)
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + c * G[:, j]
    return X


def make_lasso(n, p, design, divisor, seed=0, snr=3.0):
    rng = np.random.default_rng(seed)
    X = _design(rng, n, p, 0.6 if design == "correlated" else 0.0)
    w = np.zeros(p)
    support = rng.choice(p, max(1, p // 20), replace=False)
    w[support] = rng.standard_normal(support.size)
    signal = X @ w
    noise = rng.standard_normal(n)
    y = signal + noise * np.linalg.norm(signal) / (snr * np.linalg.norm(noise))
    alpha = np.max(np.abs(X.T @ y)) / n / divisor
    name = f"lasso {design} a_max/{divisor}"
    return Problem(name, f"{n}x{p}", "lasso", X, y, alpha, 1.0 / n)


def make_coding(n_features, n_atoms, n_signals, divisor=10, seed=0, k=10, snr=3.0):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    codes = np.zeros((n_signals, n_atoms))
    for i in range(n_signals):
        idx = rng.choice(n_atoms, k, replace=False)
        codes[i, idx] = rng.standard_normal(k)
    clean = codes @ D
    noise = rng.standard_normal(clean.shape)
    Xs = clean + noise * np.linalg.norm(clean) / (snr * np.linalg.norm(noise))
    # per-signal alpha_max = ||D x_i||_inf; use the median over signals
    alpha = float(np.median(np.max(np.abs(Xs @ D.T), axis=1))) / divisor
    name = f"sparse coding a_max/{divisor}"
    size = f"{n_features}x{n_atoms}, {n_signals} signals"
    return Problem(name, size, "coding", np.ascontiguousarray(D.T), np.ascontiguousarray(Xs.T), alpha, 1.0)


# -- solvers ---------------------------------------------------------------------


class _Stop(Exception):
    pass


class Solver:
    """A solver: ``settings(problem)`` is a ladder of increasingly tight settings."""

    name = "?"
    module = None  # module name that must import, else the solver is skipped

    def available(self):
        if self.module is None:
            return True
        try:
            importlib.import_module(self.module)
        except ImportError:
            return False
        return True

    def supports(self, problem):
        return True

    def settings(self, problem):
        raise NotImplementedError

    def warmup_setting(self, problem):
        return self.settings(problem)[0]

    def describe(self, setting):
        return f"tol={setting:g}"

    def run(self, problem, setting):
        raise NotImplementedError

    def calibrate(self, problem, target):
        """Loosest setting of the ladder reaching ``target`` (or the tightest)."""
        setting = None
        for setting in self.settings(problem):
            value = problem.objective(self.run(problem, setting))
            problem.observe(value)
            if problem.rel_gap(value) <= target:
                break
        return setting


def _tol_ladder(loosest, tightest):
    """1, 3 steps per decade: 1e-2, 3e-3, 1e-3, ... (loose to tight)."""
    out = []
    e = int(round(np.log10(loosest)))
    while 10.0**e >= tightest * 0.999:
        out.append(10.0**e)
        if 10.0 ** (e - 0.5) >= tightest * 0.999:
            out.append(float(f"{10.0 ** (e - 0.5):.0e}"))
        e -= 1
    return out


class OptlibFista(Solver):
    name = "optlib proxgrad (FISTA, restart=gradient)"

    def settings(self, problem):
        return _tol_ladder(1e-2, 1e-12)

    def run(self, problem, tol):
        f = LeastSquares(problem.A, problem.b, scale=problem.scale)
        x0 = np.zeros(problem.x_shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = proxgrad(f, L1(problem.alpha), x0, method="fista", restart="gradient", tol=tol, max_iter=100_000)
        return res.x


class SklearnLasso(Solver):
    name = "sklearn Lasso (cd)"
    module = "sklearn"

    def supports(self, problem):
        return problem.kind == "lasso"

    def settings(self, problem):
        return _tol_ladder(1e-2, 1e-12)

    def run(self, problem, tol):
        from sklearn.linear_model import Lasso

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = Lasso(alpha=problem.alpha, fit_intercept=False, tol=tol, max_iter=1_000_000)
            model.fit(problem.A, problem.b)
        return model.coef_


class SklearnSparseEncode(Solver):
    name = "sklearn sparse_encode (lasso_cd)"
    module = "sklearn"

    def supports(self, problem):
        return problem.kind == "coding"

    def settings(self, problem):
        # sparse_encode fixes Lasso's tol to 1e-8; its only knob is max_iter.
        return [1000, 10_000]

    def describe(self, setting):
        return f"max_iter={setting} (tol fixed 1e-8)"

    def run(self, problem, max_iter):
        from sklearn.decomposition import sparse_encode

        D = problem.A.T  # (n_atoms, n_features)
        Xs = problem.b.T  # (n_signals, n_features)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = sparse_encode(Xs, D, algorithm="lasso_cd", alpha=problem.alpha, max_iter=max_iter)
        return code.T


class _WorkingSetLasso(Solver):
    def supports(self, problem):
        return problem.kind == "lasso"

    def settings(self, problem):
        return _tol_ladder(1e-2, 1e-12)

    def run(self, problem, tol):
        est = self._estimator(problem.alpha, tol)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(problem.A, problem.b)
        return est.coef_


class CelerLasso(_WorkingSetLasso):
    name = "celer Lasso"
    module = "celer"

    def _estimator(self, alpha, tol):
        from celer import Lasso

        return Lasso(alpha=alpha, fit_intercept=False, tol=tol, max_iter=1000)


class SkglmLasso(_WorkingSetLasso):
    name = "skglm Lasso"
    module = "skglm"

    def _estimator(self, alpha, tol):
        from skglm import Lasso

        return Lasso(alpha=alpha, fit_intercept=False, tol=tol, max_iter=1000)


class PyproximalFista(Solver):
    name = "pyproximal ProximalGradient (fista)"
    module = "pyproximal"
    max_iter = 50_000

    def warmup_setting(self, problem):
        return 5

    def settings(self, problem):  # unused: calibrated by callback
        return [self.max_iter]

    def describe(self, setting):
        return f"niter={setting} (oracle)"

    def _setup(self, problem):
        import pylops
        import pyproximal

        A = problem.A
        other = problem.x_shape[1:]
        # the pylops idiom for the Lipschitz constant of the l2 datafit, on the
        # single-column operator (same norm, much cheaper than with otherdims)
        Op1 = pylops.MatrixMult(A)
        L = problem.scale * float(np.abs((Op1.H * Op1).eigs(neigs=1, symmetric=True)[0]))
        Op = pylops.MatrixMult(A, otherdims=other) if other else pylops.MatrixMult(A)
        # pyproximal's L2 precomputes A^T A for explicit operators (1.5 s for a
        # 500 x 5000 design), used only by its prox, never by proximal gradient:
        # marking the operator implicit skips it (the anchor's best case).
        Op.explicit = False
        proxf = pyproximal.L2(Op=Op, b=problem.b.ravel(), sigma=problem.scale)
        proxg = pyproximal.L1(sigma=problem.alpha)
        return proxf, proxg, 1.0 / L

    def _solve(self, problem, niter, callback=None):
        from pyproximal.optimization.primal import ProximalGradient

        proxf, proxg, tau = self._setup(problem)
        x0 = np.zeros(int(np.prod(problem.x_shape)))
        return ProximalGradient(
            proxf, proxg, x0, tau=tau, niter=niter, acceleration="fista", callback=callback
        )

    def run(self, problem, niter):
        return self._solve(problem, niter)

    def calibrate(self, problem, target):
        count = [0]

        def callback(x):
            count[0] += 1
            value = problem.objective(x)
            problem.observe(value)
            if problem.rel_gap(value) <= target:
                raise _Stop

        try:
            self._solve(problem, self.max_iter, callback)
        except _Stop:
            pass
        return count[0]


ALL_SOLVERS = [OptlibFista, SklearnLasso, SklearnSparseEncode, CelerLasso, SkglmLasso, PyproximalFista]


# -- driver ----------------------------------------------------------------------


def reference(problem):
    """Reference optimum: scikit-learn Lasso at tol=1e-12."""
    from sklearn.linear_model import Lasso

    if problem.kind == "lasso":
        A, b, alpha = problem.A, problem.b, problem.alpha
        precompute = False
    else:  # same minimiser with scikit-learn's 1/(2 n_samples) scaling
        A, b, alpha = problem.A, problem.b, problem.alpha / problem.A.shape[0]
        precompute = problem.A.T @ problem.A
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=1_000_000, precompute=precompute)
        model.fit(A, b)
    problem.observe(problem.objective(model.coef_.T))


def _timed_run(solver, problem, setting):
    """One run: (wall seconds, process CPU seconds, solution)."""
    w0, c0 = time.perf_counter(), time.process_time()
    w = solver.run(problem, setting)
    return time.perf_counter() - w0, time.process_time() - c0, w


def benchmark(problems, solvers, repeats, target, log):
    rows = []
    for problem in problems:
        t0 = time.perf_counter()
        reference(problem)
        log(f"\n## {problem.name} ({problem.size}): reference F* = {problem.f_star:.12e} ({time.perf_counter() - t0:.1f} s)")
        entries = []
        for solver in solvers:
            if not solver.supports(problem):
                continue
            t0 = time.perf_counter()
            solver.run(problem, solver.warmup_setting(problem))  # JIT, caches, page faults
            setting = solver.calibrate(problem, target)
            entries.append(dict(solver=solver, setting=setting, wall=[], cpu=[], w=None))
            log(f"  calibrated {solver.name:45s} {solver.describe(setting):30s} ({time.perf_counter() - t0:.1f} s)")
        # Round-robin repeats: load changes on a shared machine hit every solver alike.
        for _ in range(repeats):
            for e in entries:
                wall, cpu, e["w"] = _timed_run(e["solver"], problem, e["setting"])
                e["wall"].append(wall)
                e["cpu"].append(cpu)
        for e in entries:
            e["value"] = problem.objective(e["w"])
            problem.observe(e["value"])
            e["time"], e["cpu_time"] = statistics.median(e["wall"]), statistics.median(e["cpu"])
            log(f"  {e['solver'].name:45s} {e['time']:9.4f} s wall  {e['cpu_time']:9.4f} s cpu")
        anchor = next(e for e in entries if isinstance(e["solver"], OptlibFista))
        for e in entries:  # gaps against the final F*
            rows.append(
                dict(
                    problem=problem.name,
                    size=problem.size,
                    solver=e["solver"].name,
                    setting=e["solver"].describe(e["setting"]),
                    time=e["time"],
                    cpu=e["cpu_time"],
                    ratio=e["time"] / anchor["time"],
                    cpu_ratio=e["cpu_time"] / anchor["cpu_time"],
                    gap=problem.rel_gap(e["value"]),
                )
            )
    return rows


def markdown_table(rows, target):
    lines = [
        "| problem | size | solver | setting | time (s) | ratio (anchor / optlib) "
        "| CPU time (s) | CPU ratio | rel. objective gap |",
        "|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        flag = "" if r["gap"] <= target else " (target missed)"
        lines.append(
            f"| {r['problem']} | {r['size']} | {r['solver']} | {r['setting']} | {r['time']:.4f} "
            f"| {r['ratio']:.2f} | {r['cpu']:.4f} | {r['cpu_ratio']:.2f} | {max(r['gap'], 0.0):.1e}{flag} |"
        )
    return "\n".join(lines)


def with_thread_limit(threads, fn, *args):
    """``fn(*args)`` with BLAS/OpenMP limited to ``threads`` (no limit when falsy)."""
    if not threads:
        return fn(*args)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        return fn(*args)


def machine_description(threads):
    lines = [
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- platform: {platform.platform()}",
        f"- processor: {_cpu_model()}",
        f"- CPU count: {os.cpu_count()}",
        f"- load average at start (1, 5, 15 min): {', '.join(f'{v:.2f}' for v in os.getloadavg())}",
        f"- python: {platform.python_version()}",
        f"- BLAS threads per solver: {threads if threads else 'library default'}",
    ]
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            lines.append(
                f"- threadpool: {info.get('user_api')} / {info.get('internal_api')} "
                f"{info.get('version')} ({info.get('architecture', '?')}), "
                f"{info.get('num_threads')} threads, {Path(info.get('filepath', '')).name}"
            )
    except ImportError:
        lines.append("- threadpool: threadpoolctl not installed")
    versions = []
    for name in ("optlib", "numpy", "scipy", "sklearn", "numba", "pyproximal", "pylops", "celer", "skglm"):
        try:
            versions.append(f"{name} {importlib.import_module(name).__version__}")
        except ImportError:
            versions.append(f"{name} (not installed)")
        except AttributeError:
            versions.append(f"{name} ?")
    lines.append("- versions: " + ", ".join(versions))
    return "\n".join(lines)


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small problems, fewer repeats")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per solver (default 5, quick 3)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (0 = library default)")
    parser.add_argument("--target", type=float, default=1e-6, help="relative objective gap to reach")
    parser.add_argument("--output", type=Path, default=None, help="Markdown file (default results/bench_proxgrad[_quick].md)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 5)
    if args.output is None:
        args.output = RESULTS.with_name("bench_proxgrad_quick.md") if args.quick else RESULTS

    problems = []
    sizes = [(200, 1000)] if args.quick else [(200, 1000), (500, 5000)]
    for n, p in sizes:
        for design in ("gaussian", "correlated"):
            for divisor in (10, 100):
                problems.append(make_lasso(n, p, design, divisor))
    problems.append(make_coding(256, 512, 200 if args.quick else 1000))

    solvers, notes = [], []
    for cls in ALL_SOLVERS:
        solver = cls()
        if solver.available():
            solvers.append(solver)
        else:
            notes.append(f"- {solver.name}: skipped, `{solver.module}` is not installed (`pip install .[bench]`).")

    machine = machine_description(args.threads)
    print("# bench_proxgrad" + (" (quick)" if args.quick else ""))
    print(machine)
    for note in notes:
        print(note)

    rows = with_thread_limit(
        args.threads, benchmark, problems, solvers, repeats, args.target, lambda s: print(s, flush=True)
    )

    table = markdown_table(rows, args.target)
    print("\n" + table)
    text = "\n\n".join(
        [
            "# bench_proxgrad" + (" (--quick)" if args.quick else ""),
            f"Time to reach a relative objective gap <= {args.target:g} (median of {repeats} runs, "
            "round-robin over the solvers, after warm-up and calibration); ratio = anchor time / "
            "optlib time (> 1: optlib faster), on wall-clock time and on process CPU time (with one "
            "BLAS thread every solver is single-threaded, so CPU time is the measure least "
            "disturbed by other load on the machine). See `benchmarks/README.md` for the protocol.",
            "## Machine\n\n" + machine,
            "## Results\n\n" + table,
        ]
        + (["## Skipped anchors\n\n" + "\n".join(notes)] if notes else [])
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    print(f"\nwritten to {args.output}")


if __name__ == "__main__":
    main()
