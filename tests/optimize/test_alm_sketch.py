"""minimize_eq (AdaSketch-Newton) and the sketching solvers."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize

from optlib.datasets import CONSTRAINED_PROBLEMS, load_constrained_problem, make_constrained_logistic, make_pde_control
from optlib.optimize import minimize_eq
from optlib.optimize._sketching import SKETCHES, KKTOperator, sketch_solve
from tests.conftest import to_numpy

def _solve(p, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return minimize_eq(p.fun, p.x0, **{**p.minimize_kwargs(), "random_state": 0, **kw})


@pytest.mark.parametrize("name", CONSTRAINED_PROBLEMS)
def test_collection_solved_to_known_optimum(name):
    p = load_constrained_problem(name)
    res = _solve(p)
    assert res.success and res.status == 0
    assert res.kkt <= 1e-6 and res.kkt_history[-1] == res.kkt
    assert abs(res.fun - p.f_opt) <= 1e-6 * max(1.0, abs(p.f_opt))
    assert len(res.inner_iterations) == res.nit == len(res.kkt_history) - 1
    slsqp = minimize(p.fun, p.x0, jac=p.grad, method="SLSQP", options={"ftol": 1e-12, "maxiter": 500},
                     constraints=[{"type": "eq", "fun": p.cons_fun, "jac": p.cons_jac}])
    assert res.fun <= slsqp.fun + 1e-6 * max(1.0, abs(slsqp.fun))


def test_median_newton_iterations_on_collection():
    """Issue 14 targets: >= 90% solved, median Newton iterations <= 6 (default sketch)."""
    its, solved = [], 0
    for name in CONSTRAINED_PROBLEMS:
        p = load_constrained_problem(name)
        res = _solve(p)
        solved += res.success and abs(res.fun - p.f_opt) <= 1e-6 * max(1.0, abs(p.f_opt))
        its.append(res.nit)
    assert solved >= 0.9 * len(CONSTRAINED_PROBLEMS)
    assert np.median(its) <= 6


def test_hs61_rank_deficient_start_is_regularised():
    """HS61's Jacobian has rank one at its standard start x0 = 0 (was status 3 at iterate 0): the first
    step solves the regularised KKT system and the run converges to the published optimum."""
    p = load_constrained_problem("HS61")
    assert np.linalg.matrix_rank(p.cons_jac(p.x0)) == 1
    res = minimize_eq(p.fun, p.x0, **p.minimize_kwargs(), random_state=0)
    assert res.success and res.status == 0 and res.kkt <= 1e-6 and res.nit <= 8
    assert abs(res.fun - p.f_opt) <= 1e-6 * abs(p.f_opt)


def test_started_away_from_singular_point_hs61_is_solved():
    p = load_constrained_problem("HS61")
    res = minimize_eq(p.fun, np.array([5.0, -2.0, 3.0]), **p.minimize_kwargs(), random_state=0)
    assert res.success and abs(res.fun - p.f_opt) <= 1e-6 * abs(p.f_opt)


@pytest.mark.parametrize("sketch", SKETCHES)
def test_each_sketch_solves_hs_problems(sketch):
    for name in ("HS6", "HS40", "HS78", "BT5"):
        p = load_constrained_problem(name)
        res = _solve(p, sketch=sketch)
        assert res.success, (name, res.message)
        assert abs(res.fun - p.f_opt) <= 1e-6 * max(1.0, abs(p.f_opt))


def _random_kkt(n, m, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    B = A @ A.T / n + np.eye(n)
    G = rng.standard_normal((m, n))
    K = np.block([[B, G.T], [G, np.zeros((m, m))]])
    return K, rng.standard_normal(n + m)


@pytest.mark.parametrize("sketch", SKETCHES)
@pytest.mark.parametrize("engine", ["auto", "xp"])
def test_sketch_solvers_match_linalg_solve(sketch, engine):
    K, b = _random_kkt(6, 3, seed=1)
    op = KKTOperator(6, 3, None, K, np, b)
    z, r, it, _ = sketch_solve(op, b, sketch=sketch, tol=1e-10, max_iter=200_000, rng=np.random.default_rng(0),
                               block_size=4, adaptive_block=False, engine=engine)
    np.testing.assert_allclose(z, np.linalg.solve(K, b), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(r, K @ z - b, atol=1e-9)
    assert 0 < it < 200_000


@pytest.mark.parametrize("sketch", ["kaczmarz", "gaussian_block", "minres"])
def test_sketch_solvers_matrix_free(sketch):
    K, b = _random_kkt(5, 2, seed=2)
    op = KKTOperator(5, 2, lambda z: K @ z, None, np, b)
    z, _, _, _ = sketch_solve(op, b, sketch=sketch, tol=1e-10, max_iter=200_000, rng=np.random.default_rng(0))
    np.testing.assert_allclose(z, np.linalg.solve(K, b), rtol=1e-7, atol=1e-8)
    assert op.norm2() == pytest.approx(np.linalg.norm(K, 2), rel=1e-3)


def _pde_kkt(N):
    p = make_pde_control(N)
    K = sp.bmat([[sp.diags(p._diag), p._jac.T], [p._jac, None]]).toarray()
    return K, np.random.default_rng(0).standard_normal(K.shape[0])


def test_adaptive_block_solves_ill_conditioned_system():
    """PDE KKT matrix at N=3 (||K||_F / sigma_min = 726): a fixed block of 8 barely moves, the adaptive one solves it."""
    K, b = _pde_kkt(3)
    kw = dict(sketch="gaussian_block", tol=1e-9 * np.linalg.norm(b), max_iter=3000, block_size=8)
    fixed = sketch_solve(KKTOperator(18, 9, None, K, np, b), b, **kw, adaptive_block=False,
                         rng=np.random.default_rng(0))
    z, r, it, block = sketch_solve(KKTOperator(18, 9, None, K, np, b), b, **kw, rng=np.random.default_rng(0))
    assert np.linalg.norm(fixed[1]) > 0.1 * np.linalg.norm(b)  # stalls (the old default)
    np.testing.assert_allclose(z, np.linalg.solve(K, b), rtol=1e-6, atol=1e-8)
    assert 8 < block <= 27 and it < 1000


def test_stalled_sketch_stops_early():
    """A one-row sketch on a badly conditioned system gives up once its rate cannot reach tol in max_iter."""
    K, b = _pde_kkt(4)
    op = KKTOperator(32, 16, lambda z: K @ z, None, np, b)  # matrix-free: the vectorized loop
    z, r, it, _ = sketch_solve(op, b, sketch="kaczmarz", tol=1e-10, max_iter=1_000_000, rng=np.random.default_rng(0))
    assert it < 20_000 and np.linalg.norm(r) > 1e-10


def test_pde_gaussian_block_solved_at_small_n():
    """The gaussian_block sketch on the PDE ran for hours at N=3 (fixed block of 8): now one Newton step."""
    p = make_pde_control(3)
    res = _solve(p, v0=p.v0, sketch="gaussian_block", preconditioner=None)
    assert res.success and res.nit <= 2 and res.fun == pytest.approx(p.solution()[1], rel=1e-6)


@pytest.mark.parametrize(("sketch", "N"), [("kaczmarz", 12), pytest.param("gaussian_block", 8, marks=pytest.mark.slow)])
def test_pde_sketch_too_ill_conditioned_fails_cleanly(sketch, N):
    """Sketches that cannot solve the PDE's KKT systems stop with status 3 and a remedy, never a hang."""
    p = make_pde_control(N)
    with pytest.warns(Warning, match="no usable Newton step"):
        res = minimize_eq(p.fun, p.x0, **p.minimize_kwargs(preconditioned=False), v0=p.v0, sketch=sketch,
                          random_state=0)
    assert res.status == 3 and not res.success and "sketch='minres'" in res.message
    assert res.nit <= 2 and res.kkt == res.kkt_history[-1]


