"""KO_EMBED_LAB_PROGRESS: one policy for every progress bar."""

from __future__ import annotations

import pytest

from ko_embed_lab import config
from ko_embed_lab.progress import AUTO_DELAY_S, progress


@pytest.mark.parametrize(
    ("value", "mode"), [("", "auto"), ("auto", "auto"), ("on", "on"), ("1", "on"), ("off", "off"), ("0", "off")]
)
def test_progress_mode(monkeypatch: pytest.MonkeyPatch, value: str, mode: str) -> None:
    monkeypatch.setenv("KO_EMBED_LAB_PROGRESS", value)
    assert config.progress_mode() == mode


def test_bad_progress_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KO_EMBED_LAB_PROGRESS", "sometimes")
    with pytest.raises(ValueError, match="auto, on or off"):
        config.progress_mode()


def test_progress_follows_the_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KO_EMBED_LAB_PROGRESS", "auto")
    bar = progress(range(2))
    assert not bar.disable and bar.delay == AUTO_DELAY_S
    bar.close()
    monkeypatch.setenv("KO_EMBED_LAB_PROGRESS", "off")
    assert progress(range(2)).disable
    assert not progress(range(2), show=True).disable  # an explicit choice wins
    monkeypatch.setenv("KO_EMBED_LAB_PROGRESS", "on")
    bar = progress(total=3)
    assert not bar.disable and bar.delay == 0
    bar.close()
