"""Edge cases of robust_altmin's observation setup (counting sorts, the row-major fast path) and fused residual sums."""

import warnings

import numpy as np
import pytest

from optlib.completion import robust_altmin
from optlib.completion._altmin import _half_step
from optlib.completion._observations import check_observations


def _problem(m=30, n=20, k=2, rate=0.6, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((m, k)) @ rng.standard_normal((k, n))
    rows, cols = np.nonzero(rng.random((m, n)) < rate)
    return rows, cols, M[rows, cols], (m, n), k


def _fit(rows, cols, values, shape, k, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = robust_altmin((rows, cols, values), k, shape=shape, random_state=0, **kw)
    return res.U @ res.V.T


@pytest.mark.parametrize("order", ["shuffled", "cols_reversed_within_rows"])
def test_input_order_does_not_change_the_result(order):
    rows, cols, values, shape, k = _problem()
    perm = (np.random.default_rng(1).permutation(rows.size) if order == "shuffled"
            else np.lexsort((-cols, rows)))
    args = (rows[perm].copy(), cols[perm].copy(), values[perm].copy())
    saved = [a.copy() for a in args]
    np.testing.assert_allclose(_fit(*args, shape, k), _fit(rows, cols, values, shape, k), rtol=0, atol=1e-12)
    for a, b in zip(args, saved):  # the counting sorts work on copies
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("adjacent", [True, False])
def test_duplicates_averaged_whether_adjacent_or_not(adjacent):
    rows, cols, values, shape, _ = _problem()
    r = np.concatenate([rows, rows[:4]])
    c = np.concatenate([cols, cols[:4]])
    v = np.concatenate([values, values[:4] + 1.0])
    if adjacent:  # row-major with the duplicates next to each other: not the fast path
        perm = np.lexsort((c, r))
        r, c, v = r[perm], c[perm], v[perm]
    obs = check_observations((r, c, v), shape, host=True)
    expected = values.copy()  # np.nonzero gave row-major entries: the canonical order
    expected[:4] += 0.5  # mean of v and v + 1
    assert obs.nnz == rows.size
    np.testing.assert_allclose(obs.values, expected, rtol=1e-15)
    np.testing.assert_array_equal(obs.col_values, obs.values[obs.col_pos])


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int32, np.uint32, np.int64, np.uint64])
def test_index_dtypes(dtype):
    rows, cols, values, shape, k = _problem()
    np.testing.assert_allclose(_fit(rows.astype(dtype), cols.astype(dtype), values, shape, k),
                               _fit(rows, cols, values, shape, k), rtol=0, atol=1e-12)


def test_uint64_index_beyond_int64_is_reported_as_is():
    rows, cols, values, shape, k = _problem()
    rows = rows.astype(np.uint64)
    rows[2] = 2**63 + 5
    with pytest.raises(ValueError, match="rows holds index 9223372036854775813"):
        robust_altmin((rows, cols, values), k, shape=shape)


@pytest.mark.parametrize("engine", ["numba", "xp"])
@pytest.mark.parametrize("dtype, expected", [(np.float16, np.float32), (">f4", np.float32),
                                             (">f8", np.float64), (np.longdouble, np.float64)])
