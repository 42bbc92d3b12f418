"""FCLS on a cube larger than memory, through Dask: peak memory against the cube's size.

A cube of ``--pixels`` pixels x 180 bands (4e6 by default: 5.8 GB in float64)
is generated chunk by chunk (Dirichlet abundances, 8 smooth synthetic
endmembers, AWGN at 30 dB, one seed per chunk) and never held whole. Each
chunk is unmixed by optlib's FCLS inside ``dask.array.map_blocks`` and reduced
at once to per-chunk statistics (the abundance error against the chunk's own
truth), so only a few chunks live at a time. The script samples the process's
resident memory every 50 ms and prints the peak next to the cube's size.

    python benchmarks/bench_unmixing_dask.py                 # 4e6 pixels
    python benchmarks/bench_unmixing_dask.py --pixels 2e5    # quick

Dask's threaded scheduler runs one chunk per core; each chunk uses the serial
numba kernel (``n_threads=1``), so numba's pool does not oversubscribe the cores.
"""

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

try:
    import optlib  # noqa: F401
except ImportError:  # running from a source checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dask
import dask.array as da
import psutil

from optlib.datasets import make_synthetic_spectra
from optlib.hyperspectral import fcls

N_BANDS, N_ENDMEMBERS, SNR_DB = 180, 8, 30.0


def _chunk(block_id, n_pixels, endmembers, seed):
    """One chunk of the scene: abundances (n, p) and noisy spectra (n, bands)."""
    rng = np.random.default_rng([seed, block_id])
    A = rng.dirichlet(np.ones(endmembers.shape[0]), size=n_pixels)
    clean = A @ endmembers
    sigma2 = np.sum(clean**2) / clean.size / 10 ** (SNR_DB / 10)
    return A, clean + np.sqrt(sigma2) * rng.standard_normal(clean.shape)


def _unmix_chunk(block_id, n_pixels, endmembers, seed):
    """Generate, unmix and reduce one chunk: (sum of squared abundance errors, max error, pixels)."""
    A, Y = _chunk(block_id, n_pixels, endmembers, seed)
    estimate = fcls(Y, endmembers, n_threads=1)
    err = estimate - A
    return np.array([[np.sum(err**2), np.max(np.abs(err)), n_pixels]])


class PeakMemory:
    """Sample the resident memory of this process in a background thread."""

    def __init__(self, interval=0.05):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._process = psutil.Process(os.getpid())

    def __enter__(self):
        self.baseline = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pixels", type=float, default=4e6)
    parser.add_argument("--chunk", type=int, default=50_000, help="pixels per chunk")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n_pixels, chunk = int(args.pixels), args.chunk
    n_chunks = -(-n_pixels // chunk)
    sizes = [min(chunk, n_pixels - i * chunk) for i in range(n_chunks)]
    endmembers = make_synthetic_spectra(N_ENDMEMBERS, N_BANDS, random_state=args.seed)

    # warm-up: compile the numba kernel outside the measurement
    fcls(_chunk(0, 100, endmembers, args.seed)[1], endmembers, n_threads=1)

    stats = da.concatenate([
        da.from_delayed(dask.delayed(_unmix_chunk)(i, n, endmembers, args.seed), shape=(1, 3), dtype=float)
        for i, n in enumerate(sizes)
    ])
    with PeakMemory() as memory:
        start = time.perf_counter()
        totals = stats.compute(scheduler="threads")
        seconds = time.perf_counter() - start
    cube_gb = n_pixels * N_BANDS * 8 / 1e9
    rmse = 100 * np.sqrt(totals[:, 0].sum() / (n_pixels * N_ENDMEMBERS))
    print("| pixels | bands | endmembers | chunks | cube (float64) | peak RSS | RSS above start | time | "
          "pixels/s | abundance RMSE (x100) | max abs error |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {n_pixels:.0e} | {N_BANDS} | {N_ENDMEMBERS} | {n_chunks} x {chunk} | {cube_gb:.2f} GB | "
          f"{memory.peak / 1e9:.2f} GB | {(memory.peak - memory.baseline) / 1e9:.2f} GB | {seconds:.1f} s | "
          f"{n_pixels / seconds:.3g} | {rmse:.3f} | {totals[:, 1].max():.3f} |")


if __name__ == "__main__":
    main()
