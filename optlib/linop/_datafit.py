"""The least-squares datafit ``scale/2 ||A x - y||^2`` of a linear operator."""

from .._backend import (
    device,
    get_namespace,
    is_non_numpy_array,
    is_numpy_namespace,
    to_namespace,
)
from .._validation import check_array, check_scalar
from ..functions import SmoothFunction
from ._base import LinearOperator, sq_norm

__all__ = ["OperatorLeastSquares"]


class OperatorLeastSquares(SmoothFunction):
    """``scale/2 * ||A x - y||^2`` for a :class:`LinearOperator` ``A``.

    A :class:`~optlib.functions.SmoothFunction` with the composite protocol
    (``forward``, ``value_at``, ``grad_at``), so :func:`~optlib.optimize.proxgrad`
    takes it as it is; :func:`~optlib.optimize.admm` recognises it and
    updates ``x`` by the operator's exact normal solve, or by conjugate
    gradients.

    Parameters
    ----------
    A : LinearOperator
    y : array of ``A.output_shape``
        Observations (finite; complex allowed unless ``A.real_only``).
    scale : float > 0

    Notes
    -----
    ``lipschitz`` (``scale * ||A||_2^2``) is estimated by power iteration on
    first use, inflated by 1% to stay an upper bound.
    """

    def __init__(self, A, y, scale=1.0):
        if not isinstance(A, LinearOperator):
            raise TypeError(f"A must be a LinearOperator (optlib.linop), got {type(A).__name__}.")
        self.A = A
        self.y = check_observations(A, y)
        self.scale = check_scalar(scale, "scale", lower=0.0, lower_inclusive=False)
        self._lipschitz = None

    @property
    def input_shape(self):
        return self.A.input_shape

    @property
    def lipschitz(self):
        if self._lipschitz is None:
            self._lipschitz = 1.01 * self.scale * self.A.norm(random_state=0, like=self.y) ** 2
        return self._lipschitz

    def forward(self, x):
        return self.A.forward(x)

    def value_at(self, z):
        xp = get_namespace(z)
        return 0.5 * self.scale * float(sq_norm(xp, z - self.y))

    def grad_at(self, z):
        return self.scale * self.A.adjoint(z - self.y)

    def __call__(self, x):
        return self.value_at(self.forward(x))

    def grad(self, x):
        return self.grad_at(self.forward(x))

    def back_projection(self):
        """``A^H y`` (an array of ``A.input_shape``)."""
        return self.A.adjoint(self.y)


def check_observations(A, y, name="y"):
    """``y`` as a finite floating array of ``A.output_shape``; complex ``y`` needs a complex-capable ``A``.

    Host data (NumPy arrays, lists) stays on the host; arrays of other
    libraries keep their namespace and device.
    """
    y = check_array(y, name, allow_complex=True)
    if tuple(y.shape) != A.output_shape:
        raise ValueError(f"{name} has shape {tuple(y.shape)}, but A maps to arrays of shape {A.output_shape}.")
    if A.real_only and get_namespace(y).isdtype(y.dtype, "complex floating"):
        raise TypeError(f"{name} is complex ({y.dtype}), but the operator {A!r} is defined on real arrays only.")
    return y


def like_observations(x, y, name):
    """Host ``x`` copied to the namespace and device of ``y`` (explicitly), then checked."""
    xp = get_namespace(y)
    if not is_numpy_namespace(xp) and not is_non_numpy_array(x):
        x = to_namespace(x, xp, device(y))
    return check_array(x, name, xp=xp, allow_complex=True)
