"""The HTTP ``Link`` header (RFC 8288, section 3): its links, each a target with parameters.

``Link: <https://creativecommons.org/licenses/by/4.0/>; rel="license", </next>; rel=next``
gives two links. Values may be repeated headers or one comma-separated header; a comma inside
``<...>`` or a quoted string does not split. Parameter names are case-insensitive (lower-cased
here); ``rel`` is a space-separated list of relation types, compared case-insensitively.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_LINK = re.compile(r"\s*<([^>]*)>((?:\s*;\s*" + _TOKEN + r"\*?\s*(?:=\s*(?:\"(?:[^\"\\]|\\.)*\"|[^;,\s]*))?)*)\s*(?:,|$)")
_PARAM = re.compile(r";\s*(" + _TOKEN + r"\*?)\s*(?:=\s*(\"(?:[^\"\\]|\\.)*\"|[^;,\s]*))?")


@dataclass(frozen=True, slots=True)
class Link:
    target: str  # resolved against the base URL
    params: tuple[tuple[str, str], ...]  # (lower-case name, value unquoted), in order

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.params if k == name), None)

    @property
    def rels(self) -> frozenset[str]:
        return frozenset((self.param("rel") or "").casefold().split())


def parse_links(values: Iterable[str], base_url: str) -> Iterator[Link]:
    """The links of one or more ``Link`` header values (a malformed remainder is skipped)."""
    for value in values:
        pos = 0
        while pos < len(value):
            match = _LINK.match(value, pos)
            if match is None or match.end() == pos:
                break
            pos = match.end()
            params = tuple((name.lower(), _unquote(raw or "")) for name, raw in _PARAM.findall(match[2]))
            yield Link(urljoin(base_url, match[1].strip()), params)


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return raw
