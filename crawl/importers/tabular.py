"""Import a bring-your-own corpus from JSONL or Parquet, streamed in batches.

Each row becomes a document (``source_type`` 'import'): its text goes to a shard under
``shards/import/``, its facts to the ledger. Optional per-row license and consent columns are
normalised through the license vocabulary and the consent resolver, like crawled pages.

Rows are converted column by column (Arrow compute and DuckDB's vectorised hashing, see
``provenance.columnar``), staged outside the write lock and stored in short write transactions
(``provenance.staging``), so readers are never locked out for the length of an import. A
malformed row stops the import with its line (or row) number before anything of the file is
stored, unless ``skip_bad_rows`` is set, in which case each bad row is skipped and recorded in
``fetches`` (outcome 'error', the reason and the line). A truncated or corrupt file (a gzip stream
that ends early or fails its CRC, a Parquet row group that cannot be decoded) is treated the same
way and named with the byte offset of the damage; with ``skip_bad_rows`` what precedes the damage
is kept (for Parquet: every other row group) and the damage is one ``fetches`` row.

One document per doc_id per file: when several rows of a file are the same document (the same
id, else URL, else text), the **last** one is imported and each earlier one is recorded in
``fetches`` (outcome 'skipped', naming the row that won). Only a file that holds such duplicates
is read more than once (a pass over its keys, then the import again).
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime, UTC
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crawl.importers.options import ColumnMap
from crawl.importers.damage import Damage, DamagedInput, LimitedReader, gzip_damage, is_gzip_name, one_line
from provenance import consent as consent_mod
from provenance import licenses
from provenance.errors import InputError
from provenance.columnar import Hasher
from provenance.ids import utcnow
from provenance.ledger import Ledger
from provenance.schemas import DOCUMENT_SCHEMA, FETCH_SCHEMA, TS
from provenance.records import ConsentSignal, LicenseFinding
from provenance.staging import ROW_GROUP_ROWS, Stager

BATCH_ROWS = 20_000  # JSONL lines per batch
PARQUET_BATCH_ROWS = 50_000
# Input rows are staged a DuckDB row group at a time (provenance.staging.ROW_GROUP_ROWS), or fewer
# when their texts reach this: what a staged batch holds in memory
STAGE_TEXT_BYTES = 128 << 20


@dataclass(slots=True)
class ImportStats:
    rows: int = 0
    documents_new: int = 0
    unchanged: int = 0
    reresolved: int = 0  # stored documents whose consent new robots.txt (etc.) captures changed
    bad_rows: int = 0
    bad_examples: list[str] = field(default_factory=list)
    duplicates: int = 0  # earlier rows of a document that a later row of the file replaced


class BadRow(Exception):
    def __init__(self, where: str, reason: str):
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


class DamagedRow(BadRow):
    """The file itself is damaged here: ``context`` says where (a line, rows), ``lost`` what is skipped."""

    def __init__(self, path: Path, damage: Damage, context: str, lost: str):
        super().__init__(damage.where(path), f"damaged at byte {damage.offset:,} ({context}): {damage.reason}; {lost}")
        self.damage = damage
        self.context = context

    def error(self, path: Path) -> DamagedInput:
        return DamagedInput(path, self.damage, detail=f" ({self.context})")


def _read_damage(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "the file ends inside a compressed member: it is truncated"
    if isinstance(exc, (gzip.BadGzipFile, zlib.error)):
        return f"not valid gzip data ({one_line(exc)})"
    return f"it could not be read ({one_line(exc)})"


# --- readers: (location, row) pairs, raising BadRow for rows that cannot be read ------------

def iter_jsonl(path: Path, *, strict: bool = False) -> Iterator[tuple[str, dict[str, Any] | BadRow]]:
    """Rows of a JSONL file (gzipped when the name ends in .gz). A damaged file ends with a
    DamagedRow, or raises DamagedInput when ``strict``.

    A gzipped file is checked first (every member's CRC and length): text decoded from a corrupt
    member is never used, so only the members before it are read; a truncated file is read up to
    where it ends.
    """
    gzipped = is_gzip_name(path)
    damage = gzip_damage(path) if gzipped else None
    if damage is not None and strict:
        raise DamagedInput(path, damage)
    limit = damage.intact_before if damage is not None and not damage.truncated else None
    lineno = 0
    with open(path, "rb") as raw:
        source: Any = raw if limit is None else LimitedReader(raw, limit)
        fh: Any = gzip.GzipFile(fileobj=source, mode="rb") if gzipped else raw
        try:
            for data in fh:
                lineno += 1
                where = f"{path.name}:{lineno}"
                if not data.strip():
                    continue
                try:
                    line = data.decode("utf-8")
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
        except (EOFError, OSError, zlib.error) as exc:  # what the check did not see (a plain file)
            damage = damage or Damage(raw.tell(), _read_damage(exc))
    if damage is not None:
        hurt = DamagedRow(path, damage, f"after line {lineno}", "the rest of the file was not read")
        if strict:
            raise hurt.error(path)
        yield damage.where(path), hurt


def jsonl_columns(path: Path) -> list[str] | None:
    """The keys of the first readable object, to name the columns found in an error."""
    for _, row in iter_jsonl(path):
        if isinstance(row, dict):
            return list(row)
        if isinstance(row, DamagedRow):
            raise DamagedInput(path, row.damage, detail=" (before any readable row)")
    return None


def parquet_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(path) as pf:
            return list(pf.schema_arrow.names)
    except (OSError, pa.ArrowException) as exc:  # pyarrow raises several types for a corrupt file
        footer = max(path.stat().st_size - 8, 0)
        raise DamagedInput(path, Damage(footer, f"it is not a readable Parquet file: its footer cannot be "
                                                f"read ({one_line(exc)}); the file is truncated or not Parquet"),
                           detail=" (the footer)") from exc


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


# Python's own whitespace (str.strip / str.isspace), for Arrow's trim to strip exactly the same.
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
              "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
# A text of WHITESPACE only (or empty): the anchored match stops at its first other character,
# where trimming copied every text
_BLANK = "^[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]*$"
CONSENT_CHOICES = "opted_out, granted, unspecified"


def _clean_strings(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``_str_or_none`` of every value: stripped text, NULL for nothing or blank."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        values = pc.cast(column, pa.string())
    else:  # another type: its Python text, as a row-by-row import would read it
        values = pa.array([None if v is None else str(v) for v in _pylist(column)[0]], pa.string())
    trimmed = pc.utf8_trim(values, WHITESPACE)
    return pc.if_else(pc.equal(pc.utf8_length(trimmed), 0), pa.scalar(None, pa.string()), trimmed)


@dataclass
class Columns:
    """One batch of input rows, cleaned column by column (every array has ``n`` values)."""

    n: int
    where: pa.Array  # "file:line" / "file#row=N"
    text: pa.Array  # as given (NULL where the row has none)
    text_reason: pa.Array  # why the row cannot be read (NULL: it can)
    url: pa.Array | None = None
    key: pa.Array | None = None
    license: pa.Array | None = None
    consent: pa.Array | None = None
    title: pa.Array | None = None
    language: pa.Array | None = None
    fetched_at: pa.Array | None = None
    fetched_reason: pa.Array | None = None


@dataclass
class Converted:
    documents: pa.Table
    texts: pa.Array
    signals: pa.Table
    licenses: pa.Table
    bad: list[tuple[str, str]]  # (where, reason) of rows that cannot be read, in file order


def _same(value: object, type_: pa.DataType, n: int) -> pa.Array:
    """``value`` ``n`` times (without a Python list of n items)."""
    return pa.repeat(pa.scalar(value, type_), n)


def _null_strings(n: int) -> pa.Array:
    return pa.nulls(n, pa.string())


def convert(batch: Columns, cols: ColumnMap, source_name: str, imported_at: datetime, hasher: Hasher) -> Converted:
    """Rows -> document, signal and license rows, column by column.

    A row's doc_id comes from its id column (namespaced by the file name), else its URL, else
    its text; its license from the license column through the vocabulary; its consent from the
    consent column and the license through the consent resolver (both decided once per
    distinct value); unreadable rows come back in ``bad`` with their reason."""
    n = batch.n
    text = batch.text
    blank = pc.fill_null(pc.match_substring_regex(text, _BLANK), False)
    text_reason = pc.coalesce(
        batch.text_reason,
        pc.if_else(pc.is_null(text), pa.scalar(f"no value in the text column {cols.text!r}"),
                   pc.if_else(blank, pa.scalar(f"the text column {cols.text!r} is empty"), _null_strings(n))))
    raw_consent = batch.consent if batch.consent is not None else _null_strings(n)
    consent_value = _null_strings(n)
    consent_reason = _null_strings(n)
    if batch.consent is not None:
        uniq = pc.unique(raw_consent).to_pylist()
        mapping = {u: _CONSENT_ALIASES.get(u.lower()) for u in uniq if u is not None}
        consent_value = pa.array([mapping.get(u) if u is not None else None for u in uniq], pa.string()).take(
            pc.index_in(raw_consent, pa.array(uniq, pa.string())))
        bad_values = {u: f"consent value {u!r} is not one of {CONSENT_CHOICES}" for u, v in mapping.items() if v is None}
        if bad_values:
            consent_reason = pa.array([bad_values.get(u) for u in raw_consent.to_pylist()], pa.string())
    reason = pc.coalesce(text_reason, batch.fetched_reason or _null_strings(n), consent_reason)
    ok = pc.is_null(reason)
    bad: list[tuple[str, str]] = []
    if not pc.all(ok).as_py():
        bad_rows = pc.filter(pa.table({"where": batch.where, "reason": reason}), pc.invert(ok))
        bad = list(zip(bad_rows.column("where").to_pylist(), bad_rows.column("reason").to_pylist()))

    def good(column: pa.Array | None) -> pa.Array:
        return pc.filter(column if column is not None else _null_strings(n), ok)

    text, where, url, key = good(text), good(batch.where), good(batch.url), good(batch.key)
    raw_license, raw_consent, consent_value = good(batch.license), good(raw_consent), good(consent_value)
    m = len(text)
    doc_id, domain = hasher.doc_ids_for_urls(url)
    if batch.key is not None and pc.any(pc.is_valid(key)).as_py():
        doc_id = pc.coalesce(hasher.doc_ids_for_keys(source_name, key), doc_id)
    no_id = pc.is_null(doc_id)
    if pc.any(no_id).as_py():  # neither a key nor a URL: the id comes from the text
        positions = pc.indices_nonzero(no_id)
        by_text = hasher.doc_ids_for_texts(pc.take(text, positions)).to_pylist()
        ids = doc_id.to_pylist()
        for pos, value in zip(positions.to_pylist(), by_text):
            ids[pos] = value
        doc_id = pa.array(ids, pa.string())
    observed = _same(imported_at, TS, m) if batch.fetched_at is None else pc.fill_null(
        pc.cast(good(batch.fetched_at), TS), pa.scalar(imported_at, TS))

    # license and consent: decided once per distinct (license, consent) the file holds
    lic_uniq = pc.unique(raw_license).to_pylist()
    lic_decisions = {}
    for raw in lic_uniq:
        finding = [] if raw is None else [LicenseFinding(url="", source="import_column", raw_value=raw[:2000],
                                                         license=licenses.normalize(raw), observed_at=imported_at)]
        lic_decisions[raw] = (finding[0].license if finding else None, licenses.choose(finding))
    lic_index = pc.index_in(raw_license, pa.array(lic_uniq, pa.string()))
    normalized = pa.array([lic_decisions[u][0] for u in lic_uniq], pa.string()).take(lic_index)
    license_id = pa.array([lic_decisions[u][1].license for u in lic_uniq], pa.string()).take(lic_index)
    license_evidence = pa.array([lic_decisions[u][1].evidence for u in lic_uniq], pa.string()).take(lic_index)
    combo = pc.binary_join_element_wise(pc.fill_null(raw_consent, "\x00"), pc.fill_null(license_id, "\x00"),
                                        pc.fill_null(consent_value, "\x00"), "\x1f")
    encoded = pc.dictionary_encode(combo).combine_chunks() if isinstance(combo, pa.ChunkedArray) else pc.dictionary_encode(combo)
    consent_of, evidence_of = [], []
    for entry in encoded.dictionary.to_pylist():
        raw_c, lic, value = (None if part == "\x00" else part for part in entry.split("\x1f"))
        signals = [] if raw_c is None else [ConsentSignal(url="", domain="", signal="import_column", value=value or "",
                                                          evidence=f"{cols.consent}={raw_c}", observed_at=imported_at)]
        decision = consent_mod.resolve_consent(signals, license=lic)
        consent_of.append(decision.consent)
        evidence_of.append(consent_mod.format_evidence(decision))
    consent = pa.array(consent_of, pa.string()).take(encoded.indices)
    consent_evidence = pa.array(evidence_of, pa.string()).take(encoded.indices)
    title = good(batch.title)
    title = pc.utf8_slice_codeunits(title, 0, 1000)
    documents = pa.table({
        "doc_id": doc_id, "url": url, "domain": domain, "source_type": _same("import", pa.string(), m),
        "fetched_at": observed, "text_sha256": hasher.sha256_hex(text),
        "n_chars": pc.cast(pc.utf8_length(text), pa.int64()), "shard": _same("", pa.string(), m),
        "license": license_id, "license_evidence": license_evidence, "consent": consent,
        "consent_evidence": consent_evidence, "title": title, "author": _null_strings(m),
        "published": _null_strings(m), "language": good(batch.language), "parent_doc_id": _null_strings(m),
    }, schema=DOCUMENT_SCHEMA)
    where_url = pc.coalesce(url, pc.binary_join_element_wise(pa.scalar(f"import:{source_name}#"), where, ""))
    rows = pa.table({"url": where_url, "domain": pc.fill_null(domain, ""), "doc_id": doc_id, "observed_at": observed,
                     "raw_license": raw_license, "normalized": normalized, "raw_consent": raw_consent,
                     "consent_value": consent_value})
    with_consent = rows.filter(pc.is_valid(raw_consent))
    signal_rows = pa.table({
        "url": with_consent.column("url"), "domain": with_consent.column("domain"),
        "signal": _same("import_column", pa.string(), with_consent.num_rows),
        "value": with_consent.column("consent_value"),
        "evidence": pc.binary_join_element_wise(pa.scalar(f"{cols.consent}="), with_consent.column("raw_consent"), ""),
        "observed_at": with_consent.column("observed_at"), "agent": _null_strings(with_consent.num_rows),
        "doc_id": with_consent.column("doc_id"),
    })
    with_license = rows.filter(pc.is_valid(raw_license))
    license_rows = pa.table({
        "url": with_license.column("url"),
        "source": _same("import_column", pa.string(), with_license.num_rows),
        "raw_value": pc.utf8_slice_codeunits(with_license.column("raw_license"), 0, 2000),
        "license": with_license.column("normalized"), "observed_at": with_license.column("observed_at"),
        "doc_id": with_license.column("doc_id"), "in_body": _same(False, pa.bool_(), with_license.num_rows),
        # an import's license column speaks of the document's own content
        "scope": _same("content", pa.string(), with_license.num_rows),
        "vocabulary": _same(licenses.vocabulary_version(), pa.string(), with_license.num_rows),
    })
    return Converted(documents, text, signal_rows, license_rows, bad)


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


def _where(prefix: str, first: int, n: int) -> pa.Array:
    numbers = pc.cast(pa.array(range(first, first + n), pa.int64()), pa.string())
    return pc.binary_join_element_wise(pa.scalar(prefix), numbers, "")


def parquet_batches(path: Path, cols: ColumnMap, batch_rows: int = PARQUET_BATCH_ROWS, *,
                    strict: bool = False) -> Iterator[Columns]:
    """The rows of a Parquet file as cleaned column batches, one row group at a time. A row group
    that cannot be decoded raises DamagedInput when ``strict``, else comes as one bad row (named by
    its byte offset) and reading goes on with the next row group."""
    import pyarrow.parquet as pq

    names = [cols.text, *cols.optional().values()]
    with pq.ParquetFile(path) as pf:
        index = 1
        for group in range(pf.num_row_groups):
            meta = pf.metadata.row_group(group)
            start = index
            try:
                for record_batch in pf.iter_batches(batch_size=batch_rows, columns=list(dict.fromkeys(names)),
                                                    row_groups=[group]):
                    batch = _parquet_columns(path, cols, record_batch, index)
                    index += batch.n
                    yield batch
            except (OSError, pa.ArrowException) as exc:
                damage = Damage(_row_group_offset(meta), f"row group {group} cannot be decoded ({one_line(exc)})")
                hurt = DamagedRow(path, damage, f"rows {start}-{start + meta.num_rows - 1}",
                                  f"rows {index}-{start + meta.num_rows - 1} were not imported, the other row "
                                  f"groups were read")
                if strict:
                    raise hurt.error(path) from exc
                yield Columns(n=1, where=pa.array([hurt.where], pa.string()), text=_null_strings(1),
                              text_reason=pa.array([hurt.reason], pa.string()))
            index = start + meta.num_rows


def _parquet_columns(path: Path, cols: ColumnMap, record_batch: pa.RecordBatch, index: int) -> Columns:
    n = record_batch.num_rows
    text = record_batch.column(cols.text)
    text_reason = _null_strings(n)
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        values, unreadable = _pylist(text)
        text_reason = pa.array([r if r is not None else None if v is None else
                                f"the text column {cols.text!r} holds {type(v).__name__}, not a string"
                                for v, r in zip(values, unreadable)], pa.string())
        text = pa.array([v if isinstance(v, str) else None for v in values], pa.string())
    batch = Columns(n=n, where=_where(f"{path.name}#row=", index, n), text=pc.cast(text, pa.string()),
                    text_reason=text_reason)
    for name in ("url", "key", "license", "consent", "title", "language"):
        column = getattr(cols, "id" if name == "key" else name)
        if column:
            setattr(batch, name, _clean_strings(record_batch.column(column)))
    if cols.fetched_at:
        values, unreadable = _pylist(record_batch.column(cols.fetched_at))
        _set_fetched(batch, values, batch.where.to_pylist(), unreadable)
    return batch


def _pylist(column: pa.Array) -> tuple[list[Any], list[str | None]]:
    """The values of a column as Python objects, and for each one Python cannot hold (a timestamp
    beyond year 9999, say) the reason instead (its value None)."""
    try:
        whole = column.to_pylist()
        return whole, [None] * len(whole)
    except (OverflowError, ValueError):
        pass
    values: list[Any] = []
    reasons: list[str | None] = []
    for i in range(len(column)):
        try:
            values.append(column[i].as_py())
            reasons.append(None)
        except (OverflowError, ValueError) as exc:
            values.append(None)
            reasons.append(f"a value of {column.type} cannot be read ({one_line(exc)})")
    return values, reasons


def _row_group_offset(meta: Any) -> int:
    """The byte offset where a row group's first page starts."""
    starts = []
    for i in range(meta.num_columns):
        column = meta.column(i)
        starts.append(column.data_page_offset)
        if column.has_dictionary_page and column.dictionary_page_offset:
            starts.append(column.dictionary_page_offset)
    return min(starts)


def _set_fetched(batch: Columns, values: list[Any], wheres: list[str],
                 unreadable: list[str | None] | None = None) -> None:
    times: list[datetime | None] = []
    reasons: list[str | None] = []
    for i, (value, where) in enumerate(zip(values, wheres)):
        if unreadable is not None and unreadable[i] is not None:
            times.append(None)
            reasons.append(unreadable[i])
            continue
        try:
            times.append(_timestamp(value, where))
            reasons.append(None)
        except BadRow as exc:
            times.append(None)
            reasons.append(exc.reason)
    batch.fetched_at = pa.array(times, TS)
    batch.fetched_reason = pa.array(reasons, pa.string())


def jsonl_batches(path: Path, cols: ColumnMap, batch_rows: int = BATCH_ROWS, *,
                  strict: bool = False) -> Iterator[Columns]:
    """The rows of a JSONL file as cleaned column batches (each line read by Python's json)."""
    optional = {name: getattr(cols, "id" if name == "key" else name)
                for name in ("url", "key", "license", "consent", "title", "language")}
    rows: list[tuple[str, dict[str, Any] | BadRow]] = []

    def make() -> Columns:
        wheres = [w for w, _ in rows]
        texts: list[str | None] = []
        reasons: list[str | None] = []
        for _, row in rows:
            if isinstance(row, BadRow):
                texts.append(None)
                reasons.append(row.reason)
                continue
            value = row.get(cols.text)
            if value is not None and not isinstance(value, str):
                texts.append(None)
                reasons.append(f"the text column {cols.text!r} holds {type(value).__name__}, not a string")
            else:
                texts.append(value)
                reasons.append(None)
        batch = Columns(n=len(rows), where=pa.array(wheres, pa.string()), text=pa.array(texts, pa.string()),
                        text_reason=pa.array(reasons, pa.string()))
        dicts = [row if isinstance(row, dict) else {} for _, row in rows]
        for name, column in optional.items():
            if column:
                setattr(batch, name, pa.array([_str_or_none(d.get(column)) for d in dicts], pa.string()))
        if cols.fetched_at:
            _set_fetched(batch, [d.get(cols.fetched_at) for d in dicts], wheres)
        return batch

    for item in iter_jsonl(path, strict=strict):
        rows.append(item)
        if len(rows) >= batch_rows:
            yield make()
            rows = []
    if rows:
        yield make()


def import_tabular(
    ledger: Ledger,
    run_id: str,
    path: Path,
    fmt: str,
    cols: ColumnMap,
    *,
    skip_bad_rows: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportStats:
    """Import one JSONL or Parquet file: every batch is computed and staged outside the write
    lock, then stored in short write transactions. A malformed row or a damaged file stops the
    file before anything of it is stored (unless ``skip_bad_rows``)."""
    if not path.exists():
        raise InputError(f"{path} does not exist")
    if fmt not in ("jsonl", "parquet"):
        raise InputError(f"import_tabular reads jsonl or parquet, not {fmt}")
    imported_at = utcnow()
    try:
        if fmt == "jsonl":
            cols = check_columns(jsonl_columns(path), cols, path, sparse=True)
        else:
            cols = check_columns(parquet_columns(path), cols, path)
    except DamagedInput as exc:  # nothing of the file is readable
        if not skip_bad_rows:
            raise
        return _record_unreadable(ledger, run_id, path, exc.damage, imported_at)

    def batches() -> Iterator[Columns]:
        if fmt == "jsonl":
            return jsonl_batches(path, cols, strict=not skip_bad_rows)
        return parquet_batches(path, cols, strict=not skip_bad_rows)

    try:
        return _stage(ledger, run_id, path, batches(), cols, imported_at, skip_bad_rows, progress, None)
    except _DuplicateFound:  # nothing was committed: find each document's last row, then import again
        with Hasher() as hasher:
            winners: dict[str, str] = {}
            for batch in batches():
                converted = convert(batch, cols, path.name, imported_at, hasher)
                winners.update(zip(converted.documents.column("doc_id").to_pylist(), _good_wheres(batch, converted)))
        return _stage(ledger, run_id, path, batches(), cols, imported_at, skip_bad_rows, progress, winners)


class _DuplicateFound(Exception):
    """A file holds one document twice: its import starts again knowing which rows win."""


def _check_unique(keys: list[np.ndarray]) -> None:
    """Raise _DuplicateFound when two staged documents share a doc_id hash (a hash collision only
    costs the second, exact pass). Checked once the file is staged: 8 bytes a document, where a
    set of the ids held ~60; ``keys`` is emptied."""
    ordered = np.concatenate(keys)
    keys.clear()  # the parts go as soon as they are joined: 8 bytes a document, held once
    ordered.sort()
    if (ordered[1:] == ordered[:-1]).any():
        raise _DuplicateFound()


def _good_wheres(batch: Columns, converted: Converted) -> list[str]:
    """The locations of the rows that became documents, in order (those of the bad rows left out)."""
    bad = {where for where, _ in converted.bad}
    return [w for w in batch.where.to_pylist() if w not in bad]


def _filter(batch: Columns, keep: list[bool]) -> Columns:
    mask = pa.array(keep, pa.bool_())
    out = Columns(n=sum(keep), where=pc.filter(batch.where, mask), text=pc.filter(batch.text, mask),
                  text_reason=pc.filter(batch.text_reason, mask))
    for name in ("url", "key", "license", "consent", "title", "language", "fetched_at", "fetched_reason"):
        column = getattr(batch, name)
        if column is not None:
            setattr(out, name, pc.filter(column, mask))
    return out


def _fetch_rows(urls: list[str], outcome: str, reasons: list[str], fetched_at: datetime,
                doc_ids: list[str | None] | None = None) -> pa.Table:
    n = len(urls)
    table = pa.table({
        "url": pa.array(urls, pa.string()), "outcome": _same(outcome, pa.string(), n),
        "fetched_at": _same(fetched_at, TS, n), "reason": pa.array(reasons, pa.string()),
        "doc_id": pa.array(doc_ids if doc_ids is not None else [None] * n, pa.string()),
    })
    for name in ("status", "content_type", "n_bytes"):
        table = table.append_column(FETCH_SCHEMA.field(name), pa.nulls(n, FETCH_SCHEMA.field(name).type))
    return table


def _record_unreadable(ledger: Ledger, run_id: str, path: Path, damage: Damage, imported_at: datetime) -> ImportStats:
    """--skip-bad-rows and nothing of the file can be read: the damage is the file's one fetches row."""
    reason = f"damaged at byte {damage.offset:,}: {damage.reason}; nothing of the file was read"
    with Stager(ledger, run_id, "import") as stager:
        stager.add(DOCUMENT_SCHEMA.empty_table(), pa.array([], pa.string()),
                   fetches=_fetch_rows([f"import:{damage.where(path)}"], "error", [reason], imported_at))
        stager.commit()
    return ImportStats(bad_rows=1, bad_examples=[f"{damage.where(path)}: {reason}"])


def _regrouped(batches: Iterator[Columns], rows: int, text_bytes: int) -> Iterator[Columns]:
    """The rows of ``batches`` again, in order, ``rows`` to a batch, or fewer once their texts
    reach ``text_bytes`` (an input batch larger than that comes as it is).

    Staged batches of one DuckDB row group each make commits of whole row groups: DuckDB then
    writes and compresses each on a thread of its own as it inserts them, where rows that fill up
    a table's last row group are compressed again with it at the commit (a commit of 300,000
    documents into a table ending in a part-filled row group took about twice as long, measured)."""
    pending: list[Columns] = []
    held = size = 0
    for batch in batches:
        pending.append(batch)
        held += batch.n
        size += _text_bytes(batch)
        while held >= rows:
            whole = _concat(pending)
            yield _slice(whole, 0, rows)
            rest = _slice(whole, rows, whole.n - rows)
            pending, held, size = ([rest] if rest.n else []), rest.n, _text_bytes(rest)
        if pending and size >= text_bytes:
            yield _concat(pending)
            pending, held, size = [], 0, 0
    if pending:
        yield _concat(pending)


def _text_bytes(batch: Columns) -> int:
    return int(pc.sum(pc.binary_length(batch.text)).as_py() or 0) if batch.n else 0


_ARRAYS = [f.name for f in fields(Columns) if f.name != "n"]


def _slice(batch: Columns, offset: int, length: int) -> Columns:
    return Columns(n=length, **{name: None if (a := getattr(batch, name)) is None else a.slice(offset, length)
                                for name in _ARRAYS})


def _concat(parts: list[Columns]) -> Columns:
    """One batch of the rows of ``parts`` (a column some parts lack is NULL in their rows)."""
    if len(parts) == 1:
        return parts[0]
    joined: dict[str, pa.Array | None] = {}
    for name in _ARRAYS:
        values = [getattr(p, name) for p in parts]
        known = next((v for v in values if v is not None), None)
        if known is None:
            joined[name] = None
            continue
        arrays = [pa.nulls(p.n, known.type) if v is None else v for p, v in zip(parts, values, strict=True)]
        joined[name] = pa.concat_arrays(arrays)
    return Columns(n=sum(p.n for p in parts), **joined)


def _stage(ledger: Ledger, run_id: str, path: Path, batches: Iterator[Columns], cols: ColumnMap,
           imported_at: datetime, skip_bad_rows: bool, progress: Callable[[int], None] | None,
           winners: dict[str, str] | None) -> ImportStats:
    """Stage every batch, then commit. ``winners`` None: raise _DuplicateFound, before committing,
    when a document came twice (only hashes of the ids are kept); else import only each document's
    winning row."""
    stats = ImportStats()
    keys: list[np.ndarray] = []  # 64-bit hashes of the doc_ids staged: 8 bytes a document
    with Stager(ledger, run_id, "import") as stager, Hasher() as hasher:
        for batch in _regrouped(batches, ROW_GROUP_ROWS, STAGE_TEXT_BYTES):
            n_input = batch.n
            converted = convert(batch, cols, path.name, imported_at, hasher)
            skipped = _fetch_rows([], "skipped", [], imported_at)
            if winners is None:
                keys.append(hasher.hash64(converted.documents.column("doc_id")))
            else:
                ids = converted.documents.column("doc_id").to_pylist()
                wheres = _good_wheres(batch, converted)
                losers = {w: d for d, w in zip(ids, wheres) if winners.get(d, w) != w}
                if losers:
                    stats.duplicates += len(losers)
                    skipped = _fetch_rows(
                        [f"import:{w}" for w in losers], "skipped",
                        [f"the same document appears again at {winners[d]}, which is imported (the last row "
                         f"of a document in a file wins)" for d in losers.values()],
                        imported_at, list(losers.values()))
                    batch = _filter(batch, [w not in losers for w in batch.where.to_pylist()])
                    converted = convert(batch, cols, path.name, imported_at, hasher)
            if converted.bad and not skip_bad_rows:
                where, reason = converted.bad[0]
                raise InputError(
                    f"{where}: {reason}. Nothing from {path.name} was stored; fix the row, or pass "
                    f"--skip-bad-rows to skip bad rows and record them in `fetches`."
                )
            stats.rows += converted.documents.num_rows
            stats.bad_rows += len(converted.bad)
            stats.bad_examples.extend(f"{w}: {r}" for w, r in converted.bad[: max(0, 5 - len(stats.bad_examples))])
            fetches = _fetch_rows([f"import:{w}" for w, _ in converted.bad], "error",
                                  [r if r.startswith("damaged at byte") else f"bad row: {r}" for _, r in converted.bad],
                                  imported_at)
            stager.add(converted.documents, converted.texts, signals=converted.signals,
                       licenses=converted.licenses, fetches=pa.concat_tables([fetches, skipped]))
            if progress:
                progress(n_input)
        if winners is None and keys:
            _check_unique(keys)  # empties ``keys``: nothing of them is held through the commits
        totals = stager.commit()
    stats.documents_new = totals.documents_new
    stats.unchanged = totals.documents - totals.documents_new
    return stats


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


__all__ = ["ColumnMap", "ImportStats", "import_tabular", "iter_jsonl"]
