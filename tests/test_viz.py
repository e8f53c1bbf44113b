"""Tests for click2graph/viz: overlays, timeline, graph figure (small hand-built scene, see tests/builders.py)."""

from __future__ import annotations

import av
import numpy as np
import pytest
from builders import SIZE_WH, box_mask, make_entity, make_frames, make_graph

from click2graph.viz import (
    FRAME_MARKER_NAME,
    PALETTE_RGB,
    MaskOverlay,
    add_caption,
    entity_color,
    entity_names,
    graph_figure,
    mask_preview,
    render_frame,
    save_timeline_html,
    timeline_figure,
    to_hex,
    tracking_figure,
    write_overlay_video,
)
from click2graph.viz.colors import text_color_on

GREY = 120


def grey_frame(size_wh=SIZE_WH) -> np.ndarray:
    width, height = size_wh
    return np.full((height, width, 3), GREY, np.uint8)


def lanes_of(fig) -> list[str]:
    return list(fig.layout.yaxis.categoryarray or [])


def edge_labels(fig) -> dict[str, str]:
    """``{"edge 1->2": "holding<br>touching", ...}`` from the graph figure's label annotations."""
    return {a.name: a.text for a in fig.layout.annotations if a.name and a.name.startswith("edge ")}


def node_ids(fig) -> list[int]:
    nodes = [t for t in fig.data if t.name == "entities"]
    return list(nodes[0].customdata) if nodes else []


# -- colours and names ---------------------------------------------------------------------------------------


def test_entity_color_is_stable_and_from_the_palette():
    assert entity_color(2) == entity_color(2) == entity_color(2 + len(PALETTE_RGB))
    assert entity_color(1) != entity_color(2)
    assert all(entity_color(i) in PALETTE_RGB for i in range(-3, 20))
    assert to_hex((0, 114, 178)) == "#0072b2"


@pytest.mark.parametrize(
    "rgb, expected",
    [
        ((240, 228, 66), (0, 0, 0)),  # yellow: black text
        ((0, 114, 178), (255, 255, 255)),  # blue: white text
        ((0, 0, 0), (255, 255, 255)),
        ((255, 255, 255), (0, 0, 0)),
    ],
)
def test_text_color_on(rgb, expected):
    assert text_color_on(rgb) == expected


def test_entity_names_add_ids_only_when_labels_collide():
    assert entity_names(make_graph()) == {1: "person", 2: "ball #2", 3: "ball #3"}


# -- MaskOverlay.annotate ------------------------------------------------------------------------------------


def test_annotate_returns_a_new_frame_and_leaves_the_input_alone():
    frame = make_frames()[0]
    before = frame.copy()
    out = MaskOverlay().annotate(frame, [(2, "ball", box_mask(SIZE_WH, (50, 30, 62, 42)))])
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert out is not frame and not np.shares_memory(out, frame)
    np.testing.assert_array_equal(frame, before)
    assert not np.array_equal(out, frame)


def test_annotate_fills_inside_the_mask_and_nothing_outside():
    mask = box_mask(SIZE_WH, (40, 20, 80, 50))
    out = MaskOverlay(alpha=0.5, contour_px=2, show_labels=False).annotate(grey_frame(), [(3, "x", mask)])
    expected = np.rint(0.5 * GREY + 0.5 * np.array(entity_color(3))).astype(np.uint8)
    np.testing.assert_array_equal(out[35, 60], expected)  # inside, away from the contour
    interior = box_mask(SIZE_WH, (44, 24, 76, 46))
    assert np.all(out[interior] == expected)
    far_outside = ~box_mask(SIZE_WH, (36, 16, 84, 54))  # beyond the contour's reach
    assert np.all(out[far_outside] == GREY)


def test_annotate_label_tag_sits_above_the_mask_in_the_entity_colour():
    mask = box_mask(SIZE_WH, (30, 30, 70, 60))
    out = MaskOverlay(alpha=0.0, contour_px=0, font_size=10).annotate(grey_frame(), [(1, "ball", mask)])
    above = out[:30]
    assert np.any(np.all(above == entity_color(1), axis=-1))  # the tag's fill
    assert np.all(out[:, :10] == GREY)  # left of the tag and the mask: untouched


def test_annotate_keeps_tags_inside_the_frame_for_a_mask_at_the_top_edge():
    mask = box_mask(SIZE_WH, (0, 0, 20, 10))
    out = MaskOverlay(alpha=0.0, contour_px=0, font_size=12).annotate(grey_frame(), [(1, "a long label", mask)])
    assert np.any(np.all(out == entity_color(1), axis=-1))


