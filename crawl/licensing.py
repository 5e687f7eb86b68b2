"""License statements of a page, read from its raw HTML (DESIGN.md, "License detection").

Sources, strongest first (the ranking itself is :data:`provenance.licenses.SOURCE_STRENGTH`):

``rel_license``        ``<a rel="license" href=...>`` anywhere in the page
``link_rel_license``   ``<link rel="license" href=...>``
``jsonld``             ``license`` of a top-level JSON-LD object (or of an ``@graph`` item);
                       licenses of nested objects (an image, a cited work) are not the page's
``dcterms``            ``<meta name="dcterms.license|dc.rights|dcterms.rights|license">`` and
                       ``<meta property="og:license">``
``footer_link``        a link to a license (creativecommons.org, opensource.org, gnu.org, ...)
                       or a license named in the text of the page footer
``copyright_notice``   an explicit reservation ("All rights reserved") in the footer, or in a
                       ``<meta name="copyright">``

A license link elsewhere (in the article body, a sidebar) is recorded as ``body_link`` with
``in_body=True``: evidence only, never the page license. A footer is a ``<footer>`` element, an
element with ``role="contentinfo"``, or one whose id or class names a footer or copyright block.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from crawl.decode import valid_text
from provenance import licenses

MAX_RAW_CHARS = 2000
MAX_JSONLD_CHARS = 200_000  # a longer block is cut, so it no longer parses: skipped
MAX_JSONLD_DEPTH = 8  # @graph and license lists nested deeper are not followed
MAX_JSONLD_ITEMS = 1000
_LICENSE_HOSTS = ("creativecommons.org", "licensebuttons.net", "opensource.org", "gnu.org", "spdx.org",
                  "choosealicense.com", "apache.org", "unlicense.org", "mozilla.org", "eclipse.org")
_META_NAMES = {"dcterms.license", "dc.rights", "dcterms.rights", "dc.license", "license",
               "dcterms:license", "dc:rights"}
_META_PROPERTIES = {"og:license", "dc:rights", "dcterms:license", "dcterms.license", "license"}
_FOOTER_WORDS = re.compile(r"(?:^|[\s_-])(?:footer|site-?info|colophon|copyright|legal)(?:$|[\s_-])", re.I)
_SKIP_TEXT_TAGS = {"script", "style", "noscript", "template"}
_MAX_FOOTER_SENTENCES = 60


@dataclass(frozen=True, slots=True)
class LicenseHit:
    """A raw license statement found in a page, with its SPDX id (None when not recognized)."""

    source: str
    raw_value: str
    license: str | None
    in_body: bool = False


def _is_footer(el) -> bool:
    if el.tag == "footer" or (el.get("role") or "").lower() == "contentinfo":
        return True
    marks = f"{el.get('id') or ''} {el.get('class') or ''}"
    return bool(marks.strip()) and _FOOTER_WORDS.search(marks) is not None


def _in_footer(el) -> bool:
    node = el
    while node is not None and isinstance(node.tag, str):
        if _is_footer(node):
            return True
        node = node.getparent()
    return False


def _rel_tokens(el) -> set[str]:
    return {t.lower() for t in (el.get("rel") or "").split()}


def _is_license_url(url: str) -> bool:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    return any(host == h or host.endswith("." + h) for h in _LICENSE_HOSTS)


def _text_of(el) -> str:
    parts = []
    for node in el.iter():
        if not isinstance(node.tag, str) or node.tag in _SKIP_TEXT_TAGS:
            continue
        if node.text:
            parts.append(node.text)
        if node.tail and node is not el:
            parts.append(node.tail)
    return " ".join(" ".join(parts).split())


def _hit(source: str, raw: str, in_body: bool = False) -> LicenseHit:
    raw = valid_text(" ".join(raw.split())[:MAX_RAW_CHARS])
    return LicenseHit(source, raw, licenses.normalize(raw), in_body)


def _jsonld(text: str) -> object | None:
    """A JSON-LD block, or None when it is not JSON (malformed, or nested too deeply to read)."""
    text = re.sub(r"^\s*(?:<!--|<!\[CDATA\[)|(?:-->|\]\]>)\s*$", "", text[:MAX_JSONLD_CHARS].strip())
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _jsonld_licenses(data: object, depth: int = 0) -> Iterator[str]:
    """``license`` values of top-level JSON-LD objects and of ``@graph`` items."""
    items = data if isinstance(data, list) else [data]
    for obj in items[:MAX_JSONLD_ITEMS]:
        if not isinstance(obj, dict):
            continue
        for key in ("license", "schema:license", "http://schema.org/license", "https://schema.org/license"):
            if key in obj:
                yield from _license_values(obj[key])
        graph = obj.get("@graph")
        if isinstance(graph, list) and depth < MAX_JSONLD_DEPTH:
            yield from _jsonld_licenses(graph, depth + 1)


def _license_values(value: object, depth: int = 0) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key in ("@id", "url", "name", "@value"):
            if isinstance(value.get(key), str):
                yield value[key]
                return
    elif isinstance(value, list) and depth < MAX_JSONLD_DEPTH:
        for v in value[:20]:
            yield from _license_values(v, depth + 1)


def find_licenses(root, base_url: str) -> list[LicenseHit]:
    """License statements of a parsed page (an lxml.html root), in document order per source."""
    hits: list[LicenseHit] = []
    footers = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag
        if tag == "a" or tag == "area":
            href = (el.get("href") or "").strip()
            url = urljoin(base_url, href) if href else ""
            if "license" in _rel_tokens(el):
                hits.append(_hit("rel_license", url or _text_of(el)))
            elif url and _is_license_url(url) and licenses.normalize(url) is not None:
                if _in_footer(el):
                    hits.append(_hit("footer_link", url))
                else:
                    hits.append(_hit("body_link", url, in_body=True))
        elif tag == "link" and "license" in _rel_tokens(el) and el.get("href"):
            hits.append(_hit("link_rel_license", urljoin(base_url, el.get("href").strip())))
        elif tag == "meta":
            name = (el.get("name") or "").strip().lower()
            prop = (el.get("property") or "").strip().lower()
            content = (el.get("content") or "").strip()
            if not content:
                continue
            if name in _META_NAMES or prop in _META_PROPERTIES:
                hits.append(_hit("dcterms", content))
            elif name == "copyright":
                hit = _hit("copyright_notice", content)
                if hit.license == licenses.ALL_RIGHTS_RESERVED:
                    hits.append(hit)
        elif tag == "script" and (el.get("type") or "").strip().lower() == "application/ld+json":
            data = _jsonld(el.text or "")  # a block that is not JSON is no statement: skipped
            for value in _jsonld_licenses(data):
                hits.append(_hit("jsonld", value))
        if _is_footer(el) and not any(f in el.iterancestors() for f in footers):
            footers.append(el)
    hits.extend(_footer_text_hits(root, footers))
    return _dedupe(hits)


def _footer_text_hits(root, footers: list) -> list[LicenseHit]:
    """Licenses named, and rights reserved, in the footer text (else the end of the page text).

    Each sentence is read on its own, so a footer that names a license and also says "All rights
    reserved" yields both statements as evidence.
    """
    texts = [_text_of(f) for f in footers]
    if not footers:
        body = root.find("body")
        tail = _text_of(body if body is not None else root)[-400:]
        texts = [tail] if tail else []
    out = []
    for text in texts:
        for piece in re.split(r"(?<=[.!?|\u00b7\u2022])\s+", text)[:_MAX_FOOTER_SENTENCES]:
            spdx = licenses.normalize(piece)
            if spdx == licenses.ALL_RIGHTS_RESERVED:
                out.append(LicenseHit("copyright_notice", piece[:MAX_RAW_CHARS], spdx))
            elif spdx is not None and footers:
                out.append(LicenseHit("footer_link", piece[:MAX_RAW_CHARS], spdx))
    return out


def _dedupe(hits: list[LicenseHit]) -> list[LicenseHit]:
    seen = set()
    out = []
    for h in hits:
        key = (h.source, h.raw_value, h.in_body)
        if key not in seen:
            seen.add(key)
            out.append(h)
    return out
