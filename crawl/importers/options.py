"""The options of an import (light: the CLI reads its defaults from here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Which input columns hold what (only ``text`` is required)."""

    text: str = "text"
    url: str | None = "url"
    license: str | None = "license"
    consent: str | None = "consent"
    title: str | None = "title"
    id: str | None = None
    fetched_at: str | None = None
    language: str | None = None

    def optional(self) -> dict[str, str]:
        names = ("url", "license", "consent", "title", "id", "fetched_at", "language")
        return {k: getattr(self, k) for k in names if getattr(self, k)}


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How inputs are read (the options of ``provenance import``)."""

    fmt: str | None = None  # jsonl, parquet or warc (default: from each file's name)
    columns: ColumnMap = field(default_factory=ColumnMap)
    skip_bad_rows: bool = False
    strict_digests: bool = False
    workers: int | None = None  # WARC readers (default: one per core, at most one per file)
    engine: str = "local"  # local processes, or ray
    ray_address: str | None = None
    base: str | None = None  # what the paths of a warc.paths listing are relative to (directory or URL)
    allow_private: bool = False  # downloads may reach private addresses (a local test server)

    def config(self, files: Sequence[Path]) -> dict:
        """What the run records as its configuration."""
        return {"files": [str(p.resolve()) for p in files], "format": self.fmt,
                "columns": self.columns.optional() | {"text": self.columns.text},
                "skip_bad_rows": self.skip_bad_rows, "strict_digests": self.strict_digests,
                "workers": self.workers, "engine": self.engine, "base": self.base}
