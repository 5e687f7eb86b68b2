"""The named SQL queries every number of the audit comes from.

Each query reads only the ledger's public views, so a reader can paste it into
``provenance sql`` and get the same rows. Queries that need a view a stage adds (``transcriptions``
from transcribe) are marked with ``requires`` and skipped, with a note, where it does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from provenance.policies import LICENSE_CLASSES, Policy
from provenance.records import consent_rank_sql

TOP_N = 50  # rows of the longer tables (the full lists are one `provenance sql` away)
EU_TOP_SHARE = 0.10  # the EU AI Act training-content summary lists the top 10% of domains ...
EU_TOP_MAX = 1000  # ... capped here so the report stays readable
# Whisper's own fallback thresholds (transcribe/quality.py).
LOW_LOGPROB, HIGH_COMPRESSION, HIGH_NO_SPEECH = -1.0, 2.4, 0.6


@dataclass(frozen=True, slots=True)
class AuditQuery:
    name: str
    title: str
    sql: str
    requires: tuple[str, ...] = ()


def _share(part: str, whole: str) -> str:
    return f"round({part} / nullif({whole}, 0), 4)"


def _mechanism_label(column: str) -> str:
    return f"""CASE {column}
           WHEN 'robots_txt' THEN 'robots.txt'
           WHEN 'x_robots_tag' THEN 'X-Robots-Tag'
           WHEN 'meta_robots' THEN 'meta robots'
           WHEN 'tdmrep' THEN 'TDMRep'
           WHEN 'content_usage' THEN 'AIPREF Content-Usage'
           WHEN 'content_signal' THEN 'Content-Signal'
           WHEN 'ai_txt' THEN 'ai.txt'
           WHEN 'import_column' THEN 'import column'
           ELSE {column} END"""


# License classes as the report shows them: (label, LICENSE_CLASSES key).
REPORT_CLASSES: tuple[tuple[str, str], ...] = (
    ("open (Open Definition)", "open"),
    ("commercial use allowed", "commercial"),
    ("attribution required", "attribution"),
    ("share-alike", "share-alike"),
    ("no-derivatives", "no-derivatives"),
    ("non-commercial", "non-commercial"),
    ("public domain", "public-domain"),
    ("all rights reserved", "reserved"),
    ("no license found", "none"),
    ("unrecognised license id", "unknown"),
)


# The columns of document_rights that a license class predicate (policies.LICENSE_CLASSES) reads.
_LICENSE_COLUMNS = ("license, license_family, license_open, license_commercial, license_attribution, "
                    "license_share_alike, license_no_derivatives")


def _license_class_sql() -> str:
    items = []
    for i, (label, key) in enumerate(REPORT_CLASSES, start=1):
        predicate = LICENSE_CLASSES[key][1]
        items.append(f"        {{'ord': {i}, 'class': '{label}', "
                     f"'documents': coalesce(sum(d.documents) FILTER (WHERE {predicate}), 0), "
                     f"'characters': coalesce(sum(d.n_chars) FILTER (WHERE {predicate}), 0)}}")
    listing = ",\n".join(items)
    # one row per license first (a few hundred at most), so each class's FILTER reads those rows
    return f"""WITH d AS MATERIALIZED (
    SELECT {_LICENSE_COLUMNS}, count(*) AS documents, coalesce(sum(n_chars), 0) AS n_chars
    FROM document_rights
    GROUP BY ALL
),
classes AS (
    SELECT unnest([
{listing}
    ], recursive := true)
    FROM d
),
total AS (SELECT coalesce(sum(documents), 0) AS n, coalesce(sum(n_chars), 0) AS c FROM d)
SELECT class, documents, characters,
       {_share('documents', 'total.n')} AS share_documents,
       {_share('characters', 'total.c')} AS share_characters
FROM classes, total
ORDER BY ord"""


def _policy_sql(policies: Sequence[Policy], has_transcriptions: bool) -> str:
    branches = []
    for i, policy in enumerate(policies, start=1):
        name = policy.name.replace("'", "''")
        where = policy.predicate(has_transcriptions=has_transcriptions).replace("\n", "\n    ")
        branches.append(f"    SELECT {i} AS ord, '{name}' AS policy, count(*) AS documents,\n"
                        f"           coalesce(sum(d.n_chars), 0) AS characters\n"
                        f"    FROM d\n    WHERE {where}")
    union = "\n    UNION ALL\n".join(branches)
    return f"""WITH d AS MATERIALIZED (SELECT * FROM document_rights),
