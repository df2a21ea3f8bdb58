"""Build the book: ``python -m ko_embed_lab.book.build [--clean] [--book DIR]``.

Runs ``jupyter-book build`` with warnings as errors (``-W -n --keep-going``) and a failing cell
failing the build. Execution is cached by jupyter-cache, one cache per *model and device*: the
notebooks' code does not change when ``KO_EMBED_LAB_MODEL`` does, so a shared cache would serve
the previous model's outputs. When the model changes, every page is re-read (``--all``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .. import config


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:60] + "-" + hashlib.sha256(text.encode()).hexdigest()[:8]


def check_model() -> str | None:
    """Load the model the book will be built with; return a one-line error, or None when it loads."""
    from ..models import ModelNotAvailableError, load_model

    name = config.default_model_name()
    try:
        load_model(name)
    except (ModelNotAvailableError, OSError, ValueError, TypeError) as exc:
        return f"book: cannot build with model {name!r} (KO_EMBED_LAB_MODEL): " + " ".join(str(exc).split())
    return None


def build(book: Path, *, clean: bool = False, check: bool = True) -> int:
    """Build the book in ``book``; returns jupyter-book's exit status (2 when the model cannot be loaded)."""
    import yaml

    if check:
        problem = check_model()
        if problem:
            print(problem, file=sys.stderr)
            return 2

    book = book.resolve()
    build_dir = book / "_build"
    if clean and build_dir.exists():
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    key = f"{config.default_model_name()}|{config.device_override() or 'auto'}|smoke={config.smoke_mode()}"
    cfg = yaml.safe_load((book / "_config.yml").read_text(encoding="utf-8"))
    cfg.setdefault("execute", {})["cache"] = str(build_dir / f".jupyter_cache-{_slug(key)}")
    generated = build_dir / "_config.generated.yml"
    generated.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    key_file = build_dir / ".build_key"
    changed = key_file.exists() and key_file.read_text(encoding="utf-8") != key
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [
        str(exe) if exe.exists() else "jupyter-book",
        "build",
        str(book),
        "--config",
        str(generated),
        "-W",
        "-n",
        "--keep-going",
    ]
    if changed:
        cmd.append("--all")
    print(f"book: building for {key!r}{' (model changed: re-reading every page)' if changed else ''}", flush=True)
    t0 = time.perf_counter()
    # Progress bars would be executed into the pages as widgets: the book shows none.
    env = {**os.environ, "KO_EMBED_LAB_PROGRESS": "off"}
    rc = subprocess.call(cmd, cwd=book.parent, env=env)
    print(
        f"book: jupyter-book exited {rc} after {time.perf_counter() - t0:.1f} s; site: {build_dir / 'html' / 'index.html'}"
    )
    if rc == 0:
        key_file.write_text(key, encoding="utf-8")
    return rc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--book", default="book", help="book folder (default: book)")
    ap.add_argument("--clean", action="store_true", help="delete the build folder and the execution cache first")
    args = ap.parse_args(argv)
    return build(Path(args.book), clean=args.clean)


if __name__ == "__main__":
    sys.exit(main())
