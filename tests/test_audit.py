"""The audit report: each section's numbers against hand-computed values on the fixture ledger, the
queries reproducible with `provenance sql`, and the three formats carrying the same content."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

import pytest
from test_audit_fixture import CLUSTERS, EXPECTED, SPECS, build_fixture, n_chars, spec_of

from provenance import licenses
from provenance.audit import build_report, render
from provenance.audit.build import run_queries
from provenance.audit.queries import audit_queries
from provenance.export import export_policy
from provenance.ledger import Ledger
from provenance.policies import builtin, builtins
from provenance.revoke import revoke
from provenance.workspace import Workspace

# After the fixture is exported with `open` and M1 is revoked (which reaches A3 through cluster K1):
REVOKED = {"M1", "A3"}
CLEARED_AFTER = {name: keys - REVOKED for name, keys in EXPECTED["policies"].items()}


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    root = tmp_path_factory.mktemp("audit")
    fx = build_fixture(root / "ws")
    export_policy(fx.ledger, builtin("open"), root / "exports" / "open")
    revoke(fx.ledger, url="https://mirror.example/m1", reason="owner request", requested_by="Mirror Ltd")
    report = build_report(fx.ledger)
    return fx, report


def rows(report, name):
    return report.result(name).records()


def total_chars(keys) -> int:
    return sum(n_chars(k) for k in keys)


def test_corpus_summary(audited):
    _, report = audited
    t = report.result("corpus_totals").first()
    assert t["documents"] == EXPECTED["documents"]
    assert t["characters"] == total_chars(s.key for s in SPECS)
    assert t["domains"] == EXPECTED["domains"]
    assert (t["web_pages"], t["transcripts"], t["imported"]) == (12, 1, 1)
    runs = {r["command"]: r["runs"] for r in rows(report, "runs_by_command")}
    assert runs == {"crawl": 2, "import": 1, "transcribe": 1, "dedup": 1, "export": 1, "revoke": 1}
    versions = {r["package"]: r for r in rows(report, "tool_versions")}
    assert versions["duckdb"]["runs"] == 7 and versions["corpus-provenance"]["version"]


def test_license_distribution_and_classes(audited):
    _, report = audited
    want = Counter(s.license or "(none found)" for s in SPECS)
    got = {r["license"]: r["documents"] for r in rows(report, "license_distribution")}
    assert got == dict(want)
    chars = {r["license"]: r["characters"] for r in rows(report, "license_distribution")}
    assert chars["CC-BY-4.0"] == total_chars(s.key for s in SPECS if s.license == "CC-BY-4.0")
    share = {r["license"]: r["share_documents"] for r in rows(report, "license_distribution")}
    assert share["CC-BY-4.0"] == round(4 / 14, 4)

    def count(pred):
        return sum(1 for s in SPECS if pred(licenses.info(s.license), s.license))

    classes = {r["class"]: r["documents"] for r in rows(report, "license_classes")}
    assert classes["open (Open Definition)"] == count(lambda i, _: bool(i and i.open)) == 7
    assert classes["commercial use allowed"] == count(lambda i, _: bool(i and i.commercial)) == 8
    assert classes["attribution required"] == count(lambda i, _: bool(i and i.attribution)) == 9
    assert classes["share-alike"] == 1 and classes["no-derivatives"] == 1 and classes["non-commercial"] == 2
    assert classes["public domain"] == 1 and classes["all rights reserved"] == 1
    assert classes["no license found"] == count(lambda _, lic: lic is None) == 3
    assert classes["unrecognised license id"] == 0


def test_consent_overall_and_by_domain(audited):
    _, report = audited
    overall = {r["consent"]: r for r in rows(report, "consent_overall")}
    assert {k: v["documents"] for k, v in overall.items()} == EXPECTED["consent"]
    assert overall["granted"]["revoked"] == 1 and overall["unspecified"]["revoked"] == 1  # A3, M1
    by_domain = {r["domain"]: r for r in rows(report, "consent_by_domain")}
    news = by_domain["news.example"]
    assert (news["documents"], news["opted_out"], news["share_opted_out"]) == (3, 3, 1.0)
    assert news["opt_out_mechanisms"] == "meta robots, robots.txt (CCBot), robots.txt (GPTBot)"
    blog = by_domain["blog.example"]
    assert (blog["granted"], blog["unspecified"], blog["opted_out"]) == (2, 1, 1)
    assert blog["opt_out_mechanisms"] == "Content-Signal"
    assert by_domain["granted.example"]["signals_seen"] == "TDMRep"
    assert by_domain["mirror.example"]["revoked"] == 1


def test_opt_out_mechanisms_and_robots_agents(audited):
    _, report = audited
    mech = {(r["mechanism"], r["agent"]): r["documents"] for r in rows(report, "opt_out_mechanisms")}
    assert mech == {("robots.txt", "GPTBot"): 3, ("robots.txt", "CCBot"): 3,
                    ("meta robots", "(all agents)"): 1, ("Content-Signal", "(all agents)"): 1}
    agents = {r["agent"]: r for r in rows(report, "robots_agents")}
    assert (agents["GPTBot"]["domains_disallowing"], agents["GPTBot"]["domains_allowing"]) == (1, 1)
    assert agents["CCBot"]["urls_disallowed"] == 3
    seen = {r["mechanism"]: r["domains"] for r in rows(report, "signals_seen")}
    assert seen["robots.txt"] == 2 and seen["TDMRep"] == 1 and seen["Content-Signal"] == 1


def test_conflicts(audited):
    fx, report = audited
    counts = [r["documents"] for r in rows(report, "conflict_counts")]
    assert counts == [len(EXPECTED["open_but_opted_out"]), len(EXPECTED["body_license_only"])]
    assert [r["url"] for r in rows(report, "conflict_open_opted_out")] == [spec_of("N2").url]
    body = rows(report, "conflict_body_license")
    assert [(r["url"], r["body_licenses"]) for r in body] == [(spec_of("P2").url, "CC-BY-4.0")]


def test_transcripts(audited):
    _, report = audited
    assert rows(report, "transcripts_by_license") == [
        {"license": "CC-BY-4.0", "consent": "granted", "transcripts": 1, "characters": n_chars("T1")}]
    quality = report.result("transcript_quality")
    if quality.skipped:  # the transcribe stage is not installed in this checkout
        assert "transcriptions" in quality.skipped
        return
    (q,) = quality.records()
    assert (q["transcripts"], q["low_logprob"], q["repetitive"], q["no_speech"]) == (1, 0, 0, 1)
    assert q["hours"] == round(42 / 3600, 3) and q["model"] == "tiny.en"
    assert rows(report, "transcript_flags") == [{"flag": "suspect_segments", "transcripts": 1}]


def test_dedup(audited):
    _, report = audited
    d = report.result("dedup_summary").first()
    assert d["clusters"] == EXPECTED["clusters"]
    assert d["documents_in_clusters"] == sum(len(m) for m in CLUSTERS.values())
    assert d["non_canonical_documents"] == 2
    assert d["non_canonical_characters"] == n_chars("M1") + n_chars("N3")
    assert d["clusters_with_mixed_licenses"] == EXPECTED["clusters_with_mixed_licenses"]
    changes = {r["dup_cluster"]: r for r in rows(report, "dedup_license_changes")}
    assert changes["K1"]["canonical_license"] == "CC-BY-SA-4.0" and changes["K1"]["other_licenses"] == "(none found)"
    assert changes["K2"]["canonical_license"] == "CC-BY-4.0" and changes["K2"]["other_licenses"] == "CC-BY-NC-4.0"
    assert changes["K2"]["canonical_url"] == spec_of("P1").url


def test_revocations(audited):
    _, report = audited
    t = report.result("revocation_totals").first()
    assert t == {"revocations": 1, "revoked_documents": 2, "revoked_characters": total_chars(REVOKED),
                 "reached_as_near_duplicates": 1, "revoked_documents_in_exports": 1, "exports_affected": 1}
    (r,) = rows(report, "revocation_list")
    assert (r["kind"], r["value"], r["reason"], r["requested_by"]) == (
        "url", "https://mirror.example/m1", "owner request", "Mirror Ltd")
    assert (r["documents_matched"], r["near_duplicates"], r["exports_affected"]) == (1, 1, 1)
    (e,) = rows(report, "revocation_exports")
    assert e["export_policy"] == "open" and e["revoked_documents"] == 1 and e["via_near_duplicates"] == 1


def test_policy_clearance(audited):
    _, report = audited
    got = {r["policy"]: r for r in rows(report, "policy_clearance")}
    assert list(got) == ["open", "research", "strict"]
    for name, keys in CLEARED_AFTER.items():
        assert got[name]["documents"] == len(keys), name
        assert got[name]["characters"] == total_chars(keys), name
        assert got[name]["share_documents"] == round(len(keys) / EXPECTED["documents"], 4)
    (export,) = rows(report, "exports_list")
    assert (export["policy"], export["documents"], export["revoked_since"]) == (
        "open", len(EXPECTED["policies"]["open"]), 1)


def test_top_domains(audited):
    _, report = audited
    per = Counter()
    for s in SPECS:
        if s.url:
            per[s.url.split("/")[2]] += n_chars(s.key)
    n_top = max(1, math.ceil(len(per) * 0.10))
    want = [d for d, _ in sorted(per.items(), key=lambda kv: (-kv[1], kv[0]))][:n_top]
    got = rows(report, "top_domains")
    assert [r["domain"] for r in got] == want
    assert got[0]["characters"] == per[want[0]]
    assert got[0]["share_characters"] == round(per[want[0]] / sum(per.values()), 4)


def test_consent_drift(audited):
    fx, report = audited
    assert rows(report, "consent_drift")[0] | {"first_change": None, "last_change": None} == {
        "before": "granted", "after": "opted_out", "changes": 1, "documents": 1, "domains": 1,
        "first_change": None, "last_change": None}
    (d,) = rows(report, "consent_drift_by_domain")
    assert d["domain"] == "blog.example" and "ai-train=no" in d["example_evidence"]
    changes = fx.ledger.query("SELECT doc_id, before, after FROM consent_changes").to_pylist()
    assert [(fx.keys([c["doc_id"]]).pop(), c["before"], c["after"]) for c in changes] == [
        ("P3", "granted", "opted_out")]


def test_every_number_is_reproducible_with_provenance_sql(audited, cli):
    fx, report = audited
    for name, result in report.queries.items():
        if result.skipped:
            continue
        out = cli("-w", str(fx.workspace.root), "sql", result.sql, "--format", "json")
        assert out.code == 0, (name, out.err)
        want = json.loads(render(report, "json"))["queries"][name]["rows"]
        assert out.json() == want, name


def test_the_three_formats_carry_the_same_content(audited):
    _, report = audited
    html, md, data = render(report, "html"), render(report, "md"), json.loads(render(report, "json"))
    assert set(data["queries"]) == set(report.queries)
    for name, result in report.queries.items():
        assert f'id="q-{name}"' in html and f"### {name}" in md
        assert data["queries"][name]["sql"] == result.sql
        assert result.sql.split("\n")[0].replace("'", "&#x27;").replace("<", "&lt;").replace(">", "&gt;") in html
    assert [s["id"] for s in data["sections"]] == [s.id for s in report.sections]
    for section in report.sections:
        assert f'<section id="{section.id}">' in html and f"## {section.title}" in md
    chars = f"{report.result('corpus_totals').first()['characters']:,}"
    assert chars in html and chars in md
    for url in ("https://news.example/n2", "https://blog.example/p2", "rev-"):
        assert url in html and url in md


def test_html_is_self_contained(audited):
    _, report = audited
    html = render(report, "html")
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    assert "<script" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    assert not re.search(r"""\ssrc\s*=""", html)
    assert html.count("<svg") >= 6


def test_an_empty_ledger_audits_without_errors(tmp_path):
    ledger = Ledger(Workspace(tmp_path / "ws"))
    with ledger.writer():
        pass
    report = build_report(ledger)
    assert report.result("corpus_totals").first()["documents"] == 0
    assert all(r["documents"] == 0 and r["share_documents"] is None for r in rows(report, "policy_clearance"))
    for fmt in ("html", "md", "json"):
        assert "no revocations" in render(report, fmt) or fmt == "json"


def test_sections_needing_a_missing_view_say_so(audited):
    fx, _ = audited
    queries = audit_queries(list(builtins()), has_transcriptions=False)
    with fx.ledger.reader() as con:
        relations = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()} - {"transcriptions"}
        results = run_queries(con, queries, relations)
    assert results["transcript_quality"].skipped and not results["transcript_quality"].rows
    assert not results["transcripts_by_license"].skipped


def test_audit_cli_formats_and_paths(audited, cli, tmp_path):
    fx, _ = audited
    ws = str(fx.workspace.root)
    out = cli("-w", ws, "audit")
    assert out.code == 0, out.err
    assert Path(out.out.strip()) == fx.workspace.reports_dir / "audit.html"
    assert "cleared: open" in out.err
    md = tmp_path / "a.md"
    assert cli("-w", ws, "audit", "--out", str(md)).code == 0
    assert md.read_text().startswith("# Licensing and consent audit")
    js = cli("-w", ws, "audit", "--format", "json", "--out", "-")
    assert js.code == 0 and json.loads(js.out)["queries"]["corpus_totals"]["rows"][0]["documents"] == 14
    policy = tmp_path / "only-cc0.toml"
    policy.write_text('licenses = ["CC0-1.0"]\n')
    js = cli("-w", ws, "audit", "--format", "json", "--out", "-", "--policy", str(policy))
    clearance = {r["policy"]: r["documents"] for r in json.loads(js.out)["queries"]["policy_clearance"]["rows"]}
    assert clearance["only-cc0"] == 1


def test_audit_of_a_missing_workspace_says_what_to_do(cli, tmp_path):
    out = cli("-w", str(tmp_path / "nothing"), "audit")
    assert out.code == 1 and "no ledger" in out.err and "provenance import" in out.err


def test_the_audit_reads_without_the_writer_once_license_classes_are_current(tmp_path):
    """Another process holding the ledger read-only keeps every writer out; the audit's
    preparation still completes (it reads), once the classes are current."""
    import subprocess
    import sys

    from provenance.audit.build import prepare
    from provenance.ledger import Ledger, LedgerLockedError

    fx = build_fixture(tmp_path / "ws")
    prepare(fx.ledger)  # the first may write the classes of the documents' expressions
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; "
                               "c = duckdb.connect(sys.argv[1], read_only=True); print('open', flush=True); time.sleep(60)",
                               str(fx.ledger.path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        waiting = Ledger(fx.ledger.workspace, lock_wait_s=1)
        with pytest.raises(LedgerLockedError):  # a writer is kept out
            with waiting.writer():
                pass
        prepare(waiting)  # reads only
    finally:
        holder.kill()
        holder.wait()
