"""minimize_eq edge regimes: units of c, non-finite Hessians along the way, copies to user functions."""

import numpy as np
import pytest

from optlib.datasets import load_constrained_problem, make_pde_control
from optlib.optimize import minimize_eq
from tests.conftest import to_numpy


@pytest.mark.parametrize("scale", [1e-8, 1e8])
def test_units_of_the_constraints_do_not_make_the_jacobian_rank_deficient(scale):
    """HS28 with c in other units (c -> scale c): a full-rank Jacobian of norm 3.7e-8 was taken as rank 0
    (absolute threshold 1e-6) and the run stopped with a false 'local infeasibility' (status 3)."""
    p = load_constrained_problem("HS28")
    cons = {"fun": lambda x: scale * p.cons_fun(x), "jac": lambda x: scale * p.cons_jac(x), "hess": None}
    res = minimize_eq(p.fun, p.x0, jac=p.grad, hess=p.hess, constraints=cons, random_state=0, tol=1e-9)
    assert res.success and res.status == 0
    np.testing.assert_allclose(res.x, [0.5, -0.5, 0.5], atol=1e-7)
    assert abs(scale * res.v[0]) <= 1e-7  # HS28's multiplier is 0 (its optimum is unconstrained)


def test_constraints_in_different_units_are_not_rank_deficient():
    """HS48 with its first constraint in units 1e-8 times smaller: the Jacobian's singular values differ by 1e8
    but its rows are independent (was taken as rank 1: 35 regularised iterations, then a false 'local
    infeasibility', status 3)."""
    p = load_constrained_problem("HS48")
    units = np.array([1e-8, 1.0])
    cons = {"fun": lambda x: units * p.cons_fun(x), "jac": lambda x: units[:, None] * p.cons_jac(x), "hess": None}
    ref = minimize_eq(p.fun, p.x0, **p.minimize_kwargs(), random_state=0)
    res = minimize_eq(p.fun, p.x0, jac=p.grad, hess=p.hess, constraints=cons, random_state=0)
    assert res.success and res.nit == ref.nit
    np.testing.assert_allclose(res.x, np.ones(5), atol=1e-6)  # tol applies to the KKT residual in c's units
    np.testing.assert_allclose(units * res.v, ref.v, atol=1e-6)


def test_small_jacobian_on_array_api_device(xp):
    """The relative rank test on a non-default device: a linear constraint scaled by 1e-8 is solved."""
    x0 = xp.asarray([-4.0, 1.0, 1.0])
    dev = x0.device
    Hq = xp.asarray([[2.0, 2.0, 0.0], [2.0, 4.0, 2.0], [0.0, 2.0, 2.0]], device=dev)
    a = 1e-8 * xp.asarray([[1.0, 2.0, 3.0]], device=dev)
    res = minimize_eq(lambda x: float((x[0] + x[1]) ** 2 + (x[1] + x[2]) ** 2), x0, jac=lambda x: Hq @ x,
                      hess=lambda x: Hq, constraints={"fun": lambda x: a @ x - 1e-8, "jac": lambda x: a, "hess": None},
                      random_state=0, tol=1e-9)
    assert res.success and res.x.device == dev
    np.testing.assert_allclose(to_numpy(res.x), [0.5, -0.5, 0.5], atol=1e-7)


def _nan_after(func, n_calls, shape):
    calls = [0]

    def wrapped(*args):
        calls[0] += 1
        return np.full(shape, np.nan) if calls[0] > n_calls else func(*args)

    return wrapped


@pytest.mark.parametrize("where", ["hess", "cons_hess"])
def test_non_finite_dense_hessian_at_a_later_iterate_is_a_status(where):
    """A NaN Hessian at iterate 2 (was LinAlgError 'SVD did not converge'): status 3, the last iterate."""
    p = load_constrained_problem("HS6")
    hess, cons = p.hess, dict(p.constraints)
    if where == "hess":
        hess = _nan_after(p.hess, 2, (2, 2))
    else:
        cons["hess"] = _nan_after(p.cons_hess, 2, (2, 2))
    with pytest.warns(Warning, match="non-finite values at iterate 2"):
        res = minimize_eq(p.fun, np.array([-1.2, 1.0]), jac=p.grad, hess=hess, constraints=cons, random_state=0)
    assert res.status == 3 and not res.success and res.nit == 2 and np.all(np.isfinite(res.x))
    assert res.fun == pytest.approx(p.fun(res.x))


