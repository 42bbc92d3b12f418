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


def _steering(n_elements, sines):
    """Unit-norm half-wavelength ULA responses ``exp(j pi k u) / sqrt(n)`` (one column per sine)."""
    k = np.arange(n_elements)[:, None]
    return np.exp(1j * np.pi * k * np.asarray(sines)[None, :]) / math.sqrt(n_elements)


def _block(grid, width, rng, cyclic):
    """Grid vector with ``width`` consecutive nonzeros (complex Gaussian, unit variance)."""
    v = np.zeros(grid, dtype=complex)
    start = rng.integers(0, grid if cyclic else grid - width + 1)
    v[(start + np.arange(width)) % grid] = _noise(width, 1.0, True, rng)
    return v


def _irs_training(rng, n_ms, n_irs, n_pilots, n_patterns):
    """QPSK pilots of power ``1 / n_ms`` per antenna and random ``+-1 / sqrt(n_irs)`` IRS patterns."""
    qpsk = np.exp(1j * np.pi * (2 * rng.integers(0, 4, (n_pilots, n_ms)) + 1) / 4)
    patterns = (2.0 * rng.integers(0, 2, (n_patterns, n_irs)) - 1.0) / math.sqrt(n_irs)
    return qpsk / math.sqrt(n_ms), patterns.astype(complex)


def _given_training(training, pilot_shape, pattern_shape):
    """Check a ``(pilots, patterns)`` pair: two finite arrays of the expected shapes, copied as complex."""
    if len(training) != 2:
        raise ValueError(f"training must be None, a seed or a pair (pilots, patterns), got {len(training)} items.")
    out = []
    for name, value, shape in (("pilots", training[0], pilot_shape), ("patterns", training[1], pattern_shape)):
        arr = np.array(value, dtype=complex)
        if arr.shape != shape or not np.all(np.isfinite(arr)):
            raise ValueError(f"training {name} must be a finite array of shape {shape}, got shape {arr.shape}.")
        out.append(arr)
    return out


