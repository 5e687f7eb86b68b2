"""Writing small WARC files at test time with warcio: Common-Crawl-style page and robots.txt captures
with chosen capture times, headers and bodies (our own invented content)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

PARAGRAPH = (
    "The harbour town keeps a small museum of ship models, built over forty years by retired "
    "carpenters who met every Thursday in the old rope works. Each model is labelled with the "
    "name of the yard that built the original vessel and the year it was launched. "
)


def page_html(title: str, *, extra_head: str = "") -> bytes:
    body = "".join(f"<p>{PARAGRAPH} ({title}, part {i}.)</p>" for i in range(4))
    return (f"<!doctype html><html lang=en><head><title>{title}</title>{extra_head}</head>"
            f"<body><article><h1>{title}</h1>{body}</article></body></html>").encode()


@dataclass
class Capture:
    """One HTTP response record: URL, capture time (ISO 8601, Z), status, headers and body."""

    url: str
    when: str
    body: bytes = b""
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    record_type: str = "response"
    warc_headers: dict[str, str] = field(default_factory=dict)


def page(url: str, when: str, title: str = "A page", **kw) -> Capture:
    headers = kw.pop("headers", [("Content-Type", "text/html; charset=utf-8")])
    return Capture(url, when, page_html(title), headers=headers, **kw)


def robots(url: str, when: str, text: str = "", status: int = 200) -> Capture:
    return Capture(url, when, text.encode(), status=status, headers=[("Content-Type", "text/plain")])


def write_warc(path: Path, captures: list[Capture], *, gzip: bool = True) -> Path:
    """A WARC file (warcinfo, then a request and a response record per capture)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gzip)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "tests/warcs.py"}))
        for c in captures:
            base = {"WARC-Date": c.when, **c.warc_headers}
            request = writer.create_warc_record(
                c.url, "request", payload=io.BytesIO(b""), warc_headers_dict=dict(base),
                http_headers=StatusAndHeaders("GET / HTTP/1.1", [], is_http_request=True))
            writer.write_record(request)
            if c.record_type == "revisit":
                record = writer.create_revisit_record(c.url, digest="sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                                      refers_to_uri=c.url, refers_to_date="2026-01-01T00:00:00Z")
                record.rec_headers.replace_header("WARC-Date", c.when)
            else:
                http = StatusAndHeaders(f"{c.status} X", list(c.headers), protocol="HTTP/1.1")
                record = writer.create_warc_record(c.url, c.record_type, payload=io.BytesIO(c.body),
                                                   http_headers=http, warc_headers_dict=dict(base))
            writer.write_record(record)
    return path
