"""What the target model card says about its training set-up: loss, batch size, batch sampler, clustering.

The chapter compares its own set-up with the card's; these quotes are read from the card text
shipped with the package (``data/reported/model_card.txt``), not typed into the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CardSetup", "card_setup"]


@dataclass(frozen=True)
class CardSetup:
    """The training set-up as the card states it.

    Attributes:
        loss_line: The card's line naming the loss (Markdown links and code tags removed).
        loss_parameters_given: Whether any parameter follows that line (the card may leave it empty).
        batch_sizes: Every ``per_device_train_batch_size`` the card lists, in order of appearance.
        batch_sampler: The card's ``batch_sampler`` (``None`` when not stated).
        clustering: The card's lines about clustering the batches (bullets of its clustering item).
    """

    loss_line: str | None
    loss_parameters_given: bool
    batch_sizes: tuple[int, ...]
    batch_sampler: str | None
    clustering: tuple[str, ...]


def _plain(line: str) -> str:
    line = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line)  # [text](url) -> text
    line = re.sub(r"</?code>", "", line)
    return re.sub(r"\s+", " ", line.strip().lstrip("*-").strip())


def card_setup(text: str | None = None) -> CardSetup:
    """Read the training set-up from the model card's text (default: the card shipped with the package).

    Example:
        >>> s = card_setup()
        >>> s.batch_sizes, s.batch_sampler, s.loss_parameters_given
        ((20000, 10000), 'no_duplicates', False)
    """
    if text is None:
        from ..benchmark.card import card_text_path

        text = card_text_path().read_text(encoding="utf-8")
    lines = text.splitlines()
    loss_line = None
    given = False
    for i, line in enumerate(lines):
        if re.match(r"\s*\*\s*Loss:", line):
            loss_line = _plain(line)
            nxt = next((x for x in lines[i + 1 :] if x.strip()), "")
            given = not nxt.lstrip().startswith("#")  # the next non-empty line is a heading: no parameters
            break
    sizes = tuple(int(m) for m in re.findall(r"`per_device_train_batch_size`:\s*(\d+)", text))
    sampler = re.search(r"`batch_sampler`:\s*(\S+)", text)
    clustering: list[str] = []
    for i, line in enumerate(lines):
        if re.search(r"clustering without hard negatives", line, re.IGNORECASE):
            for x in lines[i + 1 :]:
                if re.match(r"\s*\d+\.\s", x):  # the next numbered item
                    break
                if re.match(r"\s+-\s", x) and not re.search(r"inspired by|^\s+- \*", x):
                    clustering.append(_plain(x))
            break
    return CardSetup(
        loss_line=loss_line,
        loss_parameters_given=given,
        batch_sizes=sizes,
        batch_sampler=sampler.group(1) if sampler else None,
        clustering=tuple(clustering),
    )
