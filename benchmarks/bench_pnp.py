#!/usr/bin/env python
"""Benchmark: plug-and-play ADMM deblurring and inpainting, optlib vs scikit-image loops and PyProximal.

Usage::

    python benchmarks/bench_pnp.py [--quick] [--device gpu] [--repeats R] [--mimo-size {small,spec,none}]
                                    [--mimo-seeds 0,1,2] [--mimo-only] [--mimo-scene {blobs,shapes}] [--output PATH]

Problems
--------
The cameraman image (512 x 512, ``--quick``: 256 x 256, values in [0, 1]):

* ``deblur``: circular 9 x 9 uniform blur plus Gaussian noise of standard
  deviation 0.01 (blurred image 23.5 dB at 512 x 512);
* ``inpaint``: 50% of the pixels observed at random, the same noise.

Every method runs 30 ADMM iterations from ``x0 = A^T y``; PSNR and SSIM are
computed on the estimate clipped to [0, 1] (``data_range=1``).

Methods
-------
* ``optlib TV``: :func:`optlib.optimize.pnp_admm` with
  :class:`optlib.imaging.TVDenoiser` (Chambolle, numba kernel, 3 iterations
  per call warm-started from the previous dual, ``tol=None``); exact FFT /
  mask x-update.
* ``optlib wavelet``: the same with :class:`optlib.imaging.WaveletDenoiser`
  (db4, soft thresholding at the explicit sigma: universal threshold for
  deblurring, BayesShrink for inpainting, the better of the two on each).
* ``skimage TV loop`` / ``skimage wavelet loop``: the same ADMM written as a
  plain NumPy loop (FFT / mask closed forms) around
  ``skimage.restoration.denoise_tv_chambolle`` (its defaults: ``eps=2e-4``,
  at most 200 iterations per call, cold start) and ``denoise_wavelet``
  (db4, VisuShrink / BayesShrink, the same sigma). Same ``lam`` and ``rho``.
* ``PyProximal TV``: ``pyproximal.optimization.pnp.PlugAndPlay`` with its
  ADMM, ``L2(Op, b)`` for the data term (its prox by 10 CG iterations, warm
  started; ``Op`` is the same circular blur / mask as a PyLops operator) and
  the scikit-image TV denoiser with weight ``lam * tau``, ``tau = 1 / rho``:
  the same iteration as ``optlib TV`` up to the inexact x-update.
* ``SCICO TV``: SCICO's ``ADMM`` on the same objective with the same
  ``lam`` and ``rho`` (``SquaredL2Loss`` with ``CircularConvolve`` / a
  ``Diagonal`` mask, ``lam * IsotropicTVNorm`` with its approximate prox,
  ``CircularConvolveSolver`` / ``LinearSubproblemSolver``), float32 (JAX's
  default), XLA's own CPU threads (all cores, like OpenBLAS here); JIT
  compilation is excluded by the warm-up run. Skipped when SCICO does not
  import.

Near-field MIMO (``--mimo-size``)
---------------------------------
:func:`optlib.datasets.make_nearfield_mimo` at 30 dB SNR (seeds
``--mimo-seeds``, default 0; complex64) reconstructed by back-projection,
Kirchhoff migration and C-SALSA (:func:`optlib.optimize.csalsa`, the spec's
kappa = 500, alpha = 3.9e-2, magnitude-change stop 5e-4, at most 300
iterations) with l1, TV plus l1 and 3-D TV on the magnitude, as in
``examples/plot_mimo_pnp.py``. TV on the magnitude is run with the zero
boundary of the authors' code (``TVDenoiser(boundary="zero")``, 50
Chambolle iterations per call) and, for reference, with the Neumann
boundary, under which a constant background magnitude costs no TV and the
iteration collapses to it. Each method is timed once; the margin column is
the PSNR minus the better of back-projection and Kirchhoff migration.
``small`` (default): the 9 x 9 x 9 grid, 6 x 7 antennas, 8 frequencies of
the tests; ``spec``: the spec's 25 x 25 x 49 grid, 12 x 13 antennas, 20
frequencies (tens of minutes per seed on 2 cores); ``none`` skips it.
``--mimo-only`` skips the cameraman problems and writes
``results/bench_pnp_mimo_<size>.md``; ``--mimo-max-iter`` caps the C-SALSA
iterations, ``--mimo-methods`` picks rows (for the slow spec size) and
``--mimo-scene`` the generator's scene (default ``blobs``, its default: solid
3-D targets with soft borders, on the authors' diagonal Tx/Rx array;
``shapes``: planar shapes extruded 2 to ``max(2, n_z // 8)`` voxels deep).
C-SALSA rows also report ``||A x - y|| / eps``, the TV of ``|x|`` over the
truth's and the best PSNR along the iterations (an oracle diagnostic).

Parameters (lam, rho) were tuned on the 512 x 512 problems, per prior, and
reused for every method that uses that prior; sigma = sqrt(lam / rho) is
passed to the denoisers explicitly. Times are medians over ``--repeats``
rounds that run every method in turn (so that all see the same load of a
shared machine), after a warm-up (numba compilation outside the timings); a
method slower than 20 s is timed once. Both the wall time and the process
CPU time (all threads) are reported: on a loaded machine the CPU time is the
steadier measure of the work done. ``--device gpu`` adds
``optlib TV`` on CuPy arrays (array-API engine) when CuPy and a GPU are
present.
"""

