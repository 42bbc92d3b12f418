"""Tests for optlib.linear_model.Lasso / ElasticNet against scikit-learn."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import linear_model as sk
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from optlib.linear_model import ElasticNet, Lasso


def _correlated(n=100, p=300, rho=0.9, seed=0):
    rng = np.random.RandomState(seed)
    # AR(1) correlation between features: X_j = rho X_{j-1} + sqrt(1-rho^2) e_j
    E = rng.randn(n, p)
    X = np.empty((n, p))
    X[:, 0] = E[:, 0]
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * E[:, j]
    w = np.zeros(p)
    w[rng.choice(p, 10, replace=False)] = rng.randn(10)
    y = X @ w + 0.1 * rng.randn(n) + 1.5
    return X, y


X_CORR, Y_CORR = _correlated()
SW = np.random.RandomState(1).uniform(0.1, 3.0, size=X_CORR.shape[0])


def _alpha_max(X, y, sw, fit_intercept, l1_ratio):
    n = X.shape[0]
    sw = np.ones(n) if sw is None else sw * n / sw.sum()
    if fit_intercept:
        Xc = X - sw @ X / n
        yc = y - sw @ y / n
    else:
        Xc, yc = X, y
    return np.max(np.abs(Xc.T @ (sw * yc))) / (n * l1_ratio)


def _objective(model, X, y, sw, l1_ratio):
    n = X.shape[0]
    sw = np.ones(n) if sw is None else sw * n / sw.sum()
    w = model.coef_.astype(np.float64)
    r = y - X @ w - model.intercept_
    return (
        0.5 * np.mean(sw * r**2)
        + model.alpha * l1_ratio * np.abs(w).sum()
        + 0.5 * model.alpha * (1 - l1_ratio) * w @ w
    )


@pytest.mark.parametrize("l1_ratio", [1.0, 0.7])
@pytest.mark.parametrize("ratio", [10, 100])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_sklearn_optimum(l1_ratio, ratio, fit_intercept, weighted):
    X, y = X_CORR, Y_CORR
    sw = SW if weighted else None
    alpha = _alpha_max(X, y, sw, fit_intercept, l1_ratio) / ratio
    params = {
        "alpha": alpha,
        "fit_intercept": fit_intercept,
        "tol": 1e-12,
        "max_iter": 100_000,
    }
    if l1_ratio == 1.0:
        ours, ref = Lasso(**params), sk.Lasso(**params)
    else:
        ours, ref = (
            ElasticNet(l1_ratio=l1_ratio, **params),
            sk.ElasticNet(l1_ratio=l1_ratio, **params),
        )
    ours.fit(X, y, sample_weight=sw)
    ref.set_params(tol=1e-14).fit(X, y, sample_weight=sw)
    f_ours = _objective(ours, X, y, sw, l1_ratio)
    f_ref = _objective(ref, X, y, sw, l1_ratio)
    assert f_ours <= f_ref * (1 + 1e-8)
    assert abs(f_ours - f_ref) <= 1e-8 * f_ref
    assert ours.dual_gap_ <= 1e-12 * np.sum(
        (y - (np.average(y, weights=sw) if fit_intercept else 0)) ** 2
    )
    if not fit_intercept:
        assert ours.intercept_ == 0.0


@pytest.mark.parametrize("use_working_set", [True, False])
@pytest.mark.parametrize("selection", ["cyclic", "random"])
def test_solver_variants_agree(use_working_set, selection):
    X, y = X_CORR, Y_CORR
    alpha = _alpha_max(X, y, None, True, 1.0) / 50
    ref = sk.Lasso(alpha=alpha, tol=1e-14, max_iter=100_000).fit(X, y)
    m = Lasso(
        alpha=alpha,
        tol=1e-12,
        max_iter=100_000,
        selection=selection,
        random_state=0,
        use_working_set=use_working_set,
    ).fit(X, y)
    f_ref = _objective(ref, X, y, None, 1.0)
    assert abs(_objective(m, X, y, None, 1.0) - f_ref) <= 1e-8 * f_ref


def test_positive():
    X, y = X_CORR, Y_CORR
    alpha = _alpha_max(X, y, None, True, 1.0) / 20
    ref = sk.Lasso(alpha=alpha, positive=True, tol=1e-14, max_iter=100_000).fit(X, y)
    m = Lasso(alpha=alpha, positive=True, tol=1e-12, max_iter=100_000).fit(X, y)
    assert np.all(m.coef_ >= 0)
    f_ref = _objective(ref, X, y, None, 1.0)
    assert abs(_objective(m, X, y, None, 1.0) - f_ref) <= 1e-8 * f_ref


def test_multi_target():
    X, y = X_CORR, Y_CORR
    Y = np.c_[y, -2 * y + 1]
    alpha = _alpha_max(X, y, None, True, 1.0) / 10
    m = Lasso(alpha=alpha, tol=1e-10).fit(X, Y)
    ref = sk.Lasso(alpha=alpha, tol=1e-12, max_iter=10_000).fit(X, Y)
    assert m.coef_.shape == (2, X.shape[1]) and m.intercept_.shape == (2,)
    np.testing.assert_allclose(m.predict(X), ref.predict(X), atol=1e-6)


def test_float32_preserved():
    X, y = X_CORR.astype(np.float32), Y_CORR.astype(np.float32)
    alpha = _alpha_max(X_CORR, Y_CORR, None, True, 1.0) / 10
    m = Lasso(alpha=alpha, tol=1e-6).fit(X, y)
    m64 = Lasso(alpha=alpha, tol=1e-10).fit(X_CORR, Y_CORR)
    assert m.coef_.dtype == np.float32
    assert m.predict(X).dtype == np.float32
    f32 = _objective(m, X_CORR, Y_CORR, None, 1.0)
    f64 = _objective(m64, X_CORR, Y_CORR, None, 1.0)
    assert abs(f32 - f64) <= 1e-4 * f64


def test_warm_start_reuses_coef():
    X, y = X_CORR, Y_CORR
    alpha = _alpha_max(X, y, None, True, 1.0) / 100
    cold = Lasso(alpha=alpha, tol=1e-10, max_iter=100_000).fit(X, y)
    warm = Lasso(alpha=alpha, tol=1e-10, max_iter=100_000, warm_start=True)
    warm.coef_ = cold.coef_.copy()
    warm.fit(X, y)
    assert warm.n_iter_ < cold.n_iter_
    np.testing.assert_allclose(warm.coef_, cold.coef_, atol=1e-6)
    # without warm_start a previous coef_ is ignored
    again = Lasso(alpha=alpha, tol=1e-10, max_iter=100_000)
    again.coef_ = cold.coef_.copy()
    assert again.fit(X, y).n_iter_ == cold.n_iter_


def test_convergence_warning():
    X, y = X_CORR, Y_CORR
    alpha = _alpha_max(X, y, None, True, 1.0) / 1000
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        m = Lasso(alpha=alpha, tol=1e-14, max_iter=3).fit(X, y)
    assert m.n_iter_ == 3 and m.dual_gap_ > 0


@pytest.mark.parametrize(
    "est, match",
    [
        (Lasso(alpha=-1.0), "alpha"),
        (ElasticNet(l1_ratio=1.5), "l1_ratio"),
        (ElasticNet(l1_ratio=-0.1), "l1_ratio"),
        (Lasso(selection="greedy"), "selection"),
        (Lasso(max_iter=0), "max_iter"),
    ],
)
def test_bad_parameters(est, match):
    with pytest.raises(ValueError, match=match):
        est.fit(X_CORR[:20, :5], Y_CORR[:20])


def test_bad_input():
    X, y = X_CORR[:20, :5].copy(), Y_CORR[:20].copy()
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Lasso().fit(Xn, y)
    yn = y.copy()
    yn[3] = np.inf
    with pytest.raises(ValueError, match="inf"):
        Lasso().fit(X, yn)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        Lasso().fit(X, y[:-1])
    with pytest.raises(ValueError, match="sample_weight"):
        Lasso().fit(X, y, sample_weight=np.ones(7))
    with pytest.raises(ValueError, match="sample_weight"):
        Lasso().fit(X, y, sample_weight=-np.ones(20))
    m = Lasso(alpha=0.01).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        m.predict(X[:, :3])


def test_import_optlib_does_not_import_numba():
    import subprocess
    import sys

    code = "import sys, optlib, optlib.linear_model; assert 'numba' not in sys.modules, 'numba imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


@parametrize_with_checks([Lasso(tol=1e-10), ElasticNet(alpha=0.5, tol=1e-10)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_pure_python_fallback_matches():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from optlib.linear_model import Lasso\n"
        "rng = np.random.RandomState(0); X = rng.randn(30, 8); y = X[:, 0] - 2 * X[:, 3] + 0.1 * rng.randn(30)\n"
        "m = Lasso(alpha=0.05, tol=1e-12, max_iter=10000).fit(X, y)\n"
        "assert 'numba' not in sys.modules\n"
        "print(repr(m.coef_.tolist()))\n"
    )
    env = dict(__import__("os").environ, OPTLIB_DISABLE_NUMBA="1")
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    rng = np.random.RandomState(0)
    X = rng.randn(30, 8)
    y = X[:, 0] - 2 * X[:, 3] + 0.1 * rng.randn(30)
    ref = Lasso(alpha=0.05, tol=1e-12, max_iter=10000).fit(X, y)
    np.testing.assert_allclose(eval(out), ref.coef_, atol=1e-8)


# -- sparse X ----------------------------------------------------------------------


def _sparse_problem(n=120, p=400, density=0.05, seed=0):
    rng = np.random.RandomState(seed)
    X = sp.random(n, p, density=density, format="csc", random_state=seed)
    X.data = rng.randn(X.nnz) + 0.5  # nonzero column means: centring matters
    w = np.zeros(p)
    w[rng.choice(p, 15, replace=False)] = rng.randn(15)
    y = X @ w + 0.1 * rng.randn(n) + 2.0
    return X, y


X_SP, Y_SP = _sparse_problem()
SW_SP = np.random.RandomState(2).uniform(0.1, 3.0, size=X_SP.shape[0])


@pytest.mark.parametrize("l1_ratio", [1.0, 0.6])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_matches_dense_and_sklearn(l1_ratio, fit_intercept, weighted):
    X, y = X_SP, Y_SP
    sw = SW_SP if weighted else None
    Xd = X.toarray()
    alpha = _alpha_max(Xd, y, sw, fit_intercept, l1_ratio) / 30
    params = {"alpha": alpha, "fit_intercept": fit_intercept, "tol": 1e-12, "max_iter": 100_000}
    make = (lambda **kw: Lasso(**kw)) if l1_ratio == 1.0 else (lambda **kw: ElasticNet(l1_ratio=l1_ratio, **kw))
    make_sk = (lambda **kw: sk.Lasso(**kw)) if l1_ratio == 1.0 else (
        lambda **kw: sk.ElasticNet(l1_ratio=l1_ratio, **kw)
    )
    data_before = X.data.copy()
    m_sp = make(**params).fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(X.data, data_before)  # input not modified
    m_d = make(**params).fit(Xd, y, sample_weight=sw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = make_sk(**dict(params, tol=1e-14)).fit(X, y, sample_weight=sw)
    f_sp = _objective(m_sp, Xd, y, sw, l1_ratio)
    f_d = _objective(m_d, Xd, y, sw, l1_ratio)
    f_ref = _objective(ref, Xd, y, sw, l1_ratio)
    assert abs(f_sp - f_d) <= 1e-8 * f_d
    assert f_sp <= f_ref * (1 + 1e-8)
    # the gap certifies the objective; with l1_ratio < 1 strong convexity bounds each fit's
    # distance to the optimum by sqrt(2 gap / (alpha (1 - l1_ratio))), here 5e-5
    atol = 1e-6 if l1_ratio == 1.0 else 1e-4
    np.testing.assert_allclose(m_sp.coef_, m_d.coef_, atol=atol)
    np.testing.assert_allclose(m_sp.intercept_, m_d.intercept_, atol=atol)
    np.testing.assert_allclose(m_sp.predict(X), m_d.predict(Xd), atol=atol)


@pytest.mark.parametrize("fmt", ["csr", "coo", "csc_array"])
def test_sparse_formats_not_modified(fmt):
    X = {"csr": sp.csr_matrix, "coo": sp.coo_matrix, "csc_array": sp.csc_array}[fmt](X_SP)
    before = X.copy()
    alpha = _alpha_max(X_SP.toarray(), Y_SP, SW_SP, True, 1.0) / 20
    m = Lasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(X, Y_SP, sample_weight=SW_SP)
    ref = Lasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(X_SP.toarray(), Y_SP, sample_weight=SW_SP)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-7)
    assert type(X) is type(before) and X.format == before.format
    assert (abs(X - before)).max() == 0


def test_sparse_duplicates_summed():
    # CSC with a duplicated entry (0, 0): values 1 + 2
    indptr = np.array([0, 3, 6])
    indices = np.array([0, 0, 2, 1, 2, 3])
    data = np.array([1.0, 2.0, 0.5, -1.0, 1.5, 2.0])
    X = sp.csc_matrix((data, indices, indptr), shape=(4, 2))
    y = np.array([1.0, -1.0, 0.5, 2.0])
    m = Lasso(alpha=0.01, tol=1e-12).fit(X, y)
    ref = Lasso(alpha=0.01, tol=1e-12).fit(X.toarray(), y)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-8)
    assert X.nnz == 6  # input left as it was


def test_sparse_positive_multitarget_float32():
    X, y = X_SP, Y_SP
    Y = np.c_[y, -y + 1.0]
    alpha = _alpha_max(X.toarray(), y, None, True, 1.0) / 20
    m = Lasso(alpha=alpha, positive=True, tol=1e-12, max_iter=100_000).fit(X, Y)
    ref = Lasso(alpha=alpha, positive=True, tol=1e-12, max_iter=100_000).fit(X.toarray(), Y)
    assert m.coef_.shape == (2, X.shape[1]) and np.all(m.coef_ >= 0)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-7)
    np.testing.assert_allclose(m.intercept_, ref.intercept_, atol=1e-7)
    X32 = X.astype(np.float32)
    m32 = Lasso(alpha=alpha, tol=1e-6).fit(X32, y.astype(np.float32))
    assert m32.coef_.dtype == np.float32 and m32.predict(X32).dtype == np.float32
    m64 = Lasso(alpha=alpha, tol=1e-12).fit(X, y)
    f32 = _objective(m32, X.toarray(), y, None, 1.0)
    f64 = _objective(m64, X.toarray(), y, None, 1.0)
    assert abs(f32 - f64) <= 1e-4 * f64


# -- support identification (working sets + Newton steps on the support) -----------


@pytest.mark.parametrize("ratio", [100, 1000])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.9])
@pytest.mark.parametrize("positive", [False, True])
def test_nearly_interpolating_support_matches_sklearn(ratio, l1_ratio, positive):
    # small alpha: support size close to n_samples, ill-conditioned, where the
    # Newton step on the support does most of the work; no feature nonzero at
    # the optimum may be left out.
    X, y = _correlated(n=60, p=200, rho=0.5, seed=3)
    alpha = _alpha_max(X, y, None, False, l1_ratio) / ratio
    params = {"alpha": alpha, "fit_intercept": False, "positive": positive, "max_iter": 1_000_000}
    if l1_ratio == 1.0:
        ours, ref = Lasso(tol=1e-12, **params), sk.Lasso(tol=1e-14, **params)
    else:
        ours = ElasticNet(l1_ratio=l1_ratio, tol=1e-12, **params)
        ref = sk.ElasticNet(l1_ratio=l1_ratio, tol=1e-14, **params)
    ours.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(X, y)
    f_ours = _objective(ours, X, y, None, l1_ratio)
    f_ref = _objective(ref, X, y, None, l1_ratio)
    assert f_ours <= f_ref + 1e-8 * abs(f_ref)
    big = np.abs(ref.coef_) > 1e-6 * np.abs(ref.coef_).max()
    assert np.all(ours.coef_[big] != 0)
    assert np.all(np.sign(ours.coef_[big]) == np.sign(ref.coef_[big]))


def test_newton_step_never_increases_objective():
    from optlib.linear_model import _cd_numba

    X, y = _correlated(n=50, p=120, rho=0.5, seed=4)
    X = np.asfortranarray(X)
    n = X.shape[0]
    alpha1 = n * _alpha_max(X, y, None, False, 1.0) / 50
    rng = np.random.RandomState(0)
    for _ in range(20):
        w = np.zeros(X.shape[1])
        S = rng.choice(X.shape[1], 15, replace=False)
        w[S] = rng.randn(15)
        R = y - X @ w
        f0 = 0.5 * R @ R + alpha1 * np.abs(w).sum()
        ws = np.arange(X.shape[1])
        _cd_numba._polish(X, y, w, R, ws, ws.size, alpha1, 0.0, False)
        np.testing.assert_allclose(R, y - X @ w, atol=1e-10)
        assert 0.5 * R @ R + alpha1 * np.abs(w).sum() <= f0 + 1e-12
        assert np.count_nonzero(w) <= 15


@pytest.mark.parametrize("fmt", ["dense", "csc", "csr"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_fused_finite_check(fmt, bad, fit_intercept, weighted):
    # X's finite check is fused with the kernels' first read of X: it must still raise
    X, y = X_CORR[:30, :8].copy(), Y_CORR[:30].copy()
    X[4, 5] = bad
    Xf = X if fmt == "dense" else getattr(sp, f"{fmt}_matrix")(X)
    sw = np.linspace(0.5, 2.0, 30) if weighted else None
    match = "NaN" if np.isnan(bad) else "infinity"
    for est in (Lasso(alpha=0.01, fit_intercept=fit_intercept), ElasticNet(alpha=0.01, fit_intercept=fit_intercept)):
        with pytest.raises(ValueError, match=match):
            est.fit(Xf, y, sample_weight=sw)


@pytest.mark.parametrize("fmt", ["dense", "csc"])
def test_fused_finite_check_overflow_is_an_overflow_error(fmt):
    # a finite X whose squared column norm overflows: not reported as NaN / inf, but as too large
    # (coordinate descent cannot update that coefficient: it used to stay 0 with a warning)
    X, y = X_CORR[:30, :8].copy(), Y_CORR[:30].copy()
    X[2, 1] = 1e200
    Xf = X if fmt == "dense" else sp.csc_matrix(X)
    with pytest.raises(ValueError, match="X holds values too large"):
        Lasso(alpha=0.01, fit_intercept=False).fit(Xf, y)


def test_prep_matches_kernel_norms_and_gradient():
    from optlib.linear_model import _cd_numba

    X, y = np.asfortranarray(X_CORR[:50, :40]), Y_CORR[:50].copy()
    norms2, xty = _cd_numba.prep(X, y)
    np.testing.assert_allclose(norms2, (X**2).sum(0), rtol=1e-12)
    np.testing.assert_allclose(xty, X.T @ y, rtol=1e-12, atol=1e-12)
    alpha1 = 0.05 * np.max(np.abs(X.T @ y))
    opts = (alpha1, 0.0, False, 10_000, 1e-12, False, 0, True, 10)
    w1, w2 = np.zeros(40), np.zeros(40)
    _cd_numba.enet_cd_ws(X, y, w1, y.copy(), *opts)
    _cd_numba.enet_cd_ws(X, y, w2, y.copy(), *opts, True, norms2, xty)
    np.testing.assert_allclose(w1, w2, rtol=1e-9, atol=1e-12)


# -- degenerate penalties: ridge (l1_ratio=0) and least squares (alpha=0) ------------


def _noisy(n, p, seed):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, p) + 0.3
    y = X @ rng.randn(p) + rng.randn(n) + 1.0
    return X, y


def _centred(X, y, fit_intercept):
    return (X - X.mean(0), y - y.mean()) if fit_intercept else (X, y)


@pytest.mark.parametrize("fmt", ["dense", "csc"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_l1_ratio_zero_matches_closed_form(fmt, fit_intercept):
    # p > the first working set (100): every coefficient must move
    X, y = _noisy(80, 240, seed=0)
    n, p = X.shape
    alpha = 0.3
    Xc, yc = _centred(X, y, fit_intercept)
    ref = np.linalg.solve(Xc.T @ Xc / n + alpha * np.eye(p), Xc.T @ yc / n)
    Xf = X if fmt == "dense" else sp.csc_matrix(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m = ElasticNet(alpha=alpha, l1_ratio=0.0, fit_intercept=fit_intercept, tol=1e-12).fit(Xf, y)
    np.testing.assert_allclose(m.coef_, ref, rtol=0, atol=1e-6 * np.abs(ref).max())
    if fit_intercept:
        np.testing.assert_allclose(m.intercept_, y.mean() - X.mean(0) @ ref, atol=1e-6)
    # the gap is a true bound: small at the optimum, and scikit-learn's ridge dual agrees
    assert 0 <= m.dual_gap_ <= 1e-12 * (yc @ yc)


@pytest.mark.parametrize("fmt", ["dense", "csc"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("shape", [(160, 110), (50, 120)])
def test_least_squares_alpha_zero_matches_lstsq(fmt, fit_intercept, shape):
    X, y = _noisy(*shape, seed=1)
    n = X.shape[0]
    Xc, yc = _centred(X, y, fit_intercept)
    w_ls = np.linalg.lstsq(Xc, yc, rcond=None)[0]
    f_ls = 0.5 * np.mean((yc - Xc @ w_ls) ** 2)
    Xf = X if fmt == "dense" else sp.csc_matrix(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m = Lasso(alpha=0.0, fit_intercept=fit_intercept, tol=1e-12, max_iter=100_000).fit(Xf, y)
    f = 0.5 * np.mean((y - X @ m.coef_ - m.intercept_) ** 2)
    assert f <= f_ls + 1e-9 * (yc @ yc) / n
    if shape[0] > shape[1]:  # unique solution
        np.testing.assert_allclose(m.coef_, w_ls, atol=1e-6 * np.abs(w_ls).max())


def test_nonnegative_least_squares_alpha_zero_matches_nnls():
    from scipy.optimize import nnls

    X, y = _noisy(150, 110, seed=2)
    w_ref = nnls(X, y)[0]
    m = Lasso(alpha=0.0, positive=True, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(m.coef_, w_ref, atol=1e-6)


# -- rank-deficient designs: the Newton step must never crash ----------------------


def test_newton_step_on_singular_support():
    # duplicated column: the support's Gram matrix is exactly singular
    from optlib.linear_model import _cd_numba

    rng = np.random.RandomState(0)
    X = rng.randn(30, 6)
    X[:, 5] = X[:, 0]
    X = np.asfortranarray(X)
    y = X @ np.array([1.0, -2.0, 0.0, 0.5, 0.0, 1.0]) + 0.1 * rng.randn(30)
    w = np.array([0.8, -1.5, 0.0, 0.3, 0.0, 0.9])
    R = y - X @ w
    alpha1 = 0.1
    f0 = 0.5 * R @ R + alpha1 * np.abs(w).sum()
    ws = np.arange(6)
    assert _cd_numba._polish(X, y, w, R, ws, 6, alpha1, 0.0, False)
    np.testing.assert_allclose(R, y - X @ w, atol=1e-10)
    assert 0.5 * R @ R + alpha1 * np.abs(w).sum() < f0


@pytest.mark.parametrize("positive", [False, True])
def test_rank_deficient_design_matches_sklearn(positive):
    # X = A (40x5) @ B (5x30): dense fits used to raise "Matrix is singular" in the Newton step
    alpha = 0.01
    for seed in range(20):
        rng = np.random.RandomState(seed)
        X = rng.randn(40, 5) @ rng.randn(5, 30)
        y = X @ rng.randn(30) + rng.randn(40)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # CD is slow here, for scikit-learn too
            m = Lasso(alpha=alpha, positive=positive).fit(X, y)
            ref = sk.Lasso(alpha=alpha, positive=positive).fit(X, y)
        f, f_ref = _objective(m, X, y, None, 1.0), _objective(ref, X, y, None, 1.0)
        # the returned gap certifies the objective: f - f* <= gap, and f* <= f_ref
        assert f - f_ref <= m.dual_gap_ + 1e-12
        assert np.isfinite(m.coef_).all() and (not positive or m.coef_.min() >= 0)
    # to tolerance, the same optimum as scikit-learn's
    m = Lasso(alpha=alpha, positive=positive, tol=1e-12, max_iter=100_000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = sk.Lasso(alpha=alpha, positive=positive, tol=1e-12, max_iter=100_000).fit(X, y)
    f, f_ref = _objective(m, X, y, None, 1.0), _objective(ref, X, y, None, 1.0)
    assert f <= f_ref * (1 + 1e-10)


# -- overflowing data: a clear error, never a NaN model -----------------------------


@pytest.mark.parametrize("fmt", ["dense", "csc"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("est", [ElasticNet(), Lasso(alpha=0.01)])
def test_overflowing_X_raises(fmt, dtype, est):
    rng = np.random.RandomState(0)
    X = (rng.rand(50, 10) * np.finfo(dtype).max).astype(dtype)
    y = rng.randn(50).astype(dtype)
    Xf = X if fmt == "dense" else sp.csc_matrix(X)
    with pytest.raises(ValueError, match="X holds values too large"):
        est.fit(Xf, y)


def test_overflowing_y_raises():
    rng = np.random.RandomState(0)
    X, y = rng.randn(50, 10), rng.rand(50) * np.finfo(float).max
    for fit_intercept in (True, False):
        with pytest.raises(ValueError, match="y holds values too large"):
            ElasticNet(fit_intercept=fit_intercept).fit(X, y)


# -- random_state and check_input -------------------------------------------------


@pytest.mark.parametrize(
    "random_state",
    [np.random.default_rng(0), np.random.RandomState(0), 0, None],
    ids=["Generator", "RandomState", "int", "None"],
)
def test_random_selection_accepts_any_random_state(random_state):
    X, y = X_CORR, Y_CORR
    alpha = _alpha_max(X, y, None, True, 1.0) / 20
    m = Lasso(alpha=alpha, selection="random", random_state=random_state, tol=1e-12, max_iter=100_000).fit(X, y)
    ref = Lasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(X, y)
    f_ref = _objective(ref, X, y, None, 1.0)
    assert abs(_objective(m, X, y, None, 1.0) - f_ref) <= 1e-9 * f_ref


def test_random_selection_reproducible_with_int_seed():
    X, y = X_CORR, Y_CORR
    alpha = _alpha_max(X, y, None, True, 1.0) / 20
    fits = [Lasso(alpha=alpha, selection="random", random_state=3, tol=1e-3).fit(X, y) for _ in range(2)]
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)
    assert fits[0].n_iter_ == fits[1].n_iter_


@pytest.mark.parametrize("fmt", ["dense", "csc"])
def test_check_input_false_skips_validation(fmt, monkeypatch):
    from optlib.linear_model import _coordinate_descent

    X = np.asfortranarray(X_CORR) if fmt == "dense" else sp.csc_matrix(X_CORR)
    alpha = _alpha_max(X_CORR, Y_CORR, SW, True, 1.0) / 20
    ref = Lasso(alpha=alpha, tol=1e-12).fit(X, Y_CORR, sample_weight=SW)

    def no_validation(*args, **kwargs):
        raise AssertionError("validate_data called with check_input=False")

    monkeypatch.setattr(_coordinate_descent, "validate_data", no_validation)
    monkeypatch.setattr(_coordinate_descent, "_check_sample_weight", no_validation)
    m = Lasso(alpha=alpha, tol=1e-12).fit(X, Y_CORR, sample_weight=SW, check_input=False)
    np.testing.assert_array_equal(m.coef_, ref.coef_)
    assert m.intercept_ == ref.intercept_ and m.n_features_in_ == X.shape[1]


def test_huge_sample_weights_do_not_overflow():
    # weights are relative: scaling them to near finfo.max must not change the fit (was: all zeros)
    alpha = _alpha_max(X_CORR, Y_CORR, SW, True, 1.0) / 20
    ref = Lasso(alpha=alpha, tol=1e-12).fit(X_CORR, Y_CORR, sample_weight=SW)
    big = SW / SW.max() * np.finfo(np.float64).max
    m = Lasso(alpha=alpha, tol=1e-12).fit(X_CORR, Y_CORR, sample_weight=big)
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=0, atol=1e-10)
    assert np.any(m.coef_ != 0)


def test_check_input_false_scalar_sample_weight():
    # a float weight is uniform (scikit-learn), with or without the input checks
    X = np.asfortranarray(X_CORR)
    alpha = _alpha_max(X_CORR, Y_CORR, None, True, 1.0) / 20
    ref = Lasso(alpha=alpha, tol=1e-12).fit(X, Y_CORR)
    for check_input in (True, False):
        m = Lasso(alpha=alpha, tol=1e-12).fit(X, Y_CORR, sample_weight=3.0, check_input=check_input)
        np.testing.assert_allclose(m.coef_, ref.coef_, rtol=0, atol=1e-12)
