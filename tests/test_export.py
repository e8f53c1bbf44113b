"""Exports other tools read: COCO masks checked with pycocotools' own decoder and COCO API, not with ours.

The clip is non-square and its working size differs from the original by a different integer factor per axis
(x3 across, x2 down), so nearest-neighbour upsampling is plain pixel repetition the test computes by itself, and
a swapped width/height, a transposed RLE or a box in the wrong order cannot agree with it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from builders import make_graph
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO

from click2graph.export import EXPORT_FILES, export_all, masks_to_coco
from click2graph.graph import Entity, SceneGraph
from click2graph.masks import rle_encode
from click2graph.video import Video

WORK_WH = (40, 24)
SCALE_XY = (3, 2)
ORIG_WH = (WORK_WH[0] * SCALE_XY[0], WORK_WH[1] * SCALE_XY[1])
NUM_FRAMES = 4
FRAME_STEP = 3


def _shape(frame: int, kind: str) -> np.ndarray:
    """An asymmetric working-size mask that moves with ``frame``: a right triangle or an L."""
    w, h = WORK_WH
    mask = np.zeros((h, w), bool)
    if kind == "triangle":
        for row in range(10):
            mask[2 + row, 3 + frame : 3 + frame + row + 1] = True
    else:
        mask[12:22, 20 + frame : 23 + frame] = True
        mask[19:22, 20 + frame : 34 + frame] = True
    return mask


@pytest.fixture
def graph() -> SceneGraph:
    """Two entities with different labels; the second is absent on frame 0 (an empty mask there)."""
    masks_a = {t: rle_encode(_shape(t, "triangle")) for t in range(NUM_FRAMES)}
    masks_b = {t: rle_encode(_shape(t, "ell") if t else np.zeros(WORK_WH[::-1], bool)) for t in range(NUM_FRAMES)}
    graph = make_graph(
        [Entity(1, "person", is_subject=True, masks=masks_a), Entity(4, "ball", masks=masks_b)],
        [],
        num_frames=NUM_FRAMES,
        size_wh=WORK_WH,
        frame_step=FRAME_STEP,
    )
    graph.video.width, graph.video.height = ORIG_WH
    return graph


def _upsample(mask: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(mask, SCALE_XY[1], axis=0), SCALE_XY[0], axis=1)


def _expected(graph: SceneGraph) -> dict[tuple[int, int], np.ndarray]:
    """(entity id, working frame) -> the original-size mask, for every non-empty entity mask."""
    out = {}
    for kind, entity_id in (("triangle", 1), ("ell", 4)):
        for t in range(NUM_FRAMES):
            if entity_id == 4 and t == 0:
                continue
            out[(entity_id, t)] = _upsample(_shape(t, kind))
    return out


def _coco_bbox(mask: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]


def test_every_annotation_decodes_to_the_entity_mask_at_the_original_size(graph):
    coco = masks_to_coco(graph)
    expected = _expected(graph)
    width, height = ORIG_WH
    assert [(im["id"], im["frame_idx_orig"], im["width"], im["height"]) for im in coco["images"]] == [
        (t, t * FRAME_STEP, width, height) for t in range(NUM_FRAMES)
    ]
    names = {c["id"]: c["name"] for c in coco["categories"]}
    assert sorted(names.values()) == ["ball", "person"] and sorted(names) == [1, 2]  # COCO keeps 0 for background
    found = {}
    for ann in coco["annotations"]:
        rle = ann["segmentation"]
        assert rle["size"] == [height, width]
        decoded = coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()}).astype(bool)
        key = (ann["entity_id"], ann["image_id"])
        found[key] = decoded
        np.testing.assert_array_equal(decoded, expected[key], err_msg=str(key))
        assert ann["bbox"] == _coco_bbox(expected[key])
        assert ann["area"] == int(expected[key].sum())
        assert names[ann["category_id"]] == {1: "person", 4: "ball"}[ann["entity_id"]]
        assert ann["track_id"] == ann["entity_id"] and ann["iscrowd"] == 0
    assert found.keys() == expected.keys()  # one per (entity, frame it appears on); none for the empty mask
    assert [ann["id"] for ann in coco["annotations"]] == list(range(1, len(expected) + 1))  # COCO ids start at 1


def test_working_size_export_keeps_the_stored_masks(graph):
    coco = masks_to_coco(graph, original_size=False)
    assert {(im["width"], im["height"]) for im in coco["images"]} == {WORK_WH}
    for ann in coco["annotations"]:
        kind = "triangle" if ann["entity_id"] == 1 else "ell"
        decoded = coco_mask.decode({**ann["segmentation"], "counts": ann["segmentation"]["counts"].encode()})
        np.testing.assert_array_equal(decoded.astype(bool), _shape(ann["image_id"], kind))


def test_exported_files_load_in_pycocotools_coco_api_and_back_as_a_graph(graph, tmp_path):
    frames = np.zeros((NUM_FRAMES, WORK_WH[1], WORK_WH[0], 3), np.uint8)
    reports = []
    paths = export_all(
        graph,
        Video.from_frames(frames, fps=10.0),
        tmp_path / "new" / "out",
        overlay_video=False,
        progress=lambda f, d: reports.append(f),
    )
    assert reports == sorted(reports) and reports[-1] == 1.0
    assert {k: p.name for k, p in paths.items()} == {k: v for k, v in EXPORT_FILES.items() if k != "video"}
    api = COCO(str(paths["masks"]))
    expected = _expected(graph)
    assert len(api.getAnnIds()) == len(expected)
    for ann in api.loadAnns(api.getAnnIds()):
        np.testing.assert_array_equal(api.annToMask(ann).astype(bool), expected[(ann["entity_id"], ann["image_id"])])
    assert api.getAnnIds(imgIds=[0]) and len(api.getAnnIds(imgIds=[0])) == 1  # the ball is absent on frame 0

    data = json.loads(paths["graph"].read_text())
    assert data["click2graph"]["video"]["frame_indices_orig"] == [t * FRAME_STEP for t in range(NUM_FRAMES)]
    assert (data["width"], data["height"]) == WORK_WH  # OpenPVSG keys describe the frames the masks are on
    again = SceneGraph.load_json(paths["graph"])
    for entity in again.entities:
        kind = "triangle" if entity.entity_id == 1 else "ell"
        for t in entity.frames:
            np.testing.assert_array_equal(entity.mask(t), _shape(t, kind))
    assert "<html" in paths["timeline"].read_text().lower()


def test_export_all_writes_the_overlay_by_default_and_reports_progress(graph, tmp_path):
    av = pytest.importorskip("av")
    frames = np.full((NUM_FRAMES, WORK_WH[1], WORK_WH[0], 3), 90, np.uint8)
    reports = []
    paths = export_all(graph, Video.from_frames(frames, fps=10.0), tmp_path, progress=lambda f, d: reports.append(f))
    assert paths.keys() == EXPORT_FILES.keys() and paths["video"].name == EXPORT_FILES["video"]
    with av.open(str(paths["video"])) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(decoded) == NUM_FRAMES and decoded[0].shape == (WORK_WH[1], WORK_WH[0], 3)
    assert reports and reports == sorted(reports) and reports[0] < 1.0 and reports[-1] == 1.0


def test_masks_of_a_clip_whose_black_bars_were_left_out_go_back_inside_the_bars(graph, tmp_path):
    """The working frames show the picture alone (bars of 10 px above and 30 px left of it were left out): the
    original-size masks are the working masks scaled to the picture's area, placed at its offset, empty over the
    bars; the region survives the graph's JSON."""
    width, height = ORIG_WH
    graph.video.width, graph.video.height = width + 30, height + 10
    graph.video.region = [30.0, 10.0, float(width), float(height)]
    coco = masks_to_coco(graph)
    expected = _expected(graph)
    for ann in coco["annotations"]:
        rle = ann["segmentation"]
        assert rle["size"] == [height + 10, width + 30]
        decoded = coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()}).astype(bool)
        assert not decoded[:10].any() and not decoded[:, :30].any()
        np.testing.assert_array_equal(decoded[10:, 30:], expected[(ann["entity_id"], ann["image_id"])])
    assert graph.video.to_original_xy(0, 0) == (30.0, 10.0)
    assert graph.video.to_original_xy(*WORK_WH) == (width + 30.0, height + 10.0)
    reloaded = SceneGraph.load_json(graph.save_json(tmp_path / "graph.json"))
    assert reloaded.video.region == graph.video.region
