"""SciPy's own tests of the modified Bessel functions, applied to log_iv, log_kv and log_iv_ratio.

Adapted from SciPy 1.17's ``scipy/special/tests/test_basic.py`` (the ``iv``,
``ive``, ``kv``, ``kve``, ``i0``, ``i1`` parts of ``TestCephes`` and
``TestBessel``) and ``test_iv_ratio.py`` (reference values, ``inf``/NaN
cases). Each SciPy assertion on ``f(v, x)`` becomes one on ``log f``: a
value ``c`` is compared as ``log c`` with SciPy's relative tolerance as the
absolute one (``|log a - log b| ~ |a / b - 1|``), or as ``exp(log f)`` where
SciPy compares absolute differences of ``O(1)`` values; ``ive(v, x) =
iv(v, x) exp(-|x|)`` is ``exp(log_iv(v, x) - |x|)`` and ``kve(v, x) = kv(v,
x) exp(x)`` is ``exp(log_kv(v, x) + x)``. Where SciPy's values overflow or
underflow (the ``cephes_vs_amos`` grid reaches ``|x| = 10003``), the log is
only checked to be beyond the double range, which is the point of the
log functions.

Skipped, and why:

* complex arguments (``iv(v, z)`` for complex ``z`` in ``test_ticket_853``,
  ``test_iv_series``, ``test_kve``): the log functions are real-valued and
  raise ``TypeError`` on complex input (tested in ``test_bessel.py``); the
  complex AMOS values are still used here as the reference on the real axis;
* derivatives (``ivp``, ``kvp``) and the other Bessel kinds (``jv``,
  ``yv``, ``hankel``, ``airye``, ``iti0k0``...): optlib has no counterpart;
* SciPy's private ``_iv_ratio_c`` (a complementary ratio) has no
  counterpart;
* ``kv(0, 1e19) == 0`` (``test_kv_largearg``) is an underflow: here the log
  is checked to equal ``-1e19`` to leading order instead.
"""

import itertools
import math

import numpy as np
import pytest

from optlib.special import log_iv, log_iv_ratio, log_kv

special = pytest.importorskip("scipy.special")

ENGINES = ["auto", "xp"]


def iv_(v, x, engine):
    """``iv`` rebuilt from ``log_iv``, with the sign of SciPy's real ``iv`` at ``x < 0``."""
    out = np.exp(log_iv(v, abs(x), engine=engine))
    return -out if x < 0 and v % 2 == 1 else out


def ive_(v, x, engine):
    return np.exp(log_iv(v, x, engine=engine) - abs(x))


def kv_(v, x, engine):
    return np.exp(log_kv(v, x, engine=engine))


def kve_(v, x, engine):
    return np.exp(log_kv(v, x, engine=engine) + x)


# -- TestCephes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_cephes_iv_ive_kv_kve(engine):
    assert log_iv(1, 0, engine=engine) == -np.inf  # iv(1, 0) == 0
    assert ive_(1, 0, engine) == 0.0
    assert np.isfinite(log_kv(1, 1, engine=engine))  # kv(1, 1), kve(1, 1): called without error
    assert np.isfinite(kve_(1, 1, engine))


# -- TestBessel ---------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_negv(engine):
    assert log_iv(3, 2, engine=engine) == log_iv(-3, 2, engine=engine)  # test_negv_iv
    assert log_kv(3.0, 2.2, engine=engine) == log_kv(-3.0, 2.2, engine=engine)  # test_negv_kv, _kve
    assert ive_(3, 2, engine) == ive_(-3, 2, engine)  # test_negv_ive


@pytest.mark.parametrize("engine", ENGINES)
def test_kv012(engine):
    np.testing.assert_allclose(kv_(0, 0.2, engine), 1.7527038555281462, atol=1.5e-10, rtol=0)
    np.testing.assert_allclose(kv_(1, 0.2, engine), 4.775972543220472, atol=1.5e-10, rtol=0)
    np.testing.assert_allclose(kv_(2, 0.2, engine), 49.51242928773287, atol=1.5e-10, rtol=0)


