"""Several visitors for a while: ``python -m demo.soak [--clients 3] [--seconds 180] [--example NAME]``.

Launches the app in this process (the backend it would normally use) and drives it from ``--clients`` threads with
gradio_client, each looping through what a visitor does (open an example, a negative click and undo, build,
relabel, scrub). Every few seconds it prints the process's memory (RSS), the disk held by the app (visits'
exports, the example cache, and the files Gradio keeps for this app) and its threads, so a leak shows as a column
that keeps growing. The test suite runs it briefly with a short Gradio cache age (tests/test_app_soak.py).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Sample:
    seconds: float
    rss_mb: float
    app_files_mb: float  # everything under the demo's run folder (visits, example cache)
    gradio_files_mb: float  # files Gradio keeps for this app (previews, downloads) until its cache cleanup
    rounds: int  # visitor rounds finished so far, all clients together
    threads: int  # threads alive in the process (the visitors' own included)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20 if folder.exists() else 0.0


def gradio_files_mb(demo) -> float:
    files = {f for temp_set in demo.temp_file_sets for f in temp_set}
    return sum(os.path.getsize(f) for f in files if os.path.exists(f)) / 2**20


def visitor_round(client, example: str, round_idx: int) -> None:
    """What one visitor does in one round."""
    client.predict(example, api_name="/load_example")
    client.predict(0, api_name="/build")
    client.predict(5, 5, False, 0, "negative", api_name="/click")
    client.predict(0, api_name="/undo")
    client.predict(0, api_name="/build")
    client.predict(1, f"person {round_idx}", 0, api_name="/relabel")  # new exports every round
    for frame in (3, 7, 11):
        client.predict(frame, api_name="/frame")


def soak(demo, url: str, *, clients: int, seconds: float, example: str, every_s: float = 5.0) -> list[Sample]:
    """Drive the running ``demo`` at ``url`` and return the samples (one at the start, then every ``every_s``)."""
    from gradio_client import Client

    from demo import runtime

    stop, rounds, failures = threading.Event(), [0], []

    def visitor() -> None:
        # No downloads: Gradio rewrites a cached file when an identical output is produced again, and a download
        # of it at that moment may be cut short; what this measures is the server's memory and disk.
        client = Client(url, verbose=False, download_files=False)
        k = 0
        while not stop.is_set():
            try:
                visitor_round(client, example, k)
            except Exception as exc:  # noqa: BLE001 - reported in the summary
                failures.append(repr(exc))
            rounds[0] += 1
            k += 1

    threads = [threading.Thread(target=visitor, daemon=True) for _ in range(clients)]
    started = time.monotonic()
    samples = []
    for thread in threads:
        thread.start()
    while True:
        elapsed = time.monotonic() - started
        samples.append(
            Sample(
                elapsed,
                rss_mb(),
                folder_mb(runtime.run_dir()),
                gradio_files_mb(demo),
                rounds[0],
                threading.active_count(),
            )
        )
        if elapsed >= seconds:
            break
        time.sleep(min(every_s, seconds - elapsed))
    stop.set()
    for thread in threads:
        thread.join(300)
    if failures:
        raise RuntimeError(f"{len(failures)} visitor rounds failed, e.g. {failures[0]}")
    return samples


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv: list[str]) -> int:
    from demo import handlers, server
    from demo.app import build_demo

    parser = argparse.ArgumentParser(prog="python -m demo.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--example", default=handlers.example_names()[0])
    args = parser.parse_args(argv)
    demo = build_demo()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        samples = soak(demo, url, clients=args.clients, seconds=args.seconds, example=args.example)
    finally:
        demo.close()
    print(f"backend: {server.current().assembled.backend.describe()}; {args.clients} clients, example {args.example}")
    print(f"{'s':>6} {'rounds':>7} {'RSS MB':>8} {'app files MB':>13} {'Gradio files MB':>16} {'threads':>8}")
    for s in samples:
        print(
            f"{s.seconds:6.0f} {s.rounds:7d} {s.rss_mb:8.0f} {s.app_files_mb:13.1f} {s.gradio_files_mb:16.1f}"
            f" {s.threads:8d}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
