"""The tracking benchmark's start perturbations and its spread table."""

import numpy as np

from click2graph.bench.tracking import STARTS, TrackingResult, _spread_table
from click2graph.prompts import FramePrompt


def test_starts_change_the_mask_by_one_pixel():
    mask = np.zeros((20, 20), bool)
    mask[5:15, 5:15] = True
    assert np.array_equal(STARTS["exact"](mask), mask)
    assert STARTS["eroded"](mask).sum() == 8 * 8
    assert STARTS["dilated"](mask).sum() == 12 * 12
    shifted = STARTS["shifted"](mask)
    assert shifted.sum() == mask.sum() and shifted[5, 15] and not shifted[5, 5]


def test_spread_table_reports_the_range_of_j_per_sequence_and_its_mean():
    def result(seq, j):
        return TrackingResult(seq=seq, ious=np.full(4, j), fps=1.0, prompt_s=0.0)

    table = _spread_table(
        {
            "exact": [result("a", 0.5), result("b", 0.8)],
            "eroded": [result("a", 0.3), result("b", 0.8)],
            "shifted": [result("a", 0.6), result("b", 0.7)],
        }
    )
    lines = table.splitlines()
    assert lines[0] == "| sequence | J exact | J eroded | J shifted | spread |"
    assert lines[2] == "| a | 0.500 | 0.300 | 0.600 | 0.300 |"
    assert lines[3] == "| b | 0.800 | 0.800 | 0.700 | 0.100 |"
    assert lines[4] == "| **mean** | 0.650 | 0.550 | 0.650 | 0.200 |"


def test_an_unknown_sequence_is_refused_with_the_names_available(capsys):
    """Both DAVIS benchmarks refuse a misspelt sequence with a message (no stack trace), before any work."""
    from click2graph.bench import shots, tracking

    for bench in (tracking, shots):
        code = bench.main(["--seq", "no-such-sequence"])
        out = capsys.readouterr().out
        assert code in (1, 2) and ("no-such-sequence" in out or "not found" in out)


def test_spread_clicks_are_deterministic_distinct_and_well_inside_the_object():
    from click2graph.bench.click_spread import spread_clicks

    mask = np.zeros((60, 80), bool)
    mask[10:50, 10:70] = True  # 40 x 60: the deepest pixels are 20 px from the boundary
    clicks = spread_clicks(mask, 5)
    assert clicks.shape == (5, 2) and np.array_equal(clicks, spread_clicks(mask, 5))
    assert len({tuple(c) for c in clicks}) == 5
    x, y = clicks.T
    depth = np.minimum.reduce([x - 10, 69 - x, y - 10, 49 - y])
    assert depth.min() >= 4  # at least a quarter of the deepest pixel's distance inside, give or take a pixel
    spread = np.linalg.norm(clicks[:, None] - clicks[None], axis=-1) + 1e3 * np.eye(5)
    assert spread.min() > 10  # spread over the object, not clustered at one spot
    assert len(spread_clicks(np.zeros((10, 10), bool), 3)) == 0


def test_spread_run_segments_frame_zero_from_each_click_and_the_table_gives_mean_and_worst():
    from click2graph.bench.click_spread import SpreadResult, run_spread, spread_table
    from click2graph.segment.classic import ClassicSegmenter
    from click2graph.video import Video

    frames = np.full((2, 90, 120, 3), (40, 140, 60), np.uint8)  # a red square on green, shifted by 2 px
    gt = np.zeros((90, 120), bool)
    gt[30:60, 40:80] = True
    frames[0][gt] = (220, 30, 30)
    frames[1][:, 2:][gt[:, :-2]] = (220, 30, 30)
    result = run_spread("square", Video.from_frames(frames, 24.0), gt, 3, segmenter=ClassicSegmenter())
    assert result.clicks_xy.shape == (3, 2) and result.ious.shape == (3,)
    assert result.ious.min() > 0.8  # every click on the square gets the square

    table = spread_table(
        [
            SpreadResult("a", np.array([[1, 2], [3, 4]]), np.array([0.9, 0.5])),
            SpreadResult("b", np.array([[5, 6]]), np.array([0.7])),
        ]
    ).splitlines()
    assert table[2] == "| a | 2 | 0.700 | 0.500 | 3, 4 |"
    assert table[3] == "| b | 1 | 0.700 | 0.700 | 5, 6 |"
    assert table[4] == "| **mean** | 3 | 0.700 | 0.600 | lowest 0.500 |"


