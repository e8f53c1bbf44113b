"""Loader for the OpenPVSG layout: ``pvsg.json`` plus per-frame palette mask PNGs.

Layouts read (``ROOT`` is the folder holding ``pvsg.json``)::

    ROOT/pvsg.json
    ROOT/<source>/masks/<video_id>/0000.png   (official: source = vidor | epic_kitchen | ego4d)
    ROOT/masks/<video_id>/0000.png            (flat, as our synthetic generator writes)
    .../frames/<video_id>/0000.png, .../videos/<video_id>.mp4 beside the masks

Mask pixels hold the ``object_id`` (0 = void/background). Relations are
``[subject_id, object_id, predicate, [[start, end], ...]]`` with inclusive frame spans.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from click2graph.video import list_frame_files


@dataclass(frozen=True)
class GtRelation:
    subject_id: int
    object_id: int
    predicate: str
    spans: tuple[tuple[int, int], ...]  # inclusive original frame indices

    def frames(self, num_frames: int | None = None) -> set[int]:
        end_limit = num_frames if num_frames is not None else 1 << 30
        return {t for a, b in self.spans for t in range(a, min(b, end_limit - 1) + 1)}


@dataclass
class PvsgVideo:
    """One annotated video: objects, relations and where its masks, frames and video file are."""

    video_id: str
    source: str
    meta: dict
    objects: list[dict]
    relations: list[GtRelation]
    folder: Path  # the folder holding masks/, frames/, videos/

    @property
    def num_frames(self) -> int:
        return int(self.meta["num_frames"])

    @property
    def mask_dir(self) -> Path:
        return self.folder / "masks" / self.video_id

    @property
    def frame_dir(self) -> Path:
        return self.folder / "frames" / self.video_id

    @property
    def video_path(self) -> Path:
        return self.folder / "videos" / f"{self.video_id}.mp4"

    def category(self, object_id: int) -> str:
        for obj in self.objects:
            if obj["object_id"] == object_id:
                return obj["category"]
        raise KeyError(f"video {self.video_id} has no object {object_id}")

    def panoptic(self, frame_idx: int) -> np.ndarray:
        """int (H, W) object ids on an original frame (0 = void); zeros if the frame has no mask file."""
        files = _mask_files(self.mask_dir)
        if frame_idx < len(files):
            return np.asarray(Image.open(files[frame_idx]))
        return np.zeros((int(self.meta["height"]), int(self.meta["width"])), np.uint8)


@dataclass
class PvsgDataset:
    root: Path
    thing_classes: list[str]
    stuff_classes: list[str]
    predicates: list[str]
    split: dict
    videos: dict[str, PvsgVideo] = field(default_factory=dict)

    def video_ids(self, split: str = "val") -> list[str]:
        """Ids of a split over all sources, in file order, keeping only videos with an annotation entry."""
        ids = [vid for source in self.split.values() for vid in source.get(split, [])]
        return [vid for vid in ids if vid in self.videos]


def load_pvsg(path: str | Path) -> PvsgDataset:
    """Read ``pvsg.json`` (path to the file or to the folder holding it)."""
    path = Path(path)
    json_path = path / "pvsg.json" if path.is_dir() else path
    data = json.loads(json_path.read_text())
    root = json_path.parent
    source_of = {vid: source for source, parts in data["split"].items() for ids in parts.values() for vid in ids}
    videos = {}
    for entry in data["data"]:
        vid = entry["video_id"]
        source = source_of.get(vid, "")
        folder = root / source if source and (root / source / "masks" / vid).is_dir() else root
        videos[vid] = PvsgVideo(
            video_id=vid,
            source=source,
            meta=entry["meta"],
            objects=entry["objects"],
            relations=[
                GtRelation(int(s), int(o), p, tuple((int(a), int(b)) for a, b in spans))
                for s, o, p, spans in entry["relations"]
            ],
            folder=folder,
        )
    return PvsgDataset(
        root=root,
        thing_classes=data["objects"]["thing"],
        stuff_classes=data["objects"]["stuff"],
        predicates=data["relations"],
        split=data["split"],
        videos=videos,
    )


@lru_cache(maxsize=32)
def _mask_files(folder: Path) -> list[Path]:
    return list_frame_files(folder) if folder.is_dir() else []
