"""The demo's event handlers, called directly, on the bundled examples with an oracle segmenter (fast, exact).

The oracle reads the synthetic clip's label maps, so these tests check the visitor's paths (prompts, builds,
edits, undo, reset, caching, errors) and what each step re-tracks, not segmentation quality.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from demo_server import use_private_server
from oracle import OracleSegmenter
from pycocotools import mask as coco_mask

gr = pytest.importorskip("gradio")

from click2graph import synth
from click2graph.examples import EXAMPLES_ENV, load_examples
from click2graph.pipeline import Pipeline
from click2graph.video import write_video
from click2graph.viz import FRAME_MARKER_NAME, entity_color
from demo import handlers, server, views
from demo.page import FIELDS, SKIP, Update
from demo.visit import renumbered

CLIP = "ball_touch"  # subject = label 1 (a person), the ball = label 2


def no_progress(fraction, desc=None):
    """Stands in for gr.Progress outside a running app."""


class Recorder:
    """Wraps the oracle's ``propagate`` and records the object ids of every call (what was (re-)tracked)."""

    def __init__(self, segmenter: OracleSegmenter) -> None:
        self.calls: list[list[int]] = []
        self._propagate = segmenter.propagate
        segmenter.propagate = self

    def __call__(self, state, *, obj_ids=None, reverse=False):
        self.calls.append(sorted(obj_ids if obj_ids is not None else state.obj_ids))
        return self._propagate(state, obj_ids=obj_ids, reverse=reverse)


@pytest.fixture(scope="module")
def clip():
    return synth.render_clip(CLIP)


@pytest.fixture()
def app(clip, tmp_path, monkeypatch):
    """The handlers with an oracle pipeline, a private visit store, example cache and build queue."""
    segmenter = OracleSegmenter(clip.labels)
    recorder = Recorder(segmenter)
    use_private_server(monkeypatch, tmp_path, Pipeline(segmenter))
    return recorder


def pixel_of(clip, label: int, frame: int = 0) -> tuple[float, float]:
    """A pixel well inside ``label`` on ``frame`` (working = original pixels for the examples)."""
    ys, xs = np.nonzero(clip.labels[frame] == label)
    k = np.argmin((xs - xs.mean()) ** 2 + (ys - ys.mean()) ** 2)
    return float(xs[k]), float(ys[k])


def example_prompts() -> tuple:
    return tuple(next(e for e in load_examples() if e.name == CLIP).prompts)


def open_example(key=None) -> tuple[Update, str]:
    update = handlers.on_example(CLIP, key)
    return update, update.key


def final(updates) -> Update:
    """The last update of a streaming handler (what the page shows when it is done)."""
    *_, last = updates
    return last


def build(key: str, frame: int = 0) -> Update:
    return final(handlers.on_build(frame, key, progress=no_progress))


def visit_of(key: str):
    return server.current().store.get(key)


def click(key, xy, mode="positive", frame=0) -> Update:
    return handlers.on_click_xy(xy[0], xy[1], mode != "negative", frame, mode, key)


