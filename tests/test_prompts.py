"""click2graph.prompts: validation and mapping of clicks/boxes onto working frames."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from click2graph.errors import PromptError
from click2graph.prompts import Box, Click, FramePrompt, prompt_from_dict, to_frame_prompts, validate_prompt
from click2graph.video import Video, VideoInfo

INFO = VideoInfo(width=200, height=100, fps=10, num_frames=20)


@pytest.mark.parametrize(
    "prompt, error",
    [
        (Click(10, 10), None),  # inside
        (Click(199.5, 99.5, frame_idx=19), None),  # last pixel, last frame
        (Click(200, 10), "outside the 200x100 frame"),  # x == width is outside
        (Click(-1, 10), "outside"),
        (Click(10, 10, frame_idx=20), "frames 0..19"),  # no such frame
        (Box(10, 10, 50, 50), None),
        (Box(-20, -20, 50, 50), None),  # partly outside: clipped later, accepted
        (Box(50, 10, 10, 50), "inverted"),  # x1 < x0
        (Box(10, 10, 10, 50), "empty or inverted"),  # zero width
        (Box(300, 10, 400, 50), "outside"),
        (Box(199, 10, 260, 50), "smaller than 2 pixels"),  # 1 px inside
        (Click(0, 0), None),  # the first pixel
        (Click(10, 100), "outside"),  # y == height
        (Click(10, -0.5), "outside"),
        (Box(10, 50, 40, 50), "empty or inverted"),  # zero height
        (Box(-30, 10, 0, 50), "outside"),  # ends where the frame starts
        (Box(10, -30, 50, 0), "outside"),
        (Box(200, 10, 230, 50), "outside"),  # starts where the frame ends
        (Box(10, 100, 50, 130), "outside"),
        (Box(198, 10, 260, 50), None),  # exactly 2 px inside
        (Box(-10, 98, 50, 130), None),
        (Box(-10, 99, 50, 130), "smaller than 2 pixels"),
    ],
)
def test_validate(prompt, error):
    if error is None:
        validate_prompt(prompt, INFO)
    else:
        with pytest.raises(PromptError, match=error):
            validate_prompt(prompt, INFO)


def make_video(n=20, size_wh=(100, 50), orig_wh=(200, 100), step=2):
    frames = np.zeros((n, size_wh[1], size_wh[0], 3), np.uint8)
    info = VideoInfo(width=orig_wh[0], height=orig_wh[1], fps=10, num_frames=n * step)
    return Video(frames=frames, frame_indices_orig=np.arange(n) * step, info=info, fps=10 / step)


def test_to_frame_prompts_maps_to_working_pixels_and_frames():
    video = make_video()
    prompts = [
        Click(40, 20, frame_idx=7),
        Click(60, 30, frame_idx=6, positive=False),
        Box(20, 10, 100, 90, frame_idx=30),
    ]
    fps = to_frame_prompts(prompts, video)
    assert [p.frame_idx for p in fps] == [3, 15]  # original 7 and 6 -> nearest working frame 3 (orig 6)
    np.testing.assert_allclose(fps[0].points_xy, [[20, 10], [30, 15]])
    np.testing.assert_array_equal(fps[0].labels, [1, 0])
    np.testing.assert_allclose(fps[1].box_xyxy, [10, 5, 50, 45])


def test_to_frame_prompts_rejects_empty_and_negative_only():
    video = make_video()
    with pytest.raises(PromptError, match="no prompt"):
        to_frame_prompts([], video)
    with pytest.raises(PromptError, match="only negative"):
        to_frame_prompts([Click(5, 5, positive=False)], video)


def test_frame_prompt_shape_checks():
    with pytest.raises(PromptError, match="at least one"):
        FramePrompt.from_points(0, np.zeros((0, 2)))
    box_only = FramePrompt.from_points(0, np.zeros((0, 2)), box_xyxy=(0, 0, 5, 5))
    assert box_only.box_xyxy.tolist() == [0, 0, 5, 5]


@pytest.mark.parametrize("prompt", [Click(1.5, 2, 3, False), Box(1, 2, 3, 4, 5)])
def test_prompt_dict_round_trip(prompt):
    assert prompt_from_dict(prompt.to_dict()) == prompt


def test_prompts_at_the_edges_of_the_frame_and_of_the_working_frames():
    """A trimmed clip of every 2nd frame (original 0..38 of 100) at half size: the last original pixel lands on the
    last working pixel, a box reaching past the frame is clipped to it, an original frame one step past the last
    working frame still maps to it and the next one is refused; of two boxes on one frame the last one counts."""
    video = make_video()
    video = Video(video.frames, video.frame_indices_orig, VideoInfo(200, 100, 10, 100), video.fps, trimmed=True)
    (prompt,) = to_frame_prompts(
        [Click(199.9, 99.9, frame_idx=39), Box(10, 10, 40, 40, frame_idx=38), Box(-20, -10, 250, 60, frame_idx=38)],
        video,
    )
    assert prompt.frame_idx == 19
    np.testing.assert_allclose(prompt.points_xy, [[99, 49]])
    np.testing.assert_allclose(prompt.box_xyxy, [0, 0, 100, 30])
    with pytest.raises(PromptError, match=r"outside the frames in use: original frames 0\.\.38 .*trimmed"):
        to_frame_prompts([Click(10, 10, frame_idx=40)], video)
    assert to_frame_prompts([Click(10, 10, frame_idx=1)], video)[0].frame_idx == 0  # a tie goes to the earlier frame
    assert Click(1, 2).frame_idx == Box(1, 2, 3, 4).frame_idx == 0  # the first frame unless told


def test_a_single_frame_video_takes_prompts_on_its_frame_only():
    video = make_video(n=1, step=1)
    assert to_frame_prompts([Click(10, 10)], video)[0].frame_idx == 0
    with pytest.raises(PromptError, match="frame 1 does not exist"):
        to_frame_prompts([Click(10, 10, frame_idx=1)], video)


def test_two_working_frames_five_apart_take_prompts_up_to_one_step_past_the_last():
    short = make_video(n=2, step=5)
    video = Video(short.frames, short.frame_indices_orig, VideoInfo(200, 100, 10, 100), short.fps, trimmed=True)
    assert to_frame_prompts([Click(10, 10, frame_idx=9)], video)[0].frame_idx == 1
    with pytest.raises(PromptError, match="outside the frames in use"):
        to_frame_prompts([Click(10, 10, frame_idx=10)], video)


@pytest.mark.parametrize("prompt", [Click(float("nan"), 3), Box(0, 0, float("inf"), 5)])
def test_non_finite_coordinates_are_refused(prompt):
    with pytest.raises(PromptError, match="finite"):
        validate_prompt(prompt, INFO)


def test_an_unknown_prompt_type_is_refused():
    with pytest.raises(PromptError, match="unknown prompt type 'lasso'"):
        prompt_from_dict({"type": "lasso"})
    with pytest.raises(PromptError, match="expected Click or Box"):
        validate_prompt(SimpleNamespace(frame_idx=0), INFO)


def test_positive_and_negative_points_are_split_by_label():
    prompt = FramePrompt.from_points(2, [(1, 2), (3, 4), (5, 6)], labels=[1, 0, 1])
    np.testing.assert_array_equal(prompt.positive_points_xy, [[1, 2], [5, 6]])
    np.testing.assert_array_equal(prompt.negative_points_xy, [[3, 4]])
    assert prompt.points_xy.dtype == np.float32 and prompt.labels.dtype == np.int32
    with pytest.raises(PromptError, match="points_xy must be"):
        FramePrompt(0, np.zeros((2, 2), np.float32), np.ones(3, np.int32))


def test_prompts_on_a_clip_whose_black_bars_were_left_out():
    """The working frames show the 160x80 picture at (20, 10) of a 200x100 frame, at half size: a click maps across
    the offset, a click on a bar is refused with the picture's range, a box reaching over a bar is cut at the
    picture's edge and one lying on a bar alone is refused."""
    video = Video(np.zeros((2, 40, 80, 3), np.uint8), np.array([0, 1]), INFO, 10, region=(20.0, 10.0, 160.0, 80.0))
    (prompt,) = to_frame_prompts([Click(60, 30)], video)
    np.testing.assert_allclose(prompt.points_xy, [[20, 10]])
    with pytest.raises(PromptError, match=r"black bars around the picture.*x in 20\.\.179, y in 10\.\.89"):
        to_frame_prompts([Click(10, 50)], video)
    with pytest.raises(PromptError, match="black bars"):
        to_frame_prompts([Click(100, 95)], video)
    (prompt,) = to_frame_prompts([Box(0, 0, 60, 50)], video)
    np.testing.assert_allclose(prompt.box_xyxy, [0, 0, 20, 20])
    with pytest.raises(PromptError, match="inside the picture"):
        to_frame_prompts([Box(0, 0, 19, 50)], video)
