"""TV denoising with a zero boundary (``boundary="zero"``): reference prox, no null space, devices, bad input."""

import numpy as np
import pytest
import scipy.sparse as sp

from optlib.imaging import MagnitudeDenoiser, TVDenoiser, tv_denoise
from tests.conftest import to_numpy


def _zero_boundary_difference(shape):
    """Sparse stacked forward differences of the zero-padded array, as a matrix on the unpadded one."""
    padded = [n + 2 for n in shape]
    embed_1d = [sp.eye(n + 2, n, k=-1, format="csr") for n in shape]  # x -> (0, x, 0)
    diff_1d = [sp.diags([-np.ones(m), np.ones(m - 1)], [0, 1], format="lil") for m in padded]
    for d in diff_1d:
        d[-1, -1] = 0.0  # no difference past the last padded sample
    blocks = []
    for axis in range(len(shape)):
        ops = [diff_1d[i].tocsr() if i == axis else sp.eye(padded[i]) for i in range(len(shape))]
        d = ops[0]
        for op in ops[1:]:
            d = sp.kron(d, op)
        embed = embed_1d[0]
        for e in embed_1d[1:]:
            embed = sp.kron(embed, e)
        blocks.append(d @ embed)
    return sp.vstack(blocks).tocsr()


def _objective(u, f, weight):
    g = (_zero_boundary_difference(f.shape) @ u.ravel()).reshape(f.ndim, -1)
    return 0.5 * np.sum((u - f) ** 2) + weight * np.sqrt((g**2).sum(axis=0)).sum()


def _reference_prox(f, weight, n_iter=3000):
    """Isotropic zero-boundary TV prox by FISTA on the dual, explicit sparse matrices (independent of the library)."""
    D = _zero_boundary_difference(f.shape).toarray()  # small: dense products are faster
    ncomp, npix = f.ndim, D.shape[0] // f.ndim
    step = 1.0 / (4.0 * f.ndim * weight**2)
    p = q = np.zeros(D.shape[0])
    t = 1.0
    fv = f.ravel()
    for _ in range(n_iter):
        grad = -weight * (D @ (fv - weight * (D.T @ q)))
        p_new = (q - step * grad).reshape(ncomp, npix)
        p_new /= np.maximum(1.0, np.sqrt((p_new**2).sum(axis=0)))
        p_new = p_new.ravel()
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        q = p_new + (t - 1.0) / t_new * (p_new - p)
        p, t = p_new, t_new
    return (fv - weight * (D.T @ p)).reshape(f.shape)


def test_matches_the_reference_prox():
    rng = np.random.default_rng(0)
    f = np.abs(rng.standard_normal((5, 6)))
    out = tv_denoise(f, 0.3, boundary="zero", tol=None, max_iter=1000)
    np.testing.assert_allclose(out, _reference_prox(f, 0.3), atol=1e-10)  # measured 3e-13
    f = np.abs(rng.standard_normal((3, 4, 5)))
    out = tv_denoise(f, 0.3, boundary="zero", tol=None, max_iter=500)
    reference = _reference_prox(f, 0.3)
    np.testing.assert_allclose(out, reference, atol=3e-3)  # both first-order methods, still converging
    assert _objective(out, f, 0.3) == pytest.approx(_objective(reference, f, 0.3), rel=1e-5)


def test_constants_are_not_free():
    """Neumann TV leaves a constant volume unchanged; the zero boundary shrinks it (no null space)."""
    c = np.full((6, 7, 8), 2.0)
    np.testing.assert_allclose(tv_denoise(c, 0.1, engine="xp"), c)
    out = tv_denoise(c[:4, :5, :6], 0.1, boundary="zero", tol=None, max_iter=100)
    assert out.max() < 1.95 and out.mean() < 1.9  # measured max 1.911, mean 1.884
    # a nonnegative input stays nonnegative (what MagnitudeDenoiser relies on)
    rng = np.random.default_rng(1)
    assert tv_denoise(np.abs(rng.standard_normal((5, 6, 7))), 0.5, boundary="zero").min() >= 0.0
    # and a large weight sends everything to 0
    np.testing.assert_allclose(tv_denoise(c[:4, :5, :6], 20.0, boundary="zero", tol=None, max_iter=100), 0.0, atol=1e-5)


def test_denoiser_warm_start_and_magnitude():
    rng = np.random.default_rng(2)
    f = np.abs(rng.standard_normal((5, 6, 7)))
    den = TVDenoiser(boundary="zero", warm_start=True, tol=None, max_iter=5)
    for _ in range(4):
        out = den(f, 0.3)
    np.testing.assert_allclose(out, tv_denoise(f, 0.09, boundary="zero", tol=None, max_iter=20), atol=1e-12)
    z = f * np.exp(1j * rng.uniform(0, 2 * np.pi, f.shape))
    mag = MagnitudeDenoiser(TVDenoiser(boundary="zero", tol=None, max_iter=20))(z, 0.3)
    np.testing.assert_allclose(np.abs(mag), tv_denoise(f, 0.09, boundary="zero", tol=None, max_iter=20), atol=1e-12)
    assert "boundary='zero'" in repr(den)


def test_array_api_device(xp):
    rng = np.random.default_rng(3)
    f = np.abs(rng.standard_normal((4, 5, 6)))
    for dtype, atol in ((xp.float64, 1e-12), (xp.float32, 1e-5)):
        x = xp.astype(xp.asarray(f), dtype)
        out = TVDenoiser(boundary="zero", tol=None, max_iter=10)(x, 0.5)
        assert out.dtype == dtype and out.device == x.device
        np.testing.assert_allclose(to_numpy(out), tv_denoise(f, 0.25, boundary="zero", tol=None, max_iter=10),
                                   atol=atol)


def test_bad_boundary():
    f = np.ones((4, 4))
    with pytest.raises(ValueError, match="boundary"):
        tv_denoise(f, 0.1, boundary="periodic")
    with pytest.raises(ValueError, match="numba engine supports boundary='neumann'"):
        TVDenoiser(boundary="zero", engine="numba")
