"""The command line, end to end on a generated clip, and its one-line errors on bad input."""

from __future__ import annotations

import json
from types import SimpleNamespace

import av
import numpy as np
import pytest

from click2graph import synth
from click2graph.cli import _print_summary, main
from click2graph.data.openpvsg import load_pvsg
from click2graph.eval.recovery import relation_recovery
from click2graph.graph import Entity, SceneGraph, VideoMeta, spans_text
from click2graph.masks import rle_encode


@pytest.fixture(scope="module")
def ball_touch(tmp_path_factory):
    """The ball_touch clip with its ground truth in the OpenPVSG layout (a person walks up to a ball, touches it
    with a foot and walks away)."""
    root = tmp_path_factory.mktemp("synth")
    dataset = load_pvsg(synth.write_dataset(root, ["ball_touch"]))
    return dataset.videos["synth_ball_touch"], synth.preset_click("ball_touch")


def test_run_recovers_the_scripted_relations(ball_touch, tmp_path, capsys):
    """Measure: ground-truth relations of the clicked subject recovered, where an entity matches a GT object at
    volume IoU >= 0.5 and a relation counts when the same predicate between the matched entities covers the GT
    frames with temporal IoU >= 0.5 (click2graph.eval.recovery). Measured: 4/4, mean temporal IoU 0.90."""
    gt, (x, y, frame) = ball_touch
    out = tmp_path / "out"
    assert main(["run", str(gt.video_path), "--click", f"{x},{y},{frame}", "--out", str(out), "--quiet"]) == 0
    graph = SceneGraph.load_json(out / "scene_graph.json")
    report = relation_recovery(graph, gt, subject_ids={synth.SUBJECT_ID})
    assert report.recall >= 0.75, report.describe()
    assert report.mean_temporal_iou >= 0.6, report.describe()

    masks = json.loads((out / "masks_coco.json").read_text())
    assert {a["image_id"] for a in masks["annotations"]} <= set(range(gt.num_frames))
    assert masks["images"][0]["width"] == gt.meta["width"]
    with av.open(str(out / "overlay.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        assert sum(1 for _ in container.decode(stream)) == gt.num_frames
    assert "plotly" in (out / "timeline.html").read_text()[:200000].lower()


def test_summary_lists_relations_and_files(ball_touch, tmp_path, capsys):
    gt, (x, y, frame) = ball_touch
    assert (
        main(
            [
                "run",
                str(gt.video_path),
                "--click",
                f"{x},{y},{frame}",
                "--label",
                "adult",
                "--out",
                str(tmp_path),
                "--no-video",
                "--max-objects",
                "1",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "backend: classic" in out and "#1 adult" in out and "wrote graph" in out
    assert not (tmp_path / "overlay.mp4").exists()


def test_the_summary_names_the_frames_an_entity_has_no_mask_on(capsys):
    """A subject lost on some frames says where, so the user knows where to look; runs past six are elided."""
    assert spans_text([(18, 18), (68, 70)]) == "18, 68-70"
    assert spans_text([(t, t) for t in range(0, 16, 2)]) == "0, 2, 4, 6, 8, 10, ..."

    meta = VideoMeta("clip.mp4", 8, 8, 10.0, 6, 8, 8, 10.0, list(range(6)))
    blob, none = np.zeros((8, 8), bool), np.zeros((8, 8), bool)
    blob[2:5, 2:5] = True
    masks = {t: rle_encode(none if t in (2, 3) else blob) for t in range(6)}
    graph = SceneGraph(video=meta, entities=[Entity(1, "subject", is_subject=True, masks=masks)])
    shown = SimpleNamespace(describe=lambda: "x")
    _print_summary(graph, shown, SimpleNamespace(backend=shown, describe=shown.describe), {}, 1.0)
    assert "#1 subject [0-5] (default)  no mask on frames 2-3" in capsys.readouterr().out


def test_progress_counts_the_frames_of_each_phase(ball_touch, tmp_path, capsys):
    """The progress line names each phase and counts its frames (or keyframes, or percent) with a time left."""
    gt, (x, y, frame) = ball_touch
    args = ["run", str(gt.video_path), "--click", f"{x},{y},{frame}", "--out", str(tmp_path), "--max-duration", "1"]
    assert main(args + ["--no-video"]) == 0
    drawn = [line.strip() for line in capsys.readouterr().err.replace("\r", "\n").split("\n") if line.strip()]
    assert any(line.startswith("loading video") and "100/100  %" in line for line in drawn)
    assert any(line.startswith("subject 1: tracking forward") and " 8/8    frames" in line for line in drawn)
    assert any(line.startswith("subject 1: tracking backward") and " 1/1    frames" in line for line in drawn)
    assert any(line.startswith("discovering objects") and "1/1    keyframes" in line for line in drawn)
    assert any(line.startswith("relations") for line in drawn) and any(line.startswith("export") for line in drawn)
    assert all("<" in line for line in drawn if "frames" in line)  # elapsed<remaining
    assert main(args + ["--no-video", "--quiet"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "missing.mp4", "--click", "1,1", "--out", "o"], "No such video"),
        (["run", "VIDEO", "--out", "o"], "give the subject"),
        (["run", "VIDEO", "--click", "9999,5", "--out", "o"], "outside the 480x270 frame"),
        (["run", "VIDEO", "--click", "5,5,500", "--out", "o"], "frames 0..47"),
        (["run", "VIDEO", "--box", "50,50,10,10", "--out", "o"], "inverted"),
        (["run", "VIDEO", "--click", "5,5", "--max-side", "4", "--out", "o"], "at least 16"),
        (["run", "BAD", "--click", "5,5", "--out", "o"], "re-encode"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message, ball_touch, tmp_path, capsys):
    gt, _ = ball_touch
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    args = [str(gt.video_path) if a == "VIDEO" else str(bad) if a == "BAD" else a for a in args]
    args = [str(tmp_path / a) if a in ("o", "missing.mp4") else a for a in args]
    assert main(args) == 2
    # What the terminal shows once carriage returns have overwritten the (self-erasing) progress bar.
    shown = [line.split("\r")[-1].strip() for line in capsys.readouterr().err.split("\n")]
    shown = [line for line in shown if line]
    assert len(shown) == 1 and shown[0].startswith("error: ") and message in shown[0], shown


@pytest.mark.parametrize("value", ["1", "1,2,3,4", "a,b"])
def test_malformed_coordinates_are_usage_errors(value, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "v.mp4", "--click", value, "--out", "o"])
    assert exc.value.code == 2
    assert "X,Y" in capsys.readouterr().err


def test_help_explains_coordinates(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    assert "original frame number" in text and "scene_graph.json" in text


def test_run_names_entities_with_a_clip_model_and_own_words(ball_touch, tmp_path, capsys):
    """A saved tiny random CLIP (the plumbing, not the quality): every entity gets one of the given words."""
    pytest.importorskip("transformers")
    from clip_fixtures import save_clip_folder, tiny_clip

    model_dir = save_clip_folder(tiny_clip(seed=0), tmp_path / "clip")
    gt, (x, y, frame) = ball_touch
    out = tmp_path / "out"
    args = ["run", str(gt.video_path), "--click", f"{x},{y},{frame}", "--out", str(out), "--max-duration", "1"]
    args += ["--no-video", "--semantics", "clip", "--clip-model", str(model_dir), "--classes", "adult, ball,dog"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "semantics: CLIP int8 labels (3 own words)" in printed and "top 5: " in printed
    graph = SceneGraph.load_json(out / "scene_graph.json")
    assert all(e.label in ("adult", "ball", "dog") and e.label_source == "model" for e in graph.entities)


def test_run_without_clip_says_why(ball_touch, tmp_path, capsys):
    gt, (x, y, frame) = ball_touch
    args = ["run", str(gt.video_path), "--click", f"{x},{y},{frame}", "--out", str(tmp_path), "--max-duration", "1"]
    args += ["--no-video", "--clip-model", str(tmp_path / "missing")]
    assert main(args) == 0
    assert "semantics: default names, geometric predicates — no CLIP labels" in capsys.readouterr().out
    assert main(args + ["--semantics", "clip"]) == 2
    assert "error: " in capsys.readouterr().err
