"""TDMRep, AIPREF, Content Signals and CC signals read as their texts say, as data tables.

Every row goes through the real signal code (the crawl's per-origin files, headers and meta tags)
and the one consent resolver, so it checks what a crawled document would be recorded with. The
cases are facts restated in our own tables (nothing is copied from the sources):

- ``TDMREP`` / ``TDMREP_PRIORITY``: W3C TDM Reservation Protocol (TDMRep), Community Group final
  report (w3c/tdm-reservation-protocol ``spec/index.html`` at 1a547b5): the tdmrep.json, header and
  HTML examples, the pattern examples, "tdm-reservation" (other values are protocol errors) and
  "Processing priority". W3C Software and Document License.
- ``AIPREF``: draft-ietf-aipref-vocab and draft-ietf-aipref-attach (ietf-wg-aipref/drafts at
  7ca0afc): the serialization, "Multiple Preferences", "Preference Parameters" examples and the
  robots.txt example with its table. IETF Trust Legal Provisions (BCP 78).
- ``SIGNALS``: Cloudflare Content Signals (cloudflare/cloudflare-docs ``managed-robots-txt.mdx`` at
  00ff42d, CC-BY-4.0) and CC signals (creativecommons/cc-signals README at 8d1933b, CC-BY-4.0).

Rows tagged ``cause:`` are the misreadings found in issue 14.
"""

from __future__ import annotations

import json
from datetime import datetime, UTC
from typing import NamedTuple

import pytest

from crawl.domainfiles import DomainPolicy, classify_fetch
from crawl.signals import header_signals, meta_signals
from provenance.consent import aipref_preferences, resolve_consent

WHEN = datetime(2026, 12, 6, tzinfo=UTC)
ORIGIN = "https://provider.example"


class Case(NamedTuple):
    id: str
    path: str
    expected: str  # consent: opted_out | granted | unspecified
    tdmrep: object = None  # the tdmrep.json content (JSON-able), or None: no file
    headers: dict | None = None  # response headers (lower-case name -> value)
    metas: tuple = ()  # (name, content) of <meta> tags
    robots: str | None = None
    agents: tuple = ("GPTBot",)  # the AI-training agents evaluated
    note: str = ""


def decide(case: Case) -> str:
    files = []
    if case.tdmrep is not None:
        body = case.tdmrep.encode() if isinstance(case.tdmrep, str) else json.dumps(case.tdmrep).encode()
        files.append(classify_fetch(ORIGIN, "tdmrep.json", ORIGIN + "/.well-known/tdmrep.json", WHEN,
                                    status=200, body=body, content_type="application/json"))
    if case.robots is not None:
        files.append(classify_fetch(ORIGIN, "robots.txt", ORIGIN + "/robots.txt", WHEN, status=200,
                                    body=case.robots.encode(), content_type="text/plain"))
    url = ORIGIN + case.path
    signals = DomainPolicy(ORIGIN, files, case.agents).signals_for(url, WHEN)
    signals += header_signals(url, {k: (v,) for k, v in (case.headers or {}).items()}, WHEN)
    signals += meta_signals(url, case.metas, frozenset(), WHEN)
    return resolve_consent(signals, training_agents=frozenset(case.agents)).consent


RESERVED_ALL = [{"location": "/", "tdm-reservation": 1}]
THREE_GROUPS = [
    {"location": "/directory-a/", "tdm-reservation": 1},
    {"location": "/directory-b/html/", "tdm-reservation": 1, "tdm-policy": "https://provider.com/policies/policy.json"},
    {"location": "/directory-b/images/*.jpg", "tdm-reservation": 0},
]
POLICY = "https://provider.com/policies/policy.json"

