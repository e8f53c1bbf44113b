"""The weight-free vision primitives in click2graph/cv on tiny hand-made images."""

from __future__ import annotations

import cv2
import numpy as np

from click2graph.cv.colour import colour_histogram, colour_rarity, lab_codes
from click2graph.cv.flow import FlowCache, affine_motion, dense_flow, motion_residual_px, warp_errors
from click2graph.cv.geodesic import STEP_COST, GeodesicDistance
from click2graph.cv.grabcut import grabcut
from click2graph.cv.guided import guided_filter
from click2graph.cv.objectness import mask_objectness


def test_lab_codes_quantise_each_channel_in_order():
    lab = np.array([[0, 0, 0], [31, 32, 255], [255, 255, 255]], np.uint8)
    assert lab_codes(lab, 8).tolist() == [0, 0 * 64 + 1 * 8 + 7, 511]
    q = lab.astype(np.int32) >> 4
    assert lab_codes(lab, 16).tolist() == ((q[:, 0] * 16 + q[:, 1]) * 16 + q[:, 2]).tolist()


def test_colour_histogram_is_normalised_and_a_prior_fills_unseen_colours():
    codes = np.array([0, 0, 5])
    hist = colour_histogram(codes, 2)
    assert hist.shape == (8,) and hist[0] == 2 / 3 and hist[5] == 1 / 3 and hist.sum() == 1.0
    smoothed = colour_histogram(codes, 2, prior=0.5)
    assert (smoothed > 0).all() and np.isclose(smoothed.sum(), 1.0)
    assert not colour_histogram(np.zeros(0, np.int64), 2).any()


def test_colour_rarity_is_relative_to_the_most_common_colour():
    reference = np.array([0] * 8 + [1] * 2 + [2])
    codes = np.array([0, 1, 2, 3])
    assert np.allclose(colour_rarity(codes, reference, 2), [0.0, 0.75, 0.875, 1.0])
    assert np.allclose(colour_rarity(codes, reference, 2, gain=4.0), [0.0, 0.0, 0.5, 1.0])  # a quarter: common
    assert np.array_equal(colour_rarity(codes, reference, 2, normalised=False), colour_rarity(codes, reference, 2))
    assert (colour_rarity(codes, reference[:0], 2) == 1.0).all()  # nothing to compare with: all rare


def test_flow_is_computed_once_per_pair_and_follows_a_shift():
    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8), (7, 7), 2)
    frames = np.stack([frame, np.roll(frame, 2, axis=1)])
    cache = FlowCache(frames, capacity=1)
    flow = cache.get(0, 1)
    assert cache.get(0, 1) is flow and cache.computed == 1
    assert abs(float(np.median(flow[16:48, 16:80, 0])) - 2.0) < 0.5
    cache.get(1, 0)
    cache.get(0, 1)  # evicted by the pair before (capacity 1): computed again
    assert cache.computed == 3


def test_cached_flows_are_dense_flow_whatever_order_the_pairs_come_in():
    """The cache reuses each frame's downscaled grey copy across pairs: a copy keyed or evicted wrongly would give
    another pair's flow."""
    rng = np.random.default_rng(1)
    frame = cv2.GaussianBlur(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8), (7, 7), 2)
    frames = np.stack([np.roll(frame, (t % 3, 2 * t), axis=(0, 1)) for t in range(7)])
    cache = FlowCache(frames, capacity=2)
    for a, b in [(0, 1), (1, 0), (1, 2), (2, 1), (5, 6), (0, 6), (3, 2), (6, 5), (0, 1), (4, 0)]:
        assert np.array_equal(cache.get(a, b), dense_flow(frames[a], frames[b])), (a, b)


def test_grabcut_is_reproducible_and_objectness_prefers_the_whole_object():
    image = np.full((60, 60, 3), 40, np.uint8)
    image[20:40, 20:40] = (200, 30, 30)
    labels = np.full((60, 60), cv2.GC_BGD, np.uint8)
    labels[10:50, 10:50] = cv2.GC_PR_FGD
    first, second = labels.copy(), labels.copy()
    assert grabcut(image, first, 3)
    cv2.randu(np.zeros(10, np.float32), 0, 1)  # the global RNG moves on between the two calls
    assert grabcut(image, second, 3) and np.array_equal(first, second)
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    whole = np.zeros((60, 60), bool)
    whole[20:40, 20:40] = True
    half = whole.copy()
    half[:, 30:] = False
    window = (0, 0, 30, 60)  # its right edge cuts the object in half
    assert mask_objectness(lab, whole, (0, 0, 60, 60)) > mask_objectness(lab, half, window)
    assert not grabcut(image, np.full((60, 60), cv2.GC_BGD, np.uint8), 3)  # no foreground samples


