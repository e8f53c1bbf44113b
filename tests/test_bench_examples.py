"""The examples benchmark: a clip given with its click runs end to end, prints its row and draws its sheet."""

import numpy as np
import pytest
from PIL import Image

from click2graph.bench import examples as bench_examples
from click2graph.examples import BUNDLED_DIR


def test_a_clip_with_its_click_gives_its_row_its_objects_and_a_drawn_sheet(tmp_path, capsys):
    video = BUNDLED_DIR / "ball_touch.mp4"
    assert bench_examples.main(["--clip", str(video), "113,143", "--sheets", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    row = next(line.split() for line in out if line.startswith("ball_touch"))
    frames, (tracked, total), entities = int(row[1]), map(int, row[2].split("/")), int(row[3])
    assert frames == total == 48 and tracked >= 40  # the synthetic figure is held on (nearly) every frame
    assert entities >= 2 and any(line.startswith("  #2 ") and "median area" in line for line in out)
    sheet = np.asarray(Image.open(tmp_path / "ball_touch.png"))
    assert sheet.shape[1] == 2 * bench_examples.SHEET_TILE_WIDTH and sheet.shape[0] > 2 * 300
    assert sheet.std() > 10  # frames, not a blank image


@pytest.mark.parametrize("click", ["113", "1,2,3,4", "a,b"])
def test_a_malformed_click_is_refused_with_a_message(click, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench_examples.main(["--clip", "clip.mp4", click])
    assert exit_info.value.code == 2 and "--clip clip.mp4" in capsys.readouterr().err


def test_an_unknown_example_name_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench_examples.main(["--names", "no_such_example"])
    assert exit_info.value.code == 2 and "no_such_example" in capsys.readouterr().err


def test_reencode_builds_each_clip_again_from_its_frames_encoded_again(capsys):
    """``--reencode`` writes the working frames with our H.264 writer, builds from that file too (row ``NAME~``, the
    click carried into its pixels and frames) and counts the clips whose entities and relations stayed the same."""
    video = BUNDLED_DIR / "ball_touch.mp4"
    assert bench_examples.main(["--clip", str(video), "113,143", "--reencode"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in out if line.startswith("ball_touch")}
    assert set(rows) == {"ball_touch", "ball_touch~"}
    assert rows["ball_touch~"][1] == rows["ball_touch"][1] == "48" and int(rows["ball_touch~"][3]) >= 1
    same = (rows["ball_touch"][3:5] == rows["ball_touch~"][3:5]) * 1
    assert out[-1] == f"encoded again: {same} of 1 clips keep their entities and relations"
