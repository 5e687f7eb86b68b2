"""The crawl's scope: the seeds' hosts and ``--allow-domain`` hosts, subdomains included."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit


def host_of(url: str) -> str:
    """The host of a URL, lower-case; empty for a URL that cannot be split (``http://[bad``)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def in_scope(url: str, domains: Iterable[str]) -> bool:
    """Whether ``url``'s host is one of ``domains`` or a subdomain of one."""
    host = host_of(url)
    return any(host == d or host.endswith("." + d) for d in domains)
