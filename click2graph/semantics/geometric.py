"""The geometric predicate scorer: OpenPVSG predicates that masks and motion alone can support.

Every predicate is a product of smooth ramps over a few per-frame measurements of the pair (subject A, object
B), so scores are continuous in [0, 1] and temporal smoothing has something to work with. Lengths are divided by
the pair's *scale*, ``sqrt(diag(box A) * diag(box B))``, so the definitions do not depend on resolution or on
how far the pair is from the camera. The image is a side view of a ground plane: the lower an entity's bottom
edge, the nearer it is to the camera.

What 2D masks cannot tell (documented, not hidden): an object seen through an opening and one truly inside
look the same ("in"); a hand in front of a cup and one touching it look the same ("touching"); "in front of"
uses the ground-plane cue and so needs both entities to stand on the ground.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from click2graph.semantics.base import EntityView, FrameGeometry


def rising(x: float, lo: float, hi: float) -> float:
    """Smooth step: 0 for ``x <= lo``, 1 for ``x >= hi``, a cubic (C1-continuous) ramp in between."""
    u = min(1.0, max(0.0, (x - lo) / (hi - lo)))
    return u * u * (3.0 - 2.0 * u)


def falling(x: float, lo: float, hi: float) -> float:
    """1 for ``x <= lo``, 0 for ``x >= hi``, smooth in between (``1 - rising``)."""
    return 1.0 - rising(x, lo, hi)


@dataclass(frozen=True)
class GeometricConfig:
    """Thresholds of the geometric predicates; lengths in units of the pair's scale unless named ``_px``."""

    contact_gap: tuple[float, float] = (0.01, 0.06)  # mask gap ramp for contact: touching below 1%, apart above 6%
    next_to_gap: tuple[float, float] = (0.1, 0.4)  # "next to" = side by side within ~a quarter of the scale
    beside_gap: tuple[float, float] = (0.4, 1.0)  # "beside" = side by side within ~the scale (looser)
    same_depth: tuple[float, float] = (0.15, 0.35)  # |bottom A - bottom B| below this: same distance to camera
    nearer: tuple[float, float] = (0.05, 0.2)  # bottom of A lower than bottom of B by this: A is nearer
    over_clearance: tuple[float, float] = (2.0, 4.0)  # "over" fades out when A floats this high above B
    toward_window: int = 2  # frames each side for the velocity (centred difference, 5 frames at 5-10 fps)
    toward_speed: tuple[float, float] = (0.005, 0.03)  # speed toward B per frame; a walk is ~0.05 at 8 fps


@dataclass(frozen=True)
class PairFrame:
    """Measurements of an ordered pair on one frame (working pixels unless said otherwise).

    ``gap`` is the smallest distance between the two masks (0 when they touch or overlap), measured on the small
    masks and so exact to about one small-mask cell; ``x_overlap``/``y_overlap`` are the overlaps of the boxes'
    x/y ranges as fractions of the narrower/shorter box; ``box_overlap`` is the box intersection over the
    smaller box's area; ``containment`` is the fraction of A's mask inside B's box and ``enclosure`` the
    fraction of A's immediate surroundings covered by B's mask.
    """

    a: FrameGeometry
    b: FrameGeometry
    scale: float
    gap: float
    x_overlap: float
    y_overlap: float
    box_overlap: float
    containment: float
    enclosure: float

    @property
    def a_cover_x(self) -> float:
        """Fraction of A's width that lies over B's x-range (how well B could support A)."""
        a, b = self.a.bbox_xyxy, self.b.bbox_xyxy
        return _range_overlap(a[0], a[2], b[0], b[2]) / self.a.width

    @property
    def bottom_offset(self) -> float:
        """(bottom of A - bottom of B) / scale; positive when A stands nearer to the camera."""
        return (self.a.bbox_xyxy[3] - self.b.bbox_xyxy[3]) / self.scale

    @property
    def clearance(self) -> float:
        """(top of B - bottom of A) / scale; positive when A's lowest pixel is above B's highest."""
        return (self.b.bbox_xyxy[1] - self.a.bbox_xyxy[3]) / self.scale


