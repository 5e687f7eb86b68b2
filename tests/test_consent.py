"""The consent resolver (provenance.consent): per-signal effects and per-document decisions."""

from __future__ import annotations

import itertools
from datetime import datetime, UTC

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.agents import load_agents, training_agents
from provenance.consent import EFFECTS, classify, evidence_line, format_evidence, resolve_consent
from provenance.records import CONSENT_VALUES, SIGNAL_KINDS, ConsentDecision, ConsentSignal

TRAINING = frozenset({"GPTBot", "CCBot", "ClaudeBot"})
WHEN = datetime(2026, 8, 22, tzinfo=UTC)


def sig(kind: str, value: str, agent: str | None = None, evidence: str = "raw") -> ConsentSignal:
    return ConsentSignal(
        url="https://example.org/page",
        domain="example.org",
        signal=kind,
        value=value,
        evidence=evidence,
        observed_at=WHEN,
        agent=agent,
    )


# (signal kind, value, agent, expected effect with TRAINING as the training agents)
EFFECT_CASES = [
    # robots.txt evaluated for one agent
    ("robots_txt", "disallowed", "GPTBot", "reserve"),
    ("robots_txt", "disallowed", "CCBot", "reserve"),
    ("robots_txt", "disallowed", "PerplexityBot", "none"),  # a search agent: not about training
    ("robots_txt", "disallowed", None, "reserve"),  # every agent
    ("robots_txt", "disallowed", "*", "reserve"),
    ("robots_txt", "disallowed", "gptbot", "reserve"),  # agent names are case-insensitive
    ("robots_txt", "disallowed", "GPTBot/1.1", "reserve"),
    ("robots_txt", " Disallowed ", "GPTBot", "reserve"),
    ("robots_txt", "allowed", "GPTBot", "none"),  # allowed is silence, not permission
    ("robots_txt", "unreadable", "GPTBot", "reserve"),  # never fail open (RFC 9309)
    ("robots_txt", "unreadable", "PerplexityBot", "reserve"),  # the file is unreadable for all
    ("robots_txt", "", "GPTBot", "none"),
    # X-Robots-Tag directives
    ("x_robots_tag", "noai", None, "reserve"),
    ("x_robots_tag", "NoAI", None, "reserve"),
    ("x_robots_tag", "noai, noimageai", None, "reserve"),
    ("x_robots_tag", "noimageai", None, "none"),  # images only
    ("x_robots_tag", "noindex", None, "none"),
    ("x_robots_tag", "noindex, nofollow", None, "none"),
    ("x_robots_tag", "none", None, "none"),
    ("x_robots_tag", "noarchive, nosnippet", None, "none"),
    ("x_robots_tag", "X-Robots-Tag: noai", None, "reserve"),
    ("x_robots_tag", "max-snippet:50, noai", None, "reserve"),
    ("x_robots_tag", "unavailable_after: 25 Jun 2030 15:00:00 PST", None, "none"),
    ("x_robots_tag", "GPTBot: noai", None, "reserve"),  # scoped to a training agent
    ("x_robots_tag", "PerplexityBot: noai", None, "none"),  # scoped to a search agent
    ("x_robots_tag", "googlebot: noindex, GPTBot: noai", None, "reserve"),
    ("x_robots_tag", "GPTBot: noindex, googlebot: noai", None, "none"),
    ("x_robots_tag", "noai", "GPTBot", "reserve"),
    ("x_robots_tag", "noai", "googlebot", "none"),
    # <meta name=robots|AGENT>
    ("meta_robots", "noai", None, "reserve"),
    ("meta_robots", "noai", "robots", "reserve"),  # name=robots: every agent
    ("meta_robots", "noai", "GPTBot", "reserve"),
    ("meta_robots", "noai", "googlebot", "none"),
    ("meta_robots", "noimageai", None, "none"),
    ("meta_robots", "noindex", None, "none"),
    ("meta_robots", "nofollow", None, "none"),
    # TDMRep
    ("tdmrep", "tdm-reservation=1", None, "reserve"),
    ("tdmrep", "tdm-reservation=0", None, "permit"),
    ("tdmrep", "tdm-reservation: 1", None, "reserve"),
    ("tdmrep", '{"location": "/", "tdm-reservation": 1, "tdm-policy": "/p"}', None, "reserve"),
    ("tdmrep", "tdm-policy=https://example.org/policy.json", None, "none"),
    ("tdmrep", "tdm-reservation=10", None, "none"),
    ("tdmrep", "tdm-reservation=0, tdm-reservation=1", None, "reserve"),
    # AIPREF Content-Usage
    ("content_usage", "train-ai=n", None, "reserve"),
    ("content_usage", "train-ai=y", None, "permit"),
    ("content_usage", "train-ai=n, search=y", None, "reserve"),
    ("content_usage", "search=y, train-ai=y", None, "permit"),
    ("content_usage", "search=n", None, "none"),
    ("content_usage", "ai-use=n", None, "none"),
    ("content_usage", "ai=n", None, "reserve"),  # earlier drafts' AI training label
    ("content_usage", "ai=y", None, "permit"),
    ("content_usage", "all=n", None, "reserve"),  # broader category covers training
    ("content_usage", "tdm=n", None, "reserve"),
    ("content_usage", "all=n, train-ai=y", None, "permit"),  # narrower explicit one overrides
    ("content_usage", "train-ai=y, train-genai=n", None, "reserve"),
    ("content_usage", "train-ai=y, train-ai=n", None, "reserve"),  # most restrictive of a key
    ("content_usage", "train-ai=y;src=x", None, "permit"),  # parameters ignored
    ("content_usage", "Content-Usage: /blog/ train-ai=n", None, "reserve"),  # robots.txt form
    ("content_usage", "train-ai = N", None, "none"),  # aipref-vocab 7: case-sensitive SF; does not parse
    ('content_usage', 'train-ai="n"', None, "none"),  # a string, not a token
    ("content_usage", "train-ai", None, "none"),
    ("content_usage", "train-ai=maybe", None, "none"),
    ("content_usage", "train-ai=n", "PerplexityBot", "none"),  # in a search agent's group
    ("content_usage", "train-ai=n", "GPTBot", "reserve"),
    # Content-Signal
    ("content_signal", "ai-train=no", None, "reserve"),
    ("content_signal", "ai-train=yes", None, "permit"),
    ("content_signal", "search=yes, ai-train=no", None, "reserve"),
    ("content_signal", "search=yes, ai-input=no, ai-train=yes", None, "permit"),
    ("content_signal", "Content-Signal: search=yes, ai-train=no", None, "reserve"),
    ("content_signal", "AI-Train=No", None, "reserve"),
    ("content_signal", "search=no", None, "none"),
    ("content_signal", "ai-input=no", None, "none"),
    # ai.txt evaluated for the page
    ("ai_txt", "disallowed", None, "reserve"),
    ("ai_txt", "disallowed", "GPTBot", "reserve"),
    ("ai_txt", "disallowed", "PerplexityBot", "none"),
    ("ai_txt", "unreadable", None, "reserve"),
    ("ai_txt", "unreadable", "PerplexityBot", "reserve"),
    ("ai_txt", "allowed", None, "none"),
    # a consent column of an imported corpus
    ("import_column", "opted_out", None, "reserve"),
    ("import_column", "Opted-Out", None, "reserve"),
    ("import_column", "granted", None, "permit"),
    ("import_column", "unspecified", None, "none"),
    ("import_column", "", None, "none"),
]


