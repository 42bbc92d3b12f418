"""Tests of the near-field MIMO operator: dense-matrix agreement, dot test, namespaces, dtypes, bad input."""

import math

import numpy as np
import pytest

from optlib._backend import device
from optlib.linop import NearFieldMIMO, check_adjoint
from tests.conftest import to_numpy

C0 = 299_792_458.0


def _geometry():
    tx = np.array([[-0.1, 0.0, 0.0], [0.02, 0.01, 0.0], [0.1, -0.03, 0.01]])
    rx = np.array([[0.0, -0.12, 0.0], [0.01, 0.0, 0.0], [-0.02, 0.05, 0.0], [0.03, 0.11, -0.01]])
    freqs = np.array([4e9, 7.5e9, 12e9, 16e9])
    coords = (np.linspace(-0.1, 0.1, 3), np.linspace(-0.08, 0.1, 4), np.linspace(0.4, 0.6, 5))
    return freqs, tx, rx, coords


def _operator(**kwargs):
    freqs, tx, rx, coords = _geometry()
    return NearFieldMIMO(freqs, tx, rx, *coords, **kwargs)


def _dense_by_loops():
    """The Born matrix written entry by entry from the formula (independent of the operator's code)."""
    freqs, tx, rx, (xs, ys, zs) = _geometry()
    rows = []
    for f in freqs:
        k = 2 * math.pi * f / C0
        for t in tx:
            for r in rx:
                row = []
                for vx in xs:
                    for vy in ys:
                        for vz in zs:
                            v = np.array([vx, vy, vz])
                            rt, rr = np.linalg.norm(v - t), np.linalg.norm(v - r)
                            row.append(np.exp(-1j * k * (rt + rr)) / (4 * math.pi * rt * rr))
                rows.append(row)
    return np.array(rows)


def _random_complex(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


@pytest.mark.parametrize("chunk_size", [None, 1, 3])
@pytest.mark.parametrize("cache", [True, False])
def test_matches_dense_matrix(chunk_size, cache):
    op = _operator(chunk_size=chunk_size, cache=cache)
    dense = _dense_by_loops()
    x = _random_complex(op.input_shape)
    y = _random_complex(op.output_shape, seed=1)
    for _ in range(2):  # the second pass uses the cached factors
        np.testing.assert_allclose(op(x).ravel(), dense @ x.ravel(), rtol=1e-12, atol=1e-12 * np.abs(dense).max())
        np.testing.assert_allclose(op.adjoint(y).ravel(), dense.conj().T @ y.ravel(), rtol=1e-12,
                                   atol=1e-12 * np.abs(dense).max())
    np.testing.assert_allclose(op.todense(), dense, rtol=1e-12)
    assert op.output_shape == (4, 3, 4) and op.input_shape == (3, 4, 5)


def test_real_input_gives_complex_output():
    op = _operator()
    x = np.random.default_rng(0).standard_normal(op.input_shape)
    y = op(x)
    assert y.dtype == np.complex128
    np.testing.assert_allclose(y.ravel(), _dense_by_loops() @ x.ravel(), rtol=1e-12)
    assert op(x.astype(np.float32)).dtype == np.complex64
    np.testing.assert_array_equal(x, np.random.default_rng(0).standard_normal(op.input_shape))  # not modified


def test_dot_test():
    op = _operator(chunk_size=2)
    assert check_adjoint(op, random_state=0) < 1e-13
    assert check_adjoint(op, random_state=1, like=np.zeros(1, np.complex64)) < 1e-5


def test_namespace_device_and_precision(xp):
    op = _operator(chunk_size=3)
    x_host = _random_complex(op.input_shape)
    y_host = _random_complex(op.output_shape, seed=1)
    dense = _dense_by_loops()
    for dtype, rtol in ((xp.complex128, 1e-12), (xp.complex64, 1e-4)):
        x = xp.astype(xp.asarray(x_host), dtype)
        y = xp.astype(xp.asarray(y_host), dtype)
        ax, ahy = op(x), op.adjoint(y)
        for out, shape in ((ax, op.output_shape), (ahy, op.input_shape)):
            assert out.dtype == dtype
            assert device(out) == device(x)
            assert tuple(out.shape) == shape
        scale = np.abs(dense).max() * 10
        np.testing.assert_allclose(to_numpy(ax).ravel(), dense @ x_host.ravel(), rtol=rtol, atol=rtol * scale)
        np.testing.assert_allclose(to_numpy(ahy).ravel(), dense.conj().T @ y_host.ravel(), rtol=rtol,
                                   atol=rtol * scale)
        assert check_adjoint(op, random_state=0, like=x) < 10 * rtol


def test_backpropagate_weights():
    """Unit weights give sum exp(+j k (R_t + R_r)) y; the adjoint's weights give the adjoint."""
    op = _operator(chunk_size=3)
    y = _random_complex(op.output_shape)
    dense = _dense_by_loops()
    phases = dense / np.abs(dense)  # exp(-j k (R_t + R_r))
    unit = op.backpropagate(y, lambda xp, k, d, c: 1.0, lambda xp, k, d, c: 1.0)
    np.testing.assert_allclose(unit.ravel(), phases.conj().T @ y.ravel(), rtol=1e-12)
    adjoint = op.backpropagate(y, lambda xp, k, d, c: 1 / (4 * math.pi * d), lambda xp, k, d, c: 1 / d)
    np.testing.assert_allclose(adjoint, op.adjoint(y), rtol=1e-12)
    # cos_theta is the cosine to the +z normal: z_voxel / R for antennas in the plane z = 0
    freqs, tx, rx, coords = _geometry()
    flat = NearFieldMIMO(freqs[:1], tx[:1] * [1, 1, 0], rx[:1] * [1, 1, 0], *coords)
    cos = flat.backpropagate(np.ones(flat.output_shape), lambda xp, k, d, c: c, lambda xp, k, d, c: 1.0)
    dist = np.linalg.norm(flat.voxels - tx[0] * [1, 1, 0], axis=1)
    np.testing.assert_allclose(np.abs(cos).ravel(), flat.voxels[:, 2] / dist, rtol=1e-12)


def test_todense_refuses_large():
    op = _operator()
    with pytest.raises(ValueError, match="max_bytes"):
        op.todense(max_bytes=1000)


def test_bad_input():
    freqs, tx, rx, coords = _geometry()
    op = NearFieldMIMO(freqs, tx, rx, *coords)
    with pytest.raises(ValueError, match="x has shape"):
        op(np.zeros((3, 4, 6)))
    with pytest.raises(ValueError, match="y has shape"):
        op.adjoint(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="frequencies"):
        NearFieldMIMO(-freqs, tx, rx, *coords)
    with pytest.raises(ValueError, match="tx_positions"):
        NearFieldMIMO(freqs, tx[:, :2], rx, *coords)
    with pytest.raises(ValueError, match="rx_positions"):
        NearFieldMIMO(freqs, tx, rx[0], *coords)
    with pytest.raises(ValueError, match="z_coords"):
        NearFieldMIMO(freqs, tx, rx, coords[0], coords[1], np.array([]))
    with pytest.raises(ValueError, match="chunk_size"):
        NearFieldMIMO(freqs, tx, rx, *coords, chunk_size=0)
    with pytest.raises(TypeError, match="cache"):
        NearFieldMIMO(freqs, tx, rx, *coords, cache="yes")
    with pytest.raises(ValueError, match="singular"):
        NearFieldMIMO(freqs, tx, rx, np.array([-0.1]), np.array([0.0]), np.array([0.0]))
