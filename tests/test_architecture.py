"""Data flows one way: the library never imports the app, and the path from a click to a scene graph (video,
segment, discovery, semantics, graph, viz, export, settings) imports nothing from eval/, bench/ or demo/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "click2graph"
UPPER_LAYERS = ("click2graph.eval", "click2graph.bench", "demo")
CORE = [
    *[LIBRARY / name for name in ("segment", "discovery", "semantics", "cv", "viz", "data")],
    *[
        LIBRARY / f"{name}.py"
        for name in ("pipeline", "build_progress", "graph", "video", "export", "settings", "weights", "masks")
    ],
]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def python_files(*paths: Path) -> list[Path]:
    return [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*.py")))]


def offending(files: list[Path], prefixes: tuple[str, ...]) -> list[str]:
    return [
        f"{f.relative_to(ROOT)} imports {name}"
        for f in files
        for name in sorted(imported_modules(f))
        if any(name == p or name.startswith(p + ".") for p in prefixes)
    ]


def test_the_library_never_imports_the_app():
    assert offending(python_files(LIBRARY), ("demo",)) == []


@pytest.mark.parametrize("part", CORE, ids=lambda p: p.name)
def test_the_click_to_graph_path_imports_no_upper_layer(part):
    assert part.exists(), part
    assert offending(python_files(part), UPPER_LAYERS) == []
