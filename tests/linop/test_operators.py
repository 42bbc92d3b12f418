"""Tests of optlib.linop: dot tests, exact normal solves, namespaces, dtypes, bad input."""

import numpy as np
import pytest
import scipy.sparse as sp

from optlib._backend import device, get_namespace, is_numpy_namespace
from optlib.linop import (
    CircularConvolution,
    GaussianSensing,
    Identity,
    Kronecker,
    LinearOperator,
    Mask,
    MatrixOperator,
    SubsampledFourier,
    check_adjoint,
    gaussian_psf,
    uniform_psf,
)
from tests.conftest import to_numpy


def _operators():
    rng = np.random.default_rng(0)
    return {
        "identity": Identity((3, 4)),
        "mask": Mask(rng.random((5, 6)) > 0.5),
        "conv_real": CircularConvolution(gaussian_psf(5, 1.2), (8, 9)),
        "conv_complex": CircularConvolution(rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3)), (6, 7)),
        "conv_3d": CircularConvolution(uniform_psf(3, ndim=3), (4, 5, 6)),
        "fourier": SubsampledFourier(rng.random((6, 5)) > 0.4),
        "matrix": MatrixOperator(rng.standard_normal((5, 8)), (2, 4)),
        "matrix_tall_complex": MatrixOperator(rng.standard_normal((9, 4)) + 1j * rng.standard_normal((9, 4))),
        "sensing": GaussianSensing(7, (3, 3), complex=True, random_state=0),
        "kronecker": Kronecker(rng.standard_normal((4, 3)), rng.standard_normal((2, 5))),
        "scaled": 2.5 * Mask(rng.random((4, 4)) > 0.3),
        "composition": Mask(rng.random((6, 6)) > 0.5) @ CircularConvolution(uniform_psf(3), (6, 6)),
        "adjoint": MatrixOperator(rng.standard_normal((5, 3))).H,
    }


OPS = _operators()


def _dense_normal(op):
    """A^H A as a dense matrix, column by column (C-order vectorisation)."""
    n = int(np.prod(op.input_shape))
    cols = []
    for i in range(n):
        e = np.zeros(n)
        e[i] = 1.0
        cols.append(np.asarray(op.normal(e.reshape(op.input_shape))).ravel())
    return np.array(cols).T


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("kind", ["float64", "complex128", "float32"])
def test_adjoint_numpy(name, kind):
    tol = 1e-5 if kind == "float32" else 1e-12
    assert check_adjoint(OPS[name], 0, like=np.zeros(1, dtype=kind)) < tol


def test_sparse_matrix_adjoint_and_host_only(xp):
    rng = np.random.default_rng(1)
    op = MatrixOperator(sp.random(6, 9, density=0.3, random_state=rng))
    assert check_adjoint(op, 0) < 1e-12
    assert not op.has_normal_solve
    x = xp.asarray(rng.standard_normal(9))
    if is_numpy_namespace(get_namespace(x)):
        np.testing.assert_allclose(op(x), op.matrix @ x)
    else:
        with pytest.raises(TypeError, match="NumPy arrays only"):
            op(x)


@pytest.mark.parametrize("name", sorted(OPS))
def test_adjoint_device(xp, name):
    """Dot test on the xp namespace (array_api_strict on a non-default device)."""
    op = OPS[name]
    like = xp.zeros(1, dtype=xp.float64)
    assert check_adjoint(op, 0, like=like) < 1e-12
    x = xp.asarray(np.random.default_rng(0).standard_normal(op.input_shape))
    y = op(x)
    assert tuple(y.shape) == op.output_shape
    assert device(y) == device(x)
    assert np.allclose(to_numpy(op.adjoint(y)), to_numpy(op.H(y)))


@pytest.mark.parametrize("name", sorted(n for n, op in OPS.items() if op.has_normal_solve))
def test_exact_normal_solve(name):
    op = OPS[name]
    N = _dense_normal(op)
    n = N.shape[0]
    rhs = np.random.default_rng(2).standard_normal(op.input_shape)
    expected = np.linalg.solve(N + 0.3 * np.eye(n), rhs.ravel())
    np.testing.assert_allclose(np.asarray(op.solve_normal(rhs, 0.3)).ravel(), expected, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name", ["mask", "conv_real", "fourier", "kronecker", "matrix"])
def test_normal_solve_device_and_float32(xp, name):
    op = OPS[name]
    rhs_host = np.random.default_rng(3).standard_normal(op.input_shape)
    expected = np.asarray(op.solve_normal(rhs_host, 0.7))
    rhs = xp.asarray(rhs_host, dtype=xp.float32)
    out = op.solve_normal(rhs, 0.7)
    assert out.dtype in (xp.float32, xp.complex64)
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-4, atol=1e-5)
    assert op(rhs).dtype in (xp.float32, xp.complex64)


