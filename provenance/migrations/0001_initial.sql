-- 0001_initial: the ledger's base schema.
--
-- Tables are append-only history (suffix _log); every row carries the run_id that wrote it.
-- The stable public names are views over them (documents, fetches, consent_signals, runs, ...).
-- All timestamps are UTC.

CREATE TABLE run_log (
    run_id      VARCHAR PRIMARY KEY,
    command     VARCHAR NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status      VARCHAR NOT NULL,          -- 'running' | 'finished' | 'failed' | 'stopped' | 'interrupted' (killed)
    config      JSON,
    versions    JSON,
    counts      JSON,
    pid         INTEGER,
    host        VARCHAR
);

CREATE SEQUENCE document_seq;  -- one value per appended batch: orders observations of equal fetched_at

-- One row per observed state of a document. A new row is added only when the state changed.
CREATE TABLE document_log (
    seq              BIGINT NOT NULL,
    doc_id           VARCHAR NOT NULL,
    url              VARCHAR,
    domain           VARCHAR,
    source_type      VARCHAR NOT NULL,
    fetched_at       TIMESTAMP NOT NULL,
    run_id           VARCHAR NOT NULL,
    title            VARCHAR,
    author           VARCHAR,
    published        VARCHAR,
    language         VARCHAR,
    n_chars          BIGINT NOT NULL,
    text_sha256      VARCHAR NOT NULL,
    shard            VARCHAR NOT NULL,
    license          VARCHAR,
    license_evidence VARCHAR,
    consent          VARCHAR NOT NULL,
    consent_evidence VARCHAR,
    parent_doc_id    VARCHAR
);

CREATE TABLE fetch_log (
    url          VARCHAR NOT NULL,
    domain       VARCHAR,
    status       INTEGER,
    outcome      VARCHAR NOT NULL,        -- 'document' | 'skipped' | 'error' | 'not_text'
    reason       VARCHAR,
    fetched_at   TIMESTAMP NOT NULL,
    run_id       VARCHAR NOT NULL,
    content_type VARCHAR,
    n_bytes      BIGINT,
    doc_id       VARCHAR,
    row_key      VARCHAR NOT NULL
);

CREATE TABLE signal_log (
    url         VARCHAR NOT NULL,
    domain      VARCHAR,
    signal      VARCHAR NOT NULL,
    agent       VARCHAR,
    value       VARCHAR NOT NULL,
    evidence    VARCHAR,
    observed_at TIMESTAMP NOT NULL,
    run_id      VARCHAR NOT NULL,
    doc_id      VARCHAR,
    row_key     VARCHAR NOT NULL
);

CREATE TABLE license_log (
    url         VARCHAR NOT NULL,
    doc_id      VARCHAR,
    source      VARCHAR NOT NULL,
    raw_value   VARCHAR,
    license     VARCHAR,
    in_body     BOOLEAN NOT NULL,
    observed_at TIMESTAMP NOT NULL,
    run_id      VARCHAR NOT NULL,
    row_key     VARCHAR NOT NULL
);

CREATE TABLE media_log (
    media_url        VARCHAR NOT NULL,
    page_doc_id      VARCHAR,
    page_url         VARCHAR,
    kind             VARCHAR,
    mime_type        VARCHAR,
    license          VARCHAR,
    license_evidence VARCHAR,
    discovered_at    TIMESTAMP NOT NULL,
    run_id           VARCHAR NOT NULL,
    row_key          VARCHAR NOT NULL
);

-- Every Parquet shard of text, registered in the same transaction as the documents it holds.
CREATE TABLE shard_log (
    shard       VARCHAR PRIMARY KEY,      -- path relative to the workspace
    source_type VARCHAR NOT NULL,
    n_rows      BIGINT NOT NULL,
    n_bytes     BIGINT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    run_id      VARCHAR NOT NULL
);

CREATE SEQUENCE cluster_seq;

