"""minimize_eq edge cases: inconsistent over-determined constraints, float32 noise floor, degenerate inputs."""

import warnings

import numpy as np
import pytest

from optlib.optimize import minimize_eq
from tests.conftest import to_numpy

# x = 1, y = 1, x + y = b3 (m = 3 > n = 2): consistent for b3 = 2, least-squares point (4/3, 4/3) for b3 = 3
_A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
_OBJECTIVES = {
    "half_norm": (lambda x: 0.5 * x @ x, lambda x: x, lambda x: np.eye(2)),
    "shifted": (lambda x: 0.5 * np.sum((x - [10.0, -10.0]) ** 2), lambda x: x - [10.0, -10.0], lambda x: np.eye(2)),
    "exp": (lambda x: np.sum(np.exp(x)), np.exp, lambda x: np.diag(np.exp(x))),
    "quartic": (lambda x: np.sum(x**4), lambda x: 4 * x**3, lambda x: np.diag(12 * x**2)),
    "scaled": (lambda x: 500 * x @ x, lambda x: 1000 * x, lambda x: 1000 * np.eye(2)),
}


def _three_lines(b3):
    b = np.array([1.0, 1.0, b3])
    return {"fun": lambda x: _A @ x - b, "jac": lambda x: _A, "hess": None}


@pytest.mark.parametrize("x0", [[0.0, 0.0], [5.0, -3.0]])
@pytest.mark.parametrize("objective", list(_OBJECTIVES))
def test_inconsistent_overdetermined_constraints_are_infeasible(objective, x0):
    """x = 1, y = 1, x + y = 3: the Newton steps stalled (mu -> 1e8 with alpha ~ 4e-15, or 0.3% progress per
    iteration) and ended at max_iter (status 1); now status 3 at the least-squares point within a few iterations."""
    f, g, h = _OBJECTIVES[objective]
    with pytest.warns(Warning, match="local infeasibility"):
        res = minimize_eq(f, np.array(x0), jac=g, hess=h, constraints=_three_lines(3.0), random_state=0, max_iter=300)
    assert res.status == 3 and not res.success and res.nit <= 10
    np.testing.assert_allclose(res.x, [4 / 3, 4 / 3], atol=1e-4)  # min ||c||, where ||c|| = 1/sqrt(3)


def test_inconsistent_and_restored_constraints_on_array_api_device(xp):
    """The restoration (solve, pinv, SVD of the unit-row Jacobian) on a non-default device: x = 1, y = 1,
    x + y = b3 with b3 = 3 (infeasible) and the consistent x = 1, x^3 = 1 from x0 = (10, 0)."""
    dev = xp.asarray([0.0]).device
    A = xp.asarray(_A, device=dev)
    kwargs = {"jac": lambda x: x, "hess": lambda x: xp.eye(2, device=dev), "random_state": 0}
    b = xp.asarray([1.0, 1.0, 3.0], device=dev)
    with pytest.warns(Warning, match="local infeasibility"):
        res = minimize_eq(lambda x: float(0.5 * xp.sum(x * x)), xp.asarray([5.0, -3.0], device=dev), **kwargs,
                          constraints={"fun": lambda x: A @ x - b, "jac": lambda x: A, "hess": None})
    assert res.status == 3 and res.x.device == dev
    np.testing.assert_allclose(to_numpy(res.x), [4 / 3, 4 / 3], atol=1e-4)
    cons = {"fun": lambda x: xp.stack([x[0] - 1, x[0] ** 3 - 1]),
            "jac": lambda x: xp.stack([xp.stack([xp.ones_like(x[0]), xp.zeros_like(x[0])]),
                                       xp.stack([3 * x[0] ** 2, xp.zeros_like(x[0])])]),
            "hess": lambda x, v: xp.stack([xp.stack([6 * x[0] * v[1], xp.zeros_like(x[0])]),
                                           xp.zeros(2, dtype=x.dtype, device=dev)])}
    res = minimize_eq(lambda x: float(0.5 * xp.sum(x * x)), xp.asarray([10.0, 1.0], device=dev), **kwargs,
                      constraints=cons)
    assert res.success and res.x.device == dev
    np.testing.assert_allclose(to_numpy(res.x), [1.0, 0.0], atol=1e-6)


