"""click2graph.learned: DIDM / SCH shapes, pooling, matching, point targets, losses, training sanity, checkpoints.

Tiny module sizes on random features, CPU only; SAM 2 is needed only to compare the position encoding.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from scipy import ndimage

from click2graph.errors import CheckpointError
from click2graph.learned.checkpoint import load_checkpoint, make_optimizer, make_scheduler, save_checkpoint
from click2graph.learned.didm import Didm, DidmConfig
from click2graph.learned.losses import (
    IGNORE_INDEX,
    DidmLoss,
    SchLoss,
    _inside_distance,
    distance_to_mask,
    mask_bce_dice_iou,
    match_queries,
    multimask_loss,
    sample_point_target,
)
from click2graph.learned.pooling import masked_average_pool, sine_position_encoding
from click2graph.learned.sch import NUM_OPENPVSG_CLASSES, NUM_OPENPVSG_PREDICATES, Sch, SchConfig
from click2graph.semantics.vocab import OPENPVSG

TINY_DIDM = DidmConfig(feature_dim=16, d_model=32, num_heads=4, ffn_dim=64)
TINY_SCH = SchConfig(feature_dim=16, pointer_dim=8, hidden_dim=32, dropout=0.0)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models gain nothing from intra-op threads, and on a busy 2-core machine spinning threads made these
    tests 20x slower (80 s instead of 4 s)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def box_mask(x0, y0, x1, y1, shape=(32, 32)):
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


# --- shapes and ranges ---------------------------------------------------------------------------------------------


def test_defaults_match_the_openpvsg_vocabulary_and_sam2_widths():
    assert SchConfig().num_classes == len(OPENPVSG.classes) == NUM_OPENPVSG_CLASSES == 126
    assert SchConfig().num_predicates == len(OPENPVSG.predicates) == NUM_OPENPVSG_PREDICATES == 57
    assert DidmConfig().feature_dim == SchConfig().feature_dim == SchConfig().pointer_dim == 256
    assert DidmConfig().num_queries == 3


def test_didm_output_shapes_and_ranges():
    torch.manual_seed(0)
    didm = Didm(TINY_DIDM)
    feats = torch.randn(2, 16, 8, 8)
    subject = torch.zeros(2, 40, 30, dtype=torch.bool)  # any resolution, any aspect ratio
    subject[0, 10:20, 5:15] = True  # frame 1: empty mask (subject not visible)
    out = didm(feats, subject)
    assert out.points.shape == (2, 3, 2)
    assert out.objectness_logits.shape == (2, 3)
    assert out.query_embeddings.shape == (2, 3, 32)
    assert torch.isfinite(out.points).all() and torch.isfinite(out.objectness_logits).all()
    assert ((out.points >= 0) & (out.points <= 1)).all()
    assert ((out.objectness >= 0) & (out.objectness <= 1)).all()
    assert torch.allclose(out.points_px(640, 480), out.points * torch.tensor([640.0, 480.0]))
    # Passing SAM 2's position encoding explicitly is the same as letting the module compute it.
    pos = sine_position_encoding(8, 8, 32)[None]
    torch.testing.assert_close(didm(feats, subject, pos=pos).points, out.points)


def test_didm_default_size_runs_on_a_sam2_sized_feature_map():
    didm = Didm()
    n_params = sum(p.numel() for p in didm.parameters()) + sum(p.numel() for p in Sch().parameters())
    assert n_params < 5_500_000  # the paper: ~5 M trainable for DIDM + SCH
    with torch.no_grad():
        out = didm(torch.randn(1, 256, 32, 32), torch.ones(1, 128, 128))
    assert out.points.shape == (1, 3, 2)


def test_modules_train_on_features_made_under_inference_mode():
    # SAM 2 (and our segmenter) runs under torch.inference_mode(), possibly in bf16.
    with torch.inference_mode():
        feats = torch.randn(1, 16, 8, 8).bfloat16()
        subject = torch.ones(1, 32, 32, dtype=torch.bool)
        pointers = torch.randn(1, 1, 8)
    didm, sch = Didm(TINY_DIDM), Sch(TINY_SCH)
    loss = didm(feats, subject).points.sum() + sch.classify_entities(feats, subject[:, None]).sum()
    loss = loss + sch.classify_predicates(pointers, pointers).sum()
    loss.backward()
    assert didm.input_proj.weight.grad is not None and sch.predicate_mlp[1].weight.grad is not None
    with torch.autocast("cpu", dtype=torch.bfloat16):  # as the trainer runs on a GPU
        out = didm(feats, subject)
        losses = DidmLoss()(out, [torch.ones(1, 32, 32, dtype=torch.bool)], point_targets=[torch.tensor([[0.5, 0.5]])])
    assert out.points.dtype == out.objectness_logits.dtype == losses["total"].dtype == torch.float32
    losses["total"].backward()


@pytest.mark.parametrize(
    "feats_shape, mask_shape, pos_shape",
    [
        ((1, 15, 8, 8), (1, 32, 32), None),  # wrong feature width
        ((1, 16, 8, 8), (2, 32, 32), None),  # batch mismatch
        ((1, 16, 8, 8), (1, 1, 32, 32), None),  # mask must be (B, H0, W0)
        ((1, 16, 8, 8), (1, 32, 32), (1, 16, 8, 8)),  # pos at feature width, not d_model
    ],
)
def test_didm_rejects_bad_shapes(feats_shape, mask_shape, pos_shape):
    didm = Didm(TINY_DIDM)
    pos = torch.zeros(pos_shape) if pos_shape else None
    with pytest.raises(ValueError):
        didm(torch.zeros(feats_shape), torch.zeros(mask_shape), pos=pos)


def test_sine_position_encoding_equals_sam2s():
    position_encoding = pytest.importorskip("sam2.modeling.position_encoding")
    expected = position_encoding.PositionEmbeddingSine(256, warmup_cache=False)(torch.zeros(1, 256, 16, 24))[0]
    torch.testing.assert_close(sine_position_encoding(16, 24, 256), expected)


def test_sch_shapes_probabilities_and_empty_mask():
    sch = Sch(TINY_SCH).eval()
    masks = torch.zeros(2, 3, 32, 32, dtype=torch.bool)
    masks[:, 0, :8, :8] = True
    masks[:, 1, 20:, 20:] = True  # entity 2 is empty on both frames
    logits = sch.classify_entities(torch.randn(2, 16, 8, 8), masks)
    assert logits.shape == (2, 3, 126)
    assert (logits[:, 2] == 0).all()  # empty mask: no evidence
    probs = Sch.entity_probabilities(logits)
    torch.testing.assert_close(probs.sum(-1), torch.ones(2, 3))
    torch.testing.assert_close(probs[:, 2], torch.full((2, 126), 1 / 126))
    pred = sch.classify_predicates(torch.randn(2, 5, 8), torch.randn(2, 5, 8))
    assert pred.shape == (2, 5, 57)
    pred_probs = Sch.predicate_probabilities(pred)
    assert ((pred_probs > 0) & (pred_probs < 1)).all()  # independent sigmoids: rows need not sum to 1
    with pytest.raises(ValueError):
        sch.classify_predicates(torch.randn(2, 5, 8), torch.randn(2, 4, 8))


# --- masked pooling --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mask, expected",
    [
        ([[1, 0], [0, 1]], 2.5),  # same grid: mean of 1 and 4
        ([[1, 1], [1, 1]], 2.5),  # whole map
        ([[0, 1], [0, 0]], 2.0),  # one cell
        ([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1]], (4 * 1 + 2 * 4) / 6),  # 2x finer: coverage 1, 0.5
    ],
)
def test_masked_average_pool_equals_hand_computed_mean(mask, expected):
    feats = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[10.0, 20.0], [30.0, 40.0]]]])  # (1, 2, 2, 2)
    pooled, has_pixels = masked_average_pool(feats, torch.tensor(mask, dtype=torch.bool)[None, None])
    torch.testing.assert_close(pooled[0, 0], torch.tensor([expected, 10 * expected]))
    assert has_pixels.item()


def test_masked_average_pool_of_an_empty_mask_is_zero():
    pooled, has_pixels = masked_average_pool(torch.randn(1, 3, 4, 4), torch.zeros(1, 2, 8, 8))
    assert (pooled == 0).all() and not has_pixels.any()


# --- matching and point targets --------------------------------------------------------------------------------------


def test_hungarian_matching_two_objects_three_queries():
    masks = np.stack([box_mask(24, 24, 32, 32), box_mask(0, 0, 8, 8)])  # object 0 bottom right, object 1 top left
    targets = np.array([[0.875, 0.875], [0.125, 0.125]])
    points = torch.tensor([[0.1, 0.15], [0.5, 0.5], [0.8, 0.9]])  # q0 near object 1, q1 between, q2 near object 0
    query_idx, object_idx = match_queries(points, torch.zeros(3), masks, targets)
    assert query_idx.tolist() == [0, 2] and object_idx.tolist() == [1, 0]  # q1 unmatched -> objectness 0

    # A confident query in the middle loses to the two well-placed ones: location dominates.
    query_idx, object_idx = match_queries(points, torch.tensor([-5.0, 5.0, -5.0]), masks, targets)
    assert query_idx.tolist() == [0, 2] and object_idx.tolist() == [1, 0]


def test_matching_with_more_objects_than_queries_and_with_none():
    masks = np.stack([box_mask(0, 0, 4, 4), box_mask(28, 28, 32, 32), box_mask(0, 28, 4, 32)])
    targets = np.array([[0.06, 0.06], [0.94, 0.94], [0.06, 0.94]])
    query_idx, object_idx = match_queries(torch.tensor([[0.9, 0.9]]), torch.zeros(1), masks, targets)
    assert query_idx.tolist() == [0] and object_idx.tolist() == [1]
    query_idx, object_idx = match_queries(torch.rand(3, 2), torch.zeros(3), np.zeros((0, 32, 32), bool), [])
    assert len(query_idx) == len(object_idx) == 0


def test_distances_are_exact_euclidean_ones():
    """The fast transform the losses use gives SciPy's exact Euclidean distances (to float32 rounding), both to a
    mask (the matching cost) and inside it to the border (the point targets' weights), on irregular masks."""
    rng = np.random.default_rng(3)
    for _ in range(5):
        mask = ndimage.binary_opening(rng.random((48, 64)) < 0.55)
        if not mask.any():
            continue
        np.testing.assert_allclose(distance_to_mask(mask), ndimage.distance_transform_edt(~mask) / 64, atol=1e-5)
        inside = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
        np.testing.assert_allclose(_inside_distance(mask), inside, atol=1e-4)


def test_sample_point_target_is_inside_and_biased_to_the_interior():
    mask = box_mask(5, 8, 26, 29, shape=(40, 36))  # 21 x 21 square
    rng = np.random.default_rng(0)
    points = np.array([sample_point_target(mask, rng) for _ in range(2000)])
    cols = (points[:, 0] * mask.shape[1]).astype(int)
    rows = (points[:, 1] * mask.shape[0]).astype(int)
    assert mask[rows, cols].all()
    depth = ndimage.distance_transform_edt(mask)
    uniform_mean = depth[mask].mean()  # mean depth of a uniformly drawn mask pixel
    assert depth[rows, cols].mean() > 1.3 * uniform_mean
    np.testing.assert_array_equal(  # seeded: reproducible
        sample_point_target(mask, np.random.default_rng(7)), sample_point_target(mask, np.random.default_rng(7))
    )
    uniform = np.array([sample_point_target(mask, rng, power=0) for _ in range(2000)])
    uniform_depth = depth[(uniform[:, 1] * 40).astype(int), (uniform[:, 0] * 36).astype(int)].mean()
    assert abs(uniform_depth - uniform_mean) < 0.1 * uniform_mean
    with pytest.raises(ValueError):
        sample_point_target(np.zeros((4, 4), bool), rng)


# --- losses ----------------------------------------------------------------------------------------------------------


def test_mask_bce_dice_iou():
    target = torch.zeros(2, 8, 8)
    target[:, 2:6, 2:6] = 1
    good = mask_bce_dice_iou(target * 20 - 10, target, pred_iou=torch.tensor([1.0, 1.0]))
    bad = mask_bce_dice_iou(10 - target * 20, target, pred_iou=torch.tensor([1.0, 1.0]))
    assert good["dice"] < 0.01 and good["iou"] < 1e-6 and good["bce"] < 1e-3
    assert bad["dice"] > 0.9 and bad["iou"] == pytest.approx(1.0) and bad["total"] > good["total"]
    no_iou = mask_bce_dice_iou(target, target)
    assert no_iou["iou"] == 0
    empty = mask_bce_dice_iou(torch.zeros(0, 8, 8, requires_grad=True), torch.zeros(0, 8, 8))
    assert empty["total"] == 0 and empty["total"].requires_grad
    with pytest.raises(ValueError):
        mask_bce_dice_iou(torch.zeros(2, 8, 8), torch.zeros(2, 4, 4))


def test_multimask_loss_trains_the_best_candidate_only():
    target = torch.zeros(2, 8, 8)
    target[:, 2:6, 2:6] = 1
    right, wrong = target * 20 - 10, 10 - target * 20
    candidates = torch.stack([torch.stack([wrong[0], right[0], wrong[0]]), torch.stack([wrong[1]] * 2 + [right[1]])])
    candidates.requires_grad_(True)
    out = multimask_loss(candidates, target)
    assert out["best"].tolist() == [1, 2] and out["total"] < 0.01
    out["total"].backward()
    assert candidates.grad[0, 0].abs().sum() == 0 and candidates.grad[1, 2].abs().sum() > 0
    empty = multimask_loss(torch.zeros(0, 3, 8, 8, requires_grad=True), torch.zeros(0, 8, 8))
    assert empty["total"] == 0 and empty["total"].requires_grad
    with pytest.raises(ValueError):
        multimask_loss(torch.zeros(2, 3, 8, 8), torch.zeros(2, 4, 4))


def disk_decoder(size: int = 32, radii=(0.05, 0.1, 0.2), sharpness: float = 40.0):
    """A differentiable stand-in for SAM 2's decoder: three disks of growing radius around each prompt point."""
    ys, xs = torch.meshgrid((torch.arange(size) + 0.5) / size, (torch.arange(size) + 0.5) / size, indexing="ij")

    def decode(embed, high_res, prompts):
        point = prompts[:, 0]  # (N, 2)
        dist = ((xs[None] - point[:, 0, None, None]) ** 2 + (ys[None] - point[:, 1, None, None]) ** 2).sqrt()
        logits = torch.stack([sharpness * (r - dist) for r in radii], dim=1)
        return logits, torch.ones(len(point), len(radii))

    return decode


def test_decoded_mask_loss_pulls_a_point_onto_the_object_it_is_matched_to():
    """The mask term alone moves a matched point from the middle of the frame into the GT object (a disk of
    radius 0.1 at (0.75, 0.3), 64 px frame; the decoder's logits are at 32 px); the unmatched query does not move."""
    from click2graph.learned.train import decoded_mask_loss

    h = w = 64
    yy, xx = np.mgrid[0:h, 0:w]
    gt = (((xx + 0.5) / w - 0.75) ** 2 + ((yy + 0.5) / h - 0.3) ** 2) < 0.1**2
    points = torch.tensor([[[0.5, 0.5], [0.2, 0.8]]], requires_grad=True)
    embed, high_res = torch.zeros(1, 4, 2, 2), [torch.zeros(1, 2, 8, 8)]
    optimizer = torch.optim.Adam([points], lr=0.02)
    losses = []
    for _ in range(150):
        loss = decoded_mask_loss(disk_decoder(), embed, high_res, [gt[None]], points, [(np.array([0]), np.array([0]))])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    x, y = points[0, 0].tolist()
    assert gt[int(y * h), int(x * w)], (x, y)
    assert losses[-1] < 0.5 * losses[0]
    assert points[0, 1].tolist() == pytest.approx([0.2, 0.8])
    none = decoded_mask_loss(disk_decoder(), embed, high_res, [gt[None]], points, [(np.array([]), np.array([]))])
    assert none == 0 and none.requires_grad


def test_didm_loss_on_a_batch_with_and_without_objects():
    out = Didm(TINY_DIDM)(torch.randn(2, 16, 8, 8), torch.ones(2, 32, 32))
    object_masks = [
        np.zeros((0, 32, 32), bool),
        torch.from_numpy(np.stack([box_mask(0, 0, 8, 8), box_mask(20, 20, 32, 32)])),
    ]
    loss_fn = DidmLoss(seed=3)
    targets = loss_fn.sample_targets(object_masks)
    assert targets[0].shape == (0, 2) and targets[1].shape == (2, 2)
    indices = loss_fn.match(out, object_masks, targets)
    assert len(indices[0][0]) == 0 and sorted(indices[1][1].tolist()) == [0, 1]
    losses = loss_fn(out, object_masks, point_targets=targets, indices=indices)
    assert set(losses) == {"point", "objectness", "total"}
    assert all(torch.isfinite(v) for v in losses.values())
    losses["total"].backward()
    # Frame 0 has no object, so every query there is pushed to objectness 0; frame 1 has two matched.
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        out.objectness_logits,
        torch.tensor([[0.0, 0, 0], [0, 0, 0]]).index_put_(
            (torch.tensor([1, 1]), torch.as_tensor(indices[1][0])), torch.tensor([1.0, 1.0])
        ),
    )
    torch.testing.assert_close(losses["objectness"], expected)