def test_example_opens_with_its_preset_click_and_builds(app, clip):
    update, key = open_example()
    frame = visit_of(key).video.frames[0]
    assert Path(update.video_in).name == f"{CLIP}.mp4" and "working frames" in update.video_info
    assert update.frame_slider["maximum"] == len(clip.frames) - 1  # the whole clip can be scrubbed
    # the preset click's mask is drawn at once, in the subject's colour, away from the click marker
    scale = views.display_scale(visit_of(key).video)  # the prompt frame is sent larger than the working frame
    assert update.frame_image.shape[:2] == (round(frame.shape[0] * scale), round(frame.shape[1] * scale))
    ys, xs = np.nonzero(clip.labels[0] == 1)
    far = np.argmax((xs - 113) ** 2 + (ys - 143) ** 2)
    shown = update.frame_image[int((ys[far] + 0.5) * scale), int((xs[far] + 0.5) * scale)]
    drawn, original = shown.astype(int), frame[ys[far], xs[far]].astype(int)
    assert np.abs(drawn - original).sum() > 40  # the mask fill changed the pixel
    colour = np.asarray(entity_color(1), float)
    assert np.linalg.norm(drawn - colour) < np.linalg.norm(original - colour)  # towards the subject's colour
    background = update.frame_image[2, 2].astype(int)  # a corner far from any mask is untouched
    assert np.abs(background - frame[2, 2].astype(int)).sum() < 25
    assert visit_of(key).prompts.of(1) == tuple(example_prompts()) and visit_of(key).example == CLIP

    update = build(key, frame=5)
    assert Path(update.overlay).suffix == ".mp4" and Path(update.overlay).stat().st_size > 0
    timeline = update.timeline
    assert timeline.data and any(s.name == FRAME_MARKER_NAME and s.x0 == 5 for s in timeline.layout.shapes)
    assert update.graph_plot.data and update.entity_table[0][:2] == [1, "subject"]
    assert len(update.entity_gallery) == len(update.entity_table)
    names = {Path(f).name for f in update.downloads}
    assert names == {"scene_graph.json", "masks_coco.json", "overlay.mp4", "timeline.html"}
    graph_json = json.loads(next(Path(f) for f in update.downloads if f.endswith("scene_graph.json")).read_text())
    assert graph_json["relations"] and all(Path(f).parent == visit_of(key).folder for f in update.downloads)
    assert graph_json["video_path"] == f"{CLIP}.mp4"  # the file name, never the server's path
    assert graph_json["click2graph"]["video"]["source"] == f"{CLIP}.mp4"
    assert "prompt_subject(session, [Click(" in update.snippet and "up to date" in update.build_status

    update = handlers.on_frame(20, key)  # the slider moves: cursor and graph follow
    assert any(s.name == FRAME_MARKER_NAME and s.x0 == 20 for s in update.timeline.layout.shapes)


def test_click_negative_undo_clear(app, clip):
    _, key = open_example()
    handlers.on_clear(0, key)
    assert visit_of(key).prompts.subjects == ()  # clear removes the subject with its clicks
    update = click(key, pixel_of(clip, 1))
    assert visit_of(key).prompts.numbers == [1] and "1 positive / 0 negative" in update.prompt_info
    click(key, pixel_of(clip, 2), "negative")
    assert [p.positive for p in visit_of(key).prompts.of(1)] == [True, False]
    handlers.on_undo(0, key)
    assert [p.positive for p in visit_of(key).prompts.of(1)] == [True]
    update = handlers.on_undo(0, key)
    assert visit_of(key).prompts.subjects == () and update.build_button["interactive"] is False


def test_box_mode_takes_two_corners(app, clip):
    _, key = open_example()
    handlers.on_clear(0, key)
    ys, xs = np.nonzero(clip.labels[0] == 1)
    click(key, (xs.min() - 2, ys.min() - 2), "box")
    assert visit_of(key).corner and not visit_of(key).prompts.subjects  # first corner only: nothing segmented yet
    update = click(key, (xs.max() + 2, ys.max() + 2), "box")
    visit = visit_of(key)
    assert visit.corner is None and type(visit.prompts.of(1)[0]).__name__ == "Box" and "a box" in update.prompt_info


class ForgetfulOracle(OracleSegmenter):
    """The oracle, but it loses every object more than ``reach`` frames away from the prompt it tracks from."""

    def __init__(self, labels, reach: int) -> None:
        super().__init__(labels)
        self.reach = reach

    def propagate(self, state, *, obj_ids=None, reverse=False):
        for t, ids, masks in super().propagate(state, obj_ids=obj_ids, reverse=reverse):
            for mask, i in zip(masks, ids):
                frames = state.track(i).prompt_frames
                origin = min(f for f in frames if f >= t) if reverse else max(f for f in frames if f <= t)
                if abs(t - origin) > self.reach:
                    mask[:] = False
                    state.track(i).set_mask(t, mask)
            yield t, ids, masks


