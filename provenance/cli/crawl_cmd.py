"""``provenance crawl``: a polite crawler that records every consent and license signal."""

from __future__ import annotations

from pathlib import Path

from typing import Any

import click

from crawl.config import CrawlSettings
from provenance.cli.options import SIZE, format_size, workspace_of

_DEFAULTS = CrawlSettings()  # the CLI's defaults are the library's


@click.command()
@click.argument("urls", nargs=-1)
@click.option("--seeds", "seeds_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A file of seed URLs, one per line (# comments and blank lines are skipped).")
@click.option("--max-pages", type=int, default=_DEFAULTS.max_pages, show_default=True,
              help="Fetch at most this many pages (seeds, links and sitemap entries).")
@click.option("--max-depth", type=int, default=None, help="Follow links at most this many hops from a seed.")
@click.option("--user-agent", default=None,
              help="The full User-Agent header (default: provenance-crawler/VERSION with --contact).")
@click.option("--contact", default=None, metavar="URL_OR_EMAIL",
              help="How site owners reach you; put in the default User-Agent. Set it for public crawls.")
@click.option("--resume", is_flag=True,
              help="Continue the stopped crawl of the same seeds (state in WORKSPACE/runs/crawl/).")
@click.option("--delay", type=float, default=_DEFAULTS.delay, show_default=True,
              help="Seconds between requests to one domain (robots.txt Crawl-delay may ask for more).")
@click.option("--concurrency-per-domain", type=int, default=_DEFAULTS.concurrency_per_domain, show_default=True,
              help="Requests in flight per domain.")
@click.option("--no-autothrottle", is_flag=True, help="Do not adapt the delay to server latency.")
@click.option("--allow-domain", "allow_domains", multiple=True, metavar="HOST",
              help="Also follow links to this host and its subdomains (repeatable).")
@click.option("--allow-private", is_flag=True,
              help="Fetch from private, loopback and link-local addresses (a test site on this machine); "
                   "off, only seeds given as an IP address (http://127.0.0.1:8000/) may be private.")
@click.option("--no-sitemaps", is_flag=True, help="Do not read robots.txt Sitemap: lines and /sitemap.xml.")
@click.option("--timeout", type=float, default=_DEFAULTS.timeout, show_default=True, help="Download timeout, seconds.")
@click.option("--max-bytes", type=SIZE, default=format_size(_DEFAULTS.max_bytes), show_default=True,
              help="Largest response body, after decompression (e.g. 500K, 20MB); larger ones are recorded "
                   "as errors.")
@click.option("--max-extract-bytes", type=SIZE, default=format_size(_DEFAULTS.max_extract_bytes), show_default=True,
              help="Largest page given to text extraction (e.g. 5M); larger ones are recorded, not extracted.")
@click.option("--extract-timeout", type=float, default=_DEFAULTS.extract_timeout, show_default=True,
              help="Seconds text extraction may take per page.")
@click.option("--workers", type=int, default=None, help="Extraction worker processes (default: up to 2).")
@click.option("--agents", "agents_file", type=click.Path(dir_okay=False, exists=True), default=None,
              help="An AI agent list (JSON, the shape of provenance/data/ai_agents.json) replacing the packaged one.")
@click.pass_context
def crawl(ctx: click.Context, urls: tuple[str, ...], seeds_file: Path | None, max_pages: int,
          max_depth: int | None, user_agent: str | None, contact: str | None, resume: bool, delay: float,
          concurrency_per_domain: int, no_autothrottle: bool, allow_domains: tuple[str, ...],
          allow_private: bool, no_sitemaps: bool, timeout: float, max_bytes: int, max_extract_bytes: int,
          extract_timeout: float, workers: int | None, agents_file: str | None) -> None:
    """Crawl from seed URLs: pages to shards/web/, every signal and decision to the ledger.

    Stays on the seeds' hosts (and --allow-domain), obeys robots.txt for its own token
    (provenance-crawler, Crawl-delay included), and records for every page: fetches (fetched or
    not, and why), consent_signals (robots.txt for each AI-training agent, X-Robots-Tag, meta
    robots, TDMRep, Content-Usage, Content-Signal, ai.txt), license_findings, media, and the
    document's license and consent. Ctrl-C stops gracefully; --resume continues.
    """
    from crawl.config import CrawlSettings
    from crawl.runner import run_crawl
    from provenance.errors import InputError, ProvenanceError

    if not urls and seeds_file is None:
        raise InputError("give seed URLs as arguments or with --seeds FILE")
    options: dict[str, Any] = dict(
        max_pages=max_pages, max_depth=max_depth, user_agent=user_agent, contact=contact, delay=delay,
        concurrency_per_domain=concurrency_per_domain, autothrottle=not no_autothrottle,
        allow_domains=tuple(allow_domains), allow_private=allow_private, sitemaps=not no_sitemaps,
        timeout=timeout, max_bytes=max_bytes, max_extract_bytes=max_extract_bytes,
        extract_timeout=extract_timeout, agents_file=agents_file,
    )
    if workers is not None:
        options["workers"] = workers
    settings = CrawlSettings(**options)
    workspace = workspace_of(ctx)
    if contact is None and user_agent is None and any(not _is_local(u) for u in urls):
        click.echo("Note: no --contact given; site owners cannot reach you from the User-Agent. "
                   "Pass --contact URL_OR_EMAIL for crawls of public sites.", err=True)
    summary = run_crawl(workspace, list(urls), settings, seeds_file=seeds_file, resume=resume)
    for message in summary.invalid_seeds:
        click.echo(f"Skipped {message}", err=True)
    click.echo(summary.line(), err=True)
    if summary.status == "stopped":
        click.echo("Stopped before the end: continue with the same command and --resume.", err=True)
    elif summary.status == "failed":
        raise ProvenanceError(f"the crawl failed; see {summary.log_file}")
    click.echo(f"Ledger: {workspace.root}. Try: provenance -w {workspace.root} sql "
               f"\"SELECT consent, count(*) FROM documents GROUP BY 1\"", err=True)


def _is_local(url: str) -> bool:
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "127.0.0.1", "::1") or host.endswith(".localhost")
