"""Deterministic synthetic clips with exact ground truth, in the OpenPVSG layout, and the project's examples.

Each clip is a *script*: where every entity is on every frame, drawn back to front (the lower an entity's
bottom edge, the nearer it is) over a textured room, with a texture that moves with each entity so optical
flow and colour models see something like real video. The ground-truth relations are part of the script
(what the scene is defined to do, with exact frame spans), written with the predicates a geometric scorer can
observe in principle; they are never computed by running a scorer. Proximity predicates ("next to", "beside")
follow a stated convention on the drawn boxes: side by side at the same depth with boxes at most
``NEXT_TO_PX`` / ``BESIDE_PX`` apart.

Usage::

    python -m click2graph.synth OUT_DIR [--clips NAME ...]     # OUT_DIR/{frames,masks,videos}/..., pvsg.json
    python -m click2graph.synth --examples DIR                 # DIR/<name>.mp4 + manifest.json

Same inputs give byte-identical PNGs and JSON (seeded ``numpy.random.Generator``, no clocks, no threads).
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np
from PIL import Image

from click2graph.graph import spans_from_frames
from click2graph.masks import deepest_pixel
from click2graph.semantics.vocab import OPENPVSG
from click2graph.video import write_video

logger = logging.getLogger(__name__)

WIDTH, HEIGHT, FPS, NUM_FRAMES = 480, 270, 8.0, 48
NEXT_TO_PX = 20  # script convention: "next to" = side by side, boxes at most this far apart
BESIDE_PX = 60  # script convention: "beside" = side by side, boxes at most this far apart
SPLIT = "synthetic"
SUBJECT_ID = 1  # object_id of every clip's subject (the entity its preset click is on)

Box = tuple[int, int, int, int]  # inclusive xyxy
GtRelation = tuple[int, int, str, list[list[int]]]  # [subject_id, object_id, predicate, [[start, end], ...]]


@dataclass(frozen=True)
class Layer:
    """One textured part of an entity on one frame: a filled shape in frame pixels and where its texture sits."""

    mask: np.ndarray  # bool (H, W)
    texture: str  # key into the clip's texture tiles
    anchor_xy: tuple[int, int]  # frame pixel where the tile's (0, 0) lies: the texture moves with the entity


@dataclass(frozen=True)
class ClipScript:
    """A scene: its entities, how to draw them on frame t, and its scripted relations."""

    name: str
    title: str
    description: str
    categories: tuple[str, ...]  # category of object_id 1, 2, ...
    draw: Callable[[int], list[list[Layer]]]  # frame t -> per object (id order), its layers
    relations: Callable[[list[list[Box | None]]], list[GtRelation]]  # boxes[t][object_id - 1] -> relations
    seed: int
    prompt_frame: int = 0

    @property
    def video_id(self) -> str:
        return f"synth_{self.name}"


@dataclass
class SynthClip:
    """A rendered clip: frames, label maps and ground truth.

    Attributes:
        frames: uint8 RGB (T, H, W, 3).
        labels: uint8 (T, H, W), pixel value = object_id, 0 = background.
        relations: OpenPVSG relations ``[s, o, predicate, [[start, end], ...]]``, inclusive frames.
    """

    script: ClipScript
    frames: np.ndarray
    labels: np.ndarray
    relations: list[GtRelation] = field(default_factory=list)

    @property
    def objects(self) -> list[dict]:
        return [
            {"object_id": i, "category": c, "is_thing": True, "status": []}
            for i, c in enumerate(self.script.categories, 1)
        ]

    @property
    def fps(self) -> float:
        return FPS

    def meta(self) -> dict:
        t, h, w = self.labels.shape
        return {"height": h, "width": w, "fps": FPS, "duration": t / FPS, "num_frames": t}


# -- drawing ---------------------------------------------------------------------------------------------------


def _canvas() -> np.ndarray:
    return np.zeros((HEIGHT, WIDTH), dtype=np.uint8)


def _noise(rng: np.random.Generator, shape_hw: tuple[int, int], cell: int) -> np.ndarray:
    """Smooth value noise in [0, 1], float32 (H, W): random values every ``cell`` pixels, bicubic between."""
    h, w = shape_hw
    coarse = rng.random((h // cell + 2, w // cell + 2)).astype(np.float32)
    return np.clip(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)


def _tile(
    rng: np.random.Generator, base_rgb: Sequence[int], *, size: int = 64, stripes: int = 0, contrast: float = 40.0
) -> np.ndarray:
    """A uint8 (size, size, 3) texture: a base colour, two octaves of noise and optional horizontal stripes."""
    shade = _noise(rng, (size, size), 8) * 0.6 + _noise(rng, (size, size), 2) * 0.4 - 0.5
    if stripes:
        shade += 0.5 * np.sign(np.sin(np.arange(size) * 2 * np.pi * stripes / size))[:, None]
    tile = np.asarray(base_rgb, dtype=np.float32)[None, None, :] + contrast * shade[..., None]
    return np.clip(tile, 0, 255).astype(np.uint8)


def _room(rng: np.random.Generator) -> np.ndarray:
    """uint8 (H, W, 3) background: wallpaper above a plank floor, both with grain."""
    horizon = int(HEIGHT * 0.55)
    wall = _noise(rng, (HEIGHT, WIDTH), 24) * 0.7 + _noise(rng, (HEIGHT, WIDTH), 4) * 0.3
    wall += 0.12 * (np.sin(np.arange(WIDTH) / 6.0) > 0.6)[None, :]
    floor = _noise(rng, (HEIGHT, WIDTH), 6) * 0.5 + 0.5 * (np.arange(HEIGHT) % 18 < 2)[:, None]
    img = np.where(
        np.arange(HEIGHT)[:, None, None] < horizon,
        np.array([150, 160, 175], np.float32) + 60 * (wall[..., None] - 0.5),
        np.array([150, 110, 70], np.float32) - 50 * (floor[..., None] - 0.5),
    )
    return np.clip(img, 0, 255).astype(np.uint8)


def _person(cx: int, bottom: int, *, stride: float = 0.0, kick: float = 0.0, wave: float = 0.0) -> list[Layer]:
    """A 150 px tall figure with its feet at ``(cx, bottom)``: head, shirt (torso and arms), trousers (legs).

    ``stride`` (radians) swings the legs in opposite directions (a walk), ``kick`` swings the right leg forward,
    ``wave`` (radians) raises the left arm (2.5 = above the shoulder).
    """
    hip_y, shoulder_y = bottom - 68, bottom - 118
    legs, shirt, head = _canvas(), _canvas(), _canvas()
    for side, angle in ((-1, -stride), (1, stride + kick)):
        hip = (cx + 6 * side, hip_y)
        foot = (int(round(hip[0] + 62 * np.sin(angle))), int(round(hip_y + 62 * np.cos(angle))))
        cv2.line(legs, hip, foot, 1, 12)
    cv2.rectangle(shirt, (cx - 17, shoulder_y), (cx + 17, hip_y + 4), 1, -1)
    for side, angle in ((-1, stride - wave), (1, -stride)):  # angle from hanging down, positive = to the right
        shoulder = (cx + 16 * side, shoulder_y + 6)
        hand = (int(round(shoulder[0] + 50 * np.sin(angle))), int(round(shoulder[1] + 50 * np.cos(angle))))
        cv2.line(shirt, shoulder, hand, 1, 9)
    cv2.circle(head, (cx, shoulder_y - 17), 15, 1, -1)
    anchor = (cx, bottom)
    return [Layer(legs > 0, "trousers", anchor), Layer(shirt > 0, "shirt", anchor), Layer(head > 0, "skin", anchor)]


def _ball(cx: int, bottom: int, radius: int = 15) -> list[Layer]:
    canvas = _canvas()
    cv2.circle(canvas, (cx, bottom - radius), radius, 1, -1)
    return [Layer(canvas > 0, "ball", (cx, bottom))]


def _table(x0: int, x1: int, top: int, bottom: int) -> list[Layer]:
    canvas = _canvas()
    cv2.rectangle(canvas, (x0, top), (x1, top + 12), 1, -1)
    for x in (x0 + 8, x1 - 18):
        cv2.rectangle(canvas, (x, top + 12), (x + 10, bottom), 1, -1)
    return [Layer(canvas > 0, "paint", (x0, top))]


def _chair(x0: int, bottom: int) -> list[Layer]:
    canvas = _canvas()
    seat = bottom - 50
    cv2.rectangle(canvas, (x0, seat - 50), (x0 + 10, bottom), 1, -1)  # back post and back leg
    cv2.rectangle(canvas, (x0, seat - 50), (x0 + 55, seat - 38), 1, -1)  # top rail
    cv2.rectangle(canvas, (x0, seat), (x0 + 60, seat + 10), 1, -1)  # seat
    cv2.rectangle(canvas, (x0 + 50, seat), (x0 + 60, bottom), 1, -1)  # front leg
    return [Layer(canvas > 0, "fabric", (x0, bottom))]


# -- the scripts -----------------------------------------------------------------------------------------------


def _side_by_side(a: Box | None, b: Box | None, max_gap_px: int) -> bool:
    """Script convention for "next to"/"beside": both visible, same floor line, boxes apart by <= max_gap_px."""
    if a is None or b is None or abs(a[3] - b[3]) > 4:
        return False
    gap = max(a[0], b[0]) - min(a[2], b[2]) - 1
    return -6 <= gap <= max_gap_px  # a few pixels of overlap is a foot touching, not a horizontal overlap


def _spans(frames: Sequence[int]) -> list[list[int]]:
    return [[s, e] for s, e in spans_from_frames(frames)]


def _proximity(boxes: list[list[Box | None]], s: int, o: int) -> list[GtRelation]:
    rels = []
    for predicate, gap in (("next to", NEXT_TO_PX), ("beside", BESIDE_PX)):
        frames = [t for t, bx in enumerate(boxes) if _side_by_side(bx[s - 1], bx[o - 1], gap)]
        if frames:
            rels.append([s, o, predicate, _spans(frames)])
    return rels


# ball_touch: walks right toward a ball (frames 0-15), touches it with the right foot (16-27), walks back left.
_BALL_X, _FLOOR = 360, 240
_KICK = 0.5


@functools.cache
def _touch_x() -> int:
    """Feet position at which the kicking foot overlaps the ball's left edge by 2 px (a touch)."""
    foot_right = int(np.flatnonzero(_person(100, _FLOOR, kick=_KICK)[0].mask.any(axis=0))[-1]) - 100
    return _BALL_X - 15 + 2 - foot_right


