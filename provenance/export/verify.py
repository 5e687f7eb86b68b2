"""``provenance verify EXPORT_DIR``: an export checked against itself, anywhere, without a workspace.

Three layers, each saying exactly what changed:

1. **files**: every file against the SHA-256 the marker (``provenance-export.json``) lists:
   modified, added (not listed) and removed (listed, absent) files;
2. **manifest**: the root hash recomputed from ``manifest.parquet`` against the marker's (and against
   ``expected_root`` when the caller has it from a trusted place: the ledger's export, a
   publication), documents listed twice;
3. **documents**: every data row's text re-hashed and joined with the manifest by doc_id: texts
   that changed, documents added to or removed from the data files, hashes rewritten in the data.

Someone who rewrites a text and every hash after it is caught by layer 2 only against a root hash
kept elsewhere, which is why ``--root`` exists and the ledger and the data card record it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from provenance.errors import ProvenanceError
from provenance.export.files import sha256_file
from provenance.export.integrity import RootHash, read_marker
from provenance.outputs import EXPORT_MARKER

KEPT_PER_KIND = 1000  # findings kept per kind; the count is always exact
BATCH = 50_000


class NotAnExport(ProvenanceError):
    """The directory is not an export this tool wrote (or its marker cannot be read)."""


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # file_modified, file_added, file_removed, manifest_tampered, root_mismatch,
    # manifest_unreadable, data_unreadable, doc_duplicated, text_modified, hash_rewritten,
    # doc_added, doc_removed
    subject: str  # a relative file path or a doc_id
    detail: str


@dataclass(slots=True)
class Verification:
    directory: Path
    root_sha256: str  # the marker's
    recomputed_root: str | None  # from the manifest (None when it could not be read)
    n_documents: int  # the marker's
    n_files: int
    counts: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.counts

    def add(self, kind: str, subject: str, detail: str) -> None:
        n = self.counts.get(kind, 0)
        self.counts[kind] = n + 1
        if n < KEPT_PER_KIND:
            self.findings.append(Finding(kind, subject, detail))


def _entries(root: Path) -> Iterator[tuple[str, Path, bool]]:
    """(relative path, path, is a regular file) of everything under ``root`` but the marker."""
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        for name in sorted(filenames) + sorted(d for d in dirnames if (base / d).is_symlink()):
            path = base / name
            rel = path.relative_to(root).as_posix()
            if rel != EXPORT_MARKER:
                yield rel, path, stat.S_ISREG(path.lstat().st_mode)


def verify_export(directory: Path, *, expected_root: str | None = None) -> Verification:
    """Check the export in ``directory``; see the module docstring."""
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise NotAnExport(f"{root} is not a directory: give the directory an export was written to")
    marker = read_marker(root)
    if marker is None:
        raise NotAnExport(f"{root} has no readable {EXPORT_MARKER}: it is not an export of this tool (or its "
                          f"marker was removed or damaged, which is itself a change)")
    listed: dict[str, str] = {str(k): str(v) for k, v in marker["files"].items()}
    result = Verification(root, marker["root_sha256"], None, int(marker.get("n_documents") or 0), len(listed))
    _check_files(result, root, listed)
    if expected_root is not None and expected_root.lower() != result.root_sha256:
        result.add("root_mismatch", EXPORT_MARKER,
                   f"the export's root hash {result.root_sha256} is not the expected {expected_root.lower()}")
    manifest = root / "manifest.parquet"
    data = sorted(p for p in (root / "data").glob("*.parquet") if p.is_file()) if (root / "data").is_dir() else []
    if not manifest.is_file():
        return result
    con = duckdb.connect(":memory:")
    try:
        _check_manifest(result, con, manifest)
        _check_documents(result, con, root, manifest, data)
    finally:
        con.close()
    return result


def _check_files(result: Verification, root: Path, listed: dict[str, str]) -> None:
    present = set()
    for rel, path, regular in _entries(root):
        present.add(rel)
        if rel not in listed:
            result.add("file_added", rel, "not written by the export")
        elif not regular:
            result.add("file_modified", rel, "replaced by a link or special file")
        elif (actual := sha256_file(path)) != listed[rel]:
            result.add("file_modified", rel, f"sha256 is {actual}, the export wrote {listed[rel]}")
    for rel in sorted(set(listed) - present):
        result.add("file_removed", rel, "written by the export, now missing")


def _check_manifest(result: Verification, con: duckdb.DuckDBPyConnection, manifest: Path) -> None:
    digest = RootHash()
    previous = None
    try:
        reader = con.sql("SELECT doc_id, text_sha256 FROM read_parquet(?) ORDER BY doc_id",
                         params=[str(manifest)]).to_arrow_reader(BATCH)
        for batch in reader:
            ids = batch.column(0).to_pylist()
            hashes = batch.column(1).to_pylist()
            clean_ids, clean_hashes = [], []
            for doc_id, sha in zip(ids, hashes, strict=True):
                if doc_id is None or sha is None:
                    result.add("manifest_tampered", str(doc_id), "a manifest row without doc_id or text_sha256")
                    continue
                if doc_id == previous:
                    result.add("doc_duplicated", doc_id, "listed more than once in the manifest")
                    continue
                previous = doc_id
                clean_ids.append(doc_id)
                clean_hashes.append(sha)
            digest.update(clean_ids, clean_hashes)
    except (duckdb.Error, ValueError) as exc:
        result.add("manifest_unreadable", "manifest.parquet", str(exc).splitlines()[0])
        return
    result.recomputed_root = digest.hexdigest()
    if result.recomputed_root != result.root_sha256:
        result.add("manifest_tampered", "manifest.parquet",
                   f"its documents give the root hash {result.recomputed_root}, the export recorded "
                   f"{result.root_sha256}")


def _check_documents(result: Verification, con: duckdb.DuckDBPyConnection, root: Path, manifest: Path,
                     data: list[Path]) -> None:
    if not data:
        if result.n_documents:
            result.add("data_unreadable", "data/", "no data file is left")
        return
    try:
        reader = con.sql("""
            WITH m AS (SELECT doc_id, text_sha256 FROM read_parquet(?)),
                 d AS (SELECT id, text_sha256 AS claimed, sha256(text) AS actual, filename AS file
                       FROM read_parquet(?, filename = true, union_by_name = true)),
                 n AS (SELECT id, count(*) AS copies FROM d GROUP BY id)
            SELECT coalesce(m.doc_id, d.id) AS doc_id, m.text_sha256 AS expected, d.claimed, d.actual,
                   d.file, n.copies
            FROM m FULL OUTER JOIN d ON m.doc_id = d.id LEFT JOIN n ON n.id = d.id
            WHERE m.doc_id IS NULL OR d.id IS NULL OR d.actual IS DISTINCT FROM m.text_sha256
               OR d.claimed IS DISTINCT FROM m.text_sha256 OR n.copies > 1
            ORDER BY 1, d.file
        """, params=[str(manifest), [str(p) for p in data]]).to_arrow_reader(BATCH)
        for batch in reader:
            for row in batch.to_pylist():
                _classify(result, root, row)
    except duckdb.Error as exc:
        result.add("data_unreadable", "data/", str(exc).splitlines()[0])


def _classify(result: Verification, root: Path, row: dict) -> None:
    doc_id, file = row["doc_id"], row["file"]
    where = Path(file).relative_to(root).as_posix() if file and Path(file).is_absolute() else file
    if row["expected"] is None:
        result.add("doc_added", doc_id, f"in {where}, not in the manifest")
    elif file is None:
        result.add("doc_removed", doc_id, "in the manifest, in no data file")
    elif row["actual"] != row["expected"]:
        result.add("text_modified", doc_id, f"the text in {where} hashes to {row['actual']}, the manifest "
                                            f"records {row['expected']}")
    elif row["claimed"] != row["expected"]:
        result.add("hash_rewritten", doc_id, f"the text_sha256 column in {where} says {row['claimed']}, the "
                                             f"text and the manifest agree on {row['expected']}")
    if row["copies"] and row["copies"] > 1 and row["expected"] is not None:
        result.add("doc_duplicated", doc_id, f"{row['copies']} rows in the data files ({where} among them)")
