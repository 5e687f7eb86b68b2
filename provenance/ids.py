"""Stable identifiers: document ids, run ids, domains, text hashes.

One identity for a URL and one for a domain, used by every stage and stored for SQL (which never
re-derives them):

* :func:`canonical_url` defines a URL's identity and so its ``doc_id``: w3lib's canonicalisation
  (the one Scrapy fingerprints requests with: query arguments sorted, percent-encoding normalised,
  unreserved escapes such as ``%7E`` decoded, non-ASCII UTF-8 percent-encoded, the host IDNA-encoded,
  the fragment dropped), plus a lower-case scheme and host, no default port, no userinfo, no
  trailing dot on the host. ``?b=2&a=1`` and ``?a=1&b=2``, ``%7E`` and ``~``, ``café`` and
  ``caf%C3%A9`` are one document.
* :func:`domain_of` is the host of the canonical URL: lower-case IDNA (``xn--``), no port,
  userinfo or trailing dot, and without a leading ``www.`` (``www.example.com`` and
  ``example.com`` are one domain: the same publisher in practice); IPv6 literals without brackets.
* :func:`registered_domain` is the domain's registrable part under the Public Suffix List
  (ICANN and private sections, from the snapshot bundled with ``tldextract``: no network).
  ``news.bbc.co.uk`` -> ``bbc.co.uk``, ``alice.github.io`` -> ``alice.github.io``; None for IP
  addresses and hosts under no known suffix.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import unicodedata
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from typing import TYPE_CHECKING

from w3lib.url import canonicalize_url

if TYPE_CHECKING:  # imported when first needed: `provenance sql` starts without it
    import tldextract

DOC_ID_HEX = 24  # 96 bits: collision-free far beyond billions of documents
_DEFAULT_PORTS = {("http", 80), ("https", 443)}
# http(s)://host[:port][/path][?key=value][#fragment] with an LDH host without a trailing dot, a
# path and at most one query argument of unreserved characters: there is nothing to sort, decode
# or encode, so w3lib's canonical form only lower-cases the scheme and host, drops a default port
# and the fragment and adds "/" to an empty path (with no "/." that could be a dot segment).
# Such URLs, most of a crawl, skip w3lib (tests compare both); provenance.columnar reads it in SQL.
SIMPLE_URL = (r"^([hH][tT][tT][pP][sS]?)://([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)(:([1-9][0-9]{0,4}))?"
              r"((?:/[A-Za-z0-9._~/-]*)?(?:\?(?:[A-Za-z0-9._~-]+=[A-Za-z0-9._~-]*)?)?)(#[\x21-\x7e]*)?$")
_SIMPLE = re.compile(SIMPLE_URL)


def _simple_canonical(text: str) -> str | None:
    """The canonical form of a URL of the SIMPLE_URL shape (None for any other URL)."""
    m = _SIMPLE.fullmatch(text)
    if m is None or "/." in text:
        return None
    scheme, host, port, rest = m.group(1).lower(), m.group(2).lower(), m.group(4) or "", m.group(5)
    if port and int(port) > 65535:
        return None
    if rest.endswith("?"):  # an empty query is no query
        rest = rest[:-1]
    if port and (scheme, int(port)) in _DEFAULT_PORTS:
        port = ""
    return f"{scheme}://{host}{':' + port if port else ''}{rest if rest.startswith('/') else '/' + rest}"


@functools.lru_cache(maxsize=65536)
def canonical_url(url: str) -> str:
    """The one canonical form of a URL (see the module docstring); it defines ``doc_id``.

    Raises ValueError for a URL that cannot be parsed (a port out of range, a bad IPv6 literal).
    Memoised for speed only (a WARC import asks for each URL's doc_id in both passes): a pure
    function of its argument.
    """
    text = url.strip()
    simple = _simple_canonical(text)
    if simple is not None:
        return simple
    return _w3lib_canonical(text)


def _w3lib_canonical(text: str) -> str:
    """:func:`canonical_url` through w3lib, for any URL."""
    try:
        canon = canonicalize_url(text, keep_fragments=False)
    except UnicodeError as exc:  # an unencodable host label
        raise ValueError(f"not a URL: {text!r} ({exc})") from None
    parts = urlsplit(canon)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or (scheme, port) in _DEFAULT_PORTS else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


@functools.lru_cache(maxsize=65536)
def domain_of(url: str | None) -> str | None:
    """The domain of a URL (see the module docstring); None when it has no host.

    Memoised for speed only: a pure function of its argument.
    """
    if not url:
        return None
    try:
        host = urlsplit(canonical_url(url)).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host[4:] if host.startswith("www.") and len(host) > 4 else host


@functools.lru_cache(maxsize=1)
def _psl() -> tldextract.TLDExtract:
    """The Public Suffix List bundled with tldextract: never fetched, never cached on disk."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


@functools.lru_cache(maxsize=65536)
def registered_domain(domain: str | None) -> str | None:
    """The registrable domain of a domain (or host) under the Public Suffix List; None for an IP
    address, a single label or a host under no known public suffix."""
    if not domain:
        return None
    found = _psl()(domain.strip().rstrip(".").lower()).top_domain_under_public_suffix
    return found or None


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def normalized_text_hash(text: str) -> str:
    """Hash of text after Unicode NFKC, case folding and whitespace collapsing (exact dedup key)."""
    norm = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(norm.encode("utf-8", "surrogatepass")).hexdigest()


def doc_id_for_url(url: str) -> str:
    """The id of the document at a URL: the same URL is the same document across runs and sources."""
    return hashlib.sha256(("url\x1f" + canonical_url(url)).encode()).hexdigest()[:DOC_ID_HEX]


def doc_id_for_text(text: str) -> str:
    """The id of a document that has no URL: derived from its text."""
    return hashlib.sha256(("text\x1f" + text).encode("utf-8", "surrogatepass")).hexdigest()[:DOC_ID_HEX]


def doc_id_for_key(namespace: str, key: str) -> str:
    """The id of a document named by a key of its own (an id column of an imported corpus)."""
    return hashlib.sha256(f"key\x1f{namespace}\x1f{key}".encode()).hexdigest()[:DOC_ID_HEX]


def new_run_id(command: str) -> str:
    """Sortable, unique: UTC time, the command, and random bits."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{command}-{os.urandom(3).hex()}"


def utcnow() -> datetime:
    """Now, as a naive UTC datetime (the ledger stores UTC TIMESTAMPs)."""
    return datetime.now(UTC).replace(tzinfo=None)