def _ball_touch_cx(t: int) -> tuple[int, str]:
    if t <= 15:
        return _touch_x() - 12 * (16 - t), "walk"
    if t <= 27:
        return _touch_x(), "kick"
    return _touch_x() - 12 * (t - 27), "walk"


def _ball_touch_draw(t: int) -> list[list[Layer]]:
    cx, phase = _ball_touch_cx(t)
    person = (
        _person(cx, _FLOOR, kick=_KICK) if phase == "kick" else _person(cx, _FLOOR, stride=0.35 * np.sin(cx / 12.0))
    )
    return [person, _ball(_BALL_X, _FLOOR)]


def _ball_touch_relations(boxes: list[list[Box | None]]) -> list[GtRelation]:
    return [[1, 2, "toward", [[0, 15]]], [1, 2, "touching", [[16, 27]]], *_proximity(boxes, 1, 2)]


# ball_on_table: a person stands beside a table and waves; a ball drops in from above and lands on the table.
_TABLE = (222, 380, 150, 240)  # x0, x1, top, bottom
_LAND = 16  # first frame the ball rests on the table


def _ball_bottom(t: int) -> int:
    """Free fall from above the frame (bottom at y = -30 on frame 4) to the table top on frame ``_LAND``."""
    if t >= _LAND:
        return _TABLE[2]
    g = 2.0 * (_TABLE[2] + 30) / (_LAND - 4) ** 2
    return int(round(-30 + 0.5 * g * max(0, t - 4) ** 2))


