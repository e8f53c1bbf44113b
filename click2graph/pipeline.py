"""Orchestration: prompt -> subject track -> discovery at keyframes -> object tracks -> semantics -> SceneGraph.

One :class:`Pipeline` serves many videos (it holds the segmenter); everything about one video lives in its
:class:`~click2graph.segment.SegmenterState`. Edits (another subject, an added or dropped object, a relabel)
re-run only what depends on them.

Example (the same run as ``python -m click2graph run clip.mp4 --click 320,180 --out out/``)::

    from click2graph.pipeline import Pipeline
    from click2graph.prompts import Click
    from click2graph.video import load_video

    video = load_video("clip.mp4")
    pipeline = Pipeline()                       # classic backend, default settings
    state = pipeline.open(video)
    pipeline.prompt_subject(state, [Click(320, 180, frame_idx=0)])
    graph = pipeline.build(state)
    for r in graph.ranked_relations():
        print(graph.entity(r.subject_id).label, r.predicate, graph.entity(r.object_id).label, r.spans)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from click2graph.build_progress import BuildStage, BuildStep, StepFn
from click2graph.discovery.backdrop import is_backdrop, is_out_of_view
from click2graph.discovery.base import DiscoveryConfig, DiscoveryStrategy
from click2graph.discovery.drift import apart_track
from click2graph.discovery.jumps import steady_track
from click2graph.discovery.looks import alike_track
from click2graph.discovery.pieces import are_pieces, merged_track
from click2graph.discovery.specks import without_specks
from click2graph.discovery.training_free import discover_objects, flow_at
from click2graph.errors import PromptError
from click2graph.graph import Entity, SceneGraph, VideoMeta
from click2graph.masks import rle_area, rle_decode
from click2graph.prompts import Prompt, to_frame_prompts, working_frame_of
from click2graph.segment import SegmenterState, VideoSegmenter, track_both_directions
from click2graph.semantics.models import SemanticModels, clean_classes
from click2graph.semantics.prototypes import PrototypeMemory
from click2graph.semantics.relations import RelationConfig, default_labels
from click2graph.semantics.scorers import ScorerInputs
from click2graph.semantics.step import PredicateKey, SemanticCache, name_entities, pair_embedding, relate
from click2graph.video import ProgressFn, Video

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineConfig:
    """Settings of the whole run."""

    discovery: DiscoveryConfig = field(default_factory=DiscoveryConfig)
    relations: RelationConfig = field(default_factory=RelationConfig)
    # Discovery runs on the prompt frame and then every this many seconds of working video, so objects that
    # enter the interaction mid-clip are found where they appear (and tracked from there in both directions);
    # 0: on every frame.
    keyframe_interval_s: float = 1.0
    max_objects_per_subject: int | None = 6  # cap over all keyframes (the paper proposes 3 per frame); None: none
    # A discovered object whose track swells past this fraction of the frame, or past this multiple of its area
    # on the keyframe where it was found, has leaked into the background (floor, wall): it is dropped (None: kept).
    # Measured, as the length test below, on the frames the graph keeps (max_on_subject_share cuts the rest).
    max_object_area_frac: float | None = 0.2
    max_object_growth: float | None = 3.0
    # A discovered track that lives fewer frames than this within as many frames either side of its keyframe was
    # texture, not an object (a piece of a floor line the tracker loses at once and later re-finds on look-alike
    # pixels elsewhere, such as the subject's hands: frames far from the keyframe do not count); dropping it also
    # frees its slot in max_objects_per_subject, which such short junk tracks would otherwise use up.
    min_object_frames: int = 4
    # A discovered track that stays where it was found while at least this fraction of the subject's pixels come to
    # lie on the pixels it covered there is the backdrop the subject stands in front of (a door, a wall panel): in
    # a still shot nothing on one frame tells it from an object (.discovery.backdrop). None: kept.
    backdrop_share: float | None = 0.5
    # A discovered track that stays where it was found and whose keyframe mask lies along the frame border over at
    # least this fraction of its box's perimeter is a piece of a surface continuing out of view (a wall, a shelf, a
    # deck; .discovery.backdrop). None: kept.
    out_of_view_border: float | None = 0.1
    # On a frame where more than this fraction of a discovered object's mask lies on its subject's mask, the masks
    # cannot tell it from the subject (its track drifted onto the subject, or the subject's mask took it over): that
    # frame is cut from the object's track (.discovery.drift), and the track test counts only the frames left.
    # None: kept.
    max_on_subject_share: float | None = 0.5
    # Where a discovered object's track (less those frames) jumps by more than this fraction of the frame's diagonal
    # between two of its frames within a shot, the tracker landed on something else: the frames from there on, away
    # from the keyframe where the object was found, are cut (.discovery.jumps). Real objects' tracks on the examples
    # and held-out clips move at most 0.27 between two frames (a cup carried over 20 frames), the re-acquisitions
    # seen there 0.45 and 0.77. None: kept.
    max_track_jump: float | None = 0.35
    # On a frame where a discovered object's mask (less the frames cut above) has colours this unlike its mask's on
    # the keyframe where it was found (Bhattacharyya coefficient of their Lab histograms), the tracker kept a mask on
    # something else: that frame is cut (.discovery.looks). Such frames on the examples and held-out clips score
    # 0.04-0.42, the true masks of the DAVIS development subjects at least 0.53 against their own frames. None: kept.
    min_colour_likeness: float | None = 0.4
    # On a frame where a discovered object's mask holds less than this fraction of its track's median area (over
    # the frames left by the three cuts above), the tracker lost it and kept a speck of what lay there: that frame is
    # cut (.discovery.specks). Such frames on the examples and held-out clips hold 0.001-0.065 of the median, the
    # smallest frames showing the object 0.126. None: kept.
    min_frame_share: float | None = 0.1
    # Two discovered objects of one subject that touch on at least this fraction of the frames within
    # min_object_frames of the later one's keyframe, each of them moving there unlike the background (by the
    # discovery's surface_motion_px), are pieces of one object (a leg and its shoe): the later one's track joins
    # the earlier one's (.discovery.pieces). None: kept apart.
    piece_min_touching: float | None = 0.75
    # A discovered object that never takes part in a relation is noise from the subject's surroundings.
    drop_objects_without_relations: bool = True

    def unfiltered(self) -> PipelineConfig:
        """This configuration keeping every discovered object: no cap per subject, no area, growth, duration,
        backdrop, out-of-view, drift, jump, colour, speck or relation filter, no merging of pieces (the paper has none;
        OpenPVSG's stuff classes, floors and tables, are what they drop)."""
        return replace(
            self,
            max_objects_per_subject=None,
            max_object_area_frac=None,
            max_object_growth=None,
            min_object_frames=0,
            backdrop_share=None,
            out_of_view_border=None,
            max_on_subject_share=None,
            max_track_jump=None,
            min_colour_likeness=None,
            min_frame_share=None,
            piece_min_touching=None,
            drop_objects_without_relations=False,
        )


@dataclass
class SubjectRecord:
    """Plain-data bookkeeping of one prompted subject."""

    subject_id: int
    prompts: list[Prompt]
    tracked: bool = False
    discovered: bool = False
    object_ids: list[int] = field(default_factory=list)
    discovery_points: dict[int, list[list[float]]] = field(default_factory=dict)  # obj_id -> prompt points (work px)
    discovery_frames: dict[int, int] = field(default_factory=dict)  # obj_id -> keyframe where it was found
    proposed_points: list[list[float]] = field(default_factory=list)  # [keyframe, x, y] of every proposal (work px)


@dataclass
class AddedObject:
    """An object the user added by clicking it."""

    subject_id: int
    prompts: list[Prompt]
    tracked: bool = False


@dataclass
class Session:
    """Everything about one video: the segmenter state plus plain-data records of subjects and objects."""

    video: Video
    state: SegmenterState
    subjects: dict[int, SubjectRecord] = field(default_factory=dict)
    added_objects: dict[int, AddedObject] = field(default_factory=dict)
    # Masks (frame -> RLE) of objects the user dropped: discovery treats them as known so they are not proposed
    # again, and their ids are never reused.
    dropped: dict[int, dict[int, dict]] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)  # user labels by entity id
    renamed: dict[PredicateKey, str] = field(default_factory=dict)  # the user's predicate corrections
    # The user's corrections as prototypes: pass the same memory to open() for the next video of one user.
    memory: PrototypeMemory = field(default_factory=PrototypeMemory)
    discover: DiscoveryStrategy | None = None  # this video's discovery strategy (None: the pipeline's)
    last_id: int = 0  # the highest id handed out by next_id()
    semantics: SemanticModels = field(default_factory=SemanticModels)  # this video's models (own words, say)
    semantic_cache: SemanticCache = field(default_factory=SemanticCache)

    def tracked_masks(self) -> dict[int, dict[int, dict]]:
        """A copy of every track so far: entity id -> working frame -> COCO RLE mask."""
        return {obj_id: dict(track.masks) for obj_id, track in self.state.objects.items()}

    def next_id(self) -> int:
        """A new entity id. Ids are never reused (not even those of forgotten objects), so the user's labels and
        corrections, which are keyed by id, never pass to another entity."""
        used = set(self.state.obj_ids) | set(self.subjects) | set(self.added_objects) | set(self.dropped)
        self.last_id = max(used | {self.last_id}) + 1
        return self.last_id


