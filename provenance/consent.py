"""The consent resolver: one decision per document from its signals and license.

Every stage decides consent here and nowhere else (DESIGN.md, "Consent, decided the same way
everywhere"). The functions are pure: the same signals, license and agent list always give the same
decision, with the same evidence in the same order.

Each signal is read into *terms* (normalised values such as ``noai`` or ``train-ai=n``), and each
term has an effect in the ``EFFECTS`` table: ``reserve`` (a reservation of AI training),
``permit`` (an explicit permission) or ``none``. A signal's effect is the most restrictive of its
terms' effects (``classify``). Then:

- **opted_out**: at least one signal reserves. Evidence: those signals.
- **granted**: none reserves, and the license grants permission
  (``provenance.licenses.grants_permission``) or a signal permits. Evidence: those.
- **unspecified**: otherwise. Evidence: empty.

Decisions (see also ``EFFECTS``):

- Agent scope. A signal or directive scoped to a user agent (robots.txt evaluated for ``GPTBot``,
  ``<meta name="GPTBot" content="noai">``, ``X-Robots-Tag: GPTBot: noai``, a Content-Usage line
  in a robots.txt group) counts only when that agent is a training agent
  (``provenance.agents.training_agents``); with ``training_agents=None`` every agent counts.
  Agent names match case-insensitively, ignoring a ``/version`` suffix; ``*`` and ``robots``
  mean every agent.
- Never fail open. An ``unreadable`` robots.txt is a reservation whatever agent it was evaluated
  for (RFC 9309, 2.3.1.4: an unreachable robots.txt means complete disallow). The same holds for an
  ``unreadable`` ai.txt: the crawler records it only when a file exists but could not be read (5xx,
  timeout, undecodable); a missing ai.txt (404) is no signal at all and is never recorded.
- ``noimageai`` reserves images only, so it is not a reservation of text training; it stays in the
  ``consent_signals`` table as evidence but does not change the decision. ``noindex``,
  ``nofollow``, ``noarchive``, ``nosnippet``, ``none`` and other search directives are not
  reservations either.
- ``allowed`` from robots.txt or ai.txt is not a permission: both files allow whatever they do not
  disallow, so ``allowed`` cannot be told from silence. Explicit permissions are an open license,
  ``tdm-reservation=0``, AIPREF ``train-ai=y`` and Content-Signal ``ai-train=yes`` (and an imported
  ``granted``).
- TDMRep ``tdm-reservation=1`` reserves even when a ``tdm-policy`` offers a license: no license was
  obtained. ``tdm-policy=URL`` alone has no effect. A value other than 1 or 0 (the JSON string
  ``"1"``, ``yes``) is a protocol error: unset. The techniques supersede one another as the final
  report's "Processing priority" says: an HTTP header over the well-known file, HTML metadata over
  both; a technique that sets nothing resets nothing (so a file's ``1`` with a header's ``0`` is
  ``0``). This is the one place where a signal does not simply add to the most restrictive result.
- AIPREF Content-Usage (draft-ietf-aipref-vocab) is parsed exactly as the draft says
  (:func:`aipref_preferences`): a Structured Fields Dictionary, case-sensitive, the last of a
  repeated key wins, parameters ignored (CC signals' ``;exceptions=cc-cr`` does not lift an ``n``:
  the corpus cannot promise the credit it asks for), only the Tokens ``y``/``n`` count, a value
  that does not parse is unknown. AI training is asked under the current label ``train-ai`` and,
  as extensions, the earlier drafts' labels still in use (``train-genai`` under ``train-ai`` under
  ``all``; ``genai`` under ``ai`` under ``tdm``): the narrowest explicit one in a statement answers
  (``all=n, train-ai=y`` permits); statements combine as the draft's "Combining Preferences": any
  ``n`` reserves. ``search`` and ``ai-use`` do not concern training.
- Content-Signal: only ``ai-train`` matters (``ai-input`` and ``search`` do not concern training).
- ``LicenseRef-all-rights-reserved`` is not a reservation of AI training (DESIGN.md lists only
  machine-readable reservations); it is no permission either.

Parsing never raises, whatever string a signal carries.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Literal

import http_sf

from provenance.licenses import grants_permission
from provenance.records import ConsentDecision, ConsentSignal

Effect = Literal["reserve", "permit", "none"]

RESERVE: Effect = "reserve"
PERMIT: Effect = "permit"
NONE: Effect = "none"

# AIPREF categories that answer "may this be used for AI training?", each with its broader
# category: current labels (train-ai, train-genai under all) and the earlier drafts' (ai, genai
# under tdm).
AIPREF_PARENT: Mapping[str, str] = MappingProxyType(
    {"train-genai": "train-ai", "train-ai": "all", "genai": "ai", "ai": "tdm"}
)
AIPREF_TRAINING_LABELS: tuple[str, ...] = ("train-ai", "train-genai", "ai", "genai")

_ROBOTS_DIRECTIVES: dict[str, Effect] = {
    "noai": RESERVE,
    "noimageai": NONE,  # images only: kept as evidence in consent_signals, not a text reservation
    **{d: NONE for d in ("noindex", "nofollow", "none", "noarchive", "nosnippet", "notranslate",
                         "noimageindex", "nocache", "index", "follow", "all")},
}

_AIPREF_TERMS: dict[str, Effect] = {
    **{f"{label}=n": RESERVE for label in (*AIPREF_TRAINING_LABELS, "all", "tdm")},
    **{f"{label}=y": PERMIT for label in (*AIPREF_TRAINING_LABELS, "all", "tdm")},
    **{f"{label}={v}": NONE for label in ("search", "ai-use") for v in "yn"},
}

# signal kind -> normalised term -> effect. Terms missing from a kind's table have no effect.
EFFECTS: Mapping[str, Mapping[str, Effect]] = MappingProxyType(
    {
        "robots_txt": MappingProxyType(
            {"disallowed": RESERVE, "unreadable": RESERVE, "allowed": NONE}
        ),
        "x_robots_tag": MappingProxyType(_ROBOTS_DIRECTIVES),
        "meta_robots": MappingProxyType(_ROBOTS_DIRECTIVES),
        "tdmrep": MappingProxyType({"tdm-reservation=1": RESERVE, "tdm-reservation=0": PERMIT}),
        "content_usage": MappingProxyType(_AIPREF_TERMS),
        "content_signal": MappingProxyType(
            {
                "ai-train=no": RESERVE,
                "ai-train=yes": PERMIT,
                **{f"{k}={v}": NONE for k in ("search", "ai-input") for v in ("yes", "no")},
            }
        ),
        "ai_txt": MappingProxyType({"disallowed": RESERVE, "unreadable": RESERVE, "allowed": NONE}),
        "import_column": MappingProxyType(
            {"opted_out": RESERVE, "granted": PERMIT, "unspecified": NONE}
        ),
    }
)

# Terms that count whatever agent they were observed for: an unreadable file is unreadable for all.
AGENT_INDEPENDENT: frozenset[tuple[str, str]] = frozenset(
    {("robots_txt", "unreadable"), ("ai_txt", "unreadable")}
)

_ALL_AGENTS = {"", "*", "robots"}
_ARG_DIRECTIVES = {"max-snippet", "max-image-preview", "max-video-preview", "unavailable_after"}
_HEADER_PREFIX = re.compile(
    r"^\s*(x-robots-tag|content-usage|content-signal|tdm-reservation|tdm-policy)\s*:\s*(?=\S)",
    re.IGNORECASE,
)
# TDMRep: tdm-reservation is 1 or 0; anything else (the JSON string "1", "yes", "10") is a protocol
# error and leaves the reservation unset (TDMRep final report, "tdm-reservation").
_TDM_RESERVATION = re.compile(
    r"tdm[-_]reservation[\"']?\s*[=:]\s*([01])(?![0-9A-Za-z.\"'])", re.IGNORECASE
)
# TDMRep "Processing priority": the well-known file, then the HTTP header, then HTML metadata; a
# later technique supersedes an earlier one; its absence resets nothing.
TDMREP_FILE, TDMREP_HEADER, TDMREP_META = 0, 1, 2
MAX_EVIDENCE_CHARS = 300  # per signal in the decision; the full text stays in consent_signals


def classify(signal: ConsentSignal, training_agents: frozenset[str] | None = None) -> Effect:
    """The effect of one signal on consent: ``reserve``, ``permit`` or ``none``."""
    return _classify(signal, _agent_keys(training_agents))


def resolve_consent(
    signals: Iterable[ConsentSignal],
    *,
    license: str | None = None,
    training_agents: frozenset[str] | None = None,
) -> ConsentDecision:
    """The consent of one document from all its signals and its license (an SPDX id or None).

    ``training_agents``: names of AI-training user agents (``provenance.agents.training_agents``);
    None counts every agent. The most restrictive signal wins; the evidence lists the signals
    that decided, sorted.
    """
    training = _agent_keys(training_agents)
    reserves: set[str] = set()
    permits: set[str] = set()
    signals = list(signals)
    superseded = _superseded_tdmrep(signals)
    for i, signal in enumerate(signals):
        if i in superseded:
            continue  # kept in consent_signals as evidence; a later TDMRep technique decides
        effect = _classify(signal, training)
        if effect == RESERVE:
            reserves.add(evidence_line(signal))
        elif effect == PERMIT:
            permits.add(evidence_line(signal))
    if reserves:
        return ConsentDecision("opted_out", tuple(sorted(reserves)))
    if license is not None and grants_permission(license):
        permits.add(f"license={license}")
    if permits:
        return ConsentDecision("granted", tuple(sorted(permits)))
    return ConsentDecision("unspecified", ())


def evidence_line(signal: ConsentSignal) -> str:
    """One signal as evidence: ``signal[agent]=value: evidence`` (``[agent]`` only when set)."""
    agent = f"[{_one_line(signal.agent)}]" if signal.agent else ""
    head = f"{signal.signal}{agent}={_one_line(signal.value)}"
    evidence = _one_line(signal.evidence)
    return f"{head}: {evidence}" if evidence else head


def format_evidence(decision: ConsentDecision) -> str:
    """The decision's evidence as one string for the ledger column ``consent_evidence``."""
    return "; ".join(decision.evidence)


