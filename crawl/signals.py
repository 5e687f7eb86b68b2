"""Consent signals a page carries itself: HTTP response headers and ``<meta>`` tags.

Per-origin signals (robots.txt, ai.txt, tdmrep.json) are in :mod:`crawl.domainfiles`. Every
signal keeps the raw header or tag as evidence; :func:`provenance.consent.resolve_consent`
decides what they mean.

* ``X-Robots-Tag`` and ``<meta name="robots">``: one signal per directive (``noai``,
  ``noimageai``, ``noindex``, ...), scoped to an agent when written ``GPTBot: noai`` or
  ``<meta name="GPTBot" content="noai">``.
* TDMRep ``tdm-reservation`` / ``tdm-policy`` headers and meta tags.
* AIPREF ``Content-Usage`` header; a ``Content-Signal`` header is recorded too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from provenance.ids import domain_of
from provenance.records import ConsentSignal

MAX_VALUE_CHARS = 1000
_ARG_DIRECTIVES = {"max-snippet", "max-image-preview", "max-video-preview", "unavailable_after"}
# Headers read as signals: lower-case name -> signal kind.
HEADER_SIGNALS: Mapping[str, str] = {
    "x-robots-tag": "x_robots_tag",
    "content-usage": "content_usage",
    "content-signal": "content_signal",
    "tdm-reservation": "tdmrep",
    "tdm-policy": "tdmrep",
}
SIGNAL_HEADERS: tuple[str, ...] = tuple(HEADER_SIGNALS)


def robots_directives(value: str) -> list[tuple[str | None, str]]:
    """``(agent, directive)`` pairs of an X-Robots-Tag / meta robots value (``GPTBot: noai, noimageai``)."""
    pairs: list[tuple[str | None, str]] = []
    agent: str | None = None
    for token in value.split(","):
        head, sep, rest = token.partition(":")
        if sep and head.strip().casefold() not in _ARG_DIRECTIVES and " " not in head.strip():
            agent, token = head.strip() or None, rest
        elif sep:  # max-snippet: 20 and friends keep their argument
            token = f"{head.strip()}:{rest.strip()}"
        for word in token.split() if ":" not in token else [token.strip()]:
            if word:
                pairs.append((agent, word.casefold()))
    return list(dict.fromkeys(pairs))  # a directive repeated is one signal


def header_signals(url: str, headers: Mapping[str, Sequence[str]], observed_at: datetime,
                   doc_id: str | None = None) -> list[ConsentSignal]:
    """Signals of a response's headers (``headers``: lower-case name -> values)."""
    domain = domain_of(url) or ""
    out: list[ConsentSignal] = []

    def add(signal: str, value: str, evidence: str, agent: str | None = None) -> None:
        out.append(ConsentSignal(url=url, domain=domain, signal=signal, value=value[:MAX_VALUE_CHARS],
                                 evidence=evidence[:MAX_VALUE_CHARS], observed_at=observed_at,
                                 agent=agent, doc_id=doc_id))

    for name, kind in HEADER_SIGNALS.items():
        for raw in headers.get(name, ()):
            value = raw.strip()
            if not value:
                continue
            evidence = f"{_header_name(name)}: {value}"
            if kind == "x_robots_tag":
                for agent, directive in robots_directives(value):
                    add(kind, directive, evidence, agent[:MAX_VALUE_CHARS] if agent else agent)
            elif kind == "tdmrep":
                add(kind, f"{name}={value}", evidence)
            else:
                add(kind, value, evidence)
    return out


def meta_signals(url: str, metas: Iterable[tuple[str, str]], agent_tokens: frozenset[str],
                 observed_at: datetime, doc_id: str | None = None) -> list[ConsentSignal]:
    """Signals of ``<meta name=... content=...>`` pairs (names lower-case).

    ``robots`` and the names of known AI agents (``agent_tokens``, lower-case) give ``meta_robots``
    signals; ``tdm-reservation`` and ``tdm-policy`` give ``tdmrep`` signals.
    """
    domain = domain_of(url) or ""
    out: list[ConsentSignal] = []
    for name, content in metas:
        content = content.strip()
        if not content:
            continue
        evidence = f'<meta name="{name}" content="{content}">'[:MAX_VALUE_CHARS]
        if name in ("tdm-reservation", "tdm-policy"):
            out.append(ConsentSignal(url=url, domain=domain, signal="tdmrep",
                                     value=f"{name}={content}"[:MAX_VALUE_CHARS], evidence=evidence,
                                     observed_at=observed_at, doc_id=doc_id))
        elif name == "robots" or name in agent_tokens:
            scope = None if name == "robots" else name
            for agent, directive in robots_directives(content):
                who = agent or scope
                out.append(ConsentSignal(url=url, domain=domain, signal="meta_robots",
                                         value=directive[:MAX_VALUE_CHARS], evidence=evidence,
                                         observed_at=observed_at, agent=who[:MAX_VALUE_CHARS] if who else None,
                                         doc_id=doc_id))
    return out


def _header_name(name: str) -> str:
    return "-".join(part.capitalize() if part != "tdm" else "tdm" for part in name.split("-")) \
        if not name.startswith("tdm-") else name
