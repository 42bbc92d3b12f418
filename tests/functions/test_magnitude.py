"""Magnitude wrapper: prox_{g(|.|)}(z) = prox_g(|z|) exp(i angle z)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from optlib.functions import CEL0, L0, L1, MCP, SCAD, Function, LHalf, Lp, Magnitude
from tests.conftest import to_numpy

SETTINGS = settings(max_examples=50, deadline=None)

PENALTIES = {
    "L1": lambda lam: L1(lam),
    "L0": lambda lam: L0(lam),
    "LHalf": lambda lam: LHalf(lam),
    "Lp": lambda lam: Lp(lam, 0.3),
    "CEL0": lambda lam: CEL0(lam, 0.8),
    "MCP": lambda lam: MCP(lam, 2.0),
    "SCAD": lambda lam: SCAD(lam, 3.7),
}


class GroupNorm(Function):
    """``lam * ||x||_2`` over the whole array: a non-separable test penalty."""

    def __init__(self, lam):
        self.lam = lam

    def __call__(self, x):
        return self.lam * float(np.linalg.norm(np.asarray(x)))

    def prox(self, v, step=1.0):
        norm = np.linalg.norm(v)
        return v * max(1 - step * self.lam / norm, 0.0) if norm > 0 else np.zeros_like(v)


def random_complex(rng, shape, scale=2.0):
    return scale * (rng.normal(size=shape) + 1j * rng.normal(size=shape))


def objective(g, x, z, step):
    return g(np.abs(x)) + float(np.sum(np.abs(x - z) ** 2)) / (2 * step)


# ------------------------------------------------------------- properties


@SETTINGS
@given(
    name=st.sampled_from(sorted(PENALTIES)),
    lam=st.floats(0.0, 3.0),
    step=st.floats(0.05, 5.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_phase_kept_and_modulus_is_prox_of_modulus(name, lam, step, seed):
    g = PENALTIES[name](lam)
    z = random_complex(np.random.default_rng(seed), 8)
    z[0] = 0.0
    out = Magnitude(g).prox(z, step)
    assert out.dtype == np.complex128 and out.shape == z.shape
    np.testing.assert_allclose(np.abs(out), g.prox(np.abs(z), step), rtol=1e-13, atol=1e-15)
    nz = np.abs(out) > 0
    phase_out, phase_z = out[nz] / np.abs(out[nz]), z[nz] / np.abs(z[nz])
    np.testing.assert_allclose(phase_out, phase_z, rtol=1e-13, atol=1e-15)
    assert out[0] == 0


@SETTINGS
@given(
    name=st.sampled_from(sorted(PENALTIES)),
    lam=st.floats(0.0, 3.0),
    step=st.floats(0.05, 5.0),
    re=st.floats(-5, 5),
    im=st.floats(-5, 5),
)
def test_prox_is_global_minimiser_on_the_complex_plane(name, lam, step, re, im):
    g = PENALTIES[name](lam)
    z = complex(re, im)
    zz = np.array([z])
    x = Magnitude(g).prox(zz, step)
    got = objective(g, x, zz, step)
    r = abs(z)
    phase = z / r if r > 0 else 1.0

    # (1) the phase of z fixed: brute-force minimisation over the modulus rho >= 0
    def h(rho):
        return objective(g, np.array([rho * phase]), zz, step)

    grid = np.concatenate([np.linspace(0, r + 1, 801), [r]])
    vals = [h(rho) for rho in grid]
    k = int(np.argmin(vals))
    width = (r + 1) / 800
    bounds = (max(grid[k] - width, 0.0), grid[k] + width)
    res = minimize_scalar(h, bounds=bounds, method="bounded", options={"xatol": 1e-13})
    ref = min(vals[k], res.fun, h(0.0))
    assert got <= ref + 1e-9 * max(1.0, abs(ref))
    # (2) rotating the phase of the answer never lowers the objective
    for psi in np.linspace(0, 2 * np.pi, 73)[1:-1]:
        assert objective(g, x * np.exp(1j * psi), zz, step) >= got - 1e-12 * max(1.0, abs(got))


@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_real_input_is_sign_handling(name):
    g = PENALTIES[name](0.7)
    v = np.linspace(-4, 4, 81)
    for step in [0.5, 2.0]:
        out = Magnitude(g).prox(v, step)
        assert out.dtype == np.float64
        np.testing.assert_allclose(out, g.prox(v, step), rtol=1e-14, atol=1e-15)
        assert Magnitude(g)(v) == pytest.approx(g(v), rel=1e-14)


def test_l1_agrees_with_complex_soft_threshold():
    z = random_complex(np.random.default_rng(0), (5, 4))
    np.testing.assert_allclose(Magnitude(L1(1.1)).prox(z, 0.7), L1(1.1).prox(z, 0.7), rtol=1e-14)
    assert Magnitude(L1(1.1))(z) == pytest.approx(L1(1.1)(z), rel=1e-14)


def test_non_separable_penalty():
    # lam ||z||_2 on complex z equals lam || |z| ||_2: prox is the complex block shrink
    z = random_complex(np.random.default_rng(1), 6)
    lam, step = 0.9, 1.3
    ref = z * max(1 - step * lam / np.linalg.norm(z), 0)
    mag = Magnitude(GroupNorm(lam))
    assert mag.is_separable is False and mag.is_convex is True
    np.testing.assert_allclose(mag.prox(z, step), ref, rtol=1e-14)


def test_flags_follow_g():
    assert Magnitude(L1(1.0)).is_convex is True
    assert Magnitude(L1(1.0)).is_separable is True
    assert Magnitude(L0(1.0)).is_convex is False
    assert Magnitude(L0(1.0)).is_smooth is False
    assert "L0" in repr(Magnitude(L0(1.0)))


def test_zero_entries_get_phase_one():
    class Shift(Function):  # prox of 0 is nonzero: checks the z = 0 phase rule
        def __call__(self, x):
            return 0.0

        def prox(self, v, step=1.0):
            return v + 1.0

    out = Magnitude(Shift()).prox(np.array([0j, -2.0 + 0j, 3j]))
    np.testing.assert_allclose(out, [1.0, -3.0, 4j])


# --------------------------------------------------------------- backends


@pytest.mark.parametrize("name", sorted(PENALTIES))
@pytest.mark.parametrize("dtype", ["complex64", "complex128", "float32", "float64"])
def test_backends_agree_keep_dtype_and_input(xp, name, dtype):
    g = PENALTIES[name](0.4)
    rng = np.random.default_rng(5)
    if dtype.startswith("complex"):
        z_np = random_complex(rng, (10, 3))
    else:
        z_np = rng.normal(scale=2, size=(10, 3))
    z_np = z_np.astype(dtype)
    z_np[0, 0] = 0
    z = xp.asarray(z_np)
    mag = Magnitude(g)
    out = mag.prox(z, 0.8)
    assert out.dtype == getattr(xp, dtype)
    assert out.device == z.device
    assert out.shape == z.shape
    np.testing.assert_array_equal(to_numpy(z), z_np)  # input untouched
    ref = mag.prox(z_np, 0.8)
    assert ref.dtype == np.dtype(dtype)
    tol = 2e-5 if dtype in ("complex64", "float32") else 1e-13
    np.testing.assert_allclose(to_numpy(out), ref, rtol=tol, atol=tol * 1e-3)
    assert mag(z) == pytest.approx(mag(z_np), rel=tol)


# -------------------------------------------------------------- bad input


def test_bad_input():
    with pytest.raises(TypeError, match="g must be"):
        Magnitude(3.0)
    for step in [0.0, -1.0]:
        with pytest.raises(ValueError, match="step"):
            Magnitude(L0(1.0)).prox(np.ones(2, dtype=complex), step)
    assert math.isfinite(Magnitude(LHalf(1.0))(np.ones(2, dtype=complex)))
