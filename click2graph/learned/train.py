"""Training of DIDM and SCH on OpenPVSG-layout data with SAM 2 frozen (``python -m click2graph train``).

One step = one 8-frame clip of one GT subject (frames inside its relations): for every frame, SAM 2's stride-16
features (frozen; computed once per clip and kept in a bounded cache), the subject's GT mask, the GT objects it
interacts with on that frame (relations whose span holds), their classes, and the pair's predicates. SAM 2's
object pointers of subject and objects come from prompting SAM 2 with their GT masks on the frame. Losses
(:mod:`click2graph.learned.losses`): DIDM = L2 on Hungarian-matched points (targets drawn inside the GT masks by
distance-transform weighting) + objectness BCE + the mask loss of the matched points as SAM 2 decodes them (best
of its three candidates, BCE + Dice, back-propagated through SAM 2's frozen prompt encoder and mask decoder to the
points); SCH = entity cross-entropy + multi-label predicate BCE. AdamW with the paper's learning rates (DIDM
5e-5, SCH 5e-4), cosine schedule; bf16 autocast on CUDA. Training runs ``steps`` steps, each on a query drawn at
random, or ``epochs`` passes over the queries (each once per pass). A checkpoint (modules, optimiser, scheduler,
step, the SAM 2 backbone) is written every ``save_every`` steps and at the end; ``resume`` continues from it.
Losses are appended to ``<checkpoint>.log.jsonl``.

What SCH sees, against what inference feeds it (``TrainConfig.tracked_pointers`` and ``negative_objects``, both
on in the ``paper`` preset, off by default): at inference the pointers come from SAM 2 tracking with its memory,
and discovery proposes objects the subject does not interact with, whose predicates should all stay low (what the
multi-label BCE allows). With ``tracked_pointers`` every entity of the clip is prompted with its GT mask on its
first frame in the clip where it is visible and tracked forward with memory, and the pointers are read from that
tracking. With ``negative_objects`` the largest GT objects of the clip that the subject does not interact with in
it (up to that many) are paired with the subject too, and every pair whose relation does not hold on a frame gets
an all-zero target. What still differs: tracking starts from GT masks on the clip's first frames and runs over 8
frames (at inference, from the user's prompt and the discovered masks, over the whole video); the negatives are
annotated objects, not DIDM's proposals (those would tie SCH's data to a DIDM still being trained); and SCH reads
each frame on its own, at inference as in training.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from click2graph.data.openpvsg import PvsgDataset, PvsgVideo
from click2graph.errors import Click2GraphError
from click2graph.learned.checkpoint import (
    PAPER_MIN_LR_RATIO,
    load_checkpoint,
    make_optimizer,
    make_scheduler,
    require_backbone,
    save_checkpoint,
)
from click2graph.learned.didm import Didm, DidmConfig
from click2graph.learned.inference import DEFAULT_LEARNED_PATH
from click2graph.learned.losses import IGNORE_INDEX, DidmLoss, SchLoss, multimask_loss
from click2graph.learned.sch import Sch, SchConfig
from click2graph.masks import to_working_size
from click2graph.segment.base import FeatureSegmenter, require_features
from click2graph.semantics.vocab import OPENPVSG
from click2graph.video import Video

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 2000
    # Train by epochs instead (None: by steps): an epoch visits every (video, subject) query once, in an order
    # shuffled per epoch, one clip each; the run is then epochs x queries steps.
    epochs: int | None = None
    clip_frames: int = 8  # the paper's clip length
    save_every: int = 200
    warmup_steps: int = 0
    lr_didm: float = 5e-5  # the paper's
    lr_sch: float = 5e-4
    # SCH's LR anneals (cosine) to this fraction of lr_sch; the paper gives SCH a learning rate and no schedule (1.0
    # keeps it constant), DIDM its cosine 5e-5 -> 1e-5 (PAPER_MIN_LR_RATIO).
    sch_min_lr_ratio: float = PAPER_MIN_LR_RATIO
    seed: int = 0
    cache_clips: int = 32  # prepared clips kept in memory (~130 MB each at 1024 px, ~35 MB at 512)
    mask_weight: float = 1.0  # L_mask of the decoded points (0: points by L2 alone)
    tracked_pointers: bool = False  # SCH's pointers from tracking the clip with memory (module docstring)
    negative_objects: int = 0  # GT objects the subject does not interact with, paired with all-zero targets


@dataclass
class ClipSample:
    """Tensors of one training clip (B = frames), on the CPU."""

    feats: torch.Tensor  # (B, C, h, w)
    pos: torch.Tensor  # (B, C, h, w)
    decoder_embed: torch.Tensor  # float16 (B, C, h, w): SAM 2's mask-decoder input without memory
    decoder_high_res: list[torch.Tensor]  # float16 [(B, C0, 4h, 4w), (B, C1, 2h, 2w)]
    subject_masks: torch.Tensor  # bool (B, H, W)
    object_masks: list[np.ndarray]  # B bool arrays (M_b, H, W)
    entity_masks: torch.Tensor  # bool (B, K, H, W): subject then objects, padded
    entity_labels: torch.Tensor  # int (B, K), IGNORE_INDEX for padding
    subject_ptr: torch.Tensor  # (B, P, 256)
    object_ptr: torch.Tensor  # (B, P, 256)
    predicate_targets: torch.Tensor  # (B, P, 57)
    pair_valid: torch.Tensor  # bool (B, P)


def training_queries(dataset: PvsgDataset, split: str) -> list[tuple[str, int]]:
    """(video id, GT subject id) pairs of a split: every subject of at least one relation."""
    return [
        (vid, s)
        for vid in dataset.video_ids(split)
        for s in sorted({r.subject_id for r in dataset.videos[vid].relations})
    ]


def _partners(video: PvsgVideo, subject_id: int, frame: int) -> dict[int, list[str]]:
    """GT objects the subject relates to on ``frame`` -> the predicates that hold."""
    partners: dict[int, list[str]] = {}
    for rel in video.relations:
        if rel.subject_id == subject_id and any(a <= frame <= b for a, b in rel.spans):
            partners.setdefault(rel.object_id, []).append(rel.predicate)
    return partners


def prepare_clip(
    segmenter: FeatureSegmenter,
    video: PvsgVideo,
    frames: Video,
    subject_id: int,
    start: int,
    length: int,
    *,
    tracked_pointers: bool = False,
    negative_objects: int = 0,
) -> ClipSample:
    """Features, masks, labels and pointers of frames ``start .. start + length - 1`` (working = original); the
    pointers and pairs as ``tracked_pointers`` and ``negative_objects`` say (module docstring)."""
    indices = list(range(start, min(start + length, len(frames))))
    clip = Video.from_frames(frames.frames[indices], frames.fps, source=f"{video.video_id}@{start}")
    state = segmenter.init_state(clip)
    size = (clip.width, clip.height)
    panoptics = [video.panoptic(frames.orig_index(t)) for t in indices]
    partners = [
        {o: preds for o, preds in _partners(video, subject_id, frames.orig_index(t)).items() if (panoptic == o).any()}
        for t, panoptic in zip(indices, panoptics)
    ]
    clip_partners = list(dict.fromkeys(o for p in partners for o in p))
    negatives = _other_objects(panoptics, [subject_id, *clip_partners], negative_objects)
    feats, pos, subjects, objects, entity_rows, label_rows, targets_rows = [], [], [], [], [], [], []
    embeds, high_res, visible, needed = [], [], [], []
    for k, panoptic in enumerate(panoptics):
        subject = to_working_size(panoptic == subject_id, size, frames.region)
        present = {
            o: to_working_size(panoptic == o, size, frames.region)
            for o in (*clip_partners, *negatives)
            if (panoptic == o).any()
        }
        # With negatives, every object of the clip pairs with the subject wherever it is visible: a pair whose
        # relation does not hold on this frame gets an all-zero target.
        paired = list(partners[k]) + ([o for o in present if o not in partners[k]] if negative_objects else [])
        masks = {o: present[o] for o in paired}
        f, p = segmenter.frame_features(state, k)
        feats.append(f[0])
        pos.append(p[0])
        embed, levels = segmenter.decoder_features(state, k)
        embeds.append(embed[0].half())
        high_res.append([x[0].half() for x in levels])
        subjects.append(torch.from_numpy(subject))
        interacting = [masks[o] for o in partners[k]]
        objects.append(np.stack(interacting) if interacting else np.zeros((0, *subject.shape), bool))
        entity_rows.append([subject, *masks.values()])
        label_rows.append([_class_index(video, i) for i in (subject_id, *masks)])
        targets_rows.append({o: _predicate_target(partners[k].get(o, ())) for o in paired})
        needed.append({subject_id: subject, **masks} if subject.any() else {})
        visible.append({i: m for i, m in {subject_id: subject, **present}.items() if m.any()})
    pointers = _tracked_pointers(segmenter, state, visible) if tracked_pointers else None
    pair_rows = []
    for k, entities in enumerate(needed):
        row = pointers[k] if pointers is not None else _prompted_pointers(segmenter, state, k, entities)
        pair_rows.append(
            [
                (row[subject_id], row[o], target)
                for o, target in targets_rows[k].items()
                if entities and row.get(subject_id) is not None and row.get(o) is not None
            ]
        )
    k_max = max(len(r) for r in entity_rows)
    p_max = max(1, max(len(r) for r in pair_rows))
    b, (h, w) = len(indices), subjects[0].shape
    entity_masks = torch.zeros(b, k_max, h, w, dtype=torch.bool)
    entity_labels = torch.full((b, k_max), IGNORE_INDEX, dtype=torch.long)
    dim = feats[0].shape[0]
    subject_ptr, object_ptr = torch.zeros(b, p_max, dim), torch.zeros(b, p_max, dim)
    targets, valid = torch.zeros(b, p_max, len(OPENPVSG.predicates)), torch.zeros(b, p_max, dtype=torch.bool)
    for i in range(b):
        for j, (mask, label) in enumerate(zip(entity_rows[i], label_rows[i])):
            entity_masks[i, j] = torch.from_numpy(mask)
            entity_labels[i, j] = label if mask.any() else IGNORE_INDEX
        for j, (a, o, target) in enumerate(pair_rows[i]):
            subject_ptr[i, j], object_ptr[i, j], targets[i, j], valid[i, j] = a, o, target, True
    return ClipSample(
        torch.stack(feats), torch.stack(pos), torch.stack(embeds), [torch.stack(x) for x in zip(*high_res)],
        torch.stack(subjects), objects, entity_masks, entity_labels, subject_ptr, object_ptr, targets, valid,
    )  # fmt: skip


def _other_objects(panoptics: list[np.ndarray], related: list[int], count: int) -> list[int]:
    """Up to ``count`` GT objects of the clip other than ``related`` (the subject and its partners), largest first
    (then by id)."""
    if count <= 0:
        return []
    related = {0, *related}  # 0: unannotated pixels
    area: dict[int, int] = {}
    for panoptic in panoptics:
        for i, n in zip(*np.unique(panoptic, return_counts=True)):
            if int(i) not in related:
                area[int(i)] = area.get(int(i), 0) + int(n)
    return sorted(area, key=lambda i: (-area[i], i))[:count]


def _predicate_target(predicates) -> torch.Tensor:
    """Multi-hot (57,) of the predicates that hold; all zero for a pair that holds none."""
    target = torch.zeros(len(OPENPVSG.predicates))
    for predicate in predicates:
        if predicate in OPENPVSG.predicates:
            target[OPENPVSG.predicates.index(predicate)] = 1
    return target


def _prompted_pointers(segmenter: FeatureSegmenter, state, k: int, masks: dict[int, np.ndarray]) -> dict:
    """Each entity's pointer on frame ``k`` from prompting that frame alone with its mask (no memory)."""
    pointers = {}
    # A fresh SAM 2 object per (frame, entity): prompted on that frame only, it has no memory of other frames.
    for mask_id, (entity_id, mask) in enumerate(masks.items(), start=len(state.obj_ids) + 1):
        segmenter.add_mask(state, mask_id, k, mask)
        pointers[entity_id] = segmenter.object_pointer(state, mask_id, k)
    return pointers


