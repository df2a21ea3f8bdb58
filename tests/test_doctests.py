"""The docstring examples of the pure modules run (on the bundled model where they need one): they cannot rot."""

from __future__ import annotations

import doctest
import importlib

import pytest

PURE_MODULES = [
    "ko_embed_lab.types",
    "ko_embed_lab.text",
    "ko_embed_lab.encode",
    "ko_embed_lab.retrieval.runs",
    "ko_embed_lab.retrieval.metrics",
    "ko_embed_lab.retrieval.stats",
    "ko_embed_lab.tokens",
    "ko_embed_lab.cache",
    "ko_embed_lab.data.mteb_kor",
    "ko_embed_lab.longdoc.late",
    "ko_embed_lab.report.latechunk",
    "ko_embed_lab.backends.store",
    "ko_embed_lab.backends.model",
    "ko_embed_lab.scale.plan",
    "ko_embed_lab.scale.store",
    "ko_embed_lab.scale.engine",
    "ko_embed_lab.scale.estimate",
    "ko_embed_lab.scale.measure",
    "ko_embed_lab.report.scale",
]


@pytest.mark.parametrize("name", PURE_MODULES)
def test_docstring_examples_run(name: str, model, tmp_path) -> None:
    # Examples may use `model` (the bundled default, loaded once per session) and `tmp_path`.
    module = importlib.import_module(name)
    result = doctest.testmod(
        module,
        extraglobs={"model": model, "tmp_path": tmp_path},
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False,
    )
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} docstring examples failed"


def test_some_examples_are_run() -> None:
    finder = doctest.DocTestFinder()
    attempted = sum(len(t.examples) for n in PURE_MODULES for t in finder.find(importlib.import_module(n)))
    assert attempted >= 10
