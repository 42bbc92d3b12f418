"""Numba kernels for the exact 1-D total-variation prox.

Imported lazily by :mod:`optlib.functions._tv` (only when the numba engine
runs), so that ``import optlib`` does not pay numba's import time.

The kernel is Condat's direct algorithm (L. Condat, "A direct algorithm for
1D total variation denoising", IEEE Signal Processing Letters 20(11), 2013),
in the form of the author's revised reference implementation. It computes the
exact minimiser of ``0.5 * ||x - y||^2 + lam * sum_i |x[i+1] - x[i]|`` in a
single forward pass with local backtracking: linear in practice, no tolerance.
"""

import numpy as np
from numba import njit

__all__ = ["tv1d_prox_rows"]


@njit(cache=True, fastmath=False)
def _tv1d_condat(y, out, lam):
    """Exact 1-D TV prox of the signal ``y`` with weight ``lam``, written to ``out``."""
    n = y.shape[0]
    if n == 0:
        return
    if n == 1 or lam <= 0:
        for i in range(n):
            out[i] = y[i]
        return
    mlam = -lam
    twolam = 2 * lam
    k = 0  # current sample
    k0 = 0  # start of the current segment
    kplus = 0  # last position where umax = -lam
    kminus = 0  # last position where umin = lam
    umin = lam  # dual variable bounds
    umax = mlam
    vmin = y[0] - lam  # bounds on the value of the current segment
    vmax = y[0] + lam
    while True:
        # right boundary reached: close the pending segments
        while k == n - 1:
            if umin < 0:  # vmin too high: negative jump
                while True:
                    out[k0] = vmin
                    k0 += 1
                    if k0 > kminus:
                        break
                k = k0
                kminus = k0
                vmin = y[k0]
                umin = lam
                umax = vmin + umin - vmax
            elif umax > 0:  # vmax too low: positive jump
                while True:
                    out[k0] = vmax
                    k0 += 1
                    if k0 > kplus:
                        break
                k = k0
                kplus = k0
                vmax = y[k0]
                umax = mlam
                umin = vmax + umax - vmin
            else:  # the last segment takes the value vmin + umin / length
                vmin += umin / (k - k0 + 1)
                while True:
                    out[k0] = vmin
                    k0 += 1
                    if k0 > k:
                        break
                return
        umin += y[k + 1] - vmin
        if umin < mlam:  # negative jump
            while True:
                out[k0] = vmin
                k0 += 1
                if k0 > kminus:
                    break
            k = k0
            kplus = k0
            kminus = k0
            vmin = y[k0]
            vmax = vmin + twolam
            umin = lam
            umax = mlam
            continue
        umax += y[k + 1] - vmax
        if umax > lam:  # positive jump
            while True:
                out[k0] = vmax
                k0 += 1
                if k0 > kplus:
                    break
            k = k0
            kplus = k0
            kminus = k0
            vmax = y[k0]
            vmin = vmax - twolam
            umin = lam
            umax = mlam
            continue
        # no jump: extend the segment
        k += 1
        if umin >= lam:
            kminus = k
            vmin += (umin - lam) / (kminus - k0 + 1)
            umin = lam
        if umax <= mlam:
            kplus = k
            vmax += (umax + lam) / (kplus - k0 + 1)
            umax = mlam


@njit(cache=True, fastmath=False)
def _tv1d_rows(y, out, lam):
    for r in range(y.shape[0]):
        _tv1d_condat(y[r], out[r], lam)


def tv1d_prox_rows(y, lam):
    """Exact TV prox of every row of the C-contiguous 2-D array ``y`` (float32/float64).

    Returns a new array of the same dtype; ``y`` is only read.
    """
    out = np.empty_like(y)
    _tv1d_rows(y, out, y.dtype.type(lam))
    return out