class _BoxFiller:
    """A fake segmenter whose mask is its prompt's box: the noisy-box plumbing without a real cut."""

    def init_state(self, video):
        return video

    def add_prompt(self, state, obj_id, prompt):
        mask = np.zeros(state.frames.shape[1:3], bool)
        x0, y0, x1, y1 = np.round(prompt.box_xyxy).astype(int)
        mask[y0:y1, x0:x1] = True
        return mask


def _fake_davis(root, seq="square"):
    """A DAVIS-layout folder with one three-frame clip: a 20 x 30 px square at (10, 12) on every frame."""
    from PIL import Image

    frames, annotations = root / "JPEGImages" / "480p" / seq, root / "Annotations" / "480p" / seq
    frames.mkdir(parents=True)
    annotations.mkdir(parents=True)
    gt = np.zeros((48, 64), np.uint8)
    gt[12:42, 10:30] = 255
    for t in range(3):
        Image.fromarray(np.full((48, 64, 3), 90, np.uint8)).save(frames / f"{t:05d}.jpg")
        Image.fromarray(gt).save(annotations / f"{t:05d}.png")
    return root


def test_noisy_boxes_are_seeded_draws_around_the_ground_truth_box(tmp_path):
    from click2graph.bench.tracking import noisy_box_ious

    root = _fake_davis(tmp_path)
    exact = noisy_box_ious(root, "square", frac=0.0, draws=3, segmenter=_BoxFiller())
    assert np.allclose(exact, 1.0)  # no noise: every draw is the ground-truth box itself
    noisy = noisy_box_ious(root, "square", frac=0.2, draws=6, segmenter=_BoxFiller())
    assert len(noisy) == 6 and len(set(noisy.round(6))) > 1 and noisy.max() < 1.0 and noisy.min() > 0.2
    again = noisy_box_ious(root, "square", frac=0.2, draws=6, segmenter=_BoxFiller())
    assert np.array_equal(noisy, again)  # deterministic


def test_noise_table_reports_mean_and_worst_beside_the_exact_box():
    from click2graph.bench.tracking import _noise_table

    table = _noise_table({"a": np.array([0.6, 0.8]), "b": np.array([0.5, 0.7])}, {"a": 0.9, "b": 0.7}).splitlines()
    assert table[0] == "| sequence | exact box | noisy mean | noisy worst |"
    assert table[2] == "| a | 0.900 | 0.700 | 0.600 |"
    assert table[4] == "| **mean** | 0.800 | 0.650 | 0.550 |"
    assert _noise_table({"a": np.array([0.6, 0.8])}, {}).splitlines()[2] == "| a | 0.700 | 0.600 |"


class _BoxTrack:
    """The fake tracker's state: its frames and its masks by frame."""

    def __init__(self, frames):
        self.frames, self.masks = frames, {}

    def mask(self, obj_id, t):
        return self.masks[t]

    def track(self, obj_id):
        return self

    def set_mask(self, t, mask):
        self.masks[t] = mask


class _BoxTracker(_BoxFiller):
    """The box filler with a track: every frame keeps frame 0's box mask."""

    def init_state(self, video):
        return _BoxTrack(video.frames)

    def add_prompt(self, state, obj_id, prompt):
        if prompt.box_xyxy is None:  # the bench's warm-up click
            state.masks = {0: np.zeros(state.frames.shape[1:3], bool)}
        else:
            state.masks = {0: super().add_prompt(state, obj_id, prompt)}
        return state.masks[0]

    def remove_object(self, state, obj_id):
        state.masks = {}

    def propagate(self, state):
        for t in range(len(state.frames)):
            state.masks[t] = state.masks[0]
            yield t

    def describe(self):
        return "box tracker"


