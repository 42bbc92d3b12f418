"""Tests of message-passing block coordinate descent (optlib.optimize.message_passing_bcd)."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from scipy.sparse.csgraph import connected_components

from optlib import ConvergenceWarning
from optlib.datasets import make_lattice_label_propagation, make_moons_label_propagation
from optlib.optimize import message_passing_bcd
from optlib.optimize._bcd import _message_passing_numba as kern
from optlib.optimize._bcd._message_passing import BLOCKS, _Graph, block_partition


@pytest.fixture(scope="module")
def lattice():
    return make_lattice_label_propagation((12, 12), n_labelled=15, random_state=0)


@pytest.fixture(scope="module")
def moons():
    return make_moons_label_propagation(300, n_labelled=20, random_state=0)


def _random_tree_spd(n, rng, n_trees=1):
    """SPD matrix whose off-diagonal pattern is a random forest with ``n_trees`` trees."""
    rows, cols = [], []
    for i in range(n_trees, n):
        rows.append(i)
        cols.append(int(rng.integers(0, i)))
    w = rng.uniform(-2.0, 2.0, len(rows))
    W = sp.coo_matrix((w, (rows, cols)), shape=(n, n))
    W = (W + W.T).tocsr()
    diag = np.abs(W).sum(axis=1).A1 + rng.uniform(0.1, 1.0, n)  # diagonally dominant
    perm = rng.permutation(n)
    Q = (W + sp.diags(diag)).tocsr()[perm][:, perm]
    return Q.tocsr()


def _forest(Q, nodes):
    """Whether the subgraph of Q's dependency graph induced by ``nodes`` is a forest (csgraph check)."""
    A = Q[nodes][:, nodes].tolil()
    A.setdiag(0)
    A = sp.csr_matrix(A)
    A.eliminate_zeros()
    n_edges = A.nnz // 2
    n_comp, _ = connected_components(A, directed=False)
    return n_edges == len(nodes) - n_comp


def _solve_block(Q, block, rhs):
    g = _Graph(sp.csr_matrix(Q))
    n = g.n
    m = len(block)
    work = [np.full(n, -1, dtype=np.int64)] + [
        np.empty(n, dtype=np.int64) for _ in range(2)
    ]
    work += [np.empty(n) for _ in range(4)]
    full_rhs = np.zeros(n)
    full_rhs[block] = rhs
    status = kern.tree_solve(
        np.asarray(block, dtype=np.int64),
        m,
        g.indptr,
        g.indices,
        g.data,
        g.diag,
        full_rhs,
        *work,
    )
    return status, work[-1][:m], work[0]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n_trees", [1, 3])
def test_tree_solve_matches_dense_solve(seed, n_trees):
    rng = np.random.default_rng(seed)
    n = 40
    Q = _random_tree_spd(n, rng, n_trees)
    rhs = rng.standard_normal(n)
    status, d, loc = _solve_block(Q, np.arange(n), rhs)
    assert status == kern.TREE_OK
    np.testing.assert_allclose(
        d, np.linalg.solve(Q.toarray(), rhs), rtol=1e-10, atol=1e-10
    )
    assert np.all(loc == -1)  # work array restored


def test_tree_solve_on_sub_block_and_cycle_detection(lattice):
    Q = lattice.Q
    blocks = block_partition(Q, "tree_partitions", positions=lattice.positions)
    rng = np.random.default_rng(1)
    for block in blocks:
        rhs = rng.standard_normal(block.size)
        status, d, _ = _solve_block(Q, block, rhs)
        assert status == kern.TREE_OK
        np.testing.assert_allclose(
            d,
            np.linalg.solve(Q[block][:, block].toarray(), rhs),
            rtol=1e-10,
            atol=1e-12,
        )
    status, _, loc = _solve_block(
        Q, np.arange(Q.shape[0]), np.ones(Q.shape[0])
    )  # whole lattice: cycles
    assert status == kern.TREE_CYCLE
    assert np.all(loc == -1)


def test_tree_solve_pure_python_path_agrees():
    rng = np.random.default_rng(3)
    Q = _random_tree_spd(15, rng)
    g = _Graph(Q)
    rhs = rng.standard_normal(15)
    out = []
    for solve in (
        kern.tree_solve,
        getattr(kern.tree_solve, "py_func", kern.tree_solve),
    ):
        work = [np.full(15, -1, dtype=np.int64)] + [
            np.empty(15, dtype=np.int64) for _ in range(2)
        ]
        work += [np.empty(15) for _ in range(4)]
        assert (
            solve(np.arange(15), 15, g.indptr, g.indices, g.data, g.diag, rhs, *work)
            == kern.TREE_OK
        )
        out.append(work[-1].copy())
    np.testing.assert_allclose(out[0], out[1], rtol=1e-13)


