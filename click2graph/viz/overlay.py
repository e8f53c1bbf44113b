"""Mask overlays on video frames: translucent fill, contour and a label tag per entity.

Every function here returns a new uint8 RGB (H, W, 3) frame and leaves its input untouched. Masks, clicks and
boxes are in the frame's own pixels (working pixels for frames of a :class:`~click2graph.video.Video`).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Iterable, NamedTuple, Sequence

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from click2graph.graph import SceneGraph
from click2graph.masks import bbox_xyxy
from click2graph.video import ProgressFn, VideoWriter
from click2graph.viz.colors import SUBJECT_OUTLINE_RGB, entity_color, text_color_on
from click2graph.viz.names import entity_names, relation_name

logger = logging.getLogger(__name__)

MAX_CAPTION_LINES = 4  # more relations at one frame are summarised as "+N more"
POSITIVE_CLICK_RGB = (40, 200, 40)
NEGATIVE_CLICK_RGB = (230, 40, 40)


class OverlayItem(NamedTuple):
    """One entity to draw: its id (picks the colour), its tag text and its bool (H, W) mask.

    Plain ``(entity_id, label, mask)`` tuples are accepted wherever items are; ``is_subject`` defaults to False.
    """

    entity_id: int
    label: str
    mask: np.ndarray
    is_subject: bool = False


class MaskOverlay:
    """Draws entity masks on a frame; the style is fixed here, the data comes with each :meth:`annotate` call.

    Args:
        alpha: opacity of the mask fill, 0 (none) .. 1 (opaque).
        contour_px: contour thickness in pixels (0: no contour). Subjects get a dark outline around theirs.
        show_labels: draw a label tag above each mask.
        font_size: tag text height in pixels; None scales it with the frame (``auto_font_size``).

    Example:
        >>> frame = np.zeros((64, 64, 3), np.uint8); mask = np.zeros((64, 64), bool); mask[20:40, 20:40] = True
        >>> MaskOverlay().annotate(frame, [(1, "ball", mask)]).shape
        (64, 64, 3)
    """

    def __init__(
        self, *, alpha: float = 0.45, contour_px: int = 2, show_labels: bool = True, font_size: int | None = None
    ) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        if contour_px < 0:
            raise ValueError(f"contour_px must be >= 0, got {contour_px}")
        if font_size is not None and font_size < 1:
            raise ValueError(f"font_size must be >= 1, got {font_size}")
        self.alpha = alpha
        self.contour_px = contour_px
        self.show_labels = show_labels
        self.font_size = font_size

    def annotate(self, frame_rgb: np.ndarray, items: Iterable[OverlayItem | tuple]) -> np.ndarray:
        """Draw ``items`` on a copy of ``frame_rgb``.

        Args:
            frame_rgb: uint8 (H, W, 3) RGB frame; not modified.
            items: ``(entity_id, label, mask bool (H, W)[, is_subject])``, drawn in order (later ones on top).

        Returns:
            A new uint8 (H, W, 3) frame.

        Raises:
            ValueError: a frame that is not uint8 (H, W, 3), or a mask of another size.
        """
        _check_frame(frame_rgb)
        height, width = frame_rgb.shape[:2]
        items = [OverlayItem(*item) for item in items]
        for item in items:
            if item.mask.shape != (height, width):
                raise ValueError(f"mask of entity {item.entity_id} is {item.mask.shape}, frame is {(height, width)}")

        out = frame_rgb.astype(np.float32, order="C")  # C order: cv2 draws only into contiguous arrays
        for item in items:
            mask = item.mask.astype(bool)
            out[mask] = (1.0 - self.alpha) * out[mask] + self.alpha * np.float32(entity_color(item.entity_id))
        out = np.clip(np.rint(out), 0, 255).astype(np.uint8)

        if self.contour_px:
            for item in items:
                contours, _ = cv2.findContours(item.mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
                if item.is_subject:
                    cv2.drawContours(out, contours, -1, SUBJECT_OUTLINE_RGB, self.contour_px + 4)
                cv2.drawContours(out, contours, -1, entity_color(item.entity_id), self.contour_px)

        if self.show_labels:
            out = self._draw_tags(out, items, self.font_size or auto_font_size(frame_rgb.shape))
        return out

    def _draw_tags(self, frame_rgb: np.ndarray, items: list[OverlayItem], font_size: int) -> np.ndarray:
        font = _font(font_size)
        image = Image.fromarray(frame_rgb)
        draw = ImageDraw.Draw(image)
        placed: list[tuple[int, int, int, int]] = []
        for item in items:
            anchor = _top_anchor_xy(item.mask)
            if anchor is None or not item.label:
                continue
            color = entity_color(item.entity_id)
            box = _tag_box(draw, font, font_size, item.label, anchor, image.size, placed)
            placed.append(box)
            draw.rectangle(box, fill=color, outline=text_color_on(color))
            pad = (box[2] - box[0] - draw.textlength(item.label, font=font)) / 2
            draw.text(
                (box[0] + pad, (box[1] + box[3]) / 2), item.label, font=font, fill=text_color_on(color), anchor="lm"
            )
        return np.asarray(image).copy()


def render_frame(
    graph: SceneGraph,
    frame_rgb: np.ndarray,
    frame_idx: int,
    *,
    overlay: MaskOverlay | None = None,
    show_relations: bool = True,
) -> np.ndarray:
    """Working frame ``frame_idx`` with every entity present there, labelled from the graph.

    Args:
        graph: the scene graph; its masks are at working resolution.
        frame_rgb: uint8 (H_work, W_work, 3), the working frame ``frame_idx``; not modified.
        frame_idx: working frame index.
        overlay: the style (default :class:`MaskOverlay()`).
        show_relations: add a caption listing the relations that hold at this frame ("person holding ball").

    Returns:
        A new uint8 (H_work, W_work, 3) frame.
    """
    overlay = overlay or MaskOverlay()
    names = entity_names(graph)
    # Objects first so that the subject's contour and tag sit on top.
    entities = sorted((e for e in graph.entities if e.present(frame_idx)), key=lambda e: e.is_subject)
    items = [OverlayItem(e.entity_id, names[e.entity_id], e.mask(frame_idx), e.is_subject) for e in entities]
    out = overlay.annotate(frame_rgb, items)
    if show_relations:
        lines = [relation_name(r, names, arrow=False) for r in graph.relations_at(frame_idx)]
        if lines:
            out = add_caption(out, lines, font_size=overlay.font_size)
    return out


def entity_thumbnail(
    graph: SceneGraph,
    frames: np.ndarray | Sequence[np.ndarray],
    entity_id: int,
    *,
    size_px: int = 128,
    margin: float = 0.25,
) -> np.ndarray | None:
    """A square-ish crop around an entity on the frame where its mask is largest, mask drawn in its colour.

    Args:
        graph: the scene graph (masks at working resolution).
        frames: the working frames, uint8 (N, H, W, 3).
        entity_id: the entity to show.
        size_px: longest side of the thumbnail.
        margin: context kept around the mask's box, as a fraction of the box size.

    Returns:
        A new uint8 (h, w, 3) image with max(h, w) == ``size_px``, or None when the entity is never present.
    """
    entity = graph.entity(entity_id)
    if not entity.frames:
        return None
    best = max(entity.frames, key=lambda t: int(entity.mask(t).sum()))
    mask = entity.mask(best)
    x0, y0, x1, y1 = bbox_xyxy(mask)
    pad_x, pad_y = int((x1 - x0 + 1) * margin), int((y1 - y0 + 1) * margin)
    height, width = mask.shape
    x0, y0, x1, y1 = max(0, x0 - pad_x), max(0, y0 - pad_y), min(width, x1 + pad_x + 1), min(height, y1 + pad_y + 1)
    image = MaskOverlay(show_labels=False).annotate(
        frames[best], [OverlayItem(entity_id, "", mask, entity.is_subject)]
    )[y0:y1, x0:x1]
    scale = size_px / max(image.shape[:2])
    size_wh = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size_wh, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def add_caption(frame_rgb: np.ndarray, lines: Sequence[str], *, font_size: int | None = None) -> np.ndarray:
    """Copy of ``frame_rgb`` (uint8 (H, W, 3)) with ``lines`` in white on a dark band at the bottom-left.

    ``font_size`` is the text height in pixels (None: ``auto_font_size``).

    At most ``MAX_CAPTION_LINES`` lines are shown; the rest are counted in a final "+N more" line.
    """
    _check_frame(frame_rgb)
    if not lines:
        return frame_rgb.copy()
    lines = list(lines)
    if len(lines) > MAX_CAPTION_LINES:
        lines = lines[: MAX_CAPTION_LINES - 1] + [f"+{len(lines) - MAX_CAPTION_LINES + 1} more"]
    font_size = font_size or auto_font_size(frame_rgb.shape)
    font = _font(font_size)
    image = Image.fromarray(frame_rgb).convert("RGBA")
    band = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(band)
    pad = max(2, font_size // 3)
    line_h = font_size + pad
    text_w = max(draw.textlength(line, font=font) for line in lines)
    top = image.height - len(lines) * line_h - 2 * pad
    draw.rectangle((0, top, text_w + 2 * pad, image.height), fill=(0, 0, 0, 170))
    for i, line in enumerate(lines):
        draw.text((pad, top + pad + i * line_h + line_h / 2), line, font=font, fill=(255, 255, 255, 255), anchor="lm")
    return np.asarray(Image.alpha_composite(image, band).convert("RGB")).copy()


def write_overlay_video(
    graph: SceneGraph,
    frames: np.ndarray | Sequence[np.ndarray],
    path: str | Path,
    *,
    overlay: MaskOverlay | None = None,
    show_relations: bool = True,
    progress: ProgressFn | None = None,
) -> Path:
    """Render every working frame with :func:`render_frame` into an H.264 (yuv420p) MP4 at the graph's work fps.

    Args:
        graph: the scene graph.
        frames: the working frames, uint8 (N, H_work, W_work, 3) with N = ``graph.video.num_work_frames``.
        path: output .mp4 path (parent folders are created).
        overlay: the style (default :class:`MaskOverlay()`).
        show_relations: caption each frame with the relations holding there.
        progress: optional ``progress(fraction, description)`` callback, called once per frame.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: the number of frames differs from the graph's working frames.
    """
    expected = graph.video.num_work_frames
    if len(frames) != expected:
        raise ValueError(
            f"the graph has {expected} working frames but {len(frames)} frames were given; "
            "pass the working frames of the video the graph was built from (Video.frames)"
        )
    overlay = overlay or MaskOverlay()
    with VideoWriter(path, fps=graph.video.work_fps, mbtree=True) as sink:  # a visitor downloads it: the smaller file
        for frame_idx, frame in enumerate(frames):
            sink.write(render_frame(graph, frame, frame_idx, overlay=overlay, show_relations=show_relations))
            if progress:
                progress((frame_idx + 1) / expected, "writing overlay video")
    logger.info("wrote overlay video %s (%d frames @ %.3g fps)", path, expected, graph.video.work_fps)
    return Path(path)


def mask_preview(
    frame_rgb: np.ndarray,
    mask: np.ndarray | None,
    points_xy: Sequence | np.ndarray | None = None,
    labels: Sequence[int] | np.ndarray | None = None,
    box_xyxy: Sequence[float] | np.ndarray | None = None,
    *,
    entity_id: int = 0,
) -> np.ndarray:
    """Instant feedback for a prompt: the mask, the clicks (green = positive, red = negative) and the box.

    Args:
        frame_rgb: uint8 (H, W, 3) frame the prompt was given on; not modified.
        mask: bool (H, W) mask from the segmenter, or None when there is none yet.
        points_xy: (N, 2) click positions in the frame's pixels.
        labels: (N,) 1 = positive, 0 = negative (SAM convention); default all positive.
        box_xyxy: ``(x0, y0, x1, y1)`` in the frame's pixels, or None.
        entity_id: the id the prompted entity will have, so the preview uses its final colour.

    Returns:
        A new uint8 (H, W, 3) frame.

    Raises:
        ValueError: points and labels of different lengths, or shapes that do not fit the frame.
    """
    _check_frame(frame_rgb)
    items = [] if mask is None else [OverlayItem(entity_id, "", mask)]
    out = MaskOverlay(show_labels=False).annotate(frame_rgb, items)
    radius = max(4, round(min(out.shape[:2]) / 70))
    if box_xyxy is not None:
        x0, y0, x1, y1 = (int(round(v)) for v in box_xyxy)
        cv2.rectangle(out, (x0, y0), (x1, y1), (0, 0, 0), 4, cv2.LINE_AA)
        cv2.rectangle(out, (x0, y0), (x1, y1), (255, 255, 255), 2, cv2.LINE_AA)
    points = np.zeros((0, 2)) if points_xy is None else np.asarray(points_xy, dtype=float).reshape(-1, 2)
    labels = np.ones(len(points), int) if labels is None else np.asarray(labels, int).reshape(-1)
    if len(labels) != len(points):
        raise ValueError(f"got {len(points)} points but {len(labels)} labels; give one label (1/0) per point")
    for (x, y), label in zip(points, labels):
        center = (int(round(x)), int(round(y)))
        cv2.circle(out, center, radius + 2, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(out, center, radius, POSITIVE_CLICK_RGB if label else NEGATIVE_CLICK_RGB, -1, cv2.LINE_AA)
    return out


def auto_font_size(frame_shape: tuple[int, ...]) -> int:
    """Text height in pixels for a frame of shape (H, W, ...): 1/30 of the short side, at least 11 (16 at 480p)."""
    return max(11, round(min(frame_shape[:2]) / 30))


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _check_frame(frame_rgb: np.ndarray) -> None:
    if frame_rgb.dtype != np.uint8 or frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3:
        raise ValueError(f"frame must be uint8 (H, W, 3), got {frame_rgb.dtype} {frame_rgb.shape}")


def _top_anchor_xy(mask: np.ndarray) -> tuple[int, int] | None:
    """``(x, y)`` at the middle of the mask's topmost row (where a tag reads as belonging to it); None if empty."""
    box = bbox_xyxy(mask)
    if box is None:
        return None
    y = box[1]
    xs = np.flatnonzero(mask[y])
    return int(round(xs.mean())), y


