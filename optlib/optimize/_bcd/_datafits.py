"""Smooth datafits for block coordinate descent, with incremental state.

A datafit keeps a *state* for the current iterate: the iterate itself and
the cheapest auxiliary quantity from which values and block gradients
follow (the residual ``A x - b``, the linear predictor ``A x``, the class
scores ``A X`` or, for quadratics, the gradient ``Q x - c``). Changing a
block ``b`` by ``d`` updates that state in ``O(m |b|)`` (``O(nnz)`` of the
columns for sparse designs), so an iteration of a cyclic or random rule
costs a block's work, not a full gradient.

Costs of the full gradient, needed by the greedy rules:

* ``LeastSquaresDatafit``, ``LogisticDatafit``: ``A^T r`` from the carried
  residual, ``O(nnz(A))`` per iteration. Keeping ``A^T A`` to update the
  gradient in ``O(n |b|)`` would need ``O(n^2)`` memory, which problem A
  (``n = 10^4``) cannot afford; the product is recomputed.
* ``SoftmaxDatafit``: ``A^T (P - Y)``, ``O(nnz(A) K)``.
* ``QuadraticDatafit``: maintained, ``g += Q[:, b] d`` in ``O(nnz)`` of the
  block's columns (``O(n |b|)`` dense).

The variables are always handled as a flat vector; for ``SoftmaxDatafit``
the unknown ``X`` of shape ``(n_features, n_classes)`` is flattened row by
row, so variable ``j`` is feature ``j // n_classes`` of class
``j % n_classes`` (the paper's 50,000 variables of problem C).
"""

from ..._backend import device, is_numpy_namespace, result_float_dtype
from ..._validation import check_shape
from ._design import Design, check_on_device, lambda_max_sym, scatter_add

__all__ = [
    "LeastSquaresDatafit",
    "LogisticDatafit",
    "QuadraticDatafit",
    "SoftmaxDatafit",
]


class _State:
    """Current iterate ``x`` (flat), auxiliary quantity ``z``, datafit value ``f``, cached gradient."""

    __slots__ = ("f", "g", "x", "z")

    def __init__(self, x, z, f):
        self.x = x
        self.z = z
        self.f = f
        self.g = None


class BCDDatafit:
    """Base class: the interface :func:`~optlib.optimize.bcd` uses.

    Subclasses set ``xp``, ``dtype``, ``n_vars`` and ``x_shape`` and
    implement the methods below. ``is_quadratic`` is true when the Hessian
    bound is the Hessian (then ``update="optimal"`` is exact).
    """

    is_quadratic = False
    maintains_gradient = False

    def __repr__(self):
        return f"{type(self).__name__}(n_vars={self.n_vars})"

    # state -------------------------------------------------------------------
    def init_state(self, x):
        raise NotImplementedError

    def gradient(self, st):
        """Full gradient at the state (cached until the next accepted step)."""
        if st.g is None:
            st.g = self._gradient(st)
        return st.g

    def value(self, x):
        """Datafit value at a flat ``x`` (from scratch)."""
        return self.init_state(x).f

    def block_gradient(self, st, idx):
        if st.g is not None:
            return self.xp.take(st.g, idx)
        return self._block_gradient(st, idx)

    def trial(self, st, idx, d, gb=None):
        """Change of value by ``x[idx] += d`` and the auxiliary data to accept it: ``(delta, aux)``.

        The change of value is computed without cancellation against ``f``
        (from the block gradient ``gb`` for quadratics, with ``log1p`` /
        ``expm1`` forms otherwise), so line searches stay reliable near the
        optimum.
        """
        raise NotImplementedError

    def accept(self, st, idx, d, aux, f_new):
        """Commit ``x[idx] += d``; the value is re-evaluated from the carried state.

        ``f_new`` (the line-search estimate) is not stored: re-evaluating
        from ``aux`` costs ``O(m)`` (``O(m K)`` softmax, ``O(n)`` quadratic)
        and keeps the recorded objective free of accumulated rounding, so
        ``f - f*`` curves stay meaningful down to machine precision.
        """
        st.x = scatter_add(self.xp, st.x, idx, d)
        st.z = aux
        st.f = self._value_z(aux)
        st.g = None

    # constants ---------------------------------------------------------------
    def lipschitz(self):
        """Coordinate Lipschitz constants ``L_i`` of the gradient (flat)."""
        raise NotImplementedError

    def hessian_bound_block(self, idx):
        """A matrix bounding the Hessian on block ``idx`` for every ``x``."""
        raise NotImplementedError

    def hessian_block(self, st, idx):
        """The Hessian on block ``idx`` at the state (the bound for quadratics)."""
        return self.hessian_bound_block(idx)

    def diag_bound(self):
        """``sum_j |H_ij|`` of the Hessian bound (diagonal-dominance bound, GSL for variable blocks)."""
        raise NotImplementedError

    def hessian_bound_matvec(self, d):
        """Hessian bound times a flat vector."""
        raise NotImplementedError

    def hessian_bound_lmax(self):
        """Largest eigenvalue of the full Hessian bound."""
        raise NotImplementedError

    def _flat(self, x):
        return x


