"""Jobs on a Ray cluster: one actor per worker assembles its pipeline once, then computes job after job.

:class:`RayPool` starts a cluster on this machine (address ``local``) or joins a running one (``HOST:PORT`` as
``ray start --head`` prints it, ``ray://HOST:PORT`` or ``auto``), starts its workers, and runs jobs on them with
the treatment of :mod:`click2graph.jobs`: results come back to this process, which writes them, so the output
folder needs to exist here only; a job that raises, or whose worker dies, is tried again (a dead worker is
replaced) up to ``attempts`` times, then recorded as failed.

Workers import click2graph from this checkout's folder and read the inputs (dataset, videos) at the paths this
process gives them: on a cluster of several machines both must be at the same path on every node, or on a shared
filesystem. Ray is imported when a pool starts, never before: everything else runs without it.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from click2graph.errors import Click2GraphError
from click2graph.jobs import ATTEMPTS, Done, Job, Result, Worker, WorkerInfo, describe_error, settle

if TYPE_CHECKING:
    from click2graph.settings import Settings

logger = logging.getLogger(__name__)

LOCAL = "local"  # start a cluster on this machine


@dataclass(frozen=True)
class RayOptions:
    """Where jobs run and what each worker asks of the cluster (None: derived from the cluster's resources)."""

    address: str = LOCAL
    workers: int | None = None  # default: as many as the cluster's CPUs (and GPUs, when workers use one) hold
    cpus_per_worker: float = 1.0
    gpus_per_worker: float | None = None  # default: 1 when the cluster has GPUs and the backend is not classic


def import_ray():
    """The ``ray`` module, or Click2GraphError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise Click2GraphError("--ray needs Ray, which is not installed: pip install ray") from None
    return ray


def connect(address: str = LOCAL) -> bool:
    """Start (``local``) or join a Ray cluster; True when this call connected (and should ``ray.shutdown()``),
    False when this process already was.

    Raises:
        Click2GraphError: Ray is missing, the address is malformed or no cluster answers there.
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    quiet = {
        "logging_level": logging.ERROR,
        "log_to_driver": logger.isEnabledFor(logging.INFO),  # workers' logs with --verbose only
        "runtime_env": {"env_vars": {"PYTHONPATH": _python_path()}},
    }
    if address == LOCAL:
        ray.init(include_dashboard=False, **quiet)
        return True
    if address != "auto":
        _check_reachable(address)
    try:
        ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise Click2GraphError(f"cannot join the Ray cluster at {address}: {describe_error(exc)}") from None
    return True


def _python_path() -> str:
    """This checkout first on the workers' path, so that they import the driver's click2graph."""
    checkout = str(Path(__file__).resolve().parents[1])
    return os.pathsep.join(p for p in (checkout, os.environ.get("PYTHONPATH", "")) if p)


def _check_reachable(address: str) -> None:
    """Fail in seconds where ``ray.init`` would retry an unreachable address for minutes."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise Click2GraphError(
            f"--ray {address!r} is not a cluster address: give HOST:PORT (as `ray start --head` prints it), "
            "ray://HOST:PORT or auto, or nothing for a cluster on this machine"
        )
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise Click2GraphError(
            f"no Ray cluster answers at {address} ({exc.strerror or exc}): start one with `ray start --head`, "
            "or give --ray without an address for a cluster on this machine"
        ) from None


class PipelineActor:
    """A Ray worker: its pipeline assembled once from the settings, then one job per call."""

    def __init__(self, settings: Settings, threads: int) -> None:
        import cv2

        # Each worker on its own CPUs: N workers on N cores would otherwise each start a thread per core.
        os.environ["OMP_NUM_THREADS"] = str(threads)  # torch reads it when first imported
        cv2.setNumThreads(threads)
        assembled = settings.assemble()
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(threads)
        self.info = WorkerInfo.of(assembled)
        self.worker = Worker(assembled.pipeline)

    def ready(self) -> WorkerInfo:
        return self.info

    def compute(self, job: Job) -> Result:
        return job.compute(self.worker)

    def peak_memory_mb(self) -> float:
        return peak_memory_mb()


class RayPool:
    """Workers on a Ray cluster, as a context manager: connected and started on entry, stopped on exit.

    Example::

        with RayPool(Settings(backend="classic"), RayOptions(workers=2)) as pool:
            print(pool.info.backend)
            pool.run(pending(jobs), on_done=bar)
    """

    def __init__(self, settings: Settings, options: RayOptions = RayOptions(), *, attempts: int = ATTEMPTS) -> None:
        self.settings = settings
        self.options = options
        self.attempts = attempts
        self.actors: list = []
        self.info: WorkerInfo | None = None
        self._connected = False

    def __enter__(self) -> RayPool:
        self._connected = connect(self.options.address)
        try:
            self._start_workers()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        ray = import_ray()
        for actor in self.actors:
            ray.kill(actor)
        self.actors = []
        if self._connected:
            ray.shutdown()
            self._connected = False

    def _start_workers(self) -> None:
        ray = import_ray()
        resources = ray.cluster_resources()
        cpus, gpus = resources.get("CPU", 0.0), resources.get("GPU", 0.0)
        per_gpu = self.options.gpus_per_worker
        if per_gpu is None:
            per_gpu = 1.0 if gpus and self.settings.backend != "classic" else 0.0
        per_cpu = self.options.cpus_per_worker
        fit = int(cpus // per_cpu) if not per_gpu else min(int(cpus // per_cpu), int(gpus // per_gpu))
        workers = self.options.workers or max(1, fit)
        if workers > fit:
            logger.warning(
                "%d workers of %g CPUs and %g GPUs asked; the cluster holds %d now, the others wait for resources",
                workers, per_cpu, per_gpu, fit,
            )  # fmt: skip
        self._actor = ray.remote(PipelineActor).options(num_cpus=per_cpu, num_gpus=per_gpu)
        self._threads = max(1, int(per_cpu))
        self.actors = [self._actor.remote(self.settings, self._threads) for _ in range(workers)]
        try:
            infos = ray.get([actor.ready.remote() for actor in self.actors])
        except ray.exceptions.RayActorError as exc:
            raise Click2GraphError(f"a Ray worker could not build its pipeline: {_last_line(exc)}") from None
        self.info = infos[0]

    def run(self, jobs: Sequence[Job], on_done: Done | None = None) -> None:
        """Compute every job on the workers and save its result here as it arrives; ``on_done`` after each."""
        ray = import_ray()
        queue = deque((job, 1) for job in jobs)
        idle = list(self.actors)
        running: dict = {}  # ObjectRef -> (actor, job, attempt)
        while queue or running:
            while queue and idle:
                job, attempt = queue.popleft()
                actor = idle.pop()
                running[actor.compute.options(name=job.name).remote(job)] = (actor, job, attempt)
            [ref], _ = ray.wait(list(running), num_returns=1)
            actor, job, attempt = running.pop(ref)
            try:
                result = ray.get(ref)
                idle.append(actor)
            except ray.exceptions.RayTaskError as exc:
                idle.append(actor)
                result = settle(job, attempt, self.attempts, describe_error(exc.cause))
            except ray.exceptions.RayActorError as exc:  # the worker died with the job: another takes its place
                self.actors.remove(actor)
                replacement = self._actor.remote(self.settings, self._threads)
                self.actors.append(replacement)
                idle.append(replacement)
                result = settle(job, attempt, self.attempts, f"worker lost: {_last_line(exc)}")
            if result is None:
                queue.append((job, attempt + 1))
                continue
            job.save(result)
            if on_done:
                on_done(job, result)

    def peak_memory_mb(self) -> list[float]:
        """Each worker's peak resident memory so far."""
        ray = import_ray()
        return ray.get([actor.peak_memory_mb.remote() for actor in self.actors])


def peak_memory_mb() -> float:
    """The most resident memory this process has used, in MiB (Linux's VmHWM; ru_maxrss elsewhere)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _last_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
