#!/usr/bin/env python
"""Benchmark: optlib ``Lasso`` and ``SparseLogisticRegression`` (coordinate descent) vs scikit-learn, skglm, celer.

Usage::

    python benchmarks/bench_bcd.py [--quick] [--repeats N] [--threads T] [--target G] [--only 1|2|3|4|paths]
        [--paths none|quick|all] [--path-target G] [--path-cap S] [--path-ladder TOL]
        [--path-solvers NAMES] [--path-problems 1,2,3]

Problems (issue 3), all ``fit_intercept=False``:

1. Lasso, correlated design, n=500, p=5000, AR(1) columns with rho=0.5, 50
   nonzero coefficients, SNR 3, at ``alpha_max / 10, / 100, / 1000``;
2. Lasso, problem A of the BCD spec (``../shared/specs/bcd.md``): 1000 x
   10000, entries N(0,1)+1, columns scaled by 10 N(0,1), each entry kept with
   probability 10 log(m)/m (m = 1000), x* 10% nonzero, ``y = A x*`` plus
   noise (SNR 3), at ``alpha_max / 10`` (stored dense);
3. Lasso, sparse CSC design 20000 x 50000, density 1e-3 (uniformly random
   distinct positions, drawn directly in CSC: ``scipy.sparse.random``'s
   distribution, without its time and memory), N(0,1) entries, 100
   nonzero coefficients, SNR 3, at ``alpha_max / 10``;
4. L1 logistic regression, Gaussian design 2000 x 10000, 50 nonzero true
   coefficients, labels ``sign(X w* + noise)`` (SNR 3) in {-1, +1}, at
   ``alpha_max / 10`` with ``alpha_max = ||X^T y||_inf / (2 n)``.

Objectives, computed in one place for every solver: Lasso
``1/(2n) ||y - X w||^2 + alpha ||w||_1`` (scikit-learn's scaling);
logistic ``1/n sum_i log(1 + exp(-y_i x_i w)) + alpha ||w||_1`` (skglm's
scaling; celer and scikit-learn get ``C = 1 / (n alpha)``).

``--quick``: problem 1 at ``alpha_max / 10`` and ``/ 100`` only, 3 repeats.

Protocol (target: relative objective gap ``(F - F*) / |F*| <= 1e-10``):

- warm-up: one run per solver at the loosest setting of its tolerance ladder
  (numba JIT, caches); not timed;
- ladder walk: each solver runs at ``tol = 1e-2, 3e-3, 1e-3, ...`` (loose to
  tight, down to 1e-14) and every objective lowers ``F*`` (best objective
  found by any solver). A solver's walk stops when its objective is within
  the target of ``F*`` *and* changed by less than a tenth of the target since
  the previous rung (it has converged, so ``F*`` is not a weak one it merely
  matches), when a single run exceeds ``--cap`` seconds, or at the end of
  the ladder. Solvers whose best rung misses the final ``F*`` resume their
  walk once every solver has contributed. The timed setting is the loosest
  rung whose objective is within the target of the final ``F*`` (the
  tightest walked rung when none is, reported as "target missed");
- timing: median of ``--repeats`` runs, round-robin, wall and CPU time; a
  solver whose calibrated run took more than ``--slow`` seconds (default 5)
  in the walk is timed once ("(1 run)" in the table).

Ratio = solver time / fastest of skglm and celer (issue 3 target for
optlib: <= 0.5).

Paths and cross-validation (issue 10), on problem (1) at ``alpha_max / 10``'s
data (``--paths quick``) and also (2), (3) (``--paths all``):

- ``lasso_path`` of 100 alphas from ``alpha_max`` down to ``1e-3 alpha_max``
  (the same grid for every solver): optlib's ``lasso_path``, scikit-learn's
  ``lasso_path``, celer's ``celer_path`` and skglm's ``AndersonCD.path``,
  each at the loosest ``tol`` of its ladder whose path has, at every alpha,
  a relative duality gap ``gap / (||y||^2 / 2n) <= --path-target`` (default
  1e-6; one gap formula for all, :func:`lasso_path_gaps`); ratio = time /
  fastest of the three anchors (issue 10 target: <= 0.5);
- ``LassoCV(cv=5, alphas=100)`` at default settings on the dense problems,
  optlib vs scikit-learn, with the ``alpha_`` each chose; ratio = time /
  scikit-learn's (target <= 0.3);
- every path and ``LassoCV`` run is a forked child (JIT warm-up done before,
  on 50 samples) stopped after ``--path-cap`` seconds of wall time (reported
  as ``> cap`` with the CPU time it had used, lower bounds; a ratio to a
  stopped anchor is printed ``<= r``, an upper bound); ratios on wall and on
  the child's CPU time;
  ``--path-ladder`` is the loosest rung of the tol ladders, ``--path-solvers``
  / ``--path-problems`` restrict the rows (for a loaded machine).
"""

