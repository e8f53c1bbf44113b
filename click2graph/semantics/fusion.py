"""Calibration and fusion: one interface that turns every scorer's per-frame outputs into one score per predicate.

Three steps, the same for every :class:`~click2graph.semantics.base.PredicateScorer`:

1. **Calibration** (:class:`Calibration`, applied by the scorer or by the caller). Each scorer's raw outputs are
   mapped to probabilities that mean the same thing across scorers ("the predicate holds on this frame"), so
   that one threshold (the smoothing's ``on`` = 0.5) and one fusion rule fit all of them:

   * the geometric scorer's ramps are already probability-like in [0, 1]: **identity**;
   * a zero-shot softmax over P predicates sits near chance ``1/P`` (0.018 for OpenPVSG's 57) even for the
     winner, so its raw value cannot be compared with a threshold of 0.5. It is mapped through the *ratio to
     chance* ``r = P * x``: ``sigmoid(a * log(r) + b)``. The default ``a = 1, b = -log(10)`` is
     ``r / (r + 10)``: chance (r = 1) gives 0.09, ten times chance (x = 0.175 for P = 57) gives 0.5, a
     certain winner (x = 1) gives 0.85. It is a hand-set prior, not fitted (for fewer than 20 predicates the
     half-point is a 50% share instead: ``b = -log(P / 2)``).

2. **Fusion** (:func:`fuse`): per predicate and frame, the **weighted mean** of the calibrated scores of the
   scorers that have a finite value there (a linear opinion pool); NaN where none has. Why a mean and not a
   noisy-OR: the scorers look at the same pixels, so their errors are correlated, not independent causes. A
   noisy-OR would count a shared mistake twice and would raise every score just because another scorer was
   plugged in; a mean of calibrated probabilities stays calibrated, is bounded by its inputs, and lets a
   confident scorer be outvoted only in proportion to the weights. A scorer that does not produce a predicate
   simply has no column for it and so does not dilute it; weights (per scorer, and the caller may pass
   different ones per predicate) express how much each scorer is trusted.

3. **Class prior** (the ``prior`` argument of :func:`fuse`): the pair's *lift* for the predicate,
   ``L = P(p | subject class, object class) / P(p)`` (:meth:`click2graph.semantics.prior.PredicatePrior.lift`),
   applied as a multiplicative factor on the **odds** of the fused score:
   ``odds' = odds * F`` with ``F = clip(L, 1/max_lift, max_lift) ** prior_weight``. ``L > 1`` (the classes
   make the predicate more likely than usual) lifts, ``L < 1`` damps, unknown classes give ``L = 1``
   (neutral). The defaults ``prior_weight = 0.5, max_lift = 4`` keep ``F`` in [0.5, 2]: a weak 0.4 can become
   0.57 and turn on, 0.2 only reaches 0.33. The prior never creates evidence alone: a score of 0 stays 0, NaN
   stays NaN, and 1 stays 1 (odds are multiplied, not probabilities added to). This is Bayes' rule with the
   calibrated score as the posterior under the dataset's base rate and ``L`` as the change of base rate that
   the classes bring (the odds ratio is approximated by the probability ratio, tempered by ``prior_weight``).

Everything here is numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

FEATURES = ("identity", "linear", "log_chance")

DEFAULT_PRIOR_WEIGHT = 0.5  # exponent lambda of the prior factor F = clip(lift) ** lambda
DEFAULT_MAX_LIFT = 4.0  # the lift is clipped to [1/4, 4] before the exponent: F in [0.5, 2] by default
ZERO_SHOT_CHANCE_RATIO = 10.0  # zero-shot calibration: r = P * x at which the score is 0.5 (at most P / 2)

_EPS = 1e-12


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # numerically stable logistic


@dataclass(frozen=True)
class Calibration:
    """Maps one scorer's raw per-frame outputs to calibrated probabilities in [0, 1] (NaN stays NaN).

    Attributes:
        feature: what ``a, b`` act on. ``"identity"``: the raw value, clipped to [0, 1], ``a, b`` unused (the
            geometric scorer). ``"linear"``: ``sigmoid(a * x + b)`` (Platt scaling of a raw score).
            ``"log_chance"``: ``sigmoid(a * log(num_classes * x) + b)`` for softmax outputs over
            ``num_classes`` classes (ratio to chance, see the module docstring).
        a, b: slope and offset of the sigmoid.
        num_classes: number of softmax classes, for ``"log_chance"``.
    """

    feature: str = "identity"
    a: float = 1.0
    b: float = 0.0
    num_classes: int = 1

    def __post_init__(self) -> None:
        if self.feature not in FEATURES:
            raise ValueError(f"feature must be one of {FEATURES}, got {self.feature!r}")
        if self.feature == "log_chance" and self.num_classes < 1:
            raise ValueError(f"log_chance needs num_classes >= 1, got {self.num_classes}")
        if not (math.isfinite(self.a) and math.isfinite(self.b)):
            raise ValueError(f"a and b must be finite, got a={self.a}, b={self.b}")

    @classmethod
    def identity(cls) -> Calibration:
        """Scores that are already probabilities (the geometric scorer)."""
        return cls("identity")

    @classmethod
    def softmax(cls, num_classes: int, chance_ratio: float | None = None) -> Calibration:
        """Default for a softmax over ``num_classes``: ``r / (r + r0)`` with ``r = num_classes * x``, i.e. 0.5 at
        ``r0`` times chance (``a = 1, b = -log(r0)``). ``r0 = chance_ratio``, by default
        ``min(10, num_classes / 2)``: ten times chance for OpenPVSG's 57 predicates (x = 0.175), and never more
        than a 50% share of the softmax for small vocabularies."""
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        r0 = min(ZERO_SHOT_CHANCE_RATIO, num_classes / 2) if chance_ratio is None else float(chance_ratio)
        if r0 <= 0:
            raise ValueError(f"chance_ratio must be > 0, got {r0}")
        return cls("log_chance", 1.0, -math.log(r0), int(num_classes))

    def feature_of(self, raw: np.ndarray) -> np.ndarray:
        """The value the sigmoid acts on (``x`` or ``log(num_classes * x)``); NaN stays NaN."""
        x = np.asarray(raw, dtype=float)
        if self.feature == "log_chance":
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.log(np.clip(x, _EPS, None) * self.num_classes)
        return x

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        return self.apply(raw)

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, same shape as ``raw``; NaN where ``raw`` is NaN."""
        x = np.asarray(raw, dtype=float)
        if self.feature == "identity":
            return np.clip(x, 0.0, 1.0)
        out = _sigmoid(self.a * self.feature_of(x) + self.b)
        return np.where(np.isnan(x), np.nan, out)

    def to_dict(self) -> dict:
        return {"feature": self.feature, "a": self.a, "b": self.b, "num_classes": self.num_classes}

    @classmethod
    def from_dict(cls, data: Mapping) -> Calibration:
        return cls(str(data["feature"]), float(data["a"]), float(data["b"]), int(data.get("num_classes", 1)))


