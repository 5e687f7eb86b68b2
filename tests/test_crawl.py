"""`provenance crawl` end to end: real Scrapy crawls (in child processes) of a fixture website
served on 127.0.0.1 by the tests, real ledger, real shards.

The fixture site (tests/fixtures/site, see its README) has one page per consent signal, license
source and trap; the large and compressed traps are generated here.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawl.localsite import LocalSite
from crawl.runner import run_crawl
from provenance.ledger import Ledger
from provenance.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
SITE = REPO / "tests" / "fixtures" / "site"
DEMO_SITE = REPO / "provenance" / "sample" / "site"
FAST = {"delay": 0.0, "autothrottle": False, "retry_times": 0, "timeout": 2.0, "max_bytes": 1_000_000,
        "max_extract_bytes": 200_000, "workers": 1, "flush_seconds": 0.5}

# path -> (license, consent, a piece of the consent evidence)
EXPECTED = {
    "/licenses/rel-license.html": ("CC-BY-4.0", "granted", "license=CC-BY-4.0"),
    "/licenses/link-rel.html": ("CC-BY-SA-4.0", "granted", "license=CC-BY-SA-4.0"),
    "/licenses/jsonld.html": ("CC-BY-SA-4.0", "granted", "license=CC-BY-SA-4.0"),
    "/licenses/dcterms.html": ("CC0-1.0", "granted", "license=CC0-1.0"),
    "/licenses/dc-rights.html": ("CC-BY-NC-4.0", "granted", "license=CC-BY-NC-4.0"),
    "/licenses/footer-link.html": ("CC-BY-4.0", "granted", "license=CC-BY-4.0"),
    "/licenses/reserved.html": ("LicenseRef-all-rights-reserved", "unspecified", None),
    "/traps/license-discussion.html": (None, "unspecified", None),
    "/signals/meta-noai.html": (None, "opted_out", 'meta_robots=noai: <meta name="robots"'),
    "/signals/meta-noimageai.html": ("CC-BY-4.0", "granted", "license=CC-BY-4.0"),
    "/signals/meta-noindex.html": (None, "unspecified", None),
    "/signals/meta-gptbot.html": (None, "opted_out", "meta_robots[gptbot]=noai"),
    "/signals/x-robots-noai.html": (None, "opted_out", "x_robots_tag=noai: X-Robots-Tag: noai"),
    "/signals/x-robots-search.html": (None, "unspecified", None),
    "/signals/tdm-header.html": (None, "opted_out", "tdmrep=tdm-reservation=1: tdm-reservation: 1"),
    "/signals/tdm-meta.html": (None, "opted_out", '<meta name="tdm-reservation" content="1">'),
    "/signals/tdm-allow.html": (None, "granted", "tdmrep=tdm-reservation=0"),
    "/signals/content-usage-n.html": (None, "opted_out", "content_usage=train-ai=n: Content-Usage: train-ai=n"),
    "/signals/content-usage-y.html": (None, "granted", "content_usage=train-ai=y"),
    "/signals/content-signal.html": (None, "opted_out", 'content_signal[*]=search=yes, ai-train=no'),
    "/tdm/reserved.html": (None, "opted_out", "/.well-known/tdmrep.json"),
    "/tdm/open/page.html": (None, "granted", "tdmrep=tdm-reservation=0"),
    "/ai-blocked/page.html": (None, "opted_out", "robots_txt[CCBot]=disallowed"),
    "/ai-txt/page.html": (None, "opted_out", "ai_txt[*]=disallowed"),
    "/orphan.html": (None, "unspecified", None),
    "/media/episode.html": (None, "unspecified", None),
}


def prepare_site(root: Path) -> Path:
    """A copy of the fixture site plus the generated traps (a gzip bomb, a page too large)."""
    shutil.copytree(SITE, root)
    bomb = gzip.compress(b"<html><body>" + b" " * 3_000_000 + b"</body></html>", 9)
    (root / "traps" / "bomb.html").write_bytes(bomb)
    (root / "traps" / "huge.html").write_text(
        "<html><body><article>" + "<p>word word word word word word word word</p>" * 6000 + "</article></body></html>")
    return root


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "/"


def rows(ws: Workspace, sql: str) -> list[dict]:
    return Ledger(ws).query(sql).to_pylist()


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """One crawl of the fixture site, shared by the tests that read its ledger."""
    tmp = tmp_path_factory.mktemp("crawl")
    site_dir = prepare_site(tmp / "site")
    seeds = tmp / "seeds.txt"
    with LocalSite(site_dir) as site:
        seeds.write_text(f"# the fixture site\n{site.url('/')}\nhtp:/broken-seed\n")
        ws = Workspace(tmp / "ws")
        summary = run_crawl(ws, [], {**FAST, "allow_domains": ("localhost", "169.254.169.254")}, seeds_file=seeds)
        requested = site.requested
    return ws, summary, requested


def test_every_page_gets_its_license_and_consent(crawled):
    ws, summary, _ = crawled
    assert summary.status == "finished"
    docs = {path_of(r["url"]): r for r in rows(ws, "SELECT * FROM documents")}
    for path, (license, consent, evidence) in EXPECTED.items():
        doc = docs.get(path)
        assert doc is not None, f"{path} was not stored"
        assert (doc["license"], doc["consent"]) == (license, consent), path
        if evidence:
            assert evidence in doc["consent_evidence"], (path, doc["consent_evidence"])
        assert doc["source_type"] == "web" and doc["n_chars"] > 100


def test_signals_are_kept_with_their_evidence(crawled):
    ws, _, _ = crawled
    signals = rows(ws, "SELECT url, signal, agent, value, evidence, doc_id FROM consent_signals")
    by_page: dict[str, set] = {}
    for s in signals:
        by_page.setdefault(path_of(s["url"]), set()).add((s["signal"], s["agent"], s["value"]))
    assert ("meta_robots", None, "noindex") in by_page["/signals/meta-noindex.html"]  # recorded, no reservation
    assert ("meta_robots", None, "noimageai") in by_page["/signals/meta-noimageai.html"]
    assert ("x_robots_tag", "googlebot", "noindex") in by_page["/signals/x-robots-search.html"]
    assert ("tdmrep", None, "tdm-policy=https://example.org/tdm-policy.json") in by_page["/signals/tdm-header.html"]
    robots = by_page["/ai-blocked/page.html"]
    assert {("robots_txt", "GPTBot", "disallowed"), ("robots_txt", "CCBot", "disallowed"),
            ("robots_txt", "*", "allowed")} <= robots
    assert ("robots_txt", "GPTBot", "allowed") in by_page["/licenses/rel-license.html"]
    evidence = next(s["evidence"] for s in signals if s["signal"] == "robots_txt" and s["agent"] == "GPTBot"
                    and path_of(s["url"]) == "/ai-blocked/page.html")
    assert 'Disallow: /ai-blocked/' in evidence and "sha256" in evidence
    assert all(s["doc_id"] for s in signals if not s["url"].endswith(("/robots.txt", "/ai.txt")))


def test_per_origin_files_are_kept_once_with_their_hash(crawled):
    ws, _, requested = crawled
    files = rows(ws, "SELECT kind, state, status, body_sha256, body FROM domain_files ORDER BY kind")
    assert [(f["kind"], f["state"]) for f in files] == [("ai.txt", "ok"), ("robots.txt", "ok"), ("tdmrep.json", "ok")]
    robots = next(f for f in files if f["kind"] == "robots.txt")
    import hashlib

    assert robots["body_sha256"] == hashlib.sha256((SITE / "robots.txt").read_bytes()).hexdigest()
    assert requested.count("/robots.txt") == 1 and requested.count("/ai.txt") == 1


def test_license_findings_keep_raw_values_and_body_links(crawled):
    ws, _, _ = crawled
    found = rows(ws, "SELECT url, source, raw_value, license, in_body FROM license_findings")
    discussion = [(f["source"], f["license"], f["in_body"]) for f in found
                  if path_of(f["url"]) == "/traps/license-discussion.html"]
    assert sorted(discussion) == [("body_link", "CC-BY-NC-ND-4.0", True), ("body_link", "CC0-1.0", True)]
    jsonld = [f for f in found if path_of(f["url"]) == "/licenses/jsonld.html"]
    assert [(f["source"], f["raw_value"]) for f in jsonld] == [("jsonld", "https://creativecommons.org/licenses/by-sa/4.0/")]


def outcomes(ws: Workspace) -> dict[str, dict]:
    return {path_of(r["url"]) if r["url"].startswith("http") else r["url"]: r
            for r in rows(ws, "SELECT url, status, outcome, reason FROM fetches")}


def test_robots_txt_is_obeyed_for_our_own_agent(crawled):
    ws, _, requested = crawled
    got = outcomes(ws)
    for path, line in (("/private/secret.html", "Disallow: /private/"), ("/no-crawl/page.html", "Disallow: /no-crawl/")):
        assert got[path]["outcome"] == "skipped" and got[path]["status"] is None
        assert "robots.txt disallows provenance-crawler" in got[path]["reason"] and line in got[path]["reason"]
        assert path not in requested


def test_traps_leave_a_fetch_row_and_the_crawl_goes_on(crawled):
    ws, summary, _ = crawled
    got = outcomes(ws)
    expect = {
        "/traps/missing.html": (404, "error", "HTTP 404"),
        "/traps/server-error.html": (500, "error", "HTTP 500"),
        "/traps/loop-a.html": (302, "skipped", "redirected to"),
        "/traps/loop-b.html": (None, "error", "redirect loop"),
        "/traps/timeout.html": (None, "error", "DownloadTimeoutError"),
        "/traps/bomb.html": (None, "error", "during decompression"),
        "/traps/huge.html": (200, "error", "page too large to extract"),
        "/traps/data.json": (200, "not_text", "not HTML (application/json)"),
        "/traps/binary": (200, "not_text", "not HTML (application/octet-stream)"),
        "/sitemap.xml": (200, "not_text", "sitemap (urlset)"),
        "/feed.xml": (200, "not_text", "feed: 2 media enclosures"),
    }
    for path, (status, outcome, reason) in expect.items():
        row = got[path]
        assert (row["status"], row["outcome"]) == (status, outcome), (path, row)
        assert reason in row["reason"], (path, row["reason"])
    bad = got["htp:/broken-seed"]
    assert bad["outcome"] == "error" and "seeds.txt line 3" in bad["reason"]
    assert summary.invalid_seeds == ("seeds.txt line 3: 'htp:/broken-seed' is not a valid seed URL "
                                     "(only http:// and https:// URLs can be crawled)",)


def test_links_to_private_addresses_are_not_followed(crawled):
    ws, _, requested = crawled
    for url in ("http://localhost/admin/", "http://169.254.169.254/latest/meta-data/"):
        row = next(r for r in rows(ws, "SELECT url, outcome, reason FROM fetches") if r["url"] == url)
        assert row["outcome"] == "skipped" and "non-public address" in row["reason"]
    assert "/admin/" not in requested
    assert not [r for r in rows(ws, "SELECT url FROM fetches") if "external.example" in r["url"]]  # out of scope


def test_media_is_recorded_not_downloaded(crawled):
    ws, _, requested = crawled
    media = rows(ws, "SELECT media_url, kind, mime_type, page_url, license, consent FROM media_rights")
    found = {(path_of(m["media_url"]), m["kind"]) for m in media}
    assert {("/media/episode1.mp3", "audio"), ("/media/clips/intro.webm", "video"),
            ("/media/episode1.flac", "link"), ("/media/episode1.mp3", "enclosure"),
            ("/media/episode2.mp3", "enclosure")} == found
    enclosure = next(m for m in media if m["kind"] == "enclosure" and m["media_url"].endswith("episode1.mp3"))
    assert enclosure["license"] == "CC-BY-4.0" and path_of(enclosure["page_url"]) == "/media/episode.html"
    docs = {r["doc_id"] for r in rows(ws, "SELECT doc_id FROM documents")}
    assert {m["page_doc_id"] for m in rows(ws, "SELECT page_doc_id FROM media WHERE kind <> 'enclosure'")} <= docs
    assert not [p for p in requested if p.startswith("/media/") and not p.endswith(".html")]


def test_sitemap_charsets_and_text(crawled):
    ws, _, _ = crawled
    texts = {path_of(r["url"]): r["text"] for r in rows(ws, "SELECT url, text FROM corpus")}
    assert "/orphan.html" in texts  # linked from nowhere: found through robots.txt's Sitemap line
    assert "Le caf\u00e9 du coin" in texts["/charset/cp1252-undeclared.html"]
    assert "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440" in texts["/charset/cp1251-meta.html"]
    assert "Gr\u00fc\u00dfe aus M\u00fcnchen" in texts["/charset/latin1-header.html"]
    titles = {path_of(r["url"]): (r["title"], r["language"]) for r in rows(ws, "SELECT url, title, language FROM documents")}
    assert titles["/licenses/rel-license.html"] == ("Rel license page", "en")


def test_run_is_recorded(crawled):
    ws, summary, _ = crawled
    run = rows(ws, f"SELECT * FROM runs WHERE run_id = '{summary.run_id}'")[0]
    assert run["command"] == "crawl" and run["status"] == "finished"
    counts = json.loads(run["counts"])
    assert counts["documents"] == summary.documents == len(rows(ws, "SELECT doc_id FROM documents"))


# --- robots.txt that cannot be read -------------------------------------------------------------------

@pytest.mark.parametrize("headers, reason", [
    ("/robots.txt\n  X-Localsite-Status: 503\n", "HTTP 503"),
    ("/robots.txt\n  X-Localsite-Delay: 3\n", "TimeoutError"),
])
def test_an_unreadable_robots_txt_stops_the_crawl_of_that_site(tmp_path, headers, reason):
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    (site_dir / "index.html").write_text('<html><body><a href="/a.html">a</a></body></html>')
    (site_dir / "a.html").write_text("<html><body><p>never fetched</p></body></html>")
    (site_dir / "_headers").write_text(headers)
    with LocalSite(site_dir) as site:
        ws = Workspace(tmp_path / "ws")
        summary = run_crawl(ws, [site.url("/")], {**FAST, "timeout": 1.0})
        requested = site.requested
    assert summary.documents == 0 and "/" not in requested
    fetch = rows(ws, "SELECT outcome, reason FROM fetches")
    assert [f["outcome"] for f in fetch] == ["skipped"]
    assert "robots.txt unreadable" in fetch[0]["reason"] and "complete disallow" in fetch[0]["reason"]
    signal = rows(ws, "SELECT signal, value, evidence FROM consent_signals")
    assert [(s["signal"], s["value"]) for s in signal] == [("robots_txt", "unreadable")]
    files = rows(ws, "SELECT kind, state, reason FROM domain_files WHERE kind = 'robots.txt'")
    assert files[0]["state"] == "unreadable" and reason in files[0]["reason"]


def test_a_redirected_robots_txt_is_followed(tmp_path):
    """RFC 9309 2.3.1.2: a robots.txt answered with redirects is read where they lead (five here);
    the rules found there decide both our own fetches and the AI agents' consent."""
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    hops = ["/robots.txt", "/r1.txt", "/r2.txt", "/r3.txt", "/r4.txt"]
    blocks = "".join(f"{a}\n  X-Localsite-Status: 301\n  Location: {b}\n"
                     for a, b in zip(hops, [*hops[1:], "/final-robots.txt"]))
    (site_dir / "_headers").write_text(blocks)
    (site_dir / "robots.txt").write_text("User-agent: *\nAllow: /\n")  # the 301's own body: not the rules
    (site_dir / "final-robots.txt").write_text("User-agent: *\nDisallow: /a.html\n")
    (site_dir / "index.html").write_text('<html><body><a href="/a.html">a</a><p>home page text</p></body></html>')
    (site_dir / "a.html").write_text("<html><body><p>never fetched</p></body></html>")
    with LocalSite(site_dir) as site:
        ws = Workspace(tmp_path / "ws")
        run_crawl(ws, [site.url("/")], {**FAST, "sitemaps": False})
        requested = site.requested
    assert "/final-robots.txt" in requested and "/a.html" not in requested
    fetch = {path_of(r["url"]): r for r in rows(ws, "SELECT url, outcome, reason FROM fetches")}
    assert fetch["/a.html"]["outcome"] == "skipped" and "Disallow: /a.html" in fetch["/a.html"]["reason"]
    files = rows(ws, "SELECT state FROM domain_files WHERE kind = 'robots.txt'")
    assert [f["state"] for f in files] == ["ok"]


