"""Everything read from one HTML page, in one parse: text and metadata (trafilatura), license
statements, ``<meta>`` consent tags, media references and the links to follow.

:func:`analyze` is pure and runs inside extraction worker processes (:mod:`crawl.pool`), so a
page that makes lxml or trafilatura slow can be stopped without stopping the crawl.
"""

from __future__ import annotations

import re
from copy import copy
from dataclasses import dataclass
from functools import cache

from crawl.decode import decode_html, valid_text
from crawl.licensing import LicenseHit, find_licenses
from crawl.links import base_of, extract_links
from crawl.media import MediaHit, find_media

MAX_METAS = 300
# Dates from the markup only (meta tags, <time>, URL): the extensive text search is slow and
# mistakes a footer's "Copyright 2024" for a publication date.
DATE_PARAMS = {"extensive_search": False, "original_date": False}
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)


@dataclass(frozen=True, slots=True)
class PageJob:
    """One page to analyze: its final URL, raw body and ``Content-Type`` header value."""

    url: str
    body: bytes
    content_type: str | None = None
    want_links: bool = True  # the crawler follows links; an import does not


@dataclass(frozen=True, slots=True)
class PageAnalysis:
    """What a page says. ``error`` is set (and ``text`` None) when no text could be extracted."""

    encoding: str | None = None
    text: str | None = None
    title: str | None = None
    author: str | None = None
    published: str | None = None
    language: str | None = None
    licenses: tuple[LicenseHit, ...] = ()
    metas: tuple[tuple[str, str], ...] = ()  # (lower-case name, content) of <meta name=...>
    media: tuple[MediaHit, ...] = ()
    links: tuple[str, ...] = ()  # canonical URLs to follow
    feeds: tuple[str, ...] = ()  # RSS/Atom feeds the page announces
    error: str | None = None
    error_outcome: str = "error"  # fetch outcome when error is set: 'error' or 'skipped'


def _parser():
    from lxml import html

    return html.HTMLParser(collect_ids=False, default_doctype=False, remove_comments=True,
                           remove_pis=True)


@cache
def _extractor_options():
    """trafilatura's options for every page, as ``bare_extraction(date_extraction_params=DATE_PARAMS)``
    builds them (reading its config costs more than a page's metadata): built once per process,
    copied per page with the page's URL. The metadata a document keeps comes from
    :func:`page_metadata`."""
    from trafilatura.settings import Extractor

    return Extractor(output_format="python", comments=True, tables=True, with_metadata=False,
                     date_params=DATE_PARAMS)


# What trafilatura's JSON-LD reader may raise on odd data (trafilatura catches any exception
# there: "bugs in json_metadata.py"); the page's JSON-LD then gives nothing, as it does there.
# RecursionError: JSON nested deeper than Python's stack (tests/test_crawl_hostile.py).
_JSON_LD_ERRORS = (AttributeError, IndexError, KeyError, OverflowError, RecursionError, TypeError, ValueError)


def page_metadata(root, url: str | None) -> tuple[str | None, str | None, str | None]:
    """(title, author, date) of a page exactly as ``trafilatura.metadata.extract_metadata`` finds
    them: its steps for these three, in its order, on the same tree. Its other fields (site
    name, categories, tags, license, image, description), which a document does not keep, are not
    computed: they were a quarter of its time."""
    from htmldate import find_date
    from trafilatura.metadata import examine_meta, extract_author, extract_meta_json, extract_title, extract_url

    meta = examine_meta(root)
    if meta.author and " " not in meta.author:
        meta.author = None
    try:
        meta = extract_meta_json(root, meta)
    except _JSON_LD_ERRORS:
        pass  # as trafilatura does (it logs a warning): the meta tags' values stand
    if not meta.title:
        meta.title = extract_title(root)
    if not meta.author:
        meta.author = extract_author(root)
    if not meta.url:
        meta.url = extract_url(root, url)
    date = find_date(root, extensive_search=DATE_PARAMS["extensive_search"],  # all of DATE_PARAMS, and the URL
                     original_date=DATE_PARAMS["original_date"], url=meta.url)
    return _trimmed(meta.title), _trimmed(meta.author), _trimmed(date)


def _trimmed(value: object) -> str | None:
    """``Document.clean_and_trim`` on one value: at most 10,000 characters, entities unescaped,
    spaces and control characters cleaned."""
    from html import unescape

    from trafilatura.utils import line_processing

    if not isinstance(value, str):
        return None
    if len(value) > 10000:
        value = value[:9999] + "\u2026"
    return line_processing(unescape(value))


