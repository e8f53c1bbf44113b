"""Find a model's files: the ``weights/`` folder, then the Hugging Face hub cache, then a hub download.

Every model (the SAM 2.1 checkpoints of :mod:`click2graph.segment.sam2_checkpoints`, the CLIP folders of
:mod:`click2graph.semantics.clip_models`) is found by :func:`resolve` from its :class:`ModelSpec`, in this order:
its file or folder in a weights folder, the hub cache, then a hub download when allowed and online
(``HF_HUB_OFFLINE`` turns downloads off; a network error counts as offline). What is found is checked by the
caller's ``check`` before it is returned. When nothing is found, the ``CheckpointError`` names every place looked
at and the command that fetches the model.

``huggingface_hub`` is imported only inside the functions that call it, so the classic backend and
``python -m click2graph weights list`` work without it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Generic, Literal, Protocol, TypeVar

from click2graph.errors import CheckpointError

logger = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
"""The repository's ``weights/`` folder: local model files go here (git-ignored)."""

_OFFLINE_ENV_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_TRUE_VALUES = {"1", "on", "yes", "true"}  # what huggingface_hub accepts as true in these variables

Source = Literal["path", "weights_dir", "hub_cache", "hub_download"]


@dataclass(frozen=True)
class HubFile:
    """A model that is one file of its hub repo, kept as ``<weights folder>/<filename>``."""

    filename: str

    def local_path(self, weights_dir: Path) -> Path:
        return Path(weights_dir) / self.filename

    def is_present(self, path: Path) -> bool:
        return path.is_file()

    def describe(self, hub_id: str) -> str:
        return f"{self.filename} from {hub_id}"

    def find_in_cache(self, hub_id: str) -> tuple[Path | None, str]:
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:
            return None, ""
        cached = try_to_load_from_cache(repo_id=hub_id, filename=self.filename)
        # A str is a path; None means not cached and a sentinel object means "known not to exist on the hub".
        return (Path(cached) if isinstance(cached, str) else None), ""

    def fetch(self, hub_id: str, dest: Path | None, *, force: bool) -> Path:
        """``hf_hub_download`` into the hub cache, or to ``dest`` (a file path) when given."""
        from huggingface_hub import hf_hub_download

        again = {"force_download": True} if force else {}
        local_dir = None if dest is None else dest.parent
        return Path(hf_hub_download(repo_id=hub_id, filename=self.filename, local_dir=local_dir, **again))


@dataclass(frozen=True)
class HubFolder:
    """A model that is several files of its hub repo (those matching ``patterns``), kept as a folder
    ``<weights folder>/<name>/``; ``is_complete`` says whether a folder holds every file the model needs."""

    name: str
    patterns: tuple[str, ...]
    is_complete: Callable[[Path], bool]

    def local_path(self, weights_dir: Path) -> Path:
        return Path(weights_dir) / self.name

    def is_present(self, path: Path) -> bool:
        return path.is_dir()

    def describe(self, hub_id: str) -> str:
        return hub_id

    def find_in_cache(self, hub_id: str) -> tuple[Path | None, str]:
        """The cached snapshot folder if it is complete, and a note for the not-found message when it is not."""
        try:
            from huggingface_hub import snapshot_download
        except ImportError:
            return None, ""
        try:
            folder = Path(snapshot_download(hub_id, local_files_only=True, allow_patterns=list(self.patterns)))
        except (OSError, ValueError):  # LocalEntryNotFoundError (an OSError) when nothing is cached
            return None, ""
        if self.is_complete(folder):
            return folder, ""
        return None, f"; {folder} is incomplete"

    def fetch(self, hub_id: str, dest: Path | None, *, force: bool) -> Path:
        """``snapshot_download`` into the hub cache, or into the folder ``dest`` (given a ``.gitignore`` of ``*``
        so that a folder outside ``weights/`` is never committed either)."""
        from huggingface_hub import snapshot_download

        if dest is not None:
            dest.mkdir(parents=True, exist_ok=True)
            gitignore = dest / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("*\n", encoding="utf-8")
        folder = snapshot_download(hub_id, allow_patterns=list(self.patterns), local_dir=dest, force_download=force)
        return Path(folder)


class ModelSpec(Protocol):
    """What :func:`resolve` needs to know of a model: its names, its files, and where else to get them."""

    name: str  # the name ``python -m click2graph weights download`` takes
    hub_id: str  # the Hugging Face model repo
    size_mb: int  # download size, MB
    default_dir: ClassVar[Path]  # the weights folder searched and filled when the caller names none

    @property
    def label(self) -> str:
        """What messages call the model, e.g. "SAM 2.1 hiera-tiny checkpoint"."""
        ...

    @property
    def files(self) -> HubFile | HubFolder: ...

    @property
    def manual_url(self) -> str:
        """Where to fetch the files by hand when the hub cannot be used."""
        ...

    def by_hand(self, weights_dir: Path) -> str:
        """How to put the model into ``weights_dir`` without this tool, e.g. "put FILE (from URL) into DIR/"."""
        ...


SpecT = TypeVar("SpecT")


@dataclass(frozen=True)
class ResolvedModel(Generic[SpecT]):
    """A model's file or folder on disk, which model it is meant to be, and where it was found."""

    spec: SpecT
    path: Path
    source: Source  # "path" (given by the caller), "weights_dir", "hub_cache" or "hub_download"


def found(spec: SpecT, path: Path, source: Source) -> ResolvedModel[SpecT]:
    """The result of a resolution, logged (``spec`` None: a file or folder the caller named)."""
    logger.info("%s: using %s (%s)", spec.label if spec is not None else "model", path, source)
    return ResolvedModel(spec, Path(path), source)


