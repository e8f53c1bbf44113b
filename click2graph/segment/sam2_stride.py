"""Strided tracking for the SAM 2 backend: SAM 2 on every k-th working frame, masks carried along optical flow
between.

On a frame between two SAM 2 frames, an object's mask is first the one of the frame before (in tracking order)
pulled along the dense optical flow; nothing of SAM 2 runs there (no image encoder, memory attention, decoder or
memory encoder). When SAM 2 has computed the next frame, the frames between are blended with its mask carried back
along the flow (:func:`backfill`), the nearer SAM 2 frame weighing more, so a frame between is not left with the
drift of a one-sided chain. The carried output is stored in sam2's output dict like its own, so sam2's loop, the
outputs of other objects and later prompts on that frame work as usual, but it has no memory features: sam2's
memory reads only the frames SAM 2 computed, renumbered as if consecutive (:func:`sam2_frames_only`), so it sees a
video at 1/k of the working frame rate and its memory spans k times as many working frames. Each SAM 2 frame
re-anchors the masks.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from click2graph.cv.flow import FlowCache

CARRIED_KEY = "click2graph_carried"
"""Marks a frame output whose mask was carried along the flow (sam2 ignores keys it does not know)."""
BLENDED_KEY = "click2graph_blended"
"""Marks a carried output already blended with the SAM 2 frame after it (kept as is when a run reuses it)."""


def is_sam2_frame(frame_idx: int, stride: int) -> bool:
    """Whether SAM 2 itself tracks this working frame (prompt frames are SAM 2's in any case)."""
    return frame_idx % stride == 0


def carried_output(previous: dict, flow_to_previous: np.ndarray) -> dict:
    """A sam2 frame output whose mask is ``previous``'s, pulled along ``flow_to_previous``.

    Args:
        previous: sam2's output of the object on the frame before (in tracking order).
        flow_to_previous: float32 (H, W, 2) working-pixel flow from this frame to that one.

    The low-resolution mask logits (sam2's own mask resolution, over the frame squashed to a square) are warped;
    pixels pulled from outside the frame are background. No memory features and no object pointer.
    """
    logits = previous["pred_masks"]  # (1, 1, s, s)
    size = logits.shape[-1]
    h, w = flow_to_previous.shape[:2]
    flow = cv2.resize(flow_to_previous, (size, size), interpolation=cv2.INTER_AREA)
    xs, ys = np.meshgrid(np.arange(size, dtype=np.float32), np.arange(size, dtype=np.float32))
    source = logits[0, 0].float().cpu().numpy()
    warped = cv2.remap(
        source,
        xs + flow[..., 0] * (size / w),
        ys + flow[..., 1] * (size / h),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=float(min(source.min(), -1.0)),
    )
    return {
        "pred_masks": torch.from_numpy(warped)[None, None].to(logits),
        "object_score_logits": previous.get("object_score_logits"),
        "obj_ptr": None,
        "maskmem_features": None,
        "maskmem_pos_enc": None,
        CARRIED_KEY: True,
    }


def sam2_frames_only(output_dict: dict, frame_idx: int) -> tuple[int, dict]:
    """``output_dict`` (sam2's cond / non-cond outputs of one object) without carried outputs, its frames
    renumbered 0, 1, ... in order together with ``frame_idx``; and ``frame_idx``'s number.

    sam2 picks memory by frame distance (the 6 frames before, object pointers up to 15 frames away): renumbered,
    the frames before are the last SAM 2 frames, whatever the gaps between them.
    """
    computed = {kind: {t: o for t, o in outs.items() if not o.get(CARRIED_KEY)} for kind, outs in output_dict.items()}
    frames = sorted({frame_idx, *(t for outputs in computed.values() for t in outputs)})
    number = {t: k for k, t in enumerate(frames)}
    renumbered = {kind: {number[t]: out for t, out in outputs.items()} for kind, outputs in computed.items()}
    return number[frame_idx], renumbered


def blended_output(forward: dict, backward: dict, forward_weight: float) -> dict:
    """A carried output whose logits are ``forward``'s and ``backward``'s (both carried outputs of one frame, from
    the SAM 2 frames before and after it) blended, ``forward_weight`` on ``forward``'s."""
    logits = forward_weight * forward["pred_masks"] + (1.0 - forward_weight) * backward["pred_masks"]
    return {**forward, "pred_masks": logits, BLENDED_KEY: True}


def backfill(carried: dict[int, dict], anchor: dict, anchor_idx: int, step: int, flows: FlowCache) -> list[int]:
    """Blend the carried outputs just before SAM 2's frame ``anchor_idx`` with its output carried back to them.

    Args:
        carried: an object's non-conditioning outputs by frame (sam2's ``non_cond_frame_outputs``), changed in
            place: the run of carried outputs that ends next to ``anchor_idx`` (back to the SAM 2 frame that run was
            carried from) becomes :func:`blended_output` of each and of ``anchor`` carried along the flow the other
            way, weighted by temporal distance (the nearer SAM 2 frame weighs more). An output blended before (a
            run may reuse one) ends the blending there.
        anchor: the object's output on ``anchor_idx``, which SAM 2 computed.
        step: +1 when tracking forward, -1 in reverse.

    Returns:
        The frames blended, in tracking order.
    """
    between = []
    t = anchor_idx - step
    while t in carried and carried[t].get(CARRIED_KEY):
        between.append(t)
        t -= step
    span = len(between) + 1
    backward, later, blended = anchor, anchor_idx, []
    for distance, t in enumerate(between, start=1):  # from the anchor back, ``distance`` frames away from it
        if carried[t].get(BLENDED_KEY):
            break
        backward = carried_output(backward, flows.get(t, later))
        carried[t] = blended_output(carried[t], backward, distance / span)
        later = t
        blended.append(t)
    return blended[::-1]
