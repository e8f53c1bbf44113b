"""SAM 2's speed levers with random weights: the int8 image encoder keeps the masks of the fp32 path (IoU >= 0.95 on
every frame; exact equality cannot hold), and strided tracking runs SAM 2 on every k-th frame only, carries masks
along optical flow in between (blended with the next SAM 2 frame's), and keeps the carried frames out of sam2's
memory. The strided backend's contract (directions, ids, prompts) is in test_segmenter_protocol.py; its masks cannot
be judged with random weights (``bench stride_fill`` measures the fill on DAVIS, tests/test_stride_fill.py).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sam2.sam2_video_predictor", reason="sam2 (pip install sam2==1.1.0) is not installed")

from builders import label_centre  # noqa: E402

from click2graph import synth  # noqa: E402
from click2graph.masks import mask_iou  # noqa: E402
from click2graph.prompts import FramePrompt  # noqa: E402
from click2graph.segment import track_both_directions  # noqa: E402
from click2graph.segment.sam2 import Sam2Config, Sam2Segmenter  # noqa: E402
from click2graph.segment.sam2_stride import BLENDED_KEY, CARRIED_KEY, carried_output, sam2_frames_only  # noqa: E402
from click2graph.video import Video  # noqa: E402

CLIP = synth.render_clip("ball_touch")
FRAMES = CLIP.frames[:8]
LABELS = CLIP.labels[:8]
CONFIG = Sam2Config(image_size=256, device="cpu")
SUBJECT_FRAME, OBJECT_FRAME = 2, 5


def label_point(t: int, label: int) -> list[tuple[float, float]]:
    return [label_centre(LABELS[t], label)]


def tracked_masks(segmenter: Sam2Segmenter) -> dict[tuple[int, int], np.ndarray]:
    """Subject and ball clicked on frames 2 and 5, tracked both ways: (obj_id, frame) -> mask."""
    state = segmenter.init_state(Video.from_frames(FRAMES, fps=CLIP.fps))
    segmenter.add_prompt(state, 1, FramePrompt.from_points(SUBJECT_FRAME, label_point(SUBJECT_FRAME, 1)))
    track_both_directions(segmenter, state)
    segmenter.add_prompt(state, 2, FramePrompt.from_points(OBJECT_FRAME, label_point(OBJECT_FRAME, 2)))
    track_both_directions(segmenter, state, [2])
    return {(i, t): state.mask(i, t) for i in (1, 2) for t in range(len(FRAMES))}


@pytest.mark.parametrize("seed", [0, 3])  # seed 3: masks of about half the frame, where flipped pixels count more
def test_the_int8_encoder_keeps_the_masks_of_fp32(seed):
    plain = Sam2Segmenter.from_random_weights(CONFIG, seed=seed)
    int8 = Sam2Segmenter.from_random_weights(replace(CONFIG, encoder="int8"), seed=seed)
    assert int8.encoder_int8 and int8.describe() == "SAM 2.1 tiny @256, CPU, fp32, int8 encoder"
    assert not any(type(m) is torch.nn.Linear for m in int8.predictor.image_encoder.modules())
    expected, got = tracked_masks(plain), tracked_masks(int8)
    assert any(0 < m.sum() < m.size for m in expected.values())  # not a comparison of empty masks
    for key, mask in expected.items():
        iou = mask_iou(got[key], mask) if (got[key] | mask).any() else 1.0
        assert iou >= 0.95, f"object {key[0]}, frame {key[1]}: IoU {iou:.3f}"


def test_int8_applies_with_fp32_precision_only():
    bf16 = Sam2Segmenter.from_random_weights(replace(CONFIG, precision="bf16", encoder="int8"))
    assert not bf16.encoder_int8 and bf16.describe() == "SAM 2.1 tiny @256, CPU, bf16"
    assert any(type(m) is torch.nn.Linear for m in bf16.predictor.image_encoder.modules())


def test_a_stride_runs_sam2_on_every_kth_frame_and_carries_masks_between():
    segmenter = Sam2Segmenter.from_random_weights(replace(CONFIG, stride=3), seed=0)
    assert segmenter.describe() == "SAM 2.1 tiny @256, CPU, fp32, SAM 2 every 3 frames"
    state = segmenter.init_state(Video.from_frames(FRAMES, fps=CLIP.fps))
    segmenter.add_prompt(state, 1, FramePrompt.from_points(SUBJECT_FRAME, label_point(SUBJECT_FRAME, 1)))
    track_both_directions(segmenter, state)
    assert sorted(state.track(1).masks) == list(range(len(FRAMES)))
    outputs = state.inference["output_dict_per_obj"][0]["non_cond_frame_outputs"]
    assert sorted(t for t, out in outputs.items() if out.get(CARRIED_KEY)) == [1, 4, 5, 7]
    assert sorted(t for t, out in outputs.items() if not out.get(CARRIED_KEY)) == [0, 3, 6]
    # Frames between two SAM 2 frames are blended with the later one; 7 comes after the last.
    assert sorted(t for t, out in outputs.items() if out.get(BLENDED_KEY)) == [1, 4, 5]
    assert segmenter.encoder_calls == 4  # the prompt frame, then frames 0, 3 and 6 only
    # One flow per carried frame from the frame before, and one from the next SAM 2 frame back to each frame between
    # two of them (5 and 4 from 6, 1 from 0; 7 comes after the last).
    assert state.flows.computed == 7


def test_a_carried_mask_moves_with_the_flow():
    logits = torch.full((1, 1, 8, 8), -5.0)
    logits[0, 0, 3:5, 2:4] = 5.0
    flow = np.zeros((16, 32, 2), np.float32)
    flow[..., 0] = -8.0  # each pixel of this frame was 8 working pixels (2 mask cells) to the left before
    carried = carried_output({"pred_masks": logits, "object_score_logits": torch.ones(1, 1)}, flow)
    moved = carried["pred_masks"][0, 0].numpy() > 0
    expected = np.zeros((8, 8), bool)
    expected[3:5, 4:6] = True
    np.testing.assert_array_equal(moved, expected)
    assert carried[CARRIED_KEY] and carried["maskmem_features"] is None and carried["obj_ptr"] is None


def test_memory_reads_sam2s_frames_only_as_consecutive_frames():
    a, b, c, d = ({"pred_masks": k} for k in range(4))
    carried = {"pred_masks": None, CARRIED_KEY: True}
    outputs = {"cond_frame_outputs": {2: a}, "non_cond_frame_outputs": {0: b, 1: carried, 3: c, 6: d, 7: carried}}
    number, renumbered = sam2_frames_only(outputs, 9)
    assert number == 4
    assert renumbered == {"cond_frame_outputs": {1: a}, "non_cond_frame_outputs": {0: b, 2: c, 3: d}}
