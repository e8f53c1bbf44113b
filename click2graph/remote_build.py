"""A whole build as one call on plain data, for a build in another process: a :class:`BuildRequest` in,
:class:`BuildUpdate` s out, both picklable (a ZeroGPU worker receives its arguments and sends its results back by
pickling them; no session, segmenter or tensor crosses).

The request holds what a build needs: the working frames (the :class:`~click2graph.video.Video`), each subject's
prompts under the id it is to have, the objects added by clicks, the masks of objects the visitor dropped (not
proposed again), the tab's own words, discovery strategy and corrections memory, and the
:class:`~click2graph.settings.Settings` of the pipeline to build with. The build starts from a fresh session of that
pipeline (made once per process: :func:`assembled_for`), sends the tracks so far while it runs (a
:class:`~click2graph.build_stream.Partial` at most every ``interval_s``) and the scene graph at the end.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

from click2graph.build_stream import STREAM_INTERVAL_S, BuildWatch, Partial, watch_build
from click2graph.errors import PromptError
from click2graph.graph import SceneGraph
from click2graph.pipeline import Pipeline, Session
from click2graph.prompts import Click, Prompt
from click2graph.semantics.prototypes import PrototypeMemory
from click2graph.settings import Assembled, Settings
from click2graph.video import Video


@dataclass(frozen=True)
class BuildRequest:
    """What one build needs, as plain data.

    Attributes:
        video: the working frames the prompts refer to.
        settings: the pipeline to build with.
        subjects: ``(id, prompts)`` per subject (prompts in original pixels, all on one frame).
        objects: ``(subject id, click)`` per object added by a click.
        dropped: per dropped object, its masks (working frame -> COCO RLE).
        classes: own words to name entities with (None: the pipeline's vocabulary).
        discovery: a discovery strategy by name (None: the pipeline's).
        memory: the visitor's corrections so far (read, not changed).
    """

    video: Video
    settings: Settings
    subjects: tuple[tuple[int, tuple[Prompt, ...]], ...]
    objects: tuple[tuple[int, Click], ...] = ()
    dropped: tuple[dict[int, dict], ...] = ()
    classes: tuple[str, ...] | None = None
    discovery: str | None = None
    memory: PrototypeMemory | None = None


@dataclass(frozen=True)
class BuildUpdate:
    """One message of a running build: its progress, and the tracks so far or, last, the scene graph."""

    fraction: float
    status: str
    partial: Partial | None = None
    graph: SceneGraph | None = None


_assembled: dict[Settings, Assembled] = {}
_lock = threading.Lock()


def assembled_for(settings: Settings) -> Assembled:
    """The pipeline ``settings`` describe, made once per process (its models stay loaded between builds)."""
    with _lock:
        if settings not in _assembled:
            _assembled[settings] = settings.assemble()
        return _assembled[settings]


def open_session(pipeline: Pipeline, request: BuildRequest) -> Session:
    """A fresh session of ``request.video`` holding the request's prompts, dropped objects and tab settings.

    Raises:
        PromptError: a prompt that segments nothing, or a discovery strategy this pipeline cannot run.
    """
    from click2graph.discovery.registry import available_strategies

    session = pipeline.open(request.video, memory=request.memory)
    if request.classes:
        pipeline.set_classes(session, list(request.classes))
    if request.discovery:
        strategies = available_strategies(pipeline.segmenter, pipeline.learned)
        if request.discovery not in strategies:
            raise PromptError(f"discovery {request.discovery!r} cannot run here; available: {', '.join(strategies)}")
        pipeline.set_discovery(session, strategies[request.discovery])
    for subject_id, prompts in request.subjects:
        pipeline.prompt_subject(session, list(prompts), subject_id=subject_id)
    for masks in request.dropped:
        session.dropped[session.next_id()] = dict(masks)
    for subject_id, click in request.objects:
        pipeline.add_object(session, [click], subject_id=subject_id)
    return session


def stream_build(request: BuildRequest, interval_s: float = STREAM_INTERVAL_S) -> Iterator[BuildUpdate]:
    """Build ``request``: a :class:`BuildUpdate` with the tracks so far at most every ``interval_s``, then one with
    the scene graph (entity ids: the subjects' from the request, the others new)."""
    pipeline = assembled_for(request.settings).pipeline
    session = open_session(pipeline, request)
    watch = BuildWatch(session, interval_s)
    graphs: list[SceneGraph] = []
    latest = [0.0]

    def work() -> None:
        graphs.append(pipeline.build(session, progress=watch.progress, on_step=watch.on_step))

    def progress(fraction: float, desc: str = "") -> None:
        latest[0] = fraction

    for partial, status in watch_build(work, watch, progress):
        yield BuildUpdate(latest[0], status, partial)
    yield BuildUpdate(1.0, "scene graph built", graph=graphs[0])
