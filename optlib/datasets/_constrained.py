"""Equality-constrained test problems: Hock-Schittkowski, Boggs-Tolle, logistic, PDE control.

The small problems are written from their published definitions (Hock and
Schittkowski, *Test Examples for Nonlinear Programming Codes*, 1981; the
CUTEst SIF files of the BT problems and of the nonlinear equations BOOTH,
CUBENE, GOTTFR and HIMMELBA), with hand-derived gradients and Hessians,
their standard starting points and known optimal values. Every problem is ``min f(x) s.t. c(x) = 0``
and is returned as an :class:`EqualityProblem`, whose
:meth:`~EqualityProblem.minimize_kwargs` feed
:func:`optlib.optimize.minimize_eq`.
"""

import math

import numpy as np

__all__ = [
    "EqualityProblem",
    "CONSTRAINED_PROBLEMS",
    "load_constrained_problem",
    "make_constrained_logistic",
    "make_pde_control",
]

_SQ2 = math.sqrt(2.0)


class EqualityProblem:
    """``min f(x) s.t. c(x) = 0`` with exact first and second derivatives.

    Parameters
    ----------
    name : str
        Problem name.
    x0 : ndarray of shape (n,)
        Standard starting point.
    f_opt : float or None
        Known optimal value (``None`` when there is no published value).
    objective : callable or tuple of callables
        ``objective(x) -> (f, g, H)``: value, gradient and Hessian, or the
        three functions ``(fun, grad, hess)`` when computing them together
        is wasteful.
    constraints : callable
        ``constraints(x) -> (c, J, Hs)``: values ``(m,)``, Jacobian ``(m, n)``
        and Hessians ``(m, n, n)`` of the constraints (``Hs`` may be ``None``
        for linear constraints).
    v0 : ndarray of shape (m,), optional
        Starting multipliers suggested by the problem's source.

    Attributes
    ----------
    n, m : int
        Number of variables and of constraints.
    """

    def __init__(self, name, x0, f_opt, objective, constraints, v0=None):
        self.name = name
        self.x0 = np.asarray(x0, dtype=float)
        self.f_opt = f_opt
        self._objective = objective
        self._constraints = constraints
        self.v0 = v0
        if isinstance(objective, tuple):
            self.fun, self.grad, self.hess = objective
        self.n = self.x0.shape[0]
        self.m = np.asarray(constraints(self.x0)[0]).shape[0]

    def fun(self, x):
        """Objective value."""
        return self._objective(x)[0]

    def grad(self, x):
        """Gradient of the objective."""
        return self._objective(x)[1]

    def hess(self, x):
        """Hessian of the objective."""
        return self._objective(x)[2]

    def cons_fun(self, x):
        """Constraint values ``c(x)``."""
        return self._constraints(x)[0]

    def cons_jac(self, x):
        """Constraint Jacobian ``(m, n)``."""
        return self._constraints(x)[1]

    def cons_hess(self, x, v):
        """``sum_i v_i Hessian(c_i)(x)`` (the constraint part of the Lagrangian Hessian)."""
        Hs = self._constraints(x)[2]
        if Hs is None:
            return np.zeros((self.n, self.n))
        return np.tensordot(np.asarray(v), Hs, axes=1)

    @property
    def constraints(self):
        """The constraints as a dict for :func:`~optlib.optimize.minimize_eq`."""
        return {"fun": self.cons_fun, "jac": self.cons_jac, "hess": self.cons_hess}

    def minimize_kwargs(self):
        """Keyword arguments ``jac``, ``hess``, ``constraints`` of :func:`~optlib.optimize.minimize_eq`."""
        return {"jac": self.grad, "hess": self.hess, "constraints": self.constraints}

    def __repr__(self):
        return f"EqualityProblem({self.name!r}, n={self.n}, m={self.m}, f_opt={self.f_opt})"


# -- building blocks -------------------------------------------------------------------


def _powers(x, terms):
    """Value, gradient, Hessian of ``sum_k w_k (a_k . x - b_k)^p_k``; ``terms`` = [(a, b, p, w)]."""
    n = x.shape[0]
    f, g, H = 0.0, np.zeros(n), np.zeros((n, n))
    for a, b, p, w in terms:
        a = np.asarray(a, dtype=float)
        t = a @ x - b
        f += w * t**p
        g += w * p * t ** (p - 1) * a
        if p >= 2:
            H += w * p * (p - 1) * t ** (p - 2) * np.outer(a, a)
    return f, g, H


def _e(n, *pairs):
    """Vector of length ``n`` with ``{index: coefficient}`` pairs."""
    a = np.zeros(n)
    for i, coef in pairs:
        a[i] = coef
    return a


def _linear(A, b):
    """Linear constraints ``A x - b`` (no Hessian)."""
    A, b = np.asarray(A, dtype=float), np.asarray(b, dtype=float)
    return lambda x: (A @ x - b, A.copy(), None)


def _stack(*parts):
    """Concatenate constraint blocks ``x -> (c, J, Hs)``."""

    def constraints(x):
        cs, Js, Hs = [], [], []
        for part in parts:
            c, J, H = part(x)
            c = np.atleast_1d(c)
            cs.append(c)
            Js.append(np.atleast_2d(J))
            Hs.append(np.zeros((c.shape[0], x.shape[0], x.shape[0])) if H is None else np.reshape(H, (-1,) + (x.shape[0],) * 2))
        return np.concatenate(cs), np.concatenate(Js), np.concatenate(Hs)

    return constraints


