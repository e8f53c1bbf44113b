"""The ``VideoSegmenter`` protocol: the only boundary that knows a segmentation model.

A segmenter opens one :class:`SegmenterState` per video. Prompt verbs return the object's mask on that frame at
once; :meth:`VideoSegmenter.propagate` yields ``(frame_idx, obj_ids, masks)`` triples (the same shape for every
backend); :meth:`VideoSegmenter.decode_candidates` turns point prompts into masks *without* adding objects (used
by discovery). All coordinates are working-frame pixels; all masks are bool (H_work, W_work).

A :class:`FeatureSegmenter` also hands out the model's own tensors (image features, decoder inputs, object
pointers), which the learned modules read; :func:`require_features` is the one check that a segmenter does.

Ids: ``obj_id`` is the caller's id for an object (any int >= 0); backends keep their own internal slots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, Protocol, Sequence, runtime_checkable

import numpy as np

from click2graph.cv.flow import FlowCache
from click2graph.errors import CheckpointError
from click2graph.masks import mask_iou, rle_decode, rle_encode
from click2graph.prompts import FramePrompt
from click2graph.video import Video

if TYPE_CHECKING:
    import torch

# Two masks of one frame with at least this IoU show the same object (two tracks of it agree there).
SAME_OBJECT_IOU = 0.5
PropagationStep = tuple[int, list[int], np.ndarray]  # (frame_idx, obj_ids, masks bool (N, H, W))
TrackingProgress = Callable[[str, int, int, int], None]  # (direction, frames done, frames in all, frame_idx)


@dataclass
class ObjectTrack:
    """Prompts and per-frame masks of one object; masks are stored as COCO RLE to keep memory small."""

    obj_id: int
    prompts: dict[int, FramePrompt] = field(default_factory=dict)  # frame_idx -> prompt (clicks/box)
    mask_prompts: dict[int, dict] = field(default_factory=dict)  # frame_idx -> RLE of a mask given as prompt
    masks: dict[int, dict] = field(default_factory=dict)  # frame_idx -> RLE of the current mask

    @property
    def prompt_frames(self) -> list[int]:
        return sorted(set(self.prompts) | set(self.mask_prompts))

    def mask(self, frame_idx: int) -> np.ndarray | None:
        rle = self.masks.get(frame_idx)
        return None if rle is None else rle_decode(rle)

    def set_mask(self, frame_idx: int, mask: np.ndarray) -> None:
        self.masks[frame_idx] = rle_encode(mask)


@dataclass
class SegmenterState:
    """Per-video state shared by all backends; a backend may subclass it to add its own caches."""

    video: Video
    objects: dict[int, ObjectTrack] = field(default_factory=dict)
    flows: FlowCache | None = None

    def __post_init__(self) -> None:
        if self.flows is None:
            self.flows = FlowCache(self.video.frames)

    @property
    def obj_ids(self) -> list[int]:
        return sorted(self.objects)

    def mask(self, obj_id: int, frame_idx: int) -> np.ndarray | None:
        """The object's current mask on a frame, or None if it has none there."""
        track = self.objects.get(obj_id)
        return None if track is None else track.mask(frame_idx)

    def track(self, obj_id: int) -> ObjectTrack:
        if obj_id not in self.objects:
            raise KeyError(f"no object {obj_id}; known objects: {self.obj_ids}")
        return self.objects[obj_id]


@dataclass(frozen=True)
class Candidates:
    """Masks decoded from point prompts on one frame, one per point, without adding objects.

    Attributes:
        masks: bool (K, H, W), one per input point (may be empty where nothing was found).
        scores: float (K,) in [0, 1], the backend's confidence that the mask is a whole object.
    """

    masks: np.ndarray
    scores: np.ndarray


@runtime_checkable
class VideoSegmenter(Protocol):
    """Promptable video segmentation: click/box -> mask on that frame, then tracking through the clip."""

    name: str

    def describe(self) -> str:
        """One status line, e.g. ``"classic tracker (no weights)"``."""
        ...

    def init_state(self, video: Video) -> SegmenterState:
        """Open a state for one video (computes nothing heavy yet)."""
        ...

    def add_prompt(self, state: SegmenterState, obj_id: int, prompt: FramePrompt) -> np.ndarray:
        """Set the clicks/box of ``obj_id`` on ``prompt.frame_idx`` (replacing that frame's earlier prompt; pass
        all clicks so far to refine) and return its bool (H, W) mask on that frame at once."""
        ...

    def add_mask(self, state: SegmenterState, obj_id: int, frame_idx: int, mask: np.ndarray) -> np.ndarray:
        """Prompt ``obj_id`` with a mask on a frame; returns the mask the backend keeps there."""
        ...

    def remove_object(self, state: SegmenterState, obj_id: int) -> None:
        """Forget an object, its prompts and masks."""
        ...

    def propagate(
        self, state: SegmenterState, *, obj_ids: Sequence[int] | None = None, reverse: bool = False
    ) -> Iterator[PropagationStep]:
        """Track objects (default: all) from their prompt frames to the end (or, ``reverse``, to frame 0).

        Each object starts at its earliest prompt frame going forward (latest going backward) and re-anchors on
        later prompt frames. Masks are stored in ``state`` as they are produced and yielded per frame.
        """
        ...

    def decode_candidates(
        self, state: SegmenterState, frame_idx: int, points_xy: np.ndarray, *, avoid: np.ndarray | None = None
    ) -> Candidates:
        """One mask per point (float (K, 2) working pixels) on ``frame_idx``, without adding objects.

        ``avoid`` (bool (H, W)), when given, marks pixels already explained (e.g. the subject): the backend treats
        them as background for these candidates.
        """
        ...


