"""What a user may tune in a transcription run (beyond the model and its runtime): one frozen object,
shared by the run (:mod:`transcribe.pipeline`) and the work on one file (:mod:`transcribe.work`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provenance.net import user_agent
from transcribe.fetch import Fetcher, media_client


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """The decoding settings a user can choose (the rest are faster-whisper's defaults)."""

    beam_size: int = 5
    language: str | None = None  # None: detect (English-only models always say 'en')
    vad_filter: bool = True
    temperatures: tuple[float, ...] | None = None  # None: Whisper's fallback 0.0, 0.2, ..., 1.0

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments of faster-whisper's ``transcribe`` these options set."""
        out: dict[str, Any] = dict(language=self.language, beam_size=self.beam_size, vad_filter=self.vad_filter)
        if self.temperatures is not None:
            out["temperature"] = list(self.temperatures)
        return out


@dataclass(frozen=True, slots=True)
class Settings:
    options: DecodeOptions = DecodeOptions()
    max_bytes: int = 2 << 30
    max_duration_s: float = 4 * 3600.0
    timeout_s: float = 600.0  # one download, all of it (redirects, slow reads): a large file needs time
    user_agent: str = field(default_factory=user_agent)  # the crawler's (provenance.net)
    allow_private: bool = False  # --allow-private: fetch from private/loopback addresses (test sites)
    retry_failed: bool = False
    force: bool = False
    limit: int | None = None  # at most this many media to do (already done ones do not count)
    commit_every_s: float = 30.0
    commit_every: int = 100

    def fetcher(self, temp_dir: Path) -> Fetcher:
        """The downloader of a run: the guarded network layer with these limits."""
        return Fetcher(temp_dir, media_client(user_agent=self.user_agent, timeout_s=self.timeout_s,
                                              max_bytes=self.max_bytes, allow_private=self.allow_private))
