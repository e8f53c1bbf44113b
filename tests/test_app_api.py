"""The running app driven over HTTP with gradio_client: each Client is one browser tab.

The app is launched in this process on a free localhost port with an oracle segmenter (fast, exact), so the
tests check the wiring, the API names, the files a client receives, and what several visitors at once get.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
from oracle import OracleSegmenter

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

from click2graph import synth
from click2graph.pipeline import Pipeline
from demo import server as demo_server
from demo.app import build_demo
from demo.example_cache import ExampleCache
from demo.page import API_FIELDS
from demo.server import Server, ServerLimits
from demo.store import StoreLimits

CLIP = "ball_touch"
MAX_VISITS = 8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gate:
    """Holds every tracking call until opened, so a test can act while a build is running."""

    def __init__(self, segmenter: OracleSegmenter) -> None:
        self.entered, self.opened = threading.Event(), threading.Event()
        self.opened.set()
        self._propagate = segmenter.propagate
        segmenter.propagate = self

    def __call__(self, state, *, obj_ids=None, reverse=False):
        self.entered.set()
        assert self.opened.wait(120), "the gate was never opened"
        return self._propagate(state, obj_ids=obj_ids, reverse=reverse)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("app")
    segmenter = OracleSegmenter(synth.render_clip(CLIP).labels)
    gate = Gate(segmenter)
    with pytest.MonkeyPatch.context() as patch:
        private = Server.create(
            pipeline=Pipeline(segmenter),
            folder=root,
            limits=ServerLimits(),
            store_limits=StoreLimits(max_visits=MAX_VISITS),
        )
        patch.setattr(demo_server, "_current", private)
        demo = build_demo()
        _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
        try:
            yield url, root, gate
        finally:
            demo.close()


def tab(server) -> gradio_client.Client:
    url, root, _ = server
    return gradio_client.Client(url, verbose=False, download_files=str(root / "downloads"))


@pytest.fixture()
def client(server):
    yield tab(server)
    for key in list(demo_server.current().store._visits):  # every test starts with an empty server
        demo_server.current().store.close(key)


def named(outputs) -> dict:
    assert len(outputs) == len(API_FIELDS)
    return dict(zip(API_FIELDS, outputs))


def file_of(video) -> str:
    """A gr.Video output's file path (a dict with the video, or the path itself)."""
    return video["video"] if isinstance(video, dict) else video


def graph_json(files) -> dict:
    return json.loads(Path(next(f for f in files if f.endswith("scene_graph.json"))).read_text())


