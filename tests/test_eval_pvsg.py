"""The OpenPVSG loader on the shared sample, on generated clips, and on the official per-source layout."""

from __future__ import annotations

import json
import shutil

import numpy as np

from click2graph import synth
from click2graph.data.frames import load_frames
from click2graph.data.openpvsg import load_pvsg
from click2graph.eval import protocol


def test_the_shared_sample_loads_with_its_vocabulary_and_spans(shared_data):
    dataset = load_pvsg(shared_data / "openpvsg" / "pvsg_subset.json")
    assert (len(dataset.thing_classes), len(dataset.stuff_classes), len(dataset.predicates)) == (115, 11, 57)
    (vid,) = dataset.video_ids("train")
    video = dataset.videos[vid]
    assert video.source == "vidor" and video.num_frames == int(video.meta["num_frames"]) > 0
    raw = json.loads((shared_data / "openpvsg" / "pvsg_subset.json").read_text())
    entry = next(d for d in raw["data"] if d["video_id"] == vid)
    s, o, predicate, spans = entry["relations"][0]
    rel = video.relations[0]
    assert (rel.subject_id, rel.object_id, rel.predicate) == (s, o, predicate)
    assert rel.frames() == {t for a, b in spans for t in range(a, b + 1)}  # inclusive spans
    assert video.category(s) == next(obj["category"] for obj in entry["objects"] if obj["object_id"] == s)
    h, w = int(video.meta["height"]), int(video.meta["width"])
    assert video.panoptic(0).shape == (h, w) and not video.panoptic(0).any()  # the sample ships no masks


def test_generated_clips_load_with_masks_matching_the_relations(tmp_path):
    dataset = load_pvsg(synth.write_dataset(tmp_path, ["ball_touch"]))
    video = dataset.videos[dataset.video_ids("val")[0]]
    rel = video.relations[0]
    t = min(rel.frames())
    ids = set(np.unique(video.panoptic(t)))
    assert {rel.subject_id, rel.object_id} <= ids


def test_the_official_per_source_layout_is_read_and_reported_per_source(tmp_path):
    """``<source>/masks/<video_id>/`` and ``<source>/frames/<video_id>/`` under the folder of pvsg.json."""
    flat = tmp_path / "flat"
    synth.write_dataset(flat, ["ball_touch"])
    data = json.loads((flat / "pvsg.json").read_text())
    (vid,) = data["split"][synth.SPLIT]["val"]
    root = tmp_path / "official"
    for sub in ("masks", "frames"):
        shutil.copytree(flat / sub / vid, root / "vidor" / sub / vid)
    data["split"] = {"vidor": {"train": [], "val": [vid]}, "epic_kitchen": {"train": [], "val": []}}
    (root / "pvsg.json").write_text(json.dumps(data))

    dataset = load_pvsg(root)
    video = dataset.videos[vid]
    assert video.source == "vidor" and video.mask_dir == root / "vidor" / "masks" / vid
    assert video.panoptic(10).any()
    frames = load_frames(video)
    assert len(frames) == video.num_frames  # every annotated frame, no fps or duration cut

    subject = protocol.subjects_of(video)[0]
    rows = protocol.summarize({0: [("vidor", protocol.score_graph(None, video, subject))]}, "box")
    assert [r.source for r in rows] == ["vidor", "overall"]
    table = protocol.markdown_table(rows)
    assert "| VidOR | box | 0.00 |" in table and "3.18±0.10" in table  # the paper's VidOR box R@3 beside ours
