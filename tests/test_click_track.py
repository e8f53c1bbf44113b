"""The tracker's first-frame learning from a click's or box's mask (issue 17): such a mask, cut from one frame's
colours, often holds static background next to a moving subject (DAVIS dog-agility: the red poles and sign the dog
runs past); learned as object colours, they hold the mask on the background while the dog leaves."""

from __future__ import annotations

import numpy as np

from click2graph.prompts import FramePrompt
from click2graph.segment.classic import ClassicSegmenter
from click2graph.segment.classic_track import ObjectModel, TrackConfig
from click2graph.video import Video

H, W = 192, 256
GRASS, POLE, BODY = np.array([70, 140, 60]), np.array([200, 40, 40]), np.array([70, 45, 25])


def _dog_past_a_pole(frames: int = 3) -> tuple[Video, np.ndarray, np.ndarray]:
    """A brown body running left (5 px a frame) over grass, past a static red pole. Returns (video, body masks
    bool (N, H, W), pole bool (H, W))."""
    rng = np.random.default_rng(0)
    grass = np.clip(GRASS + rng.integers(-25, 25, size=(H, W, 1)), 0, 255).astype(np.uint8)
    pole = np.zeros((H, W), bool)
    pole[:, 120:180] = True
    out, bodies = [], []
    for t in range(frames):
        frame = grass.copy()
        frame[pole] = np.clip(POLE + rng.integers(-20, 20, (pole.sum(), 1)), 0, 255)
        body = np.zeros((H, W), bool)
        body[70:110, 180 - 5 * t : 240 - 5 * t] = True
        frame[body] = np.clip(BODY + rng.integers(-15, 15, (body.sum(), 1)), 0, 255)
        out.append(frame)
        bodies.append(body)
    return Video.from_frames(np.stack(out), fps=10.0), np.stack(bodies), pole


def test_a_click_mask_does_not_teach_the_static_background_it_holds_as_object_colours():
    """The prompted mask holds the body and as much of the pole beside it. From a user's mask (add_mask) the object
    colours are the whole mask's, as before; from a click's or box's mask the pole's colour, static while the body
    runs, weighs much less in them (DIS smears the body's motion over the nearest pole pixels, so not nothing;
    measured: half the weight, and 1029 of the mask's 3600 pole pixels in the extent)."""
    video, body, pole = _dog_past_a_pole()
    segmenter = ClassicSegmenter()
    feat = segmenter._features(segmenter.init_state(video))
    rows = np.zeros((H, W), bool)
    rows[60:120] = True
    mask = body[0] | (pole & rows)
    _, bins = feat.frame(0)
    pole_bins = np.unique(bins[pole & ~mask])
    body_bins = np.unique(bins[body[0]])
    config = TrackConfig()
    user = ObjectModel.start(feat, 0, mask, config)
    click = ObjectModel.start(feat, 0, mask, config, partial=True)
    assert np.array_equal(user.extent, mask)
    assert click.fg.prob[pole_bins].sum() < 0.7 * user.fg.prob[pole_bins].sum()
    assert click.fg.prob[body_bins].sum() > user.fg.prob[body_bins].sum()
    assert (click.extent & pole).sum() < 0.5 * (mask & pole).sum()  # nor is it remembered as the object's extent


def test_a_still_click_mask_is_learned_whole():
    """Without motion nothing tells the subject from the background it holds: the mask is learned as it is."""
    video, body, pole = _dog_past_a_pole()
    still = Video.from_frames(np.stack([video.frames[0]] * 3), fps=10.0)
    segmenter = ClassicSegmenter()
    feat = segmenter._features(segmenter.init_state(still))
    mask = body[0] | pole
    config = TrackConfig()
    user = ObjectModel.start(feat, 0, mask, config)
    click = ObjectModel.start(feat, 0, mask, config, partial=True)
    assert np.allclose(click.fg.prob, user.fg.prob)
    assert np.array_equal(click.extent, user.extent)


def test_the_tracker_learns_a_prompt_as_partial_and_a_user_mask_as_whole(monkeypatch):
    """ClassicSegmenter tells ObjectModel.start which masks came from a click or box and which from add_mask."""
    video, body, _ = _dog_past_a_pole()
    seen = []
    start = ObjectModel.start.__func__

    def spy(cls, feat, t, mask, config, *, partial=False):
        seen.append(partial)
        return start(cls, feat, t, mask, config, partial=partial)

    monkeypatch.setattr(ObjectModel, "start", classmethod(spy))
    segmenter = ClassicSegmenter()
    state = segmenter.init_state(video)
    segmenter.add_prompt(state, 1, FramePrompt.from_points(0, [[210, 90]]))
    segmenter.add_mask(state, 2, 0, body[0])
    list(segmenter.propagate(state))
    assert sorted(seen) == [False, True]
