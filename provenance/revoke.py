"""Revocation: an owner asks to take their work out.

``revoke(ledger, domain=... | url=..., reason=...)`` records who asked, what, when and why in
``revocation_log``. The ledger's views do the rest: ``documents.revoked`` is true for every document
the revocation matches (the domain and its subdomains, or the exact URL) and for every member of
their near-duplicate clusters; no export policy clears a revoked document; ``revocation_impact``
lists each document reached and each earlier export that holds one.

Recording the same request twice (same kind, value, reason and requester) adds nothing.
"""

from __future__ import annotations

import getpass
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from provenance.errors import InputError
from provenance.ids import domain_of, canonical_url, utcnow
from provenance.stage import open_run
from provenance.ledger import Ledger, LedgerMissingError, LedgerWriter

Kind = Literal["domain", "url"]
_DOMAIN = re.compile(r"^[a-z0-9\u00a1-\uffff](?:[a-z0-9\u00a1-\uffff-]*[a-z0-9\u00a1-\uffff])?"
                     r"(?:\.[a-z0-9\u00a1-\uffff](?:[a-z0-9\u00a1-\uffff-]*[a-z0-9\u00a1-\uffff])?)*$")


class RevocationError(InputError):
    """A revocation request that cannot be recorded as given."""


@dataclass(frozen=True, slots=True)
class Revocation:
    revocation_id: str
    kind: Kind
    value: str
    reason: str
    requested_by: str | None
    revoked_at: datetime
    run_id: str


@dataclass(frozen=True, slots=True)
class AffectedExport:
    export_id: str
    policy: str
    out_dir: str
    exported_at: datetime
    documents: int  # revoked documents it holds


@dataclass(frozen=True, slots=True)
class RevocationResult:
    revocation: Revocation
    new: bool  # False: the same request was recorded before (nothing was added)
    documents_matched: int
    near_duplicates: int
    exports: tuple[AffectedExport, ...]


def normalize_domain(value: str) -> str:
    """``https://www.News.Example/x``, ``*.news.example.`` or ``Bücher.example`` -> the domain as
    :func:`provenance.ids.domain_of` stores it (``news.example``, ``xn--bcher-kva.example``).

    A revocation of a domain reaches that domain and all its subdomains.
    """
    text = value.strip()
    if "://" not in text:
        text = "http://" + text.removeprefix("*.")
    found = domain_of(text) or ""
    if not found or not _DOMAIN.match(found):
        raise RevocationError(f"{value!r} is not a domain name: give it as news.example (subdomains are "
                              f"included), or revoke one page with --url")
    return found


def revocation_id(kind: str, value: str, reason: str, requested_by: str | None) -> str:
    key = "\x1f".join((kind, value, reason, requested_by or ""))
    return "rev-" + hashlib.sha256(key.encode()).hexdigest()[:20]


def _url_value(writer: LedgerWriter, url: str) -> str:
    """The URL as the ledger stores it: as given, else normalized, when a document has that form."""
    given = url.strip()
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", given):
        raise RevocationError(f"{url!r} is not an absolute URL: give it with its scheme, e.g. https://{given}")
    candidates = [given]
    normalized = canonical_url(given)
    if normalized != given:
        candidates.append(normalized)
    for candidate in candidates:
        found = writer.query("SELECT count(*) AS n FROM document_log WHERE url = ?", [candidate])
        if found.column("n")[0].as_py():
            return candidate
    return normalized


def revoke(ledger: Ledger, *, domain: str | None = None, url: str | None = None, reason: str,
           requested_by: str | None = None) -> RevocationResult:
    """Record a revocation of a domain (with its subdomains) or of one URL, and report its reach."""
    if (domain is None) == (url is None):
        raise RevocationError("give exactly one of --domain or --url")
    if not reason or not reason.strip():
        raise RevocationError("give the reason (--reason), e.g. \"publisher request 2026-11-02\": the "
                              "ledger keeps who asked, what, when and why")
    if not ledger.workspace.exists():
        raise LedgerMissingError(f"there is no ledger in {ledger.workspace.root}: nothing to revoke. "
                                 f"Pass the right workspace with -w DIR.")
    requester = requested_by.strip() if requested_by and requested_by.strip() else _user()
    reason = " ".join(reason.split())
    with ledger.writer() as writer:
        kind: Kind = "domain" if domain is not None else "url"
        value = normalize_domain(domain) if domain is not None else _url_value(writer, url or "")
        rid = revocation_id(kind, value, reason, requester)
        existing = writer.query("SELECT * FROM revocation_log WHERE revocation_id = ?", [rid]).to_pylist()
        if existing:
            row = existing[0]
            record = Revocation(rid, row["kind"], row["value"], row["reason"], row["requested_by"],
                                row["revoked_at"], row["run_id"])
            return _impact(writer, record, new=False)
        with open_run(ledger, "revoke", {"kind": kind, "value": value, "reason": reason,
                                         "requested_by": requester}) as run:
            record = Revocation(rid, kind, value, reason, requester, utcnow(), run.run_id)
            with writer.transaction():
                writer.execute(
                    "INSERT INTO revocation_log (revocation_id, kind, value, reason, requested_by, revoked_at, "
                    "run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [record.revocation_id, record.kind, record.value, record.reason, record.requested_by,
                     record.revoked_at, record.run_id])
            result = _impact(writer, record, new=True)
            run.note(documents=result.documents_matched, near_duplicates=result.near_duplicates,
                     exports=len(result.exports))
    return result


def _impact(writer: LedgerWriter, record: Revocation, new: bool) -> RevocationResult:
    counts = writer.query("""
        SELECT count(DISTINCT doc_id) FILTER (WHERE matched_by = 'direct') AS direct,
               count(DISTINCT doc_id) FILTER (WHERE matched_by = 'near_duplicate') AS near
        FROM revocation_impact WHERE revocation_id = ?""", [record.revocation_id]).to_pylist()[0]
    exports = writer.query("""
        SELECT export_id, any_value(export_policy) AS policy, any_value(export_out_dir) AS out_dir,
               any_value(exported_at) AS exported_at, count(DISTINCT doc_id) AS documents
        FROM revocation_impact
        WHERE revocation_id = ? AND export_id IS NOT NULL
        GROUP BY export_id ORDER BY exported_at, export_id""", [record.revocation_id]).to_pylist()
    return RevocationResult(
        revocation=record, new=new, documents_matched=counts["direct"], near_duplicates=counts["near"],
        exports=tuple(AffectedExport(e["export_id"], e["policy"], e["out_dir"], e["exported_at"],
                                     e["documents"]) for e in exports))


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment
        return "unknown"
