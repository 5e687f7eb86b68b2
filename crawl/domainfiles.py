"""Per-origin files (robots.txt, ai.txt, /.well-known/tdmrep.json) and what they say about a URL.

Each file is fetched once per origin and run, classified (:func:`classify_fetch`), kept with its
body hash in the ledger (``domain_files``), and read into a :class:`DomainPolicy` that answers:

* may our own crawler fetch a URL (RFC 9309: a 4xx robots.txt allows everything; a 5xx, 429,
  timeout or network error means complete disallow; never fail open silently);
* which consent signals apply to a URL: robots.txt evaluated for every AI-training agent,
  ``Content-Signal`` / ``Content-Usage`` lines of robots.txt, ai.txt, and the tdmrep.json rule.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from provenance.robots import MAX_ROBOTS_BYTES, RobotsTxt, decode_robots, not_text, url_match_path
from crawl.signals import MAX_VALUE_CHARS
from crawl.tdmrep import TdmRep, TdmRepError
from provenance.ids import domain_of
from provenance.net.robots import may_fetch, status_state
from provenance.records import ConsentSignal

FileKind = Literal["robots.txt", "ai.txt", "tdmrep.json"]
FileState = Literal["ok", "missing", "unreadable", "invalid"]
FILE_PATHS: dict[str, str] = {
    "robots.txt": "/robots.txt",
    "ai.txt": "/ai.txt",
    "tdmrep.json": "/.well-known/tdmrep.json",
}
MAX_FILE_BYTES = 512 * 1024  # kept of each file (robots.txt: what RFC 9309 asks to read)


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL (robots.txt and friends are per origin)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme.lower()}://{host}{port}"


@dataclass(frozen=True)
class DomainFile:
    """One fetch of a per-origin file and what came of it."""

    origin: str
    kind: str  # FileKind
    url: str
    state: str  # FileState
    fetched_at: datetime
    status: int | None = None
    reason: str | None = None
    body: bytes | None = None  # at most MAX_FILE_BYTES (the start of a larger file)
    content_type: str | None = None
    size: int | None = None  # bytes received (the body may be cut); None: len(body)
    body_sha256: str | None = None  # of everything received; None: of body
    applied: str | None = None  # which capture this is for the page it answers (archived captures)

    @functools.cached_property
    def sha256(self) -> str | None:
        if self.body_sha256 is not None:
            return self.body_sha256
        return hashlib.sha256(self.body).hexdigest() if self.body is not None else None

    @property
    def n_bytes(self) -> int | None:
        if self.size is not None:
            return self.size
        return len(self.body) if self.body is not None else None

    @functools.cached_property
    def description(self) -> str:
        """Short evidence: what was fetched and how it went."""
        sha = self.sha256 if self.body is not None and self.state == "ok" else None
        digest = f", sha256 {sha[:16]}" if sha is not None else ""
        status = f"HTTP {self.status}" if self.status is not None else (self.reason or "no response")
        applied = f"; {self.applied}" if self.applied else ""
        return f"{self.url} ({status}{digest}{applied})"

    def describe(self) -> str:
        return self.description


def classify_fetch(
    origin: str, kind: str, url: str, fetched_at: datetime, *, status: int | None,
    body: bytes | None, content_type: str | None = None, error: str | None = None,
) -> DomainFile:
    """A fetch result as a DomainFile: RFC 9309 semantics for robots.txt, the same for the others.

    2xx: ok. 4xx except 429: missing (no rules). 429, 5xx, a timeout or a network error:
    unreadable. A robots.txt or ai.txt that is not text (binary content) is unreadable too: it
    cannot say what it allows, and an unreadable file is never read as "allow everything". An
    ai.txt served as HTML is a soft 404 (missing); a tdmrep.json that is not a JSON array of rules
    (malformed, nested too deeply, too large) is invalid. Only the first MAX_FILE_BYTES are kept
    (robots.txt: RFC 9309 asks parsers to read at least 500 KiB); the size and hash are of
    everything received.
    """
    ctype = (content_type or "").split(";", 1)[0].strip().lower() or None
    size = len(body) if body is not None else None
    digest = hashlib.sha256(body).hexdigest() if body is not None else None
    kept = body[:MAX_FILE_BYTES] if body is not None else None

    def make(state: str, reason: str | None, keep_body: bool = False) -> DomainFile:
        return DomainFile(origin, kind, url, state, fetched_at, status, reason,
                          kept if keep_body else None, ctype, size, digest if keep_body else None)

    state, reason = status_state(status, error)  # RFC 9309 2.3.1, as every fetcher reads it
    if state != "ok":
        return make(state, reason, keep_body=state == "unreadable" and status is not None)
    if kind == "ai.txt" and ctype in ("text/html", "application/xhtml+xml"):
        return make("missing", f"HTTP {status} served as {ctype} (soft 404)")
    if kind == "tdmrep.json":
        try:
            TdmRep.parse(body or b"")
        except TdmRepError as exc:
            return make("invalid", str(exc), keep_body=True)
        return make("ok", None, keep_body=True)
    problem = not_text(body or b"")
    if problem is not None:
        return make("unreadable", f"{problem}: no rules can be read from it", keep_body=True)
    cut = None
    if size is not None and size > MAX_ROBOTS_BYTES:
        cut = f"{size} bytes: only the first {MAX_ROBOTS_BYTES} were read (RFC 9309 asks for at least 500 KiB)"
    return make("ok", cut, keep_body=True)


class DomainPolicy:
    """What the per-origin files of one origin say, for our crawler and for AI-training agents."""

    def __init__(self, origin: str, files: Iterable[DomainFile], training_agents: Iterable[str]):
        self.origin = origin
        self.files: dict[str, DomainFile] = {f.kind: f for f in files}
        self.training_agents = tuple(sorted(set(training_agents), key=str.casefold))
        self.robots = self._parsed_robots("robots.txt")
        self.ai_txt = self._parsed_robots("ai.txt")
        tdm = self.files.get("tdmrep.json")
        self.tdmrep = TdmRep.parse(tdm.body or b"") if tdm is not None and tdm.state == "ok" else None
        self._robots_split = _split_agents(self.robots, self.training_agents)
        self._ai_split = _split_agents(self.ai_txt, self.training_agents)

    def _parsed_robots(self, kind: str) -> RobotsTxt | None:
        f = self.files.get(kind)
        if f is None or f.state != "ok":
            return None
        return RobotsTxt.parse(decode_robots(f.body or b""))

    # --- our own crawler ----------------------------------------------------------------------

    def may_fetch(self, url: str, token: str) -> tuple[bool, str | None]:
        """Whether our crawler (robots token ``token``) may fetch ``url``; else the reason."""
        robots = self.files.get("robots.txt")
        if robots is None:
            return True, None
        return may_fetch(robots.state, robots.reason, self.robots, url, token)  # the one decision

    def crawl_delay(self, token: str) -> tuple[float, str] | None:
        return self.robots.crawl_delay(token) if self.robots is not None else None

    @property
    def sitemaps(self) -> tuple[str, ...]:
        return self.robots.sitemaps if self.robots is not None else ()

    # --- consent signals ------------------------------------------------------------------------

    def signals_for(self, url: str, observed_at: datetime, doc_id: str | None = None) -> list[ConsentSignal]:
        """Every per-origin signal that applies to ``url``, each with its evidence."""
        domain = domain_of(url) or ""
        path = url_match_path(url)
        out: list[ConsentSignal] = []

        def add(signal: str, value: str, evidence: str, agent: str | None) -> None:
            # cut like header and meta signals: a hostile file's long line or tdm-policy would
            # otherwise be copied into the ledger once per page
            out.append(ConsentSignal(url=url, domain=domain, signal=signal, value=value[:MAX_VALUE_CHARS],
                                     evidence=evidence[:MAX_VALUE_CHARS], observed_at=observed_at,
                                     agent=agent, doc_id=doc_id))

        robots = self.files.get("robots.txt")
        if robots is not None:
            if robots.state == "unreadable":
                add("robots_txt", "unreadable", f"{robots.describe()}: unreadable ({robots.reason}), "
                    f"complete disallow (RFC 9309)", "*")
            elif self.robots is None:
                add("robots_txt", "allowed", f"{robots.describe()}: no robots.txt, no rules", "*")
            else:
                self._evaluate(self.robots, self._robots_split, robots, "robots_txt", path, add)
                for agent in self._agents_to_report(self._robots_split):
                    for ext in self.robots.extensions_for(agent, url, match_path=path):
                        kind = "content_signal" if ext.key == "content-signal" else "content_usage"
                        add(kind, ext.value, f'{robots.describe()} line {ext.lineno}: "{ext.line}"', agent)
        ai = self.files.get("ai.txt")
        if ai is not None:
            if ai.state == "unreadable":
                add("ai_txt", "unreadable", f"{ai.describe()}: exists but could not be read", "*")
            elif self.ai_txt is not None:
                self._evaluate(self.ai_txt, self._ai_split, ai, "ai_txt", path, add)
        if self.tdmrep is not None:
            rule = self.tdmrep.rule_for(url)
            if rule is not None:
                for value in rule.signal_values():
                    add("tdmrep", value, f"{self.files['tdmrep.json'].describe()} rule {rule.raw}", None)
        return out

    @staticmethod
    def _agents_to_report(split: tuple[tuple[str, ...], bool]) -> list[str]:
        own, any_fallback = split
        return [*own, *(["*"] if any_fallback else [])]

    def _evaluate(self, parsed: RobotsTxt, split: tuple[tuple[str, ...], bool], f: DomainFile,
                  signal: str, path: str, add) -> None:
        """One signal per training agent named in the file, one for '*' covering the others."""
        own, any_fallback = split
        for agent in own:
            decision = parsed.decide(agent, path, match_path=path)
            add(signal, "allowed" if decision.allowed else "disallowed",
                f"{f.describe()} {decision.evidence()}", agent)
        if any_fallback:
            decision = parsed.decide("*", path, match_path=path)
            covered = len(self.training_agents) - len(own)
            add(signal, "allowed" if decision.allowed else "disallowed",
                f"{f.describe()} {decision.evidence()}; applies to the {covered} training agents "
                f"without a group of their own", "*")

    def unreadable_signals(self, observed_at: datetime) -> list[ConsentSignal]:
        """Signals about the origin itself (not a page): an unreadable robots.txt or ai.txt, and
        an invalid tdmrep.json (recorded as evidence; whether it reserves is the resolver's call)."""
        out = []
        for kind, signal, state in (("robots.txt", "robots_txt", "unreadable"), ("ai.txt", "ai_txt", "unreadable"),
                                    ("tdmrep.json", "tdmrep", "invalid")):
            f = self.files.get(kind)
            if f is not None and f.state == state:
                out.append(ConsentSignal(url=f.url, domain=domain_of(f.url) or "", signal=signal,
                                         value=state, evidence=f"{f.describe()}: {f.reason}"[:MAX_VALUE_CHARS],
                                         observed_at=observed_at, agent="*"))
        return out


def _split_agents(parsed: RobotsTxt | None, training: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """(training agents named by a group, whether some training agent falls back to '*')."""
    if parsed is None:
        return (), False
    named = parsed.named_agents()
    own = tuple(a for a in training if a.split("/", 1)[0].strip().casefold() in named)
    return own, len(own) < len(training)
