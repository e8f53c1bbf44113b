"""Event handlers: check the inputs, change the tab's visit, return an :class:`~demo.page.Update`.

The tab's ``gr.State`` holds only the key of its visit (None until it opens a video); the visit itself (video,
prompt history, pipeline session, result) lives in the process's :class:`~demo.server.Server`. Clicks change the
prompts and the preview under the visit's short lock; builds take turns in its queue and bring the pipeline session in
line with the prompts, so a click never waits for a build. A build runs in a worker thread while its event streams
the tracks so far to the page (:mod:`click2graph.build_stream`).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import math
import numbers
import time
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from click2graph.build_stream import BuildWatch, watch_build
from click2graph.errors import Click2GraphError, PromptError
from click2graph.examples import Example, load_examples
from click2graph.export import export_all
from click2graph.prompts import Box, Click
from click2graph.remote_build import BuildRequest
from click2graph.video import VideoPolicy, load_video
from demo import runtime, views
from demo.page import Update
from demo.server import current as server
from demo.visit import (
    Prompts,
    Result,
    Visit,
    apply_prompts,
    assign_shown_ids,
    internal_id,
    new_visit,
    renumbered,
    update_preview,
)

logger = logging.getLogger(__name__)

POSITIVE, NEGATIVE, BOX, ADD_OBJECT = "positive", "negative", "box", "add object"
CLICK_MODES = [POSITIVE, NEGATIVE, BOX, ADD_OBJECT]
MAX_LABEL_CHARS = 60  # an entity label or a predicate (OpenPVSG's longest class name has 17)
MAX_WORDS = 64  # own class words
MAX_WORDS_CHARS = 1000


def warm_up() -> None:
    """Embed the class prompts now (~7 s on 2 cores unless already on disk) rather than in the first user's build;
    ``app.py`` runs it in a background thread at launch."""
    classifier = server().pipeline.semantics.classifier
    if classifier is not None:
        started = time.perf_counter()
        classifier.label_embeddings()
        logger.info("class prompts embedded in %.1f s", time.perf_counter() - started)


def user_errors(handler):
    """Show library errors as one readable notice and anything unexpected as a short message, never a trace.

    The page keeps what it shows: an error returns no outputs, and events show their status on one panel only.
    A handler that streams its updates (a generator) is wrapped as one.
    """
    if inspect.isgeneratorfunction(handler):

        @functools.wraps(handler)
        def streamed(*args, **kwargs):
            with _readable_errors(handler.__name__):
                yield from handler(*args, **kwargs)

        return streamed

    @functools.wraps(handler)
    def wrapped(*args, **kwargs):
        with _readable_errors(handler.__name__):
            return handler(*args, **kwargs)

    return wrapped


@contextlib.contextmanager
def _readable_errors(name: str):
    try:
        yield
    except gr.Error:
        raise
    except Click2GraphError as exc:
        raise gr.Error(str(exc), print_exception=False) from None
    except Exception as exc:
        logger.exception("unexpected error in %s", name)
        raise gr.Error(
            f"Something went wrong ({type(exc).__name__}: {str(exc)[:200]}). Try again or reload the page.",
            print_exception=False,
        ) from None


def limits_text() -> str:
    return f"**Limits:** {server().policy.describe()} Uploads up to {server().limits.max_upload_mb} MB."


def example_names() -> list[str]:
    return [e.name for e in load_examples()]


def example_cards() -> list[tuple[str, str]]:
    """The example gallery: ``(thumbnail, title)`` per example, in :func:`load_examples` order."""
    return [(str(example_thumbnail(e)), e.title or e.name) for e in load_examples()]


def example_thumbnail(example: Example) -> Path:
    """The example's thumbnail, or one made from its first frame (grey when the clip cannot be read)."""
    if example.thumbnail is not None and example.thumbnail.is_file():
        return example.thumbnail
    path = runtime.run_dir() / "thumbs" / f"{example.name}.jpg"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            frame = load_video(example.path, VideoPolicy(max_duration_s=0.5, max_side=240)).frames[0]
        except Click2GraphError as exc:
            logger.warning("example %s: no thumbnail (%s)", example.name, exc)
            frame = np.full((135, 240, 3), 128, np.uint8)
        Image.fromarray(frame).save(path, quality=85)
    return path


# -- inputs ----------------------------------------------------------------------------------------------------


