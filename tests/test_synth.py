"""Tests for click2graph/synth.py: determinism, OpenPVSG schema, masks, and script-vs-scorer agreement."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from click2graph import synth
from click2graph.graph import Entity
from click2graph.masks import rle_encode
from click2graph.semantics import OPENPVSG, RelationConfig, build_relations
from click2graph.video import VideoPolicy, load_video

REPO_EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@functools.cache
def rendered(name: str) -> synth.SynthClip:
    return synth.render_clip(name)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return synth.write_dataset(tmp_path_factory.mktemp("synth_a")).parent


def test_same_inputs_give_identical_files(dataset, tmp_path):
    again = synth.write_dataset(tmp_path).parent
    files = sorted(p.relative_to(dataset) for p in dataset.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    different = [str(f) for f in files if f.suffix != ".mp4" and (dataset / f).read_bytes() != (again / f).read_bytes()]
    assert different == []


def test_pvsg_json_has_the_openpvsg_schema(dataset, shared_data):
    real = json.loads((shared_data / "openpvsg" / "pvsg_subset.json").read_text())
    ours = json.loads((dataset / "pvsg.json").read_text())
    assert ours.keys() == real.keys()
    assert ours["objects"].keys() == real["objects"].keys() and ours["relations"] == real["relations"]
    assert ours["objects"] == real["objects"]  # the same 115 + 11 classes in the same order
    assert ours["split"] == {"synthetic": {"train": [], "val": [d["video_id"] for d in ours["data"]]}}
    (real_video,) = real["data"][:1]
    for video in ours["data"]:
        assert video.keys() == real_video.keys() and video["meta"].keys() == real_video["meta"].keys()
        for obj in video["objects"]:
            assert obj.keys() == real_video["objects"][0].keys() and obj["category"] in OPENPVSG.classes
        for relation in video["relations"]:
            assert [type(v) for v in relation] == [type(v) for v in real_video["relations"][0]]


def test_masks_ids_and_spans_match_the_annotation(dataset):
    pvsg = json.loads((dataset / "pvsg.json").read_text())
    for video in pvsg["data"]:
        vid, n = video["video_id"], video["meta"]["num_frames"]
        ids = {o["object_id"] for o in video["objects"]}
        assert ids == set(range(1, len(ids) + 1))  # contiguous from 1, as the OpenPVSG loader requires
        mask_files = sorted((dataset / "masks" / vid).glob("*.png"))
        assert [p.name for p in mask_files] == [f"{t:04d}.png" for t in range(n)]
        assert (
            len(list((dataset / "frames" / vid).glob("*.png"))) == n and (dataset / "videos" / f"{vid}.mp4").is_file()
        )
        seen = set()
        for path in mask_files:
            with Image.open(path) as img:
                assert img.mode == "P" and img.size == (video["meta"]["width"], video["meta"]["height"])
                seen |= set(np.unique(np.asarray(img)).tolist())
        assert seen == ids | {0}
        for s, o, predicate, spans in video["relations"]:
            assert {s, o} <= ids and predicate in OPENPVSG.predicates
            assert all(0 <= start <= end < n for start, end in spans)


def ground_truth_entities(clip: synth.SynthClip) -> list[Entity]:
    """Entities from the clip's ground-truth masks: object 1 is the subject, the others are its objects."""
    entities = []
    for oid, category in enumerate(clip.script.categories, 1):
        masks = {t: rle_encode(clip.labels[t] == oid) for t in range(len(clip.labels)) if (clip.labels[t] == oid).any()}
        entities.append(
            Entity(entity_id=oid, label=category, is_subject=oid == 1, subject_id=None if oid == 1 else 1, masks=masks)
        )
    return entities


def temporal_iou(spans_a, spans_b) -> float:
    frames_a = {t for start, end in spans_a for t in range(start, end + 1)}
    frames_b = {t for start, end in spans_b for t in range(start, end + 1)}
    return len(frames_a & frames_b) / max(1, len(frames_a | frames_b))


@pytest.mark.parametrize("name", list(synth.CLIPS))
def test_geometric_scorer_recovers_the_script(name):
    """Measure: every scripted relation is predicted (same pair and predicate) with temporal IoU >= 0.5; and
    with the default subject-centric pairing, every predicted relation is a scripted one (no extra predicate)."""
    clip = rendered(name)
    entities, n = ground_truth_entities(clip), len(clip.labels)
    predicted = build_relations(entities, num_frames=n, config=RelationConfig(object_pairs=True))
    for s, o, predicate, spans in clip.relations:
        best = max((temporal_iou(spans, r.spans) for r in predicted if r.triplet == (s, predicate, o)), default=0.0)
        assert best >= 0.5, f"{name}: {s}-{predicate}-{o} {spans} recovered with tIoU {best:.2f}"
    scripted = {(s, p, o) for s, o, p, _ in clip.relations}
    extra = [r.triplet for r in build_relations(entities, num_frames=n) if r.triplet not in scripted]
    assert extra == []


@pytest.mark.parametrize("name", list(synth.CLIPS))
def test_preset_click_is_on_the_subject(name):
    clip = rendered(name)
    x, y, t = synth.preset_click(clip)
    assert clip.labels[t, y, x] == 1


def test_examples_are_small_playable_and_up_to_date(tmp_path):
    manifest_path = synth.write_examples(tmp_path, ["ball_touch"])
    (entry,) = json.loads(manifest_path.read_text())
    assert {"name", "file", "title", "description", "click", "fps", "ground_truth"} <= entry.keys()
    video = load_video(tmp_path / entry["file"], VideoPolicy(target_fps=None, max_side=None))
    assert len(video) == synth.NUM_FRAMES and video.size_wh == (synth.WIDTH, synth.HEIGHT)
    committed = {e["name"]: e for e in json.loads((REPO_EXAMPLES / "manifest.json").read_text())}
    shipped = committed["ball_touch"]  # regenerate with: python examples/build_examples.py
    assert {k: shipped[k] for k in entry if k != "title"} == {k: v for k, v in entry.items() if k != "title"}
    attribution = (REPO_EXAMPLES / "ATTRIBUTION.md").read_text()
    for example in committed.values():
        assert (REPO_EXAMPLES / example["file"]).stat().st_size < 1_500_000, example["file"]
        assert example["title"] and example["description"] and len(example["click"]) == 3 and example["credit"]
        assert (REPO_EXAMPLES / example["thumbnail"]).is_file() and example["file"] in attribution


def test_unknown_clip_is_refused():
    with pytest.raises(ValueError, match="known"):
        synth.write_examples("unused", ["no_such_clip"])
