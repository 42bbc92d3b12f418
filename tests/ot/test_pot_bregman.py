"""POT's ``test/test_bregman.py``, adapted to optlib's Sinkhorn-type solvers.

Source: github.com/PythonOT/POT, ``test/test_bregman.py`` (commit aed01202,
MIT License, authors listed there). Each kept test has POT's name and
problem; ``ot.sinkhorn(..., method=...)`` / ``ot.bregman.sinkhorn_log`` /
``ot.sinkhorn2`` are swapped for optlib's ``sinkhorn_log`` /
``sinkhorn_log2`` and ``sinkhorn_newton_sparse`` /
``sinkhorn_newton_sparse2`` (parametrized over both), with POT's own
solvers kept as the references where the original compared methods.

Kept (sinkhorn / sinkhorn_log-like calls): test_sinkhorn,
test_convergence_warning, test_nan_warning, test_sinkhorn_stabilization,
test_sinkhorn_multi_b, test_sinkhorn_backends, test_sinkhorn2_backends,
test_sinkhorn_empty, test_sinkhorn_variants,
test_sinkhorn_variants_dtype_device, test_sinkhorn2_variants_dtype_device,
test_sinkhorn_variants_multi_b, test_sinkhorn2_variants_multi_b,
test_sinkhorn_variants_log, test_sinkhorn_variants_log_multib,
test_stabilized_vs_sinkhorn_multidim, test_sinkhorn_warmstart.

Adaptations:

* POT's backend fixture ``nx`` (NumPy, PyTorch, JAX, TensorFlow, CuPy) is
  replaced by optlib's array namespaces: NumPy, array_api_strict on a
  non-default device and CuPy when a GPU is usable for ``sinkhorn_log``;
  NumPy and CuPy for ``sinkhorn_newton_sparse``, which needs
  scipy.sparse / cupyx.scipy.sparse.
* ``test_nan_warning``: POT runs ``reg=0`` and warns about NaN; optlib
  rejects ``reg=0`` with a ``ValueError`` naming ``reg``.
* ``test_sinkhorn_stabilization``: POT compares ``sinkhorn_log`` with
  ``sinkhorn_stabilized`` at ``reg=1e-5`` (``max(M) / reg`` about 1e9); here
  optlib's ``sinkhorn_log2`` with POT's ``sinkhorn_stabilized``. Neither
  converges in 1000 iterations (optlib warns): both return the cost 0.0 of
  the same stuck diagonal plan, whereas ``ot.emd2`` gives 99.3. SNS is left
  out of this test: it does not reach ``stopThr`` there either within its
  100 Newton iterations (cost 99.75, marginal error 2e-3).
* Method loops (``"sinkhorn"``, ``"sinkhorn_stabilized"``, ...) become the
  two optlib solvers; POT's ``ot.sinkhorn`` (Sinkhorn-Knopp) stays the
  reference of the "variants" tests. ``verbose=True`` runs are kept.

Skipped, and why:

* other POT solvers, out of optlib's scope: barycenters
  (test_barycenter*, test_convergence_warning_barycenters,
  test_wasserstein_bary_2d*, test_free_support_sinkhorn_barycenter,
  test_convolutional_barycenter_non_square), test_unmix, empirical and
  lazy Sinkhorn and divergences (test_empirical_sinkhorn*,
  test_lazy_empirical_sinkhorn, test_geomloss_solver), test_screenkhorn,
  and the barycenter part of test_convergence_warning;
* the ``method=`` dispatcher of ``ot.sinkhorn``, which optlib has no
  counterpart of (one function per solver): test_not_implemented_method,
  test_implemented_methods;
* backends optlib does not support (automatic differentiation, TensorFlow
  devices): test_sinkhorn2_gradients, test_sinkhorn2_variants_device_tf;
* POT's ``stopThr`` is the L2 marginal error checked every 10 iterations;
  optlib's is the L1 error checked every iteration, raised to 50 machine
  epsilons (tolerances below are POT's, which these meet).
"""

import warnings
from itertools import product

import numpy as np
import pytest

from optlib._backend import device
from optlib.ot import (
    sinkhorn_log,
    sinkhorn_log2,
    sinkhorn_newton_sparse,
    sinkhorn_newton_sparse2,
)
from tests.conftest import _load_namespace, to_numpy

ot = pytest.importorskip("ot")