def number(value, name: str) -> float:
    """``value`` as a finite number, or a PromptError naming the field (API clients send anything)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):
        raise PromptError(f"{name} must be a number, got {_short(value)}")
    try:
        result = float(value)
    except ValueError:
        raise PromptError(f"{name} must be a number, got {_short(value)}") from None
    if not math.isfinite(result):
        raise PromptError(f"{name} must be a finite number, got {_short(value)}")
    return result


def text(value, name: str, max_chars: int) -> str:
    """``value`` as stripped text of at most ``max_chars`` characters, or a PromptError naming the field."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PromptError(f"{name} must be text, got {_short(value)}")
    if len(value) > max_chars:
        raise PromptError(f"{name} is too long ({len(value):,} characters; at most {max_chars})")
    return value.strip()


def _short(value) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def frame_of(visit: Visit, value) -> int:
    return views.clamp_frame(visit.video, round(number(value, "frame_idx")))


def visit_of(key) -> Visit:
    visit = server().store.get(key)
    if visit is None:
        raise PromptError("open a video first (upload one or pick an example); an idle page is closed after a while")
    return visit


# -- 1. video --------------------------------------------------------------------------------------------------


@user_errors
def on_video(path: str | None, key: str | None) -> Update:
    """A video was uploaded: decode it with the policy (trim/downsize, never reject) and show its first frame."""
    if not path:
        raise PromptError("no video received: upload a video file (mp4, webm, mov, ...)")
    return _open(str(path), key)


def _visit_maker(video, source: str):
    """What the store calls to make a tab's visit of ``video``: the tab's settings (own words, discovery strategy)
    carry over from its previous visit into the new pipeline session."""

    def make(key: str, folder: Path, previous: Visit | None) -> Visit:
        visit = new_visit(server().pipeline, key, folder, video, source, previous)
        if visit.settings.classes:
            server().pipeline.set_classes(visit.session, list(visit.settings.classes))
        if visit.settings.discovery:
            server().pipeline.set_discovery(visit.session, server().strategies[visit.settings.discovery])
        return visit

    return make


def _open(path: str, key: str | None, example: str | None = None, prompts: Prompts = Prompts()) -> Update:
    previous = server().store.get(key)
    if previous is not None and previous.busy:
        raise PromptError("your build is still running: wait for it to finish before opening another video")
    video = load_video(path, server().policy)  # a failure leaves the tab's visit as it was

    visit = server().store.open(key, _visit_maker(video, path))
    with visit.lock:
        if prompts.subjects:
            update_preview(server().pipeline, visit, prompts)
            visit.history, visit.subject, visit.example = [prompts], prompts.numbers[0], example
    frame_idx = video.work_index(prompts.subjects[0][1][0].frame_idx) if prompts.subjects else 0
    message = "Preset click applied: building the scene graph…" if prompts.subjects else ""
    return (
        views.no_results()
        .merged(views.prompt_update(visit, frame_idx, message))
        .merged(
            Update(
                key=visit.key,
                video_in=path,
                frame_slider=views.frame_slider(video, frame_idx),
                video_info=f"**Using:** {video.describe()}. " + " ".join(video.notes),
            )
        )
    )


@user_errors
def on_example(name, key: str | None) -> Update:
    """Open an example clip with its preset click (if it has one); the chained build follows."""
    example = next((e for e in load_examples() if e.name == name), None)
    if example is None:
        raise PromptError(f"unknown example {_short(name)}; examples: {', '.join(example_names())}")
    prompts = Prompts(((1, tuple(example.prompts)),)) if example.prompts else Prompts()
    return _open(str(example.path), key, example.name, prompts)


@user_errors
def on_example_select(key: str | None, evt: gr.SelectData) -> Update:
    """A card of the example gallery was picked."""
    examples = load_examples()
    if not (isinstance(evt.index, int) and 0 <= evt.index < len(examples)):
        raise PromptError("that example is no longer available: reload the page")
    return on_example(examples[evt.index].name, key)


def on_video_shown(shown: str | None, key: str | None) -> Update:
    """After an upload: a refused one is replaced by the visit's video (or nothing), so tab and server agree."""
    visit = server().store.get(key)
    source = visit.source if visit is not None else None
    return Update() if shown == source else Update(video_in=source)


# -- 2. prompt -------------------------------------------------------------------------------------------------


