"""The demo's event handlers, called directly, on the bundled examples with an oracle segmenter (fast, exact).

The oracle reads the synthetic clip's label maps, so these tests check the UI flow (prompts, builds, edits,
caching, sessions, errors) and what each edit re-tracks, not segmentation quality.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from oracle import OracleSegmenter

gr = pytest.importorskip("gradio")

from click2graph import synth
from click2graph.examples import EXAMPLES_ENV, ExampleCache, load_examples
from click2graph.pipeline import Pipeline
from click2graph.sessions import SessionStore
from click2graph.viz import FRAME_MARKER_NAME
from demo import handlers, views

CLIP = "ball_touch"  # subject = label 1 (a person), the ball = label 2


class NoProgress:
    """Stands in for gr.Progress outside a running app."""

    def __call__(self, fraction, desc=None):
        pass


class Recorder:
    """Wraps the oracle's ``propagate`` and records the object ids of every call (what was (re-)tracked)."""

    def __init__(self, segmenter: OracleSegmenter) -> None:
        self.calls: list[list[int]] = []
        self._propagate = segmenter.propagate
        segmenter.propagate = self

    def __call__(self, state, *, obj_ids=None, reverse=False):
        self.calls.append(sorted(obj_ids if obj_ids is not None else state.obj_ids))
        return self._propagate(state, obj_ids=obj_ids, reverse=reverse)

    def tracked_ids(self) -> set[int]:
        return {i for call in self.calls for i in call}


@pytest.fixture(scope="module")
def clip():
    return synth.render_clip(CLIP)


@pytest.fixture()
def app(clip, tmp_path, monkeypatch):
    """The handlers with an oracle pipeline, a private session store and a private example cache."""
    segmenter = OracleSegmenter(clip.labels)
    recorder = Recorder(segmenter)
    monkeypatch.setattr(handlers, "PIPELINE", Pipeline(segmenter))
    monkeypatch.setattr(handlers, "STORE", SessionStore(root=tmp_path / "sessions"))
    monkeypatch.setattr(handlers, "CACHE", ExampleCache(tmp_path / "cache"))
    return recorder


@pytest.fixture()
def state(app):
    state = handlers.new_state()
    yield state
    handlers.on_unload(state)


def pixel_of(clip, label: int, frame: int = 0) -> tuple[float, float]:
    """A pixel well inside ``label`` on ``frame`` (working = original pixels for the examples)."""
    ys, xs = np.nonzero(clip.labels[frame] == label)
    k = np.argmin((xs - xs.mean()) ** 2 + (ys - ys.mean()) ** 2)
    return float(xs[k]), float(ys[k])


def load(state: dict) -> dict:
    return handlers.on_example(CLIP, state)[6]


def build(state: dict, frame: int = 0) -> tuple:
    return handlers.on_build(frame, state, progress=NoProgress())


def session_of(state: dict):
    return handlers.STORE.get(state["key"]).data["session"]


def test_example_loads_with_its_preset_click_and_builds(state):
    video_path, preview, _slider, info, _subject, _text, state, *_ = handlers.on_example(CLIP, state)
    frame = session_of(state).video.frames[0]
    assert Path(video_path).name == f"{CLIP}.mp4" and "working frames" in info
    assert preview.shape == frame.shape and not np.array_equal(preview, frame)  # mask and click drawn at once
    assert state["prompts"] == {1: [load_examples()[0].prompts[0].to_dict()]} and state["example"] == CLIP

    overlay, timeline, graph_fig, rows, gallery, _entity, _relation, files, snippet, _image, state = build(
        state, frame=5
    )
    assert Path(overlay).suffix == ".mp4" and Path(overlay).stat().st_size > 0
    assert timeline.data and any(s.name == FRAME_MARKER_NAME and s.x0 == 5 for s in timeline.layout.shapes)
    assert graph_fig.data and rows[0][:2] == [1, "subject"] and len(gallery) == len(rows)
    assert {Path(f).name for f in files} == {"scene_graph.json", "masks_coco.json", "overlay.mp4", "timeline.html"}
    graph_json = json.loads(next(Path(f) for f in files if f.endswith(".json") and "scene" in f).read_text())
    assert graph_json["relations"] and all(Path(f).parent == handlers.STORE.get(state["key"]).folder for f in files)
    assert "prompt_subject(session, [Click(" in snippet

    _image, timeline, graph_fig = handlers.on_frame(20, state)  # the slider moves: cursor and graph follow
    assert any(s.name == FRAME_MARKER_NAME and s.x0 == 20 for s in timeline.layout.shapes)


