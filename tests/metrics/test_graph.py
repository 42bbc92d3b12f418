"""Graph metrics against hand-counted examples and the NOTEARS definitions."""

import numpy as np
import pytest

from optlib.metrics import count_accuracy, fdr, fpr, nnz, shd, tpr


def _chain():
    B = np.zeros((4, 4))
    B[0, 1] = B[1, 2] = B[2, 3] = 1.0  # 0 -> 1 -> 2 -> 3
    return B


def test_hand_counted_example():
    B_true = _chain()
    B_est = np.zeros((4, 4))
    B_est[0, 1] = 0.7  # correct
    B_est[2, 1] = -1.2  # reversed 1 -> 2
    B_est[0, 3] = 2.0  # extra
    # missing 2 -> 3
    acc = count_accuracy(B_true, B_est)
    assert acc["shd"] == 3  # reversed (1) + extra (1) + missing (1)
    assert acc["nnz"] == 3
    assert acc["tpr"] == pytest.approx(1 / 3)
    assert acc["fdr"] == pytest.approx(2 / 3)
    assert acc["fpr"] == pytest.approx(2 / (6 - 3))
    assert (shd(B_true, B_est), nnz(B_est)) == (3, 3)
    assert tpr(B_true, B_est) == acc["tpr"] and fdr(B_true, B_est) == acc["fdr"] and fpr(B_true, B_est) == acc["fpr"]


def test_reversed_edge_counts_once_and_perfect_estimate_is_zero():
    B = _chain()
    assert shd(B, B) == 0 and fdr(B, B) == 0 and tpr(B, B) == 1
    assert shd(B, B.T) == 3  # every edge reversed, one each
    assert shd(B, np.zeros_like(B)) == 3 and tpr(B, np.zeros_like(B)) == 0
    assert fdr(B, np.zeros_like(B)) == 0  # no prediction: rate defined as 0


def _shd_bruteforce(B_true, B_est):
    """Independent count: for each unordered pair, 1 if the pair's edge state differs."""
    d = B_true.shape[0]
    total = 0
    for i in range(d):
        for j in range(i + 1, d):
            t = (B_true[i, j] != 0, B_true[j, i] != 0)
            e = (B_est[i, j] != 0, B_est[j, i] != 0)
            total += t != e
    return total


def test_shd_matches_pairwise_definition_on_random_dags():
    rng = np.random.default_rng(0)
    for _ in range(50):
        d = 8
        perm_t, perm_e = rng.permutation(d), rng.permutation(d)
        T = np.tril(rng.random((d, d)) < 0.3, -1)[np.ix_(perm_t, perm_t)]
        E = np.tril(rng.random((d, d)) < 0.3, -1)[np.ix_(perm_e, perm_e)]
        assert shd(T, E) == _shd_bruteforce(T, E)


def test_metrics_on_array_api_device(xp):
    B_true = xp.asarray(_chain())
    B_est = xp.asarray(_chain().T)
    assert shd(B_true, B_est) == 3 and nnz(B_est) == 3


def test_bad_input():
    with pytest.raises(ValueError, match="B_est has shape"):
        shd(np.zeros((3, 3)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="square"):
        shd(np.zeros((3, 4)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="NaN"):
        shd(np.zeros((2, 2)), np.full((2, 2), np.nan))
