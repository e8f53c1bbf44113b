"""Event handlers: read the small UI state, call one library function, turn the result into component values.

The UI state (``gr.State``) is a plain dict: ``{"key": session key, "clicks": [[x, y, positive], ...] in
original pixels, "frame": working frame index of the clicks}``. Heavy objects live in the server-side
:class:`click2graph.sessions.SessionStore` under that key.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path

import gradio as gr
import numpy as np

from click2graph.errors import Click2GraphError
from click2graph.export import export_all
from click2graph.pipeline import Pipeline
from click2graph.prompts import Click
from click2graph.sessions import SessionStore
from click2graph.video import VideoPolicy, load_video
from click2graph.viz import graph_figure, mask_preview, timeline_figure

logger = logging.getLogger(__name__)

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
POLICY = VideoPolicy()
STORE = SessionStore()  # holds per-user data keyed by a random per-tab key; no user state in this module itself
PIPELINE = Pipeline()  # one segmenter per process


def new_state() -> dict:
    return {"key": STORE.new_key(), "clicks": [], "frame": 0}


def user_errors(handler):
    """Show library errors as readable notices and anything unexpected as a short message, never a trace."""

    @functools.wraps(handler)
    def wrapped(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except Click2GraphError as exc:
            raise gr.Error(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - the UI must never show a stack trace
            logger.exception("unexpected error in %s", handler.__name__)
            raise gr.Error(f"Something went wrong ({type(exc).__name__}: {exc}). Try again or reload the page.") from None

    return wrapped


def load_examples() -> list[dict]:
    manifest = EXAMPLES_DIR / "manifest.json"
    if not manifest.exists():
        return []
    return [dict(e, path=str(EXAMPLES_DIR / e["file"])) for e in json.loads(manifest.read_text())]


def _session(state: dict):
    stored = STORE.get(state["key"])
    if "video" not in stored.data:
        raise Click2GraphError("open a video first (upload one or pick an example)")
    return stored


def _preview(stored, state: dict, frame_idx: int) -> np.ndarray:
    video = stored.data["video"]
    frame = video.frames[frame_idx]
    if frame_idx != state["frame"] or not state["clicks"]:
        return frame
    mask = stored.data.get("mask")
    points = [video.to_work_xy(x, y) for x, y, _ in state["clicks"]]
    labels = [1 if positive else 0 for _, _, positive in state["clicks"]]
    return mask_preview(frame, mask, points, labels)


@user_errors
def on_video(path: str | None, state: dict):
    """A video was uploaded or an example chosen: decode it with the policy and show its first frame."""
    if not path:
        return None, gr.update(maximum=1, value=0), "", state
    state = dict(state, clicks=[], frame=0)
    stored = STORE.get(state["key"])
    video = load_video(path, POLICY)
    stored.data.clear()
    stored.data.update(video=video, session=PIPELINE.open(video))
    info = f"{video.describe()}. {POLICY.describe()}"
    return video.frames[0], gr.update(maximum=max(1, len(video) - 1), value=0), info, state


@user_errors
def on_frame(frame_idx: int, state: dict):
    """The frame slider moved: show that frame (with the subject preview on the prompted frame)."""
    stored = STORE.get(state["key"])
    if "video" not in stored.data:
        return None
    return _preview(stored, state, int(frame_idx))


def _apply_clicks(stored, state: dict) -> np.ndarray:
    video = stored.data["video"]
    prompts = [Click(x, y, frame_idx=video.orig_index(state["frame"]), positive=p) for x, y, p in state["clicks"]]
    stored.data["mask"] = PIPELINE.prompt_subject(stored.data["session"], prompts, subject_id=1)
    stored.data.pop("graph", None)
    return _preview(stored, state, state["frame"])


@user_errors
def on_click_xy(x: float, y: float, positive: bool, frame_idx: int, state: dict):
    """Add a click at working-frame pixel (x, y) on ``frame_idx`` (the numeric twin of clicking the image)."""
    stored = _session(state)
    video = stored.data["video"]
    frame_idx = int(frame_idx)
    if not (0 <= x < video.width and 0 <= y < video.height):
        raise Click2GraphError(f"click ({x:g}, {y:g}) is outside the {video.width}x{video.height} frame")
    clicks = state["clicks"] if frame_idx == state["frame"] else []
    x_orig, y_orig = video.to_orig_xy(x, y)
    state = dict(state, frame=frame_idx, clicks=[*clicks, [x_orig, y_orig, bool(positive)]])
    try:
        image = _apply_clicks(stored, state)
    except Click2GraphError:
        state["clicks"] = clicks  # keep what worked before this click
        raise
    return image, state


def on_image_select(mode: str, frame_idx: int, state: dict, evt: gr.SelectData):
    """The user clicked the frame image (pixel coordinates of the displayed working frame)."""
    x, y = evt.index
    return on_click_xy(float(x), float(y), mode == "positive", frame_idx, state)


@user_errors
def on_undo(state: dict):
    stored = _session(state)
    state = dict(state, clicks=state["clicks"][:-1])
    if not state["clicks"]:
        stored.data.pop("mask", None)
        return stored.data["video"].frames[state["frame"]], state
    return _apply_clicks(stored, state), state


@user_errors
def on_clear(state: dict):
    stored = _session(state)
    stored.data.update(session=PIPELINE.open(stored.data["video"]))
    stored.data.pop("mask", None)
    stored.data.pop("graph", None)
    state = dict(state, clicks=[])
    return stored.data["video"].frames[state["frame"]], state


@user_errors
def on_build(state: dict, progress=gr.Progress()):
    """Track, discover, relate and export; returns the overlay video, figures, downloads and the entity table."""
    stored = _session(state)
    if not state["clicks"]:
        raise Click2GraphError("click on the subject first (the mask appears on the frame)")
    with stored.lock:
        video, session = stored.data["video"], stored.data["session"]
        graph = PIPELINE.build(session, progress=lambda f, d: progress(0.8 * f, desc=d))
        paths = export_all(graph, video, stored.folder, progress=lambda f, d: progress(0.8 + 0.2 * f, desc=d))
        stored.data["graph"] = graph
    rows = [[e.entity_id, e.label, e.origin, e.first_frame, e.last_frame] for e in graph.entities]
    return (
        str(paths["video"]),
        timeline_figure(graph, state["frame"]),
        graph_figure(graph, state["frame"]),
        [str(paths["graph"]), str(paths["masks"]), str(paths["timeline"]), str(paths["video"])],
        rows,
    )


@user_errors
def on_cursor(frame_idx: int, state: dict):
    """Move the timeline marker and the graph view to the slider's frame."""
    stored = STORE.get(state["key"])
    graph = stored.data.get("graph")
    if graph is None:
        return gr.update(), gr.update()
    return timeline_figure(graph, int(frame_idx)), graph_figure(graph, int(frame_idx))


@user_errors
def on_example(name: str, state: dict):
    """Load an example clip and apply its preset click."""
    example = next((e for e in load_examples() if e["name"] == name), None)
    if example is None:
        raise Click2GraphError(f"unknown example {name!r}")
    image, slider, info, state = on_video(example["path"], state)
    stored = _session(state)
    video = stored.data["video"]
    x, y, frame = example["click"]
    state = dict(state, frame=video.work_index(frame), clicks=[[x, y, True]])
    return example["path"], _apply_clicks(stored, state), gr.update(value=state["frame"]), info, state


def on_unload(state: dict) -> None:
    STORE.close(state["key"])