def test_a_click_on_a_frame_where_the_subject_was_lost_corrects_its_track(clip, tmp_path, monkeypatch):
    """The result says where the subject has no mask; a click there adds a prompt on that frame (the first
    frame's stay) and the rebuild tracks from both, joined where the two tracks last agree. Picking the subject
    again shows its prompted frame nearest the one shown."""
    use_private_server(monkeypatch, tmp_path, Pipeline(ForgetfulOracle(clip.labels, reach=6)))
    _, key = open_example()
    update = build(key)
    assert update.entity_table[0][-1] == "7-47"
    assert "has no mask on working frames 7-47" in update.build_status
    update = click(key, pixel_of(clip, 1, frame=20), frame=20)
    assert [p.frame_idx for p in visit_of(key).prompts.of(1)] == [0, 20]
    assert "on working frames 0, 20" in update.prompt_info and "Outdated" in update.build_status
    update = build(key, frame=20)
    assert update.entity_table[0][-1] == "7-13, 27-47"  # both tracks are empty on 7-13: there they last agree
    for shown, prompted in ((18, 20), (4, 0), (0, 0)):
        assert handlers.on_subject(1, shown, key).frame_slider["value"] == prompted
    assert "has no mask on working frames 7-13, 27-47" in update.build_status
    with pytest.raises(gr.Error, match="segmented nothing there on working frame 30"):
        click(key, (2, 2), frame=30)  # background on a third frame: refused, the two frames' prompts stay
    assert [p.frame_idx for p in visit_of(key).prompts.of(1)] == [0, 20]
    assert all(visit_of(key).preview.mask(1, t).any() for t in (0, 20))
    update = handlers.on_undo(20, key)
    assert [p.frame_idx for p in visit_of(key).prompts.of(1)] == [0] and "Outdated" in update.build_status
    assert "has no mask on working frames 7-47" in build(key).build_status


def test_corrections_update_the_graph_without_retracking(app, clip):
    _, key = open_example()
    build(key)
    tracked_before = len(app.calls)
    update = handlers.on_relabel(1, "adult", 0, key, progress=no_progress)
    assert update.entity_table[0][1] == "adult" and update.entity_table[0][3] == "user"
    assert any("adult" in str(bar.y[0]) for bar in update.timeline.data)  # the lanes use the new label
    assert len(app.calls) == tracked_before  # a relabel re-tracks nothing

    ball = next(r[0] for r in update.entity_table if r[5] == "discovered")
    update = handlers.on_drop(ball, 0, key, progress=no_progress)
    assert ball not in [r[0] for r in update.entity_table] and len(app.calls) == tracked_before

    update = handlers.on_add_object_xy(*pixel_of(clip, 2), 0, key)
    assert "added" in update.prompt_info and "Outdated" in update.build_status
    rows = build(key).entity_table
    added = next(r[0] for r in rows if r[5] == "added by click")
    assert {i for call in app.calls[tracked_before:] for i in call} == set(visit_of(key).added_ids.values())
    assert rows[0][1] == "adult" and added == 2  # the label stays; ids shown stay dense


def test_undo_back_to_the_built_prompts_reuses_the_result(app, clip):
    _, key = open_example()
    build(key)
    handlers.on_relabel(2, "ball", 0, key, progress=no_progress)
    tracked = len(app.calls)
    update = click(key, pixel_of(clip, 2), "negative")
    assert "Outdated" in update.build_status  # the panels say they predate the edit
    update = handlers.on_undo(0, key)
    assert "up to date" in update.build_status and update.entity_table[1][1] == "ball"
    update = build(key)
    assert len(app.calls) == tracked and [r[:2] for r in update.entity_table] == [[1, "subject"], [2, "ball"]]


