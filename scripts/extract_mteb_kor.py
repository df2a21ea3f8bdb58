"""Extract the MTEB(kor, v2) figures from mteb's public results repository into package data.

Reads a copy of ``embeddings-benchmark/results`` (a bare git directory as the search tool's
``fetch`` leaves it, or a folder with ``results/<org>__<model>/<revision>/<Task>.json``) and writes
``ko_embed_lab/data/mteb_kor/scores.csv`` (one row per model, revision and task: the figure
MTEB(kor, v2) shows) and ``subsets.csv`` (one row per model, revision, task, split and subset).

The Korean part of each task is chosen by mteb itself: the tasks come from
``mteb.get_benchmark("MTEB(kor, v2)")`` (whose tasks are already filtered to the subsets with a
Korean language), each result file is read with ``TaskResult.from_disk``, cut to the task's eval
splits and subsets with ``TaskResult.validate_and_filter_scores(task)`` and averaged with
``TaskResult.get_score()``. A task whose result lacks one of the benchmark's splits or subsets has no
benchmark figure (mteb gives NaN); its parts still go to ``subsets.csv``.

XPQARetrieval is not in MTEB(kor, v2); the card of the target model reports it, so its Korean
subsets are extracted too (``in_benchmark`` False).

Usage::

    python scripts/extract_mteb_kor.py /work/.mirror/embeddings-benchmark+results/repo
    python scripts/extract_mteb_kor.py --check /path/to/results   # exit 1 if a shipped figure differs
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

BENCHMARK = "MTEB(kor, v2)"
#: Tasks outside the benchmark whose Korean subsets are extracted as well (the card reports them).
EXTRA_TASKS = ("XPQARetrieval",)
REPO_NAME = "embeddings-benchmark/results"
REPO_URL = "https://github.com/embeddings-benchmark/results"
OUT_DIR = Path(__file__).resolve().parents[1] / "ko_embed_lab" / "data" / "mteb_kor"
SCORE_COLUMNS = [
    "model",
    "revision",
    "task",
    "task_type",
    "in_benchmark",
    "split",
    "subsets",
    "main_score",
    "mteb_version",
    "dataset_revision",
    "date",
    "model_prompts",
    "source_file",
]
SUBSET_COLUMNS = ["model", "revision", "task", "split", "subset", "main_score"]
#: Figures are written with this many decimals (mteb's files carry 5-6); --check compares to half a unit of it.
DECIMALS = 8


def korean_tasks() -> dict[str, Any]:
    """The benchmark's tasks (Korean subsets only) plus :data:`EXTRA_TASKS`, by name."""
    import mteb

    tasks = {t.metadata.name: t for t in mteb.get_benchmark(BENCHMARK).tasks}
    for t in mteb.get_tasks(tasks=list(EXTRA_TASKS), languages=["kor"]):
        tasks[t.metadata.name] = t
    return tasks


# ---------------------------------------------------------------- reading the repository


def _git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], input=data, capture_output=True, check=True).stdout


def _is_git_dir(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir()


def materialise(repo: Path, task_names: set[str], workdir: Path) -> tuple[Path, str]:
    """Return a folder holding ``results/...`` and the commit it came from.

    A bare git directory is read with ``git cat-file --batch`` and the needed files (the task
    files and each revision's ``model_meta.json``) are written under ``workdir``; a folder is used
    as it is (its commit is read with git when it is a work tree, else ``"unknown"``).
    """
    if (repo / "results").is_dir():
        try:
            commit = _git(repo, "rev-parse", "HEAD").decode().strip()
        except (subprocess.CalledProcessError, FileNotFoundError):
            commit = "unknown"
        return repo, commit
    if not _is_git_dir(repo):
        raise FileNotFoundError(f"{repo} is neither a folder with results/ nor a git directory of {REPO_NAME}")
    commit = _git(repo, "rev-parse", "HEAD").decode().strip()
    names = _git(repo, "ls-tree", "-r", "--name-only", commit, "--", "results").decode().splitlines()
    wanted = [p for p in names if _wanted(p, task_names) or p.endswith("/model_meta.json")]
    batch = "".join(f"{commit}:{p}\n" for p in wanted).encode()
    out = _git(repo, "cat-file", "--batch", data=batch)
    pos = 0
    for path in wanted:
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split()[2])
        blob = out[header_end + 1 : header_end + 1 + size]
        pos = header_end + 1 + size + 1
        target = workdir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob)
    return workdir, commit


