"""Linear operator base class, identity, composition, scaling and the dot test.

An operator maps arrays of ``input_shape`` to arrays of ``output_shape``
(n-d arrays: images, volumes, measurement stacks). Its parameters (matrix,
mask, transfer function...) are moved to the namespace, device and precision
of the array it is applied to on first use, explicitly (:func:`to_host` /
:func:`to_namespace`), and cached there; results keep the input's namespace
and device, and float32 input gives float32 (complex64) output.
"""

import math
import numbers

import numpy as np

from .._backend import device, get_namespace, is_complex, to_host, to_namespace
from .._validation import check_random_state, check_scalar

__all__ = ["Identity", "LinearOperator", "check_adjoint"]


def _as_shape(shape, name):
    """Validate a shape: an int or a tuple of positive ints."""
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{name} must be an int or a tuple of ints, got {shape!r}.") from None
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"{name} must be a non-empty tuple of positive ints, got {shape!r}.")
    return shape


def real_inner(xp, a, b):
    """``Re <a, b> = Re sum(conj(a) * b)`` as a 0-d array (no host sync)."""
    if is_complex(a, xp) or is_complex(b, xp):
        return xp.sum(xp.real(xp.conj(a) * b))
    return xp.sum(a * b)


def sq_norm(xp, a):
    """``||a||^2`` as a 0-d real array."""
    if is_complex(a, xp):
        return xp.sum(xp.real(a) ** 2 + xp.imag(a) ** 2)
    return xp.sum(a * a)


