"""Agreement between the two relevance-judging passes of KoProbe.

    python scripts/probe_agreement.py              # plain report
    python scripts/probe_agreement.py --markdown   # the table for the data card

Reads ``data_src/probe/judging/pass1.jsonl`` (every query against its need's relevant passages and
hard negatives) and, if it exists, ``data_src/probe/judging/pass2.jsonl`` (a second, independent pass
on a sample), one judgment per line: ``{"query_id", "passage_id", "grade": 0|1|2, ...}``. Reports, on
the pairs both passes judged, Cohen's kappa on relevant-or-not (grade > 0) and on the three grades,
the raw agreement and the number of pairs.

The second pass judges the pairs that :func:`sample_pairs` draws from ``pairs.jsonl``: the
(query, hard negative of its need) pairs of the original per-need data, frozen before re-judging.

After adjudication (``data_src/probe/judging/adjudication.jsonl``: the final grade of each pair the
passes disagreed on, judged on the original query text, plus pairs changed by a rule clarification),
it also reports each pass's agreement with the adjudicated grades on the sample: the adjudicated
grade where ``adjudication.jsonl`` has one, else the grade both passes agreed on.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JUDGING = ROOT / "data_src" / "probe" / "judging"
PAIRS = JUDGING / "pairs.jsonl"
PASS1 = JUDGING / "pass1.jsonl"
PASS2 = JUDGING / "pass2.jsonl"
ADJUDICATION = JUDGING / "adjudication.jsonl"
SAMPLE_SEED = 19
SAMPLE_SIZE = 150
PLACEHOLDER = "<!-- agreement: filled by scripts/probe_agreement.py --markdown -->"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_pairs(path: Path = PAIRS) -> list[tuple[str, str]]:
    """The frozen (query id, passage id) pairs, sorted."""
    return sorted((r["query_id"], r["passage_id"]) for r in read_jsonl(path))


def sample_pairs(pairs: list[tuple[str, str]] | None = None, *, k: int = SAMPLE_SIZE, seed: int = SAMPLE_SEED):
    """The second pass's sample: ``random.Random(19).sample(sorted(pairs), 150)``."""
    pairs = sorted(load_pairs() if pairs is None else pairs)
    return random.Random(seed).sample(pairs, k)


def load_grades(path: Path) -> dict[tuple[str, str], int]:
    grades: dict[tuple[str, str], int] = {}
    for r in read_jsonl(path):
        key = (r["query_id"], r["passage_id"])
        if key in grades and grades[key] != int(r["grade"]):
            raise ValueError(f"{path.name}: {key} judged twice with different grades")
        grades[key] = int(r["grade"])
    return grades


def load_adjudication(path: Path = ADJUDICATION) -> dict[tuple[str, str], int]:
    """Final grades (for the original query text) of the adjudicated pairs; empty if none yet."""
    if not path.exists():
        return {}
    return {(r["query_id"], r["passage_id"]): int(r["final"]) for r in read_jsonl(path)}


def adjudicated_grades(
    sample: list[tuple[str, str]],
    p1: dict[tuple[str, str], int],
    p2: dict[tuple[str, str], int],
    adjudicated: dict[tuple[str, str], int],
) -> dict[tuple[str, str], int]:
    """The reference grade of every sampled pair: adjudicated, else the grade both passes agreed on.

    A sampled pair on which the passes disagree and that was not adjudicated is an error.
    """
    ref: dict[tuple[str, str], int] = {}
    for key in sample:
        if key in adjudicated:
            ref[key] = adjudicated[key]
        elif key in p1 and key in p2 and p1[key] == p2[key]:
            ref[key] = p1[key]
        elif key in p1 and key in p2:
            raise ValueError(f"{key}: the passes disagree ({p1[key]} vs {p2[key]}) and it is not adjudicated")
    return ref


def agreement(a: dict[tuple[str, str], int], b: dict[tuple[str, str], int]) -> dict:
    """Kappa (binary and 3-grade), raw agreement and pair count over the pairs in both."""
    from sklearn.metrics import cohen_kappa_score

    keys = sorted(set(a) & set(b))
    if not keys:
        return {"pairs": 0}
    ga, gb = [a[k] for k in keys], [b[k] for k in keys]
    ba, bb = [int(g > 0) for g in ga], [int(g > 0) for g in gb]

    def kappa(x: list[int], y: list[int]) -> float:
        # Undefined when both passes use one and the same label throughout.
        if len(set(x) | set(y)) == 1:
            return float("nan")
        return float(cohen_kappa_score(x, y))

    return {
        "pairs": len(keys),
        "kappa_binary": kappa(ba, bb),
        "kappa_graded": kappa(ga, gb),
        "agree_binary": sum(x == y for x, y in zip(ba, bb, strict=True)) / len(keys),
        "agree_graded": sum(x == y for x, y in zip(ga, gb, strict=True)) / len(keys),
        "positive_pass1": sum(ba),
        "positive_pass2": sum(bb),
    }