def test_sch_loss_ignores_padding():
    loss = SchLoss()
    out = loss(
        torch.randn(1, 2, 126, requires_grad=True),
        torch.full((1, 2), IGNORE_INDEX),
        torch.randn(1, 3, 57),
        torch.zeros(1, 3, 57),
        predicate_valid=torch.zeros(1, 3, dtype=torch.bool),
    )
    assert out["entity"] == 0 and out["predicate"] == 0 and out["total"].requires_grad


def test_didm_learns_to_put_a_point_inside_the_target_mask():
    torch.manual_seed(0)
    didm = Didm(TINY_DIDM)
    feats = torch.randn(1, 16, 8, 8)
    subject = torch.from_numpy(box_mask(2, 2, 12, 12))[None]
    target_mask = box_mask(20, 22, 28, 30)  # x in [0.625, 0.875), y in [0.6875, 0.9375)
    loss_fn = DidmLoss(seed=0)
    point_targets = loss_fn.sample_targets([target_mask[None]])
    optimizer = torch.optim.AdamW(didm.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        out = didm(feats, subject)
        loss = loss_fn(out, [target_mask[None]], point_targets=point_targets)
        optimizer.zero_grad()
        loss["total"].backward()
        optimizer.step()
        losses.append(loss["total"].item())
    assert losses[-1] < 0.2 * losses[0]
    with torch.no_grad():
        out = didm(feats, subject)
    best = out.objectness_logits[0].argmax()
    x, y = out.points[0, best].tolist()
    assert target_mask[int(y * 32), int(x * 32)]
    assert out.objectness[0, best] > 0.7 and (out.objectness[0] > 0.5).sum() == 1  # one object, one query


def test_sch_overfits_two_classes_and_two_predicates():
    torch.manual_seed(0)
    sch = Sch(TINY_SCH)
    feats = torch.randn(4, 16, 8, 8)
    masks = torch.zeros(4, 2, 32, 32, dtype=torch.bool)
    masks[:, 0, :16] = True
    masks[:, 1, 16:] = True
    labels = torch.tensor([[3, 7], [7, 3], [3, 3], [7, 7]])
    subject_ptr, object_ptr = torch.randn(4, 2, 8), torch.randn(4, 2, 8)
    predicates = torch.zeros(4, 2, 57)
    predicates[:, 0, 5] = 1
    predicates[:2, 1, 11] = 1
    predicates[2:, 1, 5] = 1  # two predicates hold at once
    predicates[2:, 1, 11] = 1
    loss_fn = SchLoss()
    optimizer = make_optimizer({"sch": sch}, lr=5e-3, weight_decay=0.0)
    first = None
    for _ in range(50):
        out = loss_fn(
            sch.classify_entities(feats, masks), labels, sch.classify_predicates(subject_ptr, object_ptr), predicates
        )
        optimizer.zero_grad()
        out["total"].backward()
        optimizer.step()
        first = first if first is not None else out["total"].item()
    assert out["total"].item() < 0.05 * first
    sch.eval()
    with torch.no_grad():
        assert (sch.classify_entities(feats, masks).argmax(-1) == labels).all()
        probs = Sch.predicate_probabilities(sch.classify_predicates(subject_ptr, object_ptr))
    assert ((probs > 0.5) == predicates.bool()).all()


# --- checkpoints, optimiser, schedule --------------------------------------------------------------------------------


def _train_steps(modules, optimizer, scheduler, steps, seed):
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        feats = torch.randn(1, 16, 8, 8, generator=gen)
        out = modules["didm"](feats, torch.ones(1, 8, 8))
        logits = modules["sch"].classify_entities(feats, torch.ones(1, 1, 8, 8))
        loss = out.points.sum() + out.objectness_logits.sum() + logits.logsumexp(-1).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    torch.manual_seed(0)
    modules = {"didm": Didm(TINY_DIDM).eval(), "sch": Sch(TINY_SCH).eval()}
    path = save_checkpoint(tmp_path / "run" / "c2g.pt", modules, step=12, extra={"note": "test"})
    feats, subject = torch.randn(1, 16, 8, 8), torch.ones(1, 16, 16)
    ckpt = load_checkpoint(path, build=True)
    assert ckpt.step == 12 and ckpt.extra == {"note": "test"}
    assert ckpt.configs == {"didm": TINY_DIDM, "sch": TINY_SCH}
    didm, sch = ckpt.modules["didm"].eval(), ckpt.modules["sch"].eval()
    with torch.no_grad():
        assert torch.equal(didm(feats, subject).points, modules["didm"](feats, subject).points)
        masks = subject[:, None]
        assert torch.equal(sch.classify_entities(feats, masks), modules["sch"].classify_entities(feats, masks))
    fresh = Didm(TINY_DIDM).eval()
    load_checkpoint(path, {"didm": fresh})  # into an existing module
    with torch.no_grad():
        assert torch.equal(fresh(feats, subject).points, modules["didm"](feats, subject).points)


def test_resume_restores_optimizer_step_and_lr(tmp_path):
    def build():
        torch.manual_seed(0)
        modules = {"didm": Didm(TINY_DIDM), "sch": Sch(TINY_SCH)}
        optimizer = make_optimizer(modules, lr={"didm": 1e-3, "sch": 1e-2})
        return modules, optimizer, make_scheduler(optimizer, total_steps=10, warmup_steps=2)

    modules, optimizer, scheduler = build()
    _train_steps(modules, optimizer, scheduler, 4, seed=1)
    path = save_checkpoint(tmp_path / "c2g.pt", modules, optimizer=optimizer, scheduler=scheduler, step=4)

    resumed, optimizer2, scheduler2 = build()
    ckpt = load_checkpoint(path, resumed, optimizer=optimizer2, scheduler=scheduler2)
    assert ckpt.step == 4
    assert [g["lr"] for g in optimizer2.param_groups] == [g["lr"] for g in optimizer.param_groups]
    assert scheduler2.last_epoch == scheduler.last_epoch == 4
    first_param = optimizer.param_groups[0]["params"][0]
    assert optimizer2.state[optimizer2.param_groups[0]["params"][0]]["step"] == optimizer.state[first_param]["step"]
    _train_steps(modules, optimizer, scheduler, 2, seed=2)
    _train_steps(resumed, optimizer2, scheduler2, 2, seed=2)
    for name in modules:
        for a, b in zip(modules[name].parameters(), resumed[name].parameters()):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_optimizer_groups_and_schedule():
    didm, sch = Didm(TINY_DIDM), Sch(TINY_SCH)
    optimizer = make_optimizer({"didm": didm, "sch": sch})
    by_name = {g["name"]: g for g in optimizer.param_groups}
    assert by_name["didm.decay"]["lr"] == 5e-5 and by_name["sch.decay"]["lr"] == 5e-4  # the paper's
    assert by_name["didm.no_decay"]["weight_decay"] == 0 and by_name["didm.decay"]["weight_decay"] > 0
    assert all(p.ndim == 2 for p in by_name["didm.decay"]["params"])
    no_decay_ids = {id(p) for p in by_name["didm.no_decay"]["params"]}
    assert {id(didm.query_embed.weight), id(didm.subject_embed)} <= no_decay_ids
    n_params = sum(p.numel() for g in optimizer.param_groups for p in g["params"])
    assert n_params == sum(p.numel() for p in didm.parameters()) + sum(p.numel() for p in sch.parameters())

    scheduler = make_scheduler(optimizer, total_steps=10, warmup_steps=1)
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(12):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    assert lrs[0] == pytest.approx(2.5e-5)  # warm-up
    assert lrs[1] == pytest.approx(5e-5)  # peak
    assert all(a >= b for a, b in zip(lrs[1:], lrs[2:]))  # cosine: never rises
    assert lrs[10] == pytest.approx(1e-5) and lrs[12] == pytest.approx(1e-5)  # the paper's 5e-5 -> 1e-5, then flat
    with pytest.raises(ValueError):
        make_scheduler(optimizer, total_steps=5, warmup_steps=5)


def _write_bytes(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "make_path, match",
    [
        (lambda d: d / "missing.pt", "does not exist"),
        (lambda d: _write_bytes(d / "garbage.pt", b"not a checkpoint at all"), "corrupt"),
        (lambda d: torch.save({"model": {}}, d / "sam2.pt") or d / "sam2.pt", "not a click2graph"),
    ],
)
def test_unreadable_checkpoints_raise_checkpoint_error(tmp_path, make_path, match):
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(make_path(tmp_path))


def test_truncated_and_mismatched_checkpoints_raise_checkpoint_error(tmp_path):
    path = save_checkpoint(tmp_path / "c2g.pt", {"didm": Didm(TINY_DIDM)})
    data = path.read_bytes()
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(_write_bytes(tmp_path / "cut.pt", data[: len(data) // 2]))
    with pytest.raises(CheckpointError, match="d_model=64"):
        load_checkpoint(path, {"didm": Didm(DidmConfig(feature_dim=16, d_model=64, num_heads=4, ffn_dim=64))})
    with pytest.raises(CheckpointError, match="no module 'sch'"):
        load_checkpoint(path, {"sch": Sch(TINY_SCH)})
    with pytest.raises(CheckpointError, match="no optimizer state"):
        load_checkpoint(path, optimizer=make_optimizer({"didm": Didm(TINY_DIDM)}))
