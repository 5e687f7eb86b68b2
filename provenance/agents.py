"""AI crawler user agents and what they are for.

The project ships a list of AI user agents (``provenance/data/ai_agents.json``, derived from the
ai.robots.txt project; see ``provenance/data/README.md``). Each agent has a ``purpose``:
``training``, ``search``, ``assistant``, ``other`` or ``undocumented``. Only ``training`` agents
matter for consent: a robots.txt that disallows a page for a training agent is a reservation of AI
training (see ``provenance.consent``); one that only disallows a search or assistant agent is not.

The list is configurable: ``load_agents(path)`` reads a user file of the same JSON shape *instead
of* the packaged list (copy the packaged file and edit it)::

    {"GPTBot": {"operator": "OpenAI", "function": "...", "description": "...",
                "purpose": "training"}}

``purpose`` is required; ``operator``, ``function`` and ``description`` are optional strings; other
keys (such as upstream's ``respect`` and ``frequency``) are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

PURPOSES: tuple[str, ...] = ("training", "search", "assistant", "other", "undocumented")
PACKAGED_FILE = "data/ai_agents.json"  # relative to the ``provenance`` package


class AgentListError(ValueError):
    """An agent list file that cannot be read or does not have the expected shape."""


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """One AI user agent: its robots.txt product token (``name``) and what it is used for."""

    name: str
    operator: str
    function: str
    purpose: str  # one of PURPOSES
    description: str

    def __post_init__(self) -> None:
        if self.purpose not in PURPOSES:
            raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}; got {self.purpose!r}")


def load_agents(path: str | Path | None = None) -> tuple[AgentInfo, ...]:
    """The agent list: the packaged one (``path`` None) or a user file that replaces it.

    Raises ``AgentListError`` naming the file when it is unreadable, not JSON, or malformed.
    """
    if path is None:
        source = f"provenance/{PACKAGED_FILE} (packaged)"
        try:
            text = resources.files("provenance").joinpath(PACKAGED_FILE).read_text(encoding="utf-8")
        except OSError as exc:
            raise AgentListError(f"{source}: cannot read the agent list: {exc}") from exc
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise AgentListError(f"{source}: cannot read the agent list: {exc}") from exc
    return parse_agents(text, source=source)


def parse_agents(text: str, *, source: str = "<string>") -> tuple[AgentInfo, ...]:
    """Agents from the JSON text of an agent list; ``source`` names it in error messages."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AgentListError(
            f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    if not isinstance(data, dict):
        raise AgentListError(
            f"{source}: expected a JSON object mapping agent names to objects with a 'purpose' "
            f"({', '.join(PURPOSES)}); got {type(data).__name__}"
        )
    agents = []
    for name, entry in data.items():
        where = f"{source}: agent {name!r}"
        if not name.strip():
            raise AgentListError(f"{source}: an agent name is empty")
        if not isinstance(entry, dict):
            raise AgentListError(f"{where}: expected an object, got {type(entry).__name__}")
        purpose = entry.get("purpose")
        if purpose not in PURPOSES:
            raise AgentListError(
                f"{where}: 'purpose' must be one of {', '.join(PURPOSES)}; got {purpose!r}"
            )
        fields = {}
        for key in ("operator", "function", "description"):
            value = entry.get(key, "")
            if value is None:
                value = ""
            if not isinstance(value, str):
                raise AgentListError(
                    f"{where}: {key!r} must be a string, got {type(value).__name__}"
                )
            fields[key] = value
        agents.append(AgentInfo(name=name, purpose=purpose, **fields))
    return tuple(agents)


def training_agents(agents: Iterable[AgentInfo] | None = None) -> frozenset[str]:
    """Names of the agents whose purpose is ``training`` (of the packaged list when None)."""
    if agents is None:
        agents = load_agents()
    return frozenset(a.name for a in agents if a.purpose == "training")
