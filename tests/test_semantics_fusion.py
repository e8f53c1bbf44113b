"""Tests for click2graph/semantics/fusion.py: calibration, fusion, the prior factor, supporters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from click2graph.semantics.fusion import (
    Calibration,
    apply_prior,
    columns_by_predicate,
    fuse,
    prior_factor,
    supporting_scorers,
)

nan = np.nan


def close(a, b) -> bool:
    return np.allclose(np.asarray(a, float), np.asarray(b, float), equal_nan=True, atol=1e-12)


# -- calibration -------------------------------------------------------------------------------------------


def test_identity_calibration_keeps_values_and_nan():
    cal = Calibration.identity()
    assert close(cal([0.0, 0.3, 1.0, nan, 1.2, -0.1]), [0.0, 0.3, 1.0, nan, 1.0, 0.0])


def test_linear_calibration_is_a_sigmoid():
    cal = Calibration("linear", 2.0, -1.0)
    assert close(cal([0.5, nan, 1.0]), [0.5, nan, 1 / (1 + math.exp(-1.0))])


def test_softmax_calibration_is_ratio_to_chance():
    cal = Calibration.softmax(57)  # r / (r + 10), r = 57 x
    assert close(cal([1 / 57, 10 / 57, 1.0, nan]), [1 / 11, 0.5, 57 / 67, nan])
    small = Calibration.softmax(4)  # r0 = min(10, 4 / 2) = 2: 0.5 at a 50% share
    assert close(small([0.5, 0.75, 1 / 12]), [0.5, 3 / 5, 1 / 7])
    assert close(Calibration.softmax(57, chance_ratio=2.0)([2 / 57]), [0.5])


def test_calibration_round_trips_as_dict():
    cal = Calibration.softmax(57)
    assert Calibration.from_dict(cal.to_dict()) == cal
    with pytest.raises(ValueError):
        Calibration("cubic")


# -- fusion --------------------------------------------------------------------------------------------------


def test_fuse_one_scorer_is_identity():
    col = np.array([0.2, nan, 0.7, 1.0, 0.0])
    assert close(fuse({"geometric": col}), col)


def test_fuse_two_scorers_weighted_mean_of_finite():
    columns = {"geometric": np.array([0.8, nan, 0.2, nan]), "clip": np.array([0.4, 0.6, nan, nan])}
    assert close(fuse(columns), [0.6, 0.6, 0.2, nan])
    assert close(fuse(columns, {"geometric": 3.0}), [0.7, 0.6, 0.2, nan])  # clip keeps weight 1
    assert close(fuse(columns, {"clip": 0.0}), [0.8, nan, 0.2, nan])  # weight 0 = ignored


def test_fuse_rejects_bad_input():
    with pytest.raises(ValueError):
        fuse({})
    with pytest.raises(ValueError, match="length"):
        fuse({"a": np.zeros(3), "b": np.zeros(4)})
    with pytest.raises(ValueError, match="weight"):
        fuse({"a": np.zeros(3)}, {"a": -1.0})


def test_prior_factor_is_clipped_and_tempered():
    assert prior_factor(None) == 1.0 and prior_factor(1.0) == 1.0 and prior_factor(nan) == 1.0
    assert math.isclose(prior_factor(4.0), 2.0) and math.isclose(prior_factor(100.0), 2.0)
    assert math.isclose(prior_factor(0.25), 0.5) and math.isclose(prior_factor(0.001), 0.5)
    assert math.isclose(prior_factor(4.0, prior_weight=1.0), 4.0)
    assert prior_factor(4.0, prior_weight=0.0) == 1.0


def test_prior_lifts_a_weak_score_but_creates_nothing():
    col = np.array([0.4, 0.2, 0.0, nan, 1.0])
    lifted = fuse({"clip": col}, prior=4.0)  # F = 2 on the odds
    assert close(lifted, [0.8 / 1.4, 0.4 / 1.2, 0.0, nan, 1.0])
    assert lifted[0] >= 0.5 > col[0]  # a weak 0.4 now turns a relation on ...
    assert lifted[1] < 0.5  # ... a 0.2 does not
    damped = fuse({"clip": col}, prior=0.25)  # F = 0.5
    assert close(damped, [0.2 / 0.8, 0.1 / 0.9, 0.0, nan, 1.0])
    assert close(fuse({"clip": col}, prior=1.0), col)  # neutral
    all_nan = fuse({"a": np.full(3, nan), "b": np.full(3, nan)}, prior=4.0)
    assert np.isnan(all_nan).all()


def test_apply_prior_is_monotone_and_bounded():
    q = np.linspace(0, 1, 11)
    out = apply_prior(q, 2.0)
    assert (np.diff(out) > 0).all() and out[0] == 0.0 and out[-1] == 1.0 and (out >= q).all()


# -- bookkeeping --------------------------------------------------------------------------------------------


def test_columns_by_predicate_regroups_scorer_outputs():
    geometric = np.array([[0.1, 0.9], [0.2, 0.8]])
    clip = np.array([[0.3, 0.4, 0.5], [0.6, 0.7, 0.8]])
    table = columns_by_predicate([("geometric", ("on", "touching"), geometric), ("clip", ("holding", "on", "x"), clip)])
    assert list(table) == ["holding", "on", "touching", "x"]
    assert list(table["on"]) == ["geometric", "clip"]
    assert close(table["on"]["geometric"], [0.1, 0.2]) and close(table["on"]["clip"], [0.4, 0.7])
    with pytest.raises(ValueError):
        columns_by_predicate([("bad", ("on",), clip)])


def test_supporting_scorers_reach_the_threshold_on_given_frames():
    columns = {
        "geometric": np.array([0.9, 0.1, nan, 0.2]),
        "clip": np.array([0.1, 0.6, 0.7, nan]),
        "other": np.array([nan, nan, nan, nan]),
    }
    assert supporting_scorers(columns, np.array([True, True, False, False])) == ["geometric", "clip"]
    assert supporting_scorers(columns, [2, 3]) == ["clip"]
    assert supporting_scorers(columns, [1], threshold=0.65) == []
    assert supporting_scorers(columns, []) == []
