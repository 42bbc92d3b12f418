"""Base classes for functionals: things with a value, a gradient or a prox."""

__all__ = ["Function", "SmoothFunction"]


class Function:
    """A function ``g`` with a value and a proximal operator.

    Subclasses implement :meth:`__call__` (value as a Python float) and
    :meth:`prox`::

        prox_{step g}(v) = argmin_x  g(x) + ||x - v||^2 / (2 step)

    Both work on arrays of any shape from any array-API namespace and keep
    the input's namespace, device and dtype; the catalogue's classes also take
    Python scalars and sequences and always return arrays (see
    :mod:`optlib.functions`; implementations apply this convention with the
    ``array_prox`` and ``array_argument`` decorators of ``_utils``). Convex functions usable in a
    duality gap also implement :meth:`conjugate` and :meth:`dual_scaling`.

    Class attributes describe the function for solvers: ``is_convex``,
    ``is_separable`` (value and prox act entrywise), ``is_smooth``.
    """

    is_convex = True
    is_separable = False
    is_smooth = False

    def __call__(self, x):
        raise NotImplementedError

    def prox(self, v, step=1.0):
        """Proximal operator of ``step * self`` at ``v`` (a new array)."""
        raise NotImplementedError(f"{type(self).__name__} has no proximal operator.")

    def conjugate(self, u):
        """Fenchel conjugate ``g*(u)`` (``inf`` outside its domain)."""
        raise NotImplementedError(f"{type(self).__name__} has no conjugate.")

    def dual_scaling(self, u):
        """Largest ``c`` in (0, 1] with ``conjugate(c * u)`` finite (1 by default)."""
        return 1.0

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


class SmoothFunction(Function):
    """A differentiable function: adds :meth:`grad` and optionally :attr:`lipschitz`.

    ``lipschitz`` is a Lipschitz constant of the gradient, or ``None`` when
    unknown (solvers then backtrack). ``input_shape`` is the shape of the
    arguments ``x`` the function accepts, or ``None`` when any shape goes;
    solvers check starting points against it.
    """

    is_smooth = True
    is_convex = True
    lipschitz = None
    input_shape = None

    def grad(self, x):
        """Gradient at ``x``, same namespace, shape and dtype."""
        raise NotImplementedError

    def value_and_grad(self, x):
        """Value and gradient together (overridden where it saves work)."""
        return self(x), self.grad(x)
