"""Turn a visit into what the page shows: the prompt frame, the results, texts. Drawing only.

Nothing here changes a visit; every function reads plain data (a :class:`~demo.visit.Visit`, a ``SceneGraph``)
and returns images, figures, rows, Markdown or an :class:`~demo.page.Update`.
"""

from __future__ import annotations

import cv2
import gradio as gr
import numpy as np

from click2graph.build_stream import Partial
from click2graph.graph import SceneGraph, rle_has_pixels, spans_from_frames, spans_text
from click2graph.masks import rle_decode
from click2graph.prompts import Box, Click, Prompt
from click2graph.video import Video
from click2graph.viz import (
    MaskOverlay,
    OverlayItem,
    add_caption,
    entity_names,
    entity_thumbnail,
    graph_figure,
    mask_preview,
    relation_name,
    render_frame,
    timeline_figure,
    tracking_figure,
)
from demo.page import Update
from demo.visit import Prompts, Visit, preview_masks

ENTITY_HEADERS = [
    "id", "label", "confidence", "label from", "top 5", "kind", "first frame", "last frame", "frames", "no mask on",
]  # fmt: skip
KIND = {"prompt": "subject", "discovery": "discovered", "added": "added by click"}
NEW_SUBJECT = 0  # subject selector value of a subject not clicked yet
START = "**1 ·** pick an example or upload a video above."


def plain_status(backend, semantics) -> str:
    """What this server gives a visitor, in plain words (the technical details go behind a fold)."""
    if backend.segmenter.name == "sam2":
        tracker = f"**SAM 2** segments and tracks what you click ({backend.segmenter.describe()})."
    else:
        tracker = (
            "**A weight-free tracker** segments and tracks what you click: this server has no SAM 2 model, so "
            "masks are rougher than SAM 2's, and a subject that does not stand out from its background may need "
            "a box or more clicks."
        )
    if semantics.classifier is not None:
        names = "**CLIP** names the entities and helps choose the relations."
    else:
        names = "Entities keep plain names (*subject*, *object 2*): rename them yourself, relations come from geometry."
    return f"{tracker} {names} Builds take turns: you see your place while you wait."


def clamp_frame(video: Video, frame_idx: int) -> int:
    return min(max(int(frame_idx), 0), len(video) - 1)


DISPLAY_WIDTH = 960  # frames narrower than this are sent scaled up, so large screens show them large


def display_scale(video: Video) -> float:
    """How much larger than the working frames the prompt frame is sent (its clicks come back divided by it)."""
    return max(1.0, DISPLAY_WIDTH / video.width)


def frame_view(visit: Visit, frame_idx: int) -> np.ndarray:
    """Working frame ``frame_idx`` with what is known there, plus the current subject's clicks or box, at the
    display size (:func:`display_scale`).

    An up-to-date result shows its labelled entities; otherwise the masks of the prompts (the preview).
    """
    video = visit.video
    frame = video.frames[frame_idx]
    if visit.result is not None and not visit.outdated:
        frame = render_frame(visit.result.graph, frame, frame_idx, show_relations=False)
    else:
        items = [OverlayItem(i, "", mask, is_subject) for i, mask, is_subject in preview_masks(visit, frame_idx)]
        frame = MaskOverlay(show_labels=False).annotate(frame, items)
    points, labels, box = [], [], None
    for prompt in visit.prompts.of(visit.subject):
        if video.work_index(prompt.frame_idx) != frame_idx:
            continue
        if isinstance(prompt, Click):
            points.append(video.to_work_xy(prompt.x, prompt.y))
            labels.append(int(prompt.positive))
        else:
            box = (*video.to_work_xy(prompt.x0, prompt.y0), *video.to_work_xy(prompt.x1, prompt.y1))
    if visit.corner and video.work_index(visit.corner[2]) == frame_idx:
        points.append(video.to_work_xy(visit.corner[0], visit.corner[1]))
        labels.append(1)
    scale = display_scale(video)
    if scale > 1:
        frame = at_display_size(video, frame)
        points = [(x * scale, y * scale) for x, y in points]
        box = None if box is None else tuple(v * scale for v in box)
    return mask_preview(frame, None, points, labels, box)


def at_display_size(video: Video, frame: np.ndarray) -> np.ndarray:
    """A working frame scaled to the size the page shows it at (:func:`display_scale`)."""
    scale = display_scale(video)
    if scale == 1:
        return frame
    return cv2.resize(frame, (round(video.width * scale), round(video.height * scale)), cv2.INTER_LINEAR)


