"""Near-field MIMO radar imaging operator (Born approximation), matrix-free.

A multistatic array of transmitters ``t`` and receivers ``r`` measures, at
wavenumbers ``k = 2 pi f / c``, the field scattered by a 3-D reflectivity
``x`` on a voxel grid::

    y[k, t, r] = sum_n  exp(-j k (R_t(n) + R_r(n))) / (4 pi R_t(n) R_r(n))  x[n],

``R_t(n)``, ``R_r(n)`` the distances from transmitter ``t`` and receiver
``r`` to voxel ``n`` (Oral and Oktem, IEEE TCI 2024). The kernel factors into
a transmitter and a receiver part, ``A[k, t, r, n] = G_t[k, t, n] G_r[k, r, n]``
with ``G_t = exp(-j k R_t) / (4 pi R_t)`` and ``G_r = exp(-j k R_r) / R_r``,
so for each frequency ``y_k = G_t,k diag(x) G_r,k^T`` is one matrix product of
``T x N`` by ``N x R`` and the adjoint ``x = sum_k,t conj(G_t,k) * (y_k conj(G_r,k))``
another. The ``(K T R) x N`` matrix is never formed (except by
:meth:`NearFieldMIMO.todense`, on request and for small geometries).
"""

import math
import numbers

import numpy as np

from .._backend import device, get_namespace
from .._validation import check_array, check_scalar
from ._base import LinearOperator

__all__ = ["NearFieldMIMO"]

SPEED_OF_LIGHT = 299_792_458.0  # m/s
_DEFAULT_CHUNK_BYTES = 2**26  # 64 MiB of per-block temporaries
_MAX_DENSE_BYTES = 2**28  # 256 MiB: largest matrix todense() builds


def _coordinates(values, name):
    """1-D finite float64 host array of at least one coordinate."""
    return np.array(check_array(values, name, ndim=1), dtype=np.float64)


