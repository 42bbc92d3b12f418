"""Tests of make_nearfield_mimo: geometry, scenes, noise level, reproducibility, bad input."""

import math

import numpy as np
import pytest
from scipy.spatial import ConvexHull

from optlib.datasets import make_nearfield_mimo
from optlib.linop import NearFieldMIMO

SMALL = {"grid_shape": (7, 6, 5), "n_tx": 4, "n_rx": 5, "n_frequencies": 6}


def test_default_geometry_is_the_papers():
    d = make_nearfield_mimo(grid_shape=(5, 5, 7), random_state=0)  # spec array and band, small grid
    g = d.geometry
    assert g.tx_positions.shape == (12, 3) and g.rx_positions.shape == (13, 3)
    # the authors' layout: Tx on the diagonal (-h, h) -> (h, -h), Rx on (-h, -h) -> (h, h)
    np.testing.assert_allclose(g.tx_positions[[0, -1]], [[-0.15, 0.15, 0.0], [0.15, -0.15, 0.0]])
    np.testing.assert_allclose(g.rx_positions[[0, -1]], [[-0.15, -0.15, 0.0], [0.15, 0.15, 0.0]])
    np.testing.assert_allclose(g.tx_positions[:, 0], -g.tx_positions[:, 1])
    np.testing.assert_allclose(g.rx_positions[:, 0], g.rx_positions[:, 1])
    np.testing.assert_allclose(g.frequencies[[0, -1]], [4e9, 16e9])
    assert g.frequencies.size == 20
    np.testing.assert_allclose(g.z_coords[[0, -1]], [0.35, 0.65])
    np.testing.assert_allclose(g.x_coords[[0, -1]], [-0.15, 0.15])
    assert d.y.shape == (20, 12, 13) and d.x_true.shape == (5, 5, 7)
    assert isinstance(d.operator, NearFieldMIMO) and d.operator.input_shape == (5, 5, 7)


def _virtual_area(geometry):
    """Area of the convex hull of the Tx-Rx midpoints (the virtual monostatic array)."""
    mid = (geometry.tx_positions[:, None, :2] + geometry.rx_positions[None, :, :2]) / 2
    return ConvexHull(mid.reshape(-1, 2)).volume


def test_array_layouts():
    diagonal = make_nearfield_mimo(**SMALL, random_state=0).geometry
    cross = make_nearfield_mimo(**SMALL, array_layout="cross", random_state=0).geometry
    np.testing.assert_allclose(cross.tx_positions[:, 1:], 0.0)
    np.testing.assert_allclose(cross.rx_positions[:, [0, 2]], 0.0)
    np.testing.assert_allclose(cross.tx_positions[[0, -1], 0], [-0.15, 0.15])
    assert _virtual_area(diagonal) == pytest.approx(0.3**2 / 2)  # inscribed diamond
    assert _virtual_area(cross) == pytest.approx(0.15**2)  # half of it


