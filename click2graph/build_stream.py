"""A build in a worker thread, watched from another thread, so its results can be shown while the build works
(the demo's page; :mod:`click2graph.remote_build`, which sends them from a GPU process).

The build thread only copies: it keeps the latest progress line and, at a
:class:`~click2graph.build_progress.BuildStep` at most every ``interval_s``, a copy of the tracks so far (a
:class:`Partial`). The event's thread wakes on a new copy (or every ``interval_s``), draws it and hands it on with
the progress line, so drawing never holds the build up and never reads what the build is changing.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from click2graph.build_progress import BuildStep
from click2graph.pipeline import Session

STREAM_INTERVAL_S = 0.5  # at most two partial results a second: each is a frame and a figure sent to the browser


@dataclass(frozen=True)
class Partial:
    """What a running build has produced, copied in the build's thread.

    Attributes:
        step: the build's latest step.
        tracks: every track as the build has it, pipeline entity id -> working frame -> COCO RLE mask; an entity
            that this build tracks (again) has only the frames tracked so far (not those of an earlier build).
        subjects: pipeline ids of the subjects among them.
    """

    step: BuildStep
    tracks: dict[int, dict[int, dict]]
    subjects: frozenset[int]


class BuildWatch:
    """Where a build that runs in another thread is: its progress line and its latest :class:`Partial`."""

    def __init__(self, session: Session, interval_s: float = STREAM_INTERVAL_S) -> None:
        self.session, self.interval_s = session, interval_s
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._progress: tuple[float, str] = (0.0, "")
        self._partial: Partial | None = None
        self._copied_at = -float("inf")
        self._tracked: dict[int, set[int]] = {}  # entity id -> frames this build has tracked it on

    def progress(self, fraction: float, desc: str = "") -> None:
        """The build thread's ``progress(fraction, desc)`` (waiting for a turn, tracking, export); the event's
        thread passes the latest on at its own pace."""
        with self._lock:
            self._progress = (fraction, desc)

    def on_step(self, step: BuildStep) -> None:
        """The build thread's ``on_step``: a copy of the tracks so far when the last one is ``interval_s`` old."""
        if step.unit == "frame":
            for obj_id in step.entity_ids:
                self._tracked.setdefault(obj_id, set()).add(step.frame_idx)
        now = time.monotonic()
        if now - self._copied_at < self.interval_s:
            return
        self._copied_at = now
        # A track being redone keeps its earlier masks until the new ones replace them: show only the new ones.
        tracks = self.session.tracked_masks()
        for obj_id, frames in self._tracked.items():
            if obj_id in tracks:
                tracks[obj_id] = {t: rle for t, rle in tracks[obj_id].items() if t in frames}
        self.show(Partial(step, tracks, frozenset(self.session.subjects)))

    def show(self, partial: Partial) -> None:
        """Hand on a partial result made elsewhere (a build in another process) as if it were this build's."""
        with self._lock:
            self._partial = partial
        self._changed.set()

    def wake(self) -> None:
        """End the current :meth:`take` wait (the build has ended)."""
        self._changed.set()

    def take(self, timeout_s: float) -> tuple[tuple[float, str], Partial | None]:
        """Wait up to ``timeout_s`` for a new partial result (or the end); the progress now and the partial result
        not taken yet (or None)."""
        self._changed.wait(timeout_s)
        with self._lock:
            self._changed.clear()
            partial, self._partial = self._partial, None
            return self._progress, partial


def watch_build(
    work: Callable[[], None], watch: BuildWatch, progress: Callable[..., None]
) -> Iterator[tuple[Partial, str]]:
    """Run ``work`` in a thread; meanwhile pass its progress on to ``progress(fraction, desc=...)`` and yield its
    partial results with the progress line as they come. Returns when ``work`` has ended; raises its error here.

    A caller that stops iterating (the page was closed) leaves ``work`` to finish on its own. ``work`` runs in a
    copy of the caller's context (:mod:`contextvars`), so it sees what the caller's request set there (ZeroGPU reads
    the Gradio request from it to schedule a GPU for the visitor).
    """
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the event's thread, which reports it
            failure.append(exc)
        finally:
            watch.wake()

    worker = threading.Thread(target=contextvars.copy_context().run, args=(run,), name="build", daemon=True)
    worker.start()
    while worker.is_alive():
        (fraction, desc), partial = watch.take(watch.interval_s)
        progress(fraction, desc=desc)
        if partial is not None and worker.is_alive():
            yield partial, desc
    worker.join()
    if failure:
        raise failure[0]