total AS (SELECT count(*) AS n, coalesce(sum(n_chars), 0) AS c FROM d),
cleared AS (
{union}
)
SELECT policy, documents, characters,
       {_share('documents', 'total.n')} AS share_documents,
       {_share('characters', 'total.c')} AS share_characters
FROM cleared, total
ORDER BY ord"""


def audit_queries(policies: Sequence[Policy], *, has_transcriptions: bool) -> list[AuditQuery]:
    """Every query of the report, in the order of the report."""
    q = [
        # --- corpus summary -------------------------------------------------------------------
        AuditQuery("corpus_totals", "Corpus totals", """SELECT count(*) AS documents,
       coalesce(sum(n_chars), 0) AS characters,
       count(DISTINCT domain) AS domains,
       count(*) FILTER (WHERE source_type = 'web') AS web_pages,
       count(*) FILTER (WHERE source_type = 'transcript') AS transcripts,
       count(*) FILTER (WHERE source_type = 'import') AS imported,
       min(fetched_at) AS first_fetched,
       max(fetched_at) AS last_fetched
FROM documents"""),
        AuditQuery("runs_by_command", "Runs by command", """SELECT command, count(*) AS runs,
       count(*) FILTER (WHERE status = 'finished') AS finished,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'running') AS running,
       min(started_at) AS first_started,
       max(coalesce(finished_at, started_at)) AS last_activity
FROM runs
GROUP BY command
ORDER BY runs DESC, command"""),
        AuditQuery("tool_versions", "Tool versions used by the runs", """SELECT v.key AS package,
       json_extract_string(v.value, '$') AS version,
       count(DISTINCT r.run_id) AS runs,
       min(r.started_at) AS first_used,
       max(r.started_at) AS last_used
FROM runs r, json_each(r.versions) v
GROUP BY ALL
ORDER BY package, version"""),
        # --- licenses -------------------------------------------------------------------------
        AuditQuery("license_distribution", "Documents and characters by license", f"""WITH d AS (
    SELECT license, count(*) AS documents, sum(n_chars) AS characters FROM documents GROUP BY license
),
total AS (SELECT sum(documents) AS n, coalesce(sum(characters), 0) AS c FROM d)
SELECT coalesce(d.license, '(none found)') AS license,
       coalesce(lc.name, CASE WHEN d.license IS NULL THEN 'no license statement' ELSE 'unrecognised id' END) AS name,
       d.documents, d.characters,
       {_share('d.documents', 'total.n')} AS share_documents,
       {_share('d.characters', 'total.c')} AS share_characters
FROM d CROSS JOIN total
LEFT JOIN license_classes lc ON lc.license = d.license
ORDER BY documents DESC, license"""),
        AuditQuery("license_classes", "Documents and characters by license class", _license_class_sql()),
        # --- consent --------------------------------------------------------------------------
        AuditQuery("consent_overall", "Consent status", f"""WITH total AS (SELECT count(*) AS n, coalesce(sum(n_chars), 0) AS c FROM documents)
SELECT consent, count(*) AS documents, sum(n_chars) AS characters,
       {_share('count(*)', 'any_value(total.n)')} AS share_documents,
       {_share('sum(n_chars)', 'any_value(total.c)')} AS share_characters,
       count(*) FILTER (WHERE revoked) AS revoked
FROM documents, total
GROUP BY consent
ORDER BY {consent_rank_sql('consent')}"""),
        AuditQuery("consent_by_domain", f"Consent by domain (top {TOP_N} domains by documents)", f"""WITH per_domain AS (
    SELECT coalesce(domain, '(no domain)') AS domain, count(*) AS documents,
           count(*) FILTER (WHERE consent = 'granted') AS granted,
           count(*) FILTER (WHERE consent = 'unspecified') AS unspecified,
           count(*) FILTER (WHERE consent = 'opted_out') AS opted_out,
           count(*) FILTER (WHERE revoked) AS revoked
    FROM documents
    GROUP BY 1
    ORDER BY documents DESC, domain
    LIMIT {TOP_N}
),
seen AS (
    SELECT coalesce(domain, '(no domain)') AS domain,
           string_agg(DISTINCT {_mechanism_label('signal')}, ', ' ORDER BY {_mechanism_label('signal')}) AS signals_seen
    FROM consent_signals
    WHERE coalesce(domain, '(no domain)') IN (SELECT domain FROM per_domain)
    GROUP BY 1
),
reserving AS (
    SELECT coalesce(domain, '(no domain)') AS domain,
           string_agg(DISTINCT {_mechanism_label('mechanism')} || coalesce(' (' || agent || ')', ''), ', '
                      ORDER BY {_mechanism_label('mechanism')} || coalesce(' (' || agent || ')', '')) AS opt_out_mechanisms
    FROM opt_out_mechanisms
    WHERE coalesce(domain, '(no domain)') IN (SELECT domain FROM per_domain)
    GROUP BY 1
)
SELECT p.domain, p.documents, p.granted, p.unspecified, p.opted_out, p.revoked,
       {_share('p.opted_out', 'p.documents')} AS share_opted_out,
       coalesce(r.opt_out_mechanisms, '') AS opt_out_mechanisms,
       coalesce(s.signals_seen, '') AS signals_seen
