"""demo.store and demo.build_queue: visits are made only for tabs that open a video, never removed while in use;
builds take turns first come first served, the waiting ones told how many are ahead; leftovers are cleaned."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from demo import runtime
from demo.build_queue import BuildQueue
from demo.store import ServerBusy, StoreLimits, VisitStore


@dataclass
class FakeVisit:
    key: str
    folder: Path
    last_used: float = field(default_factory=time.monotonic)
    building: int = 0
    closed: bool = False

    @property
    def busy(self) -> bool:
        return self.building > 0

    def close(self) -> None:
        self.closed = True


def make(key, folder, previous):
    return FakeVisit(key, folder)


def age(visit: FakeVisit, seconds: float) -> None:
    visit.last_used -= seconds


def test_visits_get_private_folders_and_are_cleaned_up(tmp_path):
    store = VisitStore(tmp_path)
    a, b = store.open(None, make), store.open(None, make)
    assert a.key != b.key and a.folder != b.folder and a.folder.is_dir()
    again = store.open(a.key, make)  # the same tab opening another video keeps its key and folder
    assert again.folder == a.folder and a.closed and a.folder.is_dir()
    a = again
    (a.folder / "out.json").write_text("{}")
    store.close(a.key)
    assert a.key not in store and not a.folder.exists() and a.closed
    assert store.get(a.key) is None and store.get(None) is None and store.get(["not", "a", "key"]) is None


def test_recently_used_and_building_visits_are_never_removed(tmp_path):
    store = VisitStore(tmp_path, StoreLimits(max_visits=3, protect_s=60, ttl_s=3600))
    building, recent, idle = (store.open(None, make) for _ in range(3))
    age(building, 600)
    building.building = 1
    age(idle, 120)
    newcomer = store.open(None, make)  # the idle visit makes room, nobody else
    assert idle.key not in store and idle.closed and {building.key, recent.key, newcomer.key} <= set(store._visits)
    with pytest.raises(ServerBusy, match="try again in a minute"):  # now all are in use: the newcomer waits
        store.open(None, make)
    assert len(store) == 3 and not building.closed and not recent.closed
    building.building = 0  # done building and idle for long: it may go now
    assert store.open(None, make).key in store and building.key not in store


def test_idle_visits_expire_but_not_while_building(tmp_path):
    store = VisitStore(tmp_path, StoreLimits(ttl_s=10))
    old, working = store.open(None, make), store.open(None, make)
    age(old, 11)
    age(working, 11)
    working.building = 1
    store.open(None, make)
    assert old.key not in store and not old.folder.exists() and working.key in store


def test_short_memory_refuses_newcomers_rather_than_evicting_work(tmp_path):
    free = [4096.0]
    store = VisitStore(tmp_path, StoreLimits(min_free_mb=1024, protect_s=60), free_memory_mb=lambda: free[0])
    first = store.open(None, make)
    free[0] = 512.0
    with pytest.raises(ServerBusy, match="memory is short"):
        store.open(None, make)
    assert first.key in store
    age(first, 120)  # idle: it is removed for the newcomer
    assert store.open(None, make).key in store and first.key not in store


def test_limits_from_the_environment():
    limits = StoreLimits.from_env({"CLICK2GRAPH_MAX_SESSIONS": "3", "CLICK2GRAPH_SESSION_PROTECT_S": "30"})
    assert (limits.max_visits, limits.protect_s, limits.ttl_s) == (3, 30.0, StoreLimits.ttl_s)
    with pytest.raises(ValueError, match="CLICK2GRAPH_MAX_SESSIONS must be a number"):
        StoreLimits.from_env({"CLICK2GRAPH_MAX_SESSIONS": "many"})


def test_builds_take_turns_and_the_waiting_one_hears_its_place():
    queue = BuildQueue(slots=1)
    first_in, release_first, heard = threading.Event(), threading.Event(), []

    def first():
        with queue.turn():
            first_in.set()
            release_first.wait(10)

    runner = threading.Thread(target=first)
    runner.start()
    assert first_in.wait(10) and queue.ahead() == 1
    second_done = threading.Event()

    def second():
        with queue.turn(heard.append, poll_s=0.05):
            second_done.set()

    waiter = threading.Thread(target=second)
    waiter.start()
    time.sleep(0.3)
    assert not second_done.is_set() and heard and set(heard) == {1}  # "1 build ahead of yours"
    release_first.set()
    runner.join(10)
    waiter.join(10)
    assert second_done.is_set() and queue.ahead() == 0


def test_a_failed_wait_gives_its_place_back():
    queue = BuildQueue(slots=1)

    def refuse(ahead):
        raise RuntimeError("client went away")

    with queue.turn():
        with pytest.raises(RuntimeError):
            with queue.turn(refuse):
                pass
    with queue.turn():  # the queue is not stuck behind the ticket that left
        assert queue.ahead() == 1


def test_leftover_folders_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / dead.stdout.strip()
    (stale / "visits" / "abc").mkdir(parents=True)
    alive = tmp_path / str(os.getpid())
    alive.mkdir()
    stray = tmp_path / "not-a-pid"
    stray.mkdir()
    removed = runtime.remove_leftovers(tmp_path)
    assert set(removed) == {stale, stray} and alive.exists() and not stale.exists()


def test_a_terminated_app_removes_its_temporary_folder(tmp_path):
    """SIGTERM (a stopped container) ends the process normally: its run folder is gone afterwards."""
    script = (
        "import os, time; os.environ['TMPDIR'] = os.environ['TEST_TMP']\n"
        "import tempfile; tempfile.tempdir = None\n"
        "from demo import runtime\n"
        "runtime.PARENT = __import__('pathlib').Path(os.environ['TEST_TMP'])\n"
        "folder = runtime.run_dir(); (folder / 'x.png').write_bytes(b'png')\n"
        "runtime.exit_on_sigterm(); print(folder, flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "TEST_TMP": str(tmp_path)},
        stdout=subprocess.PIPE,
        text=True,
    )
    folder = Path(proc.stdout.readline().strip())
    assert folder.is_dir()
    proc.terminate()
    proc.wait(30)
    assert not folder.exists()
