#!/usr/bin/env python
"""Benchmark: sparse Bayesian learning, optlib against scikit-learn's ARDRegression, KroSBL against classical SBL.

Usage::

    python benchmarks/bench_sbl.py [--quick] [--device gpu] [--output PATH]

Problems: Gaussian design ``n x p`` with ``k`` Gaussian nonzeros at 20 dB
(``n=250, p=1000, k=20`` and ``n=500, p=2000, k=40``); the Kronecker-sparse
problem ``N = 15^3`` (``M = 10 x 12 x 15``, 3 nonzeros per factor, 20 dB); the
IRS-MIMO channel (``make_irs_channel``, 4, 12, 20 dB;
known noise; classical EM-SBL on the dense ``288 x 5832`` dictionary as the paper's baseline). Each solver runs on the same
data after a warm-up; times are medians over repeats, NMSE means over seeds.
``--device gpu`` runs the optlib solvers on CuPy arrays.
"""

import argparse
import sys
import time
import warnings
from functools import reduce
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_description, median_time  # noqa: E402

from optlib.datasets import make_irs_channel, make_kronecker_sparse  # noqa: E402
from optlib.sbl import kron_sbl, sbl  # noqa: E402
from optlib.sbl._kronecker import mode_product  # noqa: E402


def nmse(a, b):
    return float(np.sum(np.abs(a - b) ** 2) / np.sum(np.abs(b) ** 2))


def regression(n, p, k, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[rng.choice(p, k, replace=False)] = rng.standard_normal(k)
    clean = X @ w
    return X, clean + np.sqrt(np.mean(clean**2) / 100) * rng.standard_normal(n), w


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "bench_sbl.md"))
    args = parser.parse_args()
    from sklearn.linear_model import ARDRegression

    dev = (lambda a: a) if args.device == "cpu" else __import__("cupy").asarray
    host = (lambda a: a) if args.device == "cpu" else (lambda a: a.get())
    seeds = range(1 if args.quick else 3)
    repeats = 1 if args.quick else 3
    warnings.simplefilter("ignore")
    rows = ["| problem | anchor | anchor time (s) | anchor NMSE | optlib | optlib time (s) | optlib NMSE | ratio |",
            "|---|---|---:|---:|---|---:|---:|---:|"]
    sizes = [(250, 1000, 20)] + ([] if args.quick else [(500, 2000, 40)])
    for n, p, k in sizes:
        res = {"ard": [], "fast": []}
        for seed in seeds:
            X, y, w = regression(n, p, k, seed)
            Xd, yd = dev(X), dev(y)
            sbl(Xd, yd)  # warm-up
            t_a, ard = median_time(lambda: ARDRegression(fit_intercept=False).fit(X, y), repeats)
            t_o, out = median_time(lambda: sbl(Xd, yd, method="fast"), repeats)
            res["ard"].append((t_a, nmse(ard.coef_, w)))
            res["fast"].append((t_o, nmse(host(out.x), w)))
        a, o = np.mean(res["ard"], axis=0), np.mean(res["fast"], axis=0)
        rows.append(f"| n={n}, p={p}, k={k}, 20 dB | ARDRegression | {a[0]:.3g} | {a[1]:.2e} | sbl fast | "
                    f"{o[0]:.3g} | {o[1]:.2e} | {a[0] / o[0]:.1f} |")
        print(rows[-1], flush=True)
    d = make_kronecker_sparse((10, 12, 15), (15, 15, 15), 3, snr_db=20, random_state=0)
    H = reduce(np.kron, d.factors)
    for name, fn in [("sbl em (dense H)", lambda: sbl(dev(H), dev(d.y), method="em", max_iter=150)),
                     ("sbl fast (dense H)", lambda: sbl(dev(H), dev(d.y), method="fast"))]:
        t_c, out_c = median_time(fn, 1)
        factors = [dev(A) for A in d.factors]
        kron_sbl(factors, dev(d.y), method="svd", max_iter=2)
        t_k, out_k = median_time(lambda: kron_sbl(factors, dev(d.y), method="svd"), repeats)
        rows.append(f"| Kronecker N=15^3, M=1800, 20 dB | {name} | {t_c:.3g} | {nmse(host(out_c.x), d.x):.2e} | "
                    f"SVD-KroSBL | {t_k:.3g} | {nmse(host(out_k.x), d.x):.2e} | {t_c / t_k:.0f} |")
        print(rows[-1], flush=True)
    rows += ["", "IRS-MIMO (make_irs_channel: 6 MS, 256 IRS, 16 BS antennas, grid 18^3, M=288; known noise as in "
             "the paper; NMSE of the effective channels under the training IRS patterns, mean over seeds):", "",
             "| SNR (dB) | method | time (s) | NMSE |", "|---:|---|---:|---:|"]
    irs_methods = {"SVD-KroSBL": dict(method="svd"),
                   "AM-KroSBL": dict(method="am", prune_threshold=(1e-1, 1e-2, 1e-3)),
                   "PC-KroSBL": dict(method="pc", prune_threshold=(1e-1, 1e-2, 1e-2), coupling=(0.0, 0.8, 0.8))}
    for snr in (12,) if args.quick else (4, 12, 20):
        vals = {name: [] for name in [*irs_methods, "classical EM-SBL (dense H)"]}
        for seed in seeds:
            c = make_irs_channel(snr_db=snr, random_state=seed)
            for name in vals:
                t0 = time.perf_counter()
                if name in irs_methods:
                    out = kron_sbl([dev(A) for A in c.factors], dev(c.y), noise_var=c.noise_var, **irs_methods[name])
                else:
                    out = sbl(dev(reduce(np.kron, c.factors)), dev(c.y), method="em", noise_var=c.noise_var,
                              max_iter=150)
                t = time.perf_counter() - t0
                est = mode_product(np.reshape(host(out.x), (18, 18, 18)), c.effective_dictionaries, np)
                vals[name].append((t, nmse(est, c.effective)))
        for name, v in vals.items():
            v = np.mean(v, axis=0)
            rows.append(f"| {snr} | {name} | {v[0]:.3g} | {v[1]:.3g} |")
            print(rows[-1], flush=True)
    text = "# bench_sbl\n\n" + "\n".join(rows) + "\n\n" + machine_description(1) + "\n"
    Path(args.output).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
