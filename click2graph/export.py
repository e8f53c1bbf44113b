"""Files other tools read: scene-graph JSON, COCO RLE masks, the overlay video and the timeline HTML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from click2graph.graph import SceneGraph
from click2graph.masks import bbox_xyxy, rle_decode, rle_encode, to_original_size
from click2graph.video import Video

ProgressFn = Callable[[float, str], None]

EXPORT_FILES = {
    "graph": "scene_graph.json",
    "masks": "masks_coco.json",
    "video": "overlay.mp4",
    "timeline": "timeline.html",
}


def masks_to_coco(graph: SceneGraph, *, original_size: bool = True) -> dict:
    """COCO-style instance masks of every entity on every frame it appears.

    Args:
        original_size: encode masks at the original video size (default) or at the working size.

    Returns:
        ``{"info", "images", "categories", "annotations"}``: one image per working frame (with its original frame
        index), one category per distinct label, one annotation per (entity, frame) with ``segmentation`` as
        COCO RLE, ``bbox`` as ``[x, y, w, h]``, ``area``, ``entity_id`` and ``track_id``.
    """
    meta = graph.video
    width, height = (meta.width, meta.height) if original_size else (meta.work_width, meta.work_height)
    images = [
        {"id": t, "frame_idx": t, "frame_idx_orig": orig, "width": width, "height": height}
        for t, orig in enumerate(meta.frame_indices_orig)
    ]
    labels = sorted({e.label for e in graph.entities})
    category_ids = {label: i + 1 for i, label in enumerate(labels)}
    annotations = []
    for entity in graph.entities:
        for t in entity.frames:
            mask = rle_decode(entity.masks[t])
            if original_size:
                mask = to_original_size(mask, (width, height), meta.region_xywh)
            box = bbox_xyxy(mask)
            if box is None:
                continue
            x0, y0, x1, y1 = box
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": t,
                    "category_id": category_ids[entity.label],
                    "entity_id": entity.entity_id,
                    "track_id": entity.entity_id,
                    "segmentation": rle_encode(mask),
                    "area": int(mask.sum()),
                    "bbox": [x0, y0, x1 - x0 + 1, y1 - y0 + 1],
                    "iscrowd": 0,
                }
            )
    return {
        "info": {"description": f"Click2Graph masks of {graph.video_id}", "video": meta.source},
        "images": images,
        "categories": [{"id": i, "name": label} for label, i in category_ids.items()],
        "annotations": annotations,
    }


def export_all(
    graph: SceneGraph,
    video: Video,
    out_dir: str | Path,
    *,
    overlay_video: bool = True,
    progress: ProgressFn | None = None,
) -> dict[str, Path]:
    """Write all exports into ``out_dir`` and return ``{kind: path}`` (kinds as in ``EXPORT_FILES``)."""
    from click2graph.viz import save_timeline_html, write_overlay_video

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"graph": graph.save_json(out / EXPORT_FILES["graph"])}
    if progress:
        progress(0.1, "exporting masks")
    paths["masks"] = out / EXPORT_FILES["masks"]
    paths["masks"].write_text(json.dumps(masks_to_coco(graph)))
    paths["timeline"] = save_timeline_html(graph, out / EXPORT_FILES["timeline"])
    if overlay_video:
        paths["video"] = write_overlay_video(
            graph,
            video.frames,
            out / EXPORT_FILES["video"],
            progress=(lambda f, d: progress(0.3 + 0.7 * f, d)) if progress else None,
        )
    if progress:
        progress(1.0, "exported")
    return paths
