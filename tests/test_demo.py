"""``python -m optlib demo`` runs every family's demo and each meets its reference."""

from optlib.__main__ import main
from optlib.demos import format_table, run_demos


def test_every_demo_meets_its_reference():
    rows = run_demos()
    assert rows, "no demo registered"
    failing = [r for r in rows if not r.ok]
    assert not failing, format_table(failing)


def test_cli_prints_table(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| family | problem |") and "proximal gradient" in out
