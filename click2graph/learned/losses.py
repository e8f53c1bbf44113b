"""Training losses of DIDM and SCH: Hungarian matching, distance-weighted point targets, mask and label losses.

Click2Graph (arXiv 2511.15948) trains with ``L = L_mask(BCE + IoU + Dice) + L_L2(points) + CE_sub + CE_obj +
CE_rel``, DETR-style Hungarian matching of the N_q predicted points to the subject's ground-truth interacting
objects, and point targets sampled inside each GT mask with probability proportional to the distance from its
boundary. Our reading, where the paper is silent:

* **Point targets** are resampled per call from the loss's seeded generator (an augmentation: any interior
  point is a valid prompt), with probability ``distance ** power`` (``power = 1``). The frame border counts as
  boundary, so targets also avoid the frame edge. Coordinates: ``(x, y)`` in [0, 1], pixel centres
  ``((col + 0.5) / W, (row + 0.5) / H)``.
* **Matching cost** of query q and object m: ``cost_region * d_mask(p_q)`` (distance from the point to the mask,
  0 inside it, in units of the frame's longer side) ``+ cost_point * ||p_q - t_m||`` ``+ cost_objectness *
  (1 - sigmoid(o_q))``, weights 2, 1 and 0.5. The region term makes a point already inside an object cheap to
  match to it whatever target was sampled; location outweighs objectness, so a confident query off the object
  loses to an unsure one on it (the point is what SAM 2 decodes). With more objects than queries, the extra
  objects go unmatched.
* **Objectness**: BCE on every query, target 1 when matched, 0 when not (the paper's "no object" handling is not
  stated); unmatched queries can be down-weighted (``no_object_weight``, DETR's ``eos_coef``; 1 by default since
  N_q = 3 leaves little imbalance).
* **Weights**: all 1, as the paper's plain sum. ``L_L2`` is the squared distance in normalised coordinates,
  averaged over matched queries.
* **Entities**: one cross-entropy over the subject's and the objects' masks together (CE_sub + CE_obj as one mean).
* **Predicates**: multi-label BCE instead of the paper's CE, because OpenPVSG gives one pair several predicates at
  once and a discovered pair may hold none (all-zero target), which a softmax cannot express without an extra
  class. Summed over predicates and averaged over pairs, so its scale matches a cross-entropy.
* **Masks** (:func:`multimask_loss`): each matched query's point is decoded by SAM 2's frozen prompt encoder and
  mask decoder into its three candidate masks, and the best candidate (lowest BCE + Dice against the GT object's
  mask, SAM's rule for ambiguous prompts) is trained, at the decoder's 1/4 resolution. The gradient reaches the
  point through the prompt encoder's Fourier position encoding, so a point that SAM 2 decodes to a wrong mask (on
  a thin part, at the mean of a non-convex object) is pushed to where it decodes well, which the L2 term alone
  cannot do. The IoU term of :func:`mask_bce_dice_iou` (MSE of SAM's IoU estimate) is left out here: it would
  train the points to please SAM 2's frozen IoU head, not to segment better.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from click2graph.learned.didm import DidmOutput

IGNORE_INDEX = -100
"""Entity label that contributes no loss (unknown class, empty mask); PyTorch's ``cross_entropy`` default."""


def _as_bool_masks(masks: np.ndarray | torch.Tensor, ndim: int) -> np.ndarray:
    if isinstance(masks, torch.Tensor):
        masks = masks.detach().cpu().numpy()
    masks = np.asarray(masks)
    if masks.ndim != ndim:
        raise ValueError(f"expected a {ndim}D mask array, got shape {masks.shape}")
    return masks.astype(bool)


def _as_points(points: np.ndarray | torch.Tensor | Sequence) -> torch.Tensor:
    """float32 (M, 2) CPU tensor of ``(x, y)`` points from an array, tensor or list."""
    if isinstance(points, torch.Tensor):
        return points.detach().float().cpu().reshape(-1, 2)
    return torch.as_tensor(np.asarray(points, dtype=np.float32)).reshape(-1, 2)