@user_errors
def on_frame(frame_idx, key: str | None) -> Update:
    """The frame slider moved: show that frame and move the timeline cursor and the graph view to it."""
    visit = server().store.get(key)
    if visit is None:
        return Update()
    frame_idx = frame_of(visit, frame_idx)
    with visit.lock:
        graph = visit.result.graph if visit.result is not None else None
        return Update(frame_image=views.frame_view(visit, frame_idx)).merged(views.graph_at(graph, frame_idx))


@user_errors
def on_prev(frame_idx, key: str | None) -> Update:
    """The ◀ button: the slider's new value (its change event redraws the frame)."""
    visit = visit_of(key)
    return Update(frame_slider=views.clamp_frame(visit.video, frame_of(visit, frame_idx) - 1))


@user_errors
def on_next(frame_idx, key: str | None) -> Update:
    """The ▶ button: the slider's new value (its change event redraws the frame)."""
    visit = visit_of(key)
    return Update(frame_slider=views.clamp_frame(visit.video, frame_of(visit, frame_idx) + 1))


@user_errors
def on_click_xy(x, y, positive, frame_idx, mode, key: str | None) -> Update:
    """A click at working-frame pixel (x, y) of ``frame_idx`` (the image click, or its numeric API twin).

    ``mode``: "positive"/"negative" add a click to the current subject (``positive`` False also makes it
    negative), "box" takes two clicks as opposite corners, "add object" adds an object the discovery missed.
    """
    visit = visit_of(key)
    x, y, frame_idx = number(x, "x"), number(y, "y"), frame_of(visit, frame_idx)
    if mode not in CLICK_MODES:
        raise PromptError(f"mode must be one of {', '.join(CLICK_MODES)}; got {_short(mode)}")
    video = visit.video
    if not (0 <= x < video.width and 0 <= y < video.height):
        raise PromptError(f"click ({x:g}, {y:g}) is outside the {video.width}x{video.height} frame")
    x_orig, y_orig = video.to_orig_xy(x, y)
    frame_orig = video.orig_index(frame_idx)
    with visit.lock:
        prompts, number_ = visit.prompts, visit.subject or visit.prompts.new_number()
        # a click on another frame than the subject's earlier ones corrects its track there; they are kept
        own = prompts.of(number_)
        other_frames = tuple(p for p in own if video.work_index(p.frame_idx) != frame_idx)
        same_frame = tuple(p for p in own if video.work_index(p.frame_idx) == frame_idx)
        message = ""
        if mode == ADD_OBJECT:
            if visit.subject not in prompts.numbers:
                raise PromptError("prompt a subject first: objects are added to the subject selected under Subject")
            new = prompts.with_object(visit.subject, Click(x_orig, y_orig, frame_idx=frame_orig))
            message = "Object added: press **Build scene graph** to track it (only it)."
        elif mode == BOX and not (visit.corner and video.work_index(visit.corner[2]) == frame_idx):
            visit.corner = (x_orig, y_orig, frame_orig)
            return views.prompt_update(visit, frame_idx)
        elif mode == BOX:
            (x0, y0, _), x1, y1 = visit.corner, x_orig, y_orig
            box = Box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1), frame_idx=frame_orig)
            clicks = tuple(p for p in same_frame if isinstance(p, Click))
            new = prompts.with_subject(number_, other_frames + clicks + (box,))
        else:
            click = Click(x_orig, y_orig, frame_idx=frame_orig, positive=bool(positive) and mode != NEGATIVE)
            new = prompts.with_subject(number_, other_frames + same_frame + (click,))
        masks = update_preview(server().pipeline, visit, new)
        visit.push(new)
        visit.corner, visit.example = None, None
        if mode != ADD_OBJECT:
            visit.subject = number_
            message = _tiny_mask_notice(masks.get(number_))
        return views.prompt_update(visit, frame_idx, message)


def _tiny_mask_notice(mask) -> str:
    if mask is None or mask.sum() >= 0.001 * mask.size:
        return ""
    return f"The mask is tiny ({int(mask.sum())} pixels): did the click land on the subject?"


@user_errors
def on_image_select(mode, frame_idx, key: str | None, evt: gr.SelectData) -> Update:
    """The user clicked the frame image (``evt.index`` = pixel of the image as sent, see views.display_scale)."""
    visit = server().store.get(key)
    if visit is not None and visit.streaming:  # the image shows some frame the build tracks, not frame_idx
        raise PromptError("the frame shows your build at work: click again when it has finished")
    scale = views.display_scale(visit.video) if visit is not None else 1.0
    x, y = evt.index
    return on_click_xy((x + 0.5) / scale - 0.5, (y + 0.5) / scale - 0.5, True, frame_idx, mode, key)


