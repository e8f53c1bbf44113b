"""Event handlers: read the small UI state, call the library, turn the result into component values.

The UI state (``gr.State``) is a plain dict, all keys declared in :func:`new_state`. Heavy objects (the decoded
video, the pipeline session, the scene graph, export paths) live in the server-side
:class:`click2graph.sessions.SessionStore` under ``state["key"]``, next to the user's private export folder.
Each handler returns its outputs in the order of the ``outputs=[...]`` list it is wired to in ``demo.app``.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from pathlib import Path

import gradio as gr

from click2graph.discovery import discover_objects
from click2graph.errors import Click2GraphError, PromptError
from click2graph.examples import ExampleCache, load_examples
from click2graph.export import export_all
from click2graph.learned.inference import (
    DEFAULT_LEARNED_PATH,
    DidmDiscovery,
    HeuristicDiscovery,
    choose_discovery,
    strategy_name,
)
from click2graph.pipeline import Pipeline
from click2graph.prompts import Box, Click, prompt_from_dict
from click2graph.segment.factory import make_segmenter
from click2graph.semantics.models import make_semantics
from click2graph.semantics.prototypes import PrototypeMemory
from click2graph.sessions import SessionStore
from click2graph.video import VideoPolicy, load_video
from click2graph.viz import graph_figure, timeline_figure
from demo import views

logger = logging.getLogger(__name__)

POSITIVE, NEGATIVE, BOX, ADD_OBJECT = "positive", "negative", "box", "add object"
CLICK_MODES = [POSITIVE, NEGATIVE, BOX, ADD_OBJECT]
# Heavy steps (build, relabel, drop) run this many at a time per process; clicks are light and run beside them.
BUILD_CONCURRENCY = int(os.environ.get("CLICK2GRAPH_BUILD_CONCURRENCY", "1"))

POLICY = VideoPolicy()
STORE = SessionStore()  # per-user data keyed by a random per-tab key; no user state in this module itself
# One segmenter per process: SAM 2 when installed and a checkpoint is found (CLICK2GRAPH_CHECKPOINT: a name or a
# file, default tiny; CLICK2GRAPH_SAM2_SIZE 512|1024, default 1024 with a GPU and 512 on a CPU; CLICK2GRAPH_BACKEND
# auto|classic|sam2), else classic.
BACKEND = make_segmenter(
    os.environ.get("CLICK2GRAPH_BACKEND", "auto"),
    checkpoint=os.environ.get("CLICK2GRAPH_CHECKPOINT") or None,
    image_size=int(os.environ["CLICK2GRAPH_SAM2_SIZE"]) if os.environ.get("CLICK2GRAPH_SAM2_SIZE") else None,
)
# Entity names and predicates: CLIP when its model is found (CLICK2GRAPH_CLIP: a name or a folder;
# CLICK2GRAPH_SEMANTICS auto|off|clip; CLICK2GRAPH_CLIP_PRECISION int8|fp32), a predicate prior when built; else
# default names, with the reason shown.
SEMANTICS = make_semantics(
    os.environ.get("CLICK2GRAPH_SEMANTICS", "auto"),
    model=os.environ.get("CLICK2GRAPH_CLIP") or None,
    precision=os.environ.get("CLICK2GRAPH_CLIP_PRECISION") or "int8",
)
# Discovery: the trained DIDM when weights/click2graph_learned.pt (or CLICK2GRAPH_LEARNED) exists and SAM 2 runs,
# else training-free (CLICK2GRAPH_DISCOVERY auto|training-free|learned|heuristic); each tab can switch.
DISCOVER, LEARNED, DISCOVERY_NOTICE = choose_discovery(
    os.environ.get("CLICK2GRAPH_DISCOVERY", "auto"),
    BACKEND.segmenter,
    os.environ.get("CLICK2GRAPH_LEARNED") or DEFAULT_LEARNED_PATH,
)
STRATEGIES = {"training-free": discover_objects, "heuristic": HeuristicDiscovery()}
if LEARNED is not None and LEARNED.didm is not None:
    STRATEGIES["learned"] = DidmDiscovery(LEARNED.didm)
PIPELINE = Pipeline(BACKEND.segmenter, semantics=SEMANTICS, discover=DISCOVER, learned=LEARNED)
CACHE = ExampleCache()  # plain files: results of examples built with their preset click


def warm_up() -> None:
    """Embed the class prompts now (~7 s on 2 cores unless already on disk) rather than in the first user's build;
    ``app.py`` runs it in a background thread at launch."""
    if SEMANTICS.classifier is not None:
        started = time.perf_counter()
        SEMANTICS.classifier.label_embeddings()
        logger.info("class prompts embedded in %.1f s", time.perf_counter() - started)


def new_state() -> dict:
    """The per-tab UI state: small plain data only."""
    return {
        "key": STORE.new_key(),  # SessionStore key of this tab's heavy data and export folder
        "subject": views.NEW_SUBJECT,  # subject id that clicks go to (NEW_SUBJECT: id given at the first click)
        "prompts": {},  # subject id -> [Click/Box dicts], original pixels and original frame index
        "corner": None,  # [x, y, frame] of a box's first corner (original pixels) until the second click
        "example": None,  # name of the loaded example while its preset click is untouched (the cache applies)
        "video_name": "",  # file name, for the code snippet
    }


def user_errors(handler):
    """Show library errors as readable notices and anything unexpected as a short message, never a trace."""

    @functools.wraps(handler)
    def wrapped(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except Click2GraphError as exc:
            raise gr.Error(str(exc)) from None
        except Exception as exc:
            logger.exception("unexpected error in %s", handler.__name__)
            raise gr.Error(
                f"Something went wrong ({type(exc).__name__}: {exc}). Try again or reload the page."
            ) from None

    return wrapped


def status_text() -> str:
    discovery = LEARNED.describe() if LEARNED is not None else strategy_name(DISCOVER)
    return (
        f"**Backend:** {BACKEND.describe()} · **Semantics:** {SEMANTICS.describe()} · **Discovery:** {discovery}"
        + (f" ({DISCOVERY_NOTICE})" if DISCOVERY_NOTICE else "")
        + f" · heavy steps run {BUILD_CONCURRENCY} at a time on this server"
    )


def cache_key() -> str:
    """What an example's cached result depends on besides the example itself."""
    return f"{PIPELINE.describe()} | {SEMANTICS.describe()} | {strategy_name(DISCOVER)}"