def test_crawl_delay_is_honoured(tmp_path):
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    (site_dir / "robots.txt").write_text("User-agent: *\nCrawl-delay: 1\n")
    pages = ["/", "/a.html", "/b.html"]
    (site_dir / "index.html").write_text('<html><body><a href="/a.html">a</a> <a href="/b.html">b</a></body></html>')
    for name in ("a", "b"):
        (site_dir / f"{name}.html").write_text(f"<html><body><p>page {name}</p></body></html>")
    with LocalSite(site_dir) as site:
        run_crawl(tmp_path / "ws", [site.url("/")], {**FAST, "concurrency_per_domain": 4, "sitemaps": False})
        times = [t for t, path in site.request_log if path in pages]
    assert len(times) == 3
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.9, gaps  # a lower bound: the delay was waited, however fast the machine


# --- scope and budget -------------------------------------------------------------------------------

def test_max_pages_and_max_depth(tmp_path):
    site_dir = prepare_site(tmp_path / "site")
    with LocalSite(site_dir) as site:
        few = run_crawl(tmp_path / "ws1", [site.url("/")], {**FAST, "max_pages": 4})
        run_crawl(tmp_path / "ws2", [site.url("/")], {**FAST, "max_depth": 0})
    assert few.budget_reached and few.documents <= 4
    pages = rows(Workspace(tmp_path / "ws1"), "SELECT url FROM fetches WHERE url NOT LIKE '%.xml'")
    assert len(pages) <= 4
    assert [path_of(r["url"]) for r in rows(Workspace(tmp_path / "ws2"), "SELECT url FROM documents")] == ["/"]