import argparse
import math
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_description

from optlib.datasets import load_image, make_nearfield_mimo
from optlib.functions import L1, TV3D, Magnitude
from optlib.imaging import (
    MagnitudeDenoiser,
    TVDenoiser,
    WaveletDenoiser,
    back_projection,
    kirchhoff_migration,
)
from optlib.imaging._tv import _grad, _pad_zero
from optlib.linop import CircularConvolution, Mask
from optlib.linop._fourier import uniform_psf
from optlib.metrics import psnr, psnr_magnitude, ssim
from optlib.optimize import csalsa, pnp_admm

N_ITER = 30
NOISE = 0.01
# (lam, rho) per problem and prior, tuned on the 512 x 512 problems
PARAMS = {
    ("deblur", "tv"): (4e-4, 3e-2),
    ("deblur", "wavelet"): (1e-5, 1e-2),
    ("inpaint", "tv"): (1e-3, 1e-2),
    ("inpaint", "wavelet"): (1e-3, 1e-1),
}
# wavelet threshold rule per problem (optlib name, scikit-image name)
WAVELET_RULE = {"deblur": ("universal", "VisuShrink"), "inpaint": ("bayes", "BayesShrink")}
TV_ITER_PER_CALL = 3
SLOW_SECONDS = 20.0  # methods slower than this are timed once
# near-field MIMO scenes and C-SALSA settings (spec: kappa, alpha, stop rule)
MIMO_SCENES = {"small": {"grid_shape": (9, 9, 9), "n_frequencies": 8, "n_tx": 6, "n_rx": 7}, "spec": {}}
MIMO_KAPPA, MIMO_ALPHA, MIMO_MAX_ITER = 500.0, 3.9e-2, 300


def make_problem(name, size, seed=0):
    """Clean image, observations, optlib operator and the NumPy pieces of the plain loops."""
    x_true = load_image("camera", size=None if size == 512 else size)
    rng = np.random.default_rng(seed)
    noise = NOISE * rng.standard_normal(x_true.shape)
    if name == "deblur":
        psf = uniform_psf(9)
        A = CircularConvolution(psf, x_true.shape)
        kernel = np.zeros(x_true.shape)
        kernel[:9, :9] = psf
        transfer = np.fft.rfft2(np.roll(kernel, (-4, -4), axis=(0, 1)))
        forward = lambda x: np.fft.irfft2(transfer * np.fft.rfft2(x), s=x.shape)
        adjoint = lambda x: np.fft.irfft2(np.conj(transfer) * np.fft.rfft2(x), s=x.shape)

        def solve(rhs, rho):  # (A^T A + rho I)^{-1} rhs
            return np.fft.irfft2(np.fft.rfft2(rhs) / (np.abs(transfer) ** 2 + rho), s=rhs.shape)
    else:
        mask = (rng.random(x_true.shape) < 0.5).astype(float)
        A = Mask(mask)
        forward = adjoint = lambda x: mask * x

        def solve(rhs, rho):
            return rhs / (mask + rho)
    y = forward(x_true) + (noise if name == "deblur" else mask * noise)
    return x_true, y, A, (forward, adjoint, solve)


