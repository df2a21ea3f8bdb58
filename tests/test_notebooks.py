"""Every notebook runs in smoke mode; committed sources carry no outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from .notebook_runner import run_notebook

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = [*sorted((ROOT / "notebooks").glob("*.md")), ROOT / "book" / "intro.md", ROOT / "book" / "status.md"]


def _is_notebook(path: Path) -> bool:
    return path.read_text(encoding="utf-8").startswith("---\njupytext:")


def test_there_are_notebooks() -> None:
    assert len([p for p in NOTEBOOKS if _is_notebook(p)]) >= 3


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if _is_notebook(p)], ids=lambda p: p.name)
def test_committed_source_has_no_outputs(path: Path) -> None:
    import jupytext

    nb = jupytext.read(path)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs"), f"{path.name}: a code cell carries outputs"
            assert cell.get("execution_count") is None, f"{path.name}: a code cell carries an execution count"
    # MyST sources cannot hold outputs, but an .ipynb pair could slip in: it must not be committed.
    assert not path.with_suffix(".ipynb").exists() or path.with_suffix(".ipynb").stat().st_size == 0


def test_each_notebook_has_one_parameters_cell_and_imports_the_package() -> None:
    import jupytext

    for path in sorted((ROOT / "notebooks").glob("*.md")):
        nb = jupytext.read(path)
        params = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
        assert "import ko_embed_lab as kel" in params[0].source
        assert "SEED" in params[0].source, f"{path.name}: seeds are explicit parameters"


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if _is_notebook(p)], ids=lambda p: p.name)
def test_notebook_executes_in_smoke_mode(path: Path) -> None:
    nb = run_notebook(path, env={"KO_EMBED_LAB_SMOKE": "1"})
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    plotly = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "application/vnd.plotly.v1+json" in o.get("data", {})
    ]
    for out in plotly:  # every figure names the model that produced it
        title = out["data"]["application/vnd.plotly.v1+json"]["layout"].get("title", {}).get("text", "")
        assert "model:" in title, f"{path.name}: a figure does not name its model: {title!r}"
