-- 0010_registered_domain: one identity for a domain, stored, never re-derived in SQL.
--
-- `domain` and `registered_domain` are computed in Python at write time by provenance.ids
-- (domain_of: lower-case IDNA host without port, userinfo, trailing dot or a leading "www.";
-- registered_domain: its registrable domain under the Public Suffix List bundled with tldextract).
-- The ledger's migration step for this file (provenance.ledger._backfill_registered_domain) fills
-- registered_domain for the rows already stored and re-derives their domain by the same function.

ALTER TABLE document_log ADD COLUMN registered_domain VARCHAR;
ALTER TABLE document_state ADD COLUMN registered_domain VARCHAR;

-- documents_as_of gains the column too (its columns are the documents view's): the 0001
-- definition with l.registered_domain after l.domain.
CREATE OR REPLACE MACRO documents_as_of(ts) AS TABLE
WITH latest_key AS (
    SELECT doc_id, max(struct_pack(t := fetched_at, s := seq)) AS k
    FROM document_log WHERE fetched_at <= CAST(ts AS TIMESTAMP) GROUP BY doc_id
),
latest AS (
    SELECT d.* FROM document_log d
    JOIN latest_key m ON d.doc_id = m.doc_id AND d.fetched_at = m.k.t AND d.seq = m.k.s
),
cl_key AS (
    SELECT doc_id, max(struct_pack(t := assigned_at, s := seq)) AS k
    FROM cluster_log WHERE assigned_at <= CAST(ts AS TIMESTAMP) GROUP BY doc_id
),
cl AS (
    SELECT c.doc_id, c.dup_cluster, c.is_canonical, c.similarity, c.reason FROM cluster_log c
    JOIN cl_key m ON c.doc_id = m.doc_id AND c.assigned_at = m.k.t AND c.seq = m.k.s
),
rv AS (
    SELECT * FROM revocation_log WHERE revoked_at <= CAST(ts AS TIMESTAMP)
),
revoked_ids AS (
    SELECT l.doc_id FROM latest l JOIN rv ON rv.kind = 'url' AND l.url = rv.value
    UNION
    SELECT l.doc_id FROM latest l JOIN rv ON rv.kind = 'domain' AND (l.domain = rv.value OR l.domain LIKE '%.' || rv.value)
),
cluster_revoked AS (
    SELECT DISTINCT cl.dup_cluster
    FROM cl JOIN revoked_ids USING (doc_id)
    WHERE cl.dup_cluster IS NOT NULL
),
cluster_rights AS (
    SELECT cl.dup_cluster,
           max(CASE l.consent WHEN 'granted' THEN 0 WHEN 'unspecified' THEN 1 ELSE 2 END) AS worst_consent
    FROM cl JOIN latest l USING (doc_id)
    WHERE cl.dup_cluster IS NOT NULL
    GROUP BY cl.dup_cluster
)
SELECT l.doc_id, l.url, l.domain, l.registered_domain, l.source_type, l.fetched_at, l.run_id, l.title, l.author,
       l.published, l.language, l.n_chars, l.text_sha256, l.shard, l.license, l.license_evidence,
       l.consent, l.consent_evidence, cl.dup_cluster,
       coalesce(cl.is_canonical, TRUE) AS is_canonical,
       (l.doc_id IN (SELECT doc_id FROM revoked_ids) OR cr.dup_cluster IS NOT NULL) AS revoked,
       l.parent_doc_id,
       CASE WHEN cl.dup_cluster IS NULL THEN l.consent
            ELSE CASE crt.worst_consent WHEN 0 THEN 'granted' WHEN 1 THEN 'unspecified' ELSE 'opted_out' END
       END AS cluster_consent,
       cl.similarity AS dup_similarity,
       cl.reason AS dup_reason
FROM latest l
LEFT JOIN cl USING (doc_id)
LEFT JOIN cluster_revoked cr ON cr.dup_cluster = cl.dup_cluster
LEFT JOIN cluster_rights crt ON crt.dup_cluster = cl.dup_cluster;

CREATE OR REPLACE VIEW documents AS
SELECT doc_id, url, domain, registered_domain, source_type, fetched_at, run_id, title, author, published,
       language, n_chars, text_sha256, shard, license, license_evidence, consent, consent_evidence,
       dup_cluster, is_canonical, revoked, parent_doc_id, cluster_consent, dup_similarity, dup_reason
FROM document_state;

COMMENT ON VIEW documents IS 'One row per document, its latest state: source (domain: lower-case IDNA host without www.; registered_domain: by the Public Suffix List), license, consent, cluster (with the most restrictive consent among its members, cluster_consent), revocation.';
