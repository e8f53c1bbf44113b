"""Loader for the OpenPVSG layout: ``pvsg.json`` plus per-frame palette mask PNGs.

Layouts read (``ROOT`` is the folder holding ``pvsg.json``)::

    ROOT/pvsg.json
    ROOT/<source>/masks/<video_id>/0000.png   (official: source = vidor | epic_kitchen | ego4d)
    ROOT/masks/<video_id>/0000.png            (flat, as our synthetic generator writes)
    .../frames/<video_id>/0000.png, .../videos/<video_id>.mp4 beside the masks

Mask pixels hold the ``object_id`` (0 = void/background). Relations are
``[subject_id, object_id, predicate, [[start, end], ...]]`` with inclusive frame spans. As OpenPVSG's own
annotation loader (``PVSGRelationAnnotation``) does, a relation whose predicate is not one of the file's
``relations`` (the 57 predicates) is dropped from the ground truth.

A file that does not have this layout raises :class:`DatasetError` with what is wrong and where.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from click2graph.errors import Click2GraphError
from click2graph.video import list_frame_files


class DatasetError(Click2GraphError):
    """A ``pvsg.json`` (or the folders beside it) does not have the OpenPVSG layout."""


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

    def missing_media(self, *, frames: bool) -> list[str]:
        """What scoring (masks) or running (also frames: a frame folder or the video file) would lack, as paths."""
        missing = [] if _mask_files(self.mask_dir) else [f"{self.mask_dir}/"]
        if frames and not (self.frame_dir.is_dir() or self.video_path.is_file()):
            missing.append(f"{self.frame_dir}/ or {self.video_path}")
        return missing

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


def pvsg_json_path(path: str | Path) -> Path:
    """The annotation file named by ``path``: ``path/pvsg.json`` for a folder, else ``path`` itself."""
    path = Path(path)
    return path / "pvsg.json" if path.is_dir() else path


def load_pvsg(path: str | Path) -> PvsgDataset:
    """Read ``pvsg.json`` (path to the file or to the folder holding it).

    Raises:
        DatasetError: the file is not JSON or lacks a part of the OpenPVSG layout (the message names it).
    """
    json_path = pvsg_json_path(path)
    try:
        data = json.loads(json_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{json_path} is not valid JSON ({exc})") from None
    try:
        return _parse(data, json_path.parent)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise DatasetError(
            f"{json_path} does not have the OpenPVSG layout ({what}); expected keys objects (thing, stuff), "
            "relations, split and data (video_id, meta, objects, relations)"
        ) from None


def _parse(data: dict, root: Path) -> PvsgDataset:
    if not isinstance(data, dict):
        raise TypeError(f"the top level is a {type(data).__name__}, not an object")
    predicates = [str(p) for p in data["relations"]]
    known = set(predicates)
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
                if p in known  # OpenPVSG drops relations outside its predicate list from the ground truth
            ],
            folder=folder,
        )
        _check_video(videos[vid])
    return PvsgDataset(
        root=root,
        thing_classes=list(data["objects"]["thing"]),
        stuff_classes=list(data["objects"]["stuff"]),
        predicates=predicates,
        split=data["split"],
        videos=videos,
    )


def _check_video(video: PvsgVideo) -> None:
    """The parts of an entry that scoring reads later: its frame count and the objects its relations name."""
    if video.num_frames < 1:
        raise ValueError(f"video {video.video_id}: meta num_frames is {video.num_frames}")
    ids = {int(obj["object_id"]) for obj in video.objects if str(obj["category"])}
    unknown = sorted({i for rel in video.relations for i in (rel.subject_id, rel.object_id)} - ids)
    if unknown:
        raise ValueError(f"video {video.video_id}: relations name objects {unknown} that are not in its objects")


@lru_cache(maxsize=32)
def _mask_files(folder: Path) -> list[Path]:
    return list_frame_files(folder) if folder.is_dir() else []
