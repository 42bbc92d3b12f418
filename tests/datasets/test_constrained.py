"""The equality-constrained problem collection: derivatives against finite differences, data sets."""

import numpy as np
import pytest
from scipy.optimize import approx_fprime, minimize

from optlib.datasets import (
    CONSTRAINED_PROBLEMS,
    load_constrained_problem,
    make_constrained_logistic,
    make_pde_control,
)


def _fd_jacobian(fn, x, eps=1e-7):
    return np.array([approx_fprime(x, lambda y, i=i: np.atleast_1d(fn(y))[i], eps)
                     for i in range(np.atleast_1d(fn(x)).shape[0])])


def _check_derivatives(p, x, rtol=1e-4):
    v = np.linspace(0.5, 1.5, p.m)
    scale = lambda a: max(1.0, np.max(np.abs(a)))  # noqa: E731
    g = p.grad(x)
    assert np.max(np.abs(approx_fprime(x, p.fun, 1e-7) - g)) <= rtol * scale(g)
    H = np.asarray(p.hess(x).todense() if hasattr(p.hess(x), "todense") else p.hess(x))
    assert np.max(np.abs(_fd_jacobian(p.grad, x) - H)) <= rtol * scale(H)
    J = p.cons_jac(x)
    J = np.asarray(J.todense()) if hasattr(J, "todense") else J
    assert J.shape == (p.m, p.n)
    assert np.max(np.abs(_fd_jacobian(p.cons_fun, x) - J)) <= rtol * scale(J)
    Hc = p.cons_hess(x, v)
    Hc = np.zeros((p.n, p.n)) if Hc is None else Hc
    fd = _fd_jacobian(lambda y: v @ (lambda A: np.asarray(A.todense()) if hasattr(A, "todense") else A)(p.cons_jac(y)), x)
    assert np.max(np.abs(fd - Hc)) <= rtol * scale(Hc)


@pytest.mark.parametrize("name", CONSTRAINED_PROBLEMS)
def test_derivatives_match_finite_differences(name):
    p = load_constrained_problem(name)
    x = p.x0 + 0.1 * np.random.default_rng(0).standard_normal(p.n)
    _check_derivatives(p, x)


def test_collection_shapes_and_published_sizes():
    sizes = {"HS6": (2, 1), "HS40": (4, 3), "HS56": (7, 4), "HS100LNP": (7, 2), "BT6": (5, 2), "BT11": (5, 3),
             "BT12": (5, 3), "CUBENE": (2, 2), "GOTTFR": (2, 2), "HIMMELBA": (2, 2)}
    for name, (n, m) in sizes.items():
        p = load_constrained_problem(name.lower())
        assert (p.n, p.m) == (n, m)
        assert p.x0.shape == (n,)
    assert len(CONSTRAINED_PROBLEMS) == 35


def test_known_optimum_attained_at_published_solutions():
    """f_opt and feasibility at closed-form minimisers (HS28, HS40, HS42, HS48)."""
    s2 = np.sqrt(2.0)
    points = {"HS28": [0.5, -0.5, 0.5], "HS40": [2 ** (-1 / 3), 2 ** (-1 / 2), 2 ** (-11 / 12), 2 ** (-1 / 4)],
              "HS42": [2, 2, 0.6 * s2, 0.8 * s2], "HS48": [1.0] * 5, "HS56": [2.4, 1.2, 1.2] + [np.arcsin(np.sqrt(1 / 4.2)) * 0 + np.arcsin(np.sqrt(2.4 / 4.2)), np.arcsin(np.sqrt(1.2 / 4.2)), np.arcsin(np.sqrt(1.2 / 4.2)), np.pi / 2]}
    for name, x in points.items():
        p = load_constrained_problem(name)
        x = np.asarray(x, dtype=float)
        assert abs(p.fun(x) - p.f_opt) <= 1e-9 * max(1, abs(p.f_opt)), name
        np.testing.assert_allclose(p.cons_fun(x), 0, atol=1e-9)


