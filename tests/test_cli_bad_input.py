"""Bad input to `run`, `eval` and `weights`, each through the real command line (a fresh process, so logging and
stderr are what a user sees): the exit code and one line that says what is wrong, never a traceback, never a
silent wrong result. Warnings (exit code 0) are one line as well."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PIL import Image

from click2graph import synth
from click2graph.data.openpvsg import load_pvsg
from click2graph.graph import Entity, Relation, SceneGraph, VideoMeta
from click2graph.masks import rle_encode

REPO = Path(__file__).resolve().parents[1]
VIDEO_ID = "synth_ball_touch"


@dataclass(frozen=True)
class Inputs:
    """Files the cases refer to, made once per module."""

    root: Path  # an OpenPVSG-layout dataset of the ball_touch and walk_in_front clips
    video: Path
    text: Path  # a text file (FFmpeg's tty demuxer draws it as a 640x400 "video")
    bomb: Path  # a frame folder whose first frame is a 14000x14000 PNG
    truncated: Path  # the clip cut to 40% of its bytes (the container still declares 48 frames)
    prediction: dict  # a valid whole-video prediction of VIDEO_ID (a JSON object); walk_in_front has none
    tmp: Path


def _prediction(root: Path) -> dict:
    """The GT of VIDEO_ID as a prediction: its subject, the ball and one relation, masks on every frame."""
    video = load_pvsg(root).videos[VIDEO_ID]
    h, w, n = int(video.meta["height"]), int(video.meta["width"]), video.num_frames
    rel = video.relations[0]
    entities = [
        Entity(i, video.category(i), is_subject=i == rel.subject_id, masks={t: rle_encode(video.panoptic(t) == i)
                                                                            for t in range(n)})
        for i in (rel.subject_id, rel.object_id)
    ]  # fmt: skip
    meta = VideoMeta("gt", w, h, float(video.meta["fps"]), n, w, h, float(video.meta["fps"]), list(range(n)))
    relation = Relation(rel.subject_id, rel.object_id, rel.predicate, list(rel.spans), score=1.0)
    return SceneGraph(video=meta, entities=entities, relations=[relation], video_id=VIDEO_ID).to_dict()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Inputs:
    tmp = tmp_path_factory.mktemp("bad_input")
    root = synth.write_dataset(tmp / "data", ["ball_touch", "walk_in_front"]).parent
    video = root / "videos" / f"{VIDEO_ID}.mp4"
    text = tmp / "notes.txt"
    text.write_text("Meeting notes\n" * 40)
    bomb = tmp / "bomb"
    bomb.mkdir()
    Image.new("1", (14000, 14000)).save(bomb / "00000.png")  # 1 bit a pixel: a 24 kB file
    truncated = tmp / "truncated.mp4"
    data = video.read_bytes()
    truncated.write_bytes(data[: int(0.4 * len(data))])
    return Inputs(root, video, text, bomb, truncated, _prediction(root), tmp)


def _predictions(i: Inputs, name: str, edit: Callable[[dict], object]) -> Path:
    """A predictions folder holding the valid prediction changed by ``edit`` (which may return a new object)."""
    data = json.loads(json.dumps(i.prediction))
    data = edit(data) or data
    folder = i.tmp / "pred" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{VIDEO_ID}.json").write_text(data if isinstance(data, str) else json.dumps(data))
    return folder


def _dataset(i: Inputs, name: str, edit: Callable[[dict], object], *, masks: bool = True) -> Path:
    """A copy of the dataset's pvsg.json changed by ``edit`` (a str is written as it is), masks linked or not."""
    folder = i.tmp / "datasets" / name
    folder.mkdir(parents=True, exist_ok=True)
    data = json.loads((i.root / "pvsg.json").read_text())
    data = edit(data) or data
    (folder / "pvsg.json").write_text(data if isinstance(data, str) else json.dumps(data))
    if masks and not (folder / "masks").exists():
        (folder / "masks").symlink_to(i.root / "masks")
    return folder


def _without(data: dict, key: str) -> dict:
    return {k: v for k, v in data.items() if k != key}


def _set_relation(data: dict, index: int, value) -> None:
    data["relations"][0][index] = value


def _first_rle(data: dict) -> dict:
    return data["objects"][0]["masks"]["0"]


def _corrupt_weights(i: Inputs) -> Path:
    folder = i.tmp / "weights"
    folder.mkdir(exist_ok=True)
    (folder / "sam2.1_hiera_tiny.pt").write_bytes(b"PK\x03\x04 cut short by an interrupted download")
    return folder


def _run(i: Inputs, *extra: str, video: Path | None = None, click: str = "113,143") -> list[str]:
    out = i.tmp / "out" / str(abs(hash((extra, str(video), click))))
    return ["run", str(video or i.video), "--click", click, "--out", str(out), "--quiet", *extra]


def _eval(data_root: Path, predictions: Path) -> list[str]:
    return ["eval", str(data_root), "--predictions", str(predictions), "--out", str(data_root / "eval_out")]


