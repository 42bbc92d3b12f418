"""Learning directed acyclic graphs from data.

:class:`CoLiDE` (and the function :func:`colide`) fits a linear structural
equation model ``X = X W + Z`` with concomitant estimation of the noise
scales and DAGMA's log-det acyclicity (Saboksayr, Mateos, Tepper, ICLR 2024);
``score_type="dagma"`` gives DAGMA's least-squares score for comparison.
:func:`is_dag` tests acyclicity and :func:`threshold_to_dag` turns a weighted
estimate into a DAG. Random problems: :func:`optlib.datasets.simulate_dag`,
:func:`optlib.datasets.simulate_linear_sem`; measures: :mod:`optlib.metrics`.
"""

from ._acyclic import is_dag, threshold_to_dag
from ._colide import CoLiDE, colide

__all__ = ["CoLiDE", "colide", "is_dag", "threshold_to_dag"]