def on_add_object_xy(x, y, frame_idx, key: str | None) -> Update:
    """API twin of an "add object" click at working-frame pixel (x, y)."""
    return on_click_xy(x, y, True, frame_idx, ADD_OBJECT, key)


@user_errors
def on_undo(frame_idx, key: str | None) -> Update:
    """Take back the last prompt change (or a pending box corner)."""
    visit = visit_of(key)
    with visit.lock:
        if visit.corner:
            visit.corner = None
        elif len(visit.history) > 1:
            update_preview(server().pipeline, visit, visit.history[-2])
            visit.undo()
            if visit.subject not in visit.prompts.numbers:
                visit.subject = visit.prompts.numbers[-1] if visit.prompts.numbers else views.NEW_SUBJECT
        return _after_prompt_change(visit, frame_of(visit, frame_idx))


@user_errors
def on_clear(frame_idx, key: str | None) -> Update:
    """Remove the current subject (its clicks and the objects added to it)."""
    visit = visit_of(key)
    with visit.lock:
        new = visit.prompts.with_subject(visit.subject, ())
        update_preview(server().pipeline, visit, new)
        visit.push(new)
        visit.subject, visit.corner = views.NEW_SUBJECT, None
        return _after_prompt_change(visit, frame_of(visit, frame_idx))


@user_errors
def on_reset(frame_idx, key: str | None) -> Update:
    """Start over on the same video: no subjects, no objects, no results (own words and corrections stay)."""
    visit = visit_of(key)
    if visit.busy:
        raise PromptError("your build is still running: reset when it has finished")
    visit = server().store.open(key, _visit_maker(visit.video, visit.source))
    return views.no_results().merged(views.prompt_update(visit, frame_of(visit, frame_idx)))


@user_errors
def on_subject(subject, frame_idx, key: str | None) -> Update:
    """The subject selector changed: later clicks go to that subject; show its prompted frame nearest the one shown
    (the one shown when it has prompts there)."""
    visit = visit_of(key)
    with visit.lock:
        chosen = int(number(subject if subject is not None else views.NEW_SUBJECT, "subject"))
        visit.subject = chosen if chosen in visit.prompts.numbers else views.NEW_SUBJECT
        visit.corner = None
        shown = frame_of(visit, frame_idx)
        prompted = {visit.video.work_index(p.frame_idx) for p in visit.prompts.of(visit.subject)}
        frame_idx = min(prompted, key=lambda t: (abs(t - shown), t)) if prompted else shown
        return views.prompt_update(visit, frame_idx).merged(
            Update(frame_slider=views.frame_slider(visit.video, frame_idx))
        )


def on_class_pick(label: str | None):
    """An OpenPVSG class was picked: it becomes the text of the relabel box."""
    return label or ""


def _after_prompt_change(visit: Visit, frame_idx: int) -> Update:
    update = views.prompt_update(visit, frame_idx)
    if visit.result is not None and not visit.outdated:  # undo back to the built prompts: the result is current
        update = update.merged(views.result_update(visit, frame_idx))
    return update


# -- 3./4./5. build, scene graph, corrections, export ----------------------------------------------------------


@user_errors
def on_build(frame_idx, key: str | None, progress=gr.Progress()) -> Iterator[Update]:
    """Track (both directions), discover, relate and export what is not up to date, showing the tracks as they
    grow (:func:`views.partial_update`, at most every ``build_stream.STREAM_INTERVAL_S``), then the result.
    Prompts unchanged since the last build: the result as it is. An untouched example: from the cache when a
    visitor built it before."""
    visit = visit_of(key)
    frame_idx = frame_of(visit, frame_idx)
    target = visit.prompts
    if not target.subjects:
        raise PromptError("no subject yet: click on the subject in the frame (or draw a box) first")
    if visit.result is None or visit.built != target:
        watch, streamed = BuildWatch(visit.session), False
        try:
            for partial, status in watch_build(lambda: _build_or_load(visit, target, watch), watch, progress):
                visit.streaming = streamed = True
                yield views.partial_update(visit, partial, status)
        except Exception:
            if streamed:  # the page shows a build that failed: back to what the visit holds
                yield views.prompt_update(visit, frame_idx).merged(views.result_update(visit, frame_idx))
            raise
        finally:
            if streamed:  # (a build refused because another one runs streams nothing and leaves the flag alone)
                visit.streaming = False
    yield views.result_update(visit, frame_idx)


