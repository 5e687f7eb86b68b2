"""Quality flags from Whisper's own statistics, so likely hallucinations can be filtered in SQL.

Per segment (the thresholds are Whisper's own fallback thresholds):

``low_logprob``
    ``avg_logprob < -1.0``: the decoder was unsure of its tokens.
``repetitive``
    ``compression_ratio > 2.4``: the text compresses too well, i.e. it repeats itself (the typical
    looping hallucination).
``no_speech``
    ``no_speech_prob > 0.6``: the model itself thought there was no speech in the window.

Per transcript: ``suspect_segments`` (some segment has a flag), ``all_segments_suspect``,
``truncated`` (decoding stopped early, or far less audio than the container declared),
``bad_packets`` (damaged packets were skipped).

Audio that is silent before transcription is refused (:func:`silence_problem`), not flagged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LOW_LOGPROB = -1.0
HIGH_COMPRESSION = 2.4
HIGH_NO_SPEECH = 0.6
SILENCE_DBFS = -60.0  # peak level under which a file holds nothing to transcribe
TRUNCATED_SHARE = 0.9  # decoded less than this share of the declared duration ...
TRUNCATED_MIN_S = 2.0  # ... and at least this many seconds less


def segment_flags(avg_logprob: float | None, compression_ratio: float | None,
                  no_speech_prob: float | None) -> tuple[str, ...]:
    flags = []
    if avg_logprob is not None and avg_logprob < LOW_LOGPROB:
        flags.append("low_logprob")
    if compression_ratio is not None and compression_ratio > HIGH_COMPRESSION:
        flags.append("repetitive")
    if no_speech_prob is not None and no_speech_prob > HIGH_NO_SPEECH:
        flags.append("no_speech")
    return tuple(flags)


def peak_dbfs(samples: np.ndarray) -> float:
    """The loudest sample in dB relative to full scale (-inf for digital silence)."""
    if samples.size == 0:
        return -math.inf
    peak = float(np.max(np.abs(samples)))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def silence_problem(samples: np.ndarray) -> str | None:
    """The reason to refuse silent audio, or None when there is sound in it."""
    level = peak_dbfs(samples)
    if level < SILENCE_DBFS:
        shown = "-inf" if math.isinf(level) else f"{level:.1f}"
        return f"silent: the loudest sample is at {shown} dBFS (under {SILENCE_DBFS:.0f} dBFS)"
    return None


@dataclass(frozen=True, slots=True)
class TranscriptQuality:
    n_segments: int
    n_suspect_segments: int
    mean_avg_logprob: float | None  # weighted by segment duration
    max_compression_ratio: float | None
    max_no_speech_prob: float | None
    flags: tuple[str, ...]


def summarize(segments: Sequence, *, duration_s: float, declared_duration_s: float | None,
              stopped_early: str | None, bad_packets: int) -> TranscriptQuality:
    """Transcript-level statistics and flags from segments carrying ``flags``, ``avg_logprob``, ...."""
    suspect = sum(1 for s in segments if s.flags)
    weights = [max(s.end_s - s.start_s, 0.01) for s in segments]
    logprobs = [(s.avg_logprob, w) for s, w in zip(segments, weights, strict=True)
                if s.avg_logprob is not None]
    mean_lp = (sum(lp * w for lp, w in logprobs) / sum(w for _, w in logprobs)) if logprobs else None
    ratios = [s.compression_ratio for s in segments if s.compression_ratio is not None]
    no_speech = [s.no_speech_prob for s in segments if s.no_speech_prob is not None]
    flags = []
    if suspect:
        flags.append("suspect_segments")
        if suspect == len(segments):
            flags.append("all_segments_suspect")
    short = (declared_duration_s is not None and duration_s < declared_duration_s * TRUNCATED_SHARE
             and declared_duration_s - duration_s >= TRUNCATED_MIN_S)
    if stopped_early or short:
        flags.append("truncated")
    if bad_packets:
        flags.append("bad_packets")
    return TranscriptQuality(
        n_segments=len(segments), n_suspect_segments=suspect, mean_avg_logprob=mean_lp,
        max_compression_ratio=max(ratios) if ratios else None,
        max_no_speech_prob=max(no_speech) if no_speech else None, flags=tuple(flags),
    )
