"""Generic solvers returning :class:`~optlib.OptimizeResult`."""

from ._bcd import (
    LeastSquaresDatafit,
    LogisticDatafit,
    QuadraticDatafit,
    SeparablePenalty,
    SoftmaxDatafit,
    active_set_bcd,
    bcd,
    message_passing_bcd,
)
from ._admm import admm, csalsa, pnp_admm, pnp_pgd, red
from ._alm_sketch import minimize_eq
from ._proxgrad import proxgrad

__all__ = [
    "LeastSquaresDatafit",
    "LogisticDatafit",
    "QuadraticDatafit",
    "SeparablePenalty",
    "SoftmaxDatafit",
    "active_set_bcd",
    "admm",
    "bcd",
    "csalsa",
    "message_passing_bcd",
    "minimize_eq",
    "pnp_admm",
    "pnp_pgd",
    "proxgrad",
    "red",
]