def _inside_distance(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance (pixels) of each mask pixel to the nearest non-mask pixel or frame border; 0 outside."""
    return _edt(np.pad(mask, 1))[1:-1, 1:-1]


def _edt(mask: np.ndarray) -> np.ndarray:
    """float32: the exact Euclidean distance of each True pixel of ``mask`` to the nearest False one (0 on False
    pixels). OpenCV's precise transform: the same distances as SciPy's ``distance_transform_edt`` to float32
    rounding, about 9x faster on a 480p frame; both ran twice per object and frame at every training step."""
    return cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def distance_to_mask(mask: np.ndarray | torch.Tensor) -> np.ndarray:
    """Distance of every pixel to the nearest pixel of a non-empty bool (H, W) mask, in units of max(H, W).

    0 inside the mask; used as the region term of the matching cost.
    """
    mask = _as_bool_masks(mask, 2)
    if not mask.any():
        raise ValueError("the mask is empty: no distance to it")
    return _edt(~mask) / max(mask.shape)


def sample_point_target(mask: np.ndarray | torch.Tensor, rng: np.random.Generator, *, power: float = 1.0) -> np.ndarray:
    """A point target inside ``mask``, drawn with probability proportional to ``distance_to_boundary ** power``.

    Interior pixels are the likelier the farther they are from the boundary (and from the frame border); every
    mask pixel has a non-zero chance (its distance is at least 1 pixel).

    Args:
        mask: bool (H, W), non-empty.
        rng: the generator to draw from (seed it for reproducible targets).
        power: sharpness; 0 is uniform over the mask.

    Returns:
        float64 (2,): ``(x, y)`` in [0, 1], the centre of the drawn pixel.

    Raises:
        ValueError: the mask is empty.
    """
    mask = _as_bool_masks(mask, 2)
    weights = _inside_distance(mask).ravel() ** power * mask.ravel()
    total = weights.sum()
    if total <= 0:
        raise ValueError(f"cannot sample a point target in an empty mask of shape {mask.shape}")
    index = rng.choice(weights.size, p=weights / total)
    row, col = divmod(int(index), mask.shape[1])
    return np.array([(col + 0.5) / mask.shape[1], (row + 0.5) / mask.shape[0]])


def match_queries(
    points: torch.Tensor,
    objectness_logits: torch.Tensor,
    object_masks: np.ndarray | torch.Tensor,
    point_targets: np.ndarray | torch.Tensor,
    *,
    cost_region: float = 2.0,
    cost_point: float = 1.0,
    cost_objectness: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Hungarian matching of one frame's N_q predicted points to its M ground-truth interacting objects.

    Args:
        points: float (N_q, 2), ``(x, y)`` in [0, 1].
        objectness_logits: float (N_q,).
        object_masks: bool (M, H, W), non-empty GT masks at any resolution (low resolution is faster).
        point_targets: float (M, 2), the objects' point targets, ``(x, y)`` in [0, 1].
        cost_region, cost_point, cost_objectness: weights of the cost terms (module docstring).

    Returns:
        ``(query_idx, object_idx)``: int64 arrays of equal length min(N_q, M), sorted by query index.

    Example:
        >>> masks = np.zeros((1, 4, 4), bool); masks[0, 3, 3] = True
        >>> match_queries(torch.tensor([[0.1, 0.1], [0.9, 0.9]]), torch.zeros(2), masks, np.array([[0.875, 0.875]]))
        (array([1]), array([0]))
    """
    masks = _as_bool_masks(object_masks, 3)
    targets = _as_points(point_targets)
    if len(masks) != len(targets):
        raise ValueError(f"{len(masks)} object masks but {len(targets)} point targets")
    if len(masks) == 0 or len(points) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    points = points.detach().float().cpu()
    _, height, width = masks.shape
    cols = (points[:, 0] * width).long().clamp(0, width - 1).numpy()
    rows = (points[:, 1] * height).long().clamp(0, height - 1).numpy()
    region = np.stack([distance_to_mask(m)[rows, cols] for m in masks], axis=1)  # (N_q, M)
    point = torch.cdist(points, targets).numpy()
    objectness = (1 - objectness_logits.detach().float().cpu().sigmoid()).numpy()[:, None]
    cost = cost_region * region + cost_point * point + cost_objectness * objectness
    query_idx, object_idx = linear_sum_assignment(cost)
    return query_idx.astype(np.int64), object_idx.astype(np.int64)


def mask_bce_dice_iou(
    pred_logits: torch.Tensor,
    target: torch.Tensor,
    pred_iou: torch.Tensor | None = None,
    *,
    bce_weight: float = 1.0,
    dice_weight: float = 1.0,
    iou_weight: float = 1.0,
) -> dict[str, torch.Tensor]:
    """The paper's ``L_mask``: BCE + Dice on mask logits, plus MSE of the predicted IoU to the actual IoU.

    Args:
        pred_logits: float (N, H, W) mask logits (e.g. SAM 2's low-res masks, upsampled to the target's size).
        target: bool or float (N, H, W) GT masks, same shape.
        pred_iou: optional float (N,), the decoder's IoU prediction (SAM 2's ``ious`` of the chosen mask); the
            target is the IoU of ``pred_logits > 0`` with ``target``, without gradient. Omitted: no IoU term.

    Returns:
        ``{"bce", "dice", "iou", "total"}``, scalars; each a mean over the N masks (0 when N = 0).
    """
    if pred_logits.shape != target.shape or pred_logits.ndim != 3:
        raise ValueError(
            f"pred_logits and target must both be (N, H, W), got {tuple(pred_logits.shape)} and {tuple(target.shape)}"
        )
    zero = pred_logits.sum() * 0
    if pred_logits.shape[0] == 0:
        return {"bce": zero, "dice": zero, "iou": zero, "total": zero}
    target = target.to(pred_logits.dtype)
    bce, dice = (x.mean() for x in bce_dice_per_mask(pred_logits, target))
    flat_target = target.flatten(1)
    iou = zero
    if pred_iou is not None:
        with torch.no_grad():
            hard = (pred_logits > 0).flatten(1).to(target.dtype)
            inter = (hard * flat_target).sum(1)
            union = hard.sum(1) + flat_target.sum(1) - inter
            actual = torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union))
        iou = F.mse_loss(pred_iou.reshape(-1).to(actual.dtype), actual)
    total = bce_weight * bce + dice_weight * dice + iou_weight * iou
    return {"bce": bce, "dice": dice, "iou": iou, "total": total}


