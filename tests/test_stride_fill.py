"""Strided SAM 2's fill of the frames between SAM 2 frames, without SAM 2: the backward blend's weights and order
(:func:`~click2graph.segment.sam2_stride.backfill`), and ``bench stride_fill``'s plumbing on a generated textured
disk moving over a textured background, where the fill must follow the flow and keep the truth."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
cv2 = pytest.importorskip("cv2")

from click2graph.bench.stride_fill import fill_ious, main  # noqa: E402
from click2graph.segment.sam2_stride import BLENDED_KEY, CARRIED_KEY, backfill  # noqa: E402

H, W = 240, 320


class StillFlows:
    """A flow cache that says nothing moves."""

    def get(self, frame_from: int, frame_to: int) -> np.ndarray:
        return np.zeros((H, W, 2), np.float32)


def logits(value: float) -> dict:
    return {"pred_masks": torch.full((1, 1, 4, 4), value), "object_score_logits": torch.ones(1, 1)}


def test_backfill_blends_the_run_before_a_sam2_frame_by_temporal_distance():
    carried = {0: logits(3.0), 1: {**logits(3.0), CARRIED_KEY: True}, 2: {**logits(3.0), CARRIED_KEY: True}}
    assert backfill(carried, logits(-3.0), 3, 1, StillFlows()) == [1, 2]
    assert carried[1]["pred_masks"].mean().item() == pytest.approx(1.0)  # 2/3 from frame 0, 1/3 from frame 3
    assert carried[2]["pred_masks"].mean().item() == pytest.approx(-1.0)
    assert carried[0]["pred_masks"].mean().item() == 3.0  # SAM 2's own frame is left alone
    assert carried[1][BLENDED_KEY] and carried[1][CARRIED_KEY]
    assert backfill(carried, logits(-3.0), 3, 1, StillFlows()) == []  # a reused blend is not blended again


def test_backfill_in_reverse_walks_the_other_way():
    carried = {4: {**logits(3.0), CARRIED_KEY: True}, 5: logits(3.0)}
    assert backfill(carried, logits(-3.0), 3, -1, StillFlows()) == [4]
    assert carried[4]["pred_masks"].mean().item() == pytest.approx(0.0)


def moving_disk(speed: int = 4, radius: int = 40, n: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Frames (n, H, W, 3) of a textured disk moving right and down over a still textured background, and its masks."""
    rng = np.random.default_rng(seed)

    def texture() -> np.ndarray:
        t = cv2.GaussianBlur(rng.random((H, W, 3)).astype(np.float32), (0, 0), 3)
        return ((t - t.min()) / (t.max() - t.min()) * 255).astype(np.uint8)

    background, skin = texture(), texture()
    yy, xx = np.mgrid[:H, :W]
    frames, masks = [], []
    for t in range(n):
        dx, dy = speed * t, speed * t // 2
        mask = (xx - 60 - dx) ** 2 + (yy - 80 - dy) ** 2 <= radius**2
        frame = background.copy()
        frame[mask] = np.roll(skin, (dy, dx), (0, 1))[mask]
        frames.append(frame)
        masks.append(mask)
    return np.stack(frames), np.stack(masks)


def test_the_fill_of_a_moving_disk_follows_the_flow_and_keeps_the_truth():
    frames, masks = moving_disk()
    filled, own = fill_ious(frames, masks, 3, "bidirectional", image_size=256)
    assert len(filled) == 6 and len(own) == 4
    assert own.min() >= 0.95  # the truth's round trip through sam2's low-resolution logits
    assert filled.min() >= 0.9
    for fill in ("forward", "bidirectional"):
        along_flow = fill_ious(frames, masks, 3, fill, image_size=256)[0].mean()
        standing = fill_ious(frames, masks, 3, fill, image_size=256, flows=StillFlows())[0].mean()
        assert along_flow > standing + 0.01, fill


def test_the_bench_refuses_bad_arguments_in_one_line(capsys, tmp_path):
    assert main(["--strides", "1"]) == 2
    assert "every stride must be >= 2" in capsys.readouterr().out
    assert main(["--davis", str(tmp_path), "--seq", "nope"]) == 2
    assert "no DAVIS sequence nope" in capsys.readouterr().out
    assert main(["--fps", "0"]) == 2
    assert "--fps must be > 0" in capsys.readouterr().out
