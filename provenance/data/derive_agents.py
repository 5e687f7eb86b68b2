"""Derive ``ai_agents.json`` from the ai.robots.txt project's ``robots.json``.

Usage (from the repository root)::

    python provenance/data/derive_agents.py PATH/TO/robots.json -o provenance/data/ai_agents.json

The input is the upstream file as published (one JSON object: agent name -> {operator, respect,
function, frequency, description}). The output keeps every agent with its ``operator``,
``function`` and ``description`` and adds ``purpose``, one of:

- ``training``: content is used to train models, or the agent is a data scraper, data provider or
  dataset builder (Common Crawl's CCBot); the data may end up in training sets.
- ``search``: an AI search crawler (indexing for an AI search product).
- ``assistant``: a user-triggered fetcher, assistant or agent.
- ``other``: a documented purpose that is none of the above.
- ``undocumented``: nobody says what it does.

Classification is an explicit override table for well-known agents, then keywords in
``function``/``description`` and the knownagents.com category labels, first match wins (see
``classify``). Conservative rule: an agent whose purpose is unclear but that scrapes, provides or
sells data counts as ``training``.

Stdlib only; it runs at derivation time, never when the package is used.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

PURPOSES: tuple[str, ...] = ("training", "search", "assistant", "other", "undocumented")

# Well-known agents whose purpose the operator documents; they win over any keyword rule.
OVERRIDES: dict[str, str] = {
    "GPTBot": "training",  # OpenAI: model training
    "ClaudeBot": "training",  # Anthropic: model training
    "anthropic-ai": "training",  # Anthropic's older training token
    "CCBot": "training",  # Common Crawl: open dataset used for LLM training
    "Google-Extended": "training",  # Google: Gemini / Vertex AI training control token
    "Applebot-Extended": "training",  # Apple: foundation model training control token
    "Bytespider": "training",  # ByteDance: LLM training
    "meta-externalagent": "training",  # Meta: training AI models
    "Meta-ExternalAgent": "training",
    "cohere-training-data-crawler": "training",  # Cohere: training data
    "Amazonbot": "training",  # Amazon's Amazonbot page: data may be used to train Amazon AI models
    "FacebookBot": "training",  # Meta: speech recognition training
    "Poseidon Research Crawler": "training",  # AI research data collection, use unclear
    "Google-CloudVertexBot": "training",  # as CloudVertexBot: crawls for Vertex AI training
    "PerplexityBot": "search",  # Perplexity: search index
    "OAI-SearchBot": "search",  # OpenAI: ChatGPT search index
    "Claude-SearchBot": "search",  # Anthropic: search index
    "Applebot": "search",  # Apple: Siri/Spotlight search index
    "meta-webindexer": "search",  # Meta: Meta AI search index
    "Andibot": "search",  # Andi: an AI search engine (its "scrapes" would otherwise mean training)
    "ChatGPT-User": "assistant",  # OpenAI: user-triggered fetches
    "Claude-User": "assistant",  # Anthropic: user-triggered fetches
    "Perplexity-User": "assistant",  # Perplexity: user-triggered fetches
    "facebookexternalhit": "other",  # Meta: link previews (ai.robots.txt suspects AI use; unproven)
}

# Category labels that knownagents.com uses in ``function`` (exact match, case-insensitive).
CATEGORY_LABELS: dict[str, str] = {
    "ai data scrapers": "training",
    "ai data scraper": "training",
    "ai data providers": "training",
    "ai search crawlers": "search",
    "ai assistants": "assistant",
    "ai agents": "assistant",
    "ai coding agents": "assistant",
    "undocumented ai agents": "undocumented",
}

# Free-text rules over function + description (case-insensitive).
# Strong training evidence wins even over a category label ("... to gather training data").
STRONG_TRAINING = re.compile(r"\btrain(s|ed|ing)?\b|\bdatasets?\b|\bdata sets?\b", re.IGNORECASE)
# Then, for free-text functions only, first match wins. Weak training evidence comes first: the
# conservative rule (a data scraper, a data seller or an LLM data source counts as training).
KEYWORD_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "training",
        re.compile(
            r"\bllms?\b|large language model|machine learning|\bscrap(e|es|er|ers|ing)\b"
            r"|\bsold\b|\bsells?\b|ai development",
            re.IGNORECASE,
        ),
    ),
    ("search", re.compile(r"\bsearch", re.IGNORECASE)),
    ("assistant", re.compile(r"\buser|\bassistant|\bprompts?\b|\bagents?\b", re.IGNORECASE)),
    ("undocumented", re.compile(r"\bunclear\b|\bundocumented\b|no information", re.IGNORECASE)),
)


def classify(name: str, function: str, description: str) -> str:
    """The purpose of one agent. First match wins, in this order:

    1. ``OVERRIDES`` by exact name;
    2. strong training words (train, training, dataset) anywhere in function or description;
    3. the knownagents.com category label in ``function`` (``CATEGORY_LABELS``);
    4. ``KEYWORD_RULES`` over function and description: training (scraper, LLM, data sold, ...),
       search, assistant, undocumented;
    5. ``other``.
    """
    if name in OVERRIDES:
        return OVERRIDES[name]
    text = f"{function} {description}"
    if STRONG_TRAINING.search(text):
        return "training"
    label = CATEGORY_LABELS.get(function.strip().rstrip(".").casefold())
    if label is not None:
        return label
    for purpose, pattern in KEYWORD_RULES:
        if pattern.search(text):
            return purpose
    return "other"


def derive(upstream: dict) -> dict[str, dict[str, str]]:
    """The packaged agent list from the upstream ``robots.json`` object, sorted by name."""
    if not isinstance(upstream, dict):
        raise ValueError("expected a JSON object mapping agent names to their descriptions")
    out: dict[str, dict[str, str]] = {}
    for name in sorted(upstream, key=lambda n: (n.casefold(), n)):
        entry = upstream[name]
        if not isinstance(entry, dict):
            raise ValueError(f"agent {name!r}: expected an object")
        fields = {k: str(entry.get(k) or "") for k in ("operator", "function", "description")}
        out[name] = {**fields, "purpose": classify(name, fields["function"], fields["description"])}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="the upstream robots.json")
    parser.add_argument("-o", "--out", type=Path, help="output file (default: stdout)")
    args = parser.parse_args(argv)
    try:
        upstream = json.loads(args.source.read_text(encoding="utf-8"))
        agents = derive(upstream)
    except (OSError, ValueError) as exc:
        print(f"derive_agents: {args.source}: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(agents, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    counts = Counter(a["purpose"] for a in agents.values())
    summary = ", ".join(f"{p}={counts.get(p, 0)}" for p in PURPOSES)
    print(f"derive_agents: {len(agents)} agents ({summary})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