def test_a_rebuild_keeps_the_ids_and_labels_of_what_it_finds_again(app, clip):
    _, key = open_example()
    build(key)
    handlers.on_relabel(2, "ball", 0, key, progress=no_progress)
    handlers.on_relabel(1, "adult", 0, key, progress=no_progress)
    click(key, pixel_of(clip, 1, frame=0)[:1] + (pixel_of(clip, 1)[1] + 10,))  # a second click: re-track, rediscover
    update = build(key)
    assert visit_of(key).session.subjects[1].prompts and len(visit_of(key).prompts.of(1)) == 2
    assert [r[:2] for r in update.entity_table] == [[1, "adult"], [2, "ball"]]  # same ids, labels kept
    graph_json = json.loads(next(Path(f) for f in update.downloads if f.endswith("scene_graph.json")).read_text())
    assert {o["object_id"]: o["category"] for o in graph_json["objects"]} == {1: "adult", 2: "ball"}


def test_relabel_after_a_cached_example_tracks_nothing(app):
    _, first = open_example()
    files = build(first).downloads
    tracked = len(app.calls)
    _, second = open_example()
    update = build(second)
    assert len(app.calls) == tracked and "cache" in update.build_status  # served from the cache
    assert Path(update.downloads[0]).read_text() == Path(files[0]).read_text()
    assert Path(update.downloads[0]).parent == visit_of(second).folder
    update = handlers.on_relabel(1, "adult", 0, second, progress=no_progress)
    assert update.entity_table[0][1] == "adult" and len(app.calls) == tracked  # still nothing tracked
    ball = next(r[0] for r in update.entity_table if r[5] == "discovered")
    update = handlers.on_drop(ball, 0, second, progress=no_progress)
    assert ball not in [r[0] for r in update.entity_table] and len(app.calls) == tracked


def test_a_second_subject_on_a_discovered_object_promotes_it(app, clip):
    _, key = open_example()
    build(key)
    handlers.on_subject(views.NEW_SUBJECT, 0, key)
    update = click(key, pixel_of(clip, 2))
    assert "Subject 2" in update.prompt_info and update.subject_pick["choices"][1] == ("subject 2", 2)
    tracked = len(app.calls)
    update = build(key)
    rows = update.entity_table
    assert [(r[0], r[5]) for r in rows] == [(1, "subject"), (2, "subject")]  # the ball, now a subject, kept id 2
    assert 1 not in {i for call in app.calls[tracked:] for i in call}  # the first subject is not re-tracked
    pairs = [tuple(key.split("|")[:2]) for _, key in update.relation_pick["choices"]]
    assert len(pairs) == len(set(zip(pairs, [k for _, k in update.relation_pick["choices"]])))  # no duplicates
    assert ("1", "2") in pairs


def test_second_subject_adds_its_subgraph_with_dense_names(app, clip):
    _, key = open_example()
    handlers.on_clear(0, key)
    click(key, pixel_of(clip, 1))
    handlers.on_subject(views.NEW_SUBJECT, 0, key)
    update = click(key, pixel_of(clip, 2))
    assert visit_of(key).prompts.numbers == [1, 2] and "Subject 2" in update.prompt_info
    rows = build(key).entity_table
    assert sorted(r[0] for r in rows) == list(range(1, len(rows) + 1))  # ids shown are 1..N


def test_reset_then_click_then_build(app, clip):
    _, key = open_example()
    build(key)
    update = handlers.on_reset(0, key)
    assert update.entity_table == [] and update.overlay is None and visit_of(key).prompts.subjects == ()
    click(key, pixel_of(clip, 1))
    update = build(key)
    assert update.entity_table[0][:2] == [1, "subject"] and "up to date" in update.build_status


def test_one_frame_clip_builds_and_keeps_a_usable_slider(app, tmp_path, clip, monkeypatch):
    path = tmp_path / "still.mp4"
    write_video(path, clip.frames[:1], clip.fps)
    use_private_server(monkeypatch, tmp_path, Pipeline(OracleSegmenter(clip.labels[:1])))
    update = handlers.on_video(str(path), None)
    slider = update.frame_slider
    assert slider["minimum"] < slider["maximum"] and slider["value"] == 0 and slider["interactive"] is False
    click(update.key, pixel_of(clip, 1))
    update = build(update.key)
    assert update.entity_table[0][:2] == [1, "subject"] and update.entity_table[0][-2:] == [1, ""]


