"""What the classic tracker does at a shot cut: forget where the object was and what surrounded it.

Across a cut, flow, the camera's motion, the object's velocity, its extent and the local colour windows describe
the previous shot: carried over, they put the object's prediction on whatever now lies there (a look-alike in the
new scene). At a cut the object is therefore lost at once, with no position, and only the whole-frame search by its
own colours (the tracker's re-acquisition) can bring it back; the search is stricter than after an ordinary loss,
since the background model is learned afresh from the whole new frame, so only colours the object holds far more
often than the new scene count as evidence for it.
"""

from __future__ import annotations

import numpy as np

from click2graph.segment.classic_energy import ColourModel
from click2graph.segment.classic_features import FrameFeatures
from click2graph.segment.classic_texture import TextureModel


def crosses_cut(feat: FrameFeatures, t_prev: int, t: int) -> bool:
    """Whether a shot cut lies between the neighbouring frames ``t_prev`` and ``t`` (either direction)."""
    return max(t_prev, t) in feat.flows.shot_starts()


def forget_shot(model, feat: FrameFeatures, t: int, patience: int) -> None:
    """Reset ``model`` (an :class:`~click2graph.segment.classic_track.ObjectModel`) for the new shot starting at
    frame ``t``: no extent, motion or local windows, the background learned from the whole frame, and lost for
    ``patience`` frames, so that the tracker searches the whole frame for the object at once."""
    _, bins = feat.frame(t)
    model.extent = np.zeros(feat.proc_hw, bool)
    model.windows = None
    model.relative_motion = np.zeros(2)
    model.camera_shift = np.zeros(2)
    model.motion_frames = 0
    model.lost_frames = patience
    model.bg = ColourModel.fit(bins)
    if model.bg_tex is not None:
        model.bg_tex = TextureModel.fit(feat.texture(t))
