"""ZeroGPU support without a GPU: the whole build as one call on picklable data gives the in-process graph, and on
a (simulated) ZeroGPU Space the app's builds go through ``spaces.GPU`` into another process and still stream their
tracks; without ``SPACES_ZERO_GPU`` nothing changes. ``fake_spaces`` stands in for the real package (not installed
here), running the call in a spawned process as ZeroGPU runs it in a forked one."""

from __future__ import annotations

import json
import os
import pickle
import sys
import time
from pathlib import Path

import fake_spaces
import numpy as np
import pytest

from click2graph import synth
from click2graph.batch import VideoPrompts, build_graph
from click2graph.errors import Click2GraphError
from click2graph.prompts import Click
from click2graph.remote_build import BuildRequest, stream_build
from click2graph.settings import Settings
from click2graph.video import Video, write_video
from demo import gpu

FRAMES = 20  # the start of the clip, long enough for discovery to find the ball (on keyframe 16); seconds to build
SETTINGS = Settings(backend="classic", semantics="off")


@pytest.fixture(scope="module")
def clip():
    return synth.render_clip("ball_touch")


@pytest.fixture(scope="module")
def request_(clip) -> BuildRequest:
    video = Video.from_frames(clip.frames[:FRAMES], fps=clip.fps, source="ball_touch.mp4")
    x, y, frame = synth.preset_click(clip)
    return BuildRequest(video, SETTINGS, ((1, (Click(x, y, frame_idx=frame),)),))


@pytest.fixture(scope="module")
def updates(request_):
    return list(stream_build(request_, interval_s=0.05))


def test_the_build_on_plain_data_gives_the_in_process_graph(request_, updates):
    (subject, prompts), *_ = request_.subjects
    expected, _ = build_graph(SETTINGS.assemble().pipeline, request_.video, VideoPrompts(prompts))
    graph = updates[-1].graph
    assert graph is not None and all(u.graph is None for u in updates[:-1])
    assert len(graph.entities) >= 2  # the subject and what it touches
    assert graph.to_dict() == expected.to_dict()  # entities, masks (RLE) and relations alike
    assert [e.entity_id for e in graph.subjects] == [subject]


def test_the_build_streams_its_tracks_with_its_progress(request_, updates):
    partials = [u.partial for u in updates if u.partial is not None]
    assert len(partials) >= 3 and len(partials) == len(updates) - 1
    fractions = [u.fraction for u in updates]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    first = next(p for p in partials if p.step.unit == "frame")
    assert first.subjects == {1} and first.step.frame_idx in first.tracks[1]
    assert any("subject 1: tracking" in u.status for u in updates)


def test_requests_and_updates_survive_pickle(request_, updates):
    request = pickle.loads(pickle.dumps(request_))
    assert np.array_equal(request.video.frames, request_.video.frames) and request.video.fps == request_.video.fps
    assert (request.subjects, request.settings) == (request_.subjects, request_.settings)
    for update in updates:
        again = pickle.loads(pickle.dumps(update))
        assert (again.fraction, again.status) == (update.fraction, update.status)
        if update.partial is not None:
            assert again.partial.tracks == update.partial.tracks and again.partial.step == update.partial.step
    assert pickle.loads(pickle.dumps(updates[-1])).graph.to_dict() == updates[-1].graph.to_dict()


def test_a_bad_prompt_is_the_prompt_error_an_in_process_build_gives(request_):
    from click2graph.errors import PromptError

    outside = BuildRequest(request_.video, SETTINGS, ((1, (Click(5000, 5),)),))
    with pytest.raises(PromptError, match="outside"):
        list(stream_build(outside))


# -- settings --------------------------------------------------------------------------------------------------


def test_builds_on_zero_gpu_use_sam2_at_1024_on_cuda_and_clicks_the_cpu(monkeypatch):
    from click2graph.segment import factory
    from click2graph.segment.sam2 import Sam2Segmenter

    on_gpu = gpu.gpu_settings(Settings(semantics="off", sam2_size=512, sam2_stride=2))
    assert (on_gpu.backend, on_gpu.sam2_size, on_gpu.device) == ("sam2", 1024, "cuda")
    assert (on_gpu.sam2_encoder, on_gpu.clip_precision, on_gpu.sam2_stride) == ("fp32", "fp32", 2)
    assert gpu.cpu_settings(Settings()).device == "cpu"

    # the device reaches SAM 2's configuration, and the input size follows it when not given
    built = []
    monkeypatch.setattr(factory, "resolve_checkpoint", lambda name, allow_download: _Resolved())
    monkeypatch.setattr(Sam2Segmenter, "from_checkpoint", classmethod(lambda cls, path, config: built.append(config)))
    on_gpu.segmenter()
    Settings(backend="sam2", device="cuda").segmenter()
    Settings(backend="sam2", device="cpu").segmenter()
    assert [(c.device, c.image_size, c.encoder) for c in built] == [
        ("cuda", 1024, "fp32"),
        ("cuda", 1024, "int8"),  # SAM 2 ignores int8 off the CPU
        ("cpu", 512, "int8"),
    ]


