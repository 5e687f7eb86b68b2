"""robots.txt (RFC 9309) with evidence: which line of which group decided, for any user agent.

The same parser reads ``/ai.txt`` (Spawning's format is robots.txt syntax) and the lines some
sites add to robots.txt groups: ``Crawl-delay``, Cloudflare's ``Content-Signal`` and AIPREF's
``Content-Usage`` (each optionally preceded by a path, as in ``Content-Usage: /blog/ train-ai=n``).

Matching follows RFC 9309: a user agent obeys the groups whose ``User-agent`` names its product
token (case-insensitive; groups naming it are merged), else the ``*`` group; the rule with the
longest matching path wins, ``Allow`` wins a tie; ``*`` matches any sequence and a final ``$``
anchors the end; ``/robots.txt`` itself is always allowed. Paths are compared after the same
percent-encoding normalisation on both sides.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_ROBOTS_BYTES = 512 * 1024  # RFC 9309: parse at least 500 KiB
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_HEX = frozenset("0123456789abcdefABCDEF")
_KEYS = {
    "user-agent": "user-agent", "useragent": "user-agent", "user agent": "user-agent",
    "allow": "allow", "disallow": "disallow", "dissallow": "disallow", "disalow": "disallow",
    "sitemap": "sitemap", "site-map": "sitemap", "crawl-delay": "crawl-delay",
    "content-signal": "content-signal", "content-usage": "content-usage",
}
EXTENSION_KEYS = ("content-signal", "content-usage")


def normalize_path(path: str) -> str:
    """Percent-encoding normalised for comparison (RFC 9309, 2.2.2).

    Non-ASCII characters and control/space octets are percent-encoded (UTF-8, upper-case hex);
    percent-encoded unreserved characters are decoded; other escapes get upper-case hex.
    """
    data = path.encode("utf-8", "surrogatepass")
    out: list[str] = []
    i = 0
    while i < len(data):
        c = data[i]
        if c == 0x25 and i + 2 < len(data) and chr(data[i + 1]) in _HEX and chr(data[i + 2]) in _HEX:
            ch = chr(int(data[i + 1:i + 3], 16))
            out.append(ch if ch in _UNRESERVED else "%" + data[i + 1:i + 3].decode().upper())
            i += 3
            continue
        out.append(f"%{c:02X}" if c >= 0x80 or c <= 0x20 else chr(c))
        i += 1
    return "".join(out)


def url_match_path(url: str) -> str:
    """The part of a URL that robots rules match: path (at least ``/``) plus ``?query``."""
    parts = urlsplit(url)
    path = parts.path or "/"
    return normalize_path(path + ("?" + parts.query if parts.query else ""))


@dataclass(frozen=True, slots=True)
class PathPattern:
    """A path pattern with ``*`` and ``$`` (robots.txt, ai.txt, tdmrep.json locations).

    Matched without regular expressions: a hostile file full of ``/*a*a*a*a*...`` lines would make
    a backtracking regex take exponential time. With only ``*`` as a wildcard, placing each literal
    piece at its leftmost possible position is enough (time linear in the path per piece).
    A final ``$`` anchors the end; a ``$`` elsewhere is a literal character.
    """

    pattern: str  # normalised
    pieces: tuple[str, ...] = field(compare=False, repr=False)  # the literal text between '*'s
    anchored: bool = field(compare=False, repr=False)

    @classmethod
    def of(cls, raw: str) -> "PathPattern":
        norm = normalize_path(raw.strip())
        anchored = norm.endswith("$")
        body = norm[:-1] if anchored else norm
        return cls(norm, tuple(body.split("*")), anchored)

    def matches(self, match_path: str) -> bool:
        """Whether the pattern matches ``match_path`` from its start (to its end when anchored)."""
        pieces = self.pieces
        first = pieces[0]
        if not match_path.startswith(first):
            return False
        if len(pieces) == 1:
            return not self.anchored or len(match_path) == len(first)
        pos = len(first)
        for piece in pieces[1:-1]:
            found = match_path.find(piece, pos)
            if found < 0:
                return False
            pos = found + len(piece)
        last = pieces[-1]
        if self.anchored:
            return len(match_path) - len(last) >= pos and match_path.endswith(last)
        return match_path.find(last, pos) >= 0

    @property
    def length(self) -> int:
        return len(self.pattern)


@dataclass(frozen=True, slots=True)
class Rule:
    """An ``Allow`` or ``Disallow`` line."""

    allow: bool
    path: PathPattern
    line: str
    lineno: int


@dataclass(frozen=True, slots=True)
class Extension:
    """A ``Content-Signal`` or ``Content-Usage`` line: an optional path, then the value."""

    key: str
    value: str
    path: PathPattern | None
    line: str
    lineno: int

    def applies_to(self, match_path: str) -> bool:
        return self.path is None or self.path.matches(match_path)


@dataclass(frozen=True, slots=True)
class Group:
    agents: tuple[str, ...]  # as written
    rules: tuple[Rule, ...] = ()
    crawl_delay: float | None = None
    crawl_delay_line: str | None = None
    extensions: tuple[Extension, ...] = ()

    @property
    def label(self) -> str:
        return "User-agent: " + ", ".join(self.agents)


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether an agent may fetch a path, and the evidence."""

    allowed: bool
    rule: Rule | None  # the deciding rule; None when no rule matched
    groups: tuple[Group, ...]  # the groups the agent obeys (empty: no group applies)
    own_group: bool  # the agent is named by a group (not only covered by '*')

    def evidence(self) -> str:
        where = " + ".join(g.label for g in self.groups) if self.groups else "no group applies"
        if self.rule is None:
            return f"no rule matches ({where})"
        return f'line {self.rule.lineno}: "{self.rule.line}" ({where})'


def agent_token(name: str) -> str:
    """The comparable product token of a user agent or ``User-agent`` value."""
    return name.split("/", 1)[0].strip().casefold()


@dataclass(frozen=True, slots=True)
class RobotsTxt:
    """A parsed robots.txt (or ai.txt)."""

    groups: tuple[Group, ...] = ()
    sitemaps: tuple[str, ...] = ()
    global_extensions: tuple[Extension, ...] = ()  # Content-Signal/-Usage lines before any group

    @classmethod
    def parse(cls, text: str) -> "RobotsTxt":
        groups: list[Group] = []
        sitemaps: list[str] = []
        global_ext: list[Extension] = []
        agents: list[str] = []
        rules: list[Rule] = []
        ext: list[Extension] = []
        delay: tuple[float, str] | None = None
        in_rules = False

        def close() -> None:
            if agents:
                groups.append(Group(tuple(agents), tuple(rules), delay[0] if delay else None,
                                    delay[1] if delay else None, tuple(ext)))

        for lineno, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            key_raw, sep, value = line.partition(":")
            if not sep:
                continue
            key = _KEYS.get(key_raw.strip().casefold())
            value = value.strip()
            if key is None:
                continue
            if key == "sitemap":
                if value:
                    sitemaps.append(value)
            elif key == "user-agent":
                if in_rules:
                    close()
                    agents, rules, ext, delay, in_rules = [], [], [], None, False
                if value:
                    agents.append(value)
            elif key in ("allow", "disallow"):
                if not agents:
                    continue  # a rule outside any group is ignored (RFC 9309)
                in_rules = True
                if value:
                    rules.append(Rule(key == "allow", PathPattern.of(value), line, lineno))
            elif key == "crawl-delay":
                if agents:
                    in_rules = True
                    try:
                        seconds = float(value)
                    except ValueError:
                        continue
                    if seconds >= 0 and delay is None:
                        delay = (seconds, line)
            else:  # content-signal, content-usage
                extension = _extension(key, value, line, lineno)
                if extension is None:
                    continue
                if agents:
                    in_rules = True
                    ext.append(extension)
                else:
                    global_ext.append(extension)
        close()
        return cls(tuple(groups), tuple(dict.fromkeys(sitemaps)), tuple(global_ext))

    # --- queries ---------------------------------------------------------------------------

    def own_groups(self, agent: str) -> tuple[Group, ...]:
        """The groups naming this agent's product token (empty when only '*' covers it)."""
        token = agent_token(agent)
        return tuple(g for g in self.groups if any(agent_token(a) == token for a in g.agents))

    def star_groups(self) -> tuple[Group, ...]:
        return tuple(g for g in self.groups if any(a.strip() == "*" for a in g.agents))

    def groups_for(self, agent: str) -> tuple[tuple[Group, ...], bool]:
        own = self.own_groups(agent) if agent_token(agent) != "*" else ()
        return (own, True) if own else (self.star_groups(), False)

    def decide(self, agent: str, url_or_path: str, *, match_path: str | None = None) -> Decision:
        """May ``agent`` fetch this URL (or ``/path?query``)? ``match_path``: the URL's
        :func:`url_match_path`, when the caller computed it already."""
        groups, own = self.groups_for(agent)
        if match_path is not None:
            path = match_path
        else:
            path = url_match_path(url_or_path) if "://" in url_or_path else normalize_path(url_or_path)
        if path == "/robots.txt":
            return Decision(True, None, groups, own)
        best: Rule | None = None
        for group in groups:
            for rule in group.rules:
                if not rule.path.matches(path):
                    continue
                if (best is None or rule.path.length > best.path.length
                        or (rule.path.length == best.path.length and rule.allow and not best.allow)):
                    best = rule
        return Decision(best is None or best.allow, best, groups, own)

    def crawl_delay(self, agent: str) -> tuple[float, str] | None:
        groups, _ = self.groups_for(agent)
        for group in groups:
            if group.crawl_delay is not None:
                return group.crawl_delay, f"{group.crawl_delay_line} ({group.label})"
        return None

    def extensions_for(self, agent: str, url: str, *, match_path: str | None = None) -> tuple[Extension, ...]:
        """Content-Signal / Content-Usage lines that apply to this agent and URL."""
        groups, _ = self.groups_for(agent)
        path = match_path if match_path is not None else url_match_path(url)
        found = [e for e in self.global_extensions if e.applies_to(path)]
        found += [e for g in groups for e in g.extensions if e.applies_to(path)]
        return tuple(found)

    def named_agents(self) -> frozenset[str]:
        """Product tokens named by some group (``*`` excluded)."""
        return frozenset(agent_token(a) for g in self.groups for a in g.agents if a.strip() != "*")


def _extension(key: str, value: str, line: str, lineno: int) -> Extension | None:
    if not value:
        return None
    path = None
    head, _, rest = value.partition(" ")
    if head.startswith("/") and rest.strip():
        path, value = PathPattern.of(head), rest.strip()
    return Extension(key, value, path, line, lineno)


_NOT_TEXT_CHARS = re.compile("[\x00-\x08\x0b\x0e-\x1f\ufffd]")
MAX_NOT_TEXT_SHARE = 0.1


def not_text(body: bytes) -> str | None:
    """Why ``body`` cannot be read as a robots.txt (or ai.txt), or None when it is text.

    Binary content: NUL bytes, or more than a tenth of the characters undecodable as UTF-8 or
    control characters. A few stray Latin-1 octets in comments are text.
    """
    sample = body[:MAX_ROBOTS_BYTES]
    if b"\x00" in sample:
        return "binary content (NUL bytes), not a text file"
    text = sample.decode("utf-8", "replace")
    bad = len(_NOT_TEXT_CHARS.findall(text))
    if text and bad > MAX_NOT_TEXT_SHARE * len(text):
        return (f"binary content ({bad} of the first {len(text)} characters are undecodable or control "
                f"characters), not a text file")
    return None


def decode_robots(body: bytes) -> str:
    """robots.txt is UTF-8 (RFC 9309); undecodable octets are replaced, a BOM dropped."""
    return body[:MAX_ROBOTS_BYTES].decode("utf-8", "replace").lstrip("\ufeff")
