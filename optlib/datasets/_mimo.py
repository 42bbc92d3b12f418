"""Simulated near-field MIMO radar imaging problems (Oral and Oktem, IEEE TCI 2024 setup)."""

import math
import numbers

import numpy as np
from scipy.ndimage import gaussian_filter
from sklearn.utils import Bunch

from .._validation import check_random_state, check_scalar
from ..linop._mimo import NearFieldMIMO

__all__ = ["make_nearfield_mimo"]

_SCENES = ("blobs", "shapes", "points")
_LAYOUTS = ("diagonal", "cross")
_SHAPES = ("rectangle", "disc", "ring", "cross", "letter_L", "letter_T")
_BLOB_BORDER = 0.7  # std (voxels) of the Gaussian that softens the blobs' borders


def _check_range(value, name, lower=None):
    """``(lo, hi)`` with finite ``lo < hi`` (``lo >= lower`` if given)."""
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a pair (min, max), got {value!r}.") from None
    lo = check_scalar(lo, f"{name}[0]", lower=lower)
    hi = check_scalar(hi, f"{name}[1]")
    if not hi > lo:
        raise ValueError(f"{name} must satisfy min < max, got {value!r}.")
    return lo, hi


def _shape_mask(kind, n_x, n_y, rng):
    """Boolean ``(n_x, n_y)`` mask of one planar shape of random size and position."""
    u = (np.arange(n_x) + 0.5) / n_x
    v = (np.arange(n_y) + 0.5) / n_y
    u, v = np.meshgrid(u, v, indexing="ij")
    half = rng.uniform(0.12, 0.25)  # half-size, fraction of the lateral extent
    cu, cv = rng.uniform(half, 1.0 - half, size=2)
    du, dv = u - cu, v - cv
    bar = max(0.4 * half, 1.0 / min(n_x, n_y))  # stroke width, at least one voxel
    box = (np.abs(du) <= half) & (np.abs(dv) <= half)
    if kind == "rectangle":
        return (np.abs(du) <= half) & (np.abs(dv) <= 0.6 * half)
    if kind == "disc":
        return du**2 + dv**2 <= half**2
    if kind == "ring":
        r2 = du**2 + dv**2
        return (r2 <= half**2) & (r2 >= (half - bar) ** 2)
    if kind == "cross":
        return box & ((np.abs(du) <= bar / 2) | (np.abs(dv) <= bar / 2))
    if kind == "letter_L":
        return box & ((du <= -half + bar) | (dv <= -half + bar))
    return box & ((dv >= half - bar) | (np.abs(du) <= bar / 2))  # letter_T


def _blobs(coords, n_targets, rng):
    """Magnitude of ``n_targets`` solid ellipsoids with soft borders on the grid ``coords`` (x, y, z)."""
    points = np.stack(np.meshgrid(*coords, indexing="ij"), axis=-1)
    extent = np.array([c[-1] - c[0] if c.size > 1 else 1.0 for c in coords])
    mag = np.zeros(points.shape[:3])
    for _ in range(n_targets):
        semi = extent * np.array([rng.uniform(0.1, 0.2), rng.uniform(0.1, 0.2), rng.uniform(0.05, 0.12)])
        rotation, _ = np.linalg.qr(rng.standard_normal((3, 3)))  # random orientation
        low = np.array([c[0] for c in coords]) + semi
        high = np.array([c[-1] for c in coords]) - semi
        centre = rng.uniform(np.minimum(low, high), np.maximum(low, high))
        local = ((points - centre) @ rotation) / semi
        inside = np.sum(local * local, axis=-1) <= 1.0
        if not inside.any():  # smaller than a voxel: keep the voxel nearest the centre
            inside.flat[np.argmin(np.sum((points - centre) ** 2, axis=-1))] = True
        mag = np.maximum(mag, np.where(inside, rng.uniform(0.5, 1.0), 0.0))
    return gaussian_filter(mag, _BLOB_BORDER, mode="constant")


