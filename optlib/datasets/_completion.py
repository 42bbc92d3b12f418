"""Synthetic matrix-completion problems: incoherent low-rank matrices, sampled, corrupted and noisy."""

import math
import numbers

import numpy as np
from sklearn.utils import Bunch

from .._validation import check_random_state, check_scalar

__all__ = ["make_low_rank_completion"]


def _sample_entries(m, n, n_obs, rng):
    """``n_obs`` distinct flat indices of an ``m x n`` matrix, sorted, without an ``m n`` array."""
    total = m * n
    if n_obs > total // 4:  # dense regime: a permutation is affordable
        return np.sort(rng.choice(total, size=n_obs, replace=False))
    keys = _sorted_unique(rng.integers(0, total, size=int(n_obs * 1.05) + 64))
    while keys.size < n_obs:
        keys = _sorted_unique(np.concatenate([keys, rng.integers(0, total, size=n_obs - keys.size + 64)]))
    return np.sort(rng.choice(keys, size=n_obs, replace=False))


def _sorted_unique(a):
    """``np.unique(a)`` by a sort (NumPy 2.4's ``np.unique`` takes ~10 s on 1e6 int64 keys)."""
    a = np.sort(a)
    return a[np.concatenate([[True], a[1:] != a[:-1]])]


def make_low_rank_completion(
    n_rows,
    n_cols,
    rank,
    *,
    sampling_rate=0.1,
    condition_number=1.0,
    outlier_fraction=0.0,
    outlier_magnitude=10.0,
    noise_std=0.0,
    dtype=np.float64,
    random_state=None,
):
    """Observed entries of a random incoherent rank-``k`` matrix.

    ``M = U_true V_true^T`` with ``U_true = Q_U diag(s)^{1/2}``,
    ``V_true = Q_V diag(s)^{1/2}``, where ``Q_U``, ``Q_V`` are orthonormal
    bases of Gaussian matrices (incoherent with high probability) and the
    singular values ``s`` decrease geometrically from ``s_1`` to
    ``s_1 / condition_number``, scaled so that the entries of ``M`` have unit
    mean square. Each entry is observed independently with probability
    ``sampling_rate`` (the exact count ``round(p m n)`` is drawn without
    replacement, with no ``m x n`` array). A fraction ``outlier_fraction`` of
    the observations gets a gross error ``N(0, outlier_magnitude^2)`` added,
    and every observation Gaussian noise ``N(0, noise_std^2)``.

    Parameters
    ----------
    n_rows, n_cols, rank : int
        ``m``, ``n`` and ``k <= min(m, n)``.
    sampling_rate : float in (0, 1]
        Fraction of observed entries.
    condition_number : float >= 1
        ``s_1 / s_k``.
    outlier_fraction : float in [0, 1)
        Fraction of the observations that are grossly corrupted.
    outlier_magnitude : float >= 0
        Standard deviation of the gross errors (the entries have unit RMS).
    noise_std : float >= 0
        Standard deviation of the dense Gaussian noise.
    dtype : numpy dtype
        float32 or float64 for the values and factors.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    Bunch
        ``rows``, ``cols`` (int64, row-major order), ``data`` (observed
        values, corrupted; ``values`` would shadow the dict method),
        ``clean_data`` (the true entries ``M_ij``), ``outliers``
        (boolean mask of the corrupted observations), ``U``, ``V`` (true
        factors, ``M = U V^T``), ``singular_values``, ``shape``.
    """
    m = check_scalar(n_rows, "n_rows", kind=numbers.Integral, lower=1)
    n = check_scalar(n_cols, "n_cols", kind=numbers.Integral, lower=1)
    k = check_scalar(rank, "rank", kind=numbers.Integral, lower=1)
    if k > min(m, n):
        raise ValueError(f"rank={k} exceeds min(n_rows, n_cols) = {min(m, n)}.")
    p = check_scalar(sampling_rate, "sampling_rate", lower=0.0, upper=1.0, lower_inclusive=False)
    kappa = check_scalar(condition_number, "condition_number", lower=1.0)
    frac = check_scalar(outlier_fraction, "outlier_fraction", lower=0.0, upper=1.0, upper_inclusive=False)
    magnitude = check_scalar(outlier_magnitude, "outlier_magnitude", lower=0.0)
    noise_std = check_scalar(noise_std, "noise_std", lower=0.0)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}.")
    rng = check_random_state(random_state)

    Qu, _ = np.linalg.qr(rng.standard_normal((m, k)))
    Qv, _ = np.linalg.qr(rng.standard_normal((n, k)))
    s = kappa ** (-np.arange(k) / max(k - 1, 1))
    s *= math.sqrt(m * n / np.sum(s**2))  # unit mean-square entries
    U = Qu * np.sqrt(s)
    V = Qv * np.sqrt(s)

    n_obs = max(1, int(round(p * m * n)))
    keys = _sample_entries(m, n, n_obs, rng)
    rows, cols = keys // n, keys % n
    clean = np.einsum("ij,ij->i", U[rows], V[cols])
    values = clean.copy()
    outliers = rng.random(n_obs) < frac
    values[outliers] += magnitude * rng.standard_normal(int(outliers.sum()))
    if noise_std:
        values += noise_std * rng.standard_normal(n_obs)
    return Bunch(
        rows=rows, cols=cols, data=values.astype(dtype), clean_data=clean.astype(dtype), outliers=outliers,
        U=U.astype(dtype), V=V.astype(dtype), singular_values=s.astype(dtype), shape=(m, n),
    )
