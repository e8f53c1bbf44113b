"""click2graph.video: decoding of common containers and frame folders, the working policy, the H.264 writer."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from click2graph.errors import VideoError
from click2graph.video import (
    Video,
    VideoPolicy,
    VideoWriter,
    encoded_again,
    load_video,
    working_size_wh,
    write_video,
)


def moving_square_frames(n: int, size_wh=(160, 96)) -> np.ndarray:
    """n RGB frames: a red square moving right over a grey gradient (frame index readable from its x)."""
    w, h = size_wh
    frames = np.empty((n, h, w, 3), np.uint8)
    gradient = np.linspace(40, 200, w, dtype=np.uint8)[None, :, None]
    for i in range(n):
        frames[i] = gradient
        x = 4 + 3 * i
        frames[i, 30:60, x : x + 30] = (220, 30, 30)
    return frames


def encode(path: Path, codec: str, frames: np.ndarray, fps: int = 10, pix_fmt: str = "yuv420p") -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = pix_fmt
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize(
    "name, codec, pix_fmt",
    [
        ("clip.mp4", "libx264", "yuv420p"),  # the common case
        ("clip.webm", "libvpx-vp9", "yuv420p"),  # browser recordings
        ("clip.mov", "libx264", "yuv420p"),  # phones
        ("clip.avi", "mjpeg", "yuvj420p"),  # old cameras
    ],
)
def test_reads_common_containers(tmp_path, name, codec, pix_fmt):
    frames = moving_square_frames(12)
    video = load_video(encode(tmp_path / name, codec, frames, pix_fmt=pix_fmt), VideoPolicy(target_fps=None))
    assert len(video) == 12
    assert video.size_wh == (160, 96)
    assert video.fps == pytest.approx(10)
    # Lossy codecs: the square is still where it was drawn.
    assert video.frames[5, 45, 4 + 15 + 15, 0] > 150 and video.frames[5, 45, 4 + 15 + 15, 1] < 100
    np.testing.assert_array_equal(video.frame_indices_orig, np.arange(12))


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_reads_numbered_frame_folder_in_numeric_order(tmp_path, suffix):
    frames = moving_square_frames(11)
    for i, frame in enumerate(frames):  # names 0..10 unpadded: lexical order would put 10 before 2
        Image.fromarray(frame).save(tmp_path / f"{i}{suffix}")
    (tmp_path / "notes.txt").write_text("ignored")
    video = load_video(tmp_path, VideoPolicy(target_fps=None, folder_fps=5))
    assert len(video) == 11 and video.fps == 5
    assert np.abs(video.frames.astype(int) - frames.astype(int)).mean() < 3


def test_policy_trims_samples_and_resizes_with_maps_back(tmp_path):
    frames = moving_square_frames(40, size_wh=(320, 192))
    path = encode(tmp_path / "long.mp4", "libx264", frames, fps=20)
    video = load_video(path, VideoPolicy(max_duration_s=1.0, target_fps=5, max_side=160))
    assert video.trimmed
    assert video.size_wh == (160, 96)
    assert video.fps == pytest.approx(5)
    np.testing.assert_array_equal(video.frame_indices_orig, [0, 4, 8, 12, 16])
    assert video.info.num_frames == 40 and video.info.size_wh == (320, 192)
    assert video.to_work_xy(100, 50) == (50, 25)
    assert video.to_orig_xy(50, 25) == (100, 50)
    assert video.work_index(9) == 2  # original frame 9 was skipped: nearest working frame is original 8
    assert video.orig_index(3) == 12


def test_no_policy_limits_keep_everything(tmp_path):
    frames = moving_square_frames(15)
    path = encode(tmp_path / "a.mp4", "libx264", frames)
    video = load_video(path, VideoPolicy(max_duration_s=None, target_fps=None, max_side=None))
    assert len(video) == 15 and not video.trimmed and video.size_wh == (160, 96)


@pytest.mark.parametrize("size_wh", [(160, 96), (101, 51)])
def test_a_clip_encoded_again_keeps_its_frames_size_and_rate_with_other_pixels(size_wh):
    """What ``--reencode`` benchmarks run on: every frame back at its size (an odd side, padded for the encoder, is
    cut again), in order, close to the original but not equal to it."""
    frames = moving_square_frames(12, size_wh)
    video = Video.from_frames(frames, 10.0, source="square.mp4")
    again = encoded_again(video)
    assert again.frames.shape == frames.shape and again.fps == 10.0 and again.info.source == "square.mp4"
    error = np.abs(again.frames.astype(int) - frames.astype(int))
    assert 0 < error.mean() < 3  # the same picture to the eye...
    assert not np.array_equal(again.frames, frames)  # ...other pixels
    reds = [np.flatnonzero(f[45, :, 0].astype(int) - f[45, :, 1] > 100) for f in again.frames]
    assert [int(r.min()) for r in reds] == pytest.approx([4 + 3 * i for i in range(12)], abs=1)  # in order
    closer, coarser = (np.abs(encoded_again(video, crf=crf).frames.astype(int) - frames).mean() for crf in (10, 40))
    assert closer < error.mean() < coarser  # the quality asked for


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs a process that may use two CPUs")
def test_a_clip_encoded_again_is_the_same_whatever_cpus_the_process_may_use():
    """x264's bytes differ with its thread count, which FFmpeg takes from the CPUs the process may use (two and one
    give other frames): the benchmarks' clips encoded again must be the same on every machine."""
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (120, 200, 3), np.uint8), (0, 0), 1.5)
    frames = np.stack([np.roll(texture, 2 * t, axis=1) for t in range(24)])[:, :, :160]
    video = Video.from_frames(frames, 24.0)
    cpus = os.sched_getaffinity(0)
    both = encoded_again(video).frames
    os.sched_setaffinity(0, {min(cpus)})
    try:
        one = encoded_again(video).frames
    finally:
        os.sched_setaffinity(0, cpus)
    assert np.array_equal(both, one)


