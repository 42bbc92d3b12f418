"""Sparse Bayesian learning, classical and Kronecker-structured.

:func:`sbl` fits ``y = Phi x + noise`` under the automatic-relevance prior
``x_i ~ N(0, gamma_i)`` by maximising the marginal likelihood, with EM,
MacKay (ARDRegression's rule) or Tipping-Faul fast updates;
:func:`kron_sbl` the Kronecker-structured variants (AM-, SVD- and
PC-KroSBL) for ``H = A_1 kron ... kron A_I``. :class:`SBLRegressor` and
:class:`KroneckerSBL` are the scikit-learn estimators.
"""

from ._classical import sbl
from ._estimators import KroneckerSBL, SBLRegressor
from ._kronecker import kron_sbl

__all__ = ["sbl", "kron_sbl", "SBLRegressor", "KroneckerSBL"]