@runtime_checkable
class FeatureSegmenter(VideoSegmenter, Protocol):
    """A :class:`VideoSegmenter` that also gives its model's tensors (SAM 2): what the learned modules read.

    Attributes:
        device: where the model runs and its tensors are made.
        feature_dim: channels of the frame features and of the object pointers.
        backbone: the model and input size the features come from, e.g. ``{"model": "tiny", "image_size": 512}``;
            modules trained on one backbone's features read nothing meaningful in another's.
    """

    device: torch.device
    feature_dim: int
    backbone: dict[str, str | int]

    def frame_features(self, state: SegmenterState, frame_idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The image features of a working frame and their position encoding, float32 (1, C, h, w) each."""
        ...

    def decoder_features(self, state: SegmenterState, frame_idx: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """What the mask decoder reads for a first prompt on a working frame: the embedding (1, C, h, w) and its
        high-resolution maps."""
        ...

    def decode_point_logits(
        self, embed: torch.Tensor, high_res: Sequence[torch.Tensor], points: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask logits (N, M, H', W') and IoU estimates (N, M) of positive point prompts (N, P, 2) in [0, 1] of
        the frame, differentiable in the points."""
        ...

    def object_pointer(self, state: SegmenterState, obj_id: int, frame_idx: int) -> torch.Tensor | None:
        """A tracked object's pointer on a frame, float32 (feature_dim,), or None where the model has none."""
        ...

    def freeze_weights(self) -> None:
        """Stop gradients to the model's own weights (training back-propagates to the prompts only)."""
        ...


def require_features(segmenter: VideoSegmenter) -> FeatureSegmenter:
    """``segmenter`` as a :class:`FeatureSegmenter`.

    Raises:
        CheckpointError: it gives no model features (the classic backend), so the learned modules cannot run.
    """
    if not isinstance(segmenter, FeatureSegmenter):
        raise CheckpointError(
            f"the learned modules need the SAM 2 backend (its image features), not {segmenter.describe()}"
        )
    return segmenter


def track_both_directions(
    segmenter: VideoSegmenter,
    state: SegmenterState,
    obj_ids: Sequence[int] | None = None,
    *,
    progress: TrackingProgress | None = None,
) -> None:
    """Propagate objects forward then backward from their prompt frames, reporting every tracked frame as
    ``progress(direction, frames done, frames of that direction, frame_idx)``.

    Masks end up in ``state.objects[obj_id].masks``. A frame between two prompt frames of an object is tracked both
    ways; the two tracks are joined where they last agree (:func:`joined_tracks`).
    """
    ids = list(state.obj_ids if obj_ids is None else obj_ids)
    if not ids:
        return
    first = min(min(state.track(i).prompt_frames) for i in ids)
    last = max(max(state.track(i).prompt_frames) for i in ids)
    forward: dict[int, dict[int, dict]] = {}
    for reverse, direction, total in ((False, "forward", len(state.video) - first), (True, "backward", last + 1)):
        for done, (frame_idx, _, _) in enumerate(segmenter.propagate(state, obj_ids=ids, reverse=reverse), 1):
            if progress:
                progress(direction, min(done, total), total, frame_idx)
        if not reverse:
            forward = {i: dict(state.track(i).masks) for i in ids if len(state.track(i).prompt_frames) > 1}
    for i, masks in forward.items():
        track = state.track(i)
        track.masks.update(joined_tracks(track.prompt_frames, masks, track.masks))


def joined_tracks(prompt_frames: Sequence[int], forward: dict[int, dict], backward: dict[int, dict]) -> dict:
    """The masks (RLE by frame) to keep between an object's prompt frames, tracked ``forward`` and ``backward``.

    Between two prompt frames, the forward track (from the earlier prompt) is kept up to the latest frame where the
    two tracks agree (IoU >= :data:`SAME_OBJECT_IOU`: the later prompt's track confirms the earlier one up to there),
    and the backward track (from the later prompt, the user's latest word) after it. A user who clicks a frame where
    the track was lost gets the new track from about where the old one left the object, and keeps the old one
    before it; a correction no better than the old track, on the same object, replaces little of it. Where the two
    never agree (one of them is lost, or holds only a part), each is kept on the half nearer its prompt. Where the
    kept mask is empty, the other one is kept: the user showed the object on both sides, so an empty frame between
    them is likelier a lost track than the object gone.
    """
    kept = {}
    frames = sorted(prompt_frames)
    for before, after in zip(frames, frames[1:]):
        between = [t for t in range(before + 1, after) if t in forward or t in backward]
        if not between:
            continue
        masks = {t: (_mask_of(forward.get(t)), _mask_of(backward.get(t))) for t in between}
        agreed = [t for t in between if _agreement(*masks[t]) >= SAME_OBJECT_IOU]
        handover = max(agreed) if agreed else (before + after) // 2
        for t in between:
            forward_mask, backward_mask = masks[t]
            use_forward = t <= handover
            if use_forward and not forward_mask.any() and backward_mask.any():
                use_forward = False
            elif not use_forward and not backward_mask.any() and forward_mask.any():
                use_forward = True
            source = forward if use_forward else backward
            if t in source:
                kept[t] = source[t]
    return kept


def _mask_of(rle: dict | None) -> np.ndarray:
    return np.zeros((0,), bool) if rle is None else rle_decode(rle)


def _agreement(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two masks; 1 when both are empty (both say the object is not there), 0 when only one is."""
    if not a.any() and not b.any():
        return 1.0
    if not a.any() or not b.any():
        return 0.0
    return mask_iou(a, b)
