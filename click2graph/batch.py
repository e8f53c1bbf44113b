"""Many videos, each graphed as ``run`` graphs one (``python -m click2graph batch``), with the prompts of a JSON file.

The prompts file maps a video's file name, or its stem, to ``run``'s prompt options, in the video's original
pixels and frame numbers::

    {
      "kick.mp4": {"click": [[113, 143]], "label": "adult"},
      "walk": {"click": [[400, 300, 12]], "negative": [[430, 250, 12]]},
      "table.mp4": {"box": [100, 80, 300, 400, 0]}
    }

``click`` and ``negative``: lists of ``[x, y]`` or ``[x, y, frame]`` (frame 0 by default); ``box``: ``[x0, y0, x1,
y1]``, optionally with a frame; ``label``: the subject's name. At least one click or a box.

Each video is a :class:`BatchVideo` job (:mod:`click2graph.jobs`): its outputs, the files of ``run``, appear in
``OUT/<stem>/`` all at once, so a rerun skips the videos done; ``OUT/<stem>.failed`` says why a video has none.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from click2graph.errors import Click2GraphError
from click2graph.jobs import Result, Worker, write_failed, write_folder_atomically
from click2graph.prompts import Prompt, box_from, click_from
from click2graph.video import VideoPolicy

if TYPE_CHECKING:
    from click2graph.build_progress import BuildStep
    from click2graph.graph import SceneGraph
    from click2graph.pipeline import Pipeline
    from click2graph.video import Video

logger = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".avi", ".mkv", ".m4v", ".mpg", ".mpeg")
PROMPT_KEYS = ("click", "negative", "box", "label")
# A subject mask below this fraction of the frame is a speck (a 27x15 patch of a 854x480 frame): typically a click
# on flat background, which then tracks as nothing.
TINY_MASK_FRACTION = 0.001
# A subject found on at most this fraction of the frames was lost at once: that the tracker re-finds look-alike
# pixels on a frame or two later (a speck of background) does not make it a subject.
LOST_TRACK_FRACTION = 0.25


@dataclass(frozen=True)
class VideoPrompts:
    """The subject of one video: its clicks and box, and its name if given."""

    prompts: tuple[Prompt, ...]
    label: str | None = None


def build_graph(
    pipeline: Pipeline, video: Video, prompts: VideoPrompts, *, on_step: Callable[[BuildStep], None] | None = None
) -> tuple[SceneGraph, str | None]:
    """The scene graph of the prompted subject (a fresh session), and a warning when the graph is likely about
    nothing the user meant (None otherwise). ``on_step``: see :meth:`Pipeline.build`."""
    session = pipeline.open(video)
    mask = pipeline.prompt_subject(session, list(prompts.prompts), label=prompts.label)
    graph = pipeline.build(session, on_step=on_step)
    return graph, _lost_subject(mask, graph)


def _lost_subject(mask, graph: SceneGraph) -> str | None:
    """What to warn about when the prompt's mask is a speck or the subject was tracked on at most a quarter of the
    frames (typically its prompt frame only)."""
    from click2graph.graph import rle_has_pixels

    area, total = int(mask.sum()), int(mask.size)
    tracked = sum(rle_has_pixels(rle) for rle in graph.subjects[0].masks.values())
    frames = graph.video.num_work_frames
    if area >= TINY_MASK_FRACTION * total and not tracked <= max(1, int(LOST_TRACK_FRACTION * frames)) < frames:
        return None
    return (
        f"the subject's mask is tiny ({area} pixels, {100 * area / total:.2f}% of the frame) and was tracked on "
        f"{tracked} of {frames} frames: the click may be on background; click inside the subject or give a --box"
    )


# -- inputs -------------------------------------------------------------------------------------------------------


def load_prompts(path: Path) -> dict[str, VideoPrompts]:
    """The prompts file (module docstring) as {file name or stem: prompts}.

    Raises:
        Click2GraphError: the file is missing, not JSON, or an entry is malformed (the message names it).
    """
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise Click2GraphError(f"no prompts file at {path}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Click2GraphError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise Click2GraphError(f"{path} must map video names to prompts, but its top level is a {type(data).__name__}")
    try:
        return {str(name): _video_prompts(entry) for name, entry in data.items()}
    except ValueError as exc:
        raise Click2GraphError(f"{path}: {exc}; see `python -m click2graph batch --help`") from None


def _video_prompts(entry) -> VideoPrompts:
    if not isinstance(entry, dict):
        raise ValueError(f"an entry must be an object with {', '.join(PROMPT_KEYS)}, got {entry!r:.60}")
    unknown = sorted(set(entry) - set(PROMPT_KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(PROMPT_KEYS)})")
    prompts: list[Prompt] = []
    for key, positive in (("click", True), ("negative", False)):
        points = entry.get(key, [])
        if not isinstance(points, list) or not all(isinstance(p, list) for p in points):
            raise ValueError(f'"{key}" must be a list of [x, y] or [x, y, frame], got {points!r:.60}')
        prompts += [_checked(click_from, p, key, positive=positive) for p in points]
    if "box" in entry:
        if not isinstance(entry["box"], list):
            raise ValueError(f'"box" must be [x0, y0, x1, y1] or with a frame, got {entry["box"]!r:.60}')
        prompts.append(_checked(box_from, entry["box"], "box"))
    if not any(getattr(p, "positive", True) for p in prompts):
        raise ValueError(f"{json.dumps(entry):.60} gives no click and no box on the subject")
    label = entry.get("label")
    if label is not None and not (isinstance(label, str) and label.strip()):
        raise ValueError(f'"label" must be a non-empty text, got {label!r:.60}')
    return VideoPrompts(tuple(prompts), label)


def _checked(make, values: list, key: str, **kwargs) -> Prompt:
    try:
        return make(values, **kwargs)
    except ValueError as exc:
        raise ValueError(f'"{key}" {values!r:.60}: {exc}') from None


def find_videos(inputs: Sequence[Path]) -> list[Path]:
    """Video files given, and those in folders given (not their subfolders), in order; each stem once.

    Raises:
        Click2GraphError: an input is missing or a folder holds no video, or two videos share a stem (and so would
            share an output folder).
    """
    videos = []
    for path in map(Path, inputs):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
            if not found:
                raise Click2GraphError(f"{path} holds no video file ({', '.join(VIDEO_SUFFIXES)})")
            videos += found
        elif path.is_file():
            videos.append(path)
        else:
            raise Click2GraphError(f"No such video or folder: {path}")
    stems: dict[str, Path] = {}
    for video in videos:
        if video.stem in stems:
            raise Click2GraphError(f"{stems[video.stem]} and {video} would share the output folder {video.stem}/")
        stems[video.stem] = video
    return videos


def prompts_for(video: Path, table: dict[str, VideoPrompts]) -> VideoPrompts | None:
    """The prompts of ``video`` under its file name, else under its stem; None when it has none."""
    return table.get(video.name, table.get(video.stem))


# -- one video as a job -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchVideo:
    """One video as a job: ``run``'s outputs in ``out`` (all at once), or ``.failed`` beside it."""

    source: Path
    prompts: VideoPrompts
    out: Path
    policy: VideoPolicy
    overlay_video: bool = True

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def failed_path(self) -> Path:
        return self.out.with_name(self.out.name + ".failed")

    def outputs(self) -> list[str]:
        from click2graph.export import EXPORT_FILES

        return [name for kind, name in EXPORT_FILES.items() if kind != "video" or self.overlay_video]

    def done(self) -> bool:
        return self.failed_path.is_file() or all((self.out / name).is_file() for name in self.outputs())

    def compute(self, worker: Worker) -> Result:
        from click2graph.export import export_all
        from click2graph.video import load_video

        video = load_video(self.source, self.policy)
        try:
            graph, warning = build_graph(worker.pipeline, video, self.prompts)
        except Click2GraphError as exc:
            return Result(failure=str(exc))
        with tempfile.TemporaryDirectory() as tmp:
            paths = export_all(graph, video, tmp, overlay_video=self.overlay_video)
            return Result({path.name: path.read_bytes() for path in paths.values()}, warning=warning)

    def save(self, result: Result) -> None:
        if result.failure is None:
            write_folder_atomically(self.out, result.files)
            return
        logger.warning("%s: %s", self.name, result.failure)
        write_failed(self.failed_path, result.failure)
