"""The relation timeline: one lane per relation, a bar wherever it holds, a cursor at the current frame; and, while a
build runs, the tracking timeline: one lane per entity, a bar wherever it is tracked so far.

The x axis is in working frames. A span ``(start, end)`` (inclusive) is drawn as a bar from ``start - 0.5`` to
``end + 0.5``, so every frame it covers is fully inside the bar and a one-frame span is still visible.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Sequence

import plotly.graph_objects as go

from click2graph.graph import Relation, SceneGraph, Span
from click2graph.viz.colors import entity_color, to_hex
from click2graph.viz.names import entity_names, relation_name

logger = logging.getLogger(__name__)

FRAME_MARKER_NAME = "frame_marker"  # layout.shapes[...].name of the cursor, for apps that move it in place
LANE_HEIGHT_PX = 34


def timeline_figure(graph: SceneGraph, frame_idx: int | None = None) -> go.Figure:
    """A Plotly figure of when each relation holds.

    Lanes are named ``"subject —predicate→ object"`` (entity names get ``#id`` when labels collide) and grouped
    by (subject, object); bars take the object's colour; hovering a bar shows the triplet, the span in working
    frames, seconds and original frames, the score and the scorers that produced it.

    Args:
        graph: the scene graph.
        frame_idx: working frame for the vertical cursor (a shape named ``FRAME_MARKER_NAME``), or None.

    Returns:
        A new figure; with no relations it carries a "No relations found" note instead of lanes.
    """
    names = entity_names(graph)
    fig = go.Figure()
    relations = sorted(graph.relations, key=lambda r: (r.subject_id, r.object_id))
    lanes = _lane_names(relations, names)
    shown_in_legend: set[int] = set()
    for relation, lane in zip(relations, lanes):
        spans = sorted(relation.spans)
        fig.add_trace(
            go.Bar(
                orientation="h",
                y=[lane] * len(spans),
                base=[start - 0.5 for start, _ in spans],
                x=[end - start + 1 for start, end in spans],
                marker={"color": to_hex(entity_color(relation.object_id)), "line": {"color": "#333333", "width": 0.5}},
                name=names.get(relation.object_id, f"#{relation.object_id}"),
                legendgroup=f"entity-{relation.object_id}",
                showlegend=relation.object_id not in shown_in_legend,
                hovertext=[_hover_text(graph, relation, lane, span) for span in spans],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
        shown_in_legend.add(relation.object_id)

    meta = graph.video
    _lay_out(
        fig, "Relations over time", lanes, meta.num_work_frames, meta.work_fps, legend={"title": {"text": "object"}}
    )
    if not relations:
        _note(fig, "No relations found")
    _cursor(fig, frame_idx)
    return fig


def tracking_figure(
    lanes: Sequence[tuple[int, str, Sequence[Span]]], num_frames: int, fps: float, frame_idx: int | None = None
) -> go.Figure:
    """A Plotly figure of where each entity is tracked so far, for a build still running.

    Args:
        lanes: ``(entity_id, name, spans)`` per entity, top to bottom: a lane named ``name`` with a bar in the
            entity's colour over each span (inclusive working frames) where its mask is not empty.
        num_frames: working frames of the video (the x axis).
        fps: working frame rate (the axis title).
        frame_idx: working frame for the vertical cursor, or None.
    """
    fig = go.Figure()
    for entity_id, name, spans in lanes:
        fig.add_trace(
            go.Bar(
                orientation="h",
                y=[name] * len(spans),
                base=[start - 0.5 for start, _ in spans],
                x=[end - start + 1 for start, end in spans],
                marker={"color": to_hex(entity_color(entity_id)), "line": {"color": "#333333", "width": 0.5}},
                name=name,
                showlegend=False,
                hovertext=[f"{html.escape(name)}: frames {start}\u2013{end}" for start, end in spans],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    _lay_out(fig, "Tracked so far", [name for _, name, _ in lanes], num_frames, fps)
    if not lanes:
        _note(fig, "Nothing tracked yet")
    _cursor(fig, frame_idx)
    return fig


def figure_height(num_lanes: int) -> int:
    """Pixels a timeline of ``num_lanes`` lanes asks for: title and axis plus one lane height each."""
    return max(220, 140 + LANE_HEIGHT_PX * num_lanes)


def _lay_out(fig: go.Figure, title: str, lanes: list[str], num_frames: int, fps: float, **layout) -> None:
    """Lanes top to bottom, working frames along x; ``layout`` adds to Plotly's layout."""
    fig.update_layout(
        template="plotly_white",
        barmode="overlay",  # one trace per lane: "group" would shift bars off their lane
        height=figure_height(len(lanes)),
        margin={"l": 10, "r": 10, "t": 40, "b": 40},
        title={"text": title, "x": 0.01},
        xaxis={
            "title": {"text": f"working frame ({fps:g} fps)"},
            "range": [-0.5, max(num_frames - 1, 0) + 0.5],
            "zeroline": False,
        },
        yaxis={"categoryorder": "array", "categoryarray": lanes, "autorange": "reversed", "automargin": True},
        **layout,
    )


def _cursor(fig: go.Figure, frame_idx: int | None) -> None:
    """A dotted vertical line at ``frame_idx`` (a shape named ``FRAME_MARKER_NAME``); none for None."""
    if frame_idx is not None:
        fig.add_vline(
            x=frame_idx,
            name=FRAME_MARKER_NAME,
            line={"color": "#222222", "width": 2, "dash": "dot"},
            annotation_text=f"frame {frame_idx}",
            annotation_position="top",
        )


def _note(fig: go.Figure, text: str) -> None:
    """``text`` in the middle of a figure without lanes."""
    fig.update_yaxes(visible=False)
    fig.add_annotation(
        text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 16, "color": "#666666"}
    )


def save_timeline_html(graph: SceneGraph, path: str | Path) -> Path:
    """Write :func:`timeline_figure` as a standalone HTML page (plotly.js inlined, works offline); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    timeline_figure(graph).write_html(path, include_plotlyjs=True, full_html=True, config={"displaylogo": False})
    logger.info("wrote timeline %s (%d relations)", path, len(graph.relations))
    return path


def _lane_names(relations: list[Relation], names: dict[int, str]) -> list[str]:
    """One distinct lane name per relation (a repeated triplet gets " (2)", " (3)", ...)."""
    lanes: list[str] = []
    for relation in relations:
        base = relation_name(relation, names)
        lane, n = base, 1
        while lane in lanes:
            n += 1
            lane = f"{base} ({n})"
        lanes.append(lane)
    return lanes


def _hover_text(graph: SceneGraph, relation: Relation, lane: str, span: tuple[int, int]) -> str:
    start, end = span
    fps = graph.video.work_fps
    orig = graph.video.frame_indices_orig
    lines = [f"<b>{html.escape(lane)}</b>", f"frames {start}\u2013{end} ({end - start + 1} frames)"]
    if fps > 0:
        lines.append(f"{start / fps:.2f}\u2013{end / fps:.2f} s")
    if 0 <= start and end < len(orig):
        lines.append(f"original frames {orig[start]}\u2013{orig[end]}")
    score = f"score {relation.score:.2f}"
    in_span = [s for t, s in relation.frame_scores.items() if start <= t <= end]
    if in_span:
        score += f" (mean in this span {sum(in_span) / len(in_span):.2f})"
    lines.append(score)
    if relation.sources:
        lines.append("sources: " + html.escape(", ".join(relation.sources)))
    return "<br>".join(lines)