# --- internals ---------------------------------------------------------------------------------


def _classify(signal: ConsentSignal, training: frozenset[str] | None) -> Effect:
    table = EFFECTS.get(signal.signal, {})
    effects = set()
    for agent, term in _terms(signal):
        effect = table.get(term, NONE)
        if effect != NONE and not _applies(signal.signal, term, agent, training):
            effect = NONE
        effects.add(effect)
    if RESERVE in effects:
        return RESERVE
    if PERMIT in effects:
        return PERMIT
    return NONE


def tdmrep_technique(signal: ConsentSignal) -> int:
    """Which TDMRep technique a ``tdmrep`` signal came from, by the evidence the crawl writes:
    ``<meta name="tdm-reservation" ...>`` (HTML, TDMREP_META), ``tdm-reservation: 1`` (HTTP header,
    TDMREP_HEADER), anything else (a ``/.well-known/tdmrep.json`` rule, TDMREP_FILE)."""
    evidence = _text(signal.evidence).lstrip().casefold()
    if evidence.startswith("<meta"):
        return TDMREP_META
    if evidence.startswith(("tdm-reservation", "tdm-policy")):
        return TDMREP_HEADER
    return TDMREP_FILE


def _superseded_tdmrep(signals: list[ConsentSignal]) -> set[int]:
    """Indexes of ``tdmrep`` signals superseded by a later technique that sets tdm-reservation
    (TDMRep "Processing priority": header over file, HTML over both; absence resets nothing)."""
    levels: dict[int, list[int]] = {}
    for i, signal in enumerate(signals):
        if signal.signal == "tdmrep" and _TDM_RESERVATION.search(_text(signal.value)):
            levels.setdefault(tdmrep_technique(signal), []).append(i)
    if len(levels) < 2:
        return set()
    top = max(levels)
    return {i for level, indexes in levels.items() if level < top for i in indexes}


