"""Readers are never locked out: while another process runs a long write (a run that stays open and
commits batch after batch), `provenance sql` answers with the committed batches, and only those."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from provenance.workspace import Workspace

BATCH = 500

# A writer process: one run, batches staged and committed through provenance.staging (what
# `provenance import` does). It says "committed N" after each commit; with --step it waits for a
# line on stdin before the next batch, else it commits until the file `stop` appears.
WRITER = textwrap.dedent(f"""
    import sys
    from pathlib import Path
    import pyarrow as pa
    from provenance.ids import doc_id_for_url, text_sha256, utcnow
    from provenance.ledger import Ledger
    from provenance.schemas import DOCUMENT_SCHEMA
    from provenance.staging import Stager

    ws, mode = sys.argv[1], sys.argv[2]
    ledger = Ledger(ws)
    run = ledger.start_run("test-long-write")
    print("run", run.run_id, flush=True)
    batch = 0
    while True:
        urls = [f"https://long.example/{{batch}}/{{i}}" for i in range({BATCH})]
        texts = [f"text {{u}}" for u in urls]
        n = len(urls)
        docs = pa.table({{
            "doc_id": [doc_id_for_url(u) for u in urls], "url": urls, "domain": ["long.example"] * n,
            "source_type": ["import"] * n, "fetched_at": pa.array([utcnow()] * n, pa.timestamp("us")),
            "text_sha256": [text_sha256(t) for t in texts], "n_chars": [len(t) for t in texts],
            "shard": [""] * n, "license": [None] * n, "license_evidence": [None] * n,
            "consent": ["unspecified"] * n, "consent_evidence": [None] * n, "title": [None] * n,
            "author": [None] * n, "published": [None] * n, "language": [None] * n, "parent_doc_id": [None] * n,
        }}, schema=DOCUMENT_SCHEMA)
        with Stager(ledger, run.run_id, "import") as stager:
            stager.add(docs, pa.array(texts))
            stager.commit()
        batch += 1
        print("committed", batch * {BATCH}, flush=True)
        if mode == "step":
            if sys.stdin.readline().strip() != "next":
                break
        elif Path(ws, "stop").exists():
            break
    ledger.finish_run(run, {{"documents": batch * {BATCH}}})
    print("finished", flush=True)
""")


def start_writer(ws: Path, mode: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(ws), mode], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    kind, run_id = proc.stdout.readline().split()
    assert kind == "run"
    return proc, run_id


def sql(ws: Path, query: str) -> list[dict]:
    exe = Path(sys.executable).parent / "provenance"
    out = subprocess.run([str(exe), "-w", str(ws), "sql", query, "--format", "json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


STATE = "SELECT (SELECT count(*) FROM documents) AS docs, (SELECT count(*) FROM corpus) AS texts, " \
        "(SELECT status FROM runs WHERE run_id = $r) AS status"


def test_reader_sees_each_committed_batch_while_the_writer_run_is_open(tmp_path):
    ws = Workspace(tmp_path / "ws").root
    proc, run_id = start_writer(ws, "step")
    try:
        for k in (1, 2, 3):
            assert proc.stdout.readline().split() == ["committed", str(k * BATCH)]
            got = sql(ws, STATE.replace("$r", f"'{run_id}'"))
            assert got == [{"docs": k * BATCH, "texts": k * BATCH, "status": "running"}]
            proc.stdin.write("next\n" if k < 3 else "stop\n")
            proc.stdin.flush()
        assert proc.stdout.readline().strip() == "finished"
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    assert sql(ws, STATE.replace("$r", f"'{run_id}'")) == [{"docs": 3 * BATCH, "texts": 3 * BATCH, "status": "finished"}]


def test_readers_get_in_between_the_commits_of_a_writer_that_never_pauses(tmp_path):
    ws = Workspace(tmp_path / "ws").root
    proc, run_id = start_writer(ws, "loop")
    try:
        assert proc.stdout.readline().split()[0] == "committed"
        seen = []
        for _ in range(3):
            got = sql(ws, STATE.replace("$r", f"'{run_id}'"))[0]
            assert got["status"] == "running" and got["docs"] == got["texts"]
            assert got["docs"] % BATCH == 0  # whole committed batches, nothing half-written
            seen.append(got["docs"])
        assert proc.poll() is None  # every answer came while the writer's run was still open
        assert seen == sorted(seen)
    finally:
        (ws / "stop").touch()
        proc.wait(timeout=120)
