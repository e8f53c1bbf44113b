"""click2graph.eval.metrics: vIoU, R@K / mR@K / SpIR@K and PLR on hand-computed 4x4 cases."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from click2graph.data.openpvsg import GtRelation, PvsgVideo
from click2graph.eval.metrics import (
    GtScore,
    GtTriplet,
    IouCache,
    PanopticMaskSource,
    PredTriplet,
    VideoScores,
    aggregate,
    evaluate_video,
    gt_triplets_from_pvsg,
    plr_percent,
    prompt_localization_recall,
    rank_predictions,
    viou,
)
from click2graph.masks import mask_iou


@dataclass
class DictMaskSource:
    """A MaskSource over dictionaries keyed ``(object_id, frame)`` and ``(entity_id, frame)``; missing keys -> None."""

    gt: dict[tuple[int, int], np.ndarray]
    pred: dict[tuple[int, int], np.ndarray]

    def gt_mask(self, object_id: int, frame: int) -> np.ndarray | None:
        return self.gt.get((object_id, frame))

    def pred_mask(self, entity_id: int, frame: int) -> np.ndarray | None:
        return self.pred.get((entity_id, frame))


# GT object ids: 1 = subject (adult), 2 = object (ball). Predicted entity ids: 10 = subject, 20 = object.
SUB = np.zeros((4, 4), bool)
SUB[0:2, 0:2] = True  # 4 pixels, top-left
OBJ = np.zeros((4, 4), bool)
OBJ[2:4, 2:4] = True  # 4 pixels, bottom-right


def gt_triplet(frames, predicate="holding", sub=1, obj=2, sub_class="adult", obj_class="ball"):
    return GtTriplet(sub, obj, sub_class, obj_class, predicate, frozenset(frames))


def pred_triplet(frames, predicate="holding", score=1.0, sub=10, obj=20, sub_class="adult", obj_class="ball"):
    return PredTriplet(sub, obj, sub_class, obj_class, predicate, score, frozenset(frames))


def source(gt_frames, pred_frames, pred_sub=SUB, pred_obj=OBJ):
    """GT objects 1, 2 on gt_frames; predicted entities 10, 20 (masks pred_sub, pred_obj) on pred_frames."""
    gt = {(i, t): m for t in gt_frames for i, m in ((1, SUB), (2, OBJ))}
    pred = {(i, t): m for t in pred_frames for i, m in ((10, pred_sub), (20, pred_obj))}
    return DictMaskSource(gt, pred)


# --- vIoU ---------------------------------------------------------------------------------------------------------


def test_iou_cache_matches_plain_mask_iou():
    rng = np.random.default_rng(0)
    gt = {(1, 0): rng.random((6, 7)) < 0.4, (2, 0): np.zeros((6, 7), bool)}
    gt[(2, 0)][2:5, 3:6] = rng.random((3, 3)) < 0.6  # a small object away from the corners (bounding-box crop)
    preds = {(e, 0): rng.random((6, 7)) < 0.5 for e in range(5)}
    cache = IouCache(DictMaskSource(gt, preds))
    for e in range(5):
        for obj in (1, 2):
            assert cache.iou(e, obj, 0) == pytest.approx(mask_iou(gt[(obj, 0)], preds[(e, 0)]))
    assert cache.iou(0, 1, 7) == 0.0  # no mask on that frame


def test_viou_perfect_prediction_is_one():
    masks = source(gt_frames=[0, 1, 2], pred_frames=[0, 1, 2])
    assert viou(gt_triplet([0, 1, 2]), pred_triplet([0, 1, 2]), masks) == 1.0


def test_viou_pred_span_covers_part_of_gt_and_frames_outside_gt_are_free():
    # gt_real = {0,1,2}; hit = {0,1,2}; pred span {1,2,5} -> hit_real = {1,2} -> 2/3 (frame 5 is outside the GT
    # span: never penalised). Ignoring the span (weak vIoU): hit = {0,1,2} -> 3/3.
    masks = source(gt_frames=[0, 1, 2], pred_frames=[0, 1, 2, 5])
    gt, pred = gt_triplet([0, 1, 2]), pred_triplet([1, 2, 5])
    assert viou(gt, pred, masks) == pytest.approx(2 / 3)
    assert viou(gt, pred, masks, use_pred_span=False) == 1.0


def test_viou_pred_span_outside_gt_span_is_zero():
    # Perfect masks on {0,1,2} but the predicted span {5,6} misses the GT span: hit_real = {} -> 0/3.
    masks = source(gt_frames=[0, 1, 2], pred_frames=[0, 1, 2])
    gt, pred = gt_triplet([0, 1, 2]), pred_triplet([5, 6])
    assert viou(gt, pred, masks) == 0.0
    assert viou(gt, pred, masks, use_pred_span=False) == 1.0


def test_gt_frames_with_an_absent_object_leave_gt_real():
    # GT span {0,1,2,3}; the object mask is missing on frame 1 and empty on frame 2 -> gt_real = {0,3}.
    # The prediction is right on frame 0 only (no masks on 3) -> hit_real = {0} -> 1/2.
    masks = source(gt_frames=[0, 1, 2, 3], pred_frames=[0])
    del masks.gt[(2, 1)]
    masks.gt[(2, 2)] = np.zeros((4, 4), bool)
    gt = gt_triplet([0, 1, 2, 3])
    assert IouCache(masks).gt_real(gt) == frozenset({0, 3})
    assert viou(gt, pred_triplet([0, 1, 2, 3]), masks) == 0.5


def test_gt_absent_on_every_frame_gives_zero():
    # gt_real = {} and hit_real = {} -> empty union -> 0.
    masks = source(gt_frames=[], pred_frames=[0, 1])
    assert viou(gt_triplet([0, 1]), pred_triplet([0, 1]), masks) == 0.0


def test_prediction_missing_a_mask_on_some_frames():
    # gt_real = {0,1,2,3}; the predicted subject has no mask on 2, the object none on 3 -> hit_real = {0,1} -> 2/4.
    masks = source(gt_frames=[0, 1, 2, 3], pred_frames=[0, 1, 2, 3])
    del masks.pred[(10, 2)], masks.pred[(20, 3)]
    assert viou(gt_triplet([0, 1, 2, 3]), pred_triplet([0, 1, 2, 3]), masks) == 0.5


def test_per_frame_iou_exactly_at_threshold_counts():
    half = np.zeros((4, 4), bool)
    half[0, 0:2] = True  # 2 of SUB's 4 pixels: IoU = 2/4 = 0.5
    third = np.zeros((4, 4), bool)
    third[0:2, 1:3] = True  # inter 2, union 6 -> IoU 1/3
    assert viou(gt_triplet([0]), pred_triplet([0]), source([0], [0], pred_sub=half)) == 1.0
    assert viou(gt_triplet([0]), pred_triplet([0]), source([0], [0], pred_sub=third)) == 0.0
    # The object must pass too: a perfect subject with a half-right object still hits (0.5 >= 0.5).
    obj_half = np.zeros((4, 4), bool)
    obj_half[3, 2:4] = True
    assert viou(gt_triplet([0]), pred_triplet([0]), source([0], [0], pred_obj=obj_half)) == 1.0


def test_viou_threshold_must_be_positive():
    with pytest.raises(ValueError):
        viou(gt_triplet([0]), pred_triplet([0]), source([0], [0]), iou_threshold=0.0)


def test_mask_shape_mismatch_is_an_error():
    masks = source([0], [])
    masks.pred[(10, 0)] = np.ones((5, 5), bool)
    masks.pred[(20, 0)] = OBJ
    with pytest.raises(ValueError, match="shape"):
        viou(gt_triplet([0]), pred_triplet([0]), masks)


# --- ranking and matching -----------------------------------------------------------------------------------------


def test_rank_predictions_sorts_by_score_and_keeps_ties_in_input_order():
    a, b, c = pred_triplet([0], "a", 0.5), pred_triplet([0], "b", 0.9), pred_triplet([0], "c", 0.5)
    assert [p.predicate for p in rank_predictions([a, b, c])] == ["b", "a", "c"]
    with pytest.raises(ValueError):
        rank_predictions([pred_triplet([0], score=math.nan)])


def test_ties_in_score_stable_order_decides_the_rank():
    # Both predictions are perfectly localised with the same score; only the second has the right predicate.
    masks = source([0, 1], [0, 1])
    wrong, right = pred_triplet([0, 1], "on", 0.7), pred_triplet([0, 1], "holding", 0.7)
    (score,) = evaluate_video([gt_triplet([0, 1])], [wrong, right], masks).scores
    assert (score.rank_strict, score.rank_spatial) == (1, 0)
    (score,) = evaluate_video([gt_triplet([0, 1])], [right, wrong], masks).scores
    assert (score.rank_strict, score.rank_spatial) == (0, 0)


def test_empty_predictions_give_zero_recall():
    video = evaluate_video([gt_triplet([0])], [], source([0], []))
    assert video.scores == (GtScore("holding", None, None),)
    metrics = aggregate([video])
    assert metrics.n_gt == 1
    assert metrics.recall == metrics.mean_recall == metrics.spir == {3: 0.0, 20: 0.0, 50: 0.0, 100: 0.0}


def test_empty_gt_gives_zeros_and_no_division_by_zero():
    video = evaluate_video([], [pred_triplet([0])], source([], [0]))
    assert video.scores == ()
    for metrics in (aggregate([video]), aggregate([])):
        assert metrics.n_gt == 0
        assert metrics.recall == metrics.mean_recall == metrics.spir == {3: 0.0, 20: 0.0, 50: 0.0, 100: 0.0}
        assert metrics.predicate_recall == {}


def test_label_mismatch_is_skipped_for_recall_but_counts_for_spir():
    # Perfect masks and span, wrong object class: no strict match, spatial match at rank 0.
    masks = source([0, 1], [0, 1])
    video = evaluate_video([gt_triplet([0, 1])], [pred_triplet([0, 1], obj_class="box")], masks, ks=(3,))
    assert video.scores == (GtScore("holding", None, 0),)
    metrics = aggregate([video], ks=(3,))
    assert metrics.recall == {3: 0.0} and metrics.spir == {3: 100.0}


def test_spir_uses_the_predicted_span():
    # Right masks but the span misses the GT frames: vIoU 0 -> neither a strict nor a spatial match.
    video = evaluate_video([gt_triplet([0, 1])], [pred_triplet([5])], source([0, 1], [0, 1]))
    assert video.scores == (GtScore("holding", None, None),)


def test_k_cutoff_rank_3_counts_for_r20_not_r3():
    # Ranks 0-2: the right labels on entity pairs without masks (vIoU 0); rank 3: the right prediction.
    masks = source([0], [0])
    decoys = [pred_triplet([0], score=0.9 - i / 10, sub=30 + i, obj=40 + i) for i in range(3)]
    good = pred_triplet([0], score=0.1)
    video = evaluate_video([gt_triplet([0])], [good, *decoys], masks)
    assert video.scores == (GtScore("holding", 3, 3),)
    metrics = aggregate([video])
    assert metrics.recall == {3: 0.0, 20: 100.0, 50: 100.0, 100: 100.0}
    assert metrics.spir == {3: 0.0, 20: 100.0, 50: 100.0, 100: 100.0}


def test_scan_depth_is_max_k_and_aggregate_refuses_a_deeper_k():
    masks = source([0], [0])
    decoys = [pred_triplet([0], score=0.9, sub=30, obj=40)] * 3
    video = evaluate_video([gt_triplet([0])], [*decoys, pred_triplet([0], score=0.1)], masks, ks=(3,))
    assert video.scores == (GtScore("holding", None, None),) and video.max_rank == 3
    with pytest.raises(ValueError, match="depth"):
        aggregate([video], ks=(20,))


def test_mean_recall_averages_per_predicate():
    # Video A: "holding" found at rank 0, "holding" (objects 3-4, never predicted) missed.
    # Video B: "on" found at rank 1.
    # R@K = 2 hits / 3 GT = 66.67; mR@K = mean(holding 1/2, on 1/1) = 75.0. R@1 misses the rank-1 hit: 1/3 and
    # mR@1 = mean(1/2, 0/1) = 25.0.
    masks = source([0], [0])
    video_a = evaluate_video([gt_triplet([0]), gt_triplet([0], sub=3, obj=4)], [pred_triplet([0])], masks, ks=(1, 2))
    on = [pred_triplet([0], "holding", 0.9), pred_triplet([0], "on", 0.5)]
    video_b = evaluate_video([gt_triplet([0], "on")], on, masks, ks=(1, 2))
    metrics = aggregate([video_a, video_b], ks=(1, 2))
    assert metrics.n_videos == 2 and metrics.n_gt == 3
    assert metrics.recall == pytest.approx({1: 100 / 3, 2: 200 / 3})
    assert metrics.mean_recall == pytest.approx({1: 25.0, 2: 75.0})
    assert metrics.predicate_recall == {"holding": {1: 50.0, 2: 50.0}, "on": {1: 0.0, 2: 100.0}}
    assert metrics.predicate_count == {"holding": 2, "on": 1}


def test_one_prediction_may_satisfy_two_gt_triplets():
    # Two GT entries of the same triplet on {0,1} and {2,3}; one prediction over {0..3} covers each fully.
    masks = source([0, 1, 2, 3], [0, 1, 2, 3])
    gts = [gt_triplet([0, 1]), gt_triplet([2, 3])]
    video = evaluate_video(gts, [pred_triplet([0, 1, 2, 3])], masks)
    assert video.scores == (GtScore("holding", 0, 0),) * 2
    assert aggregate([video]).recall[3] == 100.0


def test_first_match_scanning_stops_at_the_first_success():
    # Rank 0: right labels, vIoU 1/2 (span {0} of gt_real {0,1}) -> already a match at threshold 0.5.
    # At threshold 0.6 it fails and rank 1 (vIoU 1) is reported.
    masks = source([0, 1], [0, 1])
    preds = [pred_triplet([0], score=0.9), pred_triplet([0, 1], score=0.5)]
    assert evaluate_video([gt_triplet([0, 1])], preds, masks).scores[0].rank_strict == 0
    assert evaluate_video([gt_triplet([0, 1])], preds, masks, viou_threshold=0.6).scores[0].rank_strict == 1


def test_each_predicted_mask_is_read_once_per_evaluation():
    calls: dict[tuple[int, int], int] = {}

    class Counting(DictMaskSource):
        def pred_mask(self, entity_id, frame):
            calls[(entity_id, frame)] = calls.get((entity_id, frame), 0) + 1
            return super().pred_mask(entity_id, frame)

    base = source([0, 1, 2], [0, 1, 2])
    masks = Counting(base.gt, base.pred)
    preds = [pred_triplet([0, 1, 2], p, s) for p, s in (("on", 0.9), ("near", 0.8), ("holding", 0.7))]
    gts = [gt_triplet([0, 1, 2]), gt_triplet([0, 1, 2], "kicking")]
    video = evaluate_video(gts, preds, masks)
    assert video.scores == (GtScore("holding", 2, 0), GtScore("kicking", None, 0))
    assert calls and set(calls.values()) == {1}


# --- OpenPVSG adapters --------------------------------------------------------------------------------------------


def test_gt_triplets_from_pvsg_and_panoptic_masks():
    video = PvsgVideo(
        video_id="v",
        source="",
        meta={"num_frames": 3, "height": 4, "width": 4},
        objects=[{"object_id": 1, "category": "adult"}, {"object_id": 2, "category": "ball"}],
        relations=[GtRelation(1, 2, "holding", ((1, 5),))],  # clipped to frames {1, 2}
        folder=Path("/nonexistent"),
    )
    (gt,) = gt_triplets_from_pvsg(video)
    assert gt == gt_triplet([1, 2])

    panoptic_reads = []

    def panoptic(frame):
        panoptic_reads.append(frame)
        return SUB.astype(np.uint8) + 2 * OBJ.astype(np.uint8)

    pred = {(10, 1): SUB, (20, 1): OBJ}
    masks = PanopticMaskSource(panoptic, lambda e, t: pred.get((e, t)))
    # gt_real = {1,2}; hit_real = {1} -> 1/2
    assert viou(gt, pred_triplet([1, 2]), masks) == 0.5
    assert sorted(panoptic_reads) == [1, 2]  # one read per frame for both objects


# --- PLR ----------------------------------------------------------------------------------------------------------


def test_prompt_localization_recall_edges_outside_and_frames_without_masks():
    mask = np.zeros((4, 4), bool)
    mask[1:3, 1:3] = True  # pixels (row, col) in {1,2} x {1,2}
    points = [
        (0, 1.0, 1.0),  # top-left corner of pixel (1,1): inside
        (0, 2.999, 2.5),  # pixel (2,2): inside
        (0, 3.0, 1.0),  # pixel col 3: just right of the mask edge -> outside
        (0, 0.999, 1.5),  # pixel col 0: just left of the mask -> outside
        (0, -0.5, 1.0),  # floor -> col -1: off the image (no wrap-around) -> outside
        (0, 1.0, 4.0),  # row 4: off the 4-row image -> outside
        (0, math.nan, 1.0),  # not a point -> outside
        (1, 1.5, 1.5),  # frame 1 has no GT mask -> outside
    ]
    assert prompt_localization_recall(points, lambda t: mask if t == 0 else None) == (2, 8)
    assert prompt_localization_recall([], lambda t: mask) == (0, 0)


def test_plr_percent_is_micro_over_points():
    assert plr_percent([(2, 8), (1, 2)]) == 30.0  # (2 + 1) / (8 + 2)
    assert plr_percent([]) == 0.0
    assert plr_percent([(0, 0)]) == 0.0


def test_video_scores_are_plain_values():
    video = VideoScores((GtScore("on", 0, 0),), max_rank=3, video_id="x")
    assert aggregate([video], ks=(3,)).recall == {3: 100.0}
