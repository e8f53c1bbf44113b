"""Ground truth for the discovery benchmark: frames whose kept proposals can be judged, by kind of annotation.

* ``objects``: subject and objects annotated separately (DAVIS-2017 frames, our synthetic clips): a proposal is
  a real object when it matches a non-subject object at IoU >= 0.5.
* ``merged``: DAVIS-2016 sequences whose one mask is the subject together with the object it uses (a rider and
  the bike): a proposal can only be told to be on that mask or off it (background).
* ``subject``: DAVIS-2016 sequences annotating the subject alone (an animal, a dancer): a proposal on the mask is
  a part of the subject; one off it is background or an object nobody annotated.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from click2graph import synth
from click2graph.bench.tracking import SEQUENCES, load_davis
from click2graph.video import Video, VideoPolicy, load_video

MERGED = ("bmx-trees", "motocross-bumps", "scooter-black", "tennis")  # 2016 GT = subject + what it uses
OBJECT_FRAMES = (  # DAVIS-2017 frames: (sequence, frame, subject id); every other id is an object
    ("bmx-trees", 0, 2),
    ("tennis", 18, 1),
    ("tennis", 19, 1),
)


@dataclass(frozen=True)
class GtFrame:
    """One annotated frame of a video.

    Attributes:
        subject: bool (H, W) GT subject; for ``merged`` frames the merged mask (the click lands on it).
        objects: bool (H, W) masks of the other annotated objects (``objects`` frames only).
        foreground: bool (H, W) everything annotated (subject and objects).
    """

    t: int
    subject: np.ndarray
    objects: tuple[np.ndarray, ...]
    foreground: np.ndarray


@dataclass(frozen=True)
class GtVideo:
    """A video and its annotated frames, all of one ``kind`` (see the module docstring)."""

    name: str
    kind: str
    video: Video
    frames: tuple[GtFrame, ...]


def davis_videos(davis: Path, step: int, sequences: tuple[str, ...] = SEQUENCES) -> Iterator[GtVideo]:
    """The DAVIS-2016 development sequences present under ``davis`` (every ``step``-th frame), then the DAVIS-2017
    multi-object frames."""
    for seq in sequences:
        if not (davis / "Annotations" / "480p" / seq).is_dir():
            continue
        video, gt = load_davis(davis, seq)
        frames = tuple(GtFrame(t, gt[t], (), gt[t]) for t in range(0, len(video), step) if gt[t].any())
        yield GtVideo(seq, "merged" if seq in MERGED else "subject", video, frames)
    policy = VideoPolicy(target_fps=None, max_duration_s=None)
    for seq, t, subject_id in OBJECT_FRAMES:
        path = davis / "Annotations_2017" / "480p" / seq / f"{t:05d}.png"
        if seq not in sequences or not path.is_file():
            continue
        ids = np.array(Image.open(path))  # palette PNG: object ids (255 = void)
        objects = tuple(ids == k for k in np.unique(ids) if k not in (0, 255, subject_id))
        frame = GtFrame(t, ids == subject_id, objects, (ids > 0) & (ids != 255))
        yield GtVideo(f"{seq} {t} (2017)", "objects", load_video(davis / "JPEGImages" / "480p" / seq, policy), (frame,))


def synthetic_videos(step: int) -> Iterator[GtVideo]:
    """Our synthetic clips (exact ground truth, subject = :data:`synth.SUBJECT_ID`), every ``step``-th frame."""
    for name in synth.CLIPS:
        clip = synth.render_clip(name)
        video = Video.from_frames(clip.frames, clip.fps, source=name)
        frames = []
        for t in range(0, len(video), step):
            labels = clip.labels[t]
            ids = [k for k in np.unique(labels) if k not in (0, synth.SUBJECT_ID)]
            frames.append(GtFrame(t, labels == synth.SUBJECT_ID, tuple(labels == k for k in ids), labels > 0))
        yield GtVideo(f"synth {name}", "objects", video, tuple(frames))
