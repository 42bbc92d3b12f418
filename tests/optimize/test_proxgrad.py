"""Proximal gradient: reference optimum (scikit-learn Lasso), invariants, options, errors."""

import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, Lasso

from optlib.functions import L0, L1, LeastSquares, Magnitude, SmoothFunction, TopKSimplex
from optlib.optimize import proxgrad
from tests.conftest import to_numpy


def _lasso_problem(n=60, p=120, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:8] = rng.standard_normal(8)
    y = A @ w + 0.05 * rng.standard_normal(n)
    alpha = np.max(np.abs(A.T @ y)) / n / 10
    return A.astype(dtype), y.astype(dtype), alpha


def _objective(A, y, alpha, w):
    r = y - A @ w
    return 0.5 * r @ r / len(y) + alpha * np.abs(w).sum()


@pytest.fixture(scope="module")
def lasso_reference():
    A, y, alpha = _lasso_problem()
    sk = Lasso(alpha=alpha, fit_intercept=False, tol=1e-15, max_iter=1_000_000).fit(A, y)
    return A, y, alpha, _objective(A, y, alpha, sk.coef_)


def test_fista_reaches_sklearn_lasso_optimum(xp, lasso_reference):
    A, y, alpha, f_star = lasso_reference
    f = LeastSquares(xp.asarray(A), xp.asarray(y), scale=1 / len(y))
    x0 = xp.zeros(A.shape[1], dtype=xp.float64)
    res = proxgrad(f, L1(alpha), x0, restart="gradient", stop="gap", tol=1e-13, max_iter=20000)
    assert res.success
    w = to_numpy(res.x)
    assert abs(_objective(A, y, alpha, w) - f_star) <= 1e-9 * f_star
    assert abs(res.fun - f_star) <= 1e-9 * f_star
    assert type(res.x) is type(x0)
    assert res.x.device == x0.device


@pytest.mark.parametrize("method", ["fista", "ista"])
@pytest.mark.parametrize("restart", [None, "function", "gradient"])
@pytest.mark.parametrize("backtracking", [False, True])
def test_all_variants_converge(lasso_reference, method, restart, backtracking):
    A, y, alpha, f_star = lasso_reference
    f = LeastSquares(A, y, scale=1 / len(y))
    res = proxgrad(f, L1(alpha), np.zeros(A.shape[1]), method=method, restart=restart,
                   backtracking=backtracking, tol=1e-11, max_iter=50000)
    assert res.success
    assert abs(res.fun - f_star) <= 1e-8 * f_star


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_ista_objective_monotone(lasso_reference):
    A, y, alpha, _ = lasso_reference
    f = LeastSquares(A, y, scale=1 / len(y))
    res = proxgrad(f, L1(alpha), np.zeros(A.shape[1]), method="ista", history=True, max_iter=300, tol=1e-12)
    obj = np.array(res.history["objective"])
    assert np.all(np.diff(obj) <= 1e-14 * obj[0])
    assert len(res.history) == res.nit
    assert np.all(np.diff(res.history["time"]) >= 0)


def test_elastic_net_objective_matches_sklearn():
    from optlib.functions import ElasticNet as EN

    A, y, alpha = _lasso_problem(seed=3)
    sk = ElasticNet(alpha=alpha, l1_ratio=0.3, fit_intercept=False, tol=1e-15, max_iter=10**6).fit(A, y)
    f, g = LeastSquares(A, y, scale=1 / len(y)), EN(alpha, l1_ratio=0.3)
    ref = f(sk.coef_) + g(sk.coef_)
    res = proxgrad(f, g, np.zeros(A.shape[1]), restart="gradient", stop="gap", tol=1e-13, max_iter=20000)
    assert res.success
    assert abs(res.fun - ref) <= 1e-9 * ref


class _Quadratic(SmoothFunction):
    """0.5 x^T Q x - b^T x without a Lipschitz constant (forces backtracking)."""

    def __init__(self, Q, b):
        self.Q, self.b = Q, b

    def __call__(self, x):
        return float(0.5 * x @ self.Q @ x - self.b @ x)

    def grad(self, x):
        return self.Q @ x - self.b


def test_non_composite_function_with_backtracking():
    rng = np.random.default_rng(1)
    M = rng.standard_normal((20, 20))
    Q = M @ M.T + np.eye(20)
    b = rng.standard_normal(20)
    res = proxgrad(_Quadratic(Q, b), None, np.zeros(20), tol=1e-12, max_iter=20000)
    assert res.success
    np.testing.assert_allclose(res.x, np.linalg.solve(Q, b), rtol=1e-8, atol=1e-9)
    assert res.step < 1.0  # the step was shrunk from its default of 1