import argparse
import os
import shlex
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

from bench_proxgrad import (  # noqa: E402  (shared helpers)
    Problem,
    Solver,
    _design,
    _timed_run,
    _tol_ladder,
    machine_description,
    with_thread_limit,
)

RESULTS = Path(__file__).resolve().parent / "results"
NOT_AVAILABLE = "not available"
LADDER = (1e-2, 1e-14)


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
    """Same distribution as ``scipy.sparse.random(n, p, density, format="csc", data_rvs=standard_normal)``.

    Exactly ``round(density n p)`` distinct positions drawn uniformly without
    replacement, N(0, 1) values, built directly in CSC; ``scipy.sparse.random``
    took 2 min and 8 GB at this size, this takes a fraction of a second.
    """
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    k = round(density * n * p)
    flat = np.sort(rng.choice(n * p, k, replace=False))  # column-major linear indices
    col, row = np.divmod(flat, n)
    indptr = np.zeros(p + 1, dtype=np.int64)
    np.cumsum(np.bincount(col, minlength=p), out=indptr[1:])
    idx_dtype = np.int32 if max(n, k) < np.iinfo(np.int32).max else np.int64
    X = sp.csc_matrix((rng.standard_normal(k), row.astype(idx_dtype), indptr.astype(idx_dtype)), shape=(n, p))
    w = np.zeros(p)
    w[rng.choice(p, nnz, replace=False)] = rng.standard_normal(nnz)
    return _lasso_problem("(3) sparse CSC d=1e-3", f"{n}x{p}", X, w, rng, divisor)


class LogregProblem(Problem):
    """``1/n sum_i log(1 + exp(-y_i x_i w)) + alpha ||w||_1``, y in {-1, +1}."""

    def objective(self, w):
        w = np.asarray(w, dtype=np.float64).ravel()
        z = -self.b * np.asarray(self.A @ w).ravel()
        return float(np.mean(np.logaddexp(0.0, z))) + self.alpha * float(np.sum(np.abs(w)))


def make_logreg(divisor=10, n=2000, p=10000, nnz=50, snr=3.0, seed=0):
    rng = np.random.default_rng(seed)
    X = np.asfortranarray(rng.standard_normal((n, p)))
    w = np.zeros(p)
    w[rng.choice(p, nnz, replace=False)] = rng.standard_normal(nnz)
    signal = X @ w
    noise = rng.standard_normal(n)
    y = np.sign(signal + noise * np.linalg.norm(signal) / (snr * np.linalg.norm(noise)))
    y[y == 0] = 1.0
    alpha = float(np.max(np.abs(X.T @ y))) / (2 * n) / divisor
    prob = LogregProblem(f"(4) L1 logistic a_max/{divisor}", f"{n}x{p}", "logreg", X, y, alpha, 1.0 / n)
    prob.sparse = False
    return prob


# -- solvers ---------------------------------------------------------------------


class _Quiet(Solver):
    """Fit ``self.estimator(problem, tol)`` with warnings silenced; return a flat coef."""

    kinds = ("lasso",)
    sparse_ok = True

    def supports(self, problem):
        return problem.kind in self.kinds and (self.sparse_ok or not getattr(problem, "sparse", False))

    def settings(self, problem):
        return _tol_ladder(*LADDER)

    def run(self, problem, tol):
        est = self.estimator(problem, tol)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(problem.A, problem.b)
        return np.asarray(est.coef_).ravel()


