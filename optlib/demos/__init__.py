"""``python -m optlib demo``: one built-in synthetic problem per row, per family.

Each family contributes a module in this package with a ``FAMILY`` name and a
``DEMOS`` list of functions. A demo function solves its problem with optlib,
solves it again with a reference, and returns a :class:`DemoRow` with both
times and the accuracy measured against the reference.

The demos need only optlib's own dependencies (NumPy, SciPy, scikit-learn,
numba, POT). A row whose reference needs an optional package calls
:func:`require`, which raises :class:`DemoSkipped` when the package is
missing. :func:`iter_demos` runs every row in isolation: a row that raises
is reported as skipped, with the reason, and the others still run; warnings
emitted by a row are shown in its accuracy cell instead of being printed.
"""

import importlib
import time
import warnings
from dataclasses import dataclass

__all__ = [
    "FAMILY_MODULES",
    "DemoRow",
    "DemoSkipped",
    "format_row",
    "format_table",
    "iter_demos",
    "require",
    "run_demos",
    "table_footer",
    "table_header",
    "timed",
    "warm_up",
]

# One module per family that exists; add a line when a family lands.
FAMILY_MODULES = (
    "optlib.demos.proximal",
    "optlib.demos.bcd",
    "optlib.demos.ot",
    "optlib.demos.special",
    "optlib.demos.sbl",
    "optlib.demos.completion",
    "optlib.demos.dag",
    "optlib.demos.pnp",
    "optlib.demos.alm",
    "optlib.demos.hyperspectral",
    "optlib.demos.hsi_denoising",
)

COLUMNS = ("family", "problem", "optlib solver", "optlib time (s)", "reference", "reference time (s)",
           "accuracy", "ok")

RESEARCH_NOTE = ("research solver: a published method implemented to study its behaviour (iterations, "
                 "identification, rates), not tuned for speed; the reference beside it is the tool to use "
                 "for speed.")
TIMES_NOTE = ("Times are wall-clock seconds of one solve, after a warm-up run on a small problem that "
              "compiles the numba code (compilation is not counted; the first run after installing or "
              "upgrading spends most of its time compiling, and the compiled code is cached). A reference "
              "runs at the tight tolerance it needs to serve as ground truth, so its time is not that "
              "library's speed at its default settings.")


class DemoSkipped(Exception):
    """Raised by a demo that cannot run here (e.g. an optional package is missing)."""


@dataclass
class DemoRow:
    """One line of the demo table.

    Attributes
    ----------
    family, problem, solver : str
        What was solved, and by which optlib function.
    seconds : float or None
        Wall-clock time of optlib's solve (None when the row did not run).
    reference : str
        What the result is compared with. A reference implemented in optlib
        itself starts with ``"internal:"``.
    reference_seconds : float or None
        Wall-clock time of the reference (None when it is not a solve, or
        when the row did not run).
    accuracy : str
        The measured agreement, or the reason the row was skipped.
    ok : bool
        Whether the row ran and met its accuracy target.
    skipped : bool
        The row did not run (:class:`DemoSkipped` or an error).
    error : bool
        The row raised something other than :class:`DemoSkipped`.
    research : bool
        The solver is a research solver (see ``RESEARCH_NOTE``).
    """

    family: str
    problem: str
    solver: str
    seconds: float | None
    reference: str
    reference_seconds: float | None
    accuracy: str
    ok: bool
    skipped: bool = False
    error: bool = False
    research: bool = False

    @property
    def status(self):
        """``"yes"``, ``"NO"`` or ``"skipped"``."""
        if self.skipped:
            return "skipped"
        return "yes" if self.ok else "NO"

    @property
    def failed(self):
        """The row ran and missed its target, or raised an error."""
        return self.error or not (self.skipped or self.ok)


def require(module, package=None):
    """Import and return an optional ``module``, or raise :class:`DemoSkipped` naming it.

    ``package`` is the name to ``pip install`` when it differs from the
    module's (``require("skimage.restoration", "scikit-image")``).
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise DemoSkipped(f"needs {top}, an optional package that is not installed "
                          f"(pip install {package or top})") from None


def timed(fn, *args, **kwargs):
    """Run ``fn`` once and return ``(result, elapsed wall-clock seconds)``."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def warm_up(fn, *args, **kwargs):
    """Run ``fn`` once on a small problem so that its numba code is compiled before timing.

    The result is discarded, and so are the warnings of this one call (a
    small problem run only to compile may stop at its iteration cap); the
    timed solve that follows runs with warnings recorded.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn(*args, **kwargs)


def _skipped_row(family, demo, reason, error):
    doc = (demo.__doc__ or demo.__name__).strip().splitlines()[0].rstrip(".")
    return DemoRow(family, doc, "-", None, "-", None, f"skipped: {reason}", ok=False, skipped=True, error=error)


def _run_one(family, demo):
    """Run one demo with its warnings recorded; never raises."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            row = demo()
        except DemoSkipped as exc:
            return _skipped_row(family, demo, str(exc), error=False)
        except Exception as exc:  # noqa: BLE001 -- isolate the row: the others still run
            return _skipped_row(family, demo, f"error: {type(exc).__name__}: {exc}", error=True)
    if caught:
        texts = sorted({f"{w.category.__name__}: {str(w.message).splitlines()[0][:100]}" for w in caught})
        row.accuracy += "; warned: " + " | ".join(texts)
    return row


def iter_demos(modules=None):
    """Run the demos of ``modules`` one at a time, yielding a :class:`DemoRow` for each.

    ``modules`` are module names (default: ``FAMILY_MODULES``). A module that
    fails to import yields one skipped row with the reason.
    """
    for name in FAMILY_MODULES if modules is None else modules:
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 -- the other families still run
            yield DemoRow(name.rsplit(".", 1)[-1], "(all demos of this family)", "-", None, "-", None,
                          f"skipped: error: {type(exc).__name__}: {exc}", ok=False, skipped=True, error=True)
            continue
        for demo in module.DEMOS:
            yield _run_one(module.FAMILY, demo)


def run_demos(modules=None):
    """Run the demos of ``modules`` (default: ``FAMILY_MODULES``) and return the list of rows."""
    return list(iter_demos(modules))


def _seconds(value):
    return "-" if value is None else f"{value:.3g}"


def table_header():
    """The two header lines of the Markdown table."""
    return "| " + " | ".join(COLUMNS) + " |\n|---|---|---|---:|---|---:|---|---|"


def format_row(row):
    """One Markdown table line for ``row``."""
    solver = row.solver + (" (research solver)" if row.research else "")
    cells = (row.family, row.problem, solver, _seconds(row.seconds), row.reference,
             _seconds(row.reference_seconds), row.accuracy, row.status)
    return "| " + " | ".join(cells) + " |"


def table_footer(rows, total_seconds=None):
    """Notes printed under the table: how times are measured, research solvers, total time."""
    notes = [TIMES_NOTE]
    if any(r.research for r in rows):
        notes.append(RESEARCH_NOTE)
    if total_seconds is not None:
        n_skipped = sum(r.skipped for r in rows)
        notes.append(f"{len(rows)} rows ({n_skipped} skipped) in {total_seconds:.1f} s in total.")
    return "\n".join(notes)


def format_table(rows, total_seconds=None):
    """Markdown table of demo rows followed by the notes of :func:`table_footer`."""
    lines = [table_header()] + [format_row(r) for r in rows]
    return "\n".join(lines) + "\n\n" + table_footer(rows, total_seconds)
