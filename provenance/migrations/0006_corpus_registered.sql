-- 0006_corpus_registered: the corpus shows only shards registered in shard_log.
--
-- A shard is renamed into place right before the ledger commits the transaction that registers
-- it. A writer killed between the two leaves a complete but unregistered file, which the next
-- writer moves aside; until then the corpus must not show it.
CREATE OR REPLACE VIEW corpus AS
SELECT c.* EXCLUDE (filename)
FROM read_parquet('shards/**/*.parquet', union_by_name = true, filename = true) c
WHERE regexp_extract(replace(c.filename, '\', '/'), '(shards/.*)$', 1) IN (SELECT shard FROM shard_log);

COMMENT ON VIEW corpus IS 'The text of every document, read from the Parquet shards the ledger registered (shard_log).';