def _build_or_load(visit: Visit, target: Prompts, watch: BuildWatch) -> None:
    """The build thread's work: wait for a turn, then the example's cached result or a build of ``target``."""
    with _building(visit, watch.progress):
        example = next((e for e in load_examples() if e.name == visit.example), None)
        own = visit.settings.classes or visit.settings.discovery  # the cache holds default-settings results only
        cached = server().cache.load(example, server().cache_key(), visit.folder) if example and not own else None
        if cached:
            graph, paths = cached
            visit.result, visit.built = Result(graph, paths, cached=True), target
        else:
            (_build_on_gpu if server().gpu is not None else _build)(visit, target, watch)
            if example and not own and visit.example == example.name:
                server().cache.store(example, server().cache_key(), visit.result.paths)


def on_example_build(frame_idx, key: str | None, progress=gr.Progress()) -> Iterator[Update]:
    """Right after an example with a preset click opens: build at once (from the cache when it can)."""
    visit = server().store.get(key)
    if visit is None or not visit.example or not visit.prompts.subjects:
        yield Update()
        return
    yield from on_build(frame_idx, key, progress)


@user_errors
def on_relabel(entity_id, label, frame_idx, key: str | None, progress=gr.Progress()) -> Update:
    """Give an entity a new label (free text or an OpenPVSG class); nothing is tracked again."""
    visit = visit_of(key)
    label = text(label, "the label", MAX_LABEL_CHARS)
    if not label:
        raise PromptError("a label cannot be empty")
    with _editing(visit, progress) as (graph, held):
        shown = _entity_id(graph, entity_id)
        visit.labels[shown] = label
        if held:
            server().pipeline.relabel(visit.session, internal_id(visit, shown), label)
        else:
            graph.relabel(shown, label)
    return views.result_update(visit, frame_of(visit, frame_idx))


@user_errors
def on_drop(entity_id, frame_idx, key: str | None, progress=gr.Progress()) -> Update:
    """Drop a discovered or added object; it is not proposed again and nothing else is tracked again."""
    visit = visit_of(key)
    with _editing(visit, progress) as (graph, held):
        shown = _entity_id(graph, entity_id)
        entity = graph.entity(shown)
        if entity.is_subject:
            raise PromptError(f"#{shown} is a subject: pick it under Subject and press Clear to remove it")
        if held:
            server().pipeline.drop_object(visit.session, internal_id(visit, shown))
        else:  # a cached result: the session learns the object's masks so a later build does not propose it
            visit.session.dropped[visit.session.next_id()] = dict(entity.masks)
            graph.drop_entity(shown)
    return views.result_update(visit, frame_of(visit, frame_idx))


@user_errors
def on_rename_predicate(relation, predicate, frame_idx, key: str | None, progress=gr.Progress()) -> Update:
    """Correct a relation's predicate; look-alike pairs (here and in this tab's later videos) follow."""
    visit = visit_of(key)
    new = text(predicate, "the predicate", MAX_LABEL_CHARS)
    if not new:
        raise PromptError("pick or type the right predicate")
    with _editing(visit, progress) as (graph, held):
        subject_id, object_id, old = _relation(graph, relation)
        visit.renamed[(subject_id, object_id, old)] = new
        if held:
            server().pipeline.rename_predicate(
                visit.session, internal_id(visit, subject_id), internal_id(visit, object_id), old, new
            )
        else:
            _rename_in_graph(graph, (subject_id, object_id, old), new)
    return views.result_update(visit, frame_of(visit, frame_idx))


@user_errors
def on_class_words(words, frame_idx, key: str | None, progress=gr.Progress()) -> Iterator[Update]:
    """Name entities with the user's own comma-separated words (empty: the OpenPVSG classes)."""
    visit = visit_of(key)
    semantics = server().pipeline.semantics
    if semantics.classifier is None:
        raise PromptError(f"own class names need the CLIP model, which this server does not have ({semantics.notice})")
    words = text(words, "the class words", MAX_WORDS_CHARS)
    classes = [w.strip() for w in words.split(",") if w.strip()]
    if len(classes) > MAX_WORDS or any(len(w) > MAX_LABEL_CHARS for w in classes):
        raise PromptError(f"give at most {MAX_WORDS} words of at most {MAX_LABEL_CHARS} characters each")
    with visit.lock:
        server().pipeline.set_classes(visit.session, classes or None)
        visit.settings.classes = tuple(classes) or None
    yield from _rebuild_if_shown(visit, frame_of(visit, frame_idx), progress, "Words saved: the next build uses them.")