class LinearOperator:
    """A linear map ``A`` from arrays of ``input_shape`` to arrays of ``output_shape``.

    Subclasses implement :meth:`_forward` and :meth:`_adjoint` (and, when an
    exact fast inverse exists, :meth:`_solve_normal` with
    ``has_normal_solve = True``); the public methods check the argument's
    shape and dtype first. ``A(x)``, ``A @ x`` and ``A.forward(x)`` are the
    same; ``A.H`` is the adjoint operator, ``A @ B`` a composition and
    ``c * A`` a scaled operator.

    Parameters
    ----------
    input_shape, output_shape : int or tuple of int
        Shapes of the arrays ``x`` and ``y = A x``.
    dtype : dtype, optional
        Dtype of the operator's own data (e.g. ``complex128`` for a Fourier
        operator); ``None`` when it has none. A complex operator gives
        complex output for real input.

    Attributes
    ----------
    has_normal_solve : bool
        Whether :meth:`solve_normal` applies ``(A^H A + rho I)^{-1}`` exactly
        and fast (closed form, FFT, eigendecomposition).
    real_only : bool
        The operator is defined on real arrays only: complex input raises
        ``TypeError``.
    """

    has_normal_solve = False
    real_only = False

    def __init__(self, input_shape, output_shape, dtype=None):
        self.input_shape = _as_shape(input_shape, "input_shape")
        self.output_shape = _as_shape(output_shape, "output_shape")
        self.dtype = dtype
        self._cache = {}

    # -- subclass interface -------------------------------------------------
    def _forward(self, x):
        raise NotImplementedError

    def _adjoint(self, y):
        raise NotImplementedError

    def _solve_normal(self, rhs, rho):
        raise NotImplementedError

    # -- checks ---------------------------------------------------------------
    def _check(self, x, shape, name):
        """Floating array of ``shape`` (integers and booleans become float64)."""
        if not hasattr(x, "shape") or not hasattr(x, "dtype"):
            raise TypeError(f"{name} must be an array, got {type(x).__name__}.")
        xp = get_namespace(x)
        if tuple(x.shape) != shape:
            raise ValueError(
                f"{name} has shape {tuple(x.shape)}, but {self._name()} expects {name} of shape {shape}."
            )
        if xp.isdtype(x.dtype, "complex floating"):
            if self.real_only:
                raise TypeError(f"{name} is complex ({x.dtype}), but {self._name()} is defined on real arrays only.")
        elif not xp.isdtype(x.dtype, "real floating"):
            if not xp.isdtype(x.dtype, ("integral", "bool")):
                raise TypeError(f"{name} must be numeric, got dtype {x.dtype}.")
            x = xp.astype(x, xp.float64)
        return x

    def _name(self):
        return f"{type(self).__name__}({self.input_shape} -> {self.output_shape})"

    def _param(self, name, array, like, complex_=None):
        """``array`` on ``like``'s namespace and device, in ``like``'s precision (cached).

        ``array`` keeps its real/complex kind unless ``complex_`` forces it.
        The move between libraries or devices is explicit and happens once
        per (namespace, device, precision).
        """
        xp = get_namespace(like)
        dev = device(like)
        single = like.dtype in (xp.float32, xp.complex64)
        key = (name, id(xp), str(dev), single, complex_)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        pxp = get_namespace(array)
        if pxp is not xp or device(array) != dev:
            array = to_namespace(to_host(array), xp, device=dev)
        make_complex = is_complex(array, xp) if complex_ is None else complex_
        if make_complex:
            target = xp.complex64 if single else xp.complex128
        else:
            target = xp.float32 if single else xp.float64
            if is_complex(array, xp):
                array = xp.real(array)
        if array.dtype != target:
            array = xp.astype(array, target)
        self._cache[key] = array
        return array

    # -- public interface -----------------------------------------------------
    def forward(self, x):
        """``A x`` (new array of ``output_shape``, on ``x``'s namespace and device)."""
        return self._forward(self._check(x, self.input_shape, "x"))

    def adjoint(self, y):
        """``A^H y`` (new array of ``input_shape``)."""
        return self._adjoint(self._check(y, self.output_shape, "y"))

    def __call__(self, x):
        return self.forward(x)

    def normal(self, x):
        """``A^H A x``; subclasses override it where a cheaper form exists."""
        return self._adjoint(self._forward(self._check(x, self.input_shape, "x")))

    def solve_normal(self, rhs, rho):
        """``(A^H A + rho I)^{-1} rhs`` exactly, for operators with ``has_normal_solve``.

        Parameters
        ----------
        rhs : array of ``input_shape``
        rho : float > 0

        Raises
        ------
        NotImplementedError
            When the operator has no exact fast inverse (use CG instead).
        """
        if not self.has_normal_solve:
            raise NotImplementedError(f"{self._name()} has no exact solve of (A^H A + rho I); use CG.")
        rho = check_scalar(rho, "rho", lower=0.0, lower_inclusive=False)
        return self._solve_normal(self._check(rhs, self.input_shape, "rhs"), rho)

    @property
    def H(self):
        """The adjoint operator ``A^H``."""
        return _Adjoint(self)

    def __matmul__(self, other):
        if isinstance(other, LinearOperator):
            return _Composition(self, other)
        return self.forward(other)

    def __mul__(self, scale):
        if isinstance(scale, numbers.Real) and not isinstance(scale, bool):
            return _Scaled(self, scale)
        return NotImplemented

    __rmul__ = __mul__

    def norm(self, *, max_iter=100, tol=1e-6, random_state=None, like=None):
        """Spectral norm ``||A||_2`` estimated by power iteration on ``A^H A``.

        Parameters
        ----------
        max_iter : int
            Maximum number of power iterations.
        tol : float
            Stop when the estimate changes by less than ``tol`` relatively.
        random_state : None, int or Generator
            Seed of the random starting vector (drawn on the host).
        like : array, optional
            The iteration runs in this array's namespace, device and
            precision (NumPy float64 by default).

        Returns
        -------
        float
            The estimate (a lower bound that converges to ``||A||_2``).
        """
        max_iter = check_scalar(max_iter, "max_iter", kind=numbers.Integral, lower=1)
        tol = check_scalar(tol, "tol", lower=0.0)
        xp, dev, dtype = _target(like, self.dtype)
        x = _random_array(self.input_shape, check_random_state(random_state), xp, dev, dtype)
        x = x / xp.sqrt(sq_norm(xp, x))
        estimate = 0.0
        for _ in range(max_iter):
            v = self.normal(x)
            new = float(xp.sqrt(sq_norm(xp, v)))
            if new == 0.0:
                return 0.0
            x = v / new
            if abs(new - estimate) <= tol * new:
                estimate = new
                break
            estimate = new
        return math.sqrt(estimate)

    def __repr__(self):
        return f"<{self._name()}>"


def _target(like, op_dtype):
    """Namespace, device and dtype of the random arrays of :meth:`LinearOperator.norm` and :func:`check_adjoint`."""
    if like is None:
        xp = get_namespace()
        complex_ = op_dtype is not None and np.dtype(op_dtype).kind == "c"
        return xp, None, xp.complex128 if complex_ else xp.float64
    xp = get_namespace(like)
    if not xp.isdtype(like.dtype, ("real floating", "complex floating")):
        raise TypeError(f"like must have a floating dtype, got {like.dtype}.")
    return xp, device(like), like.dtype