def test_annotate_marks_subjects_with_a_dark_outline():
    mask = box_mask(SIZE_WH, (30, 20, 60, 50))
    overlay = MaskOverlay(show_labels=False)
    plain = overlay.annotate(grey_frame(), [(1, "s", mask, False)])
    subject = overlay.annotate(grey_frame(), [(1, "s", mask, True)])
    dark = lambda img: int(np.all(img < 40, axis=-1).sum())  # noqa: E731
    assert dark(subject) > dark(plain) == 0


@pytest.mark.parametrize(
    "frame, mask",
    [
        (np.zeros((64, 96, 3), np.float32), np.zeros((64, 96), bool)),  # float frame
        (np.zeros((64, 96), np.uint8), np.zeros((64, 96), bool)),  # grey frame
        (np.zeros((64, 96, 3), np.uint8), np.zeros((32, 48), bool)),  # mask of another size
    ],
)
def test_annotate_rejects_bad_input(frame, mask):
    with pytest.raises(ValueError):
        MaskOverlay().annotate(frame, [(1, "x", mask)])


@pytest.mark.parametrize("kwargs", [{"alpha": 1.5}, {"alpha": -0.1}, {"contour_px": -1}, {"font_size": 0}])
def test_mask_overlay_rejects_bad_style(kwargs):
    with pytest.raises(ValueError):
        MaskOverlay(**kwargs)


# -- render_frame, captions, video ---------------------------------------------------------------------------


def test_render_frame_draws_only_entities_present_at_that_frame():
    graph = make_graph()
    overlay = MaskOverlay(alpha=1.0, contour_px=0, show_labels=False)
    frame0 = render_frame(graph, grey_frame(), 0, overlay=overlay)
    assert tuple(frame0[30, 20]) == entity_color(1)  # person, present from frame 0
    assert np.all(frame0[31:41, 51:61] == GREY)  # ball #2 starts at frame 2
    frame3 = render_frame(graph, grey_frame(), 3, overlay=overlay, show_relations=False)
    assert tuple(frame3[35, 55]) == entity_color(2)


def test_render_frame_captions_the_relations_at_that_frame():
    graph = make_graph()
    overlay = MaskOverlay(alpha=0.0, contour_px=0, show_labels=False, font_size=8)
    with_caption = render_frame(graph, grey_frame(), 3, overlay=overlay)
    without = render_frame(graph, grey_frame(), 3, overlay=overlay, show_relations=False)
    changed_rows = np.flatnonzero(np.any(with_caption != without, axis=(1, 2)))
    assert changed_rows.size and changed_rows.min() > SIZE_WH[1] // 2 and changed_rows.max() == SIZE_WH[1] - 1
    # frame 0 has no relation, so no caption
    np.testing.assert_array_equal(render_frame(graph, grey_frame(), 0, overlay=overlay), grey_frame())


def test_add_caption_summarises_long_lists():
    frame = np.zeros((200, 300, 3), np.uint8)
    few = add_caption(frame, ["a b c"] * 4, font_size=12)
    many = add_caption(frame, ["a b c"] * 9, font_size=12)
    band_top = lambda img: np.flatnonzero(np.any(img > 0, axis=(1, 2))).min()  # noqa: E731
    assert band_top(few) == band_top(many)  # still four lines: three plus "+6 more"
    np.testing.assert_array_equal(add_caption(frame, []), frame)


def test_write_overlay_video_writes_h264_yuv420p_readable_by_pyav(tmp_path):
    graph, frames = make_graph(), make_frames()
    calls = []
    path = write_overlay_video(
        graph, frames, tmp_path / "sub" / "overlay.mp4", progress=lambda fraction, desc: calls.append(fraction)
    )
    assert path.is_file()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(decoded) == len(frames)
    assert decoded[0].shape == frames[0].shape
    assert calls[-1] == pytest.approx(1.0) and len(calls) == len(frames)
    # the download keeps x264's macroblock tree (a third smaller), which the writer's reproducible default turns off
    assert b" mbtree=1 " in path.read_bytes().split(b"x264 - core", 1)[1][:2000]


def test_write_overlay_video_rejects_the_wrong_number_of_frames(tmp_path):
    with pytest.raises(ValueError, match="10 working frames but 4"):
        write_overlay_video(make_graph(), make_frames(num_frames=4), tmp_path / "x.mp4")