def _tracked_pointers(segmenter: FeatureSegmenter, state, visible: list[dict[int, np.ndarray]]) -> list[dict]:
    """Each entity's pointers over the clip as tracking gives them: prompted with its mask on the first frame where it
    is visible, then tracked forward with SAM 2's memory (``visible``: entity id -> mask, per frame)."""
    first: dict[int, tuple[int, np.ndarray]] = {}
    for k, masks in enumerate(visible):
        for entity_id, mask in masks.items():
            first.setdefault(entity_id, (k, mask))
    for entity_id, (k, mask) in first.items():
        segmenter.add_mask(state, entity_id, k, mask)
    for _ in segmenter.propagate(state, obj_ids=list(first)):
        pass
    return [{i: segmenter.object_pointer(state, i, k) for i in first} for k in range(len(visible))]


def decoded_mask_loss(
    decode: Callable, embed: torch.Tensor, high_res: list[torch.Tensor], object_masks, points: torch.Tensor, indices
) -> torch.Tensor:
    """:func:`~click2graph.learned.losses.multimask_loss` of the matched points as the decoder decodes them.

    Args:
        decode: ``(embed (N, C, h, w), high_res, points (N, 1, 2)) -> (logits (N, M, H', W'), ious)``, e.g.
            ``Sam2Segmenter.decode_point_logits``.
        embed, high_res: the decoder's inputs per frame (B rows), moved to the points' device as float32.
        object_masks: B bool arrays (M_b, H, W), the GT objects; resized to the logits' size by area (soft).
        points: (B, Q, 2) DIDM points in [0, 1].
        indices: B ``(query_idx, object_idx)`` matches.
    """
    rows = [(b, int(q), int(m)) for b, (qs, ms) in enumerate(indices) for q, m in zip(qs, ms)]
    if not rows:
        return points.sum() * 0
    device = points.device
    frames = torch.tensor([b for b, _, _ in rows])
    prompts = torch.stack([points[b, q] for b, q, _ in rows])[:, None].float()  # (N, 1, 2)
    logits, _ = decode(embed[frames].to(device).float(), [x[frames].to(device).float() for x in high_res], prompts)
    gt = torch.stack([torch.as_tensor(np.asarray(object_masks[b][m])) for b, _, m in rows]).float()[:, None]
    gt = F.interpolate(gt, size=logits.shape[-2:], mode="area")[:, 0].to(device)
    return multimask_loss(logits, gt)["total"]


