"""Block coordinate descent engine (private): the generic driver and its specialised solvers.

Public names are re-exported by :mod:`optlib.optimize`; import them from there.

* ``_driver`` -- :func:`bcd`, the generic driver (validation and loop);
* ``_datafits``, ``_design`` -- stateful smooth parts over dense or sparse designs;
* ``_penalties`` -- separable penalties and conversion of ``optlib.functions`` ones;
* ``_rules``, ``_updates`` -- partitions, selection rules and block updates;
* ``_numba`` -- compiled scores, top-k and sparse-column kernels;
* ``_message_passing`` (+ ``_numba``) -- :func:`message_passing_bcd`;
* ``_active_set`` (+ ``_numba``) -- :func:`active_set_bcd`.
"""

from ._active_set import active_set_bcd
from ._datafits import (
    LeastSquaresDatafit,
    LogisticDatafit,
    QuadraticDatafit,
    SoftmaxDatafit,
)
from ._driver import bcd
from ._message_passing import message_passing_bcd
from ._penalties import SeparablePenalty

__all__ = [
    "LeastSquaresDatafit",
    "LogisticDatafit",
    "QuadraticDatafit",
    "SeparablePenalty",
    "SoftmaxDatafit",
    "active_set_bcd",
    "bcd",
    "message_passing_bcd",
]