def _cast_to_common_dtype(xp, design, target):
    """Cast ``design`` (in place) and ``target`` to their common float dtype; return both."""
    probe = design.A if not design.sparse else xp.empty(0, dtype=design.dtype)
    dtype = result_float_dtype(xp, probe, target)
    design.astype(dtype)
    return dtype, (xp.astype(target, dtype) if target.dtype != dtype else target)


def _check_design_and_target(A, b, name_b, engine):
    design = Design(A, "A", engine=engine)
    xp = design.xp
    b = check_on_device(b, name_b, xp, design.device(), ndim=(1, 2))
    if b.shape[0] != design.shape[0]:
        raise ValueError(
            f"{name_b} has {b.shape[0]} rows but A has {design.shape[0]}; shapes must match."
        )
    return design, xp, b


class _LinearDesignDatafit(BCDDatafit):
    """Shared code of datafits ``F(A x)`` with ``F`` separable over samples."""

    _curvature = 1.0  # Hessian bound = curvature * A^T A

    def lipschitz(self):
        return self._curvature * self.design.col_sq_norms()

    def hessian_bound_block(self, idx):
        Ab = self.design.cols(idx)
        return self._curvature * (Ab.T @ Ab)

    def diag_bound(self):
        return self._curvature * self.design.abs_gram_rowsums()

    def hessian_bound_matvec(self, d):
        return self._curvature * self.design.rmatvec(self.design.matvec(d))

    def hessian_bound_lmax(self):
        return self._curvature * self.design.lambda_max()

    def _block_gradient(self, st, idx):
        w = self._sample_gradient(st.z)
        return self.design.cols(idx).T @ w

    def _gradient(self, st):
        return self.design.rmatvec(self._sample_gradient(st.z))

    def trial(self, st, idx, d, gb=None):
        u = self.design.cols_matvec(idx, d)
        z = st.z + u
        return self._delta(st, idx, d, u, z, gb), z


