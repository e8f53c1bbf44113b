"""Video segmentation backends behind one protocol."""

from click2graph.segment.base import (
    Candidates,
    FeatureSegmenter,
    ObjectTrack,
    PropagationStep,
    SegmenterState,
    VideoSegmenter,
    require_features,
    track_both_directions,
)

__all__ = [
    "Candidates",
    "FeatureSegmenter",
    "ObjectTrack",
    "PropagationStep",
    "SegmenterState",
    "VideoSegmenter",
    "require_features",
    "track_both_directions",
]
