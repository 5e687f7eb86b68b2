"""Decode any audio or video file to 16 kHz mono float32 samples through PyAV (no system ffmpeg).

wav, flac, mp3, ogg/vorbis, ogg/opus, m4a/aac and the first audio track of mp4/webm/mkv all go
through the same path. Whatever is wrong with a file is an :class:`AudioError` whose message is
the reason recorded in the ledger: not a media file, no audio track, nothing decodable, longer
than the limit. Damaged packets in an otherwise readable file are skipped and counted, as
faster-whisper does; a file that stops decoding early keeps what was decoded and is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
MAX_BAD_PACKET_SHARE = 0.5  # more than this share of damaged packets: the file is corrupt
MIN_DURATION_S = 0.1  # shorter than this holds no word


class AudioError(Exception):
    """A media file that cannot be transcribed; ``str(exc)`` is the reason recorded."""


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What decoding found out about a file (kept after the samples are dropped)."""

    container: str | None
    codec: str | None
    declared_duration_s: float | None  # what the container claims
    duration_s: float  # what was decoded
    bad_packets: int = 0  # damaged packets skipped
    stopped_early: str | None = None  # why decoding stopped before the end of the file


@dataclass(frozen=True, slots=True)
class DecodedAudio:
    samples: np.ndarray  # float32 mono at SAMPLE_RATE, in [-1, 1)
    info: AudioInfo

    @property
    def duration_s(self) -> float:
        return self.info.duration_s


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = max(0.0, float(seconds))
    h, rem = divmod(int(round(seconds)), 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}"


def _declared_duration(container, stream) -> float | None:
    if container.duration:
        return container.duration / 1_000_000  # AV_TIME_BASE
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return None


def decode_audio(path: Path, *, max_duration_s: float) -> DecodedAudio:
    """Decode the first audio track of ``path``; raises :class:`AudioError` with the reason."""
    import av

    size = path.stat().st_size
    if size == 0:
        raise AudioError("empty file (0 bytes)")
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise AudioError(f"not a readable audio or video file ({size} bytes): {_ffmpeg_message(exc)}") from exc
    with container:
        if not container.streams.audio:
            kinds: list[str] = sorted({str(s.type) for s in container.streams}) or ["none"]
            raise AudioError(f"no audio track in this {container.format.name} file (streams: {', '.join(kinds)})")
        stream = container.streams.audio[0]
        declared = _declared_duration(container, stream)
        format_name = container.format.name
        codec = stream.codec_context.name if stream.codec_context else None
        limit = int(max_duration_s * SAMPLE_RATE)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        n_samples = packets = bad = 0
        stopped: str | None = None

        def take(frames) -> None:
            nonlocal n_samples
            for frame in frames:
                array = frame.to_ndarray().reshape(-1)
                chunks.append(array)
                n_samples += array.shape[0]
            if n_samples > limit:
                raise AudioError(
                    f"longer than the limit of {format_duration(max_duration_s)} (--max-duration); "
                    f"the container declares {format_duration(declared)}"
                )

        try:
            for packet in container.demux(stream):
                if packet.size == 0 and packet.pts is None:
                    continue  # the demuxer's flush packet
                packets += 1
                try:
                    frames = packet.decode()
                except av.error.FFmpegError:
                    bad += 1
                    continue
                for frame in frames:
                    take(resampler.resample(frame))
            take(resampler.resample(None))
        except av.error.FFmpegError as exc:
            stopped = f"decoding stopped at {format_duration(n_samples / SAMPLE_RATE)}: {_ffmpeg_message(exc)}"
    if packets and bad / packets > MAX_BAD_PACKET_SHARE:
        raise AudioError(f"corrupt audio: {bad} of {packets} packets could not be decoded ({codec})")
    if n_samples == 0:
        claim = f"; the container declares {format_duration(declared)}" if declared else ""
        why = f" ({stopped})" if stopped else ""
        raise AudioError(f"no audio could be decoded from {size} bytes{claim}{why}")
    if n_samples < MIN_DURATION_S * SAMPLE_RATE:
        raise AudioError(f"too short to hold speech: {n_samples / SAMPLE_RATE:.4f} s decoded from {size} bytes"
                         + (f"; the container declares {format_duration(declared)}" if declared else ""))
    samples = np.concatenate(chunks).astype(np.float32) / 32768.0
    info = AudioInfo(container=format_name, codec=codec, declared_duration_s=declared,
                     duration_s=samples.shape[0] / SAMPLE_RATE, bad_packets=bad, stopped_early=stopped)
    return DecodedAudio(samples=samples, info=info)


def _ffmpeg_message(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split())[:300]
