"""Scale figures of issue 15, each beside the baseline it is measured against in the same run.

Sections (run one or several with --only; the others keep their figures from an earlier run in
the JSON, with their date):

* ``ledger``: a generated Parquet corpus of N rows (url, text, license, consent, title) brought in
  through the public ``provenance import``, against a plain DuckDB load doing the same essential
  work (read the Parquet, sha256 of url and text, rows into a table, texts into a zstd Parquet
  file); then ledger bytes per document, point lookups by url and doc_id (connection open, process
  start excluded; median of 5), the ``documents`` GROUP BY license/consent, and the full
  ``provenance audit`` against plain DuckDB running the audit's GROUP BYs over the input file.
* ``sql_startup``: a ``provenance sql`` process answering ``SELECT 1`` against a bare Python
  process that imports duckdb and opens the ledger read-only (median of 5 each).
* ``readers``: ``provenance sql`` polled while an import of the same corpus into a fresh
  workspace runs: every answer's latency, and whether any was refused.
* ``dedup``: dedup of M short generated documents, local engine against Ray (see dedup_figures).
* ``dedup_memory``: ``provenance dedup`` of M short generated documents: wall time and the peak
  resident memory of the whole process tree (parent and workers, sampled every 0.2 s, as the sum
  of RSS and of PSS), a re-run
  with nothing new, and a run after adding 1% new documents (see dedup_memory_figures).

Usage: python bench/scale_bench.py [--docs N] [--dedup-docs M] [--only ledger,sql_startup,readers,dedup]
Writes bench/results/scale_bench.json (merged with what is there).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, UTC
from pathlib import Path

import duckdb

RESULTS = Path(__file__).resolve().parent / "results"
EXE = Path(sys.executable).parent / "provenance"
SECTIONS = ("ledger", "sql_startup", "readers", "dedup", "dedup_memory")
TARGETS = {
    "point_lookup_url_s": 0.05, "point_lookup_doc_id_s": 0.05, "group_by_s": 1.0, "audit_s": 10.0,
    "audit_vs_duckdb": 5.0, "import_vs_duckdb": 0.25, "bytes_per_document": 100,
    "sql_startup_vs_bare": 1.5, "reader_max_latency_s": 10.0,
    "dedup_1m_tree_peak_mib": 1430, "dedup_rerun_vs_first": 0.25,  # 1.5 GB in MiB
}


def generate_input(path: Path, n: int) -> None:
    """N rows of web-like documents: 50,000 domains, six license values, four consent values."""
    con = duckdb.connect()
    con.execute(f"""COPY (
        SELECT 'https://d' || (i % 50000) || '.example/p/' || i AS url,
               'Document ' || i || ' says ' || repeat('word' || (i % 97) || ' ', 20 + i % 30) AS text,
               ['CC-BY-4.0', 'https://creativecommons.org/licenses/by-sa/4.0/', 'CC0-1.0',
                'All rights reserved', NULL, NULL][1 + i % 6] AS license,
               ['granted', 'unspecified', 'opted_out', NULL][1 + i % 4] AS consent,
               'Title ' || i AS title
        FROM range({n}) t(i)) TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)""")
    con.close()


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def run_measured(cmd: list[str]) -> dict:
    """Wall time and peak RSS of a child process (and its children)."""
    wrapper = [sys.executable, "-c",
               "import resource, subprocess, sys, time; t=time.perf_counter(); "
               "r=subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE); "
               "w=time.perf_counter()-t; m=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
               "sys.stderr.write(r.stderr.decode()[-400:]); print(f'{w} {m} {r.returncode}')", *cmd]
    out = subprocess.run(wrapper, capture_output=True, text=True)
    wall, rss_kb, code = out.stdout.split()[-3:]
    return {"wall_s": float(wall), "peak_rss_mib": round(int(rss_kb) / 1024, 1), "exit": int(code),
            "stderr": out.stderr[-400:] if int(code) else ""}


def duckdb_load(src: Path, tmp: Path) -> float:
    """The plain DuckDB load: read Parquet, sha256 of url and text, rows into a table, texts to zstd Parquet."""
    db = tmp / "plain.duckdb"
    start = time.perf_counter()
    con = duckdb.connect(str(db))
    # texts (with their hashes) to a zstd shard in one pass, then the rows (no text) into a table
    con.execute(f"""COPY (SELECT sha256(url) AS doc_id, url, text, title, sha256(text) AS text_sha256,
                                 length(text) AS n_chars, license, consent
                          FROM read_parquet('{src}'))
                    TO '{tmp / 'plain_texts.parquet'}' (FORMAT parquet, COMPRESSION zstd)""")
    con.execute(f"""CREATE TABLE docs AS
        SELECT doc_id, url, text_sha256, n_chars, license, consent, title
        FROM read_parquet('{tmp / 'plain_texts.parquet'}')""")
    con.execute("CHECKPOINT")
    con.close()
    elapsed = time.perf_counter() - start
    for done in (db, tmp / "plain_texts.parquet"):  # disk for the import's run (10 GB at 100M)
        done.unlink()
    return elapsed


def baseline_group_bys(src: Path) -> float:
    """Plain DuckDB answering the audit's GROUP BYs (totals, license, consent, license x consent,
    consent by domain, top domains) over the input file."""
    domain = "regexp_extract(url, '://([^/]+)', 1)"
    queries = [
        "SELECT count(*), sum(length(text)) FROM t",
        "SELECT license, count(*), sum(length(text)) FROM t GROUP BY 1",
        "SELECT consent, count(*), sum(length(text)) FROM t GROUP BY 1",
        "SELECT license, consent, count(*) FROM t GROUP BY ALL",
        f"SELECT {domain} AS d, consent, count(*) FROM t GROUP BY ALL ORDER BY 3 DESC LIMIT 20",
        f"SELECT {domain} AS d, sum(length(text)) AS c FROM t GROUP BY 1 ORDER BY 2 DESC LIMIT 100",
    ]
    con = duckdb.connect()
    start = time.perf_counter()
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{src}')")
    for q in queries:
        con.execute(q).fetchall()
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def lookups(ws: Path, n: int) -> dict:
    """Median of 5 point lookups each by url and by doc_id, on an open read-only connection."""
    from provenance.ids import doc_id_for_url
    from provenance.ledger import Ledger

    figures = {}
    with Ledger(ws).reader() as con:
        def median(sql: str, values: list[str]) -> tuple[float, int]:
            times, rows = [], 0
            for v in values:
                t, got = timed(lambda v=v: con.execute(sql, [v]).fetchall())
                times.append(t)
                rows += len(got)
            return statistics.median(times), rows

        picks = [(n * k) // 7 for k in range(1, 6)]
        urls = [f"https://d{i % 50000}.example/p/{i}" for i in picks]
        figures["point_lookup_url_s"], hits = median("SELECT * FROM documents WHERE url = ?", urls)
        figures["point_lookup_doc_id_s"], hits2 = median("SELECT * FROM documents WHERE doc_id = ?",
                                                         [doc_id_for_url(u) for u in urls])
        figures["lookup_hits"] = hits + hits2
        figures["group_by_s"], groups = timed(lambda: con.execute(
            "SELECT license, consent, count(*) AS n, sum(n_chars) AS chars FROM documents GROUP BY ALL").fetchall())
        figures["groups"] = len(groups)
    return figures


def ledger_figures(n: int, tmp: Path) -> dict:
    src = tmp / "input.parquet"
    generate_input(src, n)
    figures: dict = {"documents": n, "input_bytes": src.stat().st_size}
    plain_s = duckdb_load(src, tmp)
    figures["duckdb_load_rows_per_s"] = round(n / plain_s)
    ws = tmp / "ws"
    imp = run_measured([str(EXE), "-w", str(ws), "import", str(src)])
    figures["import_rows_per_s"] = round(n / imp["wall_s"]) if imp["exit"] == 0 else f"failed: {imp['stderr']}"
    figures["import_peak_rss_mib"] = imp["peak_rss_mib"]
    if imp["exit"] != 0:
        return figures
    figures["import_vs_duckdb"] = round(figures["import_rows_per_s"] / figures["duckdb_load_rows_per_s"], 3)
    size = (ws / "ledger.duckdb").stat().st_size
    figures["ledger_bytes"] = size
    figures["bytes_per_document"] = round(size / n, 1)
    con = duckdb.connect(str(ws / "ledger.duckdb"), read_only=True)
    block, free = con.execute("SELECT block_size, free_blocks FROM pragma_database_size()").fetchall()[0]
    tables = {}
    for (table,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall():
        blocks = con.execute(f"SELECT count(DISTINCT block_id) FROM pragma_storage_info('{table}') "
                             f"WHERE block_id >= 0").fetchall()[0][0]
        if blocks:
            tables[table] = round(blocks * block / n, 1)
    con.close()
    # where the bytes are: each table's blocks, the free blocks left by rewrites, the rest is indexes
    figures["bytes_per_document_by_part"] = {
        "tables": tables, "free_blocks": round(free * block / n, 1),
        "indexes_and_metadata": round(size / n - sum(tables.values()) - free * block / n, 1)}
    figures.update(lookups(ws, n))
    base_s = baseline_group_bys(src)
    audit = run_measured([str(EXE), "-w", str(ws), "audit", "--format", "json", "--out", str(tmp / "audit.json")])
    figures["duckdb_group_bys_s"] = round(base_s, 2)
    figures["audit_s"] = round(audit["wall_s"], 2) if audit["exit"] == 0 else f"failed: {audit['stderr']}"
    if audit["exit"] == 0:
        figures["audit_vs_duckdb"] = round(audit["wall_s"] / base_s, 2)
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in figures.items()}


def compile_bytecode() -> None:
    """Compile the modules the commands measured import, as ``pip install`` does.

    This machine sets PYTHONDONTWRITEBYTECODE and uv installs without compiling, so without this
    every process compiles its imports from source (click and provenance on one side, duckdb on
    both), which measures the compiler rather than what a user of an installed package waits for.
    """
    import compileall
    import importlib.util

    for name in ("duckdb", "click", "provenance", "crawl", "dedup", "pyarrow", "numpy", "tldextract", "w3lib",
                 "idna", "requests", "urllib3", "filelock", "xxhash", "yaml"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            for folder in spec.submodule_search_locations:
                compileall.compile_dir(folder, quiet=1)


def sql_startup(ws: Path) -> dict:
    """`provenance sql 'SELECT 1'` against a bare Python that imports duckdb and opens the ledger
    (both with their modules' bytecode compiled; runs interleaved, median of 15 each)."""
    compile_bytecode()
    bare = [sys.executable, "-c",
            f"import duckdb; duckdb.connect({str(ws / 'ledger.duckdb')!r}, read_only=True).execute('SELECT 1').fetchall()"]
    sql = [str(EXE), "-w", str(ws), "sql", "SELECT 1", "--format", "json"]
    times: dict[str, list[float]] = {"bare": [], "sql": []}
    for _ in range(15):  # interleaved, so a change in the machine's load touches both alike
        for name, cmd in (("bare", bare), ("sql", sql)):
            t, proc = timed(lambda cmd=cmd: subprocess.run(cmd, capture_output=True))
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr.decode()[-300:])
            times[name].append(t)
    bare_s, sql_s = statistics.median(times["bare"]), statistics.median(times["sql"])
    return {"bare_python_duckdb_s": round(bare_s, 3), "sql_s": round(sql_s, 3),
            "sql_startup_vs_bare": round(sql_s / bare_s, 2), "bytecode": "compiled"}