def _scalar_con(fn):
    """One nonlinear constraint ``fn(x) -> (c, grad, Hessian)``."""
    return lambda x: tuple(np.asarray(v, dtype=float) for v in fn(x))


def _zero_objective(x):
    return 0.0, np.zeros_like(x), np.zeros((x.shape[0], x.shape[0]))


# -- objectives shared by several problems ----------------------------------------------


def _obj_hs46(x):  # (x1-x2)^2 + (x3-1)^2 + (x4-1)^4 + (x5-1)^6
    return _powers(x, [(_e(5, (0, 1), (1, -1)), 0, 2, 1), (_e(5, (2, 1)), 1, 2, 1),
                       (_e(5, (3, 1)), 1, 4, 1), (_e(5, (4, 1)), 1, 6, 1)])


def _obj_hs77(x):  # (x1-1)^2 + (x1-x2)^2 + (x3-1)^2 + (x4-1)^4 + (x5-1)^6
    return _powers(x, [(_e(5, (0, 1)), 1, 2, 1), (_e(5, (0, 1), (1, -1)), 0, 2, 1), (_e(5, (2, 1)), 1, 2, 1),
                       (_e(5, (3, 1)), 1, 4, 1), (_e(5, (4, 1)), 1, 6, 1)])


def _obj_hs51(x, first=(1.0, -1.0)):  # (a x1 + b x2)^2 + (x2+x3-2)^2 + (x4-1)^2 + (x5-1)^2
    return _powers(x, [(_e(5, (0, first[0]), (1, first[1])), 0, 2, 1), (_e(5, (1, 1), (2, 1)), 2, 2, 1),
                       (_e(5, (3, 1)), 1, 2, 1), (_e(5, (4, 1)), 1, 2, 1)])


def _obj_hs79(x):  # (x1-1)^2 + (x1-x2)^2 + (x2-x3)^2 + (x3-x4)^4 + (x4-x5)^4
    return _powers(x, [(_e(5, (0, 1)), 1, 2, 1), (_e(5, (0, 1), (1, -1)), 0, 2, 1),
                       (_e(5, (1, 1), (2, -1)), 0, 2, 1), (_e(5, (2, 1), (3, -1)), 0, 4, 1),
                       (_e(5, (3, 1), (4, -1)), 0, 4, 1)])


def _obj_product(x):
    """``prod(x)`` (HS40 with a minus sign, HS78)."""
    n = x.shape[0]
    f = float(np.prod(x))
    g = np.array([np.prod(np.delete(x, i)) for i in range(n)])
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            H[i, j] = H[j, i] = np.prod(np.delete(x, [i, j]))
    return f, g, H


def _neg(objective):
    def negated(x):
        f, g, H = objective(x)
        return -f, -g, -H

    return negated


def _quadratic(Q, q, const=0.0):
    """``0.5 x^T Q x + q^T x + const``."""
    Q, q = np.asarray(Q, dtype=float), np.asarray(q, dtype=float)
    return lambda x: (0.5 * x @ Q @ x + q @ x + const, Q @ x + q, Q.copy())


# -- nonlinear constraints shared by several problems ------------------------------------


def _con_hs46_pair(rhs1, rhs2):
    """``x1^2 x4 + sin(x4 - x5) - rhs1`` and ``x2 + x3^4 x4^2 - rhs2`` (HS46, HS77)."""

    def c1(x):
        s = x[3] - x[4]
        H = np.zeros((5, 5))
        H[0, 0] = 2 * x[3]
        H[0, 3] = H[3, 0] = 2 * x[0]
        H[3, 3], H[4, 4] = -math.sin(s), -math.sin(s)
        H[3, 4] = H[4, 3] = math.sin(s)
        g = [2 * x[0] * x[3], 0, 0, x[0] ** 2 + math.cos(s), -math.cos(s)]
        return x[0] ** 2 * x[3] + math.sin(s) - rhs1, g, H

    def c2(x):
        H = np.zeros((5, 5))
        H[2, 2] = 12 * x[2] ** 2 * x[3] ** 2
        H[2, 3] = H[3, 2] = 8 * x[2] ** 3 * x[3]
        H[3, 3] = 2 * x[2] ** 4
        g = [0, 1, 4 * x[2] ** 3 * x[3] ** 2, 2 * x[2] ** 4 * x[3], 0]
        return x[1] + x[2] ** 4 * x[3] ** 2 - rhs2, g, H

    return _stack(_scalar_con(c1), _scalar_con(c2))


def _con_hs47_pair(rhs1, rhs2, rhs3):
    """``x1 + x2^2 + x3^3 - rhs1``, ``x2 - x3^2 + x4 - rhs2``, ``x1 x5 - rhs3`` (HS47, HS79)."""

    def c1(x):
        return x[0] + x[1] ** 2 + x[2] ** 3 - rhs1, [1, 2 * x[1], 3 * x[2] ** 2, 0, 0], np.diag([0, 2, 6 * x[2], 0, 0])

    def c2(x):
        return x[1] - x[2] ** 2 + x[3] - rhs2, [0, 1, -2 * x[2], 1, 0], np.diag([0, 0, -2.0, 0, 0])

    def c3(x):
        H = np.zeros((5, 5))
        H[0, 4] = H[4, 0] = 1
        return x[0] * x[4] - rhs3, [x[4], 0, 0, 0, x[0]], H

    return _stack(_scalar_con(c1), _scalar_con(c2), _scalar_con(c3))


