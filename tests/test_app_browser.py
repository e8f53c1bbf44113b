"""The demo in a real browser: Playwright drives Debian's headless Chromium through one full session.

Open the app -> pick an example (it loads with its preset click) -> click on the subject in the frame image ->
build the scene graph (the tracking timeline streams in meanwhile) -> check the mask preview changed, the timeline
has relation lanes and the scene-graph JSON downloads; then the other paths a visitor takes: scrub the example, a
refused action (one notice, every panel keeps its content), relabel + a click + undo + Build (the result is reused,
the label kept), Reset -> click -> Build. Any error notice the app shows unasked fails the test. Screenshots go to
``test-artifacts/browser/`` (with the app's log beside them).

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
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from click2graph.viz import entity_color
from click2graph.viz.timeline import figure_height

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
WORK_SIZE = (480, 270)  # its working frames (the prompt image is sent larger, see demo.views.display_scale)
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
    """Pick the card of example ``name`` in the example gallery."""
    from click2graph.examples import load_examples

    title = next(e.title or e.name for e in load_examples() if e.name == name)
    gallery = page.locator("#example-gallery")
    gallery.wait_for()
    gallery.locator("button").filter(has_text=title).first.click()


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
    """Click the frame image at working pixel (x, y) of the example: Gradio's select event reports the pixel of
    the image as sent, which is the working frame scaled by WORK_SIZE -> the image's natural size.

    Inverse of Gradio's ``get_coordinates_of_clicked_image``: the image is drawn with ``object-fit: contain``,
    so it is scaled by the larger of the two ratios and centred along the other axis.
    """
    img = page.locator("#frame-image img").first
    img.scroll_into_view_if_needed()
    box = None
    for _ in range(20):  # wait until the image has stopped moving (a new frame or a panel above may reflow it)
        time.sleep(0.2)
        box, previous = img.bounding_box(), box
        if box == previous:
            break
    natural = img.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    x, y = (x + 0.5) * natural[0] / WORK_SIZE[0] - 0.5, (y + 0.5) * natural[1] / WORK_SIZE[1] - 0.5
    scale = max(natural[0] / box["width"], natural[1] / box["height"])
    off_x = (box["width"] - natural[0] / scale) / 2
    off_y = (box["height"] - natural[1] / scale) / 2
    page.mouse.click(box["x"] + off_x + x / scale, box["y"] + off_y + y / scale)


def _graph_href(page) -> str | None:
    link = page.locator(GRAPH_LINK)
    return link.first.get_attribute("href") if link.count() else None


STREAMED_JS = """() => [...document.querySelectorAll('#timeline-plot .gtitle')].some(
    t => t.textContent.includes('Tracked so far'))"""


def _build_until_a_new_graph(page, errors: list[str], *, streamed: bool = False) -> None:
    """Press Build and wait for a new scene_graph.json download link (its URL changes with the graph: a shown
    result may be there already), then for the page to settle. ``streamed``: first see the tracking timeline
    that fills in while the build works."""
    before_href = _graph_href(page)
    page.locator("#build-button").click()
    if streamed:
        page.wait_for_function(STREAMED_JS, timeout=BUILD_S * 1000)
        _shot(page, "streaming.png")
    page.wait_for_function(
        f"before => {{ const a = document.querySelector({json.dumps(GRAPH_LINK)});"
        " return a && a.getAttribute('href') && a.getAttribute('href') !== before; }",
        arg=before_href,
        timeout=BUILD_S * 1000,
    )
    _wait_idle(page, BUILD_S, errors)


def _timeline_traces(page) -> list[dict]:
    return page.evaluate(
        """() => {
            const plot = document.querySelector('#timeline-plot .js-plotly-plot');
            return plot && plot.data ? plot.data.map(t => ({type: t.type, y: t.y, x: t.x})) : [];
        }"""
    )


def test_example_click_build_download_in_chromium(page):
    started = time.monotonic()
    errors: list[str] = []  # error toasts the app showed on the way: any fails the test (see the end)
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
        # a mask is drawn: a subject pixel beside the click marker is tinted towards an entity's colour (the app
        # runs the real weight-free backend, so which entity covers it there is its business)
        x, y, raw = _subject_pixel_near_the_preset_click()
        drawn = np.asarray(page.evaluate(PIXEL_JS, [x, y, *WORK_SIZE]), float)
        colours = [np.asarray(entity_color(i), float) for i in range(1, 9)]
        assert np.abs(drawn - raw).sum() > 40 and any(
            np.linalg.norm(drawn - c) < np.linalg.norm(raw - c) for c in colours
        ), f"no mask drawn at subject pixel ({x}, {y}): frame {raw}, shown {drawn}"

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

        # 3. Build (the click changed the prompts, so a new graph and a new download link come); the tracks
        # stream in meanwhile.
        _build_until_a_new_graph(page, errors, streamed=True)
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
    assert not errors, f"the app showed error notices during the browser session: {errors}"
    print(f"browser session: {elapsed:.1f} s, {len(lanes)} relation lanes, {len(graph['relations'])} relations")


PIXEL_JS = """([x, y, w, h]) => {
    const i = document.querySelector('#frame-image img');
    x = Math.floor((x + 0.5) * i.naturalWidth / w); y = Math.floor((y + 0.5) * i.naturalHeight / h);
    const c = document.createElement('canvas');
    c.width = i.naturalWidth; c.height = i.naturalHeight;
    const g = c.getContext('2d'); g.drawImage(i, 0, 0);
    return Array.from(g.getImageData(x, y, 1, 1).data.slice(0, 3));
}"""
STATUS_ERRORS_JS = """() => [...document.querySelectorAll('[data-testid=status-tracker]')]
    .filter(t => t.offsetParent !== null && t.querySelector('.error'))
    .map(t => t.closest('[id]') ? t.closest('[id]').id : '?')"""


def _subject_pixel_near_the_preset_click() -> tuple[int, int, np.ndarray]:
    """A pixel well inside the example's subject, 8-14 px below its preset click (beyond the click marker, away
    from the label tags drawn above masks), and its colour in the decoded clip."""
    from click2graph import synth
    from click2graph.examples import load_examples
    from click2graph.video import load_video

    example = next(e for e in load_examples() if e.name == EXAMPLE)
    inside = ndimage.binary_erosion(synth.render_clip(EXAMPLE).labels[0] == 1, iterations=3)
    ys, xs = np.nonzero(inside)
    distance = np.hypot(xs - example.click[0], ys - example.click[1])
    k = int(np.flatnonzero((distance >= 8) & (distance <= 14) & (ys > example.click[1] + 6))[0])
    frame = load_video(example.path).frames[0]
    return int(xs[k]), int(ys[k]), frame[ys[k], xs[k]].astype(float)


def _subject_pixel_on(frame: int) -> tuple[int, int]:
    """The example subject's deepest pixel on a working frame (the synthetic clip's labels are its truth)."""
    from click2graph import synth
    from click2graph.masks import deepest_pixel

    return deepest_pixel(synth.render_clip(EXAMPLE).labels[frame] == 1)


def _text(page, selector: str) -> str:
    return page.locator(selector).first.inner_text()


def _set_frame(page, frame: int, errors: list[str]) -> None:
    box = page.locator("#frame-slider input[type=number]").first
    before = _frame_src(page)
    box.fill(str(frame))
    box.press("Enter")
    page.wait_for_function(
        "src => { const i = document.querySelector('#frame-image img'); return i && i.getAttribute('src') !== src; }",
        arg=before,
    )
    _wait_idle(page, EVENT_S, errors)


def _fill(page, selector: str, value: str) -> None:
    page.locator(f"{selector} textarea, {selector} input").first.fill(value)


def _table_text(page) -> str:
    """The entity table's text ('' while the result cells are hidden)."""
    return page.evaluate("() => { const t = document.querySelector('#entity-table'); return t ? t.innerText : ''; }")


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_visitor_paths_in_chromium(page):
    """Continues the first test's page: scrub, relabel, click + undo + Build (reused, label kept), a refused action
    (one notice, panels keep their content), Reset -> click -> Build, a click on another frame -> Build."""
    errors: list[str] = []
    page.goto(page.url)  # a new tab: the example opens with its cached result
    _pick_example(page, EXAMPLE)
    page.wait_for_function(
        "() => { const t = document.querySelector('#entity-table'); return t && t.innerText.includes('subject'); }",
        timeout=BUILD_S * 1000,
    )
    _wait_idle(page, BUILD_S, errors)
    try:
        # scrub the example over its whole range (the slider's range came with the example)
        assert page.locator("#frame-slider input[type=range]").first.get_attribute("max") == "47"
        _set_frame(page, 30, errors)
        _set_frame(page, 0, errors)

        # relabel the first object, then a negative click and undo: Build reuses the result, the label stays
        _fill(page, "#relabel-text", "ball")
        page.locator("#relabel-button").click()
        page.wait_for_function(
            "() => { const t = document.querySelector('#entity-table'); return t && t.innerText.includes('ball'); }"
        )
        _wait_idle(page, BUILD_S, errors)
        page.locator("#click-mode label").filter(has_text="negative").first.click()
        _click_image_pixel(page, 400, 40)  # a negative click on the wall: the prompts differ from the result's
        _wait_idle(page, EVENT_S, errors)
        assert "Outdated" in _text(page, "#build-status") and "1 negative" in _text(page, "#prompt-info")
        page.locator("#click-mode label").filter(has_text="positive").first.click()
        page.locator("#undo-button").click()
        _wait_idle(page, EVENT_S, errors)
        assert "up to date" in _text(page, "#build-status")
        started = time.monotonic()
        page.locator("#build-button").click()
        _wait_idle(page, BUILD_S, errors)
        assert "ball" in _table_text(page) and "up to date" in _text(page, "#build-status")
        reused_s = time.monotonic() - started
        _shot(page, "after_undo_build.png")

        # a refused action: one notice, on the build line only; every panel keeps what it showed
        bars_before = len(_timeline_traces(page))
        _fill(page, "#relabel-text", "")
        page.locator("#relabel-button").click()
        page.wait_for_function(f"() => ({ERRORS_JS})().length > 0")
        refused = page.evaluate(ERRORS_JS)
        assert len(refused) == 1 and "label cannot be empty" in refused[0], refused
        assert set(page.evaluate(STATUS_ERRORS_JS)) <= {"build-status"}, page.evaluate(STATUS_ERRORS_JS)
        assert len(_timeline_traces(page)) == bars_before and "ball" in _table_text(page)
        assert _graph_href(page) and page.locator("#overlay-video video").count() == 1
        _shot(page, "refused_action.png")

        # Reset all -> click -> Build
        page.locator("#reset-button").click()
        _wait_idle(page, EVENT_S, errors)
        assert "ball" not in _table_text(page) and not _timeline_traces(page)
        _click_image_pixel(page, *CLICK)
        _wait_idle(page, EVENT_S, errors)
        _build_until_a_new_graph(page, errors)
        assert "subject" in _table_text(page) and "up to date" in _text(page, "#build-status")

        # a click on another frame corrects the subject there: its first frame's prompt stays, Build tracks from both
        _set_frame(page, 30, errors)
        _click_image_pixel(page, *_subject_pixel_on(30))
        _wait_idle(page, EVENT_S, errors)
        assert "on working frames 0, 30" in _text(page, "#prompt-info") and "Outdated" in _text(page, "#build-status")
        _build_until_a_new_graph(page, errors)
        assert "subject" in _table_text(page) and "up to date" in _text(page, "#build-status")
    finally:
        _shot(page, "visitor_paths.png")
    unasked = [e for e in errors if "label cannot be empty" not in e]  # that one was asked for above
    assert not unasked, f"the app showed error notices: {unasked}"
    print(f"build with unchanged prompts answered in {reused_s:.1f} s")


