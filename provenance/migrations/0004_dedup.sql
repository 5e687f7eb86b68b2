-- 0004_dedup: near-duplicate detection (`provenance dedup`).
--
-- dedup_param_log: the parameters of every dedup run (which signatures, which banding).
-- minhash_part_log: the signature index files under index/minhash/<index_key>/, one row per file;
--   a file is used only once registered here, and only with the parameter set it was built with.
-- documents / documents_as_of gain the cluster's most restrictive consent (cluster_consent), the
--   similarity to the canonical member and the reason of the assignment.

CREATE TABLE dedup_param_log (
    run_id        VARCHAR PRIMARY KEY,
    index_key     VARCHAR NOT NULL,       -- names the signature index: scheme, perms, ngram, seed, hash
    scheme        VARCHAR NOT NULL,       -- datasketch permutation scheme: 'affine32' | 'affine64'
    hash          VARCHAR NOT NULL,       -- the shingle hash function (see dedup/shingles.py)
    tokenizer     VARCHAR NOT NULL,
    seed          BIGINT NOT NULL,
    num_perm      INTEGER NOT NULL,
    ngram         INTEGER NOT NULL,
    threshold     DOUBLE NOT NULL,
    bands         INTEGER NOT NULL,
    rows_per_band INTEGER NOT NULL,
    fp_weight     DOUBLE NOT NULL,        -- weights given to datasketch's optimal-parameter routine
    fn_weight     DOUBLE NOT NULL,
    max_bucket    INTEGER NOT NULL,
    engine        VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE minhash_part_log (
    part        VARCHAR PRIMARY KEY,      -- path relative to the workspace
    index_key   VARCHAR NOT NULL,
    n_rows      BIGINT NOT NULL,
    n_bytes     BIGINT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    run_id      VARCHAR NOT NULL
);

CREATE VIEW dedup_params AS
SELECT run_id, index_key, scheme, hash, tokenizer, seed, num_perm, ngram, threshold, bands,
       rows_per_band, fp_weight, fn_weight, max_bucket, engine, created_at
FROM dedup_param_log;

-- documents_as_of as 0001_initial defines it, every column kept, plus cluster_consent (the most
-- restrictive consent among the members of the document's cluster as of ts: opted_out >
-- unspecified > granted; a value outside these counts as opted_out, never failing open; the
-- document's own consent when it is in no cluster), dup_similarity and dup_reason.
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
direct AS (
    SELECT l.doc_id,
           EXISTS (SELECT 1 FROM rv
                   WHERE (rv.kind = 'domain' AND (l.domain = rv.value OR l.domain LIKE '%.' || rv.value))
                      OR (rv.kind = 'url' AND l.url = rv.value)) AS revoked_directly
    FROM latest l
),
cluster_revoked AS (
    SELECT cl.dup_cluster, bool_or(direct.revoked_directly) AS any_revoked
    FROM cl JOIN direct USING (doc_id)
    WHERE cl.dup_cluster IS NOT NULL
    GROUP BY cl.dup_cluster
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
       (direct.revoked_directly OR coalesce(cr.any_revoked, FALSE)) AS revoked,
       l.parent_doc_id,
       CASE WHEN cl.dup_cluster IS NULL THEN l.consent
            ELSE CASE crt.worst_consent WHEN 0 THEN 'granted' WHEN 1 THEN 'unspecified' ELSE 'opted_out' END
       END AS cluster_consent,
       cl.similarity AS dup_similarity,
       cl.reason AS dup_reason
FROM latest l
JOIN direct USING (doc_id)
LEFT JOIN cl USING (doc_id)
LEFT JOIN cluster_revoked cr ON cr.dup_cluster = cl.dup_cluster
LEFT JOIN cluster_rights crt ON crt.dup_cluster = cl.dup_cluster;

CREATE OR REPLACE VIEW documents AS
SELECT * FROM documents_as_of(TIMESTAMP '9999-12-31 00:00:00');

-- One row per duplicate cluster: its size, its canonical member and the rights across members.
CREATE VIEW dup_clusters AS
SELECT dup_cluster,
       count(*) AS n_documents,
       any_value(doc_id) FILTER (WHERE is_canonical) AS canonical_doc_id,
       any_value(url) FILTER (WHERE is_canonical) AS canonical_url,
       any_value(license) FILTER (WHERE is_canonical) AS canonical_license,
       any_value(consent) FILTER (WHERE is_canonical) AS canonical_consent,
       any_value(cluster_consent) AS cluster_consent,
       list_sort(list_distinct(list(coalesce(license, '(none)')))) AS licenses,
       bool_or(revoked) AS revoked,
       min(dup_similarity) AS min_similarity
FROM documents
WHERE dup_cluster IS NOT NULL
GROUP BY dup_cluster;

COMMENT ON VIEW documents IS 'One row per document, its latest state: source, license, consent, cluster (with the most restrictive consent among its members, cluster_consent), revocation.';
COMMENT ON VIEW dup_clusters IS 'One row per near-duplicate cluster: size, canonical member and its rights, the most restrictive consent and every license among the members.';
COMMENT ON VIEW dedup_params IS 'The parameters of every dedup run: signature scheme, hash, seed, permutations, n-gram size, threshold and LSH bands.';
