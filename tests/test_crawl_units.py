"""The crawl's parts without a crawl: robots.txt, per-origin files, signals, licenses, media,
decoding, page analysis and consent, seeds, the local site, state, pool, sink (addresses: test_net.py)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from datetime import datetime

import pytest

from crawl.analysis import PageJob, analyze
from crawl.decode import decode_html
from crawl.domainfiles import DomainPolicy, classify_fetch
from crawl.licensing import find_licenses
from crawl.links import IGNORED_EXTENSIONS, base_of, extract_links
from crawl.localsite import LocalSite, parse_headers_file
from crawl.media import feed_enclosures, find_media
from crawl.page import AgentLists, FetchedPage, build_document
from crawl.pool import AnalysisPool
from provenance.robots import RobotsTxt, normalize_path
from crawl.seeds import crawl_key, parse_seeds
from crawl.signals import header_signals, meta_signals, robots_directives
from crawl.sink import LedgerSink
from crawl.state import CrawlState
from crawl.tdmrep import TdmRep, TdmRepError
from provenance.errors import InputError
from provenance.ledger import Ledger
from provenance.records import FetchRecord

T0 = datetime(2026, 1, 1, 12, 0, 0)
TRAINING = frozenset({"GPTBot", "CCBot", "ClaudeBot"})
PROSE = "<p>" + "The river town keeps a small museum in the old customs house for visitors. " * 8 + "</p>"


def html_root(markup: str):
    from lxml import html

    return html.document_fromstring(markup)


def policy(robots: str | None = None, ai: str | None = None, tdm: str | None = None,
           robots_status: int = 200) -> DomainPolicy:
    origin = "http://site.test"
    files = []
    if robots is not None or robots_status != 200:
        files.append(classify_fetch(origin, "robots.txt", origin + "/robots.txt", T0, status=robots_status,
                                    body=(robots or "").encode()))
    if ai is not None:
        files.append(classify_fetch(origin, "ai.txt", origin + "/ai.txt", T0, status=200, body=ai.encode(),
                                    content_type="text/plain"))
    if tdm is not None:
        files.append(classify_fetch(origin, "tdmrep.json", origin + "/.well-known/tdmrep.json", T0,
                                    status=200, body=tdm.encode()))
    return DomainPolicy(origin, files, TRAINING)


# --- robots.txt (RFC 9309) ----------------------------------------------------------------------

ROBOTS = textwrap.dedent("""\
    User-agent: *
    Disallow: /private/
    Allow: /private/open.html
    Disallow: /*.pdf$
    Crawl-delay: 2
    Content-Signal: /news/ search=yes, ai-train=no

    User-agent: GPTBot
    user-agent: ccbot/1.0
    Disallow: /

    User-agent: gptbot
    Allow: /public/

    Sitemap: https://site.test/sitemap.xml
    """)


@pytest.mark.parametrize("agent, path, allowed", [
    ("provenance-crawler", "/private/x.html", False),
    ("provenance-crawler", "/private/open.html", True),  # longer Allow wins
    ("provenance-crawler", "/doc.pdf", False),
    ("provenance-crawler", "/doc.pdf?x=1", True),  # $ anchors the end
    ("provenance-crawler", "/robots.txt", True),
    ("GPTBot", "/anything", False),
    ("gptbot/2.1", "/public/page", True),  # groups naming the agent are merged, case-insensitive
    ("CCBot", "/public/page", False),
    ("CCBot", "/robots.txt", True),
])
def test_robots_decisions_follow_rfc9309(agent, path, allowed):
    assert RobotsTxt.parse(ROBOTS).decide(agent, path).allowed is allowed


def test_robots_decision_names_the_deciding_line_and_group():
    decision = RobotsTxt.parse(ROBOTS).decide("GPTBot", "https://site.test/a")
    assert not decision.allowed and decision.own_group
    assert 'line 10: "Disallow: /"' in decision.evidence() and "User-agent: GPTBot" in decision.evidence()


def test_robots_allow_wins_a_tie_and_percent_encoding_is_normalised():
    robots = RobotsTxt.parse("User-agent: *\nDisallow: /a%3cd\nAllow: /a%3Cd\nDisallow: /%7Etilde\n")
    assert robots.decide("x", "/a%3cd").allowed
    assert not robots.decide("x", "/~tilde").allowed
    assert normalize_path("/caf\u00e9") == "/caf%C3%A9"


def test_robots_crawl_delay_sitemaps_and_content_signal():
    robots = RobotsTxt.parse(ROBOTS)
    assert robots.crawl_delay("provenance-crawler")[0] == 2.0
    assert robots.crawl_delay("GPTBot") is None
    assert robots.sitemaps == ("https://site.test/sitemap.xml",)
    assert [e.value for e in robots.extensions_for("*", "https://site.test/news/a")] == ["search=yes, ai-train=no"]
    assert robots.extensions_for("*", "https://site.test/other") == ()


def test_robots_agrees_with_protego_on_common_cases():
    from protego import Protego

    text = "User-agent: *\nDisallow: /a\nAllow: /a/b\nDisallow: /*.gif$\n\nUser-agent: bot\nDisallow: /\n"
    mine, theirs = RobotsTxt.parse(text), Protego.parse(text)
    for agent in ("crawler", "bot"):
        for path in ("/", "/a", "/a/b", "/a/c", "/x.gif", "/x.gif?y", "/b"):
            assert mine.decide(agent, path).allowed == theirs.can_fetch("https://h.test" + path, agent), (agent, path)


@pytest.mark.parametrize("status, body, error, state", [
    (200, b"User-agent: *", None, "ok"),
    (404, b"", None, "missing"),
    (403, b"", None, "missing"),
    (429, b"", None, "unreadable"),
    (503, b"", None, "unreadable"),
    (None, None, "TimeoutError: took too long", "unreadable"),
])
def test_robots_fetch_results_are_classified_per_rfc9309(status, body, error, state):
    f = classify_fetch("http://h.test", "robots.txt", "http://h.test/robots.txt", T0, status=status, body=body,
                       error=error)
    assert f.state == state


def test_an_unreadable_robots_txt_disallows_everything_and_is_a_signal():
    p = policy(robots_status=503)
    allowed, reason = p.may_fetch("http://site.test/page", "provenance-crawler")
    assert not allowed and "unreadable" in reason and "RFC 9309" in reason
    assert [(s.signal, s.value) for s in p.unreadable_signals(T0)] == [("robots_txt", "unreadable")]


def test_a_missing_robots_txt_allows_everything():
    p = policy(robots_status=404)
    assert p.may_fetch("http://site.test/page", "provenance-crawler") == (True, None)
    assert [(s.signal, s.agent, s.value) for s in p.signals_for("http://site.test/p", T0)] == [
        ("robots_txt", "*", "allowed")]


def test_robots_signals_cover_every_training_agent():
    p = policy(ROBOTS)
    signals = {(s.signal, s.agent): s for s in p.signals_for("http://site.test/news/a", T0, "doc1")}
    assert signals[("robots_txt", "GPTBot")].value == "disallowed"
    assert signals[("robots_txt", "CCBot")].value == "disallowed"
    star = signals[("robots_txt", "*")]  # ClaudeBot has no group: the '*' group speaks for it
    assert star.value == "allowed" and "1 training agents" in star.evidence
    assert signals[("content_signal", "*")].value == "search=yes, ai-train=no"
    assert "sha256" in star.evidence and all(s.doc_id == "doc1" for s in signals.values())


def test_ai_txt_and_tdmrep_signals():
    tdm = json.dumps([{"location": "/open/*", "tdm-reservation": 0},
                      {"location": "/*", "tdm-reservation": 1, "tdm-policy": "https://x.test/p"}])
    p = policy("User-agent: *\nAllow: /\n", ai="User-Agent: *\nDisallow: *.html\n", tdm=tdm)
    closed = {(s.signal, s.value) for s in p.signals_for("http://site.test/a.html", T0)}
    assert {("ai_txt", "disallowed"), ("tdmrep", "tdm-reservation=1"),
            ("tdmrep", "tdm-policy=https://x.test/p")} <= closed
    opened = {(s.signal, s.value) for s in p.signals_for("http://site.test/open/a.txt", T0)}
    assert ("tdmrep", "tdm-reservation=0") in opened and ("ai_txt", "allowed") in opened


def test_tdmrep_first_matching_rule_wins_and_bad_files_are_invalid():
    rules = TdmRep.parse(b'[{"location": "/a/*", "tdm-reservation": 0}, {"location": "/", "tdm-reservation": 1}]')
    assert rules.rule_for("http://h.test/a/x").reservation == 0
    assert rules.rule_for("http://h.test/b").reservation == 1
    with pytest.raises(TdmRepError):
        TdmRep.parse(b"<html>not json</html>")
    f = classify_fetch("http://h", "tdmrep.json", "http://h/.well-known/tdmrep.json", T0, status=200, body=b"{oops")
    assert f.state == "invalid"


def test_ai_txt_served_as_html_is_a_soft_404():
    f = classify_fetch("http://h", "ai.txt", "http://h/ai.txt", T0, status=200, body=b"<html>",
                       content_type="text/html; charset=utf-8")
    assert f.state == "missing"


# --- page signals ---------------------------------------------------------------------------------

def test_header_signals_split_directives_and_scope_agents():
    headers = {"x-robots-tag": ("noai, noimageai", "GPTBot: noai", "googlebot: noindex"),
               "content-usage": ("train-ai=n",), "tdm-reservation": ("1",), "tdm-policy": ("https://p.test",)}
    got = {(s.signal, s.agent, s.value) for s in header_signals("http://h.test/a", headers, T0)}
    assert {("x_robots_tag", None, "noai"), ("x_robots_tag", None, "noimageai"),
            ("x_robots_tag", "GPTBot", "noai"), ("x_robots_tag", "googlebot", "noindex"),
            ("content_usage", None, "train-ai=n"), ("tdmrep", None, "tdm-reservation=1"),
            ("tdmrep", None, "tdm-policy=https://p.test")} == got


def test_meta_signals_read_robots_agent_names_and_tdmrep():
    metas = [("robots", "noindex, noai"), ("gptbot", "noai"), ("description", "noai in a description"),
             ("tdm-reservation", "1")]
    got = {(s.signal, s.agent, s.value) for s in meta_signals("http://h/a", metas, frozenset({"gptbot"}), T0)}
    assert got == {("meta_robots", None, "noindex"), ("meta_robots", None, "noai"),
                   ("meta_robots", "gptbot", "noai"), ("tdmrep", None, "tdm-reservation=1")}
    assert robots_directives("max-snippet: 20, noai") == [(None, "max-snippet:20"), (None, "noai")]


# --- licenses ---------------------------------------------------------------------------------------

def page_html(head: str = "", body: str = "", footer: str = "") -> str:
    return (f"<html><head><title>t</title>{head}</head><body><main><article>{PROSE}{body}</article></main>"
            f"<footer>{footer}</footer></body></html>")


@pytest.mark.parametrize("markup, source, spdx", [
    (page_html(footer='<a rel="license" href="https://creativecommons.org/licenses/by/4.0/">x</a>'), "rel_license", "CC-BY-4.0"),
    (page_html(head='<link rel="license" href="https://creativecommons.org/licenses/by-sa/4.0/">'), "link_rel_license", "CC-BY-SA-4.0"),
    (page_html(head='<script type="application/ld+json">{"@graph": [{"license": {"@id": "https://creativecommons.org/publicdomain/zero/1.0/"}}]}</script>'), "jsonld", "CC0-1.0"),
    (page_html(head='<meta name="DC.rights" content="CC BY-NC 4.0">'), "dcterms", "CC-BY-NC-4.0"),
    (page_html(head='<meta property="og:license" content="https://opensource.org/licenses/MIT">'), "dcterms", "MIT"),
    (page_html(footer='<a href="https://creativecommons.org/licenses/by/3.0/de/">CC</a>'), "footer_link", "CC-BY-3.0-DE"),
    (page_html(footer="<p>&copy; 2024 Foo GmbH. Alle Rechte vorbehalten.</p>"), "copyright_notice", "LicenseRef-all-rights-reserved"),
])
def test_license_sources(markup, source, spdx):
    hits = find_licenses(html_root(markup), "https://h.test/a")
    assert (source, spdx, False) in {(h.source, h.license, h.in_body) for h in hits}


def test_license_links_in_the_article_body_are_evidence_only():
    markup = page_html(body='<p>Compare <a href="https://creativecommons.org/licenses/by-nd/4.0/">CC BY-ND</a>. '
                            'Many authors keep all rights reserved.</p>')
    hits = find_licenses(html_root(markup), "https://h.test/a")
    assert [(h.source, h.license, h.in_body) for h in hits] == [("body_link", "CC-BY-ND-4.0", True)]


def test_nested_json_ld_licenses_are_not_the_page_license():
    markup = page_html(head='<script type="application/ld+json">{"@type": "Article", "image": '
                            '{"license": "https://creativecommons.org/licenses/by/4.0/"}}</script>')
    assert find_licenses(html_root(markup), "https://h.test/a") == []


# --- media and links ----------------------------------------------------------------------------------

def test_media_discovery_on_pages():
    markup = page_html(body='<audio src="a/talk.flac"></audio><video><source src="/v.webm" type="video/webm">'
                            '</video><picture><source srcset="x.webp"></picture><a href="ep.mp3">mp3</a>'
                            '<meta property="og:audio" content="https://cdn.test/o.ogg">')
    got = {(m.url, m.kind, m.mime_type) for m in find_media(html_root(markup), "https://h.test/dir/p.html")}
    assert got == {("https://h.test/dir/a/talk.flac", "audio", "audio/flac"),
                   ("https://h.test/v.webm", "video", "video/webm"),
                   ("https://h.test/dir/ep.mp3", "link", "audio/mpeg"),
                   ("https://cdn.test/o.ogg", "audio", "audio/ogg")}


def test_a_media_link_with_path_parameters_is_media():
    markup = page_html(body='<a href="/files/talk.MP3;jsessionid=1">talk</a><a href="/p.html;jsessionid=1.mp3">no</a>')
    got = {(m.url, m.kind, m.mime_type) for m in find_media(html_root(markup), "https://h.test/dir/p.html")}
    assert got == {("https://h.test/files/talk.MP3;jsessionid=1", "link", "audio/mpeg")}


def test_podcast_feed_enclosures_carry_the_feed_license():
    feed = b"""<?xml version="1.0"?><rss version="2.0" xmlns:creativeCommons="http://backend.userland.com/creativeCommonsRssModule">
      <channel><title>p</title><creativeCommons:license>https://creativecommons.org/licenses/by-sa/4.0/</creativeCommons:license>
      <item><link>/ep1.html</link><enclosure url="/ep1.mp3" type="audio/mpeg" length="1"/></item></channel></rss>"""
    media, pages = feed_enclosures(feed, "https://h.test/feed.xml")
    assert [(m.url, m.kind, m.page_url, m.license) for m in media] == [
        ("https://h.test/ep1.mp3", "enclosure", "https://h.test/ep1.html", "CC-BY-SA-4.0")]
    assert pages == ["https://h.test/ep1.html"]


def test_links_follow_scrapy_rules_and_skip_media():
    from scrapy.linkextractors import IGNORED_EXTENSIONS as scrapy_ignored

    assert IGNORED_EXTENSIONS == frozenset(scrapy_ignored)  # our copy keeps up with Scrapy's
    markup = page_html(head='<base href="https://h.test/base/"><link rel="alternate" type="application/rss+xml" href="/f.xml">',
                       body='<a href="b.html#frag">b</a><a href="b.html">b</a><a href="x.pdf">x</a>'
                            '<a href="s.flac">s</a><a href="mailto:a@b">m</a><a href="/c?b=2&a=1">c</a>')
    root = html_root(markup)
    links, feeds = extract_links(root, base_of(root, "https://h.test/page.html"))
    assert links == ("https://h.test/base/b.html", "https://h.test/c?a=1&b=2")
    assert feeds == ("https://h.test/f.xml",)


# --- decoding ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, encoding, content_type", [
    ("<p>Le caf\u00e9 est tr\u00e8s bon, d\u00e9j\u00e0 vu \u00e0 l'\u00e9t\u00e9.</p>", "cp1252", "text/html"),
    ("<p>\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u042d\u0442\u043e \u0442\u0435\u0441\u0442\u043e\u0432\u0430\u044f \u0441\u0442\u0440\u0430\u043d\u0438\u0446\u0430 \u043d\u0430 \u0440\u0443\u0441\u0441\u043a\u043e\u043c.</p>", "cp1251", None),
    ("<p>Gr\u00fc\u00dfe aus M\u00fcnchen</p>", "latin-1", "text/html; charset=ISO-8859-1"),
    ("<meta charset='windows-1251'><p>\u041f\u0440\u0438\u0432\u0435\u0442</p>", "cp1251", "text/html"),
    ("<p>\u2713 caf\u00e9</p>", "utf-8", None),
])
def test_declared_and_undeclared_charsets_decode(text, encoding, content_type):
    assert decode_html(text.encode(encoding), content_type)[1] == text


# --- a page, end to end without a crawler ----------------------------------------------------------

def test_analysis_and_document_decide_license_and_consent():
    markup = page_html(head='<meta name="robots" content="noimageai"><meta name="author" content="Ann Lee">',
                       footer='<a rel="license" href="https://creativecommons.org/licenses/by/4.0/">CC BY</a>')
    analysis = analyze(PageJob("https://h.test/a.html", markup.encode(), "text/html"))
    assert analysis.error is None and "customs house" in analysis.text
    page = FetchedPage("https://h.test/a.html", 200, T0, {"content-usage": ("train-ai=y",)}, "text/html", 100)
    agents = AgentLists(TRAINING, frozenset(a.casefold() for a in TRAINING), frozenset(a.casefold() for a in TRAINING))
    pending = build_document(page, analysis, policy("User-agent: GPTBot\nDisallow: /b/\n"), agents)
    doc = pending.doc
    assert (doc.license, doc.consent) == ("CC-BY-4.0", "granted")  # noimageai is not a text reservation
    assert "content_usage=train-ai=y" in doc.consent_evidence and "license=CC-BY-4.0" in doc.consent_evidence
    assert pending.fetch.outcome == "document" and pending.fetch.doc_id == doc.doc_id
    blocked = build_document(FetchedPage("https://h.test/b/x.html", 200, T0, {}, "text/html", 1), analysis,
                             policy("User-agent: GPTBot\nDisallow: /b/\n"), agents).doc
    assert blocked.consent == "opted_out" and blocked.consent_evidence.startswith("robots_txt[GPTBot]=disallowed")


def test_a_page_without_text_is_an_error_of_its_own():
    analysis = analyze(PageJob("https://h.test/e", b"<html><head><title>Only a title</title></head><body><img src=\"a.png\"></body></html>", "text/html"))
    assert analysis.text is None and analysis.error == "no main text extracted" and analysis.error_outcome == "skipped"


# --- seeds, user agent ------------------------------------------------------------------------------------

def test_invalid_seed_lines_are_named(tmp_path):
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("# comment\nhttps://a.test/\n\nexample.org/page\nftp://x.test/\nhttps://a.test/\n")
    valid, invalid = parse_seeds(["http://b.test/x", "not a url"], seeds)
    assert [s.url for s in valid] == ["http://b.test/x", "https://a.test/"]
    messages = [i.message() for i in invalid]
    assert messages[0].startswith("argument 2: 'not a url'")
    assert "seeds.txt line 4" in messages[1] and "write https://example.org/page" in messages[1]
    assert "seeds.txt line 5" in messages[2]
    assert crawl_key(valid) == crawl_key(list(reversed(valid)))


def test_the_user_agent_is_honest():
    from crawl.config import CrawlSettings

    ua = CrawlSettings(contact="https://corpus.example/contact").agent_string
    assert ua.startswith("provenance-crawler/") and "+https://corpus.example/contact" in ua
    assert "robots.txt" in ua
    assert CrawlSettings(user_agent="MyBot/1.0").agent_string == "MyBot/1.0"
    with pytest.raises(InputError, match="--max-pages"):
        CrawlSettings(max_pages=0)


# --- the local site -----------------------------------------------------------------------------------

def test_local_site_serves_files_with_extra_headers(tmp_path):
    (tmp_path / "a.html").write_text("<html>a</html>")
    (tmp_path / "_secret.txt").write_text("hidden")
    (tmp_path / "z.html.gz").write_bytes(gzip.compress(b"<html>z</html>"))
    (tmp_path / "_headers").write_text("/a.html\n  X-Robots-Tag: noai\n/gone\n  X-Localsite-Status: 410\n"
                                       "  X-Localsite-Body: gone\n/z.html.gz\n  Content-Type: text/html\n"
                                       "  Content-Encoding: gzip\n")
    with LocalSite(tmp_path) as site:
        with urllib.request.urlopen(site.url("/a.html")) as r:
            assert r.headers["X-Robots-Tag"] == "noai" and r.read() == b"<html>a</html>"
        for path, code in (("/gone", 410), ("/_secret.txt", 404), ("/_headers", 404)):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(site.url(path))
            assert err.value.code == code
        with urllib.request.urlopen(site.url("/z.html.gz")) as r:
            assert r.headers["Content-Encoding"] == "gzip" and gzip.decompress(r.read()) == b"<html>z</html>"
        assert site.requested[0] == "/a.html"
    with pytest.raises(ValueError, match="line 1"):
        parse_headers_file("  Orphan: header\n")


# --- state, pool, sink -------------------------------------------------------------------------------

def test_state_pending_is_admitted_minus_done_and_survives_a_cut_line(tmp_path):
    state, mode = CrawlState.prepare(tmp_path / "st", resume=False, seeds=["http://a.test/"])
    assert mode == "fresh"
    log = state.admission_log()
    log.append(["0\tpage\thttp://a.test/", "1\tpage\thttp://a.test/b?y=1&x=2", "1\tpage\thttp://a.test/c"])
    log.close()
    with open(tmp_path / "st" / "admitted.log", "a") as fh:
        fh.write("1\tpage\thttp://a.test/cut-by-a-ki")  # no newline: a write cut by a kill
    done = state.done_log()
    done.append(["http://a.test/", "http://a.test/b?x=2&y=1"])
    done.close()
    assert [a.url for a in state.pending()] == ["http://a.test/c"]
    state.write_status(status="running", pid=999999999)
    _, mode = CrawlState.prepare(tmp_path / "st", resume=True, seeds=[])
    assert mode == "recover"
    state.write_status(status="stopped", clean=True)
    assert CrawlState.prepare(tmp_path / "st", resume=True, seeds=[])[1] == "clean"
    state.write_status(status="finished", run_id="r1")
    with pytest.raises(InputError, match="nothing to resume"):
        CrawlState.prepare(tmp_path / "st", resume=True, seeds=[])
    with pytest.raises(InputError, match="without --resume"):
        CrawlState.prepare(tmp_path / "none", resume=True, seeds=[])


def test_pool_stops_a_page_that_takes_too_long_and_goes_on():
    # 300,000 paragraphs take trafilatura about 20 s (an unloaded core), far beyond the deadline;
    # the small page takes milliseconds, far within it even on a busy machine. The deadline counts
    # from when the worker is ready, so start-up time never counts.
    slow = PageJob("https://h.test/slow", b"<html><body>" + b"<p>lorem ipsum dolor sit amet</p>" * 300_000
                   + b"</body></html>", "text/html")
    fast = PageJob("https://h.test/fast", page_html().encode(), "text/html")
    with AnalysisPool(1, timeout_s=3) as pool:
        results = dict(pool.analyze_all([("slow", slow), ("fast", fast)]))
        assert "longer than 3 s" in results["slow"].error
        assert results["fast"].error is None and "customs house" in results["fast"].text
        assert pool.timeouts == 1


def test_sink_keeps_rows_while_the_ledger_is_locked(workspace):
    ledger = Ledger(workspace)
    run = ledger.start_run("test")
    sink = LedgerSink(workspace, run.run_id, flush_items=1, lock_wait_s=0.3)
    sink.add_fetches([FetchRecord(url="http://a.test/x", outcome="error", fetched_at=T0, reason="HTTP 500")])
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from provenance.ledger import Ledger
        with Ledger({str(workspace.root)!r}).writer():
            print("locked", flush=True)
            time.sleep(3)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert sink.flush() is False and sink.counts.lock_waits == 1
    finally:
        holder.wait(timeout=30)
    assert sink.flush() is True
    assert ledger.query("SELECT url, outcome FROM fetches").to_pylist() == [{"url": "http://a.test/x", "outcome": "error"}]
