"""The discovery registry is the one list of strategies: a strategy registered there is offered by the CLI, the
evaluation and the app, and the pipeline runs it (a toy strategy that proposes the ball's ground-truth mask)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from click2graph import synth
from click2graph.cli import main
from click2graph.discovery import registry
from click2graph.discovery.base import DiscoveryConfig, Proposal
from click2graph.eval import protocol
from click2graph.pipeline import Pipeline, PipelineConfig
from click2graph.prompts import Click
from click2graph.segment.classic import ClassicSegmenter
from click2graph.video import Video, write_video

CLIP = synth.render_clip("ball_touch")  # subject = label 1 (a person), the ball = label 2
BALL = 2
FRAMES = 8  # one keyframe (the prompt frame): the clip runs at 10 fps


class BallStrategy:
    """Proposes the ball's ground-truth mask on every keyframe, and records the frames it was called on."""

    def __init__(self) -> None:
        self.frames: list[int] = []

    def __call__(
        self,
        segmenter,
        state,
        subject_mask,
        frame_idx,
        *,
        known_masks=(),
        subject_points_xy=None,
        config=DiscoveryConfig(),
    ) -> list[Proposal]:
        self.frames.append(frame_idx)
        ys, xs = np.nonzero(CLIP.labels[frame_idx] == BALL)
        point = np.array([[xs.mean(), ys.mean()]], np.float32)
        return [Proposal(frame_idx, CLIP.labels[frame_idx] == BALL, point, 1.0, 1.0, 0.5)]


@pytest.fixture()
def toy(monkeypatch) -> BallStrategy:
    """The registry with "toy" registered (for this test only)."""
    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))
    strategy = BallStrategy()
    registry.register_strategy("toy", lambda segmenter, learned: strategy)
    return strategy


def test_a_name_is_registered_once():
    with pytest.raises(ValueError, match="taken"):
        registry.register_strategy("training-free", lambda segmenter, learned: None)
    with pytest.raises(ValueError, match="taken"):
        registry.register_strategy(registry.AUTO, lambda segmenter, learned: None)


def test_the_pipeline_runs_a_registered_strategy(toy):
    segmenter = ClassicSegmenter()
    chosen = registry.choose_strategy("toy", segmenter)
    assert chosen.discover is toy and chosen.describe() == "toy" and chosen.learned is None
    # Keep the object even without a relation: the graph is checked for the object, not for its relations.
    pipeline = Pipeline(segmenter, PipelineConfig(drop_objects_without_relations=False), discover=chosen.discover)
    session = pipeline.open(Video.from_frames(CLIP.frames[:FRAMES], CLIP.fps))
    x, y, frame = synth.preset_click(CLIP)
    pipeline.prompt_subject(session, [Click(x, y, frame_idx=frame)])
    graph = pipeline.build(session)
    assert toy.frames == [frame]
    found = [e for e in graph.entities if e.origin == "discovery"]
    assert len(found) == 1 and np.array_equal(found[0].mask(frame), CLIP.labels[frame] == BALL)


def test_the_cli_offers_and_runs_a_registered_strategy(toy, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "{auto,training-free,heuristic,learned,toy}" in capsys.readouterr().out
    video = tmp_path / "clip.mp4"
    write_video(video, CLIP.frames[:FRAMES], CLIP.fps)
    x, y, frame = synth.preset_click(CLIP)
    args = ["run", str(video), "--click", f"{x},{y},{frame}", "--out", str(tmp_path / "out"), "--no-video"]
    assert main([*args, "--discovery", "toy", "--semantics", "off"]) == 0
    assert "discovery: toy" in capsys.readouterr().out and toy.frames == [frame]


def test_eval_compares_a_registered_strategy(toy, tmp_path):
    for name, value in (("training-free", 1.0), ("toy", 2.0)):
        mean = dict.fromkeys(protocol.metric_names(protocol.DEFAULT_KS), value)
        protocol.write_table([protocol.Row("synthetic", "mask", 1, 1, 1, mean, mean)], tmp_path / name, "table_mask")
    table = protocol.comparison_table(tmp_path, "mask")
    assert "| toy | 2.00 |" in table and "| training-free | 1.00 |" in table


_APP_CHOICES = """
import json
from click2graph.discovery.registry import register_strategy
register_strategy("toy", lambda segmenter, learned: lambda *args, **kwargs: [])
from demo import server
from demo.app import build_demo
radio = next(b for b in build_demo().blocks.values() if getattr(b, "elem_id", None) == "discovery-pick")
print(json.dumps({"server": list(server.current().strategies), "radio": [value for _, value in radio.choices]}))
"""


def test_the_app_offers_a_registered_strategy(tmp_path):
    """In a fresh process: the app reads its choices when it starts, after strategies are registered."""
    pytest.importorskip("gradio")
    env = dict(os.environ, CLICK2GRAPH_BACKEND="classic", CLICK2GRAPH_SEMANTICS="off", GRADIO_TEMP_DIR=str(tmp_path))
    env["CLICK2GRAPH_LEARNED"] = str(tmp_path / "none.pt")  # without trained weights "learned" is not offered
    done = subprocess.run(
        [sys.executable, "-c", _APP_CHOICES],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    offered = json.loads(done.stdout.strip().splitlines()[-1])
    assert offered["server"] == offered["radio"] == ["training-free", "heuristic", "toy"]
