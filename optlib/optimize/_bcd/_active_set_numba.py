"""Numba kernels of :func:`optlib.optimize.active_set_bcd`.

* :func:`gsq_scores` -- the O(n) greedy scores (GS-q model decrease, or the
  GS magnitude of the minimum-norm subgradient) fused with the optimality
  measure (infinity norm of the minimum-norm subgradient);
* :func:`block_qp_cd` -- coordinate descent on a small dense block QP
  ``min_y 0.5 y^T H y + q^T y + lam ||y||_1`` (or ``lam sum y, y >= 0``),
  used by the proximal-Newton update before its exact active-set polish.

This module imports numba at import time: import it lazily. When numba is
missing or disabled (``OPTLIB_DISABLE_NUMBA=1``) the same functions run as
plain Python (correct, slow); ``engine="xp"`` calls the plain-Python
versions through :func:`python_version`.
"""

import math

import numpy as np

from ..._backend import numba_available

if numba_available():
    from numba import njit
else:  # pragma: no cover - exercised only with numba disabled

    def njit(*args, **kwargs):
        return lambda func: func


__all__ = ["block_qp_cd", "gsq_scores", "python_version"]

RULE_GSQ = 0
RULE_GS = 1
RULE_NONE = 2


def python_version(func):
    """The plain-Python function behind a numba dispatcher (or ``func`` itself)."""
    return getattr(func, "py_func", func)


@njit(cache=True, fastmath=False)
def gsq_scores(x, g, L, lam, positive, rule, out):
    """Fill ``out`` with the selection scores (larger is better); return the optimality measure.

    ``rule == 0`` (GS-q): ``out[i]`` is the decrease ``-(g_i d + L_i d^2 / 2 +
    lam (|x_i + d| - |x_i|))`` of the coordinate model at the proximal step
    ``d`` (for ``positive``: ``-((g_i + lam) d + L_i d^2 / 2)`` at the
    projected step). ``rule == 1`` (GS): ``out[i] = |s_i|``, the magnitude of
    the minimum-norm subgradient. ``rule == 2``: ``out`` is left untouched.
    The return value is ``max_i |s_i|`` in every case.
    """
    n = x.shape[0]
    opt = 0.0
    for i in range(n):
        xi = x[i]
        gi = g[i]
        # minimum-norm subgradient
        if positive:
            gl = gi + lam
            if xi > 0.0:
                s = abs(gl)
            else:
                s = max(-gl, 0.0)
        elif xi > 0.0:
            s = abs(gi + lam)
        elif xi < 0.0:
            s = abs(gi - lam)
        else:
            s = max(abs(gi) - lam, 0.0)
        opt = max(opt, s)
        if rule == 1:
            out[i] = s
        elif rule == 0:
            li = L[i]
            if li <= 0.0:
                out[i] = 0.0
                continue
            if positive:
                gl = gi + lam
                z = xi - gl / li
                z = max(z, 0.0)
                d = z - xi
                out[i] = -(gl * d + 0.5 * li * d * d)
            else:
                u = xi - gi / li
                t = lam / li
                if u > t:
                    z = u - t
                elif u < -t:
                    z = u + t
                else:
                    z = 0.0
                d = z - xi
                out[i] = -(gi * d + 0.5 * li * d * d + lam * (abs(z) - abs(xi)))
    return opt


@njit(cache=True, fastmath=False)
def block_qp_cd(H, q, y, lam, positive, max_sweeps, tol):
    """Cyclic coordinate descent on ``0.5 y^T H y + q^T y + lam ||y||_1`` (in place on ``y``).

    With ``positive`` the penalty is ``lam sum y`` subject to ``y >= 0``.
    Stops when the largest scaled change ``|dy_i| sqrt(H_ii)`` of a sweep is
    at most ``tol`` times the largest ``|y_i| sqrt(H_ii)``. Coordinates with
    ``H_ii <= 0`` are left unchanged. Returns the number of sweeps.
    """
    k = y.shape[0]
    Hy = np.zeros(k)
    for j in range(k):
        yj = y[j]
        if yj != 0.0:
            for i in range(k):
                Hy[i] += H[i, j] * yj
    sweeps = 0
    for sweep in range(max_sweeps):
        sweeps = sweep + 1
        max_change = 0.0
        max_size = 0.0
        for i in range(k):
            hii = H[i, i]
            if hii <= 0.0:
                continue
            old = y[i]
            u = old - (Hy[i] + q[i]) / hii
            t = lam / hii
            if positive:
                new = u - t
                new = max(new, 0.0)
            elif u > t:
                new = u - t
            elif u < -t:
                new = u + t
            else:
                new = 0.0
            d = new - old
            if d != 0.0:
                for j in range(k):
                    Hy[j] += H[j, i] * d
                y[i] = new
            w = math.sqrt(hii)
            max_change = max(max_change, abs(d) * w)
            max_size = max(max_size, abs(new) * w)
        if max_change <= tol * max_size:
            break
    return sweeps
