"""Review round 9: reproducers of defects found in minimize_eq, the linear-model paths and ssim."""

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from optlib.metrics import ssim
from tests.conftest import to_numpy


def _ssim_pair(seed=0):
    rng = np.random.default_rng(seed)
    ref = rng.random((32, 32))
    return ref + 0.1 * rng.standard_normal(ref.shape), ref


# R1: ssim of images in tiny or huge units. The second moments underflowed or overflowed the dtype:
# float32 at 1e-25 gave NaN, at 1e20 NaN; float64 at 1e-200 gave 1.0 (silently), at 1e300 OverflowError.
@pytest.mark.parametrize(
    "scale, dtype", [(1e-25, np.float32), (1e20, np.float32), (1e-200, np.float64), (1e300, np.float64)]
)
def test_r1_ssim_is_invariant_to_the_units(scale, dtype):
    x, ref = _ssim_pair()
    expected = structural_similarity(
        x, ref, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    got = ssim((x * scale).astype(dtype), (ref * scale).astype(dtype), data_range=scale)
    assert got == pytest.approx(expected, abs=1e-6 if dtype == np.float32 else 1e-12)


def test_r1_ssim_units_scaling_is_exact_for_ordinary_images():
    """The power-of-two units change no rounding: float64 equals scikit-image bit for bit."""
    x, ref = _ssim_pair(1)
    for data_range in (1.0, 3.0, 255.0):
        expected = structural_similarity(
            x * data_range, ref * data_range, data_range=data_range, gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False,
        )
        assert ssim(x * data_range, ref * data_range, data_range=data_range) == expected


# R2, R3: minimize_eq's feasibility restoration stopped at any stationary point of ||c||^2, saddles and maxima
# included, and reported a local infeasibility (status 3) on feasible problems.
def _minimize_eq(constraints, x0, xp=np, target=0.0, **kwargs):
    """minimize_eq of ``||x - target||^2 / 2`` (target a scalar) from ``x0``."""
    from optlib.optimize import minimize_eq

    dev = xp.asarray([0.0]).device if xp is not np else None
    eye = (lambda x: xp.eye(2, dtype=x.dtype, device=dev)) if dev is not None else (lambda x: np.eye(2, dtype=x.dtype))
    x0 = xp.asarray(x0, device=dev) if dev is not None else np.asarray(x0)
    return minimize_eq(lambda x: float(0.5 * xp.sum((x - target) ** 2)), x0, jac=lambda x: x - target, hess=eye,
                       constraints=constraints, random_state=0, **kwargs)


def _line_and_circle(xp=np):
    """x1 + x2 = 1 twice (rank-deficient Jacobian) and x1^2 + x2^2 = 1: feasible at (1, 0) and (0, 1).

    From (0.5, 0.5) the linearisation is inconsistent and the restoration's steps stay on x1 = x2, ending at
    the saddle (0.544, 0.544) of ||c||^2 (a minimum on that line only)."""
    return {
        "fun": lambda x: xp.stack([x[0] + x[1] - 1, 2 * x[0] + 2 * x[1] - 2, x[0] * x[0] + x[1] * x[1] - 1]),
        "jac": lambda x: xp.stack([xp.ones_like(x), 2 * xp.ones_like(x), 2 * x]),
        "hess": lambda x, v: 2 * v[2] * xp.eye(2, dtype=x.dtype, device=x.device),
    }


@pytest.mark.parametrize("dtype, target", [(np.float64, 1.5), (np.float32, 0.0)])
def test_r2_restoration_leaves_a_saddle_of_the_violation(dtype, target):
    res = _minimize_eq(_line_and_circle(), np.array([0.5, 0.5], dtype=dtype), target=target)
    assert res.status == 0 and res.x.dtype == dtype
    np.testing.assert_allclose(sorted(res.x), [0.0, 1.0], atol=1e-4)


def _three_squares(xp=np):
    """x1^2 = 1, x2^2 = 1, x1 x2 = 1: G = 0 at the origin, a local maximum of ||c||^2; feasible at +-(1, 1)."""
    return {
        "fun": lambda x: xp.stack([x[0] * x[0] - 1, x[1] * x[1] - 1, x[0] * x[1] - 1]),
        "jac": lambda x: xp.stack([xp.stack([2 * x[0], 0 * x[0]]), xp.stack([0 * x[1], 2 * x[1]]),
                                   xp.stack([x[1], x[0]])]),
        "hess": lambda x, v: xp.stack([xp.stack([2 * v[0], v[2]]), xp.stack([v[2], 2 * v[1]])]),
    }


def test_r3_restoration_leaves_a_maximum_of_the_violation_on_array_api_device(xp):
    res = _minimize_eq(_three_squares(xp), [0.0, 0.0], xp=xp)
    assert res.status == 0
    np.testing.assert_allclose(np.abs(to_numpy(res.x)), [1.0, 1.0], atol=1e-6)


def test_r3_inconsistent_circles_are_still_a_local_infeasibility():
    """x1^2 + x2^2 = 1 and = 4: ||c||^2 is least on the circle of radius^2 2.5 (positive curvature across it)."""
    cons = {
        "fun": lambda x: np.array([x @ x - 1, x @ x - 4]),
        "jac": lambda x: np.stack([2 * x, 2 * x]),
        "hess": lambda x, v: 2 * (v[0] + v[1]) * np.eye(2),
    }
    with pytest.warns(Warning, match="local infeasibility"):
        res = _minimize_eq(cons, [2.0, 1.0])
    assert res.status == 3
    assert res.x @ res.x == pytest.approx(2.5, abs=1e-4)


# R4: a multi-target ElasticNet equals its single-target fits bit for bit only for a Fortran-ordered Y: the
# column means of a C-ordered Y (the usual np.column_stack / X @ B), sw @ Y and coef @ X_offset round differently
# from a 1-D target's, and at tol=1e-10 the fits then differed by up to 4e-10 (scikit-learn: equal).
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_r4_multi_target_fit_equals_single_target_fits_for_c_ordered_y(sparse, weighted):
    import scipy.sparse as sp

    from optlib.linear_model import ElasticNet

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 25))
    Y = X[:, :4] @ rng.standard_normal((4, 3)) + 0.3 * rng.standard_normal((60, 3))  # C-ordered
    if sparse:
        X = sp.csc_matrix(np.where(rng.random(X.shape) < 0.5, 0.0, X))
    sw = rng.random(60) + 0.5 if weighted else None
    kw = {"alpha": 1e-3, "tol": 1e-10, "max_iter": 100_000}
    multi = ElasticNet(**kw).fit(X, Y, sample_weight=sw)
    for k in range(3):
        single = ElasticNet(**kw).fit(X, Y[:, k], sample_weight=sw)
        np.testing.assert_array_equal(multi.coef_[k], single.coef_)
        assert multi.intercept_[k] == single.intercept_


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_r1_ssim_data_range_far_below_the_images(dtype):
    """Units of data_range alone overflowed unit images (2**1000 times 1: NaN); with C1, C2 ~ 0 the score is
    the universal quality index (k1 = k2 = 0)."""
    x, ref = _ssim_pair(2)
    x, ref = x.astype(dtype), ref.astype(dtype)
    expected = ssim(x, ref, data_range=1.0, k1=0.0, k2=0.0)
    assert ssim(x, ref, data_range=1e-300) == pytest.approx(expected, rel=1e-6 if dtype == np.float32 else 1e-12)