def plain_admm(y, numpy_ops, denoise, lam, rho, n_iter):
    """PnP-ADMM as a plain NumPy loop (the iteration of pnp_admm)."""
    _, adjoint, solve = numpy_ops
    aty = adjoint(y)
    z, u = aty.copy(), np.zeros_like(aty)
    sigma = np.sqrt(lam / rho)
    for _ in range(n_iter):
        x = solve(aty + rho * (z - u), rho)
        z = denoise(x + u, sigma)
        u += x - z
    return x


def scico_tv(name, y, numpy_ops, lam, rho):
    """SCICO's ADMM on ``0.5 ||A x - y||^2 + lam TV(x)``: the same splitting, lam and rho as ``optlib TV``.

    ``g = lam * IsotropicTVNorm`` (circular, SCICO's closed-form approximate
    prox) on ``C = I``; the x-update by ``CircularConvolveSolver`` (exact
    FFT solve) for the blur and by ``LinearSubproblemSolver`` (CG, SCICO's
    defaults) for the mask. JAX in float32 (its default), its own threads.
    """
    import jax.numpy as jnp
    from scico import functional, linop, loss
    from scico.optimize.admm import ADMM, CircularConvolveSolver, LinearSubproblemSolver

    forward = numpy_ops[0]
    y_j = jnp.asarray(y, dtype=jnp.float32)
    if name == "deblur":
        psf = jnp.asarray(uniform_psf(9), dtype=jnp.float32)
        op = linop.CircularConvolve(h=psf, input_shape=y.shape, h_center=jnp.array([4, 4]))
        solver = CircularConvolveSolver()
    else:
        op = linop.Diagonal(jnp.asarray(forward(np.ones_like(y)), dtype=jnp.float32))
        solver = LinearSubproblemSolver()
    f = loss.SquaredL2Loss(y=y_j, A=op)
    g = lam * functional.IsotropicTVNorm(circular=True, input_shape=y.shape)

    def run():
        admm = ADMM(f=f, g_list=[g], C_list=[linop.Identity(y.shape)], rho_list=[rho], x0=op.adj(y_j),
                    maxiter=N_ITER, subproblem_solver=solver)
        return np.asarray(admm.solve().block_until_ready(), dtype=float)

    return run


def methods(name, y, A, numpy_ops, xp_gpu):
    from skimage.restoration import denoise_tv_chambolle, denoise_wavelet

    lam_tv, rho_tv = PARAMS[(name, "tv")]
    lam_w, rho_w = PARAMS[(name, "wavelet")]

    def optlib_tv(yy=y):
        den = TVDenoiser(tol=None, max_iter=TV_ITER_PER_CALL, warm_start=True)
        return pnp_admm(yy, A, den, lam=lam_tv, rho=rho_tv, max_iter=N_ITER, tol=0.0).x

    def optlib_wavelet():
        den = WaveletDenoiser("db4", threshold=WAVELET_RULE[name][0])
        return pnp_admm(y, A, den, lam=lam_w, rho=rho_w, max_iter=N_ITER, tol=0.0).x

    def skimage_tv():
        den = lambda v, s: denoise_tv_chambolle(v, weight=s * s)
        return plain_admm(y, numpy_ops, den, lam_tv, rho_tv, N_ITER)

    def skimage_wavelet():
        den = lambda v, s: denoise_wavelet(v, sigma=s, wavelet="db4", method=WAVELET_RULE[name][1], rescale_sigma=False)
        return plain_admm(y, numpy_ops, den, lam_w, rho_w, N_ITER)

    out = {
        "optlib TV": optlib_tv,
        "optlib wavelet": optlib_wavelet,
        "skimage TV loop": skimage_tv,
        "skimage wavelet loop": skimage_wavelet,
    }
    notes = []
    try:
        import pylops
        from pyproximal import L2
        from pyproximal.optimization.pnp import PlugAndPlay
        from pyproximal.optimization.primal import ADMM

        forward, adjoint, _ = numpy_ops
        shape = y.shape
        op = pylops.FunctionOperator(
            lambda v: forward(v.reshape(shape)).ravel(), lambda v: adjoint(v.reshape(shape)).ravel(), y.size, y.size
        )

        def pyproximal_tv():
            proxf = L2(Op=op, b=y.ravel(), niter=10, warm=True)
            den = lambda v, tau: denoise_tv_chambolle(v, weight=lam_tv * tau)
            x, _ = PlugAndPlay(proxf, den, shape, x0=adjoint(y).ravel(), solver=ADMM, tau=1.0 / rho_tv, niter=N_ITER)
            return x.reshape(shape)

        out["PyProximal TV"] = pyproximal_tv
    except ImportError as exc:
        notes.append(f"PyProximal unavailable ({exc}): anchor skipped")
    try:
        out["SCICO TV"] = scico_tv(name, y, numpy_ops, lam_tv, rho_tv)
    except ImportError as exc:
        notes.append(f"SCICO unavailable ({exc}): anchor skipped")
    if xp_gpu is not None:
        y_gpu = xp_gpu.asarray(y)

        def optlib_tv_gpu():
            x = optlib_tv(y_gpu)
            xp_gpu.cuda.Device().synchronize()
            return x.get()

        out["optlib TV (GPU)"] = optlib_tv_gpu
    return out, notes


