"""The work on one media file, the same whichever engine runs it: prepare, then transcribe.

* :class:`Preparer`: hash (local file) or download (URL), decode to 16 kHz mono, check for
  silence; what it gives is a :class:`Prepared` (decoded samples, a failure, or a skip).
* :func:`attempt`: a prepared file through the model; the result is an :class:`Attempt`, small
  enough to cross a process boundary (no samples), which the run turns into ledger rows.

The local engine runs both in the ``provenance`` process; the Ray engine runs both inside its
actors and sends only the :class:`Attempt` back to the driver, which writes the ledger.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.ids import doc_id_for_key, doc_id_for_url, utcnow
from transcribe.audio import AudioError, AudioInfo, DecodedAudio, decode_audio
from transcribe.backend import Transcript
from transcribe.fetch import FetchError, Fetcher
from transcribe.model import sha256_file
from transcribe.quality import silence_problem
from transcribe.rows import FetchInfo
from transcribe.sources import MediaItem

if TYPE_CHECKING:  # the settings of a run (a frozen dataclass in transcribe.pipeline)
    from transcribe.settings import Settings
    from transcribe.backend import WhisperBackend


@dataclass(frozen=True, slots=True)
class Prepared:
    item: MediaItem
    doc_id: str
    fetch: FetchInfo
    audio: DecodedAudio | None = None
    failure: str | None = None
    skip: str | None = None  # 'done' | 'failed'


@dataclass(frozen=True, slots=True)
class Attempt:
    """One media file after the model, or before it when it failed or was skipped (no samples)."""

    item: MediaItem
    doc_id: str
    fetch: FetchInfo
    audio: AudioInfo | None = None
    transcript: Transcript | None = None
    elapsed_s: float | None = None  # time inside the model
    failure: str | None = None  # fetching, decoding or the silence check failed: the reason
    model_error: str | None = None  # the model raised (CTranslate2's RuntimeError): its message
    skip: str | None = None  # 'done' | 'failed': nothing was done


def skip_state(state: str | None, settings: Settings) -> str | None:
    """'done' or 'failed' when a media file in that ledger state is skipped, else None."""
    if state == "done" and not settings.force:
        return "done"
    if state == "failed" and not (settings.retry_failed or settings.force):
        return "failed"
    return None


class Preparer:
    """Hash or download, decode and check one item.

    ``status`` is the ledger's state of media files (doc_id -> 'done' | 'failed'). With ``claim``,
    the same audio met twice is prepared once (the later one is a 'done' skip); callers that
    prepare in several processes leave it off and decide duplicates themselves, in input order.
    """

    def __init__(self, fetcher: Fetcher, settings: Settings, status: Mapping[str, str], *, claim: bool = True):
        self.fetcher = fetcher
        self.settings = settings
        self.status = status
        self.claimed: set[str] | None = set() if claim else None

    def _claim(self, doc_id: str) -> None:
        if self.claimed is not None:
            self.claimed.add(doc_id)

    def _skip(self, doc_id: str) -> str | None:
        if self.claimed is not None and doc_id in self.claimed:
            return "done"  # the same audio twice in one run
        return skip_state(self.status.get(doc_id), self.settings)

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
                    self._claim(doc_id)
                    return Prepared(item, doc_id, fetch, failure=str(exc))
                temp = path = dl.path
                fetch = FetchInfo(dl.fetched_at, dl.sha256, dl.n_bytes, dl.status, dl.content_type, "document")
            skip = self._skip(doc_id)
            if skip:
                return Prepared(item, doc_id, fetch, skip=skip)
            self._claim(doc_id)
            try:
                audio = decode_audio(path, max_duration_s=self.settings.max_duration_s)
            except AudioError as exc:
                return Prepared(item, doc_id, as_error(fetch), failure=str(exc))
            problem = silence_problem(audio.samples)
            if problem:
                return Prepared(item, doc_id, as_error(fetch), audio=audio, failure=problem)
            return Prepared(item, doc_id, fetch, audio=audio)
        finally:
            if temp is not None:
                temp.unlink(missing_ok=True)


def as_error(fetch: FetchInfo) -> FetchInfo:
    """A download that worked, recorded as an error because what it fetched could not be used."""
    return replace(fetch, outcome="error") if fetch.outcome == "document" else fetch


def attempt(p: Prepared, backend: Callable[[], WhisperBackend]) -> Attempt:
    """Transcribe a prepared file (``backend`` gives the loaded model; called only when needed)."""
    info = p.audio.info if p.audio is not None else None
    if p.skip is not None:
        return Attempt(p.item, p.doc_id, p.fetch, skip=p.skip)
    if p.failure is not None or p.audio is None:
        return Attempt(p.item, p.doc_id, p.fetch, audio=info, failure=p.failure or "no audio")
    model = backend()
    t0 = time.monotonic()
    try:
        transcript = model.transcribe(p.audio.samples)
    except RuntimeError as exc:  # CTranslate2's error type (out of memory, a bad input, ...)
        return Attempt(p.item, p.doc_id, p.fetch, audio=info, model_error=" ".join(str(exc).split())[:300])
    return Attempt(p.item, p.doc_id, p.fetch, audio=info, transcript=transcript,
                   elapsed_s=time.monotonic() - t0)


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