def test_box_tracks_follow_each_noisy_box_over_the_clip_and_the_table_judges_all_boxes(tmp_path, monkeypatch, capsys):
    from click2graph.bench import tracking

    root = _fake_davis(tmp_path / "data" / "davis")
    tracks = tracking.noisy_box_tracks(root, "square", frac=0.2, draws=4, segmenter=_BoxTracker())
    ious = tracking.noisy_box_ious(root, "square", frac=0.2, draws=4, segmenter=_BoxFiller())
    assert [len(r.ious) for r in tracks] == [3] * 4  # the whole clip from every draw
    assert np.allclose([r.ious[0] for r in tracks], ious)  # the same boxes as the frame-0 run
    assert np.allclose([r.j_all for r in tracks], ious)  # the fake track keeps its start

    monkeypatch.setattr(tracking, "SHARED_DATA", tmp_path / "data")
    monkeypatch.setattr(tracking, "ClassicSegmenter", _BoxTracker)
    argv = ["--seq", "square", "--prompt", "box", "--box-noise", "0.2", "--draws", "4", "--box-tracks"]
    assert tracking.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    table = lines[lines.index("J from 4 boxes with 20% noise per side") + 1 :]
    assert table[0] == "| sequence | J exact box | J noisy mean | J noisy worst | J all boxes |"
    cells = [float(c) for c in table[2].strip("| ").split(" | ")[1:]]
    exact = cells[0]  # the fake's box mask drops the box's last row and column
    assert exact > 0.9 and np.allclose(cells[1:], [ious.mean(), ious.min(), (exact + ious.sum()) / 5], atol=1e-3)
    assert table[3] == table[2].replace("square", "**mean**")  # one sequence: its row is the mean


def test_start_track_table_without_the_exact_box_gives_the_draws_only():
    from click2graph.bench.tracking import _start_track_table

    def result(j):
        return TrackingResult(seq="a", ious=np.full(4, j), fps=1.0, prompt_s=0.0)

    table = _start_track_table({"a": [result(0.4), result(0.6)]}, {}).splitlines()
    assert table[0] == "| sequence | J noisy mean | J noisy worst |"
    assert table[2] == "| a | 0.500 | 0.400 |"


def test_start_flips_change_about_frac_of_the_area_on_the_boundary_only_and_are_seeded():
    from click2graph.bench.tracking import StartFlips
    from click2graph.masks import dilate

    mask = np.zeros((120, 160), bool)
    mask[20:100, 30:130] = True
    mask[40:60, 60:90] = False  # a hole: its boundary counts too
    flips = StartFlips(0.04, seed=1)
    flipped = flips.apply(mask, "a", 0)
    changed = flipped ^ mask
    assert abs(changed.sum() - 0.04 * mask.sum()) <= 2
    assert abs((flipped & ~mask).sum() - (mask & ~flipped).sum()) <= 1  # half added, half removed
    boundary = dilate(mask, 2) & dilate(~mask, 2)
    assert not (changed & ~boundary).any()  # no pixel farther than 2 px from the outline
    assert np.array_equal(flipped, flips.apply(mask, "a", 0))  # deterministic
    for other in (flips.apply(mask, "a", 1), flips.apply(mask, "b", 0), StartFlips(0.04, seed=2).apply(mask, "a", 0)):
        assert not np.array_equal(flipped, other)  # draw, sequence and seed each change the draw