@user_errors
def on_discovery(name, frame_idx, key: str | None, progress=gr.Progress()) -> Iterator[Update]:
    """Switch this tab's discovery strategy; objects are rediscovered (subject tracks are kept)."""
    strategies = server().strategies
    if name not in strategies:
        raise PromptError(f"unknown discovery {_short(name)}; available here: {', '.join(strategies)}")
    visit = visit_of(key)
    with visit.lock:
        server().pipeline.set_discovery(visit.session, strategies[name])
        visit.settings.discovery = None if strategies[name] is server().pipeline.discover else name
    yield from _rebuild_if_shown(visit, frame_of(visit, frame_idx), progress, "The next build discovers objects anew.")


def on_unload(key: str | None) -> None:
    """The tab's state is deleted: remove its visit and export folder."""
    server().store.close(key)


# -- helpers ---------------------------------------------------------------------------------------------------


class _building:
    """Context of a build: wait for a turn (reporting the builds ahead), hold the visit's build lock, mark the
    visit busy (never removed to make room meanwhile)."""

    def __init__(self, visit: Visit, progress) -> None:
        self.visit, self.progress = visit, progress

    def _waiting(self, ahead: int) -> None:
        self.progress(0.0, desc=f"waiting: {_builds(ahead)} ahead of yours")

    def __enter__(self):
        if not self.visit.build_lock.acquire(blocking=False):
            raise PromptError("your build is already running: its result will show here when it is done")
        self.visit.building += 1
        self._turn = server().builds.turn(self._waiting)
        try:
            self._turn.__enter__()
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc_info):
        try:
            self._turn.__exit__(*exc_info)
        finally:
            self._release()

    def _release(self):
        self.visit.building -= 1
        self.visit.last_used = time.monotonic()
        self.visit.build_lock.release()


class Eta:
    """Reports ``(fraction, what is happening)`` to a progress display, with an estimate of the time left once
    there is enough to go on."""

    def __init__(self, progress) -> None:
        self.progress, self.started = progress, time.monotonic()

    def __call__(self, fraction: float, desc: str) -> None:
        elapsed = time.monotonic() - self.started
        if 0.05 < fraction < 1 and elapsed > 2:
            desc = f"{desc} · about {elapsed * (1 - fraction) / fraction:.0f} s left"
        self.progress(fraction, desc=desc)


def _builds(n: int) -> str:
    return "1 build" if n == 1 else f"{n} builds"


class _editing(_building):
    """Context of a correction to the shown result: yields ``(graph, held)``; ``held`` means the pipeline session
    holds the result (a corrected graph is assembled again from it), otherwise the shown graph is edited in place.
    Both export the corrected result."""

    def __enter__(self):
        if self.visit.result is None:
            raise PromptError("build the scene graph first, then pick an entity or a relation")
        super().__enter__()
        self.started = time.perf_counter()
        result = self.visit.result
        self.held = not (result.cached or result.remote) and self.visit.applied == self.visit.built
        return self.visit.result.graph, self.held

    def __exit__(self, exc_type, *rest):
        try:
            if exc_type is None:
                visit = self.visit
                if self.held:
                    graph = _shown_graph(visit, server().pipeline.build(visit.session))
                else:
                    graph = visit.result.graph
                result = visit.result
                _export(visit, graph, Eta(self.progress), self.started, visit.built, result.cached, result.remote)
        finally:
            super().__exit__(exc_type, *rest)


def _build(visit: Visit, target: Prompts, watch: BuildWatch) -> None:
    """Bring the session in line with ``target``, track what changed, and keep the result with shown ids."""
    started = time.perf_counter()
    with visit.lock:
        apply_prompts(server().pipeline, visit, target)
    report = Eta(watch.progress)
    graph = server().pipeline.build(visit.session, progress=lambda f, d: report(0.8 * f, d), on_step=watch.on_step)
    if not any(e.frames for e in graph.subjects):
        raise PromptError("nothing was tracked: click inside the subject (or draw a box around it) and build again")
    shown = _shown_graph(visit, graph)
    if _carry_corrections(visit):  # labels of entities found again under new pipeline ids change the graph
        shown = renumbered(server().pipeline.graph(visit.session), visit.shown_ids)
    _export(visit, shown, report, started, target)


