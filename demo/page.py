"""The page's outputs by name: every handler returns an :class:`Update`, and every event is wired to all of its
fields, in this order. A field a handler leaves at ``SKIP`` keeps what the page shows, so no handler can forget a
component or put a value in another's place, and an error changes nothing on the page."""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, fields
from typing import Any


class _Skip:
    def __repr__(self) -> str:
        return "SKIP"


SKIP: Any = _Skip()


@dataclass
class Update:
    """New values for the page's components (``gr.update(...)`` where a property changes too)."""

    key: Any = SKIP  # gr.State: the tab's visit key (None until it opens a video)
    prompt_cell: Any = SKIP  # gr.update(visible=...) of the cells shown once a video is open
    results_cell: Any = SKIP  # gr.update(visible=...) of the cells shown once there is a result
    video_in: Any = SKIP
    frame_image: Any = SKIP
    frame_slider: Any = SKIP
    video_info: Any = SKIP
    subject_pick: Any = SKIP
    prompt_info: Any = SKIP
    build_button: Any = SKIP
    build_status: Any = SKIP
    overlay: Any = SKIP
    timeline: Any = SKIP
    graph_plot: Any = SKIP
    entity_table: Any = SKIP
    entity_gallery: Any = SKIP
    entity_pick: Any = SKIP
    relation_pick: Any = SKIP
    downloads: Any = SKIP
    snippet: Any = SKIP

    def merged(self, other: "Update") -> "Update":
        """This update with ``other``'s set fields on top."""
        values = {f: getattr(other, f) for f in FIELDS if getattr(other, f) is not SKIP}
        return Update(**{**{f: getattr(self, f) for f in FIELDS}, **values})

    def values(self) -> tuple:
        """The values in ``FIELDS`` order, ``gr.skip()`` for the fields left alone."""
        import gradio as gr

        return tuple(gr.skip() if getattr(self, f) is SKIP else getattr(self, f) for f in FIELDS)


FIELDS = [f.name for f in fields(Update)]
# What a gradio_client call returns: Gradio sends no states, layout blocks or buttons to API clients.
API_FIELDS = [f for f in FIELDS if f not in ("key", "prompt_cell", "results_cell", "build_button")]


def as_outputs(handler):
    """Wire ``handler`` (which returns an :class:`Update`, or yields them to stream) to an event whose outputs are
    ``FIELDS``."""
    if inspect.isgeneratorfunction(handler):

        @functools.wraps(handler)
        def streamed(*args, **kwargs):
            for update in handler(*args, **kwargs):
                yield update.values()

        return streamed

    @functools.wraps(handler)
    def wrapped(*args, **kwargs):
        return handler(*args, **kwargs).values()

    return wrapped
