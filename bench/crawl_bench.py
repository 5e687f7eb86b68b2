"""Crawl benchmark: `provenance crawl` against a plain Scrapy + trafilatura spider, same site, same run.

A generated site of 2,000 pages (about 400 words each, 6 links per page, some with license and
consent markup) is served on 127.0.0.1 by ``crawl.localsite`` with a listen backlog of 512. Both
crawls run in their own process with the same concurrency (no delay, no AutoThrottle):

* baseline: a Scrapy spider that follows every link and runs ``trafilatura.extract`` on each page;
* provenance: ``crawl.runner.run_crawl`` (robots.txt/ai.txt/tdmrep.json, signals, license
  detection, extraction with metadata in worker processes, ledger writes).

Prints pages/s of each (Scrapy's own elapsed time, responses received), the ratio (aim: >= 0.8)
and the peak RSS of the crawl process and of its extraction workers.

    python bench/crawl_bench.py [--pages 2000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

WORDS = ("river town museum ledger barge salt timber grain lock keeper garden flower spring bread "
         "flour water yeast oven crust choir singer concert library book seed telescope bicycle "
         "route morning bakery heron bridge market square stall honey cheese weather rain summer "
         "station harvest photograph archive winter ice band tuba neighbour street lane evening").split()

BASELINE = textwrap.dedent('''
    import json, sys, time
    import scrapy, trafilatura
    from scrapy.crawler import CrawlerProcess

    class Baseline(scrapy.Spider):
        name = "baseline"
        def __init__(self, start, **kw):
            super().__init__(**kw)
            self.start_url = start
            self.allowed_domains = ["127.0.0.1"]
            self.extracted = 0
        async def start(self):
            yield scrapy.Request(self.start_url)
        def parse(self, response):
            if trafilatura.extract(response.text):
                self.extracted += 1
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href)

    if __name__ == "__main__":
        start, concurrency, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        process = CrawlerProcess({
            "LOG_LEVEL": "WARNING", "ROBOTSTXT_OBEY": False, "CONCURRENT_REQUESTS": concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency, "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False, "TELNETCONSOLE_ENABLED": False,
            "REMOTE_CONTROL_ENABLED": False, "COOKIES_ENABLED": False,
        })
        crawler = process.create_crawler(Baseline)
        process.crawl(crawler, start=start)
        process.start()
        stats = crawler.stats.get_stats()
        import resource
        json.dump({"pages": stats.get("response_received_count", 0),
                   "elapsed_s": stats.get("elapsed_time_seconds"),
                   "extracted": crawler.spider.extracted,
                   "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, open(out, "w"))
''')


def make_site(root: Path, n_pages: int, seed: int = 7) -> None:
    """``n_pages`` pages reachable from /index.html, a robots.txt, ai.txt and tdmrep.json."""
    rng = random.Random(seed)
    (root / "p").mkdir(parents=True)
    licenses = [
        '<a rel="license" href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>',
        '<p>&copy; 2025 Bench Press. All rights reserved.</p>',
        '',
        '<a href="https://creativecommons.org/licenses/by-sa/4.0/">CC BY-SA</a>',
    ]
    for i in range(n_pages):
        paragraphs = []
        for _ in range(8):
            sentence = " ".join(rng.choice(WORDS) for _ in range(50))
            paragraphs.append(f"<p>{sentence.capitalize()}.</p>")
        links = {rng.randrange(n_pages) for _ in range(5)} | {(i + 1) % n_pages}
        nav = " ".join(f'<a href="/p/{j}.html">page {j}</a>' for j in sorted(links))
        head = '<meta name="robots" content="noai">' if i % 10 == 3 else ""
        html = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Page {i}</title>{head}'
                f'</head><body><header><nav>{nav}</nav></header><main><article><h1>Page {i}</h1>'
                f'{"".join(paragraphs)}</article></main><footer>{licenses[i % len(licenses)]}</footer>'
                f'</body></html>')
        (root / "p" / f"{i}.html").write_text(html, encoding="utf-8")
    (root / "index.html").write_text('<html><body><a href="/p/0.html">start</a></body></html>')
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n\nUser-agent: GPTBot\nDisallow: /p/1\n")
    (root / "ai.txt").write_text("User-Agent: *\nDisallow: /p/2\n")


def run_baseline(start: str, concurrency: int, work: Path) -> dict:
    script = work / "baseline.py"
    script.write_text(BASELINE)
    out = work / "baseline.json"
    subprocess.run([sys.executable, str(script), start, str(concurrency), str(out)], check=True)
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2,
                        help="baseline/provenance pairs, alternated (the machine may be shared)")
    args = parser.parse_args()

    from crawl.localsite import LocalSite
    from crawl.runner import run_crawl

    ratios = []
    with tempfile.TemporaryDirectory(prefix="crawl-bench-") as tmp:
        work = Path(tmp)
        site_dir = work / "site"
        t0 = time.monotonic()
        make_site(site_dir, args.pages)
        print(f"site: {args.pages} pages generated in {time.monotonic() - t0:.1f} s", flush=True)
        with LocalSite(site_dir, backlog=512) as site:
            start = site.url("/index.html")
            for round_no in range(1, args.rounds + 1):
                base = run_baseline(start, args.concurrency, work)
                base_rate = base["pages"] / base["elapsed_s"]
                print(f"[{round_no}] baseline  : {base['pages']} pages in {base['elapsed_s']:.1f} s = "
                      f"{base_rate:.1f} pages/s ({base['extracted']} extracted), "
                      f"peak RSS {base['peak_rss_mb']:.0f} MB", flush=True)
                summary = run_crawl(work / f"ws{round_no}", [start], {
                    "max_pages": args.pages + 10, "delay": 0.0, "autothrottle": False,
                    "concurrency": args.concurrency, "concurrency_per_domain": args.concurrency,
                    "retry_times": 0,
                })
                rate = summary.pages / summary.crawl_s
                print(f"[{round_no}] provenance: {summary.pages} pages in {summary.crawl_s:.1f} s = {rate:.1f} "
                      f"pages/s ({summary.documents} documents, {summary.skipped} skipped, {summary.errors} "
                      f"errors), peak RSS {summary.peak_rss_mb:.0f} MB + extraction worker "
                      f"{summary.analysis_peak_rss_mb:.0f} MB; CPU {summary.cpu_s:.1f} s + workers "
                      f"{summary.workers_cpu_s:.1f} s", flush=True)
                ratios.append(rate / base_rate)
    ratios.sort()
    median = ratios[len(ratios) // 2] if len(ratios) % 2 else sum(ratios[len(ratios) // 2 - 1:][:2]) / 2
    print(f"ratio provenance/baseline pages/s: {median:.2f} (median of {', '.join(f'{r:.2f}' for r in ratios)}; "
          f"aim >= 0.8)")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS of the largest child process: {children:.0f} MB")


if __name__ == "__main__":
    main()