class LeastSquaresDatafit(_LinearDesignDatafit):
    """``0.5 ||A x - b||^2`` for BCD; the state carries the residual ``r = A x - b``.

    Parameters
    ----------
    A : array or scipy.sparse matrix, shape (m, n)
        Design: dense of any array-API namespace, or SciPy sparse (CSC used).
    b : array, shape (m,)
        Target.
    engine : {"auto", "numba", "xp"}
        Kernels for sparse column products.

    Notes
    -----
    ``L_i = ||a_i||^2``, block bound ``A_b^T A_b`` (the block Hessian),
    block update of the residual ``O(m |b|)``, full gradient ``A^T r``.
    """

    is_quadratic = True

    def __init__(self, A, b, *, engine="auto"):
        self.design, xp, b = _check_design_and_target(A, b, "b", engine)
        if b.ndim != 1:
            raise ValueError(f"b must be 1-dimensional, got shape {tuple(b.shape)}.")
        self.xp = xp
        self.dtype, self.b = _cast_to_common_dtype(xp, self.design, b)
        self.n_vars = self.design.shape[1]
        self.x_shape = (self.n_vars,)

    def init_state(self, x):
        r = self.design.matvec(x) - self.b
        return _State(x, r, self._value_z(r))

    def _value_z(self, r):
        return 0.5 * float(self.xp.sum(r * r))

    def _delta(self, st, idx, d, u, z, gb):
        xp = self.xp
        gb = self.block_gradient(st, idx) if gb is None else gb
        return float(xp.sum(gb * d)) + 0.5 * float(xp.sum(u * u))

    def _sample_gradient(self, r):
        return r


class LogisticDatafit(_LinearDesignDatafit):
    """``sum_s log(1 + exp(-y_s a_s^T x))`` for BCD; the state carries ``z = A x``.

    Parameters
    ----------
    A : array or scipy.sparse matrix, shape (m, n)
    y : array, shape (m,)
        Labels in {-1, +1} (any two values are mapped: the larger to +1).
    engine : {"auto", "numba", "xp"}

    Notes
    -----
    ``L_i = 0.25 ||a_i||^2``, block bound ``0.25 A_b^T A_b``, true block
    Hessian ``A_b^T diag(s (1 - s)) A_b`` with ``s = sigmoid(A x)``.
    """

    _curvature = 0.25

    def __init__(self, A, y, *, engine="auto"):
        self.design, xp, y = _check_design_and_target(A, y, "y", engine)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-dimensional, got shape {tuple(y.shape)}.")
        self.xp = xp
        self.dtype, y = _cast_to_common_dtype(xp, self.design, y)
        values = xp.unique_values(y)
        if values.shape[0] > 2:
            raise ValueError(
                f"y must hold two classes (e.g. -1 and +1), got {values.shape[0]} distinct values."
            )
        if not bool(xp.all((y == 1) | (y == -1))):
            top = xp.max(y)
            y = xp.where(y == top, xp.ones_like(y), -xp.ones_like(y))
        self.y = y
        self.n_vars = self.design.shape[1]
        self.x_shape = (self.n_vars,)

    def init_state(self, x):
        z = self.design.matvec(x)
        return _State(x, z, self._value_z(z))

    def _value_z(self, z):
        xp = self.xp
        return float(xp.sum(xp.logaddexp(xp.zeros_like(z), -self.y * z)))

    def _delta(self, st, idx, d, u, z, gb):
        # softplus(-y(z+u)) - softplus(-y z) = log1p(sigmoid(-y z) * expm1(-y u))
        xp = self.xp
        yz = self.y * st.z
        s = xp.exp(-xp.logaddexp(xp.zeros_like(yz), yz))
        return float(xp.sum(xp.log1p(s * xp.expm1(-self.y * u))))

    def _sample_gradient(self, z):
        xp = self.xp
        # -y * sigmoid(-y z), computed stably
        return -self.y * xp.exp(-xp.logaddexp(xp.zeros_like(z), self.y * z))

    def hessian_block(self, st, idx):
        xp = self.xp
        z = st.z
        w = xp.exp(
            -xp.logaddexp(xp.zeros_like(z), z) - xp.logaddexp(xp.zeros_like(z), -z)
        )
        Ab = self.design.cols(idx)
        return Ab.T @ (w[:, None] * Ab)


