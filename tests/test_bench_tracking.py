"""The tracking benchmark's start perturbations and its spread table."""

import numpy as np

from click2graph.bench.tracking import STARTS, TrackingResult, _spread_table


def test_starts_change_the_mask_by_one_pixel():
    mask = np.zeros((20, 20), bool)
    mask[5:15, 5:15] = True
    assert np.array_equal(STARTS["exact"](mask), mask)
    assert STARTS["eroded"](mask).sum() == 8 * 8
    assert STARTS["dilated"](mask).sum() == 12 * 12
    shifted = STARTS["shifted"](mask)
    assert shifted.sum() == mask.sum() and shifted[5, 15] and not shifted[5, 5]


def test_spread_table_reports_the_range_of_j_per_sequence_and_its_mean():
    def result(seq, j):
        return TrackingResult(seq=seq, ious=np.full(4, j), fps=1.0, prompt_s=0.0)

    table = _spread_table(
        {
            "exact": [result("a", 0.5), result("b", 0.8)],
            "eroded": [result("a", 0.3), result("b", 0.8)],
            "shifted": [result("a", 0.6), result("b", 0.7)],
        }
    )
    lines = table.splitlines()
    assert lines[0] == "| sequence | J exact | J eroded | J shifted | spread |"
    assert lines[2] == "| a | 0.500 | 0.300 | 0.600 | 0.300 |"
    assert lines[3] == "| b | 0.800 | 0.800 | 0.700 | 0.100 |"
    assert lines[4] == "| **mean** | 0.650 | 0.550 | 0.650 | 0.200 |"


def test_an_unknown_sequence_is_refused_with_the_names_available(capsys):
    """Both DAVIS benchmarks refuse a misspelt sequence with a message (no stack trace), before any work."""
    from click2graph.bench import shots, tracking

    for bench in (tracking, shots):
        code = bench.main(["--seq", "no-such-sequence"])
        out = capsys.readouterr().out
        assert code in (1, 2) and ("no-such-sequence" in out or "not found" in out)
