"""``python -m optlib demo``: one built-in synthetic problem per family.

Each family contributes a module in this package with a ``DEMOS`` list of
functions; each function solves its problem and returns a :class:`DemoRow`
with the accuracy measured against an independent reference.
"""

import importlib
import time
from dataclasses import dataclass

__all__ = ["DemoRow", "run_demos", "format_table", "FAMILY_MODULES"]

# One module per family that exists; add a line when a family lands.
FAMILY_MODULES = ("optlib.demos.proximal", "optlib.demos.bcd", "optlib.demos.ot", "optlib.demos.special")


@dataclass
class DemoRow:
    """One line of the demo table."""

    family: str
    problem: str
    solver: str
    seconds: float
    accuracy: str
    ok: bool


def timed(fn, *args, **kwargs):
    """Run ``fn`` once and return ``(result, elapsed seconds)``."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def run_demos(modules=FAMILY_MODULES):
    """Run every registered demo and return the rows."""
    rows = []
    for name in modules:
        for demo in importlib.import_module(name).DEMOS:
            rows.append(demo())
    return rows


def format_table(rows):
    """Markdown table of demo rows."""
    header = "| family | problem | solver | time (s) | accuracy vs reference | ok |"
    lines = [header, "|---|---|---|---:|---|---|"]
    for r in rows:
        lines.append(
            f"| {r.family} | {r.problem} | {r.solver} | {r.seconds:.3g} | {r.accuracy} | {'yes' if r.ok else 'NO'} |"
        )
    return "\n".join(lines)