def _random_array(shape, rng, xp, dev, dtype):
    """Standard normal host array of ``shape``, moved to ``xp`` on ``dev`` as ``dtype``."""
    values = rng.standard_normal(shape)
    if xp.isdtype(dtype, "complex floating"):
        values = values + 1j * rng.standard_normal(shape)
    return xp.astype(to_namespace(values, xp, device=dev), dtype)


def check_adjoint(op, random_state=None, *, like=None):
    """Dot test: relative error of ``<A x, y> = <x, A^H y>`` on random ``x`` and ``y``.

    Parameters
    ----------
    op : LinearOperator
    random_state : None, int or Generator
        Seed of the random arrays (drawn on the host, then moved).
    like : array, optional
        The test runs in this array's namespace, device and dtype; complex
        ``like`` gives complex ``x`` and ``y``. NumPy float64 by default
        (complex128 for a complex operator). ``y`` is complex whenever
        ``A x`` is.

    Returns
    -------
    float
        ``|<A x, y> - <x, A^H y>| / (||A x|| ||y||)``, with
        ``<a, b> = sum(conj(a) b)``: about machine epsilon for a correct
        adjoint.
    """
    if not isinstance(op, LinearOperator):
        raise TypeError(f"op must be a LinearOperator, got {type(op).__name__}.")
    rng = check_random_state(random_state)
    xp, dev, dtype = _target(like, op.dtype)
    x = _random_array(op.input_shape, rng, xp, dev, dtype)
    ax = op.forward(x)
    y = _random_array(op.output_shape, rng, xp, dev, ax.dtype)
    ahy = op.adjoint(y)

    def inner(a, b):
        return xp.sum(xp.conj(a) * b) if is_complex(a, xp) or is_complex(b, xp) else xp.sum(a * b)

    error = float(xp.abs(inner(ax, y) - inner(x, ahy)))
    scale = math.sqrt(float(sq_norm(xp, ax)) * float(sq_norm(xp, y)))
    return error / scale if scale > 0 else error


class Identity(LinearOperator):
    """The identity on arrays of ``shape``."""

    has_normal_solve = True

    def __init__(self, shape):
        shape = _as_shape(shape, "shape")
        super().__init__(shape, shape)

    def _forward(self, x):
        return x + 0  # a new array: callers may modify the result

    _adjoint = _forward

    def _solve_normal(self, rhs, rho):
        return rhs / (1.0 + rho)


class _Adjoint(LinearOperator):
    """``A^H`` of an operator ``A``."""

    def __init__(self, op):
        super().__init__(op.output_shape, op.input_shape, op.dtype)
        self.op = op
        self.real_only = op.real_only

    def _forward(self, x):
        return self.op._adjoint(x)

    def _adjoint(self, y):
        return self.op._forward(y)

    @property
    def H(self):
        return self.op

    def _name(self):
        return f"{self.op._name()}.H"


class _Composition(LinearOperator):
    """``A @ B``: first ``B``, then ``A``."""

    def __init__(self, a, b):
        if a.input_shape != b.output_shape:
            raise ValueError(
                f"cannot compose {a._name()} @ {b._name()}: the input shape of the first must equal "
                "the output shape of the second."
            )
        dtype = a.dtype if a.dtype is not None and np.dtype(a.dtype).kind == "c" else b.dtype or a.dtype
        super().__init__(b.input_shape, a.output_shape, dtype)
        self.a, self.b = a, b
        self.real_only = b.real_only

    def _forward(self, x):
        return self.a._forward(self.b._forward(x))

    def _adjoint(self, y):
        return self.b._adjoint(self.a._adjoint(y))

    def _name(self):
        return f"({self.a._name()} @ {self.b._name()})"


class _Scaled(LinearOperator):
    """``c A`` for a real scalar ``c``; keeps ``A``'s exact normal solve."""

    def __init__(self, op, scale):
        super().__init__(op.input_shape, op.output_shape, op.dtype)
        self.op, self.scale = op, scale
        self.real_only = op.real_only
        self.has_normal_solve = op.has_normal_solve and scale != 0

    def _forward(self, x):
        return self.scale * self.op._forward(x)

    def _adjoint(self, y):
        return self.scale * self.op._adjoint(y)

    def normal(self, x):
        return self.scale**2 * self.op.normal(x)

    def _solve_normal(self, rhs, rho):
        # (|c|^2 N + rho)^{-1} = |c|^{-2} (N + rho / |c|^2)^{-1}
        s2 = self.scale**2
        return self.op._solve_normal(rhs, rho / s2) / s2

    def _name(self):
        return f"{self.scale!r} * {self.op._name()}"
