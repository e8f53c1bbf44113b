"""Reading a predicted scene graph to score (``eval --predictions``), checked before any number is computed.

A prediction file is a scene graph in our export format (``scene_graph.json`` of ``run``) or a plain
OpenPVSG-style file (``objects`` with ``masks`` as COCO RLE per working frame, ``relations`` as
``[subject_id, object_id, predicate, [[start, end], ...]]`` in working frames). Anything that would be scored
wrongly or crash the scoring is refused with :class:`PredictionError`: invalid JSON, a missing or mistyped part,
a relation naming an unknown object, a frame key that is not a frame number or lies outside the graph's working
frames, a span past the last working frame, an RLE of another size than the working frames or whose runs do not
add up to its size.
"""

from __future__ import annotations

import json
from pathlib import Path

from click2graph.errors import Click2GraphError
from click2graph.graph import SceneGraph


class PredictionError(Click2GraphError):
    """A prediction file cannot be scored as it is."""


def load_prediction(path: Path) -> SceneGraph:
    """The scene graph in ``path``, checked (module docstring).

    Raises:
        PredictionError: the file is not a scoreable scene graph; the message names the file and the problem.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PredictionError(f"{path} is not valid JSON ({exc})") from None
    try:
        _check_layout(data)
        graph = SceneGraph.from_dict(data)
        _check_graph(graph)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise PredictionError(f"{path} is not a scoreable scene graph: {detail}") from None
    return graph


def _check_layout(data) -> None:
    """The JSON shapes ``SceneGraph.from_dict`` reads without complaint but scoring needs."""
    if not isinstance(data, dict):
        raise TypeError(f"the top level is a {type(data).__name__}, expected an object with objects and relations")
    for key in ("objects", "relations"):
        if not isinstance(data.get(key), list):
            raise TypeError(f"'{key}' is missing or not a list")
    for obj in data["objects"]:
        if not isinstance(obj, dict) or not isinstance(obj.get("masks", {}), dict):
            raise TypeError(f"an object is not {{object_id, category, masks: {{frame: RLE}}}}: {str(obj)[:80]}")
        for key in obj.get("masks", {}):
            if not str(key).isdigit():
                raise ValueError(f"object {obj.get('object_id')}: mask key {key!r} is not a working frame number")
    for rel in data["relations"]:
        if not isinstance(rel, list) or len(rel) != 4 or not isinstance(rel[3], list):
            raise TypeError(f"a relation is not [subject_id, object_id, predicate, [[start, end], ...]]: {rel}")


def _check_graph(graph: SceneGraph) -> None:
    meta = graph.video
    frames, size = meta.num_work_frames, [meta.work_height, meta.work_width]
    if frames < 1 or min(size) < 1:
        raise ValueError(f"the graph declares {frames} working frames of {size[1]}x{size[0]} pixels")
    ids = {e.entity_id for e in graph.entities}
    if len(ids) != len(graph.entities):
        raise ValueError("two objects share an object_id")
    for entity in graph.entities:
        for t, rle in entity.masks.items():
            where = f"object {entity.entity_id}, frame {t}"
            if not 0 <= t < frames:
                raise ValueError(f"{where}: the graph has working frames 0..{frames - 1}")
            if list(rle.get("size", [])) != size:
                raise ValueError(f"{where}: RLE of size {rle.get('size')}, the working frames are {size} (H, W)")
            runs = rle_runs(rle.get("counts"))
            if runs is None or any(n < 0 for n in runs) or sum(runs) != size[0] * size[1]:
                raise ValueError(f"{where}: invalid RLE (its runs do not cover the {size[1]}x{size[0]} mask exactly)")
    for r in graph.relations:
        unknown = {r.subject_id, r.object_id} - ids
        if unknown:
            raise ValueError(f"relation {r.triplet} names objects {sorted(unknown)} that are not in its objects")
        for a, b in r.spans:
            if not 0 <= a <= b < frames:
                raise ValueError(f"relation {r.triplet}: span [{a}, {b}] is outside working frames 0..{frames - 1}")


def rle_runs(counts) -> list[int] | None:
    """The run lengths of a compressed COCO RLE string; None when it is not one.

    pycocotools decodes a string whose runs fall short of the mask's size into uninitialised memory rather than
    failing, so the runs are read here (the inverse of its ``rleToString``: 5 bits a character, offset 48, bit 6
    continues, bit 5 of the last character is the sign, runs after the second stored as differences) and checked
    against the size before anything is decoded.
    """
    if not isinstance(counts, str) or not counts.isascii():
        return None
    runs: list[int] = []
    data, p = counts.encode("ascii"), 0
    while p < len(data):
        value, shift, more = 0, 0, True
        while more:
            if p == len(data):
                return None
            c = data[p] - 48
            if not 0 <= c < 64:
                return None
            value |= (c & 0x1F) << shift
            more = bool(c & 0x20)
            p, shift = p + 1, shift + 5
            if not more and c & 0x10:
                value |= -1 << shift
        runs.append(value + runs[-2] if len(runs) > 2 else value)
    return runs