class OptlibLasso(_Quiet):
    name = "optlib Lasso"
    module = "optlib.linear_model"

    def estimator(self, problem, tol):
        from optlib.linear_model import Lasso

        return Lasso(alpha=problem.alpha, fit_intercept=False, tol=tol, max_iter=1_000_000)


class SklearnLasso(_Quiet):
    name = "sklearn Lasso (cd)"
    module = "sklearn"

    def estimator(self, problem, tol):
        from sklearn.linear_model import Lasso

        return Lasso(alpha=problem.alpha, fit_intercept=False, tol=tol, max_iter=1_000_000)


class SkglmLasso(_Quiet):
    name = "skglm Lasso"
    module = "skglm"

    def estimator(self, problem, tol):
        from skglm import Lasso

        return Lasso(alpha=problem.alpha, fit_intercept=False, tol=tol, max_iter=1000)


class CelerLasso(_Quiet):
    name = "celer Lasso"
    module = "celer"

    def estimator(self, problem, tol):
        from celer import Lasso

        return Lasso(alpha=problem.alpha, fit_intercept=False, tol=tol, max_iter=1000)


class OptlibLogreg(_Quiet):
    name = "optlib SparseLogisticRegression"
    kinds = ("logreg",)

    def available(self):
        try:
            from optlib.linear_model import SparseLogisticRegression  # noqa: F401
        except ImportError:
            return False
        return True

    def estimator(self, problem, tol):
        from optlib.linear_model import SparseLogisticRegression

        est = SparseLogisticRegression(alpha=problem.alpha, fit_intercept=False, tol=tol)
        if "max_iter" in est.get_params():
            est.set_params(max_iter=100_000)
        return est


class SkglmLogreg(_Quiet):
    name = "skglm SparseLogisticRegression"
    module = "skglm"
    kinds = ("logreg",)

    def estimator(self, problem, tol):
        from skglm import SparseLogisticRegression

        return SparseLogisticRegression(alpha=problem.alpha, fit_intercept=False, tol=tol, max_iter=1000)


class CelerLogreg(_Quiet):
    name = "celer LogisticRegression"
    module = "celer"
    kinds = ("logreg",)

    def estimator(self, problem, tol):
        from celer import LogisticRegression

        C = 1.0 / (problem.A.shape[0] * problem.alpha)
        return LogisticRegression(C=C, penalty="l1", fit_intercept=False, tol=tol, max_iter=1000)


class SklearnLogreg(_Quiet):
    name = "sklearn LogisticRegression (liblinear)"
    module = "sklearn"
    kinds = ("logreg",)

    def settings(self, problem):
        return _tol_ladder(1e-2, 1e-10)

    def estimator(self, problem, tol):
        from sklearn.linear_model import LogisticRegression

        C = 1.0 / (problem.A.shape[0] * problem.alpha)
        # scikit-learn >= 1.8: l1_ratio=1 selects the l1 penalty (``penalty`` is deprecated)
        return LogisticRegression(C=C, l1_ratio=1.0, solver="liblinear", fit_intercept=False, tol=tol, max_iter=100_000)


ALL_SOLVERS = [
    OptlibLasso, SklearnLasso, SkglmLasso, CelerLasso,
    OptlibLogreg, SklearnLogreg, SkglmLogreg, CelerLogreg,
]
FAST_ANCHORS = (SkglmLasso, CelerLasso, SkglmLogreg, CelerLogreg)


# -- driver ----------------------------------------------------------------------


def _walk(entry, problem, target, cap, log):
    """Run the next rungs of ``entry``'s ladder (see the module docstring)."""
    solver, ladder, record = entry["solver"], entry["ladder"], entry["record"]
    while len(record) < len(ladder):
        setting = ladder[len(record)]
        t0 = time.perf_counter()
        value = problem.objective(solver.run(problem, setting))
        dt = time.perf_counter() - t0
        problem.observe(value)
        prev = record[-1][1] if record else None
        record.append((setting, value, dt))
        converged = prev is not None and abs(prev - value) <= 0.1 * target * abs(value)
        if problem.rel_gap(value) <= target and converged:
            return
        if dt > cap:
            log(f"    {solver.name}: {solver.describe(setting)} took {dt:.1f} s > cap {cap:g} s, walk stopped")
            return


