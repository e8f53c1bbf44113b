"""The SAM 2 backend with random weights: same masks as sam2's own predictor, checkpoint loading, encoder counts.

The shared contract (shapes, ids, directions) is in test_segmenter_protocol.py. Random weights say nothing about
mask quality, so these tests compare with sam2 itself and count work; they never judge masks.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sam2.sam2_video_predictor", reason="sam2 (pip install sam2==1.1.0) is not installed")

from builders import label_centre  # noqa: E402
from PIL import Image  # noqa: E402
from sam2.build_sam import build_sam2_video_predictor  # noqa: E402

from click2graph import synth  # noqa: E402
from click2graph.errors import CheckpointError  # noqa: E402
from click2graph.prompts import FramePrompt  # noqa: E402
from click2graph.segment import FeatureSegmenter, require_features, track_both_directions  # noqa: E402
from click2graph.segment.sam2 import (  # noqa: E402
    Sam2Config,
    Sam2Segmenter,
    patch_memory_dtype,
    predictor_overrides,
)
from click2graph.video import Video  # noqa: E402

CLIP = synth.render_clip("ball_touch")
FRAMES = CLIP.frames[:5]
LABELS = CLIP.labels[:5]
CONFIG = Sam2Config(image_size=256, device="cpu")  # 256 px: about 0.1 s per tracked frame on 2 vCPU
SEED = 0  # with these weights the clicks below give partial masks, so comparisons are not between empty masks


def label_point(t: int, label: int) -> tuple[float, float]:
    return label_centre(LABELS[t], label)


@pytest.fixture(scope="module")
def segmenter() -> Sam2Segmenter:
    return Sam2Segmenter.from_random_weights(CONFIG, seed=SEED)


def _jpeg_clip(folder) -> np.ndarray:
    """FRAMES written as the JPEG folder sam2's own predictor reads, and the frames as decoded from it."""
    folder.mkdir()
    for t, frame in enumerate(FRAMES):
        Image.fromarray(frame).save(folder / f"{t:05d}.jpg", quality=95)
    return np.stack([np.array(Image.open(folder / f"{t:05d}.jpg").convert("RGB")) for t in range(len(FRAMES))])


def _reference(segmenter: Sam2Segmenter):
    """sam2's own video predictor with the segmenter's weights and configuration."""
    reference = build_sam2_video_predictor(
        segmenter.spec.config, None, device="cpu", hydra_overrides_extra=predictor_overrides(CONFIG.image_size)
    )
    reference.load_state_dict(segmenter.predictor.state_dict())
    reference.fill_hole_area = 0
    patch_memory_dtype(reference)  # without it sam2 fails tracking backward in fp32 on CPU (issue #308)
    return reference


def test_masks_equal_those_of_sam2_on_a_jpeg_folder(segmenter, tmp_path):
    folder = tmp_path / "frames"
    decoded = _jpeg_clip(folder)
    prompt = FramePrompt.from_points(2, [label_point(2, 1)])

    state = segmenter.init_state(Video.from_frames(decoded, fps=CLIP.fps))
    ours = {2: segmenter.add_prompt(state, 1, prompt)}
    for reverse in (False, True):
        ours.update((t, masks[0]) for t, _, masks in segmenter.propagate(state, reverse=reverse))

    reference = _reference(segmenter)
    inference = reference.init_state(str(folder))
    _, _, logits = reference.add_new_points_or_box(inference, 2, 1, points=prompt.points_xy, labels=prompt.labels)
    theirs = {2: (logits[0, 0] > 0).numpy()}
    for reverse in (False, True):
        steps = reference.propagate_in_video(inference, reverse=reverse)
        theirs.update((t, (masks[0, 0] > 0).numpy()) for t, _, masks in steps)

    assert sorted(ours) == sorted(theirs) == list(range(len(FRAMES)))
    assert 0 < ours[2].sum() < ours[2].size
    for t in theirs:
        np.testing.assert_array_equal(ours[t], theirs[t], err_msg=f"frame {t}")
        np.testing.assert_array_equal(state.mask(1, t), theirs[t])


CORRECTIONS = {  # (frame, labels clicked) of the first prompt, then of the correction; directions tracked
    "on a later frame": ((0, [1]), (2, [2]), (False,)),
    "on the prompt frame": ((1, [1]), (1, [1, 2]), (False, True)),
}


