"""The demo in a real browser: Playwright drives Debian's headless Chromium through one full session.

Open the app -> pick an example (it loads with its preset click) -> click on the subject in the frame image ->
build the scene graph -> check the mask preview changed, the timeline has relation lanes and the scene-graph JSON
downloads. A screenshot of the final page goes to ``test-artifacts/browser/final_page.png`` (with the app's log
beside it).

Needs the ``playwright`` pip package (requirements-dev.txt; never ``playwright install``: the browser is Debian's,
``apt-get install -y chromium``) and Chromium at ``/usr/bin/chromium`` (or ``$CHROMIUM_PATH``); skips with a
message where either is missing. Run only this test with ``.venv/bin/python -m pytest -q tests/test_app_browser.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [  # no GPU, no sandbox (CI runs as root), and no calls home: this machine's network is closed
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EXAMPLE = "ball_touch"  # examples/manifest.json: preset click (113, 143) on the person's shirt, frame 0
CLICK = (113, 200)  # a second positive click, on the person's legs (pixels of the 480x270 working frame)
GRAPH_LINK = '#downloads tr:has([aria-label="scene_graph.json"]) a, #downloads a[download="scene_graph.json"]'
APP_START_S = 90
EVENT_S = 60  # example load, one click
BUILD_S = 150  # track + discover + relate + export on 2 CPU cores

playwright_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the playwright package is missing: .venv/bin/pip install playwright (the pip package only; "
    "the browser is Debian's chromium, never `playwright install`)",
)
pytest.importorskip("gradio", reason="gradio is missing: .venv/bin/pip install -r requirements.txt")
if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
    pytest.skip(
        f"Chromium not found at {CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)", allow_module_level=True
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url():
    """``python app.py`` on a free localhost port; yields its URL once it answers, stops it afterwards."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = dict(
        os.environ,
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_SERVER_PORT=str(port),
        GRADIO_ANALYTICS_ENABLED="False",
        PYTHONUNBUFFERED="1",
    )
    log_path = ARTIFACTS / "app.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + APP_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"app.py exited with code {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"app.py did not answer at {url} within {APP_START_S} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def page(app_url):
    profile = tempfile.mkdtemp(prefix="click2graph-chromium-")
    try:
        with playwright_api.sync_playwright() as p:
            context = p.chromium.launch_persistent_context(  # a new, empty profile (--user-data-dir)
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": 1400, "height": 1000},
                accept_downloads=True,
            )
            page = context.new_page()
            page.set_default_timeout(EVENT_S * 1000)
            page.goto(app_url)
            yield page
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _pick_example(page, name: str) -> None:
    """Select ``name`` in #example-picker, a gr.Dropdown (combobox) or a gr.Radio."""
    picker = page.locator("#example-picker")
    picker.wait_for()
    if picker.locator("input[type=radio]").count():
        picker.locator("label").filter(has_text=name).first.click()
        return
    picker.locator("input").first.click()
    page.get_by_role("option", name=name, exact=True).click()


def _frame_src(page) -> str | None:
    img = page.locator("#frame-image img")
    return img.first.get_attribute("src") if img.count() else None


BUSY_JS = """() => [...document.querySelectorAll('[data-testid=status-tracker]')].some(
    t => !t.classList.contains('hide') && t.offsetParent !== null && !t.querySelector('.error'))"""
ERRORS_JS = """() => [...document.querySelectorAll('[data-testid=toast-body].error')].map(t => t.innerText.trim())"""


def _wait_idle(page, timeout_s: float, errors: list[str], quiet_s: float = 1.5) -> None:
    """Wait until no Gradio event has been pending or running for ``quiet_s`` (every status tracker hidden or
    showing an error); error toasts seen meanwhile are added to ``errors``.

    The quiet period covers chained events (``.then``/``.success``), which start a moment after the first ends.
    """
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    while True:
        busy = page.evaluate(BUSY_JS)
        errors.extend(e for e in page.evaluate(ERRORS_JS) if e not in errors)
        now = time.monotonic()
        quiet_since = None if busy else (quiet_since or now)
        if quiet_since is not None and now - quiet_since >= quiet_s:
            return
        if now > deadline:
            raise AssertionError(f"the app was still busy after {timeout_s} s (errors shown: {errors})")
        time.sleep(0.25)


def _click_image_pixel(page, x: float, y: float) -> None:
    """Click the frame image where Gradio's select event reports pixel (x, y) of the image.

    Inverse of Gradio's ``get_coordinates_of_clicked_image``: the image is drawn with ``object-fit: contain``,
    so it is scaled by the larger of the two ratios and centred along the other axis.
    """
    img = page.locator("#frame-image img").first
    img.scroll_into_view_if_needed()
    box = img.bounding_box()
    natural = img.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    scale = max(natural[0] / box["width"], natural[1] / box["height"])
    off_x = (box["width"] - natural[0] / scale) / 2
    off_y = (box["height"] - natural[1] / scale) / 2
    page.mouse.click(box["x"] + off_x + x / scale, box["y"] + off_y + y / scale)


def _graph_href(page) -> str | None:
    link = page.locator(GRAPH_LINK)
    return link.first.get_attribute("href") if link.count() else None


def _timeline_traces(page) -> list[dict]:
    return page.evaluate(
        """() => {
            const plot = document.querySelector('#timeline-plot .js-plotly-plot');
            return plot && plot.data ? plot.data.map(t => ({type: t.type, y: t.y, x: t.x})) : [];
        }"""
    )


def test_example_click_build_download_in_chromium(page):
    started = time.monotonic()
    errors: list[str] = []  # error toasts the app showed on the way (reported, not failed on: see the end)
    try:
        # 1. Example: its first frame appears in the frame image with the preset click's mask preview.
        _pick_example(page, EXAMPLE)
        page.wait_for_function(
            "() => { const i = document.querySelector('#frame-image img');"
            " return i && i.complete && i.naturalWidth > 0; }"
        )
        _wait_idle(page, BUILD_S, errors)  # an example may also build at once, updating the frame image again
        before_src = _frame_src(page)
        before_png = page.locator("#frame-image img").first.screenshot()
        assert before_src

        # 2. A click on the subject: the server answers with a new mask preview.
        _click_image_pixel(page, *CLICK)
        page.wait_for_function(
            "src => { const i = document.querySelector('#frame-image img');"
            " return i && i.getAttribute('src') !== src && i.complete && i.naturalWidth > 0; }",
            arg=before_src,
        )
        _wait_idle(page, EVENT_S, errors)
        after_src = _frame_src(page)
        assert after_src != before_src, "the frame image did not change after the click (no new mask preview)"
        assert page.locator("#frame-image img").first.screenshot() != before_png, (
            "the frame image's pixels did not change after the click"
        )

        # 3. Build. An example may already show a result, so wait for a new scene_graph.json download link (the
        #    click changes the graph's prompts, so its file and URL change), then for the page to settle.
        before_href = _graph_href(page)
        page.locator("#build-button").click()
        page.wait_for_function(
            f"before => {{ const a = document.querySelector({json.dumps(GRAPH_LINK)});"
            " return a && a.getAttribute('href') && a.getAttribute('href') !== before; }",
            arg=before_href,
            timeout=BUILD_S * 1000,
        )
        _wait_idle(page, BUILD_S, errors)
        # the timeline plot has at least one relation lane (a horizontal bar trace), drawn
        bars = [t for t in _timeline_traces(page) if t["type"] == "bar"]
        lanes = {lane for t in bars for lane in (t["y"] or [])}
        assert bars and lanes, f"no relation lane in the timeline: {_timeline_traces(page)}"
        assert page.locator("#timeline-plot .js-plotly-plot g.barlayer path").count() >= 1, (
            "the timeline has bar traces but no bar was drawn"
        )

        # 4. Downloads: scene_graph.json is listed, downloads, and is the scene graph.
        names = page.locator("#downloads td.filename, #downloads a[download]")
        names.first.wait_for()
        listed = {n.get_attribute("aria-label") or n.get_attribute("download") for n in names.all()}
        assert "scene_graph.json" in listed, (
            f"scene_graph.json is not in the downloads list: {sorted(map(str, listed))}"
        )
        link = page.locator(GRAPH_LINK).first
        with page.expect_download() as download_info:
            link.click()
        download = download_info.value
        assert download.suggested_filename == "scene_graph.json"
        graph = json.loads(Path(download.path()).read_text())
        assert isinstance(graph.get("relations"), list) and graph["relations"], (
            f"scene_graph.json has no relations: keys {sorted(graph)}"
        )
        assert graph.get("objects"), "scene_graph.json has no objects"
        clicks = [
            (p.get("x"), p.get("y"))
            for o in graph["objects"]
            for p in o.get("prompts") or []
            if isinstance(p, dict) and p.get("type", "click") == "click"
        ]
        assert any(abs(x - CLICK[0]) <= 2 and abs(y - CLICK[1]) <= 2 for x, y in clicks if x is not None), (
            f"the downloaded graph was not built from the browser click at {CLICK}: prompts {clicks}"
        )
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "final_page.png"), full_page=True)
    elapsed = time.monotonic() - started
    if errors:  # the session recovered (every check above passed) but the app showed errors on the way
        warnings.warn(f"the app showed error notices during the browser session: {errors}", stacklevel=1)
    print(f"browser session: {elapsed:.1f} s, {len(lanes)} relation lanes, {len(graph['relations'])} relations")
