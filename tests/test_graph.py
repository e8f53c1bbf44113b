"""click2graph.graph: the SceneGraph data model, its JSON round trip and networkx view."""

from __future__ import annotations

import json

import numpy as np
import pytest

from click2graph.graph import Entity, Relation, SceneGraph, VideoMeta, spans_from_frames
from click2graph.masks import rle_decode, rle_encode


def square(x0, y0, size=4, shape=(20, 30)):
    m = np.zeros(shape, bool)
    m[y0 : y0 + size, x0 : x0 + size] = True
    return rle_encode(m)


def small_graph() -> SceneGraph:
    meta = VideoMeta(
        source="clip.mp4",
        width=60,
        height=40,
        fps=20.0,
        num_frames=20,
        work_width=30,
        work_height=20,
        work_fps=10.0,
        frame_indices_orig=list(range(0, 20, 2)),
    )
    subject = Entity(
        1,
        "subject",
        is_subject=True,
        prompts=[{"type": "click", "x": 4.0, "y": 6.0, "frame_idx": 0, "positive": True}],
        masks={t: square(t, 2) for t in range(10)},
    )
    ball = Entity(
        2,
        "ball",
        origin="discovery",
        subject_id=1,
        label_source="user",
        top5=[("ball", 0.9), ("toy", 0.1)],
        masks={t: square(20, 10) for t in range(3, 8)} | {8: rle_encode(np.zeros((20, 30), bool))},
    )
    relations = [
        Relation(1, 2, "toward", [(0, 4)], score=0.7, sources=["geometric"], frame_scores={t: 0.7 for t in range(5)}),
        Relation(1, 2, "touching", [(5, 6)], score=0.9, sources=["geometric"]),
    ]
    return SceneGraph(video=meta, entities=[subject, ball], relations=relations, backend="classic", video_id="clip")


def test_json_round_trip_is_lossless(tmp_path):
    graph = small_graph()
    path = graph.save_json(tmp_path / "g.json")
    again = SceneGraph.load_json(path)
    assert again == graph
    assert again.to_dict() == graph.to_dict()


def test_json_has_openpvsg_core_keys():
    data = json.loads(json.dumps(small_graph().to_dict()))
    assert {"video_id", "objects", "relations", "num_frames", "width", "height", "fps"} <= data.keys()
    assert {"object_id", "category", "is_thing"} <= data["objects"][0].keys()
    assert data["relations"][0] == [1, 2, "toward", [[0, 4]]]


def test_plain_openpvsg_entry_loads():
    entry = {
        "video_id": "v",
        "objects": [
            {"object_id": 1, "category": "adult", "is_thing": True},
            {"object_id": 3, "category": "floor", "is_thing": False},
        ],
        "relations": [[1, 3, "standing on", [[0, 9], [15, 20]]]],
        "num_frames": 21,
    }
    graph = SceneGraph.from_dict(entry)
    assert graph.entity(3).label == "floor" and not graph.entity(3).is_thing
    assert graph.relations[0].spans == [(0, 9), (15, 20)]
    assert graph.video.frame_indices_orig == list(range(21))


def test_frames_and_presence_ignore_empty_masks():
    ball = small_graph().entity(2)
    assert ball.frames == [3, 4, 5, 6, 7]
    assert (ball.first_frame, ball.last_frame) == (3, 7)
    assert ball.present(5) and not ball.present(8) and not ball.present(0)


def test_missing_spans_are_a_subjects_lost_frames_and_an_objects_gaps_within_its_span():
    graph = small_graph()
    assert graph.missing_spans(1) == []  # on all 10 working frames
    subject, ball = graph.entity(1), graph.entity(2)
    empty = rle_encode(np.zeros((20, 30), bool))
    for t in (0, 4, 5, 9):
        subject.masks[t] = empty
    assert graph.missing_spans(1) == [(0, 0), (4, 5), (9, 9)]
    assert graph.missing_spans(2) == []  # the ball enters on frame 3 and leaves after 7: no gap
    ball.masks[5] = empty
    assert graph.missing_spans(2) == [(5, 5)]
    ball.masks = {}
    assert graph.missing_spans(2) == []


def test_graph_at_frame():
    graph = small_graph()
    at1 = graph.to_networkx(1)  # ball not visible yet
    assert list(at1.nodes) == [1] and at1.number_of_edges() == 0
    at5 = graph.to_networkx(5)
    assert set(at5.nodes) == {1, 2}
    assert [k for _, _, k in at5.edges(keys=True)] == ["touching"]
    whole = graph.to_networkx()
    assert whole.number_of_edges(1, 2) == 2 and whole.nodes[2]["label"] == "ball"


