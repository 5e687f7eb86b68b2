-- 0005_audit_export: license classes, exports and their members, revocation impact, consent drift.
--
-- Written by provenance/policies.py (license_vocabulary), provenance/export (export_log,
-- export_member_log) and provenance/revoke.py (revocation_log, from 0001). Read by the audit.

-- The class of every license id the ledger mentions (from provenance.licenses.info), kept in step
-- with the license vocabulary by the audit and export commands. Reference data, not history.
CREATE TABLE license_vocabulary (
    license        VARCHAR NOT NULL,      -- SPDX id or LicenseRef-* (one row each)
    name           VARCHAR NOT NULL,
    family         VARCHAR NOT NULL,      -- 'cc' | 'cc0' | 'pdm' | 'osi' | 'gfdl' | 'reserved'
    open           BOOLEAN NOT NULL,      -- meets the Open Definition
    commercial     BOOLEAN NOT NULL,      -- commercial use allowed
    attribution    BOOLEAN NOT NULL,      -- attribution required
    share_alike    BOOLEAN NOT NULL,
    no_derivatives BOOLEAN NOT NULL,
    url            VARCHAR                -- where the license text is
);

CREATE VIEW license_classes AS
SELECT license, name, family, open, commercial, attribution, share_alike, no_derivatives, url
FROM license_vocabulary;
COMMENT ON VIEW license_classes IS 'The class of every license id of the vocabulary: open (Open Definition), commercial use, attribution, share-alike, no-derivatives, and where its text is. Kept current by every write (provenance.policies.sync_license_classes).';

-- Every document with the class of its license and whether a member of its near-duplicate
-- cluster opted out: what policies (provenance/policies.py) select from.
CREATE VIEW document_rights AS
WITH d AS MATERIALIZED (
    SELECT doc_id, url, domain, source_type, fetched_at, run_id, title, author, published, language,
           n_chars, text_sha256, shard, license, license_evidence, consent, consent_evidence,
           dup_cluster, is_canonical, revoked, parent_doc_id
    FROM documents
),
opted_out_clusters AS (
    SELECT DISTINCT dup_cluster FROM d WHERE consent = 'opted_out' AND dup_cluster IS NOT NULL
)
SELECT d.*,
       lc.name AS license_name, lc.family AS license_family, lc.url AS license_url,
       coalesce(lc.open, FALSE) AS license_open,
       coalesce(lc.commercial, FALSE) AS license_commercial,
       coalesce(lc.attribution, FALSE) AS license_attribution,
       coalesce(lc.share_alike, FALSE) AS license_share_alike,
       coalesce(lc.no_derivatives, FALSE) AS license_no_derivatives,
       (oc.dup_cluster IS NOT NULL) AS cluster_opted_out
FROM d
LEFT JOIN license_classes lc ON lc.license = d.license
LEFT JOIN opted_out_clusters oc ON oc.dup_cluster = d.dup_cluster;
COMMENT ON VIEW document_rights IS 'Every document (as in `documents`) with the class of its license (license_open, license_commercial, license_attribution, ...) and whether a member of its near-duplicate cluster opted out: what export policies select from.';

-- One row per export: which policy, where, how many documents, and the manifest's checksum.
CREATE TABLE export_log (
    export_id       VARCHAR PRIMARY KEY,  -- derived from the policy, the output path and the manifest
    policy          VARCHAR NOT NULL,     -- policy name
    policy_sha256   VARCHAR NOT NULL,     -- checksum of the policy's canonical JSON
    policy_spec     JSON NOT NULL,        -- the policy as applied
    out_dir         VARCHAR NOT NULL,     -- absolute path of the export directory
    created_at      TIMESTAMP NOT NULL,
    run_id          VARCHAR NOT NULL,
    n_documents     BIGINT NOT NULL,
    n_chars         BIGINT NOT NULL,
    n_attribution   BIGINT NOT NULL,      -- documents listed in ATTRIBUTION.md
    manifest_sha256 VARCHAR NOT NULL,
    files           JSON NOT NULL         -- file name -> sha256 of every file written
);

-- The documents of each export, as they were when exported.
CREATE TABLE export_member_log (
    export_id   VARCHAR NOT NULL,
    doc_id      VARCHAR NOT NULL,
    url         VARCHAR,
    domain      VARCHAR,
    text_sha256 VARCHAR NOT NULL,
    license     VARCHAR,
    consent     VARCHAR NOT NULL,
    dup_cluster VARCHAR,
    file        VARCHAR NOT NULL,         -- the data file of the export holding the text
    run_id      VARCHAR NOT NULL
);

CREATE VIEW exports AS
SELECT export_id, policy, policy_sha256, policy_spec, out_dir, created_at, run_id, n_documents,
       n_chars, n_attribution, manifest_sha256, files
FROM export_log;
COMMENT ON VIEW exports IS 'Every `provenance export`: policy (and its JSON), output directory, documents, characters, the manifest''s sha256 and every file''s checksum.';

