"""Import a bring-your-own corpus from JSONL or Parquet, streamed in batches.

Each row becomes a document (``source_type`` 'import'): its text goes to a shard under
``shards/import/``, its facts to the ledger. Optional per-row license and consent columns are
normalised through the license vocabulary and the consent resolver, like crawled pages.

The whole file is one transaction: a malformed row stops the import with its line (or row)
number and nothing of the file is stored, unless ``skip_bad_rows`` is set, in which case each bad
row is skipped and recorded in ``fetches`` (outcome 'error', the reason and the line).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, UTC
from pathlib import Path
from typing import Any

from provenance import consent as consent_mod
from provenance import licenses
from provenance.errors import InputError
from provenance.ids import doc_id_for_key, doc_id_for_text, doc_id_for_url, domain_of, text_sha256, utcnow
from provenance.ledger import LedgerWriter
from provenance.records import ConsentSignal, Document, FetchRecord, LicenseFinding
from provenance.store import BatchBuffer, DocumentStore, PendingDocument

BATCH_ROWS = 20_000


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


@dataclass(slots=True)
class ImportStats:
    rows: int = 0
    documents_new: int = 0
    unchanged: int = 0
    bad_rows: int = 0
    bad_examples: list[str] = field(default_factory=list)


class BadRow(Exception):
    def __init__(self, where: str, reason: str):
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


# --- readers: (location, row) pairs, raising BadRow for rows that cannot be read ------------

def iter_jsonl(path: Path) -> Iterator[tuple[str, dict[str, Any] | BadRow]]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:  # type: ignore[operator]
        for lineno, raw in enumerate(fh, start=1):
            where = f"{path.name}:{lineno}"
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield where, BadRow(where, f"invalid UTF-8 at byte {exc.start}")
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield where, BadRow(where, f"invalid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(row, dict):
                yield where, BadRow(where, f"expected a JSON object, got {type(row).__name__}")
                continue
            yield where, row


def jsonl_columns(path: Path) -> list[str] | None:
    """The keys of the first readable object, to name the columns found in an error."""
    for _, row in iter_jsonl(path):
        if isinstance(row, dict):
            return list(row)
    return None


def parquet_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        return list(pq.ParquetFile(path).schema_arrow.names)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise InputError(f"{path} is not a readable Parquet file: {exc}") from exc


def iter_parquet(path: Path, columns: list[str]) -> Iterator[tuple[str, dict[str, Any] | BadRow]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        index = 0
        for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=columns):
            for row in batch.to_pylist():
                index += 1
                yield f"{path.name}#row={index}", row
    except OSError as exc:
        raise InputError(f"{path} could not be read as Parquet: {exc}") from exc


# --- conversion -------------------------------------------------------------------------------

def _text_of(value: Any, where: str, column: str) -> str:
    if value is None:
        raise BadRow(where, f"no value in the text column {column!r}")
    if not isinstance(value, str):
        raise BadRow(where, f"the text column {column!r} holds {type(value).__name__}, not a string")
    if not value.strip():
        raise BadRow(where, f"the text column {column!r} is empty")
    return value


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _timestamp(value: Any, where: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(tz=None).replace(tzinfo=None)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRow(where, f"cannot read {value!r} as an ISO date-time") from exc
    if parsed.tzinfo is not None:

        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


_CONSENT_ALIASES = {
    "opted_out": "opted_out", "opt_out": "opted_out", "opted-out": "opted_out", "optout": "opted_out",
    "no": "opted_out", "false": "opted_out", "reserved": "opted_out",
    "granted": "granted", "yes": "granted", "true": "granted", "allowed": "granted",
    "unspecified": "unspecified", "unknown": "unspecified", "": "unspecified",
}


def row_to_pending(row: dict[str, Any], where: str, cols: ColumnMap, source_name: str,
                   imported_at: datetime) -> PendingDocument:
    text = _text_of(row.get(cols.text), where, cols.text)
    url = _str_or_none(row.get(cols.url)) if cols.url else None
    key = _str_or_none(row.get(cols.id)) if cols.id else None
    if key is not None:
        doc_id = doc_id_for_key(source_name, key)
    elif url is not None:
        doc_id = doc_id_for_url(url)
    else:
        doc_id = doc_id_for_text(text)
    observed = (_timestamp(row.get(cols.fetched_at), where) if cols.fetched_at else None) or imported_at
    where_url = url or f"import:{source_name}#{where}"
    domain = domain_of(url)

    findings: list[LicenseFinding] = []
    raw_license = _str_or_none(row.get(cols.license)) if cols.license else None
    if raw_license:
        findings.append(LicenseFinding(url=where_url, source="import_column", raw_value=raw_license[:2000],
                                       license=licenses.normalize(raw_license), observed_at=observed,
                                       doc_id=doc_id))
    decision = licenses.choose(findings)

    signals: list[ConsentSignal] = []
    raw_consent = _str_or_none(row.get(cols.consent)) if cols.consent else None
    if raw_consent is not None:
        value = _CONSENT_ALIASES.get(raw_consent.lower())
        if value is None:
            raise BadRow(where, f"consent value {raw_consent!r} is not one of opted_out, granted, unspecified")
        signals.append(ConsentSignal(url=where_url, domain=domain or "", signal="import_column", value=value,
                                     evidence=f"{cols.consent}={raw_consent}", observed_at=observed,
                                     doc_id=doc_id))
    consent = consent_mod.resolve_consent(signals, license=decision.license)

    title = _str_or_none(row.get(cols.title)) if cols.title else None
    language = _str_or_none(row.get(cols.language)) if cols.language else None
    doc = Document(
        doc_id=doc_id, url=url, domain=domain, source_type="import", fetched_at=observed,
        text_sha256=text_sha256(text), n_chars=len(text), shard="",
        license=decision.license, license_evidence=decision.evidence,
        consent=consent.consent, consent_evidence=consent_mod.format_evidence(consent),
        title=title[:1000] if title else None, language=language,
    )
    return PendingDocument(doc=doc, text=text, signals=tuple(signals), licenses=tuple(findings))


def check_columns(found: list[str] | None, cols: ColumnMap, path: Path, *, sparse: bool = False) -> ColumnMap:
    """Fail early when the text column is missing; drop optional default columns that are absent.

    ``sparse``: rows may each have their own keys (JSONL), so only the text column is checked
    against the first row and the optional columns are looked up in every row.
    """
    if found is None:
        raise InputError(f"{path} holds no readable rows")
    if cols.text not in found:
        raise InputError(
            f"{path} has no text column {cols.text!r}; columns found: {', '.join(found) or '(none)'}. "
            f"Pass --text-column NAME."
        )
    if sparse:
        return cols
    defaults = ColumnMap()
    kept = {}
    for name, column in cols.optional().items():
        if column in found:
            kept[name] = column
        elif column != getattr(defaults, name):  # named explicitly by the user but missing
            raise InputError(
                f"{path} has no column {column!r} (given for --{name.replace('_', '-')}-column); "
                f"columns found: {', '.join(found)}"
            )
    return ColumnMap(text=cols.text, **{k: kept.get(k) for k in
                                        ("url", "license", "consent", "title", "id", "fetched_at", "language")})


def import_tabular(
    writer: LedgerWriter,
    run_id: str,
    path: Path,
    fmt: str,
    cols: ColumnMap,
    *,
    skip_bad_rows: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportStats:
    """Import one JSONL or Parquet file in one transaction."""
    if not path.exists():
        raise InputError(f"{path} does not exist")
    if fmt == "jsonl":
        cols = check_columns(jsonl_columns(path), cols, path, sparse=True)
        rows = iter_jsonl(path)
    elif fmt == "parquet":
        cols = check_columns(parquet_columns(path), cols, path)
        rows = iter_parquet(path, [cols.text, *cols.optional().values()])
    else:
        raise InputError(f"import_tabular reads jsonl or parquet, not {fmt}")

    stats = ImportStats()
    imported_at = utcnow()
    store = DocumentStore(writer, run_id, "import")
    buffer = BatchBuffer(store, progress)
    batch, bad = buffer.docs, buffer.fetches
    source_name = path.name

    with store.transaction():
        for where, row in rows:
            try:
                if isinstance(row, BadRow):
                    raise row
                batch.append(row_to_pending(row, where, cols, source_name, imported_at))
                stats.rows += 1
            except BadRow as exc:
                if not skip_bad_rows:
                    raise InputError(
                        f"{exc}. Nothing from {path.name} was stored; fix the row, or pass "
                        f"--skip-bad-rows to skip bad rows and record them in `fetches`."
                    ) from None
                stats.bad_rows += 1
                if len(stats.bad_examples) < 5:
                    stats.bad_examples.append(str(exc))
                bad.append(FetchRecord(url=f"import:{exc.where}", outcome="error",
                                       fetched_at=imported_at, reason=f"bad row: {exc.reason}"))
            if len(batch) >= BATCH_ROWS:
                buffer.flush()
        buffer.flush()
    stats.documents_new, stats.unchanged = buffer.documents_new, buffer.unchanged
    return stats


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


__all__ = ["ColumnMap", "ImportStats", "import_tabular", "iter_jsonl", "iter_parquet"]
