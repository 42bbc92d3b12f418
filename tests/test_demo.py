"""``python -m optlib demo`` runs every family's demo and each meets its reference."""

from optlib.__main__ import main


def test_demo_runs_and_every_row_meets_its_reference(capsys):
    status = main(["demo"])
    out = capsys.readouterr().out
    assert out.startswith("| family | problem |") and "proximal gradient" in out
    assert status == 0, f"a demo missed its reference:\n{out}"
    assert "| NO |" not in out
