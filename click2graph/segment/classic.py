"""The classic backend: weight-free segmentation (GrabCut) and tracking (optical flow + graph cuts).

It needs no model weights, so the app, the CLI and CI work on any machine; SAM 2 replaces it whenever a checkpoint
is available. The work is split by job: :mod:`.classic_click` segments one frame from clicks or a box,
:mod:`.classic_track` carries a mask from frame to frame, :mod:`.classic_energy` holds the graph-cut energy and
:mod:`.classic_features` the per-frame colours and flows, all at a reduced *processing* resolution.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np

from click2graph.masks import rle_decode, rle_encode
from click2graph.prompts import FramePrompt
from click2graph.segment.base import Candidates, ObjectTrack, PropagationStep, SegmenterState
from click2graph.segment.classic_candidates import decode_point_candidates
from click2graph.segment.classic_click import ClickConfig, progressive_merge, segment_prompt
from click2graph.segment.classic_features import FrameFeatures
from click2graph.segment.classic_small import small_object
from click2graph.segment.classic_track import ObjectModel, TrackConfig, track_step

logger = logging.getLogger(__name__)
PROMPT_CACHE_SIZE = 64  # prompt masks kept per video (RLE, a few kB each)


@dataclass(frozen=True)
class ClassicConfig:
    """Settings of the classic backend."""

    max_side: int = 448  # processing resolution (longest side, px): 480p work frames are processed at half size
    # Masks go back to working pixels along the frame's edges (a guided filter) rather than the processing grid's
    # interpolated outline (.classic_features.FrameFeatures.to_work_mask)
    snap_outline: bool = True
    click: ClickConfig = field(default_factory=ClickConfig)
    track: TrackConfig = field(default_factory=TrackConfig)


@dataclass
class ClassicState(SegmenterState):
    """:class:`SegmenterState` plus the backend's per-video caches: processing-resolution colours and flows, and
    the masks of recent prompts (RLE, by :func:`_prompt_key`), which refining a prompt one click at a time reads."""

    features: FrameFeatures | None = None
    prompt_masks: dict[tuple, dict] = field(default_factory=dict)


class ClassicSegmenter:
    """Weight-free :class:`~click2graph.segment.VideoSegmenter`."""

    name = "classic"

    def __init__(self, config: ClassicConfig = ClassicConfig()) -> None:
        self.config = config

    def describe(self) -> str:
        return "classic tracker (GrabCut + optical flow + graph cuts, no model weights)"

    def init_state(self, video) -> ClassicState:
        return ClassicState(video=video)

    def add_prompt(self, state: SegmenterState, obj_id: int, prompt: FramePrompt) -> np.ndarray:
        feat = self._features(state)
        track = state.objects.setdefault(obj_id, ObjectTrack(obj_id))
        track.prompts[prompt.frame_idx] = prompt
        track.mask_prompts.pop(prompt.frame_idx, None)
        mask = self._prompt_mask(state, feat, prompt)
        track.set_mask(prompt.frame_idx, mask)
        return mask

    def _prompt_mask(self, state: SegmenterState, feat: FrameFeatures, prompt: FramePrompt) -> np.ndarray:
        """The prompt's mask on its frame. A prompt of several clicks (or a box and clicks) is its mask without the
        last click, changed where that click asks (:func:`progressive_merge`): a click refines the mask the user
        saw, it does not redraw it elsewhere (when the clicks before it are a prompt: a box or a positive click).
        Cached per state, so a click costs one segmentation."""
        cache = state.prompt_masks if isinstance(state, ClassicState) else {}
        key = _prompt_key(prompt)
        if key in cache:
            return rle_decode(cache[key])
        mask = small_object(state.video.frames[prompt.frame_idx], prompt, self.config.click)
        if mask is None:
            mask = feat.to_work_mask(segment_prompt(feat, prompt.frame_idx, prompt, self.config.click))
        if len(prompt.labels) and (prompt.box_xyxy is not None or (prompt.labels[:-1] == 1).any()):
            earlier = FramePrompt.from_points(
                prompt.frame_idx, prompt.points_xy[:-1], prompt.labels[:-1], prompt.box_xyxy
            )
            before = self._prompt_mask(state, feat, earlier)
            mask = progressive_merge(before, mask, prompt, state.video.frames[prompt.frame_idx])
        while len(cache) >= PROMPT_CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[key] = rle_encode(mask)
        return mask

    def add_mask(self, state: SegmenterState, obj_id: int, frame_idx: int, mask: np.ndarray) -> np.ndarray:
        track = state.objects.setdefault(obj_id, ObjectTrack(obj_id))
        track.prompts.pop(frame_idx, None)
        mask = mask.astype(bool)
        track.set_mask(frame_idx, mask)
        track.mask_prompts[frame_idx] = track.masks[frame_idx]
        return mask

    def remove_object(self, state: SegmenterState, obj_id: int) -> None:
        state.objects.pop(obj_id, None)

    def propagate(
        self, state: SegmenterState, *, obj_ids: Sequence[int] | None = None, reverse: bool = False
    ) -> Iterator[PropagationStep]:
        ids = [i for i in (state.obj_ids if obj_ids is None else obj_ids) if state.track(i).prompt_frames]
        if not ids:
            return
        feat = self._features(state)
        order = range(len(state.video) - 1, -1, -1) if reverse else range(len(state.video))
        step = -1 if reverse else 1
        anchors = {i: (max if reverse else min)(state.track(i).prompt_frames) for i in ids}
        current: dict[int, np.ndarray] = {}  # obj_id -> mask on the previous frame, processing pixels
        models: dict[int, ObjectModel] = {}
        for t in order:
            active, proc = [], []
            for i in ids:
                track = state.track(i)
                if t in track.prompts or t in track.mask_prompts:
                    mask = feat.to_proc_mask(track.mask(t))
                    partial = t in track.prompts  # a click's or box's mask, not a user's mask
                    models[i] = ObjectModel.start(feat, t, mask, self.config.track, partial=partial)
                elif (t - anchors[i]) * step > 0 and i in current:
                    mask = track_step(feat, models[i], current[i], t - step, t, self.config.track)
                else:
                    continue
                active.append(i)
                proc.append(mask)
            if not active:
                continue
            proc = _resolve_overlaps(proc)
            current.update(zip(active, proc))
            prompted = [t in state.track(i).prompts or t in state.track(i).mask_prompts for i in active]
            # the prompted masks are kept as given, at full resolution; the others come back to working pixels
            # (snapped outlines can meet where the processing masks only touched: overlaps are resolved again)
            tracked = iter(
                _resolve_overlaps(
                    [
                        feat.to_work_mask(m, t if self.config.snap_outline else None)
                        for m, p in zip(proc, prompted)
                        if not p
                    ]
                )
            )
            masks = []
            for i, was_prompted in zip(active, prompted):
                track = state.track(i)
                if was_prompted:
                    masks.append(track.mask(t))
                else:
                    masks.append(next(tracked))
                    track.set_mask(t, masks[-1])
            yield t, active, np.stack(masks)

    def decode_candidates(
        self, state: SegmenterState, frame_idx: int, points_xy: np.ndarray, *, avoid: np.ndarray | None = None
    ) -> Candidates:
        return decode_point_candidates(state.video.frames[frame_idx], points_xy, avoid=avoid)

    def _features(self, state: SegmenterState) -> FrameFeatures:
        features = getattr(state, "features", None)
        if features is None:
            features = FrameFeatures(state.video.frames, state.flows, max_side=self.config.max_side)
            if isinstance(state, ClassicState):
                state.features = features
        return features


def _prompt_key(prompt: FramePrompt) -> tuple:
    box = None if prompt.box_xyxy is None else prompt.box_xyxy.tobytes()
    return prompt.frame_idx, prompt.points_xy.tobytes(), prompt.labels.tobytes(), box


def _resolve_overlaps(masks: list[np.ndarray]) -> list[np.ndarray]:
    """Objects do not overlap: a pixel claimed by several goes to the smallest claimant (a small object in front
    of a large one is likelier than the reverse, and a subject mask tends to swallow what it holds)."""
    if len(masks) < 2:
        return masks
    order = np.argsort([m.sum() for m in masks])
    taken = np.zeros_like(masks[0])
    out = list(masks)
    for k in order:
        out[k] = masks[k] & ~taken
        taken |= out[k]
    return out
