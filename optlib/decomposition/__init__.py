"""Sparse coding and dictionary learning (scikit-learn estimators).

:class:`SparseCoder` and :func:`sparse_encode` compute codes against a fixed
dictionary, :class:`DictionaryLearning` learns the dictionary; both accept the
l1 penalty and the nonconvex ``"l0"``, ``"l1/2"``, ``"cel0"``, ``"mcp"`` and
``"scad"`` penalties of :mod:`optlib.functions`, solved by FISTA.
"""

from ._dict_learning import DictionaryLearning
from ._penalties import PENALTIES
from ._sparse_coding import SparseCoder, sparse_encode

__all__ = ["SparseCoder", "DictionaryLearning", "sparse_encode", "PENALTIES"]
