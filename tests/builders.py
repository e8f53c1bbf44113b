"""Tiny hand-built test data: box masks, entities and scene graphs (no video, no model), and a generated clip cut
short in the OpenPVSG layout (:func:`short_dataset`).

The default scene (``make_graph()``), 10 working frames of 96x64 at 10 fps (every 2nd original frame at 20 fps):
    id 1 "person" (subject), frames 0-9, box (8, 8, 40, 56)
    id 2 "ball",             frames 2-7, box (50, 30, 62, 42)
    id 3 "ball",             frames 5-9, box (70, 10, 86, 26)
    1 -holding-> 2 on 2-4, 1 -touching-> 2 on 3-7, 1 -looking at-> 3 on 6-9
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from click2graph import synth
from click2graph.graph import Entity, Relation, SceneGraph, VideoMeta
from click2graph.masks import rle_encode

SIZE_WH = (96, 64)
NUM_FRAMES = 10


def box_mask(size_wh: tuple[int, int], box_xyxy: tuple[int, int, int, int]) -> np.ndarray:
    """Bool (H, W) mask, True on ``x0 <= x < x1, y0 <= y < y1`` (half-open box)."""
    width, height = size_wh
    x0, y0, x1, y1 = box_xyxy
    mask = np.zeros((height, width), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def make_entity(
    entity_id: int,
    label: str,
    box_xyxy: tuple[int, int, int, int],
    frames: Iterable[int],
    *,
    size_wh: tuple[int, int] = SIZE_WH,
    is_subject: bool = False,
    **fields,
) -> Entity:
    """An entity with the same box mask (as COCO RLE) on each of ``frames``; ``fields`` go to :class:`Entity`."""
    rle = rle_encode(box_mask(size_wh, box_xyxy))
    return Entity(
        entity_id=entity_id, label=label, is_subject=is_subject, masks={t: dict(rle) for t in frames}, **fields
    )


def make_video_meta(
    *, num_frames: int = NUM_FRAMES, size_wh: tuple[int, int] = SIZE_WH, work_fps: float = 10.0, frame_step: int = 2
) -> VideoMeta:
    """Working frames = every ``frame_step``-th original frame, original fps = ``work_fps * frame_step``."""
    width, height = size_wh
    return VideoMeta(
        source="synthetic",
        width=width,
        height=height,
        fps=work_fps * frame_step,
        num_frames=num_frames * frame_step,
        work_width=width,
        work_height=height,
        work_fps=work_fps,
        frame_indices_orig=[i * frame_step for i in range(num_frames)],
    )


def make_graph(
    entities: Sequence[Entity] | None = None,
    relations: Sequence[Relation | tuple] | None = None,
    *,
    num_frames: int = NUM_FRAMES,
    size_wh: tuple[int, int] = SIZE_WH,
    work_fps: float = 10.0,
    frame_step: int = 2,
) -> SceneGraph:
    """A :class:`SceneGraph`; ``None`` entities/relations give the default scene of the module docstring.

    Relations may be given as ``(subject_id, object_id, predicate, spans)`` tuples.
    """
    if entities is None:
        entities = [
            make_entity(1, "person", (8, 8, 40, 56), range(0, 10), size_wh=size_wh, is_subject=True),
            make_entity(2, "ball", (50, 30, 62, 42), range(2, 8), size_wh=size_wh, subject_id=1, origin="discovery"),
            make_entity(3, "ball", (70, 10, 86, 26), range(5, 10), size_wh=size_wh, subject_id=1, origin="discovery"),
        ]
    if relations is None:
        relations = [
            Relation(
                1, 2, "holding", [(2, 4)], score=0.9, sources=["geometric"], frame_scores={2: 0.8, 3: 0.9, 4: 1.0}
            ),
            Relation(1, 2, "touching", [(3, 7)], score=0.7, sources=["geometric"]),
            Relation(1, 3, "looking at", [(6, 9)], score=0.5, sources=["geometric", "clip"]),
        ]
    relations = [r if isinstance(r, Relation) else Relation(r[0], r[1], r[2], list(r[3])) for r in relations]
    video = make_video_meta(num_frames=num_frames, size_wh=size_wh, work_fps=work_fps, frame_step=frame_step)
    return SceneGraph(video=video, entities=list(entities), relations=relations, backend="test", video_id="synthetic")


def make_frames(*, num_frames: int = NUM_FRAMES, size_wh: tuple[int, int] = SIZE_WH) -> np.ndarray:
    """uint8 (N, H, W, 3) frames: a horizontal grey ramp that brightens over time (so frames differ)."""
    width, height = size_wh
    ramp = np.linspace(40, 200, width, dtype=np.float32)[None, :, None]
    frames = [np.broadcast_to(ramp + 4 * t, (height, width, 3)) for t in range(num_frames)]
    return np.clip(np.stack(frames), 0, 255).astype(np.uint8)


def objects_of(graph: SceneGraph, subject_id: int) -> list[Entity]:
    """The objects found for (or added to) ``subject_id``, in graph order."""
    return [e for e in graph.entities if not e.is_subject and e.subject_id == subject_id]


def label_centre(labels: np.ndarray, label: int) -> tuple[float, float]:
    """The median (x, y) of the pixels labelled ``label`` in a label image: a click inside that entity."""
    ys, xs = np.nonzero(labels == label)
    return float(np.median(xs)), float(np.median(ys))


def short_dataset(folder: Path, names: Sequence[str], frames: int) -> Path:
    """The generated clips ``names`` in the OpenPVSG layout, cut to their first ``frames`` frames (so that SAM 2 with
    random weights gets through them in seconds on a CPU)."""
    path = synth.write_dataset(folder, names)
    pvsg = json.loads(path.read_text())
    for entry in pvsg["data"]:
        entry["meta"]["num_frames"] = frames
        kept = (
            [s, o, p, [[a, min(b, frames - 1)] for a, b in spans if a < frames]]
            for s, o, p, spans in entry["relations"]
        )
        entry["relations"] = [r for r in kept if r[3]]  # relations that start later are not in the cut
        for kind in ("frames", "masks"):
            for png in sorted((folder / kind / entry["video_id"]).glob("*.png"))[frames:]:
                png.unlink()
    path.write_text(json.dumps(pvsg))
    return path