def _applies(kind: str, term: str, agent: str | None, training: frozenset[str] | None) -> bool:
    """Whether a term observed for ``agent`` concerns AI training (see "Agent scope")."""
    if (kind, term) in AGENT_INDEPENDENT or training is None:
        return True
    key = _agent_key(agent)
    return key is None or key in training


def _terms(signal: ConsentSignal) -> Iterator[tuple[str | None, str]]:
    """The normalised terms of a signal's value, each with the agent it is scoped to."""
    value = _text(signal.value)
    kind = signal.signal
    agent = _text(signal.agent) or None
    if kind in ("x_robots_tag", "meta_robots"):
        yield from _robots_directives(value, agent)
    elif kind == "tdmrep":
        for digit in _TDM_RESERVATION.findall(value):
            yield agent, f"tdm-reservation={digit}"
    elif kind == "content_usage":
        for term in _aipref_training_terms(aipref_preferences(value)):
            yield agent, term
    elif kind == "content_signal":
        for v in sorted(_dictionary(value).get("ai-train", ())):
            yield agent, f"ai-train={v}"
    elif kind == "import_column":
        yield agent, re.sub(r"[\s-]+", "_", value.strip().casefold())
    else:  # robots_txt, ai_txt: one evaluated value
        yield agent, value.strip().casefold()