def test_the_writer_turns_off_the_rate_control_that_made_its_bytes_vary(tmp_path):
    """x264's macroblock-tree rate control (``mbtree``) gives other bytes for the same frames from one call to the
    next once the process has decoded a video (see ``tests/test_bench_tracking.py``): the files we write say it is
    off in the options x264 records in them (the overlay export turns it back on: ``tests/test_viz.py``)."""
    path = write_video(tmp_path / "out.mp4", moving_square_frames(6), 10.0)
    options = path.read_bytes().split(b"x264 - core", 1)[1][:2000]
    assert b" mbtree=0 " in options and b" crf=23.0 " in options


@pytest.mark.parametrize(
    "size, max_side, expected",
    [
        ((1280, 720), 854, (854, 480)),  # 720p -> 480p
        ((720, 1280), 854, (480, 854)),  # portrait
        ((640, 360), 854, (640, 360)),  # never upscaled
        ((101, 51), None, (102, 52)),  # odd sides rounded to even for H.264
    ],
)
def test_working_size(size, max_side, expected):
    assert working_size_wh(*size, max_side) == expected


def test_corrupt_missing_and_empty_inputs_raise_clear_errors(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    with pytest.raises(VideoError, match="re-encode"):
        load_video(bad)
    with pytest.raises(VideoError, match="No such video"):
        load_video(tmp_path / "missing.mp4")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(VideoError, match="numbered"):
        load_video(empty)


@pytest.mark.parametrize("name", ["clip.mkv", "faststart.mp4"])
def test_a_truncated_file_keeps_the_frames_that_decode_and_says_how_many(tmp_path, name, caplog):
    """Matroska writes its duration, and a faststart MP4 its frame table, at the front: cut to half its bytes, the
    file still declares 30 frames and decodes a prefix; what was read, out of what was declared, is said."""
    frames = moving_square_frames(30)
    full = tmp_path / f"full_{name}"
    if name.endswith(".mkv"):
        encode(full, "libx264", frames)
    else:
        write_video(full, frames, fps=10)
    cut = tmp_path / name
    cut.write_bytes(full.read_bytes()[: len(full.read_bytes()) // 2])
    video = load_video(cut, VideoPolicy(target_fps=None))
    assert 0 < len(video) < 30 and video.info.num_frames == 30
    message = f"only {len(video)} of the 30 frames the file declares could be read"
    assert any(message in note for note in video.notes) and message in caplog.text
    np.testing.assert_array_equal(video.frame_indices_orig, np.arange(len(video)))  # a prefix, in order


def test_a_whole_file_read_in_full_gives_no_truncation_note(tmp_path):
    video = load_video(encode(tmp_path / "clip.mkv", "libx264", moving_square_frames(30)), VideoPolicy(target_fps=None))
    assert len(video) == 30 and not video.notes


def test_a_text_file_is_not_a_video(tmp_path):
    """FFmpeg's tty demuxer would draw the text as a 640x400 video."""
    text = tmp_path / "notes.txt"
    text.write_text("Meeting notes\n" * 40)
    with pytest.raises(VideoError, match="is text, not a video"):
        load_video(text)


def test_a_frame_too_large_for_pil_is_refused_like_any_huge_frame(tmp_path):
    """14000 x 14000 is more than twice PIL's pixel limit: PIL refuses to open it (DecompressionBombError)."""
    Image.new("1", (14000, 14000)).save(tmp_path / "00000.png")
    with pytest.raises(VideoError, match="larger than this app accepts"):
        load_video(tmp_path)


def test_huge_frames_are_refused_before_decoding(tmp_path):
    path = encode(tmp_path / "a.mp4", "libx264", moving_square_frames(2))
    with pytest.raises(VideoError, match="larger than"):
        load_video(path, VideoPolicy(max_input_pixels=100))


def test_writer_produces_browser_playable_h264(tmp_path):
    frames = moving_square_frames(9, size_wh=(161, 97))  # odd size: padded to even
    out = write_video(tmp_path / "out" / "overlay.mp4", frames, fps=7.5)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.width, stream.height) == (162, 98)
        assert float(stream.average_rate) == pytest.approx(7.5)
        assert sum(1 for _ in container.decode(stream)) == 9


def test_writer_rejects_mixed_sizes_and_bad_dtype(tmp_path):
    with VideoWriter(tmp_path / "x.mp4", fps=5) as sink:
        sink.write(np.zeros((16, 16, 3), np.uint8))
        with pytest.raises(ValueError, match="same size"):
            sink.write(np.zeros((32, 16, 3), np.uint8))
        with pytest.raises(ValueError, match="uint8"):
            sink.write(np.zeros((16, 16, 3), np.float32))


def test_from_frames_wraps_arrays():
    video = Video.from_frames(moving_square_frames(3), fps=4)
    assert len(video) == 3 and video.scale_xy == (1.0, 1.0)
    with pytest.raises(ValueError, match="uint8"):
        Video.from_frames(np.zeros((2, 4, 4, 3), np.float32), fps=1)


def test_real_mp4_is_trimmed_and_downsized(shared_data):
    video = load_video(shared_data / "sam2_gallery" / "04_coffee.mp4", VideoPolicy(max_duration_s=2, target_fps=5))
    assert video.info.size_wh == (1280, 720)
    assert video.size_wh == (854, 480)
    assert len(video) == 10 and video.trimmed
    assert list(video.frame_indices_orig[:3]) == [0, 6, 12]


def test_black_bars_are_left_out_and_points_map_back_through_them(tmp_path):
    """A letterboxed and pillarboxed clip (bars of 24 and 40 px around a 160x96 picture, longest side 120): the
    working frames hold the picture alone, points map back to the original frame across the bars, and the video says
    what it left out. The same clip without bars, or read with ``crop_bars=False``, keeps the whole frame."""
    picture = moving_square_frames(6)
    frames = np.zeros((6, 96 + 2 * 24, 160 + 2 * 40, 3), np.uint8)
    frames[:, 24:120, 40:200] = picture
    path = encode(tmp_path / "bars.mp4", "libx264", frames)
    video = load_video(path, VideoPolicy(max_side=120))
    assert video.size_wh == (120, 72) and video.region == (40.0, 24.0, 160.0, 96.0)  # the picture at its own scale
    assert video.frames[:, :2].max() > 24 and video.frames[:, :, :2].max() > 24  # no bar rows or columns left
    assert video.to_work_xy(40, 24) == (0, 0) and video.to_work_xy(200, 120) == (120, 72)
    assert video.to_orig_xy(60, 36) == (120, 72)
    assert "black bars left out" in video.describe() and any("160x96 area at (40, 24)" in n for n in video.notes)
    plain = load_video(encode(tmp_path / "plain.mp4", "libx264", picture), VideoPolicy())
    assert plain.region is None and plain.size_wh == (160, 96) and not plain.notes
    kept = load_video(path, VideoPolicy(crop_bars=False))
    assert kept.region is None and kept.size_wh == (240, 144)


def test_dark_scenes_and_thin_dark_edges_are_not_bars():
    """Bars are black on every frame along a whole edge row or column, at least 2 % of the side: a fade from
    black, a dark scene over most of the frame and a two-pixel frame line are left as they are."""
    from click2graph.cv.bars import picture_box

    frames = np.zeros((4, 100, 200, 3), np.uint8)
    frames[:, 10:90] = 120
    assert picture_box(frames) == (0, 10, 200, 90)
    faded = frames.copy()
    faded[0] = 0  # a fade from black: the first frame is black all over, the rest are bars and picture
    assert picture_box(faded) == (0, 10, 200, 90)
    lit = frames.copy()
    lit[2, 3, 50:60] = 255  # a light crossing the top bar on one frame: the bar ends above it
    assert picture_box(lit) == (0, 4, 200, 90)
    assert picture_box(np.zeros((4, 100, 200, 3), np.uint8)) is None
    dark = np.zeros((4, 100, 200, 3), np.uint8)
    dark[:, 80:] = 120  # dark over 80 % of the height: a dark scene, not bars
    assert picture_box(dark) is None
    line = np.full((4, 100, 200, 3), 120, np.uint8)
    line[:, :1] = 0  # a one-pixel frame line
    assert picture_box(line) is None


def test_a_picture_found_inside_bars_is_read_again_at_its_own_scale(tmp_path):
    """A portrait 64x96 picture pillarboxed into a 240x96 frame, read with a longest side of 120: sized for the whole
    frame the picture would keep 32x48 px; it is read again at its own scale (64x96, within the limit). The same from a
    folder of numbered frames."""
    frames = np.zeros((5, 96, 240, 3), np.uint8)
    frames[:, :, 88:152] = moving_square_frames(5, size_wh=(64, 96))
    video = load_video(encode(tmp_path / "portrait.mp4", "libx264", frames), VideoPolicy(max_side=120))
    assert video.size_wh == (64, 96) and video.region == (88.0, 0.0, 64.0, 96.0)
    assert video.to_work_xy(88, 0) == (0, 0) and video.to_orig_xy(64, 96) == (152, 96)
    assert video.frames[:, :, :2].max() > 24 and video.frames[:, :, -2:].max() > 24
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{i:05d}.png")
    from_folder = load_video(folder, VideoPolicy(max_side=120))
    assert from_folder.size_wh == (64, 96) and from_folder.region == (88.0, 0.0, 64.0, 96.0)
    np.testing.assert_array_equal(from_folder.frames, frames[from_folder.frame_indices_orig, :, 88:152])  # lossless
