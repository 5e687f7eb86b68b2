"""Hostile input for the crawler: huge, binary, malformed, deeply nested and compressed files.

One crawl (in a child process, as in tests/test_crawl.py) of three hostile origins served by the
test on 127.0.0.1, into a workspace that already holds documents of an earlier crawl:

* ``main``: a 10 MB robots.txt (with a backtracking trap line ``/*a*a*...*b`` and rules for our
  crawler at its start), a tdmrep.json of 100,000 nested arrays, pages with malformed, deeply
  nested, huge and invalid-Unicode JSON-LD, a page of 100,000 nested tags, a sitemap with a
  broken URL, a compressed sitemap that is a gzip bomb, and ordinary pages;
* ``binary``: a robots.txt of random bytes and a malformed tdmrep.json;
* ``gzbomb``: a robots.txt that is a gzip bomb (Content-Encoding) and a tdmrep.json of 2 MB.

Each gets a recorded error or skip, or a sane decision (an unreadable robots.txt is recorded as
unreadable and nothing of that site is fetched); the crawl finishes; good pages of the same crawl
and documents of the earlier one are all there. Then the same inputs against the parsers directly,
and property-based tests: the robots.txt, TDMRep, header/meta and license parsers never raise.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import random
import re
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawl.analysis import PageJob, analyze
from crawl.domainfiles import MAX_FILE_BYTES, DomainPolicy, classify_fetch
from crawl.licensing import find_licenses
from crawl.localsite import LocalSite
from provenance.robots import MAX_ROBOTS_BYTES, PathPattern, RobotsTxt, decode_robots, normalize_path
from crawl.runner import run_crawl
from crawl.signals import MAX_VALUE_CHARS, SIGNAL_HEADERS, header_signals, meta_signals, robots_directives
from crawl.tdmrep import MAX_TDMREP_BYTES, TdmRep, TdmRepError
from provenance.consent import resolve_consent
from provenance.ledger import Ledger
from provenance.workspace import Workspace

T0 = datetime(2026, 1, 1, 12, 0, 0)
TRAINING = frozenset({"GPTBot", "CCBot", "ClaudeBot"})
SETTINGS = {"delay": 0.0, "autothrottle": False, "retry_times": 0, "timeout": 5.0, "workers": 1,
            "flush_seconds": 0.3, "concurrency_per_domain": 4}  # max_bytes: the default 10 MiB
PROSE = " ".join(f"Sentence {k} about the harbour, the lighthouse and the fish market on the quay."
                 for k in range(20))
CC_BY = "https://creativecommons.org/licenses/by/4.0/"
REDOS_LINE = "Disallow: /" + "*a" * 30 + "*b"
ROBOTS_HEAD = (
    "User-agent: *\n"
    "Disallow: /blocked/\n"
    f"{REDOS_LINE}\n"
    "Sitemap: /sitemap.xml\n"
    "Sitemap: /sitemap-bomb.xml.gz\n"
    "\nUser-agent: filler-bot\n"
)
TEN_MB = 10_000_000
A40 = "a" * 40
DEEP = 100_000


def page(title: str, body: str = "", head: str = "") -> str:
    return (f"<!doctype html><html lang=en><head><title>{title}</title>{head}</head><body><article>"
            f"<h1>{title}</h1><p>{PROSE}</p>{body}</article></body></html>")


def jsonld(text: str) -> str:
    return f'<script type="application/ld+json">{text}</script>'


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def ten_mb_robots() -> bytes:
    lines = [ROBOTS_HEAD]
    size, i = len(ROBOTS_HEAD), 0
    while size < TEN_MB:
        line = f"Disallow: /filler/{i:08d}/\n"
        lines.append(line)
        size += len(line)
        i += 1
    return "".join(lines).encode()[:TEN_MB]


def gzip_bomb(n_bytes: int, fill: bytes = b"\0") -> bytes:
    return gzip.compress(fill * n_bytes, 9)


def main_site(root: Path) -> Path:
    links = ["/good/1.html", "/good/2.html", "/good/3.html", "/blocked/page.html", f"/{A40}.html",
             f"/{A40}b.html", "/jsonld/malformed.html", "/jsonld/deep.html", "/jsonld/huge.html",
             "/jsonld/unicode.html", "/deep.html"]
    index = page("Index", "<nav>" + " ".join(f'<a href="{u}">{u}</a>' for u in links) + "</nav>")
    footer = f'<footer><a rel="license" href="{CC_BY}">CC BY 4.0</a></footer>'
    huge_ld = json.dumps({"@type": "Article", "license": CC_BY, "padding": "x" * 1_000_000})
    unicode_ld = '{"@type": "Article", "headline": "Quay \\ud800 news", "license": "CC BY 4.0 \\udc00"}'
    files: dict[str, str | bytes] = {
        "robots.txt": ten_mb_robots(),
        ".well-known/tdmrep.json": "[" * DEEP + "]" * DEEP,
        "index.html": index,
        "good/1.html": page("Good one"), "good/2.html": page("Good two"), "good/3.html": page("Good three"),
        "blocked/page.html": page("Blocked"),
        f"{A40}.html": page("Many a"),  # the trap line needs a 'b' after the a's: allowed
        f"{A40}b.html": page("Many a then b"),  # matched by the trap line: skipped
        "jsonld/malformed.html": page("Malformed JSON-LD", footer, jsonld('{"license": "' + CC_BY + '",,,')),
        "jsonld/deep.html": page("Deep JSON-LD", footer, jsonld("[" * DEEP + "]" * DEEP)),
        "jsonld/huge.html": page("Huge JSON-LD", footer, jsonld(huge_ld)),
        "jsonld/unicode.html": page("Lone surrogates in JSON-LD", "", jsonld(unicode_ld)),
        "deep.html": page("Deep markup", "<div>" * DEEP + "<p>deep text</p>" + "</div>" * DEEP
                          + '<meta name="robots" content="noai">'),
        "orphan.html": page("Only in the sitemap"),
        "sitemap.xml": ('<?xml version="1.0" encoding="UTF-8"?>\n'
                        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                        "<url><loc>http://[broken-ipv6/page.html</loc></url>"
                        "<url><loc>/orphan.html</loc></url></urlset>"),
        "sitemap-bomb.xml.gz": gzip_bomb(60_000_000, b"<url><loc>/x</loc></url>"),
    }
    return write(root, files)


def binary_site(root: Path) -> Path:
    rng = random.Random(7)
    return write(root, {
        "robots.txt": bytes(rng.randrange(256) for _ in range(4096)),
        ".well-known/tdmrep.json": '[{"location": "/", "tdm-reservation": 1,,]',
        "index.html": page("Behind a binary robots.txt"),
    })


def gzbomb_site(root: Path) -> Path:
    rules = [{"location": f"/section-{i}/*", "tdm-reservation": 1} for i in range(40_000)]
    write(root, {
        "robots.txt": gzip_bomb(50_000_000),
        ".well-known/tdmrep.json": json.dumps(rules),
        "index.html": page("Behind a robots.txt that is a gzip bomb"),
        "_headers": "/robots.txt\n  Content-Type: text/plain\n  Content-Encoding: gzip\n",
    })
    return root


def rows(ws: Workspace, sql: str) -> list[dict]:
    return Ledger(ws).query(sql).to_pylist()


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "/"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """An earlier crawl's documents, then one crawl of the three hostile origins."""
    tmp = tmp_path_factory.mktemp("hostile")
    ws = Workspace(tmp / "ws")
    earlier_dir = write(tmp / "earlier", {"index.html": page("Earlier", '<a href="/b.html">b</a>'),
                                          "b.html": page("Earlier b")})
    with LocalSite(earlier_dir) as earlier:
        first = run_crawl(ws, [earlier.url("/")], SETTINGS)
    before = rows(ws, "SELECT doc_id, url, text_sha256, shard FROM documents")
    sites = {"main": main_site(tmp / "main"), "binary": binary_site(tmp / "binary"),
             "gzbomb": gzbomb_site(tmp / "gzbomb")}
    with LocalSite(sites["main"]) as main, LocalSite(sites["binary"]) as binary, \
            LocalSite(sites["gzbomb"]) as gzbomb:
        served = {"main": main, "binary": binary, "gzbomb": gzbomb}
        summary = run_crawl(ws, [s.url("/") for s in served.values()], SETTINGS, timeout_s=240)
        origins = {name: s.base_url for name, s in served.items()}
        requested = {name: s.requested for name, s in served.items()}
    return ws, first, before, summary, origins, requested


