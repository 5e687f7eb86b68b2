"""Parquet shards: where the text lives (zstd; ``doc_id``, ``url``, ``text`` and a few light columns).

A shard is written to a ``.tmp`` file and renamed into place only when complete, and it is
registered in the ledger in the same transaction as its documents, so a reader never sees a
half-written shard and a shard no ledger row references is swept aside by the next writer.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from provenance.workspace import Workspace

SHARD_SCHEMA = pa.schema([
    ("doc_id", pa.string()),
    ("url", pa.string()),
    ("text", pa.string()),
    ("title", pa.string()),
    ("source_type", pa.string()),
    ("text_sha256", pa.string()),
])
ROW_GROUP_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class ShardRow:
    doc_id: str
    url: str | None
    text: str
    title: str | None
    source_type: str
    text_sha256: str


@dataclass(frozen=True, slots=True)
class WrittenShard:
    shard: str  # relative to the workspace
    tmp_path: Path
    final_path: Path
    n_rows: int
    n_bytes: int

    def publish(self) -> None:
        """Flush the complete file to disk and rename it into place (right before the ledger
        commit), so a crash or power loss never leaves the ledger pointing at a partial file."""
        with open(self.tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(self.tmp_path, self.final_path)

    def discard(self) -> None:
        self.tmp_path.unlink(missing_ok=True)


def shard_path(workspace: Workspace, source_type: str, run_id: str, index: int) -> Path:
    return workspace.shards_dir / source_type / f"{run_id}-{index:05d}-{os.urandom(6).hex()}.parquet"


def write_shard(
    workspace: Workspace,
    source_type: str,
    run_id: str,
    index: int,
    rows: Sequence[ShardRow],
    extra_columns: dict[str, pa.Array] | None = None,
) -> WrittenShard:
    """Write rows to a temporary file; ``publish()`` moves it into place."""
    final = shard_path(workspace, source_type, run_id, index)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(final.name + ".tmp")
    columns = {name: [getattr(r, name) for r in rows] for name in SHARD_SCHEMA.names}
    table = pa.Table.from_pydict(columns, schema=SHARD_SCHEMA)
    for name, array in (extra_columns or {}).items():
        table = table.append_column(name, array)
    pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP_ROWS)
    return WrittenShard(
        shard=workspace.relative(final), tmp_path=tmp, final_path=final,
        n_rows=len(rows), n_bytes=tmp.stat().st_size,
    )


def write_shard_table(workspace: Workspace, source_type: str, run_id: str, index: int,
                      table: pa.Table) -> WrittenShard:
    """Write an Arrow table of SHARD_SCHEMA to a temporary file; ``publish()`` moves it into place."""
    final = shard_path(workspace, source_type, run_id, index)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(final.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP_ROWS)
    return WrittenShard(shard=workspace.relative(final), tmp_path=tmp, final_path=final,
                        n_rows=table.num_rows, n_bytes=tmp.stat().st_size)