def _ball_on_table_draw(t: int) -> list[list[Layer]]:
    person = _person(190, _FLOOR, wave=2.4 + 0.4 * np.sin(t / 1.5))
    return [person, _table(*_TABLE), _ball(340, _ball_bottom(t))]


def _ball_on_table_relations(boxes: list[list[Box | None]]) -> list[GtRelation]:
    airborne = [t for t, bx in enumerate(boxes) if bx[2] is not None and t < _LAND]
    resting = list(range(_LAND, len(boxes)))
    return [
        *_proximity(boxes, 1, 2),
        [3, 2, "over", _spans(airborne)],
        [3, 2, "toward", _spans(airborne)],
        [3, 2, "on", _spans(resting)],
        [3, 2, "touching", _spans(resting)],
    ]


# walk_in_front: a person walks left to right across the room, passing in front of a chair a step behind.
_CHAIR_X0, _CHAIR_BOTTOM = 215, 196


def _walk_cx(t: int) -> int:
    return 40 + int(round(8.5 * t))


def _walk_in_front_draw(t: int) -> list[list[Layer]]:
    cx = _walk_cx(t)
    return [_person(cx, 250, stride=0.35 * np.sin(cx / 12.0)), _chair(_CHAIR_X0, _CHAIR_BOTTOM)]


