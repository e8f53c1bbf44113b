"""One visitor's work in the demo: the video, the history of prompts, the pipeline session and the last result.

The prompts are the source of truth. A click only changes the prompt history and the *preview* (a segmenter state
of its own that shows the masks while prompting), never the pipeline session that a build is tracking, so clicks
answer while a build runs. A build brings the pipeline session in line with the current prompts (only what
changed is re-tracked) and keeps the ids and labels of the entities it finds again.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from click2graph.errors import PromptError
from click2graph.graph import SceneGraph
from click2graph.masks import mask_iou, rle_decode
from click2graph.pipeline import Pipeline, Session
from click2graph.prompts import Click, Prompt, to_frame_prompts, working_frame_of
from click2graph.segment import SegmenterState
from click2graph.semantics.prototypes import PrototypeMemory
from click2graph.video import Video

MAX_SUBJECTS = 8
MAX_PROMPTS_PER_SUBJECT = 24
MAX_ADDED_OBJECTS = 16
ADDED_PREVIEW_ID = 1000  # preview ids of added objects start here (subjects use their numbers)
SAME_ENTITY_IOU = 0.5  # mean mask IoU over the frames either entity is on, above which a rebuild found it again


@dataclass(frozen=True)
class Prompts:
    """The visitor's prompts at one point of their history; immutable, so undo and rebuilds compare them.

    ``subjects``: ``(number, prompts)`` per subject, numbers as shown ("subject 2"); prompts in original pixels.
    ``objects``: ``(subject number, click)`` per object added by a click.
    """

    subjects: tuple[tuple[int, tuple[Prompt, ...]], ...] = ()
    objects: tuple[tuple[int, Click], ...] = ()

    @property
    def numbers(self) -> list[int]:
        return [n for n, _ in self.subjects]

    def of(self, number: int) -> tuple[Prompt, ...]:
        return next((prompts for n, prompts in self.subjects if n == number), ())

    def new_number(self) -> int:
        """The lowest subject number not in use (names stay dense: subject 1, 2, 3)."""
        used = set(self.numbers)
        return next(n for n in range(1, len(used) + 2) if n not in used)

    def with_subject(self, number: int, prompts: tuple[Prompt, ...]) -> "Prompts":
        """These prompts for subject ``number``; none removes the subject and the objects added to it."""
        if prompts and number not in self.numbers and len(self.subjects) >= MAX_SUBJECTS:
            raise PromptError(f"at most {MAX_SUBJECTS} subjects per video")
        if len(prompts) > MAX_PROMPTS_PER_SUBJECT:
            raise PromptError(f"at most {MAX_PROMPTS_PER_SUBJECT} clicks per subject: undo or clear some first")
        subjects = [(n, p) for n, p in self.subjects if n != number]
        if prompts:
            subjects.append((number, tuple(prompts)))
        objects = self.objects if prompts else tuple((n, c) for n, c in self.objects if n != number)
        return Prompts(tuple(sorted(subjects, key=lambda s: s[0])), objects)

    def with_object(self, number: int, click: Click) -> "Prompts":
        if len(self.objects) >= MAX_ADDED_OBJECTS:
            raise PromptError(f"at most {MAX_ADDED_OBJECTS} added objects per video")
        return Prompts(self.subjects, (*self.objects, (number, click)))


@dataclass
class Result:
    """A built scene graph, with the ids shown to the visitor, and its exported files."""

    graph: SceneGraph
    paths: dict[str, Path]
    seconds: float = 0.0
    cached: bool = False  # served from the example cache: the pipeline session has tracked nothing
    remote: bool = False  # built in another process (a GPU worker): the pipeline session holds none of it


@dataclass
class TabSettings:
    """What carries over to the next video of a tab: corrections learnt, own words, the discovery strategy."""

    memory: PrototypeMemory = field(default_factory=PrototypeMemory)
    classes: tuple[str, ...] | None = None
    discovery: str | None = None  # None: the server's default strategy


@dataclass
class Visit:
    """Everything of one tab's current video; handlers read and change it under ``lock`` (short holds only)."""

    key: str
    folder: Path
    video: Video
    source: str  # the file shown in the video input
    session: Session  # what builds track
    preview: SegmenterState  # masks drawn while prompting
    settings: TabSettings = field(default_factory=TabSettings)
    history: list[Prompts] = field(default_factory=lambda: [Prompts()])
    subject: int = 0  # subject number that clicks go to (0: a new subject)
    corner: tuple[float, float, int] | None = None  # a box's first corner (original px and frame) until the second
    example: str | None = None  # the example whose preset click is untouched (its cached result applies)
    applied: Prompts = field(default_factory=Prompts)  # the prompts the pipeline session holds
    subject_ids: dict[int, int] = field(default_factory=dict)  # subject number -> pipeline id
    added_ids: dict[tuple[int, Click], int] = field(default_factory=dict)  # added object -> pipeline id
    built: Prompts | None = None  # the prompts of ``result``
    result: Result | None = None
    shown_ids: dict[int, int] = field(default_factory=dict)  # pipeline entity id -> id shown to the visitor
    labels: dict[int, str] = field(default_factory=dict)  # the visitor's labels, by shown id
    renamed: dict[tuple[int, int, str], str] = field(default_factory=dict)  # predicate corrections, by shown ids
    last_used: float = field(default_factory=time.monotonic)
    building: int = 0
    streaming: bool = False  # the page's frame shows a build at work (the frames it tracks), not the slider's frame
    lock: threading.RLock = field(default_factory=threading.RLock)
    build_lock: threading.Lock = field(default_factory=threading.Lock)  # one build at a time per visit

    @property
    def prompts(self) -> Prompts:
        return self.history[-1]

    @property
    def source_name(self) -> str:
        return Path(self.source).name

    @property
    def busy(self) -> bool:
        return self.building > 0

    @property
    def outdated(self) -> bool:
        """The shown result was built from other prompts than the current ones."""
        return self.result is not None and self.built != self.prompts

    def close(self) -> None:
        self.result = None
        self.history = [Prompts()]

    def push(self, prompts: Prompts) -> None:
        if prompts != self.prompts:
            self.history.append(prompts)
            del self.history[:-64]  # undo reaches back 63 steps

    def undo(self) -> Prompts:
        if len(self.history) > 1:
            self.history.pop()
        return self.prompts


