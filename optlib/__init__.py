"""optlib: scientific optimization and inverse problems on NumPy and CuPy.

Subpackages
-----------
functions
    Smooth datafits and proximable penalties (the prox catalogue).
optimize
    Generic solvers (proximal gradient, ...), returning ``OptimizeResult``.
decomposition
    scikit-learn estimators for sparse coding and dictionary learning.
"""

from ._result import ConvergenceWarning, OptimizeResult

__version__ = "0.1.0.dev0"

__all__ = ["OptimizeResult", "ConvergenceWarning", "__version__"]
