"""A stand-in for Hugging Face's ``spaces`` package as ZeroGPU runs it: ``GPU`` runs the decorated generator in
another process (started with 'spawn', so nothing is inherited: arguments and every item yielded must survive
pickle, as through ZeroGPU's queues) and yields its items here; an exception there is raised here.

Tests put this module in ``sys.modules["spaces"]``; it records what it was asked (``CALLS``).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from functools import partial

CALLS: list[dict] = []  # per call: the duration asked for, this process's pid and the worker's


def GPU(task=None, *, duration=None, size=None):  # noqa: N802 (the real package's name)
    if task is None:
        return partial(GPU, duration=duration, size=size)

    def handler(*args, **kwargs):
        asked = duration(*args, **kwargs) if callable(duration) else duration
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        worker = context.Process(target=_run, args=(task, args, kwargs, queue), daemon=True)
        worker.start()
        CALLS.append({"duration": asked, "caller": os.getpid(), "worker": worker.pid})
        try:
            while True:
                kind, value = pickle.loads(queue.get(timeout=600))
                if kind == "item":
                    yield value
                elif kind == "error":
                    raise value
                else:
                    return
        finally:
            worker.join(timeout=60)

    return handler


def _run(task, args, kwargs, queue) -> None:
    """The worker: each item pickled here, so that one that cannot be is an error of the call."""
    try:
        for item in task(*args, **kwargs):
            queue.put(pickle.dumps(("item", item)))
    except Exception as exc:  # handed to the caller, as ZeroGPU does
        queue.put(pickle.dumps(("error", exc)))
        return
    queue.put(pickle.dumps(("end", None)))
