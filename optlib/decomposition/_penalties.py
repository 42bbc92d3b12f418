"""Penalty names used by the sparse-coding estimators, and their construction.

The estimators take a penalty by name (a string is a plain, clonable
scikit-learn parameter); :func:`make_penalty` turns ``(name, alpha, params)``
into an :class:`optlib.functions.Function` with a value and a prox. All the
penalties below are separable, even and nondecreasing in ``|x|``, which the
sparse coder relies on twice:

* the matrix problem ``min_C 0.5 ||X^T - D^T C||_F^2 + alpha * g(C)`` decouples
  into one problem per sample (column of ``C``), so all samples are solved at
  once by one proximal-gradient run;
* adding nonnegativity keeps a closed-form prox,
  ``prox_{g + i_{>=0}}(v) = prox_g(max(v, 0))`` (see :class:`NonNegative`).
"""

from .._backend import get_namespace
from ..functions import Function

__all__ = ["PENALTIES", "make_penalty", "NonNegative", "check_penalty"]

# name -> (class name in optlib.functions, allowed extra parameters)
_REGISTRY = {
    "l1": ("L1", ()),
    "l0": ("L0", ()),
    "l1/2": ("LHalf", ()),
    "cel0": ("CEL0", ()),
    "mcp": ("MCP", ("gamma",)),
    "scad": ("SCAD", ("a",)),
    "lp": ("Lp", ("p",)),
}

#: Valid values of the ``penalty`` parameter.
PENALTIES = tuple(_REGISTRY)

#: Penalties whose minimisers are (local) solutions of the l0 problem or close
#: to them; they favour few large coefficients over many small ones.
L0_TYPE = ("l0", "l1/2", "cel0")


def check_penalty(penalty, penalty_params=None, name="penalty"):
    """Validate a penalty name and its extra parameters; return ``(name, params)``."""
    if not isinstance(penalty, str) or penalty.lower() not in _REGISTRY:
        listed = ", ".join(repr(p) for p in PENALTIES)
        raise ValueError(f"Unknown {name} {penalty!r}; expected one of {listed}.")
    penalty = penalty.lower()
    params = {} if penalty_params is None else penalty_params
    if not isinstance(params, dict):
        raise TypeError(f"penalty_params must be a dict or None, got {type(params).__name__}.")
    allowed = _REGISTRY[penalty][1]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        accepted = ", ".join(repr(a) for a in allowed) if allowed else "none"
        raise ValueError(
            f"penalty_params {unknown} are not accepted by penalty {penalty!r} "
            f"(accepted: {accepted})."
        )
    return penalty, dict(params)


def make_penalty(penalty, alpha, penalty_params=None, positive=False):
    """Build the penalty ``alpha * g`` named ``penalty``.

    Parameters
    ----------
    penalty : {"l1", "l0", "l1/2", "cel0", "mcp", "scad", "lp"}
        Penalty name (case-insensitive).
    alpha : float
        Regularisation weight (``lam`` of the penalty class).
    penalty_params : dict, optional
        Extra parameters: ``gamma`` for ``"mcp"``, ``a`` for ``"scad"``,
        ``p`` for ``"lp"``.
    positive : bool
        Restrict to nonnegative codes.

    Returns
    -------
    Function
        An :mod:`optlib.functions` penalty. For ``"cel0"`` it assumes atoms of
        unit norm (``a = 1``); the sparse coder normalises the dictionary first.
    """
    from .. import functions

    penalty, params = check_penalty(penalty, penalty_params)
    class_name = _REGISTRY[penalty][0]
    cls = getattr(functions, class_name, None)
    if cls is None:  # pragma: no cover - guards a partial install
        raise NotImplementedError(f"optlib.functions.{class_name} (penalty {penalty!r}) is not available.")
    try:
        g = cls(alpha, **params)
    except TypeError as exc:
        raise ValueError(f"Invalid penalty_params {params} for penalty {penalty!r}: {exc}") from None
    return NonNegative(g) if positive else g


class NonNegative(Function):
    """``g(x) + indicator(x >= 0)`` for an even, separable ``g`` nondecreasing in ``|x|``.

    For such ``g`` the prox is ``prox_g(max(v, 0))``: a negative entry is best
    set to 0, a nonnegative one keeps its sign under ``prox_g``.
    """

    is_separable = True

    def __init__(self, g):
        self.g = g
        self.is_convex = getattr(g, "is_convex", False)

    def __call__(self, x):
        xp = get_namespace(x)
        if x.size and float(xp.min(x)) < 0:
            return float("inf")
        return self.g(x)

    def prox(self, v, step=1.0):
        xp = get_namespace(v)
        return self.g.prox(xp.clip(v, 0.0, None), step)
