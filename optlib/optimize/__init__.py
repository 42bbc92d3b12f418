"""Generic solvers returning :class:`~optlib.OptimizeResult`."""

from ._bcd import bcd
from ._bcd_active_set import active_set_bcd
from ._bcd_datafits import (
    LeastSquaresDatafit,
    LogisticDatafit,
    QuadraticDatafit,
    SoftmaxDatafit,
)
from ._bcd_penalties import SeparablePenalty
from ._message_passing import message_passing_bcd
from ._proxgrad import proxgrad

__all__ = [
    "LeastSquaresDatafit",
    "LogisticDatafit",
    "QuadraticDatafit",
    "SeparablePenalty",
    "SoftmaxDatafit",
    "active_set_bcd",
    "bcd",
    "message_passing_bcd",
    "proxgrad",
]