def prior_factor(
    lift: float | None, prior_weight: float = DEFAULT_PRIOR_WEIGHT, max_lift: float = DEFAULT_MAX_LIFT
) -> float:
    """``F = clip(lift, 1/max_lift, max_lift) ** prior_weight``; 1.0 (neutral) for None or a non-finite lift."""
    if lift is None or not math.isfinite(lift) or prior_weight == 0.0:
        return 1.0
    if max_lift < 1.0 or prior_weight < 0.0:
        raise ValueError(f"need max_lift >= 1 and prior_weight >= 0, got {max_lift}, {prior_weight}")
    return float(min(max(lift, 1.0 / max_lift), max_lift) ** prior_weight)


def apply_prior(scores: np.ndarray, factor: float) -> np.ndarray:
    """Multiply the odds of ``scores`` by ``factor``: ``q F / (q F + 1 - q)``; 0, 1 and NaN are kept."""
    q = np.asarray(scores, dtype=float)
    if factor == 1.0:
        return q.copy()
    with np.errstate(invalid="ignore"):
        return q * factor / (q * factor + (1.0 - q))


def fuse(
    columns: Mapping[str, np.ndarray],
    weights: Mapping[str, float] | None = None,
    prior: float | None = None,
    prior_weight: float = DEFAULT_PRIOR_WEIGHT,
    *,
    max_lift: float = DEFAULT_MAX_LIFT,
) -> np.ndarray:
    """Fuse the calibrated scores of one predicate over its scorers, then apply the class prior.

    Args:
        columns: scorer name -> float (T,) calibrated scores in [0, 1] of this predicate, NaN where that scorer
            has no score (an entity is absent, or the frame was not scored).
        weights: scorer name -> weight >= 0; missing names weigh 1.0. A scorer with weight 0 is ignored.
        prior: the pair's lift for this predicate, ``P(p | s, o) / P(p)``
            (:meth:`~click2graph.semantics.prior.PredicatePrior.lift`); None or 1.0 = no prior.
        prior_weight: exponent of the prior factor (0 = ignore the prior).
        max_lift: the lift is clipped to ``[1/max_lift, max_lift]``.

    Returns:
        float (T,): per frame, the weighted mean of the finite scores, its odds multiplied by the prior factor
        (see the module docstring); NaN where no scorer with a positive weight has a finite score.
    """
    if not columns:
        raise ValueError("fuse needs at least one scorer column")
    weights = weights or {}
    stacked, w = [], []
    length = None
    for name, column in columns.items():
        column = np.asarray(column, dtype=float)
        if column.ndim != 1:
            raise ValueError(f"column {name!r} must be 1D (T,), got shape {column.shape}")
        if length is not None and column.shape[0] != length:
            raise ValueError(f"columns differ in length: {name!r} has {column.shape[0]}, expected {length}")
        length = column.shape[0]
        weight = float(weights.get(name, 1.0))
        if weight < 0.0 or not math.isfinite(weight):
            raise ValueError(f"weight of {name!r} must be finite and >= 0, got {weight}")
        stacked.append(column)
        w.append(weight)
    values = np.stack(stacked)  # (S, T)
    weight = np.array(w)[:, None] * np.isfinite(values)  # (S, T): a scorer counts only where it has a value
    total = weight.sum(axis=0)
    fused = np.full(values.shape[1], np.nan)
    ok = total > 0
    fused[ok] = (weight * np.nan_to_num(values, nan=0.0)).sum(axis=0)[ok] / total[ok]
    fused = np.clip(fused, 0.0, 1.0)
    return apply_prior(fused, prior_factor(prior, prior_weight, max_lift))


