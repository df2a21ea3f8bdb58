"""Korean full-text search for the book: index Korean by morphemes and prefixes, query the same way.

Sphinx's English search language splits text at non-word characters, so a Korean word is indexed
only as the whole space-separated unit with its particles and endings attached: "서울이다" is in the
index, "서울" is not, and searching "서울" finds nothing. This module replaces the search language
with :class:`SearchKorean`, which keeps the English behaviour (Porter stemming, English stop words)
for everything that is not Hangul and indexes each Korean word three ways:

- its content morphemes, as :class:`ko_embed_lab.retrieval.lexical.KoreanTokenizer` finds them with
  kiwipiepy ("한국어로" → 한국어, "정보검색" → 정보, 검색; verb stems as lemmas);
- every prefix of the word ("서울이다" → 서, 서울, 서울이, 서울이다), so that any stem typed alone
  finds the inflected forms on the page without a morphological analyser in the browser;
- the word itself (the longest prefix).

The browser cannot run kiwipiepy, so the query side is a few lines of JavaScript
(:data:`JS_SPLITTER`): it splits the query as Sphinx does, separates Hangul from Latin letters and
digits ("e5의" → e5, 의), and strips at most one trailing particle or ending from each Korean word
("서울에서는" → 서울, "한국어로" → 한국어). Because every prefix of every indexed word is in the index,
a stripped query word (a prefix of the words on the page) always finds them, and stripping too
much only widens the match; a one-syllable particle is stripped only when two syllables remain, so
"수도" stays 수도. :func:`query_terms` is the same rule in Python (the tests hold the two equal).

Sphinx indexes raw HTML outputs (the tables that notebook cells print) through the same
``split``, so Korean in cell outputs is searchable too.

Example:
    >>> query_terms("서울에서는 한국어로")
    ['서울', '한국어']
"""

from __future__ import annotations

import json
import re
from typing import Any

from sphinx.search.en import SearchEnglish

__all__ = [
    "JS_SPLITTER",
    "PARTICLES",
    "SearchKorean",
    "index_terms",
    "query_terms",
    "setup",
    "strip_particle",
]

_HANGUL = "\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f"
_HANGUL_RE = re.compile(f"[{_HANGUL}]")
# A word as Sphinx sees it (\w+), cut where Hangul meets Latin letters or digits.
_PART_RE = re.compile(rf"[{_HANGUL}]+|[^\W{_HANGUL}]+")

# Particles (조사), the copula and a few endings that follow a noun in running text, as typed in a
# query. Longest first: a query word loses at most one of them, the longest that fits.
PARTICLES: tuple[str, ...] = tuple(
    sorted(
        {
            # particles of one syllable
            *["은", "는", "이", "가", "을", "를", "의", "에", "로", "와", "과", "도", "만", "께", "랑", "요"],
            # case and auxiliary particles of two or more syllables
            *[
                "에서",
                "에게",
                "한테",
                "께서",
                "으로",
                "부터",
                "까지",
                "보다",
                "처럼",
                "마다",
                "조차",
                "마저",
                "밖에",
                "이나",
                "이랑",
                "하고",
            ],
            *[
                "에서는",
                "에서도",
                "에서의",
                "에서만",
                "에게는",
                "에게서",
                "한테서",
                "으로는",
                "으로도",
                "으로서",
                "으로써",
                "으로의",
            ],
            *[
                "로는",
                "로도",
                "로서",
                "로써",
                "로의",
                "에는",
                "에도",
                "에의",
                "에만",
                "와는",
                "과는",
                "와의",
                "과의",
                "까지는",
                "부터는",
                "보다는",
            ],
            # the copula and common sentence endings after a noun
            *[
                "이다",
                "이고",
                "이며",
                "이면",
                "이라",
                "이라는",
                "이라고",
                "이라면",
                "이었다",
                "이에요",
                "입니다",
                "인가",
                "인가요",
                "인지",
                "이야",
            ],
            *["하다", "하는", "하고", "해서", "했다", "합니다", "한다", "된다", "되는", "되어", "됩니다"],
        },
        key=lambda s: (-len(s), s),
    )
)


def strip_particle(word: str) -> str:
    """Strip at most one trailing particle or ending from a Korean word.

    A one-syllable particle goes only when two syllables remain (수도 stays 수도; 서울은 → 서울);
    a longer one when at least one remains (책에서 → 책).

    Example:
        >>> [strip_particle(w) for w in ["서울이다", "한국어로", "수도", "책에서", "서울"]]
        ['서울', '한국어', '수도', '책', '서울']
    """
    for p in PARTICLES:
        if word.endswith(p) and len(word) - len(p) >= (2 if len(p) == 1 else 1):
            return word[: -len(p)]
    return word


def _parts(word: str) -> list[str]:
    return _PART_RE.findall(word)


