"""The corrections benchmark: a simulated user corrects the worst frame, and the clip is tracked again."""

import numpy as np
from PIL import Image

from click2graph.bench import corrections
from click2graph.segment import ObjectTrack, SegmenterState


def _fake_davis(root, frames=8):
    """A DAVIS-layout folder with one clip: a 20 x 30 px square at (10, 12) on every frame."""
    images, annotations = root / "JPEGImages" / "480p" / "square", root / "Annotations" / "480p" / "square"
    images.mkdir(parents=True)
    annotations.mkdir(parents=True)
    gt = np.zeros((48, 64), np.uint8)
    gt[12:42, 10:30] = 255
    for t in range(frames):
        Image.fromarray(np.full((48, 64, 3), 90, np.uint8)).save(images / f"{t:05d}.jpg")
        Image.fromarray(gt).save(annotations / f"{t:05d}.png")
    return root


class Squares:
    """Segments each positive click as the 9 x 9 square around it (a negative click's square is left out), and
    tracks a prompted mask one frame each way only: a track lost soon after each prompt."""

    name = "squares"

    def init_state(self, video):
        return SegmenterState(video=video)

    def add_prompt(self, state, obj_id, prompt):
        track = state.objects.setdefault(obj_id, ObjectTrack(obj_id))
        track.prompts[prompt.frame_idx] = prompt
        mask = np.zeros((state.video.height, state.video.width), bool)
        for (x, y), label in sorted(zip(prompt.points_xy.astype(int).tolist(), prompt.labels), key=lambda c: -c[1]):
            mask[max(y - 4, 0) : y + 5, max(x - 4, 0) : x + 5] = bool(label)
        track.set_mask(prompt.frame_idx, mask)
        return mask

    def remove_object(self, state, obj_id):
        state.objects.pop(obj_id, None)

    def propagate(self, state, *, obj_ids=None, reverse=False):
        track = state.track(1)
        for t in range(len(state.video) - 1, -1, -1) if reverse else range(len(state.video)):
            behind = [f for f in track.prompt_frames if (f >= t if reverse else f <= t)]
            if not behind:
                continue
            origin = min(behind) if reverse else max(behind)
            mask = track.mask(origin) if abs(t - origin) <= 1 else np.zeros_like(track.mask(origin))
            if t not in track.prompts:
                track.set_mask(t, mask)
            yield t, [1], mask[None]


def test_each_round_corrects_the_worst_frame_with_the_robots_clicks_and_tracks_again(tmp_path):
    root = _fake_davis(tmp_path)
    result = corrections.run_corrections(root, "square", 2, clicks=3, good=0.8, segmenter=Squares())
    # the first click's mask is kept on frames 0-1; each correction (the first empty frame) adds three frames
    assert result.empty == [6, 4, 2]
    assert [t for t, _ in result.clicked] == [2, 4] and all(n == 3 for _, n in result.clicked)
    assert result.j[0] < result.j[1] < result.j[2]


def test_the_robot_clicks_the_larger_error_until_the_mask_is_good_enough():
    truth = np.zeros((40, 60), bool)
    truth[5:35, 5:45] = True
    masks = []

    def segment(prompt):  # a mask that grows by a column block per positive click
        mask = np.zeros_like(truth)
        mask[5:35, 5 : 5 + 15 * int(prompt.labels.sum())] = True
        masks.append(mask)
        return mask

    prompt = corrections.robot_clicks(segment, 3, truth, most=5, good=0.7)
    assert prompt.frame_idx == 3 and prompt.labels.tolist() == [1, 1]  # 15/40 after one click, 30/40 after two
    x, _ = prompt.points_xy[1]
    assert x >= 20  # the second click is on the part the first mask missed
    assert corrections.robot_clicks(segment, 3, truth, most=1, good=0.7).labels.tolist() == [1]


def test_the_command_line_prints_j_and_empty_frames_per_round_and_their_means(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(corrections, "SHARED_DATA", tmp_path / "data")
    monkeypatch.setattr(corrections, "ClassicSegmenter", Squares)
    _fake_davis(tmp_path / "data" / "davis")
    assert corrections.main(["--seq", "square", "--rounds", "1", "--clicks", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(k for k, line in enumerate(lines) if line.startswith("| sequence"))
    assert lines[header] == "| sequence | J first click | J +1 frame | empty frames | frames corrected (clicks) |"
    assert lines[header + 2].startswith("| square |") and lines[header + 2].endswith("| 6 / 4 | 2 (2) |")
    assert lines[header + 3].startswith("| **mean** |") and "6 / 4 in all" in lines[header + 3]
    assert corrections.main(["--seq", "nothing-here"]) == 2


def test_refinement_gives_the_iou_after_each_robot_click_and_counts_the_clicks_that_lowered_it(tmp_path):
    root = _fake_davis(tmp_path)
    result = corrections.run_refinement(root, "square", 3, 3, segmenter=Squares())
    assert result.frames == [0, 3, 6] and result.ious.shape == (3, 3)
    assert (np.diff(result.ious, axis=1) > 0).all()  # each positive click adds a square of the object
    worse = corrections.RefineResult("worse", [0], np.array([[0.8, 0.5, 0.79]]))
    lines = corrections.refine_table([result, worse], 3).splitlines()
    assert lines[0] == "| sequence | frames | IoU@1 | IoU@2 | IoU@3 | clicks lowering IoU |"
    assert lines[2].startswith("| square | 3 |") and lines[2].endswith("| 0 of 6 |")
    assert lines[3] == "| worse | 1 | 0.800 | 0.500 | 0.790 | 1 of 2 |"
    assert lines[4].startswith("| **all frames** | 4 |") and lines[4].endswith("| 1 of 8 |")


def test_a_correction_no_better_than_the_track_on_its_frame_is_not_kept(tmp_path):
    """A user who sees the corrected mask is worse than the track's there takes it back; the bench's robot too."""

    class NothingElsewhere(Squares):
        def add_prompt(self, state, obj_id, prompt):
            mask = super().add_prompt(state, obj_id, prompt)
            if prompt.frame_idx:
                mask[:] = False  # a click on any later frame segments nothing
                state.track(obj_id).set_mask(prompt.frame_idx, mask)
            return mask

    result = corrections.run_corrections(_fake_davis(tmp_path), "square", 2, segmenter=NothingElsewhere())
    assert result.clicked == [] and len(result.j) == 1 and result.empty == [6]