def example_names() -> list[str]:
    return [e.name for e in load_examples()]


# -- 1. video --------------------------------------------------------------------------------------------------


@user_errors
def on_video(path: str | None, state: dict):
    """A video was uploaded: decode it with the policy (trim/downsize, never reject) and show its first frame."""
    if not path:
        raise Click2GraphError("no video received: upload a video file (mp4, webm, mov, ...)")
    video = load_video(path, POLICY)
    stored = STORE.get(state["key"])
    with stored.lock:
        # The user's corrections and own words carry over to the next video of this tab.
        memory, classes = stored.data.get("memory") or PrototypeMemory(), stored.data.get("classes")
        discovery = stored.data.get("discovery")
        stored.data.clear()
        stored.data.update(memory=memory, classes=classes, discovery=discovery)
        stored.data["session"] = session = PIPELINE.open(video, memory=memory)
        if classes:
            PIPELINE.set_classes(session, classes)
        if discovery:
            PIPELINE.set_discovery(session, STRATEGIES[discovery])
    ui = dict(new_state(), key=state["key"], video_name=Path(path).name)
    info = f"**Using:** {video.describe()}. " + " ".join(video.notes)
    return (
        video.frames[0],  # frame image
        gr.update(maximum=len(video) - 1, value=0),  # frame slider
        info,  # video info
        views.subject_choices(session, ui),  # subject selector
        views.prompt_info(ui),  # prompt info
        ui,  # state
        *views.no_results(),
    )


