"""Linear models with sparse penalties (scikit-learn estimators).

``Lasso`` and ``ElasticNet`` use scikit-learn's objective scaling and are
solved by a numba working-set coordinate-descent kernel.
"""

from ._coordinate_descent import ElasticNet, Lasso
from ._label_propagation import LabelPropagation

__all__ = ["ElasticNet", "LabelPropagation", "Lasso"]