@pytest.mark.parametrize("engine", ENGINES)
def test_kv_largearg(engine):
    # SciPy: kv(0, 1e19) == 0 (underflow); K_0(x) ~ sqrt(pi / (2x)) e^{-x}
    x = 1e19
    np.testing.assert_allclose(log_kv(0, x, engine=engine), -x + 0.5 * math.log(math.pi / (2 * x)), rtol=1e-15)
    assert kv_(0, x, engine) == 0.0


@pytest.mark.parametrize("engine", ENGINES)
def test_kve(engine):
    np.testing.assert_allclose(kve_(0, 0.2, engine), special.kv(0, 0.2) * np.exp(0.2), atol=1.5e-8, rtol=0)


@pytest.mark.parametrize("engine", ENGINES)
def test_iv_ive(engine):
    np.testing.assert_allclose(iv_(0, 0.1, engine) * np.exp(-0.1), 0.90710092578230106, atol=1.5e-10, rtol=0)
    np.testing.assert_allclose(ive_(0, 0.1, engine), special.iv(0, 0.1) * np.exp(-0.1), atol=1.5e-10, rtol=0)
    np.testing.assert_allclose(ive_(0, 0.1, engine), special.i0e(0.1), atol=1.5e-8, rtol=0)  # test_i0e
    np.testing.assert_allclose(ive_(1, 0.1, engine), special.i1e(0.1), atol=1.5e-8, rtol=0)  # test_i1e


def _cephes_vs_amos_points():
    v = [-120, -100.3, -20.0, -10.0, -1.0, -0.5, 0.0, 1.0, 12.49, 120.0, 301]
    z = [-1300, -11, -10, -1, 1.0, 10.0, 200.5, 401.0, 600.5, 700.6, 1300, 10003]
    yield from itertools.product(v, z)
    yield from itertools.product(0.5 + np.arange(-60, 60), [3.5])


def _odd_or_fractional(v):
    """Orders whose I_v(x) has no real logarithm at x < 0 (SciPy's real iv is negative or NaN)."""
    v = np.asarray(v, dtype=float)
    return ~(np.isfinite(v) & (np.mod(np.where(np.isfinite(v), v, 1.0), 2.0) == 0.0))


def _check_vs_amos(logf, f, v, z, engine, rtol):
    """SciPy's check_cephes_vs_amos on the log: the complex AMOS value ``f(v, z + 0j)`` is the reference.

    AMOS loses the sign of values that underflow to 0 and returns NaN on overflow, so where the
    real log does not exist (odd or fractional ``v`` at ``z < 0``, or a negative value) NaN is
    expected from the definition, not read off AMOS.
    """
    got = float(logf(v, z, engine=engine))
    with np.errstate(all="ignore"):
        ref = f(v, z + 0j)
    if (z < 0 and (logf is log_kv or _odd_or_fractional(v))) or (ref.imag == 0 and ref.real < 0):
        assert math.isnan(got), (v, z, got, ref)
    elif not np.isfinite(ref.real) or abs(ref.real) >= 1e300:
        assert got >= math.log(1e300) - 1e-9, (v, z, got, ref)  # overflow in SciPy
    elif abs(ref.real) < 1e-300:
        assert got <= math.log(1e-300) + 1e-9, (v, z, got, ref)  # underflow in SciPy
    else:
        assert abs(got - math.log(ref.real)) <= rtol, (v, z, got, ref)


