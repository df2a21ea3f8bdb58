"""Real long Korean text shipped inside the ``konlpy`` wheel, read as plain files.

``konlpy`` carries the Constitution of the Republic of Korea (``kolaw/constitution.txt``) and ten
National Assembly bills of 2010 (``kobill/*.txt``). They are public-domain official texts and
serve as naturally long documents and as haystack filler. Nothing here imports konlpy itself (which
would start a Java VM): the files are located with ``importlib``.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..text import clean_text

__all__ = ["LongDocument", "konlpy_corpus_dir", "load_long_korean"]


@dataclass(frozen=True)
class LongDocument:
    """One long document: ``id`` (e.g. ``kobill-1809890``), ``title``, ``text``, ``source`` path."""

    id: str
    title: str
    text: str
    source: str


def konlpy_corpus_dir() -> Path:
    """Folder ``konlpy/data/corpus`` of the installed konlpy wheel."""
    spec = importlib.util.find_spec("konlpy")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("konlpy is not installed; `pip install konlpy` provides the long Korean texts")
    for loc in spec.submodule_search_locations:
        corpus = Path(loc) / "data" / "corpus"
        if corpus.is_dir():
            return corpus
    raise FileNotFoundError("the installed konlpy has no data/corpus folder; reinstall konlpy==0.6.0")


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", clean_text(text.replace("\r\n", "\n")))  # form feeds: page breaks
    text = re.sub(r"[ \t\u3000]+", " ", text)  # layout spaces of the bill files
    text = re.sub(r"\n\s*\n+", "\n\n", text)
    return text.strip()


def load_long_korean(which: str = "all") -> list[LongDocument]:
    """Load the Constitution and/or the ten bills.

    Args:
        which: ``"all"``, ``"constitution"`` or ``"bills"``.

    Example:
        >>> docs = load_long_korean()
        >>> [d.id for d in docs][:2]
        ['kolaw-constitution', 'kobill-1809890']
    """
    if which not in ("all", "constitution", "bills"):
        raise ValueError(f"which={which!r}: use 'all', 'constitution' or 'bills'")
    root = konlpy_corpus_dir()
    docs: list[LongDocument] = []
    if which in ("all", "constitution"):
        path = root / "kolaw" / "constitution.txt"
        text = _clean(path.read_text(encoding="utf-8"))
        docs.append(LongDocument("kolaw-constitution", text.splitlines()[0].strip(), text, str(path)))
    if which in ("all", "bills"):
        for path in sorted((root / "kobill").glob("*.txt")):
            text = _clean(path.read_text(encoding="utf-8"))
            docs.append(LongDocument(f"kobill-{path.stem}", text.splitlines()[0].strip(), text, str(path)))
    return docs
