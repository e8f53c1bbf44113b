"""The demo's event handlers, called directly: example -> preset click -> build -> figures and downloads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

gr = pytest.importorskip("gradio")

from demo import handlers  # noqa: E402


class NoProgress:
    """Stands in for gr.Progress outside a running app."""

    def __call__(self, fraction, desc=None):
        pass


@pytest.fixture()
def state():
    state = handlers.new_state()
    yield state
    handlers.on_unload(state)


def test_example_click_build_and_downloads(state):
    examples = handlers.load_examples()
    assert examples, "examples/manifest.json lists the bundled clips"
    name = examples[0]["name"]
    video_path, preview, slider, info, state = handlers.on_example(name, state)
    frame = handlers.STORE.get(state["key"]).data["video"].frames[state["frame"]]
    assert preview.shape == frame.shape and not np.array_equal(preview, frame)  # the mask is drawn
    assert "working frames" in info.lower()

    overlay, timeline, graph_fig, files, rows = handlers.on_build(state, progress=NoProgress())
    assert Path(overlay).suffix == ".mp4" and Path(overlay).exists()
    assert len(timeline.data) >= 1 and rows and rows[0][1] == "subject"
    graph_json = next(f for f in files if f.endswith("scene_graph.json"))
    assert json.loads(Path(graph_json).read_text())["relations"]
    folder = handlers.STORE.get(state["key"]).folder
    assert Path(graph_json).parent == folder  # each session writes into its own folder

    handlers.on_unload(state)
    assert not folder.exists()  # ... which is removed when the session ends


def test_errors_are_readable_messages(state, tmp_path):
    with pytest.raises(gr.Error, match="open a video first"):
        handlers.on_click_xy(10, 10, True, 0, state)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(gr.Error, match="re-encode"):
        handlers.on_video(str(bad), state)
    handlers.on_example(handlers.load_examples()[0]["name"], state)
    with pytest.raises(gr.Error, match="outside"):
        handlers.on_click_xy(5000, 10, True, 0, state)


def test_sessions_are_isolated():
    first, second = handlers.new_state(), handlers.new_state()
    try:
        _, _, _, _, first = handlers.on_example(handlers.load_examples()[0]["name"], first)
        with pytest.raises(gr.Error, match="open a video first"):
            handlers.on_click_xy(10, 10, True, 0, second)  # the second user sees nothing of the first
        assert handlers.STORE.get(first["key"]).folder != handlers.STORE.get(second["key"]).folder
    finally:
        handlers.on_unload(first)
        handlers.on_unload(second)