def query_terms(query: str) -> list[str]:
    """The terms the browser searches for ``query`` (lower-cased, before stemming).

    The same rule as :data:`JS_SPLITTER`: split at non-word characters, cut Hangul from Latin and
    digits, drop a particle glued to a Latin word or number ("e5의" → e5), strip one trailing
    particle from each Korean word.

    Example:
        >>> query_terms("KoProbe의 한국어로 된 표")
        ['koprobe', '한국어', '된', '표']
    """
    out: list[str] = []
    for token in re.findall(r"\w+", query.lower()):
        parts = _parts(token)
        for i, part in enumerate(parts):
            if not _HANGUL_RE.match(part):
                out.append(part)
            elif i > 0 and part in PARTICLES:
                continue
            else:
                out.append(strip_particle(part))
    return out


def index_terms(text: str, morphemes: list[str] | None = None) -> list[str]:
    """The words Sphinx indexes for ``text``: non-Hangul words as they are, every prefix of each
    Korean word, and the Korean content morphemes (``morphemes``; found with kiwipiepy when None).

    Example:
        >>> index_terms("서울이다 e5", morphemes=["서울"])
        ['서', '서울', '서울이', '서울이다', 'e5', '서울']
    """
    out: list[str] = []
    has_korean = False
    for token in re.findall(r"\w+", text):
        for part in _parts(token):
            if _HANGUL_RE.match(part):
                has_korean = True
                out.extend(part[:n] for n in range(1, len(part) + 1))
            else:
                out.append(part)
    if has_korean:
        if morphemes is None:
            from ..retrieval.lexical import KoreanTokenizer

            morphemes = KoreanTokenizer()(text)
        out.extend(m for m in morphemes if _HANGUL_RE.search(m))
    return out


_JS_STRIP = """
var KO_HANGUL = /[\\uac00-\\ud7a3\\u1100-\\u11ff\\u3130-\\u318f]/;
var KO_PART = /[\\uac00-\\ud7a3\\u1100-\\u11ff\\u3130-\\u318f]+|[^\\uac00-\\ud7a3\\u1100-\\u11ff\\u3130-\\u318f]+/g;
var KO_PARTICLES = __PARTICLES__;
var koStripParticle = (word) => {
  for (const p of KO_PARTICLES) {
    if (word.endsWith(p) && word.length - p.length >= (p.length === 1 ? 2 : 1))
      return word.slice(0, word.length - p.length);
  }
  return word;
};
var splitQuery = (query) => {
  const out = [];
  query
    .split(/[^\\p{Letter}\\p{Number}_\\p{Emoji_Presentation}]+/gu)
    .filter((term) => term)
    .forEach((token) => {
      (token.match(KO_PART) || []).forEach((part, i) => {
        if (!KO_HANGUL.test(part)) out.push(part);
        else if (i > 0 && KO_PARTICLES.includes(part)) return;
        else out.push(koStripParticle(part));
      });
    });
  return out;
};
"""

#: The query splitter shipped in ``language_data.js`` (it replaces Sphinx's default ``splitQuery``).
JS_SPLITTER = _JS_STRIP.replace("__PARTICLES__", json.dumps(list(PARTICLES), ensure_ascii=False))

# Porter stemming for English words only: a Korean term reaches the index unchanged, so the query
# side must leave it unchanged too.
_JS_STEMMER_WRAP = """
var KoEnglishStemmer = Stemmer;
Stemmer = function () {
  const en = new KoEnglishStemmer();
  this.stemWord = (w) => (KO_HANGUL_STEM.test(w) ? w : en.stemWord(w));
};
var KO_HANGUL_STEM = /[\\uac00-\\ud7a3\\u1100-\\u11ff\\u3130-\\u318f]/;
"""


class SearchKorean(SearchEnglish):
    """Sphinx search language for English pages with Korean in them (see the module docstring)."""

    lang = "ko"
    language_name = "Korean"
    js_splitter_code = JS_SPLITTER
    js_stemmer_code = SearchEnglish.js_stemmer_code + _JS_STEMMER_WRAP

    def split(self, input: str) -> list[str]:
        return index_terms(input)

    def stem(self, word: str) -> str:
        if _HANGUL_RE.search(word):
            return word.lower()
        return super().stem(word)


def _use_korean_search(app: Any, config: Any) -> None:
    if config.ko_embed_lab_korean_search and not config.html_search_language:
        config.html_search_language = SearchKorean.lang


def setup(app: Any) -> dict[str, Any]:
    """Register :class:`SearchKorean` and make it the book's search language.

    ``ko_embed_lab_korean_search = False`` in the Sphinx config turns it off; an explicit
    ``html_search_language`` wins.
    """
    app.add_search_language(SearchKorean)
    app.add_config_value("ko_embed_lab_korean_search", True, "html")
    app.connect("config-inited", _use_korean_search)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
