"""What the classic tracker does at a shot cut: forget where the object was and what surrounded it.

Across a cut, flow, the camera's motion, the object's velocity, its extent and the local colour windows describe
the previous shot: carried over, they put the object's prediction on whatever now lies there (a look-alike in the
new scene). At a cut the object is therefore lost at once, with no position, and until it is found again only the
tracker's whole-frame search by its colours may bring it back, under two stricter conditions than after an
ordinary loss:

* the background model is learned afresh from the whole new frame, so only colours the object holds far more
  often than the new scene count as evidence for it;
* the piece found must have the object's whole colour distribution, not just some of its colours: the
  Bhattacharyya coefficient between the piece's colour histogram and the object's must reach ``MIN_MATCH``.
  Measured against the frame-0 model of each of the 12 DAVIS development subjects, the subject's true mask on its
  later frames gives a median of 0.96 to 0.99 per sequence (0.80 on motocross-bumps, whose colours change most);
  the pieces the search took in the other sequence of a splice (``python -m click2graph.bench shots``) a median of
  0.75 to 0.92.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from click2graph.segment.classic_energy import ColourModel
from click2graph.segment.classic_features import FrameFeatures
from click2graph.segment.classic_texture import TextureModel

MIN_MATCH = 0.93


def across_cut(
    feat: FrameFeatures, model, t_prev: int, t: int, patience: int, search: Callable[[], np.ndarray]
) -> np.ndarray | None:
    """The object's mask on frame ``t`` when the step from ``t_prev`` crosses a shot cut, or the object has not
    been found since one; None otherwise (the step is an ordinary one).

    ``model`` is the tracker's :class:`~click2graph.segment.classic_track.ObjectModel`, updated in place;
    ``search`` runs the tracker's search for a lost object on frame ``t`` (with ``model`` lost for longer than
    ``patience`` frames it covers the whole frame) and returns what it found, possibly nothing.
    """
    if max(t_prev, t) in feat.flows.shot_starts():
        _forget_shot(model, feat, t, patience)
    elif model.extent.any():
        return None
    found = search()
    if found.any() and _match(model.fg, ColourModel.fit(feat.frame(t)[1][found])) < MIN_MATCH:
        _forget_place(model, patience)
        return np.zeros_like(found)
    return found


def _match(a: ColourModel, b: ColourModel) -> float:
    """Bhattacharyya coefficient of two colour models: 1 for the same colours in the same proportions."""
    return float(np.sqrt(a.prob * b.prob).sum())


def _forget_shot(model, feat: FrameFeatures, t: int, patience: int) -> None:
    """Reset ``model`` for the new shot starting at frame ``t``: the background learned from the whole frame, and
    no place (:func:`_forget_place`)."""
    _, bins = feat.frame(t)
    model.bg = ColourModel.fit(bins)
    if model.bg_tex is not None:
        model.bg_tex = TextureModel.fit(feat.texture(t))
    _forget_place(model, patience)


def _forget_place(model, patience: int) -> None:
    """No extent, motion or local windows, and lost for ``patience`` frames: the next search covers the frame."""
    model.extent = np.zeros_like(model.extent)
    model.windows = None
    model.relative_motion = np.zeros(2)
    model.camera_shift = np.zeros(2)
    model.motion_frames = 0
    model.lost_frames = patience