SOLVERS = {
    "sinkhorn_log": (sinkhorn_log, sinkhorn_log2),
    "sns": (sinkhorn_newton_sparse, sinkhorn_newton_sparse2),
}
METHODS = list(SOLVERS)


@pytest.fixture(
    params=[
        ("numpy", "sinkhorn_log"),
        ("array_api_strict", "sinkhorn_log"),
        ("cupy", "sinkhorn_log"),
        ("numpy", "sns"),
        ("cupy", "sns"),
    ],
    ids=lambda p: "-".join(p),
)
def nx_method(request):
    """(namespace, plan solver, loss solver): POT's ``nx`` fixture crossed with the solvers."""
    name, method = request.param
    return (_load_namespace(name), *SOLVERS[method])


def _unif(n):
    return np.full(n, 1.0 / n)


def _gauss(n, m, s):
    x = np.arange(n, dtype=np.float64)
    h = np.exp(-((x - m) ** 2) / (2 * s**2))
    return h / h.sum()


def _dist(x, y):
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


def _dist0(n):
    x = np.arange(n, dtype=np.float64)[:, None]
    return _dist(x, x)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("verbose, warn", product([True, False], [True, False]))
def test_sinkhorn(method, verbose, warn):
    plan, _ = SOLVERS[method]
    n = 100
    rng = np.random.RandomState(0)
    x = rng.randn(n, 2)
    u = _unif(n)
    M = _dist(x, x)

    G = plan(u, u, M, 1, stopThr=1e-10, verbose=verbose, warn=warn)

    np.testing.assert_allclose(u, G.sum(1), atol=1e-05)
    np.testing.assert_allclose(u, G.sum(0), atol=1e-05)

    with pytest.warns(UserWarning):
        plan(u, u, M, 1, stopThr=0, numItermax=1)