def test_absolute_tolerance_on_gradient_mapping(lasso_reference):
    A, y, alpha, _ = lasso_reference
    f, g = LeastSquares(A, y, scale=1 / len(y)), L1(alpha)
    res = proxgrad(f, g, np.zeros(A.shape[1]), tol=0.0, atol=1e-6, max_iter=20000, restart="gradient")
    assert res.success and res.residual <= 1e-6
    x_plus = g.prox(res.x - f.grad(res.x) / f.lipschitz, 1 / f.lipschitz)
    assert np.linalg.norm(res.x - x_plus) * f.lipschitz <= 1e-4  # near-stationary


def test_float32_preserved():
    A, y, alpha = _lasso_problem(dtype=np.float32)
    f = LeastSquares(A, y, scale=1 / len(y))
    res = proxgrad(f, L1(alpha), np.zeros(A.shape[1], dtype=np.float32), tol=1e-5)
    assert res.x.dtype == np.float32


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_inputs_not_modified(lasso_reference):
    A, y, alpha, _ = lasso_reference
    x0 = np.ones(A.shape[1])
    A_copy, y_copy, x0_copy = A.copy(), y.copy(), x0.copy()
    proxgrad(LeastSquares(A, y, scale=1 / len(y)), L1(alpha), x0, max_iter=50)
    np.testing.assert_array_equal(A, A_copy)
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(x0, x0_copy)


def test_callback_and_stop_iteration(lasso_reference):
    A, y, alpha, _ = lasso_reference
    seen = []

    def callback(intermediate_result):
        seen.append((intermediate_result.nit, intermediate_result.objective))
        if intermediate_result.nit == 5:
            raise StopIteration

    res = proxgrad(LeastSquares(A, y, scale=1 / len(y)), L1(alpha), np.zeros(A.shape[1]), callback=callback)
    assert res.nit == 5 and res.status == 2 and not res.success
    assert [s[0] for s in seen] == [1, 2, 3, 4, 5]


def test_max_iter_warns_and_returns_best(lasso_reference):
    A, y, alpha, f_star = lasso_reference
    f, g = LeastSquares(A, y, scale=1 / len(y)), L1(alpha)
    with pytest.warns(ConvergenceWarning, match="Maximum number of iterations"):
        res = proxgrad(f, g, np.zeros(A.shape[1]), max_iter=3, history=True)
    assert not res.success and res.status == 1 and res.nit == 3
    assert res.fun == pytest.approx(min(res.history["objective"]))
    assert res.fun == pytest.approx(f(res.x) + g(res.x))


def test_verbose_prints(lasso_reference, capsys):
    A, y, alpha, _ = lasso_reference
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        proxgrad(LeastSquares(A, y, scale=1 / len(y)), L1(alpha), np.zeros(A.shape[1]), max_iter=4, verbose=2)
    out = capsys.readouterr().out
    assert "iter     2" in out and "iter     4" in out and "iter     3" not in out


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(method="newton"), ValueError, "method"),
        (dict(restart="always"), ValueError, "restart"),
        (dict(stop="never"), ValueError, "stop"),
        (dict(step=-1.0), ValueError, "step"),
        (dict(tol=float("nan")), ValueError, "tol"),
        (dict(max_iter=0), ValueError, "max_iter"),
        (dict(shrink=1.5), ValueError, "shrink"),
        (dict(atol=-1.0), ValueError, "atol"),
    ],
)
def test_bad_options(lasso_reference, kwargs, exc, match):
    A, y, alpha, _ = lasso_reference
    with pytest.raises(exc, match=match):
        proxgrad(LeastSquares(A, y), L1(alpha), np.zeros(A.shape[1]), **kwargs)


def test_bad_inputs(lasso_reference):
    A, y, alpha, _ = lasso_reference
    f = LeastSquares(A, y)
    x0 = np.zeros(A.shape[1])
    x0[3] = np.nan
    with pytest.raises(ValueError, match="x0 contains NaN"):
        proxgrad(f, L1(alpha), x0)
    with pytest.raises(TypeError, match="g must be a proximable"):
        proxgrad(f, object(), np.zeros(A.shape[1]))
    with pytest.raises(TypeError, match="f must be a smooth"):
        proxgrad(L1(alpha), L1(alpha), np.zeros(A.shape[1]))
    with pytest.raises(ValueError, match="y has 59 rows but A has 60"):
        LeastSquares(A, y[:-1])
    A_bad = A.copy()
    A_bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="A contains infinite"):
        LeastSquares(A_bad, y)
    with pytest.raises(ValueError, match="stop='gap'"):
        proxgrad(_Quadratic(np.eye(2), np.ones(2)), L1(1.0), np.zeros(2), stop="gap")


