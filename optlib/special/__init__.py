"""Special functions: log modified Bessel functions and von Mises-Fisher distributions.

The von Mises-Fisher names (which need scikit-learn) are imported on first
use, so ``from optlib.special import log_iv`` stays light.
"""

from ._bessel import log_iv, log_iv_ratio, log_kv

_VMF_NAMES = ("VonMisesFisher", "vmf_concentration", "vmf_fit", "vmf_log_normalizer", "vmf_logpdf", "vmf_sample")

__all__ = ["log_iv", "log_kv", "log_iv_ratio", *_VMF_NAMES]


def __getattr__(name):
    if name in _VMF_NAMES:
        from . import _vmf

        return getattr(_vmf, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_VMF_NAMES))
