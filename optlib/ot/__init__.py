"""Optimal transport: log-domain Sinkhorn, Sinkhorn-Newton-Sparse, sparsity-constrained OT,
progressive partial OT and transport estimators.

Argument conventions follow POT (``a``, ``b``, ``M``, ``reg``, ``numItermax``,
``stopThr``, ``log``); results also come as :class:`~optlib.OptimizeResult`.
The estimators (which need scikit-learn) are imported on first use, so the
solvers stay light to import.
"""

from . import _partial, _sinkhorn, _sns, _sparsity_constrained
from ._partial import *  # noqa: F401,F403
from ._sinkhorn import *  # noqa: F401,F403
from ._sns import *  # noqa: F401,F403
from ._sparsity_constrained import *  # noqa: F401,F403

_ESTIMATORS = ("SNSTransport", "SparsityConstrainedTransport")

__all__ = [
    name for module in (_partial, _sinkhorn, _sns, _sparsity_constrained) for name in module.__all__
] + list(_ESTIMATORS)


def __getattr__(name):
    if name in _ESTIMATORS:
        from . import _da

        return getattr(_da, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_ESTIMATORS))
