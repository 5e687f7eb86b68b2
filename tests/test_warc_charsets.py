"""WARC pages in legacy charsets are decoded right, and old WARC files are read as far as they can be.

Charsets follow the WHATWG Encoding Standard (https://encoding.spec.whatwg.org/, the labels
table): the label ``iso-8859-1`` (and ``latin1``, ``us-ascii``) means windows-1252, so bytes
0x80-0x9F are typographic characters, not C1 controls. Where a page declares nothing and is not
valid UTF-8, the web's fallback for Western pages is windows-1252 (the Standard's and browsers'
choice for these locales). The pages and WARC bytes are written here (our own text); WARC/0.18
records follow the 0.18 draft's layout (the version line, then the same named fields as 1.0).
"""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import pytest

from provenance.ledger import Ledger
from tests.warcs import Capture, write_warc

TEXT = ("Caf\u00e9 owners in Z\u00fcrich \u2013 \u201cna\u00efve\u201d or not \u2013 serve cr\u00e8me "
        "br\u00fbl\u00e9e at the \u2018old\u2019 harbour. ")
# what each page says, encoded by its own charset; each case: (path, Content-Type, <meta>, encoding)
CASES = [
    ("/declared-header-1252.html", "text/html; charset=windows-1252", "", "cp1252"),
    ("/declared-header-latin1.html", "text/html; charset=ISO-8859-1", "", "cp1252"),  # WHATWG: = windows-1252
    ("/declared-meta-latin1.html", "text/html", '<meta charset="iso-8859-1">', "cp1252"),
    ("/declared-http-equiv-1252.html", "text/html",
     '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">', "cp1252"),
    ("/undeclared-1252.html", "text/html", "", "cp1252"),
    ("/declared-utf8.html", "text/html; charset=utf-8", "", "utf-8"),
]
HOST = "http://cafe.example"


def _page(meta: str, encoding: str) -> bytes:
    body = "".join(f"<p>{TEXT}Paragraph {i} of the menu, written out at length for the extractor.</p>"
                   for i in range(6))
    html = (f"<!doctype html><html><head>{meta}<title>Caf\u00e9 \u2013 menu</title></head>"
            f"<body><article><h1>Caf\u00e9 \u2013 menu</h1>{body}</article></body></html>")
    return html.encode(encoding)


def _texts(ws: Path) -> dict[str, str]:
    rows = Ledger(ws).query("SELECT url, text FROM corpus").to_pylist()
    return {r["url"].removeprefix(HOST): r["text"] for r in rows}


def test_declared_and_detected_legacy_charsets_are_decoded_right(cli, tmp_path):
    warc = write_warc(tmp_path / "charsets.warc.gz", [
        Capture(HOST + path, "2026-03-10T12:00:00Z", _page(meta, encoding), headers=[("Content-Type", ctype)])
        for path, ctype, meta, encoding in CASES
    ])
    result = cli("-w", str(tmp_path / "ws"), "import", str(warc))
    assert result.code == 0, result.err
    texts = _texts(tmp_path / "ws")
    assert set(texts) == {path for path, *_ in CASES}
    for path, text in texts.items():
        assert TEXT.strip() in text, f"{path}: {text[:120]!r}"
        assert "\ufffd" not in text and "\u0080" not in text and "\u0093" not in text, path


def _record(version: str, url: str, date: str, http: bytes, *, record_type: str = "response") -> bytes:
    head = (f"{version}\r\nWARC-Type: {record_type}\r\nWARC-Target-URI: {url}\r\nWARC-Date: {date}\r\n"
            f"WARC-Record-ID: <urn:uuid:{abs(hash((url, date))):032x}>\r\n"
            f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http)}\r\n\r\n")
    return head.encode() + http + b"\r\n\r\n"


def _http(body: bytes, ctype: str = "text/html; charset=utf-8") -> bytes:
    return (f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


DATES = [  # WARC-Date as old and odd writers put it -> the fetch time read
    ("2026-03-10T12:00:00Z", datetime(2026, 3, 10, 12, 0, 0)),
    ("20260311123000", datetime(2026, 3, 11, 12, 30, 0)),  # 14 digits: ARC files, WARC 0.1x writers
    ("2026-03-12T12:00:00.250Z", datetime(2026, 3, 12, 12, 0, 0, 250000)),  # fractions (WARC 1.1)
    ("2026-03-13T14:00:00+02:00", datetime(2026, 3, 13, 12, 0, 0)),  # an offset: to UTC
    ("Sat, 14 Mar 2026 12:00:00 GMT", datetime(2026, 3, 14, 12, 0, 0)),  # an HTTP date
    ("202603", datetime(2026, 3, 1, 0, 0, 0)),  # a prefix: as far as it goes
]


@pytest.mark.parametrize("version", ["WARC/0.18", "WARC/0.17", "WARC/1.0"])
@pytest.mark.parametrize("gzipped", [False, True])
def test_old_warc_versions_and_odd_dates_are_read_as_far_as_they_can_be(cli, tmp_path, version, gzipped):
    records = [_record(version, f"{HOST}/day-{n}.html", date, _http(_page("", "utf-8")))
               for n, (date, _) in enumerate(DATES)]
    path = tmp_path / ("old.warc.gz" if gzipped else "old.warc")
    path.write_bytes(b"".join(gzip.compress(r) for r in records) if gzipped else b"".join(records))
    result = cli("-w", str(tmp_path / "ws"), "import", str(path))
    assert result.code == 0, result.err
    rows = Ledger(tmp_path / "ws").query("SELECT url, fetched_at FROM documents").to_pylist()
    got = {r["url"]: r["fetched_at"] for r in rows}
    assert got == {f"{HOST}/day-{n}.html": when for n, (_, when) in enumerate(DATES)}
