"""The running app driven over HTTP with gradio_client: load an example, click, build, relabel, drop, download.

The app is launched in this process on a free localhost port with an oracle segmenter (fast, exact), so the
test checks the wiring, the API names and the files a client receives.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from oracle import OracleSegmenter

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

from click2graph import synth
from click2graph.examples import ExampleCache
from click2graph.pipeline import Pipeline
from click2graph.sessions import SessionStore
from demo import handlers
from demo.app import build_demo

CLIP = "ball_touch"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("app")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(handlers, "PIPELINE", Pipeline(OracleSegmenter(synth.render_clip(CLIP).labels)))
        patch.setattr(handlers, "STORE", SessionStore(root=root / "sessions"))
        patch.setattr(handlers, "CACHE", ExampleCache(root / "cache"))
        demo = build_demo()
        _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
        try:
            yield gradio_client.Client(url, verbose=False, download_files=str(root / "downloads"))
        finally:
            demo.close()


def test_api_lists_the_named_endpoints(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/load_example", "/click", "/add_object", "/undo", "/clear", "/build", "/relabel", "/drop"} <= names


def test_example_click_build_relabel_drop(client):
    x, y, _ = synth.preset_click(CLIP)
    outputs = client.predict(CLIP, api_name="/load_example")
    assert Path(outputs[0]).name == f"{CLIP}.mp4" and "Preset click" in outputs[5]
    outputs = client.predict(x, y, False, 0, "negative", api_name="/click")  # a negative click (then undone)
    assert "1 positive / 1 negative" in outputs[2]
    outputs = client.predict(0, api_name="/undo")
    assert "1 positive / 0 negative" in outputs[2]

    outputs = client.predict(0, api_name="/build")
    overlay, timeline, _graph, table, _gallery, _entity, _relation, files, _snippet, _image = outputs
    assert Path(overlay["video"] if isinstance(overlay, dict) else overlay).exists()
    assert json.loads(timeline["plot"])["data"] and table["data"][0][:2] == [1, "subject"]
    graph_json = json.loads(Path(next(f for f in files if f.endswith("scene_graph.json"))).read_text())
    assert graph_json["objects"][0]["object_id"] == 1 and graph_json["relations"]

    outputs = client.predict(1, "adult", 0, api_name="/relabel")
    table = outputs[3]
    assert table["data"][0][1] == "adult"
    graph_json = json.loads(Path(next(f for f in outputs[7] if f.endswith("scene_graph.json"))).read_text())
    subject, obj, predicate, _ = graph_json["relations"][0]
    files = client.predict(f"{subject}|{obj}|{predicate}", "kicking", 0, api_name="/rename_predicate")[7]
    graph_json = json.loads(Path(next(f for f in files if f.endswith("scene_graph.json"))).read_text())
    assert [subject, obj, "kicking"] in [r[:3] for r in graph_json["relations"]]
    ball = next(row[0] for row in table["data"] if row[5] == "discovered")
    files = client.predict(ball, 0, api_name="/drop")[7]
    graph_json = json.loads(Path(next(f for f in files if f.endswith("scene_graph.json"))).read_text())
    assert ball not in [o["object_id"] for o in graph_json["objects"]]
    assert graph_json["objects"][0]["category"] == "adult"
    with pytest.raises(gradio_client.exceptions.AppError, match="CLIP"):  # no CLIP model on this machine
        client.predict("person, ball", 0, api_name="/class_words")


def test_errors_reach_the_client_as_messages(client):
    client.reset_session()
    with pytest.raises(gradio_client.exceptions.AppError, match="open a video first"):
        client.predict(10, 10, True, 0, "positive", api_name="/click")