@pytest.mark.parametrize("dataset", ["synthetic", "breast_cancer", "digits", "wine"])
def test_logistic_within_ten_iterations_and_matches_slsqp(dataset):
    p = make_constrained_logistic(dataset, random_state=0)
    res = _solve(p, v0=p.v0)
    assert res.success and res.nit <= 10 and res.kkt <= 1e-6
    assert max(res.inner_iterations) < 1000  # adaptive blocks: no inner solve near max_inner
    slsqp = minimize(p.fun, p.x0, jac=p.grad, method="SLSQP", options={"ftol": 1e-12, "maxiter": 500},
                     constraints=[{"type": "eq", "fun": p.cons_fun, "jac": p.cons_jac}])
    assert res.fun == pytest.approx(slsqp.fun, rel=1e-6)


@pytest.mark.parametrize(("sketch", "N"), [("minres", 8)])
def test_pde_matrix_free_with_sparse_jacobian(sketch, N):
    p = make_pde_control(N)
    calls = []
    kwargs = p.minimize_kwargs(preconditioned=False)
    hessp = kwargs.pop("hessp")
    res = minimize_eq(p.fun, p.x0, hessp=lambda x, v: calls.append(1) or hessp(x, v), v0=p.v0, sketch=sketch,
                      random_state=0, **kwargs)
    x_star, f_star = p.solution()
    assert res.success and res.kkt <= 1e-6
    assert res.fun == pytest.approx(f_star, rel=1e-6)
    assert calls and res.nhev == len(calls)


