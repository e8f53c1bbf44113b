"""Many pipeline runs (an eval query, a batch video): what one job is, and running jobs in this process.

A :class:`Job` says what to run; a pool says where. :class:`LocalPool` runs jobs one after another here,
:class:`click2graph.ray_pool.RayPool` on the workers of a Ray cluster; both give every job the same treatment:

- it **computes** on a worker holding a pipeline (:class:`Worker`) and returns its output files as bytes;
- only the driver **saves** them, each atomically (written as ``.tmp``, then renamed into place), so an
  interrupted run leaves complete outputs or none, and a rerun skips the jobs that are :meth:`Job.done`;
- an exception is tried again, :data:`ATTEMPTS` times in all, and then recorded as failed: a ``.failed`` file
  beside the output says why (as does a run that completes without a result, e.g. a prompt that segments nothing).
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol, Sequence

if TYPE_CHECKING:
    from click2graph.pipeline import Pipeline
    from click2graph.settings import Assembled

logger = logging.getLogger(__name__)

ATTEMPTS = 3  # tries per job before it is recorded as failed


@dataclass(frozen=True)
class Result:
    """What a job computed: its output files (name -> content), or why it has none; a warning to show, if any."""

    files: dict[str, bytes] = field(default_factory=dict)
    failure: str | None = None
    warning: str | None = None


class Job(Protocol):
    """One unit of work; picklable, as a Ray worker receives it."""

    name: str  # what it is (video, subject, prompt, seed): log lines and the Ray dashboard's task names

    def done(self) -> bool:
        """Its outputs (or its ``.failed`` record) are on disk: a rerun skips it."""

    def compute(self, worker: Worker) -> Result:
        """Run on a worker. Raises on a failure worth retrying."""

    def save(self, result: Result) -> None:
        """Write the result atomically (in the driver)."""


class Worker:
    """A pipeline, and the frames of the last video one of its jobs read (a video's jobs run back to back)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self._frames: tuple[str, Any] | None = None

    def frames(self, key: str, load: Callable[[], Any]) -> Any:
        """The frames named ``key``, loaded by ``load`` unless they are the last ones loaded."""
        if self._frames is None or self._frames[0] != key:
            self._frames = (key, load())
        return self._frames[1]


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker's pipeline is made of, as the commands print it."""

    backend: str
    semantics: str
    strategy: str

    @classmethod
    def of(cls, assembled: Assembled) -> WorkerInfo:
        return cls(assembled.backend.describe(), assembled.describe(), assembled.strategy)


def pending(jobs: Iterable[Job]) -> list[Job]:
    """The jobs whose outputs are not on disk yet."""
    return [job for job in jobs if not job.done()]


def describe_error(exc: BaseException) -> str:
    """An exception as the one line a ``.failed`` file and the log show."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}".rstrip(": ")


def settle(job: Job, attempt: int, attempts: int, reason: str) -> Result | None:
    """After a failed attempt: None to try again, or the failed result once ``attempts`` are used up."""
    if attempt < attempts:
        logger.warning("%s: attempt %d of %d failed, trying again: %s", job.name, attempt, attempts, reason)
        return None
    return Result(failure=f"failed {attempts} times: {reason}")


def write_atomically(path: Path, data: bytes) -> None:
    """``path`` complete or not at all: written beside it as ``.tmp``, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def write_folder_atomically(folder: Path, files: dict[str, bytes]) -> None:
    """``folder`` holding ``files``, complete or not at all: written as ``<folder>.partial``, then renamed."""
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # left by an interrupted run
    partial.mkdir(parents=True)
    for name, data in files.items():
        (partial / name).write_bytes(data)
    if folder.exists():  # an incomplete folder (its job is not done): replaced
        shutil.rmtree(folder)
    os.replace(partial, folder)


def write_failed(path: Path, reason: str) -> None:
    """The ``.failed`` record of a job: its reason, one line."""
    write_atomically(path, (reason + "\n").encode())


class ProgressBar:
    """One bar over a run: jobs done / total, failures in its postfix, ETA; a job's warning printed above it."""

    def __init__(self, total: int, desc: str, *, unit: str = "job", disable: bool = False) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=desc, unit=unit, disable=disable)
        self.failed = 0

    def __call__(self, job: Job, result: Result) -> None:
        if result.failure is not None:
            self.failed += 1
            self.bar.set_postfix(failed=self.failed, refresh=False)
        if result.warning:
            self.bar.write(f"warning: {job.name}: {result.warning}")
        self.bar.update(1)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info) -> None:
        self.bar.close()


Done = Callable[[Job, Result], None]


class LocalPool:
    """Jobs one after another in this process, through one pipeline made when the first job needs it; a context
    manager like :class:`click2graph.ray_pool.RayPool`, with ``info`` when the caller knows it."""

    def __init__(
        self, make_pipeline: Callable[[], Pipeline], *, info: WorkerInfo | None = None, attempts: int = ATTEMPTS
    ) -> None:
        self.make_pipeline = make_pipeline
        self.info = info
        self.attempts = attempts
        self._worker: Worker | None = None

    def __enter__(self) -> LocalPool:
        return self

    def __exit__(self, *exc_info) -> None:
        pass

    def run(self, jobs: Sequence[Job], on_done: Done | None = None) -> None:
        """Compute and save every job (retried, then recorded as failed); ``on_done`` after each."""
        for job in jobs:
            self._worker = self._worker or Worker(self.make_pipeline())
            result = None
            for attempt in range(1, self.attempts + 1):
                try:
                    result = job.compute(self._worker)
                    break
                except Exception as exc:  # a job's failure is recorded; the run goes on
                    result = settle(job, attempt, self.attempts, describe_error(exc))
            job.save(result)
            if on_done:
                on_done(job, result)