def _con_hs39(x):
    """``x2 - x1^3 - x3^2`` and ``x1^2 - x2 - x4^2`` (HS39 = BT9)."""
    c = [x[1] - x[0] ** 3 - x[2] ** 2, x[0] ** 2 - x[1] - x[3] ** 2]
    J = [[-3 * x[0] ** 2, 1, -2 * x[2], 0], [2 * x[0], -1, 0, -2 * x[3]]]
    Hs = [np.diag([-6 * x[0], 0, -2, 0]), np.diag([2.0, 0, 0, -2])]
    return np.array(c), np.array(J, dtype=float), np.array(Hs)


# -- the problems -------------------------------------------------------------------------


def _hs6():
    obj = lambda x: _powers(x, [(_e(2, (0, 1)), 1, 2, 1)])  # noqa: E731
    con = _scalar_con(lambda x: (10 * (x[1] - x[0] ** 2), [-20 * x[0], 10], [[-20, 0], [0, 0]]))
    return EqualityProblem("HS6", [-1.2, 1.0], 0.0, obj, _stack(con))


def _hs7():
    def obj(x):
        u = 1 + x[0] ** 2
        return math.log(u) - x[1], np.array([2 * x[0] / u, -1.0]), np.array([[2 * (1 - x[0] ** 2) / u**2, 0], [0, 0]])

    con = _scalar_con(lambda x: ((1 + x[0] ** 2) ** 2 + x[1] ** 2 - 4, [4 * x[0] * (1 + x[0] ** 2), 2 * x[1]],
                                 [[4 + 12 * x[0] ** 2, 0], [0, 2]]))
    return EqualityProblem("HS7", [2.0, 2.0], -math.sqrt(3.0), obj, _stack(con))


def _hs8():
    c1 = _scalar_con(lambda x: (x[0] ** 2 + x[1] ** 2 - 25, [2 * x[0], 2 * x[1]], 2 * np.eye(2)))
    c2 = _scalar_con(lambda x: (x[0] * x[1] - 9, [x[1], x[0]], [[0, 1], [1, 0]]))
    obj = lambda x: (-1.0, np.zeros(2), np.zeros((2, 2)))  # noqa: E731
    return EqualityProblem("HS8", [2.0, 1.0], -1.0, obj, _stack(c1, c2))


def _hs9():
    a, b = math.pi / 12, math.pi / 16

    def obj(x):
        sa, ca, sb, cb = math.sin(a * x[0]), math.cos(a * x[0]), math.sin(b * x[1]), math.cos(b * x[1])
        g = np.array([a * ca * cb, -b * sa * sb])
        H = np.array([[-a * a * sa * cb, -a * b * ca * sb], [-a * b * ca * sb, -b * b * sa * cb]])
        return sa * cb, g, H

    return EqualityProblem("HS9", [0.0, 0.0], -0.5, obj, _linear([[4, -3]], [0]))


def _hs26():
    obj = lambda x: _powers(x, [(_e(3, (0, 1), (1, -1)), 0, 2, 1), (_e(3, (1, 1), (2, -1)), 0, 4, 1)])  # noqa: E731
    con = _scalar_con(lambda x: ((1 + x[1] ** 2) * x[0] + x[2] ** 4 - 3, [1 + x[1] ** 2, 2 * x[0] * x[1], 4 * x[2] ** 3],
                                 [[0, 2 * x[1], 0], [2 * x[1], 2 * x[0], 0], [0, 0, 12 * x[2] ** 2]]))
    return EqualityProblem("HS26", [-2.6, 2.0, 2.0], 0.0, obj, _stack(con))


def _hs27():
    def obj(x):
        u = x[1] - x[0] ** 2
        f = 0.01 * (x[0] - 1) ** 2 + u**2
        g = np.array([0.02 * (x[0] - 1) - 4 * x[0] * u, 2 * u, 0.0])
        H = np.array([[0.02 - 4 * x[1] + 12 * x[0] ** 2, -4 * x[0], 0], [-4 * x[0], 2, 0], [0, 0, 0]])
        return f, g, H

    con = _scalar_con(lambda x: (x[0] + x[2] ** 2 + 1, [1, 0, 2 * x[2]], np.diag([0, 0, 2.0])))
    return EqualityProblem("HS27", [2.0, 2.0, 2.0], 0.04, obj, _stack(con))


def _hs28():
    obj = lambda x: _powers(x, [(_e(3, (0, 1), (1, 1)), 0, 2, 1), (_e(3, (1, 1), (2, 1)), 0, 2, 1)])  # noqa: E731
    return EqualityProblem("HS28", [-4.0, 1.0, 1.0], 0.0, obj, _linear([[1, 2, 3]], [1]))


def _hs39(name="HS39"):
    obj = lambda x: (-x[0], _e(4, (0, -1)), np.zeros((4, 4)))  # noqa: E731
    return EqualityProblem(name, [2.0] * 4, -1.0, obj, _con_hs39)


def _hs40():
    c1 = _scalar_con(lambda x: (x[0] ** 3 + x[1] ** 2 - 1, [3 * x[0] ** 2, 2 * x[1], 0, 0], np.diag([6 * x[0], 2, 0, 0])))

    def c2(x):
        H = np.zeros((4, 4))
        H[0, 0] = 2 * x[3]
        H[0, 3] = H[3, 0] = 2 * x[0]
        return x[0] ** 2 * x[3] - x[2], [2 * x[0] * x[3], 0, -1, x[0] ** 2], H

    c3 = _scalar_con(lambda x: (x[3] ** 2 - x[1], [0, -1, 0, 2 * x[3]], np.diag([0, 0, 0, 2.0])))
    return EqualityProblem("HS40", [0.8] * 4, -0.25, _neg(_obj_product), _stack(c1, _scalar_con(c2), c3))


