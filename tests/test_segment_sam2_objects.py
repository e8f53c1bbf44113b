"""SAM 2 backend, the pipeline's order of work: the subject is tracked first, an object found later is prompted on
its own frame and tracked alone. Its masks must be those sam2's own predictor gives for the same calls (the
object's prompt, then ``propagate_in_video`` from that frame both ways), and the subject's stay as first tracked:
our backend reuses the subject's outputs instead of running it again, which must change no object's masks. And
the whole pipeline (subject, discovery, objects, a rebuild after a relabel) runs the image encoder once per frame.
Random weights: masks are compared, never judged.
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
from click2graph.discovery.base import Proposal  # noqa: E402
from click2graph.discovery.training_free import discover_objects  # noqa: E402
from click2graph.pipeline import Pipeline  # noqa: E402
from click2graph.prompts import Click, FramePrompt  # noqa: E402
from click2graph.segment import track_both_directions  # noqa: E402
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
CONFIG = Sam2Config(image_size=256, device="cpu")
SUBJECT_FRAME, OBJECT_FRAME = 2, 3


def label_point(t: int, label: int) -> list[tuple[float, float]]:
    return [label_centre(LABELS[t], label)]


def _reference(segmenter: Sam2Segmenter, folder, subject: FramePrompt, obj: FramePrompt):
    """sam2's predictor, same weights, same calls: (subject masks after its own tracking, object masks)."""
    predictor = build_sam2_video_predictor(
        segmenter.spec.config, None, device="cpu", hydra_overrides_extra=predictor_overrides(CONFIG.image_size)
    )
    predictor.load_state_dict(segmenter.predictor.state_dict())
    predictor.fill_hole_area = 0
    patch_memory_dtype(predictor)
    state = predictor.init_state(str(folder))
    results = []
    for obj_id, prompt in ((1, subject), (2, obj)):
        _, ids, logits = predictor.add_new_points_or_box(
            state, prompt.frame_idx, obj_id, points=prompt.points_xy, labels=prompt.labels
        )
        masks = {prompt.frame_idx: (logits[list(ids).index(obj_id), 0] > 0).numpy()}
        for reverse in (False, True):
            steps = predictor.propagate_in_video(state, start_frame_idx=prompt.frame_idx, reverse=reverse)
            for t, ids, logits in steps:
                masks[t] = (logits[list(ids).index(obj_id), 0] > 0).numpy()
        results.append(masks)
    return results


@pytest.fixture(scope="module")
def segmenter() -> Sam2Segmenter:
    return Sam2Segmenter.from_random_weights(CONFIG, seed=0)


def test_an_object_tracked_after_the_subject_gets_sam2s_own_masks(segmenter, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for t, frame in enumerate(FRAMES):
        Image.fromarray(frame).save(folder / f"{t:05d}.jpg", quality=95)
    decoded = np.stack([np.array(Image.open(folder / f"{t:05d}.jpg").convert("RGB")) for t in range(len(FRAMES))])
    subject = FramePrompt.from_points(SUBJECT_FRAME, label_point(SUBJECT_FRAME, 1))
    obj = FramePrompt.from_points(OBJECT_FRAME, label_point(OBJECT_FRAME, 2))

    state = segmenter.init_state(Video.from_frames(decoded, fps=CLIP.fps))
    segmenter.add_prompt(state, 1, subject)
    track_both_directions(segmenter, state, [1])
    subject_masks = {t: m.copy() for t, m in ((t, state.mask(1, t)) for t in range(len(FRAMES)))}
    segmenter.add_prompt(state, 2, obj)
    track_both_directions(segmenter, state, [2])

    theirs_subject, theirs_object = _reference(segmenter, folder, subject, obj)
    assert sorted(theirs_object) == list(range(len(FRAMES)))
    assert any(0 < m.sum() < m.size for m in theirs_object.values())  # not a comparison of empty masks
    for t in range(len(FRAMES)):
        np.testing.assert_array_equal(state.mask(2, t), theirs_object[t], err_msg=f"object, frame {t}")
        np.testing.assert_array_equal(state.mask(1, t), subject_masks[t], err_msg=f"subject changed on frame {t}")
        np.testing.assert_array_equal(subject_masks[t], theirs_subject[t], err_msg=f"subject, frame {t}")


def test_the_pipeline_encodes_each_frame_once(segmenter):
    """Three frames, the subject clicked on the middle one. Discovery runs on SAM 2's decoder, and the ground-truth
    ball joins its proposals so that an object is surely tracked (random weights rarely give one that passes
    discovery's rules; the pipeline may drop its track afterwards, the encoding is done by then)."""
    frames = FRAMES[:3]

    def discover_and_add_the_ball(seg, state, subject_mask, frame_idx, **kwargs):
        ball = LABELS[frame_idx] == 2
        extra = Proposal(frame_idx, ball, np.array(label_point(frame_idx, 2), np.float32), 1.0, 1.0, 0.5)
        return discover_objects(seg, state, subject_mask, frame_idx, **kwargs)[:1] + [extra]

    before = segmenter.encoder_calls
    pipeline = Pipeline(segmenter, discover=discover_and_add_the_ball)
    session = pipeline.open(Video.from_frames(frames, fps=CLIP.fps))
    ((x, y),) = label_point(1, 1)
    pipeline.prompt_subject(session, [Click(x, y, frame_idx=1)])
    pipeline.build(session)
    assert session.subjects[1].discovery_frames  # an object was prompted and tracked
    pipeline.relabel(session, 1, "player")
    pipeline.build(session)
    assert segmenter.encoder_calls - before == len(frames)


def test_a_refined_subject_gets_the_mask_of_its_clicks_alone(segmenter):
    """A second click on the subject's frame (and an undo of it) gives the mask a fresh session gives those clicks,
    as the app's preview and a ZeroGPU worker compute it; before, SAM 2 refined the previous mask of that frame, so
    the build's mask differed from the preview and an undo did not restore the first mask."""
    video = Video.from_frames(FRAMES[:3], fps=CLIP.fps)
    one = [Click(*label_point(1, 1)[0], frame_idx=1)]
    two = one + [Click(*label_point(1, 2)[0], frame_idx=1)]
    pipeline = Pipeline(segmenter)
    session = pipeline.open(video)
    first = pipeline.prompt_subject(session, one)
    refined = pipeline.prompt_subject(session, two)
    undone = pipeline.prompt_subject(session, one)
    fresh = pipeline.prompt_subject(pipeline.open(video), two)
    assert (refined != first).any()
    np.testing.assert_array_equal(refined, fresh)
    np.testing.assert_array_equal(undone, first)
