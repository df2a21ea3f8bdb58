"""``make lab``: saving a chapter from JupyterLab leaves its MyST source byte-identical unless a cell changed.

Goes through the server's real contents manager (jupytext pairing plus
:func:`ko_embed_lab.lab.keep_source`) on copies of the chapters, with the metadata a JupyterLab
kernel session adds (kernel display name, ``ipython3`` lexer, cell metadata).
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from ko_embed_lab.lab import keep_source, split_myst

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "notebooks").glob("0*.md"))


def _as_jupyterlab_would(nb: dict) -> None:
    nb["metadata"]["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb["metadata"]["language_info"] = {"name": "python", "pygments_lexer": "ipython3", "file_extension": ".py"}
    for cell in nb["cells"]:
        cell["metadata"].update({"editable": True, "slideshow": {"slide_type": ""}, "trusted": True})
        if cell["cell_type"] == "code":
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "ran\n"}]
            cell["execution_count"] = 1


def _manager(root: Path):
    pytest.importorskip("jupyter_server")
    from ko_embed_lab.lab.contents import MystContentsManager

    return MystContentsManager(root_dir=str(root))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_saving_a_run_chapter_keeps_its_source(tmp_path: Path, chapter: Path) -> None:
    shutil.copy(chapter, tmp_path / chapter.name)
    shutil.copy(ROOT / "notebooks" / "jupytext.toml", tmp_path / "jupytext.toml")
    cm = _manager(tmp_path)

    async def run() -> None:
        model = await cm.get(chapter.name, content=True)
        assert model["type"] == "notebook"
        _as_jupyterlab_would(model["content"])
        await cm.save({"type": "notebook", "content": model["content"]}, chapter.name)

    asyncio.run(run())
    assert (tmp_path / chapter.name).read_bytes() == chapter.read_bytes()
    paired = tmp_path / (chapter.stem + ".ipynb")
    assert paired.exists() and '"ran\\n"' in paired.read_text(encoding="utf-8")


def test_an_edited_cell_is_the_only_change(tmp_path: Path) -> None:
    chapter = CHAPTERS[0]
    shutil.copy(chapter, tmp_path / chapter.name)
    shutil.copy(ROOT / "notebooks" / "jupytext.toml", tmp_path / "jupytext.toml")
    cm = _manager(tmp_path)

    async def run() -> None:
        model = await cm.get(chapter.name, content=True)
        nb = model["content"]
        _as_jupyterlab_would(nb)
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        code[1]["source"] += "\nprint('edited')"
        await cm.save({"type": "notebook", "content": nb}, chapter.name)

    asyncio.run(run())
    old, new = (
        chapter.read_text(encoding="utf-8").splitlines(),
        (tmp_path / chapter.name).read_text(encoding="utf-8").splitlines(),
    )
    import difflib

    changed = [line for line in difflib.ndiff(old, new) if line[:1] in "+-"]
    assert changed == ["+ print('edited')"]


def test_keep_source_falls_back_to_what_jupytext_wrote() -> None:
    assert keep_source("plain text\n", "other text\n") == "other text\n"
    header = "---\njupytext:\n  text_representation:\n    format_name: myst\n---\n\n"
    old = header + "# T\n\n```{code-cell} python\n1\n```\n"
    new = header + "# T\n\n```{code-cell} ipython3\n2\n```\n\n```{code-cell} ipython3\n3\n```\n"
    assert keep_source(old, new) == header + "# T\n\n```{code-cell} python\n2\n```\n\n```{code-cell} python\n3\n```\n"
    h, chunks = split_myst(new)
    assert h == header and len(chunks) == 3


@pytest.mark.parametrize(("uid", "allow_root"), [(0, True), (1000, False)])
def test_server_config_binds_to_localhost_and_allows_root_only_as_root(
    monkeypatch: pytest.MonkeyPatch, uid: int, allow_root: bool
) -> None:
    from traitlets.config import Config

    monkeypatch.setattr("os.getuid", lambda: uid)
    cfg = Config()
    path = ROOT / ".jupyter" / "jupyter_server_config.py"
    exec(
        compile(path.read_text(encoding="utf-8"), str(path), "exec"), {"get_config": lambda: cfg, "__file__": str(path)}
    )
    assert cfg.ServerApp.ip == "127.0.0.1"
    assert cfg.ServerApp.allow_root is allow_root
    assert cfg.ServerApp.root_dir == str(ROOT / "notebooks")
    assert (Path(cfg.LabApp.app_settings_dir) / "overrides.json").is_file()
