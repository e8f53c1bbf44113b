"""Video segmentation backends behind one protocol."""

from click2graph.segment.base import (
    Candidates,
    ObjectTrack,
    PropagationStep,
    SegmenterState,
    VideoSegmenter,
    track_both_directions,
)

__all__ = [
    "Candidates",
    "ObjectTrack",
    "PropagationStep",
    "SegmenterState",
    "VideoSegmenter",
    "track_both_directions",
]