def _walk_in_front_relations(boxes: list[list[Box | None]]) -> list[GtRelation]:
    chair_cx = _CHAIR_X0 + 30
    approaching = [t for t in range(len(boxes)) if _walk_cx(t) < chair_cx - 8]
    # "in front of": the walker's box covers at least a quarter of the chair's width
    covering = [
        t for t, (p, c) in enumerate(boxes) if min(p[2], c[2]) - max(p[0], c[0]) + 1 >= 0.25 * (c[2] - c[0] + 1)
    ]
    return [[1, 2, "toward", _spans(approaching)], [1, 2, "in front of", _spans(covering)]]


CLIPS: dict[str, ClipScript] = {
    s.name: s
    for s in (
        ClipScript(
            "ball_touch",
            "Walk up to a ball and touch it",
            "A person walks toward a ball on the floor, touches it with a foot, then walks away.",
            ("adult", "ball"),
            _ball_touch_draw,
            _ball_touch_relations,
            seed=11,
        ),
        ClipScript(
            "ball_on_table",
            "A ball lands on the table",
            "A person stands next to a table and waves while a ball drops in from above onto the table.",
            ("adult", "table", "ball"),
            _ball_on_table_draw,
            _ball_on_table_relations,
            seed=12,
        ),
        ClipScript(
            "walk_in_front",
            "Walking past a chair",
            "A person walks across the room and passes in front of a chair standing a step behind.",
            ("adult", "chair"),
            _walk_in_front_draw,
            _walk_in_front_relations,
            seed=13,
        ),
    )
}

_TEXTURES = {  # name -> (base RGB, stripes per tile)
    "trousers": ((40, 50, 90), 0),
    "shirt": ((200, 60, 50), 4),
    "skin": ((225, 180, 150), 0),
    "ball": ((240, 210, 40), 2),
    "paint": ((225, 225, 215), 8),
    "fabric": ((60, 140, 90), 3),
}


def render_clip(name: str) -> SynthClip:
    """Render a clip of :data:`CLIPS` in memory (about 0.2 s)."""
    script = CLIPS[name]
    rng = np.random.default_rng(script.seed)
    room = _room(rng)
    tiles = {key: _tile(rng, base, stripes=stripes) for key, (base, stripes) in _TEXTURES.items()}
    frames = np.empty((NUM_FRAMES, HEIGHT, WIDTH, 3), np.uint8)
    labels = np.zeros((NUM_FRAMES, HEIGHT, WIDTH), np.uint8)
    boxes: list[list[Box | None]] = []
    for t in range(NUM_FRAMES):
        frame, label = room.copy(), labels[t]
        entities = list(enumerate(script.draw(t), 1))
        depth = {oid: _bottom(layers) for oid, layers in entities}
        for oid, layers in sorted(entities, key=lambda item: (depth[item[0]], item[0])):  # far to near
            for layer in layers:
                ys, xs = np.nonzero(layer.mask)
                tile = tiles[layer.texture]
                frame[ys, xs] = tile[
                    (ys - layer.anchor_xy[1]) % tile.shape[0], (xs - layer.anchor_xy[0]) % tile.shape[1]
                ]
                label[ys, xs] = oid
        frames[t] = cv2.GaussianBlur(frame, (3, 3), 0.6)  # soft edges, like a camera
        boxes.append([_box(label == oid) for oid, _ in entities])
    return SynthClip(script=script, frames=frames, labels=labels, relations=script.relations(boxes))


def _bottom(layers: list[Layer]) -> int:
    rows = np.flatnonzero(np.any([layer.mask.any(axis=1) for layer in layers], axis=0))
    return int(rows[-1]) if rows.size else -1


def _box(mask: np.ndarray) -> Box | None:
    ys, xs = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return None if ys.size == 0 else (int(xs[0]), int(ys[0]), int(xs[-1]), int(ys[-1]))


