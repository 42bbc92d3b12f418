"""Gallery examples: a quick-mode run by default, the full run (and its claim) under ``-m slow``."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run_sparse_coding_example(tmp_path, monkeypatch, quick):
    pytest.importorskip("skimage")
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("OPTLIB_EXAMPLE_QUICK", "1" if quick else "0")
    monkeypatch.setenv("OPTLIB_EXAMPLES_OUTPUT", str(tmp_path))
    monkeypatch.delenv("DISPLAY", raising=False)
    return runpy.run_path(str(EXAMPLES / "plot_sparse_coding_penalties.py"), run_name="__main__")


def test_plot_sparse_coding_penalties_quick(tmp_path, monkeypatch, capsys):
    namespace = _run_sparse_coding_example(tmp_path, monkeypatch, quick=True)
    assert (tmp_path / "sparse_coding_penalties.png").stat().st_size > 0
    out = capsys.readouterr().out
    assert "Relative reconstruction error" in out
    assert set(namespace["curves"]) == {"l1", "l0", "l1/2", "cel0", "mcp", "scad"}
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.mark.slow
def test_plot_sparse_coding_penalties_l0_type_beat_l1(tmp_path, monkeypatch):
    """The issue's claim: at equal sparsity, l0-type penalties reconstruct better than l1."""
    namespace = _run_sparse_coding_example(tmp_path, monkeypatch, quick=False)
    error_at = namespace["error_at"]
    for level in namespace["SPARSITY_LEVELS"]:
        l1 = error_at("l1", level)
        for penalty in ("l0", "l1/2", "cel0"):
            assert error_at(penalty, level) < l1, (penalty, level)
    import matplotlib.pyplot as plt

    plt.close("all")
