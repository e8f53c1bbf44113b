"""Learned Click2Graph modules on SAM 2 features: DIDM (point prompts for interacting objects), SCH (entity and
predicate classes), their losses, checkpoints and optimiser.

Pure PyTorch: the modules take SAM 2's tensors as input and never import sam2. Per frame, the caller extracts

* ``feats``: ``backbone_out["backbone_fpn"][-1]``, float (B, 256, S/16, S/16) for a model input of S px;
* ``obj_ptr``: the per-object pointer of the frame's SAM 2 output (``current_out["obj_ptr"]``), float (N, 256);
* masks (subject, objects) at any resolution covering the whole frame.
"""

from click2graph.learned.checkpoint import (
    PAPER_LR,
    Checkpoint,
    load_checkpoint,
    make_optimizer,
    make_scheduler,
    save_checkpoint,
)
from click2graph.learned.didm import Didm, DidmConfig, DidmOutput
from click2graph.learned.losses import (
    IGNORE_INDEX,
    DidmLoss,
    DidmLossConfig,
    SchLoss,
    SchLossConfig,
    distance_to_mask,
    mask_bce_dice_iou,
    match_queries,
    sample_point_target,
)
from click2graph.learned.pooling import mask_coverage, masked_average_pool, sine_position_encoding
from click2graph.learned.sch import NUM_OPENPVSG_CLASSES, NUM_OPENPVSG_PREDICATES, Sch, SchConfig

__all__ = [
    "IGNORE_INDEX",
    "NUM_OPENPVSG_CLASSES",
    "NUM_OPENPVSG_PREDICATES",
    "PAPER_LR",
    "Checkpoint",
    "Didm",
    "DidmConfig",
    "DidmLoss",
    "DidmLossConfig",
    "DidmOutput",
    "Sch",
    "SchConfig",
    "SchLoss",
    "SchLossConfig",
    "distance_to_mask",
    "load_checkpoint",
    "make_optimizer",
    "make_scheduler",
    "mask_bce_dice_iou",
    "mask_coverage",
    "masked_average_pool",
    "match_queries",
    "sample_point_target",
    "save_checkpoint",
    "sine_position_encoding",
]
