"""The README's "nothing that did not change is tracked again", per edit, counted on every propagation step.

An oracle segmenter (exact masks) logs which objects each propagation step tracks, so a test names exactly what an
edit re-tracked, not only how many frames.
"""

from __future__ import annotations

import numpy as np
import pytest
from builders import objects_of
from oracle import OracleSegmenter

from click2graph.pipeline import Pipeline
from click2graph.prompts import Click
from click2graph.video import Video

T = 20


class LoggingOracle(OracleSegmenter):
    """The oracle, recording the object ids of every propagation step."""

    def __init__(self, labels: np.ndarray) -> None:
        super().__init__(labels)
        self.steps: list[tuple[int, ...]] = []

    def propagate(self, state, *, obj_ids=None, reverse=False):
        for t, ids, masks in super().propagate(state, obj_ids=obj_ids, reverse=reverse):
            self.steps.append(tuple(ids))
            yield t, ids, masks

    def tracked_since(self, start: int) -> set[int]:
        return {i for ids in self.steps[start:] for i in ids}


@pytest.fixture
def built():
    """A subject (label 1) touching an object (2), and a second pair like it (3 touching 4) far from both."""
    labels = np.zeros((T, 72, 120), np.uint8)
    labels[:, 20:60, 20:40] = 1
    labels[:, 40:60, 41:56] = 2
    labels[:, 20:60, 80:96] = 3
    labels[:, 40:60, 97:112] = 4
    rng = np.random.default_rng(0)
    frames = np.repeat(rng.integers(90, 140, size=(1, 72, 120, 3), dtype=np.uint8), T, axis=0)
    for label, rgb in {1: (200, 60, 40), 2: (40, 80, 220), 3: (230, 210, 40), 4: (60, 180, 70)}.items():
        frames[labels == label] = rgb
    segmenter = LoggingOracle(labels)
    pipeline = Pipeline(segmenter)
    session = pipeline.open(Video.from_frames(frames, fps=10.0))
    pipeline.prompt_subject(session, [Click(30, 40, frame_idx=0)])
    graph = pipeline.build(session)
    assert [segmenter.bound[o.entity_id] for o in objects_of(graph, 1)] == [2]
    return segmenter, pipeline, session, graph


def _masks(graph) -> dict[int, dict]:
    return {e.entity_id: e.masks for e in graph.entities}


def test_relabels_and_predicate_corrections_track_nothing(built):
    segmenter, pipeline, session, graph = built
    start = len(segmenter.steps)
    obj = objects_of(graph, 1)[0].entity_id
    relation = graph.ranked_relations()[0]
    pipeline.rename_predicate(session, relation.subject_id, relation.object_id, relation.predicate, "kicking")
    pipeline.relabel(session, 1, "player")
    pipeline.relabel(session, obj, "ball")
    after = pipeline.build(session)
    assert len(segmenter.steps) == start
    assert after.entity(1).label == "player" and after.entity(obj).label == "ball"
    assert any(r.predicate == "kicking" and (r.subject_id, r.object_id) == (1, obj) for r in after.relations)
    assert _masks(after) == _masks(graph)


def test_a_second_subject_tracks_itself_and_its_objects_only(built):
    segmenter, pipeline, session, graph = built
    start = len(segmenter.steps)
    second = session.next_id()
    pipeline.prompt_subject(session, [Click(88, 50, frame_idx=5)], subject_id=second)
    after = pipeline.build(session)
    cup = [o.entity_id for o in objects_of(after, second)]
    assert [segmenter.bound[i] for i in cup] == [4]  # its own discovery ran
    assert segmenter.tracked_since(start) == {second, *cup}
    assert all(after.entity(i).masks == graph.entity(i).masks for i in _masks(graph))


def test_a_refined_subject_is_tracked_again_with_its_objects_rediscovered(built):
    segmenter, pipeline, session, graph = built
    start = len(segmenter.steps)
    pipeline.prompt_subject(session, [Click(30, 40, frame_idx=0), Click(25, 30, frame_idx=0)])
    after = pipeline.build(session)
    new = [o.entity_id for o in objects_of(after, 1)]
    assert segmenter.tracked_since(start) == {1, *new}
    assert [segmenter.bound[i] for i in new] == [2]
    assert sum(1 in ids for ids in segmenter.steps[start:]) == T + 1  # once: frames 0..19 forward, then 0 backward