# -- mask_preview --------------------------------------------------------------------------------------------


def test_mask_preview_draws_mask_clicks_and_box_on_a_copy():
    frame = grey_frame()
    mask = box_mask(SIZE_WH, (20, 20, 50, 50))
    out = mask_preview(frame, mask, points_xy=[(30, 30), (80, 10)], labels=[1, 0], box_xyxy=(15, 15, 55, 55))
    assert np.all(frame == GREY)
    r, g, b = (int(c) for c in out[30, 30])
    assert g > 150 and r < 100 and b < 100  # positive click: green
    r, g, b = (int(c) for c in out[10, 80])
    assert r > 150 and g < 100 and b < 100  # negative click: red
    assert tuple(out[15, 35]) == (255, 255, 255)  # box edge
    assert not np.array_equal(out[40, 45], frame[40, 45])  # mask fill


def test_mask_preview_without_mask_and_with_default_labels():
    out = mask_preview(grey_frame(), None, points_xy=np.array([[10.0, 10.0]]))
    assert int(out[10, 10, 1]) > 150
    assert np.all(out[40:, 40:] == GREY)


def test_mask_preview_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="2 points but 1 labels"):
        mask_preview(grey_frame(), None, points_xy=[(1, 1), (2, 2)], labels=[1])


# -- colour consistency --------------------------------------------------------------------------------------


def test_an_entity_has_the_same_colour_in_overlay_timeline_and_graph():
    graph = make_graph()
    overlay = MaskOverlay(alpha=1.0, contour_px=0, show_labels=False)
    frame = render_frame(graph, grey_frame(), 3, overlay=overlay, show_relations=False)
    assert to_hex(tuple(int(c) for c in frame[35, 55])) == to_hex(entity_color(2))
    ball_bars = [t for t in timeline_figure(graph).data if t.legendgroup == "entity-2"]
    assert ball_bars and {t.marker.color for t in ball_bars} == {to_hex(entity_color(2))}
    nodes = [t for t in graph_figure(graph).data if t.name == "entities"][0]
    colors = dict(zip(nodes.customdata, nodes.marker.color))
    assert colors == {i: to_hex(entity_color(i)) for i in (1, 2, 3)}


# -- timeline ------------------------------------------------------------------------------------------------


def test_timeline_has_one_lane_per_relation_with_readable_names():
    fig = timeline_figure(make_graph())
    assert lanes_of(fig) == [
        "person \u2014holding\u2192 ball #2",
        "person \u2014touching\u2192 ball #2",
        "person \u2014looking at\u2192 ball #3",
    ]
    assert len(fig.data) == 3
    assert {y for trace in fig.data for y in trace.y} == set(lanes_of(fig))
    assert fig.layout.barmode == "overlay"


def test_timeline_bars_cover_the_inclusive_spans():
    graph = make_graph(relations=[(1, 2, "holding", [(0, 1), (5, 8)])])
    (trace,) = timeline_figure(graph).data
    covered = [(base, base + width) for base, width in zip(trace.base, trace.x)]
    assert covered == [(-0.5, 1.5), (4.5, 8.5)]  # frames 0-1 and 5-8, each frame fully inside


def test_timeline_hover_gives_frames_seconds_original_frames_score_and_sources():
    fig = timeline_figure(make_graph())
    holding = fig.data[0].hovertext[0]
    for part in [
        "person \u2014holding\u2192 ball #2",
        "frames 2\u20134",
        "0.20\u20130.40 s",
        "original frames 4\u20138",
        "score 0.90",
        "mean in this span 0.90",
        "geometric",
    ]:
        assert part in holding


def test_timeline_x_axis_spans_the_working_frames():
    assert list(timeline_figure(make_graph()).layout.xaxis.range) == [-0.5, 9.5]


def test_timeline_frame_marker_only_when_asked():
    assert not timeline_figure(make_graph()).layout.shapes
    shapes = timeline_figure(make_graph(), frame_idx=4).layout.shapes
    markers = [s for s in shapes if s.name == FRAME_MARKER_NAME]
    assert len(markers) == 1 and markers[0].x0 == markers[0].x1 == 4


@pytest.mark.parametrize(
    "graph",
    [
        make_graph(entities=[], relations=[]),  # nothing at all
        make_graph(relations=[]),  # entities but no relation
        make_graph(entities=[], relations=[], num_frames=0),  # no frames
    ],
)
@pytest.mark.parametrize("frame_idx", [None, 0])
def test_timeline_of_a_graph_without_relations_says_so(graph, frame_idx):
    fig = timeline_figure(graph, frame_idx)
    assert len(fig.data) == 0
    assert any("No relations found" in a.text for a in fig.layout.annotations)