CREATE VIEW export_members AS
SELECT m.export_id, m.doc_id, m.url, m.domain, m.text_sha256, m.license, m.consent, m.dup_cluster,
       m.file, e.policy, e.created_at AS exported_at, m.run_id
FROM export_member_log m JOIN export_log e USING (export_id);
COMMENT ON VIEW export_members IS 'The documents of every export as they were exported (license, consent, cluster, data file).';

-- Every document a revocation reaches: the documents it matches (domain and its subdomains, or
-- the exact URL) and the near-duplicate cluster members of each, with every export that holds one.
-- export_id is NULL for a document that was in no export.
CREATE VIEW revocation_impact AS
WITH docs AS MATERIALIZED (
    SELECT doc_id, url, domain, dup_cluster FROM documents
),
direct AS (
    SELECT r.revocation_id, d.doc_id, d.dup_cluster
    FROM revocation_log r
    JOIN docs d
      ON (r.kind = 'domain' AND (d.domain = r.value OR d.domain LIKE '%.' || r.value))
      OR (r.kind = 'url' AND d.url = r.value)
),
reached AS (
    SELECT revocation_id, doc_id, 'direct' AS matched_by, CAST(NULL AS VARCHAR) AS via_doc_id
    FROM direct
    UNION ALL
    SELECT x.revocation_id, m.doc_id, 'near_duplicate' AS matched_by, x.doc_id AS via_doc_id
    FROM direct x
    JOIN docs m ON m.dup_cluster = x.dup_cluster AND m.doc_id <> x.doc_id
    WHERE x.dup_cluster IS NOT NULL
),
best AS (
    SELECT * FROM reached
    QUALIFY row_number() OVER (PARTITION BY revocation_id, doc_id
                               ORDER BY matched_by = 'direct' DESC, via_doc_id) = 1
)
SELECT r.revocation_id, r.kind, r.value, r.reason, r.requested_by, r.revoked_at,
       b.doc_id, d.url, d.domain, d.dup_cluster, b.matched_by, b.via_doc_id,
       e.export_id, e.policy AS export_policy, e.out_dir AS export_out_dir, e.created_at AS exported_at,
       (e.created_at IS NOT NULL AND e.created_at < r.revoked_at) AS exported_before_revocation
FROM best b
JOIN revocation_log r USING (revocation_id)
JOIN docs d USING (doc_id)
LEFT JOIN export_member_log m ON m.doc_id = b.doc_id
LEFT JOIN export_log e ON e.export_id = m.export_id;
COMMENT ON VIEW revocation_impact IS 'Each document a revocation reaches (matched directly, or as a near-duplicate of a matched one) and each export that holds it (export_id NULL: in no export).';

-- Consent drift: every change of a document's consent between two of its observations
-- (a re-crawl that saw different signals), with the evidence before and after.
CREATE VIEW consent_changes AS
WITH h AS (
    SELECT doc_id, url, domain, consent, consent_evidence, fetched_at, run_id,
           lag(consent) OVER w AS before,
           lag(consent_evidence) OVER w AS before_evidence,
           lag(fetched_at) OVER w AS before_at
    FROM document_log
    WINDOW w AS (PARTITION BY doc_id ORDER BY fetched_at, seq)
)
SELECT doc_id, url, domain, before, consent AS after, before_at AS observed_before,
       fetched_at AS changed_at, before_evidence, consent_evidence AS after_evidence, run_id
FROM h
WHERE before IS NOT NULL AND before <> consent;
COMMENT ON VIEW consent_changes IS 'Consent drift: every change of a document''s consent between two observations (a re-crawl saw different signals): before, after, when, and the evidence of both.';

-- Which machine-readable reservations opted each document out, read from its consent evidence
-- (provenance/consent.py writes one `signal[agent]=value: evidence` item per reserving signal).
CREATE VIEW opt_out_mechanisms AS
WITH items AS (
    SELECT doc_id, url, domain, unnest(string_split(consent_evidence, '; ')) AS item
    FROM documents
    WHERE consent = 'opted_out' AND consent_evidence IS NOT NULL
)
SELECT doc_id, url, domain,
       regexp_extract(item, '^([a-z_]+)', 1) AS mechanism,
       nullif(regexp_extract(item, '^[a-z_]+\[([^\]]*)\]=', 1), '') AS agent,
       regexp_extract(item, '^[a-z_]+(?:\[[^\]]*\])?=(.*?)(?:: |$)', 1) AS value,
       item AS evidence
FROM items
WHERE regexp_matches(item, '^(robots_txt|x_robots_tag|meta_robots|tdmrep|content_usage|content_signal|ai_txt|import_column)(\[[^\]]*\])?=');
COMMENT ON VIEW opt_out_mechanisms IS 'For every opted-out document, each reservation that opted it out: mechanism (robots_txt, x_robots_tag, meta_robots, tdmrep, content_usage, content_signal, ai_txt, import_column), agent, value and evidence.';
