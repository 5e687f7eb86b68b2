"""The Whisper backend: faster-whisper (CTranslate2), loaded once per run.

Sequential decoding (``WhisperModel.transcribe``) when the runtime's batch size is 1, else
``BatchedInferencePipeline`` (the audio is cut into speech chunks by voice activity detection, or
into 30 s windows without it, and the chunks are decoded in batches: the fast path on a GPU).
Every decoding parameter faster-whisper actually used is returned with the transcript, so the
ledger can record it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from transcribe.audio import SAMPLE_RATE
from transcribe.settings import DecodeOptions
from transcribe.model import HOW_TO_PASS_A_DIRECTORY, ModelError, ModelSpec, Runtime
from transcribe.quality import segment_flags

WINDOW_S = 30.0  # Whisper's input window


@dataclass(frozen=True, slots=True)
class Segment:
    idx: int
    start_s: float
    end_s: float
    text: str  # stripped
    avg_logprob: float | None
    compression_ratio: float | None
    no_speech_prob: float | None
    temperature: float | None
    flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Transcript:
    segments: tuple[Segment, ...]
    language: str | None
    language_probability: float | None
    speech_s: float | None  # audio left after voice activity detection
    decoding: dict[str, Any]


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no Infinity ('inf' says it as well)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


class WhisperBackend:
    """One loaded model; ``transcribe(samples)`` for each file of the run."""

    def __init__(self, spec: ModelSpec, runtime: Runtime, options: DecodeOptions):
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        self.spec = spec
        self.runtime = runtime
        self.options = options
        try:
            self.model = WhisperModel(str(spec.path), device=runtime.device,
                                      compute_type=runtime.compute_type, cpu_threads=runtime.cpu_threads)
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(f"could not load the Whisper model {spec.name} from {spec.path} on "
                             f"{runtime.device} ({runtime.compute_type}): {exc}. {HOW_TO_PASS_A_DIRECTORY}") from exc
        self.pipeline = BatchedInferencePipeline(self.model) if runtime.batched else None
        if options.language and not self.model.model.is_multilingual and options.language != "en":
            raise ModelError(f"{spec.name} is an English-only model; --language {options.language} needs "
                             f"a multilingual model (e.g. --model large-v3 or a local directory).")

    def transcribe(self, samples: np.ndarray) -> Transcript:
        """Transcribe 16 kHz mono float32 samples (raises RuntimeError from CTranslate2 on failure).

        The feature extraction's BLAS calls run with the same thread count as CTranslate2
        (``cpu_threads``), whatever the process's environment says: a local run and a Ray actor
        (where Ray sets ``OMP_NUM_THREADS`` to the actor's CPUs) then compute the same numbers,
        and the same model and settings give the same transcript."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=self.runtime.cpu_threads or None):
            return self._transcribe(samples)

    def _transcribe(self, samples: np.ndarray) -> Transcript:
        opts = self.options
        common = opts.kwargs()
        if self.pipeline is not None:
            duration = samples.shape[0] / SAMPLE_RATE
            clips = None
            if not opts.vad_filter:  # fixed windows: the pipeline needs chunks without VAD
                starts = np.arange(0.0, duration, WINDOW_S)
                clips = [{"start": float(s), "end": float(min(s + WINDOW_S, duration))} for s in starts]
            segments, info = self.pipeline.transcribe(samples, batch_size=self.runtime.batch_size,
                                                      clip_timestamps=clips, **common)
        else:
            segments, info = self.model.transcribe(samples, **common)
        out: list[Segment] = []
        for raw in segments:  # a generator: decoding happens here
            out.append(Segment(
                idx=len(out), start_s=float(raw.start), end_s=float(max(raw.end, raw.start)),
                text=raw.text.strip(), avg_logprob=_float(raw.avg_logprob),
                compression_ratio=_float(raw.compression_ratio), no_speech_prob=_float(raw.no_speech_prob),
                temperature=_float(raw.temperature),
                flags=segment_flags(raw.avg_logprob, raw.compression_ratio, raw.no_speech_prob),
            ))
        return Transcript(segments=tuple(out), language=info.language,
                          language_probability=_float(info.language_probability),
                          speech_s=_float(info.duration_after_vad), decoding=self._decoding(info))

    def _decoding(self, info: Any) -> dict[str, Any]:
        options = _jsonable(info.transcription_options)
        options.pop("clip_timestamps", None)  # per-file VAD chunks: not a parameter
        return {
            "mode": "batched" if self.pipeline is not None else "sequential",
            "batch_size": self.runtime.batch_size,
            "vad_filter": self.options.vad_filter,
            "vad_options": _jsonable(info.vad_options) if self.options.vad_filter else None,
            "language_requested": self.options.language,
            **options,
        }


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