@pytest.mark.parametrize("sketch", ["minres", "gaussian_block"])
def test_non_finite_hessian_product_stops_without_hanging(sketch):
    """hessp returning NaN from its 200th call on (iterate 1 or 2): was a near-endless loop (tol = NaN, mu raised
    to its cap at every Newton step, max_inner iterations per solve); now status 3 at that iterate."""
    p = load_constrained_problem("HS6")
    cons = {"fun": p.cons_fun, "jac": p.cons_jac, "hessp": lambda x, v, q: p.cons_hess(x, v) @ q}
    hessp = _nan_after(lambda x, q: p.hess(x) @ q, 200, 2)
    with pytest.warns(Warning, match="non-finite values at iterate"):
        res = minimize_eq(p.fun, np.array([-1.2, 1.0]), jac=p.grad, hessp=hessp, constraints=cons, sketch=sketch,
                          random_state=0, max_iter=50)
    assert res.status == 3 and res.nit < 50 and np.all(np.isfinite(res.x))


def test_user_functions_and_callback_get_copies():
    """fun, hess, constraints['jac'] and the callback mutating their x (was: the solver's own iterate)."""
    p = load_constrained_problem("HS6")
    ref = minimize_eq(p.fun, p.x0, **p.minimize_kwargs(), random_state=0)

    def fun(x):
        value = p.fun(x)
        x += 100.0
        return value

    def hess(x):
        out = p.hess(x)
        x[:] = 0.0
        return out

    def cjac(x):
        out = p.cons_jac(x)
        x *= -1
        return out

    def callback(intermediate):
        intermediate.x[:] = 7.0

    res = minimize_eq(fun, p.x0, jac=p.grad, hess=hess, random_state=0, callback=callback,
                      constraints={**p.constraints, "jac": cjac})
    assert res.success and res.nit == ref.nit
    np.testing.assert_array_equal(res.x, ref.x)


@pytest.mark.parametrize("preconditioned", [True, False])
def test_float32_kept_with_float64_sparse_jacobian_and_preconditioner(preconditioned):
    """The PDE problem (float64 sparse Jacobian and preconditioner) from a float32 start: x and v stay
    float32 (were float64: the Newton step came back in float64)."""
    p = make_pde_control(4)
    kwargs = p.minimize_kwargs(preconditioned=preconditioned)
    kwargs.setdefault("sketch", "minres")
    res = minimize_eq(p.fun, p.x0.astype(np.float32), **kwargs, v0=p.v0.astype(np.float32), random_state=0)
    assert res.x.dtype == np.float32 and res.v.dtype == np.float32
    assert res.success and res.fun == pytest.approx(p.solution()[1], rel=1e-5)


def test_inconsistent_constraints_detected_with_inexact_kaczmarz_steps():
    """HS6's constraint c and c + 1 with row-norm weighted Kaczmarz: its inexact steps stall at
    ||G^T c|| ~ 3e-6 ||G|| ||c|| (alpha ~ 6e-8); was no local-infeasibility verdict and max_iter reached."""
    p = load_constrained_problem("HS6")
    cons = {"fun": lambda x: np.concatenate([p.cons_fun(x), p.cons_fun(x) + 1]),
            "jac": lambda x: np.repeat(p.cons_jac(x), 2, axis=0), "hess": lambda x, v: p.cons_hess(x, v[:1] + v[1:])}
    with pytest.warns(Warning, match="local infeasibility"):
        res = minimize_eq(p.fun, p.x0, jac=p.grad, hess=p.hess, constraints=cons, sketch="kaczmarz_weighted",
                          random_state=0, max_iter=40)
    assert res.status == 3 and res.nit < 40
    assert np.linalg.norm(p.cons_fun(res.x) + 0.5) <= 1e-4  # the least-squares value c = -1/2 of both


def test_objective_returning_a_size_one_array():
    """fun returning shape (1,) (accepted by scipy.optimize.minimize; was a bare TypeError); other shapes: an error
    naming fun."""
    p = load_constrained_problem("HS6")
    res = minimize_eq(lambda x: np.array([p.fun(x)]), p.x0, **p.minimize_kwargs(), random_state=0)
    ref = minimize_eq(p.fun, p.x0, **p.minimize_kwargs(), random_state=0)
    assert res.success and res.fun == ref.fun and isinstance(res.fun, float)
    with pytest.raises(ValueError, match=r"fun must return a scalar.*shape \(2,\)"):
        minimize_eq(lambda x: x.copy(), p.x0, **p.minimize_kwargs())
