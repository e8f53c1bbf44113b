"""Class-conditional predicate prior ``P(predicate | subject class, object class)`` from OpenPVSG annotations.

**Counts.** Every relation entry ``[subject_id, object_id, predicate, spans]`` of the chosen split's videos
counts **once**, however many frames its spans cover: the OpenPVSG metric scores each annotated triplet once,
and weighting by span length would let long static relations ("on" a table for a whole clip) drown short
actions ("picking", "blowing"). Classes are the objects' ``category`` strings verbatim.

**Smoothing (back-off), with** ``α = 1.0`` (:data:`DEFAULT_ALPHA`) **and P predicates**::

    P(p)       = (n(p) + 1) / (N + P)                         Laplace over the vocabulary: no predicate gets 0
    P(p|s)     = (n(s, p)    + α P(p))   / (n(s)    + α)      backs off to the marginal
    P(p|s, o)  = (n(s, o, p) + α P(p|s)) / (n(s, o) + α)      backs off to the subject's distribution

Each level is a proper distribution over the P predicates (sums to 1). A subject class never seen as a subject
(a user's own word, the default "subject", "object 3") has ``n(s) = 0`` and so gets the marginal; a seen subject
with an unseen object class gets ``P(p | s)``. :meth:`PredicatePrior.lift` divides by the marginal, so for
unknown classes the lift is exactly 1 (neutral) when fusion applies it (:func:`click2graph.semantics.fusion.fuse`).

The prior is saved as a small JSON file (counts + metadata), by default :data:`DEFAULT_PRIOR_PATH`
(``weights/predicate_prior.json``, a local file that is not committed); build it with
``python -m click2graph prior build PVSG_JSON [--split train] [--out weights/predicate_prior.json]``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from click2graph.data.openpvsg import pvsg_json_path
from click2graph.errors import Click2GraphError
from click2graph.semantics.vocab import OPENPVSG
from click2graph.weights import WEIGHTS_DIR

DEFAULT_PRIOR_PATH = WEIGHTS_DIR / "predicate_prior.json"
DEFAULT_ALPHA = 1.0
ALL_SPLITS = "all"  # split name meaning every video of the file
FORMAT = "click2graph.predicate_prior"
VERSION = 1
_RESERVED = frozenset({"format", "version", "alpha", "predicates", "counts"})  # file keys that are not metadata


class PriorError(Click2GraphError):
    """A predicate prior cannot be built or loaded (no such split, no relations, unreadable or foreign file)."""


class PredicatePrior:
    """Smoothed ``P(predicate | subject class, object class)`` (see the module docstring for the formulas).

    Args:
        predicates: the predicate vocabulary, in index order.
        counts: ``(subject class, object class, predicate) -> number of relation entries``.
        alpha: back-off strength α.
        metadata: where the counts come from (``source``, ``split``, ``num_videos``, ``num_relations``,
            ``skipped_relations``); kept in the saved file.
    """

    def __init__(
        self,
        predicates: Sequence[str],
        counts: dict[tuple[str, str, str], int],
        *,
        alpha: float = DEFAULT_ALPHA,
        metadata: dict | None = None,
    ) -> None:
        if alpha <= 0:
            raise ValueError(f"alpha must be > 0, got {alpha}")
        self.predicates = tuple(predicates)
        if len(set(self.predicates)) != len(self.predicates):
            raise ValueError("predicates must be unique")
        index = {p: i for i, p in enumerate(self.predicates)}
        unknown = sorted({p for _, _, p in counts if p not in index})
        if unknown:
            raise ValueError(f"counts name predicates outside the vocabulary: {unknown}")
        self.alpha = float(alpha)
        self.metadata = dict(metadata or {})
        self.counts = {key: int(n) for key, n in counts.items() if n > 0}
        num = len(self.predicates)
        self._pair: dict[tuple[str, str], np.ndarray] = {}
        self._subject: dict[str, np.ndarray] = {}
        total = np.zeros(num)
        for (s, o, p), n in self.counts.items():
            self._pair.setdefault((s, o), np.zeros(num))[index[p]] += n
            self._subject.setdefault(s, np.zeros(num))[index[p]] += n
            total[index[p]] += n
        self._total = total
        self._marginal = (total + 1.0) / (total.sum() + num)

    # -- building --------------------------------------------------------------------------------------------

    @classmethod
    def from_triplets(
        cls,
        triplets: Iterable[tuple[str, str, str]],
        predicates: Sequence[str] = OPENPVSG.predicates,
        *,
        alpha: float = DEFAULT_ALPHA,
        metadata: dict | None = None,
    ) -> PredicatePrior:
        """Count ``(subject class, object class, predicate)`` triplets, one per relation entry."""
        return cls(predicates, dict(Counter(triplets)), alpha=alpha, metadata=metadata)

    @classmethod
    def build(cls, pvsg_json: str | Path, split: str = "train", *, alpha: float = DEFAULT_ALPHA) -> PredicatePrior:
        """Count the relations of ``split``'s videos in an OpenPVSG ``pvsg.json`` (file or folder holding it).

        ``split`` is a split key of the file's ``split`` table (``"train"``, ``"val"``), looked up over all its
        sources, or ``"all"`` for every video. The predicate vocabulary is the file's ``relations`` list;
        relation entries whose predicate is outside it, or whose subject/object id has no object entry, are
        skipped and counted in ``metadata["skipped_relations"]``.

        Raises:
            PriorError: the file cannot be read, has no such split, or the split has no relations.
        """
        json_path = pvsg_json_path(pvsg_json)
        try:
            data = json.loads(json_path.read_text(encoding="utf-8"))
            predicates = tuple(data["relations"])
            table = data["split"]
            entries = data["data"]
        except FileNotFoundError:
            raise PriorError(f"no annotation file at {json_path}: pass the path of an OpenPVSG pvsg.json") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PriorError(
                f"{json_path} is not a readable OpenPVSG pvsg.json ({type(exc).__name__}: {exc}); it needs "
                "'relations', 'split' and 'data'"
            ) from None
        splits = sorted({name for parts in table.values() for name in parts})
        if split == ALL_SPLITS:
            wanted = {entry["video_id"] for entry in entries}
        elif split in splits:
            wanted = {vid for parts in table.values() for vid in parts.get(split, [])}
        else:
            raise PriorError(
                f"{json_path.name} has no split {split!r} (splits found: {', '.join(splits) or 'none'}); "
                f"pass --split with one of them, or '{ALL_SPLITS}'"
            )
        index = set(predicates)
        triplets: list[tuple[str, str, str]] = []
        videos = skipped = 0
        for entry in entries:
            if entry["video_id"] not in wanted:
                continue
            videos += 1
            category = {int(obj["object_id"]): str(obj["category"]) for obj in entry.get("objects", [])}
            for subject_id, object_id, predicate, *_ in entry.get("relations", []):
                s, o = category.get(int(subject_id)), category.get(int(object_id))
                if s is None or o is None or predicate not in index:
                    skipped += 1
                    continue
                triplets.append((s, o, predicate))
        if not triplets:
            raise PriorError(
                f"split {split!r} of {json_path.name} has no usable relations ({videos} videos, {skipped} skipped "
                "entries): a prior needs annotated relations; pick another split"
            )
        metadata = {
            "source": json_path.name,
            "split": split,
            "num_videos": videos,
            "num_relations": len(triplets),
            "skipped_relations": skipped,
        }
        return cls.from_triplets(triplets, predicates, alpha=alpha, metadata=metadata)

    # -- queries ---------------------------------------------------------------------------------------------

    @property
    def num_relations(self) -> int:
        return int(self._total.sum())

    def marginal(self) -> np.ndarray:
        """float (P,) Laplace-smoothed ``P(p)``, aligned with :attr:`predicates`."""
        return self._marginal.copy()

    def subject_distribution(self, subject_class: str) -> np.ndarray:
        """float (P,) ``P(p | s)``; the marginal for a subject class never seen as a subject."""
        counts = self._subject.get(subject_class)
        if counts is None:
            return self._marginal.copy()
        return (counts + self.alpha * self._marginal) / (counts.sum() + self.alpha)

    def distribution(self, subject_class: str, object_class: str) -> np.ndarray:
        """float (P,) ``P(p | s, o)`` aligned with :attr:`predicates`; sums to 1."""
        back_off = self.subject_distribution(subject_class)
        counts = self._pair.get((subject_class, object_class))
        if counts is None:
            return back_off
        return (counts + self.alpha * back_off) / (counts.sum() + self.alpha)

    def prob(
        self, subject_class: str, object_class: str, predicates: Sequence[str] | None = None
    ) -> dict[str, float] | np.ndarray:
        """``P(p | s, o)``: a dict predicate -> probability (all of :attr:`predicates`) when ``predicates`` is
        None, else a float array aligned with ``predicates`` (0.0 for a predicate outside the vocabulary)."""
        dist = self.distribution(subject_class, object_class)
        if predicates is None:
            return {p: float(v) for p, v in zip(self.predicates, dist)}
        return self._align(dist, predicates, fill=0.0)

    def lift(self, subject_class: str, object_class: str, predicates: Sequence[str] | None = None) -> np.ndarray:
        """float array ``P(p | s, o) / P(p)`` aligned with ``predicates`` (default :attr:`predicates`): what
        :func:`click2graph.semantics.fusion.fuse` takes as ``prior``. 1.0 for unknown classes (the back-off
        reaches the marginal) and for predicates outside the vocabulary."""
        ratio = self.distribution(subject_class, object_class) / self._marginal
        return ratio if predicates is None else self._align(ratio, predicates, fill=1.0)

    def level(self, subject_class: str, object_class: str) -> str:
        """Which back-off level has data: ``"pair"``, ``"subject"`` or ``"marginal"``."""
        if (subject_class, object_class) in self._pair:
            return "pair"
        return "subject" if subject_class in self._subject else "marginal"

    def count(self, subject_class: str, object_class: str, predicate: str | None = None) -> int:
        """Relation entries of the pair of classes (with ``predicate``, or all predicates when None)."""
        counts = self._pair.get((subject_class, object_class))
        if counts is None:
            return 0
        return int(counts.sum() if predicate is None else counts[self.predicates.index(predicate)])

    def top_predicates(self, k: int = 10) -> list[tuple[str, int]]:
        """The ``k`` most frequent predicates with their counts (ties by vocabulary order)."""
        order = sorted(range(len(self.predicates)), key=lambda i: (-self._total[i], i))
        return [(self.predicates[i], int(self._total[i])) for i in order[:k] if self._total[i] > 0]

    def summary(self, k: int = 10) -> str:
        """A few lines: where the counts come from and the most frequent predicates."""
        m = self.metadata
        seen = int((self._total > 0).sum())
        head = (
            f"predicate prior from {m.get('source', '?')}, split {m.get('split', '?')}: "
            f"{m.get('num_videos', '?')} videos, {self.num_relations} relations"
            f" ({m.get('skipped_relations', 0)} skipped), {len(self._pair)} subject-object class pairs, "
            f"{seen} of {len(self.predicates)} predicates seen, alpha {self.alpha:g}"
        )
        total = max(1, self.num_relations)
        top = ", ".join(f"{p} {n} ({100 * n / total:.1f}%)" for p, n in self.top_predicates(k))
        return f"{head}\ntop predicates: {top}"

    def _align(self, values: np.ndarray, predicates: Sequence[str], *, fill: float) -> np.ndarray:
        """``values`` (aligned with :attr:`predicates`) re-ordered to ``predicates``; ``fill`` for unknown ones."""
        index = {p: i for i, p in enumerate(self.predicates)}
        return np.array([values[index[p]] if p in index else fill for p in predicates], dtype=float)

    # -- files -----------------------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        index = {p: i for i, p in enumerate(self.predicates)}
        rows = sorted([s, o, index[p], n] for (s, o, p), n in self.counts.items())
        metadata = {k: v for k, v in self.metadata.items() if k not in _RESERVED}
        return {
            "format": FORMAT,
            "version": VERSION,
            **metadata,
            "alpha": self.alpha,
            "predicates": list(self.predicates),
            "counts": rows,
        }

    @classmethod
    def from_dict(cls, data: dict) -> PredicatePrior:
        if data.get("format") != FORMAT:
            raise PriorError(f"not a predicate prior (format {data.get('format')!r}, expected {FORMAT!r})")
        if int(data.get("version", 0)) > VERSION:
            raise PriorError(f"predicate prior version {data['version']} is newer than this code ({VERSION})")
        predicates = tuple(data["predicates"])
        counts = {(str(s), str(o), predicates[int(i)]): int(n) for s, o, i, n in data["counts"]}
        metadata = {k: v for k, v in data.items() if k not in _RESERVED}
        return cls(predicates, counts, alpha=float(data["alpha"]), metadata=metadata)

    def save(self, path: str | Path = DEFAULT_PRIOR_PATH) -> Path:
        """Write the prior as JSON (parent folders are created); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), separators=(",", ":")) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PRIOR_PATH) -> PredicatePrior:
        """Read a prior written by :meth:`save`.

        Raises:
            PriorError: missing, unreadable or not a predicate prior.
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PriorError(
                f"no predicate prior at {path}: build one with "
                f"`python -m click2graph prior build PVSG_JSON --out {path}`"
            ) from None
        except (OSError, ValueError) as exc:
            raise PriorError(f"cannot read the predicate prior {path}: {exc}") from None
        try:
            return cls.from_dict(data)
        except PriorError:
            raise
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise PriorError(f"{path} is a damaged predicate prior ({type(exc).__name__}: {exc})") from None
