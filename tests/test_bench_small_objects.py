"""The small-object click benchmark: its pasted disks, its table and its command line."""

import numpy as np
import pytest

from click2graph.bench import small_objects
from click2graph.bench.small_objects import ClickResult, pasted_disk, table


def test_a_pasted_disk_moves_by_its_speed_and_is_shaded_on_the_backdrop():
    frames = np.full((3, 60, 80, 3), 20, np.uint8)
    out, masks = pasted_disk(frames, 16, (240, 120, 30), (20.0, 30.0), 5.0)
    assert np.array_equal(frames, np.full_like(frames, 20))  # the backdrop is not written over
    for t in range(3):
        ys, xs = np.nonzero(masks[t])
        assert abs(xs.mean() - (20 + 5 * t)) < 0.5 and abs(ys.mean() - 30) < 0.5
        assert 0.85 * np.pi * 64 < masks[t].sum() < 1.15 * np.pi * 64
        assert (out[t][~masks[t]] == 20).all()
    red = out[0][..., 0].astype(float)
    assert red[30, 20] > red[30, 13] + 30  # lit centre, darker rim
    again, _ = pasted_disk(frames, 16, (240, 120, 30), (20.0, 30.0), 5.0)
    assert np.array_equal(out, again)  # seeded noise: the same clip every run


def test_a_fast_disk_bounces_off_the_frames_sides_and_stays_whole_in_view():
    frames = np.full((12, 60, 80, 3), 20, np.uint8)
    _, masks = pasted_disk(frames, 10, (240, 120, 30), (40.0, 30.0), 25.0)
    xs = [np.nonzero(masks[t])[1].mean() for t in range(12)]
    assert abs(xs[1] - 65) < 0.5  # on its way right
    assert abs(xs[2] - (2 * 74 - 90)) < 0.5  # 90 is past the last centre a 5 px radius allows (74): folded back
    assert all(m.sum() > 0.85 * np.pi * 25 for m in masks)  # never cut by the frame's side
    assert all(5 - 0.5 <= x <= 74 + 0.5 for x in xs)
    assert small_objects.bounced(3.0, 5.0, 80) == 7.0 and small_objects.bounced(40.0, 5.0, 80) == 40.0


def test_the_table_gives_per_diameter_the_mean_iou_the_clicks_that_hold_and_the_median_area_ratio():
    results = [
        ClickResult("a", 8, "white", 0.2, 30.0, None),
        ClickResult("b", 8, "white", 0.6, 1.0, None),
        ClickResult("a", 8, "blue", 0.7, 2.0, None),
        ClickResult("a", 32, "white", 0.9, 1.1, None),
    ]
    lines = table(results)
    assert lines[0].split() == ["diameter", "clicks", "IoU", ">=0.5", "area", "x"]
    assert lines[1].split() == ["8", "3", "0.500", "2", "2.0"]
    assert lines[2].split() == ["32", "1", "0.900", "1", "1.1"]
    tracked = table([ClickResult("a", 8, "white", 0.5, 1.0, 0.25), ClickResult("a", 8, "blue", 0.5, 1.0, 0.75)])
    assert tracked[0].endswith("track J") and tracked[1].split()[-1] == "0.500"


def test_the_command_line_clicks_disks_on_a_bundled_clip_and_prints_the_table(monkeypatch, capsys):
    """One backdrop, one colour, one place, two sizes: a 40 px white disk on the ball_touch clip's still wall is
    found; the table has a row per diameter."""
    monkeypatch.setattr(small_objects, "COLOURS", {"white": (245, 245, 240)})
    monkeypatch.setattr(small_objects, "PLACES", ((0.5, 0.25),))
    assert small_objects.main(["--names", "ball_touch", "--diameters", "40", "12", "--frames", "3", "--track"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("backdrops: ball_touch; 1 colours x 1 places")
    rows = {int(line.split()[0]): line.split() for line in lines[2:]}
    assert set(rows) == {12, 40}
    assert float(rows[40][2]) > 0.7 and int(rows[40][3]) == 1


def test_the_command_line_refuses_an_unknown_backdrop_and_a_degenerate_size():
    with pytest.raises(SystemExit):
        small_objects.main(["--names", "no_such_clip"])
    with pytest.raises(SystemExit):
        small_objects.main(["--diameters", "1"])