TDMREP = [
    Case("file-all-reserved", "/any/page.html", "opted_out", RESERVED_ALL),
    Case("file-group-a", "/directory-a/report.pdf", "opted_out", THREE_GROUPS),
    Case("file-group-b-policy", "/directory-b/html/page.html", "opted_out", THREE_GROUPS,
         note="a tdm-policy offering a licence does not lift the reservation"),
    Case("file-group-c-jpg", "/directory-b/images/photo.jpg", "granted", THREE_GROUPS),
    Case("file-group-c-png", "/directory-b/images/photo.png", "unspecified", THREE_GROUPS),
    Case("file-no-match", "/elsewhere.html", "unspecified", THREE_GROUPS),
    Case("header-reserved", "/img.jpg", "opted_out", headers={"tdm-reservation": "1"}),
    Case("header-reserved-policy", "/page.html", "opted_out", headers={"tdm-reservation": "1", "tdm-policy": POLICY}),
    Case("html-meta-policy", "/page.html", "opted_out", metas=(("tdm-reservation", "1"), ("tdm-policy", POLICY))),
    Case("pattern-dollar", "/this/path/exactly", "opted_out", [{"location": "/this/path/exactly$", "tdm-reservation": 1}]),
    Case("pattern-dollar-longer", "/this/path/exactly/more", "unspecified",
         [{"location": "/this/path/exactly$", "tdm-reservation": 1}]),
    Case("pattern-star", "/this/a/b/then", "opted_out", [{"location": "/this/*/then", "tdm-reservation": 1}]),
    Case("pattern-pct-24", "/path/foo-$", "opted_out", [{"location": "/path/foo-%24", "tdm-reservation": 1}],
         note="cause: %24 in a location matches a literal $"),
    Case("pattern-case-sensitive", "/dir/x", "unspecified", [{"location": "/Dir/", "tdm-reservation": 1}]),
    Case("pattern-unreserved-unencoded", "/~user/x", "opted_out", [{"location": "/%7Euser/", "tdm-reservation": 1}]),
    Case("first-in-sequence", "/a/b", "granted",
         [{"location": "/a/", "tdm-reservation": 0}, {"location": "/a/b", "tdm-reservation": 1}]),
    Case("zero-with-policy", "/x", "granted", [{"location": "/", "tdm-reservation": 0, "tdm-policy": POLICY}]),
    Case("string-one-is-error", "/x", "unspecified", [{"location": "/", "tdm-reservation": "1"}],
         note="cause: the string \"1\" is a protocol error (unset), not a reservation"),
    Case("two-is-error", "/x", "unspecified", [{"location": "/", "tdm-reservation": 2}]),
    Case("true-is-error", "/x", "unspecified", [{"location": "/", "tdm-reservation": True}]),
    Case("header-yes-is-error", "/x", "unspecified", headers={"tdm-reservation": "yes"}),
]

TDMREP_PRIORITY = [
    Case("header-over-file-0", "/x", "granted", RESERVED_ALL, headers={"tdm-reservation": "0"},
         note="cause: the header supersedes the well-known file"),
    Case("header-over-file-1", "/x", "opted_out", [{"location": "/", "tdm-reservation": 0}],
         headers={"tdm-reservation": "1"}),
    Case("meta-over-header-0", "/x", "granted", headers={"tdm-reservation": "1"}, metas=(("tdm-reservation", "0"),),
         note="cause: HTML metadata supersedes the header"),
    Case("meta-over-header-1", "/x", "opted_out", headers={"tdm-reservation": "0"}, metas=(("tdm-reservation", "1"),)),
    Case("meta-over-file-0", "/x", "granted", RESERVED_ALL, metas=(("tdm-reservation", "0"),)),
    Case("meta-over-file-1", "/x", "opted_out", [{"location": "/", "tdm-reservation": 0}],
         metas=(("tdm-reservation", "1"),)),
    Case("meta-over-both", "/x", "opted_out", [{"location": "/", "tdm-reservation": 0}],
         headers={"tdm-reservation": "0"}, metas=(("tdm-reservation", "1"),)),
    Case("meta-over-both-0", "/x", "granted", RESERVED_ALL, headers={"tdm-reservation": "1"},
         metas=(("tdm-reservation", "0"),)),
    Case("absent-resets-nothing", "/x", "opted_out", RESERVED_ALL, headers={"tdm-policy": POLICY},
         note="a header with only tdm-policy leaves the file's reservation"),
    Case("error-resets-nothing", "/x", "opted_out", RESERVED_ALL, headers={"tdm-reservation": "yes"}),
    Case("other-standards-still-add", "/x", "opted_out", RESERVED_ALL, headers={"tdm-reservation": "0",
         "x-robots-tag": "noai"}, note="TDMRep's own priority; across standards the most restrictive wins"),
]

AIPREF_ROBOTS = ("User-Agent: *\nAllow: /\nDisallow: /never/\nContent-Usage: train-ai=n\n"
                 "Content-Usage: /ai-ok/ train-ai=y\n\nUser-Agent: ExampleBot\nAllow: /\nContent-Usage: train-ai=y\n")
