"""DIDM, the Dynamic Interaction Discovery Module: subject mask + SAM 2 image features -> point prompts.

Click2Graph (arXiv 2511.15948) prepends a *subject token* (a learned subject embedding plus a feature derived
from the subject's mask) to N_q = 3 learned object queries, runs a light Transformer decoder with cross-attention
to SAM 2's image features, and maps each refined query to a normalised (x, y) point that SAM 2 then decodes into
the mask of an object the subject interacts with. What the paper leaves open is decided here as follows.

* **Features.** SAM 2's *raw* image-encoder output at stride 16, ``backbone_out["backbone_fpn"][-1]`` (the
  ``vision_features``; 256 channels, 64 x 64 at 1024 px, 32 x 32 at 512 px), not the memory-conditioned
  features: those are computed per tracked object (they would need one DIDM pass per object and change when an
  object is added), while the raw features are one per frame and already cached. The subject enters through the
  subject token and the subject-mask embedding below. Memory-conditioned features of the subject have the same
  shape and can be passed instead, untouched by this module.
* **Position encoding.** SAM 2's ``vision_pos_enc`` is a parameter-free sine encoding of the grid size, so it is
  recomputed here at ``d_model`` channels (:func:`~click2graph.learned.pooling.sine_position_encoding`, equal
  to SAM 2's) unless ``pos`` is passed; a learned one would tie the module to one input resolution.
* **Subject token** = learned embedding + ``Linear(LayerNorm(mask-average-pooled features))``; its positional
  query is the subject mask's average position encoding, so self-attention knows *where* the subject is. An empty
  subject mask (the subject is not visible) leaves the learned embedding alone.
* **Subject in the memory** (ours, not stated by the paper): a learned vector, scaled by the subject mask's
  coverage of each cell, is added to the image tokens, so cross-attention can tell subject pixels from the rest.
  ``subject_mask_in_memory=False`` turns it off.
* **Decoder**: ``num_layers`` pre-norm layers (self-attention over [subject token; queries], cross-attention to
  the image tokens with position encoding on the keys, FFN), DETR-style learned content and positional query
  embeddings. Defaults (2 layers, width 256, 8 heads, FFN 1024) give ~2.4 M parameters, inside the paper's ~5 M
  for DIDM + SCH. No auxiliary per-layer outputs.
* **Heads** on the object queries only: a 3-layer MLP -> sigmoid -> point ``(x, y)`` in [0, 1] of the frame
  (x to the right, y down; pixel ``(x * W, y * H)`` in any resolution of the frame, with pixel centres at
  half-integers), and a linear **objectness** logit for "this query found an interacting object". The paper
  does not say how unused queries are handled; with Hungarian matching (``losses.py``) the unmatched queries are
  trained to objectness 0, so a caller may drop points with low objectness or keep all N_q (R@3).
* **Per frame and stateless.** One call looks at one frame; when to re-run discovery (every frame, every k
  frames, only on the prompt frame) is the caller's choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from click2graph.learned.pooling import as_module_input, mask_coverage, masked_average_pool, sine_position_encoding


@dataclass(frozen=True)
class DidmConfig:
    """Sizes of :class:`Didm`. The defaults follow SAM 2 (256-wide neck) and the paper (N_q = 3)."""

    feature_dim: int = 256  # channels of the input features: SAM 2's neck width (d_model of the image encoder)
    d_model: int = 256
    num_queries: int = 3  # N_q; the paper: a subject in OpenPVSG rarely interacts with more than 2 objects
    num_layers: int = 2
    num_heads: int = 8
    ffn_dim: int = 1024
    dropout: float = 0.0
    subject_mask_in_memory: bool = True  # add a learned "subject here" vector to the image tokens (ours)

    def __post_init__(self) -> None:
        if self.d_model % self.num_heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of num_heads ({self.num_heads})")
        if self.d_model % 2:
            raise ValueError(f"d_model must be even for the sine position encoding, got {self.d_model}")
        if min(self.feature_dim, self.num_queries, self.num_layers, self.ffn_dim) < 1:
            raise ValueError(f"feature_dim, num_queries, num_layers and ffn_dim must be >= 1, got {self}")


@dataclass
class DidmOutput:
    """What :class:`Didm` predicts for a batch of frames.

    Attributes:
        points: float (B, N_q, 2), ``(x, y)`` in [0, 1] of the frame.
        objectness_logits: float (B, N_q); ``sigmoid`` is the probability that the query found an object.
        query_embeddings: float (B, N_q, d_model), the decoded object queries.
    """

    points: torch.Tensor
    objectness_logits: torch.Tensor
    query_embeddings: torch.Tensor

    @property
    def objectness(self) -> torch.Tensor:
        """Objectness probabilities, float (B, N_q)."""
        return self.objectness_logits.sigmoid()

    def points_px(self, width: int, height: int) -> torch.Tensor:
        """Points in pixels ``(x, y)`` of a ``width`` x ``height`` frame (e.g. for SAM 2's ``add_new_points``)."""
        return self.points * self.points.new_tensor([width, height])


class _DecoderLayer(nn.Module):
    """Pre-norm Transformer decoder layer: self-attention, cross-attention to the image, FFN."""

    def __init__(self, d_model: int, num_heads: int, ffn_dim: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, num_heads, dropout=dropout, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(d_model, num_heads, dropout=dropout, batch_first=True)
        self.ffn = nn.Sequential(
            nn.Linear(d_model, ffn_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(ffn_dim, d_model)
        )
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, tokens: torch.Tensor, token_pos: torch.Tensor, memory: torch.Tensor, memory_pos: torch.Tensor
    ) -> torch.Tensor:
        x = self.norm1(tokens)
        q = x + token_pos
        tokens = tokens + self.dropout(self.self_attn(q, q, x, need_weights=False)[0])
        x = self.norm2(tokens)
        tokens = tokens + self.dropout(
            self.cross_attn(x + token_pos, memory + memory_pos, memory, need_weights=False)[0]
        )
        return tokens + self.dropout(self.ffn(self.norm3(tokens)))


class Didm(nn.Module):
    """Dynamic Interaction Discovery Module (module docstring: design and the paper's open choices).

    Example:
        >>> didm = Didm(DidmConfig())
        >>> out = didm(torch.randn(1, 256, 32, 32), torch.zeros(1, 512, 512, dtype=torch.bool))
        >>> out.points.shape, out.objectness_logits.shape
        (torch.Size([1, 3, 2]), torch.Size([1, 3]))
    """

    def __init__(self, config: DidmConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or DidmConfig()
        d = config.d_model
        self.feature_norm = nn.LayerNorm(config.feature_dim)  # SAM 2's features are not normalised per token
        self.input_proj = nn.Linear(config.feature_dim, d)
        self.subject_norm = nn.LayerNorm(config.feature_dim)
        self.subject_proj = nn.Linear(config.feature_dim, d)
        self.subject_embed = nn.Parameter(torch.zeros(1, 1, d))
        self.subject_mask_embed = nn.Parameter(torch.zeros(d)) if config.subject_mask_in_memory else None
        self.query_embed = nn.Embedding(config.num_queries, d)  # content
        self.query_pos = nn.Embedding(config.num_queries, d)  # position, added to q and k of the attention
        self.layers = nn.ModuleList(
            _DecoderLayer(d, config.num_heads, config.ffn_dim, config.dropout) for _ in range(config.num_layers)
        )
        self.final_norm = nn.LayerNorm(d)
        self.point_head = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 2))
        self.objectness_head = nn.Linear(d, 1)
        nn.init.normal_(self.subject_embed, std=0.02)
        if self.subject_mask_embed is not None:
            nn.init.normal_(self.subject_mask_embed, std=0.02)
        self._pos_cache: dict[tuple, torch.Tensor] = {}

    def forward(self, feats: torch.Tensor, subject_mask: torch.Tensor, pos: torch.Tensor | None = None) -> DidmOutput:
        """Predict N_q point prompts for the objects the subject interacts with.

        Args:
            feats: float (B, feature_dim, H, W), SAM 2's ``backbone_fpn[-1]`` (stride 16) of the frames.
            subject_mask: bool or float (B, H0, W0), the subject's mask on each frame, any resolution covering the
                whole frame (e.g. SAM 2's 256 x 256 low-res mask > 0, or the mask in video pixels).
            pos: optional float (B or 1, d_model, H, W) position encoding; default: SAM 2's sine encoding.

        Returns:
            :class:`DidmOutput` with points (B, N_q, 2) in [0, 1], objectness logits (B, N_q) and the decoded
            query embeddings (B, N_q, d_model).
        """
        cfg = self.config
        if feats.ndim != 4 or feats.shape[1] != cfg.feature_dim:
            raise ValueError(f"feats must be (B, {cfg.feature_dim}, H, W), got shape {tuple(feats.shape)}")
        if subject_mask.ndim != 3 or subject_mask.shape[0] != feats.shape[0]:
            raise ValueError(
                f"subject_mask must be (B, H0, W0) with B = {feats.shape[0]}, got shape {tuple(subject_mask.shape)}"
            )
        batch, _, height, width = feats.shape
        dtype = self.input_proj.weight.dtype
        feats = as_module_input(feats, dtype)
        masks = as_module_input(subject_mask[:, None], dtype)
        if pos is None:
            pos = self._sine_pos(height, width, feats.device, dtype)
        elif pos.ndim != 4 or pos.shape[1] != cfg.d_model or tuple(pos.shape[-2:]) != (height, width):
            raise ValueError(
                f"pos must be (B, {cfg.d_model}, {height}, {width}), got shape {tuple(pos.shape)}; "
                "omit it to use SAM 2's sine encoding computed here"
            )
        pos = as_module_input(pos, dtype).expand(batch, -1, -1, -1)

        # Image tokens (B, HW, d), with position encoding on the keys.
        tokens = feats.flatten(2).transpose(1, 2)
        memory = self.input_proj(self.feature_norm(tokens))
        memory_pos = pos.flatten(2).transpose(1, 2)
        if self.subject_mask_embed is not None:
            coverage = mask_coverage(masks, (height, width)).to(memory.dtype).flatten(2).transpose(1, 2)  # (B,HW,1)
            memory = memory + coverage * self.subject_mask_embed

        # Subject token: learned embedding + projected pooled subject features (empty mask: embedding only).
        pooled, has_pixels = masked_average_pool(feats, masks)  # (B, 1, C), (B, 1)
        subject = self.subject_embed + self.subject_proj(self.subject_norm(pooled)) * has_pixels[..., None]
        subject_pos, _ = masked_average_pool(pos, masks)  # the subject's mean position encoding (0 when empty)
        queries = self.query_embed.weight.unsqueeze(0).expand(batch, -1, -1)
        query_pos = self.query_pos.weight.unsqueeze(0).expand(batch, -1, -1)
        x = torch.cat((subject, queries), dim=1)
        x_pos = torch.cat((subject_pos, query_pos), dim=1)
        for layer in self.layers:
            x = layer(x, x_pos, memory, memory_pos)
        decoded = self.final_norm(x)[:, 1:]  # object queries only

        # Heads in float32 even under autocast: a bf16 sigmoid would quantise the points to ~4 px at 1024 px.
        with torch.autocast(device_type=feats.device.type, enabled=False):
            head_input = decoded.float()
            points = self.point_head(head_input).sigmoid()
            objectness_logits = self.objectness_head(head_input).squeeze(-1)
        return DidmOutput(points=points, objectness_logits=objectness_logits, query_embeddings=decoded)

    def _sine_pos(self, height: int, width: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        key = (height, width, device, dtype)
        if key not in self._pos_cache:
            self._pos_cache[key] = sine_position_encoding(
                height, width, self.config.d_model, device=device, dtype=dtype
            )[None]
        return self._pos_cache[key]