def test_queries_and_edits():
    graph = small_graph()
    assert [r.predicate for r in graph.ranked_relations()] == ["touching", "toward"]
    assert [r.predicate for r in graph.relations_at(4)] == ["toward"]
    graph.relabel(1, " child ")
    assert graph.entity(1).label == "child" and graph.entity(1).label_source == "user"
    with pytest.raises(ValueError):
        graph.relabel(1, "  ")
    graph.drop_entity(2)
    assert graph.relations == [] and [e.entity_id for e in graph.entities] == [1]
    with pytest.raises(KeyError, match="known"):
        graph.entity(2)


@pytest.mark.parametrize(
    "frames, spans",
    [
        ([], []),
        ([3], [(3, 3)]),
        ([1, 2, 3, 7], [(1, 3), (7, 7)]),
        ([5, 1, 2, 2], [(1, 2), (5, 5)]),  # unsorted with a duplicate
    ],
)
def test_spans_from_frames(frames, spans):
    assert spans_from_frames(frames) == spans


def test_openpvsg_video_keys_describe_the_working_frames():
    data = small_graph().to_dict()
    assert (data["width"], data["height"], data["fps"], data["num_frames"]) == (30, 20, 10.0, 10)
    assert data["click2graph"]["video"]["frame_indices_orig"] == list(range(0, 20, 2))
    assert data["objects"][1]["masks"]["3"] == square(20, 10)  # working frame -> RLE at the working size
    assert [o["is_thing"] for o in data["objects"]] == [True, True]  # tracked entities are things unless told
    assert data["click2graph"]["version"] == 1  # readers check it: bump it when the layout changes


def test_plain_openpvsg_entry_gets_the_defaults():
    entry = {
        "video_id": "v",
        "width": 64,
        "height": 48,
        "fps": 5.0,
        "num_frames": 3,
        "objects": [{"object_id": 1, "category": "adult"}],
        "relations": [[1, 1, "looking at", [[0, 2]]]],
    }
    graph = SceneGraph.from_dict(entry)
    adult = graph.entity(1)
    assert adult.is_thing and not adult.is_subject and adult.label_source == "default" and adult.masks == {}
    assert adult.first_frame is None and adult.last_frame is None and adult.mask(0) is None
    relation = graph.relations[0]
    assert (relation.score, relation.sources, relation.frame_scores) == (1.0, [], {})
    meta = graph.video
    assert (meta.width, meta.height, meta.fps) == (meta.work_width, meta.work_height, meta.work_fps) == (64, 48, 5.0)
    assert meta.num_work_frames == 3


def test_an_entry_of_openpvsg_s_own_file_reads_its_sizes_from_meta():
    entry = {
        "video_id": "0010_8610561401",
        "meta": {"height": 360, "width": 480, "fps": 5, "duration": 36.0, "num_frames": 180},
        "objects": [{"object_id": 1, "category": "adult", "is_thing": True}],
        "relations": [[1, 1, "looking at", [[0, 2]]]],
    }
    meta = SceneGraph.from_dict(entry).video
    assert (meta.width, meta.height, meta.fps, meta.num_work_frames) == (480, 360, 5, 180)
    assert meta.frame_indices_orig == list(range(180))


def test_mask_signature_follows_the_masks():
    graph = small_graph()
    ball = graph.entity(2)
    same = Entity(9, "other name", masks=dict(ball.masks))
    assert ball.mask_signature() == same.mask_signature()  # a key of the masks only
    same.masks[4] = square(21, 10)
    assert ball.mask_signature() != same.mask_signature()
    np.testing.assert_array_equal(ball.mask(3), rle_decode(square(20, 10)))


def test_graph_edges_carry_score_and_spans_and_unknown_ids_raise():
    graph = small_graph()
    edge = graph.to_networkx().get_edge_data(1, 2, key="toward")
    assert edge == {"predicate": "toward", "score": 0.7, "spans": [(0, 4)]}
    assert graph.to_networkx(8).number_of_nodes() == 1  # the ball's mask is empty on frame 8
    with pytest.raises(KeyError):
        graph.drop_entity(7)
    assert len(graph.entities) == 2


def test_one_pixel_is_present_and_json_makes_its_folder(tmp_path):
    graph = small_graph()
    dot = np.zeros((20, 30), bool)
    dot[5, 5] = True
    graph.entities.append(Entity(3, "subject 3", is_subject=True, masks={0: rle_encode(dot)}))
    graph.entities.append(Entity(4, "cup", subject_id=3, masks={0: rle_encode(dot)}))
    assert graph.entity(3).present(0) and graph.entity(3).frames == [0]
    path = graph.save_json(tmp_path / "new" / "folder" / "g.json")
    assert SceneGraph.load_json(path) == graph
