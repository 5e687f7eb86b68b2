"""Page captures of imported WARC files read as the crawl reads them (one code path,
crawl.page.build_document): the ``Link: <...>; rel="license"`` response header (RFC 8288).
The WARC files are written here with warcio (tests/warcs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawl.linkheader import parse_links
from provenance.ledger import Ledger
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
    assert docs["licensed.html"]["license_evidence"] == f'link_rel_license: Link: <{CC_BY}>; rel="license"'
    assert docs["figure.html"]["license"] is None  # the header speaks of another resource
    assert docs["plain.html"]["license"] is None
    findings = ledger.query("SELECT source, raw_value FROM license_findings").to_pylist()
    assert findings == [{"source": "link_rel_license", "raw_value": f'Link: <{CC_BY}>; rel="license"'}]
