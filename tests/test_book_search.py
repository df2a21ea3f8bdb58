"""Korean search in the book (ko_embed_lab.book.search): index and query sides, and a tiny Sphinx build."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ko_embed_lab.book.search import JS_SPLITTER, PARTICLES, index_terms, query_terms, strip_particle


def test_strip_particle_keeps_two_syllables_for_one_syllable_particles() -> None:
    assert strip_particle("서울이다") == "서울"
    assert strip_particle("서울에서는") == "서울"
    assert strip_particle("한국어로") == "한국어"
    assert strip_particle("수도") == "수도"  # 도 is a particle, but 수 alone would match too much
    assert strip_particle("수도는") == "수도"
    assert strip_particle("책에서") == "책"
    assert strip_particle("서울") == "서울"
    assert strip_particle("의") == "의"


def test_particles_are_longest_first() -> None:
    assert [len(p) for p in PARTICLES] == sorted((len(p) for p in PARTICLES), reverse=True)


def test_query_terms_split_scripts_and_strip() -> None:
    assert query_terms("서울") == ["서울"]
    assert query_terms("한국어로 쓴 NDCG@10") == ["한국어", "쓴", "ndcg", "10"]
    assert query_terms("e5의 KoProbe에서") == ["e5", "koprobe"]


def test_index_terms_hold_every_prefix_and_the_morphemes() -> None:
    terms = index_terms("대한민국의 수도는 서울이다. 한국어로 쓴 정보검색 표 KoProbe의")
    for t in ["서울", "서울이다", "한국어", "수도", "대한민국", "정보", "검색", "표", "KoProbe", "의"]:
        assert t in terms, t
    assert index_terms("only English here") == ["only", "English", "here"]


def test_a_stripped_query_is_always_a_prefix_of_the_word() -> None:
    # The guarantee the design rests on: whatever the query side strips, the result is a prefix of
    # the word typed, and every prefix of a word on a page is indexed.
    for word in ["서울이다", "서울에서는", "한국어로", "수도는", "검색하다", "책에서", "고양이"]:
        (term,) = query_terms(word)
        assert word.startswith(term) and term in index_terms(word, morphemes=[])


def _node() -> str | None:
    return shutil.which("node") or shutil.which("nodejs")


def _js_query_terms(js: str, queries: list[str]) -> list[list[str]]:
    script = (
        js
        + f"\nconsole.log(JSON.stringify({json.dumps(queries, ensure_ascii=False)}.map(q => splitQuery(q.toLowerCase()))));"
    )
    out = subprocess.run([_node(), "-e", script], capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout)


QUERIES = ["서울", "한국어로", "서울에서는 한국어로", "e5의 KoProbe에서", "수도", "정보검색을 했다", "NDCG@10 값"]


@pytest.mark.skipif(_node() is None, reason="node is not installed")
def test_js_splitter_equals_the_python_rule() -> None:
    assert _js_query_terms(JS_SPLITTER, QUERIES) == [query_terms(q) for q in QUERIES]


PAGE = """\
# 검색 시험

대한민국의 수도는 서울이다. This page is mostly English: searching works.

| 언어 | 설명 |
|---|---|
| ko | 한국어로 쓴 문장 |

```{raw} html
<table class="dataframe"><tr><td>부산광역시에서</td></tr></table>
```
"""


@pytest.fixture(scope="module")
def tiny_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sphinx.application import Sphinx

    src = tmp_path_factory.mktemp("tiny-book")
    (src / "conf.py").write_text(
        'extensions = ["myst_parser", "ko_embed_lab.book.search"]\nproject = "t"\nlanguage = "en"\n', encoding="utf-8"
    )
    (src / "index.md").write_text("# Home\n\n```{toctree}\nseoul\nother\n```\n", encoding="utf-8")
    (src / "seoul.md").write_text(PAGE, encoding="utf-8")
    (src / "other.md").write_text("# Other\n\nNothing Korean here but 부산 once.\n", encoding="utf-8")
    out = src / "_build"
    app = Sphinx(str(src), str(src), str(out), str(out / ".doctrees"), "html", status=None, warningiserror=True)
    app.build()
    return out


def _index(site: Path) -> dict:
    text = (site / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1 : text.rindex(")")])


def _pages(index: dict, term: str) -> set[str]:
    hit = index["terms"].get(term, [])
    hit = [hit] if isinstance(hit, int) else hit
    return {index["docnames"][i] for i in hit}


def test_tiny_site_indexes_korean_stems_and_table_cells(tiny_site: Path) -> None:
    index = _index(tiny_site)
    assert _pages(index, "서울") == {"seoul"}
    assert _pages(index, "서울이다") == {"seoul"}
    assert _pages(index, "한국어") == {"seoul"}  # a Markdown table cell
    assert _pages(index, "부산광역시") == {"seoul"}  # raw HTML, as notebook outputs are
    assert _pages(index, "부산") == {"seoul", "other"}
    assert _pages(index, "search") == {"seoul"}  # English words are still Porter-stemmed ("searching")


@pytest.mark.skipif(_node() is None, reason="node is not installed")
def test_tiny_site_query_side_finds_the_page(tiny_site: Path) -> None:
    # The shipped language_data.js, run as the browser runs it: split, stem, look up.
    js = (tiny_site / "_static" / "language_data.js").read_text(encoding="utf-8")
    index = _index(tiny_site)
    script = (
        js
        + "\nconst st = new Stemmer();"
        + f"\nconsole.log(JSON.stringify({json.dumps(['서울', '한국어', '서울에서', '한국어로', 'searching'], ensure_ascii=False)}"
        + ".map(q => splitQuery(q.toLowerCase()).map(w => st.stemWord(w)))));"
    )
    out = subprocess.run([_node(), "-e", script], capture_output=True, text=True, check=True, timeout=60)
    for terms in json.loads(out.stdout):
        for term in terms:
            assert "seoul" in _pages(index, term), (terms, term)