def _hs42():
    obj = lambda x: _powers(x, [(_e(4, (i, 1)), i + 1, 2, 1) for i in range(4)])  # noqa: E731
    c2 = _scalar_con(lambda x: (x[2] ** 2 + x[3] ** 2 - 2, [0, 0, 2 * x[2], 2 * x[3]], np.diag([0, 0, 2.0, 2.0])))
    return EqualityProblem("HS42", [1.0] * 4, 28 - 10 * _SQ2, obj, _stack(_linear([[1, 0, 0, 0]], [2]), c2))


def _hs46():
    return EqualityProblem("HS46", [0.5 * _SQ2, 1.75, 0.5, 2.0, 2.0], 0.0, _obj_hs46, _con_hs46_pair(1.0, 2.0))


def _hs47():
    obj = lambda x: _powers(x, [(_e(5, (0, 1), (1, -1)), 0, 2, 1), (_e(5, (1, 1), (2, -1)), 0, 3, 1),  # noqa: E731
                                (_e(5, (2, 1), (3, -1)), 0, 4, 1), (_e(5, (3, 1), (4, -1)), 0, 4, 1)])
    return EqualityProblem("HS47", [2.0, _SQ2, -1.0, 2 - _SQ2, 0.5], 0.0, obj, _con_hs47_pair(3.0, 1.0, 1.0))


def _hs48():
    obj = lambda x: _powers(x, [(_e(5, (0, 1)), 1, 2, 1), (_e(5, (1, 1), (2, -1)), 0, 2, 1),  # noqa: E731
                                (_e(5, (3, 1), (4, -1)), 0, 2, 1)])
    return EqualityProblem("HS48", [3.0, 5.0, -3.0, 2.0, -2.0], 0.0, obj,
                           _linear([[1, 1, 1, 1, 1], [0, 0, 1, -2, -2]], [5, -3]))


def _hs49():
    return EqualityProblem("HS49", [10.0, 7.0, 2.0, -3.0, 0.8], 0.0, _obj_hs46,
                           _linear([[1, 1, 1, 4, 0], [0, 0, 1, 0, 5]], [7, 6]))


def _hs50():
    obj = lambda x: _powers(x, [(_e(5, (0, 1), (1, -1)), 0, 2, 1), (_e(5, (1, 1), (2, -1)), 0, 2, 1),  # noqa: E731
                                (_e(5, (2, 1), (3, -1)), 0, 4, 1), (_e(5, (3, 1), (4, -1)), 0, 2, 1)])
    return EqualityProblem("HS50", [35.0, -31.0, 11.0, 5.0, -5.0], 0.0, obj,
                           _linear([[1, 2, 3, 0, 0], [0, 1, 2, 3, 0], [0, 0, 1, 2, 3]], [6, 6, 6]))


_HS51_A, _HS51_B = [[1, 3, 0, 0, 0], [0, 0, 1, 1, -2], [0, 1, 0, 0, -1]], [4, 0, 0]


def _hs51():
    return EqualityProblem("HS51", [2.5, 0.5, 2.0, -1.0, 0.5], 0.0, _obj_hs51, _linear(_HS51_A, _HS51_B))


def _hs52():
    obj = lambda x: _obj_hs51(x, first=(4.0, -1.0))  # noqa: E731
    return EqualityProblem("HS52", [2.0] * 5, 1859 / 349, obj, _linear(_HS51_A, [0, 0, 0]))


def _hs56():
    def sin2(i, scale):
        def c(x):
            g, H = np.zeros(7), np.zeros((7, 7))
            g[i] = -scale * math.sin(2 * x[i])
            H[i, i] = -2 * scale * math.cos(2 * x[i])
            return -scale * math.sin(x[i]) ** 2, g, H

        return c

    def con(coefs, i, scale):
        nonlinear = sin2(i, scale)

        def c(x):
            v, g, H = nonlinear(x)
            a = np.asarray(coefs, dtype=float)
            return a @ x[:3] + v, np.concatenate([a, np.zeros(4)]) + g, H

        return _scalar_con(c)

    a, b = math.asin(math.sqrt(1 / 4.2)), math.asin(math.sqrt(5 / 7.2))
    obj = _neg(lambda x: tuple(_embed(_obj_product(x[:3]), 7)))
    cons = _stack(con([1, 0, 0], 3, 4.2), con([0, 1, 0], 4, 4.2), con([0, 0, 1], 5, 4.2), con([1, 2, 2], 6, 7.2))
    return EqualityProblem("HS56", [1.0, 1.0, 1.0, a, a, a, b], -3.456, obj, cons)


def _embed(fgh, n):
    """Objective of the first ``k`` variables as one of ``n``."""
    f, g, H = fgh
    k = g.shape[0]
    G, HH = np.zeros(n), np.zeros((n, n))
    G[:k], HH[:k, :k] = g, H
    return f, G, HH


def _hs61():
    obj = _quadratic(np.diag([8.0, 4.0, 4.0]), [-33.0, 16.0, -24.0])
    c1 = _scalar_con(lambda x: (3 * x[0] - 2 * x[1] ** 2 - 7, [3, -4 * x[1], 0], np.diag([0, -4.0, 0])))
    c2 = _scalar_con(lambda x: (4 * x[0] - x[2] ** 2 - 11, [4, 0, -2 * x[2]], np.diag([0, 0, -2.0])))
    return EqualityProblem("HS61", [0.0, 0.0, 0.0], -143.6461422, obj, _stack(c1, c2))