def test_float32_policy():
    p = load_constrained_problem("HS42")
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    cons = {"fun": lambda x: f32(p.cons_fun(x)), "jac": lambda x: f32(p.cons_jac(x)),
            "hess": lambda x, v: f32(p.cons_hess(x, v))}
    res = minimize_eq(p.fun, p.x0.astype(np.float32), jac=lambda x: f32(p.grad(x)), hess=lambda x: f32(p.hess(x)),
                      constraints=cons, tol=1e-9, random_state=0)
    assert res.x.dtype == np.float32 and res.v.dtype == np.float32
    assert res.success and res.kkt <= 1e3 * np.finfo(np.float32).eps  # tol raised to 1e3 eps
    assert res.fun == pytest.approx(p.f_opt, rel=1e-5)


def test_dense_path_on_array_api_namespace(xp):
    """HS28 and HS6 written with xp operations: results stay in xp, on the input's device."""
    dev_x0 = xp.asarray([-4.0, 1.0, 1.0])
    dev = dev_x0.device
    Hq = xp.asarray([[2.0, 2.0, 0.0], [2.0, 4.0, 2.0], [0.0, 2.0, 2.0]], device=dev)
    a = xp.asarray([[1.0, 2.0, 3.0]], device=dev)

    def fun(x):
        return float((x[0] + x[1]) ** 2 + (x[1] + x[2]) ** 2)

    cons = {"fun": lambda x: a @ x - 1.0, "jac": lambda x: a, "hess": None}
    for sketch in ("gaussian_block", "kaczmarz"):
        res = minimize_eq(fun, dev_x0, jac=lambda x: Hq @ x, hess=lambda x: Hq, constraints=cons, sketch=sketch,
                          random_state=0)
        assert res.success and res.kkt <= 1e-6
        assert res.x.device == dev and res.v.device == dev
        np.testing.assert_allclose(to_numpy(res.x), [0.5, -0.5, 0.5], atol=1e-6)
    x0 = xp.asarray([-1.2, 1.0])
    e1 = xp.asarray([1.0, 0.0], device=dev)
    res = minimize_eq(lambda x: float((1 - x[0]) ** 2), x0, jac=lambda x: -2 * (1 - x[0]) * e1,
                      hess=lambda x: 2 * xp.reshape(xp.concat([e1, 0 * e1]), (2, 2)),
                      constraints={"fun": lambda x: xp.reshape(10 * (x[1] - x[0] ** 2), (1,)),
                                   "jac": lambda x: xp.reshape(xp.stack([-20 * x[0], 10 + 0 * x[0]]), (1, 2)),
                                   "hess": lambda x, v: -20 * v[0] * xp.reshape(xp.concat([e1, 0 * e1]), (2, 2))},
                      random_state=0)
    assert res.success and res.x.device == dev
    np.testing.assert_allclose(to_numpy(res.x), [1.0, 1.0], atol=1e-6)
    # the unit circle from the origin, where its Jacobian is zero (the regularised path): the closest point
    target = xp.asarray([1.0, 2.0], device=dev)
    res = minimize_eq(lambda x: float(xp.sum((x - target) ** 2)), xp.zeros(2, device=dev),
                      jac=lambda x: 2 * (x - target), hess=lambda x: 2 * xp.eye(2, device=dev), random_state=0,
                      constraints={"fun": lambda x: xp.reshape(xp.sum(x * x) - 1, (1,)),
                                   "jac": lambda x: 2 * x[None, :], "hess": lambda x, v: 2 * v[0] * xp.eye(2, device=dev)})
    assert res.success and res.x.device == dev
    np.testing.assert_allclose(to_numpy(res.x), np.array([1.0, 2.0]) / np.sqrt(5), atol=1e-6)


