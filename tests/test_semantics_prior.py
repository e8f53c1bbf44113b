"""Tests for click2graph/semantics/prior.py: counting, back-off, save/load, errors and the command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from click2graph.cli import main
from click2graph.errors import Click2GraphError
from click2graph.semantics.prior import DEFAULT_PRIOR_PATH, PredicatePrior, PriorError
from click2graph.semantics.vocab import OPENPVSG

P = len(OPENPVSG.predicates)  # 57


@pytest.fixture(scope="module")
def subset_json(shared_data: Path) -> Path:
    path = shared_data / "openpvsg" / "pvsg_subset.json"
    if not path.is_file():
        pytest.skip(f"OpenPVSG sample not found at {path}")
    return path


@pytest.fixture(scope="module")
def subset_prior(subset_json: Path) -> PredicatePrior:
    return PredicatePrior.build(subset_json, split="train")


def tiny_pvsg(path: Path, relations: list, *, split: dict | None = None) -> Path:
    """A pvsg.json with one video (id "v1") of four objects and the given relations."""
    objects = [
        {"object_id": 1, "category": "adult", "is_thing": True, "status": []},
        {"object_id": 2, "category": "ball", "is_thing": True, "status": []},
        {"object_id": 3, "category": "floor", "is_thing": False, "status": []},
        {"object_id": 4, "category": "dog", "is_thing": True, "status": []},
    ]
    data = {
        "objects": {"thing": list(OPENPVSG.thing_classes), "stuff": list(OPENPVSG.stuff_classes)},
        "relations": list(OPENPVSG.predicates),
        "split": split or {"synthetic": {"train": [], "val": ["v1"]}},
        "data": [
            {
                "video_id": "v1",
                "meta": {"height": 60, "width": 80, "fps": 5, "num_frames": 20},
                "objects": objects,
                "relations": relations,
            }
        ],
    }
    path.write_text(json.dumps(data))
    return path


# -- the OpenPVSG sample (vidor 0001_4164158586, train) -------------------------------------------------------


def test_counts_from_the_openpvsg_sample(subset_prior: PredicatePrior):
    m = subset_prior.metadata
    assert (m["source"], m["split"], m["num_videos"], m["num_relations"], m["skipped_relations"]) == (
        "pvsg_subset.json",
        "train",
        1,
        15,
        0,
    )
    assert subset_prior.predicates == OPENPVSG.predicates
    # adult -> child: 27->23, 7->8, 22->17 "holding" and 7->8 "looking at" (7->8 "holding" has 3 spans: counted once)
    assert subset_prior.count("adult", "child") == 4
    assert subset_prior.count("adult", "child", "holding") == 3
    assert subset_prior.count("adult", "child", "looking at") == 1
    assert subset_prior.count("cake", "table", "on") == 2  # 12->9 and 20->9
    assert subset_prior.top_predicates(2) == [("holding", 4), ("looking at", 3)]


def test_back_off_formulas_by_hand(subset_prior: PredicatePrior):
    # marginal: holding 4, looking at 3, on 3, blowing 2, pointing to / picking / sitting on 1 -> N = 15
    marginal = subset_prior.marginal()
    i_hold = OPENPVSG.predicates.index("holding")
    i_look = OPENPVSG.predicates.index("looking at")
    i_kick = OPENPVSG.predicates.index("kicking")
    assert math.isclose(marginal[i_hold], 5 / 72) and math.isclose(marginal[i_kick], 1 / 72)
    # adult as subject: holding 4, looking at 2, blowing 1, picking 1 -> n(adult) = 8, alpha = 1
    p_s = {i: (n + marginal[i]) / 9 for i, n in [(i_hold, 4), (i_look, 2), (i_kick, 0)]}
    dist = subset_prior.prob("adult", "child")
    assert math.isclose(dist["holding"], (3 + p_s[i_hold]) / 5)
    assert math.isclose(dist["looking at"], (1 + p_s[i_look]) / 5)
    assert math.isclose(dist["kicking"], p_s[i_kick] / 5) and dist["kicking"] > 0
    assert max(dist, key=dist.get) == "holding"
    arr = subset_prior.prob("adult", "child", ("looking at", "holding", "not a predicate"))
    assert np.allclose(arr, [dist["looking at"], dist["holding"], 0.0])


def test_unseen_pair_backs_off_to_subject_and_unknown_class_to_marginal(subset_prior: PredicatePrior):
    assert subset_prior.level("adult", "child") == "pair"
    assert subset_prior.level("adult", "table") == "subject"  # adults are subjects, never of a table
    assert np.allclose(subset_prior.distribution("adult", "table"), subset_prior.subject_distribution("adult"))
    for s, o in [("subject", "object 3"), ("my red kite", "child"), ("table", "adult")]:
        assert subset_prior.level(s, o) == "marginal"
        assert np.allclose(subset_prior.distribution(s, o), subset_prior.marginal())
        assert np.allclose(subset_prior.lift(s, o), 1.0)  # neutral in fusion
    lift = subset_prior.lift("adult", "child", ("holding", "kicking", "nope"))
    assert lift[0] > 1.0 > lift[1] and lift[2] == 1.0


def test_every_distribution_sums_to_one_and_is_positive(subset_prior: PredicatePrior):
    for s, o in [("adult", "child"), ("adult", "table"), ("cake", "table"), ("subject", "object"), ("x", "y")]:
        dist = subset_prior.distribution(s, o)
        assert dist.shape == (P,) and math.isclose(dist.sum(), 1.0) and (dist > 0).all()
        assert math.isclose(sum(subset_prior.prob(s, o).values()), 1.0)


def test_save_load_round_trip(subset_prior: PredicatePrior, tmp_path: Path):
    path = subset_prior.save(tmp_path / "sub" / "prior.json")
    assert path.stat().st_size < 10_000
    loaded = PredicatePrior.load(path)
    assert loaded.metadata == subset_prior.metadata and loaded.alpha == subset_prior.alpha
    assert loaded.counts == subset_prior.counts and loaded.predicates == subset_prior.predicates
    for s, o in [("adult", "child"), ("adult", "table"), ("subject", "object 3")]:
        assert np.allclose(loaded.distribution(s, o), subset_prior.distribution(s, o))
    assert DEFAULT_PRIOR_PATH.name == "predicate_prior.json" and DEFAULT_PRIOR_PATH.parent.name == "weights"


def test_split_errors(subset_json: Path):
    with pytest.raises(PriorError, match="no split 'test'.*train, val"):
        PredicatePrior.build(subset_json, split="test")
    with pytest.raises(PriorError, match="no usable relations"):  # "val" exists but holds no video here
        PredicatePrior.build(subset_json, split="val")
    assert issubclass(PriorError, Click2GraphError)


# -- generated pvsg-style files ---------------------------------------------------------------------------------


def test_build_from_a_generated_file(tmp_path: Path):
    relations = [
        [1, 2, "kicking", [[0, 5]]],
        [1, 2, "kicking", [[10, 12]]],
        [1, 2, "holding", [[6, 9]]],
        [2, 3, "on", [[0, 19]]],
        [1, 4, "not a predicate", [[0, 1]]],  # skipped
        [1, 9, "holding", [[0, 1]]],  # no object 9: skipped
    ]
    path = tiny_pvsg(tmp_path / "pvsg.json", relations)
    prior = PredicatePrior.build(tmp_path, split="val", alpha=2.0)  # the folder works too
    assert prior.metadata["num_relations"] == 4 and prior.metadata["skipped_relations"] == 2
    assert prior.count("adult", "ball", "kicking") == 2 and prior.count("ball", "floor") == 1
    n = {"kicking": 2, "holding": 1, "on": 1}  # N = 4 -> P(p) = (n + 1) / (4 + 57)
    marginal = np.array([(n.get(p, 0) + 1) / 61 for p in OPENPVSG.predicates])
    assert np.allclose(prior.marginal(), marginal)
    k = OPENPVSG.predicates.index("kicking")
    p_s = (2 + 2 * marginal[k]) / (3 + 2)  # adult: kicking 2, holding 1; alpha 2
    assert math.isclose(prior.prob("adult", "ball")["kicking"], (2 + 2 * p_s) / (3 + 2))
    assert prior.level("adult", "dog") == "subject"
    assert PredicatePrior.build(path, split="all").metadata["num_relations"] == 4
    with pytest.raises(PriorError, match="no usable relations"):
        PredicatePrior.build(path, split="train")


def test_build_errors_for_unreadable_files(tmp_path: Path):
    with pytest.raises(PriorError, match="no annotation file"):
        PredicatePrior.build(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(PriorError, match="not a readable"):
        PredicatePrior.build(bad)
    with pytest.raises(PriorError, match="no usable relations"):
        PredicatePrior.build(tiny_pvsg(tmp_path / "empty.json", []), split="val")


def test_load_errors(tmp_path: Path):
    with pytest.raises(PriorError, match="prior build"):
        PredicatePrior.load(tmp_path / "none.json")
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(PriorError, match="not a predicate prior"):
        PredicatePrior.load(foreign)
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps({"format": "click2graph.predicate_prior", "version": 1, "predicates": ["on"]}))
    with pytest.raises(PriorError, match="damaged"):
        PredicatePrior.load(damaged)


def test_from_triplets_and_validation():
    prior = PredicatePrior.from_triplets([("a", "b", "on"), ("a", "b", "on")], predicates=("on", "in"))
    assert math.isclose(prior.marginal()[0], 3 / 4)
    assert math.isclose(prior.prob("a", "b")["on"], (2 + (2 + 0.75) / 3) / 3)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        PredicatePrior.from_triplets([("a", "b", "over")], predicates=("on",))


def test_prior_command_builds_and_prints_a_summary(tmp_path: Path, capsys):
    path = tiny_pvsg(tmp_path / "pvsg.json", [[1, 2, "kicking", [[0, 5]]], [2, 3, "on", [[0, 19]]]])
    out = tmp_path / "w" / "prior.json"
    assert main(["prior", "build", str(path), "--split", "val", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "1 videos, 2 relations" in text and "kicking 1 (50.0%)" in text and str(out) in text
    assert PredicatePrior.load(out).count("adult", "ball", "kicking") == 1
    assert main(["prior", "build", str(path), "--split", "nope", "--out", str(out)]) == 2
    assert "error: pvsg.json has no split 'nope'" in capsys.readouterr().err