def of_origin(items: list[dict], origin: str, key: str = "url") -> dict[str, dict]:
    return {path_of(r[key]): r for r in items if r[key].startswith(origin + "/")}


def test_the_hostile_crawl_finishes_and_keeps_what_was_stored(hostile):
    ws, first, before, summary, _, _ = hostile
    assert first.documents == 2 and len(before) == 2
    assert summary.status == "finished", summary
    log = Path(summary.log_file).read_text(encoding="utf-8")
    assert "Traceback" not in log and "] ERROR:" not in log  # every input was handled, none crashed a step
    after = {r["doc_id"]: r for r in rows(ws, "SELECT doc_id, url, text_sha256, shard FROM documents")}
    for doc in before:  # the earlier crawl's documents, and their text, are untouched
        assert after[doc["doc_id"]] == doc
    texts = {r["doc_id"] for r in rows(ws, "SELECT doc_id FROM corpus")}
    assert set(after) <= texts
    runs = rows(ws, "SELECT status FROM runs ORDER BY started_at")
    assert [r["status"] for r in runs] == ["finished", "finished"]


def test_good_pages_of_a_hostile_site_are_stored(hostile):
    ws, _, _, _, origins, _ = hostile
    docs = of_origin(rows(ws, "SELECT url, license, title FROM documents"), origins["main"])
    assert {"/", "/good/1.html", "/good/2.html", "/good/3.html", "/orphan.html", f"/{A40}.html",
            "/jsonld/malformed.html", "/jsonld/deep.html", "/jsonld/huge.html", "/jsonld/unicode.html"} <= set(docs)
    # a JSON-LD block that cannot be read is no statement; the footer license still counts
    for name in ("malformed", "deep", "huge"):
        assert docs[f"/jsonld/{name}.html"]["license"] == "CC-BY-4.0", name
    findings = [(path_of(f["url"]), f["source"], f["raw_value"])
                for f in rows(ws, "SELECT url, source, raw_value FROM license_findings")
                if f["url"].startswith(origins["main"] + "/")]
    jsonld_found = [(p, raw) for p, source, raw in findings if source == "jsonld"]
    assert jsonld_found == [("/jsonld/unicode.html", "CC BY 4.0 \ufffd")]  # lone surrogate replaced


