"""TDMRep site-wide rules: ``/.well-known/tdmrep.json`` (W3C TDM Reservation Protocol).

The file is a JSON array of rules ``{"location": "/images/*", "tdm-reservation": 1,
"tdm-policy": "https://..."}``. Locations are path patterns with robots.txt's ``*`` and ``$``,
matched case-sensitively from the start of the path; the first rule in file order that matches
applies ("the most specific match is the first in sequence").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from crawl.robots import PathPattern, url_match_path

MAX_TDMREP_BYTES = 256 * 1024


class TdmRepError(ValueError):
    """A tdmrep.json that is not an array of rules."""


@dataclass(frozen=True, slots=True)
class TdmRule:
    location: PathPattern
    reservation: int | None  # 1 reserved, 0 not reserved, None unset
    policy: str | None
    raw: str  # the rule as compact JSON (evidence)

    def signal_values(self) -> list[str]:
        """Values for the ``tdmrep`` signal kind."""
        values = []
        if self.reservation is not None:
            values.append(f"tdm-reservation={self.reservation}")
        if self.policy:
            values.append(f"tdm-policy={self.policy}")
        return values


@dataclass(frozen=True, slots=True)
class TdmRep:
    rules: tuple[TdmRule, ...]

    @classmethod
    def parse(cls, body: bytes) -> "TdmRep":
        try:
            data = json.loads(body[:MAX_TDMREP_BYTES].decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TdmRepError(f"not JSON: {exc}") from exc
        if isinstance(data, dict):  # a single rule object: accepted leniently
            data = [data]
        if not isinstance(data, list):
            raise TdmRepError(f"expected a JSON array of rules, got {type(data).__name__}")
        rules = []
        for entry in data:
            if not isinstance(entry, dict) or not isinstance(entry.get("location"), str):
                continue
            rules.append(TdmRule(
                location=PathPattern.of(entry["location"]),
                reservation=_reservation(entry.get("tdm-reservation")),
                policy=entry["tdm-policy"] if isinstance(entry.get("tdm-policy"), str) else None,
                raw=json.dumps(entry, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
            ))
        return cls(tuple(rules))

    def rule_for(self, url: str) -> TdmRule | None:
        path = url_match_path(url)
        for rule in self.rules:
            if rule.location.matches(path):
                return rule
        return None


def _reservation(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value in (0, 1):
        return value
    if isinstance(value, str) and value.strip() in ("0", "1"):
        return int(value.strip())
    return None