def test_a_refused_video_leaves_the_visit_as_it_was(app, tmp_path):
    update, key = open_example()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(gr.Error, match="re-encode"):
        handlers.on_video(str(bad), key)
    assert visit_of(key).source.endswith(f"{CLIP}.mp4")  # the server kept the video the tab shows
    assert handlers.on_video_shown(str(bad), key).video_in == visit_of(key).source  # and the input shows it again
    assert handlers.on_video_shown(visit_of(key).source, key).video_in is SKIP


def test_errors_are_readable_messages(app, clip):
    with pytest.raises(gr.Error, match="open a video first"):
        handlers.on_click_xy(10, 10, True, 0, "positive", None)
    _, key = open_example()
    handlers.on_clear(0, key)
    with pytest.raises(gr.Error, match="outside"):
        handlers.on_click_xy(5000, 10, True, 0, "positive", key)
    with pytest.raises(gr.Error, match="segmented nothing"):
        handlers.on_click_xy(2, 2, True, 0, "positive", key)  # background: the oracle finds nothing
    assert visit_of(key).prompts.subjects == ()  # a refused click leaves no trace
    with pytest.raises(gr.Error, match="no subject yet"):
        build(key)
    with pytest.raises(gr.Error, match="prompt a subject first"):
        handlers.on_add_object_xy(*pixel_of(clip, 2), 0, key)
    with pytest.raises(gr.Error, match="build the scene graph first"):
        handlers.on_relabel(1, "adult", 0, key, progress=no_progress)
    _, key = open_example(key)
    build(key)
    with pytest.raises(gr.Error, match="is a subject"):
        handlers.on_drop(1, 0, key, progress=no_progress)
    with pytest.raises(gr.Error, match="label cannot be empty"):
        handlers.on_relabel(1, "  ", 0, key, progress=no_progress)
    with pytest.raises(gr.Error, match="CLIP"):  # own words need a model this server does not have
        final(handlers.on_class_words("person, ball", 0, key, progress=no_progress))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda key: handlers.on_click_xy("abc", 10, True, 0, "positive", key), "x must be a number"),
        (lambda key: handlers.on_click_xy(10, [1, 2], True, 0, "positive", key), "y must be a number"),
        (lambda key: handlers.on_click_xy(10, 10, True, None, "positive", key), "frame_idx must be a number"),
        (lambda key: handlers.on_click_xy(10, 10, True, float("nan"), "positive", key), "frame_idx must be a finite"),
        (lambda key: handlers.on_click_xy(10, 10, True, 0, "sideways", key), "mode must be one of"),
        (lambda key: handlers.on_frame({"a": 1}, key), "frame_idx must be a number"),
        (lambda key: handlers.on_relabel(1, "x" * 200_000, 0, key, no_progress), "too long"),
        (lambda key: handlers.on_relabel(1, 5, 0, key, no_progress), "must be text"),
        (lambda key: handlers.on_relabel("one", "adult", 0, key, no_progress), "entity must be a number"),
        (lambda key: handlers.on_rename_predicate("1|2", "on", 0, key, no_progress), "no relation"),
        (lambda key: handlers.on_rename_predicate("1|2|on", "y" * 5000, 0, key, no_progress), "too long"),
        (lambda key: handlers.on_subject("two", 0, key), "subject must be a number"),
        (lambda key: handlers.on_example(["ball_touch"], key), "unknown example"),
        (lambda key: final(handlers.on_discovery(None, 0, key, no_progress)), "unknown discovery"),
    ],
)
def test_bad_api_values_name_the_field(app, call, message):
    _, key = open_example()
    build(key)
    with pytest.raises(gr.Error, match=message):
        call(key)