@pytest.mark.parametrize("objective", list(_OBJECTIVES))
def test_consistent_overdetermined_and_redundant_constraints_converge(objective):
    """x = 1, y = 1, x + y = 2 (m > n, consistent) and x + y = 2 written twice (rank one): solved."""
    f, g, h = _OBJECTIVES[objective]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = minimize_eq(f, np.array([5.0, -3.0]), jac=g, hess=h, constraints=_three_lines(2.0), random_state=0)
    assert res.success and res.status == 0 and res.kkt <= 1e-6
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-6)
    twice = {"fun": lambda x: np.array([x[0] + x[1] - 2, x[0] + x[1] - 2]), "jac": lambda x: np.ones((2, 2)),
             "hess": None}
    res = minimize_eq(f, np.array([5.0, -3.0]), jac=g, hess=h, constraints=twice, random_state=0)
    assert res.success and res.kkt <= 1e-6 and abs(res.x[0] + res.x[1] - 2) <= 1e-6
    gx = g(res.x)
    assert abs(gx[0] - gx[1]) <= 1e-6  # stationary on the line: grad f parallel to (1, 1)


@pytest.mark.parametrize("x0", [[2.0, 0.0], [10.0, 0.0]])
def test_consistent_constraints_with_inconsistent_linearisations_converge(x0):
    """x = 1 and x^3 = 1 (m > n): G d = -c is inconsistent at every x != 1, yet the constraints are consistent.
    From x0 = (10, 0) the regularised steps ended at max_iter (status 1, kkt 2.1); the feasibility restoration
    reaches x = 1 and the Newton steps resume to the optimum."""
    cons = {"fun": lambda x: np.array([x[0] - 1, x[0] ** 3 - 1]),
            "jac": lambda x: np.array([[1.0, 0.0], [3 * x[0] ** 2, 0.0]]),
            "hess": lambda x, v: np.diag([6 * x[0] * v[1], 0.0])}
    target = np.array([3.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = minimize_eq(lambda x: 0.5 * np.sum((x - target) ** 2), np.array(x0), jac=lambda x: x - target,
                          hess=lambda x: np.eye(2), constraints=cons, random_state=0)
    assert res.success and res.status == 0 and res.nit <= 10
    np.testing.assert_allclose(res.x, [1.0, 2.0], atol=1e-6)


def _hs47(dtype):
    from optlib.datasets import load_constrained_problem

    p = load_constrained_problem("HS47")
    cast = lambda a: np.asarray(a, dtype=dtype)
    kwargs = {"jac": lambda x: cast(p.grad(x)), "hess": lambda x: cast(p.hess(x)),
              "constraints": {"fun": lambda x: cast(p.cons_fun(x)), "jac": lambda x: cast(p.cons_jac(x)),
                              "hess": lambda x, v: cast(p.cons_hess(x, v))}}
    return (lambda x: cast(p.fun(x))), p.x0.astype(dtype), kwargs


def test_hs47_float32_kaczmarz_tolerance_is_reachable_with_the_inner_budget():
    """HS47 float32 + Kaczmarz ended with status 3 at kkt 1.7e-4 (tol floored at 1e3 eps = 1.2e-4). Not float32
    resolution: float64 stops at the same iterate for the same reason (the KKT matrix turns singular at HS47's
    degenerate solution, f's Hessian of rank one there, and the one-row sketch's cost triples per Newton step:
    5e3, 2e4, 5e4, > max_inner = 1e5). With max_inner = 1e6 float32 reaches the tolerance."""
    verdicts = {}
    for dtype in (np.float32, np.float64):
        fun, x0, kwargs = _hs47(dtype)
        with pytest.warns(Warning, match="inner solver made no usable Newton step"):
            res = minimize_eq(fun, x0, **kwargs, sketch="kaczmarz", random_state=0, tol=1e3 * np.finfo(np.float32).eps)
        verdicts[dtype] = (res.status, res.nit)
    assert verdicts[np.float32] == verdicts[np.float64] == (3, 13)
    fun, x0, kwargs = _hs47(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = minimize_eq(fun, x0, **kwargs, sketch="kaczmarz", random_state=0, max_inner=10**6)
    assert res.success and res.x.dtype == np.float32 and res.kkt <= 1e3 * np.finfo(np.float32).eps
    assert res.fun <= 1e-6 and np.max(np.abs(res.x - 1)) <= 1e-2  # x* = ones, f* = 0 (degenerate: |x - x*| ~ kkt^0.5)


def _hs6_scaled(scale, dtype=np.float64):
    from optlib.datasets import load_constrained_problem

    p = load_constrained_problem("HS6")
    cast = lambda a: np.asarray(a, dtype=dtype)
    cons = {"fun": lambda x: cast(p.cons_fun(x)), "jac": lambda x: cast(p.cons_jac(x)),
            "hess": lambda x, v: cast(p.cons_hess(x, v))}
    kwargs = {"jac": lambda x: cast(scale * p.grad(x)), "hess": lambda x: cast(scale * p.hess(x)), "constraints": cons}
    return (lambda x: cast(scale * p.fun(x))), p.x0.astype(dtype), kwargs


@pytest.mark.parametrize("scale", [1e100, 1e150])
def test_huge_objective_scale_is_solved(scale):
    """HS6 with f scaled by 1e100 or 1e150: was OverflowError (psi**2, a Python float power); now solved."""
    fun, x0, kwargs = _hs6_scaled(scale)
    res = minimize_eq(fun, x0, **kwargs, random_state=0)
    assert res.success and res.status == 0
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-8)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # NumPy's norm of the gradient
@pytest.mark.parametrize(("scale", "dtype"), [(1e200, np.float64), (1e30, np.float32)])
def test_kkt_residual_overflowing_at_x0_raises(scale, dtype):
    """||grad f(x0)||^2 beyond the dtype's range: was OverflowError (float64) or status 3 blaming the Hessians
    (float32); now a ValueError naming x0 and the dtype."""
    fun, x0, kwargs = _hs6_scaled(scale, dtype)
    with pytest.raises(ValueError, match=f"KKT residual at x0.*too large for {np.dtype(dtype).name}"):
        minimize_eq(fun, x0, **kwargs, random_state=0)


def test_no_constraints_raises():
    """m = 0 was an IndexError from the SVD of the empty Jacobian."""
    with pytest.raises(ValueError, match=r"constraints\['fun'\] returned no constraint values \(m = 0\)"):
        minimize_eq(lambda x: 0.5 * x @ x, np.ones(2), jac=lambda x: x, hess=lambda x: np.eye(2),
                    constraints={"fun": lambda x: np.zeros(0), "jac": lambda x: np.zeros((0, 2)), "hess": None})


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_zero_jacobian_row(value):
    """A constraint with a zero Jacobian row: 0 = 0 is solved as HS6; 1 = 0 is a local infeasibility, stopped
    at a least-squares point of c (HS6's own constraint satisfied)."""
    from optlib.datasets import load_constrained_problem

    p = load_constrained_problem("HS6")
    cons = {"fun": lambda x: np.concatenate([p.cons_fun(x), [value]]),
            "jac": lambda x: np.vstack([p.cons_jac(x), np.zeros((1, 2))]), "hess": lambda x, v: p.cons_hess(x, v[:1])}
    if value == 0.0:
        res = minimize_eq(p.fun, p.x0, jac=p.grad, hess=p.hess, constraints=cons, random_state=0)
        assert res.success and res.fun == pytest.approx(p.f_opt, abs=1e-10)
        return
    with pytest.warns(Warning, match="local infeasibility"):
        res = minimize_eq(p.fun, p.x0, jac=p.grad, hess=p.hess, constraints=cons, random_state=0)
    assert res.status == 3 and res.nit <= 10 and abs(p.cons_fun(res.x)[0]) <= 1e-6
