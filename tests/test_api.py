"""The Python API, used as a notebook would (docs/api.md): each stage's typed entry point, then
``provenance.connect`` over the same workspace. A real crawl of the bundled site on 127.0.0.1, the
bundled Whisper model, a real ledger."""

from __future__ import annotations

from importlib import resources

import pytest

import crawl
import dedup
import provenance
import transcribe
from crawl.localsite import LocalSite
from provenance.errors import ProvenanceError
from transcribe.pipeline import Settings

pytestmark = pytest.mark.slow


def test_a_notebook_crawls_transcribes_dedups_and_queries(tmp_path):
    ws = tmp_path / "ws"
    site_root = resources.files("provenance") / "sample" / "site"
    with resources.as_file(site_root) as root, LocalSite(root) as site:
        summary = crawl.crawl(ws, [site.url("/")], {"delay": 0.0, "autothrottle": False, "workers": 1})
        assert summary.status == "finished" and summary.documents >= 10
        run_id, stats = transcribe.transcribe(ws, from_ledger=True, cpu_threads=1,
                                              settings=Settings(allow_private=True))  # 127.0.0.1
    assert stats.done == 1 and run_id
    result = dedup.dedup(ws, threshold=0.8)
    assert result.documents == summary.documents + 1 and result.clusters >= 1

    with provenance.connect(ws) as con:
        by_consent = dict(con.sql("SELECT consent, count(*) FROM documents GROUP BY 1").fetchall())
        [(transcripts,)] = con.sql("SELECT count(*) FROM documents WHERE source_type = 'transcript'").fetchall()
        with pytest.raises(ProvenanceError):
            con.sql("CREATE TABLE x AS SELECT 1")  # the same sandbox as `provenance sql`
    assert sum(by_consent.values()) == summary.documents + 1 and by_consent["opted_out"] >= 1
    assert transcripts == 1


def test_entry_points_refuse_what_the_cli_refuses(tmp_path):
    with pytest.raises(TypeError):
        dedup.dedup(tmp_path / "ws", dedup.pipeline.DedupOptions(), threshold=0.5)
    with pytest.raises(ProvenanceError):
        crawl.crawl(tmp_path / "ws", ["not a url"])


def test_a_script_imports_files_and_reads_its_run(tmp_path):
    from crawl.importers.options import ColumnMap, ImportOptions
    from tests.conftest import write_jsonl

    rows = [{"body": f"document number {i} of the script", "link": f"https://example.org/{i}"} for i in range(3)]
    data = write_jsonl(tmp_path / "corpus.jsonl", rows)
    seen = []
    summary = crawl.import_files(tmp_path / "ws", [data],
                                 ImportOptions(columns=ColumnMap(text="body", url="link")), on_file=seen.append)
    assert summary.totals()["documents"] == 3 and not summary.failed and len(seen) == 1
    with provenance.connect(tmp_path / "ws") as con:
        [(n, run_id)] = con.sql("SELECT count(*), any_value(run_id) FROM documents").fetchall()
        [(status,)] = con.sql("SELECT status FROM runs WHERE run_id = ?", params=[summary.run_id]).fetchall()
    assert n == 3 and run_id == summary.run_id and status == "finished"
