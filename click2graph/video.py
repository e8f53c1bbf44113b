"""Video input and output.

Decoding uses PyAV (FFmpeg): mp4/H.264, webm/VP8/VP9, mov, avi and anything else FFmpeg reads; a folder of
numbered JPEG/PNG frames (DAVIS / OpenPVSG layout) works too. A :class:`VideoPolicy` turns any input into the
*working frames* a CPU can afford (trimmed duration, sampled fps, bounded size); :class:`Video` keeps the map from
every working frame back to its original frame index and pixel coordinates. :class:`VideoWriter` writes H.264
yuv420p MP4 that browsers play.

Pixel spaces: ``orig`` = the input video's pixels, ``work`` = the working frames' pixels (the picture scaled,
less any black bars around it: :attr:`Video.region`).
"""

from __future__ import annotations

import logging
import math
import re
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np
from PIL import Image

from click2graph.cv.bars import picture_box
from click2graph.errors import VideoError

logger = logging.getLogger(__name__)

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")
REENCODE_HINT = "re-encode it with: ffmpeg -i INPUT -c:v libx264 -pix_fmt yuv420p OUTPUT.mp4"
DOWNSCALE_HINT = "downscale it first, e.g. ffmpeg -i INPUT -vf scale=1920:-2 OUTPUT.mp4"
# FFmpeg decoders that render text files (ANSI art, BIN, XBIN, iCEDraw) as pictures: any text file "plays" as a
# video of its characters, so a stream decoded by one of them is refused as not a video.
TEXT_DECODERS = frozenset({"ansi", "bintext", "xbin", "idf"})

ProgressFn = Callable[[float, str], None]
# Declared lengths come from durations rounded to whole frames: one frame less than declared is not a loss.
FRAME_COUNT_SLACK = 1


@dataclass(frozen=True)
class VideoInfo:
    """What the input is, before any policy: original size, frame rate and length."""

    width: int
    height: int
    fps: float
    num_frames: int
    source: str = ""

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps if self.fps > 0 else 0.0

    @property
    def size_wh(self) -> tuple[int, int]:
        return self.width, self.height


@dataclass(frozen=True)
class VideoPolicy:
    """How an input becomes working frames. ``None`` disables a limit.

    The defaults keep a CPU pipeline interactive: 854 px is 480p for 16:9 input, and 10 fps x 15 s = 150 frames
    tracked per object.
    """

    max_duration_s: float | None = 15.0  # longer inputs are trimmed, never rejected
    max_side: int | None = 854  # longest side of the working frames, in pixels
    target_fps: float | None = 10.0  # sample frames down to this rate (never up)
    folder_fps: float = 24.0  # frame rate assumed for a folder of frames (DAVIS is 24 fps, OpenPVSG 5 fps)
    max_input_pixels: int = 8192 * 8192  # refuse absurd frame sizes instead of running out of memory
    crop_bars: bool = True  # leave out black bars around the picture (letterbox, pillarbox): .cv.bars

    def __post_init__(self) -> None:
        for name in ("max_duration_s", "target_fps"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"VideoPolicy.{name} must be positive or None, got {value}")
        if self.max_side is not None and self.max_side < 16:
            raise ValueError(f"VideoPolicy.max_side must be >= 16 or None, got {self.max_side}")
        if self.folder_fps <= 0:
            raise ValueError(f"VideoPolicy.folder_fps must be positive, got {self.folder_fps}")

    def describe(self) -> str:
        """One human-readable line stating the limits, for the CLI and the app."""
        parts = [
            f"first {self.max_duration_s:g} s" if self.max_duration_s else "whole clip",
            f"at most {self.target_fps:g} fps" if self.target_fps else "every frame",
            f"longest side {self.max_side} px" if self.max_side else "original size",
        ]
        return "Working frames: " + ", ".join(parts) + " (longer/larger inputs are trimmed or downsized)."