def _options_for(url: str):
    options = copy(_extractor_options())
    options.url = url
    options.source = url and url.encode("utf-8", "replace").decode("utf-8")
    return options


def _language(root, extracted: str | None) -> str | None:
    lang = (root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang") or "").strip()
    if not lang:
        for meta in root.iter("meta"):
            if (meta.get("http-equiv") or "").lower() == "content-language":
                lang = (meta.get("content") or "").split(",")[0].strip()
                break
    lang = lang or (extracted or "")
    primary = lang.replace("_", "-").split("-")[0].strip().lower()
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


def _clean(value: object, limit: int = 1000) -> str | None:
    if not isinstance(value, str):
        return None
    text = valid_text(" ".join(value.split()))
    return text[:limit] or None


def _parse_stopped(parser) -> str | None:
    """Why the parser gave up before the end of the page (libxml2's resource limits: elements
    nested deeper than 255 levels), or None. The rest of the page, and any reservation of AI
    training in it, was never read, so such a page is not stored."""
    for entry in parser.error_log:
        if entry.type_name == "ERR_RESOURCE_LIMIT":
            what = entry.message.split(",")[0].strip()  # "Excessive depth in document: 256"
            return (f"HTML the parser could not read to the end: {what} (line {entry.line}, "
                    f"column {entry.column}); the rest of the page, and any consent signal in it, was "
                    f"not read, so it is not stored")
    return None


def _parse(job: PageJob):
    """(encoding, lxml root) of a page, or (encoding, PageAnalysis with the error)."""
    from lxml import etree, html

    encoding, markup = decode_html(job.body, job.content_type)
    markup = _XML_DECL.sub("", markup, count=1)
    if not markup.strip():
        return encoding, PageAnalysis(encoding=encoding, error="empty page", error_outcome="skipped")
    parser = _parser()
    try:
        root = html.document_fromstring(markup, parser=parser)
    except (etree.ParserError, ValueError) as exc:
        return encoding, PageAnalysis(encoding=encoding, error=f"unparseable HTML: {exc}")
    stopped = _parse_stopped(parser)
    if stopped is not None:
        return encoding, PageAnalysis(encoding=encoding, error=stopped)
    return encoding, root


def license_statements(job: PageJob) -> tuple[LicenseHit, ...]:
    """The license statements of a page alone, read exactly as :func:`analyze` reads them."""
    _, root = _parse(job)
    if isinstance(root, PageAnalysis):
        return ()
    return tuple(find_licenses(root, base_of(root, job.url)))


def analyze(job: PageJob) -> PageAnalysis:
    """Decode, parse once, then read licenses, metas and media, and extract the main text."""
    from trafilatura import bare_extraction

    encoding, root = _parse(job)
    if isinstance(root, PageAnalysis):
        return root
    base = base_of(root, job.url)
    found_licenses = tuple(find_licenses(root, base))
    metas: list[tuple[str, str]] = []
    for meta in root.iter("meta"):
        name = (meta.get("name") or "").strip().lower()
        if name and meta.get("content") is not None and len(metas) < MAX_METAS:
            metas.append((name, meta.get("content")))
    media = tuple(find_media(root, base))
    links, feeds = extract_links(root, base) if job.want_links else ((), ())
    title_el = root.find(".//title")
    page_title = _clean(title_el.text_content() if title_el is not None else None)
    language = _language(root, None)

    doc = bare_extraction(root, options=_options_for(job.url))  # works on a copy: root stays whole
    assert not isinstance(doc, dict), "as_dict=False (the default) gives a Document or None"
    text = doc.text if doc is not None else None
    # trafilatura found its metadata in the same tree, and none when it gave up on the page
    title, author, date = page_metadata(root, job.url) if doc is not None else (None, None, None)
    if not text or not text.strip():
        if media:  # a media page with little prose: keep its visible text so the media has a page
            body = root.find("body")
            text = " ".join((body.text_content() if body is not None else "").split()) or page_title
        if not text:
            return PageAnalysis(encoding=encoding, title=page_title, language=language,
                                licenses=found_licenses, metas=tuple(metas), media=media, links=links,
                                feeds=feeds, error="no main text extracted", error_outcome="skipped")
    return PageAnalysis(
        encoding=encoding,
        text=text,
        title=_clean(title) or page_title,
        author=_clean(author),
        published=_clean(date, 64),
        language=language,
        licenses=found_licenses,
        metas=tuple(metas),
        media=media,
        links=links,
        feeds=feeds,
    )