def resolve(
    spec: ModelSpec,
    weights_dir: Path,
    *,
    allow_download: bool = True,
    offline: bool | None = None,
    check: Callable[[Path], None] | None = None,
) -> ResolvedModel:
    """Find a known model's files, downloading them only as the last resort.

    Order: (1) its file or folder in ``weights_dir``; (2) the Hugging Face hub cache (a folder there that lacks
    files, an interrupted download, counts as not cached); (3) a hub download into that cache, if
    ``allow_download`` and online. What (1) or (2) finds is passed to ``check``, whose ``CheckpointError`` is
    raised; a download that fails ``check`` counts as not downloaded.

    Args:
        spec: the model.
        weights_dir: the local folder searched in step 1.
        allow_download: whether step 3 may run.
        offline: skip step 3; None reads ``HF_HUB_OFFLINE`` (as huggingface_hub does).
        check: what makes a found file or folder usable (None: the caller checks it later).

    Raises:
        CheckpointError: nothing found (the message names every place looked at and the command that fetches the
            model), or what was found fails ``check``.
    """
    files = spec.files
    local = files.local_path(weights_dir)
    if files.is_present(local):
        if check is not None:
            check(local)
        return found(spec, local, "weights_dir")
    cached, cache_note = files.find_in_cache(spec.hub_id)
    if cached is not None:
        if check is not None:
            check(cached)
        return found(spec, cached, "hub_cache")

    def fetch() -> Path:
        downloaded = _download(spec, None)
        if check is not None:
            check(downloaded)
        return downloaded

    downloaded, why = _try_download(fetch, allow_download=allow_download, offline=offline)
    if downloaded is not None:
        return found(spec, downloaded, "hub_download")
    looked = f"the folder {local}" if isinstance(files, HubFolder) else str(local)
    raise CheckpointError(
        f"{spec.label} not found: looked for {looked}, then for {files.describe(spec.hub_id)} in the Hugging Face "
        f"hub cache ({_hub_cache_dir()}{cache_note}), and did not download it ({why}). "
        f"{fetch_hint(spec, Path(weights_dir))}"
    )


def download(spec: ModelSpec, weights_dir: Path, *, force: bool = False) -> Path:
    """Download a model from the hub to its place in ``weights_dir``, for offline use (with a progress bar).

    ``force``: download again over files already there (a damaged download).

    Raises:
        CheckpointError: offline, huggingface_hub missing, or a network or hub error.
    """
    if hub_offline():
        raise CheckpointError(
            f"cannot download {spec.files.describe(spec.hub_id)}: huggingface_hub is in offline mode (HF_HUB_OFFLINE "
            f"is set); unset it, or {spec.by_hand(Path(weights_dir))}"
        )
    return _download(spec, spec.files.local_path(weights_dir), force=force)


def fetch_hint(spec: ModelSpec, weights_dir: Path) -> str:
    """The sentence that ends a not-found message: the command that fetches the model, or how to do it by hand."""
    command = f"python -m click2graph weights download {spec.name}"
    if weights_dir.resolve() != spec.default_dir.resolve():
        command += f" --dir {weights_dir}"
    return f"Fetch it with `{command}` (needs internet), or {spec.by_hand(weights_dir)}"


def hub_offline() -> bool:
    """Whether huggingface_hub's offline mode is on (``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE``)."""
    return any(os.environ.get(var, "").strip().lower() in _TRUE_VALUES for var in _OFFLINE_ENV_VARS)


def hub_reachable(timeout_s: float = 2.0) -> bool:
    """Whether huggingface.co answers within ``timeout_s`` (so an offline machine falls back at once)."""
    import socket

    try:
        with socket.create_connection(("huggingface.co", 443), timeout=timeout_s):
            return True
    except OSError:
        logger.info("the Hugging Face hub is not reachable: no download")
        return False


def first_line(exc: BaseException) -> str:
    """The first sentence of an exception's message (torch, transformers and huggingface_hub write paragraphs)."""
    text = str(exc).strip()
    return text.splitlines()[0].split(". ")[0][:200] if text else type(exc).__name__


def _try_download(fetch: Callable[[], Path], *, allow_download: bool, offline: bool | None) -> tuple[Path | None, str]:
    """``(fetch(), "")``, or ``(None, why it was not downloaded)``; a ``CheckpointError`` of ``fetch`` is the why."""
    if not allow_download:
        return None, "downloading was not allowed"
    if offline or (offline is None and hub_offline()):
        return None, "offline (HF_HUB_OFFLINE is set)" if offline is None else "offline"
    try:
        return fetch(), ""
    except CheckpointError as exc:
        return None, str(exc)


def _download(spec: ModelSpec, dest: Path | None, *, force: bool = False) -> Path:
    """The model's files from the hub into the hub cache (``dest`` None) or to ``dest``; errors become one-line
    ``CheckpointError``s."""
    what = spec.files.describe(spec.hub_id)
    logger.info("downloading %s (%d MB)", what, spec.size_mb)
    try:
        return spec.files.fetch(spec.hub_id, dest, force=force)
    except ImportError:  # the layout imports huggingface_hub's download function when it runs
        raise CheckpointError(
            f"cannot download {what}: huggingface_hub is not installed (pip install huggingface_hub)"
        ) from None
    except (OSError, ValueError) as exc:  # huggingface_hub's network, offline and HTTP errors are all OSErrors
        raise CheckpointError(
            f"could not download {what}: {first_line(exc)} (no internet? fetch {spec.manual_url} by hand)"
        ) from exc


def _hub_cache_dir() -> str:
    try:
        from huggingface_hub import constants
    except ImportError:
        return "huggingface_hub not installed"
    return str(constants.HF_HUB_CACHE)
