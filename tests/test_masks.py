"""click2graph.masks: RLE round trip and small geometric helpers, on hand-checkable masks."""

from __future__ import annotations

import numpy as np
import pytest

from click2graph.masks import (
    bbox_xyxy,
    border_fraction,
    centroid_xy,
    deepest_pixel,
    depth,
    dilate,
    largest_component,
    mask_iou,
    resize_mask,
    rle_area,
    rle_decode,
    rle_encode,
    rle_intersection_area,
)


def box_mask(x0, y0, x1, y1, shape=(10, 12)):
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


@pytest.mark.parametrize("mask", [box_mask(2, 3, 7, 8), np.zeros((5, 4), bool), np.ones((3, 3), bool)])
def test_rle_round_trip_is_exact_and_json_friendly(mask):
    rle = rle_encode(mask)
    assert isinstance(rle["counts"], str) and rle["size"] == list(mask.shape)
    np.testing.assert_array_equal(rle_decode(rle), mask)
    assert rle_area(rle) == mask.sum()


def test_the_intersection_of_two_rles_is_counted_without_decoding():
    a, b = box_mask(0, 0, 4, 4), box_mask(2, 1, 6, 4)
    assert rle_intersection_area(rle_encode(a), rle_encode(b)) == (a & b).sum() == 6
    assert rle_intersection_area(rle_encode(a), rle_encode(box_mask(8, 8, 10, 10))) == 0


@pytest.mark.parametrize(
    "a, b, expected",
    [
        (box_mask(0, 0, 4, 4), box_mask(0, 0, 4, 4), 1.0),  # identical
        (box_mask(0, 0, 4, 4), box_mask(2, 0, 6, 4), 8 / 24),  # half overlap: 8 / (16 + 16 - 8)
        (box_mask(0, 0, 2, 2), box_mask(5, 5, 7, 7), 0.0),  # disjoint
        (np.zeros((10, 12), bool), np.zeros((10, 12), bool), 0.0),  # both empty: defined as 0
    ],
)
def test_mask_iou(a, b, expected):
    assert mask_iou(a, b) == pytest.approx(expected)


def test_bbox_and_centroid():
    m = box_mask(2, 3, 7, 8)
    assert bbox_xyxy(m) == (2, 3, 6, 7)  # inclusive
    assert centroid_xy(m) == (4.0, 5.0)
    assert bbox_xyxy(np.zeros((3, 3), bool)) is None and centroid_xy(np.zeros((3, 3), bool)) is None


def test_border_fraction_is_the_share_of_the_box_perimeter_on_the_frame_border():
    frame = np.zeros((20, 30), bool)
    assert border_fraction(frame) == 0.0
    inside = frame.copy()
    inside[5:10, 5:10] = True
    assert border_fraction(inside) == 0.0
    corner = frame.copy()
    corner[:5, 20:] = True  # 10 wide, 5 high at the top-right corner: 10 + 5 of its 30 px of box perimeter
    assert border_fraction(corner) == pytest.approx(15 / 30)


def test_dilate_resize_and_components():
    m = np.zeros((9, 9), bool)
    m[4, 4] = True
    assert dilate(m, 1).sum() == 5  # OpenCV's 3x3 ellipse is a cross
    assert dilate(m, 0).sum() == 1
    assert resize_mask(box_mask(0, 0, 6, 5, shape=(5, 6)), (6, 5)).sum() == 30  # same size: unchanged
    assert resize_mask(box_mask(0, 0, 6, 5, shape=(10, 12)), (24, 20)).sum() == 120
    two = box_mask(0, 0, 2, 2) | box_mask(5, 5, 9, 9)
    assert largest_component(two).sum() == 16
    assert largest_component(two, containing_xy=(1, 1)).sum() == 4
    assert not largest_component(np.zeros((4, 4), bool)).any()


def test_rle_encode_refuses_a_stack_of_masks():
    with pytest.raises(ValueError, match="2D"):
        rle_encode(np.zeros((2, 4, 5), bool))


def test_large_dilation_is_the_euclidean_disc():
    """Past radius 8 a distance transform replaces the kernel: a point grows into every pixel within the radius,
    boundary included (317 lattice points have x^2 + y^2 <= 100; 305 without the 12 at distance exactly 10)."""
    m = np.zeros((41, 41), bool)
    m[20, 20] = True
    assert dilate(m, 10).sum() == 317
    out = dilate(m, 0)
    assert out is not m and np.array_equal(out, m)


def test_largest_component_with_a_point_on_the_border_or_outside():
    two = box_mask(0, 0, 2, 2) | box_mask(5, 5, 9, 9)  # a small one in the top-left corner, a large one
    assert largest_component(two, containing_xy=(0, 0)).sum() == 4  # row and column 0 are inside the frame
    for outside in [(12, 3), (3, 10), (-1, 0)]:  # x == width, y == height, x < 0: the largest instead
        assert largest_component(two, containing_xy=outside).sum() == 16
    assert largest_component(two, containing_xy=(3, 3)).sum() == 16  # on background: the largest too


def test_largest_component_of_a_single_region_is_that_region():
    one = box_mask(2, 3, 7, 8)
    np.testing.assert_array_equal(largest_component(one), one)


def test_the_deepest_pixel_of_a_mask_running_off_the_frame_lies_inside_it_not_on_the_border():
    """A subject filling the frame's bottom-right corner (a motorbike rushing past the camera): its deepest pixel is
    the centre of the part in view, as far from the frame's border as from its own edge, not the corner pixel
    (a distance transform that ignores the border puts it there)."""
    mask = np.zeros((100, 160), bool)
    mask[40:, 80:] = True  # 60 x 80 in view, running off the bottom and right
    x, y = deepest_pixel(mask)
    assert 100 <= x <= 140 and 60 <= y <= 80
    assert depth(mask)[y, x] == pytest.approx(30, abs=1.5)
    assert depth(mask)[99, 159] <= 1.5  # the corner is as shallow as an edge
    square = np.zeros((50, 50), bool)
    square[10:41, 10:41] = True
    assert deepest_pixel(square) == (25, 25)


def test_working_masks_go_to_the_original_frame_and_back_across_black_bars():
    """A 40x24 working mask of a picture that lies at (30, 12) of a 150x60 original frame at twice the size: at the
    original size it fills the picture's area only (pixels repeated 2x2), and comes back unchanged."""
    from click2graph.masks import to_original_size, to_working_size

    rng = np.random.default_rng(3)
    work = rng.random((24, 40)) > 0.5
    region = (30.0, 12.0, 80.0, 48.0)
    original = to_original_size(work, (150, 60), region)
    assert original.shape == (60, 150) and original.sum() == 4 * work.sum()
    np.testing.assert_array_equal(original[12:60, 30:110], np.repeat(np.repeat(work, 2, axis=0), 2, axis=1))
    np.testing.assert_array_equal(to_working_size(original, (40, 24), region), work)
    np.testing.assert_array_equal(to_working_size(to_original_size(work, (80, 48)), (40, 24)), work)
