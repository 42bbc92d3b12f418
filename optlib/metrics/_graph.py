"""Structure-recovery measures of an estimated directed graph against the truth.

The conventions are those of NOTEARS, DAGMA and CoLiDE: any nonzero entry
``B[i, j]`` is an edge ``i -> j``; an estimated edge whose reverse is a true
edge is *reversed*. The structural Hamming distance counts the edges to add
and to delete in the skeleton plus the reversed edges, so a reversed edge
costs one, not two. All counts are done with the array-API operations of the
inputs' namespace, on their device; the results are Python numbers.
"""

from .._backend import get_namespace
from .._validation import check_array

__all__ = ["count_accuracy", "fdr", "fpr", "nnz", "shd", "tpr"]


def _edge_sets(B_true, B_est):
    """Boolean edge masks of the two graphs, checked to be square and of equal shape."""
    xp = get_namespace(B_true, B_est)
    B_true = check_array(B_true, "B_true", xp=xp, ndim=2)
    B_est = check_array(B_est, "B_est", xp=xp, ndim=2)
    d = B_true.shape[0]
    if B_true.shape != (d, d):
        raise ValueError(f"B_true must be square, got shape {tuple(B_true.shape)}.")
    if B_est.shape != B_true.shape:
        raise ValueError(f"B_est has shape {tuple(B_est.shape)}, expected {tuple(B_true.shape)} like B_true.")
    return xp, B_true != 0, B_est != 0


def _count(xp, mask):
    return int(xp.sum(xp.astype(mask, xp.int64)))


def _counts(B_true, B_est):
    xp, cond, pred = _edge_sets(B_true, B_est)
    d = cond.shape[0]
    cond_t = xp.permute_dims(cond, (1, 0))
    extra = pred & ~cond
    skeleton_true = cond | cond_t
    skeleton_est = pred | xp.permute_dims(pred, (1, 0))
    return {
        "d": d,
        "n_true": _count(xp, cond),
        "n_pred": _count(xp, pred),
        "true_pos": _count(xp, pred & cond),
        "reversed": _count(xp, extra & cond_t),
        "false_pos": _count(xp, extra & ~cond_t),
        # skeleton differences, each unordered pair (and each self-loop) once
        "skeleton_extra": _count(xp, xp.tril(skeleton_est & ~skeleton_true)),
        "skeleton_missing": _count(xp, xp.tril(skeleton_true & ~skeleton_est)),
    }


def _rates(c):
    wrong = c["reversed"] + c["false_pos"]
    negatives = 0.5 * c["d"] * (c["d"] - 1) - c["n_true"]
    return {
        "fdr": wrong / max(c["n_pred"], 1),
        "tpr": c["true_pos"] / max(c["n_true"], 1),
        "fpr": wrong / max(negatives, 1),
        "shd": c["skeleton_extra"] + c["skeleton_missing"] + c["reversed"],
        "nnz": c["n_pred"],
    }


def count_accuracy(B_true, B_est):
    """All structure-recovery measures of ``B_est`` against ``B_true``.

    Parameters
    ----------
    B_true : array of shape (d, d)
        True graph; nonzero entries are edges ``i -> j`` (weighted or binary).
    B_est : array of shape (d, d)
        Estimated graph, same convention.

    Returns
    -------
    dict
        ``fdr`` (reversed plus false edges over estimated edges), ``tpr``
        (correctly oriented true edges over true edges), ``fpr`` (reversed
        plus false edges over the ``d (d - 1) / 2 - n_true`` non-edges of the
        true skeleton), ``shd`` (structural Hamming distance) and ``nnz``
        (number of estimated edges). Rates are 0 when their denominator is 0.

    Examples
    --------
    >>> import numpy as np
    >>> B_true = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    >>> B_est = np.array([[0, 0, 0], [1, 0, 0], [0, 0, 0]])   # 0 -> 1 reversed, 1 -> 2 missing
    >>> count_accuracy(B_true, B_est)["shd"]
    2
    """
    return _rates(_counts(B_true, B_est))


def shd(B_true, B_est):
    """Structural Hamming distance: skeleton edges added and deleted, plus reversed edges (each counts one).

    See :func:`count_accuracy` for the parameters.
    """
    return count_accuracy(B_true, B_est)["shd"]


def tpr(B_true, B_est):
    """True positive rate: correctly oriented true edges over true edges. See :func:`count_accuracy`."""
    return count_accuracy(B_true, B_est)["tpr"]


def fdr(B_true, B_est):
    """False discovery rate: reversed and false edges over estimated edges. See :func:`count_accuracy`."""
    return count_accuracy(B_true, B_est)["fdr"]


def fpr(B_true, B_est):
    """False positive rate: reversed and false edges over the true skeleton's non-edges. See :func:`count_accuracy`."""
    return count_accuracy(B_true, B_est)["fpr"]


def nnz(B_est):
    """Number of edges (nonzero entries) of ``B_est``."""
    xp = get_namespace(B_est)
    B_est = check_array(B_est, "B_est", xp=xp, ndim=2)
    return _count(xp, B_est != 0)
