#!/usr/bin/env python
"""Benchmark: AdaSketch-Newton (``optlib.optimize.minimize_eq``) vs SciPy on equality-constrained problems.

Usage::

    python benchmarks/bench_alm.py [--quick] [--repeats N] [--device cpu|gpu] [--sketches S1,S2]
                                   [--parts collection,logistic,pde] [--sizes 50,100,200] [--cap SECONDS]

Problems
--------
* The Hock-Schittkowski / Boggs-Tolle / nonlinear-equation collection of
  :func:`optlib.datasets.load_constrained_problem` (35 problems).
* Constrained logistic regression (:func:`optlib.datasets.make_constrained_logistic`)
  on scikit-learn's breast_cancer, digits, wine and a synthetic set.
* The PDE-constrained control problem (:func:`optlib.datasets.make_pde_control`)
  at N = 50, 100, 200 (``n = 2 N^2``), solved matrix-free: Hessian-vector
  products and the sparse Jacobian, inner solver MINRES, with the problem's
  block-diagonal preconditioner (exact Schur complement by DST-I) and, up to
  n = 20000, without it. The preconditioned run uses the problem's default
  keywords, ``p.minimize_kwargs()`` (which carry ``sketch="minres"`` and
  ``preconditioner=p.preconditioner``); the plain one overrides
  ``preconditioner=None``. The reference objective is the closed-form
  solution ``make_pde_control(N).solution()`` (DST-I).

Solvers
-------
* optlib ``minimize_eq`` (default sketch ``gaussian_block``; ``--sketches``
  adds the one-row sketches on the collection), ``tol=1e-6`` on the KKT residual.
* SciPy ``trust-constr`` (``gtol=xtol=1e-10``) and ``SLSQP`` (``ftol=1e-12``),
  both with exact gradients and Jacobians, ``trust-constr`` with the exact
  Hessians of the objective and constraints. On the PDE problem each SciPy
  run is stopped after ``--cap`` seconds of wall time (default 600; in a child
  process, ended at the cap even inside an iteration), and the table prints
  ``> t`` with the last iterate its callback reported (Lagrangian gradient
  for trust-constr, constraint violation, objective error), so
  ``SciPy time / optlib time`` is a lower bound; SLSQP is dense and
  is not run beyond n = 2000. IPOPT (cyipopt) is not installed here: it needs
  the IPOPT shared library, which pip does not provide on this machine.

A run counts as *solved* when the objective matches the reference
(``f_opt`` of the collection; the best objective of the three solvers
elsewhere) to 1e-6 relative (``|f - f*| <= 1e-6 max(1, |f*|)``), the
constraint violation is at most 1e-6 and, for optlib, the KKT residual is at
most 1e-6. Times are medians over ``--repeats`` runs, after one warm-up run
(numba compilation): wall time and CPU time of the process (of the child
process for the capped SciPy runs), with BLAS limited to one thread
(threadpoolctl), since other jobs may load the machine.
"""

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_description  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from optlib.datasets import (  # noqa: E402
    CONSTRAINED_PROBLEMS,
    load_constrained_problem,
    make_constrained_logistic,
    make_pde_control,
)
from optlib.optimize import minimize_eq  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "bench_alm.md"
TOL = 1e-6
SLSQP_MAX_N = 2000  # SLSQP is dense: O(n^2) memory and O(n^3) work per iteration (n = 5000: 2 iterations in 692 s)
PLAIN_MINRES_MAX_N = 20000  # unpreconditioned MINRES needs O(N^2) iterations on the PDE's KKT systems
PRECONDITIONED = "optlib minres + Schur preconditioner"


def _quiet(fn):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()

    return run


def run_optlib(p, **kw):
    """``minimize_eq`` with the problem's keywords (``p.minimize_kwargs()``), overridden by ``kw``."""
    kwargs = {"sketch": "gaussian_block", **p.minimize_kwargs(), "tol": TOL, "random_state": 0, **kw}
    out = minimize_eq(p.fun, p.x0, **kwargs)
    viol = float(np.max(np.abs(p.cons_fun(out.x))))
    return dict(f=out.fun, viol=viol, kkt=out.kkt, nit=out.nit, nfev=out.nfev, njev=out.njev,
                inner=int(np.sum(out.inner_iterations)), ok_kkt=out.kkt <= TOL)


