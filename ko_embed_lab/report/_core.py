"""Narrative helpers for the book: sentences and tables computed from results, never typed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..config import TARGET_MODEL, smoke_mode

if TYPE_CHECKING:
    import pandas as pd

    from ..models import EmbeddingModel

__all__ = [
    "Note",
    "ci_sentence",
    "environment_table",
    "fmt",
    "md",
    "model_note",
    "probe_size_sentence",
    "signed",
    "smoke_banner",
]

_TARGET = TARGET_MODEL


def md(text: str) -> Any:
    """Display Markdown from a code cell (an ``IPython.display.Markdown`` object)."""
    from IPython.display import Markdown

    return Markdown(text)


class Note:
    """Markdown that displays itself in a notebook, or displays nothing at all when empty.

    An empty ``IPython.display.Markdown`` still shows its ``repr`` on a built page; an empty
    ``Note`` produces no output, whether it is a cell's last expression or passed to ``display``.
    """

    def __init__(self, text: str = "") -> None:
        self.text = text

    def __bool__(self) -> bool:
        return bool(self.text)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Note({self.text!r})"

    def _ipython_display_(self) -> None:
        if self.text:
            from IPython.display import Markdown, display

            display(Markdown(self.text))


SMOKE_BANNER = (
    "> **This is a smoke run:** sizes are cut down (`KO_EMBED_LAB_SMOKE=1`) so that the tests execute "
    "every chapter in minutes. The numbers below are not this chapter's results, and some figures "
    "degenerate (flat lines, fractional axis ticks). Unset `KO_EMBED_LAB_SMOKE` and run again for the "
    "full sizes.\n>\n"
    "> **스모크 실행입니다.** 테스트가 몇 분 안에 끝나도록 데이터 규모를 줄였습니다. 아래 수치는 이 장의 "
    "실제 결과가 아니며, 일부 그림은 제대로 그려지지 않을 수 있습니다. 전체 규모로 보려면 "
    "`KO_EMBED_LAB_SMOKE`를 해제하고 다시 실행하세요."
)


def smoke_banner(smoke: bool | None = None) -> Note:
    """A note for the top of a chapter saying that this is a smoke run; displays nothing otherwise.

    Args:
        smoke: whether this is a smoke run; None reads ``KO_EMBED_LAB_SMOKE`` (``config.smoke_mode()``).

    Example:
        >>> bool(smoke_banner(smoke=False)), str(smoke_banner(smoke=True))[:26]
        (False, '> **This is a smoke run:**')
    """
    on = smoke_mode() if smoke is None else smoke
    return Note(SMOKE_BANNER if on else "")


def fmt(x: float, digits: int = 3) -> str:
    """Format a metric value."""
    return f"{x:.{digits}f}"


def signed(x: float, digits: int = 3) -> str:
    """Format a difference with its sign (``+0.012``, ``−0.004``)."""
    s = f"{x:+.{digits}f}"
    return s.replace("-", "−")


def model_note(model: EmbeddingModel) -> str:
    """One paragraph saying which model produced a page's numbers, and what that means."""
    ident = model.identity()
    where = f"on `{ident['device']}` in `{ident['dtype']}`, max length {ident['max_seq_length']} tokens"
    if model.is_bundled:
        return (
            f"**Model of this build:** `{model.label}` (sha256 `{ident['source_sha256'][:12]}…`) {where}. "
            "This is the embedded default: a 4-bit copy of `intfloat/multilingual-e5-small` (12 layers, 384-d, "
            "mean pooling, `query: `/`passage: ` prompts, 512-token window), which runs offline on a laptop CPU. "
            f"It is **not** the target model `{_TARGET}`: the numbers below show how each method behaves on a real "
            "Korean retriever, not the target's scores. Build the book with `KO_EMBED_LAB_MODEL` set to see them "
            "for another model."
        )
    rev = f" at revision `{ident['revision'][:12]}`" if ident.get("revision") else ""
    target = " — the target model of this book" if model.label == _TARGET else ""
    return f"**Model of this build:** `{model.label}`{rev}{target}, {where}."


def environment_table(model: EmbeddingModel | None = None) -> pd.DataFrame:
    """Library versions, machine and (optionally) model identity as a two-column table."""
    import pandas as pd

    from ..provenance import provenance

    rec = provenance()
    rows: list[tuple[str, Any]] = [
        ("date (UTC)", rec["date"]),
        ("platform", rec["platform"]),
        ("torch threads", rec.get("torch_threads")),
        ("GPU", rec.get("gpu", "none")),
    ]
    rows += [(name, version or "not installed") for name, version in rec["versions"].items()]
    if model is not None:
        ident = model.identity()
        rows = [(f"model {k}", v) for k, v in ident.items() if k not in ("fingerprint",)] + rows
    return pd.DataFrame(rows, columns=["item", "value"]).set_index("item")


def ci_sentence(stats: Mapping[str, float], metric: str = "NDCG@10") -> str:
    """'+0.012 (95% CI −0.003 to +0.027; 40 better, 31 worse, sign test p = 0.34)'."""
    unit = "needs" if stats.get("unit") == "cluster" else "queries"
    return (
        f"{signed(stats['mean_diff'])} {metric} (95% CI {signed(stats['low'])} to {signed(stats['high'])}; "
        f"{stats['wins']} {unit} better, {stats['losses']} worse, {stats['ties']} unchanged; "
        f"sign test p = {stats['sign_test_p']:.3g})"
    )


def probe_size_sentence(probe: Any, sampled: bool) -> str:
    """'This run uses 384 passages in 8 domains, 128 needs and 555 queries.' (says so when sampled)."""
    return (
        f"This run uses {len(probe.data.corpus)} passages in {probe.passages['domain'].nunique()} domains, "
        f"{len(probe.needs)} needs and {len(probe.data.queries)} queries"
        + (" (a seeded sample: smoke mode)." if sampled else ".")
    )
