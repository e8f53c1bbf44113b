"""Per-user sessions kept on the server, so the UI state itself stays small plain data.

Each browser session gets a random key; the :class:`SessionStore` maps it to whatever heavy objects belong to
that user (decoded frames, segmenter state, the scene graph) and a private temporary folder for exports. Old
sessions are evicted (least recently used first, or after ``ttl_s`` idle seconds) and their folders deleted.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class StoredSession:
    key: str
    folder: Path
    data: dict[str, Any] = field(default_factory=dict)
    last_used: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)  # one heavy operation at a time per user


class SessionStore:
    """Thread-safe LRU of :class:`StoredSession` objects with private temp folders."""

    def __init__(self, *, max_sessions: int = 8, ttl_s: float = 3600.0, root: str | Path | None = None) -> None:
        self.max_sessions = max_sessions
        self.ttl_s = ttl_s
        self.root = Path(root) if root else Path(tempfile.gettempdir()) / "click2graph-sessions"
        self._sessions: OrderedDict[str, StoredSession] = OrderedDict()
        self._lock = threading.Lock()

    def new_key(self) -> str:
        return uuid.uuid4().hex

    def get(self, key: str) -> StoredSession:
        """The session for ``key``, created (with an empty folder) if unknown or evicted."""
        with self._lock:
            self._evict_idle()
            session = self._sessions.get(key)
            if session is None:
                folder = self.root / key
                folder.mkdir(parents=True, exist_ok=True)
                session = StoredSession(key=key, folder=folder)
                self._sessions[key] = session
                while len(self._sessions) > self.max_sessions:
                    _, old = self._sessions.popitem(last=False)
                    _remove(old)
            self._sessions.move_to_end(key)
            session.last_used = time.monotonic()
            return session

    def close(self, key: str) -> None:
        """Forget a session and delete its folder (called when the browser tab goes away)."""
        with self._lock:
            session = self._sessions.pop(key, None)
        if session is not None:
            _remove(session)

    def __contains__(self, key: str) -> bool:
        return key in self._sessions

    def __len__(self) -> int:
        return len(self._sessions)

    def _evict_idle(self) -> None:
        now = time.monotonic()
        for key in [k for k, s in self._sessions.items() if now - s.last_used > self.ttl_s]:
            _remove(self._sessions.pop(key))


def _remove(session: StoredSession) -> None:
    session.data.clear()
    shutil.rmtree(session.folder, ignore_errors=True)