def new_visit(
    pipeline: Pipeline, key: str, folder: Path, video: Video, source: str, previous: Visit | None = None
) -> Visit:
    """A visit of ``video``; a tab's settings carry over from its previous video."""
    settings = previous.settings if previous is not None else TabSettings()
    return Visit(
        key=key,
        folder=folder,
        video=video,
        source=source,
        session=pipeline.open(video, memory=settings.memory),
        preview=pipeline.segmenter.init_state(video),
        settings=settings,
    )


# -- the preview ---------------------------------------------------------------------------------------------


def update_preview(pipeline: Pipeline, visit: Visit, new: Prompts) -> dict[int, np.ndarray]:
    """Bring the preview's masks in line with ``new`` (only subjects whose prompts changed are segmented again);
    returns the new masks by preview id, each on the frame of its entity's last prompt.

    Raises:
        PromptError: invalid prompts or a prompt that segments nothing; the preview is then as before.
    """
    old = visit.prompts
    try:
        return _apply_preview(pipeline, visit, old, new)
    except Exception:
        _apply_preview(pipeline, visit, new, old, check=False)
        raise


def _apply_preview(pipeline: Pipeline, visit: Visit, old: Prompts, new: Prompts, check: bool = True) -> dict:
    segmenter, state, video = pipeline.segmenter, visit.preview, visit.video
    targets, before = _by_preview_id(new), _by_preview_id(old)
    masks = {}
    for preview_id in set(before) - set(targets):
        segmenter.remove_object(state, preview_id)
    for preview_id, prompts in targets.items():
        if before.get(preview_id) == prompts and preview_id in state.objects:
            continue
        segmenter.remove_object(state, preview_id)
        frame_prompts = to_frame_prompts(prompts, video)
        for frame_prompt in frame_prompts:
            mask = segmenter.add_prompt(state, preview_id, frame_prompt)
            if check and not mask.any():
                what = "subject" if preview_id < ADDED_PREVIEW_ID else "object"
                where = f" on working frame {frame_prompt.frame_idx}" if len(frame_prompts) > 1 else ""
                raise PromptError(
                    f"the click segmented nothing there{where}: click inside the {what} or draw a box around it"
                )
        masks[preview_id] = state.mask(preview_id, working_frame_of(prompts[-1].frame_idx, video))
    return masks


def _by_preview_id(prompts: Prompts) -> dict[int, list[Prompt]]:
    """The prompts of each previewed entity: subjects under their numbers, added objects from ADDED_PREVIEW_ID."""
    by_id = {n: list(p) for n, p in prompts.subjects}
    by_id.update({ADDED_PREVIEW_ID + k: [c] for k, (_, c) in enumerate(prompts.objects)})
    return by_id


def preview_masks(visit: Visit, frame_idx: int) -> list[tuple[int, np.ndarray, bool]]:
    """``(preview id, mask, is_subject)`` of every previewed prompt on working frame ``frame_idx``."""
    out = []
    for preview_id in visit.preview.obj_ids:
        mask = visit.preview.mask(preview_id, frame_idx)
        if mask is not None and mask.any():
            out.append((preview_id, mask, preview_id < ADDED_PREVIEW_ID))
    return out


# -- bringing the pipeline session in line with the prompts ----------------------------------------------------


