"""Our own robots.txt decision (RFC 9309), one for every stage that fetches.

:func:`status_state` reads the HTTP outcome of a robots.txt fetch the RFC's way (2.3.1): 2xx
is the file, 4xx "unavailable" (no rules: everything allowed), 429, 5xx and network errors
"unreachable" (complete disallow: never fail open). :func:`may_fetch` is the one decision for
our product token :data:`~provenance.net.agent.ROBOTS_TOKEN`, answered by the one matcher
(:mod:`provenance.robots`); the crawler's per-origin policy and :class:`RobotsCache` (the
fetchers outside Scrapy) both call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from provenance.net.agent import ROBOTS_TOKEN
from provenance.net.client import AddressRefused, Client, NetError, TooManyRedirects
from provenance.records import FetchOutcome
from provenance.robots import MAX_ROBOTS_BYTES, RobotsTxt, decode_robots, not_text

FileState = Literal["ok", "missing", "unreadable"]


class RobotsRefused(NetError):
    """robots.txt does not let our agent fetch a URL."""

    outcome: FetchOutcome = "skipped"


def status_state(status: int | None, error: str | None = None) -> tuple[FileState, str | None]:
    """What the HTTP outcome of a robots.txt (or ai.txt, tdmrep.json) fetch means (RFC 9309 2.3.1)."""
    if error is not None or status is None:
        return "unreadable", error or "no response"
    if status == 429 or status >= 500:
        return "unreadable", f"HTTP {status}"
    if 400 <= status < 500:
        return "missing", f"HTTP {status}"
    if not 200 <= status < 300:
        return "missing", f"HTTP {status} (redirects not resolved)"
    return "ok", None


def may_fetch(state: str | None, reason: str | None, rules: RobotsTxt | None, url: str,
              token: str = ROBOTS_TOKEN) -> tuple[bool, str | None]:
    """Whether our crawler (robots token ``token``) may fetch ``url``; else the reason.

    ``state``: of the origin's robots.txt ('ok', 'missing', 'unreadable'; None when not fetched),
    ``rules``: the parsed file when it is 'ok'.
    """
    if state == "unreadable":
        return False, f"robots.txt unreadable ({reason}); RFC 9309 treats that as a complete disallow"
    if state != "ok" or rules is None:
        return True, None
    decision = rules.decide(token, url)
    if decision.allowed:
        return True, None
    return False, f"robots.txt disallows {token}: {decision.evidence()}"


def robots_url(url: str) -> str:
    """The robots.txt URL of a URL's origin."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.rsplit('@', 1)[-1].lower()}/robots.txt"


@dataclass(frozen=True, slots=True)
class RobotsFile:
    """One origin's robots.txt as fetched: its state and, when readable, its rules."""

    url: str
    state: FileState
    reason: str | None = None
    rules: RobotsTxt | None = None


class RobotsCache:
    """robots.txt per origin, fetched once through the guarded client, for one run."""

    def __init__(self, client: Client, token: str = ROBOTS_TOKEN):
        self.client = client
        self.token = token
        self._files: dict[str, RobotsFile] = {}

    def file_for(self, url: str) -> RobotsFile:
        """The robots.txt of ``url``'s origin. Raises AddressRefused when the guard refuses it."""
        where = robots_url(url)
        found = self._files.get(where)
        if found is None:
            found = self._files[where] = self._fetch(where)
        return found

    def check(self, url: str) -> tuple[bool, str | None]:
        """Whether our agent may fetch ``url``, and why not (RFC 9309)."""
        robots = self.file_for(url)
        return may_fetch(robots.state, robots.reason, robots.rules, url, self.token)

    def require(self, url: str) -> None:
        """Raises :class:`RobotsRefused` (or AddressRefused) unless our agent may fetch ``url``."""
        allowed, reason = self.check(url)
        if not allowed:
            raise RobotsRefused(reason or "robots.txt disallows it")

    def _fetch(self, where: str) -> RobotsFile:
        try:
            with self.client.open(where, accept="text/plain, */*;q=0.1") as response:
                state, reason = status_state(response.status)
                if state != "ok":
                    return RobotsFile(where, state, reason)
                body = response.read_prefix(MAX_ROBOTS_BYTES)
        except AddressRefused:
            raise
        except TooManyRedirects as exc:  # RFC 9309 2.3.1.2: may be taken as unavailable
            return RobotsFile(where, "missing", str(exc))
        except NetError as exc:
            return RobotsFile(where, "unreadable", f"{where} could not be read: {exc}")
        problem = not_text(body)
        if problem is not None:
            return RobotsFile(where, "unreadable", f"{problem}: no rules can be read from it")
        return RobotsFile(where, "ok", None, RobotsTxt.parse(decode_robots(body)))
