"""Generic solvers returning :class:`~optlib.OptimizeResult`."""

from ._bcd_active_set import active_set_bcd
from ._message_passing import message_passing_bcd
from ._proxgrad import proxgrad

__all__ = ["active_set_bcd", "message_passing_bcd", "proxgrad"]
