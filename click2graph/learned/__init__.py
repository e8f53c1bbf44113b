"""Learned Click2Graph modules on SAM 2 features: DIDM (point prompts for interacting objects), SCH (entity and
predicate classes), their losses, checkpoints and optimiser.

Pure PyTorch: the modules take SAM 2's tensors and never import sam2. Per frame the caller passes

* ``feats``: SAM 2's stride-16 image features ``backbone_out["backbone_fpn"][-1]`` (raw, not memory-conditioned),
  float (B, 256, S/16, S/16) for model input size S (``Sam2Segmenter.frame_features`` returns it with its
  position encoding ``vision_pos_enc[-1]``, which is optional here: it is recomputed, identically);
* ``obj_ptr``: an object's pointer in SAM 2's per-frame output (``...frame_outputs[frame_idx]["obj_ptr"]``,
  (1, 256) per object; ``Sam2Segmenter.object_pointer`` returns it as (256,));
* masks (subject, objects), bool, at any resolution covering the whole frame.

Tensors made under ``torch.inference_mode()`` or in bf16 are accepted (copied to normal float32 tensors).

Modules: ``didm`` (Didm), ``sch`` (Sch), ``losses``, ``pooling``, ``checkpoint`` (save/load, AdamW, schedule),
``train`` (Trainer, ``python -m click2graph train``), ``inference`` (loading a checkpoint, SCH in the pipeline;
DIDM discovers through :mod:`click2graph.discovery.learned`). Nothing is imported here, so
``click2graph.learned.inference`` loads without PyTorch until a learned module is used.
"""
