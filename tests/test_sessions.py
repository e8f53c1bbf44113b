"""click2graph.sessions: per-user server-side sessions with private folders, evicted and cleaned up."""

from __future__ import annotations

import time

from click2graph.sessions import SessionStore


def test_sessions_get_private_folders_and_are_cleaned_up(tmp_path):
    store = SessionStore(root=tmp_path)
    a, b = store.get("a"), store.get("b")
    assert a.folder != b.folder and a.folder.is_dir()
    a.data["x"] = 1
    assert store.get("a").data == {"x": 1} and "y" not in store.get("b").data
    (a.folder / "out.json").write_text("{}")
    store.close("a")
    assert "a" not in store and not a.folder.exists()
    assert store.get("a").data == {}  # a closed key starts afresh


def test_least_recently_used_session_is_evicted(tmp_path):
    store = SessionStore(max_sessions=2, root=tmp_path)
    first = store.get("1")
    store.get("2")
    store.get("1")  # touch: "2" is now the oldest
    store.get("3")
    assert "2" not in store and "1" in store and "3" in store and first.folder.exists()


def test_idle_sessions_expire(tmp_path):
    store = SessionStore(ttl_s=0.01, root=tmp_path)
    old = store.get("old")
    time.sleep(0.02)
    store.get("new")
    assert "old" not in store and not old.folder.exists()