def columns_by_predicate(
    outputs: Iterable[tuple[str, Sequence[str], np.ndarray]],
) -> dict[str, dict[str, np.ndarray]]:
    """Regroup scorer outputs by predicate.

    Args:
        outputs: ``(scorer name, its predicates, its float (T, P) scores)`` per scorer.

    Returns:
        predicate -> {scorer name -> float (T,) column}, predicates sorted by name, scorers in input order.
    """
    table: dict[str, dict[str, np.ndarray]] = {}
    for name, predicates, scores in outputs:
        scores = np.asarray(scores, dtype=float)
        if scores.ndim != 2 or scores.shape[1] != len(predicates):
            raise ValueError(f"scorer {name!r}: scores of shape {scores.shape} for {len(predicates)} predicates")
        for i, predicate in enumerate(predicates):
            table.setdefault(predicate, {})[name] = scores[:, i]
    return {p: table[p] for p in sorted(table)}


def supporting_scorers(
    columns: Mapping[str, np.ndarray], frames: np.ndarray | Sequence[int], threshold: float = 0.5
) -> list[str]:
    """The scorers whose calibrated score reaches ``threshold`` on at least one of ``frames``.

    Args:
        columns: scorer name -> float (T,) calibrated scores of one predicate.
        frames: bool (T,) mask or frame indices (e.g. the frames inside a relation's spans).
        threshold: e.g. the smoothing's ``on``.

    Returns:
        Scorer names, in the order of ``columns`` (what a relation records as its ``sources``).
    """
    names = []
    for name, column in columns.items():
        column = np.asarray(column, dtype=float)
        frames_arr = np.asarray(frames)
        picked = column[frames_arr] if frames_arr.size else column[:0]
        if (np.nan_to_num(picked, nan=-np.inf) >= threshold).any():
            names.append(name)
    return names
