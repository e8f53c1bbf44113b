"""Drawing only: mask overlays on frames, the relation (and tracking) timeline and the scene-graph figure.

Every renderer returns a new image or figure; nothing here changes its inputs. Entity colours come from
:func:`entity_color`, so an entity looks the same in all three views.
"""

from click2graph.viz.colors import PALETTE_RGB, entity_color, to_hex
from click2graph.viz.graph_figure import graph_figure
from click2graph.viz.names import entity_names, relation_name
from click2graph.viz.overlay import (
    MaskOverlay,
    OverlayItem,
    add_caption,
    entity_thumbnail,
    mask_preview,
    render_frame,
    write_overlay_video,
)
from click2graph.viz.timeline import FRAME_MARKER_NAME, save_timeline_html, timeline_figure, tracking_figure

__all__ = [
    "FRAME_MARKER_NAME",
    "MaskOverlay",
    "OverlayItem",
    "PALETTE_RGB",
    "add_caption",
    "entity_color",
    "entity_names",
    "entity_thumbnail",
    "graph_figure",
    "mask_preview",
    "relation_name",
    "render_frame",
    "save_timeline_html",
    "timeline_figure",
    "to_hex",
    "tracking_figure",
    "write_overlay_video",
]