FROM per_domain p
LEFT JOIN seen s USING (domain)
LEFT JOIN reserving r USING (domain)
ORDER BY p.documents DESC, p.domain
LIMIT {TOP_N}"""),
        AuditQuery("opt_out_mechanisms", "Mechanisms that opted documents out", f"""SELECT {_mechanism_label('mechanism')} AS mechanism,
       coalesce(agent, '(all agents)') AS agent,
       count(DISTINCT doc_id) AS documents,
       count(DISTINCT domain) AS domains
FROM opt_out_mechanisms
GROUP BY ALL
ORDER BY documents DESC, mechanism, agent
LIMIT {TOP_N}"""),
        AuditQuery("robots_agents", "robots.txt per AI agent", f"""SELECT coalesce(agent, '*') AS agent,
       count(DISTINCT domain) FILTER (WHERE value = 'disallowed') AS domains_disallowing,
       count(DISTINCT domain) FILTER (WHERE value = 'allowed') AS domains_allowing,
       count(DISTINCT domain) FILTER (WHERE value = 'unreadable') AS domains_unreadable,
       count(DISTINCT url) FILTER (WHERE value = 'disallowed') AS urls_disallowed
FROM consent_signals
WHERE signal = 'robots_txt'
GROUP BY 1
ORDER BY domains_disallowing DESC, agent
LIMIT {TOP_N}"""),
        AuditQuery("signals_seen", "Every consent mechanism observed", f"""SELECT {_mechanism_label('signal')} AS mechanism,
       count(DISTINCT domain) AS domains,
       count(DISTINCT url) AS urls,
       array_to_string(list_sort(list(DISTINCT value))[1:8], ', ') AS values_seen
FROM consent_signals
GROUP BY signal
ORDER BY domains DESC, mechanism"""),
        # --- conflicts ------------------------------------------------------------------------
        AuditQuery("conflict_counts", "Conflicts between license and consent signals", """WITH open_opted_out AS (
    SELECT doc_id, domain FROM document_rights
    WHERE license_open AND consent = 'opted_out'
),
body_license_only AS (
    SELECT DISTINCT d.doc_id, d.domain
    FROM documents d
    JOIN license_findings f ON f.doc_id = d.doc_id
    WHERE f.in_body AND f.license IS NOT NULL AND d.license IS NULL
)
SELECT 'open license, but opted out' AS conflict,
       (SELECT count(*) FROM open_opted_out) AS documents,
       (SELECT count(DISTINCT domain) FROM open_opted_out) AS domains,
       'opt-out wins: not cleared by any built-in policy' AS resolution
UNION ALL
SELECT 'license link in the article body, no page license',
       (SELECT count(*) FROM body_license_only),
       (SELECT count(DISTINCT domain) FROM body_license_only),
       'no license: a link in the body is evidence, not the page license'"""),
        AuditQuery("conflict_open_opted_out", "Open license but opted out (examples)", f"""SELECT url, license, consent_evidence
FROM document_rights
WHERE license_open AND consent = 'opted_out'
ORDER BY domain, url
LIMIT {TOP_N}"""),
        AuditQuery("conflict_body_license", "License link in the body without a page license (examples)", f"""SELECT d.url, string_agg(DISTINCT f.license, ', ' ORDER BY f.license) AS body_licenses,
       any_value(f.raw_value ORDER BY f.license) AS example_link
FROM documents d
JOIN license_findings f ON f.doc_id = d.doc_id
WHERE f.in_body AND f.license IS NOT NULL AND d.license IS NULL
GROUP BY d.url
ORDER BY d.url
LIMIT {TOP_N}"""),
        # --- transcripts ----------------------------------------------------------------------
        AuditQuery("transcripts_by_license", "Transcripts by license and consent", """SELECT coalesce(license, '(none found)') AS license, consent,
       count(*) AS transcripts, coalesce(sum(n_chars), 0) AS characters
