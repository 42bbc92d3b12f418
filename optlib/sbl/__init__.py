"""Sparse Bayesian learning, classical and Kronecker-structured.

:func:`sbl` fits ``y = Phi x + noise`` under the automatic-relevance prior
``x_i ~ N(0, gamma_i)`` by maximising the marginal likelihood, with EM,
MacKay (ARDRegression's rule) or Tipping-Faul fast updates.
"""

from ._classical import sbl

__all__ = ["sbl"]
