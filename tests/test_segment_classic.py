"""Behaviour of the weight-free classic backend on synthetic clips, plus one quality floor on DAVIS tennis."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from click2graph.masks import deepest_pixel, mask_iou
from click2graph.prompts import FramePrompt
from click2graph.segment import VideoSegmenter
from click2graph.segment.classic import ClassicConfig, ClassicSegmenter
from click2graph.video import Video

H, W, N = 96, 128, 8
SIDE = 24  # square objects, px


def _square(x: int, y: int) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[y : y + SIDE, x : x + SIDE] = True
    return mask


def _clip(*, two: bool = False):
    """A red square moving right (and, with ``two``, a blue one moving left) over a grey textured background
    that pans one pixel per frame. The squares are mottled: optical flow cannot see a flat patch move.
    Returns (Video, gt masks bool (N, H, W) per square)."""
    rng = np.random.default_rng(0)
    texture = rng.integers(70, 140, size=(H, W + N, 1)).repeat(3, axis=2).astype(np.uint8)
    mottle = rng.integers(-30, 30, size=(SIDE, SIDE, 1))
    frames, gt_a, gt_b = [], [], []
    for t in range(N):
        frame = np.ascontiguousarray(texture[:, t : t + W])
        a = _square(20 + 3 * t, 20)
        frame[a] = np.clip(np.array([210, 40, 40]) + mottle, 0, 255).reshape(-1, 3)
        gt_a.append(a)
        if two:
            b = _square(90 - 3 * t, 60)
            frame[b] = np.clip(np.array([40, 60, 210]) + mottle, 0, 255).reshape(-1, 3)
            gt_b.append(b)
        frames.append(frame)
    video = Video.from_frames(np.stack(frames), fps=10.0)
    return video, np.stack(gt_a), (np.stack(gt_b) if two else None)


def _centre(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask)
    return [float(xs.mean()), float(ys.mean())]


def test_satisfies_protocol():
    assert isinstance(ClassicSegmenter(), VideoSegmenter)


def test_click_segments_the_square():
    video, gt, _ = _clip()
    seg = ClassicSegmenter()
    state = seg.init_state(video)
    mask = seg.add_prompt(state, 1, FramePrompt.from_points(0, [_centre(gt[0])]))
    assert mask.shape == (H, W) and mask.dtype == bool
    assert mask_iou(mask, gt[0]) > 0.8
    assert mask_iou(state.mask(1, 0), mask) == 1.0  # stored in the state


def test_box_prompt_segments_the_square():
    video, gt, _ = _clip()
    seg = ClassicSegmenter()
    state = seg.init_state(video)
    box = (16, 16, 20 + SIDE + 4, 20 + SIDE + 4)  # a loose box around the square on frame 0
    mask = seg.add_prompt(state, 1, FramePrompt.from_points(0, np.zeros((0, 2)), [], box))
    assert mask_iou(mask, gt[0]) > 0.8


def test_negative_click_removes_a_region():
    video, gt, _ = _clip()
    seg = ClassicSegmenter()
    state = seg.init_state(video)
    first = seg.add_prompt(state, 1, FramePrompt.from_points(0, [_centre(gt[0])]))
    # A second click on the same frame replaces the first prompt: positive on the left half, negative on the right.
    # The negative click takes back the part of the first click's mask nearer to it than to what the new cut keeps
    # (a uniform square: a band on its side), and nothing on the positive click's side.
    base = seg.add_prompt(state, 1, FramePrompt.from_points(0, [[24, 32]]))
    refined = seg.add_prompt(state, 1, FramePrompt.from_points(0, [[24, 32], [41, 32]], [1, 0]))
    assert refined.sum() < 0.9 * first.sum() and not (refined & ~base).any()
    assert not refined[32, 41] and refined[32, 24]
    assert (base & ~refined)[:, :33].sum() == 0
    assert list(state.track(1).prompts) == [0]


@pytest.mark.parametrize("prompt_frame", [0, N // 2])
def test_propagation_follows_the_square_both_ways(prompt_frame):
    video, gt, _ = _clip()
    seg = ClassicSegmenter()
    state = seg.init_state(video)
    seg.add_prompt(state, 1, FramePrompt.from_points(prompt_frame, [_centre(gt[prompt_frame])]))
    forward = [t for t, ids, masks in seg.propagate(state)]
    assert forward == list(range(prompt_frame, N))
    backward = [t for t, ids, masks in seg.propagate(state, reverse=True)]
    assert backward == list(range(prompt_frame, -1, -1))
    for t in range(N):
        assert mask_iou(state.mask(1, t), gt[t]) > 0.7, f"frame {t}"


def test_two_objects_tracked_together_and_removed():
    video, gt_a, gt_b = _clip(two=True)
    seg = ClassicSegmenter()
    state = seg.init_state(video)
    seg.add_prompt(state, 1, FramePrompt.from_points(0, [_centre(gt_a[0])]))
    seg.add_prompt(state, 2, FramePrompt.from_points(0, [_centre(gt_b[0])]))
    for t, ids, masks in seg.propagate(state):
        assert ids == [1, 2] and masks.shape == (2, H, W)
        assert not (masks[0] & masks[1]).any()
        assert mask_iou(masks[0], gt_a[t]) > 0.7 and mask_iou(masks[1], gt_b[t]) > 0.7
    seg.remove_object(state, 1)
    assert state.obj_ids == [2]
    assert [ids for _, ids, _ in seg.propagate(state)] == [[2]] * N


def test_add_mask_is_kept_and_tracked():
    video, gt, _ = _clip()
    seg = ClassicSegmenter()
    state = seg.init_state(video)
    kept = seg.add_mask(state, 3, 0, gt[0])
    assert np.array_equal(kept, gt[0])
    steps = list(seg.propagate(state))
    assert np.array_equal(steps[0][2][0], gt[0])
    assert mask_iou(state.mask(3, N - 1), gt[N - 1]) > 0.7


def test_davis_tennis_click_quality(davis_root):
    from click2graph.bench.tracking import run_sequence

    # One click on frame 0, 30 frames: measured J 0.61 (0.63 over all 70 frames); the floor leaves room for
    # platform differences in DIS flow and GrabCut.
    result = run_sequence(davis_root, "tennis", max_frames=30)
    assert result.j_all >= 0.55


def test_davis_bmx_survives_the_occluding_tree(davis_root):
    from click2graph.bench.tracking import run_sequence

    # A tree passes in front of the rider at frames 15-20 while the camera pans: without the motion gate the mask
    # locks onto the background and J over the 80 frames is 0.12; measured 0.34 with it.
    result = run_sequence(davis_root, "bmx-trees")
    assert result.j_all >= 0.28
    assert result.ious[40:50].mean() >= 0.3  # re-acquired after the tree


def test_davis_bmx_rider_is_found_again_after_the_last_tree(davis_root):
    from click2graph.bench.tracking import run_sequence

    # From the true first mask the rider is lost behind the last tree (frames 68-73). While he is lost his window
    # is not learned as background, so the search near the extent finds him as he comes out (IoU 0.52 over the
    # last five frames; 0.29-0.56 from the start changed by 1 px, and his evidence on the frame he is found is
    # near the search's gate, so the floor leaves room for another CPU's rounding). When the lost frames taught
    # the background his colours he was never found again (0 on the last 12 frames).
    result = run_sequence(davis_root, "bmx-trees", prompt="mask")
    assert result.ious[-5:].mean() >= 0.2


def test_click_on_a_still_person_and_more_clicks_on_its_parts():
    """A click on the shirt of a standing (still) person finds the person from the frame alone; clicks on the
    head and a leg keep the whole person (each positive click says "this is part of the object").
    (Before the static candidates, one click found only the shirt and the test asked the extra clicks to add
    the parts.)"""
    from click2graph import synth

    clip = synth.render_clip("ball_on_table")
    video = Video.from_frames(clip.frames[:6], fps=clip.fps)
    person = clip.labels[0] == synth.SUBJECT_ID
    segmenter = ClassicSegmenter()
    state = segmenter.init_state(video)
    x, y, _ = synth.preset_click(clip)
    one = segmenter.add_prompt(state, 1, FramePrompt.from_points(0, [(x, y)]))
    ys, xs = np.nonzero(person)
    leg, head = (xs[ys.argmax()], ys.max() - 10), (xs[ys.argmin()], ys.min() + 8)
    three = segmenter.add_prompt(state, 1, FramePrompt.from_points(0, [(x, y), leg, head]))
    assert mask_iou(one, person) > 0.7
    assert mask_iou(three, person) > 0.7
    assert three[leg[1], leg[0]] and three[head[1], head[0]]


def test_click_on_a_still_person_leaves_the_table_and_ball_it_touches():
    """A person standing still beside a table with a ball on it (ball_on_table's frame 30, held still): the click on
    the shirt takes the person, not the table and the ball. (One static window cut ran past the arm into the
    table, and its outline along the table's strong edges won: 8926 px, IoU 0.33 with the person.)"""
    from click2graph import synth

    clip = synth.render_clip("ball_on_table")
    t = 30
    video = Video.from_frames(np.repeat(clip.frames[t : t + 1], 4, axis=0), fps=clip.fps)
    person = clip.labels[t] == synth.SUBJECT_ID
    others = (clip.labels[t] > 0) & ~person
    depth = cv2.distanceTransform(np.pad(person, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)  # the simulated click: deepest subject pixel
    segmenter = ClassicSegmenter()
    state = segmenter.init_state(video)
    mask = segmenter.add_prompt(state, 1, FramePrompt.from_points(0, [(x, y)]))
    assert mask_iou(mask, person) > 0.7
    assert (mask & others).sum() < 0.05 * mask.sum()


def test_unsupported_pieces_go_only_when_their_colours_are_foreign():
    """Three cuts agree on a red square; one of them also holds a touching blue bar (foreign: dropped) and another a
    touching red bar (the clicked object's colour: kept). Specks neither support nor get pruned."""
    from click2graph.segment.classic_support import drop_unsupported_pieces

    rng = np.random.default_rng(0)
    rgb = np.clip(rng.normal(120, 8, (60, 80, 3)), 0, 255).astype(np.uint8)  # grey background
    square, blue, red = np.zeros((3, 60, 80), bool)
    square[20:40, 20:40], blue[25:35, 40:60], red[25:35, 5:20] = True, True, True
    rgb[square | red] = (200, 40, 40)
    rgb[blue] = (40, 60, 210)
    speck = np.zeros((60, 80), bool)
    speck[29:31, 29:31] = True
    masks = [square.copy(), square | blue, square | red, speck]
    out = drop_unsupported_pieces(rgb, masks, [True, True, True, False], [0, 1, 2, 3])
    assert (out[0] == square).all()
    assert (out[1] == square).all()
    assert (out[2] == (square | red)).all()
    assert (out[3] == speck).all()


def test_cuts_of_one_source_do_not_vouch_for_each_others_pieces():
    """Two free cuts (one source: their windows do not bound them) that both ran into a touching blue bar do not
    support it for each other: the bar goes from both, as it does when one cut alone holds it. The closed cuts,
    each its own window's, keep supporting what they share."""
    from click2graph.segment.classic_support import drop_unsupported_pieces

    rng = np.random.default_rng(1)
    rgb = np.clip(rng.normal(120, 8, (60, 80, 3)), 0, 255).astype(np.uint8)
    square, blue = np.zeros((2, 60, 80), bool)
    square[20:40, 20:40], blue[25:35, 40:60] = True, True
    rgb[square] = (200, 40, 40)
    rgb[blue] = (40, 60, 210)
    masks = [square.copy(), square | blue, square.copy(), square | blue]
    out = drop_unsupported_pieces(rgb, masks, [True] * 4, [0, -1, 1, -1])
    assert all((mask == square).all() for mask in out)
    vouched = drop_unsupported_pieces(rgb, masks, [True] * 4, [0, 1, 2, 3])  # told apart, they support the bar
    assert (vouched[1] == (square | blue)).all()


def test_click_on_a_shirt_leaves_the_red_cups_standing_in_front_of_it():
    """The cups example's preset click on the shirt of a still person: two red cups stand on the table in front of
    her, touching the shirt's lower edge. The free window cuts of two windows both took them, each vouched for the
    other's leak, and their outline along the cups' strong edges won: the mask held 99.9 % of the cups (now 0.2 %)."""
    from click2graph.examples import load_examples
    from click2graph.prompts import to_frame_prompts
    from click2graph.video import VideoPolicy, load_video

    example = next(e for e in load_examples() if e.name == "cups")
    video = load_video(example.path, VideoPolicy(max_duration_s=1.0))
    prompt = to_frame_prompts([example.prompts[0]], video)[0]
    rgb = video.frames[prompt.frame_idx].astype(int)
    below_shirt = np.arange(rgb.shape[0])[:, None] > 0.4 * rgb.shape[0]  # the held cup is up by her hand
    cups = below_shirt & (rgb[..., 0] > 150) & (rgb[..., 1] < 60)  # red, where the shirt is orange
    assert cups.sum() > 0.05 * cups.size
    segmenter = ClassicSegmenter()
    mask = segmenter.add_prompt(segmenter.init_state(video), 1, prompt)
    x, y = np.round(prompt.positive_points_xy[0]).astype(int)
    assert mask[y, x]
    assert (mask & cups).sum() < 0.05 * cups.sum()


def test_a_part_that_most_windows_hold_in_one_whole_gives_way_to_the_whole():
    """A distinctly coloured part (a jersey) follows image edges better than its whole (jersey, shorts and helmet);
    when most other window cuts hold the part in wholes that agree with each other and score near it, the whole
    is kept. A whole far behind on edge alignment, or larger cuts that disagree, leave the part."""
    from click2graph.segment.classic_click import ClickConfig, _pick_static

    config = ClickConfig()
    part, whole, other = np.zeros((3, 60, 80), bool)
    part[20:30, 30:45], whole[15:50, 28:48], other[20:40, 10:60] = True, True, True
    near = [(part, 5.64), (whole, 5.52), (whole.copy(), 5.45), (whole.copy(), 5.43), (whole.copy(), 5.50)]
    assert (_pick_static(near + [(part.copy(), 5.2)], config) == whole).all()
    far = [(part, 5.64)] + [(whole.copy(), 4.5) for _ in range(4)]
    assert (_pick_static(far, config) == part).all()
    split = [(part, 5.64), (whole, 5.52), (other, 5.5), (whole.copy(), 5.4), (other.copy(), 5.3)]
    assert (_pick_static(split, config) == part).all()
    few = [(part, 5.64), (whole, 5.52)] + [(part.copy(), 5.0) for _ in range(3)]  # most windows see the part
    assert (_pick_static(few, config) == part).all()


def test_the_frame_alone_keeps_the_cut_two_kinds_agree_on_and_the_whole_every_window_holds():
    """Without motion the window cuts and the geodesic cuts vote: the cut agreeing most with the others is kept
    (not a window cut that leaked, however its outline runs). When that is a part (geodesic cuts stop at the first
    colour edge: a shirt) that every other window cut holds and exceeds, the windows' whole is kept; one window cut
    that does not hold it leaves the part. All specks give the first."""
    from click2graph.segment.classic_click import ClickConfig, _frame_alone_mask

    config = ClickConfig()
    part, whole, leak, other, speck = np.zeros((5, 60, 80), bool)
    part[20:30, 30:45], whole[15:50, 28:48], leak[5:58, 5:75], other[20:30, 10:40], speck[0, 0] = (True,) * 5

    def copies(mask, n):
        return [mask.copy() for _ in range(n)]

    assert (_frame_alone_mask([leak, whole.copy(), whole], copies(whole, 2) + [part], config) == whole).all()
    assert (_frame_alone_mask(copies(whole, 3), copies(part, 4), config) == whole).all()
    assert (_frame_alone_mask(copies(whole, 2) + [other], copies(part, 4), config) == part).all()
    first = speck.copy()
    assert _frame_alone_mask([first, speck], [speck.copy()], config) is first


def test_the_frame_alone_keeps_a_part_whose_larger_cuts_each_leaked_their_own_way():
    """The windows' whole is kept only when what each larger window cut adds to the part another adds too: a cut
    that alone grew the part its own way (into the legs above a dog, while two took the floor beside it) is a leak,
    and the part stays; a larger cut that barely differs from the part, its sliver inside the whole, does not stop
    the whole from being kept."""
    from click2graph.segment.classic_click import ClickConfig, _frame_alone_mask

    config = ClickConfig()
    part, floor, legs, whole, rim = np.zeros((5, 60, 80), bool)
    part[30:50, 30:50], floor[30:50, 30:62], legs[5:50, 30:50], whole[20:55, 25:55], rim[26:50, 30:50] = (True,) * 5
    geodesic = [part.copy() for _ in range(6)]
    assert (_frame_alone_mask([part.copy(), part.copy(), floor, floor.copy(), legs], geodesic, config) == part).all()
    kept = _frame_alone_mask([part.copy(), part.copy(), whole, whole.copy(), rim], geodesic, config)
    assert (kept == whole).all()


def test_click_on_a_dog_entering_at_the_frames_edge_leaves_the_floor_beside_it():
    """The shipped dog_skateboard example's click: a black dog entering at the frame's right edge under the walker's
    legs, moving with the camera (no moving region at the click: the flow aliases on the railing). Two larger window
    cuts took the grey floor beside the dog, a third the walker's legs above it, and the "windows' whole" rule kept a
    floor-taking cut: 69 % of the mask dark (the dog), 25,741 px, and the track then slid onto the floor. The legs
    are one cut's own leak, so the windows saw no one whole and the dog stays (90 % dark, 16,426 px)."""
    from pathlib import Path

    from click2graph.video import load_video

    video = load_video(Path(__file__).resolve().parents[1] / "examples" / "dog_skateboard.mp4")
    segmenter = ClassicSegmenter()
    first = Video.from_frames(video.frames[:1], video.fps)  # the click decides from the frame alone either way
    mask = segmenter.add_prompt(segmenter.init_state(first), 1, FramePrompt.from_points(0, [(573, 287)]))
    dark = video.frames[0].astype(float).mean(axis=-1) < 80  # the dog's black fur; the floor is light grey
    assert dark[mask].mean() >= 0.85


def test_click_on_a_rider_the_camera_follows_gets_more_than_his_jersey():
    """The shipped cyclist example (the camera follows the rider, the road streams past): the smallest closed
    window's cut is the blue jersey (edge alignment 5.64) and the five other cuts the rider's jersey, shorts and
    helmet (5.20-5.52). The mask must reach the shorts and the helmet (before: the jersey only, rows 177-228) and
    not take the road (the moving pixels beside the rider)."""
    from pathlib import Path

    from click2graph.video import load_video

    video = load_video(Path(__file__).resolve().parents[1] / "examples" / "cyclist.mp4")
    segmenter = ClassicSegmenter()
    mask = segmenter.add_prompt(segmenter.init_state(video), 1, FramePrompt.from_points(0, [(273, 200)]))
    ys, _ = np.nonzero(mask)
    assert ys.min() < 170 and ys.max() > 250  # helmet above the jersey, shorts below it (640 x 360 frame)
    assert mask.sum() < 0.06 * mask.size  # the rider's upper body: about 8,000 px of 230,400


def test_davis_click_on_a_subject_the_camera_follows(davis_root):
    """The rhino walks slowly and the camera follows it: its motion region collapses to a sliver, so the click's
    mask must come from the frame alone (measured IoU 0.72; 0.002 when only motion gave the extent)."""
    from click2graph.bench.tracking import load_davis, simulated_prompt

    video, gt = load_davis(davis_root, "rhino", max_frames=2)
    segmenter = ClassicSegmenter()
    state = segmenter.init_state(video)
    mask = segmenter.add_prompt(state, 1, simulated_prompt(gt[0], "click"))
    assert mask_iou(mask, gt[0]) >= 0.5


def test_davis_click_on_a_frame_alone_takes_the_cut_the_two_kinds_agree_on(davis_root):
    """scooter-black's first frame as a one-frame video (no motion): the window cut whose outline follows edges best
    takes the red scooter with the red cars and sign behind it (IoU 0.40); the geodesic and window cuts agree on
    the scooter and its rider without them (measured 0.59)."""
    from click2graph.bench.tracking import load_davis, simulated_prompt

    video, gt = load_davis(davis_root, "scooter-black", max_frames=1)
    segmenter = ClassicSegmenter()
    state = segmenter.init_state(Video.from_frames(video.frames[:1], video.fps))
    mask = segmenter.add_prompt(state, 1, simulated_prompt(gt[0], "click"))
    assert mask_iou(mask, gt[0]) > 0.5


def test_davis_click_on_a_still_part_of_a_moving_subject(davis_root):
    """A click on a part that does not move between the two frames (the dog's head at the top of its jump, the
    dancer's supporting hand) finds no moving region, and the window cuts alone keep that part (IoU 0.03 each);
    the part's own moving pixels lead to the moving subject (measured 0.46 and 0.38)."""
    from click2graph.bench.tracking import load_davis

    for seq, xy in (("dog-agility", (439, 220)), ("breakdance-flare", (483, 347))):
        video, gt = load_davis(davis_root, seq, max_frames=2)
        segmenter = ClassicSegmenter()
        mask = segmenter.add_prompt(segmenter.init_state(video), 1, FramePrompt.from_points(0, [xy]))
        assert mask_iou(mask, gt[0]) >= 0.3, seq


def test_davis_a_clicked_part_that_holds_the_motion_result_does_not_join_it(davis_root):
    """The clicked still part's cut can run past the subject into things of its colours (the red cars beside the red
    scooter, the rocks beside a flamingo) while holding all that the motion path then finds from its moving pixel:
    joined, it added only those (IoU 0.40, 0.40 and 0.49; measured 0.74, 0.72 and 0.64 without them)."""
    from click2graph.bench.tracking import load_davis

    for seq, xy in (("scooter-black", (615, 145)), ("scooter-black", (631, 180)), ("flamingo", (511, 137))):
        video, gt = load_davis(davis_root, seq, max_frames=2)
        segmenter = ClassicSegmenter()
        mask = segmenter.add_prompt(segmenter.init_state(video), 1, FramePrompt.from_points(0, [xy]))
        assert mask_iou(mask, gt[0]) >= 0.58, (seq, xy)


def test_davis_click_on_a_still_part_beside_the_moving_rest(davis_root):
    """A click on a still part with no moving pixel of its own (the rhino's sunlit rump, its head) gets that part
    alone (IoU 0.02 and 0.03); the moving pixels just beside it lead to the walking rhino (measured 0.65 each).
    The duck's deepest pixel keeps the still duck (0.60): the rippling water beside it does not explain its
    colours, so the water's moving region does not join (0.32 when it did)."""
    from click2graph.bench.tracking import load_davis

    for seq, xy, least in (("rhino", (549, 192), 0.5), ("rhino", (168, 264), 0.5), ("mallard-water", (440, 224), 0.55)):
        video, gt = load_davis(davis_root, seq, max_frames=2)
        segmenter = ClassicSegmenter()
        mask = segmenter.add_prompt(segmenter.init_state(video), 1, FramePrompt.from_points(0, [xy]))
        assert mask_iou(mask, gt[0]) >= least, (seq, xy)


def _still_part_scene(*, guard: bool) -> tuple[Video, np.ndarray, list[float]]:
    """Two frames over a still grey texture. Without ``guard``: a red head, still, joined by a still blue neck to a
    blue body that walks right (a rhino's head while its body moves); returns the whole figure on frame 0. With
    ``guard``: a still brown duck beside a patch of cyan water whose ripples move, under a brown bank; returns the
    duck. Also the click (on the head, on the duck)."""
    rng = np.random.default_rng(3)
    texture = rng.integers(70, 140, size=(H, W, 1)).repeat(3, axis=2).astype(np.uint8)
    mottle = rng.integers(-30, 30, size=(H, W + 8, 1))
    still, moving = np.zeros((2, H, W), bool)
    if guard:
        still[40:62, 20:42], moving[30:80, 50:110] = True, True
        colours = (np.array([150, 90, 40]), np.array([40, 160, 170]))
    else:
        still[30:52, 14:36], moving[36:72, 44:92] = True, True
        colours = (np.array([210, 50, 40]), np.array([60, 70, 200]))
    frames = []
    for t in range(2):
        frame = texture.copy()
        if guard:  # the bank: the rest of the frame explains the duck's colours, the water does not
            frame[:14] = np.clip(colours[0] + mottle[:14, :W], 0, 255)
            frame[moving] = np.clip(colours[1] + mottle[:, 3 * t : 3 * t + W][moving], 0, 255)
        else:
            body = np.roll(moving, 3 * t, axis=1)
            frame[36:50, 36:44] = np.clip(colours[1] + mottle[36:50, 36:44], 0, 255)  # the neck
            frame[body] = np.clip(colours[1] + mottle[:, 8 - 3 * t : 8 - 3 * t + W][body], 0, 255)
        frame[still] = np.clip(colours[0] + mottle[:, :W][still], 0, 255)
        frames.append(frame)
    target = still.copy()
    if not guard:
        target[36:50, 36:44] = True
        target |= moving
    return Video.from_frames(np.stack(frames), fps=10.0), target, _centre(still)


def test_click_on_a_still_part_beside_the_moving_rest_gets_the_whole():
    """The click's part (the head) is still and none of its pixels move, so no moving region holds the click and
    every window cut is the head (IoU 0.21 with the figure). The body's moving pixels within the head's size
    around it lead the motion path to the rest (measured 0.94)."""
    video, figure, click = _still_part_scene(guard=False)
    segmenter = ClassicSegmenter()
    mask = segmenter.add_prompt(segmenter.init_state(video), 1, FramePrompt.from_points(0, [click]))
    assert mask_iou(mask, figure) > 0.8


def test_a_still_object_beside_moving_water_of_other_colours_stays_alone():
    """The rippling water beside a still duck leads the motion path to the water, which does not explain the
    duck's colours (the bank does): the duck stays alone (IoU 1.0; 0.14 when the water joined)."""
    video, duck, click = _still_part_scene(guard=True)
    segmenter = ClassicSegmenter()
    mask = segmenter.add_prompt(segmenter.init_state(video), 1, FramePrompt.from_points(0, [click]))
    assert mask_iou(mask, duck) > 0.9


def test_a_fragment_of_what_moves_around_the_click_grows_to_the_moving_whole():
    """A click's mask that is a small part of the click's moving area (a rider's white shirt: every window cut stops
    at its edges, while rider and bike move on around it) grows by GrabCut of that area to the figure, and the
    area's halo over the backdrop stays out. A mask holding more of the area is left as it is."""
    from click2graph.masks import dilate
    from click2graph.segment.classic_click import ClickConfig, _disks, _whole_of_fragment

    rng = np.random.default_rng(5)
    rgb = rng.integers(70, 140, size=(H, W, 1)).repeat(3, axis=2).astype(np.uint8)
    shirt, body = np.zeros((2, H, W), bool)
    shirt[26:40, 52:66], body[40:80, 40:84] = True, True
    rgb[body] = np.clip(np.array([40, 60, 200]) + rng.integers(-30, 30, size=(body.sum(), 1)), 0, 255)
    rgb[shirt] = 235
    figure, moving = shirt | body, dilate(shirt | body, 8)  # the area: the figure and DIS's halo around it
    config, pos = ClickConfig(), np.array([[59, 33]])
    sure_fg, sure_bg = _disks(pos, (H, W), config.click_radius), np.zeros((H, W), bool)
    # no video: GrabCut alone gives the whole, so the frame difference is never read
    grown = _whole_of_fragment(None, 0, rgb, shirt, moving, sure_fg, sure_bg, pos, config)
    assert mask_iou(shirt, figure) < 0.15 and mask_iou(grown, figure) > 0.9
    most = figure & (np.arange(W) < 70)  # most of the figure: no fragment
    assert (_whole_of_fragment(None, 0, rgb, most, moving, sure_fg, sure_bg, pos, config) == most).all()


def _patchwork_figure_clip(n: int) -> tuple[Video, list[np.ndarray], list[np.ndarray]]:
    """A figure of three parts in three colours (a blue leg, a khaki shirt, a skin-coloured arm) walking right
    3 px a frame over a still patchwork of 8 px blocks in those colours and greys: each part's colours are the
    backdrop's too. Returns (video, figure per frame, the parts on frame 0)."""
    h, w = 120, 160
    palette = np.array([[60, 90, 200], [170, 150, 100], [220, 170, 140], [110, 110, 110], [50, 50, 50]])
    rng = np.random.default_rng(0)
    blocks = palette[rng.integers(0, len(palette), size=(h // 8 + 1, w // 8 + 1))]
    backdrop = np.repeat(np.repeat(blocks, 8, 0), 8, 1)[:h, :w]
    backdrop = np.clip(backdrop + rng.integers(-25, 25, size=(h, w, 1)), 0, 255).astype(np.uint8)
    mottle = rng.integers(-25, 25, size=(h, w, 1))
    frames, figures, parts0 = [], [], []
    for t in range(n):
        x = 40 + 3 * t
        parts = np.zeros((3, h, w), bool)
        parts[0, 60:95, x + 8 : x + 18] = True  # leg
        parts[1, 35:60, x : x + 26] = True  # shirt
        parts[2, 38:62, x + 26 : x + 32] = True  # arm
        frame = backdrop.copy()
        for part, colour in zip(parts, palette[:3]):
            frame[part] = np.clip(colour + np.roll(mottle, x, axis=1)[part], 0, 255)
        frames.append(frame)
        figures.append(parts.any(0))
        parts0 = parts0 or list(parts)
    return Video.from_frames(np.stack(frames), fps=10.0), figures, parts0


def test_a_clicked_part_coloured_unlike_the_rest_grows_to_what_changes_with_it():
    """A click on a figure's leg, whose shirt and arm have colours of their own that the backdrop shares: GrabCut
    of the moving area keeps the leg, but in a clip the frame difference shows the shirt and arm changing as the
    leg does, and the mask takes them (a breakdancer's leg: spread clicks 0.204 -> 0.565). With two frames there is
    no frame difference, and the mask stays the leg."""
    video, figures, (leg, shirt, arm) = _patchwork_figure_clip(9)
    segmenter = ClassicSegmenter()
    mask = segmenter.add_prompt(segmenter.init_state(video), 1, FramePrompt.from_points(0, [[53, 80]]))
    assert mask_iou(mask, figures[0]) > 0.55
    assert all((mask & part).sum() > 0.5 * part.sum() for part in (leg, shirt, arm))
    two = Video.from_frames(video.frames[:2], fps=10.0)
    leg_only = segmenter.add_prompt(segmenter.init_state(two), 1, FramePrompt.from_points(0, [[53, 80]]))
    assert mask_iou(leg_only, figures[0]) < 0.4


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_walkers_click_leaves_the_floor_beside_his_legs_under_pixel_noise(seed):
    """The click's moving region (the walker and DIS's halo over the floor around him) cut by colour alone can keep
    a block of the floor, whose browns his legs share; which pixels tip it is chance. On the generated walk_in_front
    clip with a codec's worth of pixel noise (sigma 2) that cut gave 0.95 / 0.80 / 0.62 on these seeds, and 0.47 on
    the clip as written to H.264. The cut that also sees texture and the frame difference leaves the still floor out
    and is kept when it follows the frame difference better: 0.95 on each."""
    from click2graph import synth

    clip = synth.render_clip("walk_in_front")
    x, y, t = synth.preset_click(clip)
    noise = np.round(np.random.default_rng(seed).normal(0, 2, (6, *clip.frames.shape[1:])))
    frames = clip.frames[:6].astype(int) + noise
    segmenter = ClassicSegmenter()
    state = segmenter.init_state(Video.from_frames(np.clip(frames, 0, 255).astype(np.uint8), fps=8.0))
    mask = segmenter.add_prompt(state, 1, FramePrompt.from_points(t, [(x, y)]))
    assert mask_iou(mask, clip.labels[t] == synth.SUBJECT_ID) >= 0.9


@pytest.mark.parametrize("seq", ["lucia", "dance-jump"])
def test_davis_a_moving_clicks_region_cut_follows_what_the_frame_difference_says_moves(davis_root, seq):
    """The same cut on real frames: the frame-0 click's moving region cut by colour alone gave lucia 0.750 and
    dance-jump 0.779; the cut that also sees texture and the frame difference, kept when it follows the difference
    better, 0.828 and 0.835 (the same with OpenCV's AVX paths off)."""
    from click2graph.bench.tracking import load_davis, simulated_prompt

    video, gt = load_davis(davis_root, seq, max_frames=12)
    segmenter = ClassicSegmenter()
    mask = segmenter.add_prompt(segmenter.init_state(video), 1, simulated_prompt(gt[0], "click"))
    assert mask_iou(mask, gt[0]) >= 0.8


def test_davis_a_fragments_whole_is_cut_with_what_the_frame_difference_says_moves(davis_root):
    """bmx-trees' click on frame 20 (the deepest pixel, on the rider's shirt) is a fragment of what moves around it.
    GrabCut of that moving area by colour alone kept the shirt alone (0.269); the cut that also sees texture and the
    frame difference, kept when it follows the difference better, adds his shorts (0.423). Frames 12-28 hold every
    neighbour the difference reads, so the click gives what it gives with the whole clip."""
    from click2graph.bench.tracking import load_davis

    video, gt = load_davis(davis_root, "bmx-trees", max_frames=29)
    segmenter = ClassicSegmenter()
    state = segmenter.init_state(Video.from_frames(video.frames[12:], fps=video.fps))
    mask = segmenter.add_prompt(state, 1, FramePrompt.from_points(8, [deepest_pixel(gt[20])]))
    assert mask_iou(mask, gt[20]) >= 0.35


def test_davis_click_on_a_fragment_of_a_moving_subject(davis_root):
    """Spread clicks whose masks were fragments of what moves around them: bmx-trees' rider's shirt (IoU 0.28) and a
    piece of scooter-black's rider (0.14); GrabCut of the click's moving area gives rider and bike (measured 0.57
    and 0.63)."""
    from click2graph.bench.tracking import load_davis

    for seq, xy in (("bmx-trees", (450, 168)), ("scooter-black", (611, 262))):
        video, gt = load_davis(davis_root, seq, max_frames=2)
        segmenter = ClassicSegmenter()
        mask = segmenter.add_prompt(segmenter.init_state(video), 1, FramePrompt.from_points(0, [xy]))
        assert mask_iou(mask, gt[0]) >= 0.45, seq


def test_davis_clicks_on_parts_take_what_changes_with_them(davis_root):
    """Clicks whose masks were a part of the subject (before: 0.20, 0.215, 0.233): a breakdancer's leg, whose
    other leg, shirt and arms have colours of their own; a tennis player's clay-coloured shoe and a dog's flank,
    where the cut of the moving blob collapsed and the blob-seeded GrabCut leaked into the court and the banner.
    On a clip the frame difference tells which parts of the moving area change as the clicked one does (measured
    0.70, 0.55, 0.59)."""
    from click2graph.bench.click_spread import FRAMES
    from click2graph.bench.tracking import load_davis

    for seq, xy in (("breakdance-flare", (217, 303)), ("tennis", (426, 298)), ("dog-agility", (561, 252))):
        video, gt = load_davis(davis_root, seq, max_frames=FRAMES)
        segmenter = ClassicSegmenter()
        mask = segmenter.add_prompt(segmenter.init_state(video), 1, FramePrompt.from_points(0, [xy]))
        assert mask_iou(mask, gt[0]) > 0.45, seq


def _square_over_a_bar_clip(n: int) -> tuple[Video, np.ndarray]:
    """A red square sliding right 3 px a frame along the top of a still red bar it touches, over a still grey
    texture; both reds mottled with a smooth pattern (flow needs structure at coarse scales to see 6 px). From the
    frame alone the square and the bar are one red object. Returns (video, the square per frame)."""
    h, w, side = 96, 128, 24
    rng = np.random.default_rng(0)
    backdrop = rng.integers(70, 140, size=(h, w, 1)).repeat(3, axis=2).astype(np.uint8)
    mottle = cv2.GaussianBlur(rng.normal(0, 1, size=(h, w)).astype(np.float32), (0, 0), 2)
    mottle = (25 * mottle / mottle.std()).astype(int)[..., None]
    bar = np.zeros((h, w), bool)
    bar[50:62, 10:118] = True
    frames, squares = [], np.zeros((n, h, w), bool)
    for t in range(n):
        squares[t, 26:50, 20 + 3 * t : 20 + 3 * t + side] = True
        frame = backdrop.copy()
        frame[bar] = np.clip(np.array([210, 40, 40]) + mottle, 0, 255)[bar]
        frame[squares[t]] = np.clip(np.array([210, 40, 40]) + np.roll(mottle, 3 * t, axis=1), 0, 255)[squares[t]]
        frames.append(frame)
    return Video.from_frames(np.stack(frames), fps=10.0), squares


@pytest.mark.parametrize("t", [2, 4])
def test_a_click_between_frames_is_not_decided_by_one_duplicated_neighbour(t):
    """The frame after the clicked one is a copy of it (frame-rate conversion repeats frames): that pair has no
    motion, and from the frame alone the square takes the red bar it touches (IoU 0.31 with the square). The motion
    to the previous frame and to the one after next both find the square, and the mask they agree on is kept."""
    from dataclasses import replace

    from click2graph.segment.classic_click import ClickConfig

    video, squares = _square_over_a_bar_clip(9)
    frames = video.frames.copy()
    frames[t + 1] = frames[t]
    repeated = Video.from_frames(frames, fps=10.0)
    click = FramePrompt.from_points(t, [[32 + 3 * t, 36]])
    segmenter = ClassicSegmenter()
    assert mask_iou(segmenter.add_prompt(segmenter.init_state(repeated), 1, click), squares[t]) > 0.9
    alone = ClassicSegmenter(ClassicConfig(click=replace(ClickConfig(), consensus_gaps=(1,))))
    assert mask_iou(alone.add_prompt(alone.init_state(repeated), 1, click), squares[t]) < 0.6  # the next frame only
    assert mask_iou(alone.add_prompt(alone.init_state(video), 1, click), squares[t]) > 0.9  # ... when it moves


def test_the_neighbours_of_one_click_share_its_window_cuts(monkeypatch):
    """The six window cuts read no motion: a click that asks three neighbours makes them once (one-off, 66 DAVIS
    clicks between frames: 1.86 -> 1.14 s a click, the same masks)."""
    from click2graph.segment import classic_click

    made = []
    real = classic_click._static_candidates
    monkeypatch.setattr(classic_click, "_static_candidates", lambda *args: made.append(1) or real(*args))
    video, squares = _square_over_a_bar_clip(9)
    frames = video.frames.copy()
    frames[3] = frames[2]  # the next frame repeats the clicked one: its mask differs, so all three are made
    segmenter = ClassicSegmenter()
    mask = segmenter.add_prompt(
        segmenter.init_state(Video.from_frames(frames, fps=10.0)), 1, FramePrompt.from_points(2, [[38, 36]])
    )
    assert mask_iou(mask, squares[2]) > 0.9 and len(made) == 1


def test_the_neighbours_of_a_click_on_a_still_clip_share_the_cuts_of_the_frame_alone(monkeypatch):
    """No motion anywhere: every neighbour's mask comes from the frame alone (where the square and the bar it
    touches are one red object), whose window and geodesic cuts are made once for the click (they read the user's
    clicks only, never a neighbour's motion)."""
    from click2graph.segment import classic_click

    made = {"window": 0, "geodesic": 0}
    for name, key in (("_static_candidates", "window"), ("_geodesic_candidates", "geodesic")):
        real = getattr(classic_click, name)

        def counted(*args, _real=real, _key=key):
            made[_key] += 1
            return _real(*args)

        monkeypatch.setattr(classic_click, name, counted)
    video, squares = _square_over_a_bar_clip(9)
    still = Video.from_frames(np.repeat(video.frames[2:3], 9, axis=0), fps=10.0)
    segmenter = ClassicSegmenter()
    mask = segmenter.add_prompt(segmenter.init_state(still), 1, FramePrompt.from_points(4, [[38, 36]]))
    bar = np.zeros_like(mask)
    bar[50:62, 10:118] = True
    assert mask_iou(mask, squares[2] | bar) > 0.8
    assert made == {"window": 1, "geodesic": 1}


def test_davis_click_between_frames_takes_the_mask_two_neighbours_agree_on(davis_root):
    """breakdance-flare's frame 20 (of the first 23): with the motion to frame 21 alone the deepest-pixel click takes
    the dancer with the wall and floor around her (IoU 0.22, 105,766 px); the motion to frames 19 and 22 gives 0.60
    and 0.73, the two masks that agree most, and the one from frame 19 is kept."""
    from click2graph.bench.tracking import load_davis
    from click2graph.masks import deepest_pixel

    video, gt = load_davis(davis_root, "breakdance-flare", max_frames=23)
    segmenter = ClassicSegmenter()
    mask = segmenter.add_prompt(segmenter.init_state(video), 1, FramePrompt.from_points(20, [deepest_pixel(gt[20])]))
    assert mask_iou(mask, gt[20]) > 0.5


def test_lost_object_is_reacquired():
    """The red square jumps across the frame (a cut in the video): flow cannot follow, the mask is lost; after
    the tracker's patience it is found again by its colours instead of staying empty (with a patience longer
    than the clip it stays lost, so the search is what finds it)."""
    from dataclasses import replace

    n, jump = 14, 3
    rng = np.random.default_rng(0)
    texture = rng.integers(70, 140, size=(H, W, 1)).repeat(3, axis=2).astype(np.uint8)
    mottle = rng.integers(-30, 30, size=(SIDE, SIDE, 1))
    frames, gt = [], []
    for t in range(n):
        square = _square(10, 10) if t < jump else _square(90, 60)
        frame = texture.copy()
        frame[square] = np.clip(np.array([210, 40, 40]) + mottle, 0, 255).reshape(-1, 3)
        frames.append(frame)
        gt.append(square)
    video = Video.from_frames(np.stack(frames), fps=10.0)

    def last_iou(segmenter: ClassicSegmenter) -> float:
        state = segmenter.init_state(video)
        segmenter.add_prompt(state, 1, FramePrompt.from_points(0, [_centre(gt[0])]))
        for _ in segmenter.propagate(state):
            pass
        return mask_iou(state.mask(1, n - 1), gt[n - 1])

    default = ClassicConfig()
    patience = default.track.lost_patience
    assert jump + patience + 1 < n - 1  # the search has frames left to find it
    assert last_iou(ClassicSegmenter(default)) > 0.7
    never = replace(default, track=replace(default.track, lost_patience=n))
    assert last_iou(ClassicSegmenter(never)) < 0.1


def _track_from_mask(video: Video, start: np.ndarray, config: ClassicConfig = ClassicConfig()) -> list[np.ndarray]:
    """The masks of every frame after tracking forward from the first-frame mask ``start``."""
    segmenter = ClassicSegmenter(config)
    state = segmenter.init_state(video)
    segmenter.add_mask(state, 1, 0, start)
    for _ in segmenter.propagate(state):
        pass
    return [state.mask(1, t) for t in range(video.num_frames)]


def _last_frame_iou(video: Video, gt: list[np.ndarray], config: ClassicConfig) -> float:
    """IoU with the truth on the last frame after tracking forward from the true first-frame mask."""
    return mask_iou(_track_from_mask(video, gt[0], config)[len(gt) - 1], gt[-1])


def test_object_that_reappears_off_its_predicted_path_is_found_nearby():
    """The red square moves right, passes behind a band of background texture, and comes out of it lower than
    it went in (it turned while hidden): its coasting extent misses it, so the frames that follow find nothing.
    The search near the extent (a region moving unlike the camera, coloured like the object) picks it up again
    as it comes out, long before the whole-frame colour search would (its patience is longer than the clip
    here); without that search it stays lost."""
    from dataclasses import replace

    n = 24
    rng = np.random.default_rng(1)
    texture = rng.integers(70, 140, size=(H, W + n, 1)).repeat(3, axis=2).astype(np.uint8)
    mottle = rng.integers(-30, 30, size=(SIDE, SIDE, 1))
    frames, gt = [], []
    band = np.zeros((H, W), bool)
    band[:, 36:64] = True  # in front of the square
    for t in range(n):
        background = np.ascontiguousarray(texture[:, t : t + W])  # the camera pans 1 px per frame
        square = _square(4 + 4 * t, 16 if t < 8 else 52)  # it goes down while behind the band
        frame = background.copy()
        frame[square] = np.clip(np.array([210, 40, 40]) + mottle, 0, 255).reshape(-1, 3)
        frames.append(np.where(band[..., None], background, frame))
        gt.append(square & ~band)
    video = Video.from_frames(np.stack(frames), fps=10.0)

    def last_iou(config: ClassicConfig) -> float:
        return _last_frame_iou(video, gt, config)

    default = ClassicConfig()
    patient = replace(default, track=replace(default.track, lost_patience=n))
    assert last_iou(patient) > 0.7
    no_search = replace(patient, track=replace(patient.track, min_evidence=np.inf))
    assert last_iou(no_search) < 0.1


@pytest.mark.parametrize(
    ("sequence", "floor"),
    [
        # dog-agility's box holds poles in front of a motion-blurred dog: the box cut at processing resolution keeps
        # a sliver of pole (IoU 0.000, its bounding box fills 41 % of the box); redone at working resolution it
        # finds the dog (measured 0.54)
        ("dog-agility", 0.4),
        # tennis: the box cut misses the legs, which share the clay's colours (IoU 0.58); the parts that move with
        # the cut join it (measured 0.73)
        ("tennis", 0.65),
        # breakdance-flare: the box around the upside-down dancer is mostly wall and ground, and its cut takes a
        # block of the wall beside her leg (IoU 0.35); the block is still while the camera's motion moves it, and
        # goes (measured 0.48)
        ("breakdance-flare", 0.45),
    ],
)
def test_davis_box_cut_recovers_from_its_known_failures(davis_root, sequence, floor):
    """The box prompt on frame 0 of real DAVIS clips where a plain box cut fails (two frames: the second gives
    the motion)."""
    from click2graph.bench.tracking import load_davis, simulated_prompt

    video, gt = load_davis(davis_root, sequence, max_frames=2)
    segmenter = ClassicSegmenter()
    mask = segmenter.add_prompt(segmenter.init_state(video), 1, simulated_prompt(gt[0], "box"))
    assert mask_iou(mask, gt[0]) >= floor


def test_davis_box_cut_sees_what_moves_against_the_backdrop(davis_root):
    """breakdance-flare with the frames the frame difference needs (nine: neighbours at 1, 2, 4 and 8 frames):
    the wall and ground in the box line up with the next frames once the camera's motion is undone, the dancer
    does not, and the box cut finds her head and arm (0.48 with two frames; measured 0.74)."""
    from click2graph.bench.tracking import load_davis, simulated_prompt

    video, gt = load_davis(davis_root, "breakdance-flare", max_frames=9)
    segmenter = ClassicSegmenter()
    mask = segmenter.add_prompt(segmenter.init_state(video), 1, simulated_prompt(gt[0], "box"))
    assert mask_iou(mask, gt[0]) >= 0.56


@pytest.mark.parametrize(("seq", "least"), [("flamingo", 0.72), ("dog-agility", 0.62), ("bmx-trees", 0.65)])
def test_davis_box_cut_keeps_what_the_frame_difference_says_moves(davis_root, seq, least):
    """Over nine frames: flamingo's colour cut follows the frame difference better than the texture cut that took
    the rock (0.63 when the texture cut was kept whenever there was a cue, measured 0.79); the cut loses the still,
    background-coloured pieces: the grass under the dog (0.55 before, measured 0.68), the grass and wall inside
    the bicycle's wheels (0.59 before, measured 0.71)."""
    from click2graph.bench.tracking import load_davis, simulated_prompt

    video, gt = load_davis(davis_root, seq, max_frames=9)
    segmenter = ClassicSegmenter()
    mask = segmenter.add_prompt(segmenter.init_state(video), 1, simulated_prompt(gt[0], "box"))
    assert mask_iou(mask, gt[0]) >= least


def test_graph_cut_under_a_pixel_budget_matches_the_full_cut():
    """A square with noisy unaries: the cut run downscaled to a quarter of the pixels gives (nearly) the same
    mask as the full cut, at full size, and keeps the hard constraints."""
    from click2graph.segment.classic_energy import graph_cut

    rng = np.random.default_rng(0)
    h, w = 120, 160
    truth = np.zeros((h, w), bool)
    truth[30:90, 40:110] = True
    rgb = np.where(truth[..., None], 180, 60).astype(np.uint8) + rng.integers(0, 20, (h, w, 3)).astype(np.uint8)
    evidence = np.where(truth, 1.0, -1.0) + rng.normal(0, 1.5, (h, w))
    cost_fg, cost_bg = np.maximum(-evidence, 0).astype(np.float32), np.maximum(evidence, 0).astype(np.float32)
    sure_bg = np.zeros((h, w), bool)
    sure_bg[50:60, 60:70] = True  # a hole the user said is background
    full = graph_cut(rgb, cost_fg, cost_bg, smoothness=4.0, sure_bg=sure_bg)
    small = graph_cut(rgb, cost_fg, cost_bg, smoothness=4.0, sure_bg=sure_bg, max_pixels=h * w // 4)
    assert small.shape == (h, w)
    assert mask_iou(full, truth & ~sure_bg) > 0.9
    assert mask_iou(small, full) > 0.9
    assert not small[52:58, 62:68].any()


def test_potts_edges_in_one_call_give_the_cut_of_one_call_per_direction():
    """The vectorised edge list is the graph add_grid_edges builds, edge for edge: the same max-flow and the same
    cut on noisy unaries (where a different edge order could tip near-ties)."""
    import maxflow

    from click2graph.segment.classic_energy import _NEIGHBOURS, _add_potts_edges

    rng = np.random.default_rng(0)
    h, w = 40, 57
    weights = [rng.random((h, w)).astype(np.float32) * 0.4 for _ in _NEIGHBOURS]
    source, sink = rng.random((h, w)) * 2, rng.random((h, w)) * 2
    cuts = []
    for fast in (True, False):
        graph = maxflow.Graph[float]()
        nodes = graph.add_grid_nodes((h, w))
        if fast:
            _add_potts_edges(graph, nodes, weights)
        else:
            for (dy, dx), weight in zip(_NEIGHBOURS, weights):
                structure = np.zeros((3, 3))
                structure[1 + dy, 1 + dx] = 1
                graph.add_grid_edges(nodes, weights=weight, structure=structure, symmetric=True)
        graph.add_grid_tedges(nodes, source, sink)
        cuts.append((graph.get_edge_count(), graph.maxflow(), graph.get_grid_segments(nodes)))
    assert cuts[0][:2] == cuts[1][:2]
    assert np.array_equal(cuts[0][2], cuts[1][2]) and 0 < cuts[0][2].sum() < h * w


def test_prefetched_flows_are_the_ones_computed_on_demand(monkeypatch):
    """Flows, reliabilities, frame colours and texture codes computed ahead on a worker thread equal those computed
    when asked for (also for a pair prefetched but never asked for), and tracking gives the same masks without the
    prefetch."""
    from click2graph.cv.flow import FlowCache
    from click2graph.segment.classic_features import FrameFeatures

    video, gt, _ = _clip()
    ahead = FrameFeatures(video.frames, FlowCache(video.frames), max_side=100)
    plain = FrameFeatures(video.frames, FlowCache(video.frames), max_side=100)
    ahead.prefetch(5, 6)  # never asked for
    ahead.prefetch(2, 3)
    ahead.prefetch(7, 8)  # past the last frame: nothing to do
    for a, b in [(2, 3), (3, 2), (5, 6), (6, 5), (1, 2)]:
        assert np.array_equal(ahead.flow(a, b), plain.flow(a, b))
        assert np.array_equal(ahead.reliable(a, b), plain.reliable(a, b))
        assert all(np.array_equal(x, y) for x, y in zip(ahead.frame(b), plain.frame(b)))
        assert np.array_equal(ahead.texture(b), plain.texture(b))
    with pytest.raises(ValueError):
        ahead.flow(2, 3)[0, 0, 0] = 1.0  # shared with later callers: read-only
    with_prefetch = _track_from_mask(video, gt[0])
    monkeypatch.setattr(FrameFeatures, "prefetch", lambda self, t_from, t_to: None)
    without = _track_from_mask(video, gt[0])
    assert all(np.array_equal(a, b) for a, b in zip(with_prefetch, without))


def test_prefetch_threads_end_with_their_sessions(monkeypatch):
    """Every tracking session starts its own prefetch thread; once sessions end (their state dropped), their
    threads end too: a public Space serving visitor after visitor must not pile up threads. Only the threads
    started here are judged: another test's may still be ending."""
    import gc
    import threading
    import time

    started_here: list[threading.Thread] = []
    start_thread = threading.Thread.start

    def recording_start(thread: threading.Thread) -> None:
        started_here.append(thread)
        start_thread(thread)

    monkeypatch.setattr(threading.Thread, "start", recording_start)
    video, gt, _ = _clip()
    for _ in range(6):
        _track_from_mask(video, gt[0])
    monkeypatch.undo()
    prefetch = [t for t in started_here if t.name.startswith("flow-prefetch")]
    assert len(prefetch) >= 6  # one per session at least
    gc.collect()
    deadline = time.monotonic() + 10.0  # a thread ends when it next wakes: give it time on a loaded machine
    while any(t.is_alive() for t in prefetch) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.is_alive() for t in prefetch)


def test_detached_look_alike_pieces_are_dropped():
    """A piece of the cut far from the object's main piece (a look-alike that flow carried in) is dropped; a
    piece split off nearby (a leg behind a pole) is kept."""
    from click2graph.segment.classic_track import _near_main_piece

    mask = np.zeros((100, 100), bool)
    mask[20:60, 20:60] = True  # the object: 40 x 40
    mask[20:60, 63:68] = True  # split off by a 3 px pole
    mask[85:95, 85:95] = True  # a look-alike 25 px away
    kept = _near_main_piece(mask, 0.5)  # reach: 0.5 * 40 = 20 px
    assert kept[20:60, 20:60].all() and kept[20:60, 63:68].all()
    assert not kept[85:95, 85:95].any()


def test_a_hidden_object_is_not_claimed_and_is_held_again_when_it_reappears():
    """The red square keeps moving right but is painted over by the background for two frames: the tracker shows
    (almost) nothing of it there rather than a guess, keeps carrying its extent along its motion, and holds it again
    where it reappears."""
    n, hide = 12, (6, 7)
    rng = np.random.default_rng(0)
    texture = rng.integers(70, 140, size=(H, W, 1)).repeat(3, axis=2).astype(np.uint8)
    mottle = rng.integers(-30, 30, size=(SIDE, SIDE, 1))
    frames, gt = [], []
    for t in range(n):
        square = _square(10 + 4 * t, 30)
        frame = texture.copy()
        if t not in hide:
            frame[square] = np.clip(np.array([210, 40, 40]) + mottle, 0, 255).reshape(-1, 3)
        frames.append(frame)
        gt.append(square)
    video = Video.from_frames(np.stack(frames), fps=10.0)
    segmenter = ClassicSegmenter()
    state = segmenter.init_state(video)
    segmenter.add_prompt(state, 1, FramePrompt.from_points(0, [_centre(gt[0])]))
    for _ in segmenter.propagate(state):
        pass
    for t in hide:
        assert state.mask(1, t).sum() < 0.2 * gt[t].sum()
    assert mask_iou(state.mask(1, hide[-1] + 1), gt[hide[-1] + 1]) > 0.6
    assert mask_iou(state.mask(1, n - 1), gt[n - 1]) > 0.6


def test_davis_click_on_a_moving_subject_whose_cut_collapses(davis_root):
    """dog-agility: the dog shares its colours with the poles and grass around it, so the cut of its moving region
    collapses to a speck, and the static window cut that follows took the grass with the dog (IoU 0.24). The
    moving blob then seeds a cut of its own, and a static candidate that disagrees with it does not count
    (measured 0.50)."""
    from click2graph.bench.tracking import load_davis, simulated_prompt

    video, gt = load_davis(davis_root, "dog-agility", max_frames=2)
    segmenter = ClassicSegmenter()
    mask = segmenter.add_prompt(segmenter.init_state(video), 1, simulated_prompt(gt[0], "click"))
    assert mask_iou(mask, gt[0]) >= 0.4


def test_click_on_a_moving_part_finds_the_parts_that_move_otherwise():
    """A red torso moves right while the blue leg below it kicks down (the camera pans): the region moving like
    the clicked torso holds the torso only, and its cut gave the torso alone (IoU 0.5 with the whole figure; the
    breakdancer's torso, a scooter without its rider). The static window cut adds the leg, which moves too."""
    rng = np.random.default_rng(1)
    texture = rng.integers(70, 140, size=(H, W + 4, 1)).repeat(3, axis=2).astype(np.uint8)
    mottle = rng.integers(-30, 30, size=(SIDE, SIDE, 1))
    frames, figures = [], []
    for t in range(3):
        frame = np.ascontiguousarray(texture[:, t : t + W])
        torso, leg = _square(40 + 3 * t, 16), _square(40 - t, 16 + SIDE + 4 * t)  # the leg: nearer the camera's
        frame[leg] = np.clip(np.array([40, 60, 210]) + mottle, 0, 255).reshape(-1, 3)  # motion than the torso's
        frame[torso] = np.clip(np.array([210, 40, 40]) + mottle, 0, 255).reshape(-1, 3)
        frames.append(frame)
        figures.append(torso | leg)
    video = Video.from_frames(np.stack(frames), fps=10.0)
    segmenter = ClassicSegmenter()
    torso = _square(40, 16)
    mask = segmenter.add_prompt(segmenter.init_state(video), 1, FramePrompt.from_points(0, [_centre(torso)]))
    assert mask_iou(mask, figures[0]) > 0.8


@pytest.mark.parametrize("seq", ["breakdance-flare", "scooter-black"])
def test_davis_click_on_a_part_that_moves_unlike_the_rest(davis_root, seq):
    """breakdance-flare's region moving like the clicked torso leaves out the kicking legs, scooter-black's leaves
    out the rider: frame-0 IoU 0.38 on both before the static cut's moving pixels joined the motion cut (measured
    0.66 and 0.70 now)."""
    from click2graph.bench.tracking import load_davis, simulated_prompt

    video, gt = load_davis(davis_root, seq, max_frames=2)
    segmenter = ClassicSegmenter()
    mask = segmenter.add_prompt(segmenter.init_state(video), 1, simulated_prompt(gt[0], "click"))
    assert mask_iou(mask, gt[0]) >= 0.55


def _figure_on_clay(frames: int, step: int = 3) -> tuple[Video, np.ndarray, np.ndarray]:
    """A red torso over a leg on a clay ground, moving right by ``step`` px a frame while the background pans
    (a tennis player). Returns (Video, torso and legs bool (2, H, W) on frame 0)."""
    rng = np.random.default_rng(2)
    clay = rng.integers(-25, 25, size=(H, W + frames, 1)) + np.array([180, 100, 60])
    wall = rng.integers(-25, 25, size=(H, W + frames, 1)) + np.array([110, 110, 110])
    texture = np.clip(np.where(np.arange(H)[:, None, None] < 40, wall, clay), 0, 255).astype(np.uint8)
    mottle = rng.integers(-30, 30, size=(H, W, 1))  # the figure's own texture, so flow sees it move
    out, parts = [], None
    for t in range(frames):
        frame = np.ascontiguousarray(texture[:, t : t + W])
        x = 40 + step * t
        torso, legs = np.zeros((H, W), bool), np.zeros((H, W), bool)
        torso[16 : 16 + SIDE, x : x + SIDE] = True
        legs[16 + SIDE : 16 + 3 * SIDE, x + 8 : x + 16] = True
        frame[torso] = np.clip(np.array([210, 40, 40]) + mottle[torso], 0, 255)
        frame[legs] = np.clip(np.array([230, 170, 140]) + mottle[legs], 0, 255)
        out.append(frame)
        parts = np.stack([torso, legs]) if parts is None else parts
    return Video.from_frames(np.stack(out), fps=10.0), parts


@pytest.mark.parametrize("step", [3, 0])
def test_box_cut_gets_back_the_parts_that_move_with_it(step):
    """A box cut that kept the torso alone (tennis: the legs share the clay's colours, frame-0 IoU 0.58; handed to
    the step here, as generated legs coloured like the ground defeat every colour cut) gets the leg back from the
    click path's cut of the moving region where it moves like the torso (tennis 0.73); a figure that does not move
    keeps the box cut as it is, and the ground never joins."""
    from click2graph.segment.classic_click import ClickConfig, _box_moving_parts

    video, (torso, legs) = _figure_on_clay(3, step)
    ys, xs = np.nonzero(torso | legs)
    box = np.array([xs.min(), ys.min(), xs.max(), ys.max()], float)
    segmenter = ClassicSegmenter()
    feat = segmenter._features(segmenter.init_state(video))
    centre = np.array([[(xs.min() + xs.max()) // 2, (ys.min() + ys.max()) // 2]])  # on the leg
    no_clicks = np.zeros((H, W), bool)
    mask = _box_moving_parts(feat, 0, feat.frame(0)[0], box, torso, centre, no_clicks, ClickConfig())
    if step:
        assert mask_iou(mask, torso | legs) > 0.8
    else:
        assert np.array_equal(mask, torso)
    assert not (mask & ~(torso | legs)).any()


@pytest.mark.parametrize("step", [3, 0])
def test_box_cut_loses_a_still_block_of_background(step):
    """A loose box around a figure moving over a panning background, whose cut took a block of the background
    beside the torso (breakdance-flare's wall): the block moves like the camera, as the rest of the box's
    background does, and goes (IoU with the figure 0.63 before). The torso's still rim next to the block, where
    DIS gives the background's flow, goes with it (IoU 0.86 after). A user's positive click on the block keeps it;
    a figure that does not move keeps the cut."""
    from click2graph.segment.classic_click import ClickConfig, _box_moving_parts

    video, (torso, legs) = _figure_on_clay(3, step)
    figure = torso | legs
    ys, xs = np.nonzero(figure)
    block = np.zeros((H, W), bool)
    block[ys.min() : ys.min() + SIDE, xs.min() - 24 : xs.min()] = True  # beside the torso, on the clay and wall
    box = np.array([xs.min() - 32, ys.min() - 8, xs.max(), ys.max()], float)
    segmenter = ClassicSegmenter()
    feat = segmenter._features(segmenter.init_state(video))
    centre = np.array([[int(box[0] + box[2]) // 2, int(box[1] + box[3]) // 2]])
    no_clicks = np.zeros((H, W), bool)
    mask = _box_moving_parts(feat, 0, feat.frame(0)[0], box, figure | block, centre, no_clicks, ClickConfig())
    if step:
        assert mask_iou(mask, figure) > 0.8
        assert (mask & block).sum() < 0.3 * block.sum()
        on_block = np.array([[xs.min() - 12, ys.min() + SIDE // 2]])
        args = (feat, 0, feat.frame(0)[0], box, figure | block, centre, no_clicks, ClickConfig())
        assert (_box_moving_parts(*args, clicks=on_block) & block).sum() > 0.9 * block.sum()
    else:
        assert np.array_equal(mask, figure | block)


def test_a_box_cut_whose_still_pieces_are_most_of_it_keeps_them():
    """The still pieces of a box cut that move like the box's background go (a wall block beside a dancer), but
    not when they are most of the cut: the box's object is then still itself and its few moving pixels a part of
    it (a standing flamingo whose neck moves: its body went, and the box's mask with it, 0.58 -> 0.01)."""
    from click2graph.segment.classic_click import _drop_still_pieces

    mask, moving, nearer = np.zeros((3, 60, 80), bool)
    mask[10:50, 10:40] = True  # the still body, 1200 px
    mask[10:20, 40:60] = moving[10:20, 40:60] = nearer[10:20, 40:60] = True  # the moving neck, 200 px
    background = ~mask
    nearer[background] = np.arange(background.sum()) % 10 == 0  # flow noise: 10 % of the background...
    nearer[10:50, 10:40] = (np.arange(1200) % 20 == 0).reshape(40, 30)  # ...and 5 % of the body
    assert np.array_equal(_drop_still_pieces(mask, moving, nearer, background, np.zeros((0, 2), int)), mask)
    block = mask.copy()
    block[10:50, 10:40] = False
    block[10:20, 30:40] = True  # a still block smaller than the moving part it is beside goes
    kept = _drop_still_pieces(block, moving, nearer, ~block, np.zeros((0, 2), int))
    assert np.array_equal(kept, moving & block)


@pytest.mark.parametrize("crf", [18, 23, 28])
def test_davis_box_around_a_still_flamingo_keeps_it_on_frames_encoded_again(davis_root, crf):
    """The flamingo stands still, only its neck moves: on CRF 23 its box cut lost the still body as background
    (frame-0 IoU 0.58 from the grown box's retry; measured 0.67 / 0.80 / 0.67 on CRF 18 / 23 / 28)."""
    from click2graph.bench.tracking import load_davis, simulated_prompt

    video, gt = load_davis(davis_root, "flamingo", max_frames=12, reencode=crf)
    segmenter = ClassicSegmenter()
    mask = segmenter.add_prompt(segmenter.init_state(video), 1, simulated_prompt(gt[0], "box"))
    assert mask_iou(mask, gt[0]) >= 0.6


def test_a_jump_of_the_camera_estimate_alone_does_not_stop_the_object_measurement():
    """The motion gate compares the object's velocity relative to the camera with its remembered one. When the
    camera's estimate jumps (a subject filling the frame, flow failing on a fast pan: motocross-bumps' camera
    "reverses" for a frame) while the object's own image motion continues, the object's measurement is kept
    (the gate alone would have thrown it away and moved the object with the wrong camera); when the object's
    flow collapses onto the camera's (an occluder), it is still refused, with or without a camera jump."""
    from click2graph.segment.classic_energy import ColourModel
    from click2graph.segment.classic_track import ObjectModel, TrackConfig, _object_motion

    support = np.zeros((60, 80), bool)
    support[20:40, 20:40] = True
    colours = ColourModel.fit(np.zeros(10, np.int64))

    def measure(camera_dx: float, object_dx: float) -> tuple[float, bool]:
        model = ObjectModel(
            fg=colours,
            bg=colours,
            extent=support.copy(),
            relative_motion=np.array([50.0, 0.0]),  # the camera pans left 40 px a frame after a subject moving 10
            camera_shift=np.array([-40.0, 0.0]),
            motion_frames=5,
        )
        camera = np.array([[1.0, 0.0, camera_dx], [0.0, 1.0, 0.0]])
        fwd = np.zeros((60, 80, 2), np.float32)
        fwd[..., 0] = object_dx
        affine, measured = _object_motion(model, camera, fwd, support, TrackConfig())
        return float(affine[0, 2]), measured

    dx, measured = measure(camera_dx=30.0, object_dx=10.0)  # the camera estimate jumped, the object did not
    assert measured and abs(dx - 10.0) < 0.5
    dx, measured = measure(camera_dx=-40.0, object_dx=-40.0)  # an occluder: the flow is the camera's
    assert not measured and abs(dx - 10.0) < 0.5  # coasts on camera + remembered relative velocity
    _, measured = measure(camera_dx=30.0, object_dx=30.0)  # both jumped: not the object's motion
    assert not measured
    _, measured = measure(camera_dx=-40.0, object_dx=10.0)  # nothing jumped: the ordinary gate passes it
    assert measured


def test_local_colour_windows_keep_an_object_out_of_surroundings_that_share_its_colours():
    """A square, red on its left half and blue on its right, moves down between a blue strip on its left and a red
    strip on its right, over grey. The one object histogram (red and blue) against the one histogram of its
    surroundings (mostly grey) calls both strips object, and the mask spills into them (measured IoU 0.58 on the
    last frame); the windows along its outline learn that beside its left edge blue is background and beside its
    right edge red is (measured 1.00)."""
    from dataclasses import replace

    n, strip = 12, 4
    rng = np.random.default_rng(0)
    grey = rng.integers(108, 148, size=(H, W, 1)).repeat(3, axis=2).astype(np.uint8)
    red, blue = np.array([210, 40, 40]), np.array([40, 60, 210])
    x0 = 52
    frames, gt = [], []
    for t in range(n):
        frame = grey.copy()
        frame[:, x0 - strip : x0] = np.clip(blue + rng.integers(-20, 20, (H, strip, 1)), 0, 255)
        frame[:, x0 + SIDE : x0 + SIDE + strip] = np.clip(red + rng.integers(-20, 20, (H, strip, 1)), 0, 255)
        square = _square(x0, 10 + 3 * t)
        mottle = rng.integers(-20, 20, (SIDE, SIDE // 2, 1))
        y0 = 10 + 3 * t
        frame[y0 : y0 + SIDE, x0 : x0 + SIDE // 2] = np.clip(red + mottle, 0, 255)
        frame[y0 : y0 + SIDE, x0 + SIDE // 2 : x0 + SIDE] = np.clip(blue + mottle, 0, 255)
        frames.append(frame)
        gt.append(square)
    video = Video.from_frames(np.stack(frames), fps=10.0)

    def last_iou(config: ClassicConfig) -> float:
        return _last_frame_iou(video, gt, config)

    default = ClassicConfig()
    assert last_iou(default) > 0.9
    # No windows (and no texture term, which holds it in part, 0.83: the strips' noise is finer than the mottle)
    no_windows = replace(default.track, local_size=0.0, texture_weight=0.0)
    assert last_iou(replace(default, track=no_windows)) < 0.8  # it leaks


def test_local_colour_windows_do_not_soften_clear_global_colours():
    """ball_touch's subject, whose shirt, trousers and skin the global colour models tell apart from the wall and
    the floor, is held on every frame from the preset click (measured 0.76-0.84). When the windows' softer
    probabilities replaced the global ones where both agreed, the cut thinned him frame by frame until he was lost
    from frame 45 on."""
    from click2graph import synth

    clip = synth.render_clip("ball_touch")
    x, y, frame = synth.preset_click(clip)
    video = Video.from_frames(clip.frames, fps=clip.fps)
    segmenter = ClassicSegmenter()
    state = segmenter.init_state(video)
    segmenter.add_prompt(state, 1, FramePrompt.from_points(frame, [[x, y]]))
    for _ in segmenter.propagate(state):
        pass
    gt = clip.labels == synth.SUBJECT_ID
    assert min(mask_iou(state.mask(1, t), gt[t]) for t in range(len(gt))) > 0.65


def test_tracks_from_a_mask_and_from_it_eroded_one_pixel_stay_together():
    """Tracked from the true first mask and from the same mask eroded by one pixel (the square's area -16 %),
    the two tracks agree on every frame within what the start itself differs by, and both hold the square."""
    video, gt, _ = _clip(two=True)
    eroded = cv2.erode(gt[0].astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    tracks = [_track_from_mask(video, start) for start in (gt[0], eroded)]
    start_iou = mask_iou(gt[0], eroded)  # 0.84
    for t in range(len(gt)):
        assert mask_iou(tracks[0][t], tracks[1][t]) > start_iou - 0.1
        assert min(mask_iou(track[t], gt[t]) for track in tracks) > 0.7


def test_a_lost_frame_teaches_the_background_model_nothing():
    """While the object is lost it may be anywhere near its coasting extent (a rider out from behind a tree, not
    yet found again): the window around the extent is not known to be background, and learning it as such would
    make the object's own colours unlikely where the search for it looks. A frame where the red square is painted
    over leaves the background models as they were; a frame where it is held updates them."""
    from click2graph.cv.flow import FlowCache
    from click2graph.segment.classic_features import FrameFeatures
    from click2graph.segment.classic_track import ObjectModel, TrackConfig, track_step

    video, gt, _ = _clip()
    frames = video.frames.copy()
    rng = np.random.default_rng(2)
    hidden = gt[2] | gt[3]
    frames[2:4][:, hidden] = rng.integers(70, 140, size=(2, int(hidden.sum()), 1)).repeat(3, axis=-1)
    feat = FrameFeatures(frames, FlowCache(frames), max_side=W)
    config = TrackConfig()
    model = ObjectModel.start(feat, 0, feat.to_proc_mask(gt[0]), config)
    mask = track_step(feat, model, feat.to_proc_mask(gt[0]), 0, 1, config)
    assert mask_iou(mask, feat.to_proc_mask(gt[1])) > 0.8
    for t in (2, 3):
        bg, bg_tex = model.bg.prob.copy(), model.bg_tex.prob.copy()
        mask = track_step(feat, model, mask, t - 1, t, config)
        assert mask.sum() < config.lost_frac * model.area
        assert np.array_equal(model.bg.prob, bg)
        assert np.array_equal(model.bg_tex.prob, bg_tex)
    held = model.bg.prob.copy()
    again = track_step(feat, model, feat.to_proc_mask(gt[4]), 3, 4, config)
    assert again.any() and not np.array_equal(model.bg.prob, held)


def test_growth_is_told_from_a_leak_by_the_evidence_of_what_it_adds():
    """A cut that reaches beyond the remembered extent is growth when what it adds is at least as object-like as
    what lies within the extent, and a leak (cut back) when it is less so; a cut that adds nothing is no growth."""
    from click2graph.segment.classic_track import _grows_alike

    extent = np.zeros((40, 40), bool)
    extent[10:30, 10:30] = True
    mask = np.zeros_like(extent)
    mask[4:36, 4:36] = True
    evidence = np.where(extent, 1.0, 0.0).astype(np.float32)  # the object's own pixels: 1 nat each
    assert not _grows_alike(mask, extent, evidence + np.where(extent, 0.0, 0.5))  # adds pixels at 0.5: a leak
    assert _grows_alike(mask, extent, evidence + np.where(extent, 0.0, 1.2))  # adds pixels at 1.2: growth
    assert _grows_alike(mask, extent, evidence - np.where(extent, 1.8, 0.0))  # model poor on all: -0.8 within
    assert not _grows_alike(extent, extent, evidence + 5.0)  # nothing added


def _square_tracked_from_its_middle_half(*, held_whole: bool):
    """(last mask, truth, model) after tracking the red square of :func:`_clip` from a model whose extent and running
    area are its middle half, as noisy scale measurements leave them; ``held_whole``: it was held whole before."""
    from click2graph.cv.flow import FlowCache
    from click2graph.segment.classic_features import FrameFeatures
    from click2graph.segment.classic_track import ObjectModel, TrackConfig, track_step

    video, gt, _ = _clip()
    feat = FrameFeatures(video.frames, FlowCache(video.frames), max_side=W)
    config = TrackConfig()
    mask = feat.to_proc_mask(gt[0])
    model = ObjectModel.start(feat, 0, mask, config)
    ys, xs = np.nonzero(mask)
    yy, xx = np.mgrid[: mask.shape[0], : mask.shape[1]]
    reach = 0.36 * (xs.max() - xs.min())
    model.extent = mask & (np.abs(yy - ys.mean()) <= reach) & (np.abs(xx - xs.mean()) <= reach)
    model.area = model.sized_area = float(model.extent.sum())
    if not held_whole:
        model.held_area = model.area
    for t in range(1, N):
        mask = track_step(feat, model, mask, t - 1, t, config)
    return mask, feat.to_proc_mask(gt[N - 1]), model


def test_a_running_area_that_noise_shrank_recovers_from_masks_that_hold_the_object_whole():
    """The scale measured on a deforming object is noise (a spinning dancer: +-7 % a frame), and the extent and the
    running area shrink at once with every fall. Left at the middle half of the red square, every later cut of the
    whole square is over the leak limit; it was kept (what it adds beyond the extent is as red as the rest) but
    never learned, so the area stayed at half the square's (0.41 of it after 7 frames) and the extent near it: the
    first cut whose growth fails the test is cut back to that half. Growth back to a size the object has had is
    learned now, and lifts the area to where a mask of its size passes the leak test."""
    mask, truth, model = _square_tracked_from_its_middle_half(held_whole=True)
    assert mask_iou(mask, truth) > 0.8
    assert model.area >= 0.7 * truth.sum()  # measured 0.80 (0.41 before)
    assert model.extent.sum() >= 0.8 * truth.sum()  # 0.94 (0.55 before)


def test_growth_past_any_size_the_object_has_had_is_kept_but_not_learned():
    """The same cuts of the whole square from a model that never held more than its middle half: the growth is kept
    on each frame, as before, but only the object's measured motion may make it larger. Learned, a leak into
    look-alike surroundings moves the growth test's own reference onto them and compounds (mallard-water's box on
    its frames encoded again, J 0.48 -> 0.29, when every growth was learned)."""
    mask, truth, model = _square_tracked_from_its_middle_half(held_whole=False)
    assert mask_iou(mask, truth) > 0.8
    assert model.area <= 0.6 * truth.sum()


def test_davis_a_spinning_dancers_track_holds_her_when_her_measured_scale_drifts_down(davis_root):
    """breakdance-flare's frames encoded again (CRF 28), from the true first-frame mask. The affine scale measured
    on her spinning body multiplied to 0.24 over the clip (her true area: 0.82), and the running area of the leak
    test fell with it to a quarter of her size; her cuts were kept as growth but never learned, until frame 52's
    failed the growth test and was cut back to the stale extent, her head: IoU 0.14 on average over frames 52-70.
    Growth back to a size she had is learned now: measured 0.68."""
    from click2graph.bench.tracking import load_davis

    video, gt = load_davis(davis_root, "breakdance-flare", reencode=28)
    masks = _track_from_mask(video, gt[0])
    assert np.mean([mask_iou(masks[t], gt[t]) for t in range(52, len(gt))]) >= 0.5


def test_davis_motocross_rider_keeps_growing_from_the_mask(davis_root):
    from click2graph.bench.tracking import run_sequence

    # The rider rides at the camera: a few hundred pixels on frame 0, a quarter of the frame at the end. The leak
    # test's running area stays near the prompted one, so every later cut is "a leak"; cut back to the extent
    # (which grows only by the affine's underestimated scale) the mask kept the bike and lost the rider (J 0.470).
    # What the cut adds is as object-like as what it keeps, so it is growth and stays: measured 0.749 (0.707-0.749
    # from the start changed by 1 px).
    result = run_sequence(davis_root, "motocross-bumps", prompt="mask")
    assert result.j_all >= 0.6


def test_moving_parts_come_from_the_cut_that_follows_the_frame_difference():
    """A mottled square moves over a flat wall (DIS smears its motion onto the wall beside it, where the frame
    difference sees nothing change). Of two window cuts, the one that also took a flat block of wall beside the
    square outscores the square on edge alignment; the moving parts must come from the square's cut, which
    follows the frame difference. On two frames (no difference cue) the best-aligned cut is kept as before."""
    from click2graph.masks import dilate
    from click2graph.segment.classic_click import ClickConfig, _cut_for_moving_parts

    rng = np.random.default_rng(0)
    mottle = rng.integers(-40, 40, size=(SIDE, SIDE, 1))
    frames = []
    for t in range(N):
        frame = np.full((H, W, 3), 150, np.uint8)
        square = _square(30 + 3 * t, 36)
        frame[square] = np.clip(np.array([200, 60, 40]) + mottle, 0, 255).reshape(-1, 3)
        frames.append(frame)
    segmenter = ClassicSegmenter()
    square = _square(30, 36)
    block = square.copy()
    block[30:70, 10:30] = True  # flat wall left of the square
    moving = dilate(square, 10)  # the flow's halo reaches past the square
    static = [(square, 4.0), (block, 5.0)]
    config = ClickConfig()
    feat = segmenter._features(segmenter.init_state(Video.from_frames(np.stack(frames), fps=10.0)))
    assert (_cut_for_moving_parts(feat, 0, static, moving, square, config) == square).all()
    short = segmenter._features(segmenter.init_state(Video.from_frames(np.stack(frames[:2]), fps=10.0)))
    assert (_cut_for_moving_parts(short, 0, static, moving, square, config) == block).all()


def test_a_fast_object_the_prediction_fell_behind_regrows_from_its_remnant(monkeypatch):
    """A mottled block walks right past thin bars of the panning background, then jumps 12 px a frame (a dog
    breaking into a run among poles): the gate refuses the jump, the prediction falls behind, and the cut keeps a
    remnant of the block, far below its running area but not lost, so no search runs. The moving region around
    the remnant that the block's colours hold joins it (IoU 0.87 on the jump's frame); without it the mask stays
    the remnant (0.62)."""
    import click2graph.segment.classic_track as classic_track

    n, w, turn = 6, 160, 4
    rng = np.random.default_rng(3)
    texture = rng.integers(70, 140, size=(H, w + 12, 1)).repeat(3, axis=2).astype(np.uint8)
    mottle = rng.integers(-30, 30, size=(28, 36, 1))
    bars = np.zeros((H, w), bool)
    for x0 in range(50, w, 12):
        bars[:, x0 : x0 + 2] = True  # in front of the block, the background's own texture
    frames, gt, x = [], [], 10
    for t in range(n):
        background = np.ascontiguousarray(texture[:, t : t + w])  # the camera pans 1 px per frame
        block = np.zeros((H, w), bool)
        block[34:62, x : x + 36] = True
        frame = background.copy()
        frame[block] = np.clip(np.array([210, 40, 40]) + mottle, 0, 255).reshape(-1, 3)
        frame[bars] = background[bars]
        frames.append(frame)
        gt.append(block & ~bars)
        x += 2 if t < turn else 12
    video = Video.from_frames(np.stack(frames), fps=10.0)
    assert mask_iou(_track_from_mask(video, gt[0])[turn + 1], gt[turn + 1]) > 0.8
    monkeypatch.setattr(classic_track, "_regrown", lambda feat, model, t, mask, *rest, **kw: mask)
    assert mask_iou(_track_from_mask(video, gt[0])[turn + 1], gt[turn + 1]) < 0.7


def test_a_partly_lost_subject_does_not_regrow_onto_another_moving_beside_it(shared_data):
    """A held-out real clip (a girl jumping on a bed, a boy jumping beside her): the girl's mask is partly lost in
    her jumps, and the moving region around its remnant also holds the boy. Joined because it overlaps the
    remnant, the track went over to the boy (mask centre at 0.05-0.18 of the width from frame 45 on); what a
    regrowth adds must be as object-like as the remnant, and the track stays on the girl (0.38-0.45)."""
    from click2graph.video import load_video

    video = load_video(shared_data / "sam2_bedroom" / "bedroom.mp4")
    scale = video.width / video.info.width
    segmenter = ClassicSegmenter()
    state = segmenter.init_state(video)
    segmenter.add_prompt(state, 1, FramePrompt.from_points(0, [(395 * scale, 225 * scale)]))
    for _ in segmenter.propagate(state):
        pass
    for t in range(50, video.num_frames):
        _, xs = np.nonzero(state.mask(1, t))
        assert xs.size and xs.mean() > 0.3 * video.width, t


def test_a_click_on_the_rider_leaves_out_most_of_the_bike_he_rides(davis_root):
    """DAVIS-2017 bmx-trees frame 0 (rider and bike annotated apart), the rider's deepest pixel clicked: the mask is
    the rider (IoU 0.69 measured) and holds little of the bike (0.22 of it), which discovery is there to find.
    DAVIS-2016's ground truth merges them, so the tracking bench rewards a click mask that swallows what its
    subject rides or holds: cutting the click's mask again with the box path in its own grown bounding box raised
    the bench's mean over the development set's clicks, but here took 0.54 of the bike (rider IoU 0.49), and on the
    examples the cups in the player's hands and the walker's legs beside the dog."""
    from click2graph.bench.tracking import load_davis
    from click2graph.masks import deepest_pixel

    video, _ = load_davis(davis_root, "bmx-trees", max_frames=9)
    labels = np.array(Image.open(davis_root / "Annotations_2017" / "480p" / "bmx-trees" / "00000.png"))
    rider, bike = labels == 2, labels == 1
    segmenter = ClassicSegmenter()
    mask = segmenter.add_prompt(segmenter.init_state(video), 1, FramePrompt.from_points(0, [deepest_pixel(rider)]))
    assert mask_iou(mask, rider) >= 0.6
    assert (mask & bike).sum() <= 0.35 * bike.sum()


def test_a_track_left_on_a_still_look_alike_takes_the_moving_object_beside_it(davis_root):
    """DAVIS dog-agility from the deepest-pixel click: from frame 17 the track keeps a remnant on the poles' red bands
    while the dog runs past (IoU 0.00 to the clip's end, measured before). The remnant is too large for the searches
    of a lost object to run; once nothing has regrown it for ``lost_patience`` frames, the moving region near the
    carried extent that the object's colours hold is taken instead (frames 23 and 24: 0.53 and 0.57, measured)."""
    from click2graph.bench.tracking import load_davis, simulated_prompt

    video, gt = load_davis(davis_root, "dog-agility")
    segmenter = ClassicSegmenter()
    state = segmenter.init_state(video)
    segmenter.add_prompt(state, 1, simulated_prompt(gt[0], "click"))
    masks = {t: frame_masks[ids.index(1)] for t, ids, frame_masks in segmenter.propagate(state)}
    assert mask_iou(masks[24], gt[24]) >= 0.35


def test_a_track_whose_cut_leaves_its_extent_empty_does_not_let_flow_alone_grow_it(davis_root):
    """DAVIS mallard-water from the first-frame mask: over the water the flow reads the duck as growing 3 % a frame
    (ripples spread from it), so the carried extent grew 6x in 80 frames while the duck shrank, and the leak test,
    which trims a leaking mask to the extent, let the mask grow with it (frames 40-60: IoU 0.46, 2.1x the duck's
    area, measured before). An extent past the leak limit that the cut left mostly empty grows no further: IoU 0.56,
    1.6x (measured)."""
    from click2graph.bench.tracking import load_davis

    video, gt = load_davis(davis_root, "mallard-water")
    masks = _track_from_mask(video, gt[0])
    frames = range(40, 61)
    assert np.mean([mask_iou(masks[t], gt[t]) for t in frames]) >= 0.51
    assert np.mean([masks[t].sum() / gt[t].sum() for t in frames]) <= 1.85


def test_masks_come_back_to_working_pixels_along_the_frames_edges():
    """The tracker works at processing resolution; its masks go back to working pixels along the frame's own
    edges (a guided filter), not the processing grid's interpolated outline. An ellipse with a sharp edge, at half
    the processing resolution: its nearest-sampled mask comes back closer to the ellipse, and on a flat frame the
    outline is the interpolated one."""
    from click2graph.cv.flow import FlowCache
    from click2graph.segment.classic_features import FrameFeatures

    rng = np.random.default_rng(0)
    frame = rng.integers(20, 60, size=(240, 320, 3)).astype(np.uint8)
    ellipse = np.zeros((240, 320), np.uint8)
    cv2.ellipse(ellipse, (161, 119), (71, 43), 17, 0, 360, 1, -1)
    ellipse = ellipse.astype(bool)
    frame[ellipse] = (210, 180, 90)
    frames = np.stack([frame, np.full_like(frame, 100)])
    feat = FrameFeatures(frames, FlowCache(frames), max_side=160)
    proc = feat.to_proc_mask(ellipse)
    plain, snapped = feat.to_work_mask(proc), feat.to_work_mask(proc, 0)
    assert mask_iou(snapped, ellipse) > mask_iou(plain, ellipse) + 0.01
    assert mask_iou(snapped, ellipse) > 0.98
    assert mask_iou(feat.to_work_mask(proc, 1), plain) > 0.98
    assert not feat.to_work_mask(np.zeros_like(proc), 0).any()


def _body_before_rocks(step: int, widen: int = 0) -> tuple[Video, np.ndarray, np.ndarray]:
    """A mottled grey body moving right by ``step`` px a frame before a still backdrop of brown rocks over ground (a
    rhino walking past rocks). Returns (Video of 6 frames, the body on frame 3, a block of rocks just above it there,
    12 rows deep; with ``widen``, also ``widen`` px beyond its sides and up to the frame's top)."""
    rng = np.random.default_rng(3)
    rocks = rng.integers(-30, 30, size=(H, W, 1)) + np.array([150, 130, 110])
    ground = rng.integers(-20, 20, size=(H, W, 1)) + np.array([170, 120, 80])
    backdrop = np.clip(np.where(np.arange(H)[:, None, None] < 50, rocks, ground), 0, 255).astype(np.uint8)
    mottle = rng.integers(-30, 30, size=(H, W, 1))
    frames, bodies = [], []
    for t in range(6):
        body = np.zeros((H, W), bool)
        body[36:70, 20 + step * t : 60 + step * t] = True
        frame = backdrop.copy()
        frame[body] = np.clip(np.array([120, 120, 130]) + np.roll(mottle, step * t, axis=1)[body], 0, 255)
        frames.append(frame)
        bodies.append(body)
    block = np.zeros((H, W), bool)
    block[24 - 24 * bool(widen) : 36, 20 + 3 * step - widen : 60 + 3 * step + widen] = True
    return Video.from_frames(np.stack(frames), fps=10.0), bodies[3], block


@pytest.mark.parametrize("step", [3, 0])
def test_a_tracked_masks_still_piece_of_backdrop_goes_and_a_still_object_stays(step):
    """The tracker's cut holds a block of the rocks above a walking body (rhino on CRF 23: the shape prior carried
    such a piece on and it grew, J 0.80 -> 0.57). The camera-compensated difference from the step's previous frame
    sees it still while the body changes, and it is coloured like the rest of the window, not like what moves: it
    goes and the body stays. A body that does not move keeps its mask as it is, and so does one whose still pieces
    would be most of the mask (a standing flamingo whose neck moves)."""
    from click2graph.segment.classic_track import _window, _without_still_pieces

    def without_still_pieces(video: Video, mask: np.ndarray) -> np.ndarray:
        feat = ClassicSegmenter()._features(ClassicSegmenter().init_state(video))
        return _without_still_pieces(feat, 3, 2, feat.camera(2, 3), mask, _window(mask, (H, W), 0.35))

    video, body, rocks = _body_before_rocks(step)
    out = without_still_pieces(video, body | rocks)
    if step:
        assert (out & rocks).sum() < 0.25 * rocks.sum()  # a rim along the body stays: 16 % (measured)
        assert (out & body).sum() > 0.9 * body.sum()
    else:
        assert np.array_equal(out, body | rocks)
    video, body, rocks = _body_before_rocks(step, widen=16)  # more rocks than body
    assert np.array_equal(without_still_pieces(video, body | rocks), body | rocks)


def test_davis_rhino_track_leaves_the_rocks_behind_it_on_frames_encoded_again(davis_root):
    """From the true first-frame mask on rhino's frames encoded again (CRF 23), the track took the rocks above the
    rhino's back, a little more every frame: over frames 20-39 its IoU averaged 0.59. Its still pieces coloured
    like the background now go at every step: measured 0.87."""
    from click2graph.bench.tracking import load_davis

    video, gt = load_davis(davis_root, "rhino", max_frames=40, reencode=23)
    masks = _track_from_mask(video, gt[0])
    assert np.mean([mask_iou(masks[t], gt[t]) for t in range(20, 40)]) >= 0.75
