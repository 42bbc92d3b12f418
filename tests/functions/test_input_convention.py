"""One input/output convention for every prox and value of optlib.functions (scalars, 0-d, lists)."""

import numpy as np
import pytest

import optlib.functions as F
from optlib.functions import Function, SmoothFunction
from tests.conftest import to_numpy

# One instance per public penalty; "needs_dims" ones reject 0-d input.
ELEMENTWISE = {
    "L1": lambda: F.L1(0.7),
    "L2": lambda: F.L2(0.7),
    "ElasticNet": lambda: F.ElasticNet(0.7, 0.4),
    "Box": lambda: F.Box(-1.0, 2.0),
    "NonNegative": lambda: F.NonNegative(),
    "Simplex": lambda: F.Simplex(1.5),
    "TopKSimplex": lambda: F.TopKSimplex(1),
    "L1Ball": lambda: F.L1Ball(0.5),
    "L0": lambda: F.L0(0.7),
    "LHalf": lambda: F.LHalf(0.7),
    "CEL0": lambda: F.CEL0(0.7),
    "MCP": lambda: F.MCP(0.7),
    "SCAD": lambda: F.SCAD(0.7),
    "Lp": lambda: F.Lp(0.7, 0.3),
    "Magnitude": lambda: F.Magnitude(F.L1(0.7)),
}
NEEDS_DIMS = {
    "GroupL21": (lambda: F.GroupL21(0.7), 1),
    "TV1D": (lambda: F.TV1D(0.7), 1),
    "TVND": (lambda: F.TVND(0.7, ndim=2), 2),
    "TV2D": (lambda: F.TV2D(0.7), 2),
    "TV3D": (lambda: F.TV3D(0.7), 3),
    "NuclearNorm": (lambda: F.NuclearNorm(0.7), 2),
    "RankConstraint": (lambda: F.RankConstraint(1), 2),
}


def test_every_public_penalty_is_covered():
    public = {
        name
        for name in F.__all__
        if isinstance(getattr(F, name), type)
        and issubclass(getattr(F, name), Function)
        and not issubclass(getattr(F, name), SmoothFunction)
        and getattr(F, name) is not Function
    }
    assert public == set(ELEMENTWISE) | set(NEEDS_DIMS)


@pytest.mark.parametrize("name", list(ELEMENTWISE))
@pytest.mark.parametrize("scalar", [2.5, -3, np.float64(0.3), np.array(2.5)], ids=["float", "int", "np.float64", "0-d"])
def test_scalar_prox_is_a_0d_array(name, scalar):
    g = ELEMENTWISE[name]()
    out = g.prox(scalar, 0.8)
    assert type(out) is np.ndarray and out.shape == () and out.dtype == np.float64
    ref = g.prox(np.array([float(scalar)]), 0.8)
    assert float(out) == ref[0]
    assert isinstance(g(scalar), float) and g(scalar) == g(np.array([float(scalar)]))


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_float32_scalar_keeps_float32(name):
    out = ELEMENTWISE[name]().prox(np.float32(2.5), 0.8)
    assert type(out) is np.ndarray and out.shape == () and out.dtype == np.float32


@pytest.mark.parametrize("name", list(ELEMENTWISE) + list(NEEDS_DIMS))
def test_sequences_are_converted_with_numpy(name):
    if name in ELEMENTWISE:
        g, ndim = ELEMENTWISE[name](), 1
    else:
        make, ndim = NEEDS_DIMS[name]
        g = make()
    v = np.arange(-4, 4, dtype=np.float64).reshape((2,) * (ndim - 1) + (-1,))[..., :4] * 0.6
    out = g.prox(v.tolist(), 0.8)
    assert type(out) is np.ndarray and out.dtype == np.float64
    np.testing.assert_array_equal(out, g.prox(v, 0.8))
    assert g(v.tolist()) == g(v)


@pytest.mark.parametrize("name", list(NEEDS_DIMS))
@pytest.mark.parametrize("scalar", [2.5, np.array(2.5)], ids=["float", "0-d"])
def test_scalar_rejected_where_dimensions_are_needed(name, scalar):
    g = NEEDS_DIMS[name][0]()
    with pytest.raises(ValueError, match="dimension"):
        g.prox(scalar)
    with pytest.raises(ValueError, match="dimension"):
        g(scalar)


@pytest.mark.parametrize("name", list(ELEMENTWISE) + list(NEEDS_DIMS))
@pytest.mark.parametrize("bad", ["abc", None, {"a": 1}], ids=["str", "None", "dict"])
def test_non_numeric_input_is_a_type_error(name, bad):
    g = ELEMENTWISE[name]() if name in ELEMENTWISE else NEEDS_DIMS[name][0]()
    with pytest.raises(TypeError, match="v must be"):
        g.prox(bad)
    with pytest.raises(TypeError, match="x must be"):
        g(bad)


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_0d_array_keeps_namespace_and_device(xp, name):
    g = ELEMENTWISE[name]()
    v = xp.asarray(2.5, dtype=xp.float32)
    out = g.prox(v, 0.8)
    assert type(out) is type(v) and out.shape == () and out.dtype == xp.float32
    assert out.device == v.device
    assert float(to_numpy(out)) == float(g.prox(np.float32(2.5), 0.8))