@pytest.mark.parametrize("name", ["BT6", "BT11", "CUBENE", "HIMMELBA"])
def test_published_optimum_reached_by_slsqp_from_standard_start(name):
    """The CUTEst optimal values (9 digits) agree with SLSQP from x0 to 1e-6 (BT6: 0.2770447888, BT11: 0.8248917783)."""
    p = load_constrained_problem(name)
    res = minimize(p.fun, p.x0, jac=p.grad, method="SLSQP", options={"ftol": 1e-14, "maxiter": 500},
                   constraints=[{"type": "eq", "fun": p.cons_fun, "jac": p.cons_jac}])
    assert np.max(np.abs(p.cons_fun(res.x))) <= 1e-9
    assert abs(res.fun - p.f_opt) <= 1e-6 * max(1.0, abs(p.f_opt))
    if name in ("CUBENE", "HIMMELBA"):  # nonlinear equations with one root
        np.testing.assert_allclose(res.x, [1.0, 1.0] if name == "CUBENE" else [5.0, 6.0], atol=1e-8)


def test_unknown_problem_name():
    with pytest.raises(ValueError, match="Unknown problem 'HS999'"):
        load_constrained_problem("HS999")


@pytest.mark.parametrize("dataset", ["synthetic", "breast_cancer", "digits", "wine"])
def test_logistic_problem_derivatives_and_feasibility(dataset):
    p = make_constrained_logistic(dataset, random_state=1)
    assert p.m == 11 and p.f_opt is None
    np.testing.assert_array_equal(p.x0, np.ones(p.n))
    np.testing.assert_array_equal(p.v0, np.ones(11))
    x = np.random.default_rng(0).standard_normal(p.n) / np.sqrt(p.n)
    _check_derivatives(p, x)


def test_logistic_unknown_dataset():
    with pytest.raises(ValueError, match="Unknown dataset 'iris'"):
        make_constrained_logistic("iris")


def test_pde_problem_structure_and_solution():
    p = make_pde_control(6)
    assert (p.n, p.m) == (72, 36)
    x = np.random.default_rng(0).standard_normal(p.n)
    _check_derivatives(p, x)
    np.testing.assert_allclose(p.hessp(x, x), p.hess(x) @ x)
    # 5-point stencil: interior row has 4/h^2 on the diagonal and -1/h^2 on four neighbours
    h = 2 / 7
    row = p.L[14].toarray().ravel()
    assert row[14] == pytest.approx(4 / h**2) and np.sum(row < 0) == 4
    xs, fs = p.solution()
    np.testing.assert_allclose(p.cons_fun(xs), 0, atol=1e-9)
    kkt_grad = p.grad(xs) + p.cons_jac(xs).T @ np.linalg.lstsq(p.cons_jac(xs).T.toarray(), -p.grad(xs), rcond=None)[0]
    assert np.linalg.norm(kkt_grad) <= 1e-8
    with pytest.raises(ValueError, match="N must be a positive integer"):
        make_pde_control(0)


@pytest.mark.parametrize("N", [5, 12])
def test_pde_solution_and_preconditioner_match_sparse_direct_solves(N):
    """solution() (DST-I) against a sparse LU of the KKT matrix; the preconditioner is diag(B^-1, (G B^-1 G^T)^-1)."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    p = make_pde_control(N)
    B = sp.diags(p._diag)
    K = sp.bmat([[B, p._jac.T], [p._jac, None]]).tocsc()
    rhs = np.concatenate([p.w_target, np.zeros(N * N), np.zeros(N * N)])
    x_ref = spsolve(K, rhs)[: p.n]
    x, f = p.solution()
    np.testing.assert_allclose(x, x_ref, atol=1e-10)
    assert f == pytest.approx(p.fun(x_ref), rel=1e-12)
    u = np.random.default_rng(0).standard_normal(p.n + p.m)
    S = (p._jac @ sp.diags(1 / p._diag) @ p._jac.T).toarray()
    expected = np.concatenate([u[: p.n] / p._diag, np.linalg.solve(S, u[p.n:])])
    np.testing.assert_allclose(p.preconditioner(p.x0, p.v0)(u), expected, rtol=1e-9, atol=1e-12)