FROM documents
WHERE source_type = 'transcript'
GROUP BY ALL
ORDER BY transcripts DESC, license, consent"""),
        AuditQuery("transcript_quality", "Transcripts by model and quality flags", f"""SELECT status, coalesce(model, '') AS model, coalesce(language, '') AS language,
       count(*) AS transcripts,
       round(coalesce(sum(duration_s), 0) / 3600, 3) AS hours,
       count(*) FILTER (WHERE mean_avg_logprob < {LOW_LOGPROB}) AS low_logprob,
       count(*) FILTER (WHERE max_compression_ratio > {HIGH_COMPRESSION}) AS repetitive,
       count(*) FILTER (WHERE max_no_speech_prob > {HIGH_NO_SPEECH}) AS no_speech,
       count(*) FILTER (WHERE n_suspect_segments > 0) AS with_suspect_segments
FROM transcriptions
GROUP BY ALL
ORDER BY transcripts DESC, status, model, language""", requires=("transcriptions",)),
        AuditQuery("transcript_flags", "Transcript-level quality flags", """SELECT flag, count(*) AS transcripts
FROM (SELECT unnest(flags) AS flag FROM transcriptions WHERE status = 'done')
GROUP BY flag
ORDER BY transcripts DESC, flag""", requires=("transcriptions",)),
        # --- dedup ----------------------------------------------------------------------------
        AuditQuery("dedup_summary", "Near-duplicate clusters", """WITH d AS MATERIALIZED (
    SELECT dup_cluster, is_canonical, n_chars, license, consent FROM documents
),
m AS (
    SELECT dup_cluster, count(DISTINCT coalesce(license, '(none)')) AS licenses,
           count(DISTINCT consent) AS consents
    FROM d WHERE dup_cluster IS NOT NULL GROUP BY dup_cluster
)
SELECT (SELECT count(*) FROM m) AS clusters,
       (SELECT count(*) FROM d WHERE dup_cluster IS NOT NULL) AS documents_in_clusters,
       (SELECT count(*) FROM d WHERE NOT is_canonical) AS non_canonical_documents,
       (SELECT coalesce(sum(n_chars), 0) FROM d WHERE NOT is_canonical) AS non_canonical_characters,
       (SELECT count(*) FROM m WHERE licenses > 1) AS clusters_with_mixed_licenses,
       (SELECT count(*) FROM m WHERE consents > 1) AS clusters_with_mixed_consent"""),
        AuditQuery("dedup_license_changes", "Clusters where the canonical choice changed the license", f"""SELECT dup_cluster,
       count(*) AS members,
       any_value(url) FILTER (WHERE is_canonical) AS canonical_url,
       any_value(coalesce(license, '(none found)')) FILTER (WHERE is_canonical) AS canonical_license,
       string_agg(DISTINCT coalesce(license, '(none found)'), ', ' ORDER BY coalesce(license, '(none found)'))
           FILTER (WHERE NOT is_canonical) AS other_licenses,
       string_agg(DISTINCT consent, ', ' ORDER BY consent) AS consents
FROM documents
WHERE dup_cluster IS NOT NULL
GROUP BY dup_cluster
HAVING count(DISTINCT coalesce(license, '(none)')) > 1
ORDER BY members DESC, dup_cluster
LIMIT {TOP_N}"""),
        # --- revocations ----------------------------------------------------------------------
        AuditQuery("revocation_totals", "Revocations", """WITH i AS MATERIALIZED (
    SELECT doc_id, matched_by, export_id FROM revocation_impact
),
d AS (
    SELECT count(*) FILTER (WHERE revoked) AS revoked_documents,
           coalesce(sum(n_chars) FILTER (WHERE revoked), 0) AS revoked_characters
    FROM documents
)
SELECT (SELECT count(*) FROM revocations) AS revocations,
       d.revoked_documents, d.revoked_characters,
       (SELECT count(DISTINCT doc_id) FROM i WHERE matched_by = 'near_duplicate') AS reached_as_near_duplicates,
       (SELECT count(DISTINCT doc_id) FROM i WHERE export_id IS NOT NULL) AS revoked_documents_in_exports,
       (SELECT count(DISTINCT export_id) FROM i) AS exports_affected
