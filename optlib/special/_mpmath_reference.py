"""Arbitrary-precision references for log I_v and log K_v (mpmath), independent of ``_bessel``.

Used by the tests, the benchmark and the accuracy example. ``mpmath.besseli``
and ``besselk`` take minutes at large ``v`` and ``x``; outside the range where
``besseli``'s series is short, the references evaluate integral
representations by the trapezoidal rule (spectrally accurate for these
analytic, rapidly decaying integrands), with the common exponent
``v eta = r - v asinh(v / x)``, ``r = hypot(v, x)``, factored out:

* ``I_v(x) = e^{v eta} / pi int_0^pi exp(phi(t)) dt`` on the steepest-descent
  path of Schläfli's integral;
* ``K_v(x) = e^{-v eta} / 2 int exp(-r (cosh u - 1) - v (sinh u - u)) du``.

They agree with ``mpmath.besseli`` / ``besselk`` / ``quad`` to 1e-26 (tested).
mpmath is imported on first use (it is a test dependency, not a core one).
"""

__all__ = ["reference_log_iv", "reference_log_kv", "trapezoid_log_iv", "trapezoid_log_kv", "exponent_veta"]

DPS = 34


def exponent_veta(v, x):
    """``(v eta, r)`` as mpf: the common exponent of I_v and K_v and ``hypot(v, x)``."""
    import mpmath as mp

    r = mp.sqrt(v * v + x * x)
    return r - v * mp.asinh(v / x), r


def trapezoid_log_iv(v, x):
    """log I_v(x) by the trapezoidal rule on the steepest-descent integral (current mpmath precision)."""
    import mpmath as mp

    v, x = mp.mpf(v), mp.mpf(x)
    veta, r = exponent_veta(v, x)
    n = int(max(24, mp.ceil(2 * mp.pi * mp.sqrt(r))))
    h = mp.pi / n
    total = mp.mpf(1) / 2
    for j in range(1, n):
        t = j * h
        z = v * t / mp.sin(t)
        val = mp.cos(t) * mp.sqrt(x * x + z * z) - v * mp.asinh(z / x) - veta
        if val < -90:
            break
        total += mp.exp(val)
    return veta + mp.log(total * h / mp.pi)


def trapezoid_log_kv(v, x):
    """log K_v(x) by the trapezoidal rule on the shifted integral (current mpmath precision)."""
    import mpmath as mp

    v, x = mp.mpf(v), mp.mpf(x)
    veta, r = exponent_veta(v, x)
    h = min(mp.mpf(1) / 12, 1 / (2 * mp.sqrt(r)))
    total = mp.mpf(1)
    for sign in (1, -1):
        j = 1
        while True:
            u = sign * j * h
            val = -r * (mp.cosh(u) - 1) - v * (mp.sinh(u) - u)
            if val < -90:
                break
            total += mp.exp(val)
            j += 1
    return -veta + mp.log(total * h / 2)


def reference_log_iv(v, x, dps=DPS):
    """log I_v(x) as an mpf at ``dps`` digits (``v >= 0``, ``x > 0``)."""
    import mpmath as mp

    with mp.workdps(dps):
        v, x = mp.mpf(float(v)), mp.mpf(float(x))
        if x * x <= 1600 * (v + 1):
            return mp.log(mp.besseli(v, x, maxterms=10**6))
        return trapezoid_log_iv(v, x)


def reference_log_kv(v, x, dps=DPS):
    """log K_v(x) as an mpf at ``dps`` digits (``v >= 0``, ``x > 0``)."""
    import mpmath as mp

    with mp.workdps(dps):
        return trapezoid_log_kv(float(v), float(x))
