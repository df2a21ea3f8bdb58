"""Data: the BEIR loader, the project's Korean probe set, long Korean texts from konlpy, MTEB(kor, v2) results."""

from __future__ import annotations

from .beir import RetrievalSet, doc_text, load_beir, save_beir
from .korean_long import LongDocument, konlpy_corpus_dir, load_long_korean
from .mteb_kor import card_vs_mteb, load_mteb_kor, mteb_kor_board
from .probe import FORMS, Probe, load_probe, probe_dir

__all__ = [
    "FORMS",
    "LongDocument",
    "Probe",
    "RetrievalSet",
    "card_vs_mteb",
    "doc_text",
    "konlpy_corpus_dir",
    "load_beir",
    "load_long_korean",
    "load_mteb_kor",
    "load_probe",
    "mteb_kor_board",
    "probe_dir",
    "save_beir",
]
