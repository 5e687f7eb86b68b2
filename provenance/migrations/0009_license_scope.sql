-- 0009_license_scope: every license statement says what it is about.
--
-- 'content' (the page's own content: the only scope that decides a document's license), 'media'
-- (figures, captions, image credits), 'software' (theme, CMS, code) or 'subject' (what the text
-- discusses: links in the article, comments, tags). Rows written before this migration knew only
-- in_body: an in-body link was evidence only, so it becomes 'subject'; every other row 'content'.
ALTER TABLE license_log ADD COLUMN scope VARCHAR;
UPDATE license_log SET scope = CASE WHEN in_body THEN 'subject' ELSE 'content' END WHERE scope IS NULL;

CREATE OR REPLACE VIEW license_findings AS
SELECT url, doc_id, source, raw_value, license, in_body, scope, observed_at, run_id
FROM license_log;

COMMENT ON VIEW license_findings IS 'Every license statement found for a document: where it was found, its SPDX id, and its scope (content, media, software, subject); only content decides the license.';
