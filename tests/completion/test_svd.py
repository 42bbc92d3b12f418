"""The randomized SVD behind the spectral starts: Cholesky QR normalization of the power iterations."""

import numpy as np
import pytest

from optlib.completion._svd import _cholesky_qr2, randomized_svd


def _host(a):
    return np.asarray([[float(a[i, j]) for j in range(a.shape[1])] for i in range(a.shape[0])])


@pytest.mark.parametrize("k", [3, 12])
def test_randomized_svd_matches_the_svd_of_a_rank_deficient_operator(xp, k):
    # exact rank 12 < q = k + 10 columns: the power-iteration blocks are rank-deficient
    rng = np.random.default_rng(0)
    A = rng.standard_normal((120, 12)) @ rng.standard_normal((12, 90))
    Ax = xp.asarray(A)
    dev = Ax.device if hasattr(Ax, "device") else None
    U, s, V = randomized_svd(lambda X: Ax @ X, lambda Y: xp.matrix_transpose(Ax) @ Y, A.shape, k, xp=xp, dev=dev,
                             dtype=Ax.dtype, rng=np.random.default_rng(1))
    assert U.device == Ax.device
    s_ref = np.linalg.svd(A, compute_uv=False)[:k]
    np.testing.assert_allclose([float(v) for v in s], s_ref, rtol=1e-12)
    Uh = _host(U)
    np.testing.assert_allclose(Uh.T @ Uh, np.eye(k), atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scales", ["even", "graded", "deficient"])
def test_cholesky_qr2_is_an_orthonormal_basis_of_the_range(dtype, scales):
    rng = np.random.default_rng(2)
    Y = rng.standard_normal((500, 8))
    if scales == "graded":  # cond 1e3: Cholesky QR twice
        Y *= np.logspace(0, -3, 8)
    elif scales == "deficient":  # rank 3: the Cholesky factorization fails, Householder QR instead
        Y = Y[:, :3] @ rng.standard_normal((3, 8))
    Y = Y.astype(dtype)
    Q = _cholesky_qr2(Y, __import__("array_api_compat").numpy)
    eps = np.finfo(dtype).eps
    assert Q.dtype == dtype and Q.shape == Y.shape
    np.testing.assert_allclose(Q.T @ Q, np.eye(8), atol=50 * eps)
    if scales != "deficient":  # same range: Y = Q (Q^T Y)
        np.testing.assert_allclose(Q @ (Q.T @ Y), Y, atol=1e3 * eps * np.abs(Y).max())