def test_input_not_modified_and_callback_history():
    p = load_constrained_problem("HS40")
    x0 = p.x0.copy()
    seen = []
    res = minimize_eq(p.fun, x0, **p.minimize_kwargs(), history=True, callback=lambda r: seen.append(r.kkt))
    np.testing.assert_array_equal(x0, p.x0)
    assert seen == res.kkt_history[1:] == res.history["kkt"]
    assert len(res.mu_history) == res.nit + 1 and res.nfev >= res.nit + 1

    def stop(r):
        raise StopIteration

    res = minimize_eq(p.fun, x0, **p.minimize_kwargs(), callback=stop)
    assert res.status == 2 and res.nit == 1 and not res.success


def test_superlinear_mode_sharpens_local_rate():
    """With a loose accuracy (psi=1, delta floor), theta_k -> 0 gives faster final contraction."""
    p = load_constrained_problem("HS7")
    base = _solve(p, sketch="kaczmarz", psi=1.0, tol=1e-10)
    fast = _solve(p, sketch="kaczmarz", psi=1.0, tol=1e-10, superlinear=True)
    assert base.success and fast.success
    assert fast.kkt_history[-1] <= 1e-10


def test_max_iter_warns_and_returns_iterate():
    p = load_constrained_problem("HS26")
    with pytest.warns(Warning, match="Maximum number of iterations"):
        res = minimize_eq(p.fun, p.x0, **p.minimize_kwargs(), max_iter=2)
    assert res.status == 1 and not res.success and res.nit == 2


def _hs6_parts():
    p = load_constrained_problem("HS6")
    return p, dict(p.minimize_kwargs())


def test_bad_inputs():
    p, kw = _hs6_parts()
    with pytest.raises(ValueError, match=r"constraints\['jac'\] returned shape \(1, 3\)"):
        minimize_eq(p.fun, p.x0, jac=p.grad, hess=p.hess,
                    constraints={"fun": p.cons_fun, "jac": lambda x: np.zeros((1, 3)), "hess": None})
    with pytest.raises(ValueError, match=r"jac returned shape \(3,\)"):
        minimize_eq(p.fun, p.x0, jac=lambda x: np.zeros(3), hess=p.hess, constraints=p.constraints)
    with pytest.raises(ValueError, match="non-finite value at x0"):
        minimize_eq(lambda x: np.nan, p.x0, **kw)
    with pytest.raises(ValueError, match="non-finite value at x0"):
        minimize_eq(p.fun, p.x0, jac=p.grad, hess=p.hess,
                    constraints={"fun": lambda x: np.array([np.nan]), "jac": p.cons_jac, "hess": None})
    with pytest.raises(ValueError, match="exactly one of hess"):
        minimize_eq(p.fun, p.x0, jac=p.grad, constraints=p.constraints)
    with pytest.raises(ValueError, match="constraints must provide 'hess'"):
        minimize_eq(p.fun, p.x0, jac=p.grad, hess=p.hess, constraints={"fun": p.cons_fun, "jac": p.cons_jac})
    with pytest.raises(ValueError, match="Unknown sketch 'srht'"):
        minimize_eq(p.fun, p.x0, **kw, sketch="srht")
    with pytest.raises(ValueError, match=r"v0 has shape \(2,\)"):
        minimize_eq(p.fun, p.x0, **kw, v0=np.zeros(2))
    with pytest.raises(ValueError, match="x0 must be 1-dimensional"):
        minimize_eq(p.fun, np.zeros((2, 1)), **kw)
    with pytest.raises(ValueError, match="rho must be > 1"):
        minimize_eq(p.fun, p.x0, **kw, rho=1.0)