def test_affine_motion_fits_a_camera_zoom_and_measures_what_moves_otherwise():
    """A zoom about the frame centre plus a pan is an affine field: the fit over the 'background' predicts it
    everywhere (residual ~0), while a region moving 3 px/frame on its own departs from it by 3 px/frame."""
    h, w = 60, 80
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    flow = np.stack([0.05 * (xs - 40) + 2.0, 0.05 * (ys - 30) - 1.0], axis=-1)
    mover = np.zeros((h, w), bool)
    mover[10:20, 10:25] = True
    flow[mover] += (3.0, 0.0)
    model = affine_motion(flow, ~mover)
    assert model is not None
    assert motion_residual_px(flow, ~mover, model) < 0.01
    assert abs(motion_residual_px(flow, mover, model) - 3.0) < 0.01
    assert affine_motion(flow, np.zeros((h, w), bool)) is None  # nothing to fit


def test_the_guided_filter_averages_where_the_guide_is_flat_and_follows_its_edges():
    rng = np.random.default_rng(0)
    src = rng.random((40, 60)).astype(np.float32)
    flat = guided_filter(np.full((40, 60), 0.5, np.float32), src, 2, 1e-3)
    twice = cv2.boxFilter(
        cv2.boxFilter(src, -1, (5, 5), borderType=cv2.BORDER_REFLECT), -1, (5, 5), borderType=cv2.BORDER_REFLECT
    )
    assert np.allclose(flat, twice, atol=1e-5)
    # a guide with an edge at column 30, a soft mask whose half-way line lies 2 px to its left (column 28)
    guide = np.zeros((40, 60), np.float32)
    guide[:, 30:] = 1.0
    soft = np.clip((np.arange(60, dtype=np.float32) - 24.0) / 8.0, 0.0, 1.0)[None].repeat(40, axis=0)
    assert (soft > 0.5).argmax(axis=1).tolist() == [29] * 40
    snapped = guided_filter(guide, soft, 3, 1e-3) > 0.5
    assert snapped.argmax(axis=1).tolist() == [30] * 40 and snapped[:, 30:].all()


def test_geodesic_distance_grows_by_steps_on_a_flat_area_and_jumps_at_a_colour_edge():
    rgb = np.zeros((20, 40, 3), np.uint8)
    rgb[:, :20] = (200, 40, 40)
    rgb[:, 20:] = (40, 40, 200)
    distance = GeodesicDistance(rgb)
    seed = np.zeros((20, 40), bool)
    seed[10, 5] = True
    d = distance.from_seeds(seed)
    assert d[10, 5] == 0.0
    assert abs(d[10, 12] - 7 * STEP_COST) < 1e-3 and abs(d[14, 5] - 4 * STEP_COST) < 1e-3  # 4-neighbour steps
    assert d[10, 25] - d[10, 15] > 10 * (10 * STEP_COST)  # crossing the red/blue edge costs more than ten steps
    assert np.isinf(distance.from_seeds(np.zeros((20, 40), bool))).all()


def test_the_pixels_geodesically_nearer_a_seed_stop_at_the_colour_edge_not_halfway_between_seeds():
    """A seed just left of a red/blue edge and one far to its right: the split follows the edge (a straight-line
    split would give the seed on the right most of the red half too)."""
    rgb = np.zeros((20, 60, 3), np.uint8)
    rgb[:, :30] = (200, 40, 40)
    rgb[:, 30:] = (40, 40, 200)
    rgb = cv2.add(rgb, np.random.default_rng(0).integers(0, 6, rgb.shape, dtype=np.uint8))  # mild noise
    distance = GeodesicDistance(rgb)
    fg, bg = np.zeros((2, 20, 60), bool)
    fg[10, 27] = True
    bg[10, 58] = True
    nearer = distance.from_seeds(fg) < distance.from_seeds(bg)
    assert nearer[:, :30].all() and not nearer[:, 30:].any()


def test_warp_errors_tell_a_still_textured_patch_from_one_the_flow_moves_rightly():
    """A flow of 3 px/frame over a still textured frame misplaces its texture (no motion explains it); over the
    frame shifted by 3 px it explains it, and no motion does not."""
    rng = np.random.default_rng(3)
    first = cv2.GaussianBlur(rng.integers(0, 255, (40, 50, 3)).astype(np.uint8), (3, 3), 0)
    flow = np.zeros((40, 50, 2), np.float32)
    flow[..., 0] = 3.0
    unmoved, moved = warp_errors(first, first, flow)
    assert np.median(unmoved) == 0.0 and np.median(moved) > 5.0
    unmoved, moved = warp_errors(first, np.ascontiguousarray(np.roll(first, 3, axis=1)), flow)
    inner = (slice(None), slice(4, 44))  # away from the roll's wrapped columns
    assert np.median(moved[inner]) == 0.0 and np.median(unmoved[inner]) > 5.0
