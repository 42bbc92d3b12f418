"""Shared fixtures: array namespaces and numba/array-path comparison."""

import numpy as np
import pytest

_NAMESPACES = ["numpy", "array_api_strict", "cupy"]


def _load_namespace(name):
    if name == "numpy":
        import array_api_compat.numpy as xp

        return xp
    if name == "array_api_strict":
        return pytest.importorskip("array_api_strict")
    cupy = pytest.importorskip("cupy")
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception:  # pragma: no cover - no usable GPU
        pytest.skip("cupy is installed but no GPU is usable")
    import array_api_compat.cupy as xp

    return xp


@pytest.fixture(params=_NAMESPACES)
def xp(request):
    """Array namespace: numpy always, array_api_strict when installed, cupy when a GPU is usable."""
    return _load_namespace(request.param)


@pytest.fixture(params=["numpy", "cupy"])
def xp_native(request):
    """Namespaces whose kernels may be library-specific (numpy, cupy): skips array_api_strict."""
    return _load_namespace(request.param)


def to_numpy(x):
    """Host NumPy copy of an array from any namespace (test helper)."""
    if hasattr(x, "get"):
        return x.get()
    if isinstance(x, np.ndarray):
        return x
    if type(x).__module__.startswith("array_api_strict"):
        return np.from_dlpack(x)
    return np.asarray(x)


@pytest.fixture
def numba_disabled(monkeypatch):
    """Run the body with numba kernels disabled (array-API path on NumPy)."""
    monkeypatch.setenv("OPTLIB_DISABLE_NUMBA", "1")
    yield


def assert_engines_agree(fn, *args, rtol=1e-10, atol=1e-12, **kwargs):
    """Call ``fn(*args, engine=..., **kwargs)`` with the numba and the array-API engine; compare.

    Returns the numba result. Skips when numba is unavailable or disabled.
    """
    from optlib._backend import numba_available

    if not numba_available():
        pytest.skip("numba unavailable or disabled")
    fast = fn(*args, engine="numba", **kwargs)
    portable = fn(*args, engine="xp", **kwargs)
    np.testing.assert_allclose(to_numpy(fast), to_numpy(portable), rtol=rtol, atol=atol)
    return fast