def test_unexpected_errors_show_no_trace(app, monkeypatch):
    _, key = open_example()
    monkeypatch.setattr(server.current().pipeline, "build", lambda *a, **k: {}["boom"])
    with pytest.raises(gr.Error, match="Something went wrong") as info:
        build(key)
    assert "Traceback" not in str(info.value)
    assert not visit_of(key).busy  # a failed build frees the visit


def test_visits_are_isolated(app, clip):
    _, first = open_example()
    _, second = open_example()
    handlers.on_clear(0, second)
    assert visit_of(first).prompts.subjects and not visit_of(second).prompts.subjects
    assert visit_of(first).session is not visit_of(second).session
    assert visit_of(first).folder != visit_of(second).folder


def test_a_tab_that_never_opens_a_video_holds_nothing(app):
    assert handlers.on_frame(3, None) == Update() and len(server.current().store) == 0
    with pytest.raises(gr.Error, match="open a video first"):
        handlers.on_undo(0, None)
    assert len(server.current().store) == 0


def test_visit_folder_is_removed_on_unload(app):
    _, key = open_example()
    build(key)
    folder = visit_of(key).folder
    assert (folder / "scene_graph.json").exists()
    handlers.on_unload(key)
    assert not folder.exists() and key not in server.current().store


def test_deployment_examples_folder_without_manifest(app, tmp_path, monkeypatch):
    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(next(e for e in load_examples() if e.name == CLIP).path, folder / "my_clip.mp4")
    monkeypatch.setenv(EXAMPLES_ENV, str(folder))
    assert "my_clip" in handlers.example_names()
    assert handlers.example_cards()[-1][1] == "my_clip" and Path(handlers.example_cards()[-1][0]).is_file()
    update = handlers.on_example("my_clip", None)
    assert visit_of(update.key).prompts.subjects == () and "click the subject" in update.build_status
    assert list(handlers.on_example_build(0, update.key)) == [Update()]  # no preset click: nothing to build yet


def test_switching_discovery_rediscovers_without_retracking_the_subject(app):
    _, key = open_example()
    build(key)
    tracked_before = len(app.calls)
    update = final(handlers.on_discovery("heuristic", 0, key, progress=no_progress))
    assert type(visit_of(key).session.discover).__name__ == "HeuristicDiscovery"
    assert 1 not in {i for call in app.calls[tracked_before:] for i in call}  # only new objects were tracked
    assert update.entity_table[0][:2] == [1, "subject"]


def test_a_click_answers_while_the_same_visit_builds(app, clip):
    """The build blocks inside tracking until the click has answered: it answers before the build ends."""
    _, key = open_example()
    started, clicked = threading.Event(), threading.Event()
    propagate = app._propagate

    def slow_propagate(state, *, obj_ids=None, reverse=False):
        started.set()
        assert clicked.wait(30), "the click did not answer while the build was running"
        return propagate(state, obj_ids=obj_ids, reverse=reverse)

    app._propagate = slow_propagate
    results = {}
    builder = threading.Thread(target=lambda: results.setdefault("build", build(key)))
    builder.start()
    assert started.wait(30)
    update = click(key, pixel_of(clip, 2), "negative")  # a prompt edit while the build tracks
    answered_while_building = builder.is_alive()
    with pytest.raises(gr.Error, match="already running"):  # a second build of the same visit is refused
        build(key)
    clicked.set()
    builder.join(60)
    assert answered_while_building and "1 positive / 1 negative" in update.prompt_info
    assert "Outdated" in results["build"].build_status  # the result predates the click, and says so


def hold_tracking(app: Recorder, release: threading.Event, error: Exception | None = None) -> None:
    """Every tracking pass yields its first frame, then waits for ``release`` (and then raises ``error``)."""
    propagate = app._propagate

    def held(state, *, obj_ids=None, reverse=False):
        steps = propagate(state, obj_ids=obj_ids, reverse=reverse)
        yield next(steps)
        assert release.wait(30), "the test never released the build"
        if error is not None:
            raise error
        yield from steps

    app._propagate = held


