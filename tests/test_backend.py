"""Backend layer: namespaces, transfers, dtypes, numba switch."""

import numpy as np
import pytest

from optlib import _backend as B


def test_get_namespace_ignores_scalars_and_none(xp):
    a = xp.asarray([1.0, 2.0])
    ns = B.get_namespace(a, None, 3.0)
    assert ns.asarray(a).shape == (2,)
    assert B.is_numpy_namespace(B.get_namespace()) or B.get_namespace().__name__.endswith("numpy")


def test_mixed_namespaces_rejected():
    xs = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError):
        B.get_namespace(np.ones(2), xs.ones(2))


def test_host_roundtrip(xp):
    a = xp.asarray([1.0, 2.0, 3.0])
    host = B.to_host(a)
    assert isinstance(host, np.ndarray)
    np.testing.assert_array_equal(host, [1.0, 2.0, 3.0])
    back = B.to_namespace(host, xp, B.device(a))
    assert B.get_namespace(back) is B.get_namespace(a) or type(back) is type(a)
    assert back.device == a.device


@pytest.mark.parametrize(
    "dtypes, expected",
    [
        (("float32", "float32"), "float32"),
        (("float32", "float64"), "float64"),
        (("int64",), "float64"),
        (("complex64", "float32"), "complex64"),
        (("complex64", "float64"), "complex128"),
    ],
)
def test_result_float_dtype(xp, dtypes, expected):
    arrays = [xp.zeros(2, dtype=getattr(xp, d)) for d in dtypes]
    assert B.result_float_dtype(xp, *arrays) == getattr(xp, expected)


def test_real_dtype(xp):
    assert B.real_dtype(xp.complex64, xp) == xp.float32
    assert B.real_dtype(xp.complex128, xp) == xp.float64
    assert B.real_dtype(xp.float32, xp) == xp.float32


def test_use_numba_switch(monkeypatch):
    import array_api_compat.numpy as xnp

    monkeypatch.delenv("OPTLIB_DISABLE_NUMBA", raising=False)
    assert B.use_numba(xnp) is True
    assert B.use_numba(xnp, "xp") is False
    monkeypatch.setenv("OPTLIB_DISABLE_NUMBA", "1")
    assert B.use_numba(xnp) is False
    with pytest.raises(ValueError, match="numba is unavailable or disabled"):
        B.use_numba(xnp, "numba")
    with pytest.raises(ValueError, match="engine must be one of"):
        B.use_numba(xnp, "cuda")


def test_use_numba_rejects_non_numpy():
    xs = pytest.importorskip("array_api_strict")
    assert B.use_numba(xs) is False
    with pytest.raises(ValueError, match="requires NumPy"):
        B.use_numba(xs, "numba")
