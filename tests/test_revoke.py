"""Revocation: recorded with who/what/when/why, followed through near-duplicate clusters, listed
with every affected export, excluded from later exports and shown by the audit."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from test_audit_fixture import EXPECTED, build_fixture, spec_of

from provenance.audit import build_report
from provenance.export import export_policy
from provenance.policies import builtin
from provenance.revoke import RevocationError, normalize_domain, revoke


@pytest.fixture
def fx(tmp_path):
    return build_fixture(tmp_path / "ws")


def revoked(fx) -> set[str]:
    return fx.keys(fx.ledger.query("SELECT doc_id FROM documents WHERE revoked").column("doc_id").to_pylist())


def test_revocation_through_a_cluster_reaches_an_exported_document(fx, tmp_path):
    first = export_policy(fx.ledger, builtin("open"), tmp_path / "v1")
    assert fx.ids["A3"] in pq.read_table(first.out_dir / "manifest.parquet").column("doc_id").to_pylist()

    result = revoke(fx.ledger, url=spec_of("M1").url, reason="owner request", requested_by="Mirror Ltd")
    assert result.new and (result.documents_matched, result.near_duplicates) == (1, 1)
    assert [(e.export_id, e.documents) for e in result.exports] == [(first.export_id, 1)]
    assert revoked(fx) == {"M1", "A3"}  # M1 matched; A3, the canonical copy, through cluster K1

    impact = fx.ledger.query("SELECT * FROM revocation_impact ORDER BY matched_by, doc_id").to_pylist()
    by_doc = {fx.keys([r["doc_id"]]).pop(): r for r in impact}
    assert set(by_doc) == {"M1", "A3"}
    assert by_doc["M1"]["matched_by"] == "direct" and by_doc["M1"]["export_id"] is None
    a3 = by_doc["A3"]
    assert (a3["matched_by"], a3["via_doc_id"], a3["dup_cluster"]) == ("near_duplicate", fx.ids["M1"], "K1")
    assert (a3["export_id"], a3["export_policy"], a3["exported_before_revocation"]) == (first.export_id, "open", True)
    assert (a3["reason"], a3["requested_by"], a3["kind"], a3["value"]) == (
        "owner request", "Mirror Ltd", "url", spec_of("M1").url)

    second = export_policy(fx.ledger, builtin("open"), tmp_path / "v2")
    ids = pq.read_table(second.out_dir / "manifest.parquet").column("doc_id").to_pylist()
    assert fx.keys(ids) == EXPECTED["policies"]["open"] - {"A3"}
    assert "Shared article" not in (second.out_dir / "ATTRIBUTION.md").read_text()
    # the later export is not affected: revocation_impact still names only the first one
    exports = fx.ledger.query("SELECT DISTINCT export_id FROM revocation_impact WHERE export_id IS NOT NULL")
    assert exports.column("export_id").to_pylist() == [first.export_id]


def test_domain_revocation_covers_subdomains_and_clusters(fx):
    result = revoke(fx.ledger, domain="https://www.News.Example/", reason="publisher request 2026-11-02")
    assert result.revocation.value == "news.example"
    assert (result.documents_matched, result.near_duplicates) == (3, 1)
    assert revoked(fx) == {"N1", "N2", "N3", "P1"}  # P1: canonical of K2, whose member N3 is news.example
    report = build_report(fx.ledger)
    (row,) = report.result("revocation_list").records()
    assert (row["value"], row["documents_matched"], row["near_duplicates"]) == ("news.example", 3, 1)
    assert report.result("revocation_totals").first()["revoked_documents"] == 4


def test_subdomain_matching_does_not_catch_lookalikes(fx):
    revoke(fx.ledger, domain="example", reason="test")  # every *.example
    assert len(revoked(fx)) == EXPECTED["documents"] - 1  # all but the import, which has no domain
    fx2_result = revoke(fx.ledger, domain="ews.example", reason="lookalike")
    assert fx2_result.documents_matched == 0  # not news.example


def test_the_same_request_twice_adds_nothing(fx):
    first = revoke(fx.ledger, domain="blog.example", reason="request", requested_by="Eve")
    again = revoke(fx.ledger, domain="blog.example", reason="request", requested_by="Eve")
    assert first.new and not again.new
    assert again.revocation == first.revocation
    assert fx.ledger.query("SELECT count(*) AS n FROM revocations").column("n")[0].as_py() == 1
    assert fx.ledger.query("SELECT count(*) AS n FROM runs WHERE command = 'revoke'").column("n")[0].as_py() == 1
    other = revoke(fx.ledger, domain="blog.example", reason="second request", requested_by="Eve")
    assert other.new and other.revocation.revocation_id != first.revocation.revocation_id


def test_who_what_when_why_are_recorded(fx):
    result = revoke(fx.ledger, url=spec_of("A1").url, reason="  author   asked ")
    row = fx.ledger.query("SELECT * FROM revocations").to_pylist()[0]
    assert row["reason"] == "author asked" and row["requested_by"]  # default: the user name
    assert row["revoked_at"] == result.revocation.revoked_at and row["kind"] == "url"
    run = fx.ledger.query(f"SELECT * FROM runs WHERE run_id = '{row['run_id']}'").to_pylist()[0]
    assert run["command"] == "revoke" and run["status"] == "finished"


def test_a_url_not_in_the_ledger_is_normalized_and_applies_later(fx):
    result = revoke(fx.ledger, url="HTTPS://Later.Example:443/page#frag", reason="ahead of time")
    assert result.revocation.value == "https://later.example/page" and result.documents_matched == 0


def test_bad_requests_say_what_to_do(fx):
    with pytest.raises(RevocationError, match="exactly one"):
        revoke(fx.ledger, domain="a.example", url="https://a.example/", reason="x")
    with pytest.raises(RevocationError, match="reason"):
        revoke(fx.ledger, domain="a.example", reason="  ")
    with pytest.raises(RevocationError, match="not an absolute URL"):
        revoke(fx.ledger, url="news.example/x", reason="x")
    with pytest.raises(RevocationError, match="not a domain"):
        normalize_domain("news example")
    assert normalize_domain("*.News.Example.") == "news.example"


def test_revoke_cli(fx, cli):
    ws = str(fx.workspace.root)
    out = cli("-w", ws, "revoke", "--domain", "news.example", "--reason", "publisher request", "--by", "News Inc")
    assert out.code == 0, out.err
    assert out.out.strip().startswith("rev-")
    assert "3 documents matched, 1 near-duplicates" in out.err and "requested by News Inc" in out.err
    again = cli("-w", ws, "revoke", "--domain", "news.example", "--reason", "publisher request", "--by", "News Inc")
    assert "already revoked" in again.err
    assert cli("-w", ws, "revoke", "--reason", "x").code != 0
    rows = cli("-w", ws, "sql", "SELECT count(*) AS n FROM revocation_impact", "--format", "json").json()
    assert rows == [{"n": 4}]
