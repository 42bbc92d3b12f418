"""Tests of the selection-based pieces of the outlier removal: k-th smallest entries, medians at masked entries."""

import numpy as np
import pytest
from scipy.ndimage import median_filter as scipy_median

from optlib.hyperspectral._denoise_common import _kth_smallest, _median_at
from tests.conftest import to_numpy


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_kth_smallest_matches_a_sort(xp, axis):
    a = np.random.default_rng(0).standard_normal((7, 6, 5))
    k = a.shape[axis] // 2
    expected = np.take(np.sort(a, axis=axis), k, axis=axis)
    np.testing.assert_array_equal(_kth_smallest(np, a, k, axis), expected)
    out = _kth_smallest(xp, xp.asarray(a), k, axis)
    np.testing.assert_array_equal(to_numpy(out), expected)


def test_median_at_equals_the_median_filter_on_the_mask(xp):
    rng = np.random.default_rng(1)
    cube = rng.standard_normal((9, 11, 4)).astype(np.float32)
    mask = rng.random(cube.shape) < 0.2
    mask[0, 0, 0] = mask[-1, -1, 3] = mask[0, -1, 1] = True  # corners: mirrored windows on both axes
    mask[:, :, 2] = False  # a band without outliers
    full = scipy_median(cube, size=(5, 5, 1), mode="mirror")
    expected = np.where(mask, full, 0.0)
    np.testing.assert_array_equal(_median_at(np, cube, mask, 5), expected)
    X = xp.asarray(cube)
    out = _median_at(xp, X, xp.asarray(mask, device=X.device), 5)
    assert out.device == X.device and out.dtype == X.dtype
    np.testing.assert_array_equal(to_numpy(out), expected)
    np.testing.assert_array_equal(_median_at(np, cube, np.zeros_like(mask), 5), np.zeros_like(cube))
    thin = scipy_median(cube[:2], size=(5, 5, 1), mode="mirror")  # window wider than the image: mirrored again
    np.testing.assert_array_equal(_median_at(np, cube[:2], mask[:2], 5), np.where(mask[:2], thin, 0.0))
