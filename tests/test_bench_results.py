"""benchmarks/run_all.py keeps the hand-written sections of RESULTS.md when it rewrites its own."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run_all():
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "benchmarks" / "run_all.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_rewriting_results_keeps_every_other_section_in_its_place() -> None:
    merge = _run_all().merge_results
    old = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    heads = [line for line in old.splitlines() if line.startswith("## ")]
    assert len(heads) > 3 and "## Scaling (CPU)" in heads and "## GPU" in heads
    new = "# Benchmark results\n\nnew run\n\n## Scaling (CPU)\n\nfresh numbers\n\n## GPU\n\nowed\n"
    merged = merge(old, new)
    assert [line for line in merged.splitlines() if line.startswith("## ")] == heads  # same sections, same order
    assert "fresh numbers" in merged and "new run" in merged
    for h in heads:
        if h not in ("## Scaling (CPU)", "## GPU"):  # a kept section is kept whole
            start = old.index(h + "\n")
            nxt = old.find("\n## ", start + 1)
            assert old[start : nxt if nxt > 0 else None].rstrip() in merged
    # A new section with no counterpart is added; merging twice changes nothing.
    assert merge(merged, new) == merged
    assert "## Extra" in merge(old, new + "## Extra\n\nx\n")
