"""Tests of SpectralUnmixing and EndmemberExtractor (scikit-learn conventions)."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from optlib.datasets import make_hyperspectral_scene
from optlib.hyperspectral import EndmemberExtractor, SpectralUnmixing, fcls
from optlib.metrics import abundance_rmse, match_endmembers, sad
from tests.conftest import to_numpy


@parametrize_with_checks([SpectralUnmixing(n_endmembers=2, random_state=0),
                          SpectralUnmixing(n_endmembers=2, method="nnls", extractor="atgp"),
                          EndmemberExtractor(n_endmembers=2, method="nfindr")])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_unmixing_recovers_scene():
    s = make_hyperspectral_scene(30, 30, 4, snr=40, n_pure_pixels=1, purity=0.8, random_state=0)
    X = s.Y.reshape(-1, s.Y.shape[-1])
    model = SpectralUnmixing(n_endmembers=4, random_state=0).fit(X)
    assert sad(model.endmembers_, s.endmembers) < 0.02
    A = model.transform(X)
    perm = match_endmembers(model.endmembers_, s.endmembers)
    assert abundance_rmse(A, s.abundances.reshape(-1, 4), permutation=perm) < 3.0
    np.testing.assert_allclose(A.sum(1), 1.0, atol=1e-12)
    # known endmembers: transform is FCLS, and inside a pipeline
    known = SpectralUnmixing(endmembers=s.endmembers).fit(X)
    np.testing.assert_allclose(known.transform(X), fcls(X, s.endmembers))
    pipe = make_pipeline(FunctionTransformer(), SpectralUnmixing(endmembers=s.endmembers))
    np.testing.assert_allclose(pipe.fit_transform(X), fcls(X, s.endmembers))
    np.testing.assert_allclose(known.inverse_transform(known.transform(X)), s.clean.reshape(-1, X.shape[1]),
                               atol=0.05)


def test_hysime_default_number_of_endmembers():
    s = make_hyperspectral_scene(100, 100, 5, snr=30, n_pure_pixels=1, random_state=1)
    X = s.Y.reshape(-1, s.Y.shape[-1])
    assert EndmemberExtractor(random_state=0).fit(X).endmembers_.shape == (5, X.shape[1])


def test_array_api_device(xp):
    s = make_hyperspectral_scene(10, 10, 3, n_bands=20, n_pure_pixels=1, purity=0.9, random_state=4)
    X = s.Y.reshape(-1, 20)
    Xx = xp.asarray(X)
    model = SpectralUnmixing(n_endmembers=3, engine="xp", random_state=0).fit(Xx)
    A = model.transform(Xx)
    assert A.device == Xx.device and model.endmembers_.device == Xx.device
    np.testing.assert_allclose(to_numpy(A), SpectralUnmixing(n_endmembers=3, random_state=0).fit_transform(X),
                               atol=1e-10)


def test_bad_input():
    X = np.random.default_rng(0).random((20, 6))
    with pytest.raises(ValueError, match="endmembers has 5 bands but X has 6"):
        SpectralUnmixing(endmembers=np.ones((2, 5))).fit(X)
    with pytest.raises(ValueError, match="Unknown method"):
        SpectralUnmixing(method="sunsal0").fit(X)
    with pytest.raises(ValueError, match="Unknown extractor"):
        SpectralUnmixing(n_endmembers=2, extractor="ppi").fit(X)
    with pytest.raises(ValueError, match="X has 5 features"):
        SpectralUnmixing(n_endmembers=2).fit(X).transform(X[:, :5])


@pytest.mark.parametrize("method", ["fcls", "sunsal", "rrlbs"])
def test_cube_layout(xp, method):
    # fit on (pixels, bands), transform a (rows, cols, bands) cube, and fit on the cube itself
    s = make_hyperspectral_scene(6, 5, 3, n_bands=20, n_pure_pixels=1, purity=0.9, random_state=4)
    cube = xp.asarray(s.Y.astype(np.float32))
    X = xp.reshape(cube, (-1, 20))
    model = SpectralUnmixing(3, method=method, random_state=0).fit(X)
    A = model.transform(cube)
    assert A.shape == (6, 5, 3) and A.dtype == xp.float32 and A.device == cube.device
    np.testing.assert_allclose(to_numpy(A).reshape(-1, 3), to_numpy(model.transform(X)), rtol=0, atol=0)
    assert model.inverse_transform(A).shape == (6, 5, 20)
    np.testing.assert_allclose(to_numpy(SpectralUnmixing(3, method=method, random_state=0).fit(cube).endmembers_),
                               to_numpy(model.endmembers_))
    extractor = EndmemberExtractor(3, random_state=0).fit(cube)
    np.testing.assert_array_equal(extractor.indices_, EndmemberExtractor(3, random_state=0).fit(X).indices_)
    assert np.array_equal(to_numpy(cube), s.Y.astype(np.float32))  # not modified