def test_a_ten_megabyte_robots_txt_is_read_to_the_rfc_limit(hostile):
    ws, _, _, _, origins, requested = hostile
    files = of_origin(rows(ws, "SELECT url, kind, state, reason, n_bytes, body_sha256, body FROM domain_files"),
                      origins["main"])
    robots = files["/robots.txt"]
    assert robots["state"] == "ok" and robots["n_bytes"] == TEN_MB
    assert robots["body_sha256"] == hashlib.sha256(ten_mb_robots()).hexdigest()
    assert f"only the first {MAX_ROBOTS_BYTES}" in robots["reason"]
    assert len(robots["body"]) == MAX_FILE_BYTES
    fetches = of_origin(rows(ws, "SELECT url, outcome, reason FROM fetches"), origins["main"])
    blocked = fetches["/blocked/page.html"]
    assert blocked["outcome"] == "skipped" and "Disallow: /blocked/" in blocked["reason"]
    trapped = fetches[f"/{A40}b.html"]  # the backtracking trap line decided, in linear time
    assert trapped["outcome"] == "skipped" and "*a*a*a" in trapped["reason"]
    assert "/blocked/page.html" not in requested["main"] and f"/{A40}b.html" not in requested["main"]
    evidence = rows(ws, "SELECT max(length(evidence)) AS n FROM consent_signals")[0]["n"]
    assert evidence <= MAX_VALUE_CHARS