class Pipeline:
    """Click -> scene graph, with a pluggable segmenter (classic by default)."""

    def __init__(
        self,
        segmenter: VideoSegmenter | None = None,
        config: PipelineConfig = PipelineConfig(),
        semantics: SemanticModels | None = None,
        *,
        discover: DiscoveryStrategy = discover_objects,
        learned=None,
    ) -> None:
        """``discover``: a discovery strategy (see :mod:`click2graph.discovery.registry` for those by name).
        ``learned``: trained modules (``LearnedModules``); on the SAM 2 backend their SCH is a predicate scorer
        (:mod:`click2graph.semantics.scorers`) and names entities when no CLIP model is loaded."""
        if segmenter is None:
            from click2graph.segment.classic import ClassicSegmenter

            segmenter = ClassicSegmenter()
        self.segmenter = segmenter
        self.config = config
        self.semantics = semantics or SemanticModels()  # default: geometry and default names only
        self.discover = discover
        self.learned = learned

    def describe(self) -> str:
        return self.segmenter.describe()

    def open(self, video: Video, *, memory: PrototypeMemory | None = None) -> Session:
        """A session for one video; ``memory`` carries a user's corrections over from earlier videos."""
        return Session(
            video=video,
            state=self.segmenter.init_state(video),
            memory=memory if memory is not None else PrototypeMemory(),
            semantics=self.semantics,
        )

    def set_discovery(self, session: Session, discover: DiscoveryStrategy | None) -> None:
        """Use another discovery strategy for this video (None: the pipeline's); objects it found are forgotten
        and rediscovered at the next :meth:`build` (subject tracks are kept)."""
        session.discover = discover
        for record in session.subjects.values():
            self._forget_objects(session, record)
            record.discovered = False

    def set_classes(self, session: Session, classes: Sequence[str] | None) -> None:
        """Name this video's entities with the user's own words (None: the pipeline's vocabulary)."""
        classifier = self.semantics.classifier
        if classifier is None:
            raise PromptError(f"own class names need the CLIP model: {self.semantics.notice or 'not loaded'}")
        if classes is None:
            session.semantics = self.semantics
        else:
            try:
                words = clean_classes(classes)
            except ValueError:
                raise PromptError("give at least two class names, separated by commas") from None
            session.semantics = replace(
                self.semantics,
                classifier=type(classifier)(classifier.embedder, words, frames_per_entity=classifier.frames_per_entity),
            )
        session.semantic_cache.entities.clear()

    # -- prompting ------------------------------------------------------------------------------------------

    def prompt_subject(
        self, session: Session, prompts: Sequence[Prompt], *, subject_id: int | None = None, label: str | None = None
    ) -> np.ndarray:
        """Set (or refine) a subject's prompts and return its mask on the frame of the last prompt at once.

        Pass every prompt so far to refine. Prompts on several frames correct the track there: each prompted frame
        starts the track afresh, and between two prompted frames the two tracks are joined where they last agree
        (:func:`~click2graph.segment.track_both_directions`). A new ``subject_id`` adds another subject to the same
        scene graph.

        Raises:
            PromptError: invalid prompts, or prompts that segment nothing on their frame.
        """
        frame_prompts = to_frame_prompts(prompts, session.video)
        if subject_id is None:
            subject_id = min(session.subjects) if session.subjects else session.next_id()
        record = session.subjects.get(subject_id)
        if record is not None:
            # Prompted afresh: the mask depends on the clicks alone, as in the app's preview and a ZeroGPU worker
            # (SAM 2 would otherwise refine its previous mask of that frame, and an undo would not restore it).
            self._forget_objects(session, record)
            self.segmenter.remove_object(session.state, subject_id)
        masks = {}
        for frame_prompt in frame_prompts:
            masks[frame_prompt.frame_idx] = self.segmenter.add_prompt(session.state, subject_id, frame_prompt)
            if not masks[frame_prompt.frame_idx].any():
                self.segmenter.remove_object(session.state, subject_id)
                session.subjects.pop(subject_id, None)
                frame = session.video.orig_index(frame_prompt.frame_idx)
                where = f" on frame {frame}" if len(frame_prompts) > 1 else ""
                raise PromptError(
                    f"the click segmented nothing there{where}: click inside the subject or draw a box around it"
                )
        session.subjects[subject_id] = SubjectRecord(subject_id, list(prompts))
        if label:
            session.labels[subject_id] = label
        return masks[working_frame_of(prompts[-1].frame_idx, session.video)]

    def prompt_subject_mask(
        self, session: Session, frame_idx: int, mask: np.ndarray, *, subject_id: int | None = None
    ) -> np.ndarray:
        """Prompt a new subject with a mask on a working frame (the evaluation's mask prompt); returns the kept mask.

        Raises:
            PromptError: the mask is empty, or not the working frames' size.
        """
        video = session.video
        if mask.shape != (video.height, video.width) or not mask.any():
            raise PromptError(f"a subject mask must be a non-empty {video.width}x{video.height} mask")
        subject_id = session.next_id() if subject_id is None else subject_id
        if subject_id in session.subjects:
            self.remove_subject(session, subject_id)
        kept = self.segmenter.add_mask(session.state, subject_id, frame_idx, mask.astype(bool))
        session.subjects[subject_id] = SubjectRecord(subject_id, [])
        return kept

    def remove_subject(self, session: Session, subject_id: int) -> None:
        """Forget a prompted subject, its track and the objects its discovery found (added objects stay)."""
        record = session.subjects.pop(subject_id, None)
        if record is None:
            raise PromptError(f"there is no subject {subject_id}; subjects: {sorted(session.subjects)}")
        self._forget_objects(session, record)
        self.segmenter.remove_object(session.state, subject_id)
        session.labels.pop(subject_id, None)

    def add_object(
        self, session: Session, prompts: Sequence[Prompt], *, subject_id: int | None = None, label: str | None = None
    ) -> int:
        """Add an object the discovery missed (user clicks); it is tracked at the next :meth:`build`."""
        if not session.subjects:
            raise PromptError("prompt a subject before adding objects")
        subject_id = subject_id if subject_id is not None else min(session.subjects)
        frame_prompts = to_frame_prompts(prompts, session.video)
        obj_id = session.next_id()
        for fp in frame_prompts:
            mask = self.segmenter.add_prompt(session.state, obj_id, fp)
            if not mask.any():
                self.segmenter.remove_object(session.state, obj_id)
                raise PromptError("the click segmented nothing there: click inside the object")
        session.added_objects[obj_id] = AddedObject(subject_id, list(prompts))
        if label:
            session.labels[obj_id] = label
        return obj_id

    def promote_object(self, session: Session, obj_id: int, prompts: Sequence[Prompt]) -> int:
        """Make a tracked object a subject of its own (the user prompted it as a new subject): it keeps its id and
        its track, relates to the other subjects as a subject, and its own objects are discovered at the next
        :meth:`build`. Returns its id."""
        if obj_id not in session.state.objects or obj_id in session.subjects:
            raise PromptError(f"there is no tracked object {obj_id}")
        for record in session.subjects.values():
            if obj_id in record.object_ids:
                record.object_ids.remove(obj_id)
                record.discovery_points.pop(obj_id, None)
                record.discovery_frames.pop(obj_id, None)
        session.added_objects.pop(obj_id, None)
        session.subjects[obj_id] = SubjectRecord(obj_id, list(prompts), tracked=True)
        return obj_id

    def drop_object(self, session: Session, obj_id: int) -> None:
        """Remove a discovered or added object; it is not proposed again in this session."""
        if obj_id in session.state.objects:
            session.dropped[obj_id] = dict(session.state.track(obj_id).masks)
        self.segmenter.remove_object(session.state, obj_id)
        session.added_objects.pop(obj_id, None)
        session.dropped.setdefault(obj_id, {})
        for record in session.subjects.values():
            if obj_id in record.object_ids:
                record.object_ids.remove(obj_id)

    def relabel(self, session: Session, entity_id: int, label: str) -> None:
        """Name an entity; look-alike entities (here and in later videos of the session) learn the name too."""
        label = label.strip()
        if not label:
            raise PromptError("a label cannot be empty")
        session.labels[entity_id] = label
        naming = session.semantic_cache.entities.get(entity_id)
        if naming is not None and naming.embedding is not None:
            origin = f"{session.video.info.source}, entity {entity_id}"
            session.memory.teach("entity", label, naming.embedding, origin=origin)

    def rename_predicate(self, session: Session, subject_id: int, object_id: int, predicate: str, new: str) -> None:
        """Correct a relation's predicate; pairs that look like this one (and had the same predicate) follow."""
        new = new.strip()
        if not new:
            raise PromptError("a predicate cannot be empty")
        graph = self.graph(session)
        relation = next(
            (
                r
                for r in graph.relations
                if (r.subject_id, r.object_id, r.predicate) == (subject_id, object_id, predicate)
            ),
            None,
        )
        if relation is None:
            raise PromptError(f"there is no relation {subject_id} --{predicate}--> {object_id} in the graph")
        session.renamed[(subject_id, object_id, predicate)] = new
        if session.semantics.embedder is not None:
            embedding = pair_embedding(
                graph.entity(subject_id), graph.entity(object_id), relation, session.video.frames,
                session.semantics, session.semantic_cache,
            )  # fmt: skip
            if embedding is not None:
                origin = f"{session.video.info.source}, {subject_id} {predicate} {object_id}"
                session.memory.teach("predicate", new, embedding, origin=origin, replaces=predicate)

    # -- building -------------------------------------------------------------------------------------------

    def build(
        self, session: Session, *, progress: ProgressFn | None = None, on_step: StepFn | None = None
    ) -> SceneGraph:
        """Track, discover and relate whatever is not up to date, and return the scene graph.

        Every tracked frame and every phase change is reported as ``progress(fraction, description)`` and as
        ``on_step(BuildStep)`` (:mod:`click2graph.build_progress`). Both run in the build's thread between two
        steps, so ``on_step`` may read the session there, e.g. :meth:`Session.tracked_masks` to show the tracks
        as they grow.
        """
        if not session.subjects:
            raise PromptError("no subject: click on the subject (or draw a box) first")

        def send(step: BuildStep) -> None:
            if progress:
                progress(step.fraction, step.describe())
            if on_step:
                on_step(step)

        todo = [r for r in session.subjects.values() if not (r.tracked and r.discovered)]
        # Each subject to do takes two equal stages (tracking, discovery); added objects and relations share one.
        stages = BuildStage(send).part
        count = 2 * len(todo) + 1
        for k, record in enumerate(todo):
            if not record.tracked:
                self._track(session, [record.subject_id], stages(2 * k, count))
                record.tracked = True
            if not record.discovered:
                self._discover(session, record, stages(2 * k + 1, count))
                record.discovered = True
        last = stages(count - 1, count)
        pending = [i for i, added in session.added_objects.items() if not added.tracked]
        if pending:
            self._track(session, pending, last.part(0, 2), added=True)
            for i in pending:
                session.added_objects[i].tracked = True
        last.part(1, 2)(0.0, "relations", 0, 1)
        graph = self.graph(session)
        last.part(1, 2)(1.0, "relations", 1, 1)
        return graph

    def graph(self, session: Session) -> SceneGraph:
        """Assemble entities from the tracks and derive relations (cheap; no tracking)."""
        video = session.video
        entities = []
        for record in session.subjects.values():
            entities.append(
                Entity(
                    entity_id=record.subject_id,
                    label="subject",
                    is_subject=True,
                    origin="prompt",
                    prompts=[p.to_dict() for p in record.prompts],
                    masks=dict(session.state.track(record.subject_id).masks),
                )
            )
            for obj_id in record.object_ids:
                points = record.discovery_points.get(obj_id, [])
                entities.append(
                    Entity(
                        entity_id=obj_id,
                        label="object",
                        origin="discovery",
                        subject_id=record.subject_id,
                        prompts=[
                            {"type": "discovery", "frame_idx": record.discovery_frames.get(obj_id), "points_xy": points}
                        ],
                        masks=self._discovered_masks(session.state, record, obj_id),
                    )
                )
        for obj_id, added in session.added_objects.items():
            entities.append(
                Entity(
                    entity_id=obj_id,
                    label="object",
                    origin="added",
                    subject_id=added.subject_id,
                    prompts=[p.to_dict() for p in added.prompts],
                    masks=dict(session.state.track(obj_id).masks),
                )
            )
        entities = default_labels(entities)
        for entity in entities:
            if entity.entity_id in session.labels:
                entity.label, entity.label_source = session.labels[entity.entity_id], "user"
        models, cache = session.semantics, session.semantic_cache
        if models.classifier is None and self.learned is not None:
            learned_classifier = self.learned.entity_classifier(self.segmenter, session.state)
            if learned_classifier is not None:
                models = replace(models, classifier=learned_classifier)
        entities = name_entities(entities, video.frames, models, cache, session.memory)
        inputs = ScorerInputs(models, video.frames, video.fps, cache, self.segmenter, session.state, self.learned)
        relations = relate(
            entities,
            video.frames,
            models.scorers(inputs),
            models,
            cache,
            session.memory,
            session.renamed,
            self.config.relations,
        )
        if self.config.drop_objects_without_relations:
            related = {r.object_id for r in relations} | {r.subject_id for r in relations}
            entities = [e for e in entities if e.is_subject or e.origin != "discovery" or e.entity_id in related]
        return SceneGraph(
            video=VideoMeta.from_video(video),
            entities=entities,
            relations=relations,
            backend=self.segmenter.describe(),
            video_id=_video_id(video),
            proposed_points=[[r.subject_id, *p] for r in session.subjects.values() for p in r.proposed_points],
        )

    # -- internals ------------------------------------------------------------------------------------------

    def _discover(self, session: Session, record: SubjectRecord, stage: BuildStage) -> None:
        state, video = session.state, session.video
        record.proposed_points.clear()
        subject = state.track(record.subject_id)
        present = sorted(t for t in subject.masks if state.mask(record.subject_id, t).any())
        if not present:
            return
        keyframes = self._keyframes(present, subject.prompt_frames, video.fps)
        n = len(keyframes)
        cap = self.config.max_objects_per_subject
        for k, t in enumerate(keyframes):
            stage.part(k, n)(0.0, "discovering objects", k, n, unit="keyframe", frame_idx=t)
            room = None if cap is None else cap - len(record.object_ids)
            if room is not None and room <= 0:
                break
            known = [
                m for i in state.obj_ids if i != record.subject_id and (m := state.mask(i, t)) is not None and m.any()
            ]
            known += [rle_decode(masks[t]) for masks in session.dropped.values() if t in masks]
            subject_mask = state.mask(record.subject_id, t)
            prompt = subject.prompts.get(t)
            # The clicks tell which part is surely the subject, which lets discovery split off an object that a
            # single click's mask swallowed (e.g. the bike under its rider); without clicks that split is off.
            anchors = prompt.positive_points_xy if prompt is not None and len(prompt.labels) else None
            proposals = (session.discover or self.discover)(
                self.segmenter,
                state,
                subject_mask,
                t,
                known_masks=known,
                subject_points_xy=anchors,
                config=self.config.discovery,
            )
            record.proposed_points += [
                [t, *map(float, xy)] for p in proposals for xy in np.reshape(p.points_xy, (-1, 2))
            ]
            # At most one object may claim subject pixels per keyframe (the best ranked): a second claim is more
            # often a false split of the subject itself (a part of it, such as a rider's head) than an object.
            first_claim = next((k for k, p in enumerate(proposals) if p.claims_subject), None)
            proposals = [p for k, p in enumerate(proposals) if not p.claims_subject or k == first_claim][:room]
            new_ids, retrack = [], []
            for proposal in proposals:
                if proposal.claims_subject:
                    subject_mask = subject_mask & ~proposal.mask
                    self.segmenter.add_mask(state, record.subject_id, t, subject_mask)
                    retrack = [record.subject_id]
                obj_id = session.next_id()
                self.segmenter.add_mask(state, obj_id, t, proposal.mask)
                record.object_ids.append(obj_id)
                record.discovery_points[obj_id] = np.asarray(proposal.points_xy, dtype=float).round(1).tolist()
                record.discovery_frames[obj_id] = t
                new_ids.append(obj_id)
            if new_ids:
                found = stage.part(2 * k + 1, 2 * n)  # the keyframe's second half: tracking what it found
                found(0.0, "discovering objects", k + 1, n, unit="keyframe", frame_idx=t, entity_ids=tuple(new_ids))
                self._track(session, retrack + new_ids, found)
                for obj_id in new_ids:
                    if not self._plausible_track(state, record, obj_id):
                        logger.info(
                            "dropping object %d found at frame %d: implausible track (leak, too short, the subject's "
                            "backdrop or a still surface cut by the frame)",
                            obj_id,
                            t,
                        )
                        self.segmenter.remove_object(state, obj_id)
                        record.object_ids.remove(obj_id)
                self._merge_pieces(state, record, [i for i in new_ids if i in record.object_ids], t)
        stage(1.0, "discovering objects", n, n, unit="keyframe")

    def _merge_pieces(self, state: SegmenterState, record: SubjectRecord, new_ids: list[int], keyframe: int) -> None:
        """Merge each object found on ``keyframe`` into an earlier-kept object of the subject (found before it, or
        ranked above it on this keyframe) that it is a piece of (``PipelineConfig.piece_min_touching``)."""
        share = self.config.piece_min_touching
        if share is None:
            return
        reach = self.config.min_object_frames
        frames = range(max(0, keyframe - reach), min(len(state.video), keyframe + reach + 1))
        subject_masks = state.track(record.subject_id).masks
        contact_px = self.config.discovery.contact_radius_px
        for obj_id in new_ids:
            masks = self._discovered_masks(state, record, obj_id)
            for host in record.object_ids[: record.object_ids.index(obj_id)]:
                if are_pieces(
                    self._discovered_masks(state, record, host),
                    masks,
                    subject_masks,
                    frames,
                    lambda t: flow_at(state, t),
                    min_touching=share,
                    contact_px=contact_px,
                    motion_px=self.config.discovery.surface_motion_px,
                ):
                    logger.info("object %d found at frame %d is a piece of object %d: merged", obj_id, keyframe, host)
                    joined = merged_track(state.track(host).masks, state.track(obj_id).masks, contact_px)
                    state.track(host).masks = joined
                    self.segmenter.remove_object(state, obj_id)
                    record.object_ids.remove(obj_id)
                    record.discovery_points.pop(obj_id, None)
                    record.discovery_frames.pop(obj_id, None)
                    break

    def _track(self, session: Session, ids: list[int], stage: BuildStage, *, added: bool = False) -> None:
        """Track ``ids`` both ways, each frame a step of the phase ``"<who>: tracking forward"`` (then backward)."""
        groups = (("subject", [i for i in ids if i in session.subjects]),)
        groups += (("added object" if added else "object", [i for i in ids if i not in session.subjects]),)
        # e.g. "subject 1, objects 3, 4" (a subject is tracked again with the objects that took pixels from it)
        who = ", ".join(
            f"{noun}{'s' * (len(group) > 1)} {', '.join(map(str, group))}" for noun, group in groups if group
        )
        entity_ids = tuple(ids)

        def tracked(direction: str, done: int, total: int, frame_idx: int) -> None:
            within = (done / total + (direction == "backward")) / 2  # forward is the first half, backward the second
            phase = f"{who}: tracking {direction}"
            stage(within, phase, done, total, unit="frame", frame_idx=frame_idx, entity_ids=entity_ids)

        track_both_directions(self.segmenter, session.state, ids, progress=tracked)

    def _plausible_track(self, state: SegmenterState, record: SubjectRecord, obj_id: int) -> bool:
        config, keyframe = self.config, record.discovery_frames[obj_id]
        track, subject_masks = state.track(obj_id), state.track(record.subject_id).masks
        areas = {t: rle_area(rle) for t, rle in self._discovered_masks(state, record, obj_id).items()}
        frame_area = state.video.width * state.video.height
        start = max(rle_area(track.masks[keyframe]) if keyframe in track.masks else 0, 1)
        peak = max(areas.values(), default=0)
        present = [t for t, area in areas.items() if area > 0]
        return (
            (config.max_object_area_frac is None or peak <= config.max_object_area_frac * frame_area)
            and (config.max_object_growth is None or peak <= config.max_object_growth * start)
            and lives_around(present, keyframe, config.min_object_frames, len(state.video))
            and (
                config.backdrop_share is None
                or not is_backdrop(track.masks, subject_masks, keyframe, config.backdrop_share)
            )
            and (
                config.out_of_view_border is None
                or not is_out_of_view(track.masks, subject_masks, keyframe, config.out_of_view_border)
            )
        )

    def _discovered_masks(self, state: SegmenterState, record: SubjectRecord, obj_id: int) -> dict[int, dict]:
        """A discovered object's track (working frame -> RLE) without the frames where it lies on its subject
        (``PipelineConfig.max_on_subject_share``), then without those beyond a jump of its track
        (``PipelineConfig.max_track_jump``), then without those whose colours are not its keyframe mask's
        (``PipelineConfig.min_colour_likeness``), then without those where it holds only a speck
        (``PipelineConfig.min_frame_share``)."""
        masks = dict(state.track(obj_id).masks)
        share, jump = self.config.max_on_subject_share, self.config.max_track_jump
        if share is not None:
            masks = apart_track(masks, state.track(record.subject_id).masks, share)
        keyframe = record.discovery_frames.get(obj_id)
        if jump is not None and keyframe is not None:
            masks = steady_track(masks, keyframe, state.flows.shot_starts(), jump)
        if self.config.min_colour_likeness is not None and keyframe is not None:
            masks = alike_track(masks, keyframe, state.video.frames, self.config.min_colour_likeness)
        if self.config.min_frame_share is not None:
            masks = without_specks(masks, self.config.min_frame_share)
        return masks

    def _keyframes(self, present: list[int], prompt_frames: list[int], fps: float) -> list[int]:
        step = max(1, int(round(self.config.keyframe_interval_s * fps)))
        first = min(prompt_frames) if prompt_frames else present[0]
        visible = set(present)
        keys = [first] + [t for t in present if t != first and (t - first) % step == 0]
        return [t for t in dict.fromkeys(keys) if t in visible]

    def _forget_objects(self, session: Session, record: SubjectRecord) -> None:
        """A re-prompted subject invalidates its discovered objects (they are rediscovered at the next build)."""
        for obj_id in record.object_ids:
            self.segmenter.remove_object(session.state, obj_id)
            session.labels.pop(obj_id, None)
        session.renamed = {k: v for k, v in session.renamed.items() if not set(k[:2]) & set(record.object_ids)}
        record.object_ids.clear()


def lives_around(present: Sequence[int], keyframe: int, frames: int, num_frames: int) -> bool:
    """True when a track is present (``present``: its frame indices) on at least ``frames`` of the frames within
    ``frames`` of its ``keyframe`` (fewer in a shorter video): a track lost at once does not count frames where
    the tracker later latched onto something else, and one gap of a frame or two does not break a real track."""
    near = sum(abs(t - keyframe) <= frames for t in set(present))
    return near >= min(frames, num_frames)


def _video_id(video: Video) -> str:
    return Path(video.info.source).stem if video.info.source else "video"
