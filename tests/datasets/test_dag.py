"""simulate_dag and simulate_linear_sem: structure, weights, noise moments, bad input."""

import networkx as nx
import numpy as np
import pytest

from optlib.datasets import simulate_dag, simulate_linear_sem


@pytest.mark.parametrize("graph_type", ["ER", "SF"])
def test_simulate_dag_is_acyclic_with_about_s0_weighted_edges(graph_type):
    counts = []
    for seed in range(20):
        W = simulate_dag(30, 60, graph_type, random_state=seed)
        assert nx.is_directed_acyclic_graph(nx.DiGraph(W))
        w = np.abs(W[W != 0])
        assert np.all((w >= 0.5) & (w <= 2.0))
        counts.append(np.count_nonzero(W))
    if graph_type == "SF":  # round(s0 / d) = 2 edges from every node but the first two
        assert counts == [1 + 2 * 28] * 20
    else:
        assert abs(np.mean(counts) - 60) < 4  # binomial mean 60, sd ~ 7.7 / sqrt(20)


def test_simulate_dag_reproducible_binary_and_signs():
    A = simulate_dag(10, 20, random_state=3, weight_range=None)
    assert set(np.unique(A)) <= {0.0, 1.0}
    np.testing.assert_array_equal(simulate_dag(10, 20, random_state=3), simulate_dag(10, 20, random_state=3))
    W = np.concatenate([simulate_dag(20, 40, random_state=s).ravel() for s in range(5)])
    assert 0.35 < np.mean(W[W != 0] > 0) < 0.65


def test_sf_hubs_have_many_parents():
    W = simulate_dag(200, 400, "SF", random_state=0)
    indegree = np.count_nonzero(W, axis=0)
    assert indegree.max() >= 20 and np.median(indegree) <= 2


@pytest.mark.parametrize("noise_type", ["gauss", "exp", "laplace", "gumbel"])
def test_linear_sem_noise_has_requested_standard_deviation(noise_type):
    W = simulate_dag(5, 6, random_state=0)
    scale = np.array([0.5, 1.0, 2.0, 3.0, 1.5])
    X = simulate_linear_sem(W, 50000, noise_type, noise_scale=scale, random_state=0)
    Z = X - X @ W  # the noise, exactly
    np.testing.assert_allclose(Z.std(axis=0), scale, rtol=0.03)
    if noise_type != "exp":
        skew_expected = {"gauss": 0.0, "laplace": 0.0, "gumbel": 1.1395}[noise_type]
        Zs = (Z - Z.mean(0)) / Z.std(0)
        np.testing.assert_allclose((Zs**3).mean(0), skew_expected, atol=0.1)


def test_linear_sem_bad_input():
    with pytest.raises(ValueError, match="cycle"):
        simulate_linear_sem(np.array([[0.0, 1.0], [1.0, 0.0]]), 10)
    with pytest.raises(ValueError, match="noise_scale"):
        simulate_linear_sem(np.zeros((3, 3)), 10, noise_scale=[1.0, 2.0])
    with pytest.raises(ValueError, match="noise_type"):
        simulate_linear_sem(np.zeros((3, 3)), 10, "cauchy")
    with pytest.raises(ValueError, match="square"):
        simulate_linear_sem(np.zeros((3, 2)), 10)
    with pytest.raises(ValueError, match="graph_type"):
        simulate_dag(3, 2, "BA")
