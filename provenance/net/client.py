"""The guarded HTTP(S) client of the stages that fetch outside Scrapy (transcribe's media, its robots.txt).

Every request: the host is resolved *once*, every address is checked by the
:class:`~provenance.net.addresses.AddressPolicy`, and the connection goes to one of exactly those
checked addresses (no second lookup: ``getaddrinfo`` with ``AI_NUMERICHOST``), with the host name
kept for the ``Host`` header and TLS (SNI and certificate check). Redirects are followed by hand,
each hop resolved and checked again, so neither a redirect nor DNS rebinding reaches a private
address. One deadline bounds the whole fetch (lookups, connects, TLS, every read, every redirect),
so a server that trickles its headers or body a byte at a time cannot hold a worker; bodies are
read through a size cap. Proxies from the environment are not used: the guard must see the
address it connects to.

Errors are :class:`NetError` (``str(exc)`` is the reason recorded in ``fetches``); a refusal by the
guard is :class:`AddressRefused`, whose ``outcome`` is 'skipped'.
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from provenance.net.addresses import AddressPolicy, parse_address
from provenance.records import FetchOutcome

MAX_REDIRECTS = 10  # RFC 9309 asks robots.txt fetchers to follow at least five
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK = 1 << 16
SCHEMES = {"http": 80, "https": 443}

Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port) -> addresses``: how a host name becomes IP addresses (blocking)."""
Connector = Callable[[str, int, float], socket.socket]
"""``(address, port, timeout_s) -> connected socket``: a TCP connection to an IP address."""


class NetError(Exception):
    """A fetch that failed or was refused; ``str(exc)`` is the reason to record."""

    outcome: FetchOutcome = "error"  # fetches.outcome

    def __init__(self, reason: str, *, status: int | None = None, n_bytes: int | None = None,
                 hops: tuple[Hop, ...] = ()):
        super().__init__(reason)
        self.status = status
        self.n_bytes = n_bytes
        self.hops = hops


class AddressRefused(NetError):
    """The guard refused the address a request (or one of its redirects) would connect to."""

    outcome: FetchOutcome = "skipped"


class TooManyRedirects(NetError):
    """More redirects than the client follows."""


class TimedOut(NetError):
    """The fetch took longer than its deadline."""


class TooLarge(NetError):
    """The body is larger than the cap."""


@dataclass(frozen=True, slots=True)
class Hop:
    """One redirect followed: ``url`` answered ``status`` with ``Location: target``."""

    url: str
    status: int
    target: str


def system_resolver(host: str, port: int) -> list[str]:
    """The system's addresses of ``host`` (``getaddrinfo``), in its order, each once."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def tcp_connector(address: str, port: int, timeout_s: float) -> socket.socket:
    """A TCP connection to the IP address ``address`` (never a name: no lookup happens here)."""
    family, kind, proto, _, sockaddr = socket.getaddrinfo(
        address, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.settimeout(timeout_s)
        sock.connect(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


class Deadline:
    """The end of a fetch, in ``time.monotonic()`` seconds."""

    def __init__(self, seconds: float, url: str):
        self.seconds = seconds
        self.url = url
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left; raises :class:`TimedOut` when none are."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimedOut(f"timed out: {self.url} took longer than {self.seconds:g} s (--timeout)")
        return left


class _DeadlineReader(io.RawIOBase):
    """A socket's receiving side where every read waits at most until the deadline."""

    def __init__(self, owner: _GuardedSocket):
        super().__init__()
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        sock = self._owner.sock
        sock.settimeout(self._owner.deadline.remaining())
        try:
            return sock.recv_into(buffer)
        except TimeoutError:
            self._owner.deadline.remaining()  # raises TimedOut
            raise

    def close(self) -> None:
        if not self.closed:
            self._owner.reader_closed()
        super().close()


