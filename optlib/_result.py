"""Result objects, iteration history and the callback protocol.

Solvers return :class:`OptimizeResult` (a dict with attribute access, like
SciPy's, defined here so that ``import optlib`` does not pay for importing
``scipy.optimize``) with ``x``, ``fun``, ``nit``, ``success``, ``status``,
``message`` and, when asked, ``history``. Callbacks follow SciPy's protocol:
``callback(intermediate_result)`` receives an :class:`OptimizeResult` of the
current iterate; raising ``StopIteration`` halts the solver, which then
returns that iterate with ``status = STATUS_CALLBACK``. Non-convergence
warns with scikit-learn's ``ConvergenceWarning`` (imported when first needed).
"""

import time
import warnings

__all__ = [
    "OptimizeResult",
    "History",
    "IterationMonitor",
    "make_result",
    "warn_convergence",
    "STATUS_CONVERGED",
    "STATUS_MAX_ITER",
    "STATUS_CALLBACK",
    "STATUS_NUMERICAL",
]

STATUS_CONVERGED = 0
STATUS_MAX_ITER = 1
STATUS_CALLBACK = 2
STATUS_NUMERICAL = 3

_MESSAGES = {
    STATUS_CONVERGED: "Converged: stopping criterion below tolerance.",
    STATUS_MAX_ITER: "Maximum number of iterations reached before convergence.",
    STATUS_CALLBACK: "Stopped by the callback (StopIteration).",
    STATUS_NUMERICAL: "Stopped: non-finite value encountered.",
}


def __getattr__(name):
    if name == "ConvergenceWarning":
        from sklearn.exceptions import ConvergenceWarning

        return ConvergenceWarning
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class OptimizeResult(dict):
    """Solver output: a dict with attribute access, as SciPy's ``OptimizeResult``.

    Common fields: ``x`` solution, ``fun`` objective value, ``nit`` number of
    iterations, ``success`` flag, ``status`` code (0 converged, 1 maximum
    iterations, 2 stopped by callback, 3 numerical failure), ``message`` and
    optionally ``history`` (a :class:`History`).
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    __setattr__ = dict.__setitem__
    __delattr__ = dict.__delitem__

    def __repr__(self):
        if not self:
            return f"{type(self).__name__}()"
        width = max(len(k) for k in self) + 1
        lines = []
        for key, value in self.items():
            text = repr(value).replace("\n", "\n" + " " * (width + 2))
            lines.append(f"{key.rjust(width)}: {text}")
        return "\n".join(lines)

    def __dir__(self):
        return list(self.keys())


class History:
    """Per-iteration record of scalar quantities (objective, residual, time).

    Each call to :meth:`record` appends one row; columns are created on first
    use. ``history["objective"]`` returns a list of floats; ``time`` holds the
    elapsed seconds since the history was created.
    """

    def __init__(self):
        self._start = time.perf_counter()
        self._columns = {"iteration": [], "time": []}

    def record(self, iteration, **values):
        """Append one iteration's values (converted to Python floats)."""
        self._columns["iteration"].append(int(iteration))
        self._columns["time"].append(time.perf_counter() - self._start)
        for key, value in values.items():
            self._columns.setdefault(key, []).append(float(value))

    def __getitem__(self, key):
        return self._columns[key]

    def __contains__(self, key):
        return key in self._columns

    def __len__(self):
        return len(self._columns["iteration"])

    def keys(self):
        """Names of the recorded columns."""
        return self._columns.keys()

    def as_dict(self):
        """Columns as a dict of lists (e.g. for ``pandas.DataFrame``)."""
        return {k: list(v) for k, v in self._columns.items()}

    def __repr__(self):
        return f"History(n_iter={len(self)}, columns={list(self._columns)})"


class IterationMonitor:
    """Shared per-iteration bookkeeping: history, callback, verbose output.

    Parameters
    ----------
    callback : callable or None
        ``callback(intermediate_result)``; may raise ``StopIteration``.
    record_history : bool
        Whether to keep a :class:`History`.
    verbose : bool or int
        Print one line every ``verbose`` iterations (``True`` means every one).
    name : str
        Solver name shown in verbose output.
    """

    def __init__(self, callback=None, record_history=False, verbose=False, name="solver"):
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable or None, got {type(callback).__name__}.")
        self.callback = callback
        self.history = History() if record_history else None
        self.every = int(verbose) if verbose else 0
        self.name = name

    def __call__(self, iteration, x, **values):
        """Record iteration ``iteration``; return True when the callback asks to stop."""
        if self.history is not None:
            self.history.record(iteration, **values)
        if self.every and iteration % self.every == 0:
            fields = "  ".join(f"{k}={float(v):.6e}" for k, v in values.items())
            print(f"[{self.name}] iter {iteration:5d}  {fields}")
        if self.callback is None:
            return False
        try:
            self.callback(OptimizeResult(x=x, nit=iteration, **values))
        except StopIteration:
            return True
        return False


def warn_convergence(message, stacklevel=2):
    """Emit scikit-learn's ``ConvergenceWarning`` (imported here, on first use)."""
    from sklearn.exceptions import ConvergenceWarning

    warnings.warn(message, ConvergenceWarning, stacklevel=stacklevel + 1)


def make_result(x, *, fun, nit, status, monitor=None, warn=True, solver="solver", returned="best", **extra):
    """Build an :class:`OptimizeResult`, warning when the solver did not converge.

    ``status`` is one of the ``STATUS_*`` codes; success means converged.
    A ``ConvergenceWarning`` is emitted for ``STATUS_MAX_ITER`` and
    ``STATUS_NUMERICAL`` when ``warn`` is true; it says which iterate the
    solver returns (``returned="best"`` or ``"last"``).
    """
    success = status == STATUS_CONVERGED
    message = _MESSAGES[status]
    if warn and status in (STATUS_MAX_ITER, STATUS_NUMERICAL):
        warn_convergence(f"{solver}: {message} Returning the {returned} iterate.", stacklevel=3)
    result = OptimizeResult(x=x, fun=fun, nit=nit, success=success, status=status, message=message, **extra)
    if monitor is not None and monitor.history is not None:
        result.history = monitor.history
    return result
