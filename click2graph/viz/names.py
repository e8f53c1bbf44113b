"""Readable names for entities and relations, shared by the overlay, the timeline and the graph view."""

from __future__ import annotations

from collections import Counter

from click2graph.graph import Entity, Relation, SceneGraph

LOW_CONFIDENCE = 0.3  # a model's (or a look-alike's) label below this probability is shown as uncertain: "ball?"


def uncertain(entity: Entity) -> bool:
    """True for a label a model gave with probability below :data:`LOW_CONFIDENCE` (never a user's label)."""
    return entity.label_source in ("model", "correction") and (entity.label_score or 0.0) < LOW_CONFIDENCE


def entity_names(graph: SceneGraph) -> dict[int, str]:
    """``entity_id -> name``: the entity's label, with ``" #<id>"`` appended when several entities share it, and
    ``"?"`` after an uncertain label.

    Example: labels person(1), ball(2), ball(3) -> ``{1: "person", 2: "ball #2", 3: "ball #3"}``.
    """
    counts = Counter(e.label for e in graph.entities)
    names = {}
    for e in graph.entities:
        label = e.label + ("?" if uncertain(e) else "")
        names[e.entity_id] = label if counts[e.label] == 1 else f"{label} #{e.entity_id}"
    return names


def relation_name(relation: Relation, names: dict[int, str], *, arrow: bool = True) -> str:
    """``"person —holding→ ball #2"`` (timeline lanes) or, with ``arrow=False``, ``"person holding ball #2"``.

    Ids missing from ``names`` (a relation to a dropped entity) show as ``"#<id>"``.
    """
    subject = names.get(relation.subject_id, f"#{relation.subject_id}")
    obj = names.get(relation.object_id, f"#{relation.object_id}")
    if arrow:
        return f"{subject} \u2014{relation.predicate}\u2192 {obj}"
    return f"{subject} {relation.predicate} {obj}"