def _wall_cap(p, method, cap, report):
    """A SciPy callback that reports each iterate and stops ``method`` after ``cap`` seconds.

    trust-constr stops when its callback returns True, SLSQP when its
    ``intermediate_result`` callback raises StopIteration; both only between
    iterations, so :func:`run_capped` also ends the process at the cap.
    """
    start = time.perf_counter()

    def state(x, nit, optimality=None):
        report({"nit": nit, "f": float(p.fun(x)), "viol": float(np.max(np.abs(p.cons_fun(x)))),
                "optimality": optimality})
        return time.perf_counter() - start > cap

    if method == "SLSQP":
        count = iter(range(1, 10**9))

        def callback(intermediate_result):
            if state(intermediate_result.x, next(count)):
                raise StopIteration
    else:
        def callback(xk, st):
            return state(xk, int(st.nit), float(st.optimality))
    return callback


def _dense(A):
    """SLSQP takes dense Jacobians only."""
    return A.toarray() if hasattr(A, "toarray") else A


def run_scipy(p, method, hessp=False, cap=None, report=lambda state: None):
    from scipy.optimize import NonlinearConstraint, minimize

    callback = _wall_cap(p, method, cap, report) if cap is not None else None
    start, cpu_start = time.perf_counter(), time.process_time()
    if method == "SLSQP":
        out = minimize(p.fun, p.x0, jac=p.grad, method="SLSQP", options={"ftol": 1e-12, "maxiter": 1000},
                       constraints=[{"type": "eq", "fun": p.cons_fun, "jac": lambda x: _dense(p.cons_jac(x))}],
                       callback=callback)
    else:
        if p.constraints["hess"] is None:  # linear constraints: a zero Hessian (SciPy's default is a dense BFGS)
            from scipy.sparse.linalg import LinearOperator

            zero = LinearOperator((p.n, p.n), matvec=np.zeros_like)
            cons_hess = lambda x, v: zero  # noqa: E731
        else:
            cons_hess = p.cons_hess
        cons = NonlinearConstraint(p.cons_fun, 0.0, 0.0, jac=p.cons_jac, hess=cons_hess)
        extra = {"hessp": p.hessp} if hessp else {"hess": p.hess}
        out = minimize(p.fun, p.x0, jac=p.grad, method="trust-constr", constraints=[cons], **extra,
                       options={"gtol": 1e-10, "xtol": 1e-10, "maxiter": 3000}, callback=callback)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    viol = float(np.max(np.abs(p.cons_fun(out.x))))
    return dict(f=float(p.fun(out.x)), viol=viol, nit=int(out.nit), nfev=int(out.nfev),
                njev=int(getattr(out, "njev", 0)), elapsed=elapsed, cpu=cpu, capped=cap is not None and elapsed > cap,
                optimality=getattr(out, "optimality", None))


def _capped_worker(queue, p, method, hessp, cap):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_scipy(p, method, hessp=hessp, cap=cap, report=lambda st: queue.put(("iterate", st)))
    queue.put(("done", result))


def run_capped(p, method, cap, hessp=False):
    """``run_scipy`` in a child process, ended after ``cap`` seconds of wall time even inside an iteration.

    Returns the run's result, or, when it had to be ended, the last iterate
    its callback reported (``capped=True``; ``nit=0`` and ``x0`` if none);
    ``cpu`` is the child's CPU time (user + system, from ``getrusage``).
    """
    import multiprocessing
    import queue as queue_module
    import resource

    def children_cpu():
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_capped_worker, args=(queue, p, method, hessp, cap))
    start, cpu_start = time.perf_counter(), children_cpu()
    proc.start()
    x0 = np.asarray(p.x0)
    last = {"nit": 0, "f": float(p.fun(x0)), "viol": float(np.max(np.abs(p.cons_fun(x0)))), "optimality": None}
    while True:
        try:
            kind, payload = queue.get(timeout=max(0.1, start + cap - time.perf_counter()))
        except queue_module.Empty:
            break
        if kind == "done":
            proc.join()
            return dict(payload, cpu=children_cpu() - cpu_start)
        last = payload
    proc.terminate()
    proc.join()
    return dict(last, nfev=0, njev=0, elapsed=time.perf_counter() - start, cpu=children_cpu() - cpu_start,
                capped=True)


def _solved(r, f_ref):
    ok = abs(r["f"] - f_ref) <= 1e-6 * max(1.0, abs(f_ref)) and r["viol"] <= 1e-6
    return ok and r.get("ok_kkt", True)


def _once(fn):
    """Wall and CPU (process) seconds of one quiet call of ``fn``, and its output."""
    fn = _quiet(fn)
    start, cpu_start = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - start, time.process_time() - cpu_start, out


def _time(fn, repeats):
    """Median wall and CPU seconds over ``repeats`` calls after a warm-up call, and the last output."""
    _quiet(fn)()  # warm-up
    runs = [_once(fn) for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), runs[-1][2]


