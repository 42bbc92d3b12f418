"""Optimal transport: log-domain Sinkhorn, Sinkhorn-Newton-Sparse, sparsity-constrained OT.

Argument conventions follow POT (``a``, ``b``, ``M``, ``reg``, ``numItermax``,
``stopThr``, ``log``); results also come as :class:`~optlib.OptimizeResult`.
"""

from . import _da, _partial, _sinkhorn, _sns, _sparsity_constrained
from ._da import *  # noqa: F401,F403
from ._partial import *  # noqa: F401,F403
from ._sinkhorn import *  # noqa: F401,F403
from ._sns import *  # noqa: F401,F403
from ._sparsity_constrained import *  # noqa: F401,F403

__all__ = [name for module in (_da, _partial, _sinkhorn, _sns, _sparsity_constrained) for name in module.__all__]
