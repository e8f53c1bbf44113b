"""Launch the Click2Graph demo: ``python app.py`` (also the Hugging Face Spaces entry point)."""

import logging
import os
import sys
import threading

from demo import gpu, runtime

# Every temporary file of this process, Gradio's cache included, lives in one folder that is removed at exit
# (SIGTERM too) and, after a crash, at the next start. Set before Gradio is imported: it reads it at import.
os.environ.setdefault("GRADIO_TEMP_DIR", str(runtime.run_dir() / "gradio"))

if gpu.on_zero_gpu():  # a ZeroGPU Space: `spaces` patches torch, so it comes before anything imports torch
    import spaces  # noqa: E402, F401

from click2graph.errors import Click2GraphError  # noqa: E402
from demo import handlers, server  # noqa: E402
from demo.app import CSS, build_demo  # noqa: E402

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    runtime.exit_on_sigterm()
    try:
        here = server.current()  # the pipeline the CLICK2GRAPH_* variables describe
    except Click2GraphError as exc:
        sys.exit(f"error: {exc}")
    threading.Thread(target=handlers.warm_up, name="warm-up", daemon=True).start()
    build_demo().launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        max_file_size=f"{here.limits.max_upload_mb}mb",
        css=CSS,
    )