def bce_dice_per_mask(pred_logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per mask: mean BCE over pixels and the soft Dice loss (smoothed by 1); float (N, H, W) inputs -> (N,), (N,)."""
    target = target.to(pred_logits.dtype)
    bce = F.binary_cross_entropy_with_logits(pred_logits, target, reduction="none").flatten(1).mean(1)
    prob, flat_target = pred_logits.sigmoid().flatten(1), target.flatten(1)
    dice = 1 - (2 * (prob * flat_target).sum(1) + 1) / (prob.sum(1) + flat_target.sum(1) + 1)
    return bce, dice


def multimask_loss(candidate_logits: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """BCE + Dice of the best of each prompt's candidate masks (see the module docstring).

    Args:
        candidate_logits: float (N, M, H, W), M candidate masks per prompt (SAM 2: 3).
        target: bool or float (N, H, W), the GT mask each prompt should give, at the logits' size.

    Returns:
        ``{"bce", "dice", "total", "best"}``: means over the N prompts of the chosen candidates' terms (0 when
        N = 0) and the chosen candidate per prompt, int (N,).
    """
    n, m = candidate_logits.shape[:2]
    if candidate_logits.ndim != 4 or target.shape != (n, *candidate_logits.shape[2:]):
        raise ValueError(
            f"need candidate_logits (N, M, H, W) and target (N, H, W), got {tuple(candidate_logits.shape)} and "
            f"{tuple(target.shape)}"
        )
    if n == 0:
        zero = candidate_logits.sum() * 0
        return {"bce": zero, "dice": zero, "total": zero, "best": torch.zeros(0, dtype=torch.long)}
    flat_target = target[:, None].expand(-1, m, -1, -1).reshape(n * m, *target.shape[1:])
    bce, dice = (
        x.reshape(n, m) for x in bce_dice_per_mask(candidate_logits.reshape(n * m, *target.shape[1:]), flat_target)
    )
    best = (bce + dice).detach().argmin(dim=1)
    rows = torch.arange(n, device=best.device)
    bce, dice = bce[rows, best].mean(), dice[rows, best].mean()
    return {"bce": bce, "dice": dice, "total": bce + dice, "best": best}


@dataclass(frozen=True)
class DidmLossConfig:
    """Weights of :class:`DidmLoss` (all 1: the paper sums its terms) and of its matching cost."""

    point_weight: float = 1.0  # L_L2
    objectness_weight: float = 1.0
    no_object_weight: float = 1.0  # BCE weight of unmatched queries (DETR's eos_coef)
    cost_region: float = 2.0  # distance of the point to the GT mask (0 inside)
    cost_point: float = 1.0  # distance of the point to the sampled target
    cost_objectness: float = 0.5
    target_power: float = 1.0  # point targets drawn with probability distance ** power


class DidmLoss:
    """Matches DIDM's queries to the GT interacting objects and returns the point and objectness losses.

    Call it with the frames' GT object masks; it samples point targets (seeded), matches, and returns
    ``{"point", "objectness", "total"}``. For a mask loss on masks SAM 2 decodes from the matched points, call
    :meth:`sample_targets` and :meth:`match` yourself and pass ``point_targets`` and ``indices`` back in::

        targets = loss.sample_targets(object_masks)
        indices = loss.match(out, object_masks, targets)
        losses = loss(out, object_masks, point_targets=targets, indices=indices)
    """

    def __init__(self, config: DidmLossConfig | None = None, *, seed: int = 0) -> None:
        self.config = config or DidmLossConfig()
        self.rng = np.random.default_rng(seed)

    def sample_targets(self, object_masks: Sequence[np.ndarray | torch.Tensor]) -> list[np.ndarray]:
        """One point target per GT object: float (M_b, 2) per frame (:func:`sample_point_target`)."""
        power = self.config.target_power
        return [
            np.array([sample_point_target(m, self.rng, power=power) for m in _as_bool_masks(masks, 3)]).reshape(-1, 2)
            for masks in object_masks
        ]

    def match(
        self,
        output: DidmOutput,
        object_masks: Sequence[np.ndarray | torch.Tensor],
        point_targets: Sequence[np.ndarray | torch.Tensor],
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """:func:`match_queries` for every frame of the batch."""
        cfg = self.config
        if not len(object_masks) == len(point_targets) == output.points.shape[0]:
            raise ValueError(
                f"batch of {output.points.shape[0]} frames but {len(object_masks)} mask sets "
                f"and {len(point_targets)} target sets"
            )
        return [
            match_queries(
                output.points[b],
                output.objectness_logits[b],
                object_masks[b],
                point_targets[b],
                cost_region=cfg.cost_region,
                cost_point=cfg.cost_point,
                cost_objectness=cfg.cost_objectness,
            )
            for b in range(len(object_masks))
        ]

    def __call__(
        self,
        output: DidmOutput,
        object_masks: Sequence[np.ndarray | torch.Tensor],
        *,
        point_targets: Sequence[np.ndarray | torch.Tensor] | None = None,
        indices: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> dict[str, torch.Tensor]:
        """DIDM losses of a batch.

        Args:
            output: the module's output for B frames.
            object_masks: B bool arrays (M_b, H, W), the subject's GT interacting objects on each frame (M_b may be
                0: every query is then trained to objectness 0).
            point_targets: B float arrays (M_b, 2); default: sampled with :meth:`sample_targets`.
            indices: B ``(query_idx, object_idx)`` pairs; default: :meth:`match`.

        Returns:
            ``{"point", "objectness", "total"}``, scalar tensors; ``total`` is the weighted sum.
        """
        cfg = self.config
        if point_targets is None:
            point_targets = self.sample_targets(object_masks)
        if indices is None:
            indices = self.match(output, object_masks, point_targets)
        points = output.points.float()  # float32 losses, also under autocast
        objectness_logits = output.objectness_logits.float()
        objectness_target = torch.zeros_like(objectness_logits)
        pred, target = [], []
        for b, (query_idx, object_idx) in enumerate(indices):
            query_idx = torch.as_tensor(query_idx, dtype=torch.long, device=points.device)
            object_idx = torch.as_tensor(object_idx, dtype=torch.long, device=points.device)
            objectness_target[b, query_idx] = 1
            pred.append(points[b, query_idx])
            target.append(_as_points(point_targets[b]).to(points.device)[object_idx])
        pred_points = torch.cat(pred) if pred else points.new_zeros(0, 2)
        target_points = torch.cat(target) if target else points.new_zeros(0, 2)
        if len(pred_points):
            point_loss = ((pred_points - target_points) ** 2).sum(-1).mean()
        else:
            point_loss = points.sum() * 0
        weight = torch.where(objectness_target > 0, 1.0, cfg.no_object_weight).to(objectness_target.dtype)
        objectness_loss = (
            F.binary_cross_entropy_with_logits(objectness_logits, objectness_target, reduction="none") * weight
        ).sum() / weight.sum().clamp_min(1e-12)
        total = cfg.point_weight * point_loss + cfg.objectness_weight * objectness_loss
        return {"point": point_loss, "objectness": objectness_loss, "total": total}


@dataclass(frozen=True)
class SchLossConfig:
    """Weights of :class:`SchLoss` (1: the paper sums its terms)."""

    entity_weight: float = 1.0  # CE_sub + CE_obj
    predicate_weight: float = 1.0  # L_rel (multi-label BCE)
    label_smoothing: float = 0.0  # of the entity cross-entropy


class SchLoss:
    """Entity cross-entropy and multi-label predicate BCE of :class:`~click2graph.learned.sch.Sch`."""

    def __init__(self, config: SchLossConfig | None = None) -> None:
        self.config = config or SchLossConfig()

    def __call__(
        self,
        entity_logits: torch.Tensor,
        entity_labels: torch.Tensor,
        predicate_logits: torch.Tensor,
        predicate_targets: torch.Tensor,
        predicate_valid: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """SCH losses of a batch.

        Args:
            entity_logits: float (B, K, C) from ``classify_entities`` (subject and objects).
            entity_labels: int (B, K) class indices; :data:`IGNORE_INDEX` (-100) for padding, unknown or empty.
            predicate_logits: float (B, P, R) from ``classify_predicates``.
            predicate_targets: float or bool (B, P, R) multi-hot; an all-zero row is a pair with no predicate.
            predicate_valid: optional bool (B, P), False for padding pairs.

        Returns:
            ``{"entity", "predicate", "total"}``, scalar tensors; a term with nothing valid is 0.
        """
        cfg = self.config
        if entity_logits.shape[:2] != entity_labels.shape:
            raise ValueError(
                f"entity_labels must be (B, K) = {tuple(entity_logits.shape[:2])}, got {tuple(entity_labels.shape)}"
            )
        if predicate_logits.shape != predicate_targets.shape:
            raise ValueError(
                f"predicate_targets must match predicate_logits {tuple(predicate_logits.shape)}, "
                f"got {tuple(predicate_targets.shape)}"
            )
        labels = entity_labels.reshape(-1).long()
        if (labels != IGNORE_INDEX).any():
            entity_loss = F.cross_entropy(
                entity_logits.reshape(labels.numel(), -1),
                labels,
                ignore_index=IGNORE_INDEX,
                label_smoothing=cfg.label_smoothing,
            )
        else:
            entity_loss = entity_logits.sum() * 0
        if predicate_valid is None:
            predicate_valid = torch.ones(predicate_logits.shape[:2], dtype=torch.bool, device=predicate_logits.device)
        valid = predicate_valid.to(predicate_logits.dtype)
        per_pair = F.binary_cross_entropy_with_logits(
            predicate_logits, predicate_targets.to(predicate_logits.dtype), reduction="none"
        ).sum(-1)
        predicate_loss = (per_pair * valid).sum() / valid.sum().clamp_min(1)
        total = cfg.entity_weight * entity_loss + cfg.predicate_weight * predicate_loss
        return {"entity": entity_loss, "predicate": predicate_loss, "total": total}
