"""Functionals: smooth datafits (value, gradient) and penalties (value, prox).

Every penalty ``g`` is callable (its value) and has ``g.prox(v, step)``; the
catalogue covers convex norms and constraints, nonconvex sparsity penalties,
matrix penalties, total variation, and the magnitude wrapper for complex
unknowns. Smooth datafits add ``grad`` and a Lipschitz constant.
"""

from . import _magnitude, _matrix, _nonconvex, _norms, _projections, _smooth, _tv
from ._base import Function, SmoothFunction
from ._magnitude import *  # noqa: F401,F403
from ._matrix import *  # noqa: F401,F403
from ._nonconvex import *  # noqa: F401,F403
from ._norms import *  # noqa: F401,F403
from ._projections import *  # noqa: F401,F403
from ._smooth import *  # noqa: F401,F403
from ._tv import *  # noqa: F401,F403

__all__ = ["Function", "SmoothFunction"] + [
    name
    for module in (_norms, _projections, _matrix, _tv, _nonconvex, _magnitude, _smooth)
    for name in module.__all__
]
