"""The classic tracker's two-frame graph cut (:func:`~click2graph.segment.classic_energy.two_frame_cut`)."""

from __future__ import annotations

import numpy as np

from click2graph.segment.classic_energy import graph_cut, two_frame_cut

H, W = 20, 24


def _layers():
    """Frame t: the left half leans weakly to background (0.1 nats a pixel), the right half strongly (3 nats);
    frame t+1: everything is clearly foreground (3 nats). Flat grey crops (no contrast anywhere)."""
    rgb = np.full((H, W, 3), 128, np.uint8)
    fg0 = np.full((H, W), 0.1, np.float32)
    fg0[:, W // 2 :] = 3.0
    first = (rgb, fg0, np.zeros((H, W), np.float32))
    second = (rgb, np.zeros((H, W), np.float32), np.full((H, W), 3.0, np.float32))
    return first, second


def _identity_link() -> np.ndarray:
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    return np.stack([xs, ys], axis=-1)


def test_the_next_frame_decides_where_this_frames_evidence_is_weak():
    first, second = _layers()
    cut0, cut1 = two_frame_cut(first, second, _identity_link(), smoothness=1.0, link_weight=1.0)
    assert cut1.all()
    assert cut0[:, : W // 2 - 1].all()  # weak evidence: joined to the next frame's foreground
    assert not cut0[:, W // 2 + 1 :].any()  # strong evidence (3 nats) outweighs a temporal edge (1 nat)
    # Downscaled to a budget of both layers together, the same decision.
    small0, small1 = two_frame_cut(first, second, _identity_link(), smoothness=1.0, link_weight=1.0, max_pixels=300)
    assert small0.shape == (H, W) and small1.all()
    assert small0[:, : W // 2 - 2].all() and not small0[:, W // 2 + 2 :].any()


def test_without_links_each_frame_is_cut_alone():
    first, second = _layers()
    none = np.full((H, W, 2), np.nan, np.float32)
    cut0, cut1 = two_frame_cut(first, second, none, smoothness=1.0, link_weight=1.0)
    assert np.array_equal(cut0, graph_cut(*first, smoothness=1.0)) and not cut0.any()
    assert np.array_equal(cut1, graph_cut(*second, smoothness=1.0))
    # Links that land outside the next crop are dropped too.
    off = _identity_link() + np.float32(100.0)
    assert not two_frame_cut(first, second, off, smoothness=1.0, link_weight=1.0)[0].any()


def test_links_across_a_colour_change_are_weak():
    """A temporal edge's weight falls with the colour difference along the flow, like a spatial edge's."""
    first, second = _layers()
    rgb0 = first[0].copy()
    rgb0[:, :4] = 0  # a strip whose colour changes completely between the frames
    rgb0[:, 4:8] = 255
    cut0, _ = two_frame_cut((rgb0, *first[1:]), second, _identity_link(), smoothness=1.0, link_weight=1.0)
    assert cut0[:, 10].all() and not cut0[:, 0].any()
