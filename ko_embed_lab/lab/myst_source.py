"""Keep a chapter's MyST source byte-identical when JupyterLab saves it without a real edit.

Jupytext writes a notebook back in its own form: the code-cell lexer is the kernel's
(``ipython3``), nested cell metadata becomes a YAML block, the header gets the kernel's display
name. Our chapters use ``python``, the ``:mystnb:`` option form and a fixed header, so a save
after merely running the chapter would rewrite many lines. :func:`keep_source` merges what
jupytext wrote into the file on disk cell by cell: a cell whose type, source and metadata are
unchanged keeps its text from the file verbatim, so only the cells the user edited change (written
with the file's lexer), and the header is the file's own.
"""

from __future__ import annotations

import difflib
import itertools
import json
import re

__all__ = ["cell_keys", "keep_source", "split_myst"]

_FENCE = re.compile(r"^(`{3,}|~{3,})\{(code-cell|raw-cell)\}\s*(\S*)")
_BREAK = re.compile(r"^\+\+\+(\s.*)?$")


def _header_end(lines: list[str]) -> int:
    """Index of the first line after the YAML front matter (0 when there is none)."""
    if not lines or lines[0].rstrip("\r\n") != "---":
        return 0
    for i in range(1, len(lines)):
        if lines[i].rstrip("\r\n") == "---":
            return i + 1
    return 0


def split_myst(text: str) -> tuple[str, list[str]]:
    """Split a MyST notebook into its header and one text chunk per cell.

    A chunk runs from its cell's first line to the next cell's first line (trailing blank lines
    included), so that ``header + "".join(chunks) == text``. Blank lines before the first cell
    are part of the header.

    Example:
        >>> split_myst("---\\na: 1\\n---\\n\\n# T\\n\\n```{code-cell} python\\n1\\n```\\n")
        ('---\\na: 1\\n---\\n\\n', ['# T\\n\\n', '```{code-cell} python\\n1\\n```\\n'])
    """
    lines = text.splitlines(keepends=True)
    i = _header_end(lines)
    while i < len(lines) and not lines[i].strip():
        i += 1
    header = "".join(lines[:i])
    starts: list[int] = []
    in_code: str | None = None
    in_markdown = False
    for j in range(i, len(lines)):
        line = lines[j].rstrip("\r\n")
        if in_code is not None:
            if line.strip() == in_code:
                in_code = None
            continue
        m = _FENCE.match(line)
        if m:
            starts.append(j)
            in_code, in_markdown = m.group(1), False
        elif _BREAK.match(line) or (line.strip() and not in_markdown):
            starts.append(j)
            in_markdown = True
    bounds = [*starts, len(lines)]
    return header, ["".join(lines[a:b]) for a, b in itertools.pairwise(bounds)]


def _lexer(chunks: list[str]) -> str | None:
    for c in chunks:
        m = _FENCE.match(c)
        if m and m.group(2) == "code-cell":
            return m.group(3) or None
    return None


def cell_keys(text: str) -> list[str]:
    """What identifies each cell of a MyST notebook: type, source and metadata (via jupytext)."""
    import jupytext

    nb = jupytext.reads(text, fmt="md:myst")
    return [json.dumps([c.cell_type, c.source, c.metadata], sort_keys=True, ensure_ascii=False) for c in nb.cells]


def _is_myst(header: str) -> bool:
    return "format_name: myst" in header


def keep_source(old: str, new: str) -> str:
    """The text to save: ``new`` (jupytext's rendering) merged into ``old`` (the file on disk).

    Unchanged cells keep their text from ``old``, changed and new cells come from ``new`` with
    ``old``'s code-cell lexer, and the header is ``old``'s. When either text is not a MyST
    notebook, or the merge would not read back as ``new``'s cells, ``new`` is returned as is.

    Example:
        >>> old = "---\\njupytext: {text_representation: {format_name: myst}}\\n---\\n\\n```{code-cell} python\\n1\\n```\\n"
        >>> keep_source(old, old.replace("{code-cell} python", "{code-cell} ipython3")) == old
        True
    """
    old_header, old_chunks = split_myst(old)
    new_header, new_chunks = split_myst(new)
    if not (_is_myst(old_header) and _is_myst(new_header)):
        return new
    try:
        old_keys, new_keys = cell_keys(old), cell_keys(new)
    except Exception:  # a file that jupytext cannot read is written as the user's tools made it
        return new
    if len(old_keys) != len(old_chunks) or len(new_keys) != len(new_chunks):
        return new
    lexer, new_lexer = _lexer(old_chunks), _lexer(new_chunks)
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=old_keys, b=new_keys, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            out += old_chunks[a0:a1]
            continue
        for chunk in new_chunks[b0:b1]:
            m = _FENCE.match(chunk)
            if m and lexer and new_lexer and m.group(3) == new_lexer:
                chunk = chunk[: m.start(3)] + lexer + chunk[m.end(3) :]
            out.append(chunk)
    # Cells now followed by another one are separated by a blank line; the file ends as the old one did.
    out = [c if c.endswith("\n\n") else c.rstrip("\n") + "\n\n" for c in out[:-1]] + out[-1:]
    if out and old_chunks and out[-1] is not old_chunks[-1]:
        out[-1] = out[-1].rstrip("\n") + "\n"
    merged = old_header + "".join(out)
    try:
        ok = cell_keys(merged) == new_keys
    except Exception:
        ok = False
    return merged if ok else new