# --- the CLI ------------------------------------------------------------------------------------------

def test_cli_reports_invalid_seeds_and_needs_one_valid(cli, tmp_path):
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("example.org\n")
    result = cli("-w", str(tmp_path / "ws"), "crawl", "--seeds", str(seeds))
    assert result.code == 1
    assert "seeds.txt line 1" in result.err and "write https://example.org" in result.err
    result = cli("-w", str(tmp_path / "ws"), "crawl", "http://127.0.0.1:9/", "--resume")
    assert result.code == 1 and "no stopped crawl of these seeds" in result.err


def test_cli_crawls_and_sql_answers(cli, tmp_path):
    with LocalSite(DEMO_SITE) as site:
        result = cli("-w", str(tmp_path / "ws"), "crawl", site.url("/"), "--delay", "0", "--no-autothrottle",
                     "--workers", "1", "--max-depth", "1")
    assert result.code == 0, result.err
    assert "finished" in result.err and "documents" in result.err
    answer = cli("-w", str(tmp_path / "ws"), "sql", "SELECT consent, count(*) AS n FROM documents GROUP BY 1 ORDER BY 1",
                 "--format", "json")
    assert {r["consent"] for r in answer.json()} == {"granted", "opted_out", "unspecified"}


# --- the bundled demo site ----------------------------------------------------------------------------

