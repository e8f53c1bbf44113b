"""User prompts (clicks and boxes) and their mapping onto working frames.

Users give prompts in *original-video* coordinates: pixels of the input video and its original frame index.
:func:`to_frame_prompts` validates them against the video and converts them into :class:`FramePrompt` objects
in working-frame pixels, which is what a :class:`~click2graph.segment.VideoSegmenter` receives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np

from click2graph.errors import PromptError
from click2graph.video import Video, VideoInfo


@dataclass(frozen=True)
class Click:
    """A point on the subject (``positive``) or off it (negative), original pixels and original frame index."""

    x: float
    y: float
    frame_idx: int = 0
    positive: bool = True

    def to_dict(self) -> dict:
        return {"type": "click", "x": self.x, "y": self.y, "frame_idx": self.frame_idx, "positive": self.positive}


@dataclass(frozen=True)
class Box:
    """A box around the subject, ``(x0, y0)`` top-left and ``(x1, y1)`` bottom-right, original pixels."""

    x0: float
    y0: float
    x1: float
    y1: float
    frame_idx: int = 0

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return self.x0, self.y0, self.x1, self.y1

    def to_dict(self) -> dict:
        return {"type": "box", "xyxy": list(self.xyxy), "frame_idx": self.frame_idx}


Prompt = Union[Click, Box]


def prompt_values(values: Sequence, names: str) -> tuple[list[float], int]:
    """Finite pixel coordinates and the frame (default 0) of user values: one per name of ``names`` ("X,Y" for a
    click, "X0,Y0,X1,Y1" for a box), then an optional frame number; numbers or their text.

    Raises:
        ValueError: what is wrong (without the values, which the caller shows as the user wrote them).
    """
    count = len(names.split(","))
    if len(values) not in (count, count + 1):
        raise ValueError(f"expected {names} or {names},FRAME")
    frame = values[count] if len(values) > count else 0
    not_numbers = ValueError(f"expected numbers in {names}[,FRAME]")
    if any(isinstance(v, bool) for v in values) or (isinstance(frame, float) and not frame.is_integer()):
        raise not_numbers  # JSON's true and false are not numbers, nor is frame 2.5
    try:
        coordinates = [float(v) for v in values[:count]]
        frame = int(frame)
    except (TypeError, ValueError):
        raise not_numbers from None
    if not all(math.isfinite(v) for v in coordinates):
        raise ValueError("coordinates must be finite numbers")
    if frame < 0:
        raise ValueError("FRAME must be >= 0")
    return coordinates, frame


def click_from(values: Sequence, *, positive: bool = True) -> Click:
    """A click from ``[x, y]`` or ``[x, y, frame]`` (see :func:`prompt_values`)."""
    (x, y), frame = prompt_values(values, "X,Y")
    return Click(x, y, frame_idx=frame, positive=positive)


def box_from(values: Sequence) -> Box:
    """A box from ``[x0, y0, x1, y1]`` or ``[x0, y0, x1, y1, frame]`` (see :func:`prompt_values`)."""
    (x0, y0, x1, y1), frame = prompt_values(values, "X0,Y0,X1,Y1")
    return Box(x0, y0, x1, y1, frame_idx=frame)


def prompt_from_dict(data: dict) -> Prompt:
    """Inverse of ``Click.to_dict`` / ``Box.to_dict``."""
    if data.get("type") == "box":
        return Box(*data["xyxy"], frame_idx=int(data["frame_idx"]))
    if data.get("type") == "click":
        return Click(data["x"], data["y"], frame_idx=int(data["frame_idx"]), positive=bool(data["positive"]))
    raise PromptError(f"unknown prompt type {data.get('type')!r}; expected 'click' or 'box'")


@dataclass(frozen=True)
class FramePrompt:
    """All prompts for one object on one working frame, in working pixels (what a segmenter consumes).

    Attributes:
        frame_idx: working frame index.
        points_xy: float32 (N, 2) click positions, may be empty.
        labels: int32 (N,) 1 = positive, 0 = negative.
        box_xyxy: float32 (4,) or None.
    """

    frame_idx: int
    points_xy: np.ndarray
    labels: np.ndarray
    box_xyxy: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.points_xy.shape != (len(self.labels), 2):
            raise PromptError(f"points_xy must be (N, 2) with N = len(labels), got {self.points_xy.shape}")
        if len(self.labels) == 0 and self.box_xyxy is None:
            raise PromptError("a prompt needs at least one click or a box")
        if len(self.labels) and self.box_xyxy is None and not (self.labels == 1).any():
            raise PromptError("only negative clicks: add a positive click on the object (or a box) first")

    @classmethod
    def from_points(cls, frame_idx: int, points_xy, labels=None, box_xyxy=None) -> "FramePrompt":
        points = np.asarray(points_xy, dtype=np.float32).reshape(-1, 2)
        labels = np.ones(len(points), np.int32) if labels is None else np.asarray(labels, dtype=np.int32)
        box = None if box_xyxy is None else np.asarray(box_xyxy, dtype=np.float32).reshape(4)
        return cls(frame_idx=int(frame_idx), points_xy=points, labels=labels, box_xyxy=box)

    @property
    def positive_points_xy(self) -> np.ndarray:
        return self.points_xy[self.labels == 1]

    @property
    def negative_points_xy(self) -> np.ndarray:
        return self.points_xy[self.labels == 0]


def validate_prompt(
    prompt: Prompt, info: VideoInfo, region_xywh: tuple[float, float, float, float] | None = None
) -> None:
    """Raise :class:`PromptError` (with the valid range) if ``prompt`` does not fit the original video, or the
    picture inside its black bars (``region_xywh``, :attr:`click2graph.video.Video.region`) when they were left
    out."""
    coordinates = (prompt.x, prompt.y) if isinstance(prompt, Click) else getattr(prompt, "xyxy", ())
    if not all(math.isfinite(float(v)) for v in coordinates):
        raise PromptError(f"prompt coordinates must be finite numbers, got {tuple(coordinates)}")
    if not 0 <= prompt.frame_idx < info.num_frames:
        raise PromptError(f"frame {prompt.frame_idx} does not exist: the video has frames 0..{info.num_frames - 1}")
    w, h = info.width, info.height
    x0, y0, x1, y1 = _picture_bounds(info, region_xywh)
    if isinstance(prompt, Click):
        if not (0 <= prompt.x < w and 0 <= prompt.y < h):
            raise PromptError(
                f"click ({prompt.x:g}, {prompt.y:g}) is outside the {w}x{h} frame (x in 0..{w - 1}, y in 0..{h - 1})"
            )
        if not (x0 <= prompt.x < x1 and y0 <= prompt.y < y1):
            raise PromptError(
                f"click ({prompt.x:g}, {prompt.y:g}) is on the black bars around the picture: click inside it "
                f"(x in {x0:g}..{x1 - 1:g}, y in {y0:g}..{y1 - 1:g})"
            )
    elif isinstance(prompt, Box):
        if prompt.x1 <= prompt.x0 or prompt.y1 <= prompt.y0:
            raise PromptError(
                f"box {prompt.xyxy} is empty or inverted: expected x0 < x1 and y0 < y1 (top-left, bottom-right)"
            )
        if prompt.x1 <= 0 or prompt.y1 <= 0 or prompt.x0 >= w or prompt.y0 >= h:
            raise PromptError(f"box {prompt.xyxy} lies outside the {w}x{h} frame")
        if (min(prompt.x1, x1) - max(prompt.x0, x0)) < 2 or (min(prompt.y1, y1) - max(prompt.y0, y0)) < 2:
            where = "the frame" if region_xywh is None else "the picture (black bars around it are left out)"
            raise PromptError(f"box {prompt.xyxy} is smaller than 2 pixels inside {where}")
    else:
        raise PromptError(f"unknown prompt {prompt!r}; expected Click or Box")


def _picture_bounds(
    info: VideoInfo, region_xywh: tuple[float, float, float, float] | None
) -> tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)`` in original pixels of the picture the working frames show (the whole frame by default)."""
    if region_xywh is None:
        return 0.0, 0.0, float(info.width), float(info.height)
    left, top, width, height = region_xywh
    return left, top, left + width, top + height