def bench_collection(repeats, sketches):
    lines = ["| problem | n | m | solver | solved | iterations | nfev | njev | wall (s) | CPU (s) |",
             "|---|---:|---:|---|---|---:|---:|---:|---:|---:|"]
    summary = {}
    for name in CONSTRAINED_PROBLEMS:
        p = load_constrained_problem(name)
        solvers = [(f"optlib {s}", lambda s=s: run_optlib(p, sketch=s)) for s in sketches]
        solvers += [("SciPy trust-constr", lambda: run_scipy(p, "trust-constr")), ("SciPy SLSQP", lambda: run_scipy(p, "SLSQP"))]
        for label, fn in solvers:
            t, cpu, r = _time(fn, repeats)
            ok = _solved(r, p.f_opt)
            summary.setdefault(label, []).append((ok, r["nit"], t, cpu))
            lines.append(f"| {name} | {p.n} | {p.m} | {label} | {'yes' if ok else 'NO'} | {r['nit']} | {r['nfev']} | "
                         f"{r['njev']} | {t:.4f} | {cpu:.4f} |")
        print(lines[-len(solvers)], flush=True)
    lines += ["", "| solver | solved | median iterations | median wall (s) | median CPU (s) |", "|---|---:|---:|---:|---:|"]
    for label, rows in summary.items():
        lines.append(f"| {label} | {sum(r[0] for r in rows)}/{len(rows)} | {statistics.median(r[1] for r in rows):g} | "
                     f"{statistics.median(r[2] for r in rows):.4f} | {statistics.median(r[3] for r in rows):.4f} |")
    return lines


def bench_logistic(repeats):
    lines = ["| data set | n | m | solver | solved | iterations | nfev | wall (s) | CPU (s) | objective |",
             "|---|---:|---:|---|---|---:|---:|---:|---:|---|"]
    for ds in ("synthetic", "breast_cancer", "digits", "wine"):
        p = make_constrained_logistic(ds, random_state=0)
        runs = [("optlib gaussian_block", lambda: run_optlib(p, v0=p.v0)),
                ("SciPy trust-constr", lambda: run_scipy(p, "trust-constr")), ("SciPy SLSQP", lambda: run_scipy(p, "SLSQP"))]
        results = [(label, *_time(fn, repeats)) for label, fn in runs]
        f_ref = min(r["f"] for *_, r in results if r["viol"] <= 1e-6)
        for label, t, cpu, r in results:
            lines.append(f"| {ds} | {p.n} | {p.m} | {label} | {'yes' if _solved(r, f_ref) else 'NO'} | {r['nit']} | "
                         f"{r['nfev']} | {t:.3f} | {cpu:.3f} | {r['f']:.10g} |")
        print("\n".join(lines[-3:]), flush=True)
    return lines


def bench_pde(sizes, repeats, device, cap):
    lines = ["| N | n | m | solver | solved | iterations | inner iterations | wall (s) | CPU (s) | objective rel. error |",
             "|---:|---:|---:|---|---|---:|---:|---:|---:|---:|"]
    notes = []
    for N in sizes:
        p = make_pde_control(N)
        _, f_star = p.solution()
        runs = [(PRECONDITIONED, lambda: run_optlib(p, v0=p.v0))]  # the problem's keywords carry the preconditioner
        if p.n <= PLAIN_MINRES_MAX_N:
            runs.append(("optlib minres, matrix-free", lambda: run_optlib(p, v0=p.v0, preconditioner=None)))
        if device == "gpu":
            runs.append(("optlib minres, matrix-free, cupy", lambda: _run_pde_cupy(p)))
        runs.append(("SciPy trust-constr (hessp)", lambda: run_capped(p, "trust-constr", cap, hessp=True)))
        if p.n <= SLSQP_MAX_N:
            runs.append(("SciPy SLSQP", lambda: run_capped(p, "SLSQP", cap)))
        times = {}
        for label, fn in runs:
            if label.startswith("SciPy"):  # one capped run: no warm-up (nothing to compile), no repeats
                r = _quiet(fn)()
                t, cpu = r["elapsed"], r["cpu"]
            elif N < 100:
                t, cpu, r = _time(fn, repeats)
            else:  # large sizes: one run, no warm-up (MINRES has nothing to compile)
                t, cpu, r = _once(fn)
            times[label] = (t, cpu)
            rel = abs(r["f"] - f_star) / abs(f_star)
            if r.get("capped"):
                opt = "" if r["optimality"] is None else f"Lagrangian gradient {r['optimality']:.1e}, "
                cell = f"> {t:.0f} (stopped at the {cap:g} s cap: {opt}constraint violation {r['viol']:.1e})"
                t = cap  # the lower bound of the ratio below
            else:
                cell = f"{t:.2f}"
            lines.append(f"| {N} | {p.n} | {p.m} | {label} | {'yes' if _solved(r, f_star) else 'NO'} | {r['nit']} | "
                         f"{r.get('inner', '-')} | {cell} | {cpu:.2f} | {rel:.1e} |")
            print(lines[-1], flush=True)
            if label.startswith("SciPy"):
                bound = ">" if r.get("capped") else "="
                ratios = ", ".join(f"{bound} {t / times[o][0]:.3g} (CPU {cpu / times[o][1]:.3g}) against {o}"
                                   for o in times if o.startswith("optlib"))
                notes.append(f"- N = {N}: {label} time / optlib time, wall (CPU): {ratios}")
        if p.n > PLAIN_MINRES_MAX_N:
            notes.append(f"- N = {N}: plain MINRES not run (n > {PLAIN_MINRES_MAX_N}): its iterations grow as N^2 "
                         "(cond(K) ~ 2 (N + 1)^2); at N = 200 it took 458 s and 70940 iterations (earlier run).")
        if p.n > SLSQP_MAX_N:
            notes.append(f"- N = {N}: SciPy SLSQP not run (n > {SLSQP_MAX_N}): it is dense, an n x n least-squares "
                         "subproblem per iteration; at n = 5000 its first two iterations took 692 s.")
    return lines + [""] + notes