def frame_slider(video: Video, frame_idx: int) -> dict:
    """The slider for ``video``: its range always comes with its value (a 1-frame clip shows a fixed slider)."""
    last = len(video) - 1
    return gr.update(minimum=0, maximum=max(last, 1), value=clamp_frame(video, frame_idx), interactive=last > 0)


def subject_choices(visit: Visit | None) -> dict:
    """Choices of the subject selector: each prompted subject, then a new one (value ``NEW_SUBJECT``)."""
    numbers = visit.prompts.numbers if visit is not None else []
    choices = [(f"subject {n}", n) for n in numbers]
    choices.append(("+ new subject" if numbers else "subject 1", NEW_SUBJECT))
    value = visit.subject if visit is not None and visit.subject in numbers else NEW_SUBJECT
    return gr.update(choices=choices, value=value)


def prompt_info(visit: Visit, message: str = "") -> str:
    """One line about the current subject's prompts, then ``message`` (a hint or what just happened)."""
    prompts = visit.prompts.of(visit.subject)
    name = f"Subject {visit.subject}" if visit.subject else "New subject"
    if prompts:
        clicks = [p for p in prompts if isinstance(p, Click)]
        positive = sum(p.positive for p in clicks)
        parts = [f"{positive} positive / {len(clicks) - positive} negative clicks"]
        parts += ["a box"] if any(isinstance(p, Box) for p in prompts) else []
        frames = sorted({visit.video.work_index(p.frame_idx) for p in prompts})
        where = f"working frame{'s' * (len(frames) > 1)} {', '.join(map(str, frames))}"
        text = f"**{name}:** {', '.join(parts)} on {where}."
    else:
        text = f"**{name}:** no prompt yet: click on it in the frame (or pick the box mode)."
    if visit.corner:
        text += " Box: first corner set, click the opposite corner."
    return f"{text} {message}".strip()


def build_status(visit: Visit | None) -> str:
    """What the result panel holds: nothing yet, an up-to-date result, or one that predates the last edits."""
    if visit is None:
        return START
    if visit.result is None:
        return (
            "**3 ·** press **Build scene graph** once the subject's mask looks right."
            if visit.prompts.subjects
            else "**2 ·** click the subject in the frame, then build."
        )
    seconds = "from the example cache" if visit.result.cached else f"built in {visit.result.seconds:.1f} s"
    if visit.outdated:
        return f"⚠️ **Outdated:** these results predate your last prompt changes ({seconds}); press **Build**."
    return f"✅ Scene graph up to date ({seconds}).{lost_subjects_hint(visit.result.graph)}"


def lost_subjects_hint(graph: SceneGraph) -> str:
    """Where a subject was lost, and how to correct it: a click on one of those frames."""
    names = entity_names(graph)
    lost = [(e, graph.missing_spans(e.entity_id)) for e in graph.subjects]
    lines = [
        f" **#{e.entity_id} {names[e.entity_id]}** has no mask on working frames {spans_text(missing)}: go to one "
        "of them and click it there (with its subject chosen under *Subject*) to correct the track."
        for e, missing in lost
        if missing
    ]
    return "".join(lines)


def prompt_update(visit: Visit, frame_idx: int, message: str = "") -> Update:
    """What a prompt edit changes on the page."""
    return Update(
        prompt_cell=gr.update(visible=True),
        frame_image=frame_view(visit, clamp_frame(visit.video, frame_idx)),
        subject_pick=subject_choices(visit),
        prompt_info=prompt_info(visit, message),
        build_button=gr.update(interactive=bool(visit.prompts.subjects)),
        build_status=build_status(visit),
    )


def result_update(visit: Visit, frame_idx: int) -> Update:
    """The result panels, cells 3-5, for the visit's result (or empty ones)."""
    if visit.result is None:
        return no_results().merged(Update(build_status=build_status(visit)))
    graph, paths = visit.result.graph, visit.result.paths
    frame_idx = clamp_frame(visit.video, frame_idx)
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
            spans_text(graph.missing_spans(e.entity_id)),
        ]
        for e in graph.entities
    ]
    gallery = [
        (thumb, f"#{e.entity_id} {names[e.entity_id]} · frames {e.first_frame}-{e.last_frame}")
        for e in graph.entities
        if (thumb := entity_thumbnail(graph, visit.video.frames, e.entity_id)) is not None
    ]
    choices = [(f"#{e.entity_id} {names[e.entity_id]}", e.entity_id) for e in graph.entities]
    objects = [e.entity_id for e in graph.entities if not e.is_subject]
    relations = [(relation_name(r, names), relation_key(r)) for r in graph.ranked_relations()]
    return Update(
        results_cell=gr.update(visible=True),
        frame_image=frame_view(visit, frame_idx),
        prompt_info=prompt_info(visit),
        build_status=build_status(visit),
        overlay=str(paths["video"]),
        timeline=timeline_figure(graph, frame_idx),
        graph_plot=graph_figure(graph, frame_idx),
        entity_table=rows,
        entity_gallery=gallery,
        entity_pick=gr.update(choices=choices, value=objects[0] if objects else choices[0][1] if choices else None),
        relation_pick=gr.update(choices=relations, value=relations[0][1] if relations else None),
        downloads=[str(paths[kind]) for kind in ("graph", "masks", "video", "timeline")],
        snippet=python_snippet(visit.source_name, visit.prompts),
    )