def test_clip_gets_the_device_of_the_settings(monkeypatch):
    from click2graph.semantics import clip_embedder

    asked = []

    def load(name, **kwargs):
        asked.append(kwargs)
        raise clip_embedder.CheckpointError("not here")

    monkeypatch.setattr(clip_embedder.ClipEmbedder, "load", staticmethod(load))
    with pytest.warns(UserWarning):
        gpu.gpu_settings(Settings()).semantic_models()
    assert asked[0]["device"] == "cuda" and asked[0]["precision"] == "fp32"


def test_zero_gpu_is_the_variable_and_the_package_together(monkeypatch):
    monkeypatch.delitem(sys.modules, "spaces", raising=False)
    assert not gpu.on_zero_gpu({"SPACES_ZERO_GPU": "true"})  # `spaces` is not installed here
    monkeypatch.setitem(sys.modules, "spaces", fake_spaces)
    assert gpu.on_zero_gpu({"SPACES_ZERO_GPU": "true"}) and gpu.on_zero_gpu({"SPACES_ZERO_GPU": "1"})
    assert not gpu.on_zero_gpu({}) and not gpu.on_zero_gpu({"SPACES_ZERO_GPU": "false"})


def test_a_build_asks_for_gpu_time_by_its_size(request_):
    short = gpu.duration_s(request_.video, 1)
    assert gpu.MIN_DURATION_S <= short < gpu.MAX_DURATION_S
    long = Video.from_frames(np.zeros((150, 8, 8, 3), np.uint8), fps=10.0)
    assert gpu.duration_s(long, 1) > short and gpu.duration_s(long, 8) == gpu.MAX_DURATION_S
    assert gpu.duration_s(long, 8, limit=60) == 60
    assert gpu.max_duration_from_env({"CLICK2GRAPH_GPU_DURATION_S": "90"}) == 90
    with pytest.raises(Click2GraphError, match="CLICK2GRAPH_GPU_DURATION_S must be"):
        gpu.max_duration_from_env({"CLICK2GRAPH_GPU_DURATION_S": "soon"})


# -- the app ---------------------------------------------------------------------------------------------------


@pytest.fixture()
def short_clip(clip, tmp_path) -> Path:
    path = tmp_path / "short.mp4"
    write_video(path, clip.frames[:FRAMES], fps=clip.fps)
    return path


def _app_server(monkeypatch, tmp_path, clip, zero_gpu: bool):
    from oracle import OracleSegmenter

    from click2graph.pipeline import Pipeline
    from demo import server
    from demo.server import Server, ServerLimits
    from demo.store import StoreLimits

    fake_spaces.CALLS.clear()
    monkeypatch.setitem(sys.modules, "spaces", fake_spaces)
    if zero_gpu:
        monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    else:
        monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    # builds on the "GPU": the classic tracker (no SAM 2 checkpoint here); clicks: an oracle, in this process
    monkeypatch.setattr(gpu, "gpu_settings", lambda settings: SETTINGS)
    local = Pipeline(OracleSegmenter(clip.labels[:FRAMES].astype(np.int32)))
    here = Server.create(pipeline=local, folder=tmp_path / "server", limits=ServerLimits(), store_limits=StoreLimits())
    monkeypatch.setattr(server, "_current", here)
    return here


def _open_and_click(path: Path, clip):
    from demo import handlers

    key = handlers.on_video(str(path), None).key
    x, y, frame = synth.preset_click(clip)
    handlers.on_click_xy(x, y, True, frame, "positive", key)
    return key


def _build(key):
    from demo import handlers

    return list(handlers.on_build(0, key, progress=lambda fraction, desc=None: None))