@pytest.mark.parametrize(("kind", "value", "agent", "expected"), EFFECT_CASES)
def test_classify(kind: str, value: str, agent: str | None, expected: str) -> None:
    assert classify(sig(kind, value, agent), TRAINING) == expected


def test_every_signal_kind_has_an_effects_table_and_cases() -> None:
    assert set(EFFECTS) == set(SIGNAL_KINDS)
    for kind in SIGNAL_KINDS:
        effects = {expected for k, _, _, expected in EFFECT_CASES if k == kind}
        assert {"reserve", "none"} <= effects, kind
    permitting = {k for k, table in EFFECTS.items() if "permit" in table.values()}
    assert permitting == {"tdmrep", "content_usage", "content_signal", "import_column"}
    assert permitting == {k for k, _, _, e in EFFECT_CASES if e == "permit"}


@pytest.mark.parametrize(
    ("kind", "value", "agent"),
    [("robots_txt", "disallowed", "PerplexityBot"), ("x_robots_tag", "PerplexityBot: noai", None)],
)
def test_without_a_training_list_every_agent_counts(
    kind: str, value: str, agent: str | None
) -> None:
    assert classify(sig(kind, value, agent), None) == "reserve"
    assert resolve_consent([sig(kind, value, agent)]).consent == "opted_out"


