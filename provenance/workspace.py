"""The workspace: one directory holding everything of one corpus.

``ledger.duckdb`` (all facts), ``shards/`` (all text, Parquet), ``runs/`` (logs, resumable state),
``reports/`` and ``exports/``. Paths stored in the ledger are relative to the workspace root, so a
workspace can be moved or copied as a whole.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "PROVENANCE_WORKSPACE"
DEFAULT = "workspace"


@dataclass(frozen=True, slots=True)
class Workspace:
    root: Path

    @classmethod
    def resolve(cls, value: str | os.PathLike | None = None) -> Workspace:
        """The workspace named on the command line, else $PROVENANCE_WORKSPACE, else ./workspace."""
        chosen = value or os.environ.get(ENV_VAR) or DEFAULT
        return cls(Path(chosen).expanduser().resolve())

    @property
    def ledger_path(self) -> Path:
        return self.root / "ledger.duckdb"

    @property
    def shards_dir(self) -> Path:
        return self.root / "shards"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    def exists(self) -> bool:
        return self.ledger_path.exists()

    def create(self) -> None:
        for d in (self.root, self.shards_dir, self.runs_dir, self.reports_dir, self.exports_dir):
            d.mkdir(parents=True, exist_ok=True)

    def relative(self, path: Path) -> str:
        """A path inside the workspace as stored in the ledger (POSIX, relative to the root)."""
        return Path(path).resolve().relative_to(self.root).as_posix()

    def absolute(self, relative: str) -> Path:
        return self.root / relative