def test_hostile_pages_and_sitemaps_get_an_error_row(hostile):
    ws, _, _, _, origins, _ = hostile
    fetches = of_origin(rows(ws, "SELECT url, outcome, reason FROM fetches"), origins["main"])
    deep = fetches["/deep.html"]
    assert deep["outcome"] == "error" and "could not read to the end" in deep["reason"]
    assert "/deep.html" not in of_origin(rows(ws, "SELECT url FROM documents"), origins["main"])
    bomb = fetches["/sitemap-bomb.xml.gz"]
    assert bomb["outcome"] == "error" and "unreadable compressed sitemap" in bomb["reason"]
    sitemap = fetches["/sitemap.xml"]
    assert sitemap["outcome"] == "not_text" and "2 URLs, 1 new" in sitemap["reason"]
    assert not [r for r in rows(ws, "SELECT url FROM fetches") if "broken-ipv6" in r["url"]]


def test_an_invalid_tdmrep_json_is_recorded_and_pages_are_still_stored(hostile):
    ws, _, _, _, origins, _ = hostile
    files = rows(ws, "SELECT url, kind, state, reason FROM domain_files WHERE kind = 'tdmrep.json'")
    by_origin = {name: next(f for f in files if f["url"].startswith(origin + "/")) for name, origin in origins.items()}
    assert by_origin["main"]["state"] == "invalid" and "nested too deeply" in by_origin["main"]["reason"]
    assert by_origin["binary"]["state"] == "invalid" and "not JSON" in by_origin["binary"]["reason"]
    assert by_origin["gzbomb"]["state"] == "invalid" and "larger than" in by_origin["gzbomb"]["reason"]
    signals = rows(ws, "SELECT url, signal, value FROM consent_signals WHERE signal = 'tdmrep'")
    assert {(path_of(s["url"]), s["value"]) for s in signals} == {("/.well-known/tdmrep.json", "invalid")}
    assert len(signals) == 3  # once per origin, as evidence; no page gets a TDMRep decision from it
    main_docs = of_origin(rows(ws, "SELECT url, consent FROM documents"), origins["main"])
    assert main_docs["/good/1.html"]["consent"] == "unspecified"


@pytest.mark.parametrize("name, why", [("binary", "binary content"), ("gzbomb", "decompression")])
def test_an_unreadable_robots_txt_is_recorded_and_nothing_is_fetched(hostile, name, why):
    ws, _, _, _, origins, requested = hostile
    origin = origins[name]
    robots = of_origin(rows(ws, "SELECT url, state, reason FROM domain_files"), origin)["/robots.txt"]
    assert robots["state"] == "unreadable" and why in robots["reason"]
    fetches = of_origin(rows(ws, "SELECT url, outcome, reason FROM fetches"), origin)
    assert set(fetches) == {"/"}
    assert fetches["/"]["outcome"] == "skipped" and "robots.txt unreadable" in fetches["/"]["reason"]
    signals = of_origin(rows(ws, "SELECT url, signal, value FROM consent_signals"), origin)
    assert signals["/robots.txt"]["value"] == "unreadable"
    assert sorted(requested[name]) == ["/.well-known/tdmrep.json", "/ai.txt", "/robots.txt"]


# --- the same inputs against the parsers ------------------------------------------------------------

def robots_file(body: bytes, kind: str = "robots.txt", **kw):
    return classify_fetch("http://h.test", kind, f"http://h.test/{kind}", T0, status=200, body=body, **kw)


@pytest.mark.timeout(60)  # a backtracking matcher never returns on these (hours, not seconds)
def test_wildcard_patterns_cannot_backtrack():
    trap = PathPattern.of("/" + "*a" * 40 + "*b")
    assert not trap.matches("/" + "a" * 5000)
    assert trap.matches("/" + "a" * 5000 + "b")
    anchored = PathPattern.of("/" + "*a" * 40 + "$")
    assert anchored.matches("/" + "a" * 5000) and not anchored.matches("/" + "a" * 5000 + "c")