@pytest.mark.parametrize("case", CORRECTIONS)
def test_a_correction_is_kept_and_tracked_on_as_by_sam2(segmenter, tmp_path, case):
    """Track from a click, then correct (a click on the ball on a later frame, or all clicks so far on the prompt
    frame) and track again: the corrected frame keeps the correction and the other frames follow it, as with
    sam2's own predictor given the same calls. Before, tracking again reused every output it had from the second
    frame on (the track never changed), and sam2 stored a correction on a later frame as an ordinary frame, which
    its next propagation computed again from memory."""
    *clicks, directions = CORRECTIONS[case]
    prompts = [FramePrompt.from_points(t, [label_point(t, k) for k in labels]) for t, labels in clicks]
    folder = tmp_path / "frames"
    state = segmenter.init_state(Video.from_frames(_jpeg_clip(folder), fps=CLIP.fps))
    reference = _reference(segmenter)
    inference = reference.init_state(str(folder))
    ours, theirs = [], {}
    for prompt in prompts:
        prompted = segmenter.add_prompt(state, 1, prompt)
        reference.add_new_points_or_box(inference, prompt.frame_idx, 1, points=prompt.points_xy, labels=prompt.labels)
        for reverse in directions:
            list(segmenter.propagate(state, reverse=reverse))
            steps = reference.propagate_in_video(inference, reverse=reverse)  # from the first prompt frame, as ours
            theirs.update((t, (masks[0, 0] > 0).numpy()) for t, _, masks in steps)
        ours.append([state.mask(1, t) for t in range(len(FRAMES))])

    corrected = prompts[-1].frame_idx
    np.testing.assert_array_equal(ours[-1][corrected], prompted)
    assert sum((ours[-1][t] != ours[0][t]).any() for t in range(len(FRAMES)) if t != corrected) >= 2
    for t in range(len(FRAMES)):
        np.testing.assert_array_equal(ours[-1][t], theirs[t], err_msg=f"frame {t}")


def test_encoder_runs_once_per_frame_for_subject_discovery_and_objects(segmenter):
    calls_before = segmenter.encoder_calls
    state = segmenter.init_state(Video.from_frames(FRAMES, fps=CLIP.fps))
    segmenter.add_prompt(state, 1, FramePrompt.from_points(2, [label_point(2, 1)]))
    track_both_directions(segmenter, state)
    for t in (1, 4):
        points = np.array([label_point(t, 2), (10.0, 10.0)], np.float32)
        candidates = segmenter.decode_candidates(state, t, points, avoid=state.mask(1, t))
        assert candidates.masks.shape == (2, *FRAMES.shape[1:3]) and candidates.scores.shape == (2,)
    segmenter.add_prompt(state, 2, FramePrompt.from_points(3, [label_point(3, 2)]))
    track_both_directions(segmenter, state, [2])
    assert state.obj_ids == [1, 2]
    assert sorted(state.track(2).masks) == list(range(len(FRAMES)))
    assert segmenter.encoder_calls - calls_before == len(FRAMES)
    assert len(state.features) == len(FRAMES)


def test_declares_the_features_the_learned_modules_read(segmenter):
    assert isinstance(segmenter, FeatureSegmenter) and require_features(segmenter) is segmenter
    state = segmenter.init_state(Video.from_frames(FRAMES, fps=CLIP.fps))
    segmenter.add_prompt(state, 1, FramePrompt.from_points(2, [label_point(2, 1)]))
    feats, pos = segmenter.frame_features(state, 2)
    assert feats.shape[1] == pos.shape[1] == segmenter.feature_dim
    assert segmenter.object_pointer(state, 1, 2).shape == (segmenter.feature_dim,)


def test_differentiable_point_decoding_agrees_with_decode_candidates(segmenter):
    """Training's decoder path (``decoder_features`` + ``decode_point_logits``, normalised points) gives the masks
    the inference path gives for the same pixels, and gradients reach the points but not SAM 2's weights."""
    state = segmenter.init_state(Video.from_frames(FRAMES, fps=CLIP.fps))
    h, w = FRAMES.shape[1:3]
    pixels = np.array([label_point(2, 1), label_point(2, 2)], np.float32)
    expected = segmenter.decode_candidates(state, 2, pixels)
    embed, high_res = segmenter.decoder_features(state, 2)
    points = torch.from_numpy(pixels / np.array([w, h], np.float32))[:, None].requires_grad_(True)
    frozen = [p.requires_grad for p in segmenter.predictor.parameters()]
    segmenter.predictor.requires_grad_(False)
    try:
        logits, ious = segmenter.decode_point_logits(
            embed.expand(2, -1, -1, -1), [x.expand(2, -1, -1, -1) for x in high_res], points
        )
        logits.sigmoid().mean().backward()
    finally:
        for p, flag in zip(segmenter.predictor.parameters(), frozen):
            p.requires_grad_(flag)
    assert logits.shape == (2, 3, 64, 64) and ious.shape == (2, 3)
    best = logits[torch.arange(2), ious.argmax(dim=1)][:, None]
    masks = (torch.nn.functional.interpolate(best.detach(), size=(h, w), mode="bilinear") > 0).numpy()[:, 0]
    for mask, reference in zip(masks, expected.masks):
        if reference.any():  # sam2 blanks masks it scores as "no object"; elsewhere they must be the same
            assert (mask != reference).mean() < 0.001
    assert expected.masks.any()
    assert points.grad is not None and points.grad.abs().sum() > 0
    assert all(p.grad is None for p in segmenter.predictor.parameters())


