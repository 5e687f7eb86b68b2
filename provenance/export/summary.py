"""What an export holds, from the ledger: the facts its data card and Croissant file state.

Every figure is a query over the export's cleared documents (a temporary table) or the ledger's
views; nothing here depends on the time of the export, so the same ledger and policy give the
same summary.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from provenance.ledger import LedgerView
from provenance.policies import Policy

TOP_DOMAINS = 25


@dataclass(frozen=True, slots=True)
class ExportSummary:
    policy: Policy
    n_documents: int
    n_chars: int
    n_attribution: int
    n_domains: int
    corpus_documents: int  # in the whole ledger (latest state)
    corpus_chars: int
    ledger_counts: dict[str, int]  # revoked, opted out, non-canonical documents in the whole ledger
    licenses: list[dict[str, Any]]  # license, name, url, documents, characters
    consent: list[dict[str, Any]]
    source_types: list[dict[str, Any]]
    languages: list[dict[str, Any]]
    domains: list[dict[str, Any]]  # the largest TOP_DOMAINS
    first_fetched: str | None
    last_fetched: str | None
    ledger_as_of: str | None
    runs: list[dict[str, Any]]  # the runs that produced the exported documents and their clusters
    clusters: int  # exported documents that stand for a near-duplicate cluster
    data_files: list[tuple[str, str, int]]  # path, sha256, bytes
    manifest_sha256: str
    root_sha256: str
    creator: str
    version: str  # 1.N.0: N counts the earlier different exports of this policy (see versioning())
    url: str | None  # where the dataset is published (export --url), else None
    arrow_bytes: int  # size of the exported rows in Arrow's memory format


def _rows(writer: LedgerView, sql: str) -> list[dict[str, Any]]:
    return writer.query(sql).to_pylist()


def _iso(value: Any) -> str | None:
    """ISO 8601 in UTC with its zone (``2026-03-01T12:00:00Z``); the ledger stores UTC times."""
    if value is None:
        return None
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return utc.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def summarize(writer: LedgerView, cleared: str, policy: Policy, *, n_attribution: int,
              data_files: list[tuple[str, str, int]], manifest_sha256: str, root_sha256: str,
              creator: str | None, url: str | None = None, arrow_bytes: int = 0) -> ExportSummary:
    totals = _rows(writer, f"""
        SELECT count(*) AS documents, CAST(coalesce(sum(n_chars), 0) AS BIGINT) AS chars,
               count(DISTINCT domain) AS domains, min(fetched_at) AS first_fetched,
               max(fetched_at) AS last_fetched,
               count(*) FILTER (WHERE dup_cluster IS NOT NULL) AS clusters
        FROM {cleared}""")[0]
    corpus = _rows(writer, """
        SELECT count(*) AS documents, CAST(coalesce(sum(n_chars), 0) AS BIGINT) AS chars,
               count(*) FILTER (WHERE revoked) AS revoked,
               count(*) FILTER (WHERE consent = 'opted_out') AS opted_out,
               count(*) FILTER (WHERE NOT is_canonical) AS non_canonical
        FROM documents""")[0]
    as_of = _rows(writer, """
        SELECT greatest((SELECT max(fetched_at) FROM document_log),
                        (SELECT max(assigned_at) FROM cluster_log),
                        (SELECT max(revoked_at) FROM revocation_log)) AS t""")[0]["t"]
    ledger_counts = {"revoked": corpus["revoked"], "opted out": corpus["opted_out"],
                     "near-duplicates that are not canonical": corpus["non_canonical"]}
    runs = _rows(writer, f"""
        WITH used AS (
            SELECT DISTINCT run_id FROM {cleared}
            UNION SELECT DISTINCT c.run_id FROM clusters c JOIN {cleared} x USING (doc_id)
        )
        SELECT r.run_id, r.command, r.started_at, r.finished_at, r.versions
        FROM runs r JOIN used USING (run_id)
        ORDER BY r.started_at, r.run_id""")
    for run in runs:
        run["started_at"] = _iso(run["started_at"])
        run["finished_at"] = _iso(run["finished_at"])
        run["versions"] = json.loads(run["versions"]) if run["versions"] else {}
    return ExportSummary(
        policy=policy,
        n_documents=totals["documents"],
        n_chars=totals["chars"],
        n_attribution=n_attribution,
        n_domains=totals["domains"],
        corpus_documents=corpus["documents"],
        corpus_chars=corpus["chars"],
        ledger_counts=ledger_counts,
        licenses=_rows(writer, f"""
            SELECT coalesce(license, '(none found)') AS license, any_value(license_name) AS name,
                   any_value(license_url) AS url, count(*) AS documents, CAST(sum(n_chars) AS BIGINT) AS characters
            FROM {cleared} GROUP BY license ORDER BY documents DESC, license"""),
        consent=_rows(writer, f"""
            SELECT consent, count(*) AS documents FROM {cleared} GROUP BY consent ORDER BY consent"""),
        source_types=_rows(writer, f"""
            SELECT source_type, count(*) AS documents, CAST(sum(n_chars) AS BIGINT) AS characters
            FROM {cleared} GROUP BY source_type ORDER BY source_type"""),
        languages=_rows(writer, f"""
            SELECT coalesce(language, 'unknown') AS language, count(*) AS documents
            FROM {cleared} GROUP BY 1 ORDER BY documents DESC, language"""),
        domains=_rows(writer, f"""
            SELECT domain, count(*) AS documents, CAST(sum(n_chars) AS BIGINT) AS characters
            FROM {cleared} WHERE domain IS NOT NULL
            GROUP BY domain ORDER BY characters DESC, domain LIMIT {TOP_DOMAINS}"""),
        first_fetched=_iso(totals["first_fetched"]),
        last_fetched=_iso(totals["last_fetched"]),
        ledger_as_of=_iso(as_of),
        runs=runs,
        clusters=totals["clusters"],
        data_files=data_files,
        manifest_sha256=manifest_sha256,
        root_sha256=root_sha256,
        creator=creator or _user(),
        version=versioning(writer, policy, manifest_sha256),
        url=url,
        arrow_bytes=arrow_bytes,
    )


def versioning(writer: LedgerView, policy: Policy, manifest_sha256: str) -> str:
    """``1.N.0``: N is the place of this content (its manifest's hash) among the different contents
    exported under this policy's name, in the order they were first exported. The same content keeps
    its version wherever and however often it is exported; new content gets the next one."""
    seen = writer.query("""
        SELECT manifest_sha256 FROM export_log WHERE policy = ?
        GROUP BY manifest_sha256 ORDER BY min(created_at), manifest_sha256""", [policy.name]
    ).column("manifest_sha256").to_pylist()
    return f"1.{seen.index(manifest_sha256) if manifest_sha256 in seen else len(seen)}.0"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment (some containers)
        return "unknown"