@user_errors
def on_example(name: str, state: dict):
    """Load an example clip and apply its preset click (if it has one)."""
    example = next((e for e in load_examples() if e.name == name), None)
    if example is None:
        raise Click2GraphError(f"unknown example {name!r}; examples: {example_names()}")
    frame_image, slider, info, subject, _, ui, *results = on_video(str(example.path), state)
    if not example.prompts:
        return str(example.path), frame_image, slider, info, subject, views.prompt_info(ui), ui, *results
    stored = _stored(ui)
    ui = _set_prompts(stored, ui, 1, [p.to_dict() for p in example.prompts])
    ui["example"] = example.name
    session = stored.data["session"]
    frame_idx = session.video.work_index(example.click[2])
    message = "Preset click applied: press **Build scene graph** (or click to refine)."
    return (
        str(example.path),
        views.frame_view(session, None, ui, frame_idx),
        gr.update(value=frame_idx),
        info,
        views.subject_choices(session, ui),
        views.prompt_info(ui, message),
        ui,
        *results,
    )


# -- 2. prompt -------------------------------------------------------------------------------------------------


@user_errors
def on_frame(frame_idx: int, state: dict):
    """The frame slider moved: show that frame and move the timeline cursor and the graph view to it."""
    stored = STORE.get(state["key"])
    session, graph = stored.data.get("session"), stored.data.get("graph")
    if session is None:
        return None, gr.update(), gr.update()
    frame_idx = min(max(int(frame_idx), 0), len(session.video) - 1)
    image = views.frame_view(session, graph, state, frame_idx)
    if graph is None:
        return image, gr.update(), gr.update()
    return image, timeline_figure(graph, frame_idx), graph_figure(graph, frame_idx)


@user_errors
def on_prev(frame_idx: int, state: dict):
    """The previous-frame button: the slider's new value (its change event redraws the frame)."""
    return max(int(frame_idx) - 1, 0)


@user_errors
def on_next(frame_idx: int, state: dict):
    """The next-frame button: the slider's new value (its change event redraws the frame)."""
    return min(int(frame_idx) + 1, len(_stored(state).data["session"].video) - 1)


@user_errors
def on_click_xy(x: float, y: float, positive: bool, frame_idx: int, mode: str, state: dict):
    """A click at working-frame pixel (x, y) of ``frame_idx`` (the image click, or its numeric API twin).

    ``mode``: "positive"/"negative" add a click to the current subject (``positive`` False also makes it
    negative), "box" takes two clicks as opposite corners, "add object" adds an object the discovery missed.
    """
    stored = _stored(state)
    session = stored.data["session"]
    video, frame_idx = session.video, int(frame_idx)
    if not (0 <= x < video.width and 0 <= y < video.height and 0 <= frame_idx < len(video)):
        raise PromptError(
            f"click ({x:g}, {y:g}) on frame {frame_idx} is outside the {video.width}x{video.height} "
            f"frames 0..{len(video) - 1}"
        )
    x_orig, y_orig = video.to_orig_xy(x, y)
    frame_orig, message = video.orig_index(frame_idx), ""
    subject_id = state["subject"] or session.next_id()
    earlier = [p for p in state["prompts"].get(subject_id, []) if video.work_index(p["frame_idx"]) == frame_idx]
    if mode == ADD_OBJECT:
        ui, message = _add_object(stored, state, Click(x_orig, y_orig, frame_idx=frame_orig))
    elif mode == BOX and not (state["corner"] and video.work_index(state["corner"][2]) == frame_idx):
        ui = dict(state, corner=[x_orig, y_orig, frame_orig])
    elif mode == BOX:
        (x0, y0, _), corner = state["corner"], (x_orig, y_orig)
        box = Box(min(x0, corner[0]), min(y0, corner[1]), max(x0, corner[0]), max(y0, corner[1]), frame_idx=frame_orig)
        ui = _set_prompts(stored, state, subject_id, [p for p in earlier if p["type"] == "click"] + [box.to_dict()])
    else:
        click = Click(x_orig, y_orig, frame_idx=frame_orig, positive=bool(positive) and mode != NEGATIVE)
        ui = _set_prompts(stored, state, subject_id, earlier + [click.to_dict()])
    return (
        views.frame_view(session, stored.data.get("graph"), ui, frame_idx),  # frame image
        views.subject_choices(session, ui),
        views.prompt_info(ui, message),
        ui,
    )  # selector, info, state


