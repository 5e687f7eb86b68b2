"""transcribe's media fetch goes through provenance.net: no private addresses, the crawler's robots.txt
decision and user agent, one deadline, a size cap.

Servers listen on 127.0.0.1 only. "Public" sites are stand-ins on 127.0.0.1 reached through a
connector that routes a pretend public address there (``test_net.LocalOnly``); it refuses any
other address, so nothing leaves the machine.
"""

from __future__ import annotations

import pytest

from crawl.config import CrawlSettings
from provenance import net
from provenance.ledger import Ledger
from provenance.net import AddressPolicy, Client
from test_net import LocalOnly, Resolver, Server, ok, redirect
from test_transcribe import add_page
from test_transcribe_units import clip
from transcribe.fetch import ACCEPT, FetchError, Fetcher

PUBLIC = "93.184.216.34"  # never connected: LocalOnly routes it to a server on 127.0.0.1


def wav_route(path):
    data = path.read_bytes()
    return ok(data, "audio/wav")


def fetcher(tmp_path, *, resolver=None, connector=None, **kwargs) -> Fetcher:
    return Fetcher(tmp_path / "tmp", Client(user_agent=net.user_agent(), resolver=resolver or Resolver({}),
                                            connector=connector or LocalOnly(), **kwargs))


def test_loopback_media_given_on_the_command_line_is_refused(workspace, tmp_path, cli):
    wav = clip(tmp_path / "talk.wav", 2.0)
    with Server({"/robots.txt": ok(b""), "/talk.wav": wav_route(wav)}) as server:
        url = server.url("/talk.wav")
        r = cli("-w", str(workspace.root), "transcribe", url)
        assert server.seen == []  # not even robots.txt
    assert r.code == 0 and "1 failed" in r.err, r.err
    [t] = Ledger(workspace).query("SELECT status, reason FROM transcriptions").to_pylist()
    assert t["status"] == "failed" and "127.0.0.1 is a non-public address" in t["reason"]
    assert "--allow-private" in t["reason"]
    [f] = Ledger(workspace).query("SELECT url, outcome, reason FROM fetches").to_pylist()
    assert f["url"] == url and f["outcome"] == "skipped" and "loopback" in f["reason"]


def test_media_found_in_an_audio_element_on_a_private_address_is_refused(workspace, tmp_path, cli):
    wav = clip(tmp_path / "talk.wav", 2.0)
    with Server({"/robots.txt": ok(b""), "/talk.wav": wav_route(wav)}) as server:
        page, media = server.url("/talk.html"), server.url("/talk.wav", "localhost")
        add_page(workspace, page, [(media, None)])
        r = cli("-w", str(workspace.root), "transcribe", "--from-ledger")
        assert server.seen == []
        assert r.code == 0 and "1 failed" in r.err, r.err
        [t] = Ledger(workspace).query("SELECT media_url, reason FROM transcriptions").to_pylist()
        assert t["media_url"] == media and "localhost resolves to a non-public address" in t["reason"]
        # the documented flag lets a local test site through
        r = cli("-w", str(workspace.root), "transcribe", "--from-ledger", "--retry-failed", "--allow-private")
        assert r.code == 0 and "1 transcribed" in r.err, r.err
        assert [p for p, _, _ in server.seen] == ["/robots.txt", "/talk.wav"]
        assert {ua for _, ua, _ in server.seen} == {CrawlSettings().agent_string}  # the crawler's user agent


def test_a_redirect_to_a_private_address_is_refused(tmp_path):
    wav = clip(tmp_path / "talk.wav", 1.0)
    with Server({"/talk.wav": wav_route(wav)}) as internal, \
            Server({"/robots.txt": ok(b""), "/talk.wav": redirect("")}) as public:
        public.httpd.RequestHandlerClass.routes["/talk.wav"] = redirect(internal.url("/talk.wav"))
        dns = Resolver({"media.test": [[PUBLIC]]})
        f = fetcher(tmp_path, resolver=dns, connector=LocalOnly({PUBLIC: public.port}))
        with pytest.raises(FetchError, match="after a redirect from http://media.test/talk.wav") as exc:
            f.download("http://media.test/talk.wav")
        assert exc.value.outcome == "skipped" and "127.0.0.1: loopback" in str(exc.value)
        assert internal.seen == []
        assert [p for p, _, _ in public.seen] == ["/robots.txt", "/talk.wav"]


def test_dns_rebinding_between_robots_txt_and_the_media_is_refused(tmp_path):
    """media.test answers a public address for robots.txt, then 127.0.0.1 for the media itself."""
    wav = clip(tmp_path / "talk.wav", 1.0)
    with Server({"/talk.wav": wav_route(wav)}) as internal, \
            Server({"/robots.txt": ok(b"User-agent: *\nAllow: /\n"), "/talk.wav": wav_route(wav)}) as public:
        dns = Resolver({"media.test": [[PUBLIC], ["127.0.0.1"]]})
        connector = LocalOnly({PUBLIC: public.port})
        f = fetcher(tmp_path, resolver=dns, connector=connector)
        url = f"http://media.test:{internal.port}/talk.wav"
        with pytest.raises(FetchError, match="media.test resolves to a non-public address") as exc:
            f.download(url)
        assert exc.value.outcome == "skipped"
        assert internal.seen == [] and [p for p, _, _ in public.seen] == ["/robots.txt"]
        assert connector.attempts == [(PUBLIC, internal.port)]


def test_robots_txt_of_the_crawler_decides_also_after_a_redirect(tmp_path):
    wav = clip(tmp_path / "talk.wav", 1.0)
    robots = b"User-agent: provenance-crawler\nDisallow: /closed/\n"
    with Server({"/robots.txt": ok(robots), "/open.wav": redirect("/closed/talk.wav"),
                 "/closed/talk.wav": wav_route(wav)}) as server:
        f = fetcher(tmp_path, policy=AddressPolicy(allow_private=True))
        with pytest.raises(FetchError, match="robots.txt disallows provenance-crawler") as exc:
            f.download(server.url("/open.wav"))
        assert exc.value.outcome == "skipped"
        assert [p for p, _, _ in server.seen] == ["/robots.txt", "/open.wav"]  # the target was not fetched


def test_a_slow_download_is_cut_and_leaves_no_file(tmp_path):
    def slow(h):
        h.send_response(200)
        h.send_header("Content-Type", "audio/wav")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        h.trickle(b"RIFF" + b"\0" * 99996)

    with Server({"/robots.txt": ok(b""), "/slow.wav": slow}) as server:
        f = fetcher(tmp_path, policy=AddressPolicy(allow_private=True), timeout_s=1.0)
        with pytest.raises(FetchError, match="timed out") as exc:
            f.download(server.url("/slow.wav"))
    assert exc.value.outcome == "error" and exc.value.status == 200
    assert list((tmp_path / "tmp").glob("*")) == []


def test_size_cap_and_accept_header(tmp_path):
    wav = clip(tmp_path / "talk.wav", 2.0)
    with Server({"/robots.txt": ok(b""), "/talk.wav": wav_route(wav)}) as server:
        f = fetcher(tmp_path, policy=AddressPolicy(allow_private=True), max_bytes=1000)
        with pytest.raises(FetchError, match=r"bytes announced, the limit is 1000 \(--max-bytes\)"):
            f.download(server.url("/talk.wav"))
    assert ACCEPT.startswith("audio/*")