@dataclass
class Video:
    """Working frames plus the map back to the original video.

    Attributes:
        frames: uint8 RGB (N, H_work, W_work, 3).
        frame_indices_orig: int (N,), the original frame index of each working frame.
        info: the original video's :class:`VideoInfo`.
        fps: frame rate of the working frames.
        trimmed: True when the policy cut the input short.
        region: ``(x0, y0, width, height)`` in original pixels of what the working frames show, when that is not
            the whole original frame (black bars left out, :mod:`click2graph.cv.bars`); None: the whole frame.
    """

    frames: np.ndarray
    frame_indices_orig: np.ndarray
    info: VideoInfo
    fps: float
    trimmed: bool = False
    notes: list[str] = field(default_factory=list)
    region: tuple[float, float, float, float] | None = None

    def __post_init__(self) -> None:
        if self.frames.ndim != 4 or self.frames.shape[-1] != 3 or self.frames.dtype != np.uint8:
            raise ValueError(f"frames must be uint8 (N, H, W, 3), got {self.frames.dtype} {self.frames.shape}")
        if len(self.frame_indices_orig) != len(self.frames):
            raise ValueError("frame_indices_orig must have one entry per working frame")

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    @property
    def num_frames(self) -> int:
        return len(self)

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def size_wh(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def region_xywh(self) -> tuple[float, float, float, float]:
        """``(x0, y0, width, height)`` in original pixels of what the working frames show (see ``region``)."""
        return self.region or (0.0, 0.0, float(self.info.width), float(self.info.height))

    @property
    def scale_xy(self) -> tuple[float, float]:
        """Working pixels per original pixel, per axis."""
        _, _, width, height = self.region_xywh
        return self.width / width, self.height / height

    def to_work_xy(self, x_orig: float, y_orig: float) -> tuple[float, float]:
        x0, y0, _, _ = self.region_xywh
        sx, sy = self.scale_xy
        return (x_orig - x0) * sx, (y_orig - y0) * sy

    def to_orig_xy(self, x_work: float, y_work: float) -> tuple[float, float]:
        x0, y0, _, _ = self.region_xywh
        sx, sy = self.scale_xy
        return x_work / sx + x0, y_work / sy + y0

    def orig_index(self, frame_idx: int) -> int:
        """Original frame index of working frame ``frame_idx``."""
        return int(self.frame_indices_orig[frame_idx])

    def work_index(self, frame_idx_orig: int) -> int:
        """Working frame nearest to original frame ``frame_idx_orig`` (which may have been skipped)."""
        return int(np.argmin(np.abs(self.frame_indices_orig - frame_idx_orig)))

    def describe(self) -> str:
        """One line: what was read and what is used."""
        text = (
            f"{self.info.width}x{self.info.height} @ {self.info.fps:.3g} fps, {self.info.num_frames} frames "
            f"({self.info.duration_s:.1f} s) -> {len(self)} working frames {self.width}x{self.height} "
            f"@ {self.fps:.3g} fps"
        )
        if self.trimmed:
            text += " (trimmed)"
        if self.region is not None:
            text += " (black bars left out)"
        return text

    @classmethod
    def from_frames(cls, frames: np.ndarray, fps: float, source: str = "array") -> "Video":
        """Wrap in-memory uint8 RGB frames (N, H, W, 3) as a video used at full size and rate."""
        frames = np.ascontiguousarray(frames)
        n, h, w = frames.shape[:3]
        info = VideoInfo(width=w, height=h, fps=fps, num_frames=n, source=source)
        return cls(frames=frames, frame_indices_orig=np.arange(n), info=info, fps=fps)


def working_size_wh(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """Size of the working frames: aspect ratio kept, longest side <= max_side, both sides even (for H.264)."""
    scale = 1.0 if max_side is None else min(1.0, max_side / max(width, height))
    w = max(2, int(width * scale / 2 + 0.5) * 2)
    h = max(2, int(height * scale / 2 + 0.5) * 2)
    return w, h


class _Sampler:
    """Chooses which original frames (by timestamp) become working frames."""

    def __init__(self, policy: VideoPolicy, source_fps: float) -> None:
        self.max_duration_s = policy.max_duration_s
        self.step_s = 1.0 / policy.target_fps if policy.target_fps and policy.target_fps < source_fps else 0.0
        self.next_t = 0.0
        self.source_fps = source_fps

    def past_end(self, t: float) -> bool:
        # Half a frame of slack so a 15.0 s limit keeps the frame stamped 14.99 s.
        return self.max_duration_s is not None and t >= self.max_duration_s - 0.5 / self.source_fps

    def take(self, t: float) -> bool:
        if self.step_s == 0.0:
            return True
        if t + 0.5 / self.source_fps >= self.next_t:
            self.next_t += self.step_s
            while self.next_t <= t:
                self.next_t += self.step_s
            return True
        return False

    def output_fps(self) -> float:
        return 1.0 / self.step_s if self.step_s else self.source_fps


def load_video(path: str | Path, policy: VideoPolicy = VideoPolicy(), *, progress: ProgressFn | None = None) -> Video:
    """Read a video file or a folder of numbered frames into working frames.

    Args:
        path: a video file (anything FFmpeg decodes) or a folder of numbered .jpg/.jpeg/.png frames.
        policy: trimming, sampling and resizing limits.
        progress: optional ``progress(fraction, description)`` callback.

    Raises:
        VideoError: missing, empty, corrupt or absurdly large input, with the reason and a remedy.
    """
    path = Path(path)
    if not path.exists():
        raise VideoError(f"No such video: {path}")
    load = _load_frame_folder if path.is_dir() else _load_video_file
    video = load(path, policy, progress)
    picture = _picture_in_original(video)
    if picture is not None:
        # The bars were found on frames sized for the whole frame: read the picture again at its own scale (a
        # portrait clip pillarboxed into a landscape frame would otherwise keep a fraction of its pixels).
        x0, y0, x1, y1 = picture
        if working_size_wh(x1 - x0, y1 - y0, policy.max_side)[0] > video.width:  # else it is at its size already
            video = load(path, policy, progress, picture)
    return video


def _picture_in_original(video: Video) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` (end exclusive, even width and height) in original pixels of the picture inside the
    black bars that ``video`` left out, shrunk to whole pixels; None when it left none out."""
    if video.region is None:
        return None
    left, top, width, height = video.region
    x0, y0 = math.ceil(left), math.ceil(top)
    x1, y1 = math.floor(left + width), math.floor(top + height)
    return x0, y0, x1 - (x1 - x0) % 2, y1 - (y1 - y0) % 2


def list_frame_files(folder: Path) -> list[Path]:
    """Numbered frame files of a folder, sorted by the integer in their name (``00007.jpg`` -> 7)."""
    files = [p for p in folder.iterdir() if p.suffix.lower() in FRAME_SUFFIXES and re.search(r"\d+", p.stem)]
    return sorted(files, key=lambda p: int(re.findall(r"\d+", p.stem)[-1]))


def _load_frame_folder(
    folder: Path, policy: VideoPolicy, progress: ProgressFn | None, picture: tuple[int, int, int, int] | None = None
) -> Video:
    """The frames of ``folder`` (or their ``picture`` box, original pixels, end exclusive) as working frames."""
    files = list_frame_files(folder)
    if not files:
        raise VideoError(f"{folder} holds no numbered .jpg/.jpeg/.png frames (expected names like 00000.jpg)")
    width, height = _image_size(files[0], policy)
    _check_input_size(width, height, policy, str(folder))
    info = VideoInfo(width=width, height=height, fps=policy.folder_fps, num_frames=len(files), source=str(folder))
    sampler = _Sampler(policy, policy.folder_fps)
    x0, y0, x1, y1 = picture or (0, 0, width, height)
    size_wh = working_size_wh(x1 - x0, y1 - y0, policy.max_side)
    frames, indices, trimmed = [], [], False
    for i, file in enumerate(files):
        t = i / policy.folder_fps
        if sampler.past_end(t):
            trimmed = True
            break
        if not sampler.take(t):
            continue
        try:
            with Image.open(file) as img:
                rgb = np.asarray(img.convert("RGB"))
        except Image.DecompressionBombError as exc:
            raise VideoError(f"Frame {file} is too large to read ({str(exc).split(',')[0]}); {DOWNSCALE_HINT}") from exc
        except (OSError, ValueError) as exc:
            raise VideoError(f"Cannot read frame {file}: {exc}") from exc
        if rgb.shape[:2] != (height, width):
            raise VideoError(f"Frame {file.name} is {rgb.shape[1]}x{rgb.shape[0]}, expected {width}x{height}")
        frames.append(_resize(rgb[y0:y1, x0:x1], size_wh))
        indices.append(i)
        if progress:
            progress(min(1.0, (i + 1) / len(files)), "reading frames")
    return _make_video(frames, indices, info, sampler.output_fps(), trimmed, policy, picture)


def _image_size(file: Path, policy: VideoPolicy) -> tuple[int, int]:
    """(width, height) of a frame file, read from its header.

    PIL refuses to open an image of more than twice its own pixel limit (a "decompression bomb") before our size
    check could say so; such a frame is reported as too large like any other oversized input.
    """
    try:
        with Image.open(file) as img:
            return img.size
    except Image.DecompressionBombError as exc:
        size = str(exc).split(",")[0]  # "Image size (N pixels) exceeds limit of M pixels"
        raise VideoError(
            f"{file} is larger than this app accepts ({policy.max_input_pixels} pixels; {size}); {DOWNSCALE_HINT}"
        ) from exc
    except (OSError, ValueError) as exc:
        raise VideoError(f"Cannot read frame {file}: {exc}") from exc


def _load_video_file(
    path: Path, policy: VideoPolicy, progress: ProgressFn | None, picture: tuple[int, int, int, int] | None = None
) -> Video:
    """The frames of the video file ``path`` (or their ``picture`` box, original pixels, end exclusive) as working
    frames."""
    import av  # imported here so that model-free helpers above stay importable without FFmpeg bindings

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise VideoError(f"Cannot open {path.name} as a video ({exc}); {REENCODE_HINT}") from exc
    with container:
        if not container.streams.video:
            raise VideoError(f"{path.name} has no video stream")
        stream = container.streams.video[0]
        if stream.codec_context.name in TEXT_DECODERS:
            raise VideoError(
                f"{path.name} is text, not a video (FFmpeg would only draw its characters): give a video file "
                "(mp4, webm, mov, avi, ...) or a folder of numbered frames"
            )
        stream.thread_type = "AUTO"
        width, height = stream.codec_context.width, stream.codec_context.height
        if not width or not height:
            raise VideoError(f"{path.name}: the video stream has no frame size; {REENCODE_HINT}")
        _check_input_size(width, height, policy, path.name)
        fps = float(stream.average_rate or stream.guessed_rate or 0) or 25.0
        num_frames = _declared_frames(container, stream, fps)
        sampler = _Sampler(policy, fps)
        x0, y0, x1, y1 = picture or (0, 0, width, height)
        size_wh = working_size_wh(x1 - x0, y1 - y0, policy.max_side)
        expected = num_frames or None
        if policy.max_duration_s is not None:
            expected = (
                int(policy.max_duration_s * fps)
                if expected is None
                else min(expected, int(policy.max_duration_s * fps))
            )
        frames, indices, trimmed, decoded = [], [], False, 0
        start_time = None
        try:
            for i, frame in enumerate(container.decode(stream)):
                decoded = i + 1
                t = frame.time if frame.time is not None else i / fps
                start_time = t if start_time is None else start_time
                t -= start_time
                if sampler.past_end(t):
                    trimmed = True
                    break
                if not sampler.take(t):
                    continue
                frames.append(_resize(frame.to_ndarray(format="rgb24")[y0:y1, x0:x1], size_wh))
                indices.append(i)
                if progress and expected:
                    progress(min(1.0, decoded / expected), "decoding video")
        except av.error.FFmpegError as exc:
            if not frames:
                raise VideoError(f"Cannot decode {path.name} ({exc}); {REENCODE_HINT}") from exc
            logger.info("%s: decoding stopped at frame %d (%s)", path.name, decoded, exc)
    if not frames:
        raise VideoError(f"{path.name} contains no decodable frames; {REENCODE_HINT}")
    info = VideoInfo(width=width, height=height, fps=fps, num_frames=max(num_frames, decoded), source=str(path))
    video = _make_video(frames, indices, info, sampler.output_fps(), trimmed, policy, picture)
    if not trimmed and decoded < num_frames - FRAME_COUNT_SLACK:
        note = (
            f"{path.name}: only {decoded} of the {num_frames} frames the file declares could be read (the file is "
            f"probably truncated or damaged); using those {decoded}"
        )
        video.notes.append(note)
        logger.warning(note)
    return video


def _declared_frames(container, stream, fps: float) -> int:
    """How many frames the container says the stream has: its frame count, else its duration (stream, then
    container) times the frame rate; 0 when it says nothing."""
    import av

    if stream.frames:
        return int(stream.frames)
    if stream.duration and stream.time_base:
        return int(round(float(stream.duration * stream.time_base) * fps))
    if container.duration:
        return int(round(container.duration / av.time_base * fps))
    return 0


def _check_input_size(width: int, height: int, policy: VideoPolicy, name: str) -> None:
    if width * height > policy.max_input_pixels:
        raise VideoError(
            f"{name} is {width}x{height}, larger than this app accepts ({policy.max_input_pixels} pixels); "
            + DOWNSCALE_HINT
        )


def _resize(rgb: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    if (rgb.shape[1], rgb.shape[0]) == size_wh:
        return np.ascontiguousarray(rgb)
    return cv2.resize(rgb, size_wh, interpolation=cv2.INTER_AREA)


def _make_video(
    frames: list,
    indices: list,
    info: VideoInfo,
    fps: float,
    trimmed: bool,
    policy: VideoPolicy,
    picture: tuple[int, int, int, int] | None = None,
) -> Video:
    """The working frames as a :class:`Video`; without a ``picture`` (the box the frames were read from, original
    pixels), black bars found around them are left out (:func:`~click2graph.cv.bars.picture_box`)."""
    stacked = np.stack(frames)
    region = None
    if picture is not None:
        x0, y0, x1, y1 = picture
        region = (float(x0), float(y0), float(x1 - x0), float(y1 - y0))
    elif policy.crop_bars and (box := picture_box(stacked)) is not None:
        x0, y0, x1, y1 = box
        sx, sy = stacked.shape[2] / info.width, stacked.shape[1] / info.height
        region = (x0 / sx, y0 / sy, (x1 - x0) / sx, (y1 - y0) / sy)
        stacked = np.ascontiguousarray(stacked[:, y0:y1, x0:x1])
    video = Video(stacked, np.asarray(indices), info, fps, trimmed=trimmed, region=region)
    if trimmed:
        video.notes.append(f"trimmed to the first {len(indices)} working frames")
    if region is not None:
        left, top, width, height = (round(v) for v in region)
        video.notes.append(
            f"black bars left out: the picture is the {width}x{height} area at ({left}, {top}) of the "
            f"{info.width}x{info.height} frame"
        )
    logger.info("loaded %s: %s", info.source, video.describe())
    return video


DEFAULT_CRF = 23  # x264 quality of the videos we write (the overlay export): no eye tells it from the original


class VideoWriter:
    """Write RGB frames as an H.264 (yuv420p, faststart) MP4 that browsers play.

    Example:
        >>> with VideoWriter("out.mp4", fps=10) as sink:  # doctest: +SKIP
        ...     sink.write(frame_rgb)
    """

    def __init__(
        self,
        path: str | Path,
        fps: float,
        *,
        crf: int = DEFAULT_CRF,
        preset: str = "veryfast",
        threads: int = 0,
        mbtree: bool = False,
    ) -> None:
        self.path = Path(path)
        self.fps = fps
        self.crf = crf
        self.preset = preset
        self.threads = threads  # encoder threads; 0: one per CPU the process may use (the bytes differ with the count)
        # x264's macroblock-tree rate control, in its SIMD code, gives other bytes for the same frames from one call to
        # the next once the process has decoded a video: off (the default), frames written twice are the same file
        # (the benchmarks' clips encoded again, the generated clips tests and benchmarks read); on, a file about
        # 30 % smaller at the same quality (the pingpong example at CRF 23: 246 -> 189 kB, PSNR 40.2 -> 40.1 dB)
        self.mbtree = mbtree
        self._container = None
        self._stream = None

    def __enter__(self) -> "VideoWriter":
        import av

        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._container = av.open(str(self.path), mode="w", options={"movflags": "+faststart"})
        except (av.error.FFmpegError, OSError) as exc:
            raise VideoError(f"Cannot write {self.path}: {exc}") from exc
        return self

    def write(self, frame_rgb: np.ndarray) -> None:
        """Append one uint8 RGB (H, W, 3) frame; odd sizes are padded by one pixel (yuv420p needs even)."""
        import av

        if frame_rgb.dtype != np.uint8 or frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3:
            raise ValueError(f"frame must be uint8 (H, W, 3), got {frame_rgb.dtype} {frame_rgb.shape}")
        h, w = frame_rgb.shape[:2]
        if h % 2 or w % 2:
            frame_rgb = np.pad(frame_rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        if self._stream is None:
            rate = Fraction(self.fps).limit_denominator(1001)
            self._stream = self._container.add_stream("libx264", rate=rate)
            self._stream.width, self._stream.height = frame_rgb.shape[1], frame_rgb.shape[0]
            self._stream.pix_fmt = "yuv420p"
            options = {"crf": str(self.crf), "preset": self.preset, "x264-params": f"mbtree={int(self.mbtree)}"}
            self._stream.options = options
            self._stream.codec_context.thread_count = self.threads
        elif (frame_rgb.shape[1], frame_rgb.shape[0]) != (self._stream.width, self._stream.height):
            raise ValueError("all frames written to one video must have the same size")
        frame = av.VideoFrame.from_ndarray(frame_rgb, format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def __exit__(self, *exc_info) -> None:
        if self._stream is not None:
            for packet in self._stream.encode():
                self._container.mux(packet)
        self._container.close()


def write_video(
    path: str | Path, frames: Iterator[np.ndarray] | np.ndarray, fps: float, *, crf: int = DEFAULT_CRF, threads: int = 0
) -> Path:
    """Write uint8 RGB frames to an H.264 MP4 at ``path`` (quality ``crf``, ``threads`` as :class:`VideoWriter`'s)
    and return the path."""
    with VideoWriter(path, fps, crf=crf, threads=threads) as sink:
        for frame in frames:
            sink.write(frame)
    return Path(path)


def encoded_again(video: Video, *, crf: int = DEFAULT_CRF) -> Video:
    """``video``'s working frames written with :func:`write_video` at quality ``crf`` (the writer's default no eye
    tells from the original; lower is closer) and read back as an in-memory video of the same size, rate
    and source name: the same picture, other pixels (what another encoder makes of a clip). The benchmarks'
    ``--reencode`` runs on it, to tell what a result owes to the exact pixels of one file. One encoder thread: x264's
    bytes differ with its thread count, which is by default the machine's CPU count, and the benchmark must judge
    the same frames on every machine; and the writer's default without x264's macroblock tree, whose bytes differ
    from one call to the next (see :class:`VideoWriter`)."""
    h, w = video.frames.shape[1:3]
    with tempfile.TemporaryDirectory() as folder:
        path = write_video(Path(folder) / "again.mp4", video.frames, video.fps, crf=crf, threads=1)
        again = load_video(path, VideoPolicy(max_duration_s=None, max_side=None, target_fps=None, crop_bars=False))
    frames = again.frames[:, :h, :w]  # an odd side was padded by a pixel for the encoder
    if frames.shape != video.frames.shape:
        raise VideoError(f"encoded again, frames of shape {video.frames.shape} came back as {again.frames.shape}")
    return Video.from_frames(frames, video.fps, source=video.info.source)
