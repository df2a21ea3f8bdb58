"""The teaching pages of the book: the exercise how-to's example, glossary, bibliography, data cards."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .notebook_runner import MYST_HEADER

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
HEADER = MYST_HEADER + "\n"


def _example() -> str:
    text = (BOOK / "_authoring.md").read_text(encoding="utf-8")
    block = text.split("<!-- example-start -->")[1].split("<!-- example-end -->")[0].strip()
    return block.removeprefix("````md").removesuffix("````").strip()


def test_solution_cells_of_the_example_are_executable_code_cells(tmp_path: Path) -> None:
    import jupytext

    path = tmp_path / "chapter.md"
    path.write_text(HEADER + _example() + "\n", encoding="utf-8")
    cells = jupytext.read(path).cells
    code = [c for c in cells if c.cell_type == "code"]
    assert len(code) == 1 and code[0].metadata.get("tags") == ["solution"]
    # The solution directives stay in the markdown around the code cell: start before, end after.
    i = cells.index(code[0])
    assert "{solution-start}" in cells[i - 1].source and "{solution-end}" in cells[i + 1].source


def test_example_solution_runs() -> None:
    # What the smoke test of a chapter does with a solution cell: run it.
    source = re.search(r"```\{code-cell\} python\n:tags: \[solution\]\n\n(.*?)```", _example(), re.S).group(1)
    namespace: dict = {}
    exec(compile(source, "solution", "exec"), namespace)
    assert "gain" in namespace and namespace["gain"].idxmax() == "law"


def _glossary_terms() -> list[str]:
    text = (BOOK / "glossary.md").read_text(encoding="utf-8")
    terms: list[str] = []
    for block in re.findall(r"```\{glossary\}\n(.*?)\n```", text, re.S):
        terms += [ln for ln in block.splitlines() if ln and not ln.startswith(" ")]
    return terms


REQUIRED_TERMS = [
    "NDCG@10", "MRR@10", "Recall@k", "MAP", "CLS pooling", "Mean pooling", "SDPA", "bf16",
    "Matryoshka representation learning", "MTEB", "BEIR", "NMI", "ARI", "Kendall's τ", "Spearman's ρ",
    "Sign test", "Bootstrap", "Paired bootstrap", "Cluster bootstrap", "Holm correction", "Hard negative",
    "False negative", "InfoNCE", "In-batch negatives", "CachedGIST loss", "Query prompt", "BM25", "Morpheme",
    "RRF", "Late chunking", "Truncation", "Quantisation", "HNSW", "IVF-PQ", "ANN recall@10", "UMAP", "Q4_0",
]  # fmt: skip


def test_glossary_has_every_term_with_a_korean_term_and_gloss() -> None:
    terms = _glossary_terms()
    assert len(terms) == len(set(terms)), "a glossary term appears twice"
    for term in REQUIRED_TERMS:
        assert term in terms, term
    text = (BOOK / "glossary.md").read_text(encoding="utf-8")
    # every definition carries a Korean explanation
    n_defs = sum(len(re.findall(r"\n  \S", b.split("\n", 1)[0] + "\n" + b)) > 0 for b in [text])
    assert n_defs and text.count("**한국어:**") >= len(REQUIRED_TERMS) - 2
    assert "7 stored mantissa bits" in text


def test_every_citation_key_is_in_the_bibliography() -> None:
    import pybtex.database

    keys = set(pybtex.database.parse_file(str(BOOK / "references.bib")).entries)
    pages = [p for p in [*BOOK.glob("*.md"), *(ROOT / "notebooks").glob("*.md")] if not p.name.startswith("_")]
    cited = {
        k.strip()
        for page in pages
        for group in re.findall(r"\{cite(?::[pt])?\}`([\w,\s-]+)`", page.read_text(encoding="utf-8"))
        for k in group.split(",")
    }
    assert cited <= keys, sorted(cited - keys)


@pytest.mark.parametrize("card", ["koprobe", "kolongq"])
def test_data_card_pages_include_the_package_readme(card: str) -> None:
    text = (BOOK / "data" / f"{card}.md").read_text(encoding="utf-8")
    target = re.search(r"```\{include\} (\S+)", text).group(1)
    assert (BOOK / "data" / target).resolve().is_file()