def test_binary_robots_txt_is_unreadable_but_latin1_comments_are_text():
    rng = random.Random(3)
    garbage = robots_file(bytes(rng.randrange(256) for _ in range(2048)))
    assert garbage.state == "unreadable" and "binary content" in garbage.reason
    policy = DomainPolicy("http://h.test", [garbage], TRAINING)
    allowed, reason = policy.may_fetch("http://h.test/page", "provenance-crawler")
    assert not allowed and "robots.txt unreadable (binary content" in reason
    signals = policy.signals_for("http://h.test/page", T0)
    assert [(s.signal, s.value) for s in signals] == [("robots_txt", "unreadable")]
    assert resolve_consent(signals, license="CC-BY-4.0").consent == "opted_out"  # never fails open
    assert robots_file(b"\xff\xfeU\x00s\x00e\x00r\x00").state == "unreadable"  # UTF-16: NUL bytes
    latin1 = robots_file("# Caf\xe9 cr\xe8me\nUser-agent: *\nDisallow: /x/\n".encode("latin-1"))
    assert latin1.state == "ok" and latin1.reason is None
    ai = robots_file(bytes(range(256)) * 4, "ai.txt", content_type="text/plain")
    assert ai.state == "unreadable"


def test_a_ten_megabyte_robots_txt_keeps_its_size_and_hash():
    body = ten_mb_robots()
    f = robots_file(body)
    assert f.state == "ok" and f.n_bytes == TEN_MB and f.sha256 == hashlib.sha256(body).hexdigest()
    assert len(f.body) == MAX_FILE_BYTES
    policy = DomainPolicy("http://h.test", [f], TRAINING)
    assert not policy.may_fetch("http://h.test/blocked/x", "provenance-crawler")[0]
    assert policy.may_fetch(f"http://h.test/{A40}.html", "provenance-crawler")[0]
    assert policy.sitemaps == ("/sitemap.xml", "/sitemap-bomb.xml.gz")
    assert len(decode_robots(body)) <= MAX_ROBOTS_BYTES


@pytest.mark.parametrize("body, state, why", [
    (b"[" * DEEP + b"]" * DEEP, "invalid", "nested too deeply"),
    (b'{"location": ' * 10_000, "invalid", "nested too deeply"),
    (b'[{"location": "/", "tdm-reservation": 1,,]', "invalid", "not JSON"),
    (b"\xff\xfe\x00garbage", "invalid", "not JSON"),
    (json.dumps([{"location": "/", "tdm-policy": "x" * MAX_TDMREP_BYTES}]).encode(), "invalid", "larger than"),
    (b'"just a string"', "invalid", "expected a JSON array"),
])
def test_hostile_tdmrep_json_is_invalid_with_a_reason(body, state, why):
    f = classify_fetch("http://h.test", "tdmrep.json", "http://h.test/.well-known/tdmrep.json", T0,
                       status=200, body=body)
    assert f.state == state and why in f.reason
    with pytest.raises(TdmRepError):
        TdmRep.parse(body)
    policy = DomainPolicy("http://h.test", [f], TRAINING)
    assert [(s.signal, s.value) for s in policy.unreadable_signals(T0)] == [("tdmrep", "invalid")]
    assert policy.signals_for("http://h.test/page", T0) == []


def test_tdmrep_rules_with_deep_or_invalid_values_still_read():
    deep_value = "[" * 400 + "]" * 400  # deep enough to stress, shallow enough to parse
    body = ('[{"location": "/a/*", "tdm-reservation": 1, "tdm-policy": "https://p.example/\\ud800", '
            f'"extra": {deep_value}}}]').encode()
    rule = TdmRep.parse(body).rule_for("http://h.test/a/page")
    assert rule is not None and rule.reservation == 1
    assert rule.policy == "https://p.example/\ufffd"
    rule.raw.encode("utf-8")  # writable: no lone surrogate left
    policy = DomainPolicy("http://h.test", [classify_fetch("http://h.test", "tdmrep.json", "http://h.test/x", T0,
                                                           status=200, body=body)], TRAINING)
    assert all(len(s.evidence) <= MAX_VALUE_CHARS for s in policy.signals_for("http://h.test/a/page", T0))


