"""The SAM 2 backend: :class:`Sam2Segmenter` holds sam2's ``SAM2VideoPredictor`` behind the VideoSegmenter protocol.

Verbs map one to one onto sam2's: ``add_prompt`` -> ``add_new_points_or_box``, ``add_mask`` -> ``add_new_mask``,
``remove_object`` -> ``remove_object``, ``propagate`` -> ``propagate_in_video``; ``decode_candidates`` runs SAM's
prompt encoder and mask decoder alone on a frame's cached features. sam2's ``obj_id`` is our ``obj_id``.

The predictor is built here and owned by the segmenter, which adjusts that one instance (never sam2's classes):
``forward_image`` counts encoder runs (``encoder_calls``), ``_get_image_feature`` reads and fills the per-video
:class:`~click2graph.segment.sam2_state.FeatureCache`, and ``memory_attention`` gets the upstream #308 fix.
Working frames come from :class:`~click2graph.video.Video` instead of a JPEG folder (see :mod:`.sam2_state`).

Two speed levers (:class:`Sam2Config`): the image encoder's linear layers in int8 (``encoder="int8"``), and
SAM 2 on every k-th frame only, masks carried along optical flow between (``stride``, see :mod:`.sam2_stride`);
with a stride, :meth:`Sam2Segmenter.propagate` yields the frames between two SAM 2 frames once the later one is
computed.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from dataclasses import dataclass, replace
from typing import Iterator, Literal, Sequence

import numpy as np
import sam2.sam2_video_predictor as sam2_video_predictor
import torch
import torch.nn.functional as F
from hydra import initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from sam2.build_sam import build_sam2_video_predictor
from sam2.sam2_video_predictor import SAM2VideoPredictor
from tqdm import tqdm

from click2graph.errors import CheckpointError
from click2graph.int8 import quantize_int8
from click2graph.masks import rle_encode
from click2graph.prompts import FramePrompt
from click2graph.segment.base import Candidates, ObjectTrack, PropagationStep, SegmenterState
from click2graph.segment.sam2_checkpoints import CheckpointSpec, get_spec, resolve_checkpoint, validate_checkpoint
from click2graph.segment.sam2_state import (
    FEATURE_CACHE_KEY,
    FLOWS_KEY,
    FeatureCache,
    Sam2State,
    build_inference_state,
)
from click2graph.segment.sam2_stride import backfill, carried_output, is_sam2_frame, sam2_frames_only
from click2graph.video import Video

logger = logging.getLogger(__name__)

# sam2's propagate_in_video draws its own tqdm bar on every call ("propagate in video"), which neither the CLI's
# --quiet nor the app can turn off, and which interleaves with our progress (frames per phase, by BuildStep).
sam2_video_predictor.tqdm = functools.partial(tqdm, disable=True)

Precision = Literal["fp32", "bf16"]
EncoderPrecision = Literal["fp32", "int8"]
# Key, in sam2's inference state, of the ids of the output dicts of the objects a propagate() call tracks.
TRACKED_OUTPUTS_KEY = "click2graph_tracked_outputs"
_BELOW_AVX512 = ("DEFAULT", "AVX2")  # torch.backends.cpu.get_cpu_capability() of x86 ATen kernels without AVX-512
Device = Literal["cpu", "cuda", "auto"]


@dataclass(frozen=True)
class Sam2Config:
    """Settings of the SAM 2 backend."""

    model: str = "tiny"  # a name in sam2_checkpoints.CHECKPOINTS; a checkpoint file's own size wins over it
    # SAM 2 was trained at 1024 px. On 2 vCPU: 3.1 s per tracked frame at 1024, 0.44-0.51 s at 512 (quality with
    # real weights unverified at 512).
    image_size: int = 1024
    # bf16 runs under torch.autocast: 2.5x faster on CPUs with AMX/AVX512-BF16, possibly slower on older ones.
    precision: Precision = "fp32"
    device: Device = "auto"  # "auto": CUDA when available, else CPU
    # Backbone features kept per video (LRU), so subject, discovery and objects encode a frame once: about 4 MB a
    # frame at 512 px, 16 MB at 1024 px, so 1024 MB hold a default 150-frame clip at 512 px, 64 frames at 1024 px.
    feature_cache_mb: float = 1024
    # "int8": the image encoder's linear layers dynamically quantized: a 1.3-1.5x faster encoder on a 2-core CPU,
    # masks within IoU 0.99 of fp32 (random weights). Applies with fp32 precision on a CPU only (no int8 kernels on
    # CUDA, and the quantized layers take no bf16): elsewhere the encoder runs in ``precision``. Memory attention,
    # the larger cost, gains nothing from it (its time is in the attention products, not in linear layers).
    encoder: EncoderPrecision = "fp32"
    # SAM 2 tracks every stride-th working frame (and prompt frames); masks in between are carried along optical
    # flow from the SAM 2 frames on both sides (:mod:`click2graph.segment.sam2_stride`). 1: every frame, as
    # released. Opt-in: on DAVIS at 10 fps the frames between keep IoU 0.73 with the truth at K=3 where SAM 2's own
    # masks would give ~0.96 (``python -m click2graph.bench stride_fill``).
    stride: int = 1

    def __post_init__(self) -> None:
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16', got {self.precision!r}")
        if self.encoder not in ("fp32", "int8"):
            raise ValueError(f"encoder must be 'fp32' or 'int8', got {self.encoder!r}")
        if self.stride < 1:
            raise ValueError(f"stride must be >= 1, got {self.stride}")
        if self.device not in ("cpu", "cuda", "auto"):
            raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {self.device!r}")
        if self.image_size <= 0 or self.feature_cache_mb < 0:
            raise ValueError(
                f"image_size must be > 0 and feature_cache_mb >= 0, got {self.image_size} and {self.feature_cache_mb}"
            )

    def torch_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)


class Sam2Segmenter:
    """:class:`~click2graph.segment.FeatureSegmenter` on SAM 2.1; build it with :meth:`from_checkpoint`.

    Attributes:
        predictor: the sam2 ``SAM2VideoPredictor`` this segmenter owns.
        encoder_calls: images run through the image encoder so far (all videos), for tests and benchmarks.
        encoder_int8: whether the image encoder's linear layers run in int8 (see ``Sam2Config.encoder``).
    """

    name = "sam2"

    def __init__(self, predictor: SAM2VideoPredictor, spec: CheckpointSpec, config: Sam2Config) -> None:
        self.predictor = predictor
        self.spec = spec
        self.config = config
        self.device = config.torch_device()
        self.encoder_calls = 0
        # sam2 defaults to 8 px hole filling through its optional CUDA extension `_C`; without it every process
        # warns once. Holes that small do not matter at working resolution.
        predictor.fill_hole_area = 0
        patch_memory_dtype(predictor)
        self.encoder_int8 = (
            config.encoder == "int8"
            and config.precision == "fp32"
            and self.device.type == "cpu"
            and quantize_int8(predictor.image_encoder)
        )
        self._hook_image_features()
        self._hook_frame_inference()
        if config.stride > 1:
            self._hook_memory_selection()

    @classmethod
    def from_checkpoint(
        cls, path_or_name: str | os.PathLike[str] | None = None, config: Sam2Config = Sam2Config()
    ) -> "Sam2Segmenter":
        """Build from a checkpoint file or a known name (default ``config.model``), resolved by resolve_checkpoint.

        The file decides the model size: ``config.model`` only names what to look for.

        Raises:
            CheckpointError: not found, corrupt, the wrong size, or rejected by sam2's strict state-dict loading.
        """
        resolved = resolve_checkpoint(config.model if path_or_name is None else path_or_name)
        validate_checkpoint(resolved.path, resolved.spec)
        config = replace(config, model=resolved.spec.name)
        try:
            predictor = _build_predictor(resolved.spec, config, str(resolved.path))
        except RuntimeError as exc:
            # sam2's loader raises a strict load_state_dict error, or a bare RuntimeError() after logging the keys.
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "missing or unexpected keys (logged)"
            raise CheckpointError(
                f"{resolved.path} does not fit the {resolved.spec.title} model: {detail[:300]}; use the released "
                f"{resolved.spec.filename} (python -m click2graph weights download {resolved.spec.name})"
            ) from exc
        return cls(predictor, resolved.spec, config)

    @classmethod
    def from_random_weights(cls, config: Sam2Config = Sam2Config(), seed: int = 0) -> "Sam2Segmenter":
        """A model with random weights (for tests: shapes, ids and counts, never mask quality)."""
        spec = get_spec(config.model)
        torch.manual_seed(seed)
        return cls(_build_predictor(spec, config, None), spec, config)

    def describe(self) -> str:
        model = self.spec.title.replace("hiera-", "")
        levers = (", int8 encoder" if self.encoder_int8 else "") + (
            f", SAM 2 every {self.config.stride} frames" if self.config.stride > 1 else ""
        )
        return f"{model} @{self.config.image_size}, {self.device.type.upper()}, {self.config.precision}{levers}"

    def init_state(self, video: Video) -> Sam2State:
        features = FeatureCache(int(self.config.feature_cache_mb * 2**20))
        state = Sam2State(video=video, features=features)
        state.inference = build_inference_state(
            video, image_size=self.predictor.image_size, device=self.device, features=features, flows=state.flows
        )
        return state

    def add_prompt(self, state: SegmenterState, obj_id: int, prompt: FramePrompt) -> np.ndarray:
        inference = _inference_of(state)
        has_points = len(prompt.labels) > 0
        with self._compute():
            _, obj_ids, logits = self.predictor.add_new_points_or_box(
                inference,
                frame_idx=prompt.frame_idx,
                obj_id=obj_id,
                points=prompt.points_xy if has_points else None,
                labels=prompt.labels if has_points else None,
                clear_old_points=True,  # the prompt carries all clicks so far on this frame
                box=prompt.box_xyxy,
            )
        mask = _to_masks(logits)[list(obj_ids).index(obj_id)]
        track = state.objects.setdefault(obj_id, ObjectTrack(obj_id))
        track.prompts[prompt.frame_idx] = prompt
        track.mask_prompts.pop(prompt.frame_idx, None)
        track.set_mask(prompt.frame_idx, mask)
        return mask

    def add_mask(self, state: SegmenterState, obj_id: int, frame_idx: int, mask: np.ndarray) -> np.ndarray:
        with self._compute():
            _, obj_ids, logits = self.predictor.add_new_mask(
                _inference_of(state), frame_idx=frame_idx, obj_id=obj_id, mask=mask.astype(bool)
            )
        kept = _to_masks(logits)[list(obj_ids).index(obj_id)]
        track = state.objects.setdefault(obj_id, ObjectTrack(obj_id))
        track.prompts.pop(frame_idx, None)
        track.set_mask(frame_idx, kept)
        track.mask_prompts[frame_idx] = rle_encode(mask.astype(bool))  # the prompt as given; sam2's output differs
        return kept

    def remove_object(self, state: SegmenterState, obj_id: int) -> None:
        with self._compute():
            self.predictor.remove_object(_inference_of(state), obj_id, need_output=False)
        state.objects.pop(obj_id, None)

    def propagate(
        self, state: SegmenterState, *, obj_ids: Sequence[int] | None = None, reverse: bool = False
    ) -> Iterator[PropagationStep]:
        """Track objects with ``propagate_in_video``; see the protocol for the contract.

        Differences from the protocol that sam2 imposes (sam2 has no per-object start or object filter):
        - sam2 tracks *every* object of the state on each frame it visits; only ``obj_ids`` are yielded and
          stored. Another object that sam2 already tracked on a frame is not computed again there: its earlier
          output is reused (sam2's objects have separate memories, so this changes no other object's mask, and
          it keeps sam2's memory equal to the masks we stored). On frames it never visited it is computed, and
          that output joins its memory only (its stored masks are left as they were).
        - the run starts at the earliest prompt frame of ``obj_ids`` (latest when ``reverse``); an object whose
          own first prompt comes later is still computed by sam2 on the frames before it (from its later prompt
          frames' memory), and those outputs join its memory, but it is yielded only from its own prompt frame on.
        - sam2 skips reverse tracking from frame 0, so that case yields the prompted masks stored on frame 0.
        - with a ``stride``, the frames between two SAM 2 frames are yielded once the later one is computed (their
          masks blended with it: :func:`~click2graph.segment.sam2_stride.backfill`), the frames after the last one
          at the end of the run.
        """
        ids = [i for i in (state.obj_ids if obj_ids is None else obj_ids) if state.track(i).prompt_frames]
        if not ids:
            return
        anchors = {i: (max if reverse else min)(state.track(i).prompt_frames) for i in ids}
        start = (max if reverse else min)(anchors.values())
        if reverse and start == 0:
            yield 0, ids, np.stack([state.mask(i, 0) for i in ids])
            return
        inference = _inference_of(state)
        steps = self.predictor.propagate_in_video(inference, start_frame_idx=start, reverse=reverse)
        tracked_outputs = {id(inference["output_dict_per_obj"][inference["obj_id_to_idx"][i]]) for i in ids}
        held: list[tuple[int, list[int], np.ndarray]] = []  # frames between SAM 2 frames, not yielded yet
        while True:
            # The compute context and the tracked set are set per step, so neither leaks into the caller's code
            # (or into another run) between yields.
            with self._compute():
                inference[TRACKED_OUTPUTS_KEY] = tracked_outputs
                try:
                    step = next(steps, None)
                finally:
                    inference.pop(TRACKED_OUTPUTS_KEY, None)
            if step is None:
                break
            frame_idx, all_ids, logits = step
            shown = [i for i in ids if (frame_idx <= anchors[i] if reverse else frame_idx >= anchors[i])]
            if not shown:
                continue
            masks = _to_masks(logits)[[list(all_ids).index(i) for i in shown]]
            if not is_sam2_frame(frame_idx, self.config.stride):
                held.append((frame_idx, shown, masks))
                continue
            if held:
                held = self._backfilled(state, held, frame_idx, shown, -1 if reverse else 1)
            for frame, frame_ids, frame_masks in [*held, (frame_idx, shown, masks)]:
                yield _stored(state, frame, frame_ids, frame_masks)
            held = []
        for frame, frame_ids, frame_masks in held:
            yield _stored(state, frame, frame_ids, frame_masks)

    def _backfilled(
        self, state: Sam2State, held: list[tuple[int, list[int], np.ndarray]], frame_idx: int, ids: list[int], step: int
    ) -> list[tuple[int, list[int], np.ndarray]]:
        """``held`` with the masks of the objects' carried frames before SAM 2's ``frame_idx`` blended with it."""
        inference = state.inference
        changed: set[tuple[int, int]] = set()
        with self._compute():
            for i in ids:
                outputs = inference["output_dict_per_obj"][inference["obj_id_to_idx"][i]]
                carried = outputs["non_cond_frame_outputs"]
                anchor = outputs["cond_frame_outputs"].get(frame_idx, carried.get(frame_idx))
                blended = backfill(carried, anchor, frame_idx, step, inference[FLOWS_KEY])
                changed.update((i, t) for t in blended)
            result = []
            for frame, frame_ids, masks in held:
                masks = masks.copy()
                for k, i in enumerate(frame_ids):
                    if (i, frame) in changed:
                        outputs = inference["output_dict_per_obj"][inference["obj_id_to_idx"][i]]
                        logits = outputs["non_cond_frame_outputs"][frame]["pred_masks"]
                        masks[k] = _to_masks(self.predictor._get_orig_video_res_output(inference, logits)[1])[0]
                result.append((frame, frame_ids, masks))
        return result

    def decode_candidates(
        self, state: SegmenterState, frame_idx: int, points_xy: np.ndarray, *, avoid: np.ndarray | None = None
    ) -> Candidates:
        """One mask per point from SAM's decoder alone (as a first click would give, without memory), best of its
        three by predicted IoU, which is the score; ``avoid`` pixels are removed from each mask afterwards."""
        points = np.asarray(points_xy, np.float32).reshape(-1, 2)
        h, w = state.video.height, state.video.width
        if len(points) == 0:
            return Candidates(masks=np.zeros((0, h, w), bool), scores=np.zeros(0, np.float32))
        model = self.predictor
        embed, high_res = self.decoder_features(state, frame_idx)
        k = len(points)
        with self._compute():
            pix_feat = embed.expand(k, -1, -1, -1)
            high_res = [x.expand(k, -1, -1, -1) for x in high_res]
            coords = torch.from_numpy(points / np.array([w, h], np.float32) * model.image_size)
            point_inputs = {
                "point_coords": coords[:, None, :].to(self.device),  # (K, 1, 2) model-input pixels
                "point_labels": torch.ones(len(points), 1, dtype=torch.int32, device=self.device),
            }
            _, _, ious, low_res_masks, _, _, _ = model._forward_sam_heads(
                backbone_features=pix_feat,
                point_inputs=point_inputs,
                high_res_features=high_res,
                multimask_output=True,  # low_res_masks is then the best of three by predicted IoU
            )
            # Upsampled straight to working pixels, as the video predictor does with its low-res masks.
            logits = F.interpolate(low_res_masks.float(), size=(h, w), mode="bilinear", align_corners=False)
        masks = _to_masks(logits)
        if avoid is not None:
            masks &= ~avoid.astype(bool)
        scores = ious.float().max(dim=1).values.clamp(0, 1).cpu().numpy().astype(np.float32)
        scores[~masks.any(axis=(1, 2))] = 0.0  # nothing left (no object, or all avoided): no confidence
        return Candidates(masks=masks, scores=scores)

    @property
    def feature_dim(self) -> int:
        """Channels of SAM 2's stride-16 features and of its object pointers (sam2's ``hidden_dim``, 256)."""
        return int(self.predictor.hidden_dim)

    @property
    def backbone(self) -> dict[str, str | int]:
        """The SAM 2.1 model and input size its features and object pointers come from."""
        return {"model": self.spec.name, "image_size": int(self.predictor.image_size)}

    def freeze_weights(self) -> None:
        self.predictor.requires_grad_(False)

    def frame_features(self, state: SegmenterState, frame_idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        """SAM 2's stride-16 image features of a working frame and their position encoding, float32
        (1, C, H, W) each (C = 256; H = W = image_size / 16); from the feature cache when there (frozen)."""
        with self._compute():
            _, _, feats, pos, sizes = self.predictor._get_image_feature(_inference_of(state), frame_idx, 1)
        h, w = sizes[-1]
        return tuple(x[-1].permute(1, 2, 0).reshape(1, -1, h, w).float() for x in (feats, pos))

    def decoder_features(self, state: SegmenterState, frame_idx: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """What SAM 2's mask decoder reads for a first prompt on a working frame (no memory): the stride-16
        embedding with sam2's learned no-memory embedding, float32 (1, C, h, w), and the two high-resolution maps,
        [(1, C0, 4h, 4w), (1, C1, 2h, 2w)]. Frozen (no gradient), but ordinary tensors, usable in a graph that
        back-propagates to prompts (:meth:`decode_point_logits`)."""
        inference = _inference_of(state)
        model = self.predictor
        with self._compute():
            _, _, feats, pos_embeds, sizes = model._get_image_feature(inference, frame_idx, 1)
            # An initial conditioning frame without memory: sam2 adds its learned no-memory embedding.
            embed = model._prepare_memory_conditioned_features(
                frame_idx=frame_idx,
                is_init_cond_frame=True,
                current_vision_feats=feats,
                current_vision_pos_embeds=pos_embeds,
                feat_sizes=sizes,
                output_dict={"cond_frame_outputs": {}, "non_cond_frame_outputs": {}},
                num_frames=len(state.video),
            )
            high_res = [x.permute(1, 2, 0).reshape(1, x.size(2), *s) for x, s in zip(feats[:-1], sizes[:-1])]
        return embed.float().clone(), [x.float().clone() for x in high_res]  # clone: out of inference mode

    def decode_point_logits(
        self, embed: torch.Tensor, high_res: Sequence[torch.Tensor], points: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """SAM 2's prompt encoder and mask decoder on positive point prompts, differentiable in the points.

        Args:
            embed: (N, C, h, w) from :meth:`decoder_features` (one row per prompt set).
            high_res: its two high-resolution maps, N rows each.
            points: float (N, P, 2) ``(x, y)`` in [0, 1] of the frame; gradients flow back to them (SAM 2's own
                weights stay as they are: nothing here updates them).

        Returns:
            The three candidate masks' logits (N, 3, 4h, 4w) before sam2's object-presence gating (so a point off
            every object still gets a gradient), and the decoder's IoU estimates (N, 3).
        """
        model = self.predictor
        coords = points * model.image_size  # model-input pixels of the square resized frame
        labels = torch.ones(points.shape[:2], dtype=torch.int32, device=points.device)
        sparse, dense = model.sam_prompt_encoder(points=(coords, labels), boxes=None, masks=None)
        logits, ious, _, _ = model.sam_mask_decoder(
            image_embeddings=embed,
            image_pe=model.sam_prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=True,
            repeat_image=False,
            high_res_features=list(high_res),
        )
        return logits.float(), ious.float()

    def object_pointer(self, state: SegmenterState, obj_id: int, frame_idx: int) -> torch.Tensor | None:
        """SAM 2's object pointer of a tracked object on a frame (the mask decoder's object token, projected;
        float32 (C,)), or None where sam2 has no output for it."""
        inference = _inference_of(state)
        idx = inference["obj_id_to_idx"].get(obj_id)
        if idx is None:
            return None
        for outputs in (inference["temp_output_dict_per_obj"][idx], inference["output_dict_per_obj"][idx]):
            for kind in ("cond_frame_outputs", "non_cond_frame_outputs"):
                out = outputs[kind].get(frame_idx)  # temp: prompted since the last propagation
                if out is not None and out.get("obj_ptr") is not None:
                    return out["obj_ptr"][0].float()
        return None

    def _compute(self) -> contextlib.ExitStack:
        """Inference mode, plus bf16 autocast when asked for (sam2 itself runs its GPU demos under autocast).

        On a CPU whose ATen kernels are held below AVX-512 (``ATEN_CPU_CAPABILITY=default`` or ``avx2``), PyTorch's
        bf16 flash attention still packs for AMX when the chip has it and then fails ("pack_vnni2 is only supported
        when avx512 is supported"): attention runs in the plain math kernel there."""
        stack = contextlib.ExitStack()
        stack.enter_context(torch.inference_mode())
        if self.config.precision == "bf16":
            stack.enter_context(torch.autocast(device_type=self.device.type, dtype=torch.bfloat16))
            if self.device.type == "cpu" and torch.backends.cpu.get_cpu_capability() in _BELOW_AVX512:
                from torch.nn.attention import SDPBackend, sdpa_kernel

                stack.enter_context(sdpa_kernel([SDPBackend.MATH]))
        return stack

    def _hook_image_features(self) -> None:
        """Count encoder runs, and serve backbone features from the state's FeatureCache before sam2's own cache.

        sam2's ``_get_image_feature`` keeps one frame in ``inference_state["cached_features"]``; on a hit in our
        cache we put that frame there first, so sam2 finds it and skips the encoder.
        """
        predictor = self.predictor
        forward_image = predictor.forward_image
        get_image_feature = predictor._get_image_feature

        def counted_forward_image(img_batch: torch.Tensor):
            self.encoder_calls += int(img_batch.shape[0])
            return forward_image(img_batch)

        def cached_get_image_feature(inference_state: dict, frame_idx: int, batch_size: int):
            cache: FeatureCache = inference_state[FEATURE_CACHE_KEY]
            backbone_out = cache.get(frame_idx)
            if backbone_out is not None and frame_idx not in inference_state["cached_features"]:
                image = inference_state["images"][frame_idx].unsqueeze(0)  # cheap: a resize, no encoder
                inference_state["cached_features"] = {frame_idx: (image, backbone_out)}
            features = get_image_feature(inference_state, frame_idx, batch_size)
            if backbone_out is None:
                cache.put(frame_idx, inference_state["cached_features"][frame_idx][1])
            return features

        predictor.forward_image = counted_forward_image
        predictor._get_image_feature = cached_get_image_feature

    def _hook_frame_inference(self) -> None:
        """During :meth:`propagate`, reuse the output of an object that is not being tracked on a frame sam2
        already tracked it on, instead of running memory attention and the decoder for it again; and with a
        ``stride``, carry masks along the flow on the frames between SAM 2's."""
        predictor = self.predictor
        run_single_frame_inference = predictor._run_single_frame_inference
        stride = self.config.stride

        def reuse_or_carry(inference_state: dict, output_dict: dict, frame_idx: int, *args, **kwargs):
            tracked = inference_state.get(TRACKED_OUTPUTS_KEY)
            if tracked is not None and id(output_dict) not in tracked:
                done = output_dict["non_cond_frame_outputs"].get(frame_idx)
                if done is not None:
                    return done, done["pred_masks"]
            if tracked is not None and not is_sam2_frame(frame_idx, stride):
                before = frame_idx + 1 if kwargs["reverse"] else frame_idx - 1
                outputs = output_dict["cond_frame_outputs"], output_dict["non_cond_frame_outputs"]
                previous = outputs[0].get(before, outputs[1].get(before))
                if previous is not None:  # else (a run's first frame) SAM 2 computes it
                    carried = carried_output(previous, inference_state[FLOWS_KEY].get(frame_idx, before))
                    return carried, carried["pred_masks"]
            return run_single_frame_inference(inference_state, output_dict, frame_idx, *args, **kwargs)

        predictor._run_single_frame_inference = reuse_or_carry

    def _hook_memory_selection(self) -> None:
        """With a ``stride``, sam2's memory reads the frames SAM 2 computed only, as consecutive frames."""
        predictor = self.predictor
        prepare = predictor._prepare_memory_conditioned_features

        def on_sam2_frames(*, frame_idx: int, output_dict: dict, **kwargs):
            number, renumbered = sam2_frames_only(output_dict, frame_idx)
            return prepare(frame_idx=number, output_dict=renumbered, **kwargs)

        predictor._prepare_memory_conditioned_features = on_sam2_frames


def patch_memory_dtype(predictor: SAM2VideoPredictor) -> None:
    """Work around sam2 issue #308: cast memory inputs of memory attention to the query dtype.

    sam2 stores memory features as bf16 unconditionally; in fp32 without autocast (CPU), a memory bank with no fp32
    object pointers stays bf16 and the fp32 linear layers fail ("mat1 and mat2 must have the same dtype"), e.g.
    when tracking backward from a later clicked frame. Where memory is already the query dtype this changes nothing.
    """
    attention = predictor.memory_attention
    forward = attention.forward

    def forward_same_dtype(curr, memory, curr_pos=None, memory_pos=None, **kwargs):
        dtype = (curr[0] if isinstance(curr, list) else curr).dtype
        memory_pos = None if memory_pos is None else memory_pos.to(dtype)
        return forward(curr=curr, memory=memory.to(dtype), curr_pos=curr_pos, memory_pos=memory_pos, **kwargs)

    attention.forward = forward_same_dtype


def predictor_overrides(image_size: int) -> list[str]:
    """sam2 config overrides of our predictor: the input size, and a prompt on a frame the object was already
    tracked on (a refining click, discovery's split of the subject) becomes a conditioning frame, as in SAM 2's web
    demo. sam2's default stores it as an ordinary frame, and the next ``propagate_in_video`` computes that frame
    again from memory and drops the correction (sam2 issues #719, #731)."""
    return [f"++model.image_size={image_size}", "++model.add_all_frames_to_correct_as_cond=true"]


def _build_predictor(spec: CheckpointSpec, config: Sam2Config, ckpt_path: str | None) -> SAM2VideoPredictor:
    with _sam2_hydra():
        return build_sam2_video_predictor(
            spec.config,
            ckpt_path,
            device=config.torch_device(),
            hydra_overrides_extra=predictor_overrides(config.image_size),
        )


@contextlib.contextmanager
def _sam2_hydra() -> Iterator[None]:
    """Make Hydra's global instance read sam2's packaged configs for the build, then restore it as it was.

    sam2 composes its yaml through Hydra's global instance, which ``import sam2`` points at ``pkg://sam2`` unless
    a host application had initialised Hydra first; then sam2's config names are not found
    (``MissingConfigException``). So we always build under sam2's own config module and hand the host's back.
    """
    global_hydra = GlobalHydra.instance()
    host = global_hydra.hydra  # None when uninitialised
    global_hydra.clear()
    try:
        with initialize_config_module("sam2", version_base="1.2"):
            yield
    finally:
        if host is not None:
            GlobalHydra.instance().initialize(host)


def _inference_of(state: SegmenterState) -> dict:
    if not isinstance(state, Sam2State):
        raise TypeError(f"Sam2Segmenter needs a state from its own init_state, got {type(state).__name__}")
    return state.inference


def _stored(state: SegmenterState, frame_idx: int, ids: list[int], masks: np.ndarray) -> PropagationStep:
    """Store tracked masks of a frame in the objects' tracks; the step to yield."""
    for i, mask in zip(ids, masks):
        state.track(i).set_mask(frame_idx, mask)
    return frame_idx, ids, masks


def _to_masks(logits: torch.Tensor) -> np.ndarray:
    """sam2 mask logits (N, 1, H, W) -> bool (N, H, W)."""
    return (logits[:, 0] > 0).cpu().numpy()
