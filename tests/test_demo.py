"""`provenance demo`: the whole pipeline on bundled data, end to end, twice (idempotent)."""

from __future__ import annotations

import json

import pytest
import pyarrow.parquet as pq

from tests.conftest import run_process


@pytest.mark.slow
def test_demo_runs_the_whole_story_and_a_rerun_adds_nothing(tmp_path):
    ws = tmp_path / "ws"
    first = run_process("-w", str(ws), "demo", timeout=600)
    assert first.code == 0, first.err + first.out
    for needle in ("Import Common-Crawl-style WARCs", "Crawl the sample site", "Transcribe the audio", "Find near-duplicates",
                   "Audit report:", "Export:"):
        assert needle in first.out
    report = ws / "reports" / "audit.html"
    assert report.exists() and "<svg" in report.read_text(encoding="utf-8")
    export = ws / "exports" / "open"
    assert (export / "ATTRIBUTION.md").exists() and (export / "croissant.json").exists()
    manifest = pq.read_table(export / "manifest.parquet").to_pylist()
    assert manifest and all(m["consent"] != "opted_out" for m in manifest)

    def ask(sql):
        out = run_process("-w", str(ws), "sql", sql, "--format", "json")
        assert out.code == 0, out.err
        return json.loads(out.stdout if hasattr(out, "stdout") else out.out)

    counts = ask("SELECT source_type, count(*) AS n FROM documents GROUP BY 1 ORDER BY 1")
    kinds = {c["source_type"]: c["n"] for c in counts}
    assert kinds.get("web", 0) > 5 and kinds.get("import") == 37 and kinds.get("transcript") == 1
    # the Common-Crawl-style pages: each decided by the robots.txt capture of its fetch time
    cc = ask("SELECT url, consent FROM documents "
             "WHERE domain IN ('harbour.example', 'ferry.example', 'lighthouse.example')")
    assert {c["url"]: c["consent"] for c in cc} == {
        "https://harbour.example/log/march-10.html": "unspecified",  # before its robots.txt changed
        "https://harbour.example/log/march-25.html": "opted_out",  # after: GPTBot disallowed
        "https://ferry.example/timetable.html": "opted_out",  # robots.txt answered 503
        "https://lighthouse.example/keepers.html": "granted",  # 404 robots.txt, CC BY Link header
    }
    # the transcript inherits the license of the page that embedded the audio
    t = ask("SELECT d.license, p.license AS page_license FROM documents d JOIN documents p ON p.doc_id = d.parent_doc_id "
            "WHERE d.source_type = 'transcript'")
    assert t and t[0]["license"] == t[0]["page_license"]
    # a near-duplicate cluster keeps the licensed copy
    clusters = ask("SELECT dup_cluster, bool_or(is_canonical AND license IS NOT NULL) AS licensed_canonical "
                   "FROM documents WHERE dup_cluster IS NOT NULL GROUP BY 1")
    assert clusters and all(c["licensed_canonical"] for c in clusters)
    log_rows = ask("SELECT count(*) AS n FROM document_log")[0]["n"]

    second = run_process("-w", str(ws), "demo", timeout=600)
    assert second.code == 0, second.err + second.out
    assert "0 new or changed documents" in second.out and "0 transcribed, 1 already done" in second.out
    assert ask("SELECT count(*) AS n FROM document_log")[0]["n"] == log_rows