def _batch(i: Inputs, prompts: str) -> list[str]:
    """``batch`` of the clip with a prompts file holding ``prompts``."""
    path = i.tmp / "prompts" / f"{abs(hash(prompts))}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(prompts)
    return ["batch", str(i.video), "--prompts", str(path), "--out", str(i.tmp / "batch_out"), "--quiet"]


FAST = ("--max-duration", "1", "--no-video", "--semantics", "off", "--backend", "classic")

# (case, arguments from the inputs, exit code, a fragment of the one line shown)
CASES: list[tuple[str, Callable[[Inputs], list[str]], int, str]] = [
    ("fps below zero", lambda i: _run(i, "--fps", "-1"), 2, "argument --fps: must be a positive number"),
    ("duration below zero", lambda i: _run(i, "--max-duration", "-5"), 2, "argument --max-duration: must be a pos"),
    ("folder fps zero", lambda i: _run(i, "--folder-fps", "0"), 2, "argument --folder-fps: must be a positive"),
    ("box with nan", lambda i: ["run", str(i.video), "--box", "nan,0,10,10", "--out", "o"], 2, "must be finite"),
    ("click with inf", lambda i: _run(i, click="inf,5"), 2, "must be finite"),
    ("frame folder of a 14000x14000 png", lambda i: _run(i, video=i.bomb), 2, "larger than this app accepts"),
    ("text file", lambda i: _run(i, video=i.text), 2, "is text, not a video"),
    ("truncated video", lambda i: _run(i, *FAST[2:], video=i.truncated), 0, "of the 48 frames the file declares"),
    ("click past the trimmed end", lambda i: _run(i, "--max-duration", "2", click="113,143,40"), 2,
     "frame 40 is outside the frames in use: original frames 0..15"),
    ("click on flat background", lambda i: _run(i, *FAST, click="240,30"), 0, "the subject's mask is tiny"),
    ("--out under a file", lambda i: ["run", str(i.video), "--click", "1,1", "--out", str(i.video / "out")], 2,
     "cannot write to --out"),
    ("prediction not JSON", lambda i: _eval(i.root, _predictions(i, "json", lambda d: "{objects: [")), 2,
     "is not valid JSON"),
    ("prediction is a list", lambda i: _eval(i.root, _predictions(i, "list", lambda d: [d])), 2,
     "the top level is a list"),
    ("prediction without objects", lambda i: _eval(i.root, _predictions(
        i, "objects", lambda d: _without(d, "objects"))), 2, "'objects' is missing or not a list"),
    ("relation with an unknown object", lambda i: _eval(i.root, _predictions(
        i, "unknown", lambda d: _set_relation(d, 1, 99))), 2, "names objects [99]"),
    ("invalid RLE", lambda i: _eval(i.root, _predictions(i, "rle", lambda d: _first_rle(d).update(counts="0d"))), 2,
     "invalid RLE"),
    ("RLE of another size", lambda i: _eval(i.root, _predictions(
        i, "size", lambda d: _first_rle(d).update(size=[10, 10]))), 2, "RLE of size [10, 10]"),
    ("span past the last frame", lambda i: _eval(i.root, _predictions(
        i, "span", lambda d: _set_relation(d, 3, [[40, 60]]))), 2, "outside working frames 0..47"),
    ("non-numeric frame key", lambda i: _eval(i.root, _predictions(
        i, "key", lambda d: d["objects"][0]["masks"].update(first={}))), 2, "mask key 'first' is not a working frame"),
    ("pvsg.json not JSON", lambda i: _eval(_dataset(i, "json", lambda d: "{"), i.root), 2, "is not valid JSON"),
    ("pvsg.json without data", lambda i: _eval(_dataset(i, "data", lambda d: _without(d, "data")), i.root), 2,
     "missing key 'data'"),
    ("pvsg.json without split", lambda i: _eval(_dataset(i, "split", lambda d: _without(d, "split")), i.root), 2,
     "missing key 'split'"),
    ("pvsg.json without objects", lambda i: _eval(_dataset(i, "objects", lambda d: _without(d, "objects")), i.root), 2,
     "missing key 'objects'"),
    ("pvsg.json data of the wrong type", lambda i: _eval(_dataset(i, "type", lambda d: d.update(data=5)), i.root), 2,
     "does not have the OpenPVSG layout"),
    ("dataset without masks", lambda i: _eval(_dataset(i, "nomasks", lambda d: None, masks=False), i.root), 2,
     "the dataset lacks"),
    ("video without a prediction file", lambda i: _eval(i.root, _predictions(i, "valid", lambda d: None)), 0,
     "1 prediction file(s) missing"),
    ("prompts not JSON", lambda i: _batch(i, '{"synth_ball_touch.mp4": {"click": [[113, 143]]'), 2,
     "is not valid JSON"),
    ("prompts a list", lambda i: _batch(i, "[]"), 2, "must map video names to prompts"),
    ("prompt click of one number", lambda i: _batch(i, '{"synth_ball_touch": {"click": [[113]]}}'), 2,
     '"click" [113]: expected X,Y or X,Y,FRAME'),
    ("prompt box with a frame of 2.5", lambda i: _batch(i, '{"synth_ball_touch": {"box": [1, 2, 30, 40, 2.5]}}'),
     2, "expected numbers in X0,Y0,X1,Y1[,FRAME]"),
    ("prompt with an unknown key", lambda i: _batch(i, '{"synth_ball_touch": {"point": [[1, 2]]}}'), 2,
     "unknown key(s) point"),
    ("prompt with negative clicks only", lambda i: _batch(i, '{"synth_ball_touch": {"negative": [[1, 2]]}}'), 2,
     "gives no click and no box on the subject"),
    ("video missing from the prompts", lambda i: _batch(i, '{"other.mp4": {"click": [[1, 2]]}}'), 2,
     "has prompts for none of the 1 video(s)"),
    ("batch of a missing video", lambda i: [*_batch(i, "{}")[:1], str(i.tmp / "nothing.mp4"), *_batch(i, "{}")[2:]],
     2, "No such video or folder"),
    ("--workers without --ray", lambda i: [*_batch(i, '{"synth_ball_touch": {"click": [[113, 143]]}}'), "--workers",
     "2"], 2, "apply with --ray only"),
    ("corrupt checkpoint in weights list", lambda i: ["weights", "list", "--dir", str(_corrupt_weights(i))],
     0, "unusable (weights_dir): checkpoint"),
]  # fmt: skip


