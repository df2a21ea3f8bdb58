"""The book's Sphinx extension: chapter .ipynb downloads, and the book configuration it relies on."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import yaml

from ko_embed_lab.book import downloads

from .notebook_runner import MYST_HEADER

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

MYST_NB = (
    MYST_HEADER
    + """
# A chapter

```{code-cell} python
:tags: [parameters]

SEED = 0
```
"""
)


def _app(tmp_path: Path, docs: dict[str, str]) -> SimpleNamespace:
    src = tmp_path / "src"
    for name, text in docs.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text, encoding="utf-8")
    return SimpleNamespace(
        builder=SimpleNamespace(format="html"),
        config=SimpleNamespace(ko_embed_lab_ipynb_pages=["notebooks/*"]),
        env=SimpleNamespace(doc2path=lambda doc: str(src / f"{doc}.md")),
        outdir=str(tmp_path / "html"),
    )


def test_chapter_pages_offer_a_clean_ipynb(tmp_path: Path) -> None:
    import nbformat

    app = _app(tmp_path, {"notebooks/01_x.md": MYST_NB})
    context: dict = {}
    downloads._offer_ipynb(app, "notebooks/01_x", "page.html", context, doctree=object())
    assert context["ipynb_source"] == "notebooks/01_x.ipynb"
    nb = nbformat.read(tmp_path / "html" / "_sources" / "notebooks" / "01_x.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and code[0].source == "SEED = 0" and code[0].metadata["tags"] == ["parameters"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)


def test_other_pages_and_plain_markdown_get_no_ipynb(tmp_path: Path) -> None:
    app = _app(tmp_path, {"intro.md": MYST_NB, "notebooks/glossary.md": "# Glossary\n"})
    for page in ["intro", "notebooks/glossary"]:
        context: dict = {}
        downloads._offer_ipynb(app, page, "page.html", context, doctree=object())
        assert "ipynb_source" not in context
    assert not (tmp_path / "html").exists()


def _sphinx_config() -> dict:
    """The Sphinx configuration Jupyter Book derives from book/_config.yml."""
    from jupyter_book.config import get_final_config

    cfg, _ = get_final_config(
        user_yaml=BOOK / "_config.yml",
        cli_config={"latex_individualpages": False},
        sourcedir=BOOK,
        raise_on_invalid=True,
    )
    return cfg


def test_book_config_theme_mode_favicon_and_footer() -> None:
    cfg = _sphinx_config()
    # An empty default_mode makes pydata-sphinx-theme log "Got invalid theme mode" on every page.
    assert cfg["html_context"]["default_mode"] in {"light", "dark", "auto"}
    favicon = BOOK / cfg["html_favicon"]
    assert favicon.exists() and favicon.read_bytes()[:4] == b"\x00\x00\x01\x00"  # an ICO file
    # sphinx.config.html_theme_options is merged with, not replacing, what the html: section sets.
    opts = cfg["html_theme_options"]
    assert opts["use_download_button"] is True and opts["extra_footer"].startswith("Built offline")


def test_book_config_loads_the_teaching_extensions() -> None:
    cfg = _sphinx_config()
    for ext in ["ko_embed_lab.book", "sphinx_exercise", "sphinxcontrib.bibtex"]:
        assert ext in cfg["extensions"], ext
    assert cfg["bibtex_bibfiles"] == ["references.bib"] and (BOOK / "references.bib").exists()
    assert "bibtex.duplicate_citation" in cfg["suppress_warnings"]


def test_toc_lists_the_teaching_pages() -> None:
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text(encoding="utf-8"))
    files = [c["file"] for c in toc["chapters"]]
    for page in ["course", "glossary", "bibliography", "data/koprobe", "data/kolongq"]:
        assert page in files and (BOOK / f"{page}.md").exists(), page
    assert "_authoring" not in files


def test_pages_workflow_builds_like_make_book_and_caches_what_build_writes() -> None:
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text(encoding="utf-8"))
    steps = wf["jobs"]["build"]["steps"]
    assert any(s.get("run") == "make book" for s in steps)
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "book/_build/html"
    assert any(str(s.get("uses", "")).startswith("actions/deploy-pages") for s in wf["jobs"]["deploy"]["steps"])
    cached = [s["with"]["path"] for s in steps if str(s.get("uses", "")).startswith("actions/cache")]
    # build.py keeps one execution cache per model in book/_build/.jupyter_cache-<key>.
    assert "book/_build/.jupyter_cache-*" in cached
    build_src = (ROOT / "ko_embed_lab" / "book" / "build.py").read_text(encoding="utf-8")
    assert 'f".jupyter_cache-{_slug(key)}"' in build_src
    # The converted model lives in the cache home the workflow points KO_EMBED_LAB_HOME at.
    home = wf["env"]["KO_EMBED_LAB_HOME"].replace("${{ github.workspace }}/", "")
    assert f"{home}/models" in cached


def test_site_index_redirects_to_the_root_page_and_names_the_favicon(tmp_path: Path) -> None:
    # A bare redirect (what sphinx-external-toc writes) makes Chromium ask for /favicon.ico, which
    # the site lacks: a 404 in the console whenever the request leaves before the redirect.
    from ko_embed_lab.book import _write_index

    config = SimpleNamespace(
        master_doc="intro", html_favicon="_static/favicon.ico", language="en", html_title="Lab <1>", project="p"
    )
    app = SimpleNamespace(builder=SimpleNamespace(format="html", name="html"), config=config, outdir=str(tmp_path))
    (tmp_path / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=old.html" />\n')
    _write_index(app, None)
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert '<link rel="icon" href="_static/favicon.ico">' in page
    assert 'content="0; url=intro.html"' in page and "old.html" not in page
    assert "<title>Lab &lt;1&gt;</title>" in page
    # A failed build, or a book whose root page is index itself, is left alone.
    (tmp_path / "index.html").write_text("mine")
    _write_index(app, RuntimeError("build failed"))
    config.master_doc = "index"
    _write_index(app, None)
    assert (tmp_path / "index.html").read_text() == "mine"