class SoftmaxDatafit(BCDDatafit):
    """Multinomial logistic loss ``sum_s [logsumexp(a_s^T X) - a_s^T X y_s]`` for BCD.

    The unknown ``X`` has shape ``(n_features, n_classes)``; BCD treats each
    entry as a variable (flattened row by row, as in the paper's problem C).
    The state carries the scores ``Z = A X``.

    Parameters
    ----------
    A : array or scipy.sparse matrix, shape (m, p)
    Y : array
        One-hot targets ``(m, K)`` or integer labels ``(m,)`` in ``[0, K)``.
    n_classes : int, optional
        ``K`` for integer labels (default ``max(labels) + 1``).
    engine : {"auto", "numba", "xp"}

    Notes
    -----
    Coordinate constants ``L_(i,k) = 0.25 ||a_i||^2``. The block bound is
    ``0.25 A_f^T A_f`` when the block holds a single class, otherwise
    ``0.5 (delta_kl - 1/(K+1)) a_i^T a_j``, a positive definite bound above
    Böhning's (singular) ``0.5 (delta_kl - 1/K) a_i^T a_j``.
    """

    def __init__(self, A, Y, *, n_classes=None, engine="auto"):
        self.design, xp, Y = _check_design_and_target(A, Y, "Y", engine)
        self.xp = xp
        if Y.ndim == 1:
            labels = xp.astype(Y, xp.int64)
            if bool(xp.any(xp.astype(labels, Y.dtype) != Y)) or bool(
                xp.any(labels < 0)
            ):
                raise ValueError("Y given as labels must hold nonnegative integers.")
            K = int(xp.max(labels)) + 1 if n_classes is None else int(n_classes)
            if K < 2 or int(xp.max(labels)) >= K:
                raise ValueError(
                    f"n_classes must be >= 2 and exceed every label, got {K}."
                )
            onehot = (
                labels[:, None]
                == xp.arange(K, dtype=xp.int64, device=device(labels))[None, :]
            )
            Y = xp.astype(
                onehot,
                self.design.dtype if self.design.dtype == xp.float32 else xp.float64,
            )
        elif Y.shape[1] < 2:
            raise ValueError(
                f"Y must have at least 2 columns (classes), got shape {tuple(Y.shape)}."
            )
        elif bool(xp.any(Y < 0)) or bool(
            xp.any(xp.abs(xp.sum(Y, axis=1) - 1) > 1e3 * xp.finfo(Y.dtype).eps)
        ):
            raise ValueError(
                "Y given as a 2-D array must hold one-hot rows or class probabilities "
                "(nonnegative, each row summing to 1)."
            )
        self.dtype, self.Y = _cast_to_common_dtype(xp, self.design, Y)
        self.n_classes = K = self.Y.shape[1]
        p = self.design.shape[1]
        self.n_vars = p * K
        self.x_shape = (p, K)

    def _split(self, idx):
        K = self.n_classes
        return idx // K, idx % K

    def _onehot(self, c, d):
        xp = self.xp
        K = self.n_classes
        mask = xp.astype(
            c[:, None] == xp.arange(K, dtype=c.dtype, device=device(c))[None, :],
            self.dtype,
        )
        return mask * d[:, None]

    def init_state(self, x):
        X = self.xp.reshape(x, self.x_shape)
        Z = self.design.matvec(X)
        return _State(x, Z, self._value_z(Z))

    def _lse(self, Z):
        xp = self.xp
        zmax = xp.max(Z, axis=1, keepdims=True)
        return xp.log(xp.sum(xp.exp(Z - zmax), axis=1)) + zmax[:, 0]

    def _value_z(self, Z):
        xp = self.xp
        return float(xp.sum(self._lse(Z)) - xp.sum(Z * self.Y))

    def _probs(self, Z):
        xp = self.xp
        return xp.exp(Z - self._lse(Z)[:, None])

    def _gradient(self, st):
        G = self.design.rmatvec(self._probs(st.z) - self.Y)
        return self.xp.reshape(G, (-1,))

    def _block_gradient(self, st, idx):
        xp = self.xp
        f, c = self._split(idx)
        R = self._probs(st.z) - self.Y
        return xp.sum(self.design.cols(f) * xp.take(R, c, axis=1), axis=0)

    def trial(self, st, idx, d, gb=None):
        # lse(Z + U) - lse(Z) - <U, Y> = log1p(sum_k p_k expm1(U_k)) - <U, Y>
        xp = self.xp
        f, c = self._split(idx)
        U = self.design.cols(f) @ self._onehot(c, d)
        P = self._probs(st.z)
        delta = float(
            xp.sum(xp.log1p(xp.sum(P * xp.expm1(U), axis=1))) - xp.sum(U * self.Y)
        )
        return delta, st.z + U

    def lipschitz(self):
        xp = self.xp
        L = 0.25 * self.design.col_sq_norms()
        return xp.reshape(xp.broadcast_to(L[:, None], self.x_shape), (-1,))

    def hessian_bound_block(self, idx):
        xp = self.xp
        f, c = self._split(idx)
        Af = self.design.cols(f)
        G = Af.T @ Af
        same = c[:, None] == c[None, :]
        if bool(xp.all(same)):
            return 0.25 * G
        # 0.5 (I - 11^T / (K + 1)) dominates Böhning's 0.5 (I - 11^T / K) and, unlike
        # it, is positive definite: no null direction for rounding noise to drift in.
        K = self.n_classes
        return 0.5 * G * (xp.astype(same, self.dtype) - 1.0 / (K + 1))

    def hessian_block(self, st, idx):
        f, c = self._split(idx)
        Af = self.design.cols(f)
        Pc = self.xp.take(self._probs(st.z), c, axis=1)
        B = Af * Pc
        same = self.xp.astype(c[:, None] == c[None, :], self.dtype)
        return same * (B.T @ Af) - B.T @ B

    def diag_bound(self):
        xp = self.xp
        K = self.n_classes
        S = self.design.abs_gram_rowsums() * (0.5 * 2.0 * (K - 1) / K)
        return xp.reshape(xp.broadcast_to(S[:, None], self.x_shape), (-1,))

    def hessian_bound_matvec(self, d):
        xp = self.xp
        D = xp.reshape(d, self.x_shape)
        M = self.design.rmatvec(self.design.matvec(D))
        return xp.reshape(0.5 * (M - xp.mean(M, axis=1, keepdims=True)), (-1,))

    def hessian_bound_lmax(self):
        return 0.5 * self.design.lambda_max()


