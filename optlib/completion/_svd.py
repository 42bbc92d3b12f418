"""Randomized top-k SVD of an operator given by its products (Halko, Martinsson, Tropp 2011)."""

import numpy as np

from .._backend import to_namespace

__all__ = ["randomized_svd"]


def randomized_svd(matmat, rmatmat, shape, k, *, xp, dev, dtype, rng, n_oversamples=10, n_iter=4):
    """Top-``k`` singular triplets of the ``m x n`` operator ``A``.

    Parameters
    ----------
    matmat, rmatmat : callable
        ``X -> A @ X`` (``n x q`` to ``m x q``) and ``Y -> A^T @ Y``.
    shape : tuple of int
        ``(m, n)``.
    k : int
        Number of triplets.
    xp, dev, dtype
        Namespace, device and dtype of the result.
    rng : numpy.random.Generator
        Source of the Gaussian test matrix, drawn on the host and copied
        explicitly to ``dev``.
    n_oversamples, n_iter : int
        Extra columns of the range sketch and power iterations.

    Returns
    -------
    U : (m, k) array, s : (k,) array, V : (n, k) array
        ``A ~ U diag(s) V^T``.
    """
    m, n = shape
    q = min(k + n_oversamples, m, n)
    omega = to_namespace(rng.standard_normal((n, q)), xp, dev)
    Q = _cholesky_qr2(matmat(xp.astype(omega, dtype)), xp)
    for _ in range(n_iter):
        Z = _cholesky_qr2(rmatmat(Q), xp)
        Q = _cholesky_qr2(matmat(Z), xp)
    Q, _ = xp.linalg.qr(Q)  # the basis the answer is computed in: orthonormal to working precision
    B = xp.matrix_transpose(rmatmat(Q))  # q x n = Q^T A
    Ub, s, Vt = xp.linalg.svd(B, full_matrices=False)
    return (Q @ Ub)[:, :k], s[:k], xp.matrix_transpose(Vt[:k, :])


def _cholesky_qr2(Y, xp):
    """An orthonormal basis of the range of the tall ``Y`` by Cholesky QR applied twice.

    Two ``Y^T Y`` Gram products, ``q x q`` Cholesky factors and triangular
    inverses: matrix products only, ~15x faster than Householder QR on a
    ``1e5 x 20`` block (one BLAS thread). Orthonormal to about ``eps`` when
    ``cond(Y) <~ eps^-1/2``; beyond (a nearly rank-deficient block, where the
    Cholesky factorization fails or returns NaN) Householder QR is used.
    """
    for _ in range(2):
        G = xp.matrix_transpose(Y) @ Y
        try:
            L = xp.linalg.cholesky(G)
        except np.linalg.LinAlgError:  # NumPy-based namespaces raise on a matrix that is not positive definite
            return xp.linalg.qr(Y)[0]
        if not bool(xp.all(xp.isfinite(L))):  # CuPy returns NaN instead (one q x q check per call)
            return xp.linalg.qr(Y)[0]
        Y = Y @ xp.matrix_transpose(xp.linalg.inv(L))
    return Y