def preset_click(clip: SynthClip | str) -> tuple[int, int, int]:
    """A good subject click ``(x, y, frame)`` for a clip (or clip name): the subject pixel farthest from the
    subject's boundary on the prompt frame. Pixels and frames of the clip as written (= original video)."""
    clip = render_clip(clip) if isinstance(clip, str) else clip
    t = clip.script.prompt_frame
    x, y = deepest_pixel(clip.labels[t] == SUBJECT_ID)
    return x, y, t


# -- writers ---------------------------------------------------------------------------------------------------

# palette of the mask PNGs: black background, then well-spread colours per object id (for viewing only)
_PALETTE = [0, 0, 0] + [
    int(v) for i in range(1, 256) for v in ((i * 97) % 256, (i * 57 + 80) % 256, (i * 151 + 40) % 256)
]


def write_dataset(out_dir: str | Path, names: Sequence[str] | None = None) -> Path:
    """Write clips in the OpenPVSG layout: ``frames/<id>/0000.png``, ``masks/<id>/0000.png`` (palette PNG,
    value = object_id), ``videos/<id>.mp4`` (H.264) and ``pvsg.json``. Returns the path of ``pvsg.json``."""
    out_dir = Path(out_dir)
    data = []
    for name in _check_names(names):
        clip = render_clip(name)
        vid = clip.script.video_id
        for sub in ("frames", "masks"):
            (out_dir / sub / vid).mkdir(parents=True, exist_ok=True)
        for t in range(len(clip.frames)):
            Image.fromarray(clip.frames[t]).save(out_dir / "frames" / vid / f"{t:04d}.png", compress_level=1)
            mask = Image.fromarray(clip.labels[t], mode="P")
            mask.putpalette(_PALETTE)
            mask.save(out_dir / "masks" / vid / f"{t:04d}.png", compress_level=1)
        write_video(out_dir / "videos" / f"{vid}.mp4", clip.frames, clip.fps)
        data.append(
            {
                "video_id": vid,
                "meta": clip.meta(),
                "objects": clip.objects,
                "relations": clip.relations,
                "captions": [],
                "qa_pairs": [],
                "summary": clip.script.description,
            }
        )
        logger.info("wrote %s: %d frames, %d relations", vid, len(clip.frames), len(clip.relations))
    pvsg = {
        "objects": {"thing": list(OPENPVSG.thing_classes), "stuff": list(OPENPVSG.stuff_classes)},
        "relations": list(OPENPVSG.predicates),
        "split": {SPLIT: {"train": [], "val": [d["video_id"] for d in data]}},
        "data": data,
    }
    path = out_dir / "pvsg.json"
    path.write_text(json.dumps(pvsg, indent=1))
    return path


def write_examples(out_dir: str | Path, names: Sequence[str] | None = None) -> Path:
    """Write each clip as ``<name>.mp4`` plus ``manifest.json`` with title, preset click and ground truth."""
    out_dir = Path(out_dir)
    manifest = []
    for name in _check_names(names):
        clip = render_clip(name)
        write_video(out_dir / f"{name}.mp4", clip.frames, clip.fps)
        manifest.append(
            {
                "name": name,
                "file": f"{name}.mp4",
                "title": clip.script.title,
                "description": clip.script.description,
                "click": list(preset_click(clip)),
                "fps": clip.fps,
                "num_frames": len(clip.frames),
                "width": WIDTH,
                "height": HEIGHT,
                "objects": [{"object_id": o["object_id"], "category": o["category"]} for o in clip.objects],
                "ground_truth": clip.relations,
            }
        )
    path = out_dir / "manifest.json"
    path.write_text(json.dumps(manifest, indent=1))
    return path


def _check_names(names: Sequence[str] | None) -> list[str]:
    names = list(CLIPS) if not names else list(names)
    unknown = [n for n in names if n not in CLIPS]
    if unknown:
        raise ValueError(f"unknown clip(s) {unknown}; known: {list(CLIPS)}")
    return names


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m click2graph.synth", description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", nargs="?", help="write the OpenPVSG-layout dataset here")
    parser.add_argument("--clips", nargs="+", choices=list(CLIPS), help="clips to write (default: all)")
    parser.add_argument("--examples", metavar="DIR", help="write example mp4s and manifest.json here instead")
    args = parser.parse_args(argv)
    if bool(args.out_dir) == bool(args.examples):
        parser.error("give exactly one of OUT_DIR or --examples DIR")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = write_examples(args.examples, args.clips) if args.examples else write_dataset(args.out_dir, args.clips)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
