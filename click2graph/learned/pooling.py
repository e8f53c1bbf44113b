"""Masks on a feature grid, masked average pooling and SAM 2's sine position encoding, shared by DIDM and SCH.

A mask and a feature map cover the same image extent (the whole frame; SAM 2 squashes the frame to a square, so
does the resize here), at any two resolutions. A mask is brought to the feature grid by *area* resampling: each
feature cell gets the fraction of its area the mask covers, in [0, 1]. Pooling weights each cell by that
fraction, so a mask smaller than one cell still pools the cell it lies in, and a bool mask at the feature grid's
own resolution pools the plain mean of its cells.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def as_module_input(tensor: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``tensor`` in ``dtype``, and a normal tensor when autograd may record it.

    SAM 2 runs under ``torch.inference_mode()`` (as our segmenter does), and an inference tensor cannot be saved for
    backward, so training on its features would fail; outside inference mode such a tensor is copied once here.
    """
    if tensor.is_inference() and torch.is_grad_enabled() and not torch.is_inference_mode_enabled():
        tensor = tensor.clone()
    return tensor.to(dtype)


def mask_coverage(masks: torch.Tensor, size_hw: tuple[int, int]) -> torch.Tensor:
    """Fraction of each cell of an ``(H, W)`` grid that each mask covers.

    Args:
        masks: bool or float (B, K, H0, W0), values in [0, 1], any resolution.
        size_hw: the grid ``(H, W)``, e.g. the feature map's.

    Returns:
        float32 (B, K, H, W) in [0, 1]; equals ``masks`` when ``(H0, W0) == (H, W)``.
    """
    if masks.ndim != 4:
        raise ValueError(f"masks must be 4D (B, K, H0, W0), got shape {tuple(masks.shape)}")
    masks = masks.float()
    if tuple(masks.shape[-2:]) == tuple(size_hw):
        return masks
    # Area interpolation is adaptive average pooling: exact coverage when H0, W0 are multiples of H, W.
    return F.interpolate(masks, size=size_hw, mode="area")


def masked_average_pool(feats: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Average of the features inside each mask, weighted by the mask's coverage of each feature cell.

    Args:
        feats: float (B, C, H, W) feature map.
        masks: bool or float (B, K, H0, W0), any resolution (see :func:`mask_coverage`).

    Returns:
        ``(pooled, has_pixels)``: float (B, K, C), and bool (B, K) that is False for an empty mask. An empty mask
        pools to the zero vector (not NaN); callers decide what an empty mask means (see ``Didm``, ``Sch``).

    Example:
        >>> feats = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])  # (1, 1, 2, 2)
        >>> masks = torch.tensor([[[[True, False], [False, True]]]])
        >>> masked_average_pool(feats, masks)[0]
        tensor([[[2.5000]]])
    """
    if feats.ndim != 4:
        raise ValueError(f"feats must be 4D (B, C, H, W), got shape {tuple(feats.shape)}")
    if masks.ndim != 4 or masks.shape[0] != feats.shape[0]:
        raise ValueError(
            f"masks must be (B, K, H0, W0) with B = {feats.shape[0]} as in feats, got shape {tuple(masks.shape)}"
        )
    weights = mask_coverage(masks, tuple(feats.shape[-2:])).to(feats.dtype)
    total = weights.sum(dim=(-2, -1))  # (B, K)
    summed = torch.einsum("bkhw,bchw->bkc", weights, feats)
    has_pixels = total > 0
    pooled = summed / total.clamp_min(torch.finfo(feats.dtype).tiny).unsqueeze(-1)
    return pooled * has_pixels.unsqueeze(-1).to(feats.dtype), has_pixels


def sine_position_encoding(
    height: int, width: int, dim: int, *, device: torch.device | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """SAM 2's ``PositionEmbeddingSine(dim)`` (temperature 10000, normalised to 2 pi) for an ``(H, W)`` grid.

    The same numbers as ``backbone_out["vision_pos_enc"][-1][0]`` of SAM 2 for a ``dim``-channel level: it depends
    on the grid size only, so it can be computed here instead of being passed in.

    Returns:
        float (dim, H, W): the first ``dim / 2`` channels encode y, the rest x.
    """
    if dim % 2:
        raise ValueError(f"the position-encoding width must be even, got {dim}")
    half = dim // 2
    eps = 1e-6
    scale = 2 * math.pi
    y_embed = torch.arange(1, height + 1, dtype=torch.float32, device=device) / (height + eps) * scale
    x_embed = torch.arange(1, width + 1, dtype=torch.float32, device=device) / (width + eps) * scale
    dim_t = torch.arange(half, dtype=torch.float32, device=device)
    dim_t = 10000 ** (2 * (dim_t // 2) / half)
    pos_y = y_embed[:, None] / dim_t  # (H, half)
    pos_x = x_embed[:, None] / dim_t  # (W, half)
    pos_y = torch.stack((pos_y[:, 0::2].sin(), pos_y[:, 1::2].cos()), dim=2).flatten(1)
    pos_x = torch.stack((pos_x[:, 0::2].sin(), pos_x[:, 1::2].cos()), dim=2).flatten(1)
    pos = torch.cat(
        (pos_y[:, None, :].expand(height, width, half), pos_x[None, :, :].expand(height, width, half)), dim=2
    )
    return pos.permute(2, 0, 1).to(dtype)
