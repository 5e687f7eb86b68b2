"""Page captures of imported WARC files read as the crawl reads them (one code path,
crawl.page.build_document): the ``Link: <...>; rel="license"`` response header (RFC 8288).
The WARC files are written here with warcio (tests/warcs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawl.linkheader import parse_links
from provenance.ledger import Ledger
from provenance.licenses import vocabulary_version
from tests.warcs import page, write_warc

BASE = "http://museum.example/ships.html"
CC_BY = "https://creativecommons.org/licenses/by/4.0/"

# RFC 8288 section 3 (and its examples in 3.5): header value -> (target, rels) of each link.
LINK_CASES = [
    (f'<{CC_BY}>; rel="license"', [(CC_BY, {"license"})]),
    (f"<{CC_BY}>; rel=license", [(CC_BY, {"license"})]),  # a token value
    (f'<{CC_BY}>; REL="License"', [(CC_BY, {"license"})]),  # names and relation types: any case
    (f'</next>; rel="next", <{CC_BY}>; title="a, b; c"; rel="license nofollow"',
     [("http://museum.example/next", {"next"}), (CC_BY, {"license", "nofollow"})]),
    ('<http://example.com/TheBook/chapter2>; rel="previous"; title="previous chapter"',
     [("http://example.com/TheBook/chapter2", {"previous"})]),  # RFC 8288 3.5
    ('</>; rel="http://example.net/foo"', [("http://museum.example/", {"http://example.net/foo"})]),
    ('no link here', []),
]


@pytest.mark.parametrize(("value", "expected"), LINK_CASES)
def test_link_header_parsing(value, expected):
    assert [(link.target, set(link.rels)) for link in parse_links([value], BASE)] == expected


def _import(cli, ws: Path, *files: Path) -> Ledger:
    result = cli("-w", str(ws), "import", *map(str, files), "--format", "warc")
    assert result.code == 0, result.err
    return Ledger(ws)


def test_a_link_rel_license_header_is_the_page_license(cli, tmp_path):
    html = ("Content-Type", "text/html; charset=utf-8")
    warc = write_warc(tmp_path / "pages.warc.gz", [
        page("http://museum.example/licensed.html", "2026-03-10T00:00:00Z",
             headers=[html, ("Link", f'</style.css>; rel="preload", <{CC_BY}>; rel="license"')]),
        page("http://museum.example/figure.html", "2026-03-10T00:00:00Z",
             headers=[html, ("Link", f'<{CC_BY}>; rel="license"; anchor="#figure-1"')]),
        page("http://museum.example/plain.html", "2026-03-10T00:00:00Z"),
    ])
    ledger = _import(cli, tmp_path / "ws", warc)
    docs = {r["url"].rsplit("/", 1)[1]: r for r in ledger.query(
        "SELECT url, license, license_evidence, consent FROM documents").to_pylist()}
    assert docs["licensed.html"]["license"] == "CC-BY-4.0"
    assert docs["licensed.html"]["consent"] == "granted"
    assert docs["licensed.html"]["license_evidence"] == (
        f'link_rel_license: Link: <{CC_BY}>; rel="license" (vocabulary {vocabulary_version()})')
    assert docs["figure.html"]["license"] is None  # the header speaks of another resource
    assert docs["plain.html"]["license"] is None
    findings = ledger.query("SELECT source, raw_value FROM license_findings").to_pylist()
    assert findings == [{"source": "link_rel_license", "raw_value": f'Link: <{CC_BY}>; rel="license"'}]


# --- records as Common Crawl writes them ------------------------------------------------------------

def _fetches(ledger: Ledger) -> list[dict]:
    return ledger.query("SELECT url, outcome, reason, fetched_at, doc_id FROM fetches ORDER BY url, fetched_at").to_pylist()


def test_revisit_and_non_html_records_and_repeat_captures_each_get_a_fetch_row(cli, tmp_path):
    from tests.warcs import Capture

    host = "http://museum.example"
    pdf = Capture(f"{host}/guide.pdf", "2026-03-10T00:00:00Z", b"%PDF-1.7\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\n",
                  headers=[("Content-Type", "application/pdf")])
    warc = write_warc(tmp_path / "pages.warc.gz", [
        page(f"{host}/ships.html", "2026-03-10T00:00:00Z"),
        page(f"{host}/ships.html", "2026-03-11T00:00:00Z"),  # the same page again: its own row
        pdf,
        Capture(f"{host}/guide.pdf", "2026-03-12T00:00:00Z", pdf.body, headers=pdf.headers),
        Capture(f"{host}/boat.png", "2026-03-10T00:00:00Z", b"\x89PNG\r\n\x1a\n" + bytes(64),
                headers=[("Content-Type", "image/png")]),
        Capture(f"{host}/ships.html", "2026-03-13T00:00:00Z", record_type="revisit"),
    ])
    ledger = _import(cli, tmp_path / "ws", warc)
    rows = [(r["url"].rsplit("/", 1)[1], r["outcome"], r["reason"] and r["reason"].split(" (offset")[0])
            for r in _fetches(ledger)]
    assert rows == [
        ("boat.png", "not_text", "not HTML (image/png)"),
        ("guide.pdf", "not_text", "not HTML (application/pdf)"),
        ("guide.pdf", "not_text", "not HTML (application/pdf)"),
        ("ships.html", "skipped", "a later capture of the same URL in this file"),  # sqlsafe: the last one wins
        ("ships.html", "document", None),
        ("ships.html", "skipped", "WARC revisit record (a duplicate of an earlier capture)"),
    ]
    before = len(rows)
    _import(cli, tmp_path / "ws", warc)  # the same captures again: nothing new
    assert len(_fetches(ledger)) == before


def _corrupt_payload(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    at = data.index(old)
    assert len(old) == len(new)
    path.write_bytes(data[:at] + new + data[at + len(old):])


def test_a_record_whose_digest_does_not_verify_is_kept_and_flagged_or_skipped_when_strict(cli, tmp_path):
    from tests.warcs import PARAGRAPH

    warc = write_warc(tmp_path / "pages.warc", [
        page("http://museum.example/damaged.html", "2026-03-10T00:00:00Z"),
        page("http://museum.example/sound.html", "2026-03-10T00:00:00Z", "Sound",
             headers=[("Content-Type", "text/html"), ("X-Note", "x")]),
    ], gzip=False)
    word = PARAGRAPH.split()[1].encode()  # "harbour", in the first page's body first
    _corrupt_payload(warc, word, word.upper())
    ledger = _import(cli, tmp_path / "ws", warc)
    rows = {r["url"].rsplit("/", 1)[1]: r for r in _fetches(ledger)}
    assert rows["damaged.html"]["outcome"] == "document"
    assert "WARC digest does not verify" in rows["damaged.html"]["reason"]
    assert rows["sound.html"]["reason"] is None
    assert ledger.query("SELECT count(*) n FROM documents").to_pylist() == [{"n": 2}]

    strict = tmp_path / "strict"
    result = cli("-w", str(strict), "import", str(warc), "--format", "warc", "--strict-digests")
    assert result.code == 0, result.err
    rows = {r["url"].rsplit("/", 1)[1]: r for r in _fetches(Ledger(strict))}
    assert rows["damaged.html"]["outcome"] == "error"
    assert "skipped (--strict-digests)" in rows["damaged.html"]["reason"]
    docs = Ledger(strict).query("SELECT url FROM documents").column("url").to_pylist()
    assert docs == ["http://museum.example/sound.html"]


def test_a_warc_truncated_record_is_kept_and_flagged(cli, tmp_path):
    capture = page("http://museum.example/cut.html", "2026-03-10T00:00:00Z")
    capture.body = capture.body[: len(capture.body) * 2 // 3]  # what the crawler kept
    capture.warc_headers = {"WARC-Truncated": "length"}
    ledger = _import(cli, tmp_path / "ws", write_warc(tmp_path / "cut.warc.gz", [capture]))
    [row] = _fetches(ledger)
    assert row["outcome"] == "document"
    assert row["reason"].startswith("WARC-Truncated: length")


def test_a_bad_file_does_not_stop_the_files_after_it(cli, tmp_path):
    whole = write_warc(tmp_path / "whole.warc.gz", [page("http://museum.example/boats.html", "2026-03-10T00:00:00Z")])
    bad = tmp_path / "broken.warc.gz"
    bad.write_bytes(whole.read_bytes()[:-200])  # a download cut short: the last gzip member ends early
    good = write_warc(tmp_path / "good.warc.gz", [page("http://museum.example/ships.html", "2026-03-10T00:00:00Z")])
    result = cli("-w", str(tmp_path / "ws"), "import", str(bad), str(good), "--format", "warc")
    assert result.code != 0
    assert "1 of 2 files were not imported" in result.err and "broken.warc.gz" in result.err
    assert "Traceback" not in result.err
    ledger = Ledger(tmp_path / "ws")
    assert ledger.query("SELECT url FROM documents").column("url").to_pylist() == ["http://museum.example/ships.html"]
    assert ledger.query("SELECT json_extract(counts, '$.failed_files')::INT n FROM runs").to_pylist() == [{"n": 1}]
