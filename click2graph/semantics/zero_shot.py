"""Zero-shot predicate scorer: an image-text embedder (CLIP-style) compares the pair's union crop with one
sentence per predicate.

For an ordered pair (subject A, object B):

1. **Frames.** The co-presence runs (maximal runs of frames where both masks are non-empty) are sampled every
   ``frame_step`` frames, both ends of each run included; when that gives more than ``max_samples`` frames
   the step grows until it fits (and past that, one frame per run, evenly chosen among the runs).
2. **Crops.** On each sampled frame the :func:`~click2graph.semantics.embedder.union_crop` of the two masks
   (the box around both, padded, pixels untouched); all crops of the pair go to the embedder in **one**
   ``embed_images`` call.
3. **Texts.** One prompt per predicate from the two labels, ``"a photo of {A} {predicate} {B}."``, e.g.
   "a photo of an adult holding a child.", "a photo of a cat on the floor." (stuff classes take "the").
   Default labels carry no class, so they become generic words: "subject", "subject 2" -> "someone",
   "object 3" -> "something". A few OpenPVSG predicates are reworded to read naturally
   (:data:`PREDICATE_PHRASES`). Text embeddings are cached per (subject label, object label).
4. **Scores.** ``softmax(logit_scale * cosine)`` over the predicates, then the scorer's
   :class:`~click2graph.semantics.fusion.Calibration` (default: ratio to chance, ``r / (r + 10)`` with
   ``r = P * softmax``; see :mod:`click2graph.semantics.fusion`), so outputs are comparable with the geometric
   scorer's and with the smoothing thresholds.
5. **Filling.** Frames between samples get the linear interpolation of the calibrated scores of the samples
   around them *within the same co-presence run* (constant beyond a run's outer samples); a run without a
   sample (only when runs outnumber ``max_samples``) takes its nearest sample's scores. Frames where either
   entity is absent are NaN.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from click2graph.semantics.base import EntityView
from click2graph.semantics.embedder import ImageTextEmbedder, union_crop
from click2graph.semantics.fusion import Calibration
from click2graph.semantics.vocab import OPENPVSG

DEFAULT_TEMPLATE = "a photo of {subject} {predicate} {object}."
PREDICATE_PHRASES = {  # OpenPVSG predicate -> how the prompt says it (everything else is used verbatim)
    "shaking hand with": "shaking hands with",
    "picking": "picking up",
}
_DEFAULT_LABEL = re.compile(r"(subject|object)(\s+\d+)?", re.IGNORECASE)
_GENERIC = {"subject": "someone", "object": "something", "others": "something"}
_ARTICLES = ("a ", "an ", "the ")


def noun_phrase(label: str) -> str:
    """How a label reads in a prompt: "adult" -> "an adult", "floor" (stuff) -> "the floor", "object 3" ->
    "something", "subject" -> "someone"; labels that already start with an article are kept."""
    text = " ".join(label.strip().split())
    match = _DEFAULT_LABEL.fullmatch(text)
    if match:
        return _GENERIC[match.group(1).lower()]
    if not text or text.lower() in _GENERIC:
        return _GENERIC.get(text.lower(), "something")
    if text.lower().startswith(_ARTICLES):
        return text
    if text in OPENPVSG.stuff_classes:
        return f"the {text}"
    return f"{'an' if text[0].lower() in 'aeiou' else 'a'} {text}"


def predicate_prompts(
    subject_label: str, object_label: str, predicates: Sequence[str], template: str = DEFAULT_TEMPLATE
) -> list[str]:
    """One prompt per predicate, in order."""
    subject, obj = noun_phrase(subject_label), noun_phrase(object_label)
    return [template.format(subject=subject, predicate=PREDICATE_PHRASES.get(p, p), object=obj) for p in predicates]


def copresence_runs(present: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive runs of True: [F, T, T, F, T] -> [(1, 2), (4, 4)]."""
    padded = np.concatenate([[False], np.asarray(present, dtype=bool), [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(s), int(e) - 1) for s, e in zip(edges[::2], edges[1::2])]


def _run_samples(start: int, end: int, step: int) -> list[int]:
    """Evenly spaced frames from ``start`` to ``end`` (both included), at most ``step`` apart."""
    n = math.ceil((end - start) / step) + 1
    return sorted({int(round(v)) for v in np.linspace(start, end, n)})


def sample_frames(runs: Sequence[tuple[int, int]], frame_step: int, max_samples: int) -> list[int]:
    """Frames to embed for a pair with these co-presence runs (see the module docstring), sorted."""
    if not runs:
        return []
    longest = max(end - start for start, end in runs)
    step = frame_step
    while True:
        samples = [t for start, end in runs for t in _run_samples(start, end, step)]
        if len(samples) <= max_samples:
            return samples
        if step > longest:  # every run is down to its ends: fall back to one frame per run
            break
        step += max(1, step // 4)
    middles = [(start + end) // 2 for start, end in runs]
    if len(middles) <= max_samples:
        return middles
    picks = np.unique(np.linspace(0, len(middles) - 1, max_samples).round().astype(int))
    return [middles[i] for i in picks]


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class ZeroShotPredicateScorer:
    """A :class:`~click2graph.semantics.base.PredicateScorer` from an :class:`ImageTextEmbedder`.

    Args:
        embedder: images and texts in one space (CLIP-style).
        frames: uint8 RGB (T, H, W, 3) working frames, the size of the entities' masks.
        predicates: the predicates to score, in column order (default: OpenPVSG's 57).
        name: recorded in ``Relation.sources``.
        frame_step: frames between samples inside a co-presence run.
        max_samples: at most this many crops per pair (one ``embed_images`` call).
        calibration: maps the softmax to calibrated probabilities; default
            ``Calibration.softmax(len(predicates))``.
        template: prompt with ``{subject}``, ``{predicate}`` and ``{object}``.
        pad: padding of the union crop, as a fraction of the union box's size.
    """

    def __init__(
        self,
        embedder: ImageTextEmbedder,
        frames: np.ndarray | Sequence[np.ndarray],
        predicates: Sequence[str] = OPENPVSG.predicates,
        name: str = "clip",
        *,
        frame_step: int = 3,
        max_samples: int = 16,
        calibration: Calibration | None = None,
        template: str = DEFAULT_TEMPLATE,
        pad: float = 0.1,
    ) -> None:
        if frame_step < 1 or max_samples < 1:
            raise ValueError(f"need frame_step >= 1 and max_samples >= 1, got {frame_step}, {max_samples}")
        if not predicates:
            raise ValueError("a zero-shot scorer needs at least one predicate")
        self.embedder = embedder
        self.frames = frames
        self.predicates: tuple[str, ...] = tuple(predicates)
        self.name = name
        self.frame_step = frame_step
        self.max_samples = max_samples
        self.calibration = calibration or Calibration.softmax(len(self.predicates))
        self.template = template
        self.pad = pad
        self._texts: dict[tuple[str, str], np.ndarray] = {}
        # Image embeddings of a pair's sampled crops, kept while both entities' masks stay the same (a relabel
        # then costs text embeddings only).
        self._images: dict[tuple[int, int, int, int], tuple[list[int], np.ndarray]] = {}

    def prompts(self, subject_label: str, object_label: str) -> list[str]:
        """The prompts of a pair of labels, one per predicate."""
        return predicate_prompts(subject_label, object_label, self.predicates, self.template)

    def text_embeddings(self, subject_label: str, object_label: str) -> np.ndarray:
        """float (P, D) prompt embeddings of a pair of labels, embedded once per pair of labels."""
        key = (subject_label, object_label)
        if key not in self._texts:
            texts = np.asarray(self.embedder.embed_texts(self.prompts(*key)), dtype=float)
            if texts.shape[0] != len(self.predicates):
                raise ValueError(f"embed_texts returned {texts.shape[0]} rows for {len(self.predicates)} prompts")
            self._texts[key] = texts
        return self._texts[key]

    def score_pair(self, subject: EntityView, obj: EntityView, num_frames: int) -> np.ndarray:
        """float (num_frames, len(predicates)) calibrated scores in [0, 1]; NaN where either entity is absent."""
        scores = np.full((num_frames, len(self.predicates)), np.nan)
        present = np.array([subject.present(t) and obj.present(t) for t in range(num_frames)], dtype=bool)
        runs = copresence_runs(present)
        if not runs:
            return scores
        if runs[-1][1] >= len(self.frames):
            raise ValueError(f"entities are present on frame {runs[-1][1]} but only {len(self.frames)} frames given")
        frame_hw = tuple(np.asarray(self.frames[runs[0][0]]).shape[:2])
        for view in (subject, obj):
            if view.frame_hw is not None and tuple(view.frame_hw) != frame_hw:
                raise ValueError(f"entity {view.entity_id} has masks of size {view.frame_hw}, frames are {frame_hw}")
        samples, images = self._pair_images(subject, obj, runs)
        texts = self.text_embeddings(subject.entity.label, obj.entity.label)
        probs = _softmax(float(self.embedder.logit_scale) * images @ texts.T)
        calibrated = self.calibration.apply(probs)  # (N, P)
        _fill(scores, runs, np.asarray(samples), calibrated)
        return scores

    def _pair_images(
        self, subject: EntityView, obj: EntityView, runs: Sequence[tuple[int, int]]
    ) -> tuple[list[int], np.ndarray]:
        """Sampled frames and the embeddings of their union crops (one ``embed_images`` call), cached."""
        key = (subject.entity_id, obj.entity_id, subject.entity.mask_signature(), obj.entity.mask_signature())
        if key not in self._images:
            samples = sample_frames(runs, self.frame_step, self.max_samples)
            crops = []
            for t in samples:
                crop = union_crop(np.asarray(self.frames[t]), subject.entity.mask(t), obj.entity.mask(t), self.pad)
                if crop is None:  # cannot happen for co-present frames; kept as a guard
                    raise ValueError(f"frame {t}: empty mask on a co-present frame")
                crops.append(crop)
            self._images[key] = samples, np.asarray(self.embedder.embed_images(crops), dtype=float)
        return self._images[key]


def _fill(scores: np.ndarray, runs: Sequence[tuple[int, int]], samples: np.ndarray, values: np.ndarray) -> None:
    """Write sample values into ``scores`` and interpolate them over each co-presence run (see module docs)."""
    for start, end in runs:
        frames = np.arange(start, end + 1)
        inside = (samples >= start) & (samples <= end)
        if inside.any():
            ts, vs = samples[inside], values[inside]
            for j in range(values.shape[1]):
                scores[start : end + 1, j] = np.interp(frames, ts, vs[:, j])
        else:
            nearest = np.abs(samples[None, :] - frames[:, None]).argmin(axis=1)  # ties -> the earlier sample
            scores[start : end + 1] = values[nearest]
