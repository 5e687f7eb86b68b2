"""The transcription run: prepare, transcribe, commit in batches; resumable and idempotent.

* Preparing a media file (hash or download, decode, silence check) runs one file ahead in a worker
  thread, so fetching and decoding overlap the model's work on the previous file.
* The model is loaded once per run: in the background while the first file is prepared when work
  is known to be waiting, else when the first file needs it (a run with nothing to do loads none).
* Outcomes are committed to the ledger every ``commit_every_s`` seconds or ``commit_every``
  files, each batch in one transaction (shard, documents, transcriptions, segments together),
  through a short write connection, so ``provenance sql`` can read between commits. A run that is
  stopped keeps what it committed; the next run skips it.
* Skipped: media whose transcript is done (unless ``force``), and media that failed before
  (unless ``retry_failed``). The lineage of done transcripts is refreshed when the embedding
  page's license or consent changed since (a new document observation, no new transcription).
"""

from __future__ import annotations

import shutil
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from provenance.agents import training_agents
from provenance.errors import ProvenanceError
from provenance.ids import doc_id_for_key, doc_id_for_url, utcnow
from provenance.ledger import Ledger, LedgerLockedError
from provenance.records import Document
from provenance.store import DocumentStore
from transcribe.audio import AudioError, AudioInfo, DecodedAudio, decode_audio
from transcribe.backend import DecodeOptions, WhisperBackend
from transcribe.fetch import FetchError, Fetcher
from transcribe.model import CHECKSUM_CACHE, ModelSpec, Runtime, sha256_file, weights_sha256
from transcribe.quality import silence_problem
from transcribe.rows import FetchInfo, ModelInfo, Outcome, OutcomeRows
from transcribe.sources import MediaItem, items_from_args, items_from_ledger

MAX_CONSECUTIVE_BACKEND_ERRORS = 3
FINAL_LOCK_WAIT_S = 300.0  # the last commit of a run waits this long for another writer to finish


class TranscribeError(ProvenanceError):
    """The run cannot go on (e.g. the model fails on every file)."""


@dataclass(frozen=True, slots=True)
class Settings:
    options: DecodeOptions = DecodeOptions()
    max_bytes: int = 2 << 30
    max_duration_s: float = 4 * 3600.0
    timeout_s: float = 60.0
    user_agent: str = "provenance/dev (transcribe)"
    retry_failed: bool = False
    force: bool = False
    limit: int | None = None  # at most this many media to do (already done ones do not count)
    commit_every_s: float = 30.0
    commit_every: int = 100


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

    def counts(self) -> dict[str, Any]:
        return {"documents": self.done, "transcribed": self.done, "failed": self.failed,
                "skipped_done": self.skipped_done, "skipped_failed": self.skipped_failed,
                "relabelled": self.relabelled, "audio_hours": round(self.audio_s / 3600, 4),
                "wall_s": round(self.wall_s, 2), "model_s": round(self.busy_s, 2),
                "real_time_factor": round(self.real_time_factor, 4) if self.real_time_factor else None}


@dataclass(frozen=True, slots=True)
class Prepared:
    item: MediaItem
    doc_id: str
    fetch: FetchInfo
    audio: DecodedAudio | None = None
    failure: str | None = None
    skip: str | None = None  # 'done' | 'failed'


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