def test_tree_solve_reports_indefinite_block():
    Q = sp.csr_matrix(np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.5], [0.0, 0.5, 1.0]]))
    status, _, _ = _solve_block(Q, np.arange(3), np.ones(3))
    assert status == kern.TREE_NOT_PD
    with pytest.raises(ValueError, match="positive definite"):
        message_passing_bcd(Q, np.ones(3), max_iter=3)


@pytest.mark.parametrize(
    "problem, use_positions", [("lattice", True), ("lattice", False), ("moons", False)]
)
@pytest.mark.parametrize("kind", ["red_black", "tree_partitions"])
def test_fixed_partitions_are_forests(problem, kind, use_positions, request):
    P = request.getfixturevalue(problem)
    blocks = block_partition(
        P.Q, kind, positions=P.positions if use_positions else None
    )
    covered = np.sort(np.concatenate(blocks))
    np.testing.assert_array_equal(covered, np.arange(P.Q.shape[0]))
    for block in blocks:
        assert _forest(P.Q, block)
        if kind == "red_black":
            assert Q_offdiag_nnz(P.Q, block) == 0
    if use_positions:
        assert len(blocks) == 2


def Q_offdiag_nnz(Q, block):
    sub = sp.csr_matrix(Q[block][:, block])
    return sub.nnz - np.count_nonzero(sub.diagonal())


def test_lattice_without_positions_gets_two_colours(lattice):
    assert len(block_partition(lattice.Q, "red_black")) == 2


@pytest.mark.parametrize("problem", ["lattice", "moons"])
@pytest.mark.parametrize("kind", ["greedy_tree", "random_tree"])
@pytest.mark.parametrize("block_size", [None, 7])
def test_variable_tree_blocks_are_forests(problem, kind, block_size, request):
    P = request.getfixturevalue(problem)
    seen = []

    def record(res):
        seen.append(res.block_size)

    res = message_passing_bcd(
        P.Q,
        P.c,
        blocks=kind,
        block_size=block_size,
        max_iter=3,
        random_state=0,
        callback=record,
    )
    assert res.nit == 3
    if block_size is not None:
        assert all(s <= block_size for s in seen)
    # grow the block exactly as the solver does and check it with csgraph
    g = _Graph(P.Q)
    n = g.n
    grad = P.Q @ np.zeros(n) - P.c
    order = (
        np.argsort(-np.abs(grad), kind="stable")
        if kind == "greedy_tree"
        else np.random.default_rng(0).permutation(n)
    )
    out = np.empty(n, dtype=np.int64)
    m = kern.grow_forest(
        order.astype(np.int64),
        n if block_size is None else block_size,
        g.indptr,
        g.indices,
        np.zeros(n, dtype=np.int64),
        1,
        np.arange(n),
        np.empty(g.max_degree, dtype=np.int64),
        out,
    )
    block = out[:m]
    if block_size is not None:
        assert m == block_size
    assert _forest(P.Q, block)
    if block_size is None:  # maximal: every other node closes a cycle
        rest = np.setdiff1d(np.arange(n), block)
        for i in rest[:20]:
            assert not _forest(P.Q, np.append(block, i))


@pytest.mark.parametrize("problem", ["lattice", "moons"])
@pytest.mark.parametrize("kind", BLOCKS)
def test_converges_to_spsolve(problem, kind, request):
    P = request.getfixturevalue(problem)
    x_star = sla.spsolve(P.Q.tocsc(), P.c)
    positions = P.get("positions") if kind in ("red_black", "tree_partitions") else None
    block_size = 30 if kind == "greedy" else None
    res = message_passing_bcd(
        P.Q,
        P.c,
        blocks=kind,
        block_size=block_size,
        positions=positions,
        max_iter=20000,
        tol=1e-11,
        random_state=0,
        history=True,
    )
    assert res.success, (kind, res.nit)
    np.testing.assert_allclose(
        res.x, x_star, rtol=1e-7, atol=1e-8 * np.abs(x_star).max()
    )
    f = np.asarray(res.history["objective"])
    assert np.all(np.diff(f) <= 1e-9 * np.abs(f).max())  # monotone decrease
    np.testing.assert_allclose(
        res.grad, P.Q @ res.x - P.c, atol=1e-8 * np.abs(P.c).max()
    )
    assert res.fun == pytest.approx(
        0.5 * res.x @ (P.Q @ res.x) - P.c @ res.x, rel=1e-10
    )