def test_the_demo_site_shows_every_signal(tmp_path):
    with LocalSite(DEMO_SITE) as site:
        summary = run_crawl(tmp_path / "ws", [site.url("/")], FAST)
        again = run_crawl(tmp_path / "ws", [site.url("/")], FAST)
    ws = Workspace(tmp_path / "ws")
    assert summary.errors == 0 and summary.documents == summary.documents_new == 14
    assert again.documents == 14 and again.documents_new == 0  # a crawl stores no document twice
    assert rows(ws, "SELECT count(*) AS n FROM document_log")[0]["n"] == 14
    docs = {path_of(r["url"]): (r["license"], r["consent"]) for r in rows(ws, "SELECT * FROM documents")}
    assert docs["/articles/bread.html"] == ("CC-BY-4.0", "granted")
    assert docs["/articles/garden.html"] == ("CC-BY-SA-4.0", "granted")
    assert docs["/articles/choir.html"] == ("CC0-1.0", "granted")
    assert docs["/articles/museum.html"] == ("LicenseRef-all-rights-reserved", "unspecified")
    assert docs["/articles/library.html"] == (None, "unspecified")
    assert docs["/articles/cycling.html"] == ("CC-BY-4.0", "granted")
    assert docs["/syndicated/cycling-copy.html"] == (None, "unspecified")
    for path in ("/members/interview.html", "/articles/recipes.html", "/articles/archive.html",
                 "/articles/weather.html", "/articles/market.html"):
        assert docs[path][1] == "opted_out", path
    assert docs["/speech.html"][1] == "granted"
    media = rows(ws, "SELECT media_url, license, consent FROM media_rights")
    assert [(path_of(m["media_url"]), m["consent"]) for m in media] == [("/media/speech.flac", "granted")]
    texts = {path_of(r["url"]): r["text"] for r in rows(ws, "SELECT url, text FROM corpus")}
    original, copy = texts["/articles/cycling.html"], texts["/syndicated/cycling-copy.html"]
    assert 250 <= len(original.split()) <= 350 and original != copy
    shared = set(original.split()) & set(copy.split())
    assert len(shared) / len(set(original.split())) > 0.9


