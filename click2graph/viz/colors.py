"""One colour per entity, the same in the overlay, the timeline and the graph view.

The palette is Okabe & Ito's colour-blind-safe set ("Color Universal Design", 2008) without its black, which
would vanish on dark video. Colours depend only on ``entity_id``, so an entity keeps its colour across frames,
figures and re-runs; with more than seven entities they repeat (labels still tell them apart).
"""

from __future__ import annotations

RGB = tuple[int, int, int]

PALETTE_RGB: tuple[RGB, ...] = (
    (0, 114, 178),  # blue
    (230, 159, 0),  # orange
    (0, 158, 115),  # bluish green
    (213, 94, 0),  # vermillion
    (86, 180, 233),  # sky blue
    (204, 121, 167),  # reddish purple
    (240, 228, 66),  # yellow
)

# Subjects keep their palette colour and get this outline instead (thicker contour, dark node ring).
SUBJECT_OUTLINE_RGB: RGB = (20, 20, 20)


def entity_color(entity_id: int) -> RGB:
    """The ``(r, g, b)`` uint8 colour of an entity (any int id, negative ones included)."""
    return PALETTE_RGB[entity_id % len(PALETTE_RGB)]


def to_hex(rgb: RGB) -> str:
    """``(0, 114, 178)`` -> ``"#0072b2"`` (the form Plotly figures use)."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def text_color_on(rgb: RGB) -> RGB:
    """Black or white, whichever reads better on a background of colour ``rgb`` (WCAG relative luminance)."""

    def linear(c: int) -> float:
        c = c / 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    # Contrast with black is (L + 0.05) / 0.05, with white 1.05 / (L + 0.05); they are equal at L ~= 0.179.
    return (0, 0, 0) if luminance > 0.179 else (255, 255, 255)
