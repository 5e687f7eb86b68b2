"""What makes an export tamper-evident: the root hash and the export's marker file.

**Root hash.** SHA-256 (lower-case hex) over the UTF-8 bytes of one line per exported document,
``doc_id + "\\t" + text_sha256 + "\\n"``, the lines in ascending ``doc_id`` order (byte order; doc_ids
are unique, so each appears once). ``text_sha256`` is the SHA-256 of the document's text in UTF-8,
the ledger's hash. An empty export's root is the SHA-256 of nothing
(``e3b0c442...b855``). The same computation with nothing but pyarrow, from the manifest::

    import hashlib, pyarrow.parquet as pq
    rows = pq.read_table("manifest.parquet", columns=["doc_id", "text_sha256"]).to_pylist()
    lines = sorted(f"{r['doc_id']}\t{r['text_sha256']}\n" for r in rows)
    print(hashlib.sha256("".join(lines).encode()).hexdigest())

**Marker.** ``provenance-export.json``, written last into every export, names this tool as the
writer (so a later export may replace the directory: :mod:`provenance.outputs`), and records the
root hash, the number of documents and the SHA-256 of every other file. ``provenance verify``
checks an export against it (:mod:`provenance.export.verify`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from provenance.outputs import EXPORT_MARKER, MARKER_GENERATOR

MARKER_FORMAT = 1
ROOT_DEFINITION = ("sha256 over the lines doc_id + TAB + text_sha256 + LF of every exported document, "
                   "in ascending doc_id order")


class RootHash:
    """The root hash, fed with (doc_id, text_sha256) pairs in ascending doc_id order."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._last: str | None = None

    def update(self, doc_ids: Iterable[str], hashes: Iterable[str]) -> None:
        for doc_id, sha in zip(doc_ids, hashes, strict=True):
            if self._last is not None and doc_id.encode() <= self._last.encode():
                raise ValueError(f"documents out of order or repeated at {doc_id!r}")
            self._last = doc_id
            self._digest.update(f"{doc_id}\t{sha}\n".encode())

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def root_of(pairs: Iterable[tuple[str, str]]) -> str:
    """The root hash of (doc_id, text_sha256) pairs in any order."""
    root = RootHash()
    ordered = sorted(pairs, key=lambda p: p[0].encode())
    root.update([p[0] for p in ordered], [p[1] for p in ordered])
    return root.hexdigest()


def marker_text(files: dict[str, str], *, root_sha256: str, n_documents: int) -> str:
    body = {"generator": MARKER_GENERATOR, "format": MARKER_FORMAT, "root_sha256": root_sha256,
            "root_definition": ROOT_DEFINITION, "n_documents": n_documents,
            "files": dict(sorted(files.items()))}
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


def write_marker(root: Path, files: dict[str, str], *, root_sha256: str, n_documents: int) -> dict[str, str]:
    """Write the marker into the export at ``root``; returns every file's hash, the marker's included."""
    text = marker_text(files, root_sha256=root_sha256, n_documents=n_documents)
    with open(root / EXPORT_MARKER, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return dict(sorted({**files, EXPORT_MARKER: hashlib.sha256(text.encode()).hexdigest()}.items()))


def read_marker(root: Path) -> dict[str, Any] | None:
    """The marker of the export at ``root`` (None when absent, unreadable or not this tool's)."""
    try:
        data = json.loads((root / EXPORT_MARKER).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if (not isinstance(data, dict) or data.get("generator") != MARKER_GENERATOR
            or not isinstance(data.get("files"), dict) or not isinstance(data.get("root_sha256"), str)):
        return None
    return data