GPTBOT_DISALLOW = sig(
    "robots_txt", "disallowed", "GPTBot", "Disallow: / (https://example.org/robots.txt)"
)
SEARCH_DISALLOW = sig(
    "robots_txt", "disallowed", "PerplexityBot", "Disallow: / (https://example.org/robots.txt)"
)
UNREADABLE = sig("robots_txt", "unreadable", "GPTBot", "HTTP 503 (https://example.org/robots.txt)")
TDM_1 = sig("tdmrep", "tdm-reservation=1", evidence="tdm-reservation: 1")
TDM_0 = sig("tdmrep", "tdm-reservation=0", evidence="tdm-reservation: 0")
USAGE_N = sig(
    "content_usage", "train-ai=n, search=y", evidence="Content-Usage: train-ai=n, search=y"
)
SIGNAL_YES = sig("content_signal", "ai-train=yes", evidence="Content-Signal: ai-train=yes")
NOINDEX = sig("x_robots_tag", "noindex", evidence="X-Robots-Tag: noindex, nofollow")
NOFOLLOW = sig("meta_robots", "nofollow", evidence='<meta name="robots" content="nofollow">')
NOIMAGEAI = sig("meta_robots", "noimageai", evidence='<meta name="robots" content="noimageai">')

RESOLVE_CASES = [
    pytest.param([], None, "unspecified", (), id="nothing"),
    pytest.param([], "CC-BY-4.0", "granted", ("license=CC-BY-4.0",), id="open-license"),
    pytest.param([], "CC0-1.0", "granted", ("license=CC0-1.0",), id="cc0"),
    pytest.param([], "LicenseRef-all-rights-reserved", "unspecified", (), id="all-rights-reserved"),
    pytest.param(
        [GPTBOT_DISALLOW],
        "CC-BY-4.0",
        "opted_out",
        ("robots_txt[GPTBot]=disallowed: Disallow: / (https://example.org/robots.txt)",),
        id="open-license-and-opt-out",
    ),
    pytest.param(
        [SEARCH_DISALLOW], "CC-BY-SA-4.0", "granted", ("license=CC-BY-SA-4.0",),
        id="search-agent-disallow-is-no-opt-out",
    ),
    pytest.param([SEARCH_DISALLOW], None, "unspecified", (), id="search-agent-only"),
    pytest.param(
        [UNREADABLE],
        "CC0-1.0",
        "opted_out",
        ("robots_txt[GPTBot]=unreadable: HTTP 503 (https://example.org/robots.txt)",),
        id="unreadable-robots",
    ),
    pytest.param([NOINDEX, NOFOLLOW], "CC-BY-4.0", "granted", ("license=CC-BY-4.0",), id="noindex"),
    pytest.param([NOINDEX, NOFOLLOW], None, "unspecified", (), id="noindex-alone"),
    pytest.param([NOIMAGEAI], "MIT", "granted", ("license=MIT",), id="noimageai-is-not-text"),
    pytest.param(
        [TDM_0, USAGE_N],
        "CC-BY-4.0",
        "opted_out",
        ("content_usage=train-ai=n, search=y: Content-Usage: train-ai=n, search=y",),
        id="permission-and-reservation",
    ),
    pytest.param(
        [TDM_0, SIGNAL_YES],
        None,
        "granted",
        (
            "content_signal=ai-train=yes: Content-Signal: ai-train=yes",
            "tdmrep=tdm-reservation=0: tdm-reservation: 0",
        ),
        id="explicit-allows",
    ),
    pytest.param(
        [TDM_0, SIGNAL_YES],
        "CC-BY-4.0",
        "granted",
        (
            "content_signal=ai-train=yes: Content-Signal: ai-train=yes",
            "license=CC-BY-4.0",
            "tdmrep=tdm-reservation=0: tdm-reservation: 0",
        ),
        id="explicit-allows-and-license",
    ),
    pytest.param(
        [USAGE_N, TDM_1, GPTBOT_DISALLOW, NOINDEX],
        "CC-BY-4.0",
        "opted_out",
        (
            "content_usage=train-ai=n, search=y: Content-Usage: train-ai=n, search=y",
            "robots_txt[GPTBot]=disallowed: Disallow: / (https://example.org/robots.txt)",
            "tdmrep=tdm-reservation=1: tdm-reservation: 1",
        ),
        id="several-reservations",
    ),
]


@pytest.mark.parametrize(("signals", "license", "consent", "evidence"), RESOLVE_CASES)
def test_resolve_consent(
    signals: list[ConsentSignal], license: str | None, consent: str, evidence: tuple[str, ...]
) -> None:
    decision = resolve_consent(signals, license=license, training_agents=TRAINING)
    assert decision == ConsentDecision(consent, evidence)  # type: ignore[arg-type]


def test_evidence_is_deterministic_and_deduplicated() -> None:
    signals = [USAGE_N, TDM_1, GPTBOT_DISALLOW, NOINDEX, TDM_1]
    decisions = {
        resolve_consent(p, license="CC-BY-4.0", training_agents=TRAINING)
        for p in itertools.permutations(signals)
    }
    assert len(decisions) == 1
    (decision,) = decisions
    assert list(decision.evidence) == sorted(set(decision.evidence))
    assert len(decision.evidence) == 3


