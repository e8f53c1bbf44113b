"""The OpenPVSG vocabulary: 115 thing classes, 11 stuff classes and 57 predicates, in the dataset's order.

The lists are shipped as package data (``openpvsg_vocab.json``, copied from the dataset's ``pvsg.json``) and
keep the data's spelling exactly (``ballon``, ``vaccum``, ``scissor``, ``simmering``, ``others``): evaluation
maps names to indices by exact match, so "fixing" a spelling would break it. Class index = position in
``thing_classes + stuff_classes``; predicate index = position in ``predicates``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Vocabulary:
    """Class and predicate names of a scene-graph dataset, in index order."""

    thing_classes: tuple[str, ...]
    stuff_classes: tuple[str, ...]
    predicates: tuple[str, ...]

    def __post_init__(self) -> None:
        overlap = set(self.thing_classes) & set(self.stuff_classes)
        if overlap:
            raise ValueError(f"a class cannot be both thing and stuff: {sorted(overlap)}")

    @property
    def classes(self) -> tuple[str, ...]:
        """All classes, things first then stuff (the dataset's class indices)."""
        return self.thing_classes + self.stuff_classes

    def is_thing(self, label: str) -> bool:
        """True for a thing class, False for a stuff class.

        Raises:
            KeyError: ``label`` is not a class of this vocabulary (e.g. the default label "object").
        """
        if label in self.thing_classes:
            return True
        if label in self.stuff_classes:
            return False
        raise KeyError(f"{label!r} is not a class of this vocabulary ({len(self.classes)} classes)")


@functools.cache
def load_openpvsg_vocab() -> Vocabulary:
    """The OpenPVSG v1 vocabulary (115 things, 11 stuff, 57 predicates), read once from package data."""
    text = resources.files("click2graph.semantics").joinpath("openpvsg_vocab.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return Vocabulary(
        thing_classes=tuple(data["thing_classes"]),
        stuff_classes=tuple(data["stuff_classes"]),
        predicates=tuple(data["predicate_classes"]),
    )


OPENPVSG = load_openpvsg_vocab()