def test_api_lists_the_named_endpoints(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    expected = {"/load_example", "/click", "/add_object", "/undo", "/clear", "/reset", "/build", "/relabel", "/drop"}
    assert expected <= names


def test_example_click_build_relabel_drop(client):
    x, y, _ = synth.preset_click(CLIP)
    out = named(client.predict(CLIP, api_name="/load_example"))
    assert Path(file_of(out["video_in"])).name == f"{CLIP}.mp4"
    assert "Preset click" in out["prompt_info"]
    out = named(client.predict(x, y, False, 0, "negative", api_name="/click"))  # a negative click (then undone)
    assert "1 positive / 1 negative" in out["prompt_info"]
    out = named(client.predict(0, api_name="/undo"))
    assert "1 positive / 0 negative" in out["prompt_info"]

    out = named(client.predict(0, api_name="/build"))
    assert Path(file_of(out["overlay"])).exists()
    assert json.loads(out["timeline"]["plot"])["data"] and out["entity_table"]["data"][0][:2] == [1, "subject"]
    graph = graph_json(out["downloads"])
    assert graph["objects"][0]["object_id"] == 1 and graph["relations"] and graph["video_path"] == f"{CLIP}.mp4"

    out = named(client.predict(1, "adult", 0, api_name="/relabel"))
    assert out["entity_table"]["data"][0][1] == "adult"
    subject, obj, predicate, _ = graph_json(out["downloads"])["relations"][0]
    out = named(client.predict(f"{subject}|{obj}|{predicate}", "kicking", 0, api_name="/rename_predicate"))
    assert [subject, obj, "kicking"] in [r[:3] for r in graph_json(out["downloads"])["relations"]]
    ball = next(row[0] for row in out["entity_table"]["data"] if row[5] == "discovered")
    out = named(client.predict(ball, 0, api_name="/drop"))
    graph = graph_json(out["downloads"])
    assert ball not in [o["object_id"] for o in graph["objects"]] and graph["objects"][0]["category"] == "adult"
    with pytest.raises(gradio_client.exceptions.AppError, match="CLIP"):  # no CLIP model on this machine
        client.predict("person, ball", 0, api_name="/class_words")


@pytest.mark.parametrize(
    ("args", "api_name", "message"),
    [
        (("abc", 10, True, 0, "positive"), "/click", "x must be a number"),
        ((10, [1, 2], True, 0, "positive"), "/click", "y must be a number"),
        ((10, 10, True, None, "positive"), "/click", "frame_idx must be a number"),
        ((1, "x" * 200_000, 0), "/relabel", "too long"),
        (("one", 0), "/drop", "entity must be a number"),
    ],
)
def test_wrong_types_name_the_field(client, args, api_name, message):
    client.predict(CLIP, api_name="/load_example")
    client.predict(0, api_name="/build")
    with pytest.raises(gradio_client.exceptions.AppError, match=message):
        client.predict(*args, api_name=api_name)


def test_errors_reach_the_client_as_messages(client):
    with pytest.raises(gradio_client.exceptions.AppError, match="open a video first"):
        client.predict(10, 10, True, 0, "positive", api_name="/click")
    assert len(demo_server.current().store) == 0  # a tab that never opened a video holds nothing on the server


def test_many_tabs_while_one_builds_nobody_loses_work(server, client, tmp_path, monkeypatch):
    """Nine more tabs arrive while one visitor builds: tabs that only look hold nothing; eight visits fit; the
    next newcomer is told the server is busy; the builder's clicks answer during its build and its result is
    intact."""
    _, _, gate = server
    monkeypatch.setattr(demo_server.current(), "cache", ExampleCache(tmp_path))  # a real build, not a cached result
    client.predict(CLIP, api_name="/load_example")
    gate.entered.clear()
    gate.opened.clear()
    try:
        job = client.submit(0, api_name="/build")
        assert gate.entered.wait(60), "the build did not start"
        x, y, _ = synth.preset_click(CLIP)
        out = named(client.predict(x, y + 30, True, 0, "positive", api_name="/click"))  # during the build
        assert "2 positive / 0 negative" in out["prompt_info"] and not job.done()
        out = named(client.predict(0, api_name="/undo"))
        assert "1 positive / 0 negative" in out["prompt_info"] and not job.done()
        tabs = [tab(server) for _ in range(9)]
        for other in tabs:
            other.predict(5, api_name="/frame")  # a tab that only looks at the page
        assert len(demo_server.current().store) == 1
        for other in tabs[: MAX_VISITS - 1]:
            other.predict(CLIP, api_name="/load_example")
        assert len(demo_server.current().store) == MAX_VISITS
        with pytest.raises(gradio_client.exceptions.AppError, match="server is busy"):
            tabs[-1].predict(CLIP, api_name="/load_example")
        assert not job.done()
    finally:
        gate.opened.set()
    out = named(job.result(timeout=120))
    assert out["entity_table"]["data"][0][:2] == [1, "subject"] and graph_json(out["downloads"])["relations"]
    assert "up to date" in out["build_status"]  # the click was undone: the result matches the prompts
    assert len(demo_server.current().store) == MAX_VISITS


def test_a_build_streams_the_track_before_its_result(server, client, tmp_path, monkeypatch):
    """Over HTTP too: while tracking runs the client receives the tracking timeline and the progress line, then
    the result as the last output."""
    _, _, gate = server
    monkeypatch.setattr(demo_server.current(), "cache", ExampleCache(tmp_path))  # a real build, not a cached result
    client.predict(CLIP, api_name="/load_example")
    release, propagate = threading.Event(), gate._propagate

    def held(state, *, obj_ids=None, reverse=False):  # every tracking pass holds after its first frame
        steps = propagate(state, obj_ids=obj_ids, reverse=reverse)
        yield next(steps)
        assert release.wait(120)
        yield from steps

    monkeypatch.setattr(gate, "_propagate", held)
    job = client.submit(0, api_name="/build")
    try:
        deadline = time.monotonic() + 60
        while not job.outputs() and time.monotonic() < deadline:
            time.sleep(0.05)
        partial = named(job.outputs()[0])
        assert not job.done() and "Building" in partial["build_status"]
        assert json.loads(partial["timeline"]["plot"])["layout"]["title"]["text"] == "Tracked so far"
    finally:
        release.set()
    out = named(job.result(timeout=120))
    assert out["entity_table"]["data"][0][:2] == [1, "subject"] and "up to date" in out["build_status"]


def test_an_upload_that_is_not_a_video_is_refused_and_holds_nothing(client, tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("these are notes, not a video\n" * 50)
    with pytest.raises(gradio_client.exceptions.AppError, match="video"):
        client.predict(gradio_client.handle_file(str(bad)), api_name="/upload_video")
    assert len(demo_server.current().store) == 0
    out = named(client.predict(gradio_client.handle_file(str(synth_clip_file(tmp_path))), api_name="/upload_video"))
    assert "working frames" in out["video_info"] and len(demo_server.current().store) == 1


def synth_clip_file(folder: Path) -> Path:
    from click2graph.video import write_video

    clip = synth.render_clip(CLIP)
    return write_video(folder / "clip.mp4", clip.frames, clip.fps)  # the oracle reads every frame