def _scene(scene, coords, n_targets, thickness, random_phase, rng):
    """Complex reflectivity on the grid ``coords`` (x, y, z) with ``max |x| = 1``."""
    grid_shape = tuple(c.size for c in coords)
    n_x, n_y, n_z = grid_shape
    mag = np.zeros(grid_shape)
    if scene == "blobs":
        mag = _blobs(coords, n_targets, rng)
    elif scene == "points":
        flat = rng.choice(mag.size, size=min(n_targets, mag.size), replace=False)
        mag.flat[flat] = rng.uniform(0.5, 1.0, size=flat.size)
    else:
        n = min(n_targets, n_z)
        depths = [thickness] * n if thickness is not None else rng.integers(2, max(2, n_z // 8) + 1, size=n)
        starts = rng.choice(n_z, size=n, replace=False)  # distinct first slices
        for z0, depth in zip(starts, depths):
            mask = _shape_mask(_SHAPES[rng.integers(len(_SHAPES))], n_x, n_y, rng)
            if not mask.any():  # a grid too small for the stroke: keep its centre voxel
                mask[n_x // 2, n_y // 2] = True
            depth = min(int(depth), n_z)
            z0 = min(int(z0), n_z - depth)  # the slab ends inside the grid
            slab = mag[:, :, z0:z0 + depth]
            slab[...] = np.maximum(slab, np.where(mask, rng.uniform(0.5, 1.0), 0.0)[:, :, None])
    mag /= mag.max()
    phase = rng.uniform(0.0, 2.0 * math.pi, size=grid_shape) if random_phase else np.zeros(grid_shape)
    return mag * np.exp(1j * phase)


def _array_positions(layout, n_tx, n_rx, aperture):
    """Transmitter and receiver positions ``(n, 3)`` in the plane ``z = 0``."""
    half = aperture / 2.0
    t = np.linspace(-half, half, n_tx) if n_tx > 1 else np.zeros(1)
    r = np.linspace(-half, half, n_rx) if n_rx > 1 else np.zeros(1)
    tx_positions = np.zeros((n_tx, 3))
    rx_positions = np.zeros((n_rx, 3))
    if layout == "diagonal":  # Tx from (-h, +h) to (+h, -h), Rx from (-h, -h) to (+h, +h)
        tx_positions[:, 0], tx_positions[:, 1] = t, -t
        rx_positions[:, 0], rx_positions[:, 1] = r, r
    else:  # cross: Tx on the x-axis, Rx on the y-axis
        tx_positions[:, 0] = t
        rx_positions[:, 1] = r
    return tx_positions, rx_positions


def make_nearfield_mimo(
    *,
    grid_shape=(25, 25, 49),
    n_tx=12,
    n_rx=13,
    aperture=0.3,
    frequency_range=(4e9, 16e9),
    n_frequencies=20,
    x_range=(-0.15, 0.15),
    y_range=(-0.15, 0.15),
    z_range=(0.35, 0.65),
    array_layout="diagonal",
    scene="blobs",
    n_targets=3,
    thickness=None,
    random_phase=True,
    snr_db=30.0,
    dtype=np.complex128,
    cache=True,
    random_state=None,
):
    """A simulated 3-D near-field MIMO radar imaging problem.

    The setup of Oral and Oktem (IEEE TCI 2024): ``n_tx`` transmitters and
    ``n_rx`` receivers on a square ``aperture`` in the plane ``z = 0``,
    stepped frequencies ``frequency_range``, and a voxel grid
    ``grid_shape`` over ``x_range x y_range x z_range`` (metres). The default
    ``array_layout="diagonal"`` is the authors' array (their code,
    METU-SPACE-Lab/PnP-Regularization-on-Magnitude): transmitters evenly
    spaced on the diagonal from ``(-a/2, a/2)`` to ``(a/2, -a/2)`` and
    receivers on the other diagonal, from ``(-a/2, -a/2)`` to ``(a/2, a/2)``
    (``a`` the aperture). The transmitter-receiver midpoints (the virtual
    monostatic array) then form a ``n_tx x n_rx`` grid rotated by 45 degrees
    filling the square aperture's inscribed diamond, of area ``a^2 / 2``.
    ``array_layout="cross"`` is a Mills cross (transmitters on the x-axis,
    receivers on the y-axis): its virtual array is an axis-aligned grid of
    side ``a / 2``, half the area of the diagonal layout's. Measurements
    follow the Born approximation of :class:`optlib.linop.NearFieldMIMO`
    plus circular complex white Gaussian noise at ``snr_db``::

        y = A x + n,  n ~ CN(0, sigma^2 I),  sigma^2 = ||A x||^2 / (M 10^(snr_db / 10)),

    ``M = n_frequencies n_tx n_rx``. The data-fidelity radius of C-SALSA is
    ``eps = sqrt(sigma^2 M)``, the expected noise norm.

    Scenes. ``"blobs"`` (default): ``n_targets`` solid 3-D extended
    targets, the kind of scene of the paper's simulations. Source: the
    ground truth the authors show (``images/SimulatedTop.png`` of
    METU-SPACE-Lab/PnP-Regularization-on-Magnitude, "Synthetically Generated
    Ground Truth"): compact solid blobs a few centimetres across and deep,
    of near-constant magnitude, whose borders fade over one or two voxels.
    Their test scenes come from the synthesizer of Manisali, Oral and
    Oktem (DSP 2024), whose recipe is not in the authors' code, so the one
    here is ours: an ellipsoid of random orientation with semi-axes drawn in
    [0.1, 0.2] of the lateral extents and [0.05, 0.12] of the depth extent
    (6 to 12 cm across and 3 to 7 cm deep on the paper's grid), at a
    random position inside the grid, of constant magnitude in [0.5, 1]
    (the larger where targets overlap), the volume then smoothed by a
    Gaussian of standard deviation 0.7 voxel (the soft border).
    ``"shapes"``: a planar shape (rectangle, disc, ring, cross, letters L
    and T; random size and lateral position) extruded in depth over
    ``thickness`` consecutive voxels (random in ``[2, max(2, n_z // 8)]``
    by default), at a random depth, with a constant magnitude in [0.5, 1];
    thin strokes and hard edges. ``scene="shapes", array_layout="cross",
    thickness=1`` gives the scenes and data of optlib before 2026-12
    (planar targets one voxel thick, each on its own depth slice), and
    ``scene="shapes"`` alone the defaults of early 2026-12.
    ``"points"``: ``n_targets`` point scatterers (single voxels) of
    magnitude in [0.5, 1]. The magnitude is scaled to a maximum of 1; the
    phase of every voxel is uniform on [0, 2 pi) with ``random_phase``
    (rough surfaces: the regime where one regularises the magnitude, not
    the complex values; Manisali et al. and Oral and Oktem note that scene
    reflectivities often have random phase), 0 otherwise.

    Parameters
    ----------
    grid_shape : tuple of 3 int
        Voxels along x, y, z (``25 x 25 x 49`` in the paper; small grids make
        fast tests).
    n_tx, n_rx : int
        Number of transmitters (12) and receivers (13).
    aperture : float
        Side of the array in metres (0.3).
    frequency_range : (float, float)
        Lowest and highest frequency in Hz (4 and 16 GHz).
    n_frequencies : int
        Number of evenly spaced frequencies (the paper uses 10 to 20).
    x_range, y_range, z_range : (float, float)
        Extent of the voxel grid in metres (voxel centres at the ends);
        ``z_range`` must lie in front of the array (``z > 0``).
    array_layout : {"diagonal", "cross"}
        Transmitters and receivers on the two diagonals of the aperture (the
        authors' layout, default) or on the x- and y-axes.
    scene : {"blobs", "shapes", "points"}
        Kind of targets (see Scenes above).
    n_targets : int
        Number of shapes or points.
    thickness : int or None
        Extent in depth (voxels) of every shape; ``None`` (default) draws it
        per shape in ``[2, max(2, n_z // 8)]``. Used by ``"shapes"`` only.
    random_phase : bool
        Uniform random phase per voxel (default) or zero phase.
    snr_db : float or None
        Signal-to-noise ratio in dB; ``None`` for noiseless data.
    dtype : {numpy.complex128, numpy.complex64}
        Dtype of ``y`` and ``x_true``.
    cache : bool
        Passed to :class:`~optlib.linop.NearFieldMIMO` (keep the per-frequency
        factors between applications).
    random_state : None, int or numpy.random.Generator
        Seed of the scene and the noise.

    Returns
    -------
    Bunch
        ``y`` (measurements, ``(n_frequencies, n_tx, n_rx)``), ``y_clean``
        (``A x_true``), ``x_true`` (reflectivity, ``grid_shape``),
        ``operator`` (the :class:`~optlib.linop.NearFieldMIMO`), ``geometry``
        (a Bunch of ``frequencies``, ``tx_positions``, ``rx_positions``,
        ``x_coords``, ``y_coords``, ``z_coords``), ``noise_std`` (``sigma``),
        ``eps`` (``sqrt(sigma^2 M)``) and ``snr_db``. NumPy arrays; the
        operator applies to arrays of any namespace and device.
    """
    try:
        dims = tuple(grid_shape)
    except TypeError:
        raise TypeError(f"grid_shape must be a tuple of 3 ints, got {grid_shape!r}.") from None
    if len(dims) != 3:
        raise ValueError(f"grid_shape must have 3 entries (n_x, n_y, n_z), got {grid_shape!r}.")
    n_x, n_y, n_z = (check_scalar(s, f"grid_shape[{i}]", kind=numbers.Integral, lower=1) for i, s in enumerate(dims))
    n_tx = check_scalar(n_tx, "n_tx", kind=numbers.Integral, lower=1)
    n_rx = check_scalar(n_rx, "n_rx", kind=numbers.Integral, lower=1)
    n_frequencies = check_scalar(n_frequencies, "n_frequencies", kind=numbers.Integral, lower=1)
    n_targets = check_scalar(n_targets, "n_targets", kind=numbers.Integral, lower=1)
    aperture = check_scalar(aperture, "aperture", lower=0.0, lower_inclusive=False)
    f_lo, f_hi = _check_range(frequency_range, "frequency_range", lower=0.0)
    if f_lo <= 0:
        raise ValueError(f"frequency_range must be positive, got {frequency_range!r}.")
    x_range = _check_range(x_range, "x_range")
    y_range = _check_range(y_range, "y_range")
    z_range = _check_range(z_range, "z_range")
    if z_range[0] <= 0:
        raise ValueError(f"z_range must lie in front of the array (z > 0), got {z_range!r}.")
    if array_layout not in _LAYOUTS:
        raise ValueError(
            f"Unknown array_layout {array_layout!r}; expected one of {', '.join(map(repr, _LAYOUTS))}."
        )
    if thickness is not None:
        thickness = check_scalar(thickness, "thickness", kind=numbers.Integral, lower=1)
    if scene not in _SCENES:
        raise ValueError(f"Unknown scene {scene!r}; expected one of {', '.join(map(repr, _SCENES))}.")
    if not isinstance(random_phase, bool):
        raise TypeError(f"random_phase must be a bool, got {random_phase!r}.")
    if snr_db is not None:
        snr_db = check_scalar(snr_db, "snr_db")
    dtype = np.dtype(dtype)
    if dtype not in (np.complex64, np.complex128):
        raise ValueError(f"dtype must be complex64 or complex128, got {dtype}.")
    rng = check_random_state(random_state)

    frequencies = np.linspace(f_lo, f_hi, n_frequencies)
    tx_positions, rx_positions = _array_positions(array_layout, n_tx, n_rx, aperture)
    coords = [np.linspace(lo, hi, n) if n > 1 else np.array([(lo + hi) / 2.0])
              for (lo, hi), n in ((x_range, n_x), (y_range, n_y), (z_range, n_z))]
    operator = NearFieldMIMO(frequencies, tx_positions, rx_positions, *coords, cache=cache)

    x_true = _scene(scene, coords, n_targets, thickness, random_phase, rng)
    y_clean = operator.forward(x_true)
    m = y_clean.size
    if snr_db is None:
        sigma = 0.0
        y = y_clean
    else:
        sigma = math.sqrt(float(np.vdot(y_clean, y_clean).real) / (m * 10.0 ** (snr_db / 10.0)))
        noise = rng.standard_normal(y_clean.shape) + 1j * rng.standard_normal(y_clean.shape)
        y = y_clean + sigma / math.sqrt(2.0) * noise
    geometry = Bunch(frequencies=frequencies, tx_positions=tx_positions, rx_positions=rx_positions,
                     x_coords=coords[0], y_coords=coords[1], z_coords=coords[2])
    return Bunch(
        y=y.astype(dtype), y_clean=y_clean.astype(dtype), x_true=x_true.astype(dtype), operator=operator,
        geometry=geometry, noise_std=sigma, eps=sigma * math.sqrt(m), snr_db=snr_db,
    )
