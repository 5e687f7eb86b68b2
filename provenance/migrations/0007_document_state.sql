-- 0007_document_state: current state kept beside the history, so a query never rebuilds it.
--
-- document_state holds one row per document: the columns of its latest observation in
-- document_log (by fetched_at, then seq) plus what other facts make of it: its cluster (latest
-- cluster_log row), whether a revocation reaches it (revoked_direct: its URL or domain;
-- revoked: it or a member of its cluster) and the most restrictive consent of its cluster.
-- The ledger's write path (LedgerWriter.sync_state) keeps it current in the same transaction
-- as the facts: every log row past the marks in state_marks is folded into it, whoever wrote
-- it. History stays append-only; documents_as_of(ts) still answers from it.
--
-- Adding a document column is one migration: ALTER TABLE document_log ADD COLUMN c and
-- ALTER TABLE document_state ADD COLUMN c (the write path copies document_log's columns by
-- name), then re-create the `documents` view if it should show the column.

CREATE TABLE document_state (
    seq                 BIGINT NOT NULL,
    doc_id              VARCHAR NOT NULL,       -- one row per doc_id (the write path sees to it)
    url                 VARCHAR,
    domain              VARCHAR,
    source_type         VARCHAR NOT NULL,
    fetched_at          TIMESTAMP NOT NULL,
    run_id              VARCHAR NOT NULL,
    title               VARCHAR,
    author              VARCHAR,
    published           VARCHAR,
    language            VARCHAR,
    n_chars             BIGINT NOT NULL,
    text_sha256         VARCHAR NOT NULL,
    shard               VARCHAR NOT NULL,
    license             VARCHAR,
    license_evidence    VARCHAR,
    consent             VARCHAR NOT NULL,
    consent_evidence    VARCHAR,
    parent_doc_id       VARCHAR,
    -- from cluster_log (NULL until dedup assigned the document)
    cluster_seq         BIGINT,
    cluster_assigned_at TIMESTAMP,
    cluster_run_id      VARCHAR,
    dup_cluster         VARCHAR,
    is_canonical        BOOLEAN NOT NULL DEFAULT TRUE,
    dup_similarity      DOUBLE,
    dup_reason          VARCHAR,
    -- derived: the cluster's most restrictive consent, and revocations
    cluster_consent     VARCHAR,
    revoked_direct      BOOLEAN NOT NULL DEFAULT FALSE,
    revoked             BOOLEAN NOT NULL DEFAULT FALSE
);
-- point lookups by doc_id or url read one index entry, not every row
CREATE INDEX document_state_doc_id ON document_state (doc_id);
CREATE INDEX document_state_url ON document_state (url);

-- How many rows of each log document_state has folded in (the logs are append-only, so their
-- rowids count up from 0 and the rows past a mark are exactly the ones not yet folded in).
CREATE TABLE state_marks (
    log     VARCHAR PRIMARY KEY,
    applied BIGINT NOT NULL
);
INSERT INTO state_marks VALUES ('document_log', 0), ('cluster_log', 0), ('revocation_log', 0);

CREATE OR REPLACE VIEW documents AS
SELECT doc_id, url, domain, source_type, fetched_at, run_id, title, author, published, language,
       n_chars, text_sha256, shard, license, license_evidence, consent, consent_evidence,
       dup_cluster, is_canonical, revoked, parent_doc_id, cluster_consent, dup_similarity, dup_reason
FROM document_state;

CREATE OR REPLACE VIEW clusters AS
SELECT doc_id, dup_cluster, is_canonical, dup_similarity AS similarity, dup_reason AS reason,
       cluster_assigned_at AS assigned_at, cluster_run_id AS run_id
FROM document_state
WHERE cluster_seq IS NOT NULL;

COMMENT ON VIEW documents IS 'One row per document, its latest state: source, license, consent, cluster (with the most restrictive consent among its members, cluster_consent), revocation.';
COMMENT ON VIEW clusters IS 'Near-duplicate cluster membership (latest dedup run) with the canonical choice and its reason.';