def _choose(entry, problem, target):
    for setting, value, _ in entry["record"]:
        if problem.rel_gap(value) <= target:
            return setting
    return entry["record"][-1][0]


def benchmark(problems, solvers, repeats, target, cap, slow, log):
    rows = []
    for problem in problems:
        log(f"\n## {problem.name} ({problem.size}), alpha = {problem.alpha:.4e}")
        entries = []
        for solver in solvers:
            if not solver.supports(problem):
                continue
            if not solver.available():
                rows.append(dict(problem=problem.name, size=problem.size, solver=solver.name, note=NOT_AVAILABLE))
                log(f"  {solver.name:40s} {NOT_AVAILABLE}")
                continue
            t0 = time.perf_counter()
            ladder = solver.settings(problem)
            problem.observe(problem.objective(solver.run(problem, ladder[0])))  # warm-up: JIT, caches
            entries.append(dict(solver=solver, ladder=ladder, record=[], wall=[], cpu=[], w=None))
            log(f"  warm-up {solver.name:40s} {time.perf_counter() - t0:.1f} s")
        for e in entries:
            t0 = time.perf_counter()
            _walk(e, problem, target, cap, log)
            e["walk"] = time.perf_counter() - t0
        for e in entries:  # resume the walks that miss the final F*
            if min(v for _, v, _ in e["record"]) > problem.f_star + target * abs(problem.f_star):
                t0 = time.perf_counter()
                if e["record"][-1][2] <= cap:
                    _walk(e, problem, target, cap, log)
                e["walk"] += time.perf_counter() - t0
        for e in entries:
            e["setting"] = _choose(e, problem, target)
            log(
                f"  calibrated {e['solver'].name:40s} {e['solver'].describe(e['setting']):12s} "
                f"(ladder walk {e['walk']:.1f} s, {len(e['record'])} rungs)"
            )
        for e in entries:  # a run slower than --slow seconds in the walk is timed once
            e["repeats"] = repeats if dict((s, t) for s, _, t in e["record"])[e["setting"]] <= slow else 1
        for r in range(repeats):  # round-robin
            for e in entries:
                if r >= e["repeats"]:
                    continue
                wall, cpu, e["w"] = _timed_run(e["solver"], problem, e["setting"])
                e["wall"].append(wall)
                e["cpu"].append(cpu)
        for e in entries:
            e["value"] = problem.objective(e["w"])
            problem.observe(e["value"])
            e["time"], e["cpu_time"] = statistics.median(e["wall"]), statistics.median(e["cpu"])
            log(f"  {e['solver'].name:40s} {e['time']:9.4f} s wall  {e['cpu_time']:9.4f} s cpu")
        fast = [e for e in entries if isinstance(e["solver"], FAST_ANCHORS)]
        best_wall = min((e["time"] for e in fast), default=None)
        best_cpu = min((e["cpu_time"] for e in fast), default=None)
        for e in entries:
            rows.append(
                dict(
                    problem=problem.name,
                    size=problem.size,
                    solver=e["solver"].name,
                    setting=e["solver"].describe(e["setting"]) + ("" if e["repeats"] == repeats else " (1 run)"),
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


# -- regularisation paths and cross-validation (issue 10) ---------------------------


def lasso_path_gaps(X, y, alphas, coefs):
    """Relative duality gap of each path point: ``gap / (||y||^2 / (2n))`` (one formula for every solver).

    ``coefs`` is (n_features, n_alphas); the dual point is the residual
    rescaled into the dual feasible set (scikit-learn's formulation A).
    """
    n = X.shape[0]
    f0 = float(y @ y) / (2 * n)
    R = y[:, None] - np.asarray(X @ coefs)  # (n, n_alphas)
    XtR = np.asarray(X.T @ R)
    out = np.empty(len(alphas))
    for i, alpha in enumerate(alphas):
        r = R[:, i]
        s = min(1.0, n * alpha / max(float(np.max(np.abs(XtR[:, i]))), 1e-300))
        primal = float(r @ r) / (2 * n) + alpha * float(np.abs(coefs[:, i]).sum())
        v = s * r
        dual = (float(y @ y) - float((y - v) @ (y - v))) / (2 * n)
        out[i] = (primal - dual) / f0
    return out


def _path_runners(alphas):
    """Name -> run(X, y, tol) returning coefs (n_features, n_alphas) at ``alphas`` (decreasing)."""
    def optlib_run(X, y, tol):
        from optlib.linear_model import lasso_path

        return lasso_path(X, y, alphas=alphas, tol=tol, max_iter=100_000)[1]

    def sklearn_run(X, y, tol):
        from sklearn.linear_model import lasso_path

        return lasso_path(X, y, alphas=alphas, tol=tol, max_iter=100_000)[1]

    def celer_run(X, y, tol):
        from celer import celer_path

        return celer_path(X, y, "lasso", alphas=alphas, tol=tol)[1]

    def skglm_run(X, y, tol):
        from skglm.datafits import Quadratic
        from skglm.penalties import L1
        from skglm.solvers import AndersonCD

        solver = AndersonCD(tol=tol, fit_intercept=False)
        return solver.path(X, y, Quadratic(), L1(alphas[0]), alphas=alphas)[1]

    runners = {"optlib lasso_path": optlib_run, "sklearn lasso_path": sklearn_run}
    for name, module, run in (("celer celer_path", "celer", celer_run), ("skglm AndersonCD.path", "skglm", skglm_run)):
        try:
            __import__(module)
            runners[name] = run
        except ImportError:
            pass
    return runners


PATH_ANCHORS = ("sklearn lasso_path", "celer celer_path", "skglm AndersonCD.path")
PATH_RUNNERS = ("optlib lasso_path",) + PATH_ANCHORS


class Stopped:
    """A run stopped at the wall-time cap, with the CPU time it had used by then (a lower bound; None if unknown)."""

    def __init__(self, cpu):
        self.cpu = cpu


def _child_cpu(pid):
    """CPU time (user + system, s) used so far by process ``pid``, from /proc; None where /proc is absent."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _capped(fn, cap):
    """``fn()`` in a forked child stopped after ``cap`` s of wall time: ``(result, wall, cpu)``, or :class:`Stopped`.

    The child inherits the parent's compiled (JIT-warmed) functions, the data
    and the BLAS thread limit; its CPU time is its own process time. A
    stopped run carries the CPU time it had used (a lower bound on its cost).
    """
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)

    def child():
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        send.send((out, time.perf_counter() - t0, time.process_time() - c0))

    proc = ctx.Process(target=child)
    proc.start()
    res = recv.recv() if recv.poll(cap) else Stopped(_child_cpu(proc.pid))
    if isinstance(res, Stopped):
        proc.kill()
    proc.join()
    return res


def _finished(runs):
    return [r for r in runs if not isinstance(r, Stopped)]


def _small_slice(X, y):
    """The first 50 samples (Fortran-ordered when dense): a JIT warm-up with the full problem's array types."""
    return (X[:50] if hasattr(X, "tocsc") else np.asfortranarray(X[:50])), y[:50]


def _ratio_rows(entries, anchors, kind):
    """Table rows of ``entries`` with wall and CPU ratios to the fastest run among ``anchors``.

    A stopped anchor counts with its lower bounds (the cap, the CPU time used
    by then): when one of them is the smallest, the ratio is an upper bound
    (``bound=True``, printed ``<=``).
    """
    timed = [e for e in entries if e["name"] in anchors and e["ok"]]
    stopped = [e for e in entries if e["name"] in anchors and not e["ok"] and e.get("cpu_lower")]
    candidates = [(e["time"], e["cpu"], False) for e in timed] + [(e["time"], e["cpu_lower"], True) for e in stopped]
    best_wall = min(candidates, default=None)
    best_cpu = min(candidates, key=lambda c: c[1], default=None)
    for e in entries:
        mine = e["cpu"] if e["ok"] else None
        e.update(kind=kind, ratio=e["time"] / best_wall[0] if best_wall and e["ok"] else None,
                 cpu_ratio=mine / best_cpu[1] if best_cpu and mine else None,
                 bound=bool(best_cpu and best_cpu[2]) or bool(best_wall and best_wall[2]))
    return entries


def bench_paths(problems, target, repeats, cap, ladder_start, log, only=None):
    """``lasso_path`` of 100 alphas (eps 1e-3), every solver at the loosest tol reaching ``target`` at every alpha.

    Each run is a forked child stopped after ``cap`` s (wall); a solver stopped
    before reaching the target is reported with a lower bound on its time.
    ``only``: names of the solvers to run (default all).
    """
    rows = []
    for prob in problems:
        X, y = prob.A, prob.b
        n = X.shape[0]
        alpha_max = float(np.max(np.abs(X.T @ y))) / n
        alphas = np.geomspace(alpha_max, alpha_max * 1e-3, 100)
        label = f"lasso_path {prob.name.split(' a_max')[0]}"
        log(f"\n## path: {prob.size} {prob.name.split(' a_max')[0]}, 100 alphas, eps 1e-3, target max rel. gap {target:g}")
        entries = []
        for name, run in _path_runners(alphas).items():
            if only is not None and name not in only:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run(*_small_slice(X, y), 1e-2)  # warm-up (JIT), in this process: the children inherit it
                chosen, res, tol = None, None, None
                for tol in _tol_ladder(ladder_start, 1e-12):
                    res = _capped(lambda tol=tol: run(X, y, tol), cap)
                    if isinstance(res, Stopped):
                        log(f"  {name:28s} tol={tol:.0e} stopped after {cap:g} s (CPU {res.cpu} s)")
                        break
                    if float(np.max(lasso_path_gaps(X, y, alphas, res[0]))) <= target:
                        chosen = tol
                        break
                runs = _finished([res])
                if chosen is not None:
                    runs += _finished([_capped(lambda: run(X, y, tol), cap) for _ in range(repeats - 1)])
            e = dict(problem=label, size=prob.size, solver=name, ok=chosen is not None)
            if runs:
                e.update(time=statistics.median(r[1] for r in runs), cpu=statistics.median(r[2] for r in runs),
                         gap=float(np.max(lasso_path_gaps(X, y, alphas, runs[-1][0]))))
                e["setting"] = f"tol={tol:.0e}" + ("" if e["ok"] else " (target missed)") + f" ({len(runs)} runs)"
            else:
                e.update(time=cap, cpu=None, cpu_lower=res.cpu, gap=None,
                         setting=f"tol={tol:.0e}: stopped after {cap:g} s")
            entries.append(e)
            log(f"  {name:28s} {e['setting']:32s} wall {e['time']:8.3f} s  cpu {e['cpu'] or float('nan'):8.3f} s")
        rows += _ratio_rows([dict(e, name=e["solver"]) for e in entries], PATH_ANCHORS, "path")
    return rows


def bench_lassocv(problems, repeats, cap, log):
    """``LassoCV`` (5 folds, 100 alphas, default tol) of optlib vs scikit-learn: time ratios and the alpha_ chosen."""
    from sklearn.linear_model import LassoCV as SkLassoCV

    from optlib.linear_model import LassoCV

    rows = []
    for prob in problems:
        X, y = prob.A, prob.b
        log(f"\n## LassoCV: {prob.size} {prob.name.split(' a_max')[0]}, cv=5, 100 alphas")
        entries = []
        for name, cls in (("optlib LassoCV", LassoCV), ("sklearn LassoCV", SkLassoCV)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cls(cv=5, alphas=100).fit(*_small_slice(X, y))  # warm-up (JIT)
                outcomes = [_capped(lambda: cls(cv=5, alphas=100).fit(X, y).alpha_, cap) for _ in range(repeats)]
                runs = _finished(outcomes)
            e = dict(problem=f"LassoCV {prob.name.split(' a_max')[0]}", size=prob.size, solver=name, name=name,
                     ok=bool(runs), gap=None)
            if runs:
                e.update(time=statistics.median(r[1] for r in runs), cpu=statistics.median(r[2] for r in runs),
                         alpha=runs[0][0])
            else:
                e.update(time=cap, cpu=None, cpu_lower=min(r.cpu or 0.0 for r in outcomes) or None, alpha=None)
            e["n_runs"] = len(runs)
            entries.append(e)
            log(f"  {name:20s} wall {e['time']:8.3f} s  cpu {e['cpu'] or float('nan'):8.3f} s  alpha_={e['alpha']}")
        ref = entries[1]["alpha"]
        for e in entries:
            if e["alpha"] is None:
                e["setting"] = f"stopped after {cap:g} s"
            else:
                same = "no reference" if ref is None else ("same" if np.isclose(e["alpha"], ref, rtol=1e-6) else "differs")
                e["setting"] = f"alpha_={e['alpha']:.4e} ({same}, {e['n_runs']} runs)"
        rows += _ratio_rows(entries, ("sklearn LassoCV",), "cv")
    return rows


def markdown_table_paths(rows):
    lines = [
        "| problem | size | solver | setting | time (s) | ratio | CPU time (s) | CPU ratio | max rel. duality gap |",
        "|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    fmt = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
    for r in rows:
        gap = "" if r["gap"] is None else f"{r['gap']:.1e}"
        time_ = f"> {r['time']:g}" if r["cpu"] is None else f"{r['time']:.3f}"
        cpu = f"{r['cpu']:.3f}" if r["cpu"] is not None else (f"> {r['cpu_lower']:.1f}" if r.get("cpu_lower") else "n/a")
        bound = "<= " if r.get("bound") else ""
        ratio, cpu_ratio = (bound + fmt(v) if v is not None else "n/a" for v in (r["ratio"], r["cpu_ratio"]))
        lines.append(
            f"| {r['problem']} | {r['size']} | {r['solver']} | {r['setting']} | {time_} | {ratio} "
            f"| {cpu} | {cpu_ratio} | {gap} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="problem (1) at a_max/10 and /100, 3 repeats")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per solver (default 5, quick 3)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (0 = library default)")
    parser.add_argument("--target", type=float, default=1e-10, help="relative objective gap to reach")
    parser.add_argument("--cap", type=float, default=20.0, help="stop a ladder walk after a run longer than this (s)")
    parser.add_argument("--slow", type=float, default=5.0, help="time a solver once when its run takes longer (s)")
    parser.add_argument(
        "--only", choices=("1", "2", "3", "4", "paths"), default=None,
        help="run only this problem set (full mode); 'paths': only the lasso_path / LassoCV rows"
    )
    parser.add_argument("--output", type=Path, default=None, help="Markdown file (default results/bench_bcd[_quick].md)")
    parser.add_argument(
        "--paths", choices=("none", "quick", "all"), default=None,
        help="lasso_path / LassoCV rows: on problem (1) at quick, on (1), (2), (3) at all (default: quick with --quick, "
        "all otherwise; none with --only)",
    )
    parser.add_argument("--path-target", type=float, default=1e-6, help="max relative duality gap over the path")
    parser.add_argument("--path-cap", type=float, default=600.0,
                        help="stop a path or LassoCV run after this many seconds (wall; it is then reported as '> cap')")
    parser.add_argument("--path-solvers", default=None,
                        help="comma-separated path solvers to run (default: all of " + ", ".join(PATH_RUNNERS) + ")")
    parser.add_argument("--path-problems", default="1,2,3", help="path / LassoCV problems among 1,2,3 (with --paths all)")
    parser.add_argument("--path-ladder", type=float, default=1e-2, help="loosest tol of the path solvers' ladders")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 5)
    if args.output is None:
        suffix = "_quick" if args.quick else ("" if args.only is None else f"_only{args.only}")
        args.output = RESULTS / f"bench_bcd{suffix}.md"

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
        if args.only in (None, "4"):
            makers.append(make_logreg)
    problems = [make() for make in makers]
    if args.only == "paths":
        problems = []
    paths = args.paths or ("quick" if args.quick else ("all" if args.only in (None, "paths") else "none"))
    path_problems = []
    if paths != "none":
        chosen = args.path_problems.split(",") if paths == "all" else ["1"]
        path_problems = [make() for key, make in (("1", lambda: make_correlated(10)), ("2", make_problem_a),
                                                  ("3", make_sparse)) if key in chosen]

    solvers, notes = [], []
    for cls in ALL_SOLVERS:
        solver = cls()
        if solver.module is not None and not solver.available():
            notes.append(f"- {solver.name}: skipped, `{solver.module}` is not installed (`pip install {solver.module}`).")
        else:
            solvers.append(solver)  # optlib's estimators that fail to import are reported per problem
    if args.quick:
        notes.append("- `--quick`: problem (1) at a_max/10 and a_max/100 only; (2), (3), (4) not run.")
    elif args.only is not None:
        notes.append(f"- run restricted to problem set ({args.only}) with `--only`.")
    if not args.quick and args.only in (None, "3"):
        notes.append(
            "- problem (3): the design is drawn directly in CSC (exactly round(density n p) distinct positions "
            "uniformly without replacement, N(0, 1) values), the distribution of `scipy.sparse.random`, which "
            "took 2 min and 8 GB at this size; the draws differ from runs before this change."
        )

    machine = machine_description(args.threads)
    title = "# bench_bcd" + (" (--quick)" if args.quick else "")
    print(title)
    print(machine)
    for line in notes:
        print(line)

    import scipy.linalg.cython_blas  # noqa: F401  (load SciPy's BLAS, used by numba, before limiting threads)

    t_start = time.perf_counter()
    rows = with_thread_limit(
        args.threads, benchmark, problems, solvers, repeats, args.target, args.cap, args.slow, lambda s: print(s, flush=True)
    )
    table = markdown_table(rows, args.target) if rows else "(no fixed-alpha rows)"
    if path_problems:
        log = lambda m: print(m, flush=True)  # noqa: E731
        path_rows = with_thread_limit(args.threads, bench_paths, path_problems, args.path_target, repeats,
                                      args.path_cap, args.path_ladder, log,
                                      None if args.path_solvers is None else args.path_solvers.split(","))
        cv_problems = [p for p in path_problems if not p.sparse]  # (1), (2): scikit-learn's LassoCV on (3) takes hours
        cv_rows = with_thread_limit(args.threads, bench_lassocv, cv_problems, repeats, args.path_cap, log)
        table += (
            "\n\n### Regularisation path (ratio = time / fastest of sklearn, celer, skglm at max rel. gap <= "
            f"{args.path_target:g} at every alpha) and LassoCV (ratio = time / scikit-learn's), wall and CPU\n\n"
            + markdown_table_paths(path_rows + cv_rows)
        )
    import os

    machine += (
        f"\n- load average at end (1, 5, 15 min): {', '.join(f'{v:.2f}' for v in os.getloadavg())}"
        f"\n- total run time: {time.perf_counter() - t_start:.0f} s"
    )
    print("\n" + table)
    text = "\n\n".join(
        [
            title,
            "Command: `python benchmarks/bench_bcd.py " + shlex.join(sys.argv[1:] if argv is None else argv) + "`",
            f"Time to reach a relative objective gap <= {args.target:g} of the best objective found by "
            f"any solver (median of {repeats} runs, round-robin, after a warm-up and a tolerance-ladder "
            "calibration); ratio = solver time / fastest of skglm and celer "
            "(issue 3 target for optlib: <= 0.5), on wall-clock and on process CPU time. "
            "`fit_intercept=False` everywhere. See the module docstring of `benchmarks/bench_bcd.py` "
            "and `benchmarks/README.md` for the protocol.",
            "## Machine\n\n" + machine,
            "## Results\n\n" + table,
            "## Notes\n\n" + ("\n".join(notes) if notes else "- none"),
        ]
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    print(f"\nwritten to {args.output}")


if __name__ == "__main__":
    main()
