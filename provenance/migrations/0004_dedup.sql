-- 0004_dedup: near-duplicate detection (`provenance dedup`).
--
-- dedup_param_log: the parameters of every dedup run (which signatures, which banding).
-- minhash_part_log: the signature index files under index/minhash/<index_key>/, one row per file;
--   a file is used only once registered here, and only with the parameter set it was built with.
-- (documents / documents_as_of carry the cluster columns from 0001_initial: cluster_consent,
--   dup_similarity, dup_reason.)

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

COMMENT ON VIEW dup_clusters IS 'One row per near-duplicate cluster: size, canonical member and its rights, the most restrictive consent and every license among the members.';
COMMENT ON VIEW dedup_params IS 'The parameters of every dedup run: signature scheme, hash, seed, permutations, n-gram size, threshold and LSH bands.';
