-- 0008_corpus_missing_shards: reading `corpus` fails, naming a shard, when a registered shard is gone.
--
-- Until now a shard file missing from the workspace silently took its documents out of `corpus`
-- (and so out of anything read through it). The one-row side of the semi join below raises when
-- any shard registered in shard_log is absent from shards/; it is evaluated before the shards are
-- scanned, so a query sees all the registered text or an error that says what is missing.
-- (`provenance sql` and `provenance.connect()` read an equivalent temporary view; see
-- provenance/sandbox.py.)
CREATE OR REPLACE VIEW corpus AS
SELECT c.* EXCLUDE (filename)
FROM read_parquet('shards/**/*.parquet', union_by_name = true, filename = true) c
SEMI JOIN (
    SELECT CASE WHEN count(*) = 0 THEN true ELSE error(
        count(*) || ' shard file(s) registered in the ledger are missing from the workspace, e.g. '
        || min(s.shard) || ': restore shards/ from a backup or re-import those documents '
        || '(`provenance check` lists every loss)') END AS ok
    FROM shard_log s
    WHERE s.shard NOT IN (SELECT regexp_extract(replace(g.file, '\', '/'), '(shards/.*)$', 1)
                          FROM glob('shards/**/*.parquet') g)
) lost ON lost.ok
WHERE regexp_extract(replace(c.filename, '\', '/'), '(shards/.*)$', 1) IN (SELECT shard FROM shard_log);

COMMENT ON VIEW corpus IS 'The text of every document, read from the Parquet shards the ledger registered (shard_log); fails naming a registered shard that is missing.';