class Preparer:
    """Hash or download, decode and check one item (runs in the prefetch thread, one at a time)."""

    def __init__(self, fetcher: Fetcher, settings: Settings, status: dict[str, str]):
        self.fetcher = fetcher
        self.settings = settings
        self.status = status
        self.claimed: set[str] = set()

    def _skip(self, doc_id: str) -> str | None:
        if doc_id in self.claimed:
            return "done"  # the same audio twice in one run
        state = self.status.get(doc_id)
        if state == "done" and not self.settings.force:
            return "done"
        if state == "failed" and not (self.settings.retry_failed or self.settings.force):
            return "failed"
        return None

    def __call__(self, item: MediaItem) -> Prepared:
        temp: Path | None = None
        try:
            if item.local_path is not None:
                fetched_at = utcnow()
                sha = sha256_file(item.local_path)
                doc_id = doc_id_for_key("audio", sha)
                fetch = FetchInfo(fetched_at, sha, item.local_path.stat().st_size)
                path = item.local_path
            else:
                doc_id = doc_id_for_url(item.media_url)
                try:
                    dl = self.fetcher.download(item.media_url)
                except FetchError as exc:
                    fetch = FetchInfo(utcnow(), None, exc.n_bytes, exc.status, exc.content_type, exc.outcome)
                    self.claimed.add(doc_id)
                    return Prepared(item, doc_id, fetch, failure=str(exc))
                temp = path = dl.path
                fetch = FetchInfo(dl.fetched_at, dl.sha256, dl.n_bytes, dl.status, dl.content_type, "document")
            skip = self._skip(doc_id)
            if skip:
                return Prepared(item, doc_id, fetch, skip=skip)
            self.claimed.add(doc_id)
            try:
                audio = decode_audio(path, max_duration_s=self.settings.max_duration_s)
            except AudioError as exc:
                return Prepared(item, doc_id, _as_error(fetch), failure=str(exc))
            problem = silence_problem(audio.samples)
            if problem:
                return Prepared(item, doc_id, _as_error(fetch), audio=audio, failure=problem)
            return Prepared(item, doc_id, fetch, audio=audio)
        finally:
            if temp is not None:
                temp.unlink(missing_ok=True)


def _as_error(fetch: FetchInfo) -> FetchInfo:
    return replace(fetch, outcome="error") if fetch.outcome == "document" else fetch


