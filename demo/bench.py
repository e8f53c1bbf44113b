"""Time the demo as a user meets it: ``python -m demo.bench [EXAMPLE]``.

Launches the app in this process on a free localhost port with the backend it would normally use, then over HTTP
(gradio_client) loads the example (its preset click) and presses "Build scene graph": the printed times are from the
request to the first streamed frame (the track as it grows) and to the response carrying the timeline, the graph
view and the downloads. A second build of the same unchanged session is timed too (nothing is re-tracked), then a
click and an undo of this visitor while a second visitor's build of another example runs (they must not wait for
it). The example cache is a fresh temporary folder, so the first builds are real ones.
"""

from __future__ import annotations

import socket
import sys
import tempfile
import time

from gradio_client import Client

from demo import handlers, server
from demo.app import build_demo
from demo.example_cache import ExampleCache


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv: list[str]) -> int:
    names = handlers.example_names()
    name = argv[0] if argv else names[0]
    with tempfile.TemporaryDirectory() as tmp:
        server.current().cache = ExampleCache(tmp)  # never a cached result from an earlier run
        demo = build_demo()
        _, url, _ = demo.launch(server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True, quiet=True)
        try:
            client = Client(url, verbose=False, download_files=tmp)
            started = time.perf_counter()
            client.predict(name, api_name="/load_example")
            loaded = time.perf_counter()
            build = client.submit(0, api_name="/build")
            while not build.outputs() and not build.done():
                time.sleep(0.02)
            first_frame = time.perf_counter()
            build.result()
            built = time.perf_counter()
            client.predict(0, api_name="/build")
            rebuilt = time.perf_counter()
            other = Client(url, verbose=False, download_files=tmp)
            other.predict(next(n for n in names if n != name), api_name="/load_example")
            job = other.submit(0, api_name="/build")
            time.sleep(2.0)  # the other visitor's build is under way
            clicked = time.perf_counter()
            client.predict(5, 5, False, 0, "negative", api_name="/click")
            client.predict(0, api_name="/undo")
            answered = time.perf_counter()
            other_running = not job.done()
            job.result()
        finally:
            demo.close()
    print(f"backend: {server.current().assembled.backend.describe()}")
    print(
        f"example {name}: load + preset click {loaded - started:.1f} s; "
        f"Build scene graph -> first streamed frame after {first_frame - loaded:.1f} s, "
        f"timeline {built - loaded:.1f} s; build again (nothing changed) {rebuilt - built:.1f} s"
    )
    print(
        f"click + undo while another visitor builds: {answered - clicked:.2f} s "
        f"({'the other build was still running' if other_running else 'the other build had already ended'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
