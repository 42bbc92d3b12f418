"""Inpainting mask: keep the observed entries, zero the others."""

from .._backend import get_namespace, to_host
from .._validation import check_array
from ._base import LinearOperator

__all__ = ["Mask"]


def check_mask(mask, name="mask"):
    """A boolean or {0, 1} array of at least one dimension (kept in its namespace)."""
    xp = get_namespace(mask) if hasattr(mask, "dtype") else get_namespace()
    m = xp.asarray(mask)
    if not xp.isdtype(m.dtype, "bool"):
        m = check_array(m, name, xp=xp)
        if not bool(xp.all((m == 0) | (m == 1))):
            raise ValueError(f"{name} must be boolean or hold only 0 and 1.")
    if m.ndim == 0:
        raise ValueError(f"{name} must be at least 1-dimensional, got a 0-d array.")
    return m


class Mask(LinearOperator):
    """Entrywise mask ``A x = m * x`` with ``m`` in {0, 1} (inpainting).

    The output keeps the input's shape, with zeros at the missing entries, so
    ``A^H = A``, ``A^H A = A`` and ``(A^H A + rho I)^{-1} v = v / (m + rho)``
    exactly (``has_normal_solve``).

    Parameters
    ----------
    mask : array of bool or {0, 1}
        Observed entries, of the image's shape, in any namespace (moved to the
        input's namespace and device on first use).
    """

    has_normal_solve = True

    def __init__(self, mask):
        m = check_mask(mask)
        super().__init__(tuple(m.shape), tuple(m.shape))
        self.mask = m

    @property
    def fraction(self):
        """Fraction of observed entries (a Python float; host copy of the mask)."""
        return float(to_host(self.mask).mean())

    def _weights(self, like):
        return self._param("mask", self.mask, like, complex_=False)

    def _forward(self, x):
        return x * self._weights(x)

    _adjoint = _forward

    def normal(self, x):
        return self.forward(x)

    def _solve_normal(self, rhs, rho):
        return rhs / (self._weights(rhs) + rho)
