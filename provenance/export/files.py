"""Deterministic files: fixed Parquet writer settings, sorted rows, no timestamps of the moment.

The same rows always give the same bytes (with the same pyarrow version), so an export of the same
ledger with the same policy is byte-identical, and its checksums mean something.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP_ROWS = 10_000
ROWS_PER_FILE = 100_000  # a data file holds at most this many documents ...
CHARS_PER_FILE = 200_000_000  # ... and starts a new one after this many characters

PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 3,
    "version": "2.6",
    "data_page_version": "1.0",
    "use_dictionary": True,
    "write_statistics": True,
}


def parquet_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    return pq.ParquetWriter(path, schema, **PARQUET_OPTIONS)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checksums(root: Path) -> dict[str, str]:
    """Relative POSIX path -> sha256 of every file under ``root``, sorted by path."""
    return {p.relative_to(root).as_posix(): sha256_file(p)
            for p in sorted(root.rglob("*")) if p.is_file()}
