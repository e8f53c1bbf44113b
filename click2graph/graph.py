"""The scene graph: plain dataclasses, a networkx view and OpenPVSG-style JSON in and out.

Frame indices are *working* frames (see :class:`click2graph.video.Video`); ``VideoMeta.frame_indices_orig`` maps
each back to the original video. Masks are COCO RLE at working resolution, so a graph holds no full frames.

JSON layout (OpenPVSG core plus our extras; a round trip is lossless)::

    {"video_id", "video_path", "width", "height", "fps", "num_frames",      # OpenPVSG video keys (working frames)
     "objects": [{"object_id", "category", "is_thing", <extras>}, ...],
     "relations": [[subject_id, object_id, predicate, [[start, end], ...]], ...],   # inclusive spans
     "click2graph": {"version", "backend", "video": {...}, "relation_info": [{score, sources, frame_scores}, ...]}}
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

import networkx as nx
import numpy as np

from click2graph.masks import rle_area, rle_decode

FORMAT_VERSION = 1
Span = tuple[int, int]  # inclusive working-frame interval


@dataclass
class VideoMeta:
    """Where the graph's frames come from: original size/rate and the working frames used."""

    source: str
    width: int  # original pixels
    height: int
    fps: float  # original frame rate
    num_frames: int  # original frame count
    work_width: int
    work_height: int
    work_fps: float
    frame_indices_orig: list[int]  # original frame index of each working frame
    # (x0, y0, width, height) in original pixels of what the working frames show, when black bars were left out
    # (click2graph.video.Video.region); None: the whole original frame
    region: list[float] | None = None

    @property
    def num_work_frames(self) -> int:
        return len(self.frame_indices_orig)

    @property
    def region_xywh(self) -> tuple[float, float, float, float]:
        return tuple(self.region) if self.region else (0.0, 0.0, float(self.width), float(self.height))

    def to_original_xy(self, x: float, y: float) -> tuple[float, float]:
        """A working-frame point in original pixels."""
        x0, y0, width, height = self.region_xywh
        return x * width / self.work_width + x0, y * height / self.work_height + y0

    @classmethod
    def from_video(cls, video) -> "VideoMeta":
        return cls(
            source=Path(video.info.source).name,  # the file name only: exports never carry a server's paths
            width=video.info.width,
            height=video.info.height,
            fps=float(video.info.fps),
            num_frames=video.info.num_frames,
            work_width=video.width,
            work_height=video.height,
            work_fps=float(video.fps),
            frame_indices_orig=[int(i) for i in video.frame_indices_orig],
            region=None if video.region is None else [float(v) for v in video.region],
        )


@dataclass
class Entity:
    """A tracked thing: the prompted subject or a discovered/added object.

    ``label`` is "subject" / "object N" unless a classifier or the user named it; ``label_source`` says which
    ("default", "model", "prior", "user"); ``top5`` lists ``(label, score)`` alternatives when a classifier ran.
    """

    entity_id: int
    label: str
    is_subject: bool = False
    is_thing: bool = True
    label_source: str = "default"
    label_score: float | None = None
    top5: list[tuple[str, float]] = field(default_factory=list)
    origin: str = "prompt"  # "prompt" (user-prompted), "discovery", "added"
    subject_id: int | None = None  # for objects: the subject whose discovery found them
    prompts: list[dict] = field(default_factory=list)  # user prompts (Click/Box dicts) or discovery points
    masks: dict[int, dict] = field(default_factory=dict)  # working frame -> COCO RLE

    @property
    def frames(self) -> list[int]:
        """Working frames where the entity has a non-empty mask, sorted."""
        return sorted(t for t, rle in self.masks.items() if rle_has_pixels(rle))

    @property
    def first_frame(self) -> int | None:
        frames = self.frames
        return frames[0] if frames else None

    @property
    def last_frame(self) -> int | None:
        frames = self.frames
        return frames[-1] if frames else None

    def present(self, frame_idx: int) -> bool:
        rle = self.masks.get(frame_idx)
        return rle is not None and rle_has_pixels(rle)

    def mask(self, frame_idx: int) -> np.ndarray | None:
        rle = self.masks.get(frame_idx)
        return None if rle is None else rle_decode(rle)

    def mask_signature(self) -> int:
        """Changes whenever any of the masks does (a hash of the RLE strings): a key for cached results."""
        return hash(tuple((t, str(rle["counts"])) for t, rle in sorted(self.masks.items())))