def test_start_flips_reach_every_tracked_start_and_the_table(tmp_path, monkeypatch, capsys):
    from click2graph.bench import tracking

    root = _fake_davis(tmp_path / "data" / "davis")
    flips = tracking.StartFlips(0.2, seed=3)
    plain = tracking.noisy_box_tracks(root, "square", frac=0.0, draws=3, segmenter=_BoxTracker())
    flipped = tracking.noisy_box_tracks(root, "square", frac=0.0, draws=3, segmenter=_BoxTracker(), flips=flips)
    for a, b in zip(plain, flipped):  # the fake track keeps its start: every frame shows the flipped mask
        assert b.ious[0] < a.ious[0] - 0.05 and np.allclose(b.ious, b.ious[0])
    exact = tracking.run_sequence(root, "square", prompt="box", segmenter=_BoxTracker(), flips=flips)
    assert exact.ious[0] < 0.9

    monkeypatch.setattr(tracking, "SHARED_DATA", tmp_path / "data")
    monkeypatch.setattr(tracking, "ClassicSegmenter", _BoxTracker)
    argv = ["--seq", "square", "--prompt", "box", "--box-noise", "0.2", "--draws", "3", "--box-tracks"]
    assert tracking.main([*argv, "--start-flips", "0.2", "--flip-seed", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = lines[lines.index("J from 3 boxes with 20% noise per side") + 1 :]
    cells = [float(c) for c in table[2].strip("| ").split(" | ")[1:]]
    js = [
        r.j_all
        for r in tracking.noisy_box_tracks(root, "square", frac=0.2, draws=3, segmenter=_BoxTracker(), flips=flips)
    ]
    assert np.allclose(cells, [exact.j_all, np.mean(js), min(js), np.mean([exact.j_all, *js])], atol=1e-3)


class _DiskTracker(_BoxTracker):
    """A fake tracker whose click's mask is a disk of radius 4 around it, kept on every frame."""

    def add_prompt(self, state, obj_id, prompt):
        h, w = state.frames.shape[1:3]
        (x, y), ys, xs = prompt.positive_points_xy[0], *np.mgrid[:h, :w]
        state.masks = {0: (xs - x) ** 2 + (ys - y) ** 2 <= 16}
        return state.masks[0]


def test_click_tracks_follow_each_spread_click_over_the_clip_beside_the_deepest_click(tmp_path, monkeypatch, capsys):
    from click2graph.bench import tracking
    from click2graph.bench.click_spread import spread_clicks
    from click2graph.masks import mask_iou

    root = _fake_davis(tmp_path / "data" / "davis")
    spread, tracks = tracking.spread_click_tracks(root, "square", n=3, segmenter=_DiskTracker())
    _, gt = tracking.load_davis(root, "square")
    clicks = spread_clicks(gt[0], 3)
    assert np.array_equal(spread.clicks_xy, clicks) and np.allclose(spread.ious, [r.ious[0] for r in tracks])
    disks = [
        _DiskTracker().add_prompt(_BoxTrack(gt[:1, ..., None]), 1, FramePrompt.from_points(0, [c])) for c in clicks
    ]
    assert [len(r.ious) for r in tracks] == [3] * 3  # the whole clip from every click
    assert np.allclose([r.j_all for r in tracks], [mask_iou(d, gt[0]) for d in disks])

    monkeypatch.setattr(tracking, "SHARED_DATA", tmp_path / "data")
    monkeypatch.setattr(tracking, "ClassicSegmenter", _DiskTracker)
    assert tracking.main(["--seq", "square", "--prompt", "click", "--click-spread", "3", "--click-tracks"]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = lines[lines.index("J from 3 clicks spread over the object") + 1 :]
    assert table[0] == "| sequence | J deepest click | J spread mean | J spread worst | J all clicks |"
    deepest, mean, worst, everything = (float(c) for c in table[2].strip("| ").split(" | ")[1:])
    js = np.array([r.j_all for r in tracks])
    assert np.allclose([mean, worst], [js.mean(), js.min()], atol=1e-3)
    assert abs(everything - (deepest + js.sum()) / 4) < 1e-3


def test_click_frames_segment_every_kth_annotated_frame_with_the_clip_and_alone():
    """A red square on green moving 2 px a frame: every click on it gets the square, with the clip's motion and on its
    frame alone; a frame without the subject annotated is not clicked."""
    from click2graph.bench.click_frames import clicked_frames, run_click_frames
    from click2graph.segment.classic import ClassicSegmenter
    from click2graph.video import Video

    n = 7
    frames = np.full((n, 90, 120, 3), (40, 140, 60), np.uint8)
    gt = np.zeros((n, 90, 120), bool)
    for t in range(n):
        gt[t, 30:60, 30 + 2 * t : 70 + 2 * t] = True
        frames[t][gt[t]] = (220, 30, 30)
    gt[6] = False  # the subject not annotated on the last frame
    assert clicked_frames(gt, 3) == [0, 3]
    video = Video.from_frames(frames, 24.0)
    for still in (False, True):
        result = run_click_frames("square", video, gt, 3, segmenter=ClassicSegmenter(), still=still)
        assert result.frames.tolist() == [0, 3] and result.ious.min() > 0.8
        assert result.seconds.shape == (2,) and (result.seconds > 0).all()


def test_click_frames_table_gives_mean_worst_frame_and_weak_clicks_per_sequence_and_over_all():
    from click2graph.bench.click_frames import FramesResult, frames_table

    table = frames_table(
        [
            FramesResult("a", np.array([0, 10, 20]), np.array([0.9, 0.3, 0.6]), np.array([1.0, 2.0, 3.0])),
            FramesResult("b", np.array([0]), np.array([0.4]), np.array([1.0])),
            FramesResult("c", np.zeros(0, int), np.zeros(0), np.zeros(0)),
        ]
    ).splitlines()
    assert table[2] == "| a | 3 | 0.600 | 0.300 (10) | 1 | 2.00 |"
    assert table[3] == "| b | 1 | 0.400 | 0.400 (0) | 1 | 1.00 |"
    assert table[4] == "| c | 0 | - | - | - | - |"
    assert table[5] == "| **all** | 4 | 0.550 | 0.350 | 2 | 1.75 |"


def test_click_frames_reach_the_command_line_with_one_table_per_mode(tmp_path, monkeypatch, capsys):
    from click2graph.bench import tracking

    _fake_davis(tmp_path / "data" / "davis")
    monkeypatch.setattr(tracking, "SHARED_DATA", tmp_path / "data")
    argv = ["--seq", "square", "--prompt", "click", "--click-frames", "2"]
    assert tracking.main([*argv, "--click-still"]) == 0
    lines = capsys.readouterr().out.splitlines()
    with_clip = lines.index("IoU of the click's mask, the deepest pixel clicked every 2 frames, with the whole clip")
    alone = lines.index(
        "IoU of the click's mask, the deepest pixel clicked every 2 frames, on that frame alone (no motion)"
    )
    for start in (with_clip, alone):
        assert lines[start + 1] == "| sequence | clicks | mean IoU | worst (frame) | weak | s per click |"
        assert lines[start + 3].startswith("| square | 2 | ") and lines[start + 4].startswith("| **all** | 2 | ")
    assert tracking.main(argv) == 0
    assert not any("alone" in line for line in capsys.readouterr().out.splitlines())


def test_reencode_runs_the_bench_on_each_clips_frames_encoded_again(tmp_path, monkeypatch, capsys):
    """``--reencode``: the same ground truth, the frames written with our H.264 writer and read back (close to the
    stored ones, not equal), and the table says so."""
    from click2graph.bench import tracking

    root = _fake_davis(tmp_path / "data" / "davis")
    stored, gt = tracking.load_davis(root, "square")
    again, gt_again = tracking.load_davis(root, "square", reencode=23)
    assert np.array_equal(gt, gt_again) and again.frames.shape == stored.frames.shape
    assert np.abs(again.frames.astype(int) - stored.frames.astype(int)).mean() < 3
    seen = []

    class Recording(_BoxTracker):
        def init_state(self, video):
            seen.append(video.frames.copy())
            return super().init_state(video)

    monkeypatch.setattr(tracking, "SHARED_DATA", tmp_path / "data")
    monkeypatch.setattr(tracking, "ClassicSegmenter", Recording)
    assert tracking.main(["--seq", "square", "--prompt", "box", "--reencode"]) == 0
    assert "prompt=box, max_side=original, frames encoded again at CRF 23" in capsys.readouterr().out
    assert np.array_equal(seen[-1], again.frames)  # the table's run saw the frames encoded again


def test_a_real_davis_clip_encoded_again_twice_in_one_process_is_the_same_clip(davis_root):
    """x264's macroblock-tree rate control gave other bytes for the same frames once the process had decoded and
    segmented a video (rhino's first 12 frames at CRF 28: the second and third encodes differed from the first on
    every run), so a ``--reencode`` bench judged frames that depended on what it had run before."""
    from click2graph.bench.tracking import load_davis, simulated_prompt
    from click2graph.segment.classic import ClassicSegmenter

    first, gt = load_davis(davis_root, "rhino", max_frames=12, reencode=28)
    segmenter = ClassicSegmenter()
    segmenter.add_prompt(segmenter.init_state(first), 1, simulated_prompt(gt[0], "box"))
    for _ in range(2):
        again, _ = load_davis(davis_root, "rhino", max_frames=12, reencode=28)
        assert np.array_equal(again.frames, first.frames)


def test_a_real_davis_clip_encoded_again_keeps_its_ground_truth_and_its_picture(davis_root):
    """``--reencode`` on real frames (rhino, whose click the encoder changes most): the same ground truth and frame
    size, the pixels a few grey levels off on average (4.2-5.0 on these three frames), and not the stored ones."""
    from click2graph.bench.tracking import load_davis

    stored, gt = load_davis(davis_root, "rhino", max_frames=3)
    again, gt_again = load_davis(davis_root, "rhino", max_frames=3, reencode=23)
    assert np.array_equal(gt, gt_again) and again.frames.shape == stored.frames.shape and again.fps == stored.fps
    error = np.abs(again.frames.astype(int) - stored.frames.astype(int)).mean(axis=(1, 2, 3))
    assert np.all((error > 0.1) & (error < 8.0))


def test_encodings_end_the_run_with_one_row_per_encoding_of_the_frames(tmp_path, monkeypatch, capsys):
    """``--encodings``: the prompts run again on the frames encoded again at each quality, and one row per encoding
    (the run's own frames first) gives the frame-0 mean, the worst sequence, how many miss the goal, and J."""
    from click2graph.bench import tracking

    results = {
        "click": [tracking.TrackingResult("a", np.array([0.4, 0.5]), 1.0, 0.1)],
        "box": [tracking.TrackingResult("a", np.array([0.8, 0.6]), 1.0, 0.1)],
        "mask": [tracking.TrackingResult("a", np.array([1.0, 0.5]), 1.0, 0.0)],
    }
    table = tracking._encodings_table({"stored": results, "CRF 23": results}).splitlines()
    assert (
        table[0]
        == "| frames | click frame-0 (worst; under 0.5) | click J | box frame-0 (worst; under 0.7) | box J | mask J |"
    )
    assert table[2] == "| stored | 0.400 (0.400 a; 1) | 0.450 | 0.800 (0.800 a; 0) | 0.700 | 0.750 |"
    assert table[3].startswith("| CRF 23 | ")

    seen = []

    class Recording(_BoxTracker):
        def init_state(self, video):
            seen.append(video.frames.copy())
            return super().init_state(video)

    root = _fake_davis(tmp_path / "data" / "davis")
    monkeypatch.setattr(tracking, "SHARED_DATA", tmp_path / "data")
    monkeypatch.setattr(tracking, "ClassicSegmenter", Recording)
    assert tracking.main(["--seq", "square", "--prompt", "box", "--encodings", "18", "28"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = lines[lines.index("frame-0 IoU and J per encoding of the frames") + 3 :]
    assert [row.split(" | ")[0] for row in rows] == ["| stored", "| CRF 18", "| CRF 28"]
    stored = tracking.load_davis(root, "square")[0].frames
    for frames, crf in zip(seen[-2:], (18, 28)):  # each encoding's run saw its own frames
        assert np.array_equal(frames, tracking.load_davis(root, "square", reencode=crf)[0].frames)
        assert not np.array_equal(frames, stored)


def test_the_table_counts_the_frames_a_track_left_empty_while_the_object_is_there(tmp_path, monkeypatch, capsys):
    """A lost subject should be found again, not left empty: the bench counts, per sequence and in all, the frames
    whose mask is empty while the ground truth shows the object. Here the track keeps the box on frames 0-1 and
    loses it on frame 2; a frame the object is absent from does not count."""
    from click2graph.bench import tracking

    class Losing(_BoxTracker):
        def propagate(self, state):
            for t in range(len(state.frames)):
                state.masks[t] = state.masks[0] if t < 2 else np.zeros_like(state.masks[0])
                yield t

    root = _fake_davis(tmp_path / "data" / "davis")
    segmenter, state, gt = tracking._davis_state(root, "square", segmenter=Losing())
    first = tracking.simulated_prompt(gt[0], "box")
    assert tracking._track(segmenter, state, "square", gt, first).empty == 1
    gt[2] = False  # the object gone: an empty mask is right there
    assert tracking._track(segmenter, state, "square", gt, first).empty == 0

    monkeypatch.setattr(tracking, "SHARED_DATA", tmp_path / "data")
    monkeypatch.setattr(tracking, "ClassicSegmenter", Losing)
    assert tracking.main(["--seq", "square", "--prompt", "box"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines.index("| sequence | frame-0 IoU | J | J end | empty | fps | prompt s |")
    assert lines[header + 2].split(" | ")[4] == "1"
    assert lines[header + 3].split(" | ")[4] == "1 in all"