class NearFieldMIMO(LinearOperator):
    """Born-approximation forward model of a near-field MIMO radar.

    Maps a complex reflectivity volume of shape ``(n_x, n_y, n_z)`` (voxel
    centres ``x_coords x y_coords x z_coords``, metres) to the measurements
    of shape ``(n_frequencies, n_tx, n_rx)``::

        y[k, t, r] = sum_voxels exp(-j k (R_t + R_r)) / (4 pi R_t R_r) x(voxel),

    ``k = 2 pi f / c``. Matrix-free: the kernel factors into a transmitter
    and a receiver part (see the module docstring), so a forward or adjoint
    costs ``O(K T R N)`` multiply-adds in batched matrix products and
    ``O(K (T + R) N)`` complex exponentials, ``N = n_x n_y n_z``.

    Memory. Frequencies are processed in blocks of ``chunk_size``; a block
    holds its factors and one product, about ``chunk_size (2 T + R) N``
    complex numbers (the default keeps this near 64 MiB). With
    ``cache=True`` the factors of all frequencies, ``K (T + R) N`` complex
    numbers, are kept per namespace, device and precision after the first
    application (245 MB in complex128 for 20 frequencies, 12 x 13 antennas and
    25 x 25 x 49 voxels, 13 times less than the dense matrix), so later
    applications cost only the matrix products; ``cache=False`` recomputes
    them each time.

    Namespace and device follow the input: the geometry (a few distance
    tables, ``(T + R) N`` reals) is computed on the host in float64 and moved
    once, explicitly, to the input's namespace and device; the exponentials
    are evaluated there. float32 / complex64 input gives complex64 output,
    float64 / complex128 gives complex128.

    Parameters
    ----------
    frequencies : array_like, shape (K,)
        Frequencies in Hz, positive.
    tx_positions, rx_positions : array_like, shape (T, 3) and (R, 3)
        Antenna positions ``(x, y, z)`` in metres.
    x_coords, y_coords, z_coords : array_like, 1-D
        Voxel centre coordinates in metres.
    cache : bool, default True
        Keep the per-frequency factors between applications.
    chunk_size : int, optional
        Frequencies per block; by default as many as fit in 64 MiB of
        temporaries (at least one).

    Attributes
    ----------
    wavenumbers : ndarray, shape (K,)
        ``2 pi f / c`` (host, float64).
    voxels : ndarray, shape (N, 3)
        Voxel centres in C order of ``(n_x, n_y, n_z)`` (host, float64).
    """

    def __init__(self, frequencies, tx_positions, rx_positions, x_coords, y_coords, z_coords, *, cache=True,
                 chunk_size=None):
        freqs = _coordinates(frequencies, "frequencies")
        if np.any(freqs <= 0):
            raise ValueError("frequencies must be positive (Hz).")
        tx = np.array(check_array(tx_positions, "tx_positions", ndim=2), dtype=np.float64)
        rx = np.array(check_array(rx_positions, "rx_positions", ndim=2), dtype=np.float64)
        for arr, name in ((tx, "tx_positions"), (rx, "rx_positions")):
            if arr.shape[1] != 3:
                raise ValueError(f"{name} must have shape (n, 3), got {arr.shape}.")
        axes = [_coordinates(c, n) for c, n in ((x_coords, "x_coords"), (y_coords, "y_coords"),
                                                (z_coords, "z_coords"))]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
        dist_tx = np.linalg.norm(grid[None, :, :] - tx[:, None, :], axis=-1)
        dist_rx = np.linalg.norm(grid[None, :, :] - rx[:, None, :], axis=-1)
        if dist_tx.min() <= 0 or dist_rx.min() <= 0:
            raise ValueError("an antenna lies on a voxel centre: the Green's function is singular there.")
        if not isinstance(cache, bool):
            raise TypeError(f"cache must be a bool, got {cache!r}.")
        n_vox = grid.shape[0]
        if chunk_size is None:
            per_frequency = (2 * tx.shape[0] + rx.shape[0]) * n_vox * 16
            chunk_size = max(1, _DEFAULT_CHUNK_BYTES // per_frequency)
        chunk_size = check_scalar(chunk_size, "chunk_size", kind=numbers.Integral, lower=1)

        super().__init__(tuple(a.size for a in axes), (freqs.size, tx.shape[0], rx.shape[0]), np.complex128)
        self.frequencies = freqs
        self.tx_positions = tx
        self.rx_positions = rx
        self.x_coords, self.y_coords, self.z_coords = axes
        self.voxels = grid
        self.wavenumbers = 2.0 * math.pi * freqs / SPEED_OF_LIGHT
        self.cache = cache
        self.chunk_size = min(chunk_size, freqs.size)
        self._dist_tx = dist_tx
        self._dist_rx = dist_rx

    # -- geometry on the input's namespace -----------------------------------
    def _geometry(self, like):
        """Distances ``R_t (T, N)``, ``R_r (R, N)``, wavenumbers, obliquities, in ``like``'s precision."""
        return (
            self._param("dist_tx", self._dist_tx, like, complex_=False),
            self._param("dist_rx", self._dist_rx, like, complex_=False),
            self._param("wavenumbers", self.wavenumbers, like, complex_=False),
        )

    def _blocks(self):
        return [slice(s, min(s + self.chunk_size, self.frequencies.size))
                for s in range(0, self.frequencies.size, self.chunk_size)]

    def _factors(self, like, block):
        """``G_t = exp(-j k R_t) / (4 pi R_t)`` and ``G_r = exp(-j k R_r) / R_r`` of a frequency block."""
        xp = get_namespace(like)
        key = ("factors", id(xp), str(device(like)), like.dtype in (xp.float32, xp.complex64), block.start)
        if self.cache and key in self._cache:
            return self._cache[key]
        dist_tx, dist_rx, k = self._geometry(like)
        k = k[block]
        factors = (
            _green(xp, k, dist_tx, 4.0 * math.pi * dist_tx),
            _green(xp, k, dist_rx, dist_rx),
        )
        if self.cache:
            self._cache[key] = factors
        return factors

    # -- operator ------------------------------------------------------------
    def _forward(self, x):
        xp = get_namespace(x)
        flat = xp.reshape(x, (-1,))
        out = []
        for block in self._blocks():
            g_tx, g_rx = self._factors(x, block)
            # y_k = G_t,k diag(x) G_r,k^T, batched over the block's frequencies
            out.append(xp.matmul(g_tx * xp.astype(flat, g_tx.dtype), xp.matrix_transpose(g_rx)))
        return out[0] if len(out) == 1 else xp.concat(out, axis=0)

    def _adjoint(self, y):
        xp = get_namespace(y)
        total = None
        for block in self._blocks():
            g_tx, g_rx = self._factors(y, block)
            # conj(x) = sum_k,t G_t,k * (conj(y_k) G_r,k): no conjugate of the large factors
            part = xp.sum(g_tx * xp.matmul(xp.conj(xp.astype(y[block, ...], g_tx.dtype)), g_rx), axis=(0, 1))
            total = part if total is None else total + part
        return xp.reshape(xp.conj(total), self.input_shape)

    def backpropagate(self, y, tx_weight, rx_weight):
        """Weighted back-propagation ``sum_k,t,r u[k,t,n] v[k,r,n] exp(j k (R_t + R_r)) y[k,t,r]``.

        The adjoint is the case ``u = 1 / (4 pi R_t)``, ``v = 1 / R_r``;
        imaging baselines such as Kirchhoff migration choose other weights.
        Processed by frequency blocks like the operator; nothing is cached.

        Parameters
        ----------
        y : array of shape ``output_shape``
            Measurements.
        tx_weight, rx_weight : callable
            ``weight(xp, k, dist, cos_theta)`` with ``k`` of shape ``(F, 1, 1)``
            and ``dist``, ``cos_theta`` (distance and cosine of the angle to the
            array normal ``+z``) of shape ``(n_antennas, N)``; returns an array
            broadcastable to ``(F, n_antennas, N)``, real or complex.

        Returns
        -------
        array of shape ``input_shape`` (complex, on ``y``'s namespace and device)
        """
        y = self._check(y, self.output_shape, "y")
        xp = get_namespace(y)
        dist_tx, dist_rx, k_all = self._geometry(y)
        z_vox = self._param("z_voxels", self.voxels[:, 2], y, complex_=False)
        z_tx = self._param("z_tx", self.tx_positions[:, 2:], y, complex_=False)
        z_rx = self._param("z_rx", self.rx_positions[:, 2:], y, complex_=False)
        cos_tx = (z_vox - z_tx) / dist_tx
        cos_rx = (z_vox - z_rx) / dist_rx
        total = None
        for block in self._blocks():
            k = k_all[block]
            g_tx = xp.conj(_green(xp, k, dist_tx, 1.0)) * tx_weight(xp, k[:, None, None], dist_tx, cos_tx)
            g_rx = xp.conj(_green(xp, k, dist_rx, 1.0)) * rx_weight(xp, k[:, None, None], dist_rx, cos_rx)
            yb = xp.astype(y[block, ...], xp.complex64 if y.dtype in (xp.float32, xp.complex64) else xp.complex128)
            part = xp.sum(xp.astype(g_tx, yb.dtype) * xp.matmul(yb, xp.astype(g_rx, yb.dtype)), axis=(0, 1))
            total = part if total is None else total + part
        return xp.reshape(total, self.input_shape)

    def todense(self, *, max_bytes=_MAX_DENSE_BYTES):
        """The ``(K T R) x N`` matrix as a NumPy complex128 array (small geometries only).

        Rows in C order of ``output_shape``, columns in C order of
        ``input_shape``. Raises ``ValueError`` when it would exceed
        ``max_bytes`` (256 MiB by default).
        """
        m, n = math.prod(self.output_shape), math.prod(self.input_shape)
        if m * n * 16 > max_bytes:
            raise ValueError(
                f"the dense matrix would take {m * n * 16 / 2**20:.0f} MiB (> max_bytes={max_bytes}); "
                "use the matrix-free operator."
            )
        k = self.wavenumbers[:, None, None, None]
        total = self._dist_tx[None, :, None, :] + self._dist_rx[None, None, :, :]
        amplitude = 4.0 * math.pi * self._dist_tx[None, :, None, :] * self._dist_rx[None, None, :, :]
        return (np.exp(-1j * k * total) / amplitude).reshape(m, n)


def _green(xp, k, dist, scale):
    """``exp(-j k dist) / scale`` for the wavenumbers ``k`` (F,) and distances (n, N): shape (F, n, N)."""
    phase = k[:, None, None] * dist
    cdtype = xp.complex64 if dist.dtype == xp.float32 else xp.complex128
    return xp.astype(xp.cos(phase) / scale, cdtype) - 1j * xp.astype(xp.sin(phase) / scale, cdtype)