def _run_pde_cupy(p):
    """The PDE problem with CuPy vectors and a cupyx sparse Jacobian (no host copies in the solve)."""
    import cupy as cp
    import cupyx.scipy.sparse as cps

    J, L = cps.csr_matrix(p._jac), cps.csr_matrix(p.L)
    diag, target = cp.asarray(p._diag), cp.asarray(p.w_target)
    m = p.m

    def fun(x):
        return float(0.5 * (cp.sum((x[:m] - target) ** 2) + 0.1 * cp.sum(x[m:] ** 2)))

    def grad(x):
        return cp.concatenate([x[:m] - target, 0.1 * x[m:]])

    cons = {"fun": lambda x: L @ x[:m] + x[m:], "jac": lambda x: J, "hess": None}
    out = minimize_eq(fun, cp.asarray(p.x0), jac=grad, hessp=lambda x, q: diag * q, constraints=cons,
                      v0=cp.asarray(p.v0), sketch="minres", tol=TOL, random_state=0)
    return dict(f=out.fun, viol=float(cp.max(cp.abs(L @ out.x[:m] + out.x[m:]))), kkt=out.kkt, nit=out.nit,
                nfev=out.nfev, njev=out.njev, inner=int(np.sum(out.inner_iterations)), ok_kkt=out.kkt <= TOL)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--quick", action="store_true", help="one repeat, PDE at N = 20, 50 only")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu",
                        help="gpu: also run the PDE problem on CuPy arrays (needs cupy)")
    parser.add_argument("--parts", default="collection,logistic,pde",
                        help="comma-separated parts to run (a partial run writes bench_alm_<parts>.md)")
    parser.add_argument("--sizes", default=None, help="comma-separated PDE grid sizes (default 50,100,200)")
    parser.add_argument("--cap", type=float, default=600.0,
                        help="wall-time cap (s) of each SciPy run on the PDE problem")
    parser.add_argument("--sketches", default="gaussian_block",
                        help="comma-separated sketches of optlib on the collection")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    if args.device == "gpu":
        try:
            import cupy  # noqa: F401
        except ImportError:
            sys.exit("--device gpu needs cupy")
    sizes = (20, 50) if args.quick else (50, 100, 200)
    if args.sizes:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    parts = args.parts.split(",")
    start = time.perf_counter()
    threadpool_limits(1, user_api="blas")  # one BLAS thread: CPU time is the work, whatever the load
    out = ["# AdaSketch-Newton (minimize_eq) vs SciPy", "", machine_description(1), "",
           f"Command: `python benchmarks/bench_alm.py {' '.join(sys.argv[1:])}`", ""]
    if "collection" in parts:
        out += ["## Hock-Schittkowski / Boggs-Tolle collection", ""] + bench_collection(repeats, args.sketches.split(","))
    if "logistic" in parts:
        out += ["", "## Constrained logistic regression (m = 11)", ""] + bench_logistic(repeats)
    if "pde" in parts:
        out += ["", "## PDE-constrained control, matrix-free", ""] + bench_pde(sizes, repeats, args.device, args.cap)
    out += ["", f"Total benchmark time {time.perf_counter() - start:.0f} s."]
    text = "\n".join(out) + "\n"
    print(text)
    RESULTS.parent.mkdir(exist_ok=True)
    target = RESULTS.with_name("bench_alm_quick.md") if args.quick else RESULTS
    if set(parts) != {"collection", "logistic", "pde"} or args.sizes:
        target = RESULTS.with_name(f"bench_alm_{'_'.join(parts)}.md")
    target.write_text(text)
    print(f"written to {target}")


if __name__ == "__main__":
    main()
