"""Audit cost on a large ledger: the full audit (HTML) against the plain SQL queries it is built from.

Builds a ledger of N synthetic documents (default 1,000,000) through the ledger API in bulk (Arrow
batches to ``LedgerWriter.append_documents``, fake shard paths: the audit never reads text), with
consent signals, license findings, near-duplicate clusters, a consent drift, revocations and an
export. Then, in the same run, times

* the plain queries: every query of the report, run with ``fetchall`` on one read-only connection;
* the audit: ``write_report`` (migrations check, license classes, the same queries, layout, HTML).

and prints both times and their ratio (aim: the report costs <= 2x its queries).
Usage: python bench/audit_bench.py [N_DOCUMENTS]
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from provenance.audit import write_report
from provenance.audit.build import plan, prepare
from provenance.ledger import DOCUMENT_SCHEMA, Ledger
from provenance.policies import builtins
from provenance.records import ConsentSignal, LicenseFinding
from provenance.revoke import revoke
from provenance.workspace import Workspace

LICENSES = np.array(["CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "CC-BY-NC-4.0", "MIT",
                     "LicenseRef-all-rights-reserved", None, None, None], dtype=object)
CONSENTS = np.array(["granted", "unspecified", "opted_out"], dtype=object)
N_DOMAINS = 20_000
BASE = datetime(2026, 1, 1)


def documents(n: int, rng: np.random.Generator) -> pa.Table:
    ids = np.array([hashlib.blake2b(str(i).encode(), digest_size=12).hexdigest() for i in range(n)], dtype=object)
    dom = rng.zipf(1.3, n) % N_DOMAINS
    domains = np.char.add("d", dom.astype(str)).astype(object) + ".example"
    lic = LICENSES[rng.integers(0, len(LICENSES), n)]
    consent = CONSENTS[rng.integers(0, len(CONSENTS), n)]
    opted = consent == "opted_out"
    evidence = np.where(opted, "robots_txt[GPTBot]=disallowed: User-agent: GPTBot / Disallow: /", None)
    evidence = np.where(~opted & (lic != None), "license=" + lic.astype(str), evidence)  # noqa: E711
    idx = np.arange(n).astype(str)
    return pa.table({
        "doc_id": ids,
        "url": "https://" + domains + "/p/" + idx,
        "domain": domains,
        "source_type": np.where(rng.random(n) < 0.02, "transcript", "web"),
        "fetched_at": pa.array(np.datetime64(BASE, "s") + rng.integers(0, 10**7, n).astype("timedelta64[s]"),
                               pa.timestamp("us")),
        "text_sha256": ids + ids,
        "n_chars": rng.integers(200, 20_000, n),
        "shard": np.char.add("shards/web/bench-", (np.arange(n) // 50_000).astype(str)).astype(object) + ".parquet",
        "license": lic,
        "license_evidence": np.where(lic != None, "rel_license: " + lic.astype(str), None),  # noqa: E711
        "consent": consent,
        "consent_evidence": evidence,
        "title": "Title " + idx,
        "author": pa.nulls(n, pa.string()), "published": pa.nulls(n, pa.string()),
        "language": pa.array(["en"] * n), "parent_doc_id": pa.nulls(n, pa.string()),
    }).cast(DOCUMENT_SCHEMA)


def build(root: Path, n: int) -> Ledger:
    rng = np.random.default_rng(7)
    ledger = Ledger(Workspace(root))
    docs = documents(n, rng)
    with ledger.writer() as w:
        run = w.start_run("crawl", {"bench": True})
        with w.transaction():
            w.append_documents(docs, run.run_id)
        w.finish_run(run, {"documents": n})
        # consent signals per domain (robots.txt for two agents) and in-body license links
        signals = [ConsentSignal(url=f"https://d{d}.example/robots.txt", domain=f"d{d}.example",
                                 signal="robots_txt", agent=agent, value=value, evidence="Disallow: /",
                                 observed_at=BASE)
                   for d in range(N_DOMAINS) for agent, value in
                   (("GPTBot", "disallowed" if d % 3 == 0 else "allowed"), ("CCBot", "allowed"))]
        sample = docs.slice(0, min(n, 5_000)).to_pylist()
        findings = [LicenseFinding(url=r["url"], source="body_link", raw_value="https://creativecommons.org/licenses/by/4.0/",
                                   license="CC-BY-4.0", observed_at=BASE, doc_id=r["doc_id"], in_body=True)
                    for r in sample]
        w.write(run.run_id, signals=signals, licenses=findings)
        # consent drift: 1% of the documents re-crawled a month later, now opted out
        k = max(1, n // 100)
        drift = docs.slice(0, k)
        drift = drift.set_column(drift.schema.get_field_index("consent"), "consent", pa.array(["opted_out"] * k))
        drift = drift.set_column(drift.schema.get_field_index("fetched_at"), "fetched_at",
                                 pa.array([BASE + timedelta(days=200)] * k, pa.timestamp("us")))
        run2 = w.start_run("crawl", {"bench": True, "recrawl": True})
        with w.transaction():
            w.append_documents(drift, run2.run_id)
        w.finish_run(run2, {"documents": k})
        # near-duplicate clusters: 5% of the documents in pairs
        pairs = max(1, n // 40)
        members = docs.column("doc_id").slice(0, 2 * pairs)
        dedup = w.start_run("dedup", {"bench": True})
        w.append_rows("cluster_log", pa.table({
            "seq": pa.array(np.ones(2 * pairs, dtype=np.int64)),
            "doc_id": members,
            "dup_cluster": pa.array([f"c{i // 2}" for i in range(2 * pairs)]),
            "is_canonical": pa.array([i % 2 == 0 for i in range(2 * pairs)]),
            "similarity": pa.array(np.full(2 * pairs, 0.9)),
            "reason": pa.array(["bench"] * (2 * pairs)),
            "assigned_at": pa.array([BASE + timedelta(days=201)] * (2 * pairs), pa.timestamp("us")),
            "run_id": pa.array([dedup.run_id] * (2 * pairs)),
        }))
        w.finish_run(dedup, {"clusters": pairs})
        # an export of the first 10% (synthetic rows: no files are written)
        m = max(1, n // 10)
        exp = w.start_run("export", {"bench": True})
        w.execute("INSERT INTO export_log VALUES ('exp-bench', 'open', 'x', '{}', '/tmp/bench', ?, ?, ?, 0, 0, 'x', '{}')",
                  [BASE + timedelta(days=202), exp.run_id, m])
        w.execute(f"""INSERT INTO export_member_log
                      SELECT 'exp-bench', doc_id, url, domain, text_sha256, license, consent, NULL, 'data/part-00000.parquet', ?
                      FROM document_log LIMIT {m}""", [exp.run_id])
        w.finish_run(exp, {"documents": m})
    for d in (1, 2, 3):
        revoke(ledger, domain=f"d{d}.example", reason="bench request", requested_by="bench")
    return ledger


def time_plain(ledger: Ledger) -> tuple[float, int]:
    policies = list(builtins())
    with ledger.reader() as con:
        queries, relations = plan(con, policies)
        start = time.perf_counter()
        for q in queries:
            if all(r in relations for r in q.requires):
                con.execute(q.sql).fetchall()
        return time.perf_counter() - start, len(queries)


def time_audit(ledger: Ledger, out: Path) -> float:
    start = time.perf_counter()
    write_report(ledger, out, "html")
    return time.perf_counter() - start


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        ledger = build(Path(tmp) / "ws", n)
        built = time.perf_counter() - t
        prepare(ledger)  # license classes in place before either measurement
        plain, n_queries = time_plain(ledger)
        audit = time_audit(ledger, Path(tmp) / "audit.html")
        plain2, _ = time_plain(ledger)
        audit2 = time_audit(ledger, Path(tmp) / "audit.html")
        size = (Path(tmp) / "audit.html").stat().st_size
    plain_best, audit_best = min(plain, plain2), min(audit, audit2)
    print(f"documents: {n:,} (ledger built in {built:.1f} s)")
    print(f"plain SQL: the audit's {n_queries} queries with fetchall: {plain_best:.2f} s (runs: {plain:.2f}, {plain2:.2f})")
    print(f"audit (write_report, HTML {size / 1024:.0f} KiB): {audit_best:.2f} s (runs: {audit:.2f}, {audit2:.2f})")
    print(f"ratio audit/plain: {audit_best / plain_best:.2f}  (aim <= 2.0)")


if __name__ == "__main__":
    main()