# --- resume, and the ledger while a crawl runs --------------------------------------------------------

def run_process(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "provenance"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)


def slow_site(root: Path, n: int = 60) -> Path:
    """``n`` pages, each linking to the next three, each answered after 0.25 s."""
    (root / "p").mkdir(parents=True)
    for i in range(n):
        links = " ".join(f'<a href="/p/{j}.html">{j}</a>' for j in range(i + 1, min(i + 4, n)))
        prose = " ".join(f"Sentence {k} of page {i} about the river, the lock and the museum." for k in range(30))
        (root / "p" / f"{i}.html").write_text(f"<html><head><title>Page {i}</title></head><body><article>"
                                              f"<p>{prose}</p></article><nav>{links}</nav></body></html>")
    (root / "_headers").write_text("/p/*\n  X-Localsite-Delay: 0.25\n")
    return root


def crawl_process(ws: Path, url: str, *extra: str) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "provenance"
    return subprocess.Popen([str(exe), "-w", str(ws), "crawl", url, "--delay", "0", "--no-autothrottle",
                             "--workers", "1", "--concurrency-per-domain", "2", "--no-sitemaps", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def state_of(ws: Path) -> dict:
    files = list((ws / "runs" / "crawl").glob("*/state.json"))
    return json.loads(files[0].read_text()) if files else {}


def done_count(ws: Path) -> int:
    files = list((ws / "runs" / "crawl").glob("*/done.log"))
    return len(files[0].read_text().splitlines()) if files else 0


def document_set(ws: Path) -> set:
    return {(r["url"], r["text_sha256"], r["license"], r["consent"])
            for r in rows(Workspace(ws), "SELECT url, text_sha256, license, consent FROM documents")}


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["kill", "interrupt"])
def test_resume_after_a_stop_gives_the_same_documents(tmp_path, stop):
    site_dir = slow_site(tmp_path / "site")
    with LocalSite(site_dir) as site:
        url = site.url("/p/0.html")
        reference = tmp_path / "reference"
        ref = crawl_process(reference, url)
        stopped = tmp_path / "stopped"
        proc = crawl_process(stopped, url)
        wait_for(lambda: done_count(stopped) >= 8, what="the first ledger writes")
        # the ledger answers while the crawl runs (it holds the lock only for short writes)
        sql = run_process("-w", str(stopped), "sql", "SELECT count(*) AS n FROM fetches", "--format", "json")
        assert sql.returncode == 0, sql.stderr
        assert json.loads(sql.stdout)[0]["n"] >= 1
        child = state_of(stopped)["pid"]
        os.kill(child, signal.SIGKILL if stop == "kill" else signal.SIGINT)
        proc.communicate(timeout=60)
        assert done_count(stopped) < 60
        status = state_of(stopped)
        assert status["status"] == ("running" if stop == "kill" else "stopped")
        resumed = crawl_process(stopped, url, "--resume")
        out, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, err
        ref.communicate(timeout=120)
    assert len(document_set(reference)) == 60
    assert document_set(stopped) == document_set(reference)
    n_rows = rows(Workspace(stopped), "SELECT count(*) AS n, count(DISTINCT doc_id) AS d FROM document_log")[0]
    assert n_rows["n"] == n_rows["d"] == 60  # no document stored twice
    runs = rows(Workspace(stopped), "SELECT status FROM runs ORDER BY started_at")
    assert [r["status"] for r in runs] == (["interrupted", "finished"] if stop == "kill" else ["stopped", "finished"])
