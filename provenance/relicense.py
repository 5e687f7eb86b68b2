"""Re-read stored license evidence with the current vocabulary (``provenance relicense``).

Every ``license_log`` row keeps the raw statement it was read from. When the vocabulary improves
(a new SPDX list, more Creative Commons titles, new rules), this re-reads those raw values:

- a finding whose reading changes gets a new ``license_log`` row (same statement, new license,
  observed now, the current ``vocabulary``); the old row stays: history is never rewritten;
- a document whose decided license changes gets a new observation (same text, fetch time and
  shard; new ``license`` and ``license_evidence``) written through the ledger's own write path, so
  ``documents`` shows it at once. Consent is lowered where it rested on the old license alone
  ('granted' by an open license that now reads as none); it is never raised here.

The findings of a document are all its stored statements, the newest reading of each (the log
keeps a statement once, however often it was seen). Idempotent: a second run with the same
vocabulary adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from provenance import licenses
from provenance.ids import utcnow
from provenance.stage import open_run
from provenance.ledger import Ledger
from provenance.records import DOCUMENT_COLUMNS, Document, LicenseDecision, LicenseFinding

Decide = Callable[[Iterable[LicenseFinding]], LicenseDecision]

BATCH = 2_000


@dataclass(frozen=True, slots=True)
class RelicenseResult:
    run_id: str
    vocabulary: str
    findings_read: int
    findings_changed: int
    documents_read: int
    documents_changed: int




def relicense(ledger: Ledger, *, decide: Decide = licenses.choose,
              progress: Callable[[int], None] | None = None) -> RelicenseResult:
    """Re-read every stored license statement with the current vocabulary; see the module doc.

    ``decide`` turns a document's findings into its license: the crawler's own rule (scope and
    the more restrictive content statement; ``crawl.licensing.decide``, passed by the CLI), else
    :func:`provenance.licenses.choose`."""
    vocabulary = licenses.vocabulary_version()
    with open_run(ledger, "relicense", {"vocabulary": vocabulary}) as run, ledger.writer() as writer:
        findings = writer.query("""
            SELECT url, doc_id, source, raw_value, license, in_body, coalesce(scope, CASE WHEN in_body
                   THEN 'subject' ELSE 'content' END) AS scope, observed_at
            FROM license_log WHERE doc_id IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY doc_id, source, raw_value, in_body, scope
                                       ORDER BY observed_at DESC, license) = 1
            ORDER BY doc_id, observed_at DESC
        """).to_pylist()
        docs = {r["doc_id"]: r for r in writer.query(
            f"SELECT {', '.join(DOCUMENT_COLUMNS)} FROM documents").to_pylist()}
        now = utcnow()
        by_doc: dict[str, list[LicenseFinding]] = {}
        changed_findings: list[LicenseFinding] = []
        for r in findings:
            raw = r["raw_value"] or ""
            new = licenses.normalize(raw)
            finding = LicenseFinding(r["url"], r["source"], raw, new, r["observed_at"], r["doc_id"],
                                     bool(r["in_body"]), r["scope"], vocabulary)
            if new != r["license"]:
                finding = replace(finding, observed_at=now)
                changed_findings.append(finding)
            by_doc.setdefault(r["doc_id"], []).append(finding)
        changed_docs: list[Document] = []
        for doc_id, doc_findings in by_doc.items():
            row = docs.get(doc_id)
            if row is None or row["source_type"] == "transcript":
                continue  # a transcript's license is inherited: transcribe decides it
            decision = licenses.noted(decide(doc_findings))
            if decision.license == row["license"] and _same_reading(row["license_evidence"], decision.evidence):
                continue
            consent, consent_evidence = _consent_after(row["consent"], row["consent_evidence"],
                                                       decision.license)
            changed_docs.append(Document(**{**row, "license": decision.license,
                                            "license_evidence": decision.evidence,
                                            "consent": consent, "consent_evidence": consent_evidence}))
        with writer.transaction():
            for i in range(0, max(len(changed_docs), len(changed_findings)), BATCH):
                writer.write(run.run_id, documents=changed_docs[i:i + BATCH],
                             licenses=changed_findings[i:i + BATCH])
                if progress:
                    progress(len(changed_docs[i:i + BATCH]))
        result = RelicenseResult(run.run_id, vocabulary, len(findings), len(changed_findings),
                                 len(docs), len(changed_docs))
        run.note(findings_read=result.findings_read, findings_changed=result.findings_changed,
                 documents=result.documents_changed)
    return result


def _same_reading(old: str | None, new: str | None) -> bool:
    """Evidence that differs only in the vocabulary note is the same reading (nothing to add)."""
    def strip(e: str | None) -> str | None:
        return e.rsplit(" (vocabulary ", 1)[0] if e else e

    return strip(old) == strip(new)


def _consent_after(consent: str, evidence: str | None, license: str | None) -> tuple[str, str | None]:
    """Consent once the license changed. Relicense never raises consent (a re-crawl, which sees
    every signal again, does); a 'granted' that rested on the old license alone becomes
    'unspecified' when the new one grants nothing."""
    if consent != "granted":
        return consent, evidence
    others = [e for e in (evidence or "").split("; ") if e and not e.startswith("license=")]
    if licenses.grants_permission(license):
        return "granted", "; ".join([*others, f"license={license}"])
    if others:
        return "granted", "; ".join(others)
    return "unspecified", None


__all__ = ["RelicenseResult", "relicense"]