def test_nan_along_the_way_backtracks():
    """A NaN objective beyond x1 > 1.5 makes the line search shorten the step, never a crash."""
    p, kw = _hs6_parts()
    res = minimize_eq(lambda x: np.nan if x[0] > 1.5 else p.fun(x), np.array([-1.2, 1.0]), **kw, random_state=0)
    assert res.success and abs(res.fun) <= 1e-10


def _hs6_twice(shift):
    """HS6's constraint twice, the copy shifted by ``shift``: a Jacobian of rank one everywhere."""
    p, _ = _hs6_parts()
    return {"fun": lambda x: np.concatenate([p.cons_fun(x), p.cons_fun(x) + shift]),
            "jac": lambda x: np.repeat(p.cons_jac(x), 2, axis=0),
            "hess": lambda x, v: p.cons_hess(x, v[:1] + v[1:])}


def test_dependent_consistent_constraints_are_solved():
    """Two copies of the same constraint (rank one everywhere; was status 3): HS6's solution and multiplier."""
    p, _ = _hs6_parts()
    res = minimize_eq(p.fun, p.x0, jac=p.grad, hess=p.hess, constraints=_hs6_twice(0.0), random_state=0)
    single = minimize_eq(p.fun, p.x0, **p.minimize_kwargs(), random_state=0)
    assert res.success and res.kkt <= 1e-6 and res.nit <= single.nit + 3
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-7)
    assert res.v[0] + res.v[1] == pytest.approx(single.v[0], rel=1e-6)


def test_inconsistent_constraints_fail_cleanly():
    """c and c + 1 (singular Jacobian, no feasible point): status 3 at the least-squares point, no hang."""
    p, _ = _hs6_parts()
    with pytest.warns(Warning, match="constraint Jacobian is singular.*inconsistent"):
        res = minimize_eq(p.fun, p.x0, jac=p.grad, hess=p.hess, constraints=_hs6_twice(1.0), random_state=0)
    assert res.status == 3 and not res.success and res.nit <= 20 and "local infeasibility" in res.message
    assert np.linalg.norm(p.cons_fun(res.x) + 0.5) <= 1e-6  # the least-squares value c = -1/2 of both
    with pytest.warns(Warning, match="singular"):  # a zero Jacobian everywhere
        res = minimize_eq(p.fun, p.x0, jac=p.grad, hess=p.hess,
                          constraints={"fun": lambda x: np.ones(1), "jac": lambda x: np.zeros((1, 2)), "hess": None})
    assert res.status == 3 and res.nit == 1


def test_jacobian_vanishing_at_the_solution_terminates():
    """c = x2^2: the Jacobian is zero at the solution (no LICQ); the regularised steps converge, no hang."""
    p, _ = _hs6_parts()
    res = minimize_eq(p.fun, p.x0, jac=p.grad, hess=p.hess, random_state=0,
                      constraints={"fun": lambda x: x[1:] ** 2, "jac": lambda x: np.array([[0.0, 2 * x[1]]]),
                                   "hess": lambda x, v: np.diag([0.0, 2 * v[0]])})
    assert res.success and res.nit <= 15 and abs(res.x[0] - 1) <= 1e-6 and abs(res.x[1]) <= 1e-3


