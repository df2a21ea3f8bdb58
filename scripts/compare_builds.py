"""Compare the numbers two builds of the book show, page by page.

    python scripts/compare_builds.py OLD/_build/html NEW/_build/html

For each HTML page present in both builds, the visible text (scripts, styles and the navigation
removed; plotly figures' data included, since their numbers are what the page shows) is reduced to
its sequence of numbers; the script prints, per page, whether the sequences are equal, and the
first differing lines otherwise. Timings (``… s``, ``ms``) and dates differ between any two runs and
are listed separately.
"""

from __future__ import annotations

import argparse
import difflib
import html
import re
import sys
from pathlib import Path

_NUM = re.compile(r"[−-]?\d[\d,]*\.?\d*(?:e[+-]?\d+)?")
_TIMING = re.compile(r"\d[\d,.]*\s*(?:s|ms|seconds|MB|GB|MiB|GiB|tokens/s|tok/s)\b|\d{4}-\d\d-\d\d|\d\d:\d\d")


def page_lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    main = re.search(r"<main.*?</main>", text, re.S)
    body = main.group(0) if main else text
    body = re.sub(r"<(script|style)(?![^>]*plotly).*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"<[^>]+>", "\n", body)
    lines = [" ".join(html.unescape(ln).split()) for ln in body.splitlines()]
    return [ln for ln in lines if ln]


def numbers(lines: list[str], *, timings: bool) -> list[str]:
    out = []
    for ln in lines:
        is_timing = bool(_TIMING.search(ln))
        if is_timing == timings:
            out.extend(f"{n}  | {ln[:100]}" for n in _NUM.findall(ln))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--context", type=int, default=6, help="differing lines shown per page")
    args = ap.parse_args(argv)
    old, new = Path(args.old), Path(args.new)
    pages = sorted(p.relative_to(old) for p in old.rglob("*.html") if (new / p.relative_to(old)).exists())
    pages = [p for p in pages if not str(p).startswith(("_", "genindex", "search"))]
    differing = 0
    for rel in pages:
        a, b = page_lines(old / rel), page_lines(new / rel)
        na, nb = numbers(a, timings=False), numbers(b, timings=False)
        ta, tb = numbers(a, timings=True), numbers(b, timings=True)
        same = [x.split("  |")[0] for x in na] == [x.split("  |")[0] for x in nb]
        print(f"{'same' if same else 'DIFFERENT':9}  {rel}  ({len(na)} numbers; {len(ta)} vs {len(tb)} timings)")
        if not same:
            differing += 1
            diff = [
                d
                for d in difflib.unified_diff(na, nb, lineterm="", n=0)
                if d[:1] in "+-" and d[:3] not in ("---", "+++")
            ]
            for d in diff[: args.context]:
                print("     ", d)
            if len(diff) > args.context:
                print(f"      … {len(diff) - args.context} more differing lines")
    only_old = sorted(str(p.relative_to(old)) for p in old.rglob("*.html") if not (new / p.relative_to(old)).exists())
    only_new = sorted(str(p.relative_to(new)) for p in new.rglob("*.html") if not (old / p.relative_to(new)).exists())
    print(
        f"\n{len(pages)} pages compared, {differing} with different numbers; only in old: {only_old}; only in new: {only_new}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
