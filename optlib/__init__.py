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

from ._result import OptimizeResult

__version__ = "0.1.0.dev0"

__all__ = ["OptimizeResult", "ConvergenceWarning", "__version__"]


def __getattr__(name):
    # scikit-learn's ConvergenceWarning, imported on first use to keep ``import optlib`` light.
    if name == "ConvergenceWarning":
        from sklearn.exceptions import ConvergenceWarning

        return ConvergenceWarning
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
