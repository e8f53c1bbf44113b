"""The relation timeline: one lane per relation, a bar wherever it holds, a cursor at the current frame.

The x axis is in working frames. A span ``(start, end)`` (inclusive) is drawn as a bar from ``start - 0.5`` to
``end + 0.5``, so every frame it covers is fully inside the bar and a one-frame span is still visible.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

import plotly.graph_objects as go

from click2graph.graph import Relation, SceneGraph
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

    last_frame = max(graph.video.num_work_frames - 1, 0)
    fig.update_layout(
        template="plotly_white",
        barmode="overlay",  # one trace per lane: "group" would shift bars off their lane
        height=max(220, 140 + LANE_HEIGHT_PX * len(lanes)),
        margin={"l": 10, "r": 10, "t": 40, "b": 40},
        title={"text": "Relations over time", "x": 0.01},
        legend={"title": {"text": "object"}},
        xaxis={
            "title": {"text": f"working frame ({graph.video.work_fps:g} fps)"},
            "range": [-0.5, last_frame + 0.5],
            "zeroline": False,
        },
        yaxis={"categoryorder": "array", "categoryarray": lanes, "autorange": "reversed", "automargin": True},
    )
    if not relations:
        fig.update_yaxes(visible=False)
        fig.add_annotation(
            text="No relations found",
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
            showarrow=False,
            font={"size": 16, "color": "#666666"},
        )
    if frame_idx is not None:
        fig.add_vline(
            x=frame_idx,
            name=FRAME_MARKER_NAME,
            line={"color": "#222222", "width": 2, "dash": "dot"},
            annotation_text=f"frame {frame_idx}",
            annotation_position="top",
        )
    return fig


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