@pytest.mark.parametrize("shuffled", [False, True])
def test_other_float_dtypes_are_converted(engine, dtype, expected, shuffled):
    # float16, long double and big-endian values crashed the numba kernels and NumPy's linalg
    rows, cols, values, shape, k = _problem()
    values = np.round(values, 2)  # exact in float16 up to its precision; compared loosely below
    perm = np.random.default_rng(2).permutation(rows.size) if shuffled else np.arange(rows.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = robust_altmin((rows[perm], cols[perm], values.astype(dtype)[perm]), k, shape=shape,
                            engine=engine, random_state=0)
    assert res.U.dtype == expected and res.V.dtype == expected
    ref = _fit(rows, cols, values.astype(expected), shape, k, engine=engine)
    np.testing.assert_allclose(res.U @ res.V.T, ref, atol=0.05 if dtype == np.float16 else 1e-5)


def test_shape_beyond_int32_keys():
    m, n = 100_000, 90_000  # m n > 2**33: row-major keys need 64 bits
    rng = np.random.default_rng(3)
    rows = rng.integers(0, m, 500).astype(np.int32)
    cols = rng.integers(0, n, 500).astype(np.int32)
    obs = check_observations((rows, cols, rng.standard_normal(500)), (m, n), host=True)
    keys = obs.rows * n + obs.cols
    assert np.all(np.diff(keys) > 0)
    assert obs.nnz == np.unique(rows.astype(np.int64) * n + cols).size
    assert obs.row_ptr[-1] == obs.col_ptr[-1] == obs.nnz


@pytest.mark.parametrize("solver", ["exact", "sketch"])
@pytest.mark.parametrize("weighted", [False, True])
def test_fused_residual_sums_match_the_residuals(solver, weighted):
    rng = np.random.default_rng(4)
    m, n, k, nnz = 300, 80, 3, 6000  # rows longer than the sketch; several blocks of rows
    obs = check_observations((rng.integers(0, m, nnz), rng.integers(0, n, nnz), rng.standard_normal(nnz)),
                             (m, n), host=True)
    weights = np.minimum(1.0, 0.5 / np.abs(rng.standard_normal(obs.nnz))) if weighted else None
    V, U0 = rng.standard_normal((n, k)), rng.standard_normal((m, k))
    U, r, kept_sq, norm_sq = _half_step(obs, 0, V, U0, obs.values, weights, alpha=0.0, solver=solver,
                                        sketch_size=2 * k, n_inner=10, rtol=1e-8,
                                        rng=np.random.default_rng(0), residuals=True)
    np.testing.assert_allclose(r, obs.values - obs.entries(U, V), atol=1e-12)
    inliers = np.ones(obs.nnz) if weights is None else (weights >= 1)
    np.testing.assert_allclose(kept_sq, np.sum(inliers * r * r), rtol=1e-12)
    np.testing.assert_allclose(norm_sq, np.sum(inliers * obs.values**2), rtol=1e-12)


@pytest.mark.parametrize("host", [True, False])
def test_one_duplicate_leaves_the_other_float32_values_exact(host):
    # the duplicate means came from differences of one cumulative sum over all entries:
    # with 2e5 float32 values near 1.5 every value moved by up to ~1e-2
    rng = np.random.default_rng(5)
    m = n = 1000
    keys = rng.choice(m * n, 200_000, replace=False)
    rows, cols = keys // n, keys % n
    values = (1.0 + rng.random(keys.size)).astype(np.float32)
    obs = check_observations((np.append(rows, rows[0]), np.append(cols, cols[0]), np.append(values, values[0] + 1)),
                             (m, n), host=host)
    canon = np.argsort(keys)
    expected = values.copy()
    expected[0] = (values[0] + (values[0] + np.float32(1))) / np.float32(2)
    assert obs.values.dtype == np.float32
    np.testing.assert_array_equal(obs.values, expected[canon])


def test_duplicates_on_the_array_api_device(xp):
    from tests.conftest import to_numpy

    rows, cols, values, shape, _ = _problem()
    r = np.concatenate([rows[:3], rows, rows[:3], rows[:1]])
    c = np.concatenate([cols[:3], cols, cols[:3], cols[:1]])
    v = np.concatenate([values[:3] + 1, values, values[:3] + 2, values[:1] + 3])
    obs = check_observations((xp.asarray(r), xp.asarray(c), xp.asarray(v)), shape)
    expected = values.copy()
    expected[:3] += 1.0
    expected[0] = (4 * values[0] + 6) / 4  # four copies: v, v + 1, v + 2, v + 3
    assert obs.nnz == rows.size
    np.testing.assert_allclose(to_numpy(obs.values), expected, rtol=1e-15)


def _recovery_error(res, P, scale):
    from tests.conftest import to_numpy

    U, V = (to_numpy(F).astype(np.float64) / np.sqrt(scale) for F in (res.U, res.V))
    M = P.U @ P.V.T
    return np.linalg.norm(U @ V.T - M) / np.linalg.norm(M)


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e200, 1e300])
@pytest.mark.parametrize("engine", ["numba", "xp"])
def test_values_near_the_float64_limits(scale, engine):
    """Sums of squares of 1e-200 underflowed to 0 ("converged" after one pass, error 7e-2); of 1e200 overflowed."""
    from optlib.datasets import make_low_rank_completion

    P = make_low_rank_completion(120, 100, 3, sampling_rate=0.4, random_state=0)
    history = []
    res = robust_altmin((P.rows, P.cols, P.data * scale), 3, shape=P.shape, engine=engine, random_state=0,
                        callback=lambda r: history.append(r.x))
    assert res.success and res.nit > 1
    assert _recovery_error(res, P, scale) < 1e-6
    U_last, V_last = history[-1]  # the callback sees the factors in the user's units
    np.testing.assert_allclose(U_last @ V_last.T, res.U @ res.V.T, rtol=1e-12)
    assert np.isfinite(res.residual) and res.residual < 1e-6


@pytest.mark.parametrize("scale", [1e-25, 1e25])
def test_float32_values_far_from_one(scale, xp):
    """float32 sums of squares overflow past ~1e19 (the array-API path sums in float32)."""
    from optlib.datasets import make_low_rank_completion

    P = make_low_rank_completion(120, 100, 3, sampling_rate=0.4, random_state=0)
    values = xp.asarray((P.data * scale).astype(np.float32))
    res = robust_altmin((xp.asarray(P.rows), xp.asarray(P.cols), values), 3, shape=P.shape, random_state=0)
    assert res.U.dtype == xp.float32 and res.success
    assert _recovery_error(res, P, scale) < 1e-4


def test_ridge_means_the_same_in_any_units():
    """alpha weighs the factors' norms against the squared misfit: the solution scales, it does not change."""
    from optlib.datasets import make_low_rank_completion

    P = make_low_rank_completion(60, 50, 2, sampling_rate=0.5, random_state=0)
    base = robust_altmin((P.rows, P.cols, P.data), 2, shape=P.shape, alpha=0.5, random_state=0, tol=1e-12)
    scale = 2.0**-300  # a power of two: the rescaled problem is exactly the same one
    far = robust_altmin((P.rows, P.cols, P.data * scale), 2, shape=P.shape, alpha=0.5 * scale, random_state=0,
                        tol=1e-12)
    np.testing.assert_allclose(far.U @ far.V.T / scale, base.U @ base.V.T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(far.fun / scale**2, base.fun, rtol=1e-9)
