"""JupyterLab through a real browser: the way in that ``make lab`` offers, driven like a user would.

Starts JupyterLab headless on 127.0.0.1 with the repository's settings (``.jupyter/``) on a copy of
``notebooks/`` in smoke mode, opens chapter 1 by double-click in headless Debian chromium (Playwright),
runs all its cells through the menu, saves, and checks: no error output, every plotly figure
drawn without plotly's logo link, no request off 127.0.0.1, the MyST source byte-identical, the
outputs kept in the paired ``.ipynb``. Then ``explore.md``: the playground answers a typed Korean
query and the map lists a point's neighbours. Screenshots go to ``book/_build/lab-screenshots/``.

Run with ``make lab-test`` (needs ``scripts/setup.sh --browser`` for chromium); as root or not.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from .notebook_runner import CHROMIUM, FLAGS

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "book" / "_build" / "lab-screenshots"
RUN_TIMEOUT_MS = 900_000
KOREAN_QUERY = "서울의 인구는 얼마인가요?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("lab-notebooks")
    for src in [*ROOT.glob("notebooks/*.md"), ROOT / "notebooks" / "jupytext.toml"]:
        shutil.copy(src, root / src.name)
    port, token = _free_port(), "kel-lab-test"
    env = {
        **os.environ,
        "KO_EMBED_LAB_SMOKE": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "JUPYTER_RUNTIME_DIR": str(tmp_path_factory.mktemp("runtime")),
    }
    log = (root.parent / "jupyterlab.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab",
            f"--config={ROOT / '.jupyter' / 'jupyter_server_config.py'}",
            f"--ServerApp.root_dir={root}", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", "--no-browser",
            # A fresh workspace and user settings: nothing restored from an earlier session.
            f"--LabApp.workspaces_dir={tmp_path_factory.mktemp('workspaces')}",
            f"--LabApp.user_settings_dir={tmp_path_factory.mktemp('user-settings')}",
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.time() > deadline:
                pytest.fail(f"JupyterLab did not start: {(root.parent / 'jupyterlab.log').read_text()[-3000:]}")
            time.sleep(1)
        yield {"base": base, "token": token, "root": root, "log": root.parent / "jupyterlab.log"}
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _step(what: str) -> None:
    print(f"[lab-test {time.strftime('%H:%M:%S')}] {what}", flush=True)


@pytest.fixture(scope="module")
def page(lab: dict, tmp_path_factory: pytest.TempPathFactory):
    if CHROMIUM is None:
        pytest.fail("Debian chromium is not installed: run `scripts/setup.sh --browser`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM, headless=True, args=FLAGS, viewport={"width": 1500, "height": 1000},
        )  # fmt: skip
        pg = ctx.new_page()
        pg.outside = []  # type: ignore[attr-defined]
        pg.errors = []  # type: ignore[attr-defined]

        def on_request(r) -> None:
            if urlparse(r.url).hostname not in ("127.0.0.1", None) and not r.url.startswith(
                ("data:", "blob:", "about:")
            ):
                pg.outside.append(r.url)  # type: ignore[attr-defined]

        pg.on("request", on_request)
        pg.on("pageerror", lambda e: pg.errors.append(str(e)))  # type: ignore[attr-defined]
        pg.goto(f"{lab['base']}/lab?token={lab['token']}", wait_until="domcontentloaded")
        pg.wait_for_selector(".jp-DirListing-content", timeout=120_000)
        try:
            yield pg
        finally:
            SHOTS.mkdir(parents=True, exist_ok=True)
            pg.screenshot(path=str(SHOTS / "last-state.png"))
            ctx.close()


def _open_by_double_click(page, name: str) -> None:
    page.locator(".jp-DirListing-content").get_by_text(name, exact=True).dblclick()
    # The new tab is the current one, and its kernel is up (the toolbar's indicator says idle).
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current", has_text=name).wait_for(timeout=60_000)
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell", timeout=60_000)
    _accept_kernel_dialog(page, wait_ms=3_000)
    page.wait_for_selector(
        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=180_000
    )
    _accept_kernel_dialog(page)


def _accept_kernel_dialog(page, wait_ms: int = 0) -> None:
    """Accept JupyterLab's "Select Kernel" dialog with its preselected Python 3, if it is open.

    JupyterLab asks when the notebook opened before it had listed the kernel specs (a race seen on
    a fresh environment's first start); a user presses "Select", and so does the test.
    """
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    if wait_ms:
        with contextlib.suppress(Exception):
            dialog.wait_for(timeout=wait_ms)
    if dialog.count():
        _step("JupyterLab asked which kernel to start: accepting its preselected one")
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        dialog.wait_for(state="detached", timeout=30_000)


def _close_current_tab(page) -> None:
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon").click()
    with contextlib.suppress(Exception):  # outputs redrawn since the save may ask to save again
        page.locator(".jp-Dialog .jp-Dialog-button", has_text="Discard").click(timeout=3_000)
    page.wait_for_function("() => !document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)')", timeout=30_000)


ALL_RAN = """() => {
    const prompts = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt')];
    return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""


STARTED = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt')]
    .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""


def _run_all(page) -> None:
    # Run > Run All Cells; a run asked for while the kernel is still connecting can be dropped: ask again.
    for _ in range(6):
        _accept_kernel_dialog(page)
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()
        with contextlib.suppress(Exception):
            page.wait_for_function(STARTED, timeout=20_000)
            break
    # Done when every code cell of the visible notebook shows an execution count; a screenshot
    # of the latest state is kept while waiting, for a run that stalls.
    deadline = time.time() + RUN_TIMEOUT_MS / 1000
    while not page.evaluate(ALL_RAN):
        if time.time() > deadline:
            pytest.fail("the cells did not all run: see lab-screenshots/running.png")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "running.png"))
        page.wait_for_timeout(5_000)