def test_line_search_tolerates_merit_rounding_near_the_solution():
    """At kkt ~ 1e-9 the merit decrease (~kkt^2) is below eps |merit|: full steps still pass (were alpha -> 2e-7)."""
    p = load_constrained_problem("HS78")
    res = _solve(p, sketch="gaussian_block", block_size=2, psi=1.0, tol=1e-12, max_iter=30)
    assert res.success and res.kkt <= 1e-12 and res.nit <= 8
    assert min(res.alpha) == 1.0


def test_inner_solve_stops_at_useful_accuracy():
    """The inner tolerance is floored at 0.1 tol: a QP (PDE, N=8) with tol=1e-2 stops MINRES at ||r|| ~ 1e-4
    after 60 iterations (140 iterations and a residual of 3e-11 when the paper's condition alone decides)."""
    p = make_pde_control(8)
    loose = _solve(p, v0=p.v0, preconditioner=None, tol=1e-2)
    tight = _solve(p, v0=p.v0, preconditioner=None, tol=1e-8)
    assert loose.success and loose.nit == tight.nit == 1
    assert 1e-6 < loose.kkt <= 1e-3 and tight.kkt <= 1e-8
    assert loose.inner_iterations[0] <= 0.6 * tight.inner_iterations[0]


@pytest.mark.parametrize("N", [12, 40])
def test_preconditioned_minres_is_mesh_independent(N):
    """With the PDE's exact block preconditioner MINRES needs <= 5 iterations (unpreconditioned: 310 at N=12)."""
    p = make_pde_control(N)
    res = _solve(p, v0=p.v0, tol=1e-8)  # the problem's default keywords: MINRES and its preconditioner
    assert res.success and res.nit == 1 and res.inner_iterations[0] <= 5
    assert res.fun == pytest.approx(p.solution()[1], rel=1e-10)


def test_preconditioned_minres_matches_solve_on_random_kkt():
    K, b = _random_kkt(7, 3, seed=3)
    B, G = K[:7, :7], K[7:, :7]
    M = np.zeros_like(K)
    M[:7, :7] = np.linalg.inv(B)
    M[7:, 7:] = np.linalg.inv(G @ np.linalg.solve(B, G.T))
    op = KKTOperator(7, 3, lambda z: K @ z, None, np, b)
    z, r, it, _ = sketch_solve(op, b, sketch="minres", tol=1e-10, max_iter=100, rng=None, precond=lambda u: M @ u)
    np.testing.assert_allclose(z, np.linalg.solve(K, b), rtol=1e-8, atol=1e-9)
    assert it <= 5 and np.linalg.norm(r) <= 1e-10
    # an unattainable tolerance: stop once the true residual stalls at rounding level (PDE N=200 ran to max_iter)
    z, r, it, _ = sketch_solve(op, b, sketch="minres", tol=1e-30, max_iter=10_000, rng=None, precond=lambda u: M @ u)
    assert it <= 30 and np.linalg.norm(r) <= 1e-12
    with pytest.raises(ValueError, match="sketch='minres' only"):
        sketch_solve(op, b, sketch="kaczmarz", tol=1e-10, max_iter=10, rng=np.random.default_rng(0),
                     precond=lambda u: u)


def test_pde_problem_carries_its_preconditioner():
    p = make_pde_control(6)
    kwargs = p.minimize_kwargs()
    assert kwargs["sketch"] == "minres" and kwargs["preconditioner"] == p.preconditioner
    assert not {"sketch", "preconditioner"} & set(p.minimize_kwargs(preconditioned=False))
    res = minimize_eq(p.fun, p.x0, **kwargs, v0=p.v0, random_state=0)
    assert res.success and res.inner_iterations[0] <= 5


def test_preconditioner_needs_minres():
    p = make_pde_control(3)
    with pytest.raises(ValueError, match="preconditioner must be a callable"):
        minimize_eq(p.fun, p.x0, **p.minimize_kwargs(preconditioned=False), preconditioner=p.preconditioner)
