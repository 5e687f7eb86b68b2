"""Links to follow, read from the parsed page the analysis already holds (one parse per page).

Like Scrapy's LinkExtractor: ``<a href>`` and ``<area href>``, resolved against ``<base href>``,
fragments dropped, canonicalized (w3lib, as Scrapy's request fingerprints), http(s) only, no
files with Scrapy's ignored extensions (archives, images, audio, video, office documents).
Media links are not followed: they are recorded as media (:mod:`crawl.media`). Feeds come from
``<link rel="alternate" type="application/rss+xml|atom+xml">``.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from crawl.media import extension_of, is_media_url
from provenance.ids import canonical_url

MAX_LINKS = 5000


# Scrapy's ``scrapy.linkextractors.IGNORED_EXTENSIONS`` (2.19), copied so that analysis workers do
# not import Scrapy and Twisted: archives, images, audio, video, office documents, other.
IGNORED_EXTENSIONS = frozenset({
    "7z", "7zip", "bz2", "rar", "tar", "tar.gz", "xz", "zip",
    "mng", "pct", "bmp", "gif", "jpg", "jpeg", "png", "pst", "psp", "tif", "tiff", "ai", "drw",
    "dxf", "eps", "ps", "svg", "cdr", "ico", "webp",
    "mp3", "wma", "ogg", "wav", "ra", "aac", "mid", "au", "aiff",
    "3gp", "asf", "asx", "avi", "mov", "mp4", "mpg", "qt", "rm", "swf", "wmv", "m4a", "m4v", "flv", "webm",
    "xls", "xlsm", "xlsx", "xltm", "xltx", "potm", "potx", "ppt", "pptm", "pptx", "pps", "doc", "docb",
    "docm", "docx", "dotm", "dotx", "odt", "ods", "odg", "odp",
    "css", "pdf", "exe", "bin", "rss", "dmg", "iso", "apk", "jar", "sh", "rb", "js", "bat", "cpl",
    "hta", "msi", "msp", "py",
})


def base_of(root, url: str) -> str:
    """The URL relative links of a page resolve against: its ``<base href>``, else its own URL."""
    base_el = root.find(".//base[@href]")
    if base_el is None:
        return url
    try:
        return urljoin(url, base_el.get("href").strip())
    except ValueError:
        return url


def _absolute(base: str, href: str | None) -> str | None:
    if not href or not href.strip():
        return None
    try:
        url = urljoin(base, href.strip())
        if urlsplit(url).scheme not in ("http", "https"):
            return None
        return canonical_url(url)
    except ValueError:
        return None


def extract_links(root, base_url: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(page links, feed links)`` of a parsed page, canonical and without duplicates.

    ``base_url``: :func:`base_of` the page."""
    ignored = IGNORED_EXTENSIONS
    links: dict[str, None] = {}
    for el in root.iter("a", "area"):
        url = _absolute(base_url, el.get("href"))
        if url is None or url in links or is_media_url(url) or extension_of(url) in ignored:
            continue
        links[url] = None
        if len(links) >= MAX_LINKS:
            break
    feeds: dict[str, None] = {}
    for el in root.iter("link"):
        rel = (el.get("rel") or "").lower().split()
        kind = (el.get("type") or "").lower()
        if "alternate" in rel and ("rss" in kind or "atom" in kind):
            url = _absolute(base_url, el.get("href"))
            if url is not None:
                feeds[url] = None
    return tuple(links), tuple(feeds)
