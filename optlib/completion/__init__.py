"""Low-rank matrix completion and robust recovery.

* :func:`robust_altmin`: alternating minimization from a spectral start,
  exact or sketch-preconditioned row solves (Gu, Song, Yin, Zhang, ICLR
  2024), with optional trimming of gross outliers;
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

__all__ = ["robust_altmin"]
