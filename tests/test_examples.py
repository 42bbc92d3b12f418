"""Gallery examples: each runs in quick mode and saves its figure; full runs (and their claims) under ``-m slow``."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run_example(name, tmp_path, monkeypatch, quick=True):
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("OPTLIB_EXAMPLE_QUICK", "1" if quick else "0")
    monkeypatch.setenv("OPTLIB_EXAMPLES_OUTPUT", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("DISPLAY", raising=False)
    try:
        return runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("plot_*.py")))
def test_example_runs_quick_and_saves_figure(name, tmp_path, monkeypatch):
    if "sparse_coding" in name:
        pytest.importorskip("skimage")
    _run_example(name, tmp_path, monkeypatch)
    figures = list(tmp_path.glob("*.png"))
    assert figures and all(f.stat().st_size > 0 for f in figures)


@pytest.mark.slow
def test_plot_sparse_coding_penalties_l0_type_beat_l1(tmp_path, monkeypatch):
    """Issue 2's claim: at equal sparsity, l0-type penalties reconstruct better than l1."""
    pytest.importorskip("skimage")
    namespace = _run_example("plot_sparse_coding_penalties.py", tmp_path, monkeypatch, quick=False)
    assert set(namespace["curves"]) == {"l1", "l0", "l1/2", "cel0", "mcp", "scad"}
    error_at = namespace["error_at"]
    for level in namespace["SPARSITY_LEVELS"]:
        l1 = error_at("l1", level)
        for penalty in ("l0", "l1/2", "cel0"):
            assert error_at(penalty, level) < l1, (penalty, level)