def test_resolve_accepts_any_iterable() -> None:
    decision = resolve_consent(iter([TDM_1]), training_agents=TRAINING)
    assert decision.consent == "opted_out"


@pytest.mark.parametrize(
    ("signal", "line"),
    [
        (
            GPTBOT_DISALLOW,
            "robots_txt[GPTBot]=disallowed: Disallow: / (https://example.org/robots.txt)",
        ),
        (TDM_1, "tdmrep=tdm-reservation=1: tdm-reservation: 1"),
        (sig("x_robots_tag", "noai", evidence=""), "x_robots_tag=noai"),
        (sig("ai_txt", "disallowed", evidence="User-Agent: *\nDisallow: /"),
         "ai_txt=disallowed: User-Agent: * Disallow: /"),
    ],
)
def test_evidence_line(signal: ConsentSignal, line: str) -> None:
    assert evidence_line(signal) == line


def test_long_evidence_is_shortened_in_the_decision() -> None:
    signal = sig("ai_txt", "disallowed", evidence="Disallow: /x\n" * 500)
    line = evidence_line(signal)
    assert "\n" not in line
    assert len(line) < 400 and line.endswith("\u2026")


def test_format_evidence() -> None:
    decision = resolve_consent([GPTBOT_DISALLOW, TDM_1], training_agents=TRAINING)
    assert format_evidence(decision) == "; ".join(decision.evidence)
    assert format_evidence(decision) == (
        "robots_txt[GPTBot]=disallowed: Disallow: / (https://example.org/robots.txt); "
        "tdmrep=tdm-reservation=1: tdm-reservation: 1"
    )
    assert format_evidence(resolve_consent([])) == ""


@pytest.mark.parametrize(
    ("agent", "consent"),
    [
        ("GPTBot", "opted_out"),
        ("CCBot", "opted_out"),
        ("ClaudeBot", "opted_out"),
        ("Google-Extended", "opted_out"),
        ("PerplexityBot", "unspecified"),
        ("OAI-SearchBot", "unspecified"),
        ("ChatGPT-User", "unspecified"),
    ],
)
def test_with_the_packaged_agent_list(agent: str, consent: str) -> None:
    packaged = training_agents(load_agents())
    decision = resolve_consent([sig("robots_txt", "disallowed", agent)], training_agents=packaged)
    assert decision.consent == consent


# --- properties ----------------------------------------------------------------------------------

FRAGMENTS = [
    "train-ai", "train-genai", "ai", "all", "tdm", "search", "ai-train", "ai-input", "=", "y", "n",
    "yes", "no", ",", ";", ":", " ", '"', "noai", "noimageai", "noindex", "GPTBot", "robots", "*",
    "tdm-reservation", "1", "0", "disallowed", "allowed", "unreadable", "opted_out", "granted",
    "Content-Usage", "\n", "/",
]
values = st.one_of(st.text(), st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join))
agents = st.one_of(st.none(), st.sampled_from(["GPTBot", "PerplexityBot", "*", ""]), st.text())
signals = st.builds(
    sig, kind=st.sampled_from(SIGNAL_KINDS), value=values, agent=agents, evidence=st.text()
)
training_lists = st.one_of(st.none(), st.just(TRAINING), st.frozensets(st.text(), max_size=5))


@settings(max_examples=400, deadline=None)
@given(
    signals=st.lists(signals, max_size=8),
    license=st.one_of(st.none(), st.sampled_from(["CC-BY-4.0", "MIT"]), st.text()),
    training=training_lists,
)
def test_resolve_consent_never_raises(
    signals: list[ConsentSignal], license: str | None, training: frozenset[str] | None
) -> None:
    decision = resolve_consent(signals, license=license, training_agents=training)
    assert decision.consent in CONSENT_VALUES
    assert all(isinstance(e, str) for e in decision.evidence)
    assert list(decision.evidence) == sorted(set(decision.evidence))
    effects = [classify(s, training) for s in signals]
    assert (decision.consent == "opted_out") == ("reserve" in effects)
    if decision.consent == "unspecified":
        assert decision.evidence == () and "permit" not in effects
    # order does not matter, and a reservation always wins
    assert resolve_consent(signals[::-1], license=license, training_agents=training) == decision
    stricter = resolve_consent(
        [*signals, sig("import_column", "opted_out")], license=license, training_agents=training
    )
    assert stricter.consent == "opted_out"