def test_a_smaller_feature_budget_costs_encoder_runs():
    segmenter = Sam2Segmenter.from_random_weights(Sam2Config(image_size=256, device="cpu", feature_cache_mb=0.1))
    state = segmenter.init_state(Video.from_frames(FRAMES, fps=CLIP.fps))
    segmenter.add_prompt(state, 1, FramePrompt.from_points(2, [label_point(2, 1)]))
    track_both_directions(segmenter, state)
    segmenter.decode_candidates(state, 2, np.array([label_point(2, 2)], np.float32))
    assert len(state.features) == 1
    assert segmenter.encoder_calls == len(FRAMES) + 1  # frame 2 was evicted by the later frames: encoded again


def test_checkpoint_loads_through_sams_loader(segmenter, tmp_path):
    path = tmp_path / "sam2.1_hiera_tiny.pt"
    torch.save({"model": segmenter.predictor.state_dict()}, path)
    loaded = Sam2Segmenter.from_checkpoint(path, CONFIG)
    assert loaded.spec.name == "tiny" and loaded.describe() == "SAM 2.1 tiny @256, CPU, fp32"
    expected = segmenter.predictor.state_dict()
    assert all(torch.equal(value, expected[key]) for key, value in loaded.predictor.state_dict().items())


@pytest.mark.parametrize(
    "edit",
    [
        lambda sd: sd.pop("sam_mask_decoder.iou_prediction_head.layers.0.weight"),  # a missing key
        lambda sd: sd.update({"extra_head.weight": torch.zeros(1)}),  # an unexpected key
    ],
)
def test_a_mismatched_checkpoint_is_a_checkpoint_error(segmenter, tmp_path, edit):
    state_dict = dict(segmenter.predictor.state_dict())
    edit(state_dict)
    path = tmp_path / "sam2.1_hiera_tiny.pt"
    torch.save({"model": state_dict}, path)
    with pytest.raises(CheckpointError, match="does not fit the SAM 2.1 hiera-tiny model"):
        Sam2Segmenter.from_checkpoint(path, CONFIG)


def test_builds_when_a_host_app_initialised_hydra():
    from hydra import initialize
    from hydra.core.global_hydra import GlobalHydra

    sam2_hydra = GlobalHydra.instance().hydra
    GlobalHydra.instance().clear()
    try:
        with initialize(version_base=None, config_path=None):  # the host app's Hydra, without sam2's configs
            host = GlobalHydra.instance().hydra
            assert Sam2Segmenter.from_random_weights(CONFIG).describe()
            assert GlobalHydra.instance().hydra is host  # handed back untouched
    finally:
        GlobalHydra.instance().clear()
        GlobalHydra.instance().initialize(sam2_hydra)


@pytest.mark.parametrize("capability, flash", [("AVX512", True), ("AVX2", False), ("DEFAULT", False)])
def test_bf16_attention_leaves_flash_kernels_where_aten_is_held_below_avx512(monkeypatch, capability, flash):
    """Held below AVX-512 (``ATEN_CPU_CAPABILITY=default|avx2``), an AMX chip's bf16 flash attention fails in
    PyTorch: bf16 steps run attention in the math kernel there, and only inside the step."""
    segmenter = Sam2Segmenter.from_random_weights(Sam2Config(image_size=256, device="cpu", precision="bf16"))
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    with segmenter._compute():
        assert torch.backends.cuda.flash_sdp_enabled() == flash and torch.backends.cuda.math_sdp_enabled()
    assert torch.backends.cuda.flash_sdp_enabled()


def test_bf16_autocast_runs_and_returns_bool_masks():
    segmenter = Sam2Segmenter.from_random_weights(Sam2Config(image_size=256, device="cpu", precision="bf16"))
    assert segmenter.describe() == "SAM 2.1 tiny @256, CPU, bf16"
    state = segmenter.init_state(Video.from_frames(FRAMES[:3], fps=CLIP.fps))
    mask = segmenter.add_prompt(state, 1, FramePrompt.from_points(1, [label_point(1, 1)]))
    steps = list(segmenter.propagate(state))
    assert mask.dtype == bool and [t for t, _, _ in steps] == [1, 2]
    assert all(masks.dtype == bool and masks.shape == (1, *FRAMES.shape[1:3]) for _, _, masks in steps)
    assert not torch.is_autocast_enabled("cpu") and torch.is_grad_enabled()  # nothing leaks out of a step
