"""Smoke tests of the gallery examples (quick mode): they run and save their figure."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.slow
def test_plot_sparse_coding_penalties(tmp_path, monkeypatch, capsys):
    pytest.importorskip("skimage")
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("OPTLIB_EXAMPLE_QUICK", "1")
    monkeypatch.setenv("OPTLIB_EXAMPLES_OUTPUT", str(tmp_path))
    monkeypatch.delenv("DISPLAY", raising=False)
    namespace = runpy.run_path(str(EXAMPLES / "plot_sparse_coding_penalties.py"), run_name="__main__")
    assert (tmp_path / "sparse_coding_penalties.png").stat().st_size > 0
    out = capsys.readouterr().out
    assert "Relative reconstruction error" in out
    assert set(namespace["curves"]) == {"l1", "l0", "l1/2", "cel0", "mcp", "scad"}
    import matplotlib.pyplot as plt

    plt.close("all")
