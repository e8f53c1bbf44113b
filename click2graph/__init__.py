"""Click2Graph: one click on a video subject -> a temporal panoptic scene graph."""

from click2graph.errors import (
    CheckpointError,
    Click2GraphError,
    Click2GraphWarning,
    PromptError,
    VideoError,
)

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "Click2GraphError",
    "Click2GraphWarning",
    "PromptError",
    "VideoError",
    "__version__",
]