def test_click_negative_undo_clear(state, clip):
    state = load(state)
    state = handlers.on_clear(0, state)[3]
    assert state["prompts"] == {} and not session_of(state).subjects  # clear removes the subject with its clicks
    x, y = pixel_of(clip, 1)
    _image, _subject, info, state = handlers.on_click_xy(x, y, True, 0, "positive", state)
    assert 1 in session_of(state).subjects and "1 positive / 0 negative" in info
    bx, by = pixel_of(clip, 2)
    state = handlers.on_click_xy(bx, by, True, 0, "negative", state)[3]
    assert [p["positive"] for p in state["prompts"][1]] == [True, False]
    state = handlers.on_undo(0, state)[3]
    assert [p["positive"] for p in state["prompts"][1]] == [True]
    state = handlers.on_undo(0, state)[3]
    assert state["prompts"] == {} and not session_of(state).subjects


def test_box_mode_takes_two_corners(state, clip):
    state = handlers.on_clear(0, load(state))[3]
    ys, xs = np.nonzero(clip.labels[0] == 1)
    state = handlers.on_click_xy(xs.min() - 2, ys.min() - 2, True, 0, "box", state)[3]
    assert state["corner"] and not session_of(state).subjects  # first corner only: nothing segmented yet
    _image, _, info, state = handlers.on_click_xy(xs.max() + 2, ys.max() + 2, True, 0, "box", state)
    assert state["corner"] is None and state["prompts"][1][0]["type"] == "box" and "a box" in info
    assert 1 in session_of(state).subjects


def test_edits_update_the_graph_without_retracking(state, app, clip):
    state = load(state)
    state = build(state)[-1]
    tracked_before = len(app.calls)
    outputs = handlers.on_relabel(1, "adult", 0, state, progress=NoProgress())
    rows, timeline = outputs[3], outputs[1]
    assert rows[0][1] == "adult" and rows[0][3] == "user"
    assert any("adult" in str(bar.y[0]) for bar in timeline.data)  # the lanes use the new label
    assert len(app.calls) == tracked_before  # a relabel re-tracks nothing

    ball = next(r[0] for r in rows if r[5] == "discovered")
    rows = handlers.on_drop(ball, 0, outputs[-1], progress=NoProgress())[3]
    assert ball not in [r[0] for r in rows] and len(app.calls) == tracked_before  # a drop re-tracks nothing

    x, y = pixel_of(clip, 2)
    _image, _, info, state = handlers.on_add_object_xy(x, y, 0, state)
    assert "added" in info
    rows = build(state)[3]
    added = next(r[0] for r in rows if r[5] == "added by click")
    assert {i for call in app.calls[tracked_before:] for i in call} == {added}  # only the new object is tracked


def test_second_subject_adds_its_subgraph(state, app, clip):
    state = build(load(state))[-1]
    tracked_before = len(app.calls)
    _image, _slider, info, state = handlers.on_subject(views.NEW_SUBJECT, 0, state)
    assert "New subject" in info
    x, y = pixel_of(clip, 2)
    state = handlers.on_click_xy(x, y, True, 0, "positive", state)[3]
    second = state["subject"]
    assert second not in (views.NEW_SUBJECT, 1) and set(state["prompts"]) == {1, second}
    rows = build(state)[3]
    assert {r[0] for r in rows if r[5] == "subject"} == {1, second}
    assert 1 not in {i for call in app.calls[tracked_before:] for i in call}  # the first subject is not re-tracked


