"""The body of one Ray actor of ``transcribe --engine ray`` (a plain class: Ray is not imported here).

An actor loads the model once, then prepares (hash or download, decode, silence check) and
transcribes one media file per call and returns an :class:`~transcribe.work.Attempt`: no audio
and no ledger access leave the actor. Two calls may run at once (the actor is threaded), so one
file is fetched and decoded while the model works on the other; the model itself runs one file
at a time.

What the actor needs on its machine: the model directory at the same path as on the driver, local
input files at the same path (a shared file system), network access for URLs, and provenance
installed in the same Python environment.
"""

from __future__ import annotations

import platform
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from transcribe.backend import WhisperBackend
from transcribe.model import ModelError, ModelSpec, Runtime, check_runtime, sha256_file
from transcribe.scratch import ScratchDir, unique_name
from transcribe.sources import MediaItem
from transcribe.work import Attempt, Preparer, attempt

if TYPE_CHECKING:
    from transcribe.pipeline import Settings

SCRATCH_ROOT = "provenance-transcribe"  # under the node's temporary directory


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """What an actor reports once its model is loaded (or why it could not load it)."""

    host: str
    weights_sha256: str | None
    error: str | None = None


class TranscribeWorker:
    """One model, loaded once; ``attempt(item)`` for each media file sent to this actor."""

    def __init__(self, spec: ModelSpec, runtime: Runtime, settings: Settings, status: Mapping[str, str]):
        self.host = platform.node()
        self.error: str | None = None
        self.backend: WhisperBackend | None = None
        self.weights_sha256: str | None = None
        try:
            check_runtime(runtime)
            self.backend = WhisperBackend(spec, runtime, settings.options)
            self.weights_sha256 = sha256_file(spec.path / "model.bin")
        except (ModelError, OSError) as exc:  # reported by ready(), so the driver can say what is wrong
            self.error = f"on {self.host}: {exc}"
        # downloads in progress, on this node; folders of killed actors are removed here
        self.scratch = ScratchDir(Path(tempfile.gettempdir()) / SCRATCH_ROOT, unique_name("actor-"))
        fetcher = settings.fetcher(self.scratch.open())
        # duplicates within the run are decided by the driver, in input order (claim=False)
        self.preparer = Preparer(fetcher, settings, status, claim=False)
        self.model_lock = threading.Lock()

    def ready(self) -> WorkerInfo:
        return WorkerInfo(self.host, self.weights_sha256, self.error)

    def _backend(self) -> WhisperBackend:
        if self.backend is None:  # ready() said so; the driver does not send work then
            raise ModelError(self.error or "the model is not loaded")
        return self.backend

    def attempt(self, item: MediaItem) -> Attempt:
        prepared = self.preparer(item)  # outside the lock: overlaps the other call's transcription
        with self.model_lock:
            return attempt(prepared, self._backend)

    def close(self) -> None:
        self.scratch.close()