def test_norm_power_iteration():
    op = OPS["matrix"]
    assert op.norm(random_state=0, tol=1e-12, max_iter=1000) == pytest.approx(np.linalg.norm(op.matrix, 2), rel=1e-6)
    conv = CircularConvolution(uniform_psf(3), (16, 16))
    assert conv.norm(random_state=0) == pytest.approx(1.0, rel=1e-5)


def test_convolution_matches_direct_circular_sum():
    rng = np.random.default_rng(4)
    psf = rng.random((3, 5))
    x = rng.standard_normal((7, 8))
    A = CircularConvolution(psf, x.shape)
    expected = np.zeros_like(x)
    for a in range(3):
        for b in range(5):  # psf centred at (1, 2): out[i, j] = sum psf[a, b] x[i - a + 1, j - b + 2]
            expected += psf[a, b] * np.roll(x, (a - 1, b - 2), axis=(0, 1))
    np.testing.assert_allclose(A(x), expected, atol=1e-12)
    assert A(x).dtype == np.float64


def test_kronecker_matches_dense_kron():
    rng = np.random.default_rng(5)
    A1, A2 = rng.standard_normal((4, 3)), rng.standard_normal((2, 5))
    x = rng.standard_normal((3, 5))
    np.testing.assert_allclose(Kronecker(A1, A2)(x).ravel(), np.kron(A1, A2) @ x.ravel(), atol=1e-12)


def test_psf_helpers():
    assert uniform_psf(9).shape == (9, 9) and uniform_psf(9).sum() == pytest.approx(1.0)
    g = gaussian_psf((5, 7), 1.5)
    assert g.sum() == pytest.approx(1.0) and np.unravel_index(g.argmax(), g.shape) == (2, 3)
    with pytest.raises(ValueError, match="sigma"):
        gaussian_psf(5, -1.0)


def test_inputs_not_modified_and_new_arrays():
    x = np.random.default_rng(6).standard_normal((3, 4))
    x0 = x.copy()
    y = Identity((3, 4))(x)
    y[0, 0] = 100.0
    np.testing.assert_array_equal(x, x0)


def test_shape_mismatch_errors():
    A = CircularConvolution(uniform_psf(3), (8, 8))
    with pytest.raises(ValueError, match=r"x has shape \(8, 7\).*expects x of shape \(8, 8\)"):
        A(np.zeros((8, 7)))
    with pytest.raises(ValueError, match=r"y has shape"):
        MatrixOperator(np.ones((3, 4))).adjoint(np.zeros(4))
    with pytest.raises(ValueError, match=r"rhs has shape"):
        Mask(np.ones((2, 2), bool)).solve_normal(np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="cannot compose"):
        Mask(np.ones(3, bool)) @ Mask(np.ones(4, bool))
    with pytest.raises(ValueError, match="psf"):
        CircularConvolution(np.ones((5, 5)), (4, 8))
    with pytest.raises(ValueError, match="mask"):
        Mask(np.array([0.0, 0.5]))
    with pytest.raises(ValueError, match="input_shape"):
        MatrixOperator(np.ones((3, 4)), (3, 3))
    with pytest.raises(ValueError, match="rho"):
        Mask(np.ones(3, bool)).solve_normal(np.zeros(3), -1.0)
    with pytest.raises(NotImplementedError, match="CG"):
        (Mask(np.ones(3, bool)) @ Mask(np.ones(3, bool))).solve_normal(np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="NaN"):
        MatrixOperator(np.array([[np.nan, 1.0]]))
    with pytest.raises(TypeError, match="must be numeric"):
        Mask(np.ones(2, bool))(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="x must be an array, got list"):
        Mask(np.ones(2, bool))([1.0, 0.0])
    with pytest.raises(TypeError, match="y must be an array, got str"):
        MatrixOperator(np.ones((3, 4))).adjoint("abc")


def test_real_only_operator_rejects_complex():
    class RealOnly(MatrixOperator):
        real_only = True

    op = RealOnly(np.eye(2))
    with pytest.raises(TypeError, match="x is complex"):
        op(np.ones(2, dtype=complex))


def test_base_class_is_abstract():
    op = LinearOperator((2,), (2,))
    with pytest.raises(NotImplementedError):
        op(np.zeros(2))
