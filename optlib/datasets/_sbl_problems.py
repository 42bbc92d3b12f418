"""Kronecker-sparse recovery problems and IRS-MIMO channel estimation (for ``optlib.sbl``).

Vectors follow NumPy's C order: a vector of length ``N_1 ... N_I`` is the
flattened tensor of shape ``(N_1, ..., N_I)``, and
``(A_1 kron ... kron A_I) x`` is that tensor multiplied by ``A_i`` along mode
``i``. Everything is drawn on the host from a NumPy ``Generator``.
"""

import math
from functools import reduce

import numpy as np
from sklearn.utils import Bunch

from .._validation import check_random_state, check_scalar

__all__ = ["make_kronecker_sparse", "make_irs_channel"]


def _modes(T, mats):
    for M in mats:
        T = np.tensordot(T, M, axes=([0], [1]))
    return T


def _noise(shape, power, complex_, rng):
    if complex_:
        return np.sqrt(power / 2) * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))
    return np.sqrt(power) * rng.standard_normal(shape)


def make_kronecker_sparse(measurements=(10, 12, 15), atoms=(15, 15, 15), n_nonzero=3, *, snr_db=20.0,
                          complex_data=False, random_state=None):
    """Kronecker-supported sparse vector observed through a Kronecker dictionary (He and Joseph's setup).

    ``A_i`` has i.i.d. Gaussian entries of variance ``1 / M_i``; ``x = x_1
    kron ... kron x_I`` with ``n_nonzero`` Gaussian entries in each ``x_i``;
    ``y = H x + n`` with white Gaussian noise at ``snr_db``
    (``||H x||^2 / (M noise_var)``).

    Returns
    -------
    Bunch with ``y`` (length ``M``), ``factors`` (list of ``A_i``), ``x``
    (length ``N``), ``support`` (boolean, length ``N``) and ``noise_var``.
    """
    rng = check_random_state(random_state)
    if len(measurements) != len(atoms) or not measurements:
        raise ValueError(f"measurements and atoms must have the same non-zero length, got {measurements} and {atoms}.")
    ks = (n_nonzero,) * len(atoms) if np.isscalar(n_nonzero) else tuple(n_nonzero)
    if len(ks) != len(atoms) or any(not 1 <= k <= n for k, n in zip(ks, atoms)):
        raise ValueError(f"n_nonzero must be between 1 and N_i for each factor, got {n_nonzero!r} for {atoms}.")
    snr_db = check_scalar(snr_db, "snr_db")

    def draw(shape):
        return _noise(shape, 1.0, complex_data, rng)

    factors = [draw((m, n)) / math.sqrt(m) for m, n in zip(measurements, atoms)]
    parts = []
    for n, k in zip(atoms, ks):
        v = np.zeros(n, dtype=factors[0].dtype)
        v[rng.choice(n, k, replace=False)] = draw(k)
        parts.append(v)
    x = reduce(np.kron, parts)
    clean = _modes(x.reshape(atoms), factors).reshape(-1)
    noise_var = float(np.mean(np.abs(clean) ** 2)) / 10 ** (snr_db / 10)
    y = clean + _noise(clean.shape, noise_var, complex_data, rng)
    return Bunch(y=y, factors=factors, x=x, support=x != 0, noise_var=noise_var)


def _ula(n_elements, sines):
    """Half-wavelength uniform linear array responses ``exp(-j pi k u)`` (columns)."""
    k = np.arange(n_elements)[:, None]
    return np.exp(-1j * np.pi * k * np.asarray(sines)[None, :])


def make_irs_channel(n_ms=6, n_irs=256, n_bs=16, *, grid=18, pilots=(4, 9, 8), block=3, snr_db=10.0,
                     random_state=None):
    """Uplink IRS-aided MIMO cascaded-channel estimation as a Kronecker-sparse problem.

    Arrays are half-wavelength ULAs (MS ``n_ms``, IRS ``n_irs``, BS
    ``n_bs`` elements). The cascaded channel is Kronecker structured: MS,
    IRS (difference angle of the BS-IRS and IRS-MS paths) and BS angular
    components, each a cluster of ``block`` rays on consecutive grid sines
    (angular spread) with complex Gaussian gains, so each factor of the
    grid representation ``x = x_MS kron x_IRS kron x_BS`` is block sparse
    (the structure PC-KroSBL exploits). Training: ``pilots[0]`` MS pilot vectors,
    ``pilots[1]`` random IRS phase configurations and ``pilots[2]`` BS
    combiners, all unit-modulus and normalised, so ``M = prod(pilots)``
    (288 by default). The angular grids have ``grid`` sines uniform on
    ``[-1, 1)`` per factor (``N = grid^3``, 5832 by default).

    Returns
    -------
    Bunch with ``y`` (complex, length ``M``), ``factors`` (measured
    dictionaries ``P_i D_i``, ``pilots[i] x grid``), ``dictionaries``
    (``D_i``, array responses on the grid), ``training`` (``P_i``),
    ``channel`` (true cascaded channel, shape ``(n_ms, n_irs, n_bs)``) and
    ``noise_var``, ``x`` (true grid coefficients) and ``support``. Estimate the channel from a grid estimate ``x`` as
    ``x`` reshaped to ``(grid,) * 3`` and multiplied by ``D_i`` along each mode.
    """
    rng = check_random_state(random_state)
    sizes = (n_ms, n_irs, n_bs)
    if len(pilots) != 3:
        raise ValueError(f"pilots must give 3 numbers (MS pilots, IRS configurations, BS combiners), got {pilots!r}.")
    snr_db = check_scalar(snr_db, "snr_db")
    sines = -1.0 + 2.0 * np.arange(grid) / grid
    dictionaries = [_ula(n, sines) for n in sizes]
    training = [np.exp(2j * np.pi * rng.random((t, n))) / math.sqrt(n) for t, n in zip(pilots, sizes)]
    block = int(check_scalar(block, "block", kind=int, lower=1, upper=grid))
    parts = []
    for _ in sizes:
        v = np.zeros(grid, dtype=complex)
        start = rng.integers(0, grid - block + 1)
        v[start:start + block] = _noise(block, 1.0 / block, True, rng)
        parts.append(v)
    x = reduce(np.kron, parts)
    channel = _modes(x.reshape((grid,) * 3), dictionaries)
    clean = _modes(channel, training).reshape(-1)
    noise_var = float(np.mean(np.abs(clean) ** 2)) / 10 ** (snr_db / 10)
    y = clean + _noise(clean.shape, noise_var, True, rng)
    factors = [P @ D for P, D in zip(training, dictionaries)]
    return Bunch(y=y, factors=factors, dictionaries=dictionaries, training=training, channel=channel,
                 noise_var=noise_var, x=x, support=x != 0, grid=sines)
