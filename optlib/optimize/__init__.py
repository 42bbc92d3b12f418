"""Generic solvers returning :class:`~optlib.OptimizeResult`."""

from ._proxgrad import proxgrad

__all__ = ["proxgrad"]
