"""Run the audit's queries on the ledger and lay their results out as a :class:`Report`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, UTC
from typing import Any

from provenance.audit.model import BarChart, Figures, Note, QueryResult, Report, Section, Table
from provenance.audit.queries import EU_TOP_MAX, EU_TOP_SHARE, TOP_N, AuditQuery, audit_queries
from provenance.ledger import Ledger, LedgerMissingError
from provenance.policies import Policy, builtins, ensure_document_classes
from provenance.records import CONSENT_ORDER
from provenance.sandbox import judge, sandboxed


def existing_relations(con: Any) -> set[str]:
    """Names of the views and tables of the ledger's main schema."""
    rows = con.execute("""
        SELECT view_name FROM duckdb_views() WHERE schema_name = 'main'
        UNION SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'
    """).fetchall()
    return {r[0] for r in rows}


def require_ledger(ledger: Ledger) -> None:
    """Refuse a workspace with no ledger: there is nothing to audit."""
    if not ledger.workspace.exists():
        raise LedgerMissingError(
            f"there is no ledger in {ledger.workspace.root}: nothing to audit. Create one with "
            f"`provenance import`, `provenance crawl` or `provenance demo`, or pass -w DIR."
        )


def prepare(ledger: Ledger) -> None:
    """Refresh ``license_classes`` for the documents' expressions: a read when current; otherwise
    one short write (which also applies pending migrations)."""
    require_ledger(ledger)
    ensure_document_classes(ledger)


def plan(con: Any, policies: Sequence[Policy]) -> tuple[list[AuditQuery], set[str]]:
    relations = existing_relations(con)
    return audit_queries(policies, has_transcriptions="transcriptions" in relations), relations


def run_queries(con: Any, queries: Sequence[AuditQuery], relations: set[str]) -> dict[str, QueryResult]:
    results = {}
    for query in queries:
        missing = [r for r in query.requires if r not in relations]
        if missing:
            results[query.name] = QueryResult(
                query.name, query.title, query.sql, (), (),
                skipped=f"the ledger has no {', '.join(missing)} view (that stage has not been installed)")
            continue
        judge(query.sql)
        cursor = con.execute(query.sql)
        columns = tuple(d[0] for d in cursor.description)
        results[query.name] = QueryResult(query.name, query.title, query.sql, columns,
                                          tuple(cursor.fetchall()))
    return results


def build_report(ledger: Ledger, policies: Sequence[Policy] | None = None, *,
                 now: datetime | None = None) -> Report:
    """The audit of a workspace: every query run once on one read-only connection."""
    policies = list(policies) if policies is not None else list(builtins())
    prepare(ledger)
    with sandboxed(ledger) as con:  # the same sandbox as `provenance sql`
        queries, relations = plan(con, policies)
        results = run_queries(con, queries, relations)
    generated = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    as_of = results["ledger_as_of"].first().get("ledger_as_of")
    return Report(
        title="Licensing and consent audit",
        workspace=str(ledger.workspace.root),
        generated_at=generated.isoformat().replace("+00:00", "Z"),
        ledger_as_of=as_of.isoformat(sep=" ") if as_of is not None else None,
        sections=sections(policies),
        queries=results,
    )


