"""Per-video state of the SAM 2 backend: sam2's inference state built from our working frames, plus a feature cache.

sam2's ``SAM2VideoPredictor.init_state`` reads a JPEG folder and holds every frame as a float32
``3 x image_size x image_size`` tensor (12.6 MB a frame at 1024 px), and keeps backbone features of only the last
frame it encoded. Here the frames stay uint8 in :class:`~click2graph.video.Video` and are preprocessed on demand
(:class:`PreprocessedFrames`), and backbone features of as many frames as a memory budget holds are kept
(:class:`FeatureCache`) so the subject, discovery and the other objects share one encoder pass per frame.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image

from click2graph.cv.flow import FlowCache
from click2graph.segment.base import SegmenterState
from click2graph.video import Video

# sam2's normalisation (sam2/utils/misc.py: load_video_frames defaults), ImageNet mean and std.
_IMG_MEAN = (0.485, 0.456, 0.406)
_IMG_STD = (0.229, 0.224, 0.225)

FEATURE_CACHE_KEY = "click2graph_feature_cache"
"""Key of our :class:`FeatureCache` inside sam2's inference-state dict (sam2 ignores keys it does not know); the
``_get_image_feature`` hook in :mod:`click2graph.segment.sam2` finds the cache there."""
FLOWS_KEY = "click2graph_flows"
"""Key of the video's :class:`~click2graph.cv.flow.FlowCache` there: strided tracking carries masks along it."""


class PreprocessedFrames:
    """Sequence view of working frames as sam2 model input, built on demand like sam2's ``AsyncVideoFrameLoader``.

    ``frames[i]`` is float32 (3, image_size, image_size) on ``device``, computed exactly as sam2's JPEG loader does
    (``_load_img_as_tensor``: PIL resize, squashing the aspect ratio, then ``/ 255.0`` in float64, then the
    mean/std normalisation in float32), so masks equal those of sam2 run on a JPEG folder of the same frames.
    """

    def __init__(self, frames: np.ndarray, image_size: int, device: torch.device) -> None:
        self.frames = frames  # uint8 (N, H, W, 3), the Video's array (not copied)
        self.image_size = image_size
        self.device = device
        self.mean = torch.tensor(_IMG_MEAN, dtype=torch.float32)[:, None, None]
        self.std = torch.tensor(_IMG_STD, dtype=torch.float32)[:, None, None]

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, frame_idx: int) -> torch.Tensor:
        size = (self.image_size, self.image_size)
        resized = np.array(Image.fromarray(self.frames[frame_idx]).resize(size)) / 255.0
        image = torch.from_numpy(resized).permute(2, 0, 1).float()
        image -= self.mean
        image /= self.std
        return image.to(self.device)


class FeatureCache:
    """LRU of backbone outputs per frame within ``max_bytes`` (0 disables it; the newest frame is always kept).

    Only ``backbone_fpn`` is stored per frame: about 4 MB at 512 px and 16 MB at 1024 px (tiny), so the default
    1 GiB holds 256 or 64 frames. ``vision_pos_enc`` is a sine position encoding that depends on the feature-map
    shapes alone, so one copy serves every frame; sam2 recomputes it per frame, and it is the larger part (at 512 px
    about 22 MB a frame, at 1024 px 88 MB).
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.nbytes = 0
        self._fpn: OrderedDict[int, list[torch.Tensor]] = OrderedDict()
        self._pos_enc: list[torch.Tensor] | None = None

    def __len__(self) -> int:
        return len(self._fpn)

    def get(self, frame_idx: int) -> dict[str, list[torch.Tensor]] | None:
        """The backbone output sam2's ``forward_image`` returned for this frame, or None when not cached."""
        fpn = self._fpn.get(frame_idx)
        if fpn is None:
            return None
        self._fpn.move_to_end(frame_idx)
        return {"backbone_fpn": list(fpn), "vision_pos_enc": list(self._pos_enc)}

    def put(self, frame_idx: int, backbone_out: dict[str, Any]) -> None:
        if self.max_bytes <= 0:
            return
        if self._pos_enc is None:
            self._pos_enc = list(backbone_out["vision_pos_enc"])
        self._drop(frame_idx)
        fpn = list(backbone_out["backbone_fpn"])
        self._fpn[frame_idx] = fpn
        self.nbytes += _nbytes(fpn)
        while self.nbytes > self.max_bytes and len(self._fpn) > 1:
            self._drop(next(iter(self._fpn)))

    def _drop(self, frame_idx: int) -> None:
        fpn = self._fpn.pop(frame_idx, None)
        if fpn is not None:
            self.nbytes -= _nbytes(fpn)


def _nbytes(tensors: list[torch.Tensor]) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


@dataclass
class Sam2State(SegmenterState):
    """:class:`SegmenterState` plus sam2's inference state for the same video.

    ``inference`` is the dict ``SAM2VideoPredictor`` works on (its keys are documented in sam2's ``init_state``);
    only :class:`~click2graph.segment.sam2.Sam2Segmenter` touches it. sam2's ``obj_id`` is our ``obj_id``.
    """

    inference: dict[str, Any] = field(default_factory=dict)
    features: FeatureCache = field(default_factory=lambda: FeatureCache(0))


def build_inference_state(
    video: Video, *, image_size: int, device: torch.device, features: FeatureCache, flows: FlowCache
) -> dict[str, Any]:
    """sam2's inference state for ``video``, as ``SAM2VideoPredictor.init_state`` builds it from a JPEG folder.

    Differences, on purpose: ``images`` is a :class:`PreprocessedFrames` view instead of an (N, 3, S, S) tensor;
    the video size is the working size; frame 0 is not encoded up front (sam2 warms up there; our ``init_state``
    computes nothing heavy); and our feature cache and the flows ride along under :data:`FEATURE_CACHE_KEY` and
    :data:`FLOWS_KEY`.
    """
    return {
        "images": PreprocessedFrames(video.frames, image_size, device),
        "num_frames": len(video),
        # Offloading only matters with a GPU; on CPU the "GPU" is the CPU.
        "offload_video_to_cpu": False,
        "offload_state_to_cpu": False,
        "video_height": video.height,
        "video_width": video.width,
        "device": device,
        "storage_device": device,
        "point_inputs_per_obj": {},
        "mask_inputs_per_obj": {},
        "cached_features": {},
        "constants": {},
        "obj_id_to_idx": OrderedDict(),
        "obj_idx_to_id": OrderedDict(),
        "obj_ids": [],
        "output_dict_per_obj": {},
        "temp_output_dict_per_obj": {},
        "frames_tracked_per_obj": {},
        FEATURE_CACHE_KEY: features,
        FLOWS_KEY: flows,
    }
