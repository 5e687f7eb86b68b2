"""What one transcription attempt writes: the transcript document and its ledger rows.

An :class:`Outcome` (done or failed) becomes a :class:`~provenance.store.PendingDocument` (done
only), a ``fetches`` record (downloads only), license findings, one ``transcription_log`` row and
its ``segment_log`` rows. The transcript text is the segments' texts joined by single spaces; each
segment row keeps its character offsets, so the ``segments`` view can cut its text out of the shard.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

from provenance.ids import domain_of, text_sha256
from provenance.records import Document, FetchOutcome, FetchRecord, LicenseFinding
from provenance.store import Batch, PendingDocument
from transcribe.audio import AudioInfo
from transcribe.backend import Segment, Transcript
from transcribe.model import ModelSpec, Runtime
from transcribe.quality import TranscriptQuality, summarize
from transcribe.sources import MediaItem

TS = pa.timestamp("us")
TRANSCRIPTION_SCHEMA = pa.schema([
    ("transcription_id", pa.string()), ("doc_id", pa.string()), ("media_url", pa.string()),
    ("parent_doc_id", pa.string()), ("page_url", pa.string()), ("status", pa.string()),
    ("reason", pa.string()), ("audio_sha256", pa.string()), ("audio_bytes", pa.int64()),
    ("content_type", pa.string()), ("container", pa.string()), ("codec", pa.string()),
    ("declared_duration_s", pa.float64()), ("duration_s", pa.float64()), ("speech_s", pa.float64()),
    ("model", pa.string()), ("model_path", pa.string()), ("model_source", pa.string()),
    ("weights_sha256", pa.string()), ("compute_type", pa.string()), ("device", pa.string()),
    ("batch_size", pa.int32()), ("decoding", pa.string()), ("language", pa.string()),
    ("language_probability", pa.float64()), ("n_segments", pa.int32()), ("n_suspect_segments", pa.int32()),
    ("mean_avg_logprob", pa.float64()), ("max_compression_ratio", pa.float64()),
    ("max_no_speech_prob", pa.float64()), ("flags", pa.list_(pa.string())), ("text_sha256", pa.string()),
    ("n_chars", pa.int64()), ("elapsed_s", pa.float64()), ("fetched_at", TS), ("transcribed_at", TS),
    ("run_id", pa.string()),
])
SEGMENT_SCHEMA = pa.schema([
    ("transcription_id", pa.string()), ("doc_id", pa.string()), ("idx", pa.int32()),
    ("start_s", pa.float64()), ("end_s", pa.float64()), ("char_start", pa.int64()), ("char_end", pa.int64()),
    ("avg_logprob", pa.float64()), ("compression_ratio", pa.float64()), ("no_speech_prob", pa.float64()),
    ("temperature", pa.float64()), ("flags", pa.list_(pa.string())), ("run_id", pa.string()),
])


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """The model of a run, as recorded with every transcript."""

    spec: ModelSpec
    runtime: Runtime
    weights_sha256: str


@dataclass(frozen=True, slots=True)
class FetchInfo:
    """How the media's bytes were obtained."""

    fetched_at: datetime
    audio_sha256: str | None = None
    audio_bytes: int | None = None
    http_status: int | None = None
    content_type: str | None = None
    outcome: FetchOutcome | None = None  # for downloads: the fetches outcome ('document', 'error', 'skipped')


@dataclass(frozen=True, slots=True)
class Outcome:
    """One transcription attempt."""

    item: MediaItem
    doc_id: str
    status: str  # 'done' | 'failed'
    fetch: FetchInfo
    transcribed_at: datetime
    reason: str | None = None
    audio: AudioInfo | None = None
    transcript: Transcript | None = None
    elapsed_s: float | None = None
    model: ModelInfo | None = None


def join_segments(segments: Sequence[Segment]) -> tuple[str, list[tuple[int, int]]]:
    """The transcript text and each segment's [start, end) character offsets in it."""
    parts: list[str] = []
    offsets: list[tuple[int, int]] = []
    pos = 0
    for seg in segments:
        if not seg.text:
            offsets.append((pos, pos))
            continue
        if parts:
            parts.append(" ")
            pos += 1
        offsets.append((pos, pos + len(seg.text)))
        parts.append(seg.text)
        pos += len(seg.text)
    return "".join(parts), offsets


def transcription_id(run_id: str, doc_id: str) -> str:
    return f"{run_id}/{doc_id}"