def readers_during_import(n: int, tmp: Path) -> dict:
    """Poll `provenance sql` while an import of n rows runs into a fresh workspace."""
    src = tmp / "readers-input.parquet"
    generate_input(src, n)
    ws = tmp / "ws-readers"
    subprocess.run([str(EXE), "-w", str(ws), "sql", "SELECT 1"], capture_output=True)  # no ledger yet: fine
    proc = subprocess.Popen([str(EXE), "-w", str(ws), "import", str(src)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    latencies, refused, seen = [], 0, []
    stop = threading.Event()

    def poll() -> None:
        nonlocal refused
        while not stop.is_set():
            t, out = timed(lambda: subprocess.run(
                [str(EXE), "-w", str(ws), "sql", "SELECT count(*) AS n FROM documents", "--format", "json"],
                capture_output=True, text=True))
            if out.returncode == 0:
                latencies.append(t)
                seen.append(json.loads(out.stdout)[0]["n"])
            elif "no ledger" not in out.stderr:
                refused += 1
            time.sleep(0.5)

    thread = threading.Thread(target=poll)
    thread.start()
    import_s, code = timed(proc.wait)
    stop.set()
    thread.join()
    return {"documents": n, "import_s": round(import_s, 1), "import_exit": code, "queries": len(latencies),
            "refused": refused, "reader_max_latency_s": round(max(latencies), 2) if latencies else None,
            "reader_median_latency_s": round(statistics.median(latencies), 2) if latencies else None,
            "counts_seen": sorted(set(seen))[:20]}


def dedup_figures(n: int) -> dict:
    """Local engine vs Ray (2 CPUs) on the same generated workspace, each in its own process."""
    from dedup.synthetic import write_corpus_jsonl  # generated near-duplicate corpus

    figures: dict = {"documents": n}
    with tempfile.TemporaryDirectory() as tmp:
        data = write_corpus_jsonl(Path(tmp) / "corpus.jsonl", n)
        for engine in ("local", "ray"):
            ws = Path(tmp) / f"ws-{engine}"
            subprocess.run([str(EXE), "-w", str(ws), "import", str(data)], check=True, capture_output=True)
            run = run_measured([str(EXE), "-w", str(ws), "dedup", "--engine", engine])
            figures[engine] = {"wall_s": round(run["wall_s"], 2), "peak_rss_mib": run["peak_rss_mib"],
                               "exit": run["exit"]}
    return figures


def _tree_memory_mib(root: int) -> tuple[float, float]:
    """Resident memory of a process and all its descendants: the sum of their RSS, and of their
    PSS (shared pages divided among the processes sharing them: a child between fork and exec
    shares the parent's pages, which the RSS sum counts twice)."""
    rss = pss = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return rss / 1024, pss / 1024


def _dedup_tree(ws: Path, *options: str) -> dict:
    start = time.perf_counter()
    # as installed: Python caches compiled modules (a PYTHONDONTWRITEBYTECODE=1 environment would
    # otherwise compile some 800 modules again in every process, seconds of a short run)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.Popen([str(EXE), "-w", str(ws), "dedup", *options], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env)
    peak_rss = peak_pss = 0.0
    while proc.poll() is None:
        rss, pss = _tree_memory_mib(proc.pid)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.2)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    return {"wall_s": round(wall, 1), "tree_peak_rss_mib": round(peak_rss), "tree_peak_pss_mib": round(peak_pss),
            "exit": proc.returncode, "summary": err.strip().splitlines()[-1][:300] if err.strip() else ""}


def _first_rows_again(source: Path, dest: Path, k: int, domain: str) -> Path:
    """The first ``k`` rows of a corpus file under other URLs (same texts, licenses, consents)."""
    with open(source, encoding="utf-8") as src, open(dest, "w", encoding="utf-8") as out:
        for i, line in zip(range(k), src):
            row = json.loads(line)
            row["url"] = f"https://{domain}/{i // 1000}/doc-{i}"
            out.write(json.dumps(row) + "\n")
    return dest


def dedup_memory_figures(n: int, tmp: Path, workspace: Path | None) -> dict:
    """First run, re-run with nothing new, runs after adding 0.1% then 1% new documents, then a full run with
    another threshold, on one workspace of ``n`` generated documents (``workspace``: a copy of one built earlier,
    to save the import)."""
    import shutil

    from dedup.synthetic import write_corpus_jsonl

    ws = tmp / "ws-dedup"
    data = write_corpus_jsonl(tmp / "dedup.jsonl", n)  # deterministic: the workspace's input
    if workspace:
        shutil.copytree(workspace, ws)
    else:
        subprocess.run([str(EXE), "-w", str(ws), "import", str(data)], check=True, capture_output=True)
    first = _dedup_tree(ws)
    rerun = _dedup_tree(ws)
    out = {"documents": n, "first": first, "rerun_nothing_new": rerun,
           "rerun_vs_first": round(rerun["wall_s"] / first["wall_s"], 3)}
    # additions of k = 0.1% then 1%: the cost should follow k, not the corpus. Half of each are
    # the corpus's first rows again under new URLs (exact duplicates: they join existing clusters
    # and can take over their canonical place), half new text with copies among themselves.
    for label, k, seed in (("0_1_percent", max(2, n // 1000), 98), ("1_percent", max(2, n // 100), 99)):
        again = _first_rows_again(data, tmp / f"again-{label}.jsonl", k // 2, f"again{seed}.example")
        more = write_corpus_jsonl(tmp / f"more-{label}.jsonl", k - k // 2, seed=seed, domain=f"more{seed}.example")
        for path in (again, more):
            subprocess.run([str(EXE), "-w", str(ws), "import", str(path)], check=True, capture_output=True)
        added = _dedup_tree(ws)
        out[f"after_adding_{label}"] = {"added": k, **added}
        out[f"added_{label}_vs_first"] = round(added["wall_s"] / first["wall_s"], 4)
    out["added_vs_first"] = out["added_1_percent_vs_first"]
    # a full run over documents already in clusters, with other clusters: another threshold (the
    # stored signatures are reused; many documents change cluster, so the commit is large)
    out["full_rerun_threshold_0_7"] = _dedup_tree(ws, "--threshold", "0.7")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=10_000_000)
    parser.add_argument("--reader-docs", type=int, default=2_000_000)
    parser.add_argument("--dedup-docs", type=int, default=1_000_000)
    parser.add_argument("--only", default="ledger,sql_startup,readers",
                        help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--tmp", default=None, help="directory for the generated data (default: a temp dir)")
    parser.add_argument("--dedup-workspace", type=Path, default=None,
                        help="dedup_memory: copy this workspace of --dedup-docs documents instead of importing")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    compile_bytecode()
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {SECTIONS}")
    out = RESULTS / "scale_bench.json"
    results = json.loads(out.read_text()) if out.exists() else {}
    results["machine"] = {"cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg()[0]}
    results["targets"] = TARGETS
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp_name:
        tmp = Path(tmp_name)
        if "ledger" in chosen:  # the 10M figures stay beside those of another size
            key = "ledger" if args.docs == 10_000_000 else f"ledger_{args.docs}"
            results[key] = {"at": now, **ledger_figures(args.docs, tmp)}
            print(f"{key}:", json.dumps(results[key]), flush=True)
        if "sql_startup" in chosen:
            ws = tmp / "ws"
            if not (ws / "ledger.duckdb").exists():
                generate_input(tmp / "small.parquet", 1000)
                subprocess.run([str(EXE), "-w", str(ws), "import", str(tmp / "small.parquet")], check=True,
                               capture_output=True)
            results["sql_startup"] = {"at": now, "ledger_documents": args.docs if "ledger" in chosen else 1000,
                                      **sql_startup(ws)}
            print("sql_startup:", json.dumps(results["sql_startup"]), flush=True)
        if "readers" in chosen:
            results["readers"] = {"at": now, **readers_during_import(args.reader_docs, tmp)}
            print("readers:", json.dumps(results["readers"]), flush=True)
        if "dedup_memory" in chosen:  # the 1M figures stay beside those of another size
            key = "dedup_memory" if args.dedup_docs == 1_000_000 else f"dedup_memory_{args.dedup_docs}"
            results[key] = {"at": now, **dedup_memory_figures(args.dedup_docs, tmp, args.dedup_workspace)}
            print(f"{key}:", json.dumps(results[key]), flush=True)
    if "dedup" in chosen:
        results["dedup"] = {"at": now, **dedup_figures(args.dedup_docs)}
        print("dedup:", json.dumps(results["dedup"]), flush=True)
    RESULTS.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
