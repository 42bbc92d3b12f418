"""Generic solvers returning :class:`~optlib.OptimizeResult`."""

from ._message_passing import message_passing_bcd
from ._proxgrad import proxgrad

__all__ = ["message_passing_bcd", "proxgrad"]
