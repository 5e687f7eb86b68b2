"""Audio and video a page or a podcast feed points to (the input of ``transcribe --from-ledger``).

Nothing is downloaded here: only URLs, with the kind of reference and a MIME type when known.

Pages: ``<audio src>``, ``<video src>``, their ``<source src type>`` children, ``og:audio`` /
``og:video`` meta, and ``<a href>`` links to audio/video files. Feeds (RSS 2.0, Atom, Media RSS):
enclosures, each with the item's page link and a license the feed states (Creative Commons RSS
module, ``dc:rights``/``copyright``), since podcast audio often carries its own.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from provenance import licenses

MEDIA_EXTENSIONS = frozenset({
    "mp3", "flac", "wav", "ogg", "oga", "opus", "m4a", "aac", "wma", "aif", "aiff",
    "mp4", "m4v", "webm", "mkv", "mov", "avi", "ogv", "mpg", "mpeg",
})
MAX_MEDIA_PER_PAGE = 200
MAX_FEED_ITEMS = 2000
_EXTRA_TYPES = {"opus": "audio/opus", "m4a": "audio/mp4", "flac": "audio/flac", "oga": "audio/ogg",
                "ogv": "video/ogg", "mkv": "video/x-matroska", "webm": "video/webm"}


@dataclass(frozen=True, slots=True)
class MediaHit:
    url: str
    kind: str  # 'audio' | 'video' | 'link' | 'enclosure'
    mime_type: str | None = None
    page_url: str | None = None  # feeds: the item's page
    license: str | None = None  # feeds: a license the feed states for the media
    license_evidence: str | None = None


def extension_of(url: str) -> str:
    return _path_extension(urlsplit(url).path)


def _path_extension(path: str) -> str:
    """The extension of a URL path's last segment, lower case ('' for none). Parameters of the
    segment (``talk.mp3;jsessionid=1``, RFC 3986 section 3.3) are not part of its name."""
    name = path.rsplit("/", 1)[-1].split(";", 1)[0]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def guess_mime(url: str) -> str | None:
    ext = extension_of(url)
    return _EXTRA_TYPES.get(ext) or mimetypes.guess_type("x." + ext)[0] if ext else None


def is_media_url(url: str) -> bool:
    return extension_of(url) in MEDIA_EXTENSIONS


def _absolute(base: str, ref: str | None) -> str | None:
    if not ref or not ref.strip():
        return None
    try:
        url = urljoin(base, ref.strip())
        scheme = urlsplit(url).scheme
    except ValueError:
        return None
    if scheme not in ("http", "https"):
        return None
    return url.split("#", 1)[0]


def _may_name_media(ref: str) -> bool:
    """False only for a link that cannot resolve to a media file's URL, told without resolving it
    (most of a page's links): its own path ends in a segment without a media extension, and
    resolving keeps that segment. A link without a path (``?page=2``, ``#top``) takes the page's
    own, and a last segment ``.`` or ``..`` is resolved away: those are resolved."""
    try:
        path = urlsplit(ref.strip()).path
    except ValueError:
        return True  # _absolute says what becomes of it
    if not path or path.rsplit("/", 1)[-1] in (".", ".."):
        return True
    return _path_extension(path) in MEDIA_EXTENSIONS


def find_media(root, base_url: str) -> list[MediaHit]:
    """Media referenced by a parsed page (an lxml.html root)."""
    hits: dict[str, MediaHit] = {}

    def add(url: str | None, kind: str, mime: str | None) -> None:
        if url and url not in hits and len(hits) < MAX_MEDIA_PER_PAGE:
            hits[url] = MediaHit(url, kind, (mime or "").split(";")[0].strip() or guess_mime(url))

    for el in root.iter("audio", "video", "source", "a", "meta"):
        tag = el.tag
        if tag in ("audio", "video"):
            add(_absolute(base_url, el.get("src")), tag, el.get("type"))
        elif tag == "source":
            parent = el.getparent()
            kind = parent.tag if parent is not None and parent.tag in ("audio", "video") else None
            if kind is None:
                continue  # <source> of <picture> is an image
            add(_absolute(base_url, el.get("src")), kind, el.get("type"))
        elif tag == "a":
            href = el.get("href")
            url = _absolute(base_url, href) if href and _may_name_media(href) else None
            if url and is_media_url(url):
                add(url, "link", el.get("type"))
        else:
            prop = (el.get("property") or el.get("name") or "").lower()
            if prop in ("og:audio", "og:audio:url", "og:audio:secure_url"):
                add(_absolute(base_url, el.get("content")), "audio", None)
            elif prop in ("og:video", "og:video:url", "og:video:secure_url"):
                add(_absolute(base_url, el.get("content")), "video", None)
    return list(hits.values())


_NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "media": "http://search.yahoo.com/mrss/",
    "cc": "http://backend.userland.com/creativeCommonsRssModule",
    "dc": "http://purl.org/dc/elements/1.1/",
    "ccrel": "http://creativecommons.org/ns#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
}


def looks_like_feed(body: bytes) -> bool:
    head = body[:2048].lstrip().lower()
    return b"<rss" in head or (b"<feed" in head and b"atom" in head)


def _feed_license(el) -> tuple[str | None, str | None]:
    """A license stated on a channel/feed/item element: (SPDX id, evidence)."""
    for path in ("cc:license", "ccrel:license", "atom:link[@rel='license']", "dc:rights", "copyright",
                 "atom:rights"):
        found = el.find(path, _NS)
        if found is None:
            continue
        raw = (found.get("href") or found.get(f"{{{_NS['rdf']}}}resource") or found.text or "").strip()
        if raw:
            spdx = licenses.normalize(raw)
            if spdx is not None:
                return spdx, f"feed {found.tag.split('}')[-1]}: {raw[:300]}"
    return None, None


def feed_enclosures(body: bytes, feed_url: str) -> tuple[list[MediaHit], list[str]]:
    """(enclosures, item page links) of an RSS/Atom feed; ([], []) when it cannot be parsed."""
    from lxml import etree

    try:
        root = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False, no_network=True,
                                                             recover=True, huge_tree=False))
    except etree.XMLSyntaxError:
        return [], []
    if root is None:
        return [], []
    atom = root.tag == f"{{{_NS['atom']}}}feed"
    channel = root if atom else root.find("channel")
    if channel is None:
        return [], []
    feed_license = _feed_license(channel)
    items = channel.findall("atom:entry", _NS) if atom else channel.findall("item")
    media: list[MediaHit] = []
    pages: list[str] = []
    for item in items[:MAX_FEED_ITEMS]:
        if atom:
            alt = item.find("atom:link[@rel='alternate']", _NS)
            if alt is None:
                alt = item.find("atom:link", _NS)
            page = _absolute(feed_url, alt.get("href") if alt is not None else None)
            refs = [(lnk.get("href"), lnk.get("type")) for lnk in item.findall("atom:link[@rel='enclosure']", _NS)]
        else:
            link = item.find("link")
            page = _absolute(feed_url, link.text if link is not None else None)
            refs = [(enc.get("url"), enc.get("type")) for enc in item.findall("enclosure")]
        refs += [(mc.get("url"), mc.get("type")) for mc in item.findall("media:content", _NS)]
        spdx, evidence = _feed_license(item)
        if spdx is None:
            spdx, evidence = feed_license
        if page:
            pages.append(page)
        for ref, mime in refs:
            url = _absolute(feed_url, ref)
            if url is None:
                continue
            media.append(MediaHit(url, "enclosure", (mime or "").strip() or guess_mime(url),
                                  page_url=page or feed_url, license=spdx, license_evidence=evidence))
    return media, list(dict.fromkeys(pages))