def sections(policies: Sequence[Policy]) -> tuple[Section, ...]:
    """The report's layout: which query each block shows (no numbers are computed here)."""
    return (
        Section("summary", "Corpus summary",
                "What the ledger holds: documents, characters, sources, the runs that produced "
                "them and the versions of the tools they used.",
                (Figures("corpus_totals", (("Documents", "documents"), ("Characters", "characters"),
                                           ("Domains", "domains"), ("Web pages", "web_pages"),
                                           ("Transcripts", "transcripts"), ("Imported", "imported"),
                                           ("First fetched", "first_fetched"),
                                           ("Last fetched", "last_fetched"))),
                 Table("runs_by_command", "Runs by command"),
                 Table("tool_versions", "Tool versions recorded by the runs"))),
        Section("licenses", "Licenses",
                "The license of every document as detected (strongest source first) and the class "
                "of each license. A document may belong to several classes (CC BY-SA is open, "
                "commercial, attribution and share-alike).",
                (BarChart("license_distribution", "Documents by license", "license", ("documents",)),
                 Table("license_distribution", "Documents and characters by license"),
                 BarChart("license_classes", "Share of documents by license class", "class",
                          ("share_documents",), percent=True),
                 Table("license_classes", "License classes"))),
        Section("consent", "Consent",
                "Consent to AI training, decided the same way everywhere: opted_out when at least one "
                "machine-readable reservation applied (robots.txt for an AI training agent, noai, "
                "TDMRep, AIPREF Content-Usage, Content-Signal, ai.txt), granted when there is an "
                "explicit permission (an open license, tdm-reservation=0, train-ai=y, ai-train=yes), "
                "unspecified otherwise.",
                (BarChart("consent_overall", "Documents by consent", "consent", ("documents",)),
                 Table("consent_overall", "Consent status"),
                 BarChart("consent_by_domain", "Consent by domain (largest domains)", "domain",
                          CONSENT_ORDER),
                 Table("consent_by_domain", f"Consent by domain (top {TOP_N} by documents)"),
                 Table("opt_out_mechanisms", "Mechanisms that opted documents out",
                       empty="no document is opted out"),
                 Table("robots_agents", "robots.txt rules per AI agent",
                       empty="no robots.txt was evaluated"),
                 Table("signals_seen", "Every consent mechanism observed",
                       empty="no consent signal was observed"))),
        Section("conflicts", "Conflicts",
                "Documents whose signals disagree. An open license does not override an opt-out; a "
                "license link inside the article body is not the page's license.",
                (Table("conflict_counts", "Conflicts"),
                 Table("conflict_open_opted_out", "Open license but opted out (examples)",
                       empty="none"),
                 Table("conflict_body_license", "License link in the body, no page license (examples)",
                       empty="none"))),
        Section("transcripts", "Transcripts",
                "Speech transcribed with Whisper: licenses inherited from the page that embedded the "
                "media (unless the media carries its own), and Whisper's own quality measures "
                "(low_logprob: mean avg_logprob < -1.0; repetitive: compression ratio > 2.4; "
                "no_speech: no-speech probability > 0.6).",
                (Table("transcripts_by_license", "Transcripts by license", empty="no transcripts"),
                 Table("transcript_quality", "Transcripts by model and quality flags",
                       empty="no transcripts"),
                 Table("transcript_flags", "Transcript-level flags", empty="no flagged transcripts"))),
        Section("dedup", "Near-duplicates",
                "Clusters of near-duplicate documents. Policies keep the canonical member: the one "
                "with the clearest rights, then the earliest fetch. Where members carry different "
                "licenses, the canonical choice decided which license the corpus keeps.",
                (Figures("dedup_summary", (("Clusters", "clusters"),
                                           ("Documents in clusters", "documents_in_clusters"),
                                           ("Non-canonical documents", "non_canonical_documents"),
                                           ("Non-canonical characters", "non_canonical_characters"),
                                           ("Clusters with mixed licenses", "clusters_with_mixed_licenses"),
                                           ("Clusters with mixed consent", "clusters_with_mixed_consent"))),
                 Table("dedup_license_changes", "Clusters where the canonical choice changed the license",
                       empty="no cluster mixes licenses (or dedup has not run)"))),
        Section("revocations", "Revocations",
                "Owners' requests to take their work out (`provenance revoke`). A revocation reaches "
                "every matching document and every near-duplicate of one; later exports exclude them.",
                (Figures("revocation_totals", (("Revocations", "revocations"),
                                               ("Revoked documents", "revoked_documents"),
                                               ("Revoked characters", "revoked_characters"),
                                               ("Reached as near-duplicates", "reached_as_near_duplicates"),
                                               ("Revoked documents in exports", "revoked_documents_in_exports"),
                                               ("Exports affected", "exports_affected"))),
                 Table("revocation_list", "Revocations", empty="no revocations"),
                 Table("revocation_exports", "Exports holding revoked documents",
                       empty="no export holds a revoked document"))),
        Section("policies", "Policies",
                "How much of the corpus each export policy clears (`provenance export --policy NAME`). "
                "A revoked document is never cleared.",
                (*(Note(f"`{p.name}`: {p.describe()}.") for p in policies),
                 BarChart("policy_clearance", "Share of documents cleared", "policy",
                          ("share_documents",), percent=True),
                 Table("policy_clearance", "Cleared by policy"),
                 Table("exports_list", "Exports made from this ledger", empty="no exports yet"))),
        Section("top-domains", "Top domains by volume",
                f"The domains that contributed most content, in the manner of the EU AI Act's public "
                f"summary of training content: the top {EU_TOP_SHARE:.0%} of domains by characters "
                f"(at least one, at most {EU_TOP_MAX}), with the period of collection.",
                (BarChart("top_domains", "Characters by domain", "domain", ("characters",)),
                 Table("top_domains", "Top domains by volume", empty="no web documents"))),
        Section("consent-drift", "Consent drift",
                "Documents whose consent changed when they were crawled again: the site's signals "
                "changed between two observations. Exports made before a change still hold the "
                "document (see Policies, opted_out_since).",
                (Table("consent_drift", "Consent changes", empty="no consent changed between crawls"),
                 Table("consent_drift_by_domain", "Consent changes by domain",
                       empty="no consent changed between crawls"))),
        Section("notes", "How to read this report",
                "Every number above comes from a named SQL query over the ledger's views, listed in the "
                "appendix; paste it into `provenance sql` to reproduce it.",
                (Note("Long lists show their first rows only; the queries in the appendix return "
                      "everything when their LIMIT is removed."),)),
    )
