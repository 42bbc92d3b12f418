"""Linear operators with forward, adjoint and (where exact and fast) normal solves.

Every operator maps arrays of ``input_shape`` to arrays of ``output_shape``
and offers ``forward`` (also ``A(x)`` and ``A @ x``), ``adjoint`` (also
``A.H``), ``normal`` (``A^H A x``), ``norm`` (power iteration) and, when
``has_normal_solve`` is true, ``solve_normal(rhs, rho)`` applying
``(A^H A + rho I)^{-1}`` exactly. Results keep the input's namespace,
device and precision; the operator's own data moves there on first use.
:func:`check_adjoint` is the dot test; :class:`OperatorLeastSquares` is the
datafit ``scale/2 ||A x - y||^2`` that the ADMM and proximal-gradient solvers take.
"""

from . import _base, _datafit, _fourier, _mask, _matrix, _mimo
from ._base import *  # noqa: F401,F403
from ._datafit import *  # noqa: F401,F403
from ._fourier import *  # noqa: F401,F403
from ._mask import *  # noqa: F401,F403
from ._matrix import *  # noqa: F401,F403
from ._mimo import *  # noqa: F401,F403

__all__ = [name for module in (_base, _datafit, _mask, _fourier, _matrix, _mimo) for name in module.__all__]
