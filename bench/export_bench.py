"""Export and verify cost against the floor of any export: reading the texts and writing them once.

Builds a workspace of N documents (default 20,000, ~2,000 characters each, CC BY, real Parquet
shards through ``DocumentStore``), then, in the same process, times

* the baseline: DuckDB copies ``doc_id, text`` of every shard row into one zstd Parquet file;
* ``export_policy`` with the ``open`` policy (re-hashes every text, writes data, manifest, root hash,
  attribution, card, Croissant, marker; records the export);
* ``verify_export`` of that export (every file hashed, every text re-hashed and joined to the manifest);

and prints the times and the ratios to the baseline. Results go to bench/results/export_bench.json.
Usage: python bench/export_bench.py [N_DOCUMENTS]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from provenance.export import export_policy, verify_export
from provenance.ids import doc_id_for_url, domain_of, text_sha256
from provenance.ledger import Ledger
from provenance.policies import builtin
from provenance.records import Document, LicenseFinding
from provenance.store import DocumentStore, PendingDocument
from provenance.workspace import Workspace

BATCH = 5_000
WORDS = ("provenance", "license", "consent", "ledger", "shard", "export", "verify", "corpus", "text")


def text_of(i: int) -> str:
    return " ".join(f"{WORDS[(i * 7 + k) % len(WORDS)]}{(i + k) % 97}" for k in range(190))


def pending(i: int, when: datetime) -> PendingDocument:
    url = f"https://site{i % 50}.example/page/{i}"
    doc_id, text = doc_id_for_url(url), text_of(i)
    doc = Document(doc_id=doc_id, url=url, domain=domain_of(url), source_type="web", fetched_at=when,
                   text_sha256=text_sha256(text), n_chars=len(text), shard="", license="CC-BY-4.0",
                   license_evidence="rel_license: CC-BY-4.0", consent="granted",
                   consent_evidence="license=CC-BY-4.0", title=f"Page {i}", author="Bench", language="en")
    finding = LicenseFinding(url=url, source="rel_license", raw_value="CC-BY-4.0", license="CC-BY-4.0",
                             observed_at=when, doc_id=doc_id)
    return PendingDocument(doc=doc, text=text, signals=(), licenses=(finding,))


def build(root: Path, n: int) -> Ledger:
    ledger = Ledger(Workspace(root))
    t0 = datetime(2026, 1, 1)
    with ledger.writer() as w:
        run = w.start_run("crawl", {"bench": True})
        store = DocumentStore(w, run.run_id, "web")
        for start in range(0, n, BATCH):
            store.write_batch([pending(i, t0 + timedelta(seconds=i)) for i in range(start, min(n, start + BATCH))])
        w.finish_run(run, {"documents": n})
    return ledger


def main(n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        ledger = build(root / "ws", n)
        built = time.perf_counter() - t
        shards = sorted(str(p) for p in (root / "ws" / "shards").rglob("*.parquet"))

        t = time.perf_counter()
        con = duckdb.connect()
        con.execute("COPY (SELECT doc_id, text FROM read_parquet(?) ORDER BY doc_id) TO ? "
                    "(FORMAT parquet, COMPRESSION zstd)", [shards, str(root / "baseline.parquet")])
        con.close()
        baseline = time.perf_counter() - t

        t = time.perf_counter()
        result = export_policy(ledger, builtin("open"), root / "export")
        exported = time.perf_counter() - t
        assert result.n_documents == n, result.n_documents

        t = time.perf_counter()
        check = verify_export(root / "export")
        verified = time.perf_counter() - t
        assert check.ok, check.counts

    out = {"documents": n, "build_s": round(built, 2), "baseline_copy_s": round(baseline, 3),
           "export_s": round(exported, 3), "verify_s": round(verified, 3),
           "export_over_baseline": round(exported / baseline, 2),
           "verify_over_baseline": round(verified / baseline, 2)}
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    results = main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
    target = Path(__file__).parent / "results" / "export_bench.json"
    target.write_text(json.dumps(results, indent=2) + "\n")