def make_irs_channel(n_ms=6, n_irs=256, n_bs=16, *, grid=18, n_pilots=3, n_patterns=6, spread=3, snr_db=10.0,
                     training=None, random_state=None):
    """Uplink IRS-aided MIMO cascaded-channel estimation as a Kronecker-sparse problem (He and Joseph, 2024).

    Half-wavelength ULAs at the MS (``n_ms``), IRS (``n_irs``) and BS
    (``n_bs``). The MS-IRS channel has one MS departure angle and a cluster of
    ``spread`` IRS arrival angles on consecutive grid points; the IRS-BS
    channel one IRS departure angle and ``spread`` consecutive BS arrival
    angles; path gains are ``CN(0, 1)`` and the channels are scaled as
    ``sqrt(n_tx n_rx / spread)``. The cascaded channel ``G[m, n, b] =
    H_1[n, m] H_2[b, n]`` is then exactly ``x`` multiplied by the steering
    dictionaries ``D_i`` (``grid`` sines ``-1 + 2 i / grid``) along each mode
    (unit-norm columns for the MS and BS; for the IRS the element-wise
    product of the arrival and departure steering vectors, columns of norm
    ``1 / sqrt(n_irs)`` as in the paper's code, so that KroSBL's unit
    initial prior meets the same data scale as there), with
    ``x = x_MS kron x_IRS kron x_BS``: one nonzero for the MS, a cyclic block
    of ``spread`` for the IRS difference angle, a block of ``spread`` for
    the BS (the block sparsity PC-KroSBL exploits).

    Training: ``n_pilots`` QPSK pilot vectors from the MS (power
    ``1 / n_ms`` per antenna), ``n_patterns`` random ``+-1 / sqrt(n_irs)``
    IRS reflection patterns, every BS antenna observed, so
    ``Y = G x_1 P_MS x_2 P_IRS`` with ``M = n_pilots n_patterns n_bs``
    (288 by default, for ``N = grid^3 = 5832``). Complex white noise at
    ``snr_db`` relative to the mean received signal power.

    ``training`` chooses the pilots and patterns: ``None`` draws them from
    ``random_state`` (new ones for every draw); an int or ``Generator``
    draws them from that stream alone, so draws with different
    ``random_state`` share them, as in the paper's script (drawn once, before
    its 50 trials); a pair ``(pilots, patterns)`` of arrays of shapes
    ``(n_pilots, n_ms)`` and ``(n_patterns, n_irs)`` uses them as given. The
    channel and the noise draws depend on ``random_state`` only: the same
    ``random_state`` gives the same channel, and the same noise up to its
    scale (set by ``snr_db`` and the received power), whatever ``training``.

    Returns
    -------
    Bunch with ``y`` (complex, length ``M``, C order over (pilot, pattern,
    BS antenna)), ``factors`` (``P_i D_i``), ``dictionaries`` (``D_i``),
    ``training`` (``P_i``; the identity for the BS), ``channel`` (true
    cascaded channel, shape ``(n_ms, n_irs, n_bs)``), ``effective`` (the
    channels ``H_2 diag(theta_k) H_1`` under the ``n_patterns`` training
    patterns, shape ``(n_ms, n_patterns, n_bs)``, on which the paper measures
    NMSE), ``effective_dictionaries`` (``[D_MS, P_IRS D_IRS, D_BS]``: grid
    coefficients to ``effective``), ``x`` (true grid coefficients),
    ``support``, ``noise_var`` and ``grid`` (the sines).
    """
    rng = check_random_state(random_state)
    sizes = (n_ms, n_irs, n_bs)
    for name, value in (("n_ms", n_ms), ("n_irs", n_irs), ("n_bs", n_bs), ("grid", grid), ("n_pilots", n_pilots),
                        ("n_patterns", n_patterns)):
        check_scalar(value, name, kind=int, lower=1)
    spread = int(check_scalar(spread, "spread", kind=int, lower=1, upper=grid))
    snr_db = check_scalar(snr_db, "snr_db")
    sines = -1.0 + 2.0 * np.arange(grid) / grid
    # IRS mode: conj(a(u_d)) * a(u_i) = a(u_i - u_d) / sqrt(n_irs), the product of two unit-norm steering
    # vectors; the IRS block sits at the (cyclic) difference angles u_i - u_d.
    dictionaries = [_steering(n, sines) / (math.sqrt(n) if i == 1 else 1.0) for i, n in enumerate(sizes)]
    pilots, patterns = _irs_training(rng, n_ms, n_irs, n_pilots, n_patterns)  # drawn always: same channel stream
    if isinstance(training, (tuple, list)):
        pilots, patterns = _given_training(training, (n_pilots, n_ms), (n_patterns, n_irs))
    elif training is not None:
        pilots, patterns = _irs_training(check_random_state(training), n_ms, n_irs, n_pilots, n_patterns)
    training = [pilots, patterns, np.eye(n_bs, dtype=complex)]
    x_ms = np.zeros(grid, dtype=complex)
    x_ms[rng.integers(grid)] = 1.0
    scale = math.sqrt(n_ms * n_irs / spread) * math.sqrt(n_bs * n_irs / spread)
    parts = [x_ms, scale * _block(grid, spread, rng, cyclic=True), _block(grid, spread, rng, cyclic=False)]
    x = reduce(np.kron, parts)
    X = x.reshape((grid,) * 3)
    channel = _modes(X, dictionaries)
    effective_dictionaries = [dictionaries[0], training[1] @ dictionaries[1], dictionaries[2]]
    effective = _modes(X, effective_dictionaries)
    factors = [P @ D for P, D in zip(training, dictionaries)]
    clean = _modes(X, factors).reshape(-1)
    noise_var = float(np.mean(np.abs(clean) ** 2)) / 10 ** (snr_db / 10)
    y = clean + _noise(clean.shape, noise_var, True, rng)
    return Bunch(y=y, factors=factors, dictionaries=dictionaries, training=training, channel=channel,
                 effective=effective, effective_dictionaries=effective_dictionaries, noise_var=noise_var, x=x,
                 support=x != 0, grid=sines)