class OutcomeRows:
    """Everything one commit writes, gathered from outcomes."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self.documents: list[PendingDocument] = []
        self.fetches: list[FetchRecord] = []
        self.licenses: list[LicenseFinding] = []
        self.transcriptions: list[dict] = []
        self.segments: list[dict] = []

    def __len__(self) -> int:
        return len(self.transcriptions)

    def add(self, o: Outcome) -> None:
        tid = transcription_id(self.run_id, o.doc_id)
        item = o.item
        text: str | None = None
        offsets: list[tuple[int, int]] = []
        quality = None
        if o.status == "done" and o.transcript is not None and o.audio is not None:
            text, offsets = join_segments(o.transcript.segments)
            quality = summarize(o.transcript.segments, duration_s=o.audio.duration_s,
                                declared_duration_s=o.audio.declared_duration_s,
                                stopped_early=o.audio.stopped_early, bad_packets=o.audio.bad_packets)
            self._document(o, text)
            for seg, (a, b) in zip(o.transcript.segments, offsets, strict=True):
                self.segments.append({
                    "transcription_id": tid, "doc_id": o.doc_id, "idx": seg.idx, "start_s": seg.start_s,
                    "end_s": seg.end_s, "char_start": a, "char_end": b, "avg_logprob": seg.avg_logprob,
                    "compression_ratio": seg.compression_ratio, "no_speech_prob": seg.no_speech_prob,
                    "temperature": seg.temperature, "flags": list(seg.flags), "run_id": self.run_id,
                })
        if item.local_path is None and o.fetch.outcome is not None:
            self.fetches.append(FetchRecord(
                url=item.media_url, outcome=o.fetch.outcome, fetched_at=o.fetch.fetched_at,
                status=o.fetch.http_status, reason=o.reason if o.fetch.outcome != "document" else None,
                content_type=o.fetch.content_type, n_bytes=o.fetch.audio_bytes,
                doc_id=o.doc_id if o.status == "done" else None,
            ))
        self.transcriptions.append(self._transcription_row(o, tid, text, quality))

    def _document(self, o: Outcome, text: str) -> None:
        item, lineage, t = o.item, o.item.lineage, o.transcript
        assert t is not None
        doc = Document(
            doc_id=o.doc_id, url=item.media_url, domain=domain_of(item.media_url) if item.local_path is None else None,
            source_type="transcript", fetched_at=o.fetch.fetched_at, text_sha256=text_sha256(text),
            n_chars=len(text), shard="", license=lineage.license, license_evidence=lineage.license_evidence,
            consent=lineage.consent, consent_evidence=lineage.consent_evidence,  # type: ignore[arg-type]
            title=item.name[:1000], language=t.language, parent_doc_id=lineage.parent_doc_id,
        )
        self.documents.append(PendingDocument(doc=doc, text=text))
        self.licenses.extend(lineage.findings(item.media_url, o.doc_id, o.fetch.fetched_at))

    def _transcription_row(self, o: Outcome, tid: str, text: str | None,
                           quality: TranscriptQuality | None) -> dict:
        a, t, m = o.audio, o.transcript, o.model
        flags = list(quality.flags) if quality else []
        return {
            "transcription_id": tid, "doc_id": o.doc_id, "media_url": o.item.media_url,
            "parent_doc_id": o.item.lineage.parent_doc_id, "page_url": o.item.lineage.page_url,
            "status": o.status, "reason": o.reason, "audio_sha256": o.fetch.audio_sha256,
            "audio_bytes": o.fetch.audio_bytes, "content_type": o.fetch.content_type,
            "container": a.container if a else None, "codec": a.codec if a else None,
            "declared_duration_s": a.declared_duration_s if a else None,
            "duration_s": a.duration_s if a else None, "speech_s": t.speech_s if t else None,
            "model": m.spec.name if m else None, "model_path": str(m.spec.path) if m else None,
            "model_source": m.spec.source if m else None, "weights_sha256": m.weights_sha256 if m else None,
            "compute_type": m.runtime.compute_type if m else None, "device": m.runtime.device if m else None,
            "batch_size": m.runtime.batch_size if m else None,
            "decoding": json.dumps(t.decoding, ensure_ascii=False) if t else None,
            "language": t.language if t else None, "language_probability": t.language_probability if t else None,
            "n_segments": quality.n_segments if quality else None,
            "n_suspect_segments": quality.n_suspect_segments if quality else None,
            "mean_avg_logprob": quality.mean_avg_logprob if quality else None,
            "max_compression_ratio": quality.max_compression_ratio if quality else None,
            "max_no_speech_prob": quality.max_no_speech_prob if quality else None,
            "flags": flags, "text_sha256": text_sha256(text) if text is not None else None,
            "n_chars": len(text) if text is not None else None, "elapsed_s": o.elapsed_s,
            "fetched_at": o.fetch.fetched_at, "transcribed_at": o.transcribed_at, "run_id": self.run_id,
        }

    def transcription_table(self) -> pa.Table:
        return pa.Table.from_pylist(self.transcriptions, schema=TRANSCRIPTION_SCHEMA)

    def segment_table(self) -> pa.Table:
        return pa.Table.from_pylist(self.segments, schema=SEGMENT_SCHEMA)

    def batch(self) -> Batch:
        """What one commit stores: the transcript documents and their rows, and the run's own tables."""
        return Batch(docs=self.documents, fetches=self.fetches, licenses=self.licenses,
                     tables=[("transcription_log", self.transcription_table()),
                             ("segment_log", self.segment_table())])