AIPREF = [
    Case("vocab-serialization", "/x", "granted", headers={"content-usage": "train-ai=y, search=n"}),
    Case("vocab-multiple", "/x", "unspecified", headers={"content-usage": 'train-ai=y, train-ai, search=n, search="n"'},
         note="cause: the last train-ai is a Boolean, not a Token: unknown"),
    Case("vocab-parameters", "/x", "granted", headers={"content-usage": "train-ai;allow=n, train-ai=y"}),
    Case("vocab-parameters-unknown", "/x", "unspecified", headers={"content-usage": 'train-ai;has;parameters="?";'}),
    Case("vocab-uppercase", "/x", "unspecified", headers={"content-usage": "Train-AI=n"},
         note="the format is case-sensitive: a key with upper case fails to parse, so nothing is known"),
    Case("vocab-string-value", "/x", "unspecified", headers={"content-usage": 'train-ai="n"'}),
    Case("vocab-search-only", "/x", "unspecified", headers={"content-usage": "search=n"}),
    Case("attach-header", "/x", "opted_out", headers={"content-usage": "train-ai=n"}),
    Case("attach-robots-test", "/test", "opted_out", robots=AIPREF_ROBOTS),
    Case("attach-robots-never", "/never/test", "opted_out", robots=AIPREF_ROBOTS),
    Case("attach-robots-ai-ok", "/ai-ok/test", "granted", robots=AIPREF_ROBOTS,
         note="cause: the longest matching Content-Usage path decides, as Allow/Disallow do"),
    Case("attach-robots-examplebot", "/test", "granted", robots=AIPREF_ROBOTS, agents=("ExampleBot",)),
    Case("attach-robots-tab", "/ai-ok/test", "granted",
         robots="User-Agent: *\nContent-Usage: train-ai=n\nContent-Usage: /ai-ok/\ttrain-ai=y\n",
         note="cause: a tab separates the path from the preference"),
    Case("attach-robots-combine", "/x", "opted_out",
         robots="User-Agent: *\nContent-Usage: /x train-ai=y\nContent-Usage: /x train-ai=n\n",
         note="identical paths: preferences combine, most restrictive"),
]

CLOUDFLARE = ("User-Agent: *\nContent-signal: search=yes, ai-train=no\nAllow: /\n\n"
              "User-agent: Amazonbot\nDisallow: /\n")
SIGNALS = [
    Case("cloudflare-ai-train-no", "/page", "opted_out", robots=CLOUDFLARE),
    Case("cloudflare-group-disallow", "/page", "opted_out", robots=CLOUDFLARE, agents=("Amazonbot",)),
    Case("cloudflare-ai-train-yes", "/page", "granted", robots="User-Agent: *\nContent-Signal: ai-train=yes\n"),
    Case("cloudflare-search-only", "/page", "unspecified",
         robots="User-Agent: *\nContent-Signal: search=yes, ai-input=no\n"),
    Case("cloudflare-header", "/page", "opted_out", headers={"content-signal": "ai-train=no"}),
    Case("cloudflare-managed-block", "/page", "opted_out",
         robots="User-agent: CCBot\nDisallow: /\nUser-agent: GPTBot\nDisallow: /\nUser-agent: *\nDisallow: /lp\n"),
    Case("cc-signals-robots-ai-use", "/page", "unspecified",
         robots="User-Agent: *\nContent-Usage: ai-use=n;exceptions=cc-cr\nAllow: /\n",
         note="ai-use is about using models, not training them"),
    Case("cc-signals-header-genai", "/page", "opted_out", headers={"content-usage": "train-genai=n;exceptions=cc-cr-ec"},
         note="an n with a CC-signal exception stays a reservation: the corpus cannot promise the credit"),
]

ALL = [pytest.param(c, id=f"{suite}:{c.id}") for suite, cases in
       (("tdmrep", TDMREP), ("tdmrep-priority", TDMREP_PRIORITY), ("aipref", AIPREF), ("signals", SIGNALS))
       for c in cases]


@pytest.mark.parametrize("case", ALL)
def test_standard_examples(case: Case) -> None:
    assert decide(case) == case.expected, case.note


@pytest.mark.parametrize("value, prefs", [
    ("train-ai=y, search=n", {"train-ai": "y", "search": "n"}),
    ('train-ai=y, train-ai, search=n, search="n"', {}),
    ("train-ai;allow=n, train-ai=y", {"train-ai": "y"}),
    ("Content-Usage: train-ai=n", {"train-ai": "n"}),
    ("/blog/\ttrain-ai=n", {"train-ai": "n"}),
    ("train-ai=n,", {}),  # a trailing comma fails the whole dictionary (RFC 9651 4.2.2)
    ("train-ai=n, foo=bar", {"train-ai": "n"}),  # unknown labels and values are ignored
])
def test_aipref_preferences(value: str, prefs: dict) -> None:
    assert aipref_preferences(value) == prefs
