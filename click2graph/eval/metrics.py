"""Relation metrics of OpenPVSG (R@K, mR@K) plus Click2Graph's SpIR@K and PLR, from their definitions.

Definitions (frames are ORIGINAL frame indices; masks are bool (H, W) arrays at the original resolution)

vIoU of a GT triplet g and a prediction p (the official ``calculate_viou`` of OpenPVSG ``utils/rel_metrics.py``):

* ``gt_real = {t in g.frames : GT subject mask and GT object mask are both non-empty at t}``
* ``hit = {t in g.frames : p has a subject and an object mask at t,
  IoU(p subject, g subject) >= iou_threshold and IoU(p object, g object) >= iou_threshold}``
  (per-frame mask IoU = |A & B| / |A | B|, 0 when the union is empty)
* ``hit_real = hit & p.frames`` (the predicted span), or ``hit`` itself when ``use_pred_span=False`` (the
  official "weak" vIoU that ignores time)
* ``vIoU = |hit_real & gt_real| / |hit_real | gt_real|``, 0 when the union is empty.

Since an IoU with an empty GT mask is 0, ``hit`` lies inside ``gt_real``; vIoU is the fraction of the GT frames
(where both GT objects are visible) covered by a well-localised, temporally active prediction. Predicted span
frames outside the GT span are never penalised.

Matching of one video (official ``tools/rel_test_full.py``): predictions are ranked by score (descending, ties
keep input order). For each GT triplet the ranked list is scanned in order; the first prediction whose
(subject class, object class, predicate) equal the GT's and whose vIoU >= ``viou_threshold`` gives the GT its rank
(0-based index in the full ranked list) and stops the scan. There is no one-to-one assignment: one prediction may
match several GT triplets. The official code skips predictions with an empty subject or object tube; such a
prediction has vIoU = 0, so the skip is implied by ``viou_threshold > 0`` (which is required).
The spatial rank (SpIR) is the same scan with all three labels ignored (localisation only, same vIoU with the
predicted span, same threshold).

Aggregation over videos (official ``calculate_final_metrics``), in percent:

* ``R@K = 100 * #{GT triplets with rank_strict < K} / #{GT triplets}`` (micro over all triplets of all videos);
* ``mR@K = mean over predicates with >= 1 GT triplet of 100 * #{hits of that predicate} / #{its GT triplets}``;
* ``SpIR@K = 100 * #{GT triplets with rank_spatial < K} / #{GT triplets}`` (Click2Graph's spatial interaction
  recall, the R@K criterion without labels);
* no GT triplet at all: every value is 0.0 and ``n_gt == 0``.

PLR (prompt localisation recall, Click2Graph): the fraction of discovery prompt points ``(frame, x, y)`` that lie
inside the union of the GT object masks on their frame; the point's pixel is ``(floor(x), floor(y))``; points
outside the image, with non-finite coordinates or on frames without a GT mask count as outside. Aggregated micro
over points (``plr_percent``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from click2graph.masks import bbox_xyxy

if TYPE_CHECKING:
    from click2graph.data.openpvsg import PvsgVideo

DEFAULT_KS = (3, 20, 50, 100)


@dataclass(frozen=True)
class GtTriplet:
    """One ground-truth relation of a video."""

    subject_id: int  # GT object ids (values in the panoptic masks)
    object_id: int
    subject_class: str
    object_class: str
    predicate: str
    frames: frozenset[int]  # original frame indices inside the GT spans, clipped to the video length


@dataclass(frozen=True)
class PredTriplet:
    """One ranked prediction."""

    subject_id: int  # predicted entity ids (keys of the predicted mask lookup)
    object_id: int
    subject_class: str
    object_class: str
    predicate: str
    score: float
    frames: frozenset[int]  # original frame indices where the predicate holds (the predicted span)


class MaskSource(Protocol):
    """Where the metric reads masks from; both return a bool (H, W) mask, or None where there is none."""

    def gt_mask(self, object_id: int, frame: int) -> np.ndarray | None: ...

    def pred_mask(self, entity_id: int, frame: int) -> np.ndarray | None: ...


class PanopticMaskSource:
    """GT masks from a per-frame panoptic id map (e.g. ``PvsgVideo.panoptic``), predicted masks from a callable.

    The last panoptic frame read is kept, so asking for several objects of one frame in a row reads it once.
    """

    def __init__(
        self, panoptic: Callable[[int], np.ndarray], pred_mask: Callable[[int, int], np.ndarray | None]
    ) -> None:
        self._panoptic = panoptic
        self._pred_mask = pred_mask
        self._last: tuple[int, np.ndarray] | None = None

    def gt_mask(self, object_id: int, frame: int) -> np.ndarray | None:
        if self._last is None or self._last[0] != frame:
            self._last = (frame, np.asarray(self._panoptic(frame)))
        return self._last[1] == object_id

    def pred_mask(self, entity_id: int, frame: int) -> np.ndarray | None:
        return self._pred_mask(entity_id, frame)


def gt_triplets_from_pvsg(video: PvsgVideo) -> list[GtTriplet]:
    """The GT triplets of an OpenPVSG video, spans clipped to its frame count (one triplet per relation entry)."""
    return [
        GtTriplet(
            subject_id=rel.subject_id,
            object_id=rel.object_id,
            subject_class=video.category(rel.subject_id),
            object_class=video.category(rel.object_id),
            predicate=rel.predicate,
            frames=frozenset(rel.frames(video.num_frames)),
        )
        for rel in video.relations
    ]


@dataclass(frozen=True)
class _GtCrop:
    """A non-empty GT mask as its bounding-box crop: full shape, the box as slices, the crop, its pixel count."""

    shape: tuple[int, ...]
    box: tuple[slice, slice]
    crop: np.ndarray
    area: int


class IouCache:
    """A ``MaskSource`` wrapper that computes each per-frame IoU (pred entity, GT object, frame) once.

    GT masks are kept cropped to their bounding box (memory follows the object size, not the image). When a
    predicted mask is read, its IoU with every GT object seen so far is computed on that frame, so each
    (entity, frame) mask is usually fetched once even when several GT triplets need it.
    """

    def __init__(self, masks: MaskSource, gt_object_ids: Iterable[int] = ()) -> None:
        self.masks = masks
        self._gt_ids: dict[int, None] = dict.fromkeys(gt_object_ids)  # insertion-ordered set
        self._gt_crops: dict[tuple[int, int], _GtCrop | None] = {}
        self._ious: dict[tuple[int, int, int], float] = {}
        self._gt_real: dict[tuple[int, int, frozenset[int]], frozenset[int]] = {}

    def gt_crop(self, object_id: int, frame: int) -> _GtCrop | None:
        """A GT mask cropped to its bounding box; None when the mask is absent or empty."""
        key = (object_id, frame)
        if key not in self._gt_crops:
            mask = self.masks.gt_mask(object_id, frame)
            mask = None if mask is None else np.asarray(mask, bool)
            box = None if mask is None else bbox_xyxy(mask)
            if box is None:
                self._gt_crops[key] = None
            else:
                x0, y0, x1, y1 = box
                crop = mask[y0 : y1 + 1, x0 : x1 + 1].copy()
                self._gt_crops[key] = _GtCrop(mask.shape, (slice(y0, y1 + 1), slice(x0, x1 + 1)), crop, int(crop.sum()))
        return self._gt_crops[key]

    def gt_real(self, gt: GtTriplet) -> frozenset[int]:
        """Frames of ``gt.frames`` where both the GT subject and the GT object mask are non-empty."""
        key = (gt.subject_id, gt.object_id, gt.frames)
        if key not in self._gt_real:
            self._gt_real[key] = frozenset(
                t
                for t in gt.frames
                if self.gt_crop(gt.subject_id, t) is not None and self.gt_crop(gt.object_id, t) is not None
            )
        return self._gt_real[key]

    def iou(self, entity_id: int, object_id: int, frame: int) -> float:
        """IoU of predicted entity ``entity_id`` and GT object ``object_id`` on ``frame`` (0 if either is absent)."""
        self._gt_ids.setdefault(object_id)
        key = (entity_id, object_id, frame)
        if key not in self._ious:
            pred = self.masks.pred_mask(entity_id, frame)
            pred = None if pred is None else np.asarray(pred, bool)
            pred_area = 0 if pred is None else int(np.count_nonzero(pred))
            for gt_id in self._gt_ids:
                if (entity_id, gt_id, frame) not in self._ious:
                    self._ious[(entity_id, gt_id, frame)] = self._iou_one(pred, pred_area, gt_id, frame)
        return self._ious[key]

    def _iou_one(self, pred: np.ndarray | None, pred_area: int, object_id: int, frame: int) -> float:
        gt = self.gt_crop(object_id, frame)
        if pred is None or gt is None:
            return 0.0
        if pred.shape != gt.shape:
            raise ValueError(f"predicted mask shape {pred.shape} != GT mask shape {gt.shape} on frame {frame}")
        inter = int(np.count_nonzero(pred[gt.box] & gt.crop))
        return inter / (gt.area + pred_area - inter)


def rank_predictions(preds: Iterable[PredTriplet]) -> list[PredTriplet]:
    """Predictions sorted by score, highest first; equal scores keep their input order (stable sort).

    The rank of a prediction is its 0-based index in this list. NaN scores are rejected (they have no order).
    """
    preds = list(preds)
    if any(math.isnan(p.score) for p in preds):
        raise ValueError("prediction scores must not be NaN")
    return sorted(preds, key=lambda p: -p.score)


def viou(
    gt: GtTriplet,
    pred: PredTriplet,
    masks: MaskSource | IouCache,
    iou_threshold: float = 0.5,
    *,
    use_pred_span: bool = True,
) -> float:
    """Official OpenPVSG vIoU of one GT triplet and one prediction (see the module docstring).

    ``masks`` may be an ``IouCache`` to share per-frame IoUs between calls; a plain ``MaskSource`` is wrapped.
    """
    if iou_threshold <= 0:
        raise ValueError("iou_threshold must be > 0")
    cache = masks if isinstance(masks, IouCache) else IouCache(masks, (gt.subject_id, gt.object_id))
    gt_real = cache.gt_real(gt)
    # hit can only hold where both GT masks are non-empty (an IoU with an empty GT mask is 0 < threshold), so
    # only the gt_real frames (inside the predicted span when it counts) need their IoUs.
    candidates = gt_real & pred.frames if use_pred_span else gt_real
    hit_real = {
        t
        for t in candidates
        if cache.iou(pred.subject_id, gt.subject_id, t) >= iou_threshold
        and cache.iou(pred.object_id, gt.object_id, t) >= iou_threshold
    }
    union = hit_real | gt_real
    return len(hit_real & gt_real) / len(union) if union else 0.0


@dataclass(frozen=True)
class GtScore:
    """Where one GT triplet was found in the ranked predictions (0-based ranks; None = not found)."""

    predicate: str
    rank_strict: int | None  # first label-matching prediction with vIoU >= threshold (R@K, mR@K)
    rank_spatial: int | None  # first prediction with vIoU >= threshold, labels ignored (SpIR@K)


@dataclass(frozen=True)
class VideoScores:
    """Per-GT-triplet ranks of one video. ``max_rank``: only ranks < max_rank were searched."""

    scores: tuple[GtScore, ...]
    max_rank: int
    video_id: str = ""


def evaluate_video(
    gt: Sequence[GtTriplet],
    preds: Sequence[PredTriplet],
    masks: MaskSource,
    ks: Sequence[int] = DEFAULT_KS,
    viou_threshold: float = 0.5,
    *,
    iou_threshold: float = 0.5,
    video_id: str = "",
) -> VideoScores:
    """Rank the predictions and find, for each GT triplet, its strict and its spatial rank.

    Only the first ``max(ks)`` ranked predictions are scanned (a later match could never count for any K in
    ``ks``), so a rank >= max(ks) is reported as None. ``iou_threshold`` is the per-frame mask IoU threshold.
    """
    if viou_threshold <= 0:
        raise ValueError("viou_threshold must be > 0 (an empty prediction must never match)")
    max_rank = max(ks)
    ranked = rank_predictions(preds)[:max_rank]
    cache = IouCache(masks, {i for g in gt for i in (g.subject_id, g.object_id)})
    scores = []
    for g in gt:
        labels = (g.subject_class, g.object_class, g.predicate)
        rank_strict = rank_spatial = None
        for rank, p in enumerate(ranked):
            if rank_strict is not None and rank_spatial is not None:
                break
            if viou(g, p, cache, iou_threshold) < viou_threshold:
                continue
            if rank_spatial is None:
                rank_spatial = rank
            if rank_strict is None and (p.subject_class, p.object_class, p.predicate) == labels:
                rank_strict = rank
        scores.append(GtScore(g.predicate, rank_strict, rank_spatial))
    return VideoScores(tuple(scores), max_rank, video_id)


@dataclass(frozen=True)
class Metrics:
    """Aggregated scores in percent (0-100), keyed by K."""

    ks: tuple[int, ...]
    n_videos: int
    n_gt: int
    recall: dict[int, float]  # R@K
    mean_recall: dict[int, float]  # mR@K
    spir: dict[int, float]  # SpIR@K
    predicate_recall: dict[str, dict[int, float]]  # per-predicate R@K (the terms of mR@K)
    predicate_count: dict[str, int]  # GT triplets per predicate


def _percent(hits: int, total: int) -> float:
    return 100.0 * hits / total if total else 0.0


def aggregate(videos: Sequence[VideoScores], ks: Sequence[int] = DEFAULT_KS) -> Metrics:
    """R@K, mR@K and SpIR@K over videos (see the module docstring); all 0.0 when there is no GT triplet."""
    ks = tuple(ks)
    for video in videos:
        if ks and max(ks) > video.max_rank:
            raise ValueError(f"K={max(ks)} exceeds the depth {video.max_rank} searched for video {video.video_id!r}")
    scores = [s for video in videos for s in video.scores]
    by_predicate: dict[str, list[GtScore]] = defaultdict(list)
    for s in scores:
        by_predicate[s.predicate].append(s)

    def hits(items: Sequence[GtScore], k: int, spatial: bool = False) -> int:
        ranks = [s.rank_spatial if spatial else s.rank_strict for s in items]
        return sum(r is not None and r < k for r in ranks)

    predicate_recall = {
        pred: {k: _percent(hits(items, k), len(items)) for k in ks} for pred, items in sorted(by_predicate.items())
    }
    return Metrics(
        ks=ks,
        n_videos=len(videos),
        n_gt=len(scores),
        recall={k: _percent(hits(scores, k), len(scores)) for k in ks},
        mean_recall={
            k: sum(r[k] for r in predicate_recall.values()) / len(predicate_recall) if predicate_recall else 0.0
            for k in ks
        },
        spir={k: _percent(hits(scores, k, spatial=True), len(scores)) for k in ks},
        predicate_recall=predicate_recall,
        predicate_count={pred: len(items) for pred, items in sorted(by_predicate.items())},
    )


def prompt_localization_recall(
    points: Sequence[tuple[int, float, float]],
    gt_object_masks: Callable[[int], np.ndarray | None],
) -> tuple[int, int]:
    """PLR counts of one video: ``(points inside, all points)``.

    ``points`` are ``(frame, x, y)`` in original pixel coordinates; ``gt_object_masks(frame)`` gives the union of
    the GT object masks on that frame (bool (H, W)) or None. A point is inside when pixel
    ``(floor(y), floor(x))`` of that mask is set; points off the image, with non-finite coordinates or on a frame
    without a mask are outside (and still counted in the total).
    """
    inside = 0
    last: tuple[int, np.ndarray | None] | None = None  # points usually come grouped by frame
    for frame, x, y in points:
        if last is None or last[0] != frame:
            mask = gt_object_masks(frame)
            last = (frame, None if mask is None else np.asarray(mask, bool))
        mask = last[1]
        if mask is None or not (math.isfinite(x) and math.isfinite(y)):
            continue
        col, row = math.floor(x), math.floor(y)
        if 0 <= row < mask.shape[0] and 0 <= col < mask.shape[1] and mask[row, col]:
            inside += 1
    return inside, len(points)


def plr_percent(counts: Iterable[tuple[int, int]]) -> float:
    """Micro PLR in percent from per-video ``(inside, total)`` pairs; 0.0 when there is no point at all."""
    counts = list(counts)
    return _percent(sum(i for i, _ in counts), sum(t for _, t in counts))