-- Near-duplicate cluster membership, written by dedup. The latest row per doc_id is current.
CREATE TABLE cluster_log (
    seq          BIGINT NOT NULL,
    doc_id       VARCHAR NOT NULL,
    dup_cluster  VARCHAR,                  -- NULL: not a member of any cluster
    is_canonical BOOLEAN NOT NULL,
    similarity   DOUBLE,                   -- estimated Jaccard similarity to the canonical member
    reason       VARCHAR,
    assigned_at  TIMESTAMP NOT NULL,
    run_id       VARCHAR NOT NULL
);

-- Owners' objections: who/what/when/why.
CREATE TABLE revocation_log (
    revocation_id VARCHAR PRIMARY KEY,
    kind          VARCHAR NOT NULL,       -- 'domain' | 'url'
    value         VARCHAR NOT NULL,
    reason        VARCHAR NOT NULL,
    requested_by  VARCHAR,
    revoked_at    TIMESTAMP NOT NULL,
    run_id        VARCHAR NOT NULL
);

CREATE VIEW runs AS
SELECT run_id, command, started_at, finished_at, status, config, versions, counts,
       CAST(json_extract(counts, '$.documents') AS BIGINT) AS n_documents,
       pid, host
FROM run_log;

CREATE VIEW fetches AS
SELECT url, domain, status, outcome, reason, fetched_at, run_id, content_type, n_bytes, doc_id
FROM fetch_log;

CREATE VIEW consent_signals AS
SELECT url, domain, signal, agent, value, evidence, observed_at, run_id, doc_id
FROM signal_log;

CREATE VIEW license_findings AS
SELECT url, doc_id, source, raw_value, license, in_body, observed_at, run_id
FROM license_log;

CREATE VIEW media AS
SELECT media_url, page_doc_id, page_url, kind, mime_type, license, license_evidence, discovered_at, run_id
FROM media_log;

CREATE VIEW revocations AS
SELECT revocation_id, kind, value, reason, requested_by, revoked_at, run_id
FROM revocation_log;

CREATE VIEW clusters AS
SELECT doc_id, dup_cluster, is_canonical, similarity, reason, assigned_at, run_id
FROM cluster_log
QUALIFY row_number() OVER (PARTITION BY doc_id ORDER BY assigned_at DESC, seq DESC) = 1;

-- The state of every document as of a time: its latest observation up to then, the cluster it
-- belonged to and whether it (or a member of its cluster) was revoked by then. cluster_consent is
-- the most restrictive consent among the members of its cluster (opted_out > unspecified >
-- granted; a value outside these counts as opted_out, never failing open), or its own consent when
-- it is in no cluster. Revocations are matched by joining the few revocations to the documents
-- (revoked_ids), not by a correlated EXISTS per document.
CREATE MACRO documents_as_of(ts) AS TABLE
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
SELECT l.doc_id, l.url, l.domain, l.source_type, l.fetched_at, l.run_id, l.title, l.author,
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

CREATE VIEW documents AS
SELECT * FROM documents_as_of(TIMESTAMP '9999-12-31 00:00:00');

-- The text of every document: the Parquet shards, read relative to the workspace
-- (the ledger sets file_search_path to the workspace root on every connection).
CREATE VIEW corpus AS
SELECT * FROM read_parquet('shards/**/*.parquet', union_by_name = true);

COMMENT ON VIEW documents IS 'One row per document, its latest state: source, license, consent, cluster (with the most restrictive consent among its members, cluster_consent), revocation.';
COMMENT ON VIEW corpus IS 'The text of every document, read from the Parquet shards.';
COMMENT ON VIEW fetches IS 'Every URL or input row a stage considered, fetched or not, and what came of it.';
COMMENT ON VIEW consent_signals IS 'Every consent signal observed, with its raw evidence.';
COMMENT ON VIEW license_findings IS 'Every license statement found for a document, where it was found and its SPDX id.';
COMMENT ON VIEW media IS 'Audio and video discovered on pages: the input of `transcribe --from-ledger`.';
COMMENT ON VIEW clusters IS 'Near-duplicate cluster membership (latest dedup run) with the canonical choice and its reason.';
COMMENT ON VIEW revocations IS 'Owners'' objections: what, who, when and why.';
COMMENT ON VIEW runs IS 'Every command run: configuration, package versions, start, end and counts.';
