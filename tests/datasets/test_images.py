"""Bundled test images: range, shape, dtype, resizing and bad names."""

import numpy as np
import pytest

from optlib.datasets import IMAGES, load_image


@pytest.mark.parametrize("name", IMAGES)
def test_every_bundled_image_loads_gray_in_unit_range(name):
    img = load_image(name)
    assert img.ndim == 2 and img.dtype == np.float64
    assert 0.0 <= img.min() and img.max() <= 1.0 and img.max() > img.min()


def test_camera_values_size_and_dtype():
    from skimage import data

    np.testing.assert_array_equal(load_image("cameraman"), data.camera() / 255.0)
    small = load_image("camera", size=(64, 48), dtype=np.float32)
    assert small.shape == (64, 48) and small.dtype == np.float32
    assert load_image("camera", size=128).shape == (128, 128)
    assert abs(small.mean() - load_image("camera").mean()) < 0.02  # resizing keeps the content


def test_bad_arguments():
    with pytest.raises(ValueError, match="image name 'lena'"):
        load_image("lena")
    with pytest.raises(ValueError, match="size"):
        load_image("camera", size=(10, 10, 3))
    with pytest.raises(ValueError, match="size"):
        load_image("camera", size=0)
    with pytest.raises(ValueError, match="dtype"):
        load_image("camera", dtype=np.int32)
    with pytest.raises(TypeError, match="size must be an int or a pair"):
        load_image("camera", size=2.5)