class QuadraticDatafit(BCDDatafit):
    """``0.5 x^T Q x - c^T x`` with ``Q`` symmetric positive (semi)definite, dense or sparse.

    The state carries the gradient ``g = Q x - c``, updated by
    ``g += Q[:, b] d`` in ``O(nnz)`` of the block's columns, so greedy rules
    need no full product. This is the label-propagation quadratic of the
    paper's problems D and E.

    Parameters
    ----------
    Q : array or scipy.sparse matrix, shape (n, n)
        Symmetric (checked to a relative ``max(1e-10, 100 eps)``), positive
        semidefinite (only the sign of the diagonal is checked).
    c : array, shape (n,)
    engine : {"auto", "numba", "xp"}
    """

    is_quadratic = True
    maintains_gradient = True

    def __init__(self, Q, c, *, engine="auto"):
        self.design = Design(Q, "Q", engine=engine)
        n0, n1 = self.design.shape
        if n0 != n1:
            raise ValueError(f"Q must be square, got shape {self.design.shape}.")
        xp = self.xp = self.design.xp
        c = check_on_device(c, "c", xp, self.design.device(), ndim=1)
        check_shape(c, (n0,), "c")
        self.dtype, self.c = _cast_to_common_dtype(xp, self.design, c)
        Q = self.design.A
        if self.design.sparse:
            import numpy as np

            diag = np.asarray(Q.diagonal(), dtype=self.dtype)
            asym = abs(Q - Q.T).max() if Q.nnz else 0.0
            scale = abs(Q).max() if Q.nnz else 0.0
        else:
            diag = xp.linalg.diagonal(Q)
            asym = xp.max(xp.abs(Q - Q.T))
            scale = xp.max(xp.abs(Q))
        rtol = max(1e-10, 100 * xp.finfo(self.dtype).eps)
        if float(asym) > rtol * float(scale):
            raise ValueError(
                f"Q must be symmetric; max |Q - Q^T| = {float(asym):.3g} "
                f"(relative tolerance {rtol:.1e})."
            )
        if bool(xp.any(diag < 0)):
            raise ValueError(
                "Q must be positive semidefinite; it has negative diagonal entries."
            )
        self._diag = diag
        self.n_vars = n0
        self.x_shape = (n0,)

    def init_state(self, x):
        g = self.design.matvec(x) - self.c
        st = _State(x, None, self._value_xg(x, g))
        st.g = g
        return st

    def _value_xg(self, x, g):
        xp = self.xp
        return 0.5 * float(xp.sum(x * (g - self.c)))

    def gradient(self, st):
        return st.g

    def block_gradient(self, st, idx):
        return self.xp.take(st.g, idx)

    def trial(self, st, idx, d, gb=None):
        gb = self.xp.take(st.g, idx)
        Qbb = self.hessian_bound_block(idx)
        return float(self.xp.sum(gb * d) + 0.5 * self.xp.sum(d * (Qbb @ d))), None

    def accept(self, st, idx, d, aux, f_new):
        xp = self.xp
        st.x = scatter_add(xp, st.x, idx, d)
        st.g = st.g + self.design.cols_matvec(idx, d)
        st.f = self._value_xg(st.x, st.g)

    def refresh(self, st):
        """Recompute the gradient and value from scratch (removes rounding drift)."""
        st.g = self.design.matvec(st.x) - self.c
        st.f = self._value_xg(st.x, st.g)

    def lipschitz(self):
        return self._diag

    def hessian_bound_block(self, idx):
        if self.design.sparse:
            import numpy as np

            i = np.asarray(idx)
            return self.design.A[i][:, i].toarray()
        return self.xp.take(self.xp.take(self.design.A, idx, axis=0), idx, axis=1)

    def diag_bound(self):
        xp = self.xp
        if self.design.sparse:
            import numpy as np

            return np.asarray(abs(self.design.A).sum(axis=1), dtype=self.dtype).reshape(
                -1
            )
        return xp.sum(xp.abs(self.design.A), axis=1)

    def hessian_bound_matvec(self, d):
        return self.design.matvec(d)

    def hessian_bound_lmax(self):
        if getattr(self, "_lmax", None) is None:
            xp = self.xp
            if is_numpy_namespace(xp) and self.n_vars > 2:
                import numpy as np
                from scipy.sparse.linalg import eigsh

                A = self.design.A.astype(np.float64)
                try:
                    val = eigsh(
                        A, k=1, which="LA", return_eigenvectors=False, tol=1e-10
                    )[0]
                    self._lmax = float(val) * (1 + 1e-8)
                except (
                    ArithmeticError,
                    ValueError,
                    RuntimeError,
                ):  # pragma: no cover - ARPACK failure
                    self._lmax = float(np.max(self.diag_bound()))
            else:
                if self.design.sparse:  # pragma: no cover - cupyx sparse
                    self._lmax = float(xp.max(self.diag_bound()))
                else:
                    self._lmax = float(
                        lambda_max_sym(xp, xp.astype(self.design.A, xp.float64))
                    )
        return self._lmax


def validate_datafit(datafit):
    if not isinstance(datafit, BCDDatafit):
        raise TypeError(
            "datafit must be a BCD datafit (LeastSquaresDatafit, LogisticDatafit, SoftmaxDatafit, "
            f"QuadraticDatafit), got {type(datafit).__name__}."
        )
    return datafit
