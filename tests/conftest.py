"""Shared fixtures: array namespaces and numba/array-path comparison."""

import numpy as np
import pytest

_NAMESPACES = ["numpy", "array_api_strict", "cupy"]


def _load_namespace(name):
    if name == "numpy":
        import array_api_compat.numpy as xp

        return xp
    if name == "array_api_strict":
        return _strict_on_other_device(pytest.importorskip("array_api_strict"))
    cupy = pytest.importorskip("cupy")
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception:  # pragma: no cover - no usable GPU
        pytest.skip("cupy is installed but no GPU is usable")
    import array_api_compat.cupy as xp

    return xp


@pytest.fixture(params=_NAMESPACES)
def xp(request):
    """Array namespace: numpy always, array_api_strict when installed, cupy when a GPU is usable.

    array_api_strict arrays are created on a non-default device ("device1"), so
    host conversions and device mismatches in the array-API paths fail here.
    """
    return _load_namespace(request.param)


@pytest.fixture(params=["numpy", "cupy"])
def xp_native(request):
    """Namespaces whose kernels may be library-specific (numpy, cupy): skips array_api_strict."""
    return _load_namespace(request.param)


_CREATION_FUNCTIONS = (
    "asarray", "zeros", "ones", "empty", "full", "arange", "linspace", "eye",
    "from_dlpack",
)


class _OnDevice:
    """array_api_strict whose creation functions default to a non-default device.

    Library code that creates an array without ``device=`` of its input, or
    converts to NumPy (what CuPy forbids), fails on these arrays: array_api_strict
    refuses to combine arrays from two devices and to convert off-CPU arrays.
    """

    def __init__(self, module, device):
        self._module = module
        self.device_ = device

    def __getattr__(self, name):
        attr = getattr(self._module, name)
        if name in _CREATION_FUNCTIONS:
            def create(*args, **kwargs):
                if name == "from_dlpack":
                    return self._module.asarray(attr(*args, **kwargs), device=self.device_, copy=True)
                kwargs.setdefault("device", self.device_)
                return attr(*args, **kwargs)

            return create
        return attr

    def __repr__(self):
        return f"<array_api_strict on {self.device_!r}>"


def _strict_on_other_device(module):
    return _OnDevice(module, module.Device("device1"))


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