def _hs77():
    return EqualityProblem("HS77", [2.0] * 5, 0.24150513, _obj_hs77, _con_hs46_pair(2 * _SQ2, 8 + _SQ2))


def _hs78():
    c1 = _scalar_con(lambda x: (x @ x - 10, 2 * x, 2 * np.eye(5)))

    def c2(x):
        H = np.zeros((5, 5))
        H[1, 2] = H[2, 1] = 1
        H[3, 4] = H[4, 3] = -5
        return x[1] * x[2] - 5 * x[3] * x[4], [0, x[2], x[1], -5 * x[4], -5 * x[3]], H

    c3 = _scalar_con(lambda x: (x[0] ** 3 + x[1] ** 3 + 1, [3 * x[0] ** 2, 3 * x[1] ** 2, 0, 0, 0],
                                np.diag([6 * x[0], 6 * x[1], 0, 0, 0])))
    return EqualityProblem("HS78", [-2.0, 1.5, 2.0, -1.0, -1.0], -2.91970041, _obj_product,
                           _stack(c1, _scalar_con(c2), c3))


def _hs79():
    return EqualityProblem("HS79", [2.0] * 5, 0.0787768209, _obj_hs79,
                           _con_hs47_pair(2 + 3 * _SQ2, -2 + 2 * _SQ2, 2.0))


def _hs100lnp():
    def obj(x):
        f, g, H = _powers(x, [(_e(7, (0, 1)), 10, 2, 1), (_e(7, (1, 1)), 12, 2, 5), (_e(7, (2, 1)), 0, 4, 1),
                              (_e(7, (3, 1)), 11, 2, 3), (_e(7, (4, 1)), 0, 6, 10), (_e(7, (5, 1)), 0, 2, 7),
                              (_e(7, (6, 1)), 0, 4, 1)])
        f += -4 * x[5] * x[6] - 10 * x[5] - 8 * x[6]
        g = g + _e(7, (5, -4 * x[6] - 10), (6, -4 * x[5] - 8))
        H[5, 6] -= 4
        H[6, 5] -= 4
        return f, g, H

    def c1(x):
        return (2 * x[0] ** 2 + 3 * x[1] ** 4 + x[2] + 4 * x[3] ** 2 + 5 * x[4] - 127,
                [4 * x[0], 12 * x[1] ** 3, 1, 8 * x[3], 5, 0, 0], np.diag([4, 36 * x[1] ** 2, 0, 8, 0, 0, 0]))

    def c2(x):
        H = np.diag([-8.0, -2.0, -4.0, 0, 0, 0, 0])
        H[0, 1] = H[1, 0] = 3
        return (-4 * x[0] ** 2 - x[1] ** 2 + 3 * x[0] * x[1] - 2 * x[2] ** 2 - 5 * x[5] + 11 * x[6],
                [-8 * x[0] + 3 * x[1], -2 * x[1] + 3 * x[0], -4 * x[2], 0, 0, -5, 11], H)

    return EqualityProblem("HS100LNP", [1.0, 2.0, 0.0, 4.0, 0.0, 1.0, 1.0], 680.6300573, obj,
                           _stack(_scalar_con(c1), _scalar_con(c2)))


def _bt2():
    obj = lambda x: _powers(x, [(_e(3, (0, 1)), 1, 2, 1), (_e(3, (0, 1), (1, -1)), 0, 2, 1),  # noqa: E731
                                (_e(3, (1, 1), (2, -1)), 0, 4, 1)])
    con = _scalar_con(lambda x: (x[0] * (1 + x[1] ** 2) + x[2] ** 4 - 4 - 3 * _SQ2,
                                 [1 + x[1] ** 2, 2 * x[0] * x[1], 4 * x[2] ** 3],
                                 [[0, 2 * x[1], 0], [2 * x[1], 2 * x[0], 0], [0, 0, 12 * x[2] ** 2]]))
    return EqualityProblem("BT2", [10.0] * 3, 0.032568200, obj, _stack(con))


def _bt3():
    return EqualityProblem("BT3", [20.0] * 5, 176 / 43, _obj_hs51, _linear(_HS51_A, [0, 0, 0]))


def _bt5():
    Q = -np.array([[2.0, 1, 1], [1, 4, 0], [1, 0, 2]])
    c2 = _scalar_con(lambda x: (x @ x - 25, 2 * x, 2 * np.eye(3)))
    return EqualityProblem("BT5", [2.0] * 3, 961.715172, _quadratic(Q, np.zeros(3), 1000.0),
                           _stack(_linear([[8, 14, 7]], [56]), c2))


def _bt6():
    """HS77's objective and first constraint; the second is ``x2 + x3^4 x2^2 = 8 + sqrt(2)`` (CUTEst BT6)."""
    first = _con_hs46_pair(2 * _SQ2, 0.0)

    def c2(x):
        H = np.zeros((5, 5))
        H[1, 1] = 2 * x[2] ** 4
        H[1, 2] = H[2, 1] = 8 * x[2] ** 3 * x[1]
        H[2, 2] = 12 * x[2] ** 2 * x[1] ** 2
        g = [0, 1 + 2 * x[2] ** 4 * x[1], 4 * x[2] ** 3 * x[1] ** 2, 0, 0]
        return x[1] + x[2] ** 4 * x[1] ** 2 - 8 - _SQ2, g, H

    def c1(x):
        c, J, Hs = first(x)
        return c[0], J[0], Hs[0]

    return EqualityProblem("BT6", [2.0] * 5, 0.277044924, _obj_hs77, _stack(_scalar_con(c1), _scalar_con(c2)))


