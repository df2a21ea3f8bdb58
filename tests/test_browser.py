"""Open the built book in headless Chromium: no request leaves the machine, every plotly figure draws.

Needs a built site (``make book``) and Debian's ``chromium`` (``scripts/setup.sh --browser``).
Run with ``make browser-test``; it saves screenshots under ``book/_build/screenshots/``.
"""

from __future__ import annotations

import contextlib
import functools
import html
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from .notebook_runner import CHROMIUM, FLAGS

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "book" / "_build" / "html"
SHOTS = ROOT / "book" / "_build" / "screenshots"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    if not (SITE / "index.html").exists():
        pytest.fail(f"no built site at {SITE}: run `make book` first")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(SITE)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    if CHROMIUM is None:
        pytest.fail("Debian chromium is not installed: run `scripts/setup.sh --browser`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
        yield ctx
        ctx.close()


def _pages() -> list[str]:
    return sorted(
        str(p.relative_to(SITE))
        for p in SITE.rglob("*.html")
        if not p.name.startswith(("genindex", "search")) and "_static" not in p.parts
    )


def test_site_has_the_chapters() -> None:
    pages = _pages()
    assert "intro.html" in pages and "status.html" in pages
    assert any(p.startswith("notebooks/01_") for p in pages)


@pytest.mark.parametrize("page_path", _pages() or ["intro.html"])
def test_page_is_offline_and_figures_draw(site: str, browser, page_path: str) -> None:
    page = browser.new_page()
    outside: list[str] = []
    failed: list[str] = []
    page.on(
        "request",
        lambda r: (
            None
            if urlparse(r.url).hostname in ("127.0.0.1", None) or r.url.startswith(("data:", "blob:", "about:"))
            else outside.append(r.url)
        ),
    )
    page.on("requestfailed", lambda r: failed.append(r.url))
    # HTTP errors by address (the console only says "Failed to load resource: ... 404"). The browser's
    # own favicon request is not a page event: that one shows only as a console error.
    http_errors: list[str] = []
    page.on("response", lambda r: http_errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # Console errors too: "Got invalid theme mode" (an unset default_mode), a missing favicon (404).
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    # The figures a page should draw, counted in the HTML as served (not in the live DOM, which
    # plotly rewrites while it draws).
    n_fig = (SITE / page_path).read_text(encoding="utf-8").count('class="plotly-graph-div"')
    page.goto(f"{site}/{page_path}", wait_until="networkidle")
    count_drawn = "Array.from(document.querySelectorAll('div.plotly-graph-div')).filter(d => d.querySelector('svg.main-svg')).length"
    if n_fig:
        # A timeout is reported by the assertion below, with the counts.
        with contextlib.suppress(Exception):
            page.wait_for_function(f"{count_drawn} >= {n_fig}", timeout=30_000)
    drawn = page.evaluate(count_drawn)
    # Every drawn figure fits its column once the page has settled (a figure drawn wider than the
    # article is cut off; the book refits figures after load, and the layout settles after that).
    count_overflow = (
        "Array.from(document.querySelectorAll('div.plotly-graph-div')).filter(d => {"
        " const s = d.querySelector('svg.main-svg');"
        " return s && parseFloat(s.getAttribute('width')) > d.getBoundingClientRect().width + 2; }).length"
    )
    with contextlib.suppress(Exception):
        page.wait_for_function(f"{count_overflow} == 0", timeout=20_000)
    overflow = page.evaluate(count_overflow)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / (page_path.replace("/", "_").removesuffix(".html") + ".png")), full_page=True)
    page.close()
    assert not outside, f"{page_path} requested outside addresses: {outside[:5]}"
    assert not [u for u in failed if "127.0.0.1" in u], f"{page_path}: local requests failed: {failed[:5]}"
    assert not errors, f"{page_path}: JavaScript errors: {errors[:3]}"
    assert not http_errors, f"{page_path}: local addresses answered with errors: {http_errors[:5]}"
    assert not console, f"{page_path}: console errors: {console[:3]}"
    assert drawn == n_fig, f"{page_path}: {drawn} of {n_fig} plotly figures drew"
    assert overflow == 0, f"{page_path}: {overflow} figures are wider than their column"
    if page_path.startswith("notebooks/"):
        assert n_fig >= 1, f"{page_path} has no figure"


def _pages_using(word: str) -> set[str]:
    """Pages whose article text has ``word`` at the start of a Korean word (as the search indexes it)."""
    found = set()
    for path in _pages():
        text = (SITE / path).read_text(encoding="utf-8")
        article = text[text.find("<article") : text.rfind("</article>")]
        article = re.sub(r"<(script|style)\b.*?</\1>", " ", article, flags=re.S | re.I)
        plain = html.unescape(re.sub(r"<[^>]+>", " ", article))
        if re.search(rf"(?<![\uac00-\ud7a3]){word}", plain):
            found.add(path)
    return found


@pytest.mark.parametrize("word", ["서울", "한국어"])
def test_korean_search_finds_the_pages_that_use_it(site: str, browser, word: str) -> None:
    expected = _pages_using(word)
    assert expected, f"no page uses {word!r}: the check would prove nothing"
    page = browser.new_page()
    page.goto(f"{site}/search.html?q={word}", wait_until="networkidle")
    page.wait_for_function(
        "() => /Search finished/.test((document.querySelector('#search-results') || {}).innerText || '')",
        timeout=30_000,
    )
    hrefs = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.getAttribute('href'))")
    page.close()
    found = {h.split("#")[0].split("?")[0] for h in hrefs}
    assert expected <= found, f"searching {word!r} missed {sorted(expected - found)} (found {sorted(found)})"
