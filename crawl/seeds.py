"""Seed URLs from the command line and from a seeds file, each checked with where it came from."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from provenance.errors import InputError
from provenance.ids import canonical_url


@dataclass(frozen=True, slots=True)
class Seed:
    url: str
    where: str  # 'argument 2', 'seeds.txt line 7'


@dataclass(frozen=True, slots=True)
class InvalidSeed:
    text: str
    where: str
    reason: str

    def message(self) -> str:
        return f"{self.where}: {self.text!r} is not a valid seed URL ({self.reason})"


def check_url(text: str) -> str | None:
    """Why ``text`` is not an http(s) URL with a host, or None when it is one."""
    if not text:
        return "empty"
    if any(c.isspace() for c in text):
        return "contains whitespace"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        return str(exc)
    if parts.scheme.lower() not in ("http", "https"):
        if not parts.scheme and "." in text.split("/", 1)[0]:
            return f"no scheme; write https://{text}"
        return "only http:// and https:// URLs can be crawled"
    if not parts.hostname:
        return "no host name"
    if port == 0:
        return "port 0"
    return None


def parse_seeds(urls: Iterable[str], seeds_file: Path | None = None) -> tuple[list[Seed], list[InvalidSeed]]:
    """Valid seeds (first occurrence of each) and invalid lines. Blank lines and ``#`` comments are skipped."""
    valid: list[Seed] = []
    invalid: list[InvalidSeed] = []
    seen: set[str] = set()

    def take(text: str, where: str) -> None:
        text = text.strip()
        reason = check_url(text)
        if reason is not None:
            invalid.append(InvalidSeed(text, where, reason))
            return
        key = canonical_url(text)
        if key not in seen:
            seen.add(key)
            valid.append(Seed(text, where))

    for i, url in enumerate(urls, start=1):
        take(url, f"argument {i}")
    if seeds_file is not None:
        try:
            lines = seeds_file.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the seeds file {seeds_file}: {exc}") from exc
        for lineno, line in enumerate(lines, start=1):
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                take(stripped, f"{seeds_file.name} line {lineno}")
    return valid, invalid


def crawl_key(seeds: Iterable[Seed]) -> str:
    """The identity of a crawl for --resume: its set of seed URLs."""
    joined = "\n".join(sorted({canonical_url(s.url) for s in seeds}))
    return hashlib.sha256(joined.encode()).hexdigest()[:16]
