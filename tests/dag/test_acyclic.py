"""is_dag and threshold_to_dag against networkx and a one-edge-at-a-time reference."""

import networkx as nx
import numpy as np
import pytest

from optlib.dag import is_dag, threshold_to_dag
from tests.conftest import to_numpy


def _remove_weakest_one_by_one(W, threshold):
    """Reference: zero |W| <= threshold, then drop edges in increasing |W| until networkx sees a DAG."""
    A = np.where(np.abs(W) > threshold, W, 0.0)
    for i, j in sorted(zip(*np.nonzero(A)), key=lambda e: abs(A[e])):
        if nx.is_directed_acyclic_graph(nx.DiGraph(A)):
            break
        A[i, j] = 0.0
    return A


def test_is_dag_matches_networkx():
    rng = np.random.default_rng(0)
    for d in (1, 2, 3, 7, 16, 17):
        for _ in range(20):
            A = (rng.random((d, d)) < 1.5 / d).astype(float)
            assert is_dag(A) == nx.is_directed_acyclic_graph(nx.DiGraph(A)), A


def test_three_cycle_loses_its_weakest_edge():
    W = np.zeros((3, 3))
    W[0, 1], W[1, 2], W[2, 0] = 1.0, -2.0, 0.5
    out = threshold_to_dag(W, 0.3)
    expected = W.copy()
    expected[2, 0] = 0.0
    np.testing.assert_array_equal(out, expected)
    assert W[2, 0] == 0.5  # input untouched


def test_threshold_to_dag_matches_one_by_one_removal():
    rng = np.random.default_rng(1)
    for _ in range(40):
        d = int(rng.integers(2, 12))
        W = rng.uniform(-2, 2, (d, d)) * (rng.random((d, d)) < 0.4)
        out = threshold_to_dag(W, 0.3)
        np.testing.assert_array_equal(out, _remove_weakest_one_by_one(W, 0.3))
        assert is_dag(out)


def test_on_array_api_device(xp):
    W = np.zeros((3, 3))
    W[0, 1], W[1, 2], W[2, 0], W[0, 2] = 1.0, -2.0, 0.5, 0.1
    Wx = xp.asarray(W)
    out = threshold_to_dag(Wx, 0.3)
    assert out.device == Wx.device and out.dtype == Wx.dtype
    assert not is_dag(Wx) and is_dag(out)
    np.testing.assert_array_equal(to_numpy(out), _remove_weakest_one_by_one(W, 0.3))


def test_bad_input():
    with pytest.raises(ValueError, match="square"):
        is_dag(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="threshold"):
        threshold_to_dag(np.zeros((2, 2)), -1.0)