def _class_index(video: PvsgVideo, object_id: int) -> int:
    category = video.category(object_id)
    return OPENPVSG.classes.index(category) if category in OPENPVSG.classes else IGNORE_INDEX


class Trainer:
    """DIDM + SCH training over a dataset split, resumable (see the module docstring)."""

    def __init__(
        self,
        dataset: PvsgDataset,
        segmenter: FeatureSegmenter,
        *,
        split: str = "train",
        config: TrainConfig = TrainConfig(),
        checkpoint: str | Path = DEFAULT_LEARNED_PATH,
        load_frames: Callable[[PvsgVideo], Video],
    ) -> None:
        segmenter = require_features(segmenter)
        segmenter.freeze_weights()  # the mask loss only needs gradients for the points
        self.dataset, self.segmenter, self.config = dataset, segmenter, config
        self.queries = training_queries(dataset, split)
        if not self.queries:
            raise Click2GraphError(f"split {split!r} has no relation to train on")
        self.checkpoint = Path(checkpoint)
        self.load_frames = load_frames
        self.device = segmenter.device
        dim = segmenter.feature_dim
        torch.manual_seed(config.seed)  # the modules' initial weights
        self.didm = Didm(DidmConfig(feature_dim=dim)).to(self.device)
        self.sch = Sch(SchConfig(feature_dim=dim, pointer_dim=dim)).to(self.device)
        modules = {"didm": self.didm, "sch": self.sch}
        self.optimizer = make_optimizer(modules, lr={"didm": config.lr_didm, "sch": config.lr_sch})
        self.total_steps = config.steps if config.epochs is None else config.epochs * len(self.queries)
        floors = {"didm": PAPER_MIN_LR_RATIO, "sch": config.sch_min_lr_ratio}
        self.scheduler = make_scheduler(self.optimizer, self.total_steps, config.warmup_steps, min_lr_ratio=floors)
        self.didm_loss, self.sch_loss = DidmLoss(seed=config.seed), SchLoss()
        self.rng = np.random.default_rng(config.seed)
        self.step = 0
        self._clips: OrderedDict[tuple, ClipSample] = OrderedDict()
        self._frames: tuple[str, Video] | None = None

    def resume(self) -> bool:
        """Continue from the checkpoint file when there is one; returns whether it did."""
        if not self.checkpoint.is_file():
            return False
        saved = load_checkpoint(
            self.checkpoint, {"didm": self.didm, "sch": self.sch}, optimizer=self.optimizer,
            scheduler=self.scheduler, map_location=self.device,
        )  # fmt: skip
        require_backbone(saved.extra.get("backbone"), self.segmenter.backbone, self.checkpoint)
        self.step = saved.step
        self.rng = np.random.default_rng([self.config.seed, self.step])
        return True

    def next_query(self) -> tuple[str, int]:
        """The (video id, subject id) of the next step: drawn at random, or by epochs the next of this epoch's
        shuffled order (the same after a resume)."""
        if self.config.epochs is None:
            return self.queries[int(self.rng.integers(len(self.queries)))]
        epoch, k = divmod(self.step, len(self.queries))
        return self.queries[int(np.random.default_rng([self.config.seed, epoch]).permutation(len(self.queries))[k])]

    def sample(self) -> ClipSample:
        vid, subject_id = self.next_query()
        video = self.dataset.videos[vid]
        if self._frames is None or self._frames[0] != vid:
            self._frames = (vid, self.load_frames(video))
        frames = self._frames[1]
        active = sorted({t for r in video.relations if r.subject_id == subject_id for t in r.frames(video.num_frames)})
        work = sorted({frames.work_index(t) for t in active})
        start = max(0, min(int(self.rng.choice(work)), len(frames) - self.config.clip_frames))
        key = (vid, subject_id, start)
        if key not in self._clips:
            self._clips[key] = prepare_clip(
                self.segmenter, video, frames, subject_id, start, self.config.clip_frames,
                tracked_pointers=self.config.tracked_pointers, negative_objects=self.config.negative_objects,
            )  # fmt: skip
            while len(self._clips) > self.config.cache_clips:
                self._clips.popitem(last=False)
        self._clips.move_to_end(key)
        return self._clips[key]

    def train_step(self, clip: ClipSample) -> dict[str, float]:
        self.didm.train()
        self.sch.train()
        to = lambda x: x.to(self.device)  # noqa: E731
        autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda")
        with autocast:
            out = self.didm(to(clip.feats), to(clip.subject_masks), to(clip.pos))
            targets = self.didm_loss.sample_targets(clip.object_masks)
            indices = self.didm_loss.match(out, clip.object_masks, targets)
            didm = self.didm_loss(out, clip.object_masks, point_targets=targets, indices=indices)
            mask = self.mask_loss(clip, out.points, indices)
            entity_logits = self.sch.classify_entities(to(clip.feats), to(clip.entity_masks))
            predicate_logits = self.sch.classify_predicates(to(clip.subject_ptr), to(clip.object_ptr))
            sch = self.sch_loss(
                entity_logits.float(), to(clip.entity_labels), predicate_logits.float(), to(clip.predicate_targets),
                to(clip.pair_valid),
            )  # fmt: skip
            total = didm["total"] + self.config.mask_weight * mask + sch["total"]
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        return {
            "step": self.step, "total": total.item(), "point": didm["point"].item(),
            "objectness": didm["objectness"].item(), "mask": mask.item(), "entity": sch["entity"].item(),
            "predicate": sch["predicate"].item(), "lr_didm": self.optimizer.param_groups[0]["lr"],
        }  # fmt: skip

    def mask_loss(self, clip: ClipSample, points: torch.Tensor, indices) -> torch.Tensor:
        """:func:`decoded_mask_loss` with SAM 2's decoder (0 with ``mask_weight`` 0)."""
        if self.config.mask_weight == 0:
            return points.sum() * 0
        embed, high_res = clip.decoder_embed, clip.decoder_high_res
        return decoded_mask_loss(
            self.segmenter.decode_point_logits, embed, high_res, clip.object_masks, points, indices
        )

    def save(self) -> Path:
        return save_checkpoint(
            self.checkpoint, {"didm": self.didm, "sch": self.sch}, optimizer=self.optimizer,
            scheduler=self.scheduler, step=self.step,
            extra={"train": asdict(self.config), "backbone": self.segmenter.backbone},
        )  # fmt: skip

    def run(self, progress: Callable[[dict], None] = lambda losses: None) -> list[dict]:
        """Train until ``total_steps``; checkpoint every ``save_every`` steps and at the end."""
        log_path = self.checkpoint.with_suffix(".log.jsonl")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        history = []
        with log_path.open("a") as log:
            while self.step < self.total_steps:
                started = time.perf_counter()
                losses = self.train_step(self.sample())
                losses["seconds"] = round(time.perf_counter() - started, 3)
                history.append(losses)
                log.write(json.dumps(losses) + "\n")
                progress(losses)
                if self.step % self.config.save_every == 0 or self.step == self.total_steps:
                    self.save()
        return history