@pytest.mark.parametrize("engine", ENGINES)
def test_iv_cephes_vs_amos(engine):
    for v, z in _cephes_vs_amos_points():
        _check_vs_amos(log_iv, special.iv, v, z, engine, rtol=5e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_kv_cephes_vs_amos(engine):
    for v, z in _cephes_vs_amos_points():
        _check_vs_amos(log_kv, special.kv, v, z, engine, rtol=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_iv_amos_mass_test(engine):
    """SciPy's mass test (1e6 points, marked slow there) on 2e4 points: heavy-tailed v and x of both signs."""
    rng = np.random.RandomState(1)
    n = 20000
    v = rng.pareto(0.5, n) * (-1) ** rng.randint(2, size=n)
    x = rng.pareto(0.2, n) * (-1) ** rng.randint(2, size=n)
    imsk = rng.randint(8, size=n) == 0
    v[imsk] = v[imsk].astype(np.int64)
    got = log_iv(v, x, engine=engine)
    with np.errstate(all="ignore"):
        ref = special.iv(v, x + 0j)
    no_log = ((x < 0) & _odd_or_fractional(v)) | ((ref.imag == 0) & (ref.real < 0))
    in_range = (ref.imag == 0) & (ref.real < 1e300) & (ref.real > 1e-300) & ~no_log
    # SciPy's tolerance (2e-7, the AMOS reference's own error near integer orders)
    np.testing.assert_allclose(got[in_range], np.log(ref.real[in_range]), rtol=0, atol=2e-7)
    assert np.all(np.isnan(got[no_log]))
    assert in_range.sum() > 1000 and no_log.sum() > 1000


@pytest.mark.parametrize("engine", ENGINES)
def test_ticket_853(engine):
    """Negative-order Bessels (the real-argument values)."""
    for v, want in [(-1, 0.5651591039924851), (-2, 0.1357476697670383), (-0.5, 1.231200214592967)]:
        np.testing.assert_allclose(log_iv(v, 1.0, engine=engine), math.log(want), rtol=0, atol=1e-15)
    for v, want in [(-1, 0.6019072301972347), (-2, 1.624838898635178), (-0.5, 0.4610685044478945)]:
        np.testing.assert_allclose(log_kv(v, 1.0, engine=engine), math.log(want), rtol=0, atol=1e-15)
    np.testing.assert_allclose(log_iv(-0.5, 1, engine=engine), math.log(1.231200214592967), atol=1e-15)  # hyperg poles


@pytest.mark.parametrize("engine", ENGINES)
def test_ticket_854(engine):
    """Real-valued Bessel domains: NaN where SciPy's real functions are NaN."""
    for fn, v in [(log_iv, 0.5), (log_kv, 0.5), (log_kv, 1.0)]:
        assert math.isnan(fn(v, -1.0, engine=engine)), (fn.__name__, v)


@pytest.mark.parametrize("engine", ENGINES)
def test_gh_7909(engine):
    assert log_kv(1.5, 0, engine=engine) == np.inf  # kv(1.5, 0) == kve(1.5, 0) == inf


@pytest.mark.parametrize("engine", ENGINES)
def test_ticket_503(engine):
    """Real-valued Bessel I overflow (values near the top of the double range)."""
    np.testing.assert_allclose(log_iv(1, 700, engine=engine), math.log(1.528500390233901e302), rtol=1e-15)
    np.testing.assert_allclose(log_iv(1000, 1120, engine=engine), math.log(1.301564549405821e301), rtol=1e-15)


def _iv_series(v, z, n=200):
    k = np.arange(0, n).astype(np.float64)
    r = (v + 2 * k) * np.log(0.5 * z) - special.gammaln(k + 1) - special.gammaln(v + k + 1)
    r[np.isnan(r)] = np.inf
    r = np.exp(r)
    err = abs(r).max() * np.finfo(np.float64).eps * n + abs(r[-1]) * 10
    return r.sum(), err


@pytest.mark.parametrize("engine", ENGINES)
def test_iv_series(engine):
    """test_i0_series, test_i1_series, test_iv_series (real z): the log within SciPy's tolerance."""
    cases = [(0, z) for z in (1.0, 10.0, 200.5)] + [(1, z) for z in (1.0, 10.0, 200.5)]
    cases += list(itertools.product([-20.0, -10.0, -1.0, 0.0, 1.0, 12.49, 120.0], [1.0, 10.0, 200.5]))
    for v, z in cases:
        value, err = _iv_series(v, z)
        # SciPy's assert_allclose(iv, value, atol=err) keeps its default rtol=1e-7 (the series' gammaln
        # terms are themselves only accurate to ~1e-13 relative at k ~ 200)
        assert abs(log_iv(v, z, engine=engine) - math.log(value)) <= err / value + 1e-7, (v, z)


@pytest.mark.parametrize("engine", ENGINES)
def test_i0_i1(engine):
    i0_values = [[0.0, 1.0], [1e-10, 1.0], [0.1, 0.9071009258], [0.5, 0.6450352706], [1.0, 0.4657596077],
                 [2.5, 0.2700464416], [5.0, 0.1835408126], [20.0, 0.0897803119]]
    i1_values = [[0.0, 0.0], [1e-10, 0.4999999999500000e-10], [0.1, 0.0452984468], [0.5, 0.1564208032],
                 [1.0, 0.2079104154], [5.0, 0.1639722669], [20.0, 0.0875062222]]  # fmt: skip
    for v, values in ((0, i0_values), (1, i1_values)):
        for x, want in values:
            np.testing.assert_allclose(iv_(v, x, engine) * np.exp(-x), want, atol=1.5e-8, rtol=0, err_msg=(v, x))


# -- test_iv_ratio.py (SciPy's iv_ratio(v, x) = I_v(x) / I_{v-1}(x) = exp(log_iv_ratio(v - 1, x))) --

IV_RATIO_REFERENCE = [
    (0.5, 0.16666666666666666, 0.16514041292462933),
    (0.5, 0.3333333333333333, 0.32151273753163434),
    (0.5, 0.5, 0.46211715726000974),
    (0.5, 0.6666666666666666, 0.5827829453479101),
    (0.5, 0.8333333333333335, 0.6822617902381698),
    (1, 0.3380952380952381, 0.1666773049170313),
    (1, 0.7083333333333333, 0.33366443586989925),
    (1, 1.1666666666666667, 0.5023355231537423),
    (1, 1.8666666666666665, 0.674616572252164),
    (1, 3.560606060606061, 0.844207659503163),
    (2.34, 0.7975238095238094, 0.16704903081553285),
    (2.34, 1.7133333333333334, 0.3360215931268845),
    (2.34, 2.953333333333333, 0.50681909317803),
    (2.34, 5.0826666666666656, 0.6755252698800679),
    (2.34, 10.869696969696973, 0.8379351104498762),
    (56.789, 19.46575238095238, 0.1667020505391409),
    (56.789, 42.55008333333333, 0.33353809996933026),
    (56.789, 75.552, 0.5003932381177826),
    (56.789, 135.76026666666667, 0.6670528221946127),
    (56.789, 307.8642424242425, 0.8334999441460798),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("v", "x", "r"), IV_RATIO_REFERENCE)
def test_iv_ratio_reference_values(engine, v, x, r):
    # SciPy asks rtol 4e-16 of the ratio; through exp(log) allow a few more ulps
    np.testing.assert_allclose(np.exp(log_iv_ratio(v - 1.0, x, engine=engine)), r, rtol=2e-15, atol=0)


@pytest.mark.parametrize("engine", ENGINES)
def test_iv_ratio_inf(engine):
    assert log_iv_ratio(0.0, np.inf, engine=engine) == 0.0  # iv_ratio(1, inf) == 1
    assert log_iv_ratio(np.inf, 1.0, engine=engine) == -np.inf  # iv_ratio(inf, 1) == 0


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("v", [0.49, -np.inf, np.nan, np.inf])
@pytest.mark.parametrize(
    "x", [-np.finfo(float).smallest_normal, -np.finfo(float).smallest_subnormal, -np.inf, np.nan, np.inf]
)
def test_iv_ratio_nan(engine, v, x):
    """SciPy's iv_ratio domain is v >= 0.5; log_iv_ratio extends it to every real v, so only the
    x < 0, NaN and v = x = inf cases are NaN here (v = 0.49 with x = inf is 0: the ratio tends to 1)."""
    got = float(log_iv_ratio(v - 1.0, x, engine=engine))
    if v == 0.49 and x == np.inf:
        assert got == 0.0
    else:
        assert math.isnan(got)