def prefetched(fn: Callable[[MediaItem], Prepared], items: Iterable[MediaItem], ahead: int = 1) -> Iterator[Prepared]:
    """``fn`` over ``items`` in one worker thread, ``ahead`` items in advance, results in order."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="transcribe-prepare")
    queue: deque[Future[Prepared]] = deque()
    it = iter(items)
    try:
        for item in it:
            queue.append(pool.submit(fn, item))
            if len(queue) > ahead:
                yield queue.popleft().result()
        while queue:
            yield queue.popleft().result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


class Run:
    """One ``provenance transcribe`` run over a list of media items."""

    def __init__(self, ledger: Ledger, run_id: str, spec: ModelSpec, runtime: Runtime, settings: Settings,
                 *, on_progress: Callable[[Stats, str | None], None] | None = None,
                 on_failure: Callable[[MediaItem, str], None] | None = None):
        self.ledger = ledger
        self.run_id = run_id
        self.spec = spec
        self.runtime = runtime
        self.settings = settings
        self.stats = Stats()
        self.on_progress = on_progress or (lambda stats, name: None)
        self.on_failure = on_failure or (lambda item, reason: None)
        self._backend: WhisperBackend | None = None
        self._loading: Future[WhisperBackend] | None = None
        self._model: ModelInfo | None = None
        self._rows = OutcomeRows(run_id)
        self._last_commit = time.monotonic()
        self._backend_errors = 0
        self.temp_dir = ledger.workspace.runs_dir / "transcribe-tmp" / run_id.replace("/", "_")

    # --- model -----------------------------------------------------------------------------

    def _load(self) -> WhisperBackend:
        cache = self.ledger.workspace.runs_dir / CHECKSUM_CACHE
        checksum = weights_sha256(self.spec.path, cache)
        backend = WhisperBackend(self.spec, self.runtime, self.settings.options)
        self._model = ModelInfo(self.spec, self.runtime, checksum)
        self._backend = backend
        return backend

    def backend(self) -> WhisperBackend:
        """The model, loaded once for the run (in the background when work is known to be waiting)."""
        if self._backend is None:
            return self._loading.result() if self._loading is not None else self._load()
        return self._backend

    # --- the run ---------------------------------------------------------------------------

    def execute(self, items: Sequence[MediaItem]) -> Stats:
        status = known_status(self.ledger)
        todo, done = plan(items, status, self.settings, self.stats)
        self.relabel(done)
        fetcher = Fetcher(self.temp_dir, max_bytes=self.settings.max_bytes, timeout_s=self.settings.timeout_s,
                          user_agent=self.settings.user_agent)
        preparer = Preparer(fetcher, self.settings, status)
        self.stats.started = time.monotonic()
        self.on_progress(self.stats, None)
        # Load the model while the first file is fetched and decoded when work is certain: a URL
        # still to do, or a ledger with no transcription yet (local files are matched by hash later).
        loader = None
        if todo and (any(i.local_path is None for i in todo) or not status):
            loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="transcribe-model")
            self._loading = loader.submit(self._load)
        try:
            for prepared in prefetched(preparer, todo):
                self._handle(prepared)
                self.on_progress(self.stats, prepared.item.name)
                if self._due():
                    self.commit()
        finally:
            if loader is not None:
                loader.shutdown(wait=True)
            self.commit(final=True)
            shutil.rmtree(self.temp_dir, ignore_errors=True)
        return self.stats

    def _handle(self, p: Prepared) -> None:
        if p.skip == "done":
            self.stats.skipped_done += 1
            self.stats.queued -= 1
            return
        if p.skip == "failed":
            self.stats.skipped_failed += 1
            self.stats.queued -= 1
            return
        if p.failure is not None or p.audio is None:
            self._fail(p, p.failure or "no audio")
            return
        backend = self.backend()
        t0 = time.monotonic()
        try:
            transcript = backend.transcribe(p.audio.samples)
        except RuntimeError as exc:  # CTranslate2's error type (out of memory, a bad input, ...)
            self._backend_errors += 1
            self._fail(p, f"whisper failed: {' '.join(str(exc).split())[:300]}")
            if self._backend_errors >= MAX_CONSECUTIVE_BACKEND_ERRORS:
                raise TranscribeError(f"the model failed on {self._backend_errors} files in a row; the last "
                                      f"error: {exc}. Fix the cause, then run again: finished files are kept.") from exc
            return
        self._backend_errors = 0
        elapsed = time.monotonic() - t0
        self.stats.busy_s += elapsed
        audio = p.audio.info  # the samples are not kept past this point
        if not any(s.text for s in transcript.segments):
            self._fail(p, "no speech detected: Whisper returned no text"
                       + (" (voice activity detection found none)" if transcript.speech_s == 0 else ""),
                       audio=audio, elapsed=elapsed)
            return
        self._rows.add(Outcome(item=p.item, doc_id=p.doc_id, status="done", fetch=p.fetch,
                               transcribed_at=utcnow(), audio=audio, transcript=transcript,
                               elapsed_s=elapsed, model=self._model))
        self.stats.done += 1
        self.stats.audio_s += audio.duration_s

    def _fail(self, p: Prepared, reason: str, *, audio: AudioInfo | None = None,
              elapsed: float | None = None) -> None:
        fetch = _as_error(p.fetch)
        info = audio or (p.audio.info if p.audio is not None else None)
        self._rows.add(Outcome(item=p.item, doc_id=p.doc_id, status="failed", fetch=fetch, reason=reason,
                               transcribed_at=utcnow(), audio=info,
                               elapsed_s=elapsed, model=self._model if elapsed is not None else None))
        self.stats.failed += 1
        self.on_failure(p.item, reason)

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
                with store.transaction():
                    store.write_batch(self._rows.documents, fetches=self._rows.fetches,
                                      licenses=self._rows.licenses)
                    writer.append_rows("transcription_log", self._rows.transcription_table())
                    writer.append_rows("segment_log", self._rows.segment_table())
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
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[Stats, str | None], None] | None = None,
    on_failure: Callable[[MediaItem, str], None] | None = None,
) -> tuple[str, Stats]:
    """One recorded ``transcribe`` run (in ``runs``, with its configuration and counts)."""
    opts = settings.options
    config = {"inputs": list(request.inputs), "from_ledger": request.from_ledger, "license": request.user_license,
              "limit": settings.limit, "model": spec.name, "model_path": str(spec.path), "device": runtime.device,
              "compute_type": runtime.compute_type, "batch_size": runtime.batch_size, "beam_size": opts.beam_size,
              "language": opts.language, "vad": opts.vad_filter, "temperatures": opts.temperatures,
              "max_bytes": settings.max_bytes, "max_duration_s": settings.max_duration_s,
              "retry_failed": settings.retry_failed, "force": settings.force}
    record = ledger.start_run("transcribe", config)
    run = Run(ledger, record.run_id, spec, runtime, settings, on_progress=on_progress, on_failure=on_failure)
    status = "failed"
    try:
        agents = training_agents()
        items = items_from_ledger(ledger, training_agents=agents) if request.from_ledger else []
        items += items_from_args(ledger, list(request.inputs), user_license=request.user_license,
                                 training_agents=agents)
        if on_start is not None:
            on_start(len(items))
        run.execute(items)
        status = "finished"
    finally:
        ledger.finish_run(record, run.stats.counts(), status=status)
    return record.run_id, run.stats
