-- 0011_license_vocabulary: every license reading records the vocabulary that made it.
--
-- license_log.vocabulary is provenance.licenses.vocabulary_version() when the row was written
-- (rules + SPDX list + Creative Commons data versions, e.g. '2+spdx-3.29.0+cc-f7f7098a8f45');
-- NULL for rows written before this migration. `provenance relicense` re-reads raw values with
-- the current vocabulary and appends new rows (history is never rewritten).

ALTER TABLE license_log ADD COLUMN vocabulary VARCHAR;

CREATE OR REPLACE VIEW license_findings AS
SELECT url, doc_id, source, raw_value, license, in_body, scope, observed_at, run_id, vocabulary
FROM license_log;
COMMENT ON VIEW license_findings IS 'Every license statement found for a document: where it was found, its SPDX expression, its scope (content, media, software, subject; only content decides the license) and the license vocabulary version that read it.';
