"""Crawl settings: one validated object, packaged defaults plus user overrides, -> Scrapy settings.

Defaults are polite: robots.txt obeyed (with ``Crawl-delay``), AutoThrottle on, two requests at a
time per domain, half a second between them, an honest user agent naming the robots.txt token and
a contact.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from provenance import net
from provenance.errors import InputError

ROBOTS_TOKEN = net.ROBOTS_TOKEN


@dataclass(frozen=True, slots=True)
class CrawlSettings:
    """What a user may tune. Every field has a polite default."""

    max_pages: int = 1000
    max_depth: int | None = None  # None: no limit
    user_agent: str | None = None  # a full UA string; default built from token, version, contact
    contact: str | None = None  # URL or e-mail put in the user agent
    robots_token: str = ROBOTS_TOKEN
    delay: float = 0.5  # seconds between requests to one domain (AutoThrottle's minimum)
    concurrency: int = 16
    concurrency_per_domain: int = 2
    autothrottle: bool = True
    timeout: float = 30.0  # download timeout, seconds
    max_bytes: int = 10 * 1024 * 1024  # download cap, applied after decompression too
    max_extract_bytes: int = 5 * 1024 * 1024  # larger pages are recorded, not extracted
    extract_timeout: float = 20.0
    workers: int = field(default_factory=lambda: max(1, min(2, os.cpu_count() or 1)))
    max_crawl_delay: float = 30.0  # a robots.txt Crawl-delay above this is capped
    sitemaps: bool = True
    allow_private: bool = False
    allow_domains: tuple[str, ...] = ()  # hosts in scope besides the seeds' hosts
    agents_file: str | None = None  # an agent list replacing the packaged one
    flush_items: int = 1000  # ledger write every this many records ...
    flush_seconds: float = 3.0  # ... or this many seconds, whichever comes first
    retry_times: int = 2

    def __post_init__(self) -> None:
        checks = [
            (self.max_pages >= 1, "--max-pages must be at least 1"),
            (self.max_depth is None or self.max_depth >= 0, "--max-depth must be 0 or more"),
            (self.delay >= 0, "--delay must be 0 or more seconds"),
            (self.concurrency >= 1 and self.concurrency_per_domain >= 1, "concurrency must be at least 1"),
            (self.timeout > 0 and self.extract_timeout > 0, "timeouts must be positive"),
            (self.max_bytes > 0 and self.max_extract_bytes > 0, "size caps must be positive"),
            (self.workers >= 0, "--workers must be 0 or more"),
            (self.flush_items >= 1 and self.flush_seconds > 0, "flush settings must be positive"),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(message)

    @property
    def agent_string(self) -> str:
        return self.user_agent or net.user_agent(self.contact, token=self.robots_token)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["allow_domains"] = list(self.allow_domains)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> CrawlSettings:
        data = dict(data or {})
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise InputError(f"unknown crawl settings: {', '.join(sorted(unknown))}")
        if "allow_domains" in data:
            data["allow_domains"] = tuple(data["allow_domains"])
        return cls(**data)


def scrapy_settings(s: CrawlSettings, *, jobdir: str, log_file: str | None, extra: dict[str, Any]) -> dict[str, Any]:
    """The Scrapy settings of a crawl. ``extra`` carries the PROVENANCE_* values components read."""
    start_delay = max(s.delay, 1.0) if s.delay > 0 else 0.0
    return {
        "BOT_NAME": "provenance",
        "USER_AGENT": s.agent_string,
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "ROBOTSTXT_OBEY": False,  # crawl.middlewares.DomainPolicyMiddleware obeys it (and more)
        "CONCURRENT_REQUESTS": s.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": s.concurrency_per_domain,
        "DOWNLOAD_DELAY": s.delay,
        "AUTOTHROTTLE_ENABLED": s.autothrottle,
        "AUTOTHROTTLE_START_DELAY": start_delay,
        "AUTOTHROTTLE_MAX_DELAY": 60.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "DOWNLOAD_TIMEOUT": s.timeout,
        "DOWNLOAD_MAXSIZE": s.max_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "HTTPERROR_ALLOW_ALL": True,
        "REDIRECT_MAX_TIMES": net.MAX_REDIRECTS,
        # The private-address guard: every connection's addresses come from this resolver, which
        # hands out only addresses the crawl's AddressPolicy allows (crawl.netguard).
        "TWISTED_DNS_RESOLVER": "crawl.netguard.GuardedResolver",
        "HTTPPROXY_ENABLED": False,  # through a proxy the guard could not see the address connected
        "DOWNLOAD_HANDLERS": {"file": None, "data": None, "s3": None, "ftp": None},  # http(s) only
        "RETRY_TIMES": s.retry_times,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,  # no control server listening on a port
        "MEMUSAGE_ENABLED": False,
        "DEPTH_LIMIT": 0,  # the spider admits URLs by depth itself (crawl.spiders)
        "JOBDIR": jobdir,
        "DUPEFILTER_CLASS": "crawl.middlewares.RedirectAwareDupeFilter",
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawl.middlewares.DomainPolicyMiddleware": 100,
            "crawl.middlewares.RedirectGuardMiddleware": 601,
        },
        "ITEM_PIPELINES": {
            "crawl.pipelines.DocumentPipeline": 200,
            "crawl.pipelines.LedgerPipeline": 900,
        },
        # Outputs of one response processed in parallel: a page yields a few requests and one
        # item, and each parallel slot costs an asyncio task per response (Scrapy's 100: 100 tasks).
        "CONCURRENT_ITEMS": 4,
        "EXTENSIONS": {
            "scrapy.extensions.telnet.TelnetConsole": None,
            "scrapy.extensions.remote_control.RemoteControl": None,
            "crawl.extensions.StopNonText": 0,
            "crawl.extensions.ProgressLine": 0,
        },
        "LOG_FILE": log_file,
        "LOG_FILE_APPEND": True,
        "LOG_LEVEL": "INFO",
        "LOG_STDOUT": False,
        "LOG_INSTALL_ROOT_HANDLER": True,
        **extra,
    }