def on_image_select(mode: str, frame_idx: int, state: dict, evt: gr.SelectData):
    """The user clicked the frame image (``evt.index`` = pixel of the displayed working frame)."""
    x, y = evt.index
    return on_click_xy(float(x), float(y), True, frame_idx, mode, state)


def on_add_object_xy(x: float, y: float, frame_idx: int, state: dict):
    """API twin of an "add object" click at working-frame pixel (x, y)."""
    return on_click_xy(x, y, True, frame_idx, ADD_OBJECT, state)


@user_errors
def on_undo(frame_idx: int, state: dict):
    """Remove the current subject's last click or box (or a pending box corner)."""
    stored = _stored(state)
    if state["corner"]:
        ui = dict(state, corner=None)
    else:
        ui = _set_prompts(stored, state, state["subject"], state["prompts"].get(state["subject"], [])[:-1])
    return _prompt_outputs(stored, ui, frame_idx)


@user_errors
def on_clear(frame_idx: int, state: dict):
    """Remove every prompt of the current subject (and the subject with them)."""
    stored = _stored(state)
    return _prompt_outputs(stored, _set_prompts(stored, state, state["subject"], []), frame_idx)


@user_errors
def on_reset(frame_idx: int, state: dict):
    """Start over on the same video: no subjects, no objects, no results."""
    stored = _stored(state)
    with stored.lock:
        video = stored.data["session"].video
        stored.data.clear()
        stored.data["session"] = PIPELINE.open(video)
    ui = dict(new_state(), key=state["key"], video_name=state["video_name"])
    return (*_prompt_outputs(stored, ui, frame_idx), *views.no_results())


@user_errors
def on_subject(subject_id: int, frame_idx: int, state: dict):
    """The subject selector changed: later clicks go to that subject; show its prompt frame."""
    stored = _stored(state)
    ui = dict(state, subject=int(subject_id or views.NEW_SUBJECT), corner=None)
    prompts = ui["prompts"].get(ui["subject"])
    if prompts:
        frame_idx = stored.data["session"].video.work_index(prompts[0]["frame_idx"])
    image, _, info, ui = _prompt_outputs(stored, ui, frame_idx)
    return image, gr.update(value=frame_idx), info, ui


def on_class_pick(label: str | None):
    """An OpenPVSG class was picked: it becomes the text of the relabel box."""
    return label or ""


# -- 3./4./5. build, scene graph, corrections, export ----------------------------------------------------------


@user_errors
def on_build(frame_idx: int, state: dict, progress=gr.Progress()):
    """Track (both directions), discover, relate and export what is not up to date; an untouched example comes
    from the cache when a visitor built it before."""
    stored = _stored(state)
    session = stored.data["session"]
    if not session.subjects:
        raise PromptError("no subject yet: click on the subject in the frame (or draw a box) first")
    example = next((e for e in load_examples() if e.name == state["example"]), None)
    with stored.lock:
        own = stored.data["classes"] or stored.data["discovery"]  # the cache holds default-settings results only
        cached = CACHE.load(example, cache_key(), stored.folder) if example and not own else None
        if cached:
            stored.data["graph"], stored.data["paths"] = cached
        else:
            _build_and_export(stored, progress)
            if example and not own:
                CACHE.store(example, cache_key(), stored.data["paths"])
    return _result_outputs(stored, state, frame_idx)


