"""Write the bundled Common-Crawl-style sample: two page WARCs and a robots.txt WARC.

    python provenance/sample/commoncrawl/make_sample.py [OUT_DIR]

The content is invented for this project (CC0-1.0). The layout follows a Common Crawl segment:
page captures in ``CC-MAIN-*-NNNNN.warc.gz`` files, the robots.txt responses of the same crawl in
a separate ``robotstxt`` file. What the sample shows once imported (`provenance import *.warc.gz`):

* harbour.example: robots.txt captured 2026-03-01 allows everything, captured again 2026-03-20
  disallowing GPTBot: the page fetched 2026-03-10 is unspecified, the one fetched 2026-03-25 opted_out;
* ferry.example: robots.txt answered 503 (RFC 9309: complete disallow), so its page is opted_out;
* lighthouse.example: robots.txt answered 404 (no restriction); its page carries a
  ``Link: <...>; rel="license"`` header (CC-BY-4.0), so it is granted;
* a PDF and a revisit record, recorded in ``fetches`` with the reason they were skipped.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

HERE = Path(__file__).resolve().parent
TEXT = ("The harbour office logs every vessel that enters the bay: its name, its home port, its cargo and "
        "the pilot who brought it in. The log has been kept by hand since the office opened. ")


def _page(title: str) -> bytes:
    paragraphs = "".join(f"<p>{TEXT}({title}, entry {i}.)</p>" for i in range(4))
    return (f"<!doctype html><html lang=en><head><title>{title}</title></head><body><article>"
            f"<h1>{title}</h1>{paragraphs}</article></body></html>").encode()


def _write(path: Path, captures: list[tuple]) -> None:
    """captures: (url, WARC-Date, status, headers, body) or (url, WARC-Date, 'revisit')."""
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "make_sample.py",
                                                                      "isPartOf": "SAMPLE-2026-13"}))
        for url, when, *rest in captures:
            if rest == ["revisit"]:
                record = writer.create_revisit_record(url, digest="sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                                      refers_to_uri=url, refers_to_date="2026-03-10T00:00:00Z")
                record.rec_headers.replace_header("WARC-Date", when)
            else:
                status, headers, body = rest
                http = StatusAndHeaders(f"{status} X", headers, protocol="HTTP/1.1")
                record = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                                   warc_headers_dict={"WARC-Date": when})
            writer.write_record(record)


def main(out: Path = HERE) -> list[Path]:
    html = [("Content-Type", "text/html; charset=utf-8")]
    text = [("Content-Type", "text/plain")]
    cc_by = '<https://creativecommons.org/licenses/by/4.0/>; rel="license"'
    files: dict[str, list[tuple]] = {
        "CC-MAIN-sample-robotstxt-00000.warc.gz": [
            ("https://harbour.example/robots.txt", "2026-03-01T00:00:00Z", 200, text, b"User-agent: *\nDisallow:\n"),
            ("https://harbour.example/robots.txt", "2026-03-20T00:00:00Z", 200, text,
             b"User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nDisallow:\n"),
            ("https://ferry.example/robots.txt", "2026-03-05T00:00:00Z", 503, text, b"busy"),
            ("https://lighthouse.example/robots.txt", "2026-03-05T00:00:00Z", 404, html, b"<html>not found</html>"),
        ],
        "CC-MAIN-sample-00000.warc.gz": [
            ("https://harbour.example/log/march-10.html", "2026-03-10T09:00:00Z", 200, html, _page("Log, 10 March")),
            ("https://ferry.example/timetable.html", "2026-03-10T09:05:00Z", 200, html, _page("Ferry timetable")),
            ("https://ferry.example/timetable.pdf", "2026-03-10T09:06:00Z", 200,
             [("Content-Type", "application/pdf")], b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"),
        ],
        "CC-MAIN-sample-00001.warc.gz": [
            ("https://harbour.example/log/march-25.html", "2026-03-25T09:00:00Z", 200, html, _page("Log, 25 March")),
            ("https://lighthouse.example/keepers.html", "2026-03-25T09:10:00Z", 200,
             [*html, ("Link", cc_by)], _page("The keepers")),
            ("https://ferry.example/timetable.html", "2026-03-26T09:05:00Z", "revisit"),
        ],
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, captures in files.items():
        _write(out / name, captures)
    return [out / name for name in files]


if __name__ == "__main__":
    for path in main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(path)
