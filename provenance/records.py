"""Typed records shared by every stage.

Every record that crosses a package boundary is one of these frozen dataclasses. Stages build
them; the ledger (``provenance.ledger``) is the only code that turns them into rows.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

SourceType = Literal["web", "transcript", "import"]
Consent = Literal["opted_out", "granted", "unspecified"]
FetchOutcome = Literal["document", "skipped", "error", "not_text"]

SOURCE_TYPES: tuple[str, ...] = ("web", "transcript", "import")
CONSENT_VALUES: tuple[str, ...] = ("opted_out", "granted", "unspecified")
# Consent from the most open to the most restrictive. Where several decisions meet (a cluster of
# near-duplicates, a transcript and its page) the most restrictive wins, and a value outside
# these three counts as opted_out. Python and SQL both take the order from here.
CONSENT_ORDER: tuple[Consent, ...] = ("granted", "unspecified", "opted_out")
FETCH_OUTCOMES: tuple[str, ...] = ("document", "skipped", "error", "not_text")

# Signal kinds recorded in ``consent_signals.signal``.
SIGNAL_KINDS: tuple[str, ...] = (
    "robots_txt",  # robots.txt evaluated for one AI agent: value 'disallowed' | 'allowed' | 'unreadable'
    "x_robots_tag",  # one directive of an X-Robots-Tag header: value 'noai', 'noimageai', 'noindex', ...
    "meta_robots",  # one directive of <meta name=robots|AGENT>: value as above
    "tdmrep",  # TDMRep: value 'tdm-reservation=1' | 'tdm-reservation=0' | 'tdm-policy=URL'
    "content_usage",  # AIPREF Content-Usage: value e.g. 'train-ai=n' | 'train-ai=y'
    "content_signal",  # Content-Signal (robots.txt): value e.g. 'ai-train=no' | 'ai-train=yes'
    "ai_txt",  # ai.txt evaluated for the page: value 'disallowed' | 'allowed' | 'unreadable'
    "import_column",  # a consent value given by an imported corpus: value 'opted_out'|'granted'|'unspecified'
)


def consent_rank(consent: str | None) -> int:
    """0 for the most open consent, up to the most restrictive (unknown values rank last)."""
    return CONSENT_ORDER.index(consent) if consent in CONSENT_ORDER else len(CONSENT_ORDER) - 1


def consent_rank_sql(expr: str) -> str:
    """SQL for :func:`consent_rank` of the expression ``expr``."""
    whens = " ".join(f"WHEN '{c}' THEN {i}" for i, c in enumerate(CONSENT_ORDER[:-1]))
    return f"CASE {expr} {whens} ELSE {len(CONSENT_ORDER) - 1} END"


def consent_of_rank_sql(expr: str) -> str:
    """SQL turning a rank (``expr``) back into its consent value."""
    whens = " ".join(f"WHEN {i} THEN '{c}'" for i, c in enumerate(CONSENT_ORDER[:-1]))
    return f"CASE {expr} {whens} ELSE '{CONSENT_ORDER[-1]}' END"


def _check_choice(name: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


@dataclass(frozen=True, slots=True)
class Run:
    """One invocation of a stage: every ledger row carries its ``run_id``."""

    run_id: str
    command: str
    started_at: datetime
    config: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    finished_at: datetime | None = None
    status: str = "running"  # 'running' | 'finished' | 'failed' | 'stopped' | 'interrupted'
    counts: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConsentSignal:
    """One machine-readable consent signal, with the raw evidence it was read from."""

    url: str
    domain: str
    signal: str
    value: str
    evidence: str
    observed_at: datetime
    agent: str | None = None  # the user agent it applies to (None: every agent)
    doc_id: str | None = None  # the document it was observed for, when there is one

    def __post_init__(self) -> None:
        _check_choice("signal", self.signal, SIGNAL_KINDS)


def _vocabulary_version() -> str:
    from provenance.licenses import vocabulary_version  # lazily: licenses imports this module

    return vocabulary_version()


@dataclass(frozen=True, slots=True)
class LicenseFinding:
    """A license statement found for a document: where, the raw value, and its SPDX id."""

    url: str
    source: str  # 'rel_license', 'link_rel_license', 'jsonld', 'dcterms', 'footer_link', 'copyright_notice', 'import_column', 'inherited', 'media'
    raw_value: str
    license: str | None  # SPDX id (or LicenseRef-*), None when the value names no known license
    observed_at: datetime
    doc_id: str | None = None
    in_body: bool = False  # not about the page's own content: evidence only, never the page license
    scope: str = "content"  # what it is about: 'content', 'media', 'software' or 'subject'
    # the license vocabulary that read raw_value (provenance.licenses.vocabulary_version())
    vocabulary: str | None = field(default_factory=lambda: _vocabulary_version())


@dataclass(frozen=True, slots=True)
class ConsentDecision:
    """The consent resolver's answer for one document."""

    consent: Consent
    evidence: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_choice("consent", self.consent, CONSENT_VALUES)


@dataclass(frozen=True, slots=True)
class LicenseDecision:
    """The license chosen for a document from its findings (strongest source first)."""

    license: str | None
    evidence: str | None = None  # e.g. "rel_license: https://creativecommons.org/licenses/by/4.0/"


@dataclass(frozen=True, slots=True)
class Document:
    """One document's facts at one observation. Its text lives in a Parquet shard."""

    doc_id: str
    url: str | None
    domain: str | None
    source_type: SourceType
    fetched_at: datetime
    text_sha256: str
    n_chars: int
    shard: str  # path of the shard holding the text, relative to the workspace
    license: str | None = None
    license_evidence: str | None = None
    consent: Consent = "unspecified"
    consent_evidence: str | None = None
    title: str | None = None
    author: str | None = None
    published: str | None = None
    language: str | None = None
    parent_doc_id: str | None = None

    def __post_init__(self) -> None:
        _check_choice("source_type", self.source_type, SOURCE_TYPES)
        _check_choice("consent", self.consent, CONSENT_VALUES)


# A document's columns, in order: the one list that the Arrow schema, the ledger's document rows
# and every stage that reads documents back take.
DOCUMENT_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Document))


@dataclass(frozen=True, slots=True)
class FetchRecord:
    """Every URL a stage considered, fetched or not, and what came of it."""

    url: str
    outcome: FetchOutcome
    fetched_at: datetime
    status: int | None = None
    reason: str | None = None
    content_type: str | None = None
    n_bytes: int | None = None
    doc_id: str | None = None

    def __post_init__(self) -> None:
        _check_choice("outcome", self.outcome, FETCH_OUTCOMES)


@dataclass(frozen=True, slots=True)
class MediaRef:
    """An audio or video URL discovered on a page: the input of ``transcribe --from-ledger``."""

    media_url: str
    page_doc_id: str | None
    page_url: str | None
    discovered_at: datetime
    kind: str | None = None  # 'audio' | 'video' | 'enclosure' | 'link'
    mime_type: str | None = None
    license: str | None = None  # a license the media itself carries (else it inherits the page's)
    license_evidence: str | None = None


@functools.cache
def _field_names(cls: Any) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def as_row(record: object) -> dict:
    """A record as a plain dict (for Arrow conversion); tuples become lists."""
    row = {}
    kind: Any = type(record)  # a dataclass (hashable: the names are read once per class)
    for name in _field_names(kind):
        value = getattr(record, name)
        row[name] = list(value) if isinstance(value, tuple) else value
    return row
