-- 0009_registered_domain: one identity for a domain, stored, never re-derived in SQL.
--
-- `domain` and `registered_domain` are computed in Python at write time by provenance.ids
-- (domain_of: lower-case IDNA host without port, userinfo, trailing dot or a leading "www.";
-- registered_domain: its registrable domain under the Public Suffix List bundled with tldextract).
-- The ledger's migration step for this file (provenance.ledger._backfill_registered_domain) fills
-- registered_domain for the rows already stored and re-derives their domain by the same function.

ALTER TABLE document_log ADD COLUMN registered_domain VARCHAR;
ALTER TABLE document_state ADD COLUMN registered_domain VARCHAR;

CREATE OR REPLACE VIEW documents AS
SELECT doc_id, url, domain, registered_domain, source_type, fetched_at, run_id, title, author, published,
       language, n_chars, text_sha256, shard, license, license_evidence, consent, consent_evidence,
       dup_cluster, is_canonical, revoked, parent_doc_id, cluster_consent, dup_similarity, dup_reason
FROM document_state;

COMMENT ON VIEW documents IS 'One row per document, its latest state: source (domain: lower-case IDNA host without www.; registered_domain: by the Public Suffix List), license, consent, cluster (with the most restrictive consent among its members, cluster_consent), revocation.';