def _bt11():
    """HS79's objective; ``x1 + x2^2 + x3^3 = -2 + sqrt(18)``, ``x2 - x3^2 + x4 = -2 + sqrt(8)``, ``x1 - x5 = 2``."""
    first_two = _con_hs47_pair(-2 + math.sqrt(18.0), -2 + math.sqrt(8.0), 0.0)

    def nonlinear(x):
        c, J, Hs = first_two(x)
        return c[:2], J[:2], Hs[:2]

    return EqualityProblem("BT11", [2.0] * 5, 0.824891647, _obj_hs79,
                           _stack(nonlinear, _linear([[1, 0, 0, 0, -1]], [2])))


def _bt10():
    c1 = _scalar_con(lambda x: (x[1] - x[0] ** 3, [-3 * x[0] ** 2, 1], [[-6 * x[0], 0], [0, 0]]))
    c2 = _scalar_con(lambda x: (-x[0] ** 2 + x[1], [-2 * x[0], 1], [[-2, 0], [0, 0]]))
    obj = lambda x: (-x[0], _e(2, (0, -1)), np.zeros((2, 2)))  # noqa: E731
    return EqualityProblem("BT10", [2.0, 2.0], -1.0, obj, _stack(c1, c2))


def _bt12():
    obj = _quadratic(np.diag([0.02, 2.0, 0, 0, 0]), np.zeros(5))
    c1 = _scalar_con(lambda x: (x[0] + x[1] - x[2] ** 2 - 25, [1, 1, -2 * x[2], 0, 0], np.diag([0, 0, -2.0, 0, 0])))
    c2 = _scalar_con(lambda x: (x[0] ** 2 + x[1] ** 2 - x[3] ** 2 - 25, [2 * x[0], 2 * x[1], 0, -2 * x[3], 0],
                                np.diag([2.0, 2.0, 0, -2.0, 0])))
    c3 = _scalar_con(lambda x: (x[0] - x[4] ** 2 - 2, [1, 0, 0, 0, -2 * x[4]], np.diag([0, 0, 0, 0, -2.0])))
    return EqualityProblem("BT12", [2.0] * 5, 6.18811881, obj, _stack(c1, c2, c3))


def _booth():
    return EqualityProblem("BOOTH", [0.0, 0.0], 0.0, _zero_objective, _linear([[1, 2], [2, 1]], [7, 5]))


def _himmelba():
    """Two linear equations ``(x1 - 5) / 0.25 = 0``, ``x2 - 6 = 0`` (CUTEst HIMMELBA, SIF group scale 0.25)."""
    return EqualityProblem("HIMMELBA", [8.0, 9.0], 0.0, _zero_objective, _linear([[4, 0], [0, 1]], [20, 6]))


def _cubene():
    """The cubic Rosenbrock equations ``x1 - 1 = 0``, ``10 (x2 - x1^3) = 0`` (CUTEst CUBENE)."""
    c1 = _scalar_con(lambda x: (x[0] - 1, [1, 0], np.zeros((2, 2))))
    c2 = _scalar_con(lambda x: (10 * (x[1] - x[0] ** 3), [-30 * x[0] ** 2, 10], [[-60 * x[0], 0], [0, 0]]))
    return EqualityProblem("CUBENE", [-1.2, 1.0], 0.0, _zero_objective, _stack(c1, c2))


def _gottfr():
    k1, k2 = 0.1136, 7.5
    c1 = _scalar_con(lambda x: (x[0] - k1 * (x[0] + 3 * x[1]) * (1 - x[0]),
                                [1 - k1 * (1 - 2 * x[0] - 3 * x[1]), -k1 * (3 - 3 * x[0])],
                                [[2 * k1, 3 * k1], [3 * k1, 0]]))
    c2 = _scalar_con(lambda x: (x[1] + k2 * (2 * x[0] - x[1]) * (1 - x[1]),
                                [k2 * (2 - 2 * x[1]), 1 + k2 * (-1 - 2 * x[0] + 2 * x[1])],
                                [[0, -2 * k2], [-2 * k2, 2 * k2]]))
    return EqualityProblem("GOTTFR", [0.5, 0.5], 0.0, _zero_objective, _stack(c1, c2))


_PROBLEMS = {
    "HS6": _hs6, "HS7": _hs7, "HS8": _hs8, "HS9": _hs9, "HS26": _hs26, "HS27": _hs27, "HS28": _hs28,
    "HS39": _hs39, "HS40": _hs40, "HS42": _hs42, "HS46": _hs46, "HS47": _hs47, "HS48": _hs48, "HS49": _hs49,
    "HS50": _hs50, "HS51": _hs51, "HS52": _hs52, "HS56": _hs56, "HS61": _hs61, "HS77": _hs77, "HS78": _hs78,
    "HS79": _hs79, "HS100LNP": _hs100lnp, "BT2": _bt2, "BT3": _bt3, "BT5": _bt5, "BT6": _bt6,
    "BT9": lambda: _hs39("BT9"), "BT10": _bt10, "BT11": _bt11, "BT12": _bt12, "BOOTH": _booth,
    "CUBENE": _cubene, "GOTTFR": _gottfr, "HIMMELBA": _himmelba,
}

#: Names of the small equality-constrained problems of :func:`load_constrained_problem`.
CONSTRAINED_PROBLEMS = tuple(_PROBLEMS)


