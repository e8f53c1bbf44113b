"""The pluggable semantics interface: predicate scorers, entity classifiers and a cached view of an entity.

A :class:`PredicateScorer` turns two tracked entities into per-frame predicate scores; an
:class:`EntityClassifier` gives class probabilities for entities. Each declares the labels it can produce, and
nothing produces a label it has no evidence for: without a classifier an entity stays "object". Both read
entities through
:class:`EntityView`, which decodes each RLE mask at most once and caches the per-frame geometry, so scoring many
pairs does not decode the same masks many times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

import cv2
import numpy as np

from click2graph.graph import Entity
from click2graph.masks import bbox_xyxy, centroid_xy, dilate


@dataclass(frozen=True)
class FrameGeometry:
    """An entity's shape on one working frame, working pixels.

    Attributes:
        bbox_xyxy: tight box, inclusive pixel coordinates ``(x0, y0, x1, y1)``.
        centroid_xy: centre of mass ``(x, y)``.
        area_px: number of mask pixels.
    """

    bbox_xyxy: tuple[int, int, int, int]
    centroid_xy: tuple[float, float]
    area_px: int

    @property
    def width(self) -> int:
        return self.bbox_xyxy[2] - self.bbox_xyxy[0] + 1

    @property
    def height(self) -> int:
        return self.bbox_xyxy[3] - self.bbox_xyxy[1] + 1

    @property
    def diagonal(self) -> float:
        return math.hypot(self.width, self.height)


class EntityView:
    """Read-only, lazily decoded and cached per-frame geometry of one :class:`Entity`.

    Besides box, centroid and area (full working resolution), the view keeps a *small mask*: the mask
    max-pooled by an integer ``factor`` so that its longest side is at most ``mask_side`` pixels. Every view of
    one video uses the same factor (it depends only on the frame size), so small masks of different entities
    share one grid; contact and enclosure tests run on them at a fraction of the cost. Max-pooling keeps thin
    and tiny parts (a hand, a distant ball) that averaging would erase.

    Args:
        entity: the entity; its masks are COCO RLE at working resolution.
        mask_side: longest side of the small masks, in pixels.
    """

    def __init__(self, entity: Entity, *, mask_side: int = 160) -> None:
        self.entity = entity
        self.mask_side = mask_side
        sizes = {tuple(rle["size"]) for rle in entity.masks.values()}
        if len(sizes) > 1:
            raise ValueError(f"entity {entity.entity_id} has masks of several sizes {sorted(sizes)}")
        self.frame_hw: tuple[int, int] | None = sizes.pop() if sizes else None
        self.factor = 1 if self.frame_hw is None else max(1, math.ceil(max(self.frame_hw) / mask_side))
        self._geometry: dict[int, FrameGeometry | None] = {}
        self._small: dict[int, np.ndarray] = {}
        self._distance: dict[int, np.ndarray] = {}
        self._ring: dict[int, np.ndarray] = {}
        self.decoded = 0  # RLE decodes done (tests assert each frame is decoded at most once)

    @property
    def entity_id(self) -> int:
        return self.entity.entity_id

    def present(self, frame_idx: int) -> bool:
        """True when the entity has a non-empty mask on ``frame_idx``."""
        return self.geometry(frame_idx) is not None

    def geometry(self, frame_idx: int) -> FrameGeometry | None:
        """Box, centroid and area on ``frame_idx``; None where the entity is absent."""
        if frame_idx not in self._geometry:
            self._load(frame_idx)
        return self._geometry[frame_idx]

    def small_mask(self, frame_idx: int) -> np.ndarray:
        """bool (ceil(H / factor), ceil(W / factor)) max-pooled mask; all False where absent."""
        if frame_idx not in self._geometry:
            self._load(frame_idx)
        if frame_idx not in self._small:
            self._small[frame_idx] = np.zeros(self._small_hw(), dtype=bool)
        return self._small[frame_idx]

    def distance_map(self, frame_idx: int) -> np.ndarray:
        """float32 small-grid map: distance (small pixels) from each cell to the nearest mask cell; 0 inside.

        Only meaningful where the entity is present.
        """
        if frame_idx not in self._distance:
            outside = (~self.small_mask(frame_idx)).astype(np.uint8)
            self._distance[frame_idx] = cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        return self._distance[frame_idx]

    def ring(self, frame_idx: int, radius: int = 2) -> np.ndarray:
        """bool small-grid band of ``radius`` cells just outside the mask (its immediate surroundings)."""
        if frame_idx not in self._ring:
            small = self.small_mask(frame_idx)
            self._ring[frame_idx] = dilate(small, radius) & ~small
        return self._ring[frame_idx]

    def _small_hw(self) -> tuple[int, int]:
        h, w = self.frame_hw or (1, 1)
        return math.ceil(h / self.factor), math.ceil(w / self.factor)

    def _load(self, frame_idx: int) -> None:
        mask = self.entity.mask(frame_idx)
        if mask is not None:
            self.decoded += 1
        box = None if mask is None else bbox_xyxy(mask)
        if box is None:
            self._geometry[frame_idx] = None
            return
        self._geometry[frame_idx] = FrameGeometry(box, centroid_xy(mask), int(mask.sum()))
        self._small[frame_idx] = _max_pool(mask, self.factor)


def _max_pool(mask: np.ndarray, factor: int) -> np.ndarray:
    """bool (H, W) -> bool (ceil(H/f), ceil(W/f)): a cell is set when any of its pixels is."""
    if factor == 1:
        return mask.copy()
    h, w = mask.shape
    hp, wp = -(-h // factor) * factor, -(-w // factor) * factor
    padded = np.zeros((hp, wp), dtype=bool)
    padded[:h, :w] = mask
    return padded.reshape(hp // factor, factor, wp // factor, factor).any(axis=(1, 3))


@runtime_checkable
class PredicateScorer(Protocol):
    """Scores predicates for an ordered (subject, object) pair, frame by frame.

    Attributes:
        name: short name recorded in ``Relation.sources`` (e.g. "geometric").
        predicates: the predicate labels this scorer can produce, in the order of its score columns.
    """

    name: str
    predicates: tuple[str, ...]

    def score_pair(self, subject: EntityView, obj: EntityView, num_frames: int) -> np.ndarray:
        """float (num_frames, len(predicates)) scores in [0, 1]; NaN on frames where either entity is absent."""
        ...


@runtime_checkable
class EntityClassifier(Protocol):
    """Names entities from evidence (pixels, masks, features) in two steps: an embedding per entity, then class
    probabilities from embeddings. The semantic step keeps the embeddings, so the user's corrections (prototypes)
    match look-alike entities on them.

    Attributes:
        name: short name of the classifier.
        labels: the class labels this classifier can produce, in the order of its probability columns.
    """

    name: str
    labels: tuple[str, ...]

    def entity_embeddings(self, views: Sequence[EntityView], frames: np.ndarray) -> dict[int, np.ndarray | None]:
        """Entity id -> float (D,) embedding of each entity given the working frames, uint8 RGB (T, H, W, 3); None
        for an entity without evidence (e.g. no pixels on any frame), which keeps its default label."""
        ...

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """float (N, len(labels)) class probabilities of N embeddings (N, D), each row summing to 1."""
        ...
