"""Launch the Click2Graph demo: ``python app.py`` (also the Hugging Face Spaces entry point)."""

import logging
import os
import threading

from demo import handlers
from demo.app import build_demo

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    threading.Thread(target=handlers.warm_up, name="warm-up", daemon=True).start()
    build_demo().queue(default_concurrency_limit=1, max_size=16).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
    )