def run(args):
    xp_gpu, notes = None, []
    if args.device == "gpu":
        try:
            import cupy

            cupy.cuda.runtime.getDeviceCount()
            xp_gpu = cupy
        except (ImportError, RuntimeError) as exc:  # pragma: no cover - depends on the machine
            notes.append(f"--device gpu: CuPy or GPU unavailable ({exc}); CPU only")
    size = 256 if args.quick else 512
    repeats = args.repeats or (1 if args.quick else 3)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("deblur", "inpaint"):
            x_true, y, A, numpy_ops = make_problem(name, size)
            table, more = methods(name, y, A, numpy_ops, xp_gpu)
            notes += [n for n in more if n not in notes]
            y_clip = np.clip(y, 0, 1)
            rows.append((name, "observed y", math.nan, math.nan, psnr(y_clip, x_true, 1.0), ssim(y_clip, x_true, data_range=1.0)))
            for method, fn in table.items():
                if method.startswith(("optlib", "SCICO")):
                    fn()  # warm-up: numba / JAX compilation, FFT plans
            # rounds over all methods, so that every method sees the same load of the shared machine
            walls, cpus, outs = {m: [] for m in table}, {m: [] for m in table}, {}
            for _ in range(repeats):
                for method, fn in table.items():
                    if walls[method] and walls[method][-1] > SLOW_SECONDS:
                        continue  # a slow anchor runs once
                    w0, c0 = time.perf_counter(), time.process_time()
                    outs[method] = fn()
                    cpus[method].append(time.process_time() - c0)
                    walls[method].append(time.perf_counter() - w0)
            for method in table:
                x = np.clip(outs[method], 0, 1)
                wall, cpu = statistics.median(walls[method]), statistics.median(cpus[method])
                row = (name, method, wall, cpu, psnr(x, x_true, 1.0), ssim(x, x_true, data_range=1.0))
                print(f"{name:8s} {method:22s} {wall:7.2f} s wall {cpu:7.2f} s CPU  {row[4]:6.2f} dB  "
                      f"SSIM {row[5]:.3f}", flush=True)
                rows.append(row)
    return rows, notes, size, repeats