def _save(page, pair: Path) -> dict:
    before = pair.stat().st_mtime if pair.exists() else 0.0
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first.click()
    page.keyboard.press("Control+s")
    deadline = time.time() + 60
    while not (pair.exists() and pair.stat().st_mtime > before):
        assert time.time() < deadline, f"saving did not write {pair.name}"
        time.sleep(0.5)
    time.sleep(1)
    return json.loads(pair.read_text(encoding="utf-8"))


def _errors(nb: dict) -> list[str]:
    return [
        f"{o.get('ename')}: {o.get('evalue')}"
        for c in nb["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]


def _n_figures(nb: dict) -> int:
    return sum(
        "application/vnd.plotly.v1+json" in o.get("data", {})
        for c in nb["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
    )


COUNT_DRAWN = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .js-plotly-plot')]
    .filter(d => d.querySelector('svg.main-svg')).length"""


def test_chapter_runs_through_the_ui_and_saving_keeps_its_source(lab: dict, page) -> None:
    name = "01_query_prompt.md"
    t0 = time.time()
    _open_by_double_click(page, name)
    assert page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").count() == 1, "the chapter did not open as a notebook"
    _step("chapter 1 open; running all cells")
    _run_all(page)
    _step("ran; saving")
    nb = _save(page, lab["root"] / "01_query_prompt.ipynb")
    _step("saved")
    print(f"chapter 1 ran through the UI in {time.time() - t0:.0f} s")
    assert not _errors(nb), _errors(nb)
    assert (lab["root"] / name).read_bytes() == (ROOT / "notebooks" / name).read_bytes(), "saving changed the source"
    n_fig = _n_figures(nb)
    assert n_fig >= 1
    page.wait_for_function(f"() => ({COUNT_DRAWN})() >= {n_fig}", timeout=60_000)
    assert page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .modebar-btn--logo").count() == 0, "plotly logo link"
    assert page.locator(".kel-playground-static mark").count() > 0, "the static playground shows no highlight"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .js-plotly-plot").nth(1).scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "chapter1-with-outputs.png"))
    page.locator(".kel-playground-static").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "chapter1-static-playground.png"))
    assert not page.outside, f"requests off 127.0.0.1: {page.outside[:5]}"


def test_playground_answers_a_korean_query_and_the_map_lists_neighbours(lab: dict, page) -> None:
    t0 = time.time()
    if page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").count():
        _close_current_tab(page)
    _open_by_double_click(page, "explore.md")
    _step("explore.md open; running all cells")
    _run_all(page)
    _step("ran; typing a query")
    print(f"explore.md ran through the UI in {time.time() - t0:.0f} s")
    box = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .kel-query input")
    box.fill(KOREAN_QUERY)
    box.press("Enter")
    results = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .kel-results")
    results.locator("mark").first.wait_for(timeout=120_000)
    assert results.locator("th").count() == 3, "model, BM25 and fusion side by side"
    assert KOREAN_QUERY in results.inner_text()
    results.scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .kel-playground").screenshot(path=str(SHOTS / "playground.png"))
    explorer = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .kel-map-explorer")
    options = explorer.locator("select option")
    query_option = next(i for i in range(options.count()) if options.nth(i).inner_text().startswith("query"))
    explorer.locator("select").select_option(index=query_option)
    explorer.locator(".kel-neighbours").wait_for(timeout=60_000)
    page.wait_for_function(f"() => ({COUNT_DRAWN})() >= 1", timeout=60_000)
    explorer.scroll_into_view_if_needed()
    explorer.screenshot(path=str(SHOTS / "embedding-map.png"))
    nb = _save(page, lab["root"] / "explore.ipynb")
    assert not _errors(nb), _errors(nb)
    assert (lab["root"] / "explore.md").read_bytes() == (ROOT / "notebooks" / "explore.md").read_bytes()
    assert not page.outside, f"requests off 127.0.0.1: {page.outside[:5]}"
    assert not page.errors, f"JavaScript errors: {page.errors[:3]}"
