"""Visits kept on the server: one per browser tab that opened a video, each with a private folder.

A visit is created only when a visitor opens a video (a tab that only loads the page costs nothing). Room for a
new visit is made by removing visits that are idle: never one that is building, nor one used in the last
``protect_s`` seconds. When no visit can go (or the machine's free memory is short), the newcomer is told the
server is busy instead of somebody else losing their work.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from click2graph.errors import Click2GraphError

logger = logging.getLogger(__name__)


class ServerBusy(Click2GraphError):
    """No room for another visit right now (every held visit is in use, or memory is short)."""


class Held(Protocol):
    """What the store needs of a visit."""

    folder: Path
    last_used: float

    @property
    def busy(self) -> bool: ...

    def close(self) -> None: ...


V = TypeVar("V", bound=Held)


@dataclass(frozen=True)
class StoreLimits:
    """How many visits one server holds, and when an idle one may go (operators set these from the environment)."""

    max_visits: int = 8  # each holds its decoded video and tracks: ~0.3 GB for a 15 s clip
    protect_s: float = 600.0  # a visit used within this many seconds is never removed to make room
    ttl_s: float = 3600.0  # a visit idle this long is removed at the next opening
    min_free_mb: float = 1024.0  # below this much available memory no new visit is opened

    @classmethod
    def from_env(cls, environ=os.environ) -> "StoreLimits":
        def number(name: str, default: float) -> float:
            text = environ.get(name, "").strip()
            if not text:
                return default
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"{name} must be a number, got {text!r}") from None
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {text!r}")
            return value

        return cls(
            max_visits=max(1, int(number("CLICK2GRAPH_MAX_SESSIONS", cls.max_visits))),
            protect_s=number("CLICK2GRAPH_SESSION_PROTECT_S", cls.protect_s),
            ttl_s=number("CLICK2GRAPH_SESSION_TTL_S", cls.ttl_s),
            min_free_mb=number("CLICK2GRAPH_MIN_FREE_MB", cls.min_free_mb),
        )


def available_memory_mb() -> float | None:
    """Memory the kernel could give a new process (Linux ``MemAvailable``), or None where unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class VisitStore(Generic[V]):
    """Thread-safe map of per-tab keys to visits with private folders under ``root``."""

    def __init__(
        self,
        root: str | Path,
        limits: StoreLimits = StoreLimits(),
        *,
        free_memory_mb: Callable[[], float | None] = available_memory_mb,
    ) -> None:
        self.root = Path(root)
        self.limits = limits
        self._free_memory_mb = free_memory_mb
        self._visits: dict[str, V] = {}
        self._lock = threading.Lock()

    def get(self, key: str | None) -> V | None:
        """The visit of ``key`` (marked as used now), or None if the tab never opened a video or it expired.

        Takes no lock (a dict read is atomic), so no visitor waits while another one's visit is being opened."""
        visit = self._visits.get(key) if isinstance(key, str) else None
        if visit is not None:
            visit.last_used = time.monotonic()
        return visit

    def open(self, key: str | None, make: Callable[[str, Path, V | None], V]) -> V:
        """A visitor opened a video: ``make(key, folder, previous_visit_or_None)`` becomes their visit.

        Raises:
            ServerBusy: a new visit is needed and no held visit may be removed, or memory is short.
        """
        with self._lock:
            previous = self._visits.get(key) if isinstance(key, str) else None
            if previous is None:
                self._remove_expired()
                self._make_room()
                key = uuid.uuid4().hex
                folder = self.root / key
                folder.mkdir(parents=True, exist_ok=True)
            else:
                folder = previous.folder
            visit = make(key, folder, previous)
            if previous is not None and visit is not previous:
                previous.close()  # its folder now belongs to the new visit
            visit.last_used = time.monotonic()
            self._visits[key] = visit
            return visit

    def close(self, key: str | None) -> None:
        """Forget a visit and delete its folder (the tab went away)."""
        with self._lock:
            visit = self._visits.pop(key, None) if isinstance(key, str) else None
        if visit is not None:
            _discard(visit)

    def __contains__(self, key: object) -> bool:
        return key in self._visits

    def __len__(self) -> int:
        return len(self._visits)

    def _idle(self, visit: V, idle_s: float) -> bool:
        return not visit.busy and time.monotonic() - visit.last_used > idle_s

    def _remove_expired(self) -> None:
        for key in [k for k, v in self._visits.items() if self._idle(v, self.limits.ttl_s)]:
            logger.info("visit %s expired after %.0f s idle", key[:8], self.limits.ttl_s)
            _discard(self._visits.pop(key))

    def _make_room(self) -> None:
        """Remove least recently used idle visits until one more fits; ServerBusy if that is not possible."""
        while len(self._visits) >= self.limits.max_visits:
            self._remove_one_idle(f"{len(self._visits)} visitors are working")
        if self._memory_short():
            self._remove_one_idle("memory is short")

    def _remove_one_idle(self, reason: str) -> None:
        idle = [(v.last_used, k) for k, v in self._visits.items() if self._idle(v, self.limits.protect_s)]
        if not idle:
            raise ServerBusy(
                f"The server is busy right now ({reason}): try again in a minute. Nobody's work is removed to make "
                "room while it is in use."
            )
        _, key = min(idle)
        logger.info("visit %s removed to make room (%s)", key[:8], reason)
        _discard(self._visits.pop(key))

    def _memory_short(self) -> bool:
        free = self._free_memory_mb()
        return free is not None and free < self.limits.min_free_mb


def _discard(visit: Held) -> None:
    visit.close()
    shutil.rmtree(visit.folder, ignore_errors=True)
