"""Run every CPU benchmark and write benchmarks/RESULTS.md (machine, date, numbers).

    python benchmarks/run_all.py [--quick]

The GPU section is kept from the previous RESULTS.md (it comes from benchmarks/gpu_check.py on a
lent GPU machine; see that script) or, when none exists, notes that it is owed. The sections this
script writes replace those of the same heading; every other section of RESULTS.md (results of the
other benchmark scripts, written by hand with their commands) is kept, in its place.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from ko_embed_lab._files import atomic_write_bytes

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"


def run(cmd: list[str]) -> str:
    print("$", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, *cmd], capture_output=True, text=True, cwd=HERE.parent)
    if out.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{out.stderr[-3000:]}")
    print(out.stdout, flush=True)
    return out.stdout + f"\n(wall time {time.perf_counter() - t0:.0f} s)\n"


def _sections(doc: str) -> tuple[str, list[tuple[str, str]]]:
    """``(preamble, [(heading, whole section)])`` of a markdown text split at its ``## `` headings."""
    head, *body = re.split(r"(?m)^(?=## )", doc)  # a text that opens with "## " has an empty preamble
    return head, [(p.splitlines()[0].strip(), p) for p in body]


def merge_results(old: str, new: str) -> str:
    """``new``'s preamble and sections, with every section of ``old`` that ``new`` lacks kept in its place.

    A kept section follows the section it followed in ``old`` (or comes first, if it came first).

    Example:
        >>> old = "# R\\nold\\n## A\\na1\\n## Hand\\nh\\n## GPU\\ng\\n"
        >>> print(merge_results(old, "# R\\nnew\\n## A\\na2\\n## GPU\\ng2\\n"), end="")
        # R
        new
        ## A
        a2
        ## Hand
        h
        ## GPU
        g2
    """
    _, old_secs = _sections(old)
    head, new_secs = _sections(new)
    out = [(h, text) for h, text in new_secs]
    new_heads = {h for h, _ in new_secs}
    for i, (h, text) in enumerate(old_secs):
        if h in new_heads:
            continue
        before = [oh for oh, _ in old_secs[:i]]
        at = 0
        for j, (oh, _) in enumerate(out):
            if oh in before:
                at = j + 1
        out.insert(at, (h, text if text.endswith("\n") else text + "\n"))
    return head + "".join(text for _, text in out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes)")
    args = ap.parse_args()
    out_dir = HERE / "out"
    out_dir.mkdir(exist_ok=True)
    enc = ["benchmarks/bench_encode.py", "--json", str(out_dir / "encode.json")]
    scal = ["benchmarks/bench_scaling.py", "--json", str(out_dir / "scaling.json")]
    if args.quick:
        enc += ["--short", "600", "--passages", "40", "--mixed", "60", "--repeats", "3"]
        scal += ["--sizes", "1000", "10000", "--lengths", "256", "1024", "4096"]
    text_enc = run(enc)
    text_scal = run(scal)
    gpu = (
        "The GPU run is still owed: no GPU machine was lent to the task that wrote this file. Run "
        "`python benchmarks/gpu_check.py --out benchmarks/gpu_report.md` on one H100/H200 (about 4 minutes).\n"
    )
    if (HERE / "gpu_report.md").exists():
        gpu = (HERE / "gpu_report.md").read_text(encoding="utf-8")
    machine = json.loads((out_dir / "encode.json").read_text())["machine"]
    doc = f"""# Benchmark results

Written by `python benchmarks/run_all.py{" --quick" if args.quick else ""}` on {machine["date"]}:
{machine["platform"]}, {machine["cpus"]} CPUs, torch {machine["torch"]} ({machine["threads"]} threads).
Every ratio below compares two runs made in the same process, interleaved (machine noise hits both).

## Encoding: ko_embed_lab against plain sentence-transformers (bundled model, CPU)

Targets: ≥ 1.0× on every corpus; cache hit ≥ 50×.

```
{text_enc.strip()}
```

## Scaling (CPU)

Corpus size with the bundled model (each in a fresh process; peak RSS), streaming to disk against
holding the embeddings in memory, and document length with the target architecture (random weights).

```
{text_scal.strip()}
```

## GPU

{gpu}
"""
    doc = re.sub(r"\n{3,}", "\n\n", doc)
    if RESULTS.exists():
        doc = merge_results(RESULTS.read_text(encoding="utf-8"), doc)
    atomic_write_bytes(RESULTS, doc.encode("utf-8"))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
