"""Low-rank matrix completion and robust recovery.

* :func:`robust_altmin`: alternating minimization from a spectral start,
  exact or sketch-preconditioned row solves (Gu, Song, Yin, Zhang, ICLR
  2024), with optional Huber reweighting against gross outliers;
* :func:`subgradient_recovery`: sub-gradient method on the l1 factorized
  loss with small initialization (Ma and Fattahi, JMLR 2023), for symmetric
  PSD sensing and, as an extension, entry sampling;
* :func:`robust_pca`: principal component pursuit by inexact ALM, with an
  observation mask;
* :func:`soft_impute`: nuclear-norm baseline (Mazumder, Hastie, Tibshirani)
  with randomized SVD of the sparse-plus-low-rank iterate;
* :class:`LowRankImputer`: scikit-learn transformer, NaN marks missing.

Random problems: :func:`optlib.datasets.make_low_rank_completion`.
"""

from ._altmin import robust_altmin
from ._imputer import LowRankImputer
from ._observations import check_observations
from ._rpca import robust_pca
from ._soft_impute import soft_impute
from ._subgradient import subgradient_recovery

__all__ = ["LowRankImputer", "check_observations", "robust_altmin", "robust_pca", "soft_impute", "subgradient_recovery"]