@pytest.mark.parametrize("method", METHODS)
def test_convergence_warning(method):
    plan, loss = SOLVERS[method]
    n = 100
    a1 = _gauss(n, 30, 10)
    a2 = _gauss(n, 40, 10)
    M = _dist0(n)
    # SNS: one Sinkhorn warm-up iteration and one Newton iteration (POT's numItermax=1 counts iterations)
    kw = {"n_sinkhorn": 1} if method == "sns" else {}

    with pytest.warns(UserWarning):
        plan(a1, a2, M, 1.0, stopThr=0, numItermax=1, **kw)
    with pytest.warns(UserWarning):
        loss(a1, a2, M, 1, stopThr=0, numItermax=1, warn=True, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss(a1, a2, M, 1, stopThr=0, numItermax=1, warn=False, **kw)


@pytest.mark.parametrize("method", METHODS)
def test_nan_warning(method):
    plan, _ = SOLVERS[method]
    n = 100
    a1 = _gauss(n, 30, 10)
    a2 = _gauss(n, 40, 10)
    M = _dist0(n)
    with pytest.raises(ValueError, match="reg must be > 0"):
        plan(a1, a2, M, 0, warn=False)


def test_sinkhorn_stabilization():
    from sklearn.exceptions import ConvergenceWarning

    n = 100
    a1 = _gauss(n, 30, 10)
    a2 = _gauss(n, 40, 10)
    M = _dist0(n)
    reg = 1e-5
    with pytest.warns(ConvergenceWarning):  # 1000 iterations do not converge at max(M) / reg ~ 1e9 ...
        loss1 = sinkhorn_log2(a1, a2, M, reg)
    loss2 = ot.sinkhorn2(a1, a2, M, reg, tau=1, method="sinkhorn_stabilized")
    # ... nor in POT: both return the cost of the same stuck (diagonal) plan, 0.0 (ot.emd2 gives 99.3)
    np.testing.assert_allclose(loss1, loss2, atol=1e-06)


# As in POT, 1000 Sinkhorn iterations do not reach stopThr=1e-10 for one of the histograms (POT warns too).
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("method, verbose, warn", product(METHODS, [True, False], [True, False]))
def test_sinkhorn_multi_b(method, verbose, warn):
    plan, loss = SOLVERS[method]
    n = 10
    rng = np.random.RandomState(0)
    x = rng.randn(n, 2)
    u = _unif(n)
    b = rng.rand(n, 3)
    b = b / np.sum(b, 0, keepdims=True)
    M = _dist(x, x)

    loss0, _log = plan(u, b, M, 0.1, stopThr=1e-10, log=True)

    losses = [loss(u, b[:, k], M, 0.1, stopThr=1e-10, verbose=verbose, warn=warn) for k in range(3)]
    np.testing.assert_allclose(loss0, losses, atol=1e-4)


def test_sinkhorn_backends(nx_method):
    nx, plan, _ = nx_method
    n_samples = 100
    rng = np.random.RandomState(0)
    x = rng.randn(n_samples, 2)
    y = rng.randn(n_samples, 2)
    a = _unif(n_samples)
    M = _dist(x, y)

    G = plan(a, a, M, 1)
    ab, M_nx = nx.asarray(a), nx.asarray(M)
    Gb = plan(ab, ab, M_nx, 1)

    # POT's test only calls np.allclose; assert it
    assert np.allclose(G, to_numpy(Gb))


def test_sinkhorn2_backends(nx_method):
    nx, plan, loss = nx_method
    n_samples = 100
    rng = np.random.RandomState(0)
    x = rng.randn(n_samples, 2)
    y = rng.randn(n_samples, 2)
    a = _unif(n_samples)
    M = _dist(x, y)

    G = plan(a, a, M, 1)
    ab, M_nx = nx.asarray(a), nx.asarray(M)
    lossb = loss(ab, ab, M_nx, 1)

    # POT compares a plan with a loss through np.allclose without asserting; the loss is <G, M>
    assert np.allclose(np.sum(G * M), to_numpy(lossb))


@pytest.mark.parametrize("method", METHODS)
def test_sinkhorn_empty(method):
    plan, _ = SOLVERS[method]
    n = 100
    rng = np.random.RandomState(0)
    x = rng.randn(n, 2)
    u = _unif(n)
    M = _dist(x, x)

    G, _log = plan([], [], M, 1, stopThr=1e-10, verbose=True, log=True)
    np.testing.assert_allclose(u, G.sum(1), atol=1e-05)
    np.testing.assert_allclose(u, G.sum(0), atol=1e-05)


def test_sinkhorn_variants(nx_method):
    nx, plan, _ = nx_method
    n = 100
    rng = np.random.RandomState(0)
    x = rng.randn(n, 2)
    u = _unif(n)
    M = _dist(x, x)
    ub, M_nx = nx.asarray(u), nx.asarray(M)

    G = ot.sinkhorn(u, u, M, 1, method="sinkhorn", stopThr=1e-10)
    Gl = to_numpy(plan(ub, ub, M_nx, 1, stopThr=1e-10))
    G0 = to_numpy(plan(u, u, M, 1, stopThr=1e-10))

    np.testing.assert_allclose(G, G0, atol=1e-05)
    np.testing.assert_allclose(G, Gl, atol=1e-05)


def test_sinkhorn_variants_dtype_device(nx_method):
    nx, plan, _ = nx_method
    n = 100
    rng = np.random.RandomState(42)
    x = rng.randn(n, 2)
    u = _unif(n)
    M = _dist(x, x)

    for dtype in (nx.float32, nx.float64):
        ub, Mb = nx.asarray(u, dtype=dtype), nx.asarray(M, dtype=dtype)
        Gb = plan(ub, ub, Mb, 1, stopThr=1e-10)
        assert Gb.dtype == Mb.dtype and device(Gb) == device(Mb)


def test_sinkhorn2_variants_dtype_device(nx_method):
    nx, _, loss = nx_method
    n = 100
    rng = np.random.RandomState(42)
    x = rng.randn(n, 2)
    u = _unif(n)
    M = _dist(x, x)

    for dtype in (nx.float32, nx.float64):
        ub, Mb = nx.asarray(u, dtype=dtype), nx.asarray(M, dtype=dtype)
        lossb = loss(ub, ub, Mb, 1, stopThr=1e-10)
        assert lossb.dtype == Mb.dtype and device(lossb) == device(Mb)


def _multi_b_problem():
    n = 50
    rng = np.random.RandomState(0)
    x = rng.randn(n, 2)
    u = _unif(n)
    b = rng.rand(n, 3)
    b = b / np.sum(b, 0, keepdims=True)
    return u, b, _dist(x, x)


def test_sinkhorn_variants_multi_b(nx_method):
    nx, plan, _ = nx_method
    u, b, M = _multi_b_problem()
    ub, bb, M_nx = nx.asarray(u), nx.asarray(b), nx.asarray(M)

    G = ot.sinkhorn(u, b, M, 1, method="sinkhorn", stopThr=1e-10)
    Gl = to_numpy(plan(ub, bb, M_nx, 1, stopThr=1e-10))
    G0 = to_numpy(plan(u, b, M, 1, stopThr=1e-10))

    np.testing.assert_allclose(G, G0, atol=1e-05)
    np.testing.assert_allclose(G, Gl, atol=1e-05)


def test_sinkhorn2_variants_multi_b(nx_method):
    nx, _, loss = nx_method
    u, b, M = _multi_b_problem()
    ub, bb, M_nx = nx.asarray(u), nx.asarray(b), nx.asarray(M)

    G = ot.sinkhorn2(u, b, M, 1, method="sinkhorn", stopThr=1e-10)
    Gl = to_numpy(loss(ub, bb, M_nx, 1, stopThr=1e-10))
    G0 = to_numpy(loss(u, b, M, 1, stopThr=1e-10))

    np.testing.assert_allclose(G, G0, atol=1e-05)
    np.testing.assert_allclose(G, Gl, atol=1e-05)


@pytest.mark.parametrize("method", METHODS)
def test_sinkhorn_variants_log(method):
    plan, _ = SOLVERS[method]
    n = 50
    rng = np.random.RandomState(0)
    x = rng.randn(n, 2)
    u = _unif(n)
    M = _dist(x, x)

    G0, _log0 = ot.sinkhorn(u, u, M, 1, method="sinkhorn", stopThr=1e-10, log=True)
    Gl, _logl = plan(u, u, M, 1, stopThr=1e-10, log=True)

    np.testing.assert_allclose(G0, Gl, atol=1e-05)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("verbose, warn", product([True, False], [True, False]))
def test_sinkhorn_variants_log_multib(method, verbose, warn):
    plan, _ = SOLVERS[method]
    n = 50
    rng = np.random.RandomState(0)
    x = rng.randn(n, 2)
    u = _unif(n)
    b = rng.rand(n, 3)
    b = b / np.sum(b, 0, keepdims=True)
    M = _dist(x, x)

    G0, _log0 = ot.sinkhorn(u, b, M, 1, method="sinkhorn", stopThr=1e-10, log=True)
    Gl, _logl = plan(u, b, M, 1, stopThr=1e-10, log=True, verbose=verbose, warn=warn)

    np.testing.assert_allclose(G0, Gl, atol=1e-05)


def test_stabilized_vs_sinkhorn_multidim(nx_method):
    nx, plan, _ = nx_method
    n = 100
    a = _gauss(n, 20, 5)
    b1 = _gauss(n, 60, 8)
    b2 = _gauss(n, 30, 4)
    b = np.vstack((b1, b2)).T
    M = _dist0(n)
    M /= np.median(M)
    epsilon = 0.1
    ab, bb, M_nx = nx.asarray(a), nx.asarray(b), nx.asarray(M)

    G_np, _ = ot.bregman.sinkhorn(a, b, M, reg=epsilon, method="sinkhorn", log=True)
    G, _log = plan(ab, bb, M_nx, reg=epsilon, log=True)
    G2, _log2 = plan(a, b, M, epsilon, log=True)

    # POT compares two of its solvers at rtol 1e-7; across algorithms and stopping tests (stopThr 1e-9)
    np.testing.assert_allclose(G_np, G2, rtol=1e-6)
    np.testing.assert_allclose(to_numpy(G), G2, rtol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_sinkhorn_warmstart(method):
    plan, _ = SOLVERS[method]
    m, n = 10, 20
    a = _unif(m)
    b = _unif(n)
    Xs = np.arange(m) * 1.0
    Xt = np.arange(n) * 1.0
    M = _dist(Xs.reshape(-1, 1), Xt.reshape(-1, 1))

    # Warm start from the dual vectors of unregularized OT
    _, log = ot.lp.emd(a, b, M, log=True)
    warmstart = (log["u"], log["v"])
    reg = 1

    pi_unif, _ = plan(a, b, M, reg, log=True, warmstart=None)
    pi_sh, _ = plan(a, b, M, reg, log=True, warmstart=warmstart)

    np.testing.assert_allclose(pi_unif, pi_sh, atol=1e-05)
