"""The crawl's network layer, end to end: a real Scrapy crawl (child process) of servers on 127.0.0.1.

The crawl child gets a ``sitecustomize`` (through PYTHONPATH) that stands in for DNS and the
network, as the tests of provenance.net do in-process: names such as ``alias.test`` answer what
the test says (``rebind.test``: a public address first, 127.0.0.1 afterwards, for both
``getaddrinfo`` and ``gethostbyname``), a connection to the pretend public address goes to a
stand-in server on 127.0.0.1, and a connection to any other address but 127.0.0.1 is refused and
logged, so a guard that let one through fails the test without traffic leaving the machine.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from crawl.config import CrawlSettings
from crawl.runner import run_crawl
from provenance import net
from provenance.ledger import Ledger
from provenance.workspace import Workspace
from test_net import Server, ok, redirect

PUBLIC = "93.184.216.34"
FAST = {"delay": 0.0, "autothrottle": False, "retry_times": 0, "timeout": 5.0, "workers": 1, "flush_seconds": 0.5,
        "sitemaps": False}

SITECUSTOMIZE = textwrap.dedent('''
    """Test stand-in for DNS and the network of a crawl child (tests/test_crawl_net.py)."""
    import errno, json, os, socket

    _spec = json.loads(os.environ["NET_TEST_SPEC"])
    _names, _routes, _log = _spec["names"], _spec["routes"], _spec["log"]
    _real_getaddrinfo, _real_gethostbyname = socket.getaddrinfo, socket.gethostbyname

    def _answer(host):
        name = host.decode() if isinstance(host, bytes) else host
        queue = _names.get(name)
        if queue is None:
            return None
        with open(_log, "a") as fh:
            fh.write(f"lookup {name}\\n")
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def getaddrinfo(host, port, *args, **kwargs):
        answer = _answer(host)
        return _real_getaddrinfo(answer if answer is not None else host, port, *args, **kwargs)

    def gethostbyname(host):
        answer = _answer(host)
        return answer if answer is not None else _real_gethostbyname(host)

    socket.getaddrinfo, socket.gethostbyname = getaddrinfo, gethostbyname
    _real_connect_ex, _real_connect = socket.socket.connect_ex, socket.socket.connect

    def _route(address):
        if not isinstance(address, tuple):
            return address  # a Unix socket
        host, port = address[0], address[1]
        with open(_log, "a") as fh:
            fh.write(f"connect {host} {port}\\n")
        if host in _routes:
            return ("127.0.0.1", _routes[host])
        if host != "127.0.0.1":
            return None
        return address

    def connect_ex(self, address):
        routed = _route(address)
        return errno.ECONNREFUSED if routed is None else _real_connect_ex(self, routed)

    def connect(self, address):
        routed = _route(address)
        if routed is None:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "refused by the test")
        return _real_connect(self, routed)

    socket.socket.connect_ex, socket.socket.connect = connect_ex, connect
''')


def html(*links: str) -> bytes:
    body = "".join(f'<p>Read <a href="{u}">this page</a> for more about the topic at hand.</p>' for u in links)
    return (f"<html><head><title>Index</title></head><body><article><h1>Index</h1>"
            f"<p>{'A page with enough words to be kept as a document by the crawler. ' * 6}</p>{body}"
            f"</article></body></html>").encode()


PAGE = html()


def slow_body(h):
    """A slow-loris page: a byte every 50 ms, far below any per-read timeout."""
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.send_header("Content-Length", "100000")
    h.end_headers()
    h.trickle(b"<html>" + b" " * 99994)


@pytest.fixture(scope="module")
def crawl_net(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crawlnet")
    with Server({"/page": ok(PAGE, "text/html"), "/secret": ok(b"internal secret")}) as internal, \
            Server({"/robots.txt": ok(b"User-agent: *\nAllow: /\n"), "/page": ok(PAGE, "text/html")}) as public, \
            Server({"/robots.txt": ok(b"User-agent: *\nAllow: /\n")}) as site:
        links = {
            "out": "/redirect-out", "local": "/redirect-local", "internal": "/redirect-internal",
            "alias": f"http://alias.test:{site.port}/page", "rebind": f"http://rebind.test:{internal.port}/page",
            "literal": "http://10.0.0.9/admin", "meta": "http://meta.test/latest/meta-data/",
            "mapped": f"http://[::ffff:127.0.0.1]:{site.port}/page", "slow": "/slow",
        }
        routes = site.httpd.RequestHandlerClass.routes
        routes["/"] = ok(html(*links.values()), "text/html")
        routes["/slow"] = slow_body
        routes["/redirect-out"] = redirect("http://external.example/elsewhere")
        routes["/redirect-local"] = redirect(site.url("/secret", "localhost"))
        routes["/redirect-internal"] = redirect(f"http://internal.test:{internal.port}/secret", 301)
        log = tmp / "net.log"
        log.touch()
        spec = {"names": {"alias.test": ["127.0.0.1"], "rebind.test": [PUBLIC, "127.0.0.1"],
                          "internal.test": ["10.0.0.5"], "meta.test": ["169.254.169.254"]},
                "routes": {PUBLIC: public.port}, "log": str(log)}
        custom = tmp / "custom"
        custom.mkdir()
        (custom / "sitecustomize.py").write_text(SITECUSTOMIZE)
        mp = pytest.MonkeyPatch()
        mp.setenv("PYTHONPATH", str(custom))
        mp.setenv("NET_TEST_SPEC", json.dumps(spec))
        try:
            ws = Workspace(tmp / "ws")
            summary = run_crawl(ws, [site.url("/")], {**FAST, "allow_domains": (
                "localhost", "alias.test", "rebind.test", "internal.test", "10.0.0.9", "meta.test", "::ffff:7f00:1")})
        finally:
            mp.undo()
        seen = {"site": list(site.seen), "public": list(public.seen), "internal": list(internal.seen)}
    fetches = Ledger(ws).query("SELECT url, status, outcome, reason FROM fetches").to_pylist()
    return summary, {f["url"]: f for f in fetches}, seen, log.read_text().splitlines(), site.port, internal.port


def test_private_hosts_are_refused_before_any_connection(crawl_net):
    summary, fetches, seen, log, site_port, internal_port = crawl_net
    assert summary.status == "finished"
    for url, shown in ((f"http://alias.test:{site_port}/page", "alias.test resolves to a non-public address "
                                                              "(127.0.0.1: loopback)"),
                       ("http://10.0.0.9/admin", "10.0.0.9 is a non-public address (10.0.0.9: private)"),
                       ("http://meta.test/latest/meta-data/", "169.254.169.254: link-local"),
                       (f"http://[::ffff:7f00:1]:{site_port}/page", "IPv4-mapped form of 127.0.0.1")):
        row = fetches[url]
        assert row["outcome"] == "skipped" and shown in row["reason"], row
    connected = {line.split()[1] for line in log if line.startswith("connect")}
    assert connected <= {"127.0.0.1", PUBLIC}, connected  # never 10.x, 169.254.x or ::ffff:...
    assert not [p for p, _, host in seen["site"] if host and host.startswith(("alias.test", "["))]


def test_redirects_to_private_addresses_are_refused(crawl_net):
    _, fetches, seen, _, site_port, internal_port = crawl_net
    base = f"http://127.0.0.1:{site_port}"
    local, internal = f"http://localhost:{site_port}/secret", f"http://internal.test:{internal_port}/secret"
    assert fetches[f"{base}/redirect-local"]["outcome"] == "skipped"
    assert fetches[f"{base}/redirect-local"]["reason"] == f"redirected to {local}"
    assert fetches[local]["outcome"] == "skipped" and "localhost resolves to a non-public address" in fetches[local]["reason"]
    assert fetches[f"{base}/redirect-internal"]["status"] == 301
    assert fetches[internal]["outcome"] == "skipped" and "10.0.0.5: private" in fetches[internal]["reason"]
    assert "/secret" not in [p for p, _, _ in seen["site"]] and seen["internal"] == []


def test_a_redirect_out_of_scope_leaves_fetches_rows(crawl_net):
    _, fetches, _, log, site_port, _ = crawl_net
    row = fetches[f"http://127.0.0.1:{site_port}/redirect-out"]
    assert (row["status"], row["outcome"]) == (302, "skipped")
    assert "redirected to http://external.example/elsewhere, outside the crawl's scope" in row["reason"]
    target = fetches["http://external.example/elsewhere"]
    assert target["outcome"] == "skipped" and "outside the crawl's scope" in target["reason"]
    assert not [line for line in log if "external.example" in line]  # not even looked up


def test_dns_rebinding_cannot_reach_the_internal_server(crawl_net):
    """rebind.test answers a public address, then 127.0.0.1: the connection goes where the check was."""
    _, fetches, seen, log, _, internal_port = crawl_net
    url = f"http://rebind.test:{internal_port}/page"
    assert fetches[url]["outcome"] == "document" and fetches[url]["status"] == 200
    assert seen["internal"] == []
    assert {p for p, _, _ in seen["public"]} == {"/robots.txt", "/ai.txt", "/.well-known/tdmrep.json", "/page"}
    assert f"connect {PUBLIC} {internal_port}" in log


def test_a_slow_body_is_cut_by_the_download_timeout(crawl_net):
    _, fetches, _, _, site_port, _ = crawl_net
    row = fetches[f"http://127.0.0.1:{site_port}/slow"]
    assert row["outcome"] == "error" and "DownloadTimeoutError" in row["reason"], row


def test_the_crawl_sends_the_one_user_agent(crawl_net):
    _, _, seen, _, _, _ = crawl_net
    agents = {ua for server in ("site", "public") for _, ua, _ in seen[server]}
    assert agents == {net.user_agent()} == {CrawlSettings().agent_string}
