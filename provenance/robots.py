"""robots.txt (RFC 9309) with evidence: which line of which group decided, for any user agent.

The same parser reads ``/ai.txt`` (Spawning's format is robots.txt syntax) and the lines some
sites add to robots.txt groups: ``Crawl-delay``, Cloudflare's ``Content-Signal`` and AIPREF's
``Content-Usage`` (each optionally preceded by a path, as in ``Content-Usage: /blog/ train-ai=n``).

Matching follows RFC 9309: a user agent obeys the groups whose ``User-agent`` names its product
token (case-insensitive; groups naming it are merged), else the ``*`` group; the rule with the
longest matching path wins, ``Allow`` wins a tie; ``*`` matches any sequence and a final ``$``
anchors the end; ``/robots.txt`` itself is always allowed. Paths are compared after the same
percent-encoding normalisation on both sides (:func:`normalize_path`): ``%2A`` and ``%24`` in a rule
match a literal ``*`` and ``$``; the path is matched with its query, an empty ``?`` included.
Records other than ``User-agent``/``Allow``/``Disallow`` (``Crawl-delay``, ``Sitemap``,
``Content-Usage``, unknown lines) never end a group (2.2.4). Whitespace is space and tab only and a
line ends at CR, LF or CRLF (2.1). This one matcher answers both the crawler's own fetch decision
and the robots.txt consent signal of every AI agent. Deviations of reference parsers that we do
not follow are listed in tests/test_robots_conformance.py.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_ROBOTS_BYTES = 512 * 1024  # RFC 9309: parse at least 500 KiB
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_RESERVED = frozenset(":/?#[]@!$&'()*+,;=")  # RFC 3986 gen-delims and sub-delims
_HEX = frozenset("0123456789abcdefABCDEF")
_KEYS = {
    "user-agent": "user-agent", "useragent": "user-agent", "user agent": "user-agent",
    "allow": "allow", "disallow": "disallow",
    # Misspelt Disallow lines read as Disallow, as Google's parser does: RFC 9309 2.2.4 lets a
    # crawler interpret records outside the protocol, and these only ever restrict.
    **dict.fromkeys(("dissallow", "dissalow", "disalow", "diasllow", "disallaw"), "disallow"),
    "sitemap": "sitemap", "site-map": "sitemap", "crawl-delay": "crawl-delay",
    "content-signal": "content-signal", "content-usage": "content-usage",
}
EXTENSION_KEYS = ("content-signal", "content-usage")


_WS = " \t"  # RFC 9309 whitespace: space and tab, nothing else (not U+00A0, not U+2002)
_EOL = re.compile(r"\r\n|\r|\n")  # RFC 9309 EOL: CR, LF or CRLF (not U+2028, \\x0c, \\x85...)
# Reserved octets that are data (not delimiters) inside a query: RFC 9309 2.2.2 (its example table
# has ``/foo/bar?baz=https://foo.bar`` matched as ``/foo/bar?baz=https%3A%2F%2Ffoo.bar``).
_QUERY_DATA = frozenset(":/?@")


def normalize_path(path: str, *, pattern: bool = False) -> str:
    """Percent-encoding normalised for comparison (RFC 9309, 2.2.2 and 2.2.3).

    Octets that cannot stand in a URI (non-ASCII, controls, space, ``<>"{}|\\^```) are
    percent-encoded (UTF-8, upper-case hex);
    percent-encoded unreserved characters are decoded; other escapes get upper-case hex; in the
    query (after the first ``?``) the reserved octets ``: / ? @`` are encoded. In a URL
    (``pattern=False``) a literal ``*`` or ``$`` is encoded (``%2A``, ``%24``), so a rule that
    writes ``%2A`` or ``%24`` matches it (2.2.3); in a pattern ``*`` stays the wildcard and ``$``
    is left for :meth:`PathPattern.of` (a final ``$`` anchors, any other is literal).
    """
    data = path.encode("utf-8", "surrogatepass")
    out: list[str] = []
    in_query = False
    i = 0
    while i < len(data):
        c = data[i]
        if c == 0x25 and i + 2 < len(data) and chr(data[i + 1]) in _HEX and chr(data[i + 2]) in _HEX:
            ch = chr(int(data[i + 1:i + 3], 16))
            out.append(ch if ch in _UNRESERVED else "%" + data[i + 1:i + 3].decode().upper())
            i += 3
            continue
        ch = chr(c)
        if ch not in _UNRESERVED and ch not in _RESERVED and ch != "%":
            out.append(f"%{c:02X}")  # non-ASCII, controls, space and "<>\"{}|\\^`": not URI characters
        elif ch == "?" and not in_query:
            in_query = True
            out.append(ch)
        elif (in_query and ch in _QUERY_DATA) or (not pattern and ch in "*$"):
            out.append(f"%{c:02X}")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def url_match_path(url: str) -> str:
    """The part of a URL that robots rules match: path (at least ``/``) plus ``?query``.

    An empty query is kept (RFC 9309 2.2.2 matches the path with its query: ``/works?`` is not
    ``/works``); the fragment is dropped.
    """
    parts = urlsplit(url)
    path = parts.path or "/"
    before_fragment = url.split("#", 1)[0]
    has_query = bool(parts.query) or before_fragment.endswith("?")
    return normalize_path(path + ("?" + parts.query if has_query else ""))


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
    def of(cls, raw: str) -> PathPattern:
        text = raw.strip(_WS)
        anchored = text.endswith("$")
        body = normalize_path(text[:-1] if anchored else text, pattern=True).replace("$", "%24")
        return cls(body + ("$" if anchored else ""), tuple(body.split("*")), anchored)

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

    @property
    def path_length(self) -> int:
        return 0 if self.path is None else self.path.length


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
    return name.split("/", 1)[0].strip(_WS).casefold()


@dataclass(frozen=True, slots=True)
class RobotsTxt:
    """A parsed robots.txt (or ai.txt)."""

    groups: tuple[Group, ...] = ()
    sitemaps: tuple[str, ...] = ()
    global_extensions: tuple[Extension, ...] = ()  # Content-Signal/-Usage lines before any group
    # product token -> the groups naming it, and the '*' groups: read once, asked once per page
    _by_token: dict[str, tuple[Group, ...]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _star: tuple[Group, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_token: dict[str, list[Group]] = {}
        for group in self.groups:
            for token in dict.fromkeys(agent_token(a) for a in group.agents):
                by_token.setdefault(token, []).append(group)
        object.__setattr__(self, "_by_token", {t: tuple(g) for t, g in by_token.items()})
        object.__setattr__(self, "_star", tuple(g for g in self.groups if any(a.strip(_WS) == "*" for a in g.agents)))

    @classmethod
    def parse(cls, text: str) -> RobotsTxt:
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

        for lineno, raw in enumerate(_EOL.split(text), start=1):
            line = raw.split("#", 1)[0].strip(_WS)
            key_raw, sep, value = line.partition(":")
            if not sep:
                continue  # RFC 9309 2.1: a record is "key: value" (Google also reads "disallow /")
            key = _KEYS.get(key_raw.strip(_WS).casefold())
            value = value.strip(_WS)
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
                # RFC 9309 2.2.4: records other than user-agent/allow/disallow never end a group
                if agents:
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
                    ext.append(extension)
                else:
                    global_ext.append(extension)
        close()
        return cls(tuple(groups), tuple(dict.fromkeys(sitemaps)), tuple(global_ext))

    # --- queries ---------------------------------------------------------------------------

    def own_groups(self, agent: str) -> tuple[Group, ...]:
        """The groups naming this agent's product token (empty when only '*' covers it)."""
        return self._by_token.get(agent_token(agent), ())

    def star_groups(self) -> tuple[Group, ...]:
        return self._star

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
        """Content-Signal / Content-Usage lines that apply to this agent and URL.

        Per key, the lines whose path matches with the most octets (a line without a path
        matches everything with length 0), as draft-ietf-aipref-attach 5.1 says for
        Content-Usage: ``/ai-ok/ train-ai=y`` overrides a group-wide ``train-ai=n`` under
        ``/ai-ok/``. Lines with identical paths all apply (their preferences combine). Lines
        before any group (outside the protocol) are read as applying to every group.
        """
        groups, _ = self.groups_for(agent)
        path = match_path if match_path is not None else url_match_path(url)
        candidates = [*self.global_extensions, *(e for g in groups for e in g.extensions)]
        found: list[Extension] = []
        for key in EXTENSION_KEYS:
            applicable = [e for e in candidates if e.key == key and e.applies_to(path)]
            if applicable:
                longest = max(e.path_length for e in applicable)
                found += [e for e in applicable if e.path_length == longest]
        return tuple(sorted(found, key=lambda e: e.lineno))

    def named_agents(self) -> frozenset[str]:
        """Product tokens named by some group (``*`` excluded)."""
        return frozenset(agent_token(a) for g in self.groups for a in g.agents if a.strip(_WS) != "*")


def _extension(key: str, value: str, line: str, lineno: int) -> Extension | None:
    if not value:
        return None
    path = None
    head, rest = _split_ws(value)
    if head.startswith("/") and rest:
        path, value = PathPattern.of(head), rest
    return Extension(key, value, path, line, lineno)


def _split_ws(value: str) -> tuple[str, str]:
    """The first word of a value and the rest, split at a run of spaces or tabs."""
    for i, ch in enumerate(value):
        if ch in _WS:
            return value[:i], value[i:].strip(_WS)
    return value, ""


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
    data = body[:MAX_ROBOTS_BYTES]
    for bom in (b"\xef\xbb\xbf", b"\xef\xbb", b"\xef"):  # a whole or cut-off UTF-8 BOM
        if data.startswith(bom):
            data = data[len(bom):]
            break
    return data.decode("utf-8", "replace")