def same_update(a: Update, b: Update) -> bool:
    """Field by field: images by their pixels, figures by their JSON, lists item by item."""

    def same(x, y) -> bool:
        if isinstance(x, (list, tuple)):
            return isinstance(y, (list, tuple)) and len(x) == len(y) and all(map(same, x, y))
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            return np.array_equal(x, y)
        if hasattr(x, "to_json"):
            return x.to_json() == y.to_json()
        return x == y

    return all(same(getattr(a, f), getattr(b, f)) for f in FIELDS)


def test_a_build_shows_the_track_as_it_grows_then_the_result(app, clip):
    """While tracking runs the page gets the frame just tracked with the mask so far, the tracking timeline and the
    progress line; then the result, the same as a build that nobody watched; an example built before streams
    nothing (its result comes from the cache)."""
    _, key = open_example()
    release = threading.Event()
    hold_tracking(app, release)
    updates = handlers.on_build(5, key, progress=no_progress)
    partial = next(updates)  # tracking holds after its first frame: this is what the page shows meanwhile
    select = type("Select", (), {"index": [10, 10]})()
    with pytest.raises(gr.Error, match="build at work"):  # the image shows the build's frame, not the slider's
        handlers.on_image_select("positive", 5, key, select)
    release.set()
    *_, last = updates
    visit = visit_of(key)
    scale = views.display_scale(visit.video)
    assert partial.frame_image.shape[:2] == (round(visit.video.height * scale), round(visit.video.width * scale))
    x, y = (int((v + 0.5) * scale) for v in pixel_of(clip, 1))  # the first tracked frame is the prompt frame 0
    plain = views.at_display_size(visit.video, clip.frames[0])
    assert np.abs(partial.frame_image[y, x].astype(int) - plain[y, x].astype(int)).sum() > 40  # the mask is drawn
    assert partial.timeline.layout.title.text == "Tracked so far"
    assert list(partial.timeline.layout.yaxis.categoryarray) == ["subject 1"]
    assert list(partial.timeline.data[0].x) == [1]  # one frame tracked so far
    assert "subject 1: tracking forward: frame 1 of" in partial.build_status
    assert partial.overlay is SKIP and partial.entity_table is SKIP  # the result panels wait for the result

    assert same_update(last, views.result_update(visit, 5)) and "up to date" in last.build_status
    assert not visit.streaming  # image clicks are taken again
    segmenter = OracleSegmenter(clip.labels)  # the same build, unwatched, on a fresh pipeline
    pipeline = Pipeline(segmenter)
    session = pipeline.open(visit.video)
    pipeline.prompt_subject(session, list(example_prompts()), subject_id=1)
    unwatched = renumbered(pipeline.build(session), visit.shown_ids)
    assert unwatched.to_dict() == visit.result.graph.to_dict()

    _, second = open_example()
    assert len(list(handlers.on_build(0, second, progress=no_progress))) == 1  # from the cache, at once


def test_a_rebuild_shows_only_what_it_has_tracked_again(app, clip):
    """A subject prompted again keeps its old masks in the session until tracking replaces them: the stream shows
    the new track as it grows, not the old one."""
    _, key = open_example()
    build(key)
    click(key, pixel_of(clip, 1)[:1] + (pixel_of(clip, 1)[1] + 10,))  # a second click on the subject
    release = threading.Event()
    hold_tracking(app, release)
    updates = handlers.on_build(0, key, progress=no_progress)
    partial = next(updates)
    release.set()
    assert "up to date" in final(updates).build_status
    (subject_lane,) = [bar for bar in partial.timeline.data if bar.y[0] == "subject 1"]
    assert list(subject_lane.x) == [1] and len(partial.timeline.data) == 1  # its objects are rediscovered later


