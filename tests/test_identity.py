"""One identity for a URL (canonical_url, doc_id) and one for a domain (domain_of, registered_domain),
stored by the ledger at write time and backfilled by migration 0010 for existing workspaces."""

from __future__ import annotations

import duckdb
import pytest

from provenance.ids import canonical_url, doc_id_for_url, domain_of, registered_domain
from provenance.ledger import Ledger, _ensure_empty_shard, _migrations
from provenance.revoke import normalize_domain
from tests.test_ledger import T0, pending, store

# (one URL, the same document written another way)
SAME_DOCUMENT = [
    ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
    ("https://example.com/%7Euser/", "https://example.com/~user/"),
    ("https://example.com/caf\u00e9", "https://example.com/caf%C3%A9"),
    ("https://example.com/caf%c3%a9", "https://example.com/caf%C3%A9"),
    ("HTTPS://Example.COM/a", "https://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("https://user:secret@example.com/a", "https://example.com/a"),
    ("https://example.com./a", "https://example.com/a"),
    ("https://example.com/a#section", "https://example.com/a"),
    ("https://b\u00fccher.example/", "https://xn--bcher-kva.example/"),
    ("https://example.com", "https://example.com/"),
]
DIFFERENT_DOCUMENTS = [
    ("https://example.com/A", "https://example.com/a"),  # paths are case-sensitive
    ("https://example.com/a%2Fb", "https://example.com/a/b"),  # an encoded slash is not a separator
    ("http://example.com/a", "https://example.com/a"),
    ("https://example.com:8443/a", "https://example.com/a"),
    ("https://www.example.com/a", "https://example.com/a"),  # one domain, but two URLs
]


@pytest.mark.parametrize("one, other", SAME_DOCUMENT)
def test_one_document_however_its_url_is_written(one: str, other: str) -> None:
    assert canonical_url(one) == canonical_url(other)
    assert doc_id_for_url(one) == doc_id_for_url(other)


@pytest.mark.parametrize("one, other", DIFFERENT_DOCUMENTS)
def test_different_urls_stay_different(one: str, other: str) -> None:
    assert doc_id_for_url(one) != doc_id_for_url(other)


@pytest.mark.parametrize("url, domain", [
    ("https://WWW.Example.COM/x", "example.com"),
    ("https://user:pw@news.example.com:8443/x", "news.example.com"),
    ("https://example.com./x", "example.com"),
    ("https://B\u00fccher.example/x", "xn--bcher-kva.example"),
    ("http://[2001:DB8::1]:8080/x", "2001:db8::1"),
    ("http://127.0.0.1:8000/x", "127.0.0.1"),
    ("https://www/x", "www"),
    ("not a url", None),
    ("", None),
])
def test_domain_of(url: str, domain: str | None) -> None:
    assert domain_of(url) == domain


@pytest.mark.parametrize("domain, registered", [
    ("news.bbc.co.uk", "bbc.co.uk"),
    ("example.com", "example.com"),
    ("a.b.example.co.jp", "example.co.jp"),
    ("alice.github.io", "alice.github.io"),  # the PSL's private section: each user's site is its own
    ("127.0.0.1", None),
    ("2001:db8::1", None),
    ("localhost", None),
    (None, None),
])
def test_registered_domain_from_the_bundled_public_suffix_list(domain, registered) -> None:
    assert registered_domain(domain) == registered


@pytest.mark.parametrize("given, stored", [
    ("Example.COM", "example.com"),
    ("www.example.com", "example.com"),
    ("*.example.com.", "example.com"),
    ("https://www.News.Example/x", "news.example"),
    ("B\u00fccher.example", "xn--bcher-kva.example"),
])
def test_revoke_takes_the_domain_as_stored(given: str, stored: str) -> None:
    assert normalize_domain(given) == stored


def test_the_ledger_stores_domain_and_registered_domain(workspace):
    ledger = Ledger(workspace)
    store(ledger, [pending("https://news.bbc.co.uk/story", "story"), pending("https://www.example.org/a", "a")])
    rows = {r["url"]: r for r in ledger.query("SELECT url, domain, registered_domain FROM documents").to_pylist()}
    assert rows["https://news.bbc.co.uk/story"]["registered_domain"] == "bbc.co.uk"
    assert (rows["https://www.example.org/a"]["domain"], rows["https://www.example.org/a"]["registered_domain"]) == (
        "example.org", "example.org")


def test_revoking_a_domain_covers_its_subdomains(workspace):
    from provenance.revoke import revoke  # noqa: PLC0415
    ledger = Ledger(workspace)
    store(ledger, [pending("https://news.example.com/a", "a"), pending("https://example.com/b", "b"),
                   pending("https://notexample.com/c", "c")])
    revoke(ledger, domain="example.com", reason="publisher request")
    rows = {r["url"]: r["revoked"] for r in ledger.query("SELECT url, revoked FROM documents").to_pylist()}
    assert rows == {"https://news.example.com/a": True, "https://example.com/b": True, "https://notexample.com/c": False}


def test_fetch_rows_get_the_domain_from_python(workspace):
    from provenance.records import FetchRecord  # noqa: PLC0415
    ledger = Ledger(workspace)
    with ledger.writer() as w:
        run = w.start_run("test", {})
        w.write(run.run_id, fetches=[FetchRecord(url="https://user@B\u00fccher.example.:8080/x", outcome="skipped",
                                                  fetched_at=T0, reason="test")])
        w.finish_run(run, {})
    assert ledger.query("SELECT domain FROM fetch_log").to_pylist() == [{"domain": "xn--bcher-kva.example"}]


def test_an_existing_workspace_gets_registered_domain(workspace):
    """A ledger written before migration 0010: its documents get registered_domain, and a domain
    stored the old way (Unicode, not IDNA) is re-derived by the one definition."""
    workspace.create()
    _ensure_empty_shard(workspace)
    con = duckdb.connect(str(workspace.ledger_path))
    con.execute("SET file_search_path = ?", [str(workspace.root)])
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
                "applied_at TIMESTAMP NOT NULL)")
    for version, name, sql in _migrations():
        if name == "registered_domain":
            break
        con.execute(sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, T0])
    old = [("https://news.bbc.co.uk/a", "news.bbc.co.uk"), ("https://b\u00fccher.example/b", "b\u00fccher.example")]
    for seq, (url, domain) in enumerate(old, start=1):
        con.execute("INSERT INTO document_log (seq, doc_id, url, domain, source_type, fetched_at, run_id, n_chars, "
                    "text_sha256, shard, consent) VALUES (?, ?, ?, ?, 'web', ?, 'old-run', 1, 'x', "
                    "'shards/_empty.parquet', 'unspecified')", [seq, doc_id_for_url(url), url, domain, T0])
    con.close()
    ledger = Ledger(workspace)
    ledger.migrate()
    rows = {r["url"]: (r["domain"], r["registered_domain"])
            for r in ledger.query("SELECT url, domain, registered_domain FROM documents").to_pylist()}
    assert rows == {"https://news.bbc.co.uk/a": ("news.bbc.co.uk", "bbc.co.uk"),
                    "https://b\u00fccher.example/b": ("xn--bcher-kva.example", None)}
    history = ledger.query("SELECT registered_domain FROM document_log WHERE url = 'https://news.bbc.co.uk/a'")
    assert history.to_pylist() == [{"registered_domain": "bbc.co.uk"}]