def _tag_box(
    draw: ImageDraw.ImageDraw,
    font,
    font_size: int,
    text: str,
    anchor_xy: tuple[int, int],
    size_wh: tuple[int, int],
    placed: list[tuple[int, int, int, int]],
) -> tuple[int, int, int, int]:
    """Tag rectangle ``(x0, y0, x1, y1)`` centred above ``anchor_xy``, kept inside the frame and off earlier tags."""
    width, height = size_wh
    pad = max(2, font_size // 4)
    tag_w = int(draw.textlength(text, font=font)) + 2 * pad
    tag_h = font_size + 2 * pad
    x0 = min(max(0, anchor_xy[0] - tag_w // 2), max(0, width - tag_w))
    y0 = anchor_xy[1] - tag_h - 2
    if y0 < 0:  # no room above the mask: put the tag just inside its top
        y0 = anchor_xy[1] + 2
    y0 = min(max(0, y0), max(0, height - tag_h))
    for _ in range(len(placed)):  # step down past tags already drawn
        box = (x0, y0, x0 + tag_w, y0 + tag_h)
        hit = next((p for p in placed if box[0] < p[2] and p[0] < box[2] and box[1] < p[3] and p[1] < box[3]), None)
        if hit is None:
            break
        y0 = min(hit[3] + 1, max(0, height - tag_h))
    return x0, y0, x0 + tag_w, y0 + tag_h
