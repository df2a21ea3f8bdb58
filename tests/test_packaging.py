"""The README's commands, environment.yml and pyproject.toml agree."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```(?:bash|sh|console)?\n(.*?)```", text, re.S)
    assert block, "README.md has no fenced code block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_first_block_has_exactly_two_commands() -> None:
    cmds = _readme_commands()
    assert len(cmds) == 2, cmds
    assert "book" in cmds[0] and "test" in cmds[1]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _readme_commands()[1] in ci


def _names(reqs: list[str]) -> set[str]:
    out = set()
    for r in reqs:
        name = re.split(r"[<>=!~;\[ ]", r.strip(), maxsplit=1)[0].lower().replace("_", "-")
        if name:
            out.add(name)
    return out


def test_environment_yml_installs_what_pyproject_declares() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    pip_items = [p for p in pip_section if not p.startswith("-e")]
    editable = [p for p in pip_section if p.startswith("-e")]
    assert editable and "[" in editable[0], "environment.yml installs the package itself with its extras"
    extras = set(re.search(r"\[(.*)\]", editable[0]).group(1).split(","))
    assert extras == {"book", "dev", "mteb", "lab", "cpu-backends", "scale"}
    assert extras <= set(pyproject["project"]["optional-dependencies"])
    # torch is pinned the same way in both places.
    assert "torch==2.13.0" in pip_items
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert "torch==2.13.0" in setup
    conda_names = _names([d for d in env["dependencies"] if isinstance(d, str)])
    assert "python" in conda_names  # everything else comes through the editable install of the package


def _third_party_imports() -> set[str]:
    import ast
    import sys

    found = set()
    for path in (ROOT / "ko_embed_lab").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "ko_embed_lab"}


def test_every_package_import_is_declared() -> None:
    # A module the package imports but pyproject does not declare works here by accident and fails
    # on a fresh machine.
    from importlib.metadata import packages_distributions

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = _names(pyproject["project"]["dependencies"])
    for extra in pyproject["project"]["optional-dependencies"].values():
        declared |= _names(extra)
    dists = packages_distributions()
    missing = {}
    for module in _third_party_imports():
        names = {d.lower().replace("_", "-") for d in dists.get(module, [])}
        if not names & declared:
            missing[module] = sorted(names) or ["(not installed)"]
    assert missing == {}
