"""Scale figures: a generated ledger of 10,000,000 documents (size on disk, `documents` GROUP BY,
point lookup by url, audit time) and dedup of 1,000,000 short generated documents, local engine
against Ray on 2 CPUs (wall time and peak memory). Prints the figures and writes them as JSON
under bench/results/.

Usage: python bench/scale_bench.py [--docs N] [--dedup-docs M] [--skip-ledger] [--skip-dedup] [--skip-audit]
(a section that is skipped keeps its figures from an earlier run in the JSON, with their date)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from provenance.ledger import Ledger
from provenance.workspace import Workspace

RESULTS = Path(__file__).resolve().parent / "results"


def generate_ledger(ws: Workspace, n: int) -> float:
    """Fill document_log with n generated documents in bulk SQL (the text is not needed)."""
    ledger = Ledger(ws)
    start = time.perf_counter()
    with ledger.writer() as w:
        run = w.start_run("bench-generate", {"documents": n})
        w.execute(f"""
            INSERT INTO document_log (seq, doc_id, url, domain, source_type, fetched_at, run_id, title,
                language, n_chars, text_sha256, shard, license, license_evidence, consent, consent_evidence)
            SELECT 1, md5(i::VARCHAR)[:24], 'https://d' || (i % 50000) || '.example/p/' || i,
                   'd' || (i % 50000) || '.example', 'web',
                   TIMESTAMP '2026-01-01' + to_seconds(i % 10000000), '{run.run_id}', 'Title ' || i, 'en',
                   100 + (i * 7919) % 20000, sha256(i::VARCHAR), 'shards/web/gen-' || (i // 100000) || '.parquet',
                   ['CC-BY-4.0', 'CC-BY-SA-4.0', 'CC0-1.0', 'LicenseRef-all-rights-reserved', NULL, NULL][1 + i % 6],
                   NULL, ['granted', 'unspecified', 'opted_out'][1 + i % 3], NULL
            FROM range({n}) t(i)
        """)
        w.finish_run(run, {"documents": n})
    return time.perf_counter() - start


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def ledger_figures(n: int, with_audit: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        gen_s = generate_ledger(ws, n)
        with Ledger(ws).writer() as w:  # a checkpoint folds the WAL into the file
            w.execute("CHECKPOINT")
        size = ws.ledger_path.stat().st_size
        ledger = Ledger(ws)
        group_s, groups = timed(lambda: ledger.query(
            "SELECT license, consent, count(*) AS n, sum(n_chars) AS chars FROM documents GROUP BY ALL"))
        lookup_s, hit = timed(lambda: ledger.query(
            "SELECT doc_id, license, consent FROM documents WHERE url = $u", {"u": f"https://d{12345 % 50000}.example/p/12345"}))
        figures = {"documents": n, "generate_s": round(gen_s, 2), "ledger_bytes": size,
                   "bytes_per_document": round(size / n, 1), "group_by_s": round(group_s, 2),
                   "groups": groups.num_rows, "point_lookup_s": round(lookup_s, 2), "lookup_rows": hit.num_rows}
        if with_audit:
            exe = Path(sys.executable).parent / "provenance"
            audit_s, proc = timed(lambda: subprocess.run(
                [str(exe), "-w", str(ws.root), "audit", "--format", "json", "--out", str(Path(tmp) / "audit.json")],
                capture_output=True, text=True))
            figures["audit_s"] = round(audit_s, 2) if proc.returncode == 0 else f"failed: {proc.stderr[-300:]}"
    return figures


def dedup_figures(n: int) -> dict:
    """Local engine vs Ray (2 CPUs) on the same generated workspace, each in its own process."""
    from dedup.synthetic import write_corpus_jsonl  # generated near-duplicate corpus

    figures: dict = {"documents": n}
    with tempfile.TemporaryDirectory() as tmp:
        data = write_corpus_jsonl(Path(tmp) / "corpus.jsonl", n)
        exe = Path(sys.executable).parent / "provenance"
        for engine in ("local", "ray"):
            ws = Path(tmp) / f"ws-{engine}"
            subprocess.run([str(exe), "-w", str(ws), "import", str(data)], check=True, capture_output=True)
            cmd = [str(exe), "-w", str(ws), "dedup", "--engine", engine]
            wrapper = [sys.executable, "-c",
                       "import resource, subprocess, sys, time; t=time.perf_counter(); "
                       "r=subprocess.run(sys.argv[1:]); w=time.perf_counter()-t; "
                       "m=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
                       "print(f'{w} {m} {r.returncode}')", *cmd]
            out = subprocess.run(wrapper, capture_output=True, text=True)
            wall, rss_kb, code = out.stdout.split()[-3:]
            figures[engine] = {"wall_s": round(float(wall), 2), "peak_rss_mib": round(int(rss_kb) / 1024, 1),
                               "exit": int(code)}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=10_000_000)
    parser.add_argument("--dedup-docs", type=int, default=1_000_000)
    parser.add_argument("--skip-ledger", action="store_true")
    parser.add_argument("--skip-dedup", action="store_true")
    parser.add_argument("--skip-audit", action="store_true")
    args = parser.parse_args()
    out = RESULTS / "scale_bench.json"
    results = json.loads(out.read_text()) if out.exists() else {}
    results["machine"] = {"cpus": os.cpu_count()}
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if not args.skip_ledger:
        results["ledger"] = {"at": now, **ledger_figures(args.docs, not args.skip_audit)}
        print("ledger:", json.dumps(results["ledger"]))
    if not args.skip_dedup:
        results["dedup"] = {"at": now, **dedup_figures(args.dedup_docs)}
        print("dedup:", json.dumps(results["dedup"]))
    results.pop("at", None)
    RESULTS.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
