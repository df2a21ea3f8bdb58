"""kel.report's shared helpers: the smoke banner and the empty-safe Note."""

from __future__ import annotations

import re

import pytest

from ko_embed_lab import report


def _outputs(value: object, *, via_display: bool) -> tuple[str, list[dict]]:
    """What an IPython cell shows for ``value``: captured stdout and the rich outputs."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    shell = InteractiveShell.instance()
    shell.user_ns["value"] = value
    with capture_output() as cap:
        shell.run_cell("display(value)" if via_display else "value", store_history=False)
    # A terminal shell writes its "Out[n]: " prompt before it knows whether anything follows; a
    # kernel sends an execute_result only when there is data. What counts is what follows the prompt.
    stdout = re.sub(r"^Out\[\d+\]: ", "", cap.stdout)
    return stdout.strip(), [o.data for o in cap.outputs]


def test_an_empty_markdown_object_would_show_its_repr() -> None:
    # The fault Note avoids, seen by the same check (so the checks below can fail).
    from IPython.display import Markdown

    stdout, outputs = _outputs(Markdown(""), via_display=False)
    assert "Markdown object" in stdout or outputs


@pytest.mark.parametrize("via_display", [False, True])
def test_banner_off_displays_nothing(monkeypatch: pytest.MonkeyPatch, via_display: bool) -> None:
    monkeypatch.delenv("KO_EMBED_LAB_SMOKE", raising=False)
    banner = report.smoke_banner()
    assert not banner and str(banner) == ""
    stdout, outputs = _outputs(banner, via_display=via_display)
    assert stdout == "" and outputs == []


@pytest.mark.parametrize("via_display", [False, True])
def test_banner_on_displays_markdown(monkeypatch: pytest.MonkeyPatch, via_display: bool) -> None:
    monkeypatch.setenv("KO_EMBED_LAB_SMOKE", "1")
    banner = report.smoke_banner()
    assert banner and "This is a smoke run" in str(banner) and "스모크 실행" in str(banner)
    stdout, outputs = _outputs(banner, via_display=via_display)
    assert stdout == ""
    assert len(outputs) == 1 and "This is a smoke run" in outputs[0]["text/markdown"]


def test_banner_argument_overrides_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KO_EMBED_LAB_SMOKE", "1")
    assert not report.smoke_banner(smoke=False)
    monkeypatch.delenv("KO_EMBED_LAB_SMOKE")
    assert report.smoke_banner(smoke=True)
