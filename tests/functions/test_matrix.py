"""Matrix penalties: brute-force prox, Moreau identity, Eckart-Young, batching, namespaces, errors."""

import numpy as np
import pytest
from array_api_compat import array_namespace
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.optimize import minimize

from optlib.functions import NuclearNorm, RankConstraint
from tests.conftest import to_numpy

SETTINGS = settings(max_examples=50, deadline=None)

finite = st.floats(-5.0, 5.0, allow_nan=False, allow_infinity=False, width=64)
steps = st.floats(0.1, 3.0)
weights = st.floats(0.0, 3.0)


def matrices(min_side=1, max_side=4, min_dims=2, max_dims=2):
    shapes = hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)
    return hnp.arrays(np.float64, shapes, elements=finite)


def _proj_spectral(u, r):
    """Projection onto {sigma_max <= r}: clip the singular values."""
    U, s, Vh = np.linalg.svd(u, full_matrices=False)
    return (U * np.minimum(s, r)[..., None, :]) @ Vh


# --- nuclear norm --------------------------------------------------------------------------------


@SETTINGS
@given(v=matrices(max_side=3), lam=weights, step=steps)
def test_nuclear_prox_brute_force(v, lam, step):
    """Compare with a numerical minimisation of the smooth factored form.

    ``||X||_* = min over X = A B^T of (||A||_F^2 + ||B||_F^2) / 2`` (A, B with
    min(m, n) columns), so the prox objective becomes smooth in (A, B) and is
    minimised by BFGS from several random starts.
    """
    g = NuclearNorm(lam)
    p = g.prox(v, step)
    m, n = v.shape
    k = min(m, n)

    def fun(z):
        A, B = z[: m * k].reshape(m, k), z[m * k :].reshape(n, k)
        R = A @ B.T - v
        f = 0.5 * lam * (np.sum(A * A) + np.sum(B * B)) + np.sum(R * R) / (2 * step)
        grad = np.concatenate([(lam * A + R @ B / step).ravel(), (lam * B + R.T @ A / step).ravel()])
        return f, grad

    rng = np.random.default_rng(0)
    runs = [
        minimize(fun, rng.standard_normal((m + n) * k), jac=True, method="BFGS", options={"gtol": 1e-11})
        for _ in range(3)
    ]
    z = min(runs, key=lambda res: res.fun).x
    x_bf = z[: m * k].reshape(m, k) @ z[m * k :].reshape(n, k).T
    obj = lambda x: g(x) + np.sum((x - v) ** 2) / (2 * step)  # noqa: E731
    assert obj(p) <= obj(x_bf) + 1e-10
    np.testing.assert_allclose(p, x_bf, atol=1e-4)


@SETTINGS
@given(v=matrices(max_dims=4), lam=weights, step=steps)
def test_nuclear_moreau_identity(v, lam, step):
    p = NuclearNorm(lam).prox(v, step)
    np.testing.assert_allclose(p + step * _proj_spectral(v / step, lam), v, atol=1e-10)


@SETTINGS
@given(data=st.data(), lam=weights, step=steps)
def test_nuclear_moreau_identity_complex(data, lam, step):
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=3, max_side=4))
    v = data.draw(hnp.arrays(np.float64, shape, elements=finite)) + 1j * data.draw(
        hnp.arrays(np.float64, shape, elements=finite)
    )
    p = NuclearNorm(lam).prox(v, step)
    assert p.dtype == np.complex128
    np.testing.assert_allclose(p + step * _proj_spectral(v / step, lam), v, atol=1e-10)


@SETTINGS
@given(v=matrices(max_dims=3), lam=st.floats(0.05, 3.0), step=steps)
def test_nuclear_fenchel_young_and_dual_scaling(v, lam, step):
    g = NuclearNorm(lam)
    p = g.prox(v, step)
    u = (v - p) / step
    u = u * g.dual_scaling(u)  # c = 1 up to the rounding of v - p
    assert g(p) + g.conjugate(u) == pytest.approx(np.sum(p * u), rel=1e-9, abs=1e-9)
    w = 3 * v
    c = g.dual_scaling(w)
    assert 0 < c <= 1 and g.conjugate(c * w) == 0.0
    if c < 1:
        assert g.conjugate(c * (1 + 1e-6) * w) == np.inf
        assert np.linalg.svd(c * w, compute_uv=False).max() == pytest.approx(lam)


@SETTINGS
@given(v=matrices(max_dims=4))
def test_nuclear_value(v):
    assert NuclearNorm(2.0)(v) == pytest.approx(2 * np.linalg.svd(v, compute_uv=False).sum(), rel=1e-12, abs=1e-12)


def test_nuclear_batched_equals_loop():
    v = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    p = NuclearNorm(0.8).prox(v, 1.3)
    for i in np.ndindex(2, 3):
        np.testing.assert_allclose(p[i], NuclearNorm(0.8).prox(v[i], 1.3), atol=1e-12)