def test_fixed_partition_selection_rules(moons):
    runs = {
        sel: message_passing_bcd(
            moons.Q, moons.c, blocks="red_black", selection=sel, max_iter=50
        )
        for sel in ("cyclic", "gs")
    }
    assert runs["gs"].n_blocks == runs["cyclic"].n_blocks > 2  # greedy colouring
    for res in runs.values():
        f = np.asarray(res.history["objective"])
        assert f[0] < 0.0 and np.all(np.diff(f) <= 0.0)  # f(0) = 0, then decreasing
    assert not np.array_equal(runs["gs"].x, runs["cyclic"].x)


def test_greedy_tree_beats_general_greedy_on_lattice():
    P = make_lattice_label_propagation((20, 20), n_labelled=30, random_state=1)
    x_star = sla.spsolve(P.Q.tocsc(), P.c)
    gaps = {}
    for kind in ("greedy_tree", "tree_partitions", "red_black", "greedy"):
        res = message_passing_bcd(
            P.Q,
            P.c,
            blocks=kind,
            positions=P.positions if kind in ("red_black", "tree_partitions") else None,
            max_iter=100,
        )
        e = res.x - x_star
        gaps[kind] = 0.5 * e @ (P.Q @ e)
    assert gaps["greedy_tree"] < gaps["red_black"] < gaps["greedy"]
    assert gaps["tree_partitions"] < gaps["red_black"]


def test_dense_input_warm_start_and_inputs_untouched(lattice):
    Qd = lattice.Q.toarray()
    c = lattice.c.copy()
    Qd0, c0 = Qd.copy(), c.copy()
    x0 = np.ones_like(c)
    res = message_passing_bcd(Qd, c, x0, max_iter=5)
    assert res.nit == 5
    np.testing.assert_array_equal(Qd, Qd0)
    np.testing.assert_array_equal(c, c0)
    np.testing.assert_array_equal(x0, 1.0)
    res_sparse = message_passing_bcd(lattice.Q, c, x0, max_iter=5)
    np.testing.assert_allclose(res.x, res_sparse.x, rtol=1e-12)


def test_stopping_rules_and_callback(lattice):
    res = message_passing_bcd(lattice.Q, lattice.c, tol=1e-6, max_iter=1000)
    assert res.success and res.status == 0 and res.nit < 1000
    assert res.grad_norm <= 1e-6 * np.linalg.norm(lattice.c)
    with pytest.warns(ConvergenceWarning):
        res = message_passing_bcd(
            lattice.Q, lattice.c, blocks="red_black", tol=1e-14, max_iter=2
        )
    assert not res.success and res.nit == 2
    calls = []

    def stop(r):
        calls.append(r.nit)
        if r.nit == 3:
            raise StopIteration

    res = message_passing_bcd(lattice.Q, lattice.c, callback=stop)
    assert res.status == 2 and res.nit == 3 and calls == [1, 2, 3]
    res = message_passing_bcd(lattice.Q, lattice.c, max_iter=4, history=False)
    assert (
        "history" not in res and not res.success
    )  # fixed iteration budget: no warning, status 1
    res = message_passing_bcd(
        lattice.Q, lattice.Q @ np.ones(lattice.Q.shape[0]), np.ones(lattice.Q.shape[0])
    )
    assert res.success and res.nit == 0


@pytest.mark.parametrize("blocks", ["greedy_tree", "red_black", "greedy"])
def test_callback_gets_a_copy_of_each_iterate(lattice, blocks):
    """Iterates stored by the callback stay as they were: they differ and match the history."""
    Q, c = lattice.Q, lattice.c
    stored = []
    res = message_passing_bcd(
        Q, c, blocks=blocks, max_iter=5, callback=lambda r: stored.append(r.x)
    )
    assert len(stored) == 5 and res.history["iteration"] == [1, 2, 3, 4, 5]
    for before, after in zip(stored, stored[1:]):
        assert not np.array_equal(before, after)
    np.testing.assert_array_equal(stored[-1], res.x)
    objectives = [0.5 * x @ (Q @ x) - c @ x for x in stored]
    np.testing.assert_allclose(objectives, res.history["objective"], rtol=1e-12)


def test_non_numpy_input_says_it_runs_on_the_host(lattice, xp):
    """Arrays of another library get a clear TypeError naming the argument, not a NumPy dtype error."""
    if xp.__name__.endswith("numpy"):
        pytest.skip("NumPy input is the supported one")
    Q, c = lattice.Q, lattice.c
    dense = xp.asarray(Q.toarray())
    for args, name in (
        ((dense, c), "Q"),
        ((Q, xp.asarray(c)), "c"),
        ((Q, c, xp.asarray(np.zeros_like(c))), "x0"),
    ):
        with pytest.raises(TypeError, match=f"runs on the host: {name} must be a NumPy"):
            message_passing_bcd(*args, max_iter=1)


