"""`provenance import FILE.warc.gz --format warc`: the crawler's signal capture and extraction for
archived responses. The archives are recorded here, with warcio, from the fixture site served on
127.0.0.1 (real HTTP headers, real bodies)."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from pathlib import Path


from crawl.localsite import LocalSite
from provenance.ledger import Ledger

SITE = Path(__file__).resolve().parent / "fixtures" / "site"
PAGES = {  # path -> (license, consent)
    "/licenses/jsonld.html": ("CC-BY-SA-4.0", "granted"),
    "/licenses/reserved.html": ("LicenseRef-all-rights-reserved", "unspecified"),
    "/traps/license-discussion.html": (None, "unspecified"),
    "/signals/meta-noai.html": (None, "opted_out"),
    "/signals/x-robots-noai.html": (None, "opted_out"),
    "/signals/content-usage-n.html": (None, "opted_out"),
    "/signals/tdm-header.html": (None, "opted_out"),
    "/signals/meta-noimageai.html": ("CC-BY-4.0", "granted"),
    "/ai-blocked/page.html": (None, "opted_out"),  # robots.txt record in the archive
    "/ai-txt/page.html": (None, "opted_out"),  # ai.txt record
    "/tdm/reserved.html": (None, "opted_out"),  # tdmrep.json record
    "/charset/cp1252-undeclared.html": (None, "unspecified"),
    "/media/episode.html": (None, "unspecified"),
}
POLICY_FILES = ["/robots.txt", "/ai.txt", "/.well-known/tdmrep.json"]
OTHERS = ["/traps/data.json", "/traps/missing.html", "/traps/loop-a.html"]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _fetch(url: str) -> tuple[int, list[tuple[str, str]], bytes]:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        response = opener.open(url)
    except urllib.error.HTTPError as exc:
        response = exc
    return response.status, list(response.headers.items()), response.read()


def record_warc(out: Path, paths: list[str], *, revisit: str | None = None) -> Path:
    """A gzipped WARC of the fixture site's responses (and request records, as crawlers write)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with LocalSite(SITE) as site, open(out, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for path in paths:
            url = site.url(path)
            status, headers, body = _fetch(url)
            request = writer.create_warc_record(url, "request", payload=io.BytesIO(b""),
                                                http_headers=StatusAndHeaders(f"GET {path} HTTP/1.1", [],
                                                                              is_http_request=True))
            writer.write_record(request)
            http = StatusAndHeaders(f"{status} X", headers, protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                          http_headers=http))
        if revisit:
            writer.write_record(writer.create_revisit_record(site.url(revisit), digest="sha1:AAAA",
                                                             refers_to_uri=site.url(revisit),
                                                             refers_to_date="2026-01-01T00:00:00Z"))
        base = site.base_url
    return out, base


def imported(cli, tmp_path: Path, warc: Path) -> Ledger:
    result = cli("-w", str(tmp_path / "ws"), "import", str(warc), "--format", "warc")
    assert result.code == 0, result.err
    return Ledger(tmp_path / "ws")


def by_path(ledger: Ledger, sql: str, base: str) -> dict[str, dict]:
    return {r["url"].removeprefix(base): r for r in ledger.query(sql).to_pylist()}


def test_warc_pages_get_the_same_signals_as_crawled_ones(cli, tmp_path):
    (warc, base) = record_warc(tmp_path / "a.warc.gz", [*PAGES, *OTHERS, *POLICY_FILES],
                               revisit="/licenses/jsonld.html")
    ledger = imported(cli, tmp_path, warc)
    docs = by_path(ledger, "SELECT * FROM documents", base)
    assert {p: (d["license"], d["consent"]) for p, d in docs.items()} == PAGES
    assert all(d["source_type"] == "web" for d in docs.values())
    assert "robots_txt[CCBot]=disallowed" in docs["/ai-blocked/page.html"]["consent_evidence"]
    assert "ai_txt[*]=disallowed" in docs["/ai-txt/page.html"]["consent_evidence"]
    fetches = ledger.query("SELECT url, status, outcome, reason FROM fetches").to_pylist()
    got = {(f["url"].removeprefix(base), f["outcome"]) for f in fetches}
    assert {("/traps/data.json", "not_text"), ("/traps/missing.html", "error"), ("/traps/loop-a.html", "skipped"),
            ("/robots.txt", "not_text"), ("/licenses/jsonld.html", "skipped")} <= got
    revisit = next(f for f in fetches if f["outcome"] == "skipped" and f["url"].endswith("jsonld.html"))
    assert "revisit" in revisit["reason"]
    files = ledger.query("SELECT kind, state FROM domain_files ORDER BY kind").to_pylist()
    assert [(f["kind"], f["state"]) for f in files] == [("ai.txt", "ok"), ("robots.txt", "ok"), ("tdmrep.json", "ok")]
    media = ledger.query("SELECT media_url FROM media").to_pylist()
    assert {m["media_url"].removeprefix(base) for m in media} == {
        "/media/episode1.mp3", "/media/clips/intro.webm", "/media/episode1.flac"}
    text = ledger.query("SELECT text FROM corpus WHERE url LIKE '%cp1252%'").to_pylist()[0]["text"]
    assert "Le caf\u00e9 du coin" in text


def test_without_policy_records_in_the_archive_those_signals_are_absent(cli, tmp_path):
    warc, base = record_warc(tmp_path / "b.warc.gz", ["/ai-blocked/page.html", "/tdm/reserved.html",
                                                      "/signals/meta-noai.html"])
    docs = by_path(imported(cli, tmp_path, warc), "SELECT url, consent FROM documents", base)
    assert docs["/ai-blocked/page.html"]["consent"] == "unspecified"
    assert docs["/tdm/reserved.html"]["consent"] == "unspecified"
    assert docs["/signals/meta-noai.html"]["consent"] == "opted_out"


def test_importing_an_archive_twice_stores_nothing_new(cli, tmp_path):
    warc, _ = record_warc(tmp_path / "c.warc.gz", ["/licenses/jsonld.html", "/signals/meta-noai.html", "/robots.txt"])
    imported(cli, tmp_path, warc)
    again = cli("-w", str(tmp_path / "ws"), "import", str(warc), "--format", "warc")
    assert again.code == 0 and "0 new or changed documents, 2 unchanged" in again.err
    assert Ledger(tmp_path / "ws").query("SELECT count(*) AS n FROM document_log").to_pylist() == [{"n": 2}]


def test_a_corrupt_archive_stores_nothing(cli, tmp_path):
    warc, _ = record_warc(tmp_path / "d.warc.gz", list(PAGES)[:4])
    data = warc.read_bytes()
    broken = tmp_path / "broken.warc.gz"
    broken.write_bytes(data[: len(data) * 2 // 3])
    result = cli("-w", str(tmp_path / "ws"), "import", str(broken), "--format", "warc")
    assert result.code == 1 and "Nothing from broken.warc.gz was stored" in result.err
    assert Ledger(tmp_path / "ws").query("SELECT count(*) AS n FROM documents").to_pylist() == [{"n": 0}]