@pytest.mark.parametrize("block", [
    '{"license": "' + CC_BY + '",,,',
    "[" * DEEP + "]" * DEEP,
    '{"@graph": ' * 5000 + "{}" + "}" * 5000,
    '{"license": ' + "[" * 900 + '"' + CC_BY + '"' + "]" * 900 + "}",
    json.dumps({"license": CC_BY, "padding": "x" * 1_000_000}),
])
def test_hostile_json_ld_is_skipped_and_the_page_analyzed(block):
    markup = page("JSON-LD", f'<footer><a rel="license" href="{CC_BY}">terms</a></footer>', jsonld(block))
    analysis = analyze(PageJob("http://h.test/page.html", markup.encode(), "text/html"))
    assert analysis.error is None and analysis.text and "harbour" in analysis.text
    assert [(h.source, h.license) for h in analysis.licenses] == [("rel_license", "CC-BY-4.0")]


def test_json_ld_with_lone_surrogates_gives_writable_findings():
    block = '{"license": "CC BY 4.0 \\ud800", "headline": "\\ud800", "author": {"name": "\\udfff"}}'
    analysis = analyze(PageJob("http://h.test/page.html", page("T", "", jsonld(block)).encode(), "text/html"))
    assert analysis.error is None
    assert [h.raw_value for h in analysis.licenses] == ["CC BY 4.0 \ufffd"]
    for value in (analysis.title, analysis.author, analysis.text):
        (value or "").encode("utf-8")


def test_html_nested_100000_deep_is_an_error_not_a_partial_page():
    markup = page("Deep", "<div>" * DEEP + "<p>deep</p>" + "</div>" * DEEP + '<meta name="robots" content="noai">')
    analysis = analyze(PageJob("http://h.test/deep.html", markup.encode(), "text/html"))
    assert analysis.text is None and analysis.error_outcome == "error"
    assert "could not read to the end" in analysis.error and "consent signal" in analysis.error


def test_a_document_the_ledger_refuses_costs_only_itself(workspace):
    """Should a record the ledger cannot store still slip through (a lone surrogate in a title is
    made here by hand), its batch is written one document at a time: the good pages are stored,
    the bad one is an error row, and the URLs are all marked done."""
    from crawl.page import AgentLists, FetchedPage, build_document
    from crawl.sink import LedgerSink

    ledger = Ledger(workspace)
    run = ledger.start_run("test")
    done: list[str] = []
    sink = LedgerSink(workspace, run.run_id, flush_items=1000, on_committed=done.extend)
    agents = AgentLists(TRAINING, frozenset(), frozenset())
    for name in ("a", "b", "c"):
        url = f"http://h.test/{name}.html"
        analysis = analyze(PageJob(url, page(f"Page {name}").encode(), "text/html"))
        pending = build_document(FetchedPage(url, 200, T0, {}, "text/html", 100), analysis, None, agents)
        if name == "b":
            pending = dataclasses.replace(pending, doc=dataclasses.replace(pending.doc, title="bad \ud800"))
        sink.add_document(pending, [url])
    assert sink.flush() is True
    assert sink.counts.documents == 2 and sink.counts.refused == 1
    assert sorted(done) == [f"http://h.test/{n}.html" for n in "abc"]
    stored = ledger.query("SELECT url FROM documents ORDER BY url").to_pylist()
    assert [r["url"] for r in stored] == ["http://h.test/a.html", "http://h.test/c.html"]
    refused = ledger.query("SELECT url, outcome, reason FROM fetches WHERE outcome = 'error'").to_pylist()
    assert [r["url"] for r in refused] == ["http://h.test/b.html"]
    assert "the ledger refused to store this page" in refused[0]["reason"]
    assert ledger.query("SELECT count(*) AS n FROM corpus").to_pylist()[0]["n"] == 2


