"""robust_altmin's speed devices: Anderson-accelerated passes and float32 factor reads on the host."""

import numpy as np
import pytest

from optlib.completion import robust_altmin
from optlib.completion._altmin import _Anderson
from optlib.datasets import make_low_rank_completion


def _rel_err(res, P):
    M = P.U @ P.V.T
    return np.linalg.norm(res.U @ res.V.T - M) / np.linalg.norm(M)


def _steps_to_fixed_point(step, A, b, x_star):
    x = np.zeros_like(b)
    for it in range(1, 1000):
        x = step(x, A @ x + b)
        if np.linalg.norm(x - x_star) <= 1e-10 * np.linalg.norm(x_star):
            return it
    return it


def test_anderson_accelerates_a_linear_contraction():
    """x -> A x + b, A symmetric with eigenvalues in [0, 0.95] (like an alternating least-squares pass)."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((20, 20)))
    A = Q @ np.diag(np.linspace(0.0, 0.95, 20)) @ Q.T
    b = rng.standard_normal((20, 1))
    x_star = np.linalg.solve(np.eye(20) - A, b)
    assert _steps_to_fixed_point(lambda x, gx: gx, A, b, x_star) >= 400
    assert _steps_to_fixed_point(_Anderson(5, np).step, A, b, x_star) <= 100


def test_passes_accelerated_on_the_benchmark_problem():
    """Rank 10, 1000 x 1000, 100 observations per row: 20 passes to a 1e-9 residual before acceleration."""
    P = make_low_rank_completion(1000, 1000, 10, sampling_rate=0.1, condition_number=2, random_state=0)
    res = robust_altmin((P.rows, P.cols, P.data), 10, shape=P.shape, tol=1e-9, random_state=0)
    assert res.success
    assert res.nit <= 14
    assert _rel_err(res, P) <= 1e-8


def test_float32_reads_do_not_limit_the_accuracy():
    """The passes finish on float64 factors: errors far below float32 resolution, engines agree."""
    P = make_low_rank_completion(300, 300, 5, sampling_rate=0.2, random_state=0)
    res = robust_altmin((P.rows, P.cols, P.data), 5, shape=P.shape, tol=1e-12, random_state=0)
    assert res.U.dtype == np.float64
    assert _rel_err(res, P) <= 1e-11
    # noisy data: the residual settles above zero; numba (float32 reads first) and xp (float64) agree
    P = make_low_rank_completion(300, 300, 5, sampling_rate=0.2, noise_std=1e-2, random_state=0)
    a, b = (robust_altmin((P.rows, P.cols, P.data), 5, shape=P.shape, tol=1e-10, engine=engine, random_state=0)
            for engine in ("numba", "xp"))
    assert a.success and b.success
    La, Lb = a.U @ a.V.T, b.U @ b.V.T
    assert np.linalg.norm(La - Lb) / np.linalg.norm(Lb) <= 1e-8


@pytest.mark.parametrize("scale", [1e-100, 1e100])
def test_extreme_scales_keep_float64_reads(scale):
    """Values far outside float32's range: no overflow or underflow from float32 copies."""
    P = make_low_rank_completion(200, 200, 3, sampling_rate=0.3, random_state=0)
    res = robust_altmin((P.rows, P.cols, P.data * scale), 3, shape=P.shape, tol=1e-10, random_state=0)
    M = P.U @ P.V.T
    assert np.isfinite(res.U).all() and np.isfinite(res.V).all()
    err = np.linalg.norm((res.U / np.sqrt(scale)) @ (res.V / np.sqrt(scale)).T - M) / np.linalg.norm(M)
    assert err <= 1e-8


@pytest.mark.parametrize("size, n_keys", [(1, 5), (7, 3), (5, 1000), (50, 20000), (100000, 1000)])
def test_parallel_counting_sort_is_a_stable_sort(size, n_keys):
    """Chunks counted in parallel, each chunk's entries of a key after the previous chunks': a stable sort."""
    from optlib.completion._altmin_numba import counting_sort

    rng = np.random.default_rng(size)
    keys = rng.integers(0, size, n_keys)
    ints, floats = rng.integers(0, 10**9, n_keys), rng.standard_normal(n_keys).astype(np.float32)
    ptr, order, ints_s, floats_s = counting_sort(keys, size, ints, floats)
    expected = np.argsort(keys, kind="stable")
    np.testing.assert_array_equal(order, expected)
    np.testing.assert_array_equal(ints_s, ints[expected])
    np.testing.assert_array_equal(floats_s, floats[expected])
    np.testing.assert_array_equal(ptr, np.concatenate([[0], np.cumsum(np.bincount(keys, minlength=size))]))
