"""What a running :meth:`~click2graph.pipeline.Pipeline.build` tells its caller, step by step.

A build runs in phases: each subject is tracked forward then backward, its objects are discovered keyframe by
keyframe (each find tracked both ways at once), objects added by clicks are tracked, then relations are derived.
After every tracked frame and at every phase change the build sends a :class:`BuildStep`: enough for a progress
bar per phase (units done of all, the whole build's fraction) and for a display of results as they come.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

StepFn = Callable[["BuildStep"], None]


@dataclass(frozen=True)
class BuildStep:
    """One step of a running build.

    Attributes:
        phase: what runs, e.g. ``"subject 1: tracking forward"``, ``"discovering objects"``,
            ``"object 3: tracking backward"``, ``"added object 5: tracking forward"``, ``"relations"``.
        done: units of this phase done so far (0 when it starts).
        total: units of this phase in all.
        fraction: how much of the whole build is done, in [0, 1].
        unit: what ``done`` and ``total`` count: ``"frame"`` (tracking), ``"keyframe"`` (discovery) or ``"step"``.
        frame_idx: the working frame just tracked or searched, None where the phase has no frame.
        entity_ids: the entities of the phase: those tracked, or those a keyframe's discovery just found.
    """

    phase: str
    done: int
    total: int
    fraction: float
    unit: str = "step"
    frame_idx: int | None = None
    entity_ids: tuple[int, ...] = ()

    def describe(self) -> str:
        """One line, e.g. ``"subject 1: tracking forward: frame 12 of 40"``."""
        if self.unit == "step":
            return self.phase
        return f"{self.phase}: {self.unit} {self.done} of {self.total}"


@dataclass(frozen=True)
class BuildStage:
    """The slice ``[start, end)`` of the build's fraction that one part of the build reports its steps in."""

    send: StepFn
    start: float = 0.0
    end: float = 1.0

    def __call__(self, within: float, phase: str, done: int, total: int, **details) -> None:
        """Send a step of ``phase`` at ``within`` (0..1) of this stage."""
        fraction = self.start + (self.end - self.start) * min(max(within, 0.0), 1.0)
        self.send(BuildStep(phase, done, total, fraction, **details))

    def part(self, k: int, n: int) -> BuildStage:
        """The ``k``-th of ``n`` equal parts of this stage."""
        width = (self.end - self.start) / max(n, 1)
        return BuildStage(self.send, self.start + k * width, self.start + (k + 1) * width)