@dataclass
class Relation:
    """<subject, predicate, object> with the inclusive working-frame spans where it holds.

    ``score`` ranks relations (R@K); ``frame_scores`` keeps the per-frame evidence inside the spans; ``sources``
    names the scorers that supported it (e.g. ["geometric"]).
    """

    subject_id: int
    object_id: int
    predicate: str
    spans: list[Span]
    score: float = 1.0
    sources: list[str] = field(default_factory=list)
    frame_scores: dict[int, float] = field(default_factory=dict)

    def holds_at(self, frame_idx: int) -> bool:
        return any(start <= frame_idx <= end for start, end in self.spans)

    @property
    def triplet(self) -> tuple[int, str, int]:
        return self.subject_id, self.predicate, self.object_id


@dataclass
class SceneGraph:
    """A temporal scene graph of one video."""

    video: VideoMeta
    entities: list[Entity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    backend: str = ""
    video_id: str = ""
    # Every point discovery proposed, kept or not: [subject_id, working frame, x, y] (working pixels); the PLR metric
    # is defined over all of them.
    proposed_points: list[list[float]] = field(default_factory=list)

    # -- queries --------------------------------------------------------------------------------------------

    def entity(self, entity_id: int) -> Entity:
        for entity in self.entities:
            if entity.entity_id == entity_id:
                return entity
        raise KeyError(f"no entity {entity_id}; known: {[e.entity_id for e in self.entities]}")

    @property
    def subjects(self) -> list[Entity]:
        return [e for e in self.entities if e.is_subject]

    def missing_spans(self, entity_id: int) -> list[Span]:
        """The working-frame runs where an entity has no mask: anywhere in the clip for a subject (it is tracked
        through the whole clip, so these are frames it was lost on), between its first and last frame for an object
        (which enters and leaves)."""
        entity = self.entity(entity_id)
        present = set(entity.frames)
        if entity.is_subject:
            span = range(self.video.num_work_frames)
        else:
            span = range(entity.first_frame, entity.last_frame + 1) if present else range(0)
        return spans_from_frames(t for t in span if t not in present)

    def relations_at(self, frame_idx: int) -> list[Relation]:
        return [r for r in self.relations if r.holds_at(frame_idx)]

    def ranked_relations(self) -> list[Relation]:
        """Relations sorted by score, best first (ties keep their order)."""
        return sorted(self.relations, key=lambda r: -r.score)

    def to_networkx(self, frame_idx: int | None = None) -> nx.MultiDiGraph:
        """Entities as nodes, relations as keyed edges (key = predicate).

        With ``frame_idx``, only entities visible and relations holding at that frame ("graph at frame t").
        """
        graph = nx.MultiDiGraph(video_id=self.video_id, frame_idx=frame_idx)
        for e in self.entities:
            if frame_idx is None or e.present(frame_idx):
                graph.add_node(e.entity_id, label=e.label, is_subject=e.is_subject, label_source=e.label_source)
        for r in self.relations if frame_idx is None else self.relations_at(frame_idx):
            if r.subject_id in graph and r.object_id in graph:
                graph.add_edge(
                    r.subject_id,
                    r.object_id,
                    key=r.predicate,
                    predicate=r.predicate,
                    score=r.score,
                    spans=list(r.spans),
                )
        return graph

    # -- edits (return nothing; the graph is the session's plain-data result) -------------------------------

    def relabel(self, entity_id: int, label: str, *, source: str = "user") -> None:
        label = label.strip()
        if not label:
            raise ValueError("a label cannot be empty")
        entity = self.entity(entity_id)
        entity.label, entity.label_source, entity.label_score = label, source, None

    def drop_entity(self, entity_id: int) -> None:
        self.entity(entity_id)  # raises KeyError with the known ids
        self.entities = [e for e in self.entities if e.entity_id != entity_id]
        self.relations = [r for r in self.relations if entity_id not in (r.subject_id, r.object_id)]

    # -- JSON -----------------------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        objects = []
        for e in self.entities:
            objects.append(
                {
                    "object_id": e.entity_id,
                    "category": e.label,
                    "is_thing": e.is_thing,
                    "is_subject": e.is_subject,
                    "label_source": e.label_source,
                    "label_score": e.label_score,
                    "top5": [[label, score] for label, score in e.top5],
                    "origin": e.origin,
                    "subject_id": e.subject_id,
                    "prompts": e.prompts,
                    "masks": {str(t): rle for t, rle in sorted(e.masks.items())},
                }
            )
        return {
            "video_id": self.video_id,
            "video_path": self.video.source,
            "width": self.video.work_width,
            "height": self.video.work_height,
            "fps": self.video.work_fps,
            "num_frames": self.video.num_work_frames,
            "objects": objects,
            "relations": [[r.subject_id, r.object_id, r.predicate, [list(s) for s in r.spans]] for r in self.relations],
            "click2graph": {
                "version": FORMAT_VERSION,
                "backend": self.backend,
                "video": asdict(self.video),
                "proposed_points": self.proposed_points,
                "relation_info": [
                    {
                        "score": r.score,
                        "sources": r.sources,
                        "frame_scores": {str(t): s for t, s in sorted(r.frame_scores.items())},
                    }
                    for r in self.relations
                ],
            },
        }

    @classmethod
    def from_dict(cls, data: dict) -> "SceneGraph":
        extras = data.get("click2graph", {})
        if "video" in extras:
            video = VideoMeta(**extras["video"])
        else:  # a plain OpenPVSG-style entry: working frames are the file's frames
            meta = {**data, **data.get("meta", {})}  # OpenPVSG's own files keep the sizes under "meta"
            n = int(meta.get("num_frames", 0))
            video = VideoMeta(
                source=data.get("video_path", ""),
                width=meta.get("width", 0),
                height=meta.get("height", 0),
                fps=meta.get("fps", 0.0),
                num_frames=n,
                work_width=meta.get("width", 0),
                work_height=meta.get("height", 0),
                work_fps=meta.get("fps", 0.0),
                frame_indices_orig=list(range(n)),
            )
        entities = [
            Entity(
                entity_id=int(o["object_id"]),
                label=o["category"],
                is_subject=bool(o.get("is_subject", False)),
                is_thing=bool(o.get("is_thing", True)),
                label_source=o.get("label_source", "default"),
                label_score=o.get("label_score"),
                top5=[(str(label), float(score)) for label, score in o.get("top5", [])],
                origin=o.get("origin", "prompt"),
                subject_id=o.get("subject_id"),
                prompts=list(o.get("prompts", [])),
                masks={int(t): rle for t, rle in o.get("masks", {}).items()},
            )
            for o in data.get("objects", [])
        ]
        infos = extras.get("relation_info", [{}] * len(data.get("relations", [])))
        relations = [
            Relation(
                subject_id=int(s),
                object_id=int(o),
                predicate=str(p),
                spans=[(int(a), int(b)) for a, b in spans],
                score=float(info.get("score", 1.0)),
                sources=list(info.get("sources", [])),
                frame_scores={int(t): float(v) for t, v in info.get("frame_scores", {}).items()},
            )
            for (s, o, p, spans), info in zip(data.get("relations", []), infos)
        ]
        return cls(
            video=video,
            entities=entities,
            relations=relations,
            backend=extras.get("backend", ""),
            video_id=data.get("video_id", ""),
            proposed_points=[[float(v) for v in p] for p in extras.get("proposed_points", [])],
        )

    def save_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict()))
        return path

    @classmethod
    def load_json(cls, path: str | Path) -> "SceneGraph":
        return cls.from_dict(json.loads(Path(path).read_text()))


def rle_has_pixels(rle: dict) -> bool:
    """True when an RLE mask has at least one foreground pixel (counted on the RLE, no decode)."""
    return rle_area(rle) > 0


def spans_from_frames(frames: Iterable[int]) -> list[Span]:
    """Group sorted frame indices into inclusive runs: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    spans: list[Span] = []
    for t in sorted(set(frames)):
        if spans and t == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], t)
        else:
            spans.append((t, t))
    return spans


def spans_text(spans: list[Span], most: int = 6) -> str:
    """Inclusive frame runs as "18, 68-70", the first ``most`` of them (then "...")."""
    shown = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans[:most])
    return shown + (", ..." if len(spans) > most else "")
