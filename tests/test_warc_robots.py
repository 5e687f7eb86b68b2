"""robots.txt captures in imported WARC files (Common Crawl's ``robotstxt`` subset, or the same
archive) are consent evidence of their origin at their capture time: every page of the origin is
answered by the capture that applied at its fetch time (the latest at or before it, else the
earliest after), whichever file was imported first and however the files were split across runs.
The WARC files are written here with warcio (tests/warcs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.ledger import Ledger
from tests.warcs import page, robots, write_warc

HOST = "http://museum.example"
BLOCK_GPTBOT = "User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
ALLOW_ALL = "User-agent: *\nDisallow:\n"


def _import(cli, ws: Path, *files: Path):
    result = cli("-w", str(ws), "import", *map(str, files), "--format", "warc")
    assert result.code == 0, result.err
    return result


def _docs(ws: Path) -> dict[str, tuple[str, str | None]]:
    rows = Ledger(ws).query("SELECT url, consent, consent_evidence FROM documents ORDER BY url").to_pylist()
    return {r["url"]: (r["consent"], r["consent_evidence"]) for r in rows}


@pytest.fixture
def crawl_files(tmp_path: Path) -> tuple[Path, Path]:
    pages = write_warc(tmp_path / "CC-MAIN-pages-00000.warc.gz", [
        page(f"{HOST}/ships.html", "2026-03-10T12:00:00Z", "Ships"),
        page("http://other.example/boats.html", "2026-03-10T12:00:00Z", "Boats"),
    ])
    robots_warc = write_warc(tmp_path / "CC-MAIN-robotstxt-00000.warc.gz", [
        robots(f"{HOST}/robots.txt", "2026-03-09T08:00:00Z", BLOCK_GPTBOT),
    ])
    return pages, robots_warc


def test_a_robots_capture_in_another_file_answers_pages_in_either_order_and_run_split(cli, tmp_path, crawl_files):
    pages, robots_warc = crawl_files
    results = {}
    for name, runs in {
        "robots first": [[robots_warc], [pages]],
        "pages first": [[pages], [robots_warc]],
        "one run": [[pages, robots_warc]],
        "one run, robots first": [[robots_warc, pages]],
    }.items():
        ws = tmp_path / name.replace(" ", "_").replace(",", "")
        for files in runs:
            _import(cli, ws, *files)
        results[name] = _docs(ws)
    first = results["robots first"]
    consent, evidence = first[f"{HOST}/ships.html"]
    assert consent == "opted_out"
    assert "robots_txt[GPTBot]=disallowed" in evidence
    assert "captured 2026-03-09T08:00:00Z, the latest capture at or before the fetch" in evidence
    assert first["http://other.example/boats.html"] == ("unspecified", None)  # no capture of that host
    for name, docs in results.items():
        assert docs == first, name


def test_re_resolution_appends_history_and_importing_again_adds_nothing(cli, tmp_path, crawl_files):
    pages, robots_warc = crawl_files
    ws = tmp_path / "ws"
    _import(cli, ws, pages)
    assert _docs(ws)[f"{HOST}/ships.html"][0] == "unspecified"
    out = _import(cli, ws, robots_warc)
    assert "1 stored documents re-resolved" in out.err
    ledger = Ledger(ws)
    history = ledger.query(
        "SELECT consent, fetched_at FROM document_log WHERE url = ? ORDER BY seq", [f"{HOST}/ships.html"]).to_pylist()
    assert [h["consent"] for h in history] == ["unspecified", "opted_out"]  # the first row is kept
    assert history[0]["fetched_at"] == history[1]["fetched_at"]  # the same fetch, re-decided
    counts = ledger.query("SELECT (SELECT count(*) FROM document_log) d, (SELECT count(*) FROM signal_log) s, "
                          "(SELECT count(*) FROM domain_file_log) f").to_pylist()[0]
    _import(cli, ws, robots_warc)
    _import(cli, ws, pages)
    again = ledger.query("SELECT (SELECT count(*) FROM document_log) d, (SELECT count(*) FROM signal_log) s, "
                         "(SELECT count(*) FROM domain_file_log) f").to_pylist()[0]
    assert again == counts
    assert _docs(ws)[f"{HOST}/ships.html"][0] == "opted_out"


def test_a_robots_txt_that_changes_between_captures_answers_each_page_at_its_fetch_time(cli, tmp_path):
    robots_warc = write_warc(tmp_path / "robots.warc.gz", [
        robots(f"{HOST}/robots.txt", "2026-03-20T00:00:00Z", BLOCK_GPTBOT),  # archive order is not time order
        robots(f"{HOST}/robots.txt", "2026-03-01T00:00:00Z", ALLOW_ALL),
    ])
    pages = write_warc(tmp_path / "pages.warc.gz", [
        page(f"{HOST}/early.html", "2026-02-15T00:00:00Z", "Before any capture"),
        page(f"{HOST}/between.html", "2026-03-10T00:00:00Z", "Between the captures"),
        page(f"{HOST}/at.html", "2026-03-20T00:00:00Z", "At the second capture"),
        page(f"{HOST}/late.html", "2026-04-01T00:00:00Z", "After both"),
    ])
    for order in ("ab", "ba"):
        ws = tmp_path / order
        _import(cli, ws, *((robots_warc, pages) if order == "ab" else (pages, robots_warc)))
        docs = _docs(ws)
        assert {u.rsplit("/", 1)[1]: c for u, (c, _) in docs.items()} == {
            "early.html": "unspecified", "between.html": "unspecified",
            "at.html": "opted_out", "late.html": "opted_out"}, order
        assert "captured 2026-03-20T00:00:00Z" in docs[f"{HOST}/late.html"][1]
        signals = Ledger(ws).query(
            "SELECT url, evidence FROM consent_signals WHERE signal = 'robots_txt' AND doc_id IS NOT NULL "
            "AND evidence NOT LIKE '%captured 2026-03-20%' ORDER BY url").to_pylist()
        by_url = {s["url"].rsplit("/", 1)[1]: s["evidence"] for s in signals}
        assert "captured 2026-03-01T00:00:00Z, after the fetch: the earliest capture" in by_url["early.html"]
        assert "captured 2026-03-01T00:00:00Z, the latest capture at or before" in by_url["between.html"]


@pytest.mark.parametrize(("status", "body", "consent", "value"), [
    (200, BLOCK_GPTBOT, "opted_out", "disallowed"),  # 2xx: parsed
    (404, "<html>not found</html>", "unspecified", "allowed"),  # 4xx: no restriction
    (503, "<html>busy</html>", "opted_out", "unreadable"),  # 5xx: complete disallow
])
def test_rfc9309_status_of_a_robots_capture(cli, tmp_path, status, body, consent, value):
    robots_warc = write_warc(tmp_path / "robots.warc.gz",
                             [robots(f"{HOST}/robots.txt", "2026-03-01T00:00:00Z", body, status=status)])
    pages = write_warc(tmp_path / "pages.warc.gz", [page(f"{HOST}/ships.html", "2026-03-10T00:00:00Z")])
    ws = tmp_path / "ws"
    _import(cli, ws, pages)
    _import(cli, ws, robots_warc)
    assert _docs(ws)[f"{HOST}/ships.html"][0] == consent
    values = Ledger(ws).query("SELECT DISTINCT value FROM consent_signals WHERE signal = 'robots_txt' "
                              "AND doc_id IS NOT NULL").column("value").to_pylist()
    assert value in values
    files = Ledger(ws).query("SELECT status, fetched_at FROM domain_files").to_pylist()
    assert [f["status"] for f in files] == [status]


def test_the_bundled_common_crawl_sample(cli, tmp_path):
    sample = Path(__file__).resolve().parent.parent / "provenance" / "sample" / "commoncrawl"
    files = sorted(sample.glob("*.warc.gz"))
    assert len(files) == 3
    docs = _docs(_import(cli, tmp_path / "ws", *files) and tmp_path / "ws")
    assert {u: c for u, (c, _) in docs.items()} == {
        "https://ferry.example/timetable.html": "opted_out",  # robots.txt 503
        "https://harbour.example/log/march-10.html": "unspecified",  # before robots.txt changed
        "https://harbour.example/log/march-25.html": "opted_out",  # after: GPTBot disallowed
        "https://lighthouse.example/keepers.html": "granted",  # robots.txt 404, Link: rel=license
    }