FROM d"""),
        AuditQuery("revocation_list", f"Revocations and their impact (latest {TOP_N})", f"""SELECT r.revoked_at, r.kind, r.value, r.reason, coalesce(r.requested_by, '') AS requested_by,
       count(DISTINCT i.doc_id) FILTER (WHERE i.matched_by = 'direct') AS documents_matched,
       count(DISTINCT i.doc_id) FILTER (WHERE i.matched_by = 'near_duplicate') AS near_duplicates,
       count(DISTINCT i.export_id) AS exports_affected,
       r.revocation_id
FROM revocations r
LEFT JOIN revocation_impact i USING (revocation_id)
GROUP BY ALL
ORDER BY r.revoked_at DESC, r.revocation_id
LIMIT {TOP_N}"""),
        AuditQuery("revocation_exports", "Exports that hold revoked documents", f"""SELECT export_id, export_policy, exported_at, export_out_dir,
       count(DISTINCT doc_id) AS revoked_documents,
       count(DISTINCT doc_id) FILTER (WHERE matched_by = 'near_duplicate') AS via_near_duplicates
FROM revocation_impact
WHERE export_id IS NOT NULL
GROUP BY ALL
ORDER BY exported_at DESC, export_id
LIMIT {TOP_N}"""),
        # --- policies and exports -------------------------------------------------------------
        AuditQuery("policy_clearance", "How much of the corpus each policy clears", _policy_sql(policies, has_transcriptions)),
        AuditQuery("exports_list", f"Exports (latest {TOP_N})", f"""SELECT e.created_at, e.policy, e.n_documents AS documents, e.n_chars AS characters,
       count(*) FILTER (WHERE d.consent = 'opted_out' AND m.consent <> 'opted_out') AS opted_out_since,
       count(*) FILTER (WHERE d.revoked) AS revoked_since,
       e.out_dir, e.export_id
FROM exports e
LEFT JOIN export_members m USING (export_id)
LEFT JOIN documents d ON d.doc_id = m.doc_id
GROUP BY ALL
ORDER BY e.created_at DESC, e.export_id
LIMIT {TOP_N}"""),
        # --- EU AI Act style summary ------------------------------------------------------------
        AuditQuery("top_domains", f"Top domains by volume (top {EU_TOP_SHARE:.0%} of domains by characters, at most {EU_TOP_MAX})", f"""WITH per AS (
    SELECT domain, count(*) AS documents, sum(n_chars) AS characters,
           min(fetched_at) AS first_collected, max(fetched_at) AS last_collected,
           count(*) FILTER (WHERE consent = 'opted_out') AS opted_out,
           count(*) FILTER (WHERE revoked) AS revoked
    FROM documents
    WHERE domain IS NOT NULL
    GROUP BY domain
),
ranked AS (
    SELECT *, row_number() OVER (ORDER BY characters DESC, domain) AS rank,
           count(*) OVER () AS n_domains,
           {_share('characters', 'sum(characters) OVER ()')} AS share_characters
    FROM per
)
SELECT rank, domain, documents, characters, share_characters, first_collected, last_collected,
       opted_out, revoked
FROM ranked
WHERE rank <= greatest(1, ceil(n_domains * {EU_TOP_SHARE})) AND rank <= {EU_TOP_MAX}
ORDER BY rank"""),
        # --- consent drift --------------------------------------------------------------------
        AuditQuery("consent_drift", "Consent changes between crawls", """SELECT before, after, count(*) AS changes,
       count(DISTINCT doc_id) AS documents, count(DISTINCT domain) AS domains,
       min(changed_at) AS first_change, max(changed_at) AS last_change
FROM consent_changes
GROUP BY ALL
ORDER BY changes DESC, before, after"""),
        AuditQuery("consent_drift_by_domain", f"Consent changes by domain (top {TOP_N})", f"""SELECT coalesce(domain, '(no domain)') AS domain, before, after,
       count(DISTINCT doc_id) AS documents, max(changed_at) AS last_change,
       any_value(after_evidence ORDER BY changed_at DESC) AS example_evidence
FROM consent_changes
GROUP BY ALL
ORDER BY documents DESC, domain, before, after
LIMIT {TOP_N}"""),
        AuditQuery("ledger_as_of", "When the ledger last changed", """SELECT greatest(
    (SELECT max(fetched_at) FROM documents),
    (SELECT max(started_at) FROM runs),
    (SELECT max(revoked_at) FROM revocations),
    (SELECT max(assigned_at) FROM clusters)) AS ledger_as_of"""),
    ]
    return q