def _robots_directives(value: str, agent: str | None) -> Iterator[tuple[str | None, str]]:
    """Directives of a robots meta tag or X-Robots-Tag, with ``AGENT: directive`` scoping."""
    current = agent
    for token in _HEADER_PREFIX.sub("", value).split(","):
        head, sep, rest = token.partition(":")
        if sep and head.strip().casefold() not in _ARG_DIRECTIVES:
            current, token = head.strip(), rest
        for word in token.split():
            yield current, word.casefold()


def aipref_preferences(value: str) -> dict[str, str]:
    """An AIPREF statement of preference (draft-ietf-aipref-vocab, 6 and 7): label -> ``y`` or ``n``.

    The value is parsed as a Structured Fields Dictionary (RFC 9651) with ``http_sf``, exactly:
    case-sensitive, the last of a repeated key wins, parameters ignored; a member whose value is
    not the Token ``y`` or ``n`` is unknown, and a value that does not parse says nothing at all.
    An optional ``Content-Usage:`` prefix (evidence written with its header name) is dropped.
    """
    text = _HEADER_PREFIX.sub("", value).strip(" \t")
    if text.startswith("/"):  # a robots.txt Content-Usage path, up to the first SP or HTAB (attach draft)
        text = re.split(r"[ \t]", text, maxsplit=1)[1].strip(" \t") if re.search(r"[ \t]", text) else ""
    try:
        parsed = http_sf.parse(text.encode("utf-8"), tltype="dictionary")
    except (http_sf.StructuredFieldError, ValueError, UnicodeError):
        return {}
    if not isinstance(parsed, dict):
        return {}
    prefs = {}
    for key, member in parsed.items():
        item = member[0] if isinstance(member, tuple) else member
        if isinstance(item, http_sf.Token) and str(item) in ("y", "n"):
            prefs[key] = str(item)
    return prefs


def _dictionary(value: str) -> dict[str, set[str]]:
    """A lenient dictionary for Content-Signal (``search=yes, ai-train=no``): key -> every
    (lower-cased) value it was given."""
    text = re.sub(r"\s*=\s*", "=", _HEADER_PREFIX.sub("", value))
    out: dict[str, set[str]] = {}
    for member in re.split(r"[,\s]+", text):
        key, sep, val = member.split(";", 1)[0].partition("=")
        if sep and key:
            out.setdefault(key.casefold(), set()).add(val.casefold())
    return out


def _aipref_training_terms(prefs: dict[str, str]) -> set[str]:
    """For each AI-training category, the term that answers it (narrowest explicit one)."""
    terms = set()
    for label in AIPREF_TRAINING_LABELS:
        category: str | None = label
        while category is not None:
            if category in prefs:
                terms.add(f"{category}={prefs[category]}")
                break
            category = AIPREF_PARENT.get(category)
    return terms


def _agent_keys(names: Iterable[str] | None) -> frozenset[str] | None:
    if names is None:
        return None
    if isinstance(names, frozenset):  # the usual case: the same agent list for every document
        return _frozen_agent_keys(names)
    return frozenset(k for k in map(_agent_key, names) if k is not None)


@functools.lru_cache(maxsize=16)
def _frozen_agent_keys(names: frozenset[str]) -> frozenset[str]:
    """Memoised for speed only: a pure function of its argument."""
    return frozenset(k for k in map(_agent_key, names) if k is not None)


def _agent_key(name: str | None) -> str | None:
    """The comparable form of a user agent name; None when it means every agent."""
    key = _text(name).split("/", 1)[0].strip().casefold()
    return None if key in _ALL_AGENTS else key


def _text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _one_line(value: object) -> str:
    text = " ".join(_text(value).split())
    if len(text) > MAX_EVIDENCE_CHARS:
        text = text[: MAX_EVIDENCE_CHARS - 1] + "\u2026"
    return text
