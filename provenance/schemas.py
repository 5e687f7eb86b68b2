"""Arrow schemas of the records the ledger appends (kept apart from provenance.ledger so that a
reader, e.g. ``provenance sql``, never imports pyarrow)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from provenance.records import DOCUMENT_COLUMNS, as_row

TS = pa.timestamp("us")

_DOCUMENT_TYPES = {"fetched_at": TS, "n_chars": pa.int64()}  # every other document column is a string
DOCUMENT_SCHEMA = pa.schema([(name, _DOCUMENT_TYPES.get(name, pa.string())) for name in DOCUMENT_COLUMNS])
FETCH_SCHEMA = pa.schema([
    ("url", pa.string()), ("outcome", pa.string()), ("fetched_at", TS), ("status", pa.int32()),
    ("reason", pa.string()), ("content_type", pa.string()), ("n_bytes", pa.int64()),
    ("doc_id", pa.string()),
])
SIGNAL_SCHEMA = pa.schema([
    ("url", pa.string()), ("domain", pa.string()), ("signal", pa.string()), ("value", pa.string()),
    ("evidence", pa.string()), ("observed_at", TS), ("agent", pa.string()), ("doc_id", pa.string()),
])
LICENSE_SCHEMA = pa.schema([
    ("url", pa.string()), ("source", pa.string()), ("raw_value", pa.string()),
    ("license", pa.string()), ("observed_at", TS), ("doc_id", pa.string()), ("in_body", pa.bool_()),
    ("scope", pa.string()), ("vocabulary", pa.string()),
])
MEDIA_SCHEMA = pa.schema([
    ("media_url", pa.string()), ("page_doc_id", pa.string()), ("page_url", pa.string()),
    ("discovered_at", TS), ("kind", pa.string()), ("mime_type", pa.string()),
    ("license", pa.string()), ("license_evidence", pa.string()),
])

@dataclass(frozen=True, slots=True)
class SetTable:
    """An append-only log with set semantics: ``key`` columns identify a row's content."""

    table: str
    schema: pa.Schema
    key: tuple[str, ...]
    extra: dict[str, str] = field(default_factory=dict)  # computed columns: name -> SQL expression


FETCHES = SetTable("fetch_log", FETCH_SCHEMA, ("url", "fetched_at", "status", "outcome", "reason", "doc_id"),
                    {"domain": "NULL"})
SIGNALS = SetTable("signal_log", SIGNAL_SCHEMA, ("url", "signal", "agent", "value", "evidence", "doc_id"))
LICENSES = SetTable("license_log", LICENSE_SCHEMA,
                    ("url", "doc_id", "source", "raw_value", "license", "in_body", "scope"))
MEDIA = SetTable("media_log", MEDIA_SCHEMA, ("media_url", "page_doc_id", "kind", "mime_type", "license"))



def records_to_arrow(records: Iterable[Any], schema: pa.Schema) -> pa.Table:
    """Typed records as an Arrow table of ``schema`` (columns in schema order)."""
    rows = [as_row(r) for r in records]
    return pa.Table.from_pylist(rows, schema=schema)