def measure_pair(a: EntityView, b: EntityView, frame_idx: int) -> PairFrame | None:
    """Measure the pair on ``frame_idx``; None where either entity is absent."""
    ga, gb = a.geometry(frame_idx), b.geometry(frame_idx)
    if ga is None or gb is None:
        return None
    if a.factor != b.factor or a.frame_hw != b.frame_hw:
        raise ValueError(f"entities {a.entity_id} and {b.entity_id} have masks of different sizes")
    small_a = a.small_mask(frame_idx)
    nearest = float(b.distance_map(frame_idx)[small_a].min())
    gap = max(0.0, nearest - 1.0) * a.factor  # adjacent cells (distance 1) count as contact
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = ga.bbox_xyxy, gb.bbox_xyxy
    ix, iy = _range_overlap(ax0, ax1, bx0, bx1), _range_overlap(ay0, ay1, by0, by1)
    f = a.factor
    inside_b_box = small_a[by0 // f : by1 // f + 1, bx0 // f : bx1 // f + 1].sum()
    ring = a.ring(frame_idx)
    ring_cells = ring.sum()
    return PairFrame(
        a=ga,
        b=gb,
        scale=math.sqrt(ga.diagonal * gb.diagonal),
        gap=gap,
        x_overlap=ix / min(ga.width, gb.width),
        y_overlap=iy / min(ga.height, gb.height),
        box_overlap=ix * iy / min(ga.width * ga.height, gb.width * gb.height),
        containment=float(inside_b_box / max(1, small_a.sum())),
        enclosure=float((ring & b.small_mask(frame_idx)).sum() / ring_cells) if ring_cells else 0.0,
    )


def _range_overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    """Length of the intersection of two inclusive integer ranges."""
    return max(0, min(a1, b1) - max(a0, b0) + 1)


# -- predicate definitions: each returns a score in [0, 1] for one frame -----------------------------------


def contact(p: PairFrame, c: GeometricConfig) -> float:
    """The masks touch: the gap between them is (nearly) zero."""
    return falling(p.gap / p.scale, *c.contact_gap)


def occlusion(p: PairFrame, c: GeometricConfig) -> float:
    """One entity passes in front of the other: their boxes overlap and they stand at different depths, and
    neither rests on the other (a cup on a table also has a lower bottom edge, but touches it)."""
    stacked = max(rests_on(p.a, p.b, p.scale), rests_on(p.b, p.a, p.scale))
    return rising(p.box_overlap, 0.0, 0.2) * rising(abs(p.bottom_offset), *c.nearer) * (1.0 - stacked)


def rests_on(a: FrameGeometry, b: FrameGeometry, scale: float) -> float:
    """Box-level support: B is under most of A's width and A's bottom edge is at B's top edge (at most ~40% of
    B's height into B's box, for perspective)."""
    cover = _range_overlap(a.bbox_xyxy[0], a.bbox_xyxy[2], b.bbox_xyxy[0], b.bbox_xyxy[2]) / a.width
    clearance = (b.bbox_xyxy[1] - a.bbox_xyxy[3]) / scale
    sink = (a.bbox_xyxy[3] - b.bbox_xyxy[1]) / b.height
    return rising(cover, 0.3, 0.7) * falling(clearance, 0.03, 0.12) * falling(sink, 0.35, 0.6)


def side_by_side(p: PairFrame, c: GeometricConfig) -> float:
    """Same height band (y-ranges overlap), no horizontal overlap, and the same distance to the camera."""
    return rising(p.y_overlap, 0.3, 0.7) * falling(p.x_overlap, 0.1, 0.4) * falling(abs(p.bottom_offset), *c.same_depth)


def beside(p: PairFrame, c: GeometricConfig) -> float:
    """Side by side and within about one scale of each other."""
    return side_by_side(p, c) * falling(p.gap / p.scale, *c.beside_gap)


def next_to(p: PairFrame, c: GeometricConfig) -> float:
    """Side by side and close: within about a quarter of the scale (a stricter "beside")."""
    return side_by_side(p, c) * falling(p.gap / p.scale, *c.next_to_gap)


def touching(p: PairFrame, c: GeometricConfig) -> float:
    """The masks touch and the contact is not explained by one occluding the other at another depth."""
    return contact(p, c) * (1.0 - occlusion(p, c))


def in_front_of(p: PairFrame, c: GeometricConfig) -> float:
    """A overlaps B in the image (boxes overlap, masks adjacent or overlapping) and A's bottom edge is lower."""
    return rising(p.box_overlap, 0.1, 0.4) * falling(p.gap / p.scale, 0.05, 0.25) * rising(p.bottom_offset, *c.nearer)


def on(p: PairFrame, c: GeometricConfig) -> float:
    """A's bottom rests on B's top part (:func:`rests_on`), A's centre is above B's, and the masks touch."""
    above = rising((p.b.centroid_xy[1] - p.a.centroid_xy[1]) / p.scale, 0.0, 0.15)
    return rests_on(p.a, p.b, p.scale) * above * contact(p, c)


def over(p: PairFrame, c: GeometricConfig) -> float:
    """A is above B (A's lowest pixel higher than B's highest, so not touching) and B is under most of A's
    width; fades out when A is several scales higher."""
    return rising(p.a_cover_x, 0.3, 0.7) * rising(p.clearance, 0.02, 0.1) * falling(p.clearance, *c.over_clearance)


def inside(p: PairFrame, c: GeometricConfig) -> float:
    """A is within B's region: A's mask lies inside B's box, B's mask surrounds A, and A's box is smaller."""
    ratio = (p.a.width * p.a.height) / (p.b.width * p.b.height)
    return rising(p.containment, 0.7, 0.95) * rising(p.enclosure, 0.3, 0.7) * falling(ratio, 0.6, 1.0)


_STATIC = {
    "beside": beside,
    "in": inside,
    "in front of": in_front_of,
    "next to": next_to,
    "on": on,
    "over": over,
    "touching": touching,
}


class GeometricScorer:
    """Scores the predicates of :data:`_STATIC` plus "toward" from masks and their motion only.

    "toward" (A moves toward B): A's centroid velocity, a centred difference over ``toward_window`` frames each
    side (shrunk at the clip ends and around absences), projected on the direction from A to B, per frame and
    divided by the scale. A standing still scores 0; B moving does not count.
    """

    name = "geometric"
    predicates: tuple[str, ...] = tuple(sorted([*_STATIC, "toward"]))

    def __init__(self, config: GeometricConfig = GeometricConfig()) -> None:
        self.config = config

    def score_pair(self, subject: EntityView, obj: EntityView, num_frames: int) -> np.ndarray:
        """float (num_frames, len(predicates)) in [0, 1]; NaN rows where either entity is absent."""
        scores = np.full((num_frames, len(self.predicates)), np.nan)
        columns = {name: i for i, name in enumerate(self.predicates)}
        for t in range(num_frames):
            pair = measure_pair(subject, obj, t)
            if pair is None:
                continue
            for name, predicate in _STATIC.items():
                scores[t, columns[name]] = predicate(pair, self.config)
            scores[t, columns["toward"]] = self._toward(subject, pair, t, num_frames)
        return scores

    def _toward(self, subject: EntityView, pair: PairFrame, t: int, num_frames: int) -> float:
        k = self.config.toward_window
        before = next((s for s in range(max(0, t - k), t) if subject.present(s)), t)
        after = next((s for s in range(min(num_frames - 1, t + k), t, -1) if subject.present(s)), t)
        if after == before:
            return 0.0
        (x0, y0), (x1, y1) = subject.geometry(before).centroid_xy, subject.geometry(after).centroid_xy
        vx, vy = (x1 - x0) / (after - before), (y1 - y0) / (after - before)
        dx, dy = pair.b.centroid_xy[0] - pair.a.centroid_xy[0], pair.b.centroid_xy[1] - pair.a.centroid_xy[1]
        dist = math.hypot(dx, dy)
        if dist == 0.0:
            return 0.0
        speed = (vx * dx + vy * dy) / dist
        return rising(speed / pair.scale, *self.config.toward_speed)