# --- rank constraint -----------------------------------------------------------------------------


@SETTINGS
@given(v=matrices(max_dims=3, max_side=5), rank=st.integers(1, 5))
def test_rank_projection_eckart_young(v, rank):
    g = RankConstraint(rank)
    p = g.prox(v)
    assert p.shape == v.shape and g(p) == 0.0
    s = np.linalg.svd(v, compute_uv=False)
    assert np.all(np.linalg.matrix_rank(p) <= rank)
    assert np.sum((p - v) ** 2) == pytest.approx(np.sum(s[..., rank:] ** 2), rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(g.prox(p), p, atol=1e-9)  # idempotent


@settings(max_examples=25, deadline=None)
@given(v=matrices(min_side=2, max_side=3))
def test_rank_one_brute_force(v):
    """No rank-one a b^T found by BFGS from several starts is closer to v than the prox."""
    m, n = v.shape
    p = RankConstraint(1).prox(v)
    dist = np.sum((p - v) ** 2)
    obj = lambda z: np.sum((np.outer(z[:m], z[m:]) - v) ** 2)  # noqa: E731
    rng = np.random.default_rng(0)
    best = min(minimize(obj, rng.standard_normal(m + n), method="BFGS").fun for _ in range(5))
    assert dist <= best + 1e-8


def test_rank_value_and_complex():
    a = np.outer([1.0, 2.0, 3.0], [1.0, -1.0])
    assert RankConstraint(1)(a) == 0.0
    assert RankConstraint(1)(a + np.eye(3, 2)) == np.inf
    assert RankConstraint(2)(a + np.eye(3, 2)) == 0.0
    z = np.random.default_rng(1).standard_normal((4, 3)) + 1j * np.random.default_rng(2).standard_normal((4, 3))
    p = RankConstraint(1).prox(z)
    assert p.dtype == np.complex128 and np.linalg.matrix_rank(p) == 1
    s = np.linalg.svd(z, compute_uv=False)
    assert np.sum(np.abs(p - z) ** 2) == pytest.approx(np.sum(s[1:] ** 2))
    assert RankConstraint.is_convex is False and NuclearNorm.is_convex is True
    assert isinstance(NuclearNorm()(a), float) and isinstance(RankConstraint(1)(a), float)


# --- namespaces, dtypes, no in-place modification ----------------------------------------------

FACTORIES = {
    "NuclearNorm": lambda: NuclearNorm(0.6),
    "RankConstraint": lambda: RankConstraint(2),
}


@pytest.mark.parametrize("name", list(FACTORIES))
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128"])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 6)])
def test_namespace_dtype_no_inplace(xp, name, dtype, shape):
    rng = np.random.default_rng(4)
    v_np = rng.standard_normal(shape)
    if dtype.startswith("complex"):
        v_np = v_np + 1j * rng.standard_normal(shape)
    v_np = v_np.astype(dtype)
    v = xp.asarray(v_np)
    before = np.array(to_numpy(v), copy=True)
    g = FACTORIES[name]()
    out = g.prox(v, step=0.9)
    assert array_namespace(out) is array_namespace(v)
    assert out.device == v.device
    assert out.dtype == v.dtype and tuple(out.shape) == shape
    np.testing.assert_array_equal(to_numpy(v), before)
    single = dtype in ("float32", "complex64")
    ref = FACTORIES[name]().prox(v_np, step=0.9)
    np.testing.assert_allclose(to_numpy(out), ref, rtol=1e-4 if single else 1e-10, atol=1e-5 if single else 1e-10)
    val = g(out)
    assert isinstance(val, float)
    if name == "NuclearNorm":
        assert val == pytest.approx(g(ref), rel=1e-5 if single else 1e-12)
        assert g.conjugate(v) == g.conjugate(v_np)
        assert g.dual_scaling(v) == pytest.approx(g.dual_scaling(v_np), rel=1e-5 if single else 1e-12)
        w = 10 * v  # the duality-gap contract holds in single precision too
        assert g.conjugate(g.dual_scaling(w) * w) < np.inf
    else:
        assert val == 0.0


# --- bad inputs --------------------------------------------------------------------------------


def test_bad_parameters():
    with pytest.raises(ValueError, match="lam"):
        NuclearNorm(-0.1)
    for r in (0, -2):
        with pytest.raises(ValueError, match="rank"):
            RankConstraint(r)
    with pytest.raises(TypeError, match="rank"):
        RankConstraint(1.5)


@pytest.mark.parametrize("g", [NuclearNorm(), RankConstraint(1)], ids=repr)
def test_bad_inputs(g):
    with pytest.raises(ValueError, match="step"):
        g.prox(np.ones((2, 2)), 0.0)
    with pytest.raises(ValueError, match="step"):
        g.prox(np.ones((2, 2)), -1.0)
    with pytest.raises(ValueError, match="2-dimensional"):
        g.prox(np.ones(3))
    with pytest.raises(ValueError, match="2-dimensional"):
        g(np.ones(3))
