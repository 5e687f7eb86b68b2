"""Ledger write throughput: 1,000,000 document rows through the ledger API against a plain
DuckDB ``INSERT ... SELECT`` of the same Arrow table, measured in the same run.

Prints rows/s of both and the ratio (aim: >= 0.5 of plain DuckDB), then the time of a
``documents`` GROUP BY license, consent. Usage: python bench/ledger_bench.py [N_ROWS]
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from provenance.ledger import DOCUMENT_SCHEMA, Ledger
from provenance.workspace import Workspace

LICENSES = ["CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "LicenseRef-all-rights-reserved", None, None]
CONSENTS = ["granted", "unspecified", "opted_out"]


def make_rows(n: int, seed: int = 1, start: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    ids = [hashlib.sha256(str(start + i).encode()).hexdigest()[:24] for i in range(n)]
    domains = rng.integers(0, 5000, n)
    lic = rng.integers(0, len(LICENSES), n)
    con = rng.integers(0, len(CONSENTS), n)
    base = datetime(2026, 1, 1)
    return pa.table({
        "doc_id": ids,
        "url": [f"https://d{d}.example/p/{i}" for i, d in enumerate(domains)],
        "domain": [f"d{d}.example" for d in domains],
        "source_type": ["web"] * n,
        "fetched_at": pa.array([base + timedelta(seconds=int(s)) for s in rng.integers(0, 10**7, n)], pa.timestamp("us")),
        "text_sha256": [h * 2 + h[:16] for h in ids],
        "n_chars": rng.integers(100, 20000, n),
        "shard": [f"shards/web/bench-{i // 50000:05d}.parquet" for i in range(n)],
        "license": [LICENSES[i] for i in lic],
        "license_evidence": [None if LICENSES[i] is None else f"rel_license: {LICENSES[i]}" for i in lic],
        "consent": [CONSENTS[i] for i in con],
        "consent_evidence": [None] * n,
        "title": [f"Title {i}" for i in range(n)],
        "author": [None] * n, "published": [None] * n, "language": ["en"] * n, "parent_doc_id": [None] * n,
    }).cast(DOCUMENT_SCHEMA)


def bench_ledger(rows: pa.Table, root: Path) -> float:
    ledger = Ledger(Workspace(root))
    with ledger.writer() as w:
        run = w.start_run("bench")
        start = time.perf_counter()
        with w.transaction():
            added = w.append_documents(rows, run.run_id)
        elapsed = time.perf_counter() - start
    assert added == rows.num_rows, added
    return elapsed


def bench_plain(rows: pa.Table, root: Path) -> float:
    root.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(root / "plain.duckdb"))
    cols = ", ".join(f"{f.name} {'TIMESTAMP' if f.name == 'fetched_at' else 'BIGINT' if f.name == 'n_chars' else 'VARCHAR'}"
                     for f in DOCUMENT_SCHEMA)
    con.execute(f"CREATE TABLE docs ({cols}, run_id VARCHAR)")
    con.register("rows", rows)
    start = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    con.execute("INSERT INTO docs SELECT *, 'bench' FROM rows").fetchall()
    con.execute("COMMIT")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rows = make_rows(n)
    with tempfile.TemporaryDirectory() as tmp:
        plain = bench_plain(rows, Path(tmp) / "plain")
        ours = bench_ledger(rows, Path(tmp) / "ledger")
        again = time.perf_counter()
        with Ledger(Workspace(Path(tmp) / "ledger")).writer() as w:
            with w.transaction():
                repeat_added = w.append_documents(rows, "bench-again")
        again = time.perf_counter() - again
        more = make_rows(n, seed=2, start=n)
        grow = time.perf_counter()
        with Ledger(Workspace(Path(tmp) / "ledger")).writer() as w:
            with w.transaction():
                grow_added = w.append_documents(more, "bench-grow")
        grow = time.perf_counter() - grow
        assert grow_added == n
        ledger = Ledger(Workspace(Path(tmp) / "ledger"))
        start = time.perf_counter()
        groups = ledger.query("SELECT license, consent, count(*) AS n FROM documents GROUP BY ALL")
        group_s = time.perf_counter() - start
        start = time.perf_counter()
        ledger.query("SELECT * FROM documents WHERE url = 'https://d1.example/p/12345'")
        point_s = time.perf_counter() - start
    print(f"rows: {n:,}")
    print(f"plain DuckDB INSERT ... SELECT from Arrow: {n / plain:,.0f} rows/s ({plain:.2f} s)")
    print(f"ledger append_documents (state keys, idempotent): {n / ours:,.0f} rows/s ({ours:.2f} s)")
    print(f"ratio ledger/plain: {plain / ours:.2f}  (aim >= 0.5)")
    print(f"append of {n:,} new rows to a ledger already holding {n:,}: {n / grow:,.0f} rows/s, "
          f"ratio to plain: {plain / grow:.2f}")
    print(f"re-append of the same rows: {repeat_added} rows added in {again:.2f} s (idempotent)")
    print(f"documents GROUP BY license, consent: {group_s:.2f} s ({groups.num_rows} groups); point lookup by url: {point_s:.2f} s")


if __name__ == "__main__":
    main()
