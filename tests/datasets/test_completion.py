"""make_low_rank_completion: rank, conditioning, sampling, corruption, incoherence."""

import numpy as np
import pytest

from optlib.datasets import make_low_rank_completion


def test_properties():
    P = make_low_rank_completion(200, 150, 4, sampling_rate=0.1, condition_number=10, outlier_fraction=0.2,
                                 outlier_magnitude=5, random_state=0)
    M = P.U @ P.V.T
    s = np.linalg.svd(M, compute_uv=False)
    assert s[0] / s[3] == pytest.approx(10) and s[4] < 1e-10 * s[0]
    assert np.mean(M**2) == pytest.approx(1.0)
    assert P.rows.size == 3000 and np.unique(P.rows * 150 + P.cols).size == 3000
    np.testing.assert_allclose(P.clean_data, M[P.rows, P.cols])
    assert np.array_equal(P.data != P.clean_data, P.outliers)
    assert 0.15 < P.outliers.mean() < 0.25
    Q, _ = np.linalg.qr(P.U)  # incoherence: row leverage well below 1
    assert np.max(np.sum(Q**2, axis=1)) * 200 / 4 < 10


def test_noise_dtype_and_bad_input():
    P = make_low_rank_completion(30, 30, 2, sampling_rate=0.5, noise_std=0.1, dtype=np.float32, random_state=0)
    assert P.data.dtype == np.float32
    assert 0.05 < np.std(P.data - P.clean_data) < 0.15
    with pytest.raises(ValueError, match="rank=5 exceeds"):
        make_low_rank_completion(4, 10, 5)
    with pytest.raises(ValueError, match="sampling_rate must be > 0"):
        make_low_rank_completion(4, 10, 1, sampling_rate=0)