def _wanted(path: str, task_names: set[str]) -> bool:
    parts = path.split("/")
    return len(parts) == 4 and parts[0] == "results" and parts[3].endswith(".json") and parts[3][:-5] in task_names


def _model_and_revision(revision_dir: Path) -> tuple[str, str, str]:
    """Model name, revision and prompts as mteb's loader reads them (model_meta.json, else the path).

    Prompts: the JSON of ``loader_kwargs["model_prompts"]`` when the run passed some; ``"none"``
    when it passed none and the model is marked ``use_instructions: false`` (known absent); ``""``
    when model_meta.json does not tell (mteb's wrapper may still have added instructions).
    """
    meta = revision_dir / "model_meta.json"
    if meta.exists():
        m = json.loads(meta.read_text(encoding="utf-8"))
        given = (m.get("loader_kwargs") or {}).get("model_prompts")
        if given:
            prompts = json.dumps(given, ensure_ascii=False)
        else:
            prompts = "none" if m.get("use_instructions") is False else ""
        return str(m["name"]), str(m["revision"]), prompts
    return revision_dir.parent.name.replace("__", "/"), revision_dir.name, ""


# ---------------------------------------------------------------- extraction


def extract(root: Path, tasks: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Read every task file under ``root/results`` into (scores, subsets, number of partial files).

    A file with no Korean part at all (e.g. STS17 run on other languages only) gives no row; one with
    some but not all of the benchmark's Korean splits and subsets gives ``subsets`` rows only and is
    counted as partial.
    """
    from mteb.results import TaskResult

    rows: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    incomplete = 0
    for path in sorted((root / "results").glob("*/*/*.json")):
        task = tasks.get(path.stem)
        if task is None:
            continue
        model, revision, prompts = _model_and_revision(path.parent)
        source = path.relative_to(root).as_posix()
        raw = TaskResult.from_disk(path)
        splits, subsets = list(task.eval_splits), list(task.hf_subsets)
        n_parts = len(parts)
        for split in splits:
            for entry in raw.scores.get(split, []):
                if entry.get("hf_subset") in subsets:
                    parts.append(
                        {
                            "model": model,
                            "revision": revision,
                            "task": task.metadata.name,
                            "split": split,
                            "subset": entry["hf_subset"],
                            "main_score": float(entry["main_score"]),
                        }
                    )
        has_korean = len(parts) > n_parts
        score = raw.validate_and_filter_scores(task).get_score()
        if score is None or math.isnan(score):
            incomplete += has_korean
            continue
        rows.append(
            {
                "model": model,
                "revision": revision,
                "task": task.metadata.name,
                "task_type": task.metadata.type,
                "in_benchmark": task.metadata.name not in EXTRA_TASKS,
                "split": ";".join(splits),
                "subsets": ";".join(subsets),
                "main_score": round(float(score), DECIMALS),
                "mteb_version": raw.mteb_version or "",
                "dataset_revision": raw.dataset_revision or "",
                "date": dt.datetime.fromtimestamp(raw.date, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                if isinstance(raw.date, (int, float))
                else (raw.date.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if raw.date else ""),
                "model_prompts": prompts,
                "source_file": source,
            }
        )
    scores = pd.DataFrame(rows, columns=SCORE_COLUMNS).sort_values(["model", "revision", "task"], ignore_index=True)
    subs = pd.DataFrame(parts, columns=SUBSET_COLUMNS)
    subs["main_score"] = subs["main_score"].round(DECIMALS)
    subs = subs.sort_values(["model", "revision", "task", "split", "subset"], ignore_index=True)
    return scores, subs, incomplete


def run_extraction(repo: Path) -> tuple[pd.DataFrame, pd.DataFrame, int, str]:
    """Extract from ``repo`` (bare git directory or folder): scores, subsets, incomplete count, commit."""
    logging.getLogger("mteb").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="mteb")
    tasks = korean_tasks()
    with tempfile.TemporaryDirectory(prefix="mteb_kor_") as tmp:
        root, commit = materialise(repo, set(tasks), Path(tmp))
        scores, subsets, incomplete = extract(root, tasks)
    return scores, subsets, incomplete, commit


# ---------------------------------------------------------------- writing and checking


def _header(commit: str, what: str) -> str:
    return (
        f"# {what}\n"
        f"# REPORTED figures from mteb's public results repository {REPO_URL} (licence CC0-1.0),"
        " not measured by ko-embed-lab.\n"
        f"# commit {commit}; extracted {dt.date.today().isoformat()} by scripts/extract_mteb_kor.py;"
        " main_score on a 0-1 scale. See README.md.\n"
    )


def write(scores: pd.DataFrame, subsets: pd.DataFrame, commit: str, out_dir: Path = OUT_DIR) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "scores.csv").open("w", encoding="utf-8", newline="") as f:
        f.write(_header(commit, f"{BENCHMARK}: one figure per model, revision and task, as the benchmark scores it."))
        scores.to_csv(f, index=False, lineterminator="\n")
    with (out_dir / "subsets.csv").open("w", encoding="utf-8", newline="") as f:
        f.write(_header(commit, f"{BENCHMARK}: main score per model, revision, task, split and Korean subset."))
        subsets.to_csv(f, index=False, lineterminator="\n")


def differences(shipped: pd.DataFrame, fresh: pd.DataFrame, keys: list[str]) -> list[str]:
    """Lines describing every shipped figure that is missing from, or differs in, ``fresh``."""
    tol = 0.5 * 10.0**-DECIMALS
    a = shipped.set_index(keys)["main_score"]
    b = fresh.set_index(keys)["main_score"]
    lines = []
    for key, value in a.items():
        if key not in b.index:
            lines.append(f"missing from the repository: {key} (shipped {value})")
        elif abs(float(b[key]) - float(value)) > tol:
            lines.append(f"differs: {key}: shipped {value}, repository {b[key]}")
    return lines


def check(repo: Path, out_dir: Path = OUT_DIR) -> int:
    """Re-extract from ``repo`` and compare with the shipped CSVs; return the exit status."""
    scores, subsets, _, commit = run_extraction(repo)
    lines = []
    for name, fresh, keys in (
        ("scores.csv", scores, ["model", "revision", "task"]),
        ("subsets.csv", subsets, ["model", "revision", "task", "split", "subset"]),
    ):
        shipped = pd.read_csv(out_dir / name, comment="#", dtype={"revision": str})
        lines += [f"{name}: {line}" for line in differences(shipped, fresh, keys)]
    for line in lines:
        print(line)
    print(f"checked {out_dir} against {repo} (commit {commit}): {len(lines)} difference(s)")
    return 1 if lines else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", nargs="?", type=Path, help="copy of embeddings-benchmark/results to extract from")
    parser.add_argument("--check", type=Path, metavar="REPO", help="re-extract from REPO and compare; no writing")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder of the CSV files (default: package data)")
    args = parser.parse_args(argv)
    if args.check is not None:
        return check(args.check, args.out)
    if args.repo is None:
        parser.error("give the path of the results repository, or --check PATH")
    scores, subsets, incomplete, commit = run_extraction(args.repo)
    write(scores, subsets, commit, args.out)
    bench = scores[scores["in_benchmark"]]
    print(
        f"commit {commit}: {scores['model'].nunique()} models, {len(scores.groupby(['model', 'revision']))} revisions,"
        f" {bench['task'].nunique()} benchmark tasks (+{sorted(set(scores['task']) - set(bench['task']))}),"
        f" {len(scores)} figures; {incomplete} result files hold only part of a task's Korean splits/subsets"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
