"""Click2Graph: one click on a video subject -> a temporal panoptic scene graph.

from click2graph import Click, Pipeline, load_video

video = load_video("clip.mp4")
pipeline = Pipeline()                      # weight-free classic backend; Settings(...).assemble() for others
session = pipeline.open(video)
pipeline.prompt_subject(session, [Click(x=320, y=180, frame_idx=0)])
graph = pipeline.build(session)            # a SceneGraph: entities, relations with spans, masks
"""

from click2graph.errors import (
    CheckpointError,
    Click2GraphError,
    Click2GraphWarning,
    PromptError,
    VideoError,
)
from click2graph.graph import SceneGraph
from click2graph.pipeline import Pipeline, PipelineConfig
from click2graph.prompts import Box, Click
from click2graph.settings import Settings
from click2graph.video import VideoPolicy, load_video

__version__ = "0.1.0"

__all__ = [
    "Box",
    "CheckpointError",
    "Click",
    "Click2GraphError",
    "Click2GraphWarning",
    "Pipeline",
    "PipelineConfig",
    "PromptError",
    "SceneGraph",
    "Settings",
    "VideoError",
    "VideoPolicy",
    "__version__",
    "load_video",
]