def test_shapes_extend_in_depth():
    n_z = 49
    for seed in range(5):
        mag = np.abs(make_nearfield_mimo(grid_shape=(9, 9, n_z), n_tx=2, n_rx=2, n_frequencies=2, scene="shapes",
                                         snr_db=None, random_state=seed).x_true)
        occupied = mag.sum(axis=(0, 1)) > 0
        edges = np.flatnonzero(np.diff(np.concatenate([[0], occupied.astype(int), [0]])))
        runs = edges[1::2] - edges[::2]  # lengths of the runs of occupied slices
        assert runs.min() >= 2 and runs.sum() <= 3 * (n_z // 8)  # 3 targets, each 2 to 6 slices thick
    mag = np.abs(make_nearfield_mimo(**SMALL, scene="shapes", thickness=4, n_targets=1, snr_db=None,
                                     random_state=2).x_true)
    assert np.count_nonzero(mag.sum(axis=(0, 1))) == 4
    footprint = mag.max(axis=2) > 0
    assert all(np.array_equal(mag[:, :, z] > 0, footprint) for z in np.flatnonzero(mag.sum(axis=(0, 1))))


@pytest.mark.parametrize("scene", ["shapes", "points"])
def test_scene_and_measurements(scene):
    d = make_nearfield_mimo(**SMALL, scene=scene, n_targets=3, snr_db=None, random_state=1)
    mag = np.abs(d.x_true)
    assert mag.max() == pytest.approx(1.0)
    assert mag[mag > 0].min() >= 0.5 - 1e-12
    if scene == "points":
        assert np.count_nonzero(mag) == 3
    else:
        assert np.count_nonzero(mag.sum(axis=(0, 1))) >= 2  # 3 slabs 2 slices thick on 5 slices
        legacy = np.abs(make_nearfield_mimo(**SMALL, scene="shapes", thickness=1, snr_db=None,
                                            random_state=1).x_true)
        assert np.count_nonzero(legacy.sum(axis=(0, 1))) == 3  # one planar shape per depth slice
    np.testing.assert_allclose(d.y, d.operator(d.x_true), rtol=1e-12)
    assert d.noise_std == 0.0 and d.eps == 0.0


def test_default_scene_is_solid_blobs_with_soft_borders():
    """Default ``scene="blobs"``: solid ellipsoids, several voxels in every direction, borders fading to 0."""
    d = make_nearfield_mimo(grid_shape=(25, 25, 49), n_tx=2, n_rx=2, n_frequencies=2, n_targets=1, snr_db=None,
                            random_state=0)
    mag = np.abs(d.x_true)
    assert mag.max() == pytest.approx(1.0)
    core = mag >= 0.5  # the ellipsoid, its border at half height
    g = d.geometry
    for axis, coords in enumerate((g.x_coords, g.y_coords, g.z_coords)):
        idx = np.flatnonzero(core.any(axis=tuple(a for a in range(3) if a != axis)))
        extent = coords[idx[-1]] - coords[idx[0]] + (coords[1] - coords[0])
        # a rotated ellipsoid spans between its shortest and longest diameters: 3 and 12 cm (+/- a voxel)
        assert 0.03 - 0.0125 <= extent <= 0.12 + 0.0125
    assert core.sum() >= 100  # solid: a volume, not a surface (measured 575 voxels)
    border = (mag > 0.01) & (mag < 0.5)
    assert border.sum() >= 0.5 * core.sum()  # a soft border about a voxel thick all around
    # Gaussian border: the magnitude falls through 0.5 over about a voxel, no hard edge
    assert np.abs(np.diff(mag, axis=2)).max() < 0.6
    assert np.abs(np.diff(np.abs(make_nearfield_mimo(**SMALL, scene="shapes", snr_db=None, random_state=0).x_true),
                          axis=0)).max() >= 0.5  # the extruded shapes have hard edges


def test_blob_phase_is_random_per_voxel():
    d = make_nearfield_mimo(**SMALL, snr_db=None, random_state=4)
    phase = np.angle(d.x_true[np.abs(d.x_true) > 0.1])
    assert np.abs(np.mean(np.exp(1j * phase))) < 0.2  # uniform phases: the mean phasor nearly vanishes


def test_phase():
    random = make_nearfield_mimo(**SMALL, random_state=0).x_true
    flat = make_nearfield_mimo(**SMALL, random_phase=False, random_state=0).x_true
    support = np.abs(flat) > 0
    assert np.all(flat.imag == 0) and np.all(flat.real >= 0)
    assert np.std(np.angle(random[support])) > 1.0  # uniform phase: std ~ 1.8


def test_noise_level_and_eps():
    m = 6 * 4 * 5
    norms = []
    for seed in range(20):
        d = make_nearfield_mimo(**SMALL, snr_db=30.0, random_state=seed)
        signal = np.vdot(d.y_clean, d.y_clean).real
        assert d.noise_std == pytest.approx(math.sqrt(signal / (m * 1e3)))
        assert d.eps == pytest.approx(d.noise_std * math.sqrt(m))
        norms.append(np.linalg.norm(d.y - d.y_clean) / d.eps)
    assert np.mean(norms) == pytest.approx(1.0, abs=0.03)  # E||n|| ~ eps


def test_reproducible_and_dtype():
    a = make_nearfield_mimo(**SMALL, random_state=3)
    b = make_nearfield_mimo(**SMALL, random_state=3)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.x_true, b.x_true)
    c = make_nearfield_mimo(**SMALL, dtype=np.complex64, random_state=3)
    assert c.y.dtype == np.complex64 and c.x_true.dtype == np.complex64
    np.testing.assert_allclose(c.y, a.y, rtol=1e-5, atol=1e-6 * np.abs(a.y).max())


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"grid_shape": (4, 4)}, ValueError, "grid_shape"),
        ({"grid_shape": (4, -1, 4)}, ValueError, r"grid_shape\[1\]"),
        ({"grid_shape": 4}, TypeError, "grid_shape"),
        ({"n_tx": 0}, ValueError, "n_tx"),
        ({"n_rx": -2}, ValueError, "n_rx"),
        ({"n_frequencies": 0}, ValueError, "n_frequencies"),
        ({"n_targets": 0}, ValueError, "n_targets"),
        ({"aperture": -0.3}, ValueError, "aperture"),
        ({"frequency_range": (16e9, 4e9)}, ValueError, "frequency_range"),
        ({"frequency_range": (0.0, 4e9)}, ValueError, "frequency_range"),
        ({"z_range": (-0.1, 0.5)}, ValueError, "z_range"),
        ({"x_range": 0.3}, TypeError, "x_range"),
        ({"snr_db": float("nan")}, ValueError, "snr_db"),
        ({"snr_db": "30"}, TypeError, "snr_db"),
        ({"scene": "letters"}, ValueError, "scene"),
        ({"dtype": np.float64}, ValueError, "dtype"),
        ({"random_phase": 1}, TypeError, "random_phase"),
        ({"array_layout": "grid"}, ValueError, "array_layout"),
        ({"thickness": 0}, ValueError, "thickness"),
        ({"thickness": 2.5}, TypeError, "thickness"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_nearfield_mimo(**{**SMALL, **kwargs})