LAYOUT_JS = """() => {
    const box = s => { const e = document.querySelector(s); return e ? e.getBoundingClientRect() : null; };
    const plot = document.querySelector('#timeline-plot .main-svg');
    return {
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        frame: box('#frame-image img'),
        build: box('#build-button'),
        plot_height: plot ? plot.getBoundingClientRect().height : 0,
        lanes: document.querySelectorAll('#timeline-plot .ytick').length,
        thumbs: [...document.querySelectorAll('#entity-gallery img')].map(i => i.complete && i.naturalWidth > 0),
        table: box('#entity-table'),
    };
}"""


@pytest.mark.parametrize(("width", "height"), [(390, 844), (800, 900), (1920, 1080)])
def test_layout_on_a_phone_a_laptop_and_a_projector(page, width, height):
    """The page fits the screen's width, the frame uses it, the timeline has room, entity thumbnails load."""
    errors: list[str] = []
    page.set_viewport_size({"width": width, "height": height})
    page.goto(page.url)
    _shot(page, f"start_{width}.png")
    _pick_example(page, EXAMPLE)
    page.wait_for_function(
        "() => { const t = document.querySelector('#entity-table'); return t && t.innerText.includes('subject'); }",
        timeout=BUILD_S * 1000,
    )
    _wait_idle(page, BUILD_S, errors)
    page.screenshot(path=str(ARTIFACTS / f"example_{width}.png"), full_page=False)
    page.locator("#entity-gallery").scroll_into_view_if_needed()  # its thumbnails load lazily, when seen
    page.wait_for_function(
        "() => [...document.querySelectorAll('#entity-gallery img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    _shot(page, f"built_{width}.png")
    layout = page.evaluate(LAYOUT_JS)
    assert layout["overflow"] <= 1, f"the page is wider than the screen by {layout['overflow']} px"
    assert layout["frame"]["width"] >= 0.45 * width, layout  # beside the controls on wide screens, alone on phones
    # The timeline gets the height its lanes ask for, not a squeezed one (how many lanes there are depends on the
    # scene graph the example builds: at least the subject's)
    assert layout["lanes"] >= 1, layout
    assert layout["plot_height"] >= figure_height(layout["lanes"]) - 1, layout
    assert layout["thumbs"] and all(layout["thumbs"]), layout
    if width >= 1920:  # a projector shows the frame and the Build button without scrolling
        assert layout["build"]["bottom"] <= height, layout
    assert not errors, errors