def test_a_response_the_spider_fails_on_still_gets_its_fetch_row(workspace, tmp_path):
    """The spider's callbacks record every hostile input above themselves; should one still raise
    (a bug), Scrapy logs it and the pipeline records an error row and marks the URL done."""
    from scrapy import Request
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler
    from twisted.python.failure import Failure

    from crawl.middlewares import ADMIT_META
    from crawl.pipelines import LedgerPipeline
    from crawl.state import CrawlState

    run = Ledger(workspace).start_run("test")
    state_root = tmp_path / "state"
    crawler = get_crawler(settings_dict={"PROVENANCE_WORKSPACE": str(workspace.root), "PROVENANCE_RUN_ID": run.run_id,
                                         "PROVENANCE_STATE_DIR": str(state_root)})
    crawler.stats.open_spider()
    pipeline = LedgerPipeline.from_crawler(crawler)
    url = "http://h.test/odd.html"
    response = HtmlResponse(url, status=200, body=b"<html></html>", request=Request(url, meta={ADMIT_META: url}))
    try:
        raise ValueError("an unforeseen input")
    except ValueError:
        failure = Failure()
    pipeline.spider_error(failure, response)
    pipeline.close_spider()
    rows_ = Ledger(workspace).query("SELECT url, status, outcome, reason FROM fetches").to_pylist()
    assert rows_ == [{"url": url, "status": 200, "outcome": "error",
                      "reason": "crawler error processing the response: ValueError: an unforeseen input "
                                "(see crawl.log)"}]
    assert CrawlState(state_root).done() == {url}


# --- property-based: the parsers never raise ----------------------------------------------------

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROBOTS_WORDS = st.sampled_from([
    "User-agent", "user-agent", "Useragent", "Allow", "Disallow", "disalow", "Sitemap", "Crawl-delay",
    "Content-Signal", "Content-Usage", ":", " ", "*", "$", "/", "#", "%", "%2", "%zz", "%C3%A9", "GPTBot",
    "CCBot", "provenance-crawler", "ai-train=no", "train-ai=n", "1e308", "-1", "nan", "inf", "\t", "\r",
    "\n", "\ufeff", "\x00", "é", "\ud800",
])
ROBOTS_TEXT = st.one_of(st.text(), st.lists(ROBOTS_WORDS, max_size=80).map("".join))
PATHS = st.one_of(st.text().map(lambda t: "/" + t), st.lists(ROBOTS_WORDS, max_size=10).map(lambda w: "/" + "".join(w)))
AGENTS = st.one_of(st.text(max_size=20), st.sampled_from(["*", "GPTBot", "gptbot/1.0", "provenance-crawler", ""]))


@PROPERTY
@given(ROBOTS_TEXT, AGENTS, PATHS)
def test_robots_parser_never_raises_on_text(text, agent, path):
    robots = RobotsTxt.parse(text)
    robots.decide(agent, path)
    robots.decide(agent, "http://h.test" + path.replace("#", "%23"))
    robots.crawl_delay(agent)
    robots.extensions_for(agent, "http://h.test/x")
    robots.named_agents()


@PROPERTY
@given(st.one_of(st.binary(max_size=2000), ROBOTS_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))),
       st.sampled_from(["robots.txt", "ai.txt"]), PATHS)
def test_robots_and_ai_txt_never_raise_on_bytes(body, kind, path):
    f = robots_file(body, kind, content_type="text/plain")
    assert f.state in ("ok", "unreadable")
    policy = DomainPolicy("http://h.test", [f], TRAINING)
    url = "http://h.test" + path.replace("#", "%23")
    policy.may_fetch(url, "provenance-crawler")
    signals = policy.signals_for(url, T0) + policy.unreadable_signals(T0)
    assert all(len(s.value) <= MAX_VALUE_CHARS and len(s.evidence) <= MAX_VALUE_CHARS for s in signals)
    resolve_consent(signals, training_agents=TRAINING)


