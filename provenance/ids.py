"""Stable identifiers: document ids, run ids, domains, text hashes."""

from __future__ import annotations

import hashlib
import os
import unicodedata
from datetime import datetime, UTC
from urllib.parse import urlsplit, urlunsplit

DOC_ID_HEX = 24  # 96 bits: collision-free far beyond billions of documents


def normalize_url(url: str) -> str:
    """Lower-case scheme and host, drop the fragment and a default port; keep path and query."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port if parts.port and (scheme, parts.port) not in {("http", 80), ("https", 443)} else None
    netloc = host if port is None else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def domain_of(url: str | None) -> str | None:
    """The host of a URL, lower-case, without a leading ``www.``; None when it has none."""
    if not url:
        return None
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def normalized_text_hash(text: str) -> str:
    """Hash of text after Unicode NFKC, case folding and whitespace collapsing (exact dedup key)."""
    norm = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(norm.encode("utf-8", "surrogatepass")).hexdigest()


def doc_id_for_url(url: str) -> str:
    """The id of the document at a URL: the same URL is the same document across runs and sources."""
    return hashlib.sha256(("url\x1f" + normalize_url(url)).encode()).hexdigest()[:DOC_ID_HEX]


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
