"""Which addresses a crawl may connect to: no private, loopback or link-local targets unless trusted.

A link found on a page (or a redirect) must not turn the crawler against the network it runs in
(``http://169.254.169.254/``, ``http://10.0.0.1/admin``, ``http://localhost:8080/``). Hosts of the
explicit seeds are trusted: crawling ``http://127.0.0.1:8000/`` because the user asked for it is
fine. Every other host is resolved and refused when any of its addresses is not public.
"""

from __future__ import annotations

import ipaddress
import socket


def non_public(address: str) -> bool:
    """True for private, loopback, link-local, reserved, multicast and unspecified addresses."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global


def literal_address(host: str) -> str | None:
    """The host itself when it is an IP literal (``[::1]`` brackets removed), else None."""
    bare = host.strip("[]")
    try:
        ipaddress.ip_address(bare.split("%", 1)[0])
    except ValueError:
        return None
    return bare


def resolve(host: str, port: int | None) -> list[str]:
    """Addresses of a host name (blocking; run it off the reactor thread)."""
    infos = socket.getaddrinfo(host, port or 80, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def refusal(host: str, addresses: list[str]) -> str | None:
    """Why a (non-seed) host must not be fetched, or None when all its addresses are public."""
    bad = [a for a in addresses if non_public(a)]
    if not bad:
        return None
    return (f"{host} resolves to a non-public address ({', '.join(bad[:3])}); links to private, "
            f"loopback and link-local addresses are only followed for seed hosts "
            f"(pass --allow-private to crawl them)")
