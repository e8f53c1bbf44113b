"""The scene graph as a Plotly figure: entities as coloured nodes, relations as labelled arrows.

Positions are computed once from *all* entities of the graph, so a node stays put while the app's frame slider
moves and entities come and go. Coordinates are abstract layout units (subject at the origin, objects on the
unit circle).
"""

from __future__ import annotations

import math
from collections import defaultdict

import plotly.graph_objects as go

from click2graph.graph import Entity, SceneGraph
from click2graph.viz.colors import SUBJECT_OUTLINE_RGB, entity_color, to_hex
from click2graph.viz.names import entity_names

NODE_SIZE_PX = {True: 46, False: 34}  # marker diameter by is_subject
AXIS_RANGE = [-1.7, 1.7]  # fixed, so the view does not rescale from frame to frame
FIRST_OBJECT_ANGLE = math.radians(15)  # off the axes, so the subject's label does not sit on the first edge
# Labels of a->b and b->a are pushed apart: along the edge by this fraction of its length, and sideways by an
# absolute amount (layout units), so even two-line labels do not overlap.
REVERSE_EDGE_SHIFT = 0.15
REVERSE_EDGE_OFFSET = 0.06


def graph_figure(graph: SceneGraph, frame_idx: int | None = None) -> go.Figure:
    """The scene graph at working frame ``frame_idx`` (entities present and relations holding there), or the
    whole graph when ``frame_idx`` is None.

    Nodes use :func:`~click2graph.viz.colors.entity_color` (subjects larger, with a dark ring); the node trace
    carries the entity ids as ``customdata``. Each ordered pair of entities gets one arrow and one label
    annotation listing all its predicates (annotation names ``"arrow <s>-><o>"`` and ``"edge <s>-><o>"``).

    Returns:
        A new figure; when nothing is present it carries a note instead of nodes.
    """
    names = entity_names(graph)
    positions = _layout_xy(graph)
    nx_graph = graph.to_networkx(frame_idx)
    entities = [graph.entity(entity_id) for entity_id in sorted(nx_graph.nodes)]

    fig = go.Figure()
    predicates: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for subject_id, object_id, data in nx_graph.edges(data=True):
        predicates[(subject_id, object_id)].append(data)
    for (subject_id, object_id), edges in predicates.items():
        _add_edge(
            fig, positions, graph, subject_id, object_id, edges, reverse_exists=(object_id, subject_id) in predicates
        )

    if entities:
        xs, ys = zip(*(positions[e.entity_id] for e in entities))
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="markers+text",
                name="entities",
                showlegend=False,
                customdata=[e.entity_id for e in entities],
                text=[names[e.entity_id] for e in entities],
                textposition=["top center" if y > 0 else "bottom center" for y in ys],
                marker={
                    "color": [to_hex(entity_color(e.entity_id)) for e in entities],
                    "size": [NODE_SIZE_PX[e.is_subject] for e in entities],
                    "line": {
                        "color": [to_hex(SUBJECT_OUTLINE_RGB) if e.is_subject else "#ffffff" for e in entities],
                        "width": [4 if e.is_subject else 1.5 for e in entities],
                    },
                },
                hovertext=[_node_hover(e, names) for e in entities],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    else:
        note = "Empty scene graph" if frame_idx is None else f"No entities at frame {frame_idx}"
        fig.add_annotation(text=note, x=0, y=0, showarrow=False, font={"size": 16, "color": "#666666"})

    if frame_idx is None:
        title = "Scene graph (whole video)"
    else:
        fps = graph.video.work_fps
        title = f"Scene graph at frame {frame_idx}" + (f" ({frame_idx / fps:.2f} s)" if fps > 0 else "")
    hidden_axis = {"visible": False, "range": AXIS_RANGE, "fixedrange": True}
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "x": 0.01},
        height=440,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis=hidden_axis,
        yaxis={**hidden_axis, "scaleanchor": "x"},
        hoverlabel={"align": "left"},
    )
    return fig


