-- 0012_current_once: each observation of a document is stored once.
--
-- Until now every observation went to document_log and the current one was copied into
-- document_state as well, so each document was stored twice. From here the current observation
-- lives only in document_state and document_past holds the superseded ones (an observation that
-- a later one replaced, or one older than the current one when it arrived). document_log is now
-- a view, their union: the full history, as before, so documents_as_of(ts), consent_changes and
-- any query of document_log answer from it unchanged.
--
-- The ledger's step for this migration (provenance.ledger._fold_pending_history, run before
-- this file) first folds any observation the state has not taken in yet (a ledger written
-- before 0007), so the split below is exact: a row of the old log is current iff document_state
-- holds its (doc_id, seq).

CREATE TABLE document_past (
    seq               BIGINT NOT NULL,
    doc_id            VARCHAR NOT NULL,
    url               VARCHAR,
    domain            VARCHAR,
    source_type       VARCHAR NOT NULL,
    fetched_at        TIMESTAMP NOT NULL,
    run_id            VARCHAR NOT NULL,
    title             VARCHAR,
    author            VARCHAR,
    published         VARCHAR,
    language          VARCHAR,
    n_chars           BIGINT NOT NULL,
    text_sha256       VARCHAR NOT NULL,
    shard             VARCHAR NOT NULL,
    license           VARCHAR,
    license_evidence  VARCHAR,
    consent           VARCHAR NOT NULL,
    consent_evidence  VARCHAR,
    parent_doc_id     VARCHAR,
    registered_domain VARCHAR
);

INSERT INTO document_past
SELECT seq, doc_id, url, domain, source_type, fetched_at, run_id, title, author, published, language,
       n_chars, text_sha256, shard, license, license_evidence, consent, consent_evidence, parent_doc_id,
       registered_domain
FROM document_log l
WHERE NOT EXISTS (SELECT 1 FROM document_state s WHERE s.doc_id = l.doc_id AND s.seq = l.seq);

DROP TABLE document_log;

CREATE VIEW document_log AS
SELECT seq, doc_id, url, domain, source_type, fetched_at, run_id, title, author, published, language,
       n_chars, text_sha256, shard, license, license_evidence, consent, consent_evidence, parent_doc_id,
       registered_domain
FROM document_past
UNION ALL
SELECT seq, doc_id, url, domain, source_type, fetched_at, run_id, title, author, published, language,
       n_chars, text_sha256, shard, license, license_evidence, consent, consent_evidence, parent_doc_id,
       registered_domain
FROM document_state;

-- document_state no longer folds document_log in: it is written directly.
DELETE FROM state_marks WHERE log = 'document_log';

-- Reference data derived from the code (license classes) is synced when this changes, not on
-- every write.
CREATE TABLE reference_marks (
    name    VARCHAR PRIMARY KEY,
    version VARCHAR NOT NULL
);

COMMENT ON VIEW document_log IS 'Every observation of every document (the history documents_as_of reads): the superseded ones (document_past) and the current ones (document_state).';