def on_example_build(frame_idx: int, state: dict, progress=gr.Progress()):
    """Right after an example with a preset click loads: build at once (from the cache when it can)."""
    if not state["example"]:
        return tuple(gr.skip() for _ in range(len(views.no_results()) + 2))
    return on_build(frame_idx, state, progress)


@user_errors
def on_relabel(entity_id: int | None, label: str, frame_idx: int, state: dict, progress=gr.Progress()):
    """Give an entity a new label (free text or an OpenPVSG class); no tracking is redone."""
    stored = _stored(state)
    with stored.lock:
        _require_entity(stored, entity_id, progress)
        PIPELINE.relabel(stored.data["session"], int(entity_id), label or "")
        _build_and_export(stored, progress)
    return _result_outputs(stored, dict(state, example=None), frame_idx)


@user_errors
def on_drop(entity_id: int | None, frame_idx: int, state: dict, progress=gr.Progress()):
    """Drop a discovered or added object; it is not proposed again and nothing else is re-tracked."""
    stored = _stored(state)
    with stored.lock:
        entity = _require_entity(stored, entity_id, progress)
        if entity.is_subject:
            raise PromptError(f"#{entity.entity_id} is a subject: pick it under Subject and press Clear to remove it")
        PIPELINE.drop_object(stored.data["session"], entity.entity_id)
        _build_and_export(stored, progress)
    return _result_outputs(stored, dict(state, example=None), frame_idx)


@user_errors
def on_rename_predicate(
    relation: str | None, predicate: str | None, frame_idx: int, state: dict, progress=gr.Progress()
):
    """Correct a relation's predicate; look-alike pairs (here and in this tab's later videos) follow."""
    stored = _stored(state)
    if not relation or "graph" not in stored.data:
        raise PromptError("build the scene graph first, then pick a relation")
    if not (predicate or "").strip():
        raise PromptError("pick or type the right predicate")
    with stored.lock:
        PIPELINE.rename_predicate(stored.data["session"], *views.parse_relation_key(relation), predicate)
        _build_and_export(stored, progress)
    return _result_outputs(stored, dict(state, example=None), frame_idx)


@user_errors
def on_class_words(words: str, frame_idx: int, state: dict, progress=gr.Progress()):
    """Name entities with the user's own comma-separated words (empty: the OpenPVSG classes)."""
    stored = _stored(state)
    classes = [w for w in (words or "").split(",") if w.strip()] or None
    with stored.lock:
        PIPELINE.set_classes(stored.data["session"], classes)
        stored.data["classes"] = classes
        if "graph" not in stored.data:
            gr.Info("Words saved: the next build names entities with them.")
            return tuple(gr.skip() for _ in range(len(views.no_results()) + 2))
        _build_and_export(stored, progress)
    return _result_outputs(stored, dict(state, example=None), frame_idx)


@user_errors
def on_discovery(name: str, frame_idx: int, state: dict, progress=gr.Progress()):
    """Switch this tab's discovery strategy; objects are rediscovered (subject tracks are kept)."""
    if name not in STRATEGIES:
        raise PromptError(f"unknown discovery {name!r}; available here: {', '.join(STRATEGIES)}")
    stored = _stored(state)
    with stored.lock:
        PIPELINE.set_discovery(stored.data["session"], STRATEGIES[name])
        stored.data["discovery"] = None if STRATEGIES[name] is DISCOVER else name
        if "graph" not in stored.data:
            return tuple(gr.skip() for _ in range(len(views.no_results()) + 2))
        _build_and_export(stored, progress)
    return _result_outputs(stored, dict(state, example=None), frame_idx)


def on_unload(state: dict) -> None:
    """The tab's state is deleted: remove its server-side data and export folder."""
    STORE.close(state["key"])


# -- helpers ---------------------------------------------------------------------------------------------------


