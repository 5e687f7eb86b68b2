"""Which importer reads a file."""

from __future__ import annotations

from pathlib import Path

from provenance.errors import InputError

FORMATS = ("jsonl", "parquet", "warc")
_SUFFIXES = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".jsonl.gz": "jsonl", ".ndjson.gz": "jsonl",
    ".json.gz": "jsonl", ".parquet": "parquet", ".pq": "parquet", ".warc": "warc", ".warc.gz": "warc",
    ".arc.gz": "warc",
}


def detect_format(path: Path, given: str | None = None) -> str:
    """The format named by ``--format``, else the one the file name says."""
    if given:
        if given not in FORMATS:
            raise InputError(f"unknown format {given!r}: use one of {', '.join(FORMATS)}")
        return given
    name = path.name.lower()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return _SUFFIXES[suffix]
    raise InputError(
        f"cannot tell the format of {path} from its name: pass --format {'|'.join(FORMATS)}"
    )
