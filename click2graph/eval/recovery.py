"""How well a predicted scene graph recovers a ground-truth one (used on our synthetic clips).

The measure, in two steps:

1. **Entity matching.** A predicted entity matches a ground-truth object when their *volume IoU* (mask
   intersection summed over the compared frames / union summed over them) is at least ``match_iou``; matching is
   one-to-one, greedy by IoU. Only frames sampled into the working video are compared, at working resolution.
2. **Relation recovery.** A ground-truth relation ``(s, o, predicate, spans)`` is recovered when both ``s`` and
   ``o`` are matched and the graph has a relation with the same predicate between the matched entities whose
   frame set has a temporal IoU of at least ``temporal_iou`` with the ground-truth frames.

``recall`` is the fraction of ground-truth relations recovered; ``mean_temporal_iou`` averages the temporal IoU
over all ground-truth relations (0 where not found).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from click2graph.data.openpvsg import PvsgVideo
from click2graph.graph import SceneGraph
from click2graph.masks import to_working_size


@dataclass(frozen=True)
class RelationResult:
    subject_id: int
    object_id: int
    predicate: str
    temporal_iou: float
    recovered: bool


@dataclass(frozen=True)
class RecoveryReport:
    entity_match: dict[int, tuple[int, float]]  # gt object id -> (entity id, volume IoU)
    relations: list[RelationResult]

    @property
    def recall(self) -> float:
        return float(np.mean([r.recovered for r in self.relations])) if self.relations else 1.0

    @property
    def mean_temporal_iou(self) -> float:
        return float(np.mean([r.temporal_iou for r in self.relations])) if self.relations else 1.0

    def describe(self) -> str:
        lines = [
            f"relations recovered {sum(r.recovered for r in self.relations)}/{len(self.relations)}"
            f" (recall {self.recall:.2f}, mean temporal IoU {self.mean_temporal_iou:.2f})"
        ]
        for gt_id, (entity_id, iou) in sorted(self.entity_match.items()):
            lines.append(f"  gt object {gt_id} -> entity {entity_id} (volume IoU {iou:.2f})")
        for r in self.relations:
            lines.append(
                f"  {'ok  ' if r.recovered else 'MISS'} {r.subject_id} {r.predicate} {r.object_id}"
                f"  tIoU {r.temporal_iou:.2f}"
            )
        return "\n".join(lines)


def temporal_iou(frames_a: set[int], frames_b: set[int]) -> float:
    union = frames_a | frames_b
    return len(frames_a & frames_b) / len(union) if union else 0.0


def match_entities(graph: SceneGraph, gt: PvsgVideo, *, match_iou: float = 0.5) -> dict[int, tuple[int, float]]:
    """One-to-one greedy matching of ground-truth objects to graph entities by volume IoU (see module doc)."""
    size_wh, region = (graph.video.work_width, graph.video.work_height), graph.video.region
    gt_ids = [o["object_id"] for o in gt.objects]
    inter = np.zeros((len(gt_ids), len(graph.entities)))
    union = np.zeros_like(inter)
    for t, t_orig in enumerate(graph.video.frame_indices_orig):
        pan = gt.panoptic(t_orig)
        gt_masks = [to_working_size(pan == i, size_wh, region) for i in gt_ids]
        pred_masks = [e.mask(t) if e.present(t) else None for e in graph.entities]
        for i, g in enumerate(gt_masks):
            g_area = g.sum()
            for j, p in enumerate(pred_masks):
                if p is None:
                    union[i, j] += g_area
                    continue
                both = np.logical_and(g, p).sum()
                inter[i, j] += both
                union[i, j] += g_area + p.sum() - both
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    match: dict[int, tuple[int, float]] = {}
    used: set[int] = set()
    for flat in np.argsort(-iou, axis=None):
        i, j = np.unravel_index(flat, iou.shape)
        if iou[i, j] < match_iou:
            break
        if gt_ids[i] in match or j in used:
            continue
        match[gt_ids[i]] = (graph.entities[j].entity_id, float(iou[i, j]))
        used.add(j)
    return match


def relation_recovery(
    graph: SceneGraph,
    gt: PvsgVideo,
    *,
    subject_ids: set[int] | None = None,
    match_iou: float = 0.5,
    temporal_iou_threshold: float = 0.5,
) -> RecoveryReport:
    """Score ``graph`` against the ground truth of ``gt`` (see module doc).

    Args:
        subject_ids: ground-truth object ids that were prompted as subjects; only their relations are scored
            (the graph is subject-centric, as in the paper). None scores every ground-truth relation.
    """
    match = match_entities(graph, gt, match_iou=match_iou)
    work_of_orig = {orig: t for t, orig in enumerate(graph.video.frame_indices_orig)}
    results = []
    for rel in gt.relations:
        if subject_ids is not None and rel.subject_id not in subject_ids:
            continue
        gt_frames = {work_of_orig[t] for t in rel.frames(gt.num_frames) if t in work_of_orig}
        best = 0.0
        if rel.subject_id in match and rel.object_id in match:
            s, o = match[rel.subject_id][0], match[rel.object_id][0]
            for pred in graph.relations:
                if (pred.subject_id, pred.object_id, pred.predicate) == (s, o, rel.predicate):
                    frames = {t for a, b in pred.spans for t in range(a, b + 1)}
                    best = max(best, temporal_iou(frames, gt_frames))
        results.append(
            RelationResult(rel.subject_id, rel.object_id, rel.predicate, best, best >= temporal_iou_threshold)
        )
    return RecoveryReport(entity_match=match, relations=results)
