-- 0013_audit_scale: the audit's views read only the documents they can concern.
--
-- consent_changes: a change needs two observations, and a document with two has one in document_past (0012):
-- the window runs over those documents' history only, not over every document (the audit's
-- drift queries no longer scan the whole ledger). Same columns and rows as the 0005 view.

CREATE OR REPLACE VIEW consent_changes AS
WITH h AS (
    SELECT doc_id, url, domain, consent, consent_evidence, fetched_at, run_id,
           lag(consent) OVER w AS before,
           lag(consent_evidence) OVER w AS before_evidence,
           lag(fetched_at) OVER w AS before_at
    FROM document_log
    WHERE doc_id IN (SELECT doc_id FROM document_past)
    WINDOW w AS (PARTITION BY doc_id ORDER BY fetched_at, seq)
)
SELECT doc_id, url, domain, before, consent AS after, before_at AS observed_before,
       fetched_at AS changed_at, before_evidence, consent_evidence AS after_evidence, run_id
FROM h
WHERE before IS NOT NULL AND before <> consent;
COMMENT ON VIEW consent_changes IS 'Consent drift: every change of a document''s consent between two observations (a re-crawl saw different signals): before, after, when, and the evidence of both.';

-- revocation_impact: a document a revocation reaches, directly or through its cluster, is
-- revoked in document_state (kept by the write path, 0007), so only revoked documents are read
-- (materialised) instead of every document. Same columns and rows as the 0005 view.
CREATE OR REPLACE VIEW revocation_impact AS
WITH docs AS MATERIALIZED (
    SELECT doc_id, url, domain, dup_cluster FROM documents WHERE revoked
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