def working_frame_of(frame_idx: int, video: Video) -> int:
    """The working frame that stands for original frame ``frame_idx``: the nearest one, as long as no more than one
    sampling step away (a frame the fps limit skipped); a frame past the trimmed end or before the first working
    frame is refused.

    Raises:
        PromptError: the frame lies outside the working frames, with their range.
    """
    orig = np.asarray(video.frame_indices_orig)
    step = int(np.max(np.diff(orig))) if len(orig) > 1 else 1
    if not orig[0] - step < frame_idx < orig[-1] + step:
        raise PromptError(
            f"frame {frame_idx} is outside the frames in use: original frames {int(orig[0])}..{int(orig[-1])} "
            f"({len(orig)} working frames{', the clip was trimmed' if video.trimmed else ''}); prompt a frame in "
            "that range, or allow a longer duration"
        )
    return video.work_index(frame_idx)


def to_frame_prompts(prompts: Sequence[Prompt], video: Video) -> list[FramePrompt]:
    """Validate prompts and group them per working frame, in working pixels.

    A prompt on an original frame that was not sampled lands on the nearest working frame; one outside the working
    frames (past a trimmed end) is refused. At most one box per frame is allowed (the last one wins, as in the
    SAM 2 demo).

    Raises:
        PromptError: no prompts, or a prompt outside the video or its working frames.
    """
    if not prompts:
        raise PromptError("no prompt given: click on the subject or draw a box around it")
    by_frame: dict[int, dict] = {}
    for prompt in prompts:
        validate_prompt(prompt, video.info, video.region)
        frame_idx = working_frame_of(prompt.frame_idx, video)
        entry = by_frame.setdefault(frame_idx, {"points": [], "labels": [], "box": None})
        if isinstance(prompt, Click):
            x, y = video.to_work_xy(prompt.x, prompt.y)
            entry["points"].append((min(x, video.width - 1), min(y, video.height - 1)))
            entry["labels"].append(1 if prompt.positive else 0)
        else:
            left, top, right, bottom = _picture_bounds(video.info, video.region)
            x0, y0 = video.to_work_xy(max(prompt.x0, left), max(prompt.y0, top))
            x1, y1 = video.to_work_xy(min(prompt.x1, right), min(prompt.y1, bottom))
            entry["box"] = (x0, y0, x1, y1)
    return [
        FramePrompt.from_points(frame_idx, e["points"], e["labels"], e["box"])
        for frame_idx, e in sorted(by_frame.items())
    ]