def load_constrained_problem(name):
    """A Hock-Schittkowski, Boggs-Tolle or nonlinear-equation problem by name.

    Parameters
    ----------
    name : str
        One of :data:`CONSTRAINED_PROBLEMS` (case-insensitive): HS6, HS7,
        HS8, HS9, HS26, HS27, HS28, HS39, HS40, HS42, HS46-HS52, HS56, HS61,
        HS77, HS78, HS79, HS100LNP (HS100 with its two constraints active at
        the solution as equalities), BT2, BT3, BT5, BT6, BT9, BT10, BT11,
        BT12, and the nonlinear equations BOOTH, CUBENE, GOTTFR and HIMMELBA
        (zero objective).

    Returns
    -------
    EqualityProblem
        With the standard starting point ``x0`` and the published optimal
        value ``f_opt``.
    """
    key = str(name).upper()
    if key not in _PROBLEMS:
        raise ValueError(f"Unknown problem {name!r}; expected one of {', '.join(CONSTRAINED_PROBLEMS)}.")
    return _PROBLEMS[key]()


def make_constrained_logistic(dataset="synthetic", *, n_constraints=10, n_samples=500, n_features=20,
                              random_state=0):
    """Logistic regression with linear and unit-norm equality constraints.

    ``min_x mean_i log(1 + exp(-y_i z_i^T x))`` subject to ``A x = b``
    (``A`` of shape ``(n_constraints, d)`` with standard normal entries) and
    ``||x||^2 = 1``, so ``m = n_constraints + 1``; start ``x0 = 1``,
    ``v0 = 1`` (Hong et al., 2023). ``b = A u`` for a random unit vector
    ``u``, so the constraints are always feasible (the paper draws
    ``b ~ N(0, 1)``, which is infeasible when ``d`` is close to ``m``).

    Parameters
    ----------
    dataset : {"synthetic", "breast_cancer", "digits", "wine"}
        Features ``z_i``: scikit-learn's shipped data sets, standardised
        (``digits``: label ``>= 5`` against the rest; ``wine``: class 0
        against the rest), or Gaussian features with labels from a random
        linear model with 10% label noise (``n_samples`` x ``n_features``).
    n_constraints : int
        Rows of ``A``.
    n_samples, n_features : int
        Size of the synthetic data set.
    random_state : int or numpy.random.Generator
        Seed of ``A``, ``u`` and the synthetic data.

    Returns
    -------
    EqualityProblem
        ``f_opt`` is ``None`` (no published value).
    """
    rng = np.random.default_rng(random_state)
    if dataset == "synthetic":
        Z = rng.standard_normal((n_samples, n_features))
        y = np.sign(Z @ rng.standard_normal(n_features) + 1e-12)
        y[rng.random(n_samples) < 0.1] *= -1
    elif dataset in ("breast_cancer", "digits", "wine"):
        from sklearn import datasets

        data = getattr(datasets, f"load_{dataset}")()
        Z, target = data.data.astype(float), data.target
        y = np.where(target >= 5, 1.0, -1.0) if dataset == "digits" else np.where(target == 0, 1.0, -1.0)
        scale = Z.std(axis=0)
        Z = (Z - Z.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    else:
        raise ValueError(f"Unknown dataset {dataset!r}; expected 'synthetic', 'breast_cancer', 'digits' or 'wine'.")
    N, d = Z.shape
    A = rng.standard_normal((n_constraints, d))
    u = rng.standard_normal(d)
    b = A @ (u / np.linalg.norm(u))
    YZ = y[:, None] * Z

    def fun(x):
        return np.mean(np.logaddexp(0.0, -(YZ @ x)))

    def sigmoid_neg(x):
        return 0.5 * (1 - np.tanh((YZ @ x) / 2))  # sigmoid(-y z^T x), overflow-free

    def grad(x):
        return -(YZ.T @ sigmoid_neg(x)) / N

    def hess(x):
        s = sigmoid_neg(x)
        return (YZ.T * (s * (1 - s))) @ YZ / N

    def constraints(x):
        c = np.concatenate([A @ x - b, [x @ x - 1]])
        J = np.vstack([A, 2 * x])
        Hs = np.zeros((n_constraints + 1, d, d))
        Hs[-1] = 2 * np.eye(d)
        return c, J, Hs

    return EqualityProblem(f"logistic-{dataset}", np.ones(d), None, (fun, grad, hess), constraints,
                           v0=np.ones(n_constraints + 1))


class PDEControlProblem(EqualityProblem):
    """Distributed control of the Poisson equation on an ``N x N`` grid (sparse, matrix-free).

    Variables ``x = (w, z)`` (state and control, ``n = 2 N^2``); constraints
    ``L w + z = 0`` (``m = N^2``) with ``L`` the 5-point Laplacian
    ``(4 w_ij - w_{i+-1,j} - w_{i,j+-1}) / h^2``, ``h = 2 / (N + 1)``, zero
    boundary; objective ``0.5 (||w - w*||^2 + 0.1 ||z||^2)``. ``hess``
    returns a sparse diagonal matrix, ``hessp`` its product, ``cons_jac`` the
    sparse Jacobian ``[L, I]``; the constraints are linear. The problem
    carries its KKT preconditioner (:meth:`preconditioner`), which
    :meth:`minimize_kwargs` hands to the solver by default.
    """

    def __init__(self, N):
        import scipy.sparse as sp

        self.N = N
        h = 2.0 / (N + 1)
        T = sp.diags([-np.ones(N - 1), 2 * np.ones(N), -np.ones(N - 1)], [-1, 0, 1])
        I_N = sp.identity(N)
        self.L = ((sp.kron(I_N, T) + sp.kron(T, I_N)) / h**2).tocsr()
        k = (N + 1) / 2
        i = np.arange(1, N + 1)
        s = 0.1 / math.sqrt(15)
        self.w_target = (np.sin(4 + s * (i[:, None] - k)) + np.cos(3 + s * (i[None, :] - k))).ravel()
        self._diag = np.concatenate([np.ones(N * N), 0.1 * np.ones(N * N)])
        self._jac = sp.hstack([self.L, sp.identity(N * N)]).tocsr()
        super().__init__(f"PDE-N{N}", np.ones(2 * N * N), None, self._objective_fgh, self._constraints_cj,
                         v0=np.ones(N * N))

    def _split(self, x):
        return x[: self.N**2], x[self.N**2:]

    def fun(self, x):
        w, z = self._split(x)
        return 0.5 * (np.sum((w - self.w_target) ** 2) + 0.1 * np.sum(z**2))

    def grad(self, x):
        w, z = self._split(x)
        return np.concatenate([w - self.w_target, 0.1 * z])

    def hess(self, x):
        import scipy.sparse as sp

        return sp.diags(self._diag).tocsr()

    def hessp(self, x, p):
        """Product of the (constant, diagonal) Hessian with ``p``."""
        return self._diag * p

    def cons_fun(self, x):
        w, z = self._split(x)
        return self.L @ w + z

    def cons_jac(self, x):
        return self._jac

    @property
    def constraints(self):
        return {"fun": self.cons_fun, "jac": self.cons_jac, "hess": None}

    def minimize_kwargs(self, preconditioned=True):
        """Matrix-free keyword arguments of :func:`~optlib.optimize.minimize_eq`.

        Parameters
        ----------
        preconditioned : bool
            Add ``sketch="minres"`` and ``preconditioner=self.preconditioner``
            (the default: MINRES then needs about 5 iterations per Newton step
            at any ``N``). With False only ``jac``, ``hessp`` and
            ``constraints``: the caller picks the inner solver, and plain
            MINRES or a sketch needs ``O(N^2)`` iterations or more.

        Returns
        -------
        dict
            ``jac``, ``hessp``, ``constraints`` and, when ``preconditioned``,
            ``sketch`` and ``preconditioner``.
        """
        kwargs = {"jac": self.grad, "hessp": self.hessp, "constraints": self.constraints}
        if preconditioned:
            kwargs.update(sketch="minres", preconditioner=self.preconditioner)
        return kwargs

    def preconditioner(self, x, v):
        """The exact block-diagonal KKT preconditioner ``diag(B^{-1}, S^{-1})`` for MINRES.

        ``B = diag(1, 0.1)`` is the (constant) Hessian and ``S = G B^{-1} G^T =
        L L + 10 I`` the Schur complement, applied through the sine basis that
        diagonalises the Dirichlet Laplacian (DST-I, ``O(N^2 log N)``). The
        preconditioned KKT matrix has the three eigenvalues ``1`` and
        ``(1 +- sqrt(5)) / 2`` (Murphy, Golub and Wathen, 2000), whatever ``N``.
        :meth:`minimize_kwargs` passes it to :func:`~optlib.optimize.minimize_eq`
        (with ``sketch="minres"``) by default.
        """
        from scipy.fft import dstn

        N, n = self.N, 2 * self.N**2
        shape = (N, N)
        inv_schur = 1.0 / (self._laplacian_eigenvalues() ** 2 + 10.0)

        def apply(u):
            top = u[:n] / self._diag
            rhs = np.reshape(u[n:], shape)
            bottom = dstn(dstn(rhs, type=1, norm="ortho") * inv_schur, type=1, norm="ortho")
            return np.concatenate([top, bottom.ravel()])

        return apply

    def _laplacian_eigenvalues(self):
        """Eigenvalues of ``L`` on the ``N x N`` sine basis, as an ``(N, N)`` grid."""
        N = self.N
        h = 2.0 / (N + 1)
        t = 2 - 2 * np.cos(np.arange(1, N + 1) * np.pi / (N + 1))
        return (t[:, None] + t[None, :]) / h**2

    def _objective_fgh(self, x):
        return self.fun(x), self.grad(x), self.hess(x)

    def _constraints_cj(self, x):
        return self.cons_fun(x), self._jac, None

    def solution(self):
        """The exact minimiser and its value.

        Eliminating ``z = -L w`` leaves ``(I + 0.1 L^2) w = w*``, diagonal on the
        sine basis of ``L`` (DST-I): ``O(N^2 log N)`` at any ``N``.
        """
        from scipy.fft import dstn

        shape = (self.N, self.N)
        target = dstn(np.reshape(self.w_target, shape), type=1, norm="ortho")
        w = dstn(target / (1 + 0.1 * self._laplacian_eigenvalues() ** 2), type=1, norm="ortho").ravel()
        x = np.concatenate([w, -(self.L @ w)])
        return x, self.fun(x)


def make_pde_control(N=50):
    """The PDE-constrained control problem of Hong et al. (2023) on an ``N x N`` grid.

    Parameters
    ----------
    N : int
        Grid size: ``n = 2 N^2`` variables, ``m = N^2`` constraints.

    Returns
    -------
    PDEControlProblem
        Start ``x0 = 1``, ``v0 = 1``; ``solution()`` gives the exact optimum;
        ``minimize_kwargs()`` includes the exact KKT preconditioner:
        ``minimize_eq(p.fun, p.x0, **p.minimize_kwargs(), v0=p.v0)``.
    """
    N = int(N)
    if N < 1:
        raise ValueError(f"N must be a positive integer, got {N}.")
    return PDEControlProblem(N)
