"""The discovery benchmark's judging of one frame (`click2graph.bench.discovery.judge_frame`), on hand-made masks."""

from __future__ import annotations

import numpy as np
import pytest

from click2graph.bench.discovery import judge_frame
from click2graph.bench.discovery_data import GtFrame
from click2graph.discovery.base import Proposal


def _box(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    mask = np.zeros((60, 80), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def _proposal(mask: np.ndarray) -> Proposal:
    return Proposal(0, mask, np.zeros((1, 2), np.float32), 0.5, 0.5, 0.5)


GT_SUBJECT, GT_BALL = _box(10, 50, 10, 30), _box(30, 40, 32, 42)  # the ball touches the subject's side


def test_an_objects_frame_counts_real_objects_background_and_a_weak_subject():
    """A subject mask holding 40 % of the GT subject (IoU 0.4 with it: a weak click), a proposal on the ball (real,
    found) and one on nothing annotated (background): precision 1/2, the ball within reach found, union J above
    subject J (both against everything annotated)."""
    gt = GtFrame(0, GT_SUBJECT, (GT_BALL,), GT_SUBJECT | GT_BALL)
    subject = _box(10, 26, 10, 30)
    tally = judge_frame([_proposal(GT_BALL.copy()), _proposal(_box(0, 8, 60, 78))], subject, gt, "objects", 20.0)
    assert (tally.frames, tally.kept, tally.real, tally.background, tally.part) == (1, 2, 1, 1, 0)
    assert (tally.reachable, tally.found) == (1, 1)
    assert tally.subject_iou == pytest.approx(320 / 900)
    assert tally.weak_subject == 1
    assert tally.union_iou == pytest.approx((320 + 100) / (900 + 144))


def test_a_merged_frame_judges_proposals_on_the_merged_mask_and_a_good_subject_is_not_weak():
    """Merged annotation (rider and bike one mask): a proposal on it is on the object, none is a part; the subject
    mask holds the whole subject part (IoU 0.8), so the frame is not weak."""
    merged = GT_SUBJECT | GT_BALL
    gt = GtFrame(0, merged, (), merged)
    tally = judge_frame([_proposal(GT_BALL.copy())], GT_SUBJECT.copy(), gt, "merged", 20.0)
    assert (tally.kept, tally.on_object, tally.part, tally.background, tally.real) == (1, 1, 0, 0, 0)
    assert tally.subject_iou == pytest.approx(800 / 900)
    assert tally.weak_subject == 0
    assert tally.union_iou == pytest.approx(1.0)


def test_a_subject_mask_is_weak_against_the_gt_subject_not_against_everything_annotated():
    """The exact subject beside a large annotated table nobody found: subject J (against subject and table) is
    under 0.5, but the click found its subject, so the frame is not weak."""
    table = _box(10, 60, 40, 80)  # 2000 px
    gt = GtFrame(0, GT_SUBJECT, (table,), GT_SUBJECT | table)
    tally = judge_frame([], GT_SUBJECT.copy(), gt, "objects", 20.0)
    assert tally.subject_iou == pytest.approx(800 / 2800)
    assert tally.weak_subject == 0


@pytest.mark.parametrize("reencode", [None, 23])
def test_reencode_judges_every_video_on_its_frames_encoded_again(monkeypatch, capsys, reencode):
    """``--reencode``: each video of the precision check is judged on its frames written with our H.264 writer and
    read back (close to the stored ones, not equal); without it, on the stored frames."""
    from click2graph.bench import discovery
    from click2graph.bench.discovery_data import GtVideo
    from click2graph.video import Video

    rng = np.random.default_rng(0)
    frames = rng.integers(60, 200, (4, 60, 80, 3)).astype(np.uint8)
    clip = GtVideo(
        "noise", "objects", Video.from_frames(frames, 10.0), (GtFrame(0, GT_SUBJECT, (GT_BALL,), GT_SUBJECT),)
    )
    seen = []
    monkeypatch.setattr(discovery, "davis_videos", lambda *args: iter(()))
    monkeypatch.setattr(discovery, "synthetic_videos", lambda *args: iter((clip,)))
    monkeypatch.setattr(discovery, "run_video", lambda segmenter, video, *args: seen.append(video) or discovery.Tally())
    discovery._precision(None, None, 10, "gt", discovery.DiscoveryConfig(), reencode=reencode)
    assert "noise" in capsys.readouterr().out
    (judged,) = seen
    assert judged.video.frames.shape == frames.shape and judged.frames == clip.frames
    assert np.array_equal(judged.video.frames, frames) == (reencode is None)
    assert np.abs(judged.video.frames.astype(int) - frames).mean() < 30