class _GuardedSocket:
    """What ``http.client`` needs of a socket, with the deadline applied to sends and reads.

    Like a real socket's ``makefile``, a reader keeps the socket open after ``close()`` until the
    reader is closed too (``http.client`` closes the connection before the body is read).
    """

    def __init__(self, sock: socket.socket, deadline: Deadline):
        self.sock = sock
        self.deadline = deadline
        self._readers = 0
        self._closed = False

    def sendall(self, data: bytes) -> None:
        self.sock.settimeout(self.deadline.remaining())
        self.sock.sendall(data)

    def makefile(self, mode: str = "rb", *args: object, **kwargs: object) -> io.BufferedReader:
        self._readers += 1
        return io.BufferedReader(_DeadlineReader(self))

    def reader_closed(self) -> None:
        self._readers -= 1
        self._close_when_unused()

    def close(self) -> None:
        self._closed = True
        self._close_when_unused()

    def _close_when_unused(self) -> None:
        if self._closed and self._readers <= 0:
            self.sock.close()


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to one checked address, speaking to ``host`` (Host header, TLS SNI)."""

    def __init__(self, host: str, port: int, *, address: str, tls: ssl.SSLContext | None,
                 deadline: Deadline, connector: Connector):
        super().__init__(host, port)
        self.default_port = 443 if tls is not None else 80  # no ':443' in the Host header
        self._address = address
        self._tls = tls
        self._deadline = deadline
        self._connector = connector

    def connect(self) -> None:
        sock = self._connector(self._address, self.port, self._deadline.remaining())
        try:
            if self._tls is not None:
                sock.settimeout(self._deadline.remaining())
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = _GuardedSocket(sock, self._deadline)


class Response:
    """A response whose body has not been read yet; use it as a context manager."""

    def __init__(self, url: str, connection: _PinnedConnection, response: http.client.HTTPResponse,
                 deadline: Deadline, max_bytes: int, hops: tuple[Hop, ...] = ()):
        self.url = url  # the final URL, after redirects
        self.status = response.status
        self.reason = response.reason
        self.headers = response.headers
        self.hops = hops
        self.max_bytes = max_bytes
        self._connection = connection
        self._response = response
        self._deadline = deadline

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    @property
    def content_length(self) -> int | None:
        value = (self.headers.get("Content-Length") or "").strip()
        return int(value) if value.isdigit() else None

    def iter_bytes(self, max_bytes: int | None = None) -> Iterator[bytes]:
        """The body in chunks; :class:`TooLarge` past ``max_bytes`` (default: the client's cap)."""
        cap = self.max_bytes if max_bytes is None else max_bytes
        announced = self.content_length
        if announced is not None and announced > cap:
            raise TooLarge(f"larger than the limit: {announced} bytes announced, the limit is {cap}",
                           status=self.status, n_bytes=announced, hops=self.hops)
        n = 0
        while True:
            try:
                chunk = self._response.read(CHUNK)
            except (OSError, http.client.HTTPException) as exc:
                raise NetError(f"download broke off after {n} bytes: {describe(exc)}", status=self.status,
                               n_bytes=n, hops=self.hops) from exc
            if not chunk:
                return
            n += len(chunk)
            if n > cap:
                raise TooLarge(f"larger than the limit: more than {cap} bytes", status=self.status, n_bytes=n,
                               hops=self.hops)
            yield chunk

    def read(self, max_bytes: int | None = None) -> bytes:
        """The whole body (at most ``max_bytes``, else :class:`TooLarge`)."""
        return b"".join(self.iter_bytes(max_bytes))

    def read_prefix(self, limit: int) -> bytes:
        """At most the first ``limit`` bytes of the body; the rest is not read."""
        kept = bytearray()
        while len(kept) < limit:
            try:
                chunk = self._response.read(min(CHUNK, limit - len(kept)))
            except (OSError, http.client.HTTPException) as exc:
                raise NetError(f"download broke off after {len(kept)} bytes: {describe(exc)}", status=self.status,
                               n_bytes=len(kept), hops=self.hops) from exc
            if not chunk:
                break
            kept += chunk
        return bytes(kept)

    def close(self) -> None:
        self._response.close()
        self._connection.close()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def describe(exc: BaseException) -> str:
    """One line about a network exception."""
    reason = getattr(exc, "reason", None) if isinstance(exc, ssl.SSLError) else None
    text = " ".join(str(reason or exc).split())
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def _request_target(path: str, query: str) -> str:
    """Path and query as sent: non-ASCII and spaces percent-encoded, existing escapes kept."""
    safe = "/%:@!$&'()*+,;=~-._"
    target = quote(path or "/", safe=safe)
    return target + ("?" + quote(query, safe=safe + "?") if query else "")


def _ascii_host(host: str) -> str:
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise NetError(f"invalid host name {host!r}: {exc}") from exc


class Client:
    """GET requests through the guard: one user agent, one deadline per fetch, a size cap.

    ``resolver`` and ``connector`` are the transport (the system's by default); every address the
    resolver gives is checked by ``policy`` before the connector sees it.
    """

    def __init__(self, *, user_agent: str, policy: AddressPolicy | None = None, timeout_s: float = 60.0,
                 max_bytes: int = 10 * 1024 * 1024, max_redirects: int = MAX_REDIRECTS,
                 resolver: Resolver = system_resolver, connector: Connector = tcp_connector,
                 tls: ssl.SSLContext | None = None):
        if timeout_s <= 0 or max_bytes <= 0 or max_redirects < 0:
            raise ValueError("timeout_s and max_bytes must be positive, max_redirects 0 or more")
        self.user_agent = user_agent
        self.policy = policy if policy is not None else AddressPolicy()
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._resolver = resolver
        self._connector = connector
        self._tls = tls

    def open(self, url: str, *, accept: str | None = None, max_bytes: int | None = None,
             before: Callable[[str], None] | None = None) -> Response:
        """GET ``url`` following redirects; the body is left to read. Raises :class:`NetError`.

        ``before(url)`` is called before each request, the first and every redirect target (the
        robots.txt check); it refuses a URL by raising a :class:`NetError`.
        """
        deadline = Deadline(self.timeout_s, url)
        hops: list[Hop] = []
        current = url
        while True:
            try:
                if before is not None:
                    before(current)
                response = self._request(current, deadline, accept, max_bytes)
            except NetError as exc:
                if hops:
                    exc.args = (f"after a redirect from {hops[-1].url} to {current}: {exc}",)
                exc.hops = tuple(hops)
                raise
            location = response.header("Location")
            if response.status not in REDIRECT_STATUSES or not location:
                response.hops = tuple(hops)
                return response
            response.close()
            try:
                target = urljoin(current, location.strip())
            except ValueError as exc:
                raise NetError(f"{current} redirects to an invalid URL {location!r}", status=response.status,
                               hops=tuple(hops)) from exc
            hops.append(Hop(current, response.status, target))
            if len(hops) > self.max_redirects:
                raise TooManyRedirects(f"more than {self.max_redirects} redirects from {url}",
                                       status=response.status, hops=tuple(hops))
            current = target

    def _resolve(self, host: str, port: int, deadline: Deadline) -> list[str]:
        """The resolver's answer, within the deadline (a hung lookup is left behind in its thread)."""
        box: dict[str, object] = {}

        def lookup() -> None:
            try:
                box["addresses"] = list(self._resolver(host, port))
            except (OSError, UnicodeError) as exc:
                box["error"] = exc

        worker = threading.Thread(target=lookup, name="provenance-net-lookup", daemon=True)
        worker.start()
        worker.join(deadline.remaining())
        if "error" in box:
            raise NetError(f"DNS lookup of {host} failed: {describe(box['error'])}")  # type: ignore[arg-type]
        if "addresses" not in box:
            deadline.remaining()
            raise TimedOut(f"timed out: DNS lookup of {host}")
        addresses = box["addresses"]
        if not addresses:
            raise NetError(f"DNS lookup of {host} gave no address")
        return addresses  # type: ignore[return-value]

    def _request(self, url: str, deadline: Deadline, accept: str | None, max_bytes: int | None) -> Response:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise NetError(f"not a valid URL: {url} ({exc})") from exc
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise NetError(f"not an http(s) URL: {url}")
        host = parts.hostname
        if not host:
            raise NetError(f"no host in {url}")
        port = port or SCHEMES[scheme]
        literal = parse_address(host)
        name = str(literal) if literal is not None else _ascii_host(host)
        addresses = [name] if literal is not None else self._resolve(name, port, deadline)
        refusal = self.policy.refusal(host, addresses)
        if refusal is not None:
            raise AddressRefused(f"not fetched: {refusal}")
        tls = None
        if scheme == "https":
            tls = self._tls or ssl.create_default_context()
        failures: list[str] = []
        for address in addresses:
            connection = _PinnedConnection(name, port, address=address, tls=tls, deadline=deadline,
                                           connector=self._connector)
            try:
                connection.putrequest("GET", _request_target(parts.path, parts.query))
                connection.putheader("User-Agent", self.user_agent)
                if accept:
                    connection.putheader("Accept", accept)
                connection.putheader("Connection", "close")
                connection.endheaders()  # connects
                response = connection.getresponse()
            except TimedOut:
                connection.close()
                raise
            except (OSError, http.client.HTTPException) as exc:
                connected = connection.sock is not None
                connection.close()
                if isinstance(exc, TimeoutError):
                    deadline.remaining()
                failures.append(f"{address}: {describe(exc)}")
                if connected:
                    break  # connected, then failed: the request is not sent to another address
                continue
            return Response(url, connection, response, deadline, self.max_bytes if max_bytes is None else max_bytes)
        raise NetError(f"could not fetch {url}: {'; '.join(failures[:3])}")