def test_random_tree_is_reproducible(moons):
    a = message_passing_bcd(
        moons.Q, moons.c, blocks="random_tree", max_iter=5, random_state=3
    )
    b = message_passing_bcd(
        moons.Q, moons.c, blocks="random_tree", max_iter=5, random_state=3
    )
    np.testing.assert_array_equal(a.x, b.x)


def test_bad_inputs(lattice):
    Q, c = lattice.Q, lattice.c
    n = Q.shape[0]
    with pytest.raises(ValueError, match="square"):
        message_passing_bcd(np.ones((3, 4)), np.ones(3))
    with pytest.raises(ValueError, match="symmetric"):
        message_passing_bcd(np.array([[2.0, 1.0], [0.0, 2.0]]), np.ones(2))
    with pytest.raises(ValueError, match="positive diagonal"):
        message_passing_bcd(np.array([[2.0, 0.0], [0.0, 0.0]]), np.ones(2))
    with pytest.raises(ValueError, match="c has shape"):
        message_passing_bcd(Q, np.ones(n + 1))
    with pytest.raises(ValueError, match="c contains NaN"):
        message_passing_bcd(Q, np.full(n, np.nan))
    bad = Q.copy()
    bad.data[0] = np.inf
    with pytest.raises(ValueError, match="Q contains"):
        message_passing_bcd(bad, c)
    with pytest.raises(ValueError, match="Unknown blocks 'trees'"):
        message_passing_bcd(Q, c, blocks="trees")
    with pytest.raises(ValueError, match="Unknown selection"):
        message_passing_bcd(Q, c, blocks="red_black", selection="random")
    with pytest.raises(ValueError, match="block_size is not used"):
        message_passing_bcd(Q, c, blocks="red_black", block_size=3)
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        message_passing_bcd(Q, c, block_size=0)
    with pytest.raises(ValueError, match="x0 has shape"):
        message_passing_bcd(Q, c, np.ones(2))
    with pytest.raises(ValueError, match="positions must have shape"):
        message_passing_bcd(Q, c, blocks="red_black", positions=np.ones((2, 2)))
    shifted = lattice.positions + np.array([[0, 1]]) * (np.arange(n)[:, None] % 3 == 0)
    with pytest.raises(ValueError, match="positions do not"):
        message_passing_bcd(Q, c, blocks="red_black", positions=shifted)
    with pytest.raises(ValueError, match="tol must be"):
        message_passing_bcd(Q, c, tol=-1.0)
    with pytest.raises(TypeError, match="callback"):
        message_passing_bcd(Q, c, callback=3)


def test_pure_python_kernels_in_subprocess():
    """With OPTLIB_DISABLE_NUMBA=1 the same kernels run as plain Python and give the same iterates."""
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from optlib.datasets import make_lattice_label_propagation\n"
        "from optlib.optimize import message_passing_bcd\n"
        "P = make_lattice_label_propagation((6, 6), n_labelled=5, random_state=0)\n"
        "for b in ('greedy_tree', 'tree_partitions', 'red_black', 'greedy'):\n"
        "    r = message_passing_bcd(P.Q, P.c, blocks=b, max_iter=7)\n"
        "    print(' '.join(repr(float(v)) for v in r.x))\n"
    )
    env = dict(os.environ, OPTLIB_DISABLE_NUMBA="1")
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    P = make_lattice_label_propagation((6, 6), n_labelled=5, random_state=0)
    for line, b in zip(
        out.strip().splitlines(),
        ("greedy_tree", "tree_partitions", "red_black", "greedy"),
    ):
        x_py = np.array([float(v) for v in line.split()])
        np.testing.assert_allclose(
            x_py,
            message_passing_bcd(P.Q, P.c, blocks=b, max_iter=7).x,
            rtol=1e-12,
            atol=1e-12,
        )


def test_float32_in_float32_out():
    from optlib.datasets import make_lattice_label_propagation

    p = make_lattice_label_propagation((6, 6), 4, random_state=0)
    res = message_passing_bcd(
        p.Q.astype(np.float32), p.c.astype(np.float32), max_iter=20
    )
    assert res.x.dtype == np.float32 and res.grad.dtype == np.float32
    assert message_passing_bcd(p.Q, p.c, max_iter=20).x.dtype == np.float64
