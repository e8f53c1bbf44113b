"""The discovery strategies by name: the one list the CLI, the evaluation and the app take their choices from.

Each name maps to a factory ``factory(segmenter, learned) -> DiscoveryStrategy``. ``learned()`` returns the trained
modules (loading them on the first call) and raises :class:`~click2graph.errors.CheckpointError` when there are
none; a factory raises that error too when its strategy cannot run with this segmenter (the app then leaves the
strategy out). Built in, in the order users see them: "training-free" (:mod:`.training_free`, any backend),
"heuristic" (:mod:`.heuristic`, the paper's Table 4 baseline) and "learned" (:mod:`.learned`, the trained DIDM on
SAM 2). Another strategy joins them with :func:`register_strategy`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from click2graph.discovery.base import DiscoveryStrategy
from click2graph.discovery.heuristic import HeuristicDiscovery
from click2graph.discovery.training_free import discover_objects
from click2graph.errors import CheckpointError

if TYPE_CHECKING:
    from click2graph.learned.inference import LearnedModules
    from click2graph.segment.base import VideoSegmenter

AUTO = "auto"
"""Not a strategy: the learned DIDM when its checkpoint exists and it can run, else :data:`DEFAULT_STRATEGY`."""
DEFAULT_STRATEGY = "training-free"
LEARNED_STRATEGY = "learned"

LearnedLoader = Callable[[], "LearnedModules"]
StrategyFactory = Callable[["VideoSegmenter", LearnedLoader], DiscoveryStrategy]

_FACTORIES: dict[str, StrategyFactory] = {}


def register_strategy(name: str, factory: StrategyFactory) -> None:
    """Offer a discovery strategy under ``name``, after those registered before (see the module docstring).

    Raises:
        ValueError: the name is taken, or is "auto".
    """
    if name == AUTO or name in _FACTORIES:
        raise ValueError(f"a discovery strategy cannot be registered as {name!r}: the name is taken")
    _FACTORIES[name] = factory


def strategy_names() -> tuple[str, ...]:
    """The registered strategy names, in registration order."""
    return tuple(_FACTORIES)


def make_strategy(name: str, segmenter: VideoSegmenter, learned: LearnedLoader) -> DiscoveryStrategy:
    """The strategy ``name`` for ``segmenter``.

    Raises:
        ValueError: unknown name.
        CheckpointError: the strategy cannot run here (e.g. "learned" without SAM 2 or trained weights).
    """
    if name not in _FACTORIES:
        raise ValueError(f"discovery must be one of {AUTO}, {', '.join(_FACTORIES)}; got {name!r}")
    return _FACTORIES[name](segmenter, learned)


def available_strategies(segmenter: VideoSegmenter, learned: LearnedModules | None) -> dict[str, DiscoveryStrategy]:
    """Every strategy that can run with ``segmenter`` and the already loaded ``learned`` modules (None: none),
    by name, in registration order."""

    def given() -> LearnedModules:
        if learned is None:
            raise CheckpointError("no learned modules were loaded")
        return learned

    available = {}
    for name in _FACTORIES:
        try:
            available[name] = make_strategy(name, segmenter, given)
        except CheckpointError:
            continue
    return available


@dataclass(frozen=True)
class ChosenDiscovery:
    """A strategy picked by name (or by "auto"), with the trained modules it loaded and why "auto" fell back."""

    name: str
    discover: DiscoveryStrategy
    learned: LearnedModules | None = None  # also give them to the Pipeline: their SCH names and relates entities
    notice: str | None = None

    def describe(self) -> str:
        return self.learned.describe() if self.learned is not None else self.name


def choose_strategy(name: str, segmenter: VideoSegmenter, learned_path: str | Path | None = None) -> ChosenDiscovery:
    """The strategy ``name`` (or :data:`AUTO`) for ``segmenter``, trained modules read from ``learned_path``
    (default ``weights/click2graph_learned.pt``) when the strategy needs them.

    "auto" gives no notice unless a checkpoint exists but cannot be used.

    Raises:
        ValueError: unknown name.
        CheckpointError: the named strategy cannot run here.
    """
    from click2graph.learned.inference import DEFAULT_LEARNED_PATH

    path = Path(learned_path or DEFAULT_LEARNED_PATH)
    if name == AUTO:
        if not path.is_file():
            return _chosen(DEFAULT_STRATEGY, segmenter, path)
        try:
            return _chosen(LEARNED_STRATEGY, segmenter, path)
        except CheckpointError as exc:
            return replace(_chosen(DEFAULT_STRATEGY, segmenter, path), notice=f"learned discovery not used: {exc}")
    return _chosen(name, segmenter, path)


def _chosen(name: str, segmenter: VideoSegmenter, learned_path: Path) -> ChosenDiscovery:
    learned = _LoadOnce(learned_path)
    discover = make_strategy(name, segmenter, learned)
    return ChosenDiscovery(name, discover, learned.modules)


class _LoadOnce:
    """Loads the trained modules at ``path`` on the first call (only strategies that need them call it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.modules: LearnedModules | None = None

    def __call__(self) -> LearnedModules:
        if self.modules is None:
            from click2graph.learned.inference import load_learned

            self.modules = load_learned(self.path)
        return self.modules


def _learned_didm(segmenter: VideoSegmenter, learned: LearnedLoader) -> DiscoveryStrategy:
    from click2graph.discovery.learned import DidmDiscovery
    from click2graph.segment.base import require_features

    features = require_features(segmenter)  # before loading: a checkpoint is of no use without SAM 2's features
    modules = learned()
    if modules.didm is None:
        raise CheckpointError(f"{modules.source} holds no DIDM weights")
    modules.check_backbone(features)
    return DidmDiscovery(modules.didm)


register_strategy(DEFAULT_STRATEGY, lambda segmenter, learned: discover_objects)
register_strategy("heuristic", lambda segmenter, learned: HeuristicDiscovery())
register_strategy(LEARNED_STRATEGY, _learned_didm)
