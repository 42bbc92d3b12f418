"""Linear models with sparse penalties and graph-based label propagation.

``Lasso``, ``ElasticNet`` and ``SparseLogisticRegression`` use scikit-learn's
(skglm's for the logistic loss) objective scaling and are solved by numba
working-set coordinate-descent / proximal-Newton kernels.
``LabelPropagation`` solves the harmonic-function quadratic on a graph by
message-passing block coordinate descent.
"""

from ._coordinate_descent import ElasticNet, Lasso
from ._cv import ElasticNetCV, LassoCV
from ._label_propagation import LabelPropagation
from ._logistic import SparseLogisticRegression
from ._logistic_cv import SparseLogisticRegressionCV
from ._multitask import MultiTaskElasticNet, MultiTaskLasso
from ._multitask_path import MultiTaskElasticNetCV, MultiTaskLassoCV
from ._path import enet_path, lasso_path

__all__ = [
    "ElasticNet",
    "ElasticNetCV",
    "LabelPropagation",
    "Lasso",
    "LassoCV",
    "MultiTaskElasticNet",
    "MultiTaskElasticNetCV",
    "MultiTaskLasso",
    "MultiTaskLassoCV",
    "SparseLogisticRegression",
    "SparseLogisticRegressionCV",
    "enet_path",
    "lasso_path",
]
