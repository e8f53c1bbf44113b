"""The frames of an annotated video, as the pipeline sees them."""

from __future__ import annotations

from click2graph.data.openpvsg import PvsgVideo
from click2graph.video import Video, VideoPolicy, load_video


def load_frames(video: PvsgVideo, max_side: int | None = 854) -> Video:
    """All annotated frames of a video (its frame folder, else its video file) at the working size."""
    policy = VideoPolicy(max_duration_s=None, target_fps=None, max_side=max_side, folder_fps=float(video.meta["fps"]))
    source = video.frame_dir if video.frame_dir.is_dir() else video.video_path
    return load_video(source, policy)