def _stored(state: dict):
    stored = STORE.get(state["key"])
    if "session" not in stored.data:
        raise Click2GraphError("open a video first (upload one or pick an example)")
    return stored


def _set_prompts(stored, state: dict, subject_id: int, prompts: list[dict]) -> dict:
    """Give ``subject_id`` exactly ``prompts`` (none: remove the subject); on a failed prompt keep the old ones."""
    session = stored.data["session"]
    old = state["prompts"].get(subject_id, [])
    with stored.lock:
        try:
            if prompts:
                PIPELINE.prompt_subject(session, [prompt_from_dict(p) for p in prompts], subject_id=subject_id)
            elif subject_id in session.subjects:
                PIPELINE.remove_subject(session, subject_id)
        except Click2GraphError:
            if old and subject_id not in session.subjects:
                PIPELINE.prompt_subject(session, [prompt_from_dict(p) for p in old], subject_id=subject_id)
            raise
        stored.data.pop("graph", None)
    all_prompts = {k: v for k, v in state["prompts"].items() if k != subject_id}
    if prompts:
        all_prompts[subject_id] = prompts
    subject = subject_id if prompts else (state["subject"] if state["subject"] in all_prompts else views.NEW_SUBJECT)
    return dict(state, subject=subject, prompts=all_prompts, corner=None, example=None)


def _add_object(stored, state: dict, click: Click) -> tuple[dict, str]:
    session = stored.data["session"]
    if state["subject"] not in session.subjects:
        raise PromptError("prompt a subject first: objects are added to the subject selected under Subject")
    with stored.lock:
        obj_id = PIPELINE.add_object(session, [click], subject_id=state["subject"])
        stored.data.pop("graph", None)
    return dict(state, example=None), f"Object #{obj_id} added: press **Build scene graph** to track it (only it)."


def _require_entity(stored, entity_id: int | None, progress):
    """The entity ``entity_id`` of the up-to-date graph (a cached example's session is tracked first)."""
    if entity_id is None or "graph" not in stored.data:
        raise PromptError("build the scene graph first, then pick an entity")
    if not stored.data["session"].subjects or any(
        not (r.tracked and r.discovered) for r in stored.data["session"].subjects.values()
    ):
        _build_and_export(stored, progress)
    graph = stored.data["graph"]
    if int(entity_id) not in {e.entity_id for e in graph.entities}:
        raise PromptError(
            f"entity #{entity_id} is not in the scene graph; entities: {[e.entity_id for e in graph.entities]}"
        )
    return graph.entity(int(entity_id))


def _build_and_export(stored, progress) -> None:
    session = stored.data["session"]
    graph = PIPELINE.build(session, progress=lambda f, d: progress(0.8 * f, desc=d))
    if not any(e.frames for e in graph.subjects):
        raise PromptError("nothing was tracked: click inside the subject (or draw a box around it) and build again")
    paths = export_all(graph, session.video, stored.folder, progress=lambda f, d: progress(0.8 + 0.2 * f, desc=d))
    stored.data.update(graph=graph, paths=paths)


def _prompt_outputs(stored, ui: dict, frame_idx: int) -> tuple:
    session = stored.data["session"]
    frame_idx = min(max(int(frame_idx), 0), len(session.video) - 1)
    return (
        views.frame_view(session, stored.data.get("graph"), ui, frame_idx),  # frame image
        views.subject_choices(session, ui),
        views.prompt_info(ui),
        ui,
    )  # subject selector, info, state


def _result_outputs(stored, ui: dict, frame_idx: int) -> tuple:
    session, graph = stored.data["session"], stored.data["graph"]
    frame_idx = min(max(int(frame_idx), 0), len(session.video) - 1)
    snippet = views.python_snippet(ui["video_name"], ui["prompts"])
    return (
        *views.results(graph, session.video.frames, stored.data["paths"], frame_idx, snippet),
        views.frame_view(session, graph, ui, frame_idx),
        ui,
    )  # frame image, state