def test_errors_are_readable_messages(state, clip, tmp_path):
    with pytest.raises(gr.Error, match="open a video first"):
        handlers.on_click_xy(10, 10, True, 0, "positive", state)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(gr.Error, match="re-encode"):
        handlers.on_video(str(bad), state)
    state = handlers.on_clear(0, load(state))[3]
    with pytest.raises(gr.Error, match="outside"):
        handlers.on_click_xy(5000, 10, True, 0, "positive", state)
    with pytest.raises(gr.Error, match="segmented nothing"):
        handlers.on_click_xy(2, 2, True, 0, "positive", state)  # background: the oracle finds nothing
    with pytest.raises(gr.Error, match="no subject yet"):
        build(state)
    with pytest.raises(gr.Error, match="prompt a subject first"):
        handlers.on_add_object_xy(*pixel_of(clip, 2), 0, state)
    with pytest.raises(gr.Error, match="build the scene graph first"):
        handlers.on_relabel(1, "adult", 0, state, progress=NoProgress())
    state = build(load(state))[-1]
    with pytest.raises(gr.Error, match="is a subject"):
        handlers.on_drop(1, 0, state, progress=NoProgress())
    with pytest.raises(gr.Error, match="label cannot be empty"):
        handlers.on_relabel(1, "  ", 0, state, progress=NoProgress())


def test_unexpected_errors_show_no_trace(state, monkeypatch):
    state = load(state)
    monkeypatch.setattr(handlers.PIPELINE, "build", lambda *a, **k: {}["boom"])
    with pytest.raises(gr.Error, match="Something went wrong") as info:
        build(state)
    assert "Traceback" not in str(info.value)


def test_sessions_are_isolated(app, clip):
    first, second = handlers.new_state(), handlers.new_state()
    try:
        first = load(first)
        with pytest.raises(gr.Error, match="open a video first"):
            handlers.on_click_xy(10, 10, True, 0, "positive", second)  # the second user sees nothing of the first
        second = handlers.on_clear(0, load(second))[3]
        assert first["prompts"] and not second["prompts"] and session_of(first).subjects
        assert session_of(first) is not session_of(second)
        assert handlers.STORE.get(first["key"]).folder != handlers.STORE.get(second["key"]).folder
    finally:
        handlers.on_unload(first)
        handlers.on_unload(second)


def test_session_folder_is_removed_on_unload(app):
    state = build(load(handlers.new_state()))[-1]
    folder = handlers.STORE.get(state["key"]).folder
    assert (folder / "scene_graph.json").exists()
    handlers.on_unload(state)
    assert not folder.exists()


def test_example_result_is_cached_for_later_visitors(app):
    first = handlers.new_state()
    files = build(load(first))[7]
    tracked = len(app.calls)
    second = handlers.new_state()
    try:
        outputs = build(load(second))
        assert len(app.calls) == tracked  # served from the cache: nothing tracked
        assert Path(outputs[7][0]).read_text() == Path(files[0]).read_text()
        assert Path(outputs[7][0]).parent == handlers.STORE.get(second["key"]).folder
        rows = handlers.on_relabel(1, "adult", 0, outputs[-1], progress=NoProgress())[3]
        assert rows[0][1] == "adult" and len(app.calls) > tracked  # the first edit tracks this user's session
    finally:
        handlers.on_unload(first)
        handlers.on_unload(second)


def test_deployment_examples_folder_without_manifest(state, tmp_path, monkeypatch):
    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(load_examples()[0].path, folder / "my_clip.mp4")
    monkeypatch.setenv(EXAMPLES_ENV, str(folder))
    assert "my_clip" in handlers.example_names()
    outputs = handlers.on_example("my_clip", state)
    assert outputs[6]["prompts"] == {} and "no prompt yet" in outputs[5]  # no preset click: the user clicks
    assert handlers.on_example_build(0, outputs[6]) == tuple(gr.skip() for _ in range(11))


def test_switching_discovery_rediscovers_without_retracking_the_subject(state, app):
    state = build(load(state))[-1]
    tracked_before = len(app.calls)
    outputs = handlers.on_discovery("heuristic", 0, state, progress=NoProgress())
    session = session_of(state)
    assert type(session.discover).__name__ == "HeuristicDiscovery"
    assert 1 not in {i for call in app.calls[tracked_before:] for i in call}  # only new objects were tracked
    assert outputs[3][0][:2] == [1, "subject"]
    with pytest.raises(gr.Error, match="unknown discovery"):
        handlers.on_discovery("learned-but-absent", 0, outputs[-1], progress=NoProgress())
