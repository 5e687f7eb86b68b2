"""The AI user agent list (provenance.agents) and its derivation (data/derive_agents.py)."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

import provenance
from provenance.agents import PURPOSES, AgentInfo, AgentListError, load_agents, training_agents

DATA = Path(provenance.__file__).parent / "data"


def derive_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("derive_agents", DATA / "derive_agents.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_packaged_list_loads() -> None:
    agents = load_agents()
    assert len(agents) > 100
    names = [a.name for a in agents]
    assert len(names) == len(set(names))
    assert all(isinstance(a, AgentInfo) and a.purpose in PURPOSES for a in agents)
    assert {a.purpose for a in agents} == set(PURPOSES)


@pytest.mark.parametrize(
    "name",
    [
        "GPTBot", "CCBot", "ClaudeBot", "anthropic-ai", "Google-Extended", "Applebot-Extended",
        "Bytespider", "meta-externalagent", "cohere-training-data-crawler",
    ],
)
def test_training_agents(name: str) -> None:
    assert name in training_agents(load_agents())


@pytest.mark.parametrize(
    ("name", "purpose"),
    [
        ("PerplexityBot", "search"),
        ("OAI-SearchBot", "search"),
        ("Claude-SearchBot", "search"),
        ("ChatGPT-User", "assistant"),
        ("Claude-User", "assistant"),
    ],
)
def test_not_training_agents(name: str, purpose: str) -> None:
    agents = {a.name: a for a in load_agents()}
    assert agents[name].purpose == purpose
    assert name not in training_agents(agents.values())


def test_training_agents_defaults_to_the_packaged_list() -> None:
    assert training_agents() == training_agents(load_agents())


def test_agent_info_is_frozen_and_checked() -> None:
    agent = AgentInfo("X", "op", "fn", "training", "desc")
    with pytest.raises(dataclasses.FrozenInstanceError):
        agent.purpose = "search"  # type: ignore[misc]
    with pytest.raises(ValueError, match="purpose"):
        AgentInfo("X", "op", "fn", "scraping", "desc")


def test_user_file_replaces_the_packaged_list(tmp_path: Path) -> None:
    path = tmp_path / "agents.json"
    path.write_text(
        json.dumps(
            {
                "MyTrainer": {"operator": "Me", "function": "Trains", "purpose": "training",
                              "respect": "Yes"},
                "GPTBot": {"purpose": "other"},
            }
        ),
        encoding="utf-8",
    )
    for given in (path, str(path)):
        agents = load_agents(given)
        assert agents == (
            AgentInfo("MyTrainer", "Me", "Trains", "training", ""),
            AgentInfo("GPTBot", "", "", "other", ""),
        )
        assert training_agents(agents) == frozenset({"MyTrainer"})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON (line 1"),
        ("", "not valid JSON"),
        ('["GPTBot"]', "expected a JSON object"),
        ('{"GPTBot": "training"}', "agent 'GPTBot': expected an object"),
        ('{"GPTBot": {"operator": "OpenAI"}}', "agent 'GPTBot': 'purpose' must be one of"),
        ('{"GPTBot": {"purpose": "scraping"}}', "got 'scraping'"),
        ('{"GPTBot": {"purpose": "training", "operator": 3}}', "'operator' must be a string"),
        ('{" ": {"purpose": "training"}}', "an agent name is empty"),
    ],
)
def test_malformed_user_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "agents.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AgentListError) as info:
        load_agents(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_unreadable_user_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.json"
    with pytest.raises(AgentListError, match="cannot read the agent list") as info:
        load_agents(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_packaged_purposes_match_the_derivation_rules() -> None:
    """The committed file is what derive_agents.py makes of its own fields."""
    classify = derive_module().classify
    for agent in load_agents():
        assert classify(agent.name, agent.function, agent.description) == agent.purpose, agent.name


@pytest.mark.parametrize(
    ("name", "function", "description", "purpose"),
    [
        ("X", "AI Data Scrapers", "", "training"),
        ("X", "AI Data Providers", "", "training"),
        ("X", "AI Search Crawlers", "", "search"),
        ("X", "AI Assistants", "", "assistant"),
        ("X", "AI Coding Agents", "helps with LLM providers", "assistant"),
        ("X", "AI Assistants", "gathers training data", "training"),
        ("X", "Undocumented AI Agents", "", "undocumented"),
        ("X", "Scrapes data.", "", "training"),  # conservative: a scraper counts as training
        ("X", "Data is sold.", "", "training"),
        ("X", "Search result generation.", "", "search"),
        ("X", "Takes action based on user prompts.", "", "assistant"),
        ("X", "Unclear at this time.", "", "undocumented"),
        ("X", "Live chat support.", "", "other"),
        ("PerplexityBot", "Scrapes data to train", "", "search"),  # the override wins
    ],
)
def test_derivation_rules(name: str, function: str, description: str, purpose: str) -> None:
    assert derive_module().classify(name, function, description) == purpose


def test_derive_script(tmp_path: Path) -> None:
    source = tmp_path / "robots.json"
    source.write_text(
        json.dumps(
            {
                "ZBot": {"operator": "Z", "respect": "Yes", "function": "LLM training.",
                         "frequency": "daily", "description": "Trains."},
                "abot": {"operator": None, "function": "AI Assistants", "description": "Fetches."},
            }
        ),
        encoding="utf-8",
    )
    out = tmp_path / "agents.json"
    assert derive_module().main([str(source), "-o", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert list(data) == ["abot", "ZBot"]
    assert data["ZBot"] == {"operator": "Z", "function": "LLM training.",
                            "description": "Trains.", "purpose": "training"}
    assert data["abot"]["operator"] == "" and data["abot"]["purpose"] == "assistant"
    assert [a.name for a in load_agents(out)] == ["abot", "ZBot"]

    source.write_text("[]", encoding="utf-8")
    assert derive_module().main([str(source), "-o", str(out)]) == 1
