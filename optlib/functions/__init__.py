"""Functionals: smooth datafits (value, gradient) and penalties (value, prox).

Every penalty ``g`` is callable (its value) and has ``g.prox(v, step)``; the
catalogue covers convex norms and constraints, nonconvex sparsity penalties,
matrix penalties, total variation, and the magnitude wrapper for complex
unknowns. Smooth datafits add ``grad`` and a Lipschitz constant.

Inputs and outputs, the same for every value and prox here:

* an array of any array-API namespace (NumPy, CuPy, array_api_strict...)
  keeps its namespace, device and floating dtype (float32, float64, complex
  where supported); integer and boolean arrays are computed in float64;
* a Python scalar or sequence (``2.5``, ``[1, 2]``) is converted with NumPy;
* ``prox`` always returns a new array of the input's namespace: a scalar or
  0-d input gives a 0-d array (never a NumPy scalar), ``L1().prox(2.5)`` is
  ``array(1.5)``;
* anything that is not numeric raises ``TypeError`` naming the argument, and
  a shape the function does not accept (a 0-d input to ``TV1D``, a vector to
  ``NuclearNorm``) raises ``ValueError``.

Values ``g(x)`` are Python floats.
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
