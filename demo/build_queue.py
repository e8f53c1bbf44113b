"""Builds take turns, first come first served, and a waiting visitor is told how many builds are ahead.

Builds are the only heavy work of the demo (tracking a whole clip): ``slots`` of them run at once per process.
Everything else (clicks, frame changes, undo) never waits here.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class BuildQueue:
    def __init__(self, slots: int = 1) -> None:
        if slots < 1:
            raise ValueError(f"build slots must be at least 1, got {slots}")
        self.slots = slots
        self._running = 0
        self._waiting: deque[object] = deque()
        self._changed = threading.Condition()

    @contextmanager
    def turn(self, waiting: Callable[[int], None] = lambda ahead: None, poll_s: float = 0.5) -> Iterator[None]:
        """Hold a build slot for the ``with`` body; while queued, ``waiting(builds_ahead)`` is called whenever the
        number ahead changes (and every ``poll_s`` seconds, so a progress display stays alive)."""
        ticket = object()
        with self._changed:
            self._waiting.append(ticket)
            try:
                while not (self._running < self.slots and self._waiting[0] is ticket):
                    waiting(self._ahead_of(ticket))
                    self._changed.wait(timeout=poll_s)
            finally:
                self._waiting.remove(ticket)
                self._changed.notify_all()
            self._running += 1
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()

    def ahead(self) -> int:
        """Builds a build asked for now would wait for (0: it starts at once)."""
        with self._changed:
            return max(0, len(self._waiting) + self._running - self.slots + 1)

    def _ahead_of(self, ticket: object) -> int:
        return self._waiting.index(ticket) + max(0, self._running - self.slots + 1)
