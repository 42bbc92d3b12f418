"""``python -m optlib demo``: rows isolated, no warnings printed, both times shown, base install only."""

import ast
import subprocess
import sys
import types
import warnings
from pathlib import Path

import pytest

from optlib import demos
from optlib.__main__ import main
from optlib.demos import DemoRow, DemoSkipped, require, run_demos

# The install's own dependencies (pyproject.toml [project.dependencies]) and the standard library.
BASE_PACKAGES = {"numpy", "scipy", "sklearn", "numba", "ot", "array_api_compat", "tqdm"}


def _good_demo():
    """A demo that meets its reference."""
    return DemoRow("fake", "good problem", "solver", 0.5, "some reference", 1.5, "diff 1e-16", ok=True)


def _raising_demo():
    """A demo that raises."""
    raise RuntimeError("boom")


def _optional_demo():
    """A demo whose reference is an optional package."""
    require("package_that_is_not_installed_anywhere")


def _warning_demo():
    """A demo that warns during its solve."""
    warnings.warn("iteration cap reached", UserWarning)
    return DemoRow("fake", "warning problem", "solver", 0.1, "ref", None, "diff 1e-3", ok=True)


@pytest.fixture
def fake_family(monkeypatch):
    module = types.ModuleType("fake_demo_family")
    module.FAMILY = "fake"
    module.DEMOS = [_raising_demo, _good_demo, _optional_demo, _warning_demo]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module.__name__


def test_a_raising_row_is_skipped_with_its_reason_and_the_others_run(fake_family):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may escape the rows
        rows = run_demos([fake_family])
    assert [r.status for r in rows] == ["skipped", "yes", "skipped", "yes"]
    raised, good, optional, warned = rows
    assert raised.error and raised.failed and raised.family == "fake"
    assert raised.problem == "A demo that raises" and raised.accuracy == "skipped: error: RuntimeError: boom"
    assert not good.failed and good.seconds == 0.5 and good.reference_seconds == 1.5
    assert not optional.error and not optional.failed
    assert "package_that_is_not_installed_anywhere" in optional.accuracy and "optional" in optional.accuracy
    assert warned.accuracy == "diff 1e-3; warned: UserWarning: iteration cap reached"


def test_a_module_that_fails_to_import_is_one_skipped_row():
    (row,) = run_demos(["optlib.demos.no_such_family"])
    assert row.skipped and row.error and "ModuleNotFoundError" in row.accuracy


def test_table_shows_optlib_and_reference_times_side_by_side(fake_family, monkeypatch, capsys):
    monkeypatch.setattr(demos, "FAMILY_MODULES", (fake_family,))
    status = main(["demo"])
    out = capsys.readouterr()
    assert out.err == ""
    lines = out.out.splitlines()
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == ["family", "problem", "optlib solver", "optlib time (s)", "reference", "reference time (s)",
                      "accuracy", "ok"]
    good = next(line for line in lines if "good problem" in line)
    assert [cell.strip() for cell in good.strip("|").split("|")] == [
        "fake", "good problem", "solver", "0.5", "some reference", "1.5", "diff 1e-16", "yes"]
    assert "| ref | - |" in out.out  # a reference that is not a timed solve
    assert "4 rows (2 skipped)" in out.out
    assert status == 1  # the raising row is an error; the missing optional package alone would not be


def test_exit_status_is_zero_when_only_optional_rows_are_skipped(fake_family, monkeypatch, capsys):
    monkeypatch.setattr(sys.modules[fake_family], "DEMOS", [_good_demo, _optional_demo])
    monkeypatch.setattr(demos, "FAMILY_MODULES", (fake_family,))
    assert main(["demo"]) == 0
    assert "| skipped |" in capsys.readouterr().out


def test_research_solvers_are_labelled_and_explained():
    row = DemoRow("f", "p", "optimize.active_set_bcd", 1.0, "scikit-learn", 0.1, "ok", ok=True, research=True)
    table = demos.format_table([row])
    assert "optimize.active_set_bcd (research solver)" in table and demos.RESEARCH_NOTE in table
    assert demos.RESEARCH_NOTE not in demos.format_table([_good_demo()])


def test_mpmath_row_is_skipped_with_the_reason_when_mpmath_is_missing(monkeypatch):
    from optlib.demos import special

    assert special.log_bessel_extended_demo in special.DEMOS
    monkeypatch.setattr(special, "DEMOS", [special.log_bessel_extended_demo])
    monkeypatch.setitem(sys.modules, "mpmath", None)  # import mpmath now raises ImportError
    (row,) = run_demos(["optlib.demos.special"])
    assert row.family == "special functions"
    assert row.problem.startswith("log I_v and log K_v beyond SciPy's range")
    assert row.skipped and not row.failed
    assert row.accuracy == "skipped: needs mpmath, an optional package that is not installed (pip install mpmath)"


def _imported_top_level_packages(path):
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(Path(demos.__file__).parent.glob("*.py")), ids=lambda p: p.name)
def test_demos_import_only_the_base_install(path):
    """Optional packages go through ``require`` (skipped row when missing), never a plain import."""
    extra = _imported_top_level_packages(path) - BASE_PACKAGES - set(sys.stdlib_module_names)
    assert not extra, f"{path.name} imports {extra}, which the base install does not provide"


def test_require_names_the_missing_package():
    with pytest.raises(DemoSkipped, match="needs no_such_pkg_xyz.*pip install no_such_pkg_xyz"):
        require("no_such_pkg_xyz")


@pytest.mark.slow
def test_whole_demo_without_test_extras_meets_every_reference_and_prints_no_warning():
    """The real demo, with mpmath, scikit-image and hypothesis unimportable and warnings as errors."""
    code = ("import sys\n"
            "for name in ('mpmath', 'skimage', 'hypothesis', 'matplotlib'): sys.modules[name] = None\n"
            "from optlib.__main__ import main\n"
            "sys.exit(main(['demo']))\n")
    proc = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=900,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    assert "optlib time (s) | reference | reference time (s)" in proc.stdout
    assert "warned:" not in proc.stdout and "| NO |" not in proc.stdout
    skipped = [line for line in proc.stdout.splitlines() if line.endswith("| skipped |")]
    assert len(skipped) == 1 and "needs mpmath" in skipped[0]
