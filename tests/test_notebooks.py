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
    # MyST sources cannot hold outputs, but an .ipynb pair (make lab writes one) must stay git-ignored.
    pair = path.with_suffix(".ipynb")
    if pair.exists() and (ROOT / ".git").exists():
        import subprocess

        ignored = subprocess.run(["git", "check-ignore", "-q", str(pair)], cwd=ROOT, check=False).returncode == 0
        assert ignored, f"{pair.name} is not git-ignored"


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


def _code_cells(path: Path) -> list:
    import jupytext

    return [c for c in jupytext.read(path).cells if c.cell_type == "code"]


def _lines(cell) -> int:
    return len([ln for ln in cell.source.splitlines() if ln.strip() and not ln.strip().startswith("#")])


def test_chapters_show_their_reasoning() -> None:
    # At most a quarter of the chapters' code lines may be removed from the page (hide-input folds
    # code, remove-input deletes it); setup — the parameters cell and model loading — is always shown.
    total = removed = 0
    for path in sorted((ROOT / "notebooks").glob("*.md")):
        for cell in _code_cells(path):
            tags = cell.metadata.get("tags", [])
            n = _lines(cell)
            total += n
            if "remove-input" in tags:
                removed += n
                assert "parameters" not in tags, f"{path.name}: the parameters cell is removed"
                assert "load_model(" not in cell.source, f"{path.name}: the model-loading cell is removed"
                assert n <= 3, f"{path.name}: a removed cell holds {n} lines of logic: fold it (hide-input) instead"
    assert total and removed / total <= 0.25, f"{removed} of {total} code lines are removed from the pages"


def test_every_figure_is_captioned_and_named() -> None:
    names: list[str] = []
    for path in sorted((ROOT / "notebooks").glob("*.md")):
        for cell in _code_cells(path):
            if "kel.plots." not in cell.source:
                continue
            fig = cell.metadata.get("mystnb", {}).get("figure", {})
            assert fig.get("name", "").startswith("fig-"), (
                f"{path.name}: a figure cell has no name: {cell.source[:80]!r}"
            )
            assert fig.get("caption"), f"{path.name}: figure {fig['name']} has no caption"
            names.append(fig["name"])
            text = path.read_text(encoding="utf-8")
            assert f"{{numref}}`{fig['name']}`" in text, f"{path.name}: the text never cites {fig['name']}"
    assert len(names) == len(set(names)), "figure names must be unique across the book"