def apply_prompts(pipeline: Pipeline, visit: Visit, target: Prompts) -> None:
    """Make the pipeline session hold ``target``: removed subjects and objects go, changed subjects are prompted
    again (their objects rediscovered at the build), new ones are added; untouched ones keep their tracks.

    A new subject clicked on an entity the session already tracks as an object (a discovered ball) takes over
    that object's track instead of duplicating it.
    """
    session, applied = visit.session, visit.applied
    for number in set(applied.numbers) - set(target.numbers):
        pipeline.remove_subject(session, visit.subject_ids.pop(number))
    for key in set(visit.added_ids) - set(target.objects):
        pipeline.drop_object(session, visit.added_ids.pop(key))
    for number, prompts in target.subjects:
        if applied.of(number) == prompts:
            continue
        if number in visit.subject_ids:
            pipeline.prompt_subject(session, list(prompts), subject_id=visit.subject_ids[number])
            continue
        frame_idx = working_frame_of(prompts[-1].frame_idx, visit.video)
        object_id = _tracked_object_under(session, visit.preview.mask(number, frame_idx), frame_idx)
        if object_id is not None:
            visit.subject_ids[number] = pipeline.promote_object(session, object_id, list(prompts))
        else:
            visit.subject_ids[number] = session.next_id()
            pipeline.prompt_subject(session, list(prompts), subject_id=visit.subject_ids[number])
    for key in target.objects:
        if key not in visit.added_ids:
            number, click = key
            visit.added_ids[key] = pipeline.add_object(session, [click], subject_id=visit.subject_ids[number])
    visit.applied = target


def _tracked_object_under(session: Session, mask: np.ndarray | None, frame_idx: int) -> int | None:
    """The tracked object (not a subject) whose mask on ``frame_idx`` is ``mask``'s (IoU >= SAME_ENTITY_IOU)."""
    if mask is None or not mask.any():
        return None
    best, best_iou = None, SAME_ENTITY_IOU
    for obj_id in session.state.obj_ids:
        if obj_id in session.subjects:
            continue
        other = session.state.mask(obj_id, frame_idx)
        iou = mask_iou(mask, other) if other is not None else 0.0
        if iou >= best_iou:
            best, best_iou = obj_id, iou
    return best


# -- ids shown to the visitor ------------------------------------------------------------------------------------


def assign_shown_ids(graph: SceneGraph, known: dict[int, int], previous: SceneGraph | None) -> dict[int, int]:
    """Shown id of every entity of ``graph`` (pipeline ids): its id from ``known`` when the pipeline kept the
    entity, else the id of the entity of ``previous`` (shown ids) it overlaps most (mean IoU >= SAME_ENTITY_IOU),
    else the lowest free number, so ids stay small and a rebuild does not renumber what it finds again."""
    shown = {e.entity_id: known[e.entity_id] for e in graph.entities if e.entity_id in known}
    taken = set(shown.values())
    candidates = [e for e in previous.entities if e.entity_id not in taken] if previous is not None else []
    for entity in graph.entities:
        if entity.entity_id in shown:
            continue
        scored = [(track_iou(entity.masks, old.masks), old.entity_id) for old in candidates]
        best = max(scored, default=(0.0, None))
        if best[1] is not None and best[0] >= SAME_ENTITY_IOU and best[1] not in taken:
            shown[entity.entity_id] = best[1]
        else:
            shown[entity.entity_id] = next(n for n in range(1, len(graph.entities) + len(taken) + 2) if n not in taken)
        taken.add(shown[entity.entity_id])
    return shown


def track_iou(masks_a: dict[int, dict], masks_b: dict[int, dict]) -> float:
    """Mean mask IoU over the frames where either track has a mask (0 where only one has)."""
    frames = set(masks_a) | set(masks_b)
    if not frames:
        return 0.0
    both = set(masks_a) & set(masks_b)
    return sum(mask_iou(rle_decode(masks_a[t]), rle_decode(masks_b[t])) for t in both) / len(frames)


def renumbered(graph: SceneGraph, shown: dict[int, int]) -> SceneGraph:
    """A copy of ``graph`` with entity ids replaced by ``shown[id]`` (entities, their subjects, relations)."""
    entities = [
        replace(
            e,
            entity_id=shown[e.entity_id],
            subject_id=shown.get(e.subject_id, e.subject_id) if e.subject_id is not None else None,
        )
        for e in graph.entities
    ]
    relations = [
        replace(r, subject_id=shown[r.subject_id], object_id=shown[r.object_id])
        for r in graph.relations
        if r.subject_id in shown and r.object_id in shown
    ]
    return replace(graph, entities=entities, relations=relations)


def internal_id(visit: Visit, shown_id: int) -> int | None:
    """The pipeline id of the entity shown as ``shown_id`` (None for a cached result or an unknown id)."""
    return next((i for i, s in visit.shown_ids.items() if s == shown_id), None)
