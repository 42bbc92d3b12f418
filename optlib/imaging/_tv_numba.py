"""Numba kernels of Chambolle's projection algorithm for isotropic TV denoising.

Imported lazily by :mod:`optlib.imaging._tv` (only when the numba engine
runs), so that ``import optlib`` does not pay numba's import time.

The kernels iterate, in place, on the unit dual ``p`` (shape
``(ndim, batch, *image)``, ``|p_pixel| <= 1``) and the primal
``x = f - weight * D^T p`` (shape ``(batch, *image)``), with ``D`` the forward
differences with Neumann boundary of :mod:`optlib.functions._tv`::

    p <- (p + c D x) / (1 + c |D x|),   c = tau / weight,
    x <- f - weight D^T p.

One iteration is a single raster sweep: at pixel ``i`` the dual is updated
from ``x`` at ``i`` and its forward neighbours (not yet overwritten), then
``x[i]`` from the new dual at ``i`` and its backward neighbours (already
updated), which is exactly the two-pass (Jacobi) iteration above. The
component of ``p`` normal to the last face of each axis stays 0 (its
difference is 0), which the sweeps rely on. The interior of 2-D images runs
without branches (twice as fast as a branchy loop). The kernels stop when no
pixel moved by more than ``tol_abs`` in one iteration (``tol_abs < 0`` runs
exactly ``max_iter`` iterations) and return the number of iterations and
whether the tolerance was met.
"""

import math

from numba import njit

__all__ = ["chambolle_2d", "chambolle_3d"]


@njit(cache=True, fastmath=False, inline="always")
def _site_2d(f, p0, p1, x, w, c, i, j, g0, g1, up, left):
    """Dual then primal update at pixel ``(i, j)``; returns the change of ``x``."""
    inv = 1.0 / (1.0 + c * math.sqrt(g0 * g0 + g1 * g1))
    a = (p0[i, j] + c * g0) * inv
    b = (p1[i, j] + c * g1) * inv
    p0[i, j] = a
    p1[i, j] = b
    xn = f[i, j] - w * (up + left - a - b)
    d = abs(xn - x[i, j])
    x[i, j] = xn
    return d


@njit(cache=True, fastmath=False)
def _sweep_2d(f, p0, p1, x, w, c):
    n0, n1 = f.shape
    change = 0.0
    for i in range(n0 - 1):
        for j in range(n1 - 1):  # interior and first column: both differences exist
            xc = x[i, j]
            up = p0[i - 1, j] if i > 0 else 0.0
            left = p1[i, j - 1] if j > 0 else 0.0
            change = max(change, _site_2d(f, p0, p1, x, w, c, i, j, x[i + 1, j] - xc, x[i, j + 1] - xc, up, left))
        j = n1 - 1  # last column: no difference along axis 1
        up = p0[i - 1, j] if i > 0 else 0.0
        left = p1[i, j - 1] if j > 0 else 0.0
        change = max(change, _site_2d(f, p0, p1, x, w, c, i, j, x[i + 1, j] - x[i, j], 0.0, up, left))
    i = n0 - 1  # last row: no difference along axis 0
    for j in range(n1):
        g1 = x[i, j + 1] - x[i, j] if j < n1 - 1 else 0.0
        up = p0[i - 1, j] if i > 0 else 0.0
        left = p1[i, j - 1] if j > 0 else 0.0
        change = max(change, _site_2d(f, p0, p1, x, w, c, i, j, 0.0, g1, up, left))
    return change


@njit(cache=True, fastmath=False)
def chambolle_2d(f, p, x, weight, tau, max_iter, tol_abs):
    """Chambolle iterations on images ``f`` of shape ``(batch, n0, n1)``; ``p`` and ``x`` updated in place.

    ``x`` is recomputed from ``p`` first (its input values are ignored).
    """
    c = tau / weight
    for b in range(f.shape[0]):
        x[b] = f[b] - weight * (_dt_axis0(p[0, b]) + _dt_axis1(p[1, b]))
    worst = 0
    met_all = True
    for b in range(f.shape[0]):
        met = False
        it = 0
        while it < max_iter:
            it += 1
            if _sweep_2d(f[b], p[0, b], p[1, b], x[b], weight, c) <= tol_abs:
                met = True
                break
        worst = max(worst, it)
        met_all = met_all and met
    return worst, met_all


@njit(cache=True, fastmath=False)
def _dt_axis0(q):
    """Adjoint of the forward difference along axis 0 of a 2-D array (last row of ``q`` ignored)."""
    out = -q.copy()
    out[-1] = 0.0
    out[1:] += q[:-1]
    return out


@njit(cache=True, fastmath=False)
def _dt_axis1(q):
    out = -q.copy()
    out[:, -1] = 0.0
    out[:, 1:] += q[:, :-1]
    return out


@njit(cache=True, fastmath=False)
def _sweep_3d(f, p0, p1, p2, x, w, c):
    n0, n1, n2 = f.shape
    change = 0.0
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                xc = x[i, j, k]
                g0 = x[i + 1, j, k] - xc if i < n0 - 1 else 0.0
                g1 = x[i, j + 1, k] - xc if j < n1 - 1 else 0.0
                g2 = x[i, j, k + 1] - xc if k < n2 - 1 else 0.0
                inv = 1.0 / (1.0 + c * math.sqrt(g0 * g0 + g1 * g1 + g2 * g2))
                a0 = (p0[i, j, k] + c * g0) * inv
                a1 = (p1[i, j, k] + c * g1) * inv
                a2 = (p2[i, j, k] + c * g2) * inv
                p0[i, j, k] = a0
                p1[i, j, k] = a1
                p2[i, j, k] = a2
                dtp = -a0 - a1 - a2
                if i > 0:
                    dtp += p0[i - 1, j, k]
                if j > 0:
                    dtp += p1[i, j - 1, k]
                if k > 0:
                    dtp += p2[i, j, k - 1]
                xn = f[i, j, k] - w * dtp
                change = max(change, abs(xn - xc))
                x[i, j, k] = xn
    return change


@njit(cache=True, fastmath=False)
def _primal_3d(f, p0, p1, p2, x, w):
    n0, n1, n2 = f.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                dtp = 0.0
                if i < n0 - 1:
                    dtp -= p0[i, j, k]
                if i > 0:
                    dtp += p0[i - 1, j, k]
                if j < n1 - 1:
                    dtp -= p1[i, j, k]
                if j > 0:
                    dtp += p1[i, j - 1, k]
                if k < n2 - 1:
                    dtp -= p2[i, j, k]
                if k > 0:
                    dtp += p2[i, j, k - 1]
                x[i, j, k] = f[i, j, k] - w * dtp


@njit(cache=True, fastmath=False)
def chambolle_3d(f, p, x, weight, tau, max_iter, tol_abs):
    """Chambolle iterations on volumes ``f`` of shape ``(batch, n0, n1, n2)``; see :func:`chambolle_2d`."""
    c = tau / weight
    worst = 0
    met_all = True
    for b in range(f.shape[0]):
        _primal_3d(f[b], p[0, b], p[1, b], p[2, b], x[b], weight)
        met = False
        it = 0
        while it < max_iter:
            it += 1
            if _sweep_3d(f[b], p[0, b], p[1, b], p[2, b], x[b], weight, c) <= tol_abs:
                met = True
                break
        worst = max(worst, it)
        met_all = met_all and met
    return worst, met_all
