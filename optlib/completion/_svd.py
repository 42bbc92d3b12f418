"""Randomized top-k SVD of an operator given by its products (Halko, Martinsson, Tropp 2011)."""

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
    Q, _ = xp.linalg.qr(matmat(xp.astype(omega, dtype)))
    for _ in range(n_iter):
        Z, _ = xp.linalg.qr(rmatmat(Q))
        Q, _ = xp.linalg.qr(matmat(Z))
    B = xp.matrix_transpose(rmatmat(Q))  # q x n = Q^T A
    Ub, s, Vt = xp.linalg.svd(B, full_matrices=False)
    return (Q @ Ub)[:, :k], s[:k], xp.matrix_transpose(Vt[:k, :])
