"""The transcription run: plan, transcribe, commit in batches; resumable and idempotent.

* The run plans the work (what is new, what is done, what failed before) and is the only writer
  of the ledger; an engine does the work and hands back an :class:`~transcribe.work.Attempt` per
  file, in input order. :class:`LocalEngine` works in this process; the Ray engine
  (:mod:`transcribe.distributed`) on Ray actors, one model per actor.
* Locally, preparing a media file (hash or download, decode, silence check) runs one file ahead in
  a worker thread, so fetching and decoding overlap the model's work on the previous file. The
  model is loaded once per run: in the background while the first file is prepared when work is
  known to be waiting, else when the first file needs it (a run with nothing to do loads none).
* Outcomes are committed to the ledger every ``commit_every_s`` seconds or ``commit_every``
  files, each batch in one transaction (shard, documents, transcriptions, segments together),
  through a short write connection, so ``provenance sql`` can read between commits. A run that is
  stopped keeps what it committed; the next run skips it.
* Skipped: media whose transcript is done (unless ``force``), and media that failed before
  (unless ``retry_failed``). The lineage of done transcripts is refreshed when the embedding
  page's license or consent changed since (a new document observation, no new transcription).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, Protocol

from provenance.agents import training_agents
from provenance.errors import ProvenanceError
from provenance.ids import doc_id_for_url, utcnow
from provenance.ledger import Ledger, LedgerLockedError
from provenance.progress import Progress, quiet
from provenance.records import Document
from provenance.stage import open_run
from provenance.store import DocumentStore
from transcribe.backend import WhisperBackend
from transcribe.model import CHECKSUM_CACHE, ModelSpec, Runtime, weights_sha256
from transcribe.rows import ModelInfo, Outcome, OutcomeRows
from transcribe.scratch import ScratchDir
from transcribe.settings import Settings
from transcribe.sources import MediaItem, items_from_args, items_from_ledger
from transcribe.work import Attempt, Prepared, Preparer, as_error, attempt, prefetched

__all__ = ["Attempt", "Engine", "LocalEngine", "Prepared", "Preparer", "Request", "Run", "Settings", "Stats",
           "TranscribeError", "transcribe_media", "transcribe_progress"]

MAX_CONSECUTIVE_BACKEND_ERRORS = 3
FINAL_LOCK_WAIT_S = 300.0  # the last commit of a run waits this long for another writer to finish


class TranscribeError(ProvenanceError):
    """The run cannot go on (e.g. the model fails on every file)."""


@dataclass(slots=True)
class Stats:
    """Counters of a run, updated as it goes (the progress display reads them)."""

    queued: int = 0
    done: int = 0
    failed: int = 0
    skipped_done: int = 0
    skipped_failed: int = 0
    relabelled: int = 0
    audio_s: float = 0.0  # audio transcribed
    busy_s: float = 0.0  # time inside the model
    started: float = field(default_factory=time.monotonic)

    @property
    def processed(self) -> int:
        return self.done + self.failed

    @property
    def wall_s(self) -> float:
        return time.monotonic() - self.started

    @property
    def real_time_factor(self) -> float | None:
        """Wall time per second of audio (below 1: faster than real time)."""
        return self.wall_s / self.audio_s if self.audio_s else None

    def audio_label(self) -> str:
        return f"{self.audio_s / 3600:.2f} h" if self.audio_s >= 360 else f"{self.audio_s / 60:.1f} min"

    def rate_label(self) -> str:
        rtf = self.real_time_factor
        return f"RTF {rtf:.3f} ({1 / rtf:.1f}x real time)" if rtf else "RTF -"

    def counts(self) -> dict[str, Any]:
        return {"documents": self.done, "transcribed": self.done, "failed": self.failed,
                "skipped_done": self.skipped_done, "skipped_failed": self.skipped_failed,
                "relabelled": self.relabelled, "audio_hours": round(self.audio_s / 3600, 4),
                "wall_s": round(self.wall_s, 2), "model_s": round(self.busy_s, 2),
                "real_time_factor": round(self.real_time_factor, 4) if self.real_time_factor else None}


def known_status(ledger: Ledger) -> dict[str, str]:
    """doc_id -> current transcription status ('done' or 'failed')."""
    rows = ledger.query("SELECT doc_id, status FROM transcriptions").to_pylist()
    return {r["doc_id"]: r["status"] for r in rows}


def plan(items: Sequence[MediaItem], status: dict[str, str], settings: Settings,
         stats: Stats) -> tuple[list[MediaItem], list[MediaItem]]:
    """Split URL items into (to do, already done); local files are decided when hashed."""
    todo, done = [], []
    seen: set[str] = set()
    for item in items:
        if item.local_path is not None:
            todo.append(item)
            continue
        doc_id = doc_id_for_url(item.media_url)
        if doc_id in seen:
            continue
        seen.add(doc_id)
        state = status.get(doc_id)
        if state == "done" and not settings.force:
            stats.skipped_done += 1
            done.append(item)
        elif state == "failed" and not (settings.retry_failed or settings.force):
            stats.skipped_failed += 1
        else:
            todo.append(item)
    if settings.limit is not None:
        todo = todo[: settings.limit]
    stats.queued = len(todo)
    return todo, done


class Engine(Protocol):
    """Runs the work of one run: prepares and transcribes media, yields attempts in input order.

    ``model`` is the model as recorded with transcripts, known once it is loaded.
    """

    model: ModelInfo | None
    config: dict[str, Any]  # recorded in the run's configuration

    def attempts(self, todo: Sequence[MediaItem], status: Mapping[str, str]) -> Generator[Attempt, None, None]: ...

    def close(self) -> None: ...


class LocalEngine:
    """Everything in this process: one file prepared ahead in a thread while the model works."""

    def __init__(self, ledger: Ledger, run_id: str, spec: ModelSpec, runtime: Runtime, settings: Settings):
        self.ledger = ledger
        self.spec = spec
        self.runtime = runtime
        self.settings = settings
        self.model: ModelInfo | None = None
        self.config: dict[str, Any] = {"engine": "local"}
        self._backend: WhisperBackend | None = None
        self._loading: Future[WhisperBackend] | None = None
        # downloads in progress; folders left by killed runs are removed when this one starts
        self.scratch = ScratchDir(ledger.workspace.runs_dir / "transcribe-tmp", run_id.replace("/", "_"))

    def _load(self) -> WhisperBackend:
        cache = self.ledger.workspace.runs_dir / CHECKSUM_CACHE
        checksum = weights_sha256(self.spec.path, cache)
        backend = WhisperBackend(self.spec, self.runtime, self.settings.options)
        self.model = ModelInfo(self.spec, self.runtime, checksum)
        self._backend = backend
        return backend

    def backend(self) -> WhisperBackend:
        """The model, loaded once for the run (in the background when work is known to be waiting)."""
        if self._backend is None:
            return self._loading.result() if self._loading is not None else self._load()
        return self._backend

    def attempts(self, todo: Sequence[MediaItem], status: Mapping[str, str]) -> Generator[Attempt, None, None]:
        downloads = any(i.local_path is None for i in todo)
        temp_dir = self.scratch.open() if downloads else self.scratch.path
        fetcher = self.settings.fetcher(temp_dir)
        preparer = Preparer(fetcher, self.settings, status)
        # Load the model while the first file is fetched and decoded when work is certain: a URL
        # still to do, or a ledger with no transcription yet (local files are matched by hash later).
        loader = None
        if todo and (downloads or not status):
            loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="transcribe-model")
            self._loading = loader.submit(self._load)
        try:
            for prepared in prefetched(preparer, todo):
                yield attempt(prepared, self.backend)
        finally:
            if loader is not None:
                loader.shutdown(wait=True)

    def close(self) -> None:
        self.scratch.close()


class Run:
    """One ``provenance transcribe`` run over a list of media items.

    The engine does the work (here, or on Ray workers); the run decides what to do, keeps the
    statistics and is the only writer of the ledger.
    """

    def __init__(self, ledger: Ledger, run_id: str, spec: ModelSpec, runtime: Runtime, settings: Settings,
                 *, engine: Engine | None = None, progress: Progress | None = None):
        self.ledger = ledger
        self.run_id = run_id
        self.spec = spec
        self.runtime = runtime
        self.settings = settings
        self.engine: Engine = engine or LocalEngine(ledger, run_id, spec, runtime, settings)
        self.stats = Stats()
        self.progress = progress if progress is not None else quiet()
        self._rows = OutcomeRows(run_id)
        self._last_commit = time.monotonic()
        self._backend_errors = 0

    # --- the run ---------------------------------------------------------------------------

    def execute(self, items: Sequence[MediaItem]) -> Stats:
        status = known_status(self.ledger)
        todo, done = plan(items, status, self.settings, self.stats)
        self.relabel(done)
        self.stats.started = time.monotonic()
        self._show(None)
        claimed: set[str] = set()
        try:
            with closing(self.engine.attempts(todo, status)) as attempts:
                for a in attempts:
                    if a.skip is None and a.doc_id in claimed:  # the same audio twice: the first counts
                        a = Attempt(a.item, a.doc_id, a.fetch, skip="done")
                    elif a.skip is None:
                        claimed.add(a.doc_id)
                    self._record(a)
                    self._show(a.item.name)
                    if self._due():
                        self.commit()
        finally:
            try:
                self.commit(final=True)
            finally:
                self.engine.close()
        return self.stats

    def _record(self, a: Attempt) -> None:
        if a.skip == "done":
            self.stats.skipped_done += 1
            self.stats.queued -= 1
            return
        if a.skip == "failed":
            self.stats.skipped_failed += 1
            self.stats.queued -= 1
            return
        if a.failure is not None:
            self._fail(a, a.failure)
            return
        if a.model_error is not None or a.transcript is None or a.audio is None or a.elapsed_s is None:
            message = a.model_error or "the model returned nothing"
            self._backend_errors += 1
            self._fail(a, f"whisper failed: {message}")
            if self._backend_errors >= MAX_CONSECUTIVE_BACKEND_ERRORS:
                raise TranscribeError(f"the model failed on {self._backend_errors} files in a row; the last "
                                      f"error: {message}. Fix the cause, then run again: finished files are kept.")
            return
        self._backend_errors = 0
        self.stats.busy_s += a.elapsed_s
        if not any(s.text for s in a.transcript.segments):
            self._fail(a, "no speech detected: Whisper returned no text"
                       + (" (voice activity detection found none)" if a.transcript.speech_s == 0 else ""),
                       elapsed=a.elapsed_s)
            return
        self._rows.add(Outcome(item=a.item, doc_id=a.doc_id, status="done", fetch=a.fetch,
                               transcribed_at=utcnow(), audio=a.audio, transcript=a.transcript,
                               elapsed_s=a.elapsed_s, model=self.engine.model))
        self.stats.done += 1
        self.stats.audio_s += a.audio.duration_s

    def _fail(self, a: Attempt, reason: str, *, elapsed: float | None = None) -> None:
        self._rows.add(Outcome(item=a.item, doc_id=a.doc_id, status="failed", fetch=as_error(a.fetch),
                               reason=reason, transcribed_at=utcnow(), audio=a.audio, elapsed_s=elapsed,
                               model=self.engine.model if elapsed is not None else None))
        self.stats.failed += 1
        self.progress.log(f"failed: {a.item.media_url}: {reason}")

    def _show(self, name: str | None) -> None:
        stats = self.stats
        self.progress.update(completed=stats.processed, total=max(stats.queued, stats.processed),
                             audio=f"{stats.audio_label()} audio,", rate=stats.rate_label(), name=(name or "")[:30])

    def _due(self) -> bool:
        return bool(self._rows) and (len(self._rows) >= self.settings.commit_every
                                     or time.monotonic() - self._last_commit >= self.settings.commit_every_s)

    def commit(self, *, final: bool = False) -> None:
        """Write the outcomes gathered so far in one transaction. When another process holds the
        ledger, they stay pending for the next commit; the final one waits longer, then raises."""
        self._last_commit = time.monotonic()
        if not self._rows:
            return
        ledger = Ledger(self.ledger.workspace, lock_wait_s=FINAL_LOCK_WAIT_S) if final else self.ledger
        try:
            with ledger.writer() as writer:
                store = DocumentStore(writer, self.run_id, "transcript")
                store.write(self._rows.batch())
        except LedgerLockedError:
            if final:
                raise
            return  # rolled back as a whole: try again at the next commit
        self._rows = OutcomeRows(self.run_id)

    # --- lineage of transcripts already done ------------------------------------------------

    def relabel(self, done: Sequence[MediaItem]) -> None:
        """Give done transcripts a new document observation when their lineage changed."""
        if not done:
            return
        by_id = {doc_id_for_url(i.media_url): i for i in done}
        current = self.ledger.query(
            "SELECT * FROM documents WHERE source_type = 'transcript' AND list_contains(?, doc_id)",
            [sorted(by_id)]).to_pylist()
        changed = []
        for row in current:
            lineage = by_id[row["doc_id"]].lineage
            stored = (row["license"], row["license_evidence"], row["consent"], row["consent_evidence"],
                      row["parent_doc_id"])
            if stored != lineage.state():
                changed.append(Document(
                    doc_id=row["doc_id"], url=row["url"], domain=row["domain"], source_type="transcript",
                    fetched_at=utcnow(), text_sha256=row["text_sha256"], n_chars=row["n_chars"],
                    shard=row["shard"], license=lineage.license, license_evidence=lineage.license_evidence,
                    consent=lineage.consent, consent_evidence=lineage.consent_evidence,  # type: ignore[arg-type]
                    title=row["title"], language=row["language"], parent_doc_id=lineage.parent_doc_id,
                ))
        if changed:
            now = utcnow()
            findings = [f for d in changed for f in by_id[d.doc_id].lineage.findings(d.url or "", d.doc_id, now)]
            with self.ledger.writer() as writer:
                result = writer.write(self.run_id, documents=changed, licenses=findings)
            self.stats.relabelled += result.documents


@dataclass(frozen=True, slots=True)
class Request:
    """What to transcribe: files and URLs, and/or the media the crawl discovered."""

    inputs: tuple[str, ...] = ()
    from_ledger: bool = False
    user_license: str | None = None  # the license the given inputs carry (--license)


def transcribe_media(
    ledger: Ledger,
    request: Request,
    spec: ModelSpec,
    runtime: Runtime,
    settings: Settings,
    *,
    engine: Engine | None = None,
    on_start: Callable[[int], None] | None = None,
    progress: Progress | None = None,
) -> tuple[str, Stats]:
    """One recorded ``transcribe`` run (in ``runs``, with its configuration and counts).

    ``engine``: who does the work (default: a :class:`LocalEngine` in this process)."""
    opts = settings.options
    config = {"inputs": list(request.inputs), "from_ledger": request.from_ledger, "license": request.user_license,
              "limit": settings.limit, "model": spec.name, "model_path": str(spec.path), "device": runtime.device,
              "compute_type": runtime.compute_type, "batch_size": runtime.batch_size, "beam_size": opts.beam_size,
              "language": opts.language, "vad": opts.vad_filter, "temperatures": opts.temperatures,
              "max_bytes": settings.max_bytes, "max_duration_s": settings.max_duration_s,
              "retry_failed": settings.retry_failed, "force": settings.force, "cpu_threads": runtime.cpu_threads,
              "commit_every": settings.commit_every,
              **(engine.config if engine is not None else {"engine": "local"})}
    with open_run(ledger, "transcribe", config, progress=progress) as stage:
        run = Run(ledger, stage.run_id, spec, runtime, settings, engine=engine, progress=stage.progress)
        try:
            agents = training_agents()
            items = items_from_ledger(ledger, training_agents=agents) if request.from_ledger else []
            items += items_from_args(ledger, list(request.inputs), user_license=request.user_license,
                                     training_agents=agents)
            if on_start is not None:
                on_start(len(items))
            run.execute(items)
        finally:
            stage.note(**run.stats.counts())
    return stage.run_id, run.stats


def transcribe_progress(enabled: bool | None = None) -> Progress:
    """The run's progress line: files done, audio transcribed, real-time factor, the file at hand."""
    return Progress("transcribe", "files,", fields=("audio", "rate", "name"), enabled=enabled)