@pytest.mark.parametrize(
    "g", [L0(0.1), TopKSimplex(3), Magnitude(L1(0.1)), None], ids=["L0", "TopKSimplex", "Magnitude", "None"]
)
def test_gap_stop_rejects_penalty_without_duality_gap_up_front(lasso_reference, g):
    A, y, _, _ = lasso_reference
    # max_iter < gap_every: no gap check ever runs, so only an up-front check can refuse
    with pytest.raises(ValueError, match="stop='gap' needs .*use stop='gradient_mapping'"):
        proxgrad(LeastSquares(A, y), g, np.zeros(A.shape[1]), stop="gap", max_iter=3, gap_every=10)


@pytest.mark.parametrize("shape", [(119,), (120, 1), (1, 120)])
def test_x0_of_wrong_shape_names_x0_and_expected_shape(lasso_reference, shape):
    A, y, alpha, _ = lasso_reference
    message = re.escape(f"x0 has shape {shape}, expected (120,)")
    with pytest.raises(ValueError, match=message):
        proxgrad(LeastSquares(A, y), L1(alpha), np.zeros(shape))
    Y = np.stack([y, 2 * y], axis=1)  # matrix unknown: x0 of shape (120, 2)
    with pytest.raises(ValueError, match=r"expected \(120, 2\)"):
        proxgrad(LeastSquares(A, Y), L1(alpha), np.zeros((120, 3)))


class _DistanceToPoint(SmoothFunction):
    """0.5 ||x - c||^2 (no input_shape declared)."""

    lipschitz = 1.0

    def __init__(self, c):
        self.c = c

    def __call__(self, x):
        return float(0.5 * np.sum((x - self.c) ** 2))

    def grad(self, x):
        return x - self.c


def test_x0_shape_checked_against_gradient_without_input_shape():
    f = _DistanceToPoint(np.ones(3))  # x0 of shape (1,) broadcasts against c of shape (3,)
    with pytest.raises(ValueError, match=r"x0 has shape \(1,\) but the gradient of f at x0 has shape \(3,\)"):
        proxgrad(f, None, np.zeros(1))


@pytest.mark.parametrize(
    "x0_dtype, a_dtype, expected",
    [("float32", "float64", "float64"), ("float64", "float32", "float64"),
     ("float32", "float32", "float32"), ("int64", "float32", "float64")],
)
def test_result_dtype_follows_result_float_dtype(xp, lasso_reference, x0_dtype, a_dtype, expected):
    A, y, alpha, _ = lasso_reference
    f = LeastSquares(xp.asarray(A, dtype=getattr(xp, a_dtype)), xp.asarray(y, dtype=getattr(xp, a_dtype)))
    x0 = xp.zeros(A.shape[1], dtype=getattr(xp, x0_dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = proxgrad(f, L1(alpha), x0, max_iter=5, history=True)
    assert res.x.dtype == getattr(xp, expected)
    assert res.x.device == x0.device
    assert res.fun == pytest.approx(min(res.history["objective"]), rel=1e-6)


def test_x0_returned_as_a_copy_in_the_working_dtype(lasso_reference):
    # A step so large that the first iterate overflows: the best iterate is x0 itself.
    A, y, alpha, _ = lasso_reference
    x0 = np.full(A.shape[1], 0.5, dtype=np.float32)
    with pytest.warns(ConvergenceWarning, match="non-finite"):
        with np.errstate(over="ignore", invalid="ignore"):
            res = proxgrad(LeastSquares(A, y), L1(alpha), x0, step=1e300)
    assert res.status == 3 and res.x is not x0
    assert res.x.dtype == np.float64
    np.testing.assert_array_equal(res.x, x0)
    res.x[0] = 7.0
    assert x0[0] == 0.5


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("method", ["fista", "ista"])
def test_callback_iterates_are_not_overwritten(lasso_reference, method):
    A, y, alpha, _ = lasso_reference
    f, g = LeastSquares(A, y, scale=1 / len(y)), L1(alpha)
    stored = []
    proxgrad(f, g, np.zeros(A.shape[1]), method=method, max_iter=8, tol=0.0, restart="gradient",
             callback=lambda r: stored.append((r.x, r.objective)))
    assert len(stored) == 8
    for (x, objective), (x_next, _) in zip(stored, stored[1:] + [(None, None)]):
        assert f(x) + g(x) == pytest.approx(objective, rel=1e-12)  # still the iterate of its iteration
        if x_next is not None:
            assert np.max(np.abs(x - x_next)) > 0


def test_host_observations_move_to_the_device_of_A(xp, lasso_reference):
    A, y, alpha, f_star = lasso_reference
    x0 = xp.zeros(A.shape[1], dtype=xp.float64)
    for y_host in (y, y.tolist()):
        f = LeastSquares(xp.asarray(A), y_host, scale=1 / len(y))
        assert type(f.y) is type(x0) and f.y.device == x0.device
        res = proxgrad(f, L1(alpha), x0, restart="gradient", stop="gap", tol=1e-12, max_iter=20000)
        assert res.success and res.x.device == x0.device
        assert abs(res.fun - f_star) <= 1e-9 * f_star
