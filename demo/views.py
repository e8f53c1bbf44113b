"""Turn library results into component values: the prompt frame, the result panel, texts. Drawing only.

Nothing here changes a session; every function reads plain data (the UI state dict, a ``Session``, a
``SceneGraph``) and returns images, figures, rows or Markdown.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np

from click2graph.graph import SceneGraph
from click2graph.pipeline import Session
from click2graph.prompts import prompt_from_dict
from click2graph.viz import (
    MaskOverlay,
    OverlayItem,
    entity_names,
    entity_thumbnail,
    graph_figure,
    mask_preview,
    relation_name,
    render_frame,
    timeline_figure,
)

ENTITY_HEADERS = ["id", "label", "confidence", "label from", "top 5", "kind", "first frame", "last frame", "frames"]
KIND = {"prompt": "subject", "discovery": "discovered", "added": "added by click"}
NEW_SUBJECT = 0  # subject selector value of a subject whose id is given at its first click


def frame_view(session: Session, graph: SceneGraph | None, ui: dict, frame_idx: int) -> np.ndarray:
    """Working frame ``frame_idx`` with what is known there, plus the current subject's clicks or box.

    With a built graph the labelled entities are drawn; before (or after an edit) the segmenter's current masks.
    """
    video = session.video
    frame = video.frames[frame_idx]
    if graph is not None:
        frame = render_frame(graph, frame, frame_idx, show_relations=False)
    else:
        items = [
            OverlayItem(i, "", m, i in session.subjects)
            for i in session.state.obj_ids
            if (m := session.state.mask(i, frame_idx)) is not None and m.any()
        ]
        frame = MaskOverlay(show_labels=False).annotate(frame, items)
    points, labels, box = [], [], None
    for data in ui["prompts"].get(ui["subject"], []):
        prompt = prompt_from_dict(data)
        if video.work_index(prompt.frame_idx) != frame_idx:
            continue
        if data["type"] == "click":
            points.append(video.to_work_xy(prompt.x, prompt.y))
            labels.append(int(prompt.positive))
        else:
            box = (*video.to_work_xy(prompt.x0, prompt.y0), *video.to_work_xy(prompt.x1, prompt.y1))
    corner = ui.get("corner")
    if corner and video.work_index(corner[2]) == frame_idx:
        points.append(video.to_work_xy(corner[0], corner[1]))
        labels.append(1)
    return mask_preview(frame, None, points, labels, box)


def subject_choices(session: Session | None, ui: dict) -> dict:
    """Choices of the subject selector: each prompted subject, then a new one (value ``NEW_SUBJECT``)."""
    ids = sorted(session.subjects) if session is not None else []
    choices = [(f"subject {i}", i) for i in ids]
    choices.append(("+ new subject" if ids else "subject 1", NEW_SUBJECT))
    value = ui["subject"] if ui["subject"] in ids else NEW_SUBJECT
    return gr.update(choices=choices, value=value)


def prompt_info(ui: dict, message: str = "") -> str:
    """One line about the current subject's prompts, then ``message`` (a hint or what just happened)."""
    prompts = ui["prompts"].get(ui["subject"], [])
    name = f"Subject {ui['subject']}" if ui["subject"] else "New subject"
    if prompts:
        clicks = [p for p in prompts if p["type"] == "click"]
        positive = sum(p["positive"] for p in clicks)
        boxes = len(prompts) - len(clicks)
        parts = [f"{positive} positive / {len(clicks) - positive} negative clicks"] + (["a box"] if boxes else [])
        text = f"**{name}:** {', '.join(parts)} on original frame {prompts[0]['frame_idx']}."
    else:
        text = f"**{name}:** no prompt yet: click on it in the frame (or pick the box mode)."
    if ui.get("corner"):
        text += " Box: first corner set, click the opposite corner."
    return f"{text} {message}".strip()


def results(graph: SceneGraph, frames: np.ndarray, paths: dict[str, Path], frame_idx: int, snippet: str) -> tuple:
    """Values of the result components, in the order of ``demo.app.RESULT_OUTPUTS``."""
    names = entity_names(graph)
    rows = [
        [
            e.entity_id,
            names[e.entity_id],
            "" if e.label_score is None else f"{e.label_score:.2f}",
            e.label_source,
            ", ".join(f"{label} {p:.2f}" for label, p in e.top5),
            KIND.get(e.origin, e.origin),
            e.first_frame,
            e.last_frame,
            len(e.frames),
        ]
        for e in graph.entities
    ]
    gallery = [
        (thumb, f"#{e.entity_id} {names[e.entity_id]} · frames {e.first_frame}-{e.last_frame}")
        for e in graph.entities
        if (thumb := entity_thumbnail(graph, frames, e.entity_id)) is not None
    ]
    choices = [(f"#{e.entity_id} {names[e.entity_id]}", e.entity_id) for e in graph.entities]
    objects = [e.entity_id for e in graph.entities if not e.is_subject]
    relations = [(relation_name(r, names), relation_key(r)) for r in graph.ranked_relations()]
    return (
        str(paths["video"]),  # overlay video
        timeline_figure(graph, frame_idx),  # timeline plot
        graph_figure(graph, frame_idx),  # graph plot
        rows,  # entity table
        gallery,  # entity gallery
        gr.update(choices=choices, value=objects[0] if objects else choices[0][1]),  # relabel/drop entity
        gr.update(choices=relations, value=relations[0][1] if relations else None),  # predicate correction
        [str(paths[kind]) for kind in ("graph", "masks", "video", "timeline")],  # downloads
        snippet,  # code snippet
    )


def no_results() -> tuple:
    """Empty result components (a new video, a reset)."""
    empty = gr.update(choices=[], value=None)
    return None, None, None, [], [], empty, empty, None, ""


def relation_key(relation) -> str:
    """A relation as a dropdown value: ``"subject_id|object_id|predicate"``."""
    return f"{relation.subject_id}|{relation.object_id}|{relation.predicate}"


def parse_relation_key(key: str) -> tuple[int, int, str]:
    subject_id, object_id, predicate = key.split("|", 2)
    return int(subject_id), int(object_id), predicate


def python_snippet(video_name: str, prompts: dict[int, list[dict]]) -> str:
    """The same run from Python, with the prompts of every subject (original pixels and frame indices)."""
    lines = [
        "from click2graph.pipeline import Pipeline",
        "from click2graph.prompts import Box, Click",
        "from click2graph.video import load_video",
        "",
        f"video = load_video({video_name!r})",
        "pipeline = Pipeline()  # the backend in the status line",
        "session = pipeline.open(video)",
    ]
    for subject_id, subject_prompts in sorted(prompts.items()):
        args = ", ".join(_prompt_code(p) for p in subject_prompts)
        lines.append(f"pipeline.prompt_subject(session, [{args}], subject_id={subject_id})")
    lines += ["graph = pipeline.build(session)", 'graph.save_json("scene_graph.json")']
    return "\n".join(lines)


def _prompt_code(data: dict) -> str:
    if data["type"] == "box":
        x0, y0, x1, y1 = (round(v, 1) for v in data["xyxy"])
        return f"Box({x0:g}, {y0:g}, {x1:g}, {y1:g}, frame_idx={data['frame_idx']})"
    positive = "" if data["positive"] else ", positive=False"
    return f"Click({round(data['x'], 1):g}, {round(data['y'], 1):g}, frame_idx={data['frame_idx']}{positive})"
