"""The one network layer (provenance.net): address guard, guarded client, robots.txt decision, user agent.

Every server here listens on 127.0.0.1, and no test sends a packet anywhere else: each client is
given a connector that refuses (raises) for any address but 127.0.0.1, so a guard that let a
private or public address through would fail the test instead of reaching the network. Names
other than literal addresses go through a resolver the test controls (``rebind.test``,
``internal.test``), or through the system resolver only for numeric forms and ``localhost``,
which never leave the machine.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
from pathlib import Path

import pytest

from provenance import net
from provenance.net import AddressPolicy, AddressRefused, Client, NetError, RobotsCache, TimedOut, TooLarge
from provenance.net.addresses import address_problem
from provenance.net.client import system_resolver, tcp_connector

# --- the address table --------------------------------------------------------------------------
# Each row: address, the category the guard names (None: public, allowed).
# Sources (facts, not copied text): the IANA IPv4 and IPv6 Special-Purpose Address Registries;
# RFC 1122 (0/8, 127/8), RFC 1918 (private), RFC 6598 (100.64/10 shared/CGNAT), RFC 3927 and 4291
# (link-local), RFC 5737 and 3849 (documentation), RFC 2544 (benchmarking), RFC 5771 (multicast),
# RFC 1112 (240/4), RFC 4193 (ULA), RFC 3879 (site-local), RFC 4291 2.5.5 (IPv4-mapped and
# -compatible), RFC 6052 and RFC 8215 (NAT64 64:ff9b::/96, local-use 64:ff9b:1::/48), RFC 3056
# (6to4), RFC 4380 (Teredo), RFC 6666 (discard-only 100::/64), RFC 9637 and RFC 9602.
ADDRESSES = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),  # cloud instance metadata
    ("169.254.0.1", "link-local"),
    ("100.64.0.1", "shared address space (CGNAT, 100.64.0.0/10)"),
    ("100.127.255.254", "shared address space (CGNAT, 100.64.0.0/10)"),
    ("0.0.0.0", "unspecified ('this network', 0.0.0.0/8)"),
    ("0.1.2.3", "unspecified ('this network', 0.0.0.0/8)"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("192.0.2.1", "special-purpose, not globally reachable"),  # TEST-NET-1
    ("198.51.100.7", "special-purpose, not globally reachable"),  # TEST-NET-2
    ("198.18.0.1", "special-purpose, not globally reachable"),  # benchmarking
    ("192.0.0.8", "special-purpose, not globally reachable"),  # IETF protocol assignments
    ("203.0.113.5", "special-purpose, not globally reachable"),  # TEST-NET-3
    ("192.88.99.1", "special-purpose, not globally reachable"),  # deprecated 6to4 relay anycast
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fe80::1%2", "link-local"),  # with a zone index
    ("fc00::1", "private (unique local)"),
    ("fd12:3456:789a::1", "private (unique local)"),
    ("fec0::1", "site-local (deprecated)"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("2001:db8::1", "special-purpose, not globally reachable"),  # documentation
    ("100::1", "special-purpose, not globally reachable"),  # discard-only
    ("3fff::1", "special-purpose, not globally reachable"),  # documentation (RFC 9637)
    ("5f00::1", "reserved"),  # SRv6 SIDs (RFC 9602), inside the reserved 4000::/3
    ("::ffff:127.0.0.1", "IPv4-mapped form of 127.0.0.1, loopback"),
    ("::ffff:7f00:1", "IPv4-mapped form of 127.0.0.1, loopback"),
    ("::ffff:10.0.0.1", "IPv4-mapped form of 10.0.0.1, private"),
    ("::ffff:169.254.169.254", "IPv4-mapped form of 169.254.169.254, link-local"),
    ("::ffff:100.64.0.1", "IPv4-mapped form of 100.64.0.1, shared address space (CGNAT, 100.64.0.0/10)"),
    ("::127.0.0.1", "IPv4-compatible form of 127.0.0.1 (deprecated, reserved)"),
    ("64:ff9b::7f00:1", "NAT64 form of 127.0.0.1, loopback"),
    ("64:ff9b::10.1.2.3", "NAT64 form of 10.1.2.3, private"),
    ("64:ff9b::a9fe:a9fe", "NAT64 form of 169.254.169.254, link-local"),
    ("64:ff9b:1::a00:1", "local-use NAT64 (64:ff9b:1::/48)"),
    ("2002:7f00:1::1", "6to4 form of 127.0.0.1, loopback"),
    ("2002:c0a8:101::1", "6to4 form of 192.168.1.1, private"),
    ("2002:a9fe:a9fe::", "6to4 form of 169.254.169.254, link-local"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo tunnel (2001::/32)"),
    ("not-an-address", "not an IP address"),
    # public: allowed
    ("8.8.8.8", None),
    ("1.1.1.1", None),
    ("11.0.0.1", None),
    ("100.63.255.255", None),  # just below 100.64/10
    ("100.128.0.1", None),  # just above
    ("172.15.255.255", None),
    ("172.32.0.1", None),
    ("192.169.0.1", None),
    ("2606:4700:4700::1111", None),
    ("::ffff:8.8.8.8", None),
    ("64:ff9b::808:808", None),  # NAT64 of a public address
    ("2002:808:808::1", None),  # 6to4 of a public address
]


@pytest.mark.parametrize("address,expected", ADDRESSES)
def test_every_address_form(address, expected):
    assert address_problem(address) == expected


def test_policy_refuses_a_host_when_any_of_its_addresses_is_not_public():
    policy = AddressPolicy()
    assert policy.refusal("example.test", ["8.8.8.8"]) is None
    reason = policy.refusal("example.test", ["8.8.8.8", "10.0.0.1"])
    assert reason is not None and "10.0.0.1: private" in reason and "--allow-private" in reason
    assert AddressPolicy(allow_private=True).refusal("example.test", ["10.0.0.1"]) is None
    trusted = AddressPolicy.of(trusted_hosts=["127.0.0.1", "[::1]"])
    assert trusted.refusal("127.0.0.1", ["127.0.0.1"]) is None and trusted.refusal("::1", ["::1"]) is None
    assert trusted.refusal("localhost", ["127.0.0.1"]) is not None  # trust is per host, not per address


# --- servers and transport the tests control ----------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    routes: dict = {}

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.seen.append((self.path, self.headers.get("User-Agent"), self.headers.get("Host")))
        route = self.routes.get(self.path.split("?", 1)[0])
        if route is None:
            self._send(404, b"not here")
        else:
            route(self)

    def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def trickle(self, data: bytes, pause: float = 0.05, limit_s: float = 30.0) -> None:
        """Write ``data`` a byte at a time: a slow-loris server (stops when the client leaves)."""
        end = time.monotonic() + limit_s
        for i in range(len(data)):
            if time.monotonic() > end:
                return
            try:
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
            except OSError:
                return
            time.sleep(pause)
        self.close_connection = True


class Server:
    """An HTTP server on 127.0.0.1 with routes ``path -> handler(request)``; ``seen`` lists requests."""

    def __init__(self, routes: dict):
        handler = type("Handler", (_Handler,), {"routes": routes})
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.seen = []
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def seen(self) -> list:
        return self.httpd.seen

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class LocalOnly:
    """A connector that only ever connects to 127.0.0.1, and records every attempt.

    ``routes`` maps a (pretend) public address to a local port: a connection to it goes to that
    127.0.0.1 port instead, standing in for a public site without leaving the machine.
    """

    def __init__(self, routes: dict[str, int] | None = None):
        self.routes = routes or {}
        self.attempts: list[tuple[str, int]] = []

    def __call__(self, address: str, port: int, timeout_s: float) -> socket.socket:
        self.attempts.append((address, port))
        if address in self.routes:
            return tcp_connector("127.0.0.1", self.routes[address], timeout_s)
        if address != "127.0.0.1":
            raise AssertionError(f"the test tried to connect to {address}: the guard let it through")
        return tcp_connector(address, port, timeout_s)


class Resolver:
    """A DNS the test controls: each name answers from its list in turn (the last answer repeats)."""

    def __init__(self, answers: dict[str, list[list[str]]]):
        self.answers = answers
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host not in self.answers:
            return system_resolver(host, port)  # numeric forms and localhost only
        queue = self.answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]


def client(policy: AddressPolicy | None = None, *, resolver=None, connector=None, **kwargs) -> Client:
    return Client(user_agent=net.user_agent(), policy=policy or AddressPolicy(), resolver=resolver or Resolver({}),
                  connector=connector or LocalOnly(), **kwargs)


def ok(body: bytes = b"fine", ctype: str = "text/plain"):
    return lambda h: h._send(200, body, {"Content-Type": ctype})


def redirect(location: str, status: int = 302):
    return lambda h: h._send(status, b"", {"Location": location})


# --- the guard on the connected address ---------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.1", "2130706433", "0x7f000001", "0177.0.0.1",
                                  "[::ffff:127.0.0.1]"])
def test_loopback_in_any_spelling_is_refused_before_connecting(host):
    connector = LocalOnly()
    with Server({"/": ok()}) as server:
        with pytest.raises(AddressRefused, match="non-public address") as exc:
            client(connector=connector).open(server.url("/", host))
        assert server.seen == [] and connector.attempts == []
    assert exc.value.outcome == "skipped"


def test_private_names_are_refused_without_a_connection_attempt():
    dns = Resolver({"internal.test": [["10.1.2.3"]], "meta.test": [["169.254.169.254"]],
                    "cgnat.test": [["100.64.1.1"]], "mapped.test": [["::ffff:10.0.0.1"]],
                    "nat64.test": [["64:ff9b::a00:1"]], "mixed.test": [["8.8.8.8", "192.168.0.10"]]})
    connector = LocalOnly()
    c = client(resolver=dns, connector=connector)
    for host, shown in (("internal.test", "10.1.2.3: private"), ("meta.test", "169.254.169.254: link-local"),
                        ("cgnat.test", "100.64.1.1: shared"), ("mapped.test", "IPv4-mapped form of 10.0.0.1"),
                        ("nat64.test", "NAT64 form of 10.0.0.1"), ("mixed.test", "192.168.0.10: private")):
        with pytest.raises(AddressRefused) as exc:
            c.open(f"http://{host}/x")
        assert shown in str(exc.value), str(exc.value)
    assert connector.attempts == []


def test_the_flag_allows_private_addresses_and_the_user_agent_is_ours():
    with Server({"/": ok()}) as server:
        with client(AddressPolicy(allow_private=True)).open(server.url("/")) as response:
            assert response.status == 200 and response.read() == b"fine"
        with client(AddressPolicy.of(trusted_hosts=["127.0.0.1"])).open(server.url("/")) as response:
            assert response.read() == b"fine"
        assert [ua for _, ua, _ in server.seen] == [net.user_agent()] * 2


def test_a_redirect_to_a_private_address_is_refused():
    dns = Resolver({"internal.test": [["10.0.0.7"]]})
    connector = LocalOnly()
    with Server({"/to-localhost": None, "/to-internal": redirect("http://internal.test/admin"),
                 "/to-meta": redirect("http://169.254.169.254/latest/meta-data/", 301),
                 "/to-mapped": redirect("http://[::ffff:127.0.0.1]/", 307)}) as server:
        server.httpd.RequestHandlerClass.routes["/to-localhost"] = redirect(server.url("/secret", "localhost"))
        c = client(AddressPolicy.of(trusted_hosts=["127.0.0.1"]), resolver=dns, connector=connector)
        for path, target in (("/to-localhost", "localhost"), ("/to-internal", "internal.test"),
                             ("/to-meta", "169.254.169.254"), ("/to-mapped", "::ffff:127.0.0.1")):
            with pytest.raises(AddressRefused, match=f"after a redirect from {server.url(path)}") as exc:
                c.open(server.url(path))
            assert f"{target} " in str(exc.value) and len(exc.value.hops) == 1
        assert [p for p, _, _ in server.seen] == ["/to-localhost", "/to-internal", "/to-meta", "/to-mapped"]
    assert {a for a, _ in connector.attempts} == {"127.0.0.1"}


def test_dns_rebinding_is_checked_on_the_connected_address():
    """rebind.test answers a public address first, 127.0.0.1 afterwards.

    The public answer is routed (by the test's connector) to a stand-in public site on 127.0.0.1;
    the internal service is a second server on 127.0.0.1 at the port in the URL. A client that
    checked one lookup and connected with another, or trusted a name it checked before, would
    reach the internal service.
    """
    with Server({"/robots.txt": ok(b"User-agent: *\nAllow: /\n"), "/a": ok(b"public")}) as public, \
            Server({"/a": ok(b"internal secret")}) as internal:
        dns = Resolver({"rebind.test": [["93.184.216.34"], ["127.0.0.1"]]})
        connector = LocalOnly({"93.184.216.34": public.port})
        c = client(resolver=dns, connector=connector)
        url = f"http://rebind.test:{internal.port}/a"
        with c.open(url) as response:
            assert response.read() == b"public"
        with pytest.raises(AddressRefused, match="rebind.test resolves to a non-public address"):
            c.open(url)
        assert internal.seen == []
        assert connector.attempts == [("93.184.216.34", internal.port)]
        assert dns.calls == ["rebind.test", "rebind.test"]  # one lookup per connection, each checked
        assert [host for _, _, host in public.seen] == [f"rebind.test:{internal.port}"]


# --- deadline and size --------------------------------------------------------------------------

def test_a_slow_body_is_cut_by_the_deadline():
    """Each byte arrives well within any per-read timeout: only a deadline on the whole request stops it."""
    def slow_body(h):
        h.send_response(200)
        h.send_header("Content-Length", "100000")
        h.end_headers()
        h.trickle(b"x" * 100000)

    with Server({"/slow": slow_body}) as server:
        with pytest.raises(TimedOut, match="took longer than 1 s"):
            with client(AddressPolicy(allow_private=True), timeout_s=1.0).open(server.url("/slow")) as response:
                response.read()


def test_slow_headers_are_cut_by_the_deadline():
    def slow_headers(h):
        h.trickle(b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 100000)

    with Server({"/slow": slow_headers}) as server:
        with pytest.raises(TimedOut, match="took longer than 1 s"):
            client(AddressPolicy(allow_private=True), timeout_s=1.0).open(server.url("/slow"))


def test_redirects_share_one_deadline_and_their_number_is_capped():
    loop = {f"/r{i}": redirect(f"/r{i + 1}") for i in range(20)}
    with Server(loop) as server:
        with pytest.raises(net.TooManyRedirects, match="more than 3 redirects") as exc:
            client(AddressPolicy(allow_private=True), max_redirects=3).open(server.url("/r0"))
        assert len(exc.value.hops) == 4
    assert net.MAX_REDIRECTS >= 5  # RFC 9309 2.3.1.2 for robots.txt


def test_size_cap_announced_and_streamed():
    def unannounced(h):
        h.send_response(200)
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(b"y" * 300_000)
        h.close_connection = True

    with Server({"/announced": ok(b"z" * 300_000), "/unannounced": unannounced}) as server:
        c = client(AddressPolicy(allow_private=True), max_bytes=100_000)
        with pytest.raises(TooLarge, match="300000 bytes announced"):
            with c.open(server.url("/announced")) as response:
                response.read()
        with pytest.raises(TooLarge, match="more than 100000 bytes") as exc:
            with c.open(server.url("/unannounced")) as response:
                response.read()
        assert 100_000 < exc.value.n_bytes < 300_000  # stopped while streaming


def test_other_schemes_and_bad_urls_are_errors_not_fetches():
    c = client(AddressPolicy(allow_private=True))
    for url, message in (("file:///etc/passwd", "not an http"), ("ftp://127.0.0.1/x", "not an http"),
                         ("http://127.0.0.1:99999/", "not a valid URL"), ("http:///x", "no host")):
        with pytest.raises(NetError, match=message):
            c.open(url)
    with Server({"/": redirect("file:///etc/passwd")}) as server:
        with pytest.raises(NetError, match="not an http"):
            c.open(server.url("/"))


# --- robots.txt: the crawler's decision, fetched through the guard ------------------------------

ROBOTS = """User-agent: provenance-crawler
Disallow: /closed/

User-agent: provenance
Disallow: /

User-agent: *
Disallow: /everyone-else/
"""


def test_robots_decision_is_the_crawlers_for_its_token():
    with Server({"/robots.txt": ok(ROBOTS.encode())}) as server:
        robots = RobotsCache(client(AddressPolicy(allow_private=True)))
        assert robots.check(server.url("/closed/a.mp3"))[0] is False
        assert "robots.txt disallows provenance-crawler" in robots.check(server.url("/closed/a.mp3"))[1]
        # RFC 9309: the product token is matched exactly; the standard library's parser matched
        # "provenance" by substring, and the old transcribe token obeyed the "provenance" group.
        assert robots.check(server.url("/open/a.mp3")) == (True, None)
        assert robots.check(server.url("/everyone-else/a.mp3")) == (True, None)
        assert [p for p, _, _ in server.seen] == ["/robots.txt"]  # once per origin


@pytest.mark.parametrize("route,allowed,reason", [
    (ok(b"User-agent: *\nDisallow: /\n"), False, "robots.txt disallows"),
    (lambda h: h._send(404, b""), True, None),  # unavailable: no rules
    (lambda h: h._send(403, b""), True, None),  # RFC 9309 2.3.1.3: any 4xx is unavailable
    (lambda h: h._send(500, b""), False, "robots.txt unreadable (HTTP 500)"),
    (lambda h: h._send(429, b""), False, "robots.txt unreadable (HTTP 429)"),
    (ok(b"\x00\x01\x02binary"), False, "robots.txt unreadable (binary content"),
    (redirect("/real-robots.txt"), False, "robots.txt disallows"),  # redirects are followed
])
def test_robots_states_follow_rfc_9309(route, allowed, reason):
    routes = {"/robots.txt": route, "/real-robots.txt": ok(b"User-agent: *\nDisallow: /\n")}
    with Server(routes) as server:
        got_allowed, got_reason = RobotsCache(client(AddressPolicy(allow_private=True))).check(server.url("/a"))
    assert got_allowed is allowed
    assert (reason is None and got_reason is None) or reason in got_reason


def test_unreachable_robots_txt_disallows_and_a_refused_one_says_why():
    with Server({}) as server:
        port = server.port
    # nothing listens there any more: unreachable, complete disallow (RFC 9309 2.3.1.4)
    allowed, reason = RobotsCache(client(AddressPolicy(allow_private=True))).check(f"http://127.0.0.1:{port}/a")
    assert allowed is False and "robots.txt unreadable" in reason
    with pytest.raises(AddressRefused):
        RobotsCache(client()).check(f"http://127.0.0.1:{port}/a")


def test_one_user_agent_for_every_stage():
    from crawl.config import ROBOTS_TOKEN, CrawlSettings
    from transcribe.pipeline import Settings

    assert ROBOTS_TOKEN == net.ROBOTS_TOKEN == "provenance-crawler"
    assert CrawlSettings().agent_string == Settings().user_agent == net.user_agent()
    assert net.user_agent().startswith(f"provenance-crawler/{net.version()} ")
    assert CrawlSettings(contact="ops@example.org").agent_string == net.user_agent("ops@example.org")
    source = (Path(__file__).resolve().parent.parent / "transcribe" / "fetch.py").read_text()
    assert "robotparser" not in source and "urllib.request" not in source