def _shown_lines(stderr: str) -> list[str]:
    """What the terminal shows once carriage returns have overwritten the (self-erasing) progress bar."""
    return [line.split("\r")[-1].strip() for line in stderr.split("\n") if line.split("\r")[-1].strip()]


@pytest.mark.parametrize("name, make_args, code, fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_one_clear_line(name, make_args, code, fragment, inputs):
    args = make_args(inputs)
    done = subprocess.run(
        [sys.executable, "-m", "click2graph", *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    output = done.stdout if name.startswith("corrupt checkpoint") else done.stderr
    shown = [line for line in _shown_lines(output) if fragment in line]
    assert "Traceback" not in done.stderr and done.returncode == code, (done.returncode, done.stderr[-2000:])
    assert len(shown) == 1, (fragment, output[-2000:])
    if code == 2:
        assert _shown_lines(done.stderr) == shown and shown[0].startswith("error: ")


def test_no_video_removes_the_overlay_of_an_earlier_run(inputs):
    out = inputs.tmp / "rerun"
    out.mkdir()
    (out / "overlay.mp4").write_bytes(b"an earlier run's overlay")
    args = ["run", str(inputs.video), "--click", "113,143", "--out", str(out), *FAST]
    done = subprocess.run([sys.executable, "-m", "click2graph", *args], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (out / "scene_graph.json").is_file() and not (out / "overlay.mp4").exists()


def test_a_missing_prediction_counts_as_missed(inputs):
    """Two videos in the split, a perfect prediction of one relation of one: every GT relation of both videos is in
    the denominator (OpenPVSG's count), and the missing file is named."""
    predictions = _predictions(inputs, "one_of_two", lambda d: None)
    done = subprocess.run(
        [sys.executable, "-m", "click2graph", *_eval(inputs.root, predictions)], cwd=REPO, capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0 and "synth_walk_in_front.json" in done.stderr, done.stderr
    overall = json.loads((inputs.root / "eval_out" / "table_predictions.json").read_text())[-1]
    total = sum(len(v.relations) for v in load_pvsg(inputs.root).videos.values())
    assert overall["gt_triplets"] == total > 1
    assert overall["mean"]["R@100"] == pytest.approx(100 / total)


def test_lost_subject_warning_when_the_subject_is_a_speck_or_found_on_a_quarter_of_the_frames_at_most():
    from click2graph.batch import _lost_subject

    blob = np.zeros((20, 20), bool)
    blob[5:15, 5:15] = True

    def graph(present: int, frames: int = 8) -> SceneGraph:
        masks = {t: rle_encode(blob if t < present else np.zeros_like(blob)) for t in range(frames)}
        meta = VideoMeta("v", 20, 20, 8.0, frames, 20, 20, 8.0, list(range(frames)))
        return SceneGraph(video=meta, entities=[Entity(1, "thing", is_subject=True, masks=masks)], relations=[])

    assert _lost_subject(blob, graph(8)) is None
    assert _lost_subject(blob, graph(3)) is None
    assert "tracked on 2 of 8 frames" in _lost_subject(blob, graph(2))  # re-found once after the prompt frame
    assert "tracked on 1 of 8 frames" in _lost_subject(blob, graph(1))
    assert _lost_subject(blob, graph(1, frames=1)) is None  # one frame is all there is
    speck = np.zeros((100, 100), bool)
    speck[0, :5] = True  # 0.05 % of the frame
    assert "mask is tiny" in _lost_subject(speck, graph(8))