def mimo_rows(size, seed, max_iter=MIMO_MAX_ITER, methods=None, scene="blobs"):
    """PSNR of the normalised magnitudes, times and iterations of the MIMO reconstructions of one scene.

    ``methods``: names of the rows to run (all when None); ``scene``: the
    generator's ``scene``. C-SALSA rows also give ``||A x - y|| / eps``,
    ``TV0(|x|) / TV0(|x_true|)`` (isotropic TV with the zero boundary; ``x``
    fits the data, so it is in the truth's units): a solution inside the data
    ball with a ratio below 1 is a feasible volume of smaller TV than the
    truth, and the best PSNR along the iterations with its iteration (an
    oracle diagnostic: it needs the truth).
    """
    data = make_nearfield_mimo(**MIMO_SCENES[size], scene=scene, snr_db=30.0, dtype=np.complex64,
                               random_state=seed)
    A, y, eps = data.operator, data.y, data.eps
    tv_inner = TV3D(1.0, max_iter=10, tol=1e-3)

    def sparse_tv(v, sigma):  # TV of weight sigma / 2, then soft threshold by sigma
        return np.maximum(tv_inner.prox(v, 0.5 * sigma) - sigma, 0.0)

    trace = []
    options = {"kappa": MIMO_KAPPA, "stop": "magnitude_change", "tol": 5e-4, "max_iter": max_iter,
               "callback": lambda r: trace.append(psnr_magnitude(r.x, data.x_true))}
    table = {
        "back-projection": lambda: back_projection(y, A),
        "Kirchhoff migration": lambda: kirchhoff_migration(y, A),
        "l1-mag (C-SALSA)": lambda: csalsa(y, A, Magnitude(L1(MIMO_ALPHA * MIMO_KAPPA)), eps, **options),
        "TV+l1-mag (C-SALSA)": lambda: csalsa(y, A, MagnitudeDenoiser(sparse_tv), eps, sigma=MIMO_ALPHA, **options),
        "TV-mag (C-SALSA)": lambda: csalsa(
            y, A, MagnitudeDenoiser(TVDenoiser(1.0 / MIMO_ALPHA, boundary="zero", max_iter=50, tol=None)), eps,
            sigma=MIMO_ALPHA, **options
        ),
        "TV-mag, Neumann boundary": lambda: csalsa(
            y, A, Magnitude(TV3D(MIMO_ALPHA * MIMO_KAPPA, max_iter=10, tol=1e-3)), eps, **options
        ),
    }
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # inner TV steps and capped outer iterations
        for method, fn in table.items():
            if methods is not None and method not in methods:
                continue
            trace.clear()
            w0, c0 = time.perf_counter(), time.process_time()
            out = fn()
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            if hasattr(out, "x"):  # C-SALSA
                x, nit = out.x, out.nit
                diagnostics = (float(np.linalg.norm(A.forward(x) - y)) / eps,
                               _tv_zero(np.abs(x)) / _tv_zero(np.abs(data.x_true)),
                               max(trace), 1 + int(np.argmax(trace)))
            else:
                x, nit, diagnostics = out, None, None
            rows.append((seed, method, wall, cpu, psnr_magnitude(x, data.x_true), nit, diagnostics))
            extra = "" if diagnostics is None else (
                "  res/eps {:.3f}  TV ratio {:.2f}  best {:.2f} dB at it {}".format(*diagnostics))
            print(f"mimo {seed:3d} {method:26s} {wall:7.2f} s wall {cpu:7.2f} s CPU  {rows[-1][4]:6.2f} dB  "
                  f"it {nit}{extra}", flush=True)
    scene = (f"grid {' x '.join(map(str, A.input_shape))}, {data.y.shape[1]} x {data.y.shape[2]} antennas, "
             f"{data.y.shape[0]} frequencies")
    return rows, scene


def _tv_zero(magnitude):
    """Isotropic 3-D TV with the zero boundary (the jumps to 0 outside the grid count), as TVDenoiser's."""
    g = _grad(np, _pad_zero(np, magnitude, 3), 3)
    return float(np.sum(np.sqrt(np.sum(g * g, axis=0))))


