"""TDMRep site-wide rules: ``/.well-known/tdmrep.json`` (W3C TDM Reservation Protocol).

The file is a JSON array of rules ``{"location": "/images/*", "tdm-reservation": 1,
"tdm-policy": "https://..."}``. Locations are path patterns with robots.txt's ``*`` and ``$``
(the one matcher of :mod:`provenance.robots`: a literal ``$`` is written ``%24``), matched
case-sensitively from the start of the path; the first rule in file order that matches applies
("the most specific match is the first in sequence"). ``tdm-reservation`` must be the number 1 or 0:
the string ``"1"`` is a protocol error, so the rule leaves the reservation unset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from crawl.decode import valid_text
from provenance.robots import PathPattern, url_match_path

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
    def parse(cls, body: bytes) -> TdmRep:
        """The rules of a tdmrep.json; raises TdmRepError when it cannot be read as rules."""
        if len(body) > MAX_TDMREP_BYTES:
            raise TdmRepError(f"{len(body)} bytes, larger than the {MAX_TDMREP_BYTES} bytes read: "
                              f"not read as rules")
        try:
            data = json.loads(body.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TdmRepError(f"not JSON: {exc}") from exc
        except RecursionError:
            raise TdmRepError("JSON nested too deeply to read") from None
        if isinstance(data, dict):  # a single rule object: accepted leniently
            data = [data]
        if not isinstance(data, list):
            raise TdmRepError(f"expected a JSON array of rules, got {type(data).__name__}")
        rules = []
        for entry in data:
            if not isinstance(entry, dict) or not isinstance(entry.get("location"), str):
                continue
            policy = entry.get("tdm-policy")
            rules.append(TdmRule(
                location=PathPattern.of(entry["location"]),
                reservation=_reservation(entry.get("tdm-reservation")),
                policy=valid_text(policy) if isinstance(policy, str) else None,
                raw=_raw(entry),
            ))
        return cls(tuple(rules))

    def rule_for(self, url: str) -> TdmRule | None:
        path = url_match_path(url)
        for rule in self.rules:
            if rule.location.matches(path):
                return rule
        return None


def _raw(entry: dict) -> str:
    """A rule as compact JSON for evidence (its own keys only when the rest is nested too deeply)."""
    try:
        text = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    except RecursionError:
        known = {k: entry[k] for k in ("location", "tdm-reservation", "tdm-policy")
                 if isinstance(entry.get(k), (str, int))}
        text = json.dumps(known, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return valid_text(text)


def _reservation(value: object) -> int | None:
    """The JSON number 1 or 0; anything else (the string "1", true, 1.0) is a protocol error and
    leaves tdm-reservation unset (TDMRep final report, "tdm-reservation")."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if value in (0, 1) else None