def _build_on_gpu(visit: Visit, target: Prompts, watch: BuildWatch) -> None:
    """Build ``target`` afresh as one GPU call (:mod:`demo.gpu`), showing the tracks it sends back as they grow; the
    visitor's labels and predicate corrections are applied to the graph it returns (by the ids shown)."""
    started = time.perf_counter()
    report = Eta(watch.progress)
    tab = visit.settings
    request = BuildRequest(
        visit.video,
        server().gpu.settings,
        target.subjects,
        target.objects,
        tuple(visit.session.dropped.values()),
        tab.classes,
        tab.discovery,
        tab.memory,
    )
    graph = None
    for update in server().gpu.stream(request):
        report(0.8 * update.fraction, update.status)
        if update.partial is not None:
            watch.show(update.partial)
        graph = update.graph or graph
    if graph is None or not any(e.frames for e in graph.subjects):
        raise PromptError("nothing was tracked: click inside the subject (or draw a box around it) and build again")
    visit.shown_ids = assign_shown_ids(graph, {}, visit.result.graph if visit.result else None)
    shown = renumbered(graph, visit.shown_ids)
    present = {e.entity_id for e in shown.entities}
    for entity_id, label in visit.labels.items():
        if entity_id in present:
            shown.relabel(entity_id, label)
    for key, new in visit.renamed.items():
        _rename_in_graph(shown, key, new)
    _export(visit, shown, report, started, target, remote=True)


def _rename_in_graph(graph, key: tuple[int, int, str], new: str) -> None:
    """Give the relations ``(subject, object, predicate)`` of ``graph`` the predicate ``new`` (the user's)."""
    for r in graph.relations:
        if (r.subject_id, r.object_id, r.predicate) == key:
            r.predicate, r.sources = new, ["user"]


def _shown_graph(visit: Visit, graph):
    """``graph`` (pipeline ids) with the ids shown to the visitor, kept from the shown result where it can."""
    visit.shown_ids = assign_shown_ids(graph, visit.shown_ids, visit.result.graph if visit.result else None)
    return renumbered(graph, visit.shown_ids)


def _carry_corrections(visit: Visit) -> bool:
    """Give the session the visitor's labels and predicate corrections of entities found again under new pipeline
    ids; True when something had to be carried over."""
    session, changed = visit.session, False
    for shown, label in visit.labels.items():
        pipeline_id = internal_id(visit, shown)
        if pipeline_id is not None and session.labels.get(pipeline_id) != label:
            session.labels[pipeline_id] = label
            changed = True
    for (subject, obj, predicate), new in visit.renamed.items():
        key = (internal_id(visit, subject), internal_id(visit, obj), predicate)
        if None not in key and session.renamed.get(key) != new:
            session.renamed[key] = new
            changed = True
    return changed


def _export(
    visit: Visit, graph, report, started: float, built: Prompts, cached: bool = False, remote: bool = False
) -> None:
    paths = export_all(graph, visit.video, visit.folder, progress=lambda f, d: report(0.8 + 0.2 * f, d))
    visit.result = Result(graph, paths, seconds=time.perf_counter() - started, cached=cached, remote=remote)
    visit.built = built


def _rebuild_if_shown(visit: Visit, frame_idx: int, progress, message: str) -> Iterator[Update]:
    if visit.result is None:
        gr.Info(message)
        yield Update()
        return
    visit.built = None  # the result no longer matches the settings: build again
    yield from on_build(frame_idx, visit.key, progress)


def _entity_id(graph, value) -> int:
    if value is None:
        raise PromptError("pick an entity first")
    entity_id = int(number(value, "entity"))
    if entity_id not in {e.entity_id for e in graph.entities}:
        raise PromptError(
            f"entity #{entity_id} is not in the scene graph; entities: {[e.entity_id for e in graph.entities]}"
        )
    return entity_id


def _relation(graph, value) -> tuple[int, int, str]:
    if not value:
        raise PromptError("pick a relation first")
    parts = str(value).split("|", 2)
    key = (int(number(parts[0], "relation")), int(number(parts[1], "relation")), parts[2]) if len(parts) == 3 else None
    if key is None or key not in {(r.subject_id, r.object_id, r.predicate) for r in graph.relations}:
        raise PromptError(f"there is no relation {_short(value)} in the scene graph")
    return key