def test_on_zero_gpu_the_app_builds_through_spaces_gpu_in_another_process(monkeypatch, tmp_path, clip, short_clip):
    from demo import handlers
    from demo.server import current

    here = _app_server(monkeypatch, tmp_path, clip, zero_gpu=True)
    assert here.gpu is not None and "on ZeroGPU" in here.status()
    key = _open_and_click(short_clip, clip)
    updates = _build(key)

    (call,) = fake_spaces.CALLS
    assert call["worker"] != os.getpid() == call["caller"]
    assert gpu.MIN_DURATION_S <= call["duration"] <= gpu.MAX_DURATION_S
    streamed = [u for u in updates[:-1] if "Building" in str(u.build_status)]
    assert streamed and streamed[0].frame_image is not None  # the tracks so far, drawn as they came back
    result = updates[-1]
    assert result.entity_table[0][:2] == [1, "subject"] and "up to date" in result.build_status
    graph = json.loads(next(Path(f) for f in result.downloads if f.endswith("scene_graph.json")).read_text())
    assert graph["click2graph"]["backend"].startswith("classic")  # the GPU's pipeline built it, not the oracle
    visit = current().store.get(key)
    assert visit.result.remote and not visit.session.state.obj_ids  # this process tracked nothing

    # corrections edit the returned graph, and a rebuild (again on the GPU) keeps them
    update = handlers.on_relabel(1, "adult", 0, key, progress=lambda fraction, desc=None: None)
    assert update.entity_table[0][1] == "adult" and len(fake_spaces.CALLS) == 1
    x, y, frame = synth.preset_click(clip)
    handlers.on_click_xy(x + 2, y + 2, True, frame, "positive", key)
    rebuilt = _build(key)[-1]
    assert len(fake_spaces.CALLS) == 2 and rebuilt.entity_table[0][:2] == [1, "adult"]


def test_without_the_variable_builds_stay_in_this_process(monkeypatch, tmp_path, clip, short_clip):
    from demo.server import current

    here = _app_server(monkeypatch, tmp_path, clip, zero_gpu=False)
    assert here.gpu is None and here.building is here.assembled
    key = _open_and_click(short_clip, clip)
    result = _build(key)[-1]
    assert fake_spaces.CALLS == [] and result.entity_table[0][:2] == [1, "subject"]
    visit = current().store.get(key)
    assert not visit.result.remote and visit.session.state.obj_ids  # tracked here, by the oracle


class _Resolved:
    path = "unused.pt"

    class spec:  # noqa: N801
        name = "tiny"


def test_a_gpu_call_failing_mid_build_loses_nothing_and_the_next_build_works(monkeypatch, tmp_path, clip, short_clip):
    """ZeroGPU ends a call on its own terms (the visitor's quota spent, the worker gone) after updates were shown:
    the page gets one readable error and its prompts back, the visit keeps what it had, and building again works."""
    import gradio as gr

    from click2graph.build_progress import BuildStep
    from click2graph.build_stream import STREAM_INTERVAL_S, Partial
    from click2graph.remote_build import BuildUpdate
    from demo.server import current

    here = _app_server(monkeypatch, tmp_path, clip, zero_gpu=True)
    key = _open_and_click(short_clip, clip)
    working = here.gpu._stream

    def quota_spent(request):
        step = BuildStep("subject 1: tracking forward", 1, FRAMES, 0.05, unit="frame", frame_idx=0, entity_ids=(1,))
        yield BuildUpdate(0.05, step.describe(), Partial(step, {}, frozenset({1})))
        time.sleep(3 * STREAM_INTERVAL_S)  # the page draws that update while the GPU works on
        raise gr.Error("You have exceeded your GPU quota")

    monkeypatch.setattr(here.gpu, "_stream", quota_spent)
    updates = []
    with pytest.raises(gr.Error, match="GPU quota"):
        for update in handlers_build(key):
            updates.append(update)
    assert "Building" in str(updates[0].build_status)  # the stream had begun
    assert updates[-1].frame_image is not None and "Building" not in str(updates[-1].build_status)  # page restored
    visit = current().store.get(key)
    assert visit.result is None and not visit.streaming and visit.prompts.subjects  # the click is kept

    monkeypatch.setattr(here.gpu, "_stream", working)
    assert _build(key)[-1].entity_table[0][:2] == [1, "subject"]


def handlers_build(key):
    from demo import handlers

    return handlers.on_build(0, key, progress=lambda fraction, desc=None: None)