@PROPERTY
@given(st.text(), st.text())
def test_path_patterns_match_like_the_regular_expression_they_replace(pattern, path):
    """The linear matcher agrees with robots.txt's regex semantics (``*`` any sequence, a final
    ``$`` the end), on inputs small enough for the regex."""
    pattern, path = "/" + pattern[:12], "/" + path[:30]
    text = pattern.strip(" \t")  # RFC 9309 whitespace
    anchored = text.endswith("$")
    body = normalize_path(text[:-1] if anchored else text, pattern=True).replace("$", "%24")
    regex = ".*".join(re.escape(p) for p in body.split("*")) + (r"\Z" if anchored else "")
    expected = re.match(regex, normalize_path(path), re.DOTALL) is not None
    assert PathPattern.of(pattern).matches(normalize_path(path)) == expected


JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(),
              st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)),
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(
        st.one_of(st.sampled_from(["location", "tdm-reservation", "tdm-policy", "license", "@graph", "url",
                                   "name", "@id"]), st.text(max_size=10)), children, max_size=5)),
    max_leaves=30,
)
RULE = st.fixed_dictionaries({"location": st.one_of(PATHS, st.text())},
                             optional={"tdm-reservation": JSON, "tdm-policy": JSON})


@PROPERTY
@given(st.one_of(st.binary(max_size=2000), JSON.map(json.dumps).map(str.encode),
                 st.lists(RULE, max_size=5).map(json.dumps).map(str.encode)), PATHS)
def test_tdmrep_parser_raises_only_its_own_error(body, path):
    try:
        rules = TdmRep.parse(body)
    except TdmRepError:
        return
    rules.rule_for("http://h.test" + path.replace("#", "%23"))
    for rule in rules.rules:
        rule.raw.encode("utf-8")
        (rule.policy or "").encode("utf-8")
        assert rule.reservation in (None, 0, 1)


@PROPERTY
@given(st.dictionaries(st.sampled_from([*SIGNAL_HEADERS, "content-type"]), st.lists(st.text(), max_size=3)),
       st.lists(st.tuples(st.one_of(st.sampled_from(["robots", "gptbot", "tdm-reservation", "tdm-policy"]),
                                    st.text(max_size=10)), st.text()), max_size=5))
def test_header_and_meta_signals_never_raise(headers, metas):
    signals = header_signals("http://h.test/p", headers, T0, "doc")
    signals += meta_signals("http://h.test/p", metas, frozenset({"gptbot"}), T0, "doc")
    assert all(len(s.value) <= MAX_VALUE_CHARS for s in signals)
    for value in headers.get("x-robots-tag", []):
        robots_directives(value)
    resolve_consent(signals, training_agents=TRAINING)


LICENSE_MARKUP = st.sampled_from([
    '<a rel="license" href="{}">x</a>', '<link rel="license" href="{}">', '<meta name="dc.rights" content="{}">',
    '<meta name="copyright" content="{}">', "<footer>{}</footer>", '<div class="footer"><a href="{}">l</a></div>',
    '<script type="application/ld+json">{}</script>', '<a href="https://creativecommons.org/{}">cc</a>',
])


@PROPERTY
@given(st.lists(st.tuples(LICENSE_MARKUP, st.one_of(st.text(st.characters(exclude_categories=("Cs", "Cc"))),
                                                     JSON.map(json.dumps))), max_size=6))
def test_license_detection_never_raises(parts):
    from lxml import html

    markup = "<html><body><p>text</p>" + "".join(t.format(v) for t, v in parts) + "</body></html>"
    for hit in find_licenses(html.document_fromstring(markup), "http://h.test/p"):
        hit.raw_value.encode("utf-8")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=3000), st.text(max_size=3000).map(lambda t: t.encode("utf-8", "surrogatepass"))),
       st.sampled_from([None, "text/html", "text/html; charset=utf-16", "text/html; charset=bogus"]))
def test_page_analysis_never_raises(body, content_type):
    analysis = analyze(PageJob("http://h.test/p.html", body, content_type))
    assert (analysis.text is None) == (analysis.error is not None)