def test_save_timeline_html_is_self_contained(tmp_path):
    path = save_timeline_html(make_graph(), tmp_path / "out" / "timeline.html")
    text = path.read_text(encoding="utf-8")
    assert '<script src="http' not in text and "plotly.js v" in text  # plotly.js inlined, no CDN
    assert "person \u2014holding\u2192 ball #2" in text and "person \u2014looking at\u2192 ball #3" in text


# -- graph figure --------------------------------------------------------------------------------------------


def test_graph_figure_of_the_whole_graph_joins_predicates_of_a_pair():
    fig = graph_figure(make_graph())
    assert node_ids(fig) == [1, 2, 3]
    assert edge_labels(fig) == {"edge 1->2": "holding<br>touching", "edge 1->3": "looking at"}
    assert len([a for a in fig.layout.annotations if a.showarrow]) == 2


@pytest.mark.parametrize(
    "frame_idx, nodes, edges",
    [
        (0, [1], {}),  # balls not there yet
        (3, [1, 2], {"edge 1->2": "holding<br>touching"}),  # ball #3 appears at 5
        (5, [1, 2, 3], {"edge 1->2": "touching"}),  # holding ended at 4, looking at starts at 6
        (8, [1, 3], {"edge 1->3": "looking at"}),  # ball #2 gone after 7
    ],
)
def test_graph_figure_at_a_frame_shows_only_what_is_there(frame_idx, nodes, edges):
    fig = graph_figure(make_graph(), frame_idx)
    assert node_ids(fig) == nodes
    assert edge_labels(fig) == edges


def test_graph_figure_layout_is_deterministic_and_stable_over_frames():
    graph = make_graph()
    whole = [t for t in graph_figure(graph).data if t.name == "entities"][0]
    at_8 = [t for t in graph_figure(graph, 8).data if t.name == "entities"][0]
    pos_whole = dict(zip(whole.customdata, zip(whole.x, whole.y)))
    pos_8 = dict(zip(at_8.customdata, zip(at_8.x, at_8.y)))
    assert pos_whole[1] == (0.0, 0.0)  # the subject is in the centre
    assert pos_8 == {i: pos_whole[i] for i in (1, 3)}
    assert graph_figure(graph, 3).to_json() == graph_figure(graph, 3).to_json()


def test_graph_figure_separates_labels_of_opposite_edges():
    graph = make_graph(relations=[(1, 2, "holding", [(2, 4)]), (2, 1, "near", [(2, 4)])])
    labels = {a.name: (a.x, a.y) for a in graph_figure(graph, 3).layout.annotations if a.name.startswith("edge")}
    assert set(labels) == {"edge 1->2", "edge 2->1"} and labels["edge 1->2"] != labels["edge 2->1"]


@pytest.mark.parametrize(
    "graph, frame_idx, note",
    [
        (make_graph(entities=[], relations=[]), None, "Empty scene graph"),
        (make_graph(entities=[], relations=[]), 0, "No entities at frame 0"),
        (
            make_graph(entities=[make_entity(1, "person", (0, 0, 5, 5), [4], is_subject=True)], relations=[]),
            0,
            "No entities at frame 0",
        ),
    ],
)
def test_graph_figure_with_nothing_to_show_says_so(graph, frame_idx, note):
    fig = graph_figure(graph, frame_idx)
    assert len(fig.data) == 0
    assert [a.text for a in fig.layout.annotations] == [note]


def test_tracking_timeline_has_one_lane_per_entity_tracked_so_far():
    fig = tracking_figure(
        [(1, "subject 1", [(0, 4)]), (3, "#3", [(2, 2), (6, 7)])], num_frames=10, fps=5.0, frame_idx=4
    )
    assert lanes_of(fig) == ["subject 1", "#3"] and list(fig.layout.xaxis.range) == [-0.5, 9.5]
    assert list(fig.data[1].base) == [1.5, 5.5] and list(fig.data[1].x) == [1, 2]  # spans are inclusive
    assert fig.data[1].marker.color == to_hex(entity_color(3))
    assert [s.x0 for s in fig.layout.shapes if s.name == FRAME_MARKER_NAME] == [4]
    empty = tracking_figure([], num_frames=10, fps=5.0)
    assert any("Nothing tracked yet" in a.text for a in empty.layout.annotations)