def partial_update(visit: Visit, partial: Partial, status: str) -> Update:
    """What a running build shows: the frame it just tracked with every mask there so far, the tracking timeline
    (each entity's frames so far, subjects first) and its progress line. Drawn from the build's copy only."""
    video, frame_idx, subjects = visit.video, partial.step.frame_idx, partial.subjects
    numbers = {pipeline_id: number for number, pipeline_id in visit.subject_ids.items()}
    order = sorted(partial.tracks, key=lambda i: (i not in subjects, i))
    colour = {i: visit.shown_ids.get(i, i) for i in order}
    names = {i: f"subject {numbers.get(i, i)}" if i in subjects else f"#{colour[i]}" for i in order}
    frames = {i: [t for t, rle in partial.tracks[i].items() if rle_has_pixels(rle)] for i in order}
    lanes = [(colour[i], names[i], spans_from_frames(frames[i])) for i in order if frames[i]]
    update = Update(
        results_cell=gr.update(visible=True),
        timeline=tracking_figure(lanes, len(video), video.fps, frame_idx),
        build_status=f"⏳ **Building:** {status}",
    )
    if frame_idx is not None:
        items = [  # objects first, so that the subjects' contours and tags sit on top
            OverlayItem(colour[i], names[i], rle_decode(partial.tracks[i][frame_idx]), i in subjects)
            for i in reversed(order)
            if frame_idx in frames[i]
        ]
        frame = add_caption(MaskOverlay().annotate(video.frames[frame_idx], items), [f"working frame {frame_idx}"])
        update.frame_image = at_display_size(video, frame)
    return update


def no_results() -> Update:
    """Empty result components (a new video, a reset)."""
    empty = gr.update(choices=[], value=None)
    return Update(
        results_cell=gr.update(visible=False),
        overlay=None,
        timeline=None,
        graph_plot=None,
        entity_table=[],
        entity_gallery=[],
        entity_pick=empty,
        relation_pick=empty,
        downloads=None,
        snippet="",
    )


def graph_at(graph: SceneGraph | None, frame_idx: int) -> Update:
    """The timeline cursor and the graph view at ``frame_idx``."""
    if graph is None:
        return Update()
    return Update(timeline=timeline_figure(graph, frame_idx), graph_plot=graph_figure(graph, frame_idx))


def relation_key(relation) -> str:
    """A relation as a dropdown value: ``"subject_id|object_id|predicate"``."""
    return f"{relation.subject_id}|{relation.object_id}|{relation.predicate}"


def python_snippet(video_name: str, prompts: Prompts) -> str:
    """The same run from Python, with the prompts of every subject (original pixels and frame indices)."""
    lines = [
        "from click2graph import Box, Click, Settings, load_video",
        "",
        f"video = load_video({video_name!r})",
        "pipeline = Settings().assemble().pipeline  # SAM 2 when its weights are found, else the classic tracker",
        "session = pipeline.open(video)",
    ]
    for number, subject_prompts in prompts.subjects:
        args = ", ".join(_prompt_code(p) for p in subject_prompts)
        lines.append(f"pipeline.prompt_subject(session, [{args}], subject_id={number})")
    lines += ["graph = pipeline.build(session)", 'graph.save_json("scene_graph.json")']
    return "\n".join(lines)


def _prompt_code(prompt: Prompt) -> str:
    if isinstance(prompt, Box):
        x0, y0, x1, y1 = (round(v, 1) for v in prompt.xyxy)
        return f"Box({x0:g}, {y0:g}, {x1:g}, {y1:g}, frame_idx={prompt.frame_idx})"
    positive = "" if prompt.positive else ", positive=False"
    return f"Click({round(prompt.x, 1):g}, {round(prompt.y, 1):g}, frame_idx={prompt.frame_idx}{positive})"