def test_a_build_that_fails_midway_gives_one_message_and_frees_the_visit(app):
    _, key = open_example()
    release = threading.Event()
    propagate = app._propagate
    hold_tracking(app, release, RuntimeError("tracker lost"))
    updates = handlers.on_build(0, key, progress=no_progress)
    assert "Building" in next(updates).build_status
    release.set()
    restored = next(updates)  # the page goes back to what the visit holds: no result yet
    assert restored.results_cell == gr.update(visible=False) and "press **Build" in restored.build_status
    with pytest.raises(gr.Error, match=r"Something went wrong \(RuntimeError: tracker lost\)") as info:
        next(updates)
    assert "Traceback" not in str(info.value)
    assert not visit_of(key).busy and visit_of(key).result is None
    app._propagate = propagate
    assert "up to date" in build(key).build_status  # the visit builds again


def test_image_clicks_come_back_in_working_pixels(app, clip):
    """The prompt frame is sent at display size; a click on it lands on the working pixel under it."""
    _, key = open_example()
    handlers.on_clear(0, key)
    scale = views.display_scale(visit_of(key).video)
    x, y = pixel_of(clip, 1)
    event = type("Select", (), {"index": [round((x + 0.5) * scale - 0.5), round((y + 0.5) * scale - 0.5)]})()
    handlers.on_image_select("positive", 0, key, event)
    (click_,) = visit_of(key).prompts.of(1)
    assert scale > 1 and abs(click_.x - x) <= 0.5 and abs(click_.y - y) <= 0.5


@pytest.mark.parametrize("name", [e.name for e in load_examples() if e.credit.startswith("EdgeTAM")])
def test_a_real_example_opens_with_a_mask_on_its_subject(name, tmp_path, monkeypatch):
    """The shipped real clips with the weight-free segmenter: the preset click's preview is a real region that
    holds the click, neither a speck nor most of the frame."""
    from click2graph.segment.classic import ClassicSegmenter

    use_private_server(monkeypatch, tmp_path, Pipeline(ClassicSegmenter()))
    update = handlers.on_example(name, None)
    visit = visit_of(update.key)
    (click_,) = visit.prompts.of(1)
    frame = visit.video.work_index(click_.frame_idx)
    mask = visit.preview.mask(1, frame)
    x, y = (round(v) for v in visit.video.to_work_xy(click_.x, click_.y))
    assert mask[y, x] and 0.005 < mask.mean() < 0.6, (name, float(mask.mean()))
    handlers.on_unload(update.key)


def test_a_letterboxed_upload_is_shown_without_its_bars_and_exports_across_them(app, tmp_path, clip):
    """A visitor uploads a clip with black bars above and below: the app shows the picture alone and says so, a click
    on the shown frame is kept in the file's own pixels (below the top bar), the build's masks are exported at the
    file's size, empty over the bars, and undo then a new click builds again."""
    bar = 24
    frames = np.zeros((len(clip.frames), clip.frames.shape[1] + 2 * bar, *clip.frames.shape[2:]), np.uint8)
    frames[:, bar:-bar] = clip.frames
    path = write_video(tmp_path / "letterboxed.mp4", frames, clip.fps)
    update = handlers.on_video(str(path), None)
    key, video = update.key, visit_of(update.key).video
    assert "black bars left out" in update.video_info and video.frames.shape[1:3] == clip.frames.shape[1:3]
    x, y = pixel_of(clip, 1)
    click(key, (x, y))
    (click_,) = visit_of(key).prompts.of(1)
    assert (click_.x, click_.y) == (x, y + bar)
    update = build(key)
    coco = json.loads(next(Path(f) for f in update.downloads if f.endswith("masks_coco.json")).read_text())
    subject = next(a for a in coco["annotations"] if a["entity_id"] == 1)
    decoded = coco_mask.decode({"size": subject["segmentation"]["size"], "counts": subject["segmentation"]["counts"]})
    assert decoded.shape == frames.shape[1:3] and decoded.any()
    assert not decoded[:bar].any() and not decoded[-bar:].any()
    handlers.on_undo(0, key)
    click(key, pixel_of(clip, 1))
    assert build(key).entity_table[0][:2] == [1, "subject"]
