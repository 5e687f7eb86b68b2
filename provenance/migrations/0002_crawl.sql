-- 0002_crawl: what the crawler keeps besides documents, fetches, signals, licenses and media.
--
-- domain_file_log: every per-origin policy file the crawler (or the WARC importer) read, once per
-- URL and run: robots.txt, ai.txt and /.well-known/tdmrep.json, with their state, body and hash,
-- so every robots_txt / ai_txt / tdmrep signal can be traced back to the exact file it came from.

CREATE TABLE domain_file_log (
    origin       VARCHAR NOT NULL,       -- scheme://host[:port]
    domain       VARCHAR,
    kind         VARCHAR NOT NULL,       -- 'robots.txt' | 'ai.txt' | 'tdmrep.json'
    url          VARCHAR NOT NULL,
    state        VARCHAR NOT NULL,       -- 'ok' | 'missing' (4xx) | 'unreadable' (5xx, 429, timeout) | 'invalid'
    status       INTEGER,
    reason       VARCHAR,
    content_type VARCHAR,
    body_sha256  VARCHAR,
    n_bytes      BIGINT,
    body         VARCHAR,                -- the file as read (UTF-8, at most 512 KiB)
    fetched_at   TIMESTAMP NOT NULL,
    run_id       VARCHAR NOT NULL
);

CREATE VIEW domain_files AS
SELECT origin, domain, kind, url, state, status, reason, content_type, body_sha256, n_bytes, body,
       fetched_at, run_id
FROM domain_file_log;

-- Media found on pages and in feeds, with the rights they inherit: the media's own license when it
-- states one, else the license of the page that embedded it; consent always comes from the page.
CREATE VIEW media_rights AS
SELECT m.media_url, m.kind, m.mime_type, m.page_doc_id, m.page_url,
       coalesce(m.license, d.license) AS license,
       CASE WHEN m.license IS NOT NULL THEN m.license_evidence ELSE d.license_evidence END AS license_evidence,
       coalesce(d.consent, 'unspecified') AS consent,
       d.consent_evidence,
       m.discovered_at, m.run_id
FROM media m
LEFT JOIN documents d ON d.doc_id = m.page_doc_id;

COMMENT ON VIEW domain_files IS 'Every robots.txt, ai.txt and /.well-known/tdmrep.json the crawler (or a WARC import) read, once per URL and run: state (ok, missing, unreadable, invalid), HTTP status, body and its sha256, which the robots_txt, ai_txt and tdmrep signals cite.';
COMMENT ON VIEW media_rights IS 'Media found on pages and in feeds with the rights it inherits: its own license when stated (a feed''s), else the embedding page''s; consent always from the page.';