def format_mimo_table(rows):
    lines = [
        ("| seed | method | wall time (s) | CPU time (s) | PSNR (dB) | margin (dB) | iterations | residual / eps "
         "| TV / TV(truth) | best PSNR (dB) at iteration |"),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    baseline = {}
    for seed, method, _, _, p, *_ in rows:
        if method in ("back-projection", "Kirchhoff migration"):
            baseline[seed] = max(baseline.get(seed, -math.inf), p)
    for seed, method, wall, cpu, p, nit, diagnostics in rows:
        margin = "" if method in ("back-projection", "Kirchhoff migration") else f"{p - baseline[seed]:+.2f}"
        extra = "| | | |" if diagnostics is None else "| {:.3f} | {:.2f} | {:.2f} at {} |".format(*diagnostics)
        lines.append(f"| {seed} | {method} | {wall:.2f} | {cpu:.2f} | {p:.2f} | {margin} | "
                     f"{'' if nit is None else nit} {extra}")
    return "\n".join(lines)


def format_table(rows):
    lines = [
        "| problem | method | wall time (s) | CPU time (s) | PSNR (dB) | SSIM | wall / optlib TV | CPU / optlib TV |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ref = {name: (w, c) for name, method, w, c, *_ in rows if method == "optlib TV"}
    for name, method, wall, cpu, p, s in rows:
        cells = ["", "", "", ""]
        if not math.isnan(wall):
            cells = [f"{wall:.2f}", f"{cpu:.2f}", f"{wall / ref[name][0]:.1f}x", f"{cpu / ref[name][1]:.1f}x"]
        lines.append(f"| {name} | {method} | {cells[0]} | {cells[1]} | {p:.2f} | {s:.3f} | {cells[2]} | {cells[3]} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--quick", action="store_true", help="256 x 256, one repeat")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per method (default 3, quick 1)")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--mimo-size", choices=("small", "spec", "none"), default="small",
                        help="near-field MIMO scene: small (default), spec (25 x 25 x 49, slow) or none")
    parser.add_argument("--mimo-seeds", default="0", help="comma-separated seeds of the MIMO scenes (default 0)")
    parser.add_argument("--mimo-only", action="store_true", help="only the MIMO rows")
    parser.add_argument("--mimo-max-iter", type=int, default=MIMO_MAX_ITER,
                        help=f"C-SALSA iteration cap of the MIMO rows (default {MIMO_MAX_ITER})")
    parser.add_argument("--mimo-scene", choices=("blobs", "shapes"), default="blobs",
                        help="scene kind of make_nearfield_mimo (default blobs, the generator's default)")
    parser.add_argument("--mimo-methods", default=None,
                        help="comma-separated MIMO rows to run (default all), e.g. 'back-projection,TV-mag (C-SALSA)'")
    args = parser.parse_args(argv)
    methods = None if args.mimo_methods is None else set(args.mimo_methods.split(","))
    seeds = [int(s) for s in args.mimo_seeds.split(",")]
    if args.mimo_only and args.mimo_size == "none":
        parser.error("--mimo-only needs a --mimo-size")
    machine = machine_description(1 if args.mimo_only else 0)
    name = f"bench_pnp_mimo_{args.mimo_size}.md" if args.mimo_only else (
        "bench_pnp_quick.md" if args.quick else "bench_pnp.md")
    out = args.output or Path(__file__).resolve().parent / "results" / name
    command = f"python benchmarks/bench_pnp.py {' '.join(argv if argv is not None else sys.argv[1:])}".strip()
    mimo = []
    if args.mimo_size != "none":
        m_rows = []
        with threadpool_limits(1 if args.mimo_only else None):
            for seed in seeds:
                rows_seed, scene = mimo_rows(args.mimo_size, seed, args.mimo_max_iter, methods, args.mimo_scene)
                m_rows += rows_seed
        mimo = [
            "",
            f"## Near-field MIMO ({args.mimo_size} scene: {scene}; 30 dB SNR, seeds {args.mimo_seeds})",
            "",
            (
                "PSNR of the normalised magnitudes; C-SALSA kappa = 500, alpha = 3.9e-2, magnitude-change stop 5e-4, "
                f"at most {args.mimo_max_iter} iterations; TV-mag: 3-D TV with the zero boundary (50 Chambolle "
                "iterations per call); margin: PSNR minus the better of back-projection and Kirchhoff migration; "
                "each method timed once (C-SALSA times include a PSNR per iteration for the best-PSNR column); "
                "residual / eps: ||A x - y|| over the data ball's radius eps; TV / TV(truth): zero-boundary TV of "
                "|x| over that of |x_true| (C-SALSA solutions fit the data, so share the truth's units); best PSNR: "
                "the best iterate's PSNR, an oracle diagnostic that needs the truth. Scenes: make_nearfield_mimo "
                f"(scene={args.mimo_scene!r}, the authors' diagonal Tx/Rx array; 'blobs': solid 3-D targets "
                "with soft borders, the generator's default; 'shapes': extruded planar shapes 2 to "
                "max(2, n_z // 8) voxels deep)."
            ),
            "",
            format_mimo_table(m_rows),
        ]
    if args.mimo_only:
        text = [f"# bench_pnp: near-field MIMO reconstructions ({args.mimo_size} scenes)", "",
                f"Command: `{command}`.", *mimo, "", "## Machine", "", machine, ""]
        out.write_text("\n".join(text))
        print("\n".join(mimo))
        print(f"written to {out}")
        return
    rows, notes, size, repeats = run(args)
    table = format_table(rows)
    text = [
        "# bench_pnp: plug-and-play ADMM, optlib vs scikit-image loops, PyProximal and SCICO; near-field MIMO",
        "",
        (
            f"Command: `{command}`. Cameraman {size} x {size}, {N_ITER} ADMM iterations, noise {NOISE}; "
            f"median wall and CPU (process) time over {repeats} round(s) of all methods; "
            "PSNR/SSIM of the estimate clipped to [0, 1]."
        ),
        "",
        table,
        "",
        *[f"- note: {n}" for n in notes],
        *mimo,
        "",
        "## Machine",
        "",
        machine,
        "",
    ]
    out.write_text("\n".join(text))
    print(table)
    print("\n".join(mimo))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
