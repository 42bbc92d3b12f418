"""Validation messages and the result/callback layer."""

import numbers
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from optlib._result import History, IterationMonitor, OptimizeResult, make_result
from optlib._validation import check_array, check_option, check_random_state, check_scalar, check_shape


def test_check_array_messages():
    with pytest.raises(ValueError, match="M contains NaN"):
        check_array([1.0, np.nan], "M")
    with pytest.raises(ValueError, match="M contains infinite"):
        check_array([1.0, np.inf], "M")
    with pytest.raises(ValueError, match="X must be 2-dimensional, got shape \\(3,\\)"):
        check_array([1.0, 2.0, 3.0], "X", ndim=2)
    with pytest.raises(TypeError, match="z must be real"):
        check_array(np.ones(2, dtype=complex), "z")
    with pytest.raises(TypeError, match="s must be a numeric array"):
        check_array("abc", "s")
    with pytest.raises(ValueError, match="at least 1 element"):
        check_array(np.ones((0, 3)), "X")


def test_check_array_dtypes(xp):
    ints = xp.asarray([1, 2])
    as_float = check_array(ints, "a")
    assert as_float.dtype == xp.float64 and as_float.device == ints.device
    assert check_array(xp.asarray([1.0], dtype=xp.float32), "a").dtype == xp.float32
    z = check_array(xp.asarray([1j]), "z", allow_complex=True)
    assert z.dtype == xp.complex128


def test_check_array_returns_input_unmodified():
    a = np.array([3.0, 1.0])
    out = check_array(a, "a")
    assert out is a and a.tolist() == [3.0, 1.0]


def test_check_shape_and_option():
    with pytest.raises(ValueError, match=r"b has shape \(3,\), expected \(4,\)"):
        check_shape(np.ones(3), (4,), "b")
    check_shape(np.ones((2, 5)), (2, None), "M")
    with pytest.raises(ValueError, match="Unknown penalty 'l3'; expected one of 'l1', 'l0'"):
        check_option("l3", "penalty", ("l1", "l0"))


def test_check_scalar():
    assert check_scalar(2, "reg", lower=0) == 2.0
    assert check_scalar(np.float32(0.5), "reg") == 0.5
    assert check_scalar(np.array(3), "k", kind=numbers.Integral) == 3
    with pytest.raises(ValueError, match="reg must be > 0"):
        check_scalar(0.0, "reg", lower=0.0, lower_inclusive=False)
    with pytest.raises(ValueError, match="reg must be finite"):
        check_scalar(float("inf"), "reg")
    with pytest.raises(TypeError, match="max_iter must be an integer"):
        check_scalar(2.5, "max_iter", kind=numbers.Integral)
    with pytest.raises(TypeError, match="flag must be a real number"):
        check_scalar(True, "flag")


def test_check_random_state_reproducible():
    a = check_random_state(3).standard_normal(3)
    b = check_random_state(3).standard_normal(3)
    np.testing.assert_array_equal(a, b)
    g = np.random.default_rng(0)
    assert check_random_state(g) is g
    with pytest.raises(TypeError, match="random_state"):
        check_random_state("seed")
    with pytest.raises(ValueError, match="random_state must be a nonnegative int"):
        check_random_state(-1)


def test_history_and_monitor():
    calls = []
    monitor = IterationMonitor(callback=lambda r: calls.append(r), record_history=True)
    assert monitor(1, np.zeros(2), objective=3.0) is False
    assert monitor(2, np.zeros(2), objective=2.0, residual=0.1) is False
    h = monitor.history
    assert isinstance(h, History) and len(h) == 2
    assert h["objective"] == [3.0, 2.0] and h["residual"] == [0.1]
    assert isinstance(calls[0], OptimizeResult) and calls[1].nit == 2

    def stopper(_):
        raise StopIteration

    assert IterationMonitor(callback=stopper)(1, None, objective=1.0) is True
    with pytest.raises(TypeError, match="callback must be callable"):
        IterationMonitor(callback=3)


def test_make_result_warns_only_on_failure():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ok = make_result(np.ones(1), fun=0.0, nit=3, status=0)
    assert ok.success and ok.status == 0
    with pytest.warns(ConvergenceWarning, match="best iterate"):
        bad = make_result(np.ones(1), fun=0.0, nit=3, status=1, solver="demo")
    assert not bad.success
