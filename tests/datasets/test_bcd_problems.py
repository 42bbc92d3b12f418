import numpy as np
import pytest
import scipy.sparse.linalg as spla

from optlib.datasets import (
    load_bcd_problem,
    make_bcd_least_squares,
    make_bcd_logistic,
    make_bcd_softmax,
    make_lattice_label_propagation,
    make_moons_label_propagation,
)


def test_problem_a_construction():
    p = make_bcd_least_squares(200, 500, random_state=0)
    assert p.A.shape == (200, 500)
    density = np.count_nonzero(p.A) / p.A.size
    assert density == pytest.approx(10 * np.log(200) / 200, rel=0.1)
    assert np.count_nonzero(p.x_true) / 500 == pytest.approx(0.1, abs=0.05)
    np.testing.assert_allclose(p.lipschitz, (p.A**2).sum(axis=0))
    assert np.linalg.norm(p.b - p.A @ p.x_true) < 3 * np.sqrt(200)


def test_same_seed_same_problem():
    a, b = (
        make_bcd_logistic(50, 80, random_state=3),
        make_bcd_logistic(50, 80, random_state=3),
    )
    np.testing.assert_array_equal(a.A, b.A)
    np.testing.assert_array_equal(a.b, b.b)
    assert set(np.unique(a.b)) <= {-1.0, 1.0}


def test_softmax_labels():
    p = make_bcd_softmax(100, 60, 7, random_state=1)
    assert p.Y.shape == (100, 7)
    np.testing.assert_array_equal(p.Y.argmax(axis=1), p.labels)


@pytest.mark.parametrize(
    "maker", [make_lattice_label_propagation, make_moons_label_propagation]
)
def test_label_propagation_quadratic(maker):
    kwargs = (
        {"shape": (12, 10), "n_labelled": 15}
        if maker is make_lattice_label_propagation
        else {"n_samples": 300, "n_labelled": 20}
    )
    p = maker(random_state=0, **kwargs)
    n_free = p.Q.shape[0]
    assert n_free == p.y.size - p.labelled.size
    np.testing.assert_allclose((p.Q - p.Q.T).toarray(), 0)
    assert spla.eigsh(p.Q, k=1, which="SA")[0][0] > 0  # positive definite
    # f(x) = 0.5 sum_ij w_ij (u_i - u_j)^2 over all nodes, u = labels on labelled, x on free
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n_free)
    u = p.y.copy()
    u[p.free] = x
    W = p.weights.tocoo()
    full = 0.25 * np.sum(W.data * (u[W.row] - u[W.col]) ** 2)  # each edge stored twice
    u0 = p.y.copy()
    u0[p.free] = 0
    const = 0.25 * np.sum(W.data * (u0[W.row] - u0[W.col]) ** 2)
    np.testing.assert_allclose(0.5 * x @ (p.Q @ x) - p.c @ x + const, full, rtol=1e-10)


def test_lattice_positions():
    p = make_lattice_label_propagation((6, 5), 4, random_state=2)
    assert p.positions.shape == (26, 2)
    np.testing.assert_array_equal(p.positions[:, 0] * 5 + p.positions[:, 1], p.free)


def test_load_by_name_and_errors():
    p = load_bcd_problem("L1", n_samples=30, n_features=40)
    assert p.lam == 5e4 and p.A.shape == (30, 40)
    with pytest.raises(ValueError, match="name"):
        load_bcd_problem("F")
    with pytest.raises(ValueError, match="n_labelled"):
        make_lattice_label_propagation((3, 3), 9)


@pytest.mark.parametrize(
    "kwargs",
    [{"shape": 10}, {"shape": (3, 3, 3)}, {"shape": (12, 12), "weight_range": 5.0}],
)
def test_lattice_pairs_are_checked(kwargs):
    name = "weight_range" if "weight_range" in kwargs else "shape"
    with pytest.raises(ValueError, match=name):
        make_lattice_label_propagation(**kwargs)
