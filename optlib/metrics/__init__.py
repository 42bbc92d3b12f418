"""Quality measures shared across families.

Graph structure recovery (``optlib.dag``): :func:`count_accuracy` and the
single measures :func:`shd`, :func:`tpr`, :func:`fdr`, :func:`fpr`,
:func:`nnz`, with the NOTEARS / DAGMA conventions (a reversed edge counts
once in the structural Hamming distance).
"""

from ._graph import count_accuracy, fdr, fpr, nnz, shd, tpr

__all__ = ["count_accuracy", "fdr", "fpr", "nnz", "shd", "tpr"]