def fmt(x: float) -> str:
    return "n/a" if x != x else f"{x:.3f}"


def markdown(res: dict, n_sample: int, adj: dict[str, dict] | None = None) -> str:
    if not res.get("pairs"):
        return f"{PLACEHOLDER}\n\n_No second pass yet: `pass2.jsonl` is absent or shares no pair with pass 1._\n"
    text = (
        f"{PLACEHOLDER}\n\n"
        "| judgments compared | pairs | raw agreement | Cohen's kappa | graded > 0 (pass 1 / pass 2) |\n"
        "| --- | ---: | ---: | ---: | ---: |\n"
        f"| relevant or not (grade > 0) | {res['pairs']} | {res['agree_binary']:.3f} | {fmt(res['kappa_binary'])} "
        f"| {res['positive_pass1']} / {res['positive_pass2']} |\n"
        f"| three grades (0 / 1 / 2) | {res['pairs']} | {res['agree_graded']:.3f} | {fmt(res['kappa_graded'])} | |\n\n"
        f"Pairs: the second pass's sample of {n_sample} (query, hard negative) pairs "
        f"(`random.Random({SAMPLE_SEED}).sample` of the sorted `pairs.jsonl`) that both passes judged.\n"
    )
    if adj:
        rows = "".join(
            f"| {name} vs adjudicated | {r['pairs']} | {r['agree_binary']:.3f} | {fmt(r['kappa_binary'])} "
            f"| {r['agree_graded']:.3f} | {fmt(r['kappa_graded'])} | {r['positive_pass1']} / {r['positive_pass2']} |\n"
            for name, r in adj.items()
        )
        text += (
            "\nAfter adjudication (`adjudication.jsonl`), each pass against the adjudicated grades on the same "
            "sample (the adjudicated grade where the passes disagreed, else the grade they agreed on):\n\n"
            "| judgments compared | pairs | raw agreement (binary) | kappa (binary) "
            "| raw agreement (graded) | kappa (graded) | graded > 0 (pass / adjudicated) |\n"
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n" + rows
        )
    return text


def against_adjudication(
    p1: dict[tuple[str, str], int], p2: dict[tuple[str, str], int], sample: list[tuple[str, str]]
) -> dict[str, dict]:
    """Each pass's agreement with the adjudicated grades on the sample; empty before adjudication."""
    adjudicated = load_adjudication()
    if not adjudicated or not p2:
        return {}
    ref = adjudicated_grades(sample, p1, p2, adjudicated)
    return {"pass 1": agreement(p1, ref), "pass 2": agreement(p2, ref)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--markdown", action="store_true", help="print the data card's agreement table")
    ap.add_argument("--pass1", type=Path, default=PASS1)
    ap.add_argument("--pass2", type=Path, default=PASS2)
    args = ap.parse_args()
    p1 = load_grades(args.pass1)
    sample = sample_pairs()
    missing = [k for k in sample if k not in p1]
    if missing:
        print(f"warning: pass 1 lacks {len(missing)} sampled pairs, e.g. {missing[:3]}", file=sys.stderr)
    if not args.pass2.exists():
        res = {"pairs": 0}
        p2: dict[tuple[str, str], int] = {}
        note = f"{args.pass2} not found: no second pass to compare yet"
    else:
        p2 = load_grades(args.pass2)
        res = agreement(p1, p2)
        note = f"{args.pass2.name}: {res['pairs']} pairs in common with {args.pass1.name}"
    adj = against_adjudication(p1, p2, sample)
    if args.markdown:
        print(markdown(res, len(sample), adj), end="")
        return 0
    print(note)
    if res.get("pairs"):
        print(f"pairs              {res['pairs']}")
        print(f"binary  kappa      {fmt(res['kappa_binary'])}   raw agreement {res['agree_binary']:.3f}")
        print(f"graded  kappa      {fmt(res['kappa_graded'])}   raw agreement {res['agree_graded']:.3f}")
        print(f"graded > 0         pass 1 {res['positive_pass1']}, pass 2 {res['positive_pass2']}")
    for name, r in adj.items():
        print(f"{name} vs adjudicated ({r['pairs']} sampled pairs)")
        print(f"  binary  kappa    {fmt(r['kappa_binary'])}   raw agreement {r['agree_binary']:.3f}")
        print(f"  graded  kappa    {fmt(r['kappa_graded'])}   raw agreement {r['agree_graded']:.3f}")
        print(f"  graded > 0       {name} {r['positive_pass1']}, adjudicated {r['positive_pass2']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