def _layout_xy(graph: SceneGraph) -> dict[int, tuple[float, float]]:
    """Deterministic positions of every entity: subjects at the centre, objects evenly on the unit circle,
    grouped by the subject that discovered them, then by id."""
    subjects = sorted(e.entity_id for e in graph.entities if e.is_subject)
    objects = sorted(
        (e for e in graph.entities if not e.is_subject),
        key=lambda e: (e.subject_id is None, e.subject_id or 0, e.entity_id),
    )
    positions: dict[int, tuple[float, float]] = {}
    if len(subjects) == 1:
        positions[subjects[0]] = (0.0, 0.0)
    else:
        positions.update(_on_circle(subjects, radius=0.35, start=math.pi / 2))
    positions.update(_on_circle([e.entity_id for e in objects], radius=1.0, start=FIRST_OBJECT_ANGLE))
    return positions


def _on_circle(ids: list[int], *, radius: float, start: float) -> dict[int, tuple[float, float]]:
    step = 2 * math.pi / max(len(ids), 1)
    return {i: (radius * math.cos(start + k * step), radius * math.sin(start + k * step)) for k, i in enumerate(ids)}


def _add_edge(
    fig: go.Figure,
    positions: dict[int, tuple[float, float]],
    graph: SceneGraph,
    subject_id: int,
    object_id: int,
    edges: list[dict],
    *,
    reverse_exists: bool,
) -> None:
    """One arrow subject -> object and one label with all predicates of the pair (hover: scores and spans)."""
    (x0, y0), (x1, y1) = positions[subject_id], positions[object_id]
    color = to_hex(entity_color(object_id))
    label = "<br>".join(e["predicate"] for e in edges)
    hover = "<br>".join(
        f"<b>{e['predicate']}</b> score {e['score']:.2f}, frames " + ", ".join(f"{a}\u2013{b}" for a, b in e["spans"])
        for e in edges
    )
    if subject_id == object_id:  # a self-relation has no arrow; its label floats above the node
        fig.add_annotation(
            name=f"edge {subject_id}->{object_id}",
            x=x0,
            y=y0 + 0.3,
            text=label,
            hovertext=hover,
            showarrow=False,
            bgcolor="rgba(255,255,255,0.85)",
            bordercolor=color,
        )
        return
    is_subject = {e.entity_id: e.is_subject for e in graph.entities}
    fig.add_annotation(
        name=f"arrow {subject_id}->{object_id}",
        x=x1,
        y=y1,
        ax=x0,
        ay=y0,
        xref="x",
        yref="y",
        axref="x",
        ayref="y",
        text="",
        showarrow=True,
        arrowhead=3,
        arrowsize=1.3,
        arrowwidth=2,
        arrowcolor="#555555",
        standoff=NODE_SIZE_PX[is_subject[object_id]] / 2 + 2,
        startstandoff=NODE_SIZE_PX[is_subject[subject_id]] / 2 + 2,
    )
    mid_x, mid_y = (x0 + x1) / 2, (y0 + y1) / 2
    if reverse_exists:  # a->b and b->a share a line: put each label nearer its own subject, and off to its left
        length = math.hypot(x1 - x0, y1 - y0)
        mid_x += -REVERSE_EDGE_SHIFT * (x1 - x0) - REVERSE_EDGE_OFFSET * (y1 - y0) / length
        mid_y += -REVERSE_EDGE_SHIFT * (y1 - y0) + REVERSE_EDGE_OFFSET * (x1 - x0) / length
    fig.add_annotation(
        name=f"edge {subject_id}->{object_id}",
        x=mid_x,
        y=mid_y,
        text=label,
        hovertext=hover,
        showarrow=False,
        bgcolor="rgba(255,255,255,0.9)",
        bordercolor=color,
        borderwidth=2,
        borderpad=3,
        font={"size": 12, "color": "#222222"},
    )


def _node_hover(entity: Entity, names: dict[int, str]) -> str:
    role = "subject" if entity.is_subject else "object"
    source = f"label from {entity.label_source}"
    if entity.label_score is not None:
        source += f" ({entity.label_score:.2f})"
    lines = [f"<b>{names[entity.entity_id]}</b> (id {entity.entity_id}, {role})", source]
    if entity.top5:
        lines.append("top-5: " + ", ".join(f"{label} {score:.2f}" for label, score in entity.top5))
    if entity.first_frame is not None:
        lines.append(f"frames {entity.first_frame}\u2013{entity.last_frame}")
    return "<br>".join(lines)
